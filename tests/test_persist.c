/* Tests for persistence: safetensors files (round trip, a file written by
   Hugging Face's own writer, Python reading nn.h's files, exact messages
   for mismatches, hostile files), checkpoints (exact resume across
   processes, atomic writes, all-or-nothing loads) and the non-finite
   guard of the optimizer.
   Build: cc -O1 -g -I. tests/test_persist.c -lm && ./a.out   (from the
   project root: it reads tests/fixtures/ and runs itself for the resume
   test; TEST_RUNNER, e.g. qemu-s390x, prefixes those runs of itself).
   Last line: "N passed, N failed". */
#include <stdlib.h>
#include <string.h>
#define NN_IMPLEMENTATION
#include "nn.h"
#ifdef NN__POSIX_FILES
#include <sys/wait.h>
#endif

#include "check.h"
#define HAS(s) (strstr(nn_last_error(), (s)) != NULL)

static unsigned char *slurp(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  unsigned char *b;
  long n;
  if (!f) return NULL;
  fseek(f, 0, SEEK_END);
  n = ftell(f);
  fseek(f, 0, SEEK_SET);
  b = (unsigned char *)malloc((size_t)n + 1);
  *len = fread(b, 1, (size_t)n, f);
  fclose(f);
  return b;
}

/* the command that runs this test program again (under TEST_RUNNER) */
static char self_cmd[512];
static void set_self(const char *argv0) {
  const char *runner = getenv("TEST_RUNNER");
  snprintf(self_cmd, sizeof self_cmd, "%s%s%s", runner ? runner : "", runner ? " " : "", argv0);
}

/* ---------------------------------------------------------------------
   The reference model: fc1 (6 -> 12), bn, relu, dropout, fc2 (12 -> 3)
   --------------------------------------------------------------------- */
#define FEATURES 6
#define CLASSES 3
static nn_model *reference_model(uint64_t seed, int batch) {
  nn_graph *g = nn_graph_new();
  int six = FEATURES, one = 1;
  nn_node *x = nn_input(g, "x", 1, &six), *y = nn_input(g, "label", 1, &one), *h;
  nn_graph_set_seed(g, seed);
  nn_layer_name(g, "fc1");
  h = nn_dense(g, x, 12);
  nn_layer_name(g, "bn");
  h = nn_dropout(g, nn_relu(g, nn_batchnorm(g, h)), 0.25f);
  nn_layer_name(g, "fc2");
  nn_cross_entropy(g, nn_dense(g, h, CLASSES), y, 0.1f, NN_MEAN);
  return nn_compile(g, batch, nn_cpu_backend());
}
/* keep in step with RAMPS in tests/fixtures/make_reference.py */
static const struct { const char *name; float start, step; } reference_ramps[] = {
  {"fc1.weight", -4.0f, 0.0625f}, {"fc1.bias", 1.0f, -0.125f}, {"bn.weight", 0.5f, 0.0625f},
  {"bn.bias", -0.75f, 0.125f}, {"bn.running_mean", 0.25f, -0.03125f}, {"bn.running_var", 1.0f, 0.25f},
  {"fc2.weight", 2.0f, -0.0625f}, {"fc2.bias", -1.5f, 1.0f},
};
#define N_RAMPS ((int)(sizeof reference_ramps / sizeof reference_ramps[0]))
#define REFERENCE_COUNT 7   /* bn.num_batches_tracked, COUNTS in make_reference.py */
/* a batch norm's num_batches_tracked, read through the public listing */
static int64_t bn_count(nn_model *m, const char *name) {
  nn_tensor_info t;
  int i;
  for (i = 0; i < nn_model_num_tensors(m) && nn_model_tensor(m, i, &t); i++)
    if (!strcmp(t.name, name)) return t.count;
  return -1;
}
static void set_ramps(nn_model *m) {
  int r;
  m->batches[nn_model_find(m, "bn")->id] = REFERENCE_COUNT;
  for (r = 0; r < N_RAMPS; r++) {
    nn_node *p = nn_model_find(m, reference_ramps[r].name);
    size_t i, n = nn_node_numel(m, p);
    float *v = (float *)malloc(n * sizeof(float));
    for (i = 0; i < n; i++) v[i] = reference_ramps[r].start + reference_ramps[r].step * (float)i;
    nn_write(m, p, v);
    free(v);
  }
}
/* how many parameter values differ from the ramps (-1: no such parameter) */
static long ramp_mismatches(nn_model *m) {
  long bad = 0;
  int r;
  for (r = 0; r < N_RAMPS; r++) {
    nn_node *p = nn_model_find(m, reference_ramps[r].name);
    size_t i, n;
    float *v;
    if (!p) return -1;
    n = nn_node_numel(m, p);
    v = (float *)malloc(n * sizeof(float));
    nn_read(m, p, v);
    for (i = 0; i < n; i++) bad += v[i] != reference_ramps[r].start + reference_ramps[r].step * (float)i;
    free(v);
  }
  return bad;
}
/* all parameter values in graph order, for memcmp */
static float *all_params(nn_model *m, size_t *count) {
  size_t total = 0, at = 0;
  float *v;
  int i;
  for (i = 0; i < nn_graph_num_nodes(m->graph); i++)
    if (m->graph->nodes[i]->op == NN_OP_PARAM) total += nn_node_numel(m, m->graph->nodes[i]);
  v = (float *)malloc(total * sizeof(float));
  for (i = 0; i < nn_graph_num_nodes(m->graph); i++) {
    nn_node *p = m->graph->nodes[i];
    if (p->op != NN_OP_PARAM) continue;
    nn_read(m, p, v + at);
    at += nn_node_numel(m, p);
  }
  *count = total;
  return v;
}
static int same_params(nn_model *a, nn_model *b) {
  size_t na, nb;
  float *va = all_params(a, &na), *vb = all_params(b, &nb);
  int same = na == nb && !memcmp(va, vb, na * sizeof(float));
  free(va);
  free(vb);
  return same;
}

/* ---------------------------------------------------------------------
   safetensors: format details, round trip, the reference files
   --------------------------------------------------------------------- */
static void test_roundtrip(void) {
  nn_model *a = reference_model(1, 4), *b = reference_model(2, 4);
  const char *meta[] = {"writer", "nn.h test", "a key", "\"quoted\"\n\xc3\xa9", NULL};
  const char *path = "persist_roundtrip.tmp";
  unsigned char *f;
  size_t len = 0, hlen = 0;
  int i;
  CHECK(!same_params(a, b), "two seeds give two models");
  CHECK(nn_safetensors_save(a, path, meta), "save: %s", nn_last_error());
  f = slurp(path, &len);
  for (i = 7; f && i >= 0; i--) hlen = hlen << 8 | f[i];
  CHECK(f && hlen % 8 == 0 && hlen + 8 < len && f[8] == '{' && f[8 + hlen - 1] == ' ',
        "header length %zu is a multiple of 8, padded with spaces", hlen);
  CHECK(f && !memcmp(f + 8, "{\"__metadata__\":{\"a key\":\"\\\"quoted\\\"\\n\xc3\xa9\",\"writer\":\"nn.h test\"},\"bn.num_batches_tracked\":{\"dtype\":\"I64\",\"shape\":[],"
                      "\"data_offsets\":[0,8]},\"bn.bias\":", 147),
        "metadata first with sorted keys and escapes, then the I64 count, then tensors by name: %.160s", f ? (const char *)f + 8 : "");
  CHECK(nn_safetensors_load(b, path, 0) == 9, "load: %s", nn_last_error());
  CHECK(same_params(a, b), "every parameter, running statistics included, round-trips bit for bit");
  CHECK(nn_safetensors_load_buffer(b, f, len, 0) == 9, "load from memory: %s", nn_last_error());
  free(f);
  remove(path);
  nn_model_free(a);
  nn_model_free(b);
}

static void test_reference_file(void) {
  nn_model *m = reference_model(3, 2);
  const char *path = "persist_nn_written.tmp";
  const char *meta[] = {"writer", "huggingface safetensors (numpy)", NULL};
  unsigned char *mine, *theirs;
  size_t nm = 0, nt = 0;
  CHECK(ramp_mismatches(m) > 0, "a fresh model is not the fixture");
  CHECK(nn_safetensors_load(m, "tests/fixtures/reference.safetensors", 0) == N_RAMPS + 1, "load the file written by Hugging Face's writer: %s",
        nn_last_error());
  CHECK(ramp_mismatches(m) == 0, "the independently written fixture loads with every value exact (%ld differ)", ramp_mismatches(m));
  CHECK(bn_count(m, "bn.num_batches_tracked") == REFERENCE_COUNT, "its I64 num_batches_tracked loads: %lld",
        (long long)bn_count(m, "bn.num_batches_tracked"));
  /* writing the same tensors and metadata gives the reference writer's bytes */
  set_ramps(m);
  nn_safetensors_save(m, path, meta);
  mine = slurp(path, &nm);
  theirs = slurp("tests/fixtures/reference.safetensors", &nt);
  CHECK(mine && theirs && nm == nt && !memcmp(mine, theirs, nm), "nn.h writes the same bytes as Hugging Face's writer (%zu vs %zu)", nm, nt);
  free(mine);
  free(theirs);
  /* and Hugging Face's reader reads nn.h's file, when Python has it */
  if (system("python3 -c 'import safetensors, numpy' >/dev/null 2>&1") != 0) {
    printf("SKIP: python3 with safetensors and numpy not found (pip install safetensors numpy)\n");
  } else {
    char cmd[256];
    int rc;
    snprintf(cmd, sizeof cmd, "python3 tests/fixtures/check_nn_file.py %s > persist_python.tmp 2>&1", path);
    rc = system(cmd);
    mine = slurp("persist_python.tmp", &nm);
    if (mine) mine[nm] = 0;
    CHECK(rc == 0, "Python's safetensors reads nn.h's file: %s", mine ? (char *)mine : "(no output)");
    if (rc == 0 && mine) printf("python check: %s", (char *)mine);
    free(mine);
    remove("persist_python.tmp");
  }
  remove(path);
  nn_model_free(m);
}

/* a model that differs from the reference one in a chosen way */
static nn_model *variant_model(int variant) {
  nn_graph *g = nn_graph_new();
  int six = FEATURES, one = 1;
  nn_node *x = nn_input(g, "x", 1, &six), *y = nn_input(g, "label", 1, &one), *h;
  nn_layer_name(g, "fc1");
  h = nn_dense(g, x, variant == 1 ? 10 : 12);    /* 1: fc1 is 10 wide */
  if (variant != 2) { nn_layer_name(g, "bn"); h = nn_batchnorm(g, h); }  /* 2: no bn */
  nn_layer_name(g, variant == 3 ? "head" : "fc2");  /* 3: fc2 renamed */
  nn_cross_entropy(g, nn_dense(g, h, CLASSES), y, 0, NN_MEAN);
  return nn_compile(g, 1, nn_cpu_backend());
}
static void test_mismatch_messages(void) {
  const char *path = "tests/fixtures/reference.safetensors";
  nn_model *m = variant_model(1);
  float before[72], after[72];
  nn_read(m, nn_model_find(m, "fc1.weight"), before);
  CHECK(!nn_safetensors_load(m, path, 0) && HAS("reference.safetensors") && HAS("(7 problems)") &&
        HAS("'bn.bias' has shape [12] in the file, [10] in the model") && HAS("and 2 more"), "shape mismatch: %s", nn_last_error());
  CHECK(!nn_safetensors_load(m, path, NN_LOAD_PARTIAL) && HAS("'bn.running_var' has shape [12] in the file, [10] in the model"),
        "partial loads still check shapes: %s", nn_last_error());
  nn_read(m, nn_model_find(m, "fc1.weight"), after);
  CHECK(!memcmp(before, after, 60 * sizeof(float)), "a failed load changes nothing");
  nn_model_free(m);
  m = variant_model(2);
  CHECK(!nn_safetensors_load(m, path, 0) && HAS("5 problems") && HAS("unexpected tensor 'bn.bias' F32 [12]") &&
        HAS("unexpected tensor 'bn.num_batches_tracked' I64 []"), "unexpected tensors: %s", nn_last_error());
  CHECK(nn_safetensors_load(m, path, NN_LOAD_PARTIAL) == 4, "partial load skips them: %s", nn_last_error());
  nn_model_free(m);
  m = variant_model(3);
  CHECK(!nn_safetensors_load(m, path, 0) && HAS("missing tensor 'head.weight' [3, 12]") && HAS("missing tensor 'head.bias' [3]") &&
        HAS("unexpected tensor 'fc2.weight' F32 [3, 12]"), "missing tensors: %s", nn_last_error());
  CHECK(nn_safetensors_load(m, path, NN_LOAD_PARTIAL) == 7, "partial load of the rest: %s", nn_last_error());
  nn_model_free(m);
  m = reference_model(1, 1);
  CHECK(!nn_safetensors_load(m, "no/such/file.safetensors", 0) && HAS("no/such/file.safetensors"), "missing file: %s", nn_last_error());
  CHECK(!nn_safetensors_load(m, ".", 0) && HAS("'.'"), "a directory: %s", nn_last_error());
  CHECK(!nn_checkpoint_load(m, NULL, NULL, NULL, ".") && HAS("'.'"), "a directory as checkpoint: %s", nn_last_error());
  nn_model_free(m);
}

/* ---------------------------------------------------------------------
   Hostile files: each is rejected with a clear reason, never a crash
   --------------------------------------------------------------------- */
/* a file made of a header (padded to 8) and `data` zero bytes */
static size_t make_file(unsigned char *out, const char *header, size_t data) {
  size_t h = strlen(header), i;
  for (i = 0; i < 8; i++) out[i] = (unsigned char)((uint64_t)h >> (8 * i));
  memcpy(out + 8, header, h);
  memset(out + 8 + h, 0, data);
  return 8 + h + data;
}
static nn_model *one_tensor_model(void) {  /* a single parameter "w" of shape [2] */
  nn_graph *g = nn_graph_new();
  int two = 2;
  nn_param(g, "w", 1, &two, NN_INIT_ONES, 0);
  return nn_compile(g, 1, nn_cpu_backend());
}
static void test_hostile(void) {
  static const struct { const char *header; size_t data; const char *reason; } cases[] = {
    {"{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", 8, NULL},
    {"{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", 7, "truncated"},
    {"{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", 9, "trailing bytes"},
    {"{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,16]}}", 16, "needs 8 bytes"},
    {"{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8,16]}}", 16, "starts at byte 8"},
    {"{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8,0]}}", 8, "end before they begin"},
    {"{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},\"v\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}", 12, "overlap"},
    {"{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,18446744073709551615]}}", 8, "needs 8 bytes"},
    {"{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,18446744073709551616]}}", 8, "64 bits"},
    {"{\"w\":{\"dtype\":\"F32\",\"shape\":[4294967296,4294967296],\"data_offsets\":[0,0]}}", 0, "too large"},
    {"{\"w\":{\"dtype\":\"F32\",\"shape\":[-2],\"data_offsets\":[0,8]}}", 8, "negative"},
    {"{\"w\":{\"dtype\":\"F32\",\"shape\":[2.0],\"data_offsets\":[0,8]}}", 8, "not an integer"},
    {"{\"w\":{\"dtype\":\"F32\",\"shape\":[02],\"data_offsets\":[0,8]}}", 8, "leading zero"},
    {"{\"w\":{\"dtype\":\"F32\",\"shape\":[1,1,1,1,1,1,1,1,2],\"data_offsets\":[0,8]}}", 8, "more than 8 dimensions"},
    {"{\"w\":{\"dtype\":\"F16\",\"shape\":[2],\"data_offsets\":[0,4]}}", 4, "'w' is F16, not F32"},
    {"{\"w\":{\"dtype\":\"Q4\",\"shape\":[2],\"data_offsets\":[0,8]}}", 8, "unknown dtype 'Q4'"},
    {"{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8,16]}}", 16, "appears twice"},
    {"{\"w\":{\"dtype\":\"F32\",\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", 8, "two 'dtype' fields"},
    {"{\"w\":{\"shape\":[2],\"data_offsets\":[0,8]}}", 8, "has no 'dtype'"},
    {"{\"w\":{\"dtype\":\"F32\",\"shape\":[2]}}", 0, "has no 'data_offsets'"},
    {"{\"w\":[1,2]}", 0, "not an object"},
    {"[]", 0, "expected '{'"},
    {"{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}", 8, "expected ',' or '}'"},
    {"{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}}", 8, "text after"},
    {"{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}} x", 8, "text after"},
    {"{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},\"__metadata__\":{\"a\":1}}", 8, "not a string"},
    {"{\"__metadata__\":{\"a\":\"b\",\"a\":\"c\"},\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", 8, "metadata 'a' appears twice"},
    {"{\"__metadata__\":{},\"__metadata__\":{},\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", 8, "two __metadata__"},
    {"{\"__metadata__\":null,\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", 8, NULL},
    {"  {\"w\" : {\"shape\" : [ 2 ] , \"data_offsets\":[0,8],\"dtype\":\"F32\", \"extra\": {\"a\": [1, -2.5e3, 0.5, 1.25E+2, true, null, \"x\", {}, []]}}}\n", 8, NULL},
    {"{\"w\\u0000\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", 8, "\\u0000"},
    {"{\"w\\ud800\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", 8, "lone surrogate"},
    {"{\"w\\x\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", 8, "unknown escape"},
    {"{\"w\xff\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", 8, "not UTF-8"},
    {"{\"w\xc0\x80\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", 8, "not UTF-8"},
    {"{\"w\n\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", 8, "control character"},
    {"{\"w", 0, "not closed"},
    {"{", 0, "expected a string"},
    {"", 0, "expected '{'"},
    {"{\"v\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", 8, "unexpected tensor 'v' F32 [2]"},
    {"{}", 0, "missing tensor 'w' [2]"},
    {"{\"w\":{\"dtype\":\"F32\",\"shape\":[],\"data_offsets\":[0,4]}}", 4, "shape [] in the file, [2] in the model"},
    {"{\"w\":{\"dtype\":\"F32\",\"shape\":[2,1],\"data_offsets\":[0,8]}}", 8, "shape [2, 1] in the file"},
  };
  nn_model *m = one_tensor_model();
  unsigned char *file = (unsigned char *)malloc(300000);
  char *deep = (char *)malloc(200000);
  float w[2];
  size_t len;
  int c;
  for (c = 0; c < (int)(sizeof cases / sizeof cases[0]); c++) {
    int loaded;
    len = make_file(file, cases[c].header, cases[c].data);
    nn_clear_error();
    loaded = nn_safetensors_load_buffer(m, file, len, 0);
    if (!cases[c].reason) CHECK(loaded == 1, "case %d is a valid file: %s", c, nn_last_error());
    else CHECK(!loaded && HAS(cases[c].reason), "case %d: expected '%s', got: %s", c, cases[c].reason, nn_last_error());
  }
  /* a header length that lies, and one past the limit */
  len = make_file(file, cases[0].header, 8);
  file[0] = 0xff;
  CHECK(!nn_safetensors_load_buffer(m, file, len, 0) && HAS("header length is 255 bytes but only"), "lying header length: %s", nn_last_error());
  memset(file, 0xff, 8);
  CHECK(!nn_safetensors_load_buffer(m, file, len, 0) && HAS("18446744073709551615"), "huge header length: %s", nn_last_error());
  CHECK(!nn_safetensors_load_buffer(m, file, 7, 0) && HAS("too short"), "7 bytes: %s", nn_last_error());
  /* deep nesting in a skipped field: refused at 64 levels, no recursion */
  memset(deep, 0, 200000);
  strcpy(deep, "{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8],\"x\":");
  len = strlen(deep);
  memset(deep + len, '[', 100000);
  len = make_file(file, deep, 8);
  CHECK(!nn_safetensors_load_buffer(m, file, len, 0) && HAS("nested more than 64 deep"), "deep nesting: %s", nn_last_error());
  strcpy(deep, "{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8],\"x\":");
  len = strlen(deep);
  memset(deep + len, '[', 64);
  memset(deep + len + 64, ']', 64);
  strcpy(deep + len + 128, "}}");
  len = make_file(file, deep, 8);
  CHECK(nn_safetensors_load_buffer(m, file, len, 0) == 1, "64 levels of a skipped field are fine: %s", nn_last_error());
  /* every truncation and every single-byte corruption of a real file:
     rejected (or, for harmless bytes, loaded), never a crash */
  {
    nn_model *r = reference_model(1, 1);
    unsigned char *good = slurp("tests/fixtures/reference.safetensors", &len), *bad = (unsigned char *)malloc(len);
    size_t cut, at, hlen = good[0] | (size_t)good[1] << 8;
    int rejected = 0, loaded = 0, silent = 0, v;
    for (cut = 0; cut < len; cut++) {
      if (nn_safetensors_load_buffer(r, good, cut, 0)) loaded++;
      else rejected++;
    }
    CHECK(rejected == (int)len && loaded == 0, "all %zu truncations are rejected (%d loaded)", len, loaded);
    rejected = loaded = 0;
    for (at = 0; at < 8 + hlen; at++)
      for (v = 0; v < 4; v++) {
        static const unsigned char values[4] = {0, '"', '9', 0x80};
        memcpy(bad, good, len);
        if (bad[at] == values[v]) continue;
        bad[at] = values[v];
        nn_clear_error();
        if (nn_safetensors_load_buffer(r, bad, len, 0)) loaded++;
        else if (nn_last_error()[0]) rejected++;
        else silent++;
      }
    CHECK(silent == 0 && rejected > 0, "%d corruptions rejected with a reason, %d harmless ones loaded, %d without a reason", rejected, loaded, silent);
    free(good);
    free(bad);
    nn_model_free(r);
  }
  nn_read(m, nn_model_find(m, "w"), w);
  CHECK(w[0] == 0 && w[1] == 0, "the valid cases loaded zeros");
  free(file);
  free(deep);
  nn_model_free(m);
}

/* the public atomic writer: the bytes arrive whole, a failure leaves nothing */
static void test_file_write_atomic(void) {
  static const char text[] = "every byte, or none";
  unsigned char *back;
  size_t n = 0;
  CHECK(nn_file_write_atomic("persist_atomic.tmp", text, sizeof text), "atomic write: %s", nn_last_error());
  back = slurp("persist_atomic.tmp", &n);
  CHECK(back && n == sizeof text && !memcmp(back, text, n), "the file holds the bytes written");
  free(back);
  CHECK(nn_file_write_atomic("persist_atomic.tmp", text, 5) && (back = slurp("persist_atomic.tmp", &n)) && n == 5,
        "a second write replaces the file");
  free(back);
  CHECK(!nn_file_write_atomic("no/such/dir/f", text, 5) && strstr(nn_last_error(), "no/such/dir/f"), "a missing directory: %s",
        nn_last_error());
  CHECK(!nn_file_write_atomic(NULL, text, 5) && !nn_file_write_atomic("x", NULL, 5), "NULL arguments are refused");
  remove("persist_atomic.tmp");
}
static void test_save_errors(void) {
  nn_model *m = reference_model(1, 1);
  const char *odd[] = {"key", NULL}, *twice[] = {"k", "1", "k", "2", NULL}, *bad_utf8[] = {"k", "\xff", NULL};
  CHECK(!nn_safetensors_save(m, "persist_x.tmp", odd) && HAS("'key' has no value"), "metadata without value: %s", nn_last_error());
  CHECK(!nn_safetensors_save(m, "persist_x.tmp", twice) && HAS("given twice"), "duplicate metadata: %s", nn_last_error());
  CHECK(!nn_safetensors_save(m, "persist_x.tmp", bad_utf8) && HAS("not UTF-8"), "metadata not UTF-8: %s", nn_last_error());
  CHECK(!nn_safetensors_save(m, "no/such/dir/x.safetensors", NULL) && HAS("no/such/dir/x.safetensors") && HAS("cannot create"),
        "unwritable path: %s", nn_last_error());
  nn_model_free(m);
}

/* ---------------------------------------------------------------------
   Training the reference model on a fixed synthetic data set
   --------------------------------------------------------------------- */
#define DATA_N 64
#define BATCH 8
static float data_x[DATA_N * FEATURES], data_y[DATA_N];
static void make_data(void) {
  nn_rng r;
  int i, k;
  nn_rng_seed(&r, 77);
  for (i = 0; i < DATA_N; i++) {
    float score[CLASSES] = {0, 0, 0};
    for (k = 0; k < FEATURES; k++) {
      float v = nn_rng_normal(&r);
      data_x[i * FEATURES + k] = v;
      score[k % CLASSES] += v * (float)(k + 1);
    }
    data_y[i] = (float)nn_argmax(score, CLASSES);
  }
}
static nn_optimizer *make_optimizer(nn_model *m, const char *kind) {
  nn_optimizer *o;
  if (!strcmp(kind, "sgd")) o = nn_sgd(m, 0.1f, 0.9f, 5e-4f, NN_NESTEROV);
  else if (!strcmp(kind, "adam")) o = nn_adam(m, 0.01f, 0.9f, 0.999f, 1e-8f, 0.01f, NN_DECOUPLED_WD);
  else o = nn_rmsprop(m, 0.01f, 0.5f, 0.9f, 1e-8f, 0, 0);
  nn_optimizer_set_clip(o, 1.0f);
  return o;
}
/* steps with a cosine schedule, random batches from info->data_rng and an
   average of the weights: every kind of state a run carries */
static void train(nn_model *m, nn_optimizer *o, nn_ema *e, nn_checkpoint_info *info, int steps) {
  static float xb[BATCH * FEATURES], yb[BATCH];
  int s, b;
  for (s = 0; s < steps; s++) {
    for (b = 0; b < BATCH; b++) {
      int i = nn_rng_int(&info->data_rng, DATA_N);
      memcpy(xb + b * FEATURES, data_x + i * FEATURES, sizeof(float) * FEATURES);
      yb[b] = data_y[i];
    }
    nn_feed(m, "x", xb);
    nn_feed(m, "label", yb);
    nn_optimizer_set_lr(o, nn_lr_cosine(0.05f, info->step, 100, 5, 0.001f));
    if (isnan(nn_train_step(m, o))) printf("training failed: %s\n", nn_last_error());
    nn_ema_update(e);
    info->step++;
  }
  info->epoch++;
}
#define RESUME_STEPS 20
/* the two halves of a resumed run, each in its own process */
static int resume_child(int argc, char **argv) {
  nn_model *m = reference_model(argv[1][0] == '1' ? 5 : 999, BATCH);   /* the second half starts from other weights */
  nn_optimizer *o = make_optimizer(m, argv[2]);
  nn_ema *e = nn_ema_new(m, 0.9f);
  nn_checkpoint_info info;
  int ok;
  make_data();
  memset(&info, 0, sizeof info);
  nn_rng_seed(&info.data_rng, 11);
  if (argv[1][0] == '2' && !nn_checkpoint_load(m, o, e, &info, argv[3])) {
    printf("load failed: %s\n", nn_last_error());
    return 1;
  }
  train(m, o, e, &info, RESUME_STEPS);
  ok = nn_checkpoint_save(m, o, e, &info, argv[argc - 1]);
  if (!ok) printf("save failed: %s\n", nn_last_error());
  nn_ema_free(e);
  nn_optimizer_free(o);
  nn_model_free(m);
  return !ok;
}
static void test_exact_resume(void) {
  static const char *const kinds[3] = {"sgd", "adam", "rmsprop"};
  int k;
  make_data();
  for (k = 0; k < 3; k++) {
    nn_model *m = reference_model(5, BATCH), *r;
    nn_optimizer *o = make_optimizer(m, kinds[k]);
    nn_ema *e = nn_ema_new(m, 0.9f);
    nn_checkpoint_info info;
    char cmd[1024];
    unsigned char *a, *b;
    size_t na = 0, nb = 0, count;
    float *wa, *wb;
    int rc1, rc2;
    memset(&info, 0, sizeof info);
    nn_rng_seed(&info.data_rng, 11);
    train(m, o, e, &info, RESUME_STEPS);
    train(m, o, e, &info, RESUME_STEPS);
    nn_checkpoint_save(m, o, e, &info, "persist_once.tmp");
    snprintf(cmd, sizeof cmd, "%s --resume-half 1 %s persist_half.tmp", self_cmd, kinds[k]);
    rc1 = system(cmd);
    snprintf(cmd, sizeof cmd, "%s --resume-half 2 %s persist_half.tmp persist_resumed.tmp", self_cmd, kinds[k]);
    rc2 = rc1 == 0 ? system(cmd) : -1;
    /* the weights, bit for bit */
    r = reference_model(123, BATCH);
    CHECK(rc1 == 0 && rc2 == 0 && nn_safetensors_load(r, "persist_resumed.tmp", 0), "resume processes: %d %d %s", rc1, rc2, nn_last_error());
    wa = all_params(m, &count);
    wb = all_params(r, &count);
    CHECK(!memcmp(wa, wb, count * sizeof(float)), "%s: weights after %d steps equal those after %d + checkpoint + %d", kinds[k],
          2 * RESUME_STEPS, RESUME_STEPS, RESUME_STEPS);
    if (!memcmp(wa, wb, count * sizeof(float)))
      printf("resume-equality %-7s: %d steps in one process vs %d, checkpoint, new process, %d more: %zu weights memcmp-equal\n",
             kinds[k], 2 * RESUME_STEPS, RESUME_STEPS, RESUME_STEPS, count);
    /* and everything else: optimizer state, average, generators, counters */
    a = slurp("persist_once.tmp", &na);
    b = slurp("persist_resumed.tmp", &nb);
    CHECK(a && b && na == nb && !memcmp(a, b, na), "%s: the final checkpoints are byte-identical (%zu, %zu bytes)", kinds[k], na, nb);
    if (a && b && na == nb && !memcmp(a, b, na))
      printf("resume-equality %-7s: final checkpoints (weights, optimizer state, EMA, RNGs, counters) byte-identical, %zu bytes\n", kinds[k], na);
    free(a); free(b); free(wa); free(wb);
    remove("persist_once.tmp"); remove("persist_half.tmp"); remove("persist_resumed.tmp");
    nn_ema_free(e);
    nn_optimizer_free(o);
    nn_model_free(m);
    nn_model_free(r);
  }
}

/* ---------------------------------------------------------------------
   Checkpoints: contents, refusals, atomic writes
   --------------------------------------------------------------------- */
static int failing_reads;  /* the backend's read fails (or the process dies) after this many calls */
static int die_in_read;
/* the model's backend with a read that fails (or crashes) after failing_reads reads */
static const nn_backend_ops *real_ops;
static nn_backend_ops flaky_ops;
static int flaky_read(nn_backend *b, const void *buf, size_t off, float *dst, size_t n) {
  if (failing_reads-- <= 0) {
    if (die_in_read) _Exit(3);   /* a crash: no cleanup at all */
    return nn__fail("simulated device failure");
  }
  return real_ops->read(b, buf, off, dst, n);
}
static void make_flaky(nn_model *m) {
  real_ops = m->backend->ops;
  flaky_ops = *real_ops;
  flaky_ops.read = flaky_read;
  m->backend->ops = &flaky_ops;
}
static void test_checkpoint(void) {
  nn_model *m = reference_model(5, BATCH), *f;
  nn_optimizer *o = make_optimizer(m, "adam"), *of;
  nn_ema *e = nn_ema_new(m, 0.9f), *ef;
  nn_checkpoint_info info, back;
  const char *path = "persist_ckpt.tmp";
  unsigned char *before, *after;
  size_t nb = 0, na = 0;
  char cmd[1024];
  int rc;
  make_data();
  memset(&info, 0, sizeof info);
  nn_rng_seed(&info.data_rng, 11);
  train(m, o, e, &info, 7);
  info.epoch = -3;  /* the caller's counters are stored as given */
  CHECK(nn_checkpoint_save(m, o, e, &info, path), "checkpoint save: %s", nn_last_error());
  /* into a fresh model: everything comes back */
  f = reference_model(9, BATCH);
  of = make_optimizer(f, "adam");
  ef = nn_ema_new(f, 0.5f);
  memset(&back, 0, sizeof back);
  CHECK(nn_checkpoint_load(f, of, ef, &back, path), "checkpoint load: %s", nn_last_error());
  CHECK(same_params(m, f) && nn_optimizer_steps(of) == 7 && nn_optimizer_get_lr(of) == nn_optimizer_get_lr(o) &&
        back.epoch == -3 && back.step == 7 && !memcmp(&back.data_rng, &info.data_rng, sizeof back.data_rng) &&
        !memcmp(&f->rng, &m->rng, sizeof f->rng), "weights, optimizer step and lr, counters and generators come back");
  nn_ema_swap(e);
  nn_ema_swap(ef);
  CHECK(same_params(m, f), "the average comes back");
  nn_ema_swap(e);
  nn_ema_swap(ef);
  /* a checkpoint is also a weights file */
  CHECK(nn_safetensors_load(f, path, 0) == 9, "weights load from a checkpoint: %s", nn_last_error());
  /* loading without optimizer, average or counters is fine */
  CHECK(nn_checkpoint_load(f, NULL, NULL, NULL, path), "weights-only checkpoint load: %s", nn_last_error());
  nn_optimizer_free(of);
  /* refusals */
  of = make_optimizer(f, "sgd");
  CHECK(!nn_checkpoint_load(f, of, NULL, NULL, path) && HAS("holds the state of adam, the optimizer is sgd"), "optimizer kind: %s", nn_last_error());
  nn_optimizer_free(of);
  nn_ema_free(ef);
  CHECK(nn_checkpoint_save(m, o, NULL, NULL, path), "save without average or info: %s", nn_last_error());
  ef = nn_ema_new(f, 0.5f);
  CHECK(!nn_checkpoint_load(f, NULL, ef, NULL, path) && HAS("no moving average"), "no average: %s", nn_last_error());
  CHECK(!nn_checkpoint_load(f, NULL, NULL, &back, path) && HAS("without nn.epoch"), "no info: %s", nn_last_error());
  CHECK(!nn_checkpoint_load(f, NULL, NULL, NULL, "tests/fixtures/reference.safetensors") && HAS("not a checkpoint"),
        "weights file is not a checkpoint: %s", nn_last_error());
  CHECK(!nn_checkpoint_load(f, o, NULL, NULL, path) && HAS("another model"), "optimizer of another model: %s", nn_last_error());
  nn_ema_free(ef);
  nn_model_free(f);
  /* a failure in the middle of writing leaves the old file, and no temporary */
  CHECK(nn_checkpoint_save(m, o, e, &info, path), "save: %s", nn_last_error());
  before = slurp(path, &nb);
  make_flaky(m);
  failing_reads = 10;
  train(m, o, e, &info, 1);
  CHECK(!nn_checkpoint_save(m, o, e, &info, path) && HAS("simulated device failure"), "a failing save fails: %s", nn_last_error());
  m->backend->ops = real_ops;
  after = slurp(path, &na);
  CHECK(before && after && na == nb && !memcmp(before, after, na), "the previous checkpoint is intact after a failed save");
  free(after);
#if defined(NN__POSIX_FILES) || defined(NN__WIN32_FILES)
  {
    char tmp[64];
    FILE *t;
#ifdef NN__WIN32_FILES
    snprintf(tmp, sizeof tmp, "%s.%lu.tmp", path, (unsigned long)GetCurrentProcessId());
#else
    snprintf(tmp, sizeof tmp, "%s.%ld.tmp", path, (long)getpid());
#endif
    t = fopen(tmp, "rb");
    CHECK(!t, "the temporary file is removed");
    if (t) fclose(t);
  }
#endif
  /* a process that dies in the middle of writing leaves the old file too */
  snprintf(cmd, sizeof cmd, "%s --die-while-saving %s", self_cmd, path);
  rc = system(cmd);
#ifdef NN__POSIX_FILES
  CHECK(WIFEXITED(rc) && WEXITSTATUS(rc) == 3, "the saving process died where it should (status %d)", rc);
#elif defined(_WIN32)
  CHECK(rc == 3, "the saving process died where it should (status %d)", rc);   /* system() gives the exit code */
#else
  CHECK(rc != 0, "the saving process died");
#endif
  after = slurp(path, &na);
  CHECK(before && after && na == nb && !memcmp(before, after, na), "the previous checkpoint is intact after a crash during a save");
  free(after);
  free(before);
  nn_ema_free(e);
  nn_optimizer_free(o);
  nn_model_free(m);
  remove(path);
#ifdef _WIN32
  system("del /q persist_ckpt.tmp.*.tmp");  /* what the crash left */
#else
  system("rm -f persist_ckpt.tmp.*.tmp");  /* what the crash left */
#endif
}
static int die_while_saving(const char *path) {
  nn_model *m = reference_model(6, BATCH);
  nn_optimizer *o = make_optimizer(m, "adam");
  make_flaky(m);
  failing_reads = 10;
  die_in_read = 1;
  nn_checkpoint_save(m, o, NULL, NULL, path);
  return 0;  /* not reached */
}

/* ---------------------------------------------------------------------
   The non-finite guard: stop (default) or skip
   --------------------------------------------------------------------- */
static void test_nonfinite(void) {
  nn_model *m = reference_model(5, BATCH);
  nn_optimizer *o = nn_sgd(m, 0.1f, 0.9f, 0, 0);
  nn_node *w = nn_model_find(m, "fc2.weight");
  float xb[BATCH * FEATURES], yb[BATCH], g[36], w0[36], w1[36];
  int i;
  make_data();
  memcpy(xb, data_x, sizeof xb);
  memcpy(yb, data_y, sizeof yb);
  nn_feed(m, "x", xb);
  nn_feed(m, "label", yb);
  CHECK(isfinite(nn_train_step(m, o)) && nn_optimizer_steps(o) == 1, "a normal step");
  nn_read(m, w, w0);
  /* a gradient that is not finite while the loss is */
  nn_forward(m, 1);
  nn_backward(m);
  nn_read_grad(m, w, g);
  g[5] = INFINITY;
  m->backend->ops->write(m->backend, m->grad[w->id], 0, g, 36);
  CHECK(!nn_optimizer_step(o) && HAS("gradient of 'fc2.weight'") && HAS("step 2"), "stop on a non-finite gradient: %s", nn_last_error());
  nn_read(m, w, w1);
  CHECK(!memcmp(w0, w1, sizeof w0) && nn_optimizer_steps(o) == 1, "nothing was updated");
  nn_optimizer_set_nonfinite(o, NN_NONFINITE_SKIP);
  g[5] = NAN;
  m->backend->ops->write(m->backend, m->grad[w->id], 0, g, 36);
  CHECK(nn_optimizer_step(o) && nn_optimizer_skipped(o) == 1 && HAS("skipped"), "skip a non-finite gradient: %s", nn_last_error());
  nn_read(m, w, w1);
  CHECK(!memcmp(w0, w1, sizeof w0) && nn_optimizer_steps(o) == 1, "a skipped step changes nothing");
  /* a NaN in the data: relu turns it into 0, so the loss stays finite
     but fc1's gradient is NaN */
  xb[3] = NAN;
  nn_feed(m, "x", xb);
  CHECK(nn_train_step(m, o) == INFINITY && nn_optimizer_skipped(o) == 2 && HAS("'fc1.weight'") && HAS("nan at step 2 (step skipped)"),
        "skip: %s", nn_last_error());
  nn_optimizer_set_nonfinite(o, NN_NONFINITE_STOP);
  CHECK(isnan(nn_train_step(m, o)) && HAS("nan at step 2") && !HAS("skipped"), "stop: %s", nn_last_error());
  nn_read(m, w, w1);
  CHECK(!memcmp(w0, w1, sizeof w0), "no update from a NaN batch");
  xb[3] = 0.5f;
  nn_feed(m, "x", xb);
  for (i = 0; i < 3; i++) nn_train_step(m, o);
  CHECK(nn_optimizer_steps(o) == 4 && nn_optimizer_skipped(o) == 2, "training goes on: %ld steps", nn_optimizer_steps(o));
  nn_optimizer_free(o);
  nn_model_free(m);
  /* a loss that is not finite: y = w x with a target of infinity */
  {
    nn_graph *g = nn_graph_new();
    int one = 1;
    nn_node *y = nn_dense(g, nn_input(g, "x", 1, &one), 1);
    float x = 1, t = INFINITY;
    nn_mse(g, y, nn_input(g, "t", 1, &one), NN_SUM);
    m = nn_compile(g, 1, nn_cpu_backend());
    o = nn_adam(m, 0.1f, 0.9f, 0.999f, 1e-8f, 0, 0);
    nn_feed(m, "x", &x);
    nn_feed(m, "t", &t);
    CHECK(isnan(nn_train_step(m, o)) && HAS("loss is inf at step 1") && nn_optimizer_skipped(o) == 0, "stop on an infinite loss: %s", nn_last_error());
    nn_optimizer_set_nonfinite(o, NN_NONFINITE_SKIP);
    CHECK(nn_train_step(m, o) == INFINITY && HAS("loss is inf at step 1 (step skipped)") && nn_optimizer_skipped(o) == 1 &&
          nn_optimizer_steps(o) == 0, "skip an infinite loss: %s", nn_last_error());
    t = 2;
    nn_feed(m, "t", &t);
    CHECK(isfinite(nn_train_step(m, o)) && nn_optimizer_steps(o) == 1, "then train: %s", nn_last_error());
    /* checking only the loss lets a non-finite gradient through (unless clipping is on) */
    nn_optimizer_set_nonfinite(o, NN_NONFINITE_STOP | NN_NONFINITE_LOSS_ONLY);
    nn_forward(m, 1);
    nn_backward(m);
    {
      nn_node *wn = nn_node_input(y, 1);
      float gw = NAN;
      m->backend->ops->write(m->backend, m->grad[wn->id], 0, &gw, 1);
      CHECK(nn_optimizer_step(o) && nn_optimizer_steps(o) == 2, "loss-only mode does not look at the gradients");
      nn_optimizer_set_clip(o, 1.0f);
      nn_forward(m, 1);
      nn_backward(m);
      m->backend->ops->write(m->backend, m->grad[wn->id], 0, &gw, 1);
      CHECK(!nn_optimizer_step(o) && HAS("gradient of 'dense0.weight'"), "with clipping it does: %s", nn_last_error());
    }
    nn_optimizer_free(o);
    nn_model_free(m);
  }
}

/* ---------------------------------------------------------------------
   PyTorch's layouts: num_batches_tracked, per-direction recurrent
   tensors, nn.h 0.2's joined ones, the tensor listing
   --------------------------------------------------------------------- */
/* x [4, 3] -> bidirectional gru 2 -> batch norm over the 4 steps */
static nn_model *layout_model(void) {
  nn_graph *g = nn_graph_new();
  int d[2] = {4, 3};
  nn_node *x = nn_input(g, "x", 2, d);
  nn_layer_name(g, "g");
  x = nn_gru(g, x, NULL, 2, 1, NN_BIDIRECTIONAL);
  nn_layer_name(g, "bn");
  nn_batchnorm(g, x);
  return nn_compile(g, 2, nn_cpu_backend());
}
/* appends a tensor of n floats 0.5 * (start + i) to a header and data */
static void legacy_tensor(char *header, unsigned char *data, size_t *used, const char *name, const char *shape, int n, int start) {
  int i;
  sprintf(header + strlen(header), "%s\"%s\":{\"dtype\":\"F32\",\"shape\":%s,\"data_offsets\":[%zu,%zu]}", strlen(header) > 1 ? "," : "",
          name, shape, *used, *used + 4 * (size_t)n);
  for (i = 0; i < n; i++, *used += 4) {
    float v = 0.5f * (float)(start + i);
    uint32_t u;
    memcpy(&u, &v, 4);
    data[*used] = (unsigned char)u; data[*used + 1] = (unsigned char)(u >> 8);
    data[*used + 2] = (unsigned char)(u >> 16); data[*used + 3] = (unsigned char)(u >> 24);
  }
}
static void test_pytorch_layouts(void) {
  static const char *const kinds[4] = {"weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0"};
  static const char *const shapes[4] = {"[12,3]", "[12,2]", "[12]", "[12]"};
  static const int sizes[4] = {18, 12, 6, 6};
  nn_model *m = layout_model(), *b = layout_model();
  nn_tensor_info t;
  char header[2048] = "{", name[64], *text;
  unsigned char data[512], *file = (unsigned char *)malloc(4096);
  float x[24], v[18];
  size_t used = 0, len;
  int i, k, d, ok;
  FILE *f = tmpfile();
  for (i = 0; i < 24; i++) x[i] = (float)sin(i);
  /* every forward pass in training counts, evaluation does not */
  nn_feed(m, "x", x);
  for (i = 0; i < 3; i++) nn_forward(m, 1);
  nn_predict(m, nn_model_find(m, "bn"));
  CHECK(bn_count(m, "bn.num_batches_tracked") == 3, "3 training passes counted: %lld", (long long)bn_count(m, "bn.num_batches_tracked"));
  CHECK(nn_safetensors_save(m, "persist_layout.tmp", NULL) && nn_safetensors_load(b, "persist_layout.tmp", 0) == 13 &&
        bn_count(b, "bn.num_batches_tracked") == 3, "the count round-trips: %s", nn_last_error());
  remove("persist_layout.tmp");
  /* the listing: PyTorch's names, kinds and shapes */
  CHECK(nn_model_num_tensors(m) == 13, "8 recurrent tensors, 4 of batch norm and its count: %d", nn_model_num_tensors(m));
  ok = nn_model_tensor(m, 1, &t) && !strcmp(t.name, "g.weight_ih_l0_reverse") && t.shape.ndim == 2 && t.shape.dim[0] == 6 &&
       t.shape.dim[1] == 3 && t.numel == 18 && t.trainable && !t.buffer && !strcmp(t.dtype, "F32");
  CHECK(ok, "tensor 1: %s", t.name);
  ok = nn_model_tensor(m, 12, &t) && !strcmp(t.name, "bn.num_batches_tracked") && t.shape.ndim == 0 && t.numel == 1 && t.buffer &&
       !t.trainable && !strcmp(t.dtype, "I64") && t.count == 3 && t.node == nn_model_find(m, "bn");
  CHECK(ok, "tensor 12: %s", t.name);
  CHECK(nn_model_tensor(m, 10, &t) && !strcmp(t.name, "bn.running_mean") && t.buffer && !t.trainable, "running_mean is a buffer");
  CHECK(!nn_model_tensor(m, 13, &t) && strstr(nn_last_error(), "13"), "past the end: %s", nn_last_error());
  nn_summary(m, f);
  len = (size_t)ftell(f);
  rewind(f);
  text = (char *)calloc(len + 1, 1);
  CHECK(fread(text, 1, len, f) == len && strstr(text, "g.bias_hh_l0_reverse") && strstr(text, "[6, 2]") &&
        strstr(text, "bn.num_batches_tracked") && strstr(text, "(I64: 3)") && strstr(text, "trainable") && strstr(text, "buffer"),
        "the summary lists every tensor:\n%s", text);
  free(text);
  fclose(f);
  /* nn.h 0.2's file: each recurrent tensor joined [reverse; forward] under
     the forward name, no count: it loads, split, and the count stays */
  for (k = 0; k < 4; k++) {
    snprintf(name, sizeof name, "g.%s", kinds[k]);
    legacy_tensor(header, data, &used, name, shapes[k], 2 * sizes[k], 100 * k);
  }
  legacy_tensor(header, data, &used, "bn.bias", "[4]", 4, 0);
  legacy_tensor(header, data, &used, "bn.running_mean", "[4]", 4, 0);
  legacy_tensor(header, data, &used, "bn.running_var", "[4]", 4, 1);
  legacy_tensor(header, data, &used, "bn.weight", "[4]", 4, 1);
  strcat(header, "}");
  len = make_file(file, header, 0);
  memcpy(file + len, data, used);
  CHECK(nn_safetensors_load_buffer(m, file, len + used, 0) == 12, "nn.h 0.2's joined file loads: %s", nn_last_error());
  CHECK(bn_count(m, "bn.num_batches_tracked") == 3, "a file without the count leaves it as it was");
  for (k = 0, ok = 1; k < 4; k++)
    for (d = 0; d < 2; d++) {
      snprintf(name, sizeof name, "g.%s%s", kinds[k], d ? "_reverse" : "");
      nn_read(m, nn_model_find(m, name), v);
      for (i = 0; i < sizes[k]; i++) ok &= v[i] == 0.5f * (float)(100 * k + d * sizes[k] + i);
    }
  CHECK(ok, "each direction gets its half");
  /* a joined tensor of the wrong size is not taken for one */
  strcpy(header, "{");
  used = 0;
  legacy_tensor(header, data, &used, "g.weight_ih_l0", "[18,3]", 54, 0);
  strcat(header, "}");
  len = make_file(file, header, 0);
  memcpy(file + len, data, used);
  CHECK(!nn_safetensors_load_buffer(m, file, len + used, NN_LOAD_PARTIAL) && strstr(nn_last_error(), "[18, 3] in the file, [6, 3]"),
        "a wrong joined shape: %s", nn_last_error());
  /* a forward tensor of its own shape is not the joined one: the reverse stays */
  strcpy(header, "{");
  used = 0;
  legacy_tensor(header, data, &used, "g.weight_ih_l0", "[6,3]", 18, 7);
  strcat(header, "}");
  len = make_file(file, header, 0);
  memcpy(file + len, data, used);
  CHECK(nn_safetensors_load_buffer(m, file, len + used, NN_LOAD_PARTIAL) == 1 && nn_read(m, nn_model_find(m, "g.weight_ih_l0_reverse"), v) &&
        v[0] == 0.5f * 18, "only the forward tensor loads: %s", nn_last_error());
  len = make_file(file, "{\"bn.num_batches_tracked\":{\"dtype\":\"F32\",\"shape\":[],\"data_offsets\":[0,4]}}", 4);
  CHECK(!nn_safetensors_load_buffer(m, file, len, NN_LOAD_PARTIAL) && strstr(nn_last_error(), "'bn.num_batches_tracked' is F32, not I64"),
        "the count is I64: %s", nn_last_error());
  free(file);
  nn_model_free(m);
  nn_model_free(b);
}

int main(int argc, char **argv) {
  if (argc >= 5 && !strcmp(argv[1], "--resume-half")) return resume_child(argc - 1, argv + 1);
  if (argc == 3 && !strcmp(argv[1], "--die-while-saving")) return die_while_saving(argv[2]);
  set_self(argv[0]);
  test_roundtrip();
  test_reference_file();
  test_mismatch_messages();
  test_hostile();
  test_pytorch_layouts();
  test_file_write_atomic();
  test_save_errors();
  test_checkpoint();
  test_exact_resume();
  test_nonfinite();
  return check_summary();
}
