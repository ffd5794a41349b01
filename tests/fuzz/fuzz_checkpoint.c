/* Fuzz target: the checkpoint reader on one file's bytes, into a model
   with an Adam optimizer, an average and counters; then once more without
   them (the paths that skip state).  See fuzz.h. */
#include "fuzz.h"
#include "fuzz_models.h"

int nn_fuzz_one(const uint8_t *data, size_t size) {
  static nn_model *m;
  static nn_optimizer *o;
  static nn_ema *e;
  nn_checkpoint_info info;
  int full;
  if (!m) {
    m = fuzz_model();
    o = fuzz_optimizer(m);
    e = nn_ema_new(m, 0.9f);
  }
  full = nn__checkpoint_load_buffer(m, o, e, &info, data, size, "(fuzz input)");
  if (!full) {
    char reason[sizeof nn__error];
    memcpy(reason, nn__error, sizeof reason);
    nn__checkpoint_load_buffer(m, NULL, NULL, NULL, data, size, "(fuzz input)");
    memcpy(nn__error, reason, sizeof reason);
  }
  return full;
}
