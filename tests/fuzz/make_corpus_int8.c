/* Writes the regression corpus tests/fuzz/corpus/int8/ for fuzz_int8.c:
   a valid int8 file of the model in fuzz_int8_model.h (ok-*), and files
   each broken in one way (bad-*).  The corpus is committed; rerun this
   after changing the file format:
     cc -I. tests/fuzz/make_corpus_int8.c -o build/make_corpus_int8 -lm && build/make_corpus_int8 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#define NN_IMPLEMENTATION
#include "nn.h"
#define NN_COMPRESS_IMPLEMENTATION
#include "nn_compress.h"
#include "fuzz_int8_model.h"

#define DIR "tests/fuzz/corpus/int8/"
static unsigned char *file;
static size_t len;

static void put(const char *name, const unsigned char *b, size_t n) {
  char path[256];
  FILE *f;
  snprintf(path, sizeof path, DIR "%s", name);
  if (!(f = fopen(path, "wb")) || fwrite(b, 1, n, f) != n || fclose(f)) { fprintf(stderr, "cannot write %s\n", path); exit(1); }
}
/* the valid file with `from` replaced by `to` (same length) in its header */
static void edit(const char *name, const char *from, const char *to) {
  unsigned char *b = (unsigned char *)malloc(len);
  size_t i, n = strlen(from);
  memcpy(b, file, len);
  for (i = 8; i + n <= len; i++)
    if (!memcmp(b + i, from, n)) { memcpy(b + i, to, n); put(name, b, len); free(b); return; }
  fprintf(stderr, "'%s' is not in the header\n", from);
  exit(1);
}
/* the valid file with float tensor `name`'s first value set to v */
static void set_float(const char *name, const char *tensor, float v) {
  unsigned char *b = (unsigned char *)malloc(len), *at;
  char key[128];
  unsigned long long hlen = 0, off;
  int i;
  memcpy(b, file, len);
  for (i = 7; i >= 0; i--) hlen = hlen << 8 | b[i];
  snprintf(key, sizeof key, "\"%s\":", tensor);
  at = (unsigned char *)strstr((const char *)b + 8, key);
  at = (unsigned char *)strstr((const char *)at, "data_offsets\":[");
  off = strtoull((const char *)at + 15, NULL, 10);
  memcpy(b + 8 + hlen + off, &v, 4);   /* little-endian hosts only, as the corpus is made here */
  put(name, b, len);
  free(b);
}

int main(void) {
  nn_node *out;
  nn_model *m = fuzz_int8_model(&out);
  nn_int8_plan *p;
  float cal[8 * 72];
  nn_rng r;
  FILE *f;
  int i;
  nn_rng_seed(&r, 1);
  for (i = 0; i < 8 * 72; i++) cal[i] = nn_rng_normal(&r);
  if (!(p = nn_int8_quantize(m, out, nn_model_find(m, "image"), cal, 8)) || !nn_int8_save(p, DIR "ok-quantised") ||
      !nn_safetensors_save(m, DIR "bad-float-file", NULL)) {
    fprintf(stderr, "%s\n", nn_last_error());
    return 1;
  }
  f = fopen(DIR "ok-quantised", "rb");
  file = (unsigned char *)malloc(1 << 16);
  len = fread(file, 1, 1 << 16, f);
  fclose(f);
  edit("bad-marker", "\"nn.format\":\"int8\"", "\"nn.format\":\"int4\"");
  edit("bad-no-marker", "\"nn.format\"", "\"nn.formax\"");
  edit("bad-output-node", "\"nn.int8.output\":\"fc2\"", "\"nn.int8.output\":\"fc1\"");
  edit("bad-weight-dtype", "\"dtype\":\"I8\"", "\"dtype\":\"U8\"");
  edit("bad-zero-point-dtype", "\"dtype\":\"U8\"", "\"dtype\":\"I8\"");
  edit("bad-weight-shape", "\"shape\":[4,2,3,3]", "\"shape\":[2,4,3,3]");
  edit("bad-unknown-tensor", "\"ln.weight\"", "\"ln.weighz\"");
  edit("bad-missing-tensor", "\"fc1.weight_scale\"", "\"fc1.weight_scalf\"");
  set_float("bad-negative-scale", "conv.weight_scale", -1.0f);
  set_float("bad-nan-input-scale", "fc2.weight_input_scale", NAN);
  set_float("ok-odd-bias", "fc2.weight_bias", 1e30f);
  /* fc1's outputs overflow to infinities, the layer norm makes NaNs of
     them, fc2 quantises those (to 0) */
  set_float("ok-nan-activations", "fc1.weight_scale", 3e38f);
  edit("bad-missing-post-norm", "\"bn2.running_var\"", "\"bn2.running_vaq\"");
  put("bad-truncated", file, len - 3);
  put("bad-header-only", file, 40);
  put("bad-empty", file, 0);
  nn_int8_free(p);
  nn_model_free(m);
  free(file);
  return 0;
}
