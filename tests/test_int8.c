/* int8 inference (nn_compress.h): the kernels against a scalar reference,
   plans against the float model and against a scalar reference per layer,
   files, refusals, threads.
     - nn_int8_gemm equals a plain int32 loop exactly, for shapes that fill
       no tile and none of the padding (K not a multiple of 4, N not of 16,
       M not of 6) and the extreme values 0/255 x -128/127.  The suite
       builds this file with and without -march=native, so the AVX-512
       VNNI or AVX2 kernel and the portable one both meet the same sums;
     - a small network (conv with batch norm, ReLU and a padded max pool
       fused, strided conv with its GELU fused, conv with a padded max pool,
       the batch norm after it and a GELU fused (airbench's pattern), conv
       with a 2x2 pool and ReLU fused, dense over a [4, 4] reshape, dense
       with a 1-d batch norm folded, dense to the logits): every quantised
       layer's output equals
       a scalar reference computed from the layer's numbers (int8 weights,
       scales, zero point) on the same float input, to well under one
       integer step; the whole output close to the float model's;
     - the convs that hand their output to the next conv as 8-bit input
       give the same logits, bit for bit, as with every float output
       written (nn_int8_keep_outputs, which the per-layer checks use);
     - save, load into a second model compiled from the same graph: the
       same outputs bit for bit; an int8 file refused by
       nn_safetensors_load and a float file by nn_int8_load, with reasons;
       truncated files, the wrong output node, NULL arguments refused;
     - with OpenMP, 1 and 2 threads give the same bits;
     - a bidirectional GRU net with two inputs (ids, lengths) through
       nn_int8_quantize_inputs: the dense quantised with the range both
       inputs' samples give, the recurrent layer and embedding float.
   Build: cc -I. tests/test_int8.c -lm   (and with -O2 -march=native -fopenmp)
   Last line: "N passed, N failed". */
#include <stdlib.h>
#include <string.h>

#define NN_IMPLEMENTATION
#include "nn.h"
#define NN_COMPRESS_IMPLEMENTATION
#include "nn_compress.h"

#include "check.h"

static void gemm_cases(void) {
  static const int shapes[][3] = {{1, 1, 1}, {5, 10, 9}, {6, 16, 4}, {7, 33, 13}, {13, 48, 300}, {2, 17, 3137}, {37, 64, 288}};
  nn_rng r;
  int s;
  nn_rng_seed(&r, 7);
  for (s = 0; s < (int)(sizeof shapes / sizeof shapes[0]); s++) {
    int M = shapes[s][0], N = shapes[s][1], K = shapes[s][2], i, n, k, bad = 0, extreme;
    for (extreme = 0; extreme < 2; extreme++) {
      unsigned char *a = (unsigned char *)malloc((size_t)M * K);
      signed char *w = (signed char *)malloc((size_t)N * K);
      int32_t *c = (int32_t *)malloc((size_t)M * N * sizeof(int32_t));
      for (i = 0; i < M * K; i++) a[i] = (unsigned char)(extreme ? (i % 3 ? 255 : 0) : nn_rng_int(&r, 256));
      for (i = 0; i < N * K; i++) w[i] = (signed char)(extreme ? (i % 5 ? -128 : 127) : nn_rng_int(&r, 256) - 128);
      CHECK(nn_int8_gemm(M, N, K, a, w, c), "gemm %dx%dx%d: %s", M, N, K, nn_last_error());
      for (i = 0; i < M; i++)
        for (n = 0; n < N; n++) {
          int32_t ref = 0;
          for (k = 0; k < K; k++) ref += (int32_t)a[(size_t)i * K + k] * w[(size_t)n * K + k];
          bad += c[(size_t)i * N + n] != ref;
        }
      CHECK(!bad, "gemm %dx%dx%d (%s, %s): %d sums differ from the int32 reference", M, N, K, nn_int8_kernel(),
            extreme ? "extreme values" : "random", bad);
      free(a);
      free(w);
      free(c);
    }
  }
  {
    unsigned char a[4] = {0};
    signed char w[4] = {0};
    int32_t c[1];
    CHECK(!nn_int8_gemm(1, 1, 0, a, w, c) && strstr(nn_last_error(), "K 0"), "gemm K 0: %s", nn_last_error());
    CHECK(!nn_int8_gemm(1, 1, 70000, a, w, c), "gemm K 70000 refused");
    CHECK(!nn_int8_gemm(1, 1, 1, NULL, w, c) && strstr(nn_last_error(), "NULL"), "gemm NULL: %s", nn_last_error());
  }
}

typedef struct net { nn_graph *g; nn_node *x, *logits; } net;
static net build(void) {
  int dims[3] = {3, 9, 9}, one = 1, rs[2] = {4, 4};
  net n;
  nn_node *h, *y;
  n.g = nn_graph_new();
  nn_graph_set_seed(n.g, 11);
  n.x = nn_input(n.g, "image", 3, dims);
  y = nn_input(n.g, "label", 1, &one);
  h = nn_relu(n.g, nn_batchnorm(n.g, nn_conv2d_ex(n.g, n.x, 8, 3, 3, 1, 1, 0)));   /* bn and relu folded */
  h = nn_maxpool2d_ex(n.g, h, 2, 2, 1);                                              /* a padded pool fused */
  h = nn_gelu(n.g, nn_conv2d_ex(n.g, h, 18, 3, 3, 2, 1, 1));   /* GELU fused; 18 channels: the next conv pads them to 20 */
  h = nn_gelu(n.g, nn_batchnorm(n.g, nn_maxpool2d_ex(n.g, nn_conv2d(n.g, h, 12, 3, 1, 1), 2, 2, 1)));   /* pool, bn, GELU */
  h = nn_relu(n.g, nn_maxpool2d(n.g, nn_conv2d(n.g, h, 16, 3, 1, 1), 2, 2));       /* pool and ReLU fused */
  h = nn_relu(n.g, nn_dense(n.g, nn_reshape(n.g, nn_flatten(n.g, h), 2, rs), 12)); /* dense over [4, 4] */
  h = nn_relu(n.g, nn_batchnorm(n.g, nn_dense(n.g, nn_flatten(n.g, h), 24)));       /* 1-d batch norm folded */
  nn_layer_name(n.g, "logits");
  n.logits = nn_dense(n.g, h, 5);
  nn_cross_entropy(n.g, n.logits, y, 0.0f, NN_MEAN);
  return n;
}

static void fill(nn_rng *r, float *v, size_t n, float a) {
  size_t i;
  for (i = 0; i < n; i++) v[i] = a * nn_rng_normal(r);
}

/* the layer's output from its float input, one scalar loop per output,
   then the fused max pool (windows clipped to the image), the batch norm
   after it and the GELU, as nn.h computes them */
static int layer_matches(nn_model *m, const nn_int8_layer_info *L) {
  const nn_node *nd = L->node;
  size_t nx = nn_node_numel(m, nd->in[0]), ny = nn_node_numel(m, L->out), nref, i;
  float *x = (float *)malloc(nx * sizeof(float)), *y = (float *)malloc(ny * sizeof(float)), *ref;
  unsigned char *q = (unsigned char *)malloc(nx);
  int bad = 0, b, batch = m->batch, P = 1, rows, o, p, r;
  nn_conv2d_dims d;
  memset(&d, 0, sizeof d);
  if (nd->op == NN_OP_CONV2D) { d = nn_conv2d_dims_of(nd); P = d.OH * d.OW; }
  rows = nd->op == NN_OP_DENSE ? (int)(nx / batch / (size_t)L->inputs) : 1;
  nref = (size_t)batch * rows * L->outputs * P;
  ref = (float *)malloc(nref * sizeof(float));
  nn_read(m, nd->in[0], x);
  nn_read(m, L->out, y);
  for (i = 0; i < nx; i++) {
    float v = x[i] / L->input_scale + (float)L->input_zero_point;
    v = v < 0 ? 0 : v > 255 ? 255 : v;
    q[i] = (unsigned char)(int)(v + 0.5f);
  }
  for (b = 0; b < batch; b++)
    for (r = 0; r < rows; r++)
      for (o = 0; o < L->outputs; o++)
        for (p = 0; p < P; p++) {
          int32_t acc = 0;
          float v;
          int k;
          for (k = 0; k < L->inputs; k++) {
            int a;
            if (nd->op == NN_OP_CONV2D) {
              int c = k / (d.kh * d.kw), ky = k / d.kw % d.kh, kx = k % d.kw;
              int iy = p / d.OW * d.s - d.p + ky, ix = p % d.OW * d.s - d.p + kx;
              a = iy < 0 || ix < 0 || iy >= d.H || ix >= d.W ? L->input_zero_point
                                                               : q[(((size_t)b * d.C + c) * d.H + iy) * d.W + ix];
            } else {
              a = q[((size_t)b * rows + r) * L->inputs + k];
            }
            acc += (a - L->input_zero_point) * L->weight[(size_t)o * L->inputs + k];
          }
          v = (float)acc * (L->input_scale * L->weight_scale[o]) + L->bias[o];
          ref[(((size_t)b * rows + r) * L->outputs + o) * P + p] = L->relu && v < 0 ? 0 : v;
        }
  if (nd->op == NN_OP_DENSE) {   /* [batch][rows][outputs], P = 1 */
    for (i = 0; i < nref; i++) {
      o = (int)(i % L->outputs);
      bad += !(fabsf(y[i] - ref[i]) <= 0.25f * L->input_scale * L->weight_scale[o] + 1e-6f * fabsf(ref[i]));
    }
  } else {
    const nn_pool_attr *a = L->pool ? &L->pool->attr.pool : NULL;
    int PH = L->pool ? L->pool->shape.dim[1] : d.OH, PW = L->pool ? L->pool->shape.dim[2] : d.OW, ph, pw;
    float tol;
    for (b = 0; b < batch; b++)
      for (o = 0; o < L->outputs; o++)
        for (ph = 0; ph < PH; ph++)
          for (pw = 0; pw < PW; pw++) {
            const float *plane = ref + ((size_t)b * L->outputs + o) * P;
            float want = plane[ph * d.OW + pw], got = y[(((size_t)b * L->outputs + o) * PH + ph) * PW + pw];
            if (a) {
              int h, w;
              want = -INFINITY;
              for (h = ph * a->stride - a->pad; h < ph * a->stride - a->pad + a->k; h++)
                for (w = pw * a->stride - a->pad; w < pw * a->stride - a->pad + a->k; w++)
                  if (h >= 0 && w >= 0 && h < d.OH && w < d.OW && plane[h * d.OW + w] > want) want = plane[h * d.OW + w];
            }
            /* a step's quarter, as large as the batch norm scales it (GELU's slope is at most 1.13) */
            tol = 0.25f * L->input_scale * L->weight_scale[o] * (L->post_scale ? fabsf(L->post_scale[o]) : 1.0f) *
                  (L->gelu ? 1.13f : 1.0f);
            if (L->post_norm) want = want * L->post_scale[o] + L->post_shift[o];
            if (L->gelu) want = 0.5f * want * (1.0f + erff(want * 0.70710678f));
            bad += !(fabsf(got - want) <= tol + 1e-5f * fabsf(want) + 1e-6f);
          }
  }
  free(x);
  free(y);
  free(q);
  free(ref);
  return bad;
}

static size_t read_all(const char *path, unsigned char **out) {
  FILE *f = fopen(path, "rb");
  size_t n = 0, cap = 1 << 16;
  *out = (unsigned char *)malloc(cap);
  if (!f) return 0;
  for (;;) {
    size_t got = fread(*out + n, 1, cap - n, f);
    n += got;
    if (n < cap) break;
    *out = (unsigned char *)realloc(*out, cap *= 2);
  }
  fclose(f);
  return n;
}

static void plan_cases(void) {
  enum { B = 12, CAL = 40 };
  net n = build();
  nn_model *m = nn_compile(n.g, B, nn_cpu_backend()), *m2 = NULL;
  nn_optimizer *o = m ? nn_sgd(m, 0.05f, 0.9f, 0, 0) : NULL;
  nn_int8_plan *q = NULL, *q2 = NULL;
  nn_rng r;
  float *cal = (float *)malloc((size_t)CAL * 243 * sizeof(float)), *x = (float *)malloc((size_t)B * 243 * sizeof(float));
  float lab[B], fl[B * 5], i8[B * 5], i8b[B * 5];
  double err = 0, span = 0;
  int i, s, bad, layers;
  unsigned char *bytes = NULL;
  size_t len;
  CHECK(m && o, "compile: %s", nn_last_error());
  if (!m || !o) return;
  nn_rng_seed(&r, 5);
  for (i = 0; i < B; i++) lab[i] = (float)(i % 5);
  for (s = 0; s < 20; s++) {   /* batch-norm statistics and weights that are not the initial ones */
    fill(&r, x, (size_t)B * 243, 1.0f);
    nn_feed(m, "image", x);
    nn_feed(m, "label", lab);
    nn_train_step(m, o);
  }
  fill(&r, cal, (size_t)CAL * 243, 1.0f);
  fill(&r, x, (size_t)B * 243, 1.0f);
  CHECK(!nn_int8_quantize(NULL, n.logits, n.x, cal, CAL), "quantize NULL model");
  CHECK(!nn_int8_quantize(m, n.logits, n.x, NULL, CAL) && strstr(nn_last_error(), "samples"), "quantize NULL samples: %s", nn_last_error());
  CHECK(!nn_int8_quantize(m, n.logits, n.x, cal, 0), "quantize 0 samples");
  CHECK(!nn_int8_quantize(m, n.logits, n.logits, cal, CAL) && strstr(nn_last_error(), "not an input"), "quantize from a non-input: %s", nn_last_error());
  q = nn_int8_quantize(m, n.logits, n.x, cal, CAL);
  CHECK(q != NULL, "quantize: %s", nn_last_error());
  if (!q) return;
  CHECK(m->batch == B, "the model's batch is restored after calibration (%d)", m->batch);
  layers = nn_int8_num_layers(q);
  CHECK(layers == 7, "7 quantised layers, %d", layers);
  {
    nn_int8_layer_info L;
    nn_int8_layer(q, 0, &L);
    CHECK(L.relu && L.out == L.pool && L.pool->attr.pool.pad == 1,
          "the first conv's batch norm, ReLU and padded max pool are fused");
    nn_int8_layer(q, 1, &L);
    CHECK(!L.relu && L.gelu && !L.pool && L.out->op == NN_OP_GELU && L.out->in[0] == L.node, "the strided conv's GELU is fused");
    nn_int8_layer(q, 2, &L);
    CHECK(!L.relu && L.gelu && L.pool && L.post_norm && L.post_norm->in[0] == L.pool && L.out->in[0] == L.post_norm &&
          L.post_scale && L.post_shift, "a max pool, the batch norm after it and a GELU are fused");
    nn_int8_layer(q, 3, &L);
    CHECK(L.relu && L.pool && L.out->op == NN_OP_RELU && L.out->in[0] == L.pool, "a max pool and the ReLU after it are fused");
    nn_int8_layer(q, 5, &L);
    CHECK(L.relu && L.out->in[0]->op == NN_OP_BATCHNORM, "the 1-d batch norm after a dense is folded");
    CHECK(!nn_int8_layer(q, 7, &L) && !nn_int8_layer(q, -1, &L), "layer index out of range");
    for (i = 0; i < 4; i++) {
      nn_int8_layer(q, i, &L);
      CHECK(L.hands_on == (i < 3), "layer %d %s its output to the next conv", i, i < 3 ? "hands" : "(before a flatten) does not hand");
    }
  }
  nn_set_batch(m, B);
  nn_feed(m, "image", x);
  CHECK(nn_predict(m, n.logits) && nn_read(m, n.logits, fl), "float predict");
  CHECK(nn_int8_predict(q) && nn_read(m, n.logits, i8), "int8 predict: %s", nn_last_error());
  /* the convs hand their outputs over as 8-bit inputs; written as floats
     and read back by the next conv, the same bits */
  CHECK(nn_int8_keep_outputs(q, 1) && nn_int8_predict(q) && nn_read(m, n.logits, i8b) && !memcmp(i8, i8b, sizeof i8),
        "every layer's float output written: the same logits, bit for bit");
  CHECK(!nn_int8_keep_outputs(NULL, 1), "keep_outputs: NULL plan");
  for (i = 0; i < B * 5; i++) {
    err = fabs(fl[i] - i8[i]) > err ? fabs(fl[i] - i8[i]) : err;
    span = fabs(fl[i]) > span ? fabs(fl[i]) : span;
  }
  CHECK(err <= 0.08 * span, "int8 logits within 8%% of the float range: max difference %g, range %g", err, span);
  for (i = 0; i < layers; i++) {
    nn_int8_layer_info L;
    nn_int8_layer(q, i, &L);
    bad = layer_matches(m, &L);
    CHECK(!bad, "layer %d ('%s'): %d outputs differ from the scalar reference by an integer step or more", i, L.node->name, bad);
  }
  nn_int8_keep_outputs(q, 0);
  nn_set_batch(m, 3);   /* a smaller batch */
  CHECK(nn_int8_predict(q) && nn_read(m, n.logits, i8b) && !memcmp(i8, i8b, 3 * 5 * sizeof(float)),
        "batch 3 gives the first 3 samples' outputs");
  nn_set_batch(m, B);
#ifdef _OPENMP
  {
    int was = nn_set_threads(0);
    nn_set_threads(1);
    nn_int8_predict(q);
    nn_read(m, n.logits, i8b);
    CHECK(!memcmp(i8, i8b, sizeof i8), "1 thread: the same bits as %d", was);
    nn_set_threads(was);
  }
#endif
  /* files */
  CHECK(nn_int8_save(q, "build/test_int8.safetensors"), "save: %s", nn_last_error());
  CHECK(nn_safetensors_save(m, "build/test_int8_float.safetensors", NULL), "float save");
  m2 = nn_compile(n.g, 5, nn_cpu_backend());
  CHECK(!nn_safetensors_load(m2, "build/test_int8.safetensors", 0) && strstr(nn_last_error(), "I8"),
        "nn_safetensors_load refuses an int8 file: %s", nn_last_error());
  CHECK(!nn_int8_load(m2, n.logits, "build/test_int8_float.safetensors"), "nn_int8_load refuses a float file");
  CHECK(strstr(nn_last_error(), "not an int8 model file") != NULL, "... saying so: %s", nn_last_error());
  {
    nn_node *other = nn_node_input(n.logits, 0);   /* the ReLU before the logits */
    CHECK(!nn_int8_load(m2, other, "build/test_int8.safetensors") && strstr(nn_last_error(), "not"),
          "a file for another output node is refused: %s", nn_last_error());
  }
  q2 = nn_int8_load(m2, n.logits, "build/test_int8.safetensors");
  CHECK(q2 != NULL, "load: %s", nn_last_error());
  if (q2) {
    nn_set_batch(m2, 5);
    nn_feed(m2, "image", x);
    CHECK(nn_int8_predict(q2) && nn_read(m2, n.logits, i8b) && !memcmp(i8, i8b, 5 * 5 * sizeof(float)),
          "the loaded plan gives the same bits");
  }
  len = read_all("build/test_int8.safetensors", &bytes);
  CHECK(len > 100, "read the file back");
  {
    size_t cut[3] = {7, 100, len - 1};
    int c;
    for (c = 0; c < 3; c++) {
      nn_int8_plan *t = nn_int8_load_buffer(m2, n.logits, bytes, cut[c]);
      CHECK(!t && nn_last_error()[0], "a file cut to %zu bytes is refused: %s", cut[c], nn_last_error());
    }
  }
  CHECK(!nn_int8_load_buffer(m2, n.logits, NULL, 10), "NULL buffer");
  CHECK(!nn_int8_load(m2, n.logits, "build/no-such-file"), "missing file");
  CHECK(!nn_int8_save(q, "build/no-such-dir/x.safetensors"), "unwritable path refused");
  CHECK(!nn_int8_save(NULL, "x") && !nn_int8_predict(NULL) && nn_int8_num_layers(NULL) == 0, "NULL plan");
  /* a plan keeps its model alive: free the model first */
  nn_model_free(m);
  nn_optimizer_free(o);
  nn_set_batch(q->m, 2);
  CHECK(nn_int8_predict(q), "the plan runs after nn_model_free of its model");
  nn_int8_free(q);
  nn_int8_free(q2);
  nn_model_free(m2);
  free(bytes);
  free(cal);
  free(x);
}

/* a recurrent net with two inputs (token ids, lengths), as examples/imdb.c:
   nn_int8_quantize_inputs feeds both, so the dense's input range is the
   one the float model gives on the calibration samples with their own
   lengths (the lengths fed before, all 1, would give another); the GRU
   and the embedding run as float ops, the output close to the float
   model's; bad inputs refused */
static void recurrent_plan_cases(void) {
  enum { RB = 6, T = 7, CAL = 10 };
  nn_graph *g = nn_graph_new();
  int t = T, one = 1, k;
  nn_node *ids = nn_input(g, "ids", 1, &t), *len = nn_input(g, "len", 1, &one), *h, *pool[2], *logits;
  const nn_node *inputs[2];
  const float *samples[2];
  nn_model *m;
  nn_int8_plan *q;
  nn_int8_layer_info L;
  float cal_ids[CAL * T], cal_len[CAL], ones[RB], x[RB * 32], lo = 0, hi = 0, fout[RB * 2], qout[RB * 2], diff = 0, amax = 0;
  nn_rng r;
  nn_graph_set_seed(g, 4);
  h = nn_embedding(g, ids, 20, 8);
  h = nn_gru(g, h, len, 8, 1, NN_BIDIRECTIONAL);
  pool[0] = nn_seq_maxpool(g, h, len);
  pool[1] = nn_seq_meanpool(g, h, len);
  logits = nn_dense(g, nn_concat(g, 2, pool), 2);
  m = nn_compile(g, RB, nn_cpu_backend());
  nn_rng_seed(&r, 77);
  for (k = 0; k < CAL * T; k++) cal_ids[k] = (float)nn_rng_int(&r, 20);
  for (k = 0; k < CAL; k++) cal_len[k] = (float)(1 + nn_rng_int(&r, T));   /* ragged */
  for (k = 0; k < RB; k++) ones[k] = 1;
  /* the float model's range at the dense's input, batch by batch as the plan calibrates */
  for (k = 0; k < CAL; k += RB) {
    int n = CAL - k < RB ? CAL - k : RB, j;
    nn_set_batch(m, n);
    nn_feed(m, "ids", cal_ids + (size_t)k * T);
    nn_feed(m, "len", cal_len + k);
    nn_predict(m, logits);
    nn_read(m, nn_node_input(logits, 0), x);
    for (j = 0; j < n * 32; j++) { lo = x[j] < lo ? x[j] : lo; hi = x[j] > hi ? x[j] : hi; }
  }
  nn_set_batch(m, RB);
  nn_feed(m, "len", ones);   /* what calibration must not use */
  inputs[0] = ids;
  inputs[1] = len;
  samples[0] = cal_ids;
  samples[1] = cal_len;
  q = nn_int8_quantize_inputs(m, logits, 2, inputs, samples, CAL);
  CHECK(q && nn_int8_num_layers(q) == 1, "gru net: one quantised layer, the dense: %s", q ? "" : nn_last_error());
  if (!q) { nn_model_free(m); return; }
  nn_int8_layer(q, 0, &L);
  CHECK(fabsf(L.input_scale - (hi - lo) / 255.0f) <= 1e-6f * (hi - lo) && L.input_zero_point == (int)(-lo / L.input_scale + 0.5f),
        "gru net: the dense's input range from both inputs' samples (scale %g, expected %g)", L.input_scale, (hi - lo) / 255.0f);
  nn_feed(m, "ids", cal_ids);
  nn_feed(m, "len", cal_len);
  nn_predict(m, logits);
  nn_read(m, logits, fout);
  CHECK(nn_int8_predict(q) && nn_read(m, logits, qout), "gru net: int8 predict: %s", nn_last_error());
  for (k = 0; k < RB * 2; k++) {
    diff = fabsf(fout[k] - qout[k]) > diff ? fabsf(fout[k] - qout[k]) : diff;
    amax = fabsf(fout[k]) > amax ? fabsf(fout[k]) : amax;
  }
  CHECK(diff <= 0.02f * amax + 1e-4f, "gru net: int8 output close to the float one (max difference %g of %g)", diff, amax);
  nn_int8_free(q);
  CHECK(!nn_int8_quantize_inputs(m, logits, 0, inputs, samples, CAL) && strstr(nn_last_error(), "0 inputs"), "0 inputs refused: %s",
        nn_last_error());
  samples[1] = NULL;
  CHECK(!nn_int8_quantize_inputs(m, logits, 2, inputs, samples, CAL) && strstr(nn_last_error(), "'len'"),
        "NULL samples refused: %s", nn_last_error());
  samples[1] = cal_len;
  inputs[1] = logits;
  CHECK(!nn_int8_quantize_inputs(m, logits, 2, inputs, samples, CAL) && strstr(nn_last_error(), "not an input"),
        "a non-input refused: %s", nn_last_error());
  nn_model_free(m);
}

int main(void) {
  printf("int8 kernel: %s\n", nn_int8_kernel());
  gemm_cases();
  plan_cases();
  recurrent_plan_cases();
  return check_summary();
}
