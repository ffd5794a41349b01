/* Unit tests for nn.h: gradient checks of every op and loss (the cases of
   tests/op_cases.h), forward results against direct references,
   optimizers against hand-computed values, convergence, loaders on
   fixtures and hostile files, metrics.
   Build: cc -O1 -g -I. tests/test_nn.c -lm && ./a.out
   Last line: "N passed, N failed". */
#include <stdlib.h>
#include <string.h>

/* count allocations so a test can prove that a training step makes none */
static long test_allocs;
static void *test_malloc(size_t n) { test_allocs++; return malloc(n); }
static void *test_realloc(void *p, size_t n) { test_allocs++; return realloc(p, n); }
#define NN_MALLOC(n) test_malloc(n)
#define NN_REALLOC(p, n) test_realloc(p, n)
#define NN_FREE(p) free(p)
#define NN_IMPLEMENTATION
#include "nn.h"

#include "check.h"
#include "batchnorm_sync.h"
#include "op_cases.h"

/* the larger of two errors; a NaN sticks (fmax would drop it), and
   aarch64 gcc 12.2 -O2 crashes vectorising max_err() reductions */
static double max_err(double a, double b) { return a != a || a > b ? a : b; }

static nn_rng trng;

/* distinct values spaced apart and away from zero, so that finite
   differences never cross a kink of relu or a switch of a max */
static void fill_spaced(float *v, size_t n, float lo, float hi) {
  size_t i;
  int *perm = (int *)malloc(n * sizeof(int));
  for (i = 0; i < n; i++) perm[i] = (int)i;
  nn_shuffle(&trng, perm, (int)n);
  for (i = 0; i < n; i++) {
    float t = ((float)perm[i] + 0.5f) / (float)n;
    v[i] = lo + (hi - lo) * t;
    if (v[i] > -0.02f && v[i] < 0.02f) v[i] = v[i] < 0 ? -0.02f - 0.01f * t : 0.02f + 0.01f * t;
  }
  free(perm);
}

/* ---------------------------------------------------------------------
   Gradient check of every case of tests/op_cases.h: L = sum(out * r) for
   a fixed random r (or L = out for a loss), analytic gradients from
   nn_backward_from against central differences, for every input and
   parameter that has a gradient.
   --------------------------------------------------------------------- */
#define GC_H 2e-3
static double gc_objective(nn_model *m, nn_node *out, const float *r, int training, float *buf) {
  size_t i, n = nn_node_numel(m, out);
  double s = 0;
  nn_model_set_seed(m, 1234);  /* the same dropout mask every time */
  if (!nn__run_forward(m, out, training)) return NAN;
  nn_read(m, out, buf);
  for (i = 0; i < n; i++) s += (double)buf[i] * r[i];
  return s;
}
static void gradcheck(const op_case *c, int *covered) {
  nn_graph *g = nn_graph_new();
  nn_node *out = c->build(g);
  const char *what = c->what;
  int training = c->training, k, worst_node = -1;
  nn_model *m;
  size_t n_out, i;
  float *r, *buf;
  double worst = 0;
  if (!op_coverage_add(covered, g, c->op)) CHECK(0, "%s: the graph has no %s node", what, nn_op_name(c->op));
  if (!(m = nn_compile(g, c->batch, nn_cpu_backend()))) { CHECK(0, "%s: compile failed: %s", what, nn_last_error()); return; }
  nn_set_batch(m, c->used_batch);
  /* random data for inputs and trainable parameters */
  for (k = 0; k < m->graph->n; k++) {
    nn_node *nd = m->graph->nodes[k];
    size_t len = nn_node_numel(m, nd);
    float *v;
    if (!(nd->op == NN_OP_INPUT || (nd->op == NN_OP_PARAM && nd->trainable))) continue;
    v = (float *)calloc(len, sizeof(float));
    if (!op_case_fill(c, m->graph, nd, &trng, v, len)) fill_spaced(v, len, -1.0f, 1.0f);
    nn_write(m, nd, v);
    free(v);
  }
  n_out = nn_node_numel(m, out);
  r = (float *)calloc(n_out, sizeof(float));
  buf = (float *)calloc(n_out, sizeof(float));
  for (i = 0; i < n_out; i++) r[i] = out->batched ? 2.0f * nn_rng_uniform(&trng) - 1.0f : 1.0f;
  gc_objective(m, out, r, training, buf);
  if (!nn_backward_from(m, out, r)) { CHECK(0, "%s: backward failed: %s", what, nn_last_error()); goto done; }
  for (k = 0; k < m->graph->n; k++) {
    nn_node *nd = m->graph->nodes[k];
    size_t len = nn_node_numel(m, nd), step, checked = 0;
    float *val, *grad;
    if ((nd->op != NN_OP_INPUT && nd->op != NN_OP_PARAM) || !m->grad[k]) continue;
    val = (float *)calloc(len, sizeof(float));
    grad = (float *)calloc(len, sizeof(float));
    nn_read(m, nd, val);
    nn_read_grad(m, nd, grad);
    step = len > 40 ? len / 40 : 1;
    for (i = 0; i < len; i += step, checked++) {
      float keep = val[i];
      double lp, lm, num, err;
      val[i] = keep + (float)GC_H; nn_write(m, nd, val); lp = gc_objective(m, out, r, training, buf);
      val[i] = keep - (float)GC_H; nn_write(m, nd, val); lm = gc_objective(m, out, r, training, buf);
      val[i] = keep; nn_write(m, nd, val);
      num = (lp - lm) / (2 * GC_H);
      err = fabs(num - grad[i]) / (5e-3 + 2e-2 * max_err(fabs(num), fabs(grad[i])));
      if (!(err <= worst)) { worst = err; worst_node = k; }
      if (!(err <= 1.0)) printf("  %s: d/d %s[%zu]: numeric %.6f analytic %.6f\n", what, nd->name, i, num, grad[i]);
    }
    free(val);
    free(grad);
  }
  CHECK(worst <= 1.0, "gradcheck %s: worst error %.3g of tolerance at '%s'", what, worst,
        worst_node >= 0 ? m->graph->nodes[worst_node]->name : "?");
done:
  free(r);
  free(buf);
  nn_model_free(m);
}

/* an op of the registry without a case fails here */
static void test_gradients(void) {
  int covered[NN_OP_COUNT] = {0}, i;
  for (i = 0; i < OP_CASE_COUNT; i++)
    if (!(op_cases[i].flags & OP_CASE_KINKED)) gradcheck(&op_cases[i], covered);
  for (i = 0; i < NN_OP_COUNT; i++) CHECK(covered[i], "op %s has no gradient check: add a case to tests/op_cases.h", nn_op_name((nn_op)i));
  op_coverage_write(covered, "build/op_coverage_grad.txt");
}

/* ---------------------------------------------------------------------
   Forward results against direct references
   --------------------------------------------------------------------- */
static void naive_gemm(int ta, int tb, int M, int N, int K, float alpha, const float *A, int lda,
                       const float *B, int ldb, float beta, float *C, int ldc) {
  int i, j, k;
  for (i = 0; i < M; i++)
    for (j = 0; j < N; j++) {
      double s = 0;
      for (k = 0; k < K; k++) s += (double)(ta ? A[k * lda + i] : A[i * lda + k]) * (tb ? B[j * ldb + k] : B[k * ldb + j]);
      C[i * ldc + j] = (float)(alpha * s + (beta == 0 ? 0 : beta * C[i * ldc + j]));
    }
}
static void test_gemm(void) {
  static const int sizes[][3] = {{1, 1, 1}, {1, 17, 5}, {17, 1, 5}, {5, 7, 1}, {33, 31, 29}, {64, 64, 64},
                                 {65, 47, 257}, {3, 130, 70}, {100, 9, 300}, {7, 300, 2}, {0, 5, 5}, {5, 0, 5}, {4, 6, 0},
                                 {9, 2100, 3}, {400, 40, 3}};   /* past NN__GEMM_NC and NN__GEMM_MC */
  int s, t, bad = 0, cases = 0;
  for (s = 0; s < (int)(sizeof sizes / sizeof sizes[0]); s++)
    for (t = 0; t < 12; t++) {
      int M = sizes[s][0], N = sizes[s][1], K = sizes[s][2], ta = t & 1, tb = (t >> 1) & 1, pad = 3;
      float alpha = (t / 4 == 2) ? -0.5f : 1.0f, beta = (float)(t / 4) * 0.75f - (t / 4 == 2 ? 1.5f : 0.0f);
      int lda = (ta ? M : K) + pad, ldb = (tb ? K : N) + pad, ldc = N + pad, i;
      size_t na = (size_t)(ta ? K : M) * lda + 1, nb = (size_t)(tb ? N : K) * ldb + 1, nc = (size_t)M * ldc + 1;
      float *A = (float *)malloc(na * 4), *B = (float *)malloc(nb * 4), *C = (float *)malloc(nc * 4), *R = (float *)malloc(nc * 4);
      for (i = 0; i < (int)na; i++) A[i] = 2 * nn_rng_uniform(&trng) - 1;
      for (i = 0; i < (int)nb; i++) B[i] = 2 * nn_rng_uniform(&trng) - 1;
      for (i = 0; i < (int)nc; i++) C[i] = R[i] = 2 * nn_rng_uniform(&trng) - 1;
      if (beta == 0) for (i = 0; i < (int)nc; i++) C[i] = NAN;  /* beta 0 must not read C */
      nn__sgemm(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc, NULL);
      naive_gemm(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, R, ldc);
      for (i = 0; i < M; i++) {
        int j;
        for (j = 0; j < N; j++)
          if (!(fabsf(C[i * ldc + j] - R[i * ldc + j]) <= 1e-4f * (1 + (float)K))) bad++;
      }
      cases++;
      free(A); free(B); free(C); free(R);
    }
  CHECK(bad == 0, "sgemm: %d wrong elements over %d cases", bad, cases);
}

/* random input, weight and bias (drawn in that order) for a conv-like node
   y = f(x, weight, bias) on model m; runs it and returns its output */
static float *conv_random_run(nn_model *m, nn_node *y, size_t nx, size_t nw, size_t nb, float **xv, float **wv, float **bv) {
  float *yv = (float *)malloc(sizeof(float) * nn_node_numel(m, y));
  size_t i;
  *xv = (float *)malloc(sizeof(float) * nx); *wv = (float *)malloc(sizeof(float) * nw); *bv = (float *)malloc(sizeof(float) * nb);
  for (i = 0; i < nx; i++) (*xv)[i] = nn_rng_normal(&trng);
  for (i = 0; i < nw; i++) (*wv)[i] = nn_rng_normal(&trng);
  for (i = 0; i < nb; i++) (*bv)[i] = nn_rng_normal(&trng);
  nn_feed(m, "x", *xv);
  nn_write(m, nn_node_input(y, 1), *wv);
  nn_write(m, nn_node_input(y, 2), *bv);
  nn_predict(m, y);
  nn_read(m, y, yv);
  return yv;
}

static void conv_reference(int C, int H, int W, int O, int k, int s, int p, int n) {
  int OH, OW, b, o, i, j, c, u, v, bad = 0, d3[3];
  nn_graph *g = nn_graph_new();
  nn_node *x, *y;
  nn_model *m;
  float *xv, *wv, *bv, *yv;
  d3[0] = C; d3[1] = H; d3[2] = W;
  x = nn_input(g, "x", 3, d3);
  y = nn_conv2d(g, x, O, k, s, p);
  m = nn_compile(g, n, nn_cpu_backend());
  OH = y->shape.dim[1]; OW = y->shape.dim[2];
  CHECK(OH == (H + 2 * p - k) / s + 1 && OW == (W + 2 * p - k) / s + 1, "conv output %dx%d", OH, OW);
  yv = conv_random_run(m, y, (size_t)n * C * H * W, (size_t)O * C * k * k, (size_t)O, &xv, &wv, &bv);
  for (b = 0; b < n; b++)
    for (o = 0; o < O; o++)
      for (i = 0; i < OH; i++)
        for (j = 0; j < OW; j++) {
          double acc = bv[o];
          for (c = 0; c < C; c++)
            for (u = 0; u < k; u++)
              for (v = 0; v < k; v++) {
                int h = i * s - p + u, w = j * s - p + v;
                if (h >= 0 && h < H && w >= 0 && w < W) acc += (double)xv[((b * C + c) * H + h) * W + w] * wv[((o * C + c) * k + u) * k + v];
              }
          if (fabs(acc - yv[((b * O + o) * OH + i) * OW + j]) > 1e-4) bad++;
        }
  CHECK(bad == 0, "conv2d %dx%dx%d k%d s%d p%d batch %d differs from the direct convolution at %d points", C, H, W, k, s, p, n, bad);
  free(xv); free(wv); free(bv); free(yv);
  nn_model_free(m);
}
static void test_conv_reference(void) {
  conv_reference(3, 9, 8, 4, 3, 2, 1, 2);
  conv_reference(5, 4, 4, 6, 3, 1, 1, 70);   /* several image chunks, the last one short */
  conv_reference(2, 7, 5, 3, 2, 1, 0, 9);
  conv_reference(1, 30, 30, 2, 5, 3, 2, 3);  /* one image is wider than a chunk */
  conv_reference(32, 15, 13, 32, 3, 1, 1, 20);  /* 3x3 s1 p1: Winograd, odd sizes, 5 chunks */
  conv_reference(33, 33, 31, 32, 3, 1, 1, 2);   /* Winograd, one image has more tiles than a chunk */
  conv_reference(24, 31, 31, 64, 3, 1, 1, 3);   /* Winograd at airbench's first 3x3 layer */
  conv_reference(15, 8, 8, 32, 3, 1, 1, 2);     /* too few channels for Winograd */
}

/* conv2d_transpose against its definition: every input pixel scatters
   its weighted kernel into the output (PyTorch's ConvTranspose2d) */
static void convt_reference(int C, int H, int W, int O, int k, int s, int p, int op, int n) {
  int OH, OW, b, o, i, j, c, u, v, bad = 0, d3[3];
  nn_graph *g = nn_graph_new();
  nn_node *x, *y;
  nn_model *m;
  float *xv, *wv, *bv, *yv;
  double *ref;
  d3[0] = C; d3[1] = H; d3[2] = W;
  x = nn_input(g, "x", 3, d3);
  y = nn_conv2d_transpose(g, x, O, k, s, p, op);
  m = nn_compile(g, n, nn_cpu_backend());
  OH = y->shape.dim[1]; OW = y->shape.dim[2];
  CHECK(OH == (H - 1) * s - 2 * p + k + op && OW == (W - 1) * s - 2 * p + k + op, "conv2d_transpose output %dx%d", OH, OW);
  yv = conv_random_run(m, y, (size_t)n * C * H * W, (size_t)C * O * k * k, (size_t)O, &xv, &wv, &bv);
  ref = (double *)malloc(sizeof(double) * n * O * OH * OW);
  for (b = 0; b < n; b++)
    for (o = 0; o < O; o++)
      for (i = 0; i < OH * OW; i++) ref[(b * O + o) * OH * OW + i] = bv[o];
  for (b = 0; b < n; b++)
    for (c = 0; c < C; c++)
      for (i = 0; i < H; i++)
        for (j = 0; j < W; j++)
          for (o = 0; o < O; o++)
            for (u = 0; u < k; u++)
              for (v = 0; v < k; v++) {
                int h = i * s - p + u, w = j * s - p + v;
                if (h >= 0 && h < OH && w >= 0 && w < OW)
                  ref[((b * O + o) * OH + h) * OW + w] += (double)xv[((b * C + c) * H + i) * W + j] * wv[((c * O + o) * k + u) * k + v];
              }
  for (i = 0; i < n * O * OH * OW; i++) bad += fabs(ref[i] - yv[i]) > 1e-4;
  CHECK(bad == 0, "conv2d_transpose %dx%dx%d k%d s%d p%d op%d batch %d differs from the definition at %d points", C, H, W, k, s,
        p, op, n, bad);
  free(xv); free(wv); free(bv); free(yv); free(ref);
  nn_model_free(m);
}
/* nearest-neighbour upsampling against its definition, forward and the
   input gradient (each input pixel collects its factor x factor block) */
static void test_upsample_reference(void) {
  int d3[3] = {2, 3, 4}, f = 3, n = 2, i, bad = 0;
  nn_graph *g = nn_graph_new();
  nn_node *x = nn_input(g, "x", 3, d3), *y = nn_upsample2d(g, x, f);
  nn_model *m;
  float xv[2 * 2 * 3 * 4], yv[2 * 2 * 9 * 12], dy[2 * 2 * 9 * 12], dx[2 * 2 * 3 * 4];
  double want[2 * 2 * 3 * 4] = {0};
  nn_set_requires_grad(x);
  m = nn_compile(g, n, nn_cpu_backend());
  for (i = 0; i < n * 24; i++) xv[i] = nn_rng_normal(&trng);
  for (i = 0; i < n * 216; i++) dy[i] = nn_rng_normal(&trng);
  nn_feed(m, "x", xv);
  CHECK(nn_predict(m, y) && nn_read(m, y, yv) && nn_backward_from(m, y, dy) && nn_read_grad(m, x, dx),
        "upsample2d runs: %s", nn_last_error());
  for (i = 0; i < n * 216; i++) {
    int pl = i / 108, h = i / 12 % 9, w = i % 12, src = pl * 12 + h / f * 4 + w / f;
    bad += yv[i] != xv[src];
    want[src] += dy[i];
  }
  for (i = 0; i < n * 24; i++) bad += fabs(want[i] - dx[i]) > 1e-5;
  CHECK(bad == 0, "upsample2d x%d differs from the definition at %d points", f, bad);
  nn_model_free(m);
}
static void test_convt_reference(void) {
  convt_reference(3, 4, 5, 2, 4, 2, 1, 0, 2);
  convt_reference(4, 7, 7, 3, 3, 2, 1, 1, 3);   /* DCGAN's 7x7 -> 14x14 */
  convt_reference(5, 4, 4, 6, 3, 1, 1, 0, 70);  /* several image chunks, the last one short */
  convt_reference(2, 3, 2, 3, 5, 3, 4, 2, 9);   /* padding wider than the kernel's reach */
  test_upsample_reference();
}

/* The team that runs a pass (all of the model's threads, or one when that
   was faster) never changes a result: a CNN through every conv path
   (Winograd, im2col, transposed) and a bi-GRU with ragged lengths, trained
   by Adam with one model's passes on all threads and the other's on one
   thread, end with the same bits. */
static nn_model *team_model(int which, int batch) {
  nn_graph *g = nn_graph_new();
  int one = 1, d3[3] = {3, 8, 8}, T = 40;   /* big enough to run in parallel */
  nn_node *h, *l = nn_input(g, "label", 1, &one);
  if (which == 0) {
    h = nn_relu(g, nn_conv2d(g, nn_input(g, "x", 3, d3), 32, 3, 1, 1));
    h = nn_relu(g, nn_conv2d(g, h, 32, 3, 1, 1));                     /* Winograd */
    h = nn_relu(g, nn_conv2d(g, h, 8, 3, 2, 1));                      /* im2col, 4x4 */
    h = nn_relu(g, nn_conv2d_transpose(g, h, 4, 4, 2, 1, 0));         /* back to 8x8 */
    h = nn_dense(g, nn_flatten(g, h), 3);
  } else {
    nn_node *len = nn_input(g, "len", 1, &one);
    h = nn_gru(g, nn_embedding(g, nn_input(g, "x", 1, &T), 30, 32), len, 32, 1, NN_BIDIRECTIONAL);
    h = nn_dense(g, nn_seq_meanpool(g, h, len), 3);
  }
  nn_cross_entropy(g, h, l, 0, NN_MEAN);
  return nn_compile(g, batch, nn_cpu_backend());
}
static void test_team_invariance(void) {
  int most = nn_set_threads(0), which, k, i, step, n = 13;
  if (most < 2) return;   /* one thread: nothing to choose */
  for (which = 0; which < 2; which++) {
    nn_model *m[2];
    nn_optimizer *o[2];
    float x[13 * 192], lab[13], len[13];
    int differ = 0;
    nn_rng r;
    for (k = 0; k < 2; k++) {
      nn_set_threads(most);
      m[k] = team_model(which, n);
      o[k] = nn_adam(m[k], 1e-2f, 0.9f, 0.999f, 1e-8f, 0.0f, 0);
      nn_set_threads(k == 0 ? most : 1);   /* the model keeps its split; the team shrinks */
      nn_rng_seed(&r, 9);
      for (step = 0; step < 6; step++) {
        for (i = 0; i < n * 192; i++) x[i] = which ? (float)nn_rng_int(&r, 30) : nn_rng_normal(&r);
        for (i = 0; i < n; i++) { lab[i] = (float)nn_rng_int(&r, 3); len[i] = (float)(1 + nn_rng_int(&r, 40)); }
        nn_feed(m[k], "x", x);
        nn_feed(m[k], "label", lab);
        if (which) nn_feed(m[k], "len", len);
        CHECK(isfinite(nn_train_step(m[k], o[k])), "team model %d: %s", which, nn_last_error());
      }
    }
    nn_set_threads(most);
    for (i = 0; i < m[0]->graph->n; i++) {
      nn_node *p = m[0]->graph->nodes[i];
      size_t cnt = nn_node_numel(m[0], p);
      float *a, *b;
      if (p->op != NN_OP_PARAM) continue;
      a = (float *)malloc(cnt * sizeof(float));
      b = (float *)malloc(cnt * sizeof(float));
      nn_read(m[0], p, a);
      nn_read(m[1], m[1]->graph->nodes[i], b);
      differ += memcmp(a, b, cnt * sizeof(float)) != 0;
      free(a);
      free(b);
    }
    CHECK(differ == 0, "%s: %d parameters differ between %d threads and 1", which ? "bi-GRU" : "CNN", differ, most);
    for (k = 0; k < 2; k++) { nn_optimizer_free(o[k]); nn_model_free(m[k]); }
  }
}

/* a conv net's gradients do not depend on the thread count beyond rounding */
static void test_threads(void) {
  float *out[2], *grad[2];
  int t, i, d3[3] = {3, 10, 10}, one = 1, n = 37, bad = 0, most = nn_set_threads(0);
  size_t no = 0, nw = 0;
  for (t = 0; t < 2; t++) {
    nn_graph *g = nn_graph_new();
    nn_node *x = nn_input(g, "x", 3, d3), *l = nn_input(g, "label", 1, &one), *h, *w;
    nn_model *m;
    float *xv = (float *)malloc(sizeof(float) * n * 300), lv[37];
    nn_rng r;
    nn_set_threads(t == 0 ? 1 : most);
    h = nn_conv2d(g, x, 8, 3, 1, 1);
    w = nn_node_input(h, 1);
    h = nn_dense(g, nn_flatten(g, nn_maxpool2d(g, nn_relu(g, nn_conv2d(g, nn_relu(g, h), 8, 3, 2, 1)), 2, 2)), 4);
    nn_cross_entropy(g, h, l, 0, NN_MEAN);
    m = nn_compile(g, n, nn_cpu_backend());
    nn_rng_seed(&r, 5);
    for (i = 0; i < n * 300; i++) xv[i] = nn_rng_normal(&r);
    for (i = 0; i < n; i++) lv[i] = (float)(i % 4);
    nn_feed(m, "x", xv);
    nn_feed(m, "label", lv);
    nn_forward(m, 1);
    nn_backward(m);
    no = nn_node_numel(m, h);
    nw = nn_node_numel(m, w);
    out[t] = (float *)malloc(no * sizeof(float));
    grad[t] = (float *)malloc(nw * sizeof(float));
    nn_read(m, h, out[t]);
    nn_read_grad(m, w, grad[t]);
    free(xv);
    nn_model_free(m);
  }
  nn_set_threads(most);
  for (i = 0; i < (int)no; i++) bad += !(fabsf(out[0][i] - out[1][i]) <= 1e-5f * (1 + fabsf(out[0][i])));
  for (i = 0; i < (int)nw; i++) bad += !(fabsf(grad[0][i] - grad[1][i]) <= 1e-4f * (1 + fabsf(grad[0][i])));
  CHECK(bad == 0, "1 thread vs %d threads: %d values differ", most, bad);
  for (t = 0; t < 2; t++) { free(out[t]); free(grad[t]); }
}

static void test_op_values(void) {
  nn_graph *g = nn_graph_new();
  int four = 4, one = 1;
  nn_node *x = nn_input(g, "x", 1, &four), *lab = nn_input(g, "label", 1, &one), *l, *gl, *sm;
  nn_model *m;
  float zeros[8] = {0}, labels[2] = {1, 3}, v, out[8];
  gl = nn_gelu(g, x);
  sm = nn_softmax(g, x);
  l = nn_cross_entropy(g, x, lab, 0.3f, NN_MEAN);
  m = nn_compile(g, 2, nn_cpu_backend());
  nn_feed(m, "x", zeros);
  nn_feed(m, "label", labels);
  nn_forward(m, 1);
  v = nn_loss(m);
  CHECK(fabsf(v - logf(4)) < 1e-5f, "cross entropy of uniform logits is log(4) with any smoothing: %f", v);
  {
    float xv[8] = {-2, -0.5f, 0.5f, 3, 1, 1, 1, 1};
    nn_feed(m, "x", xv);
    nn_predict(m, gl);
    nn_read(m, gl, out);
    CHECK(fabsf(out[0] - (-0.04550026f)) < 1e-5f && fabsf(out[3] - 2.9959502f) < 1e-5f, "gelu(-2)=%f gelu(3)=%f", out[0], out[3]);
    nn_predict(m, sm);
    nn_read(m, sm, out);
    CHECK(fabsf(out[4] - 0.25f) < 1e-6f && fabsf(out[0] + out[1] + out[2] + out[3] - 1) < 1e-6f, "softmax rows sum to 1");
  }
  CHECK(l == m->loss, "the last loss is the training loss");
  nn_model_free(m);
}

/* the vectorisable element-wise math against libm in double */
static void test_fast_math(void) {
  double e_exp = 0, e_erf = 0, e_tanh = 0, e_sig = 0;
  float x;
  for (x = -80; x < 80; x += 0.0137f) e_exp = max_err(e_exp, fabs(nn__exp(x) - exp(x)) / exp(x));
  for (x = -7; x < 7; x += 0.00071f) {
    double s = 1 / (1 + exp(-x));
    e_erf = max_err(e_erf, fabs(nn__erf(x) - erf(x)));
    e_tanh = max_err(e_tanh, fabs(nn__tanh(x) - tanh(x)) / max_err(fabs(tanh(x)), 1e-30));
    e_sig = max_err(e_sig, fabs(nn__sigmoid(x) - s) / s);
  }
  CHECK(e_exp < 2e-7 && e_erf < 1e-6 && e_tanh < 1e-6 && e_sig < 3e-7, "exp %g erf %g tanh %g sigmoid %g", e_exp, e_erf, e_tanh, e_sig);
  CHECK(nn__exp(-1000) >= 0 && nn__exp(-1000) < 1e-37f && isfinite(nn__exp(1000)) && nn__tanh(-50) == -1 && nn__sigmoid(-200) >= 0,
        "fast math saturates without NaN");
}

/* batch norm: running statistics follow PyTorch's momentum convention */
static void test_batchnorm_running(void) {
  nn_graph *g = nn_graph_new();
  int one = 1;
  nn_node *x = nn_input(g, "x", 1, &one), *y = nn_batchnorm_ex(g, x, 0.6f, 1e-5f, 0);
  nn_model *m = nn_compile(g, 4, nn_cpu_backend());
  float xv[4] = {1, 2, 3, 6}, rm, rv, yv[4];
  nn_feed(m, "x", xv);
  nn_predict(m, y);               /* eval: running stats 0/1 leave x alone */
  nn_read(m, y, yv);
  CHECK(fabsf(yv[3] - 6 / sqrtf(1 + 1e-5f)) < 1e-5f, "eval batchnorm uses running statistics");
  nn__run_forward(m, y, 1);
  nn_read(m, nn_node_input(y, 3), &rm);
  nn_read(m, nn_node_input(y, 4), &rv);
  /* mean 3, unbiased var (4+1+0+9)/3 = 14/3 */
  CHECK(fabsf(rm - 0.6f * 3) < 1e-5f && fabsf(rv - (0.4f + 0.6f * 14.0f / 3)) < 1e-4f, "running mean %f var %f", rm, rv);
  nn_model_free(m);
}

/* ---------------------------------------------------------------------
   Optimizers against hand-computed values (w = 1, g = 0.5)
   --------------------------------------------------------------------- */
static float opt_run(nn_opt_kind kind, int flags, float lr, float mom, float wd, float b1, float b2, int steps) {
  nn_backend *be = nn_cpu_backend();
  float w = 1, g = 0.5f, s1 = 0, s2 = 0;
  nn_update u;
  int t;
  memset(&u, 0, sizeof u);
  u.kind = kind; u.flags = flags; u.w = &w; u.g = &g; u.s1 = &s1; u.s2 = &s2; u.n = 1;
  u.lr = lr; u.momentum = mom; u.weight_decay = wd; u.beta1 = b1; u.beta2 = b2; u.eps = 1e-8f; u.grad_scale = 1;
  for (t = 1; t <= steps; t++) { u.step = t; be->ops->update(be, &u); }
  nn_backend_free(be);
  return w;
}
static void test_optimizers(void) {
  float w;
  w = opt_run(NN_OPT_SGD, 0, 0.1f, 0, 0, 0, 0, 1);              CHECK(fabsf(w - 0.95f) < 1e-6f, "sgd %f", w);
  w = opt_run(NN_OPT_SGD, 0, 0.1f, 0.9f, 0, 0, 0, 2);           CHECK(fabsf(w - 0.855f) < 1e-6f, "sgd momentum %f", w);
  w = opt_run(NN_OPT_SGD, NN_NESTEROV, 0.1f, 0.9f, 0, 0, 0, 2); CHECK(fabsf(w - 0.7695f) < 1e-6f, "nesterov %f", w);
  w = opt_run(NN_OPT_SGD, 0, 0.1f, 0, 0.1f, 0, 0, 1);           CHECK(fabsf(w - 0.94f) < 1e-6f, "sgd L2 %f", w);
  w = opt_run(NN_OPT_SGD, NN_DECOUPLED_WD, 0.1f, 0.9f, 0.1f, 0, 0, 2);
  CHECK(fabsf(w - 0.8356f) < 1e-6f, "sgd decoupled wd %f", w);
  w = opt_run(NN_OPT_ADAM, 0, 0.1f, 0, 0, 0.9f, 0.999f, 1);     CHECK(fabsf(w - 0.9f) < 1e-6f, "adam 1 step %f", w);
  w = opt_run(NN_OPT_ADAM, 0, 0.1f, 0, 0, 0.9f, 0.999f, 2);     CHECK(fabsf(w - 0.8f) < 1e-5f, "adam 2 steps %f", w);
  w = opt_run(NN_OPT_ADAM, NN_DECOUPLED_WD, 0.1f, 0, 0.1f, 0.9f, 0.999f, 1);
  CHECK(fabsf(w - 0.89f) < 1e-6f, "adamw %f", w);
  w = opt_run(NN_OPT_RMSPROP, 0, 0.01f, 0, 0, 0, 0.99f, 1);     CHECK(fabsf(w - 0.9f) < 1e-5f, "rmsprop %f", w);
}

/* L1: l1 * sign(w) joins the gradient (w = w0, gradient g, l1 0.1) */
static float l1_run(nn_opt_kind kind, float mom, float w0, float g, float l1, int steps) {
  nn_backend *be = nn_cpu_backend();
  float w = w0, s1 = 0, s2 = 0;
  nn_update u;
  int t;
  memset(&u, 0, sizeof u);
  u.kind = kind; u.w = &w; u.g = &g; u.s1 = &s1; u.s2 = &s2; u.n = 1; u.l1 = l1;
  u.lr = 0.1f; u.momentum = mom; u.beta1 = 0.9f; u.beta2 = 0.99f; u.eps = 1e-8f; u.grad_scale = 1;
  for (t = 1; t <= steps; t++) { u.step = t; be->ops->update(be, &u); }
  nn_backend_free(be);
  return w;
}
static void test_l1(void) {
  int two = 2, i;
  float w;
  /* sgd: g + 0.1 sign(w) = 0.6 -> 1 - 0.1 * 0.6; at w = -1: 0.5 - 0.1 = 0.4 */
  w = l1_run(NN_OPT_SGD, 0, 1, 0.5f, 0.1f, 1);     CHECK(fabsf(w - 0.94f) < 1e-6f, "sgd L1 %f", w);
  w = l1_run(NN_OPT_SGD, 0, -1, 0.5f, 0.1f, 1);    CHECK(fabsf(w + 1.04f) < 1e-6f, "sgd L1 at a negative weight %f", w);
  /* momentum 0.9: v = 0.6, w = 0.94; v = 0.9 * 0.6 + 0.6 = 1.14, w = 0.94 - 0.114 */
  w = l1_run(NN_OPT_SGD, 0.9f, 1, 0.5f, 0.1f, 2);  CHECK(fabsf(w - 0.826f) < 1e-6f, "sgd momentum L1 %f", w);
  /* Adam and RMSprop normalise the step: L1 that cancels the gradient
     leaves w, L1 alone moves w towards 0 by lr (Adam) each step, and
     sign(0) = 0 leaves a zero weight at zero */
  w = l1_run(NN_OPT_ADAM, 0, 1, -0.1f, 0.1f, 2);   CHECK(w == 1, "adam L1 cancelling the gradient %f", w);
  w = l1_run(NN_OPT_ADAM, 0, -1, 0, 0.1f, 2);      CHECK(fabsf(w + 0.8f) < 1e-5f, "adam L1 alone %f", w);
  w = l1_run(NN_OPT_ADAM, 0, 0, 0, 0.1f, 2);       CHECK(w == 0, "adam L1 at w = 0 %f", w);
  w = l1_run(NN_OPT_RMSPROP, 0, 1, -0.1f, 0.1f, 2); CHECK(w == 1, "rmsprop L1 cancelling the gradient %f", w);
  /* rmsprop: v = 0.01 * 0.01, step 0.1 * 0.1 / 0.01 = 1: from 2 to 1 */
  w = l1_run(NN_OPT_RMSPROP, 0, 2, 0, 0.1f, 1);    CHECK(fabsf(w - 1) < 1e-5f, "rmsprop L1 alone %f", w);
  w = l1_run(NN_OPT_RMSPROP, 0.5f, 0, 0, 0.1f, 2); CHECK(w == 0, "rmsprop L1 at w = 0 %f", w);
  /* through a model: the optimizer's strength times each parameter's
     multiplier; the loss's gradient is 0 (input 0), so only L1 moves w */
  {
    nn_graph *g = nn_graph_new();
    nn_node *x = nn_input(g, "x", 1, &two), *t = nn_input(g, "t", 1, &two), *y = nn_dense(g, x, 2), *wn, *bn;
    nn_model *m;
    nn_optimizer *o;
    float zero[2] = {0, 0}, wv[4] = {1, -1, 0, 2}, bv[2] = {0.5f, -0.5f}, got[4], gotb[2];
    static const float want[4] = {0.95f, -0.95f, 0, 1.95f}, wantb[2] = {0.4f, -0.4f};
    int bad = 0;
    nn_mse(g, y, t, NN_SUM);
    wn = nn_node_input(y, 1);
    bn = nn_node_input(y, 2);
    m = nn_compile(g, 1, nn_cpu_backend());
    o = nn_sgd(m, 0.1f, 0, 0, 0);
    CHECK(!nn_optimizer_set_l1(o, -1) && !nn_optimizer_set_l1(o, NAN) && !nn_optimizer_set_l1(NULL, 1) &&
          !nn_set_l1_mult(wn, -2) && !nn_set_l1_mult(x, 1), "bad L1 settings refused: %s", nn_last_error());
    CHECK(nn_optimizer_set_l1(o, 0.5f) && nn_set_l1_mult(bn, 2), "L1 set: %s", nn_last_error());
    nn_write(m, wn, wv);
    nn_write(m, bn, bv);
    nn_feed(m, "x", zero);
    nn_feed(m, "t", bv);   /* y = b = t: no gradient from the loss */
    CHECK(isfinite(nn_train_step(m, o)), "L1 step: %s", nn_last_error());
    nn_read(m, wn, got);
    nn_read(m, bn, gotb);
    for (i = 0; i < 4; i++) bad += fabsf(got[i] - want[i]) > 1e-6f;
    for (i = 0; i < 2; i++) bad += fabsf(gotb[i] - wantb[i]) > 1e-6f;
    CHECK(bad == 0, "L1 through a model: w %g %g %g %g, b %g %g", got[0], got[1], got[2], got[3], gotb[0], gotb[1]);
    nn_optimizer_free(o);
    nn_model_free(m);
  }
}

/* every tensor of a model (weights, running statistics, pass counts) in
   one array of `cap` floats (counts as floats); the number written */
static size_t model_state(nn_model *m, float *v, size_t cap) {
  int i, n = nn_model_num_tensors(m);
  size_t at = 0;
  nn_tensor_info info;
  for (i = 0; i < n && nn_model_tensor(m, i, &info); i++) {
    if (at + info.numel > cap) return 0;
    if (!strcmp(info.dtype, "I64")) v[at] = (float)info.count;
    else if (!nn_read(m, info.node, v + at)) return 0;
    at += info.numel;
  }
  return at;
}
/* a snapshot gives back the weights, running statistics and pass counts
   it took, exactly, after more training */
static void test_snapshot(void) {
  nn_graph *g = nn_graph_new();
  int d3[3] = {2, 5, 5}, two = 2, i, step;
  nn_node *x = nn_input(g, "x", 3, d3), *t = nn_input(g, "t", 1, &two);
  nn_model *m;
  nn_optimizer *o;
  nn_snapshot *s;
  static float xv[4 * 50], tv[4 * 2], first[600], kept[600], now[600];
  size_t n0, n1, n2;
  nn_mse(g, nn_dense(g, nn_flatten(g, nn_relu(g, nn_batchnorm(g, nn_conv2d(g, x, 3, 3, 1, 1)))), 2), t, NN_MEAN);
  m = nn_compile(g, 4, nn_cpu_backend());
  o = nn_adam(m, 0.01f, 0.9f, 0.999f, 1e-8f, 0, 0);
  for (i = 0; i < 4 * 50; i++) xv[i] = nn_rng_normal(&trng);
  for (i = 0; i < 4 * 2; i++) tv[i] = nn_rng_normal(&trng);
  nn_feed(m, "x", xv);
  nn_feed(m, "t", tv);
  s = nn_snapshot_new(m);
  n0 = model_state(m, first, 600);
  CHECK(s && n0 > 0, "snapshot_new: %s", nn_last_error());
  for (step = 0; step < 3; step++) nn_train_step(m, o);
  n1 = model_state(m, kept, 600);
  CHECK(nn_snapshot_take(s), "snapshot_take: %s", nn_last_error());
  for (step = 0; step < 2; step++) nn_train_step(m, o);
  n2 = model_state(m, now, 600);
  CHECK(n1 == n0 && n2 == n0 && memcmp(now, kept, n0 * sizeof(float)) != 0, "training moves the state");
  CHECK(nn_snapshot_restore(s) && model_state(m, now, 600) == n0 && !memcmp(now, kept, n0 * sizeof(float)),
        "restore gives back the state taken (weights, running statistics, pass counts) exactly: %s", nn_last_error());
  CHECK(memcmp(kept, first, n0 * sizeof(float)) != 0, "and not the one nn_snapshot_new held");
  CHECK(!nn_snapshot_take(NULL) && !nn_snapshot_restore(NULL) && !nn_snapshot_new(NULL) && strstr(nn_last_error(), "NULL"),
        "NULL snapshots refused: %s", nn_last_error());
  nn_model_free(m);   /* before its snapshot and optimizer: any order */
  CHECK(!nn_snapshot_restore(s) && strstr(nn_last_error(), "freed"), "a freed model's snapshot refuses: %s", nn_last_error());
  nn_snapshot_free(s);
  nn_optimizer_free(o);
}

/* a tiny regression model: y = w . x, to check steps through the model */
static nn_model *tiny_model(nn_node **wout) {
  nn_graph *g = nn_graph_new();
  int two = 2, one = 1;
  nn_node *x = nn_input(g, "x", 1, &two), *t = nn_input(g, "t", 1, &one), *y = nn_dense_ex(g, x, 1, 0);
  nn_mse(g, y, t, NN_SUM);
  *wout = nn_node_input(y, 1);
  return nn_compile(g, 1, nn_cpu_backend());
}
static void test_training_utilities(void) {
  nn_node *w;
  nn_model *m = tiny_model(&w);
  nn_optimizer *o = nn_sgd(m, 0.1f, 0, 0, 0);
  float xv[2] = {1, 2}, tv = 0, wv[2] = {1, 1}, gr[2];
  double norm;
  long before;
  nn_feed(m, "x", xv);
  nn_feed(m, "t", &tv);
  nn_write(m, w, wv);
  nn_forward(m, 1);
  nn_backward(m);
  nn_read_grad(m, w, gr);  /* dL/dw = 2 (w.x - t) x = (6, 12) */
  CHECK(fabsf(gr[0] - 6) < 1e-5f && fabsf(gr[1] - 12) < 1e-5f, "mse gradient (%f, %f)", gr[0], gr[1]);
  norm = nn_clip_grad_norm(m, 1.0f);
  nn_read_grad(m, w, gr);
  CHECK(fabs(norm - sqrt(180.0)) < 1e-4 && fabsf(sqrtf(gr[0] * gr[0] + gr[1] * gr[1]) - 1) < 1e-4f, "clip: norm %f", norm);
  /* a per-parameter multiplier of 0 freezes the weight */
  nn_set_lr_mult(w, 0);
  nn_train_step(m, o);
  nn_read(m, w, gr);
  CHECK(gr[0] == 1 && gr[1] == 1, "lr_mult 0 freezes");
  nn_set_lr_mult(w, 1);
  /* no allocation inside a training step */
  before = test_allocs;
  nn_train_step(m, o);
  nn_train_step(m, o);
  CHECK(test_allocs == before, "training steps allocated %ld times", test_allocs - before);
  /* moving average: with decay 0.5 it sits halfway */
  {
    nn_ema *e = nn_ema_new(m, 0.5f);
    float a[2], cur[2], after[2];
    nn_read(m, w, a);
    nn_train_step(m, o);
    nn_read(m, w, cur);
    nn_ema_update(e);
    nn_ema_swap(e);
    nn_read(m, w, after);
    CHECK(fabsf(after[0] - 0.5f * (a[0] + cur[0])) < 1e-6f, "ema halfway: %f", after[0]);
    nn_ema_swap(e);
    nn_read(m, w, after);
    CHECK(after[0] == cur[0], "ema swap restores the weights");
    nn_ema_copy_to_model(e);
    nn_read(m, w, after);
    CHECK(fabsf(after[0] - 0.5f * (a[0] + cur[0])) < 1e-6f, "ema copy to model");
    nn_ema_free(e);
  }
  /* non-finite loss is reported, not trained on */
  {
    float inf = INFINITY;
    nn_feed(m, "t", &inf);
    CHECK(isnan(nn_train_step(m, o)) && strstr(nn_last_error(), "loss"), "non-finite loss: %s", nn_last_error());
  }
  nn_optimizer_free(o);
  nn_model_free(m);
}
static void test_schedules(void) {
  float xs[3] = {0, 23, 100}, ys[3] = {0.2f, 1.0f, 0.07f};
  CHECK(fabsf(nn_lr_piecewise(0, 3, xs, ys) - 0.2f) < 1e-6f, "piecewise start");
  CHECK(fabsf(nn_lr_piecewise(11.5f, 3, xs, ys) - 0.6f) < 1e-6f, "piecewise middle");
  CHECK(fabsf(nn_lr_piecewise(61.5f, 3, xs, ys) - 0.535f) < 1e-5f, "piecewise decay");
  CHECK(fabsf(nn_lr_piecewise(200, 3, xs, ys) - 0.07f) < 1e-6f, "piecewise end");
  CHECK(fabsf(nn_lr_cosine(1, 0, 100, 0, 0) - 1) < 1e-6f && fabsf(nn_lr_cosine(1, 50, 100, 0, 0) - 0.5f) < 1e-6f &&
        fabsf(nn_lr_cosine(1, 100, 100, 0, 0.1f) - 0.1f) < 1e-6f, "cosine");
  CHECK(fabsf(nn_lr_cosine(1, 4, 100, 10, 0) - 0.5f) < 1e-6f, "cosine warmup");
  CHECK(fabsf(nn_lr_step(1, 25, 10, 0.5f) - 0.25f) < 1e-6f, "step schedule");
}

/* ---------------------------------------------------------------------
   Convergence: XOR and linear regression
   --------------------------------------------------------------------- */
static void test_xor(void) {
  nn_graph *g = nn_graph_new();
  int two = 2, one = 1, i, right = 0;
  nn_node *x = nn_input(g, "x", 1, &two), *t = nn_input(g, "t", 1, &one), *z;
  nn_model *m;
  nn_optimizer *o;
  float xv[8] = {0, 0, 0, 1, 1, 0, 1, 1}, tv[4] = {0, 1, 1, 0}, zv[4];
  z = nn_dense(g, nn_tanh(g, nn_dense(g, x, 8)), 1);
  nn_bce_with_logits(g, z, t, NN_MEAN);
  m = nn_compile(g, 4, nn_cpu_backend());
  o = nn_adam(m, 0.05f, 0.9f, 0.999f, 1e-8f, 0, 0);
  nn_feed(m, "x", xv);
  nn_feed(m, "t", tv);
  for (i = 0; i < 500; i++) nn_train_step(m, o);
  nn_predict(m, z);
  nn_read(m, z, zv);
  for (i = 0; i < 4; i++) right += (zv[i] > 0) == (tv[i] > 0.5f);
  CHECK(right == 4 && nn_loss(m) < 0.05f, "xor: %d/4 right, loss %f", right, nn_loss(m));
  nn_optimizer_free(o);
  nn_model_free(m);
}
static void test_linreg(void) {
  nn_graph *g = nn_graph_new();
  int two = 2, one = 1, i, step;
  nn_node *x = nn_input(g, "x", 1, &two), *t = nn_input(g, "t", 1, &one), *y = nn_dense(g, x, 1);
  nn_model *m;
  nn_optimizer *o;
  float xv[64], tv[32], w[2], b;
  nn_mse(g, y, t, NN_MEAN);
  m = nn_compile(g, 32, nn_cpu_backend());
  o = nn_sgd(m, 0.1f, 0.9f, 0, 0);
  for (step = 0; step < 300; step++) {
    for (i = 0; i < 32; i++) {
      xv[2 * i] = 2 * nn_rng_uniform(&trng) - 1;
      xv[2 * i + 1] = 2 * nn_rng_uniform(&trng) - 1;
      tv[i] = 3 * xv[2 * i] - 2 * xv[2 * i + 1] + 0.5f;
    }
    nn_feed(m, "x", xv);
    nn_feed(m, "t", tv);
    nn_train_step(m, o);
  }
  nn_read(m, nn_node_input(y, 1), w);
  nn_read(m, nn_node_input(y, 2), &b);
  CHECK(fabsf(w[0] - 3) < 1e-3f && fabsf(w[1] + 2) < 1e-3f && fabsf(b - 0.5f) < 1e-3f, "linreg: %f %f %f", w[0], w[1], b);
  nn_optimizer_free(o);
  nn_model_free(m);
}

/* ---------------------------------------------------------------------
   Graph errors name the op and both shapes; bad graphs do not compile
   --------------------------------------------------------------------- */
/* setters and optimizers refuse bad input with a reason, changing nothing */
static void test_bad_settings(void) {
  nn_graph *g = nn_graph_new();
  int one = 1;
  float lr = 0.1f;   /* a variable: with FLT_EVAL_METHOD != 0 the constant 0.1f is wider than a float */
  nn_node *x = nn_input(g, "x", 1, &one), *y = nn_dense(g, x, 1), *w = nn_node_input(y, 1);
  nn_model *m;
  nn_optimizer *o;
  CHECK(!nn_set_trainable(x, 0) && strstr(nn_last_error(), "'x' is not a parameter"), "set_trainable on an input: %s", nn_last_error());
  CHECK(!nn_set_requires_grad(w) && strstr(nn_last_error(), "is not an input"), "set_requires_grad on a weight: %s", nn_last_error());
  CHECK(!nn_set_requires_grad(NULL) && !nn_set_lr_mult(NULL, 1), "setters given NULL fail");
  CHECK(!nn_set_lr_mult(w, -1) && !nn_set_wd_mult(w, NAN) && w->lr_mult == 1 && w->wd_mult == 1, "negative or NaN multipliers: %s", nn_last_error());
  CHECK(nn_set_lr_mult(w, 2) && w->lr_mult == 2, "a good multiplier is kept");
  CHECK(!nn_set_init(w, (nn_init)99, 0) && strstr(nn_last_error(), "unknown initialiser"), "unknown initialiser: %s", nn_last_error());
  CHECK(!nn_graph_set_loss(g, y) && strstr(nn_last_error(), "not a scalar"), "a batched node is no loss: %s", nn_last_error());
  CHECK(!nn_layer_name(g, "a_name_much_longer_than_the_sixty_three_bytes_a_node_name_can_hold_at_most") &&
        strstr(nn_last_error(), "longer than"), "a layer name too long: %s", nn_last_error());
  nn_mse(g, y, x, NN_MEAN);
  m = nn_compile(g, 2, nn_cpu_backend());
  CHECK(m != NULL, "compile: %s", nn_last_error());
  if (!m) return;
  CHECK(!nn_sgd(m, -0.1f, 0, 0, 0) && strstr(nn_last_error(), "sgd: lr -0.1"), "negative lr: %s", nn_last_error());
  CHECK(!nn_sgd(m, 0.1f, 1.5f, 0, 0) && !nn_sgd(m, 0.1f, 0, 0, 64), "momentum 1.5 and unknown flags are refused");
  CHECK(!nn_adam(m, 0.1f, 0.9f, 0.999f, 1e-8f, 0, NN_NESTEROV) && strstr(nn_last_error(), "sgd only"), "Nesterov Adam: %s", nn_last_error());
  CHECK(!nn_adam(m, 0.1f, 1.0f, 0.999f, 1e-8f, 0, 0) && !nn_rmsprop(m, 0.1f, 0, 0.9f, 0, 0, 0), "beta1 1 and eps 0 are refused");
  o = nn_rmsprop(m, lr, 0.5f, 0.9f, 1e-8f, 0, NN_DECOUPLED_WD);
  CHECK(o != NULL, "rmsprop with momentum and decoupled decay: %s", nn_last_error());
  if (o) {
    CHECK(!nn_optimizer_set_lr(o, INFINITY) && nn_optimizer_get_lr(o) == lr, "an infinite lr is refused");
    CHECK(!nn_optimizer_set_clip(o, -1) && !nn_optimizer_set_nonfinite(o, 8), "a negative clip and an unknown mode are refused");
  }
  CHECK(!nn_model_set_seed(NULL, 1) && !nn_graph_set_seed(NULL, 1), "seeding NULL fails");
  nn_optimizer_free(o);
  nn_model_free(m);
}

static void test_build_errors(void) {
  nn_graph *g = nn_graph_new();
  int five = 5, six = 6, d3[3] = {3, 8, 8};
  nn_node *a = nn_input(g, "a", 1, &five), *b = nn_input(g, "b", 1, &six), *img = nn_input(g, "img", 3, d3);
  CHECK(nn_add(g, a, b) == NULL && strstr(nn_last_error(), "add") && strstr(nn_last_error(), "[5]") &&
        strstr(nn_last_error(), "[6]"), "add mismatch: %s", nn_last_error());
  CHECK(nn_relu(g, NULL) == NULL, "builders pass failures on");
  CHECK(strstr(nn_graph_error(g), "[5]") != NULL, "the graph keeps the first error: %s", nn_graph_error(g));
  {
    nn_backend *be = nn_cpu_backend();
    CHECK(nn_compile(g, 4, be) == NULL && strstr(nn_last_error(), "add"), "compile refuses: %s", nn_last_error());
    nn_graph_free(g);   /* a failed compile leaves both to the caller */
    nn_backend_free(be);
  }
  g = nn_graph_new();
  a = nn_input(g, "a", 1, &five);
  CHECK(nn_conv2d(g, a, 4, 3, 1, 1) == NULL && strstr(nn_last_error(), "conv2d") && strstr(nn_last_error(), "[5]"),
        "conv on a vector: %s", nn_last_error());
  nn_graph_free(g);
  g = nn_graph_new();
  img = nn_input(g, "img", 3, d3);
  CHECK(nn_conv2d(g, img, 4, 11, 1, 1) == NULL && strstr(nn_last_error(), "[3, 8, 8]"), "kernel too large: %s", nn_last_error());
  nn_graph_free(g);
  g = nn_graph_new();
  img = nn_input(g, "img", 3, d3);
  CHECK(nn_conv2d_transpose(g, img, 4, 1, 1, 5, 0) == NULL && strstr(nn_last_error(), "[3, 8, 8]") &&
        strstr(nn_last_error(), "[4, -2, -2]"), "conv2d_transpose names both shapes: %s", nn_last_error());
  nn_graph_free(g);
  g = nn_graph_new();
  img = nn_input(g, "img", 3, d3);
  CHECK(nn_conv2d_transpose(g, img, 4, 3, 2, 1, 2) == NULL && strstr(nn_last_error(), "output padding 2") &&
        strstr(nn_last_error(), "stride 2"), "output padding as large as the stride: %s", nn_last_error());
  nn_graph_free(g);
  g = nn_graph_new();
  img = nn_input(g, "img", 3, d3);
  CHECK(nn_upsample2d(g, img, 0) == NULL && strstr(nn_last_error(), "factor 0"), "upsample by 0: %s", nn_last_error());
  nn_graph_free(g);
  g = nn_graph_new();
  img = nn_input(g, "img", 3, d3);
  CHECK(nn_input(g, "img", 1, &five) == NULL && strstr(nn_last_error(), "taken"), "duplicate names: %s", nn_last_error());
  nn_graph_free(g);
  g = nn_graph_new();
  a = nn_input(g, "a", 1, &five);
  b = nn_input(g, "label", 1, &five);
  CHECK(nn_cross_entropy(g, a, b, 0, NN_MEAN) == NULL && strstr(nn_last_error(), "labels"), "labels shape: %s", nn_last_error());
  nn_graph_free(g);
  /* labels that are not classes fail the step with a reason */
  {
    nn_graph *g2 = nn_graph_new();
    int one = 1;
    nn_node *x = nn_input(g2, "x", 1, &five), *l = nn_input(g2, "label", 1, &one);
    nn_model *m;
    float xv[5] = {0}, bad = 7;
    nn_cross_entropy(g2, nn_dense(g2, x, 3), l, 0, NN_MEAN);
    m = nn_compile(g2, 1, nn_cpu_backend());
    nn_feed(m, "x", xv);
    nn_feed(m, "label", &bad);
    CHECK(!nn_forward(m, 1) && strstr(nn_last_error(), "label 7"), "bad label: %s", nn_last_error());
    CHECK(!nn_set_batch(m, 2) && nn_set_batch(m, 1), "set_batch bounds");
    CHECK(!nn_feed(m, "nope", xv) && strstr(nn_last_error(), "nope"), "feed unknown input: %s", nn_last_error());
    nn_model_free(m);
  }
}

/* every op past the leaves and reshape has a name of its own and CPU kernels */
static void test_op_table(void) {
  int i, j, ok = 1;
  for (i = 0; i < NN_OP_COUNT; i++) {
    for (j = 0; j < i; j++) if (!strcmp(nn_op_name((nn_op)i), nn_op_name((nn_op)j))) ok = 0;
    if (i > NN_OP_RESHAPE && (!nn__cpu_ops[i]->forward || !nn__cpu_ops[i]->backward)) ok = 0;
  }
  CHECK(ok && !strcmp(nn_op_name(NN_OP_CONV2D), "conv2d") && !strcmp(nn_op_name(NN_OP_COUNT), "?"), "op table");
}

/* same seed, same initial weights; another seed, others */
static void test_seeds(void) {
  float a[12], b[12], c[12];
  uint64_t seeds[3] = {7, 7, 8};
  float *out[3];
  int s, four = 4;
  out[0] = a; out[1] = b; out[2] = c;
  for (s = 0; s < 3; s++) {
    nn_graph *g = nn_graph_new();
    nn_node *y;
    nn_model *m;
    nn_graph_set_seed(g, seeds[s]);
    y = nn_dense(g, nn_input(g, "x", 1, &four), 3);
    m = nn_compile(g, 1, nn_cpu_backend());
    nn_read(m, nn_node_input(y, 1), out[s]);
    nn_model_free(m);
  }
  CHECK(!memcmp(a, b, sizeof a) && memcmp(a, c, sizeof a), "seeded initialisation");
}

/* dirac initialisation is the identity on the first channels */
static void test_dirac(void) {
  nn_graph *g = nn_graph_new();
  int d3[3] = {2, 5, 5}, i;
  nn_node *x = nn_input(g, "x", 3, d3), *y = nn_conv2d_ex(g, x, 3, 3, 3, 1, 1, 0);
  nn_model *m;
  float xv[50], yv[75];
  nn_set_init(nn_node_input(y, 1), NN_INIT_DIRAC, 0);
  m = nn_compile(g, 1, nn_cpu_backend());
  for (i = 0; i < 50; i++) xv[i] = (float)i;
  nn_feed(m, "x", xv);
  nn_predict(m, y);
  nn_read(m, y, yv);
  CHECK(!memcmp(xv, yv, sizeof xv), "dirac conv copies its first channels");
  nn_model_free(m);
}

/* ---------------------------------------------------------------------
   IDX loader: a fixture, then hostile files
   --------------------------------------------------------------------- */
static void write_bytes(const char *path, const unsigned char *b, size_t n) {
  FILE *f = fopen(path, "wb");
  fwrite(b, 1, n, f);
  fclose(f);
}
static void test_idx(void) {
  unsigned char img[4 + 12 + 2 * 3 * 2], lab[4 + 4 + 2], bad[64];
  const char *ip = "test_idx_images.tmp", *lp = "test_idx_labels.tmp", *bp = "test_idx_bad.tmp";
  nn_dataset *d;
  int i;
  memset(img, 0, sizeof img);
  img[2] = 8; img[3] = 3; img[7] = 2; img[11] = 3; img[15] = 2;
  for (i = 0; i < 12; i++) img[16 + i] = (unsigned char)(i * 20);
  memset(lab, 0, sizeof lab);
  lab[2] = 8; lab[3] = 1; lab[7] = 2; lab[8] = 4; lab[9] = 9;
  write_bytes(ip, img, sizeof img);
  write_bytes(lp, lab, sizeof lab);
  d = nn_dataset_read_idx(ip, lp);
  CHECK(d && d->n == 2 && d->shape.ndim == 3 && d->shape.dim[1] == 3 && d->shape.dim[2] == 2 && d->num_classes == 10 &&
        d->y[1] == 9 && fabsf(d->x[11] - 220 / 255.0f) < 1e-6f, "idx fixture: %s", d ? "wrong contents" : nn_last_error());
  nn_dataset_free(d);
  /* truncated data */
  write_bytes(bp, img, sizeof img - 1);
  CHECK(!nn_dataset_read_idx(bp, lp) && strstr(nn_last_error(), bp) && strstr(nn_last_error(), "truncated"), "truncated: %s", nn_last_error());
  /* trailing bytes */
  memcpy(bad, img, sizeof img); bad[sizeof img] = 1;
  write_bytes(bp, bad, sizeof img + 1);
  CHECK(!nn_dataset_read_idx(bp, lp) && strstr(nn_last_error(), "trailing"), "trailing: %s", nn_last_error());
  /* bad magic, element type, dimension count */
  memcpy(bad, img, sizeof img); bad[0] = 1;
  write_bytes(bp, bad, sizeof img);
  CHECK(!nn_dataset_read_idx(bp, lp) && strstr(nn_last_error(), "magic"), "magic: %s", nn_last_error());
  memcpy(bad, img, sizeof img); bad[2] = 0x0D;
  write_bytes(bp, bad, sizeof img);
  CHECK(!nn_dataset_read_idx(bp, lp) && strstr(nn_last_error(), "type"), "type: %s", nn_last_error());
  memcpy(bad, img, sizeof img); bad[3] = 9;
  write_bytes(bp, bad, sizeof img);
  CHECK(!nn_dataset_read_idx(bp, lp) && strstr(nn_last_error(), "dimensions"), "ndim: %s", nn_last_error());
  /* sizes whose product overflows, and a header cut short */
  memcpy(bad, img, 16); bad[4] = bad[8] = bad[12] = 0x7f;
  write_bytes(bp, bad, 16);
  CHECK(!nn_dataset_read_idx(bp, lp), "huge dimensions are rejected: %s", nn_last_error());
  write_bytes(bp, img, 9);
  CHECK(!nn_dataset_read_idx(bp, lp) && strstr(nn_last_error(), "header"), "short header: %s", nn_last_error());
  write_bytes(bp, img, 0);
  CHECK(!nn_dataset_read_idx(bp, lp), "empty file: %s", nn_last_error());
  /* image and label counts differ */
  lab[7] = 1;
  write_bytes(bp, lab, sizeof lab - 1);
  CHECK(!nn_dataset_read_idx(ip, bp) && strstr(nn_last_error(), "labels"), "count mismatch: %s", nn_last_error());
  CHECK(!nn_dataset_read_idx("no/such/file", lp) && strstr(nn_last_error(), "no/such/file"), "missing: %s", nn_last_error());
  CHECK(!nn_dataset_read_idx(".", lp), "a directory is not a file: %s", nn_last_error());
  remove(ip); remove(lp); remove(bp);
}

/* ---------------------------------------------------------------------
   CIFAR-10 reader: a fixture in the official layout, then hostile files
   --------------------------------------------------------------------- */
/* records with labels first_label, first_label+1, ... (mod 10), the last `cut` bytes left out */
static void write_cifar(const char *path, int records, int first_label, int cut) {
  unsigned char *b = (unsigned char *)malloc((size_t)records * 3073);
  int r, p;
  for (r = 0; r < records; r++) {
    b[r * 3073] = (unsigned char)((first_label + r) % 10);
    for (p = 0; p < 3072; p++) b[r * 3073 + 1 + p] = (unsigned char)((p * 7 + r * 31) & 255);
  }
  write_bytes(path, b, (size_t)records * 3073 - (size_t)cut);
  free(b);
}
static void test_cifar10_reader(void) {
  const char *paths[2] = {"test_cifar_a.tmp", "test_cifar_b.tmp"}, *bp = "test_cifar_bad.tmp";
  unsigned char rec[3074 * 2];
  nn_dataset *d;
  float mean[3], std[3];
  int r;
  write_cifar(paths[0], 3, 8, 0);
  write_cifar(paths[1], 2, 4, 0);
  d = nn_dataset_read_cifar10_files(2, paths);
  CHECK(d && d->n == 5 && d->shape.ndim == 3 && d->shape.dim[0] == 3 && d->shape.dim[1] == 32 && d->shape.dim[2] == 32 &&
        d->num_classes == 10, "cifar fixture: %s", d ? "wrong shape" : nn_last_error());
  if (d) {
    /* labels 8, 9, 0 then 4, 5; pixel p of record r of the second file is (p*7 + r*31) & 255,
       channel c row h column w at p = c*1024 + h*32 + w */
    CHECK(d->y[0] == 8 && d->y[1] == 9 && d->y[2] == 0 && d->y[3] == 4 && d->y[4] == 5, "cifar labels");
    CHECK(fabsf(d->x[4 * 3072 + 1024 + 2 * 32 + 3] - (float)(((1024 + 67) * 7 + 31) & 255) / 255.0f) < 1e-7f &&
          fabsf(d->x[0]) < 1e-7f, "cifar pixels are planar RGB rows scaled to [0,1]");
    /* per-channel statistics, then normalisation gives mean 0 and deviation 1 */
    CHECK(nn_dataset_channel_stats(d, mean, std) && std[0] > 0.2f, "channel stats: %s", nn_last_error());
    nn_dataset_normalize(d, mean, std);
    nn_dataset_channel_stats(d, mean, std);
    CHECK(fabsf(mean[0]) < 1e-5f && fabsf(mean[2]) < 1e-5f && fabsf(std[1] - 1) < 1e-5f, "normalised: mean %g, std %g", mean[0], std[1]);
  }
  nn_dataset_free(d);
  /* hostile files: each fails naming the file and the problem */
  write_bytes(bp, (const unsigned char *)"", 0);
  CHECK(!nn_dataset_read_cifar10_files(1, &bp) && strstr(nn_last_error(), bp) && strstr(nn_last_error(), "empty"), "empty: %s", nn_last_error());
  write_cifar(bp, 2, 0, 2073);
  CHECK(!nn_dataset_read_cifar10_files(1, &bp) && strstr(nn_last_error(), bp) && strstr(nn_last_error(), "truncated"), "truncated: %s", nn_last_error());
  memset(rec, 0, sizeof rec);
  write_bytes(bp, rec, 3074 * 2);   /* CIFAR-100 records: coarse and fine label bytes */
  CHECK(!nn_dataset_read_cifar10_files(1, &bp) && strstr(nn_last_error(), "CIFAR-100"), "cifar-100 size: %s", nn_last_error());
  write_bytes(bp, rec, 3073 * 2 - 7);
  CHECK(!nn_dataset_read_cifar10_files(1, &bp) && strstr(nn_last_error(), "size"), "wrong size: %s", nn_last_error());
  for (r = 10; r < 256; r += 245) {
    rec[3073] = (unsigned char)r;   /* the second record's label */
    write_bytes(bp, rec, 3073 * 2);
    CHECK(!nn_dataset_read_cifar10_files(1, &bp) && strstr(nn_last_error(), bp) && strstr(nn_last_error(), "label"), "label %d: %s", r,
          nn_last_error());
  }
  CHECK(!nn_dataset_read_cifar10(".", "valid") && strstr(nn_last_error(), "split 'valid'"), "an unknown split: %s", nn_last_error());
  CHECK(!nn_dataset_read_cifar10("no/such/dir", "train") && strstr(nn_last_error(), "no/such/dir/data_batch_1.bin"), "missing dir: %s",
        nn_last_error());
  {
    const char *dir = ".";
#ifdef _WIN32
    const char *why = "cannot open '.'";   /* Windows refuses to open a directory as a file */
#else
    const char *why = "directory";
#endif
    CHECK(!nn_dataset_read_cifar10_files(1, &dir) && strstr(nn_last_error(), why), "a directory: %s", nn_last_error());
  }
  d = nn_dataset_read_cifar10(".", "test");   /* no test_batch.bin here */
  CHECK(!d && strstr(nn_last_error(), "test_batch.bin"), "missing test batch: %s", nn_last_error());
  nn_dataset_free(d);
  remove(paths[0]); remove(paths[1]); remove(bp);
}

/* ---------------------------------------------------------------------
   Augmentation: shifts, mirrors, padding; test-time augmentation
   --------------------------------------------------------------------- */
static void test_augmentation(void) {
  /* one 1 x 3 x 4 image: value 10*h + w */
  float src[2 * 12], dst[2 * 12], exp_reflect[12] = {0}, big[3 * 5 * 6], out[3 * 5 * 6];
  int h, w, dy[2], dx[2], i, bad = 0, counts[5] = {0};
  unsigned char fl[2], f0[64];
  nn_rng r;
  for (i = 0; i < 24; i++) src[i] = (float)(10 * ((i % 12) / 4) + i % 4) + (i >= 12 ? 100.0f : 0.0f);
  /* shift down 1, right 2, reflect: dst(h, w) = src(reflect(h-1), reflect(w-2)) */
  dy[0] = 1; dx[0] = 2; dy[1] = 0; dx[1] = 0; fl[0] = 0; fl[1] = 1;
  nn_shift_flip_images(src, dst, 2, 1, 3, 4, dy, dx, fl, NN_PAD_REFLECT);
  {
    static const int rows[3] = {1, 0, 1}, cols[4] = {2, 1, 0, 1};   /* reflect(-1) = 1, reflect(-2) = 2 */
    for (h = 0; h < 3; h++)
      for (w = 0; w < 4; w++) exp_reflect[h * 4 + w] = (float)(10 * rows[h] + cols[w]);
  }
  CHECK(!memcmp(dst, exp_reflect, sizeof exp_reflect), "shift (1, 2) with reflect padding: row 0 = %g %g %g %g", dst[0], dst[1],
        dst[2], dst[3]);
  for (h = 0; h < 3; h++)
    for (w = 0; w < 4; w++) bad += dst[12 + h * 4 + w] != 100 + 10 * h + (3 - w);
  CHECK(bad == 0, "mirror: %d wrong pixels", bad);
  /* shift up 1, left 1, mirrored, zero padding: dst(h, w) = T(h, 3 - w), T(h, w) = src(h + 1, w + 1) or 0 */
  dy[0] = -1; dx[0] = -1; fl[0] = 1;
  nn_shift_flip_images(src, dst, 1, 1, 3, 4, dy, dx, fl, NN_PAD_ZERO);
  for (bad = 0, h = 0; h < 3; h++)
    for (w = 0; w < 4; w++) {
      int th = h + 1, tw = 3 - w + 1;
      float want = th < 3 && tw < 4 ? (float)(10 * th + tw) : 0.0f;
      bad += dst[h * 4 + w] != want;
    }
  CHECK(bad == 0, "shift (-1, -1) + mirror with zero padding: %d wrong pixels", bad);
  /* larger shifts than the image reflect again; several channels; NULL means none */
  for (i = 0; i < 90; i++) big[i] = (float)i;
  nn_shift_flip_images(big, out, 1, 3, 5, 6, NULL, NULL, NULL, NN_PAD_REFLECT);
  CHECK(!memcmp(big, out, sizeof big), "no shift, no flip copies");
  dy[0] = 7; dx[0] = -9;   /* rows: reflect(h-7) of 5 (period 8); columns: reflect(w+9) of 6 (period 10) */
  nn_shift_flip_images(big, out, 1, 3, 5, 6, dy, dx, NULL, NN_PAD_REFLECT);
  CHECK(out[2 * 30 + 0 * 6 + 0] == big[2 * 30 + 1 * 6 + 1] && out[1 * 30 + 4 * 6 + 5] == big[1 * 30 + 3 * 6 + 4],
        "shifts beyond the image size reflect again");
  /* random shifts cover -2..2 evenly; random flips are about half */
  nn_rng_seed(&r, 5);
  for (bad = 0, i = 0; i < 1000; i++) {
    nn_random_shifts(&r, 1, 2, dy, dx);
    if (dy[0] < -2 || dy[0] > 2 || dx[0] < -2 || dx[0] > 2) bad++;
    else counts[dx[0] + 2]++;
  }
  CHECK(bad == 0 && counts[0] > 150 && counts[2] > 150 && counts[4] > 150, "random shifts: %d %d %d %d %d", counts[0],
        counts[1], counts[2], counts[3], counts[4]);
  nn_random_flips(&r, 64, f0);
  for (i = 0, bad = 0; i < 64; i++) bad += f0[i];
  CHECK(bad > 16 && bad < 48, "random flips: %d of 64", bad);
}

/* TTA: a model that is mirror-symmetric gives the same outputs for an
   image and its mirror; level 2 equals the weighted views done by hand */
static void test_tta(void) {
  nn_graph *g = nn_graph_new();
  int d3[3] = {2, 6, 6}, i, n = 5, bad = 0;
  nn_node *x = nn_input(g, "image", 3, d3), *c, *y;
  nn_model *m;
  float img[5 * 72], mir[5 * 72], a[5 * 4], b[5 * 4], v[5 * 4], want[5 * 4], wt[3] = {0.25f, 0.125f, 0.125f};
  float wv[4 * 2 * 9];
  int dy[5], dx[5];
  unsigned char fl[5];
  c = nn_conv2d_ex(g, x, 4, 3, 3, 1, 1, 0);
  y = nn_dense_ex(g, nn_flatten(g, nn_maxpool2d(g, nn_gelu(g, c), 3, 3)), 4, 0);
  m = nn_compile(g, 2, nn_cpu_backend());   /* smaller than n: TTA runs in batches */
  /* mirror-symmetric filters (w[.., j] = w[.., 2-j]) and a dense layer that
     gives mirrored pooled cells the same weight */
  for (i = 0; i < 72; i++) wv[i] = nn_rng_normal(&trng);
  for (i = 0; i < 72; i += 3) wv[i + 2] = wv[i];
  nn_write(m, nn_node_input(c, 1), wv);
  {
    float dw[4 * 16];
    int o, ch, u;
    for (o = 0; o < 4; o++)
      for (ch = 0; ch < 4; ch++)
        for (u = 0; u < 2; u++) {
          float t = nn_rng_normal(&trng);
          dw[o * 16 + ch * 4 + u * 2] = dw[o * 16 + ch * 4 + u * 2 + 1] = t;
        }
    nn_write(m, nn_node_input(y, 1), dw);
  }
  for (i = 0; i < n * 72; i++) img[i] = nn_rng_normal(&trng);
  for (i = 0; i < n; i++) fl[i] = 1;
  nn_shift_flip_images(img, mir, n, 2, 6, 6, NULL, NULL, fl, NN_PAD_REFLECT);
  CHECK(nn_predict_tta(m, x, y, img, n, 0, a) && nn_predict_tta(m, x, y, mir, n, 0, b), "tta: %s", nn_last_error());
  for (i = 0; i < n * 4; i++) bad += fabsf(a[i] - b[i]) > 1e-4f * (1 + fabsf(a[i]));
  CHECK(bad == 0, "a mirror-symmetric model: image and mirror agree (%d differ)", bad);
  nn_predict_tta(m, x, y, img, n, 1, v);
  for (i = 0, bad = 0; i < n * 4; i++) bad += fabsf(v[i] - a[i]) > 1e-4f * (1 + fabsf(a[i]));
  CHECK(bad == 0, "tta level 1 of a mirror-symmetric model is its plain output");
  /* level 2 by hand: views (0,0), (1,1), (-1,-1), each with its mirror */
  memset(want, 0, sizeof want);
  for (i = 0; i < 3; i++) {
    int k, s = i == 0 ? 0 : (i == 1 ? 1 : -1), mirror;
    for (mirror = 0; mirror < 2; mirror++) {
      for (k = 0; k < n; k++) { dy[k] = dx[k] = s; fl[k] = (unsigned char)mirror; }
      nn_shift_flip_images(img, mir, n, 2, 6, 6, dy, dx, fl, NN_PAD_REFLECT);
      nn_predict_tta(m, x, y, mir, n, 0, b);
      for (k = 0; k < n * 4; k++) want[k] += wt[i] * b[k];
    }
  }
  nn_predict_tta(m, x, y, img, n, 2, v);
  for (i = 0, bad = 0; i < n * 4; i++) bad += fabsf(v[i] - want[i]) > 1e-4f * (1 + fabsf(want[i]));
  CHECK(bad == 0 && m->batch == 2, "tta level 2 is the weighted mean of six views");
  CHECK(!nn_predict_tta(m, x, y, img, n, 3, v) && strstr(nn_last_error(), "level"), "tta level 3 is refused");
  nn_model_free(m);
}

/* ---------------------------------------------------------------------
   Metrics against hand-computed values
   --------------------------------------------------------------------- */
static void test_metrics(void) {
  /* 3 classes; true 0: 2 right, 1 as class 1; true 1: 1 right; true 2: 1 as 0, 1 right */
  float logits[6 * 3] = {9, 0, 0, 9, 0, 0, 0, 9, 0, 0, 9, 0, 9, 0, 0, 0, 0, 9};
  float labels[6] = {0, 0, 0, 1, 2, 2};
  int cm[9] = {0};
  double p[3], r[3], f[3], mp, mr, mf;
  float scores[4] = {0.1f, 0.4f, 0.35f, 0.8f}, y[4] = {0, 0, 1, 1};
  float tied[4] = {0.5f, 0.5f, 0.5f, 0.5f};
  nn_confusion_add(cm, 3, logits, labels, 6);
  CHECK(cm[0] == 2 && cm[1] == 1 && cm[4] == 1 && cm[6] == 1 && cm[8] == 1, "confusion matrix");
  CHECK(fabs(nn_confusion_accuracy(cm, 3) - 4.0 / 6) < 1e-12, "accuracy");
  nn_class_metrics(cm, 3, p, r, f, &mp, &mr, &mf);
  /* class 0: precision 2/3, recall 2/3; class 1: 1/2, 1; class 2: 1, 1/2 */
  CHECK(fabs(p[0] - 2.0 / 3) < 1e-12 && fabs(r[1] - 1) < 1e-12 && fabs(p[1] - 0.5) < 1e-12 && fabs(r[2] - 0.5) < 1e-12,
        "precision/recall");
  CHECK(fabs(f[1] - 2.0 / 3) < 1e-12 && fabs(mp - (2.0 / 3 + 0.5 + 1) / 3) < 1e-12 && fabs(mf - (2.0 / 3 * 3) / 3) < 1e-12,
        "f1 and macro averages: %f %f", f[1], mf);
  CHECK(fabs(nn_roc_auc(scores, y, 4) - 0.75) < 1e-12, "auc");
  CHECK(fabs(nn_roc_auc(tied, y, 4) - 0.5) < 1e-12, "auc with ties");
  CHECK(isnan(nn_roc_auc(scores, tied, 4)), "auc with one class is undefined");
}

static void test_summary(void) {
  nn_graph *g = nn_graph_new();
  int d3[3] = {1, 8, 8};
  nn_model *m;
  FILE *f = tmpfile();
  char text[4096];
  size_t n;
  nn_layer_name(g, "stem");
  nn_dense(g, nn_flatten(g, nn_maxpool2d(g, nn_conv2d(g, nn_input(g, "x", 3, d3), 4, 3, 1, 1), 2, 2)), 10);
  m = nn_compile(g, 2, nn_cpu_backend());
  nn_summary(m, f);
  rewind(f);
  n = fread(text, 1, sizeof text - 1, f);
  text[n] = 0;
  fclose(f);
  /* conv 4*1*9+4 = 40 params, dense 64*10+10 = 650 */
  CHECK(strstr(text, "stem") && strstr(text, "690") && nn_num_params(m) == 690, "summary:\n%s", text);
  CHECK(nn_find(m->graph, "stem.weight") && nn_find(m->graph, "dense1.bias"), "layer parameter names");
  nn_model_free(m);
}

/* ---------------------------------------------------------------------
   Sequences: embedding, recurrent layers, reductions
   --------------------------------------------------------------------- */
/* closed-form inputs and weights shared with tests/rnn_reference.py */
static void closed_form(float *v, int n, float scale, int cosine, double a, double b) {
  int i;
  for (i = 0; i < n; i++) v[i] = scale * (float)(cosine ? cos(a * i + b) : sin(a * i + b));
}
static void test_recurrent_reference(void) {
  /* tests/rnn_reference.py: numpy, from the equations in nn.h's header */
  static const float lstm_expected[32] = {0.370506725f, 0.349624071f, -0.110621784f, -0.094762320f, 0.453306128f, 0.399509660f, -0.068246541f, -0.048425909f, 0.051801983f, 0.038074285f, 0.200049567f, 0.248912585f, -0.082792287f, -0.086464976f, 0.315780353f, 0.362425327f, -0.104912836f, -0.102150547f, 0.083752992f, 0.120599344f, 0.114045784f, 0.126538039f, -0.101228362f, -0.090786895f, 0.000000000f, 0.000000000f, 0.000000000f, 0.000000000f, 0.000000000f, 0.000000000f, 0.000000000f, 0.000000000f};
  static const float gru_expected[32] = {0.186483551f, 0.166968301f, -0.325789902f, -0.517057429f, 0.330473830f, 0.296433808f, -0.159805054f, -0.270472572f, -0.149548686f, -0.202939281f, 0.302500753f, 0.378135317f, -0.731201281f, -0.741148593f, 0.356753498f, 0.349596829f, -0.355324983f, -0.367322537f, 0.088748001f, 0.060238104f, 0.003991723f, -0.038776720f, -0.216409859f, -0.316703281f, 0.000000000f, 0.000000000f, 0.000000000f, 0.000000000f, 0.000000000f, 0.000000000f, 0.000000000f, 0.000000000f};
  enum { B = 2, T = 4, F = 3, H = 2 };
  int k, i;
  for (k = 0; k < 2; k++) {
    int G = k == 0 ? 4 : 3, dirs = 2, d[2], dd;
    nn_graph *g = nn_graph_new();
    nn_node *x, *len, *y;
    nn_model *m;
    float xv[B * T * F], full[B] = {4, 4}, lens[B] = {4, 2}, w[2 * 4 * H * F], out[B * T * 2 * H];
    const float *want = k == 0 ? lstm_expected : gru_expected;
    double worst = 0;
    d[0] = T; d[1] = F;
    x = nn_input(g, "x", 2, d);
    len = oc_len(g);
    y = (k == 0 ? nn_lstm : nn_gru)(g, x, len, H, 1, NN_BIDIRECTIONAL);
    m = nn_compile(g, B, nn_cpu_backend());
    closed_form(xv, B * T * F, 1.0f, 0, 0.37, 1.0);
    nn_feed(m, "x", xv);
    nn_feed(m, "len", full);
    nn_predict(m, y);           /* leaves outputs at steps that are padding next */
    nn_feed(m, "len", lens);
    /* the reference's tensors stack the directions: direction dd's half
       goes to its own parameter (input 2 + 4 dd + kind) */
    for (dd = 0; dd < dirs; dd++) {
      closed_form(w, dirs * G * H * F, 0.5f, 0, 0.11, 0.3); nn_write(m, nn_node_input(y, 2 + 4 * dd), w + dd * G * H * F);
      closed_form(w, dirs * G * H * H, 0.5f, 1, 0.13, 0.2); nn_write(m, nn_node_input(y, 3 + 4 * dd), w + dd * G * H * H);
      closed_form(w, dirs * G * H, 0.1f, 0, 0.7, 0.0); nn_write(m, nn_node_input(y, 4 + 4 * dd), w + dd * G * H);
      closed_form(w, dirs * G * H, 0.1f, 1, 0.9, 0.0); nn_write(m, nn_node_input(y, 5 + 4 * dd), w + dd * G * H);
    }
    CHECK(nn_predict(m, y), "%s reference: %s", k == 0 ? "lstm" : "gru", nn_last_error());
    nn_read(m, y, out);
    for (i = 0; i < B * T * 2 * H; i++) worst = max_err(worst, fabs(out[i] - want[i]));
    CHECK(worst < 2e-6, "%s differs from the numpy reference by %g", k == 0 ? "lstm" : "gru", worst);
    nn_model_free(m);
  }
}

/* A review padded to two lengths: the same loss and the same gradients. */
static nn_model *padded_model(int T, nn_node **loss) {
  nn_graph *g = nn_graph_new();
  int one = 1;
  nn_node *ids = nn_input(g, "ids", 1, &T), *len = oc_len(g), *lab = nn_input(g, "label", 1, &one), *h, *pool[3];
  h = nn_gru(g, nn_embedding(g, ids, 20, 4), len, 5, 1, NN_BIDIRECTIONAL);
  pool[0] = nn_seq_maxpool(g, h, len);
  pool[1] = nn_seq_meanpool(g, h, len);
  pool[2] = nn_seq_last(g, h, len);
  *loss = nn_cross_entropy(g, nn_dense(g, nn_concat(g, 3, pool), 2), lab, 0, NN_SUM);
  return nn_compile(g, 2, nn_cpu_backend());
}
static void test_padding_invariance(void) {
  static const float review[5] = {3, 17, 4, 4, 9}, other[3] = {11, 2, 6};
  nn_node *loss[2];
  nn_model *m[2];
  float ids[2][2 * 12], lens[2] = {5, 3}, labels[2] = {1, 0}, lv[2];
  int k, i, T[2] = {7, 12}, same = 1, compared = 0;
  for (k = 0; k < 2; k++) {
    m[k] = padded_model(T[k], &loss[k]);
    for (i = 0; i < 2 * T[k]; i++) ids[k][i] = (float)((i * 7 + k * 5) % 20);   /* padding: any ids */
    memcpy(ids[k], review, sizeof review);
    memcpy(ids[k] + T[k], other, sizeof other);
    nn_feed(m[k], "ids", ids[k]);
    nn_feed(m[k], "len", lens);
    nn_feed(m[k], "label", labels);
    CHECK(nn_forward(m[k], 1) && nn_backward(m[k]), "padded model: %s", nn_last_error());
    lv[k] = nn_loss(m[k]);
  }
  CHECK(lv[0] == lv[1], "padding changes the loss: %.9g vs %.9g", lv[0], lv[1]);
  for (i = 0; i < m[0]->graph->n; i++) {
    nn_node *p = m[0]->graph->nodes[i];
    size_t n = nn_node_numel(m[0], p), q;
    float *a, *b;
    if (p->op != NN_OP_PARAM) continue;
    a = (float *)malloc(n * sizeof(float));
    b = (float *)malloc(n * sizeof(float));
    nn_read_grad(m[0], p, a);
    nn_read_grad(m[1], m[1]->graph->nodes[i], b);
    for (q = 0; q < n; q++) if (a[q] != b[q]) same = 0;
    compared++;
    free(a);
    free(b);
  }
  CHECK(same && compared == 11, "padding changes the gradients (%d parameters compared)", compared);
  nn_model_free(m[0]);
  nn_model_free(m[1]);
}

/* bad ids and lengths fail the forward pass with the reason; a training
   step of a recurrent model allocates nothing */
static void test_sequence_errors(void) {
  nn_graph *g = nn_graph_new();
  int four = 4, one = 1, d2[2] = {4, 3};
  nn_node *ids = nn_input(g, "ids", 1, &four), *len = oc_len(g), *lab = nn_input(g, "label", 1, &one), *h;
  nn_model *m;
  nn_optimizer *o;
  float idv[8] = {1, 2, 3, 0, 4, 4, 0, 0}, lens[2] = {4, 2}, labels[2] = {0, 1};
  long before;
  h = nn_lstm(g, nn_dropout(g, nn_embedding(g, ids, 5, 3), 0.2f), len, 4, 1, NN_BIDIRECTIONAL);
  nn_cross_entropy(g, nn_dense(g, nn_seq_maxpool(g, h, len), 2), lab, 0, NN_MEAN);
  m = nn_compile(g, 2, nn_cpu_backend());
  o = nn_adam(m, 1e-3f, 0.9f, 0.999f, 1e-8f, 0, 0);
  nn_optimizer_set_clip(o, 1.0f);
  nn_feed(m, "ids", idv);
  nn_feed(m, "len", lens);
  nn_feed(m, "label", labels);
  CHECK(!isnan(nn_train_step(m, o)), "recurrent training step: %s", nn_last_error());
  before = test_allocs;
  nn_train_step(m, o);
  nn_train_step(m, o);
  CHECK(test_allocs == before, "recurrent training steps allocated %ld times", test_allocs - before);
  idv[5] = 9;
  nn_feed(m, "ids", idv);
  CHECK(!nn_forward(m, 1) && strstr(nn_last_error(), "id 9") && strstr(nn_last_error(), "vocabulary of 5"),
        "id out of range: %s", nn_last_error());
  idv[5] = 2.5f;
  nn_feed(m, "ids", idv);
  CHECK(!nn_forward(m, 1) && strstr(nn_last_error(), "id 2.5"), "fractional id: %s", nn_last_error());
  idv[5] = 4;
  nn_feed(m, "ids", idv);
  lens[1] = 5;
  nn_feed(m, "len", lens);
  CHECK(!nn_forward(m, 1) && strstr(nn_last_error(), "length 5") && strstr(nn_last_error(), "0..4"), "length too long: %s", nn_last_error());
  lens[1] = NAN;
  nn_feed(m, "len", lens);
  CHECK(!nn_forward(m, 1) && strstr(nn_last_error(), "length nan"), "length NaN: %s", nn_last_error());
  nn_optimizer_free(o);
  nn_model_free(m);
  /* build errors name the op and the shapes */
  g = nn_graph_new();
  ids = nn_input(g, "x", 2, d2);
  len = nn_input(g, "len", 1, &four);
  CHECK(!nn_gru(g, ids, len, 3, 1, 0) && strstr(nn_last_error(), "gru") && strstr(nn_last_error(), "[4]"), "lengths shape: %s", nn_last_error());
  nn_graph_free(g);
  g = nn_graph_new();
  ids = nn_input(g, "x", 1, &four);
  CHECK(!nn_lstm(g, ids, NULL, 3, 1, 0) && strstr(nn_last_error(), "lstm") && strstr(nn_last_error(), "[4]"), "lstm on a vector: %s", nn_last_error());
  nn_graph_free(g);
  g = nn_graph_new();
  ids = nn_input(g, "x", 2, d2);
  CHECK(!nn_rnn(g, ids, NULL, 0, 1, 0) && strstr(nn_last_error(), "hidden 0"), "hidden 0: %s", nn_last_error());
  nn_graph_free(g);
}

/* ---------------------------------------------------------------------
   Text: tokenizer, vocabulary, encoding, the aclImdb loader, bucketing
   --------------------------------------------------------------------- */
static int tokenizes_to(const char *text, size_t len, const char *want) {
  char *out = (char *)malloc(2 * len + 1);
  int ok;
  nn_tokenize(text, len, out);
  ok = !strcmp(out, want);
  if (!ok) printf("  tokenize: got \"%s\", want \"%s\"\n", out, want);
  free(out);
  return ok;
}
#define TOKENIZES(s, want) tokenizes_to(s, sizeof s - 1, want)
static int valid_utf8(const char *s) {
  const unsigned char *p = (const unsigned char *)s;
  size_t n = strlen(s), i = 0;
  while (i < n) {
    int k = p[i] < 0x80 ? 1 : nn__utf8_len(p + i, n - i);
    if (!k) return 0;
    i += (size_t)k;
  }
  return 1;
}
static void test_tokenizer(void) {
  char out[64];
  int trial, bad = 0;
  CHECK(TOKENIZES("Great movie!<br /><br />I LOVED it... 10/10", "great movie ! i loved it ... 10 / 10"), "basic");
  CHECK(TOKENIZES("Don't miss this low-budget gem -- really!!!!!", "don't miss this low-budget gem -- really !!!"), "inner marks, runs");
  CHECK(TOKENIZES("'quoted' and - dash <BR>x<br/>y", "' quoted ' and - dash x y"), "marks at word edges, br variants");
  CHECK(TOKENIZES("caf\xc3\xa9 \xe2\x80\x9cnice\xe2\x80\x9d don\xe2\x80\x99t", "caf\xc3\xa9 \xe2\x80\x9c nice \xe2\x80\x9d don't"),
        "UTF-8 letters and punctuation");
  CHECK(TOKENIZES("bad\xff\xfe bytes caf\xe9 x\xc3", "bad bytes caf x"), "invalid UTF-8 is dropped");
  CHECK(TOKENIZES("over\xc0\xaflong \xed\xa0\x80sur", "over long sur"), "overlong forms and surrogates are invalid");
  CHECK(TOKENIZES("a\0b", "a b") && TOKENIZES("", "") && TOKENIZES(" \t\n<br />", ""), "NUL, empty, only spaces");
  CHECK(nn_tokenize("one, two", 8, out) == 3, "token count");
  /* random bytes: output within 2 len + 1 bytes, valid UTF-8, single spaces */
  for (trial = 0; trial < 300; trial++) {
    size_t len = (size_t)nn_rng_int(&trng, 200), k;
    char *text = (char *)malloc(len + 1), *buf = (char *)malloc(2 * len + 2);
    static const char alphabet[] = "aZ9 .!'-<br />\xe2\x80\x99\xc3\xa9\xff\x80";
    for (k = 0; k < len; k++)
      text[k] = trial % 2 ? (char)nn_rng_int(&trng, 256) : alphabet[nn_rng_int(&trng, (int)sizeof alphabet - 1)];
    buf[2 * len + 1] = 'G';
    nn_tokenize(text, len, buf);
    if (buf[2 * len + 1] != 'G' || !valid_utf8(buf) || strstr(buf, "  ") || buf[0] == ' ' ||
        (buf[0] && buf[strlen(buf) - 1] == ' ')) bad++;
    free(text);
    free(buf);
  }
  CHECK(bad == 0, "tokenizer on random bytes: %d bad outputs", bad);
}
static void test_vocab(void) {
  nn_vocab *v = nn_vocab_new();
  float ids[6];
  int n;
  CHECK(nn_vocab_add(v, "a b a c a b d") && nn_vocab_add(v, "e"), "vocab add");
  CHECK(nn_vocab_finish(v, 5, 1) && nn_vocab_size(v) == 5, "vocab size %d", nn_vocab_size(v));
  CHECK(!strcmp(nn_vocab_word(v, NN_PAD), "<pad>") && !strcmp(nn_vocab_word(v, NN_UNK), "<unk>") &&
        !strcmp(nn_vocab_word(v, 2), "a") && !strcmp(nn_vocab_word(v, 3), "b") && !strcmp(nn_vocab_word(v, 4), "c"),
        "most frequent first, ties in byte order");
  CHECK(nn_vocab_count(v, 2) == 3 && nn_vocab_count(v, NN_UNK) == 2 && nn_vocab_word(v, 5) == NULL, "counts");
  CHECK(nn_vocab_id(v, "b", 1) == 3 && nn_vocab_id(v, "d", 1) == NN_UNK && nn_vocab_id(v, "zz", 2) == NN_UNK &&
        nn_vocab_id(v, "<pad>", 5) == NN_PAD, "lookup");
  CHECK(!nn_vocab_add(v, "x") && strstr(nn_last_error(), "finish"), "no counting after finish: %s", nn_last_error());
  n = nn_text_encode(v, "a b c a d", 3, 0, ids);
  CHECK(n == 3 && ids[0] == 2 && ids[1] == 3 && ids[2] == 4, "encode keeps the start");
  n = nn_text_encode(v, "a b c a d", 3, 1, ids);
  CHECK(n == 3 && ids[0] == 4 && ids[1] == 2 && ids[2] == NN_UNK, "encode keeps the end");
  n = nn_text_encode(v, "a b", 5, 1, ids);
  CHECK(n == 2 && ids[0] == 2 && ids[1] == 3 && ids[2] == NN_PAD && ids[4] == NN_PAD, "encode pads");
  nn_vocab_free(v);
  v = nn_vocab_new();
  nn_vocab_add(v, "a b a");
  CHECK(nn_vocab_finish(v, 100, 2) && nn_vocab_size(v) == 3, "min count");
  nn_vocab_free(v);
  v = nn_vocab_new();
  nn_vocab_add(v, "a b c");
  CHECK(!nn_vocab_finish(v, 100, 2) && strstr(nn_last_error(), "empty"), "empty vocabulary: %s", nn_last_error());
  nn_vocab_free(v);
  v = nn_vocab_new();
  CHECK(!nn_vocab_finish(v, 2, 1) && strstr(nn_last_error(), "size 2"), "a size without room for words: %s", nn_last_error());
  nn_vocab_free(v);
  /* many words: the table grows */
  {
    char word[16];
    int i, ok = 1;
    v = nn_vocab_new();
    for (i = 0; i < 20000; i++) { snprintf(word, sizeof word, "w%d", i % 9000); nn_vocab_add(v, word); }
    nn_vocab_finish(v, 1000000, 1);
    for (i = 0; i < 9000 && ok; i++) {
      snprintf(word, sizeof word, "w%d", i);
      ok = !strcmp(nn_vocab_word(v, nn_vocab_id(v, word, strlen(word))), word);
    }
    CHECK(ok && nn_vocab_size(v) == 9002, "9000 words round trip");
    nn_vocab_free(v);
  }
}
static void write_text(const char *path, const char *s, size_t n) { write_bytes(path, (const unsigned char *)s, n); }
#define FIX "test_aclimdb.tmp"
/* directories without a shell, so that the test runs on Windows too */
#ifdef _WIN32
#include <direct.h>
#define make_dir(p) _mkdir(p)
#define remove_dir(p) _rmdir(p)
#else
#include <sys/stat.h>
#include <unistd.h>
#define make_dir(p) mkdir(p, 0777)
#define remove_dir(p) rmdir(p)
#endif
static const char *const aclimdb_dirs[] = {FIX, FIX "/train", FIX "/train/pos", FIX "/train/neg", FIX "/test", FIX "/test/pos"};
/* removes everything the test makes, children first */
static void aclimdb_cleanup(void) {
  static const char *const files[] = {"/train/pos/1_9.txt", "/train/pos/0_10.txt", "/train/pos/2_7.txt", "/train/neg/5_1.txt",
                                      "/train/neg/4_2.txt", "/train/neg/notes.md", "/test/pos/1_8.txt", "/test/neg/1_3.txt"};
  char path[256];
  int i;
  for (i = 0; i < (int)(sizeof files / sizeof *files); i++) {
    snprintf(path, sizeof path, FIX "%s", files[i]);
    remove(path);
  }
  remove_dir(FIX "/test/neg/dir.txt");
  remove_dir(FIX "/test/neg");
  for (i = (int)(sizeof aclimdb_dirs / sizeof *aclimdb_dirs) - 1; i >= 0; i--) remove_dir(aclimdb_dirs[i]);
}
static void test_aclimdb(void) {
  nn_text_set *s;
  char *big;
  size_t i;
  int r = 0, k;
  aclimdb_cleanup();
  for (k = 0; k < (int)(sizeof aclimdb_dirs / sizeof *aclimdb_dirs); k++) r |= make_dir(aclimdb_dirs[k]);
  CHECK(r == 0, "fixture directories");
  write_text(FIX "/train/pos/1_9.txt", "A great film.<br /><br />Loved it", 33);
  write_text(FIX "/train/pos/0_10.txt", "Wonderful!", 10);
  write_text(FIX "/train/pos/2_7.txt", "Good, \xff\xfe odd bytes", 19);
  write_text(FIX "/train/neg/5_1.txt", "Awful", 5);
  write_text(FIX "/train/neg/4_2.txt", "Boring and long", 15);
  write_text(FIX "/train/neg/notes.md", "not a review", 12);
  s = nn_text_set_read_aclimdb(FIX, "train");
  CHECK(s && s->n == 5, "fixture: %s", s ? "wrong count" : nn_last_error());
  if (s) {
    CHECK(!strcmp(s->text + s->offset[0], "wonderful !") && !strcmp(s->text + s->offset[1], "boring and long") &&
          !strcmp(s->text + s->offset[2], "a great film . loved it") && !strcmp(s->text + s->offset[3], "awful") &&
          !strcmp(s->text + s->offset[4], "good , odd bytes"), "fixture order (name order, alternating) and tokens");
    CHECK(s->y[0] == 1 && s->y[1] == 0 && s->y[2] == 1 && s->y[3] == 0 && s->y[4] == 1 && s->tokens[2] == 6, "labels, token counts");
    {
      nn_vocab *v = nn_vocab_new();
      CHECK(nn_vocab_add_set(v, s) && nn_vocab_finish(v, 100, 1) && nn_vocab_size(v) == 18, "vocabulary of the fixture: %d", nn_vocab_size(v));
      nn_vocab_free(v);
    }
    nn_text_set_truncate(s, 2);
    CHECK(s->n == 2, "truncate");
    nn_text_set_free(s);
  }
  CHECK(!nn_text_set_read_aclimdb("no/such/dir", "train") && strstr(nn_last_error(), "no/such/dir/train/pos"), "missing: %s", nn_last_error());
  CHECK(!nn_text_set_read_aclimdb(FIX, "test") && strstr(nn_last_error(), FIX "/test/pos") && strstr(nn_last_error(), "no reviews"),
        "no reviews: %s", nn_last_error());
  write_text(FIX "/test/pos/1_8.txt", "fine", 4);
  CHECK(!nn_text_set_read_aclimdb(FIX, "test") && strstr(nn_last_error(), FIX "/test/neg"), "missing neg: %s", nn_last_error());
  make_dir(FIX "/test/neg");
  write_text(FIX "/test/neg/1_3.txt", "", 0);
  CHECK(!nn_text_set_read_aclimdb(FIX, "test") && strstr(nn_last_error(), "1_3.txt") && strstr(nn_last_error(), "empty"), "empty file: %s", nn_last_error());
  write_text(FIX "/test/neg/1_3.txt", "<br /><br />\xff", 13);
  CHECK(!nn_text_set_read_aclimdb(FIX, "test") && strstr(nn_last_error(), "1_3.txt") && strstr(nn_last_error(), "no words"), "no words: %s", nn_last_error());
  make_dir(FIX "/test/neg/dir.txt");
  write_text(FIX "/test/neg/1_3.txt", "bad", 3);
  CHECK(!nn_text_set_read_aclimdb(FIX, "test") && strstr(nn_last_error(), "dir.txt"), "a directory named .txt: %s", nn_last_error());
  remove_dir(FIX "/test/neg/dir.txt");
  /* a review longer than any fixed buffer */
  big = (char *)malloc(3000000);
  for (i = 0; i < 3000000; i++) big[i] = "good "[i % 5];
  write_text(FIX "/test/neg/1_3.txt", big, 3000000);
  free(big);
  s = nn_text_set_read_aclimdb(FIX, "test");
  CHECK(s && s->n == 2 && s->tokens[1] == 600000, "a 3 MB review: %s", s ? "wrong count" : nn_last_error());
  nn_text_set_free(s);
  aclimdb_cleanup();
}
static void test_bucketing(void) {
  enum { N = 103, BATCH = 10 };
  int len[N], order[N], again[N], seen[N], i, k, ok = 1, spread = 0, sorted = 1;
  nn_rng r;
  for (i = 0; i < N; i++) { len[i] = 1 + nn_rng_int(&trng, 400); seen[i] = 0; }
  nn_rng_seed(&r, 5);
  nn_bucket_order(&r, len, N, BATCH, 4, order);
  for (i = 0; i < N; i++) if (order[i] < 0 || order[i] >= N || seen[order[i]]++) ok = 0;
  /* inside a window of 4 batches sorted by length, each batch spans a
     quarter of the lengths at most */
  for (k = 0; k < N / BATCH; k++) {
    int lo = 1 << 30, hi = 0;
    for (i = k * BATCH; i < (k + 1) * BATCH; i++) { lo = len[order[i]] < lo ? len[order[i]] : lo; hi = len[order[i]] > hi ? len[order[i]] : hi; }
    spread += hi - lo;
  }
  nn_rng_seed(&r, 5);
  nn_bucket_order(&r, len, N, BATCH, 4, again);
  CHECK(ok && !memcmp(order, again, sizeof order), "bucket order is a permutation, the same for the same seed");
  CHECK(spread < 10 * 200, "batches of similar lengths: mean spread %d", spread / 10);
  nn_bucket_order(NULL, len, N, BATCH, 4, order);
  for (i = 1; i < N; i++) if (len[order[i]] > len[order[i - 1]]) sorted = 0;
  CHECK(sorted, "without a generator: longest first");
}

/* A model larger than the address space is refused by nn_compile, not
   allocated at a size that wrapped round (2^64 elements wrap to 0; with a
   32-bit size_t, 2^32 do too) */
static void test_address_space(void) {
  static const int huge[2][4] = {{65536, 65536, 65536, 65536}, {65536, 65536, 1, 1}};
  int k;
  for (k = 0; k < (sizeof(size_t) < 8 ? 2 : 1); k++) {
    nn_graph *g = nn_graph_new();
    nn_backend *be = nn_cpu_backend();
    nn_model *m;
    nn_relu(g, nn_input(g, "x", 4, huge[k]));
    m = nn_compile(g, 1, be);
    CHECK(!m && strstr(nn_last_error(), "compile: cannot allocate buffers on 'cpu': 'x' (input) needs") && strstr(nn_last_error(), "address space"), "2^%d-element input: %s",
          k ? 32 : 64, m ? "compiled" : nn_last_error());
    nn_model_free(m);
    if (!m) { nn_graph_free(g); nn_backend_free(be); }
  }
}

/* nn_model_set_grad_ready: every parameter once, each when its gradient
   is final (the last reader of a shared weight has run), later layers
   first, none off the loss's path; a hook returning 0 stops the pass */
typedef struct { nn_model *m; const nn_node *seen[8]; float first[8]; int n, fail_at; } ready_log;
static int on_ready(void *ctx, nn_model *m, const nn_node *p) {
  ready_log *r = (ready_log *)ctx;
  float *g = (float *)malloc(nn_node_numel(m, p) * sizeof(float));
  if (r->n < 8) { r->seen[r->n] = p; nn_read_grad(m, p, g); r->first[r->n] = g[0]; }
  free(g);
  if (++r->n == r->fail_at) return nn_set_error("the reducer gave up");
  return 1;
}
static void test_grad_ready(void) {
  nn_graph *g = nn_graph_new();
  int four = 4, two = 2, i, k, once = 1, order_ok;
  nn_node *x = nn_input(g, "x", 1, &four), *t = nn_input(g, "t", 1, &two);
  nn_node *w = nn_param(g, "shared", 1, &four, NN_INIT_ONES, 0), *unused = nn_param(g, "unused", 1, &two, NN_INIT_ONES, 0);
  nn_node *h = nn_relu(g, nn_dense(g, nn_mul(g, x, w), 4)), *y = nn_dense(g, nn_mul(g, h, w), 2);
  nn_model *m;
  ready_log r;
  float xv[8] = {1, -2, 3, 0.5f, -1, 2, 0.25f, 4}, tv[4] = {1, 0, 0, 1}, gv[16];
  (void)unused;
  nn_mse(g, y, t, NN_MEAN);
  m = nn_compile(g, 2, nn_cpu_backend());
  memset(&r, 0, sizeof r);
  nn_feed(m, "x", xv);
  nn_feed(m, "t", tv);
  CHECK(nn_model_set_grad_ready(m, on_ready, &r) && nn_forward(m, 1) && nn_backward(m), "backward with the hook: %s", nn_last_error());
  CHECK(r.n == 5, "5 parameters reported (not the unused one), got %d", r.n);
  for (i = 0; i < r.n && i < 8; i++) {
    for (k = 0; k < i; k++) once &= r.seen[k] != r.seen[i];
    nn_read_grad(m, r.seen[i], gv);
    CHECK(gv[0] == r.first[i], "'%s' was final when reported (%g, now %g)", r.seen[i]->name, r.first[i], gv[0]);
  }
  CHECK(once, "each parameter reported once");
  order_ok = r.n == 5 && r.seen[0]->id > r.seen[2]->id && strcmp(r.seen[4]->name, "shared") == 0;
  CHECK(order_ok, "the last dense first, the shared weight after its first reader");
  memset(&r, 0, sizeof r);
  r.fail_at = 2;
  CHECK(!nn_backward(m) && strstr(nn_last_error(), "the reducer gave up") && r.n == 2, "a hook returning 0 stops the pass: %s", nn_last_error());
  CHECK(nn_model_set_grad_ready(m, NULL, NULL) && nn_backward(m), "the hook removed");
  CHECK(!nn_model_set_grad_ready(NULL, on_ready, &r), "NULL model refused");
  nn_model_free(m);
}

/* synchronised batch norm against the joint batch (the partner: tests/batchnorm_sync.h) */
static void test_batchnorm_sync(void) {
  int dims[3] = {3, 2, 2}, b = 4, per = 12, i;
  nn_graph *g1 = nn_graph_new(), *g2 = nn_graph_new();
  nn_node *x1 = nn_input(g1, "x", 3, dims), *x2 = nn_input(g2, "x", 3, dims), *y1 = nn_batchnorm(g1, x1), *y2 = nn_batchnorm(g2, x2);
  nn_model *half, *joint;
  float x[96], r[96], yh[48], yj[96], dh[48], dj[96], worst = 0;
  mirror_sync ms = {3, 0, {0, 0, 0}, 0};
  nn_set_requires_grad(x1);
  nn_set_requires_grad(x2);
  half = nn_compile(g1, b, nn_cpu_backend());
  joint = nn_compile(g2, 2 * b, nn_cpu_backend());
  for (i = 0; i < b * per; i++) { x[i] = (float)nn_rng_normal(&trng) + 0.5f; x[b * per + i] = -x[i]; r[i] = r[b * per + i] = (float)nn_rng_normal(&trng); }
  CHECK(nn_model_set_batchnorm_sync(half, mirror_partner, &ms), "set_batchnorm_sync: %s", nn_last_error());
  nn_feed(half, "x", x);
  nn_feed(joint, "x", x);
  CHECK(nn__run_forward(half, y1, 1) && nn_backward_from(half, y1, r) && nn__run_forward(joint, y2, 1) &&
        nn_backward_from(joint, y2, r), "synchronised passes run: %s", nn_last_error());
  nn_read(half, y1, yh); nn_read(joint, y2, yj);
  nn_read_grad(half, x1, dh); nn_read_grad(joint, x2, dj);
  for (i = 0; i < b * per; i++) {
    worst = fmaxf(worst, fabsf(yh[i] - yj[i]));
    worst = fmaxf(worst, fabsf(dh[i] - dj[i]));
  }
  CHECK(worst < 1e-5f, "synchronised batch norm matches the joint batch: worst difference %g", worst);
  CHECK(ms.calls == 3 && ms.sizes[0] == 4 && ms.sizes[1] == 3 && ms.sizes[2] == 7,
        "the hook sees the sums and count (C+1), the centred squares (C), the gradient sums and count (2C+1): %d calls", ms.calls);
  ms.fail = 1;
  CHECK(!nn__run_forward(half, y1, 1) && strstr(nn_last_error(), "rank 1 is gone"), "a failing hook fails the pass: %s", nn_last_error());
  ms.calls = 0;
  CHECK(nn__run_forward(half, y1, 0) && ms.calls == 0, "evaluation uses the running statistics, no hook");
  CHECK(nn_model_set_batchnorm_sync(half, NULL, NULL) && nn__run_forward(half, y1, 1), "the hook removed");
  nn_model_free(half);
  nn_model_free(joint);
}

/* a generator's output through a discriminator and its gradient back,
   buffer to buffer (nn_feed_from, nn_backward_from_grad), equals the
   trip through the host; mismatches are refused with reasons */
static void test_two_models(void) {
  int three = 3, four = 4, one = 1, i;
  nn_graph *gg = nn_graph_new(), *gd = nn_graph_new(), *gs = nn_graph_new();
  nn_node *z = nn_input(gg, "z", 1, &three), *fake = nn_tanh(gg, nn_dense(gg, z, 4));
  nn_node *x = nn_input(gd, "x", 1, &four), *lab = nn_input(gd, "label", 1, &one), *small = nn_input(gs, "x", 1, &three);
  nn_model *G, *D, *S;
  nn_optimizer *og;
  float zv[6] = {0.3f, -1, 2, 1, 0.5f, -0.25f}, ones[2] = {1, 1}, host[8], dx[8], w1[16], w2[16];
  nn_node *gw;
  nn_bce_with_logits(gd, nn_dense(gd, nn_relu(gd, nn_dense(gd, x, 5)), 1), lab, NN_MEAN);
  nn_set_requires_grad(x);
  nn_dense(gs, small, 2);
  G = nn_compile(gg, 2, nn_cpu_backend());
  D = nn_compile(gd, 2, nn_cpu_backend());
  S = nn_compile(gs, 2, nn_cpu_backend());
  og = nn_adam(G, 0.01f, 0.5f, 0.999f, 1e-8f, 0, 0);
  gw = nn_model_find(G, "dense0.weight");
  CHECK(gw != NULL, "the generator has dense0.weight");
  nn_feed(G, "z", zv);
  nn_feed(D, "label", ones);
  /* through the host */
  CHECK(nn_predict(G, fake) && nn_read(G, fake, host) && nn_feed(D, "x", host) && nn_forward(D, 1) && nn_backward(D) &&
        nn_read_grad(D, x, dx) && nn__run_forward(G, fake, 1) && nn_backward_from(G, fake, dx), "host path: %s", nn_last_error());
  nn_read_grad(G, gw, w1);
  /* buffer to buffer */
  CHECK(nn__run_forward(G, fake, 1) && nn_feed_from(D, x, G, fake) && nn_forward(D, 1) && nn_backward(D) &&
        nn_backward_from_grad(G, fake, D, x), "device path: %s", nn_last_error());
  nn_read_grad(G, gw, w2);
  for (i = 0; i < 12 && w1[i] == w2[i]; i++) {}
  CHECK(i == 12, "the generator's weight gradient is the same both ways (first difference at %d)", i);
  CHECK(nn_optimizer_step(og), "the generator's own optimizer steps");
  CHECK(!nn_feed_from(D, x, S, small) && strstr(nn_last_error(), "has 8 elements at batch 2, 'x' has 6"), "size mismatch: %s", nn_last_error());
  CHECK(!nn_backward_from_grad(G, fake, G, fake) && strstr(nn_last_error(), "same model"), "same model: %s", nn_last_error());
  CHECK(!nn_feed_from(D, lab, G, z) && strstr(nn_last_error(), "elements"), "label vs z: %s", nn_last_error());
  CHECK(!nn_feed_from(D, x, G, x) && strstr(nn_last_error(), "another graph"), "a node of another graph: %s", nn_last_error());
  CHECK(!nn_backward_from_grad(G, fake, D, lab) && strstr(nn_last_error(), "elements"), "a gradient of the wrong size: %s", nn_last_error());
  nn_optimizer_free(og);
  nn_model_free(G);
  nn_model_free(D);
  nn_model_free(S);
}

int main(void) {
  nn_rng_seed(&trng, 2026);
  test_address_space();
  test_op_table();
  test_gemm();
  test_conv_reference();
  test_convt_reference();
  test_threads();
  test_team_invariance();
  test_op_values();
  test_fast_math();
  test_batchnorm_running();
  test_gradients();
  test_optimizers();
  test_l1();
  test_snapshot();
  test_grad_ready();
  test_batchnorm_sync();
  test_two_models();
  test_training_utilities();
  test_schedules();
  test_xor();
  test_linreg();
  test_build_errors();
  test_bad_settings();
  test_seeds();
  test_dirac();
  test_idx();
  test_cifar10_reader();
  test_augmentation();
  test_tta();
  test_metrics();
  test_summary();
  test_recurrent_reference();
  test_padding_invariance();
  test_sequence_errors();
  test_tokenizer();
  test_vocab();
  test_aclimdb();
  test_bucketing();
  return check_summary();
}
