/* Fuzz target: the safetensors reader (header parser, checks, matching a
   model) on one file's bytes.  See fuzz.h. */
#include "fuzz.h"
#include "fuzz_models.h"

int nn_fuzz_one(const uint8_t *data, size_t size) {
  static nn_model *m;
  int strict;
  if (!m) m = fuzz_model();
  strict = nn_safetensors_load_buffer(m, data, size, 0) > 0;
  if (!strict) {  /* the lenient path too, keeping the strict reason */
    char reason[sizeof nn__error];
    memcpy(reason, nn__error, sizeof reason);
    nn_safetensors_load_buffer(m, data, size, NN_LOAD_PARTIAL);
    memcpy(nn__error, reason, sizeof reason);
  }
  return strict;
}
