/* Fuzz target: the int8 file reader of nn_compress.h (nn.h's safetensors
   parser, then the plan's checks: marker, output node, names, dtypes,
   shapes, scales) on one file's bytes.  See fuzz.h; the corpus comes from
   make_corpus_int8.c. */
#include "fuzz.h"
#define NN_COMPRESS_IMPLEMENTATION
#include "nn_compress.h"
#include "fuzz_int8_model.h"

int nn_fuzz_one(const uint8_t *data, size_t size) {
  static nn_model *m;
  static nn_node *out;
  nn_int8_plan *p;
  if (!m) m = fuzz_int8_model(&out);
  p = nn_int8_load_buffer(m, out, data, size);
  if (!p) return 0;
  nn_int8_predict(p);   /* whatever the numbers, running the plan is safe */
  nn_int8_free(p);
  return 1;
}
