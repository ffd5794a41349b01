/* Writes the regression corpus tests/fuzz/corpus/<target>/: valid files
   (ok-*) and truncated, corrupt and hostile ones (bad-*) for each fuzz
   target.  The corpus is committed; rerun this after changing the fuzz
   models or formats, from the project root:
     cc -I. tests/fuzz/make_corpus.c -o build/make_corpus -lm && build/make_corpus
   Files found by fuzzing are added next to these by hand (tools/fuzz.sh
   prints where they are). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#define NN_IMPLEMENTATION
#include "nn.h"
#include "tests/fuzz/fuzz_models.h"

#define DIR "tests/fuzz/corpus/"

static void put(const char *path, const void *b, size_t n) {
  FILE *f = fopen(path, "wb");
  if (!f || fwrite(b, 1, n, f) != n) { fprintf(stderr, "cannot write %s\n", path); exit(1); }
  fclose(f);
}
static unsigned char *get(const char *path, size_t *n) {
  FILE *f = fopen(path, "rb");
  unsigned char *b;
  long len;
  if (!f) { fprintf(stderr, "cannot read %s\n", path); exit(1); }
  fseek(f, 0, SEEK_END);
  len = ftell(f);
  fseek(f, 0, SEEK_SET);
  b = (unsigned char *)malloc((size_t)len + 1);
  *n = fread(b, 1, (size_t)len, f);
  fclose(f);
  return b;
}
/* a safetensors file from a header text and `data` bytes of zeros */
static void put_st(const char *path, const char *header, size_t data) {
  size_t h = strlen(header), i;
  unsigned char *b = (unsigned char *)calloc(8 + h + data + 1, 1);
  for (i = 0; i < 8; i++) b[i] = (unsigned char)((unsigned long long)h >> (8 * i));
  memcpy(b + 8, header, h);
  put(path, b, 8 + h + data);
  free(b);
}
/* a copy of a safetensors file with one piece of its header replaced */
static void put_edited(const char *path, const unsigned char *f, size_t n, const char *from, const char *to) {
  size_t hlen = 0, at, len;
  unsigned char *b;
  char *hit;
  int i;
  for (i = 7; i >= 0; i--) hlen = hlen << 8 | f[i];
  b = (unsigned char *)malloc(n + strlen(to) + 16);
  memcpy(b, f, 8 + hlen);
  b[8 + hlen] = 0;
  hit = strstr((char *)b + 8, from);
  if (!hit) { fprintf(stderr, "%s: '%s' not in the header\n", path, from); exit(1); }
  at = (size_t)(hit - (char *)b);
  len = strlen(to);
  memcpy(b + at, to, len);
  memcpy(b + at + len, f + at + strlen(from), n - at - strlen(from));
  hlen = hlen + len - strlen(from);
  for (i = 0; i < 8; i++) b[i] = (unsigned char)((unsigned long long)hlen >> (8 * i));
  put(path, b, n + len - strlen(from));
  free(b);
}

static void safetensors_corpus(void) {
  static const struct { const char *name, *header; size_t data; } hostile[] = {
    {"bad-offset-past-end", "{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,800000]}}", 8},
    {"bad-offsets-overlap", "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}", 12},
    {"bad-offsets-gap", "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,12]}}", 12},
    {"bad-offsets-reversed", "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8,0]}}", 8},
    {"bad-offset-u64-max", "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[18446744073709551615,7]}}", 8},
    {"bad-offset-overflows-u64", "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,99999999999999999999999]}}", 8},
    {"bad-shape-negative", "{\"a\":{\"dtype\":\"F32\",\"shape\":[-2],\"data_offsets\":[0,8]}}", 8},
    {"bad-shape-product-overflows", "{\"a\":{\"dtype\":\"F32\",\"shape\":[4294967296,4294967296,16],\"data_offsets\":[0,0]}}", 0},
    {"bad-shape-huge-zero-data", "{\"a\":{\"dtype\":\"F32\",\"shape\":[4611686018427387904],\"data_offsets\":[0,0]}}", 0},
    {"bad-shape-float", "{\"a\":{\"dtype\":\"F32\",\"shape\":[2.5],\"data_offsets\":[0,8]}}", 8},
    {"bad-shape-exponent", "{\"a\":{\"dtype\":\"F32\",\"shape\":[2e0],\"data_offsets\":[0,8]}}", 8},
    {"bad-shape-too-many-dims", "{\"a\":{\"dtype\":\"F32\",\"shape\":[1,1,1,1,1,1,1,1,1,1,1,1,2],\"data_offsets\":[0,8]}}", 8},
    {"bad-shape-lies-about-size", "{\"a\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,8]}}", 8},
    {"bad-dtype-f16", "{\"fc2.bias\":{\"dtype\":\"F16\",\"shape\":[3],\"data_offsets\":[0,6]}}", 6},
    {"bad-dtype-f64", "{\"fc2.bias\":{\"dtype\":\"F64\",\"shape\":[3],\"data_offsets\":[0,24]}}", 24},
    {"bad-dtype-unknown", "{\"a\":{\"dtype\":\"Q4_0\",\"shape\":[2],\"data_offsets\":[0,8]}}", 8},
    {"bad-dtype-not-string", "{\"a\":{\"dtype\":32,\"shape\":[2],\"data_offsets\":[0,8]}}", 8},
    {"bad-duplicate-tensor", "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8,16]}}", 16},
    {"bad-duplicate-field", "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"shape\":[2],\"data_offsets\":[0,8]}}", 8},
    {"bad-duplicate-metadata", "{\"__metadata__\":{\"k\":\"1\",\"k\":\"2\"}}", 0},
    {"bad-two-metadata", "{\"__metadata__\":{},\"__metadata__\":{}}", 0},
    {"bad-metadata-number", "{\"__metadata__\":{\"k\":1}}", 0},
    {"bad-metadata-array", "{\"__metadata__\":[\"k\"]}", 0},
    {"bad-missing-dtype", "{\"a\":{\"shape\":[2],\"data_offsets\":[0,8]}}", 8},
    {"bad-missing-offsets", "{\"a\":{\"dtype\":\"F32\",\"shape\":[2]}}", 8},
    {"bad-tensor-not-object", "{\"a\":\"F32\"}", 0},
    {"bad-top-array", "[{\"a\":1}]", 0},
    {"bad-empty-header", "", 0},
    {"bad-unclosed-object", "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}", 8},
    {"bad-unclosed-string", "{\"a", 0},
    {"bad-text-after", "{} {}", 0},
    {"bad-trailing-comma", "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8],},}", 8},
    {"bad-nul-escape", "{\"a\\u0000b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", 8},
    {"bad-lone-surrogate", "{\"a\\udc00\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", 8},
    {"bad-cut-escape", "{\"a\\u12", 0},
    {"bad-not-utf8", "{\"\xff\xfe\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", 8},
    {"bad-overlong-utf8", "{\"\xe0\x80\xaf\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", 8},
    {"bad-control-char", "{\"a\tb\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", 8},
    {"bad-unknown-tensor", "{\"intruder\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", 8},
    {"bad-no-tensors", "{}", 0},
    {"bad-only-metadata", "{\"__metadata__\":{\"format\":\"pt\"}}", 0},
  };
  nn_model *m = fuzz_model();
  const char *meta[] = {"format", "pt", NULL};
  unsigned char *f, *b;
  size_t n, i;
  char *deep;
  nn_safetensors_save(m, DIR "safetensors/ok-nn-written.safetensors", meta);
  f = get("tests/fixtures/reference.safetensors", &n);
  put(DIR "safetensors/ok-huggingface-written.safetensors", f, n);
  free(f);
  f = get(DIR "safetensors/ok-nn-written.safetensors", &n);
  b = (unsigned char *)malloc(n + 8);
  put(DIR "safetensors/bad-empty", f, 0);
  put(DIR "safetensors/bad-7-bytes", f, 7);
  put(DIR "safetensors/bad-cut-in-header", f, 60);
  put(DIR "safetensors/bad-cut-in-data", f, n - 1);
  memcpy(b, f, n);
  b[n] = 0;
  put(DIR "safetensors/bad-trailing-byte", b, n + 1);
  memcpy(b, f, n);
  b[0] = (unsigned char)(b[0] + 64);
  put(DIR "safetensors/bad-header-length-too-long", b, n);
  memset(b, 0xff, 8);
  put(DIR "safetensors/bad-header-length-u64-max", b, n);
  memcpy(b, f, n);
  memset(b, 0, 8);
  put(DIR "safetensors/bad-header-length-zero", b, n);
  put_edited(DIR "safetensors/bad-renamed-tensor", f, n, "\"fc2.bias\"", "\"fc9.bias\"");
  put_edited(DIR "safetensors/bad-wrong-shape", f, n, "\"shape\":[3,12]", "\"shape\":[12,3]");
  put_edited(DIR "safetensors/bad-swapped-offsets", f, n, "\"data_offsets\":[0,48]", "\"data_offsets\":[48,96]");
  put_edited(DIR "safetensors/ok-unknown-field-skipped", f, n, "\"dtype\":\"F32\"", "\"dtype\":\"F32\",\"x\":[{\"y\":[true,null,-1.5e-3]}]");
  free(b);
  free(f);
  for (i = 0; i < sizeof hostile / sizeof hostile[0]; i++) {
    char path[256];
    snprintf(path, sizeof path, DIR "safetensors/%s", hostile[i].name);
    put_st(path, hostile[i].header, hostile[i].data);
  }
  deep = (char *)calloc(20000, 1);   /* arrays nested 10000 deep in a skipped field */
  strcpy(deep, "{\"fc2.bias\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,12],\"x\":");
  memset(deep + strlen(deep), '[', 10000);
  put_st(DIR "safetensors/bad-deep-nesting", deep, 12);
  free(deep);
  nn_model_free(m);
}

static void checkpoint_corpus(void) {
  nn_model *m = fuzz_model();
  nn_optimizer *o = fuzz_optimizer(m), *sgd = nn_sgd(m, 0.1f, 0.9f, 0, 0);
  nn_ema *e = nn_ema_new(m, 0.9f);
  nn_checkpoint_info info;
  unsigned char *f;
  size_t n;
  char rng[40];
  memset(&info, 0, sizeof info);
  info.epoch = 3;
  info.step = 120;
  nn_rng_seed(&info.data_rng, 5);
  nn_checkpoint_save(m, o, e, &info, DIR "checkpoint/ok-adam-ema.ckpt");
  nn_checkpoint_save(m, o, NULL, &info, DIR "checkpoint/bad-no-average.ckpt");
  nn_checkpoint_save(m, o, e, NULL, DIR "checkpoint/bad-no-counters.ckpt");
  nn_checkpoint_save(m, NULL, e, &info, DIR "checkpoint/bad-no-optimizer.ckpt");
  nn_checkpoint_save(m, sgd, e, &info, DIR "checkpoint/bad-sgd-state.ckpt");
  nn_safetensors_save(m, DIR "checkpoint/bad-weights-only.safetensors", NULL);
  f = get(DIR "checkpoint/ok-adam-ema.ckpt", &n);
  put(DIR "checkpoint/bad-cut-in-data", f, n - 5);
  put(DIR "checkpoint/bad-cut-in-header", f, 100);
  snprintf(rng, sizeof rng, "\"nn.rng\":\"%016llx", (unsigned long long)m->rng.s[0]);
  put_edited(DIR "checkpoint/bad-version-2", f, n, "\"nn.checkpoint\":\"1\"", "\"nn.checkpoint\":\"2\"");
  put_edited(DIR "checkpoint/bad-rng-not-hex", f, n, rng, "\"nn.rng\":\"zzzzzzzzzzzzzzzz");
  put_edited(DIR "checkpoint/bad-rng-short", f, n, rng, "\"nn.rng\":\"1");
  put_edited(DIR "checkpoint/bad-lr-decimal", f, n, "\"nn.optimizer.lr\":\"0x", "\"nn.optimizer.lr\":\"0.01");
  put_edited(DIR "checkpoint/bad-step-overflows", f, n, "\"nn.optimizer.step\":\"0\"", "\"nn.optimizer.step\":\"99999999999999999999999\"");
  put_edited(DIR "checkpoint/bad-step-negative", f, n, "\"nn.optimizer.step\":\"0\"", "\"nn.optimizer.step\":\"-1\"");
  put_edited(DIR "checkpoint/bad-epoch-exponent", f, n, "\"nn.epoch\":\"3\"", "\"nn.epoch\":\"3e2\"");
  put_edited(DIR "checkpoint/bad-epoch-empty", f, n, "\"nn.epoch\":\"3\"", "\"nn.epoch\":\"\"");
  put_edited(DIR "checkpoint/bad-optimizer-kind", f, n, "\"nn.optimizer\":\"adam\"", "\"nn.optimizer\":\"lion\"");
  put_edited(DIR "checkpoint/bad-state-renamed", f, n, "\"__optimizer__.fc2.bias.exp_avg\"", "\"__optimizer__.fc2.bias.exp_avh\"");
  put_edited(DIR "checkpoint/bad-average-shape", f, n, "\"__ema__.fc2.bias\":{\"dtype\":\"F32\",\"shape\":[3]",
             "\"__ema__.fc2.bias\":{\"dtype\":\"F32\",\"shape\":[1,3]");
  put_edited(DIR "checkpoint/bad-state-dtype", f, n, "\"__optimizer__.fc2.bias.exp_avg\":{\"dtype\":\"F32\"",
             "\"__optimizer__.fc2.bias.exp_avg\":{\"dtype\":\"I32\"");
  free(f);
  nn_ema_free(e);
  nn_optimizer_free(sgd);
  nn_optimizer_free(o);
  nn_model_free(m);
}

/* [4-byte big-endian length of the images file][images file][labels file] */
static void put_idx(const char *name, const unsigned char *img, size_t ni, const unsigned char *lab, size_t nl, size_t split) {
  char path[256];
  unsigned char *b = (unsigned char *)malloc(4 + ni + nl + 1);
  b[0] = (unsigned char)(split >> 24); b[1] = (unsigned char)(split >> 16);
  b[2] = (unsigned char)(split >> 8); b[3] = (unsigned char)split;
  memcpy(b + 4, img, ni);
  memcpy(b + 4 + ni, lab, nl);
  snprintf(path, sizeof path, DIR "idx/%s", name);
  put(path, b, 4 + ni + nl);
  free(b);
}
static void idx_corpus(void) {
  unsigned char img[16 + 12] = {0, 0, 8, 3, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0, 2, 0, 20, 40, 60, 80, 100, 120, 140, 160, 180, 200, 255};
  unsigned char lab[8 + 2] = {0, 0, 8, 1, 0, 0, 0, 2, 4, 9};
  unsigned char vec[12 + 10] = {0, 0, 8, 2, 0, 0, 0, 2, 0, 0, 0, 5, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
  unsigned char bad[64];
  put_idx("ok-images-2x3x2", img, sizeof img, lab, sizeof lab, sizeof img);
  put_idx("ok-vectors-2x5", vec, sizeof vec, lab, sizeof lab, sizeof vec);
  put_idx("bad-images-cut", img, sizeof img - 1, lab, sizeof lab, sizeof img - 1);
  put_idx("bad-labels-cut", img, sizeof img, lab, sizeof lab - 1, sizeof img);
  put_idx("bad-split-past-end", img, sizeof img, lab, sizeof lab, 0xffffffffu);
  put_idx("bad-empty-images", img, 0, lab, sizeof lab, 0);
  put_idx("bad-short-header", img, 9, lab, sizeof lab, 9);
  memcpy(bad, img, sizeof img); bad[0] = 1;
  put_idx("bad-magic", bad, sizeof img, lab, sizeof lab, sizeof img);
  memcpy(bad, img, sizeof img); bad[2] = 0x0D;
  put_idx("bad-type-float", bad, sizeof img, lab, sizeof lab, sizeof img);
  memcpy(bad, img, sizeof img); bad[3] = 0;
  put_idx("bad-zero-dims", bad, sizeof img, lab, sizeof lab, sizeof img);
  memcpy(bad, img, sizeof img); bad[3] = 200;
  put_idx("bad-200-dims", bad, sizeof img, lab, sizeof lab, sizeof img);
  memcpy(bad, img, 16); bad[4] = bad[8] = bad[12] = 0x7f; bad[5] = bad[9] = bad[13] = 0xff;
  put_idx("bad-dims-overflow", bad, 16, lab, sizeof lab, 16);
  memcpy(bad, img, 16); bad[4] = 0xff; bad[5] = 0xff;
  put_idx("bad-dim-negative-as-int", bad, 16, lab, sizeof lab, 16);
  memcpy(bad, img, sizeof img); bad[7] = 0;
  put_idx("bad-dim-zero", bad, sizeof img, lab, sizeof lab, sizeof img);
  memcpy(bad, lab, sizeof lab); bad[7] = 3;
  put_idx("bad-count-mismatch", img, sizeof img, bad, sizeof lab, sizeof img);
  put_idx("bad-labels-2d", img, sizeof img, img, sizeof img, sizeof img);
  put_idx("bad-images-1d", lab, sizeof lab, lab, sizeof lab, sizeof lab);
  put(DIR "idx/bad-shorter-than-split", img, 2);
}

/* CIFAR-10 binary batches: records of a label byte and 3072 pixel bytes */
static void cifar10_corpus(void) {
  unsigned char *b = (unsigned char *)malloc(3 * 3073 + 16);
  int i;
  for (i = 0; i < 3 * 3073 + 16; i++) b[i] = (unsigned char)(i * 7);
  b[0] = 3;
  b[3073] = 9;
  b[2 * 3073] = 0;
  put(DIR "cifar10/ok-one-record", b, 3073);
  put(DIR "cifar10/ok-three-records", b, 3 * 3073);
  put(DIR "cifar10/bad-empty", b, 0);
  put(DIR "cifar10/bad-one-byte", b, 1);
  put(DIR "cifar10/bad-record-cut", b, 3072);
  put(DIR "cifar10/bad-trailing-byte", b, 2 * 3073 + 1);
  put(DIR "cifar10/bad-cifar100-records", b, 2 * 3074);
  b[3073] = 10;
  put(DIR "cifar10/bad-label-10", b, 2 * 3073);
  b[3073] = 255;
  put(DIR "cifar10/bad-label-255", b, 2 * 3073);
  free(b);
}

/* IMDb reviews: any bytes; rejected only when they hold no token */
static void imdb_corpus(void) {
  static const struct { const char *name, *text; size_t len; } reviews[] = {
    {"ok-review", "This movie was great! I'd watch it again... <br /><br />10/10, low-budget but fun.", 0},
    {"ok-utf8-letters", "Caf\xc3\xa9 na\xc3\xafve \xe2\x80\x94 \xe6\x98\xa0\xe7\x94\xbb \xc2\xabtr\xc3\xa8s\xc2\xbb bien", 0},
    {"ok-invalid-utf8-between-words", "good\xff\xfe\xc0\x80 film\xe2\x82", 0},
    {"ok-nul-bytes", "a\0b\0\0c", 6},
    {"ok-apostrophes-hyphens", "'' -- don't ''' low-budget -x- x' 'x", 0},
    {"ok-punctuation-runs", "!!!!!!!!!! ?!?! ...... ,,,", 0},
    {"ok-broken-line-breaks", "<br <br/ <br / word <br />< br />", 0},
    {"bad-empty", "", 0},
    {"bad-only-spaces", " \t\n\r  ", 0},
    {"bad-only-invalid-utf8", "\xff\xfe\x80\x81\xc0\xc1", 0},
    {"bad-only-line-breaks", "<br /><br /><br/>", 0},
  };
  size_t i;
  char *word = (char *)malloc(70000);
  for (i = 0; i < sizeof reviews / sizeof reviews[0]; i++) {
    char path[256];
    snprintf(path, sizeof path, DIR "imdb/%s", reviews[i].name);
    put(path, reviews[i].text, reviews[i].len ? reviews[i].len : strlen(reviews[i].text));
  }
  memset(word, 'a', 70000);   /* one word longer than any buffer a tokenizer might assume */
  put(DIR "imdb/ok-one-long-word", word, 70000);
  free(word);
}

int main(void) {
  safetensors_corpus();
  checkpoint_corpus();
  idx_corpus();
  cifar10_corpus();
  imdb_corpus();
  printf("wrote the corpus under " DIR "\n");
  return 0;
}
