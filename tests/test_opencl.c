/* Tests for nn_opencl.h: every device op forward and backward against the
   CPU backend on random inputs with odd shapes (the cases of
   tests/op_cases.h), optimizer updates, a few training steps of a small
   CNN, the host<->device transfer bound, synchronised batch norm,
   gradients through the host in buckets, the disk cache, the embedded
   kernel sources, the error paths, and checkpoints written from and
   resumed on the device.

   Tolerance, for every value and gradient compared:
       |opencl - cpu| <= 1e-4 * |cpu| + 1e-5 * (1 + max |cpu| of the tensor)
   (the device sums in a different order than the CPU, in float).

   Build: cc -O2 -I. tests/test_opencl.c -lOpenCL -lclblast -lm
   Run from the project root; --parity runs the GEMM and op parity cases
   and synchronised batch norm alone, --parity --small with fewer GEMM
   shapes and at most 4 samples per case (make oclgrind).  Last line: "N passed, N failed".  Without an
   OpenCL platform it prints a SKIP line, unless CI=true. */
#define _POSIX_C_SOURCE 200809L
#include <dirent.h>
#include <stdlib.h>
#include <string.h>

#define NN_IMPLEMENTATION
#include "nn.h"
#define NN_OPENCL_IMPLEMENTATION
#include "nn_opencl.h"

#include "check.h"
#include "batchnorm_sync.h"
#include "op_cases.h"

#define RTOL 1e-4
#define ATOL 1e-5

static nn_rng trng;
static const char *cache_dir = "build/test_opencl_cache";

static nn_backend *cl_backend(void) {
  nn_opencl_config c;
  nn_opencl_default_config(&c);
  c.cache_dir = cache_dir;
  return nn_opencl_backend_ex(&c);
}

/* worst |a - b| / tolerance over n values; <= 1 passes */
static double mismatch(const float *dev, const float *cpu, size_t n, size_t *at) {
  double big = 0, worst = 0;
  size_t i;
  for (i = 0; i < n; i++) if (fabs(cpu[i]) > big) big = fabs(cpu[i]);
  *at = 0;
  for (i = 0; i < n; i++) {
    double e = fabs((double)dev[i] - cpu[i]) / (RTOL * fabs(cpu[i]) + ATOL * (1 + big));
    if (!(e <= worst)) { worst = e; *at = i; }
  }
  return worst;
}

/* compares the value and gradient of every node of two models of the
   same graph; returns the worst mismatch (<= 1 passes) */
static double compare_models(const char *what, nn_model *dev, nn_model *cpu) {
  double worst = 0;
  int i, grad;
  for (i = 0; i < cpu->graph->n; i++)
    for (grad = 0; grad < 2; grad++) {
      const nn_node *nd = cpu->graph->nodes[i];
      size_t n = nn_node_numel(cpu, nd), at;
      float *a, *b;
      double e;
      if (grad ? !cpu->grad[i] : !cpu->value[i]) continue;
      a = (float *)calloc(n, sizeof(float));
      b = (float *)calloc(n, sizeof(float));
      if (grad ? !nn_read_grad(dev, dev->graph->nodes[i], a) || !nn_read_grad(cpu, nd, b)
               : !nn_read(dev, dev->graph->nodes[i], a) || !nn_read(cpu, nd, b)) {
        printf("  %s: reading '%s' failed: %s\n", what, nd->name, nn_last_error());
        e = 1e9;
      } else {
        e = mismatch(a, b, n, &at);
        if (!(e <= 1)) printf("  %s: %s of '%s'[%zu]: opencl %.7g cpu %.7g\n", what, grad ? "gradient" : "value", nd->name, at, a[at], b[at]);
      }
      if (!(e <= worst)) worst = e;
      free(a);
      free(b);
    }
  return worst;
}

/* ---------------------------------------------------------------------
   Op parity: the same graph on both backends, random inputs and
   parameters, forward to `out`, backward from it with random dy.
   --------------------------------------------------------------------- */
static void randomize(const op_case *c, nn_model *m, uint64_t seed) {
  nn_rng r;
  int i;
  size_t k;
  nn_rng_seed(&r, seed);
  for (i = 0; i < m->graph->n; i++) {
    nn_node *nd = m->graph->nodes[i];
    size_t n = nn_node_numel(m, nd);
    float *v;
    if (nd->op != NN_OP_INPUT && nd->op != NN_OP_PARAM) continue;
    v = (float *)calloc(n, sizeof(float));
    if (!op_case_fill(c, m->graph, nd, &r, v, n))
      for (k = 0; k < n; k++) v[k] = strstr(nd->name, "running_var") ? 0.5f + nn_rng_uniform(&r) : 4.0f * nn_rng_uniform(&r) - 2.0f;
    nn_write(m, nd, v);
    free(v);
  }
}

/* small (make oclgrind): at most 4 samples of the case's batch.
   rec_cpu 0 or 1 runs the recurrent steps' tiled or CPU kernels whatever
   the device would choose (-1: its choice), so that every device checks
   both */
static void parity(const op_case *c, int *covered, int small, int rec_cpu) {
  char what[160];
  nn__cl_dev *dev = NULL;
  int dev_rec_cpu = 0;
  nn_graph *g[2];
  nn_model *m[2];
  nn_node *out[2];
  float *dy;
  size_t n, i;
  int k, ok = 1;
  double e;
  snprintf(what, sizeof what, "%s%s", c->what, rec_cpu < 0 ? "" : rec_cpu ? " (CPU steps)" : " (tiled steps)");
  for (k = 0; k < 2; k++) {
    g[k] = nn_graph_new();
    out[k] = c->build(g[k]);
    if (k == 0 && !op_coverage_add(covered, g[0], c->op)) CHECK(0, "%s: the graph has no %s node", what, nn_op_name(c->op));
    m[k] = nn_compile(g[k], c->batch, k == 0 ? cl_backend() : nn_cpu_backend());
    if (!m[k]) { CHECK(0, "%s: compile failed: %s", what, nn_last_error()); if (k) nn_model_free(m[0]); return; }
    nn_set_batch(m[k], small && c->used_batch > 4 ? 4 : c->used_batch);
    randomize(c, m[k], 99);
  }
  if (rec_cpu >= 0) {
    dev = ((nn__cl_impl *)m[0]->backend->impl)->dev;
    dev_rec_cpu = dev->rec_cpu;
    dev->rec_cpu = rec_cpu;
  }
  n = nn_node_numel(m[1], out[1]);
  dy = (float *)calloc(n, sizeof(float));
  for (i = 0; i < n; i++) dy[i] = out[1]->batched ? 2.0f * nn_rng_uniform(&trng) - 1.0f : 1.0f;
  for (k = 0; k < 2; k++) {
    nn_model_set_seed(m[k], 7);
    if (!nn__run_forward(m[k], out[k], c->training) || !nn_backward_from(m[k], out[k], dy)) {
      CHECK(0, "%s: %s run failed: %s", what, k ? "cpu" : "opencl", nn_last_error());
      ok = 0;
    }
  }
  if (ok) {
    e = compare_models(what, m[0], m[1]);
    CHECK(e <= 1, "%s: opencl differs from cpu (worst %.3g of tolerance)", what, e);
    printf("PASS parity %-34s worst %.3f of tolerance\n", what, e);
  }
  if (dev) dev->rec_cpu = dev_rec_cpu;
  free(dy);
  nn_model_free(m[0]);
  nn_model_free(m[1]);
}

/* every case of tests/op_cases.h but those that draw random numbers; an
   op of the registry without a parity case fails here */
static void test_parity(int small) {
  int covered[NN_OP_COUNT] = {0}, i;
  for (i = 0; i < OP_CASE_COUNT; i++) {
    nn_op op = op_cases[i].op;
    if (op_cases[i].flags & OP_CASE_RANDOM) continue;
    if (op == NN_OP_RNN || op == NN_OP_LSTM || op == NN_OP_GRU) {
      parity(&op_cases[i], covered, small, 0);
      parity(&op_cases[i], covered, small, 1);
    } else
      parity(&op_cases[i], covered, small, -1);
  }
  for (i = 0; i < NN_OP_COUNT; i++) CHECK(covered[i], "op %s has no device parity case: add a case to tests/op_cases.h", nn_op_name((nn_op)i));
  op_coverage_write(covered, "build/op_coverage_device.txt");
}

/* nn_gemm (the products too small for CLBlast) and the CLBlast path
   against a double-precision loop: every transpose, sizes around the
   64 x 64 tile and its 16-step along K, offsets, leading dimensions
   wider than the rows, alpha, and beta 0 (C not read: it holds NaN) or 1
   (without CLBlast under Oclgrind: its kernels are not this project's).
   The fourth number: nn_gemm's slices of K (0: as nn__cl_gemm_slices
   chooses, which splits the 64 x 64 x 4096 product: one tile, long K),
   the last slice shorter than the others where K allows. */
static void test_gemm(int with_clblast, int small) {
  static const int sizes[][4] = {{1, 1, 1, 0}, {63, 65, 17, 0}, {64, 64, 16, 0}, {130, 7, 33, 0}, {5, 129, 64, 0},
                                 {70, 5, 600, 3}, {3, 130, 97, 2}, {64, 64, 4096, 0}};
  /* under a simulator: past one tile along each dimension, all the same */
  static const int small_sizes[][4] = {{1, 1, 1, 0}, {65, 3, 18, 0}, {3, 66, 17, 0}, {5, 6, 50, 3}};
  const int(*shapes)[4] = small ? small_sizes : sizes;
  size_t count = small ? sizeof small_sizes / sizeof small_sizes[0] : sizeof sizes / sizeof sizes[0];
  nn_backend *b = cl_backend();
  nn__cl_impl *I;
  size_t si;
  int worst_case = 0, cases = 0;
  double worst = 0;
  if (!b) { CHECK(0, "gemm: backend: %s", nn_last_error()); return; }
  I = (nn__cl_impl *)b->impl;
  for (si = 0; si < count; si++) {
    int M = shapes[si][0], N = shapes[si][1], K = shapes[si][2], way;
    size_t slices = shapes[si][3] ? (size_t)shapes[si][3] : nn__cl_gemm_slices(I->dev, (size_t)M, (size_t)N, (size_t)K);
    if (K == 4096) CHECK(slices > 1, "gemm: %dx%dx%d is not split along K", M, N, K);
    for (way = 0; way < 16; way++) {
      int ta = way & 1, tb = (way >> 1) & 1, own = !with_clblast || (way >> 2) & 1, accumulate = way >> 3, i, j, k;
      if (!with_clblast && (way >> 2) & 1) continue;   /* the same nn_gemm case again */
      size_t lda = (ta ? M : K) + 3, ldb = (tb ? K : N) + 2, ldc = N + 1, ao = 5, bo = 7, co = 3;
      size_t na = ao + (size_t)(ta ? K : M) * lda, nb = bo + (size_t)(tb ? N : K) * ldb, nc = co + (size_t)M * ldc;
      float *a = (float *)malloc(na * sizeof(float)), *bm = (float *)malloc(nb * sizeof(float));
      float *c = (float *)malloc(nc * sizeof(float)), *ref = (float *)malloc(nc * sizeof(float));
      void *da = b->ops->alloc(b, na), *db = b->ops->alloc(b, nb), *dc = b->ops->alloc(b, nc);
      size_t at;
      double e;
      for (at = 0; at < na; at++) a[at] = 2.0f * nn_rng_uniform(&trng) - 1.0f;
      for (at = 0; at < nb; at++) bm[at] = 2.0f * nn_rng_uniform(&trng) - 1.0f;
      for (at = 0; at < nc; at++) c[at] = accumulate ? 2.0f * nn_rng_uniform(&trng) - 1.0f : NAN;
      for (at = 0; at < nc; at++) ref[at] = c[at];
      for (i = 0; i < M; i++)
        for (j = 0; j < N; j++) {
          double sum = 0;
          for (k = 0; k < K; k++) sum += (double)a[ao + (ta ? k * lda + i : i * lda + k)] * bm[bo + (tb ? j * ldb + k : k * ldb + j)];
          ref[co + i * ldc + j] = (float)(0.5 * sum + (accumulate ? c[co + i * ldc + j] : 0.0));
        }
      b->ops->write(b, da, 0, a, na);
      b->ops->write(b, db, 0, bm, nb);
      b->ops->write(b, dc, 0, c, nc);
      CHECK((own ? nn__cl_gemm_split(I, slices, ta, tb, M, N, K, 0.5f, NN__CL_MEM(da), ao, lda, NN__CL_MEM(db), bo, ldb,
                                     accumulate ? 1.0f : 0.0f, NN__CL_MEM(dc), co, ldc)
                 : nn__cl_gemm_clblast(I, ta, tb, M, N, K, 0.5f, NN__CL_MEM(da), ao, lda, NN__CL_MEM(db), bo, ldb,
                                       accumulate ? 1.0f : 0.0f, NN__CL_MEM(dc), co, ldc)) &&
            b->ops->read(b, dc, 0, c, nc), "gemm: %s", nn_last_error());
      for (at = 0; at < nc; at++)   /* padding around C (NaN with beta 0) is left as it was */
        if (isnan(c[at]) && isnan(ref[at])) c[at] = ref[at] = 0.0f;
      e = mismatch(c, ref, nc, &at);
      CHECK(e <= 1, "gemm %s %dx%dx%d (%zu slices) ta %d tb %d beta %d: [%zu] %g, expected %g", own ? "nn_gemm" : "CLBlast", M, N,
            K, own ? slices : 1, ta, tb, accumulate, at, c[at], ref[at]);
      if (!(e <= worst)) { worst = e; worst_case = cases; }
      cases++;
      b->ops->release(b, da); b->ops->release(b, db); b->ops->release(b, dc);
      free(a); free(bm); free(c); free(ref);
    }
  }
  printf("PASS gemm: %s in %d cases (every transpose, offsets, beta 0 and 1, split along K), worst %.3f of tolerance (case %d)\n",
         with_clblast ? "nn_gemm and CLBlast" : "nn_gemm", cases, worst, worst_case);
  nn_backend_free(b);
}

/* Dropout with p > 0 draws its mask on the device: check the share of
   dropped elements, the kept scale, and that backward uses the same mask. */
static void test_dropout_mask(void) {
  const int N = 1000, B = 4;
  const float p = 0.3f;
  nn_graph *g = nn_graph_new();
  nn_node *x = oc_in(g, "x", 1, N, 0, 0), *y = nn_dropout(g, x, p);
  nn_model *m = nn_compile(g, B, cl_backend());
  float *xv, *yv, *y2, *dy, *dx;
  int i, dropped = 0, bad_scale = 0, bad_grad = 0, same = 0;
  if (!m) { CHECK(0, "dropout: compile: %s", nn_last_error()); return; }
  xv = (float *)malloc(sizeof(float) * N * B); yv = (float *)malloc(sizeof(float) * N * B);
  y2 = (float *)malloc(sizeof(float) * N * B); dy = (float *)malloc(sizeof(float) * N * B);
  dx = (float *)malloc(sizeof(float) * N * B);
  for (i = 0; i < N * B; i++) { xv[i] = 1.0f + nn_rng_uniform(&trng); dy[i] = 2.0f * nn_rng_uniform(&trng) - 1.0f; }
  nn_write(m, x, xv);
  CHECK(nn__run_forward(m, y, 1) && nn_read(m, y, yv) && nn_backward_from(m, y, dy) && nn_read_grad(m, x, dx),
        "dropout: run failed: %s", nn_last_error());
  for (i = 0; i < N * B; i++) {
    if (yv[i] == 0) { dropped++; if (dx[i] != 0) bad_grad++; continue; }
    if (fabsf(yv[i] - xv[i] / (1 - p)) > 1e-6f * yv[i]) bad_scale++;
    if (fabsf(dx[i] - dy[i] / (1 - p)) > 1e-6f * fabsf(dx[i]) + 1e-7f) bad_grad++;
  }
  /* 4000 draws: the share dropped is within 5 standard deviations of p */
  CHECK(fabs((double)dropped / (N * B) - p) < 5 * sqrt(p * (1 - p) / (N * B)), "dropout: %d of %d dropped, p = %g", dropped, N * B, p);
  CHECK(bad_scale == 0, "dropout: %d kept values are not x / (1 - p)", bad_scale);
  CHECK(bad_grad == 0, "dropout: %d gradients disagree with the forward mask", bad_grad);
  CHECK(nn__run_forward(m, y, 1) && nn_read(m, y, y2), "dropout: second step: %s", nn_last_error());
  for (i = 0; i < N * B; i++) same += (yv[i] == 0) == (y2[i] == 0);
  CHECK(same < N * B * 0.7, "dropout: the next step draws a new mask (%d of %d positions agree)", same, N * B);
  CHECK(nn__run_forward(m, y, 0) && nn_read(m, y, y2) && !memcmp(y2, xv, sizeof(float) * N * B), "dropout: eval mode passes x through");
  printf("PASS dropout p=%.1f: %.4f dropped of %d\n", p, (double)dropped / (N * B), N * B);
  free(xv); free(yv); free(y2); free(dy); free(dx);
  nn_model_free(m);
}

/* ---------------------------------------------------------------------
   Optimizers and training: the same steps on both backends
   --------------------------------------------------------------------- */
typedef struct opt_case { const char *name; nn_opt_kind kind; float mom, wd; int flags; float clip, l1; } opt_case;

static nn_optimizer *make_opt(nn_model *m, const opt_case *c) {
  nn_optimizer *o = NULL;
  switch (c->kind) {
  case NN_OPT_SGD: o = nn_sgd(m, 0.05f, c->mom, c->wd, c->flags); break;
  case NN_OPT_ADAM: o = nn_adam(m, 0.01f, 0.9f, 0.99f, 1e-6f, c->wd, c->flags); break;
  case NN_OPT_RMSPROP: o = nn_rmsprop(m, 0.01f, c->mom, 0.9f, 1e-6f, c->wd, c->flags); break;
  }
  if (o && c->clip > 0) nn_optimizer_set_clip(o, c->clip);
  if (o && c->l1 > 0) nn_optimizer_set_l1(o, c->l1);
  return o;
}

static nn_graph *mlp_graph(void) {
  nn_graph *g = nn_graph_new();
  int four = 4, three = 3;
  nn_node *x = nn_input(g, "x", 1, &four), *t = nn_input(g, "target", 1, &three);
  nn_mse(g, nn_dense(g, nn_tanh(g, nn_dense(g, x, 5)), 3), t, NN_MEAN);
  return g;
}

/* a snapshot on the device gives back, exactly, the weights it took */
static void test_snapshot(void) {
  nn_model *m = nn_compile(mlp_graph(), 6, cl_backend());
  nn_optimizer *o = m ? nn_adam(m, 0.01f, 0.9f, 0.999f, 1e-8f, 0, 0) : NULL;
  nn_snapshot *s = m ? nn_snapshot_new(m) : NULL;
  nn_node *w = m ? nn_model_find(m, "dense0.weight") : NULL;
  float x[6 * 4], t[6 * 3], taken[20], moved[20], back[20];
  int i, step;
  if (!o || !s || !w) { CHECK(0, "snapshot setup: %s", nn_last_error()); return; }
  for (i = 0; i < 24; i++) x[i] = 2.0f * nn_rng_uniform(&trng) - 1.0f;
  for (i = 0; i < 18; i++) t[i] = nn_rng_uniform(&trng);
  nn_feed(m, "x", x);
  nn_feed(m, "target", t);
  nn_read(m, w, taken);
  for (step = 0; step < 3; step++) nn_train_step(m, o);
  nn_read(m, w, moved);
  CHECK(memcmp(taken, moved, sizeof taken) != 0 && nn_snapshot_restore(s) && nn_read(m, w, back) &&
        !memcmp(taken, back, sizeof taken), "snapshot: restored on the device exactly: %s", nn_last_error());
  nn_snapshot_free(s);
  nn_optimizer_free(o);
  nn_model_free(m);
}

static void test_optimizers(void) {
  static const opt_case cases[] = {
    {"sgd", NN_OPT_SGD, 0, 0, 0, 0, 0},
    {"sgd momentum nesterov L2", NN_OPT_SGD, 0.9f, 0.01f, NN_NESTEROV, 0, 0},
    {"sgd momentum decoupled wd clip", NN_OPT_SGD, 0.8f, 0.05f, NN_DECOUPLED_WD, 0.05f, 0},
    {"adam", NN_OPT_ADAM, 0, 0.01f, 0, 0, 0},
    {"adamw", NN_OPT_ADAM, 0, 0.1f, NN_DECOUPLED_WD, 0, 0},
    {"rmsprop", NN_OPT_RMSPROP, 0, 0, 0, 0, 0},
    {"rmsprop momentum clip", NN_OPT_RMSPROP, 0.9f, 0.01f, 0, 0.1f, 0},
    {"sgd momentum L1", NN_OPT_SGD, 0.9f, 0, 0, 0, 0.02f},
    {"adamw L1", NN_OPT_ADAM, 0, 0.1f, NN_DECOUPLED_WD, 0, 0.01f},
    {"rmsprop momentum L1 L2 clip", NN_OPT_RMSPROP, 0.9f, 0.01f, 0, 0.1f, 0.01f},
  };
  size_t ci;
  for (ci = 0; ci < sizeof cases / sizeof cases[0]; ci++) {
    nn_model *m[2];
    nn_optimizer *o[2];
    nn_ema *ema[2];
    float x[6 * 4], t[6 * 3], loss[2] = {0, 0};
    int k, step, i;
    double e, norm[2];
    for (k = 0; k < 2; k++) {
      m[k] = nn_compile(mlp_graph(), 6, k == 0 ? cl_backend() : nn_cpu_backend());
      o[k] = m[k] ? make_opt(m[k], &cases[ci]) : NULL;
      ema[k] = m[k] ? nn_ema_new(m[k], 0.8f) : NULL;
    }
    if (!o[0] || !o[1] || !ema[0] || !ema[1]) { CHECK(0, "%s: setup failed: %s", cases[ci].name, nn_last_error()); return; }
    for (step = 0; step < 4; step++) {
      for (i = 0; i < 24; i++) x[i] = 2.0f * nn_rng_uniform(&trng) - 1.0f;
      for (i = 0; i < 18; i++) t[i] = nn_rng_uniform(&trng);
      for (k = 0; k < 2; k++) {
        nn_feed(m[k], "x", x);
        nn_feed(m[k], "target", t);
        loss[k] = nn_train_step(m[k], o[k]);
        nn_ema_update(ema[k]);
      }
      CHECK(fabs(loss[0] - loss[1]) <= RTOL * fabs(loss[1]) + ATOL, "%s step %d: loss %.7g vs %.7g", cases[ci].name, step, loss[0], loss[1]);
    }
    /* gradient norm and clipping through sumsq and scale */
    for (k = 0; k < 2; k++) norm[k] = nn_clip_grad_norm(m[k], 0.01f);
    CHECK(fabs(norm[0] - norm[1]) <= RTOL * norm[1] + ATOL, "%s: gradient norm %.7g vs %.7g", cases[ci].name, norm[0], norm[1]);
    e = compare_models(cases[ci].name, m[0], m[1]);
    CHECK(e <= 1, "%s: weights after 4 steps differ (worst %.3g of tolerance)", cases[ci].name, e);
    for (k = 0; k < 2; k++) nn_ema_copy_to_model(ema[k]);
    e = compare_models(cases[ci].name, m[0], m[1]);
    CHECK(e <= 1, "%s: weight averages differ (worst %.3g of tolerance)", cases[ci].name, e);
    printf("PASS optimizer %-32s final loss %.6f (cpu %.6f)\n", cases[ci].name, loss[0], loss[1]);
    for (k = 0; k < 2; k++) { nn_ema_free(ema[k]); nn_optimizer_free(o[k]); nn_model_free(m[k]); }
  }
}

/* One training step on both backends from the same weights: the loss,
   every value and every gradient compared before the optimizer (Adam
   turns the rounding of a near-zero gradient into a step of the full
   rate, so weights compared after it would pass or fail by luck); then
   the device's weights go to the CPU model, and the next step starts
   from the same point again.  The optimizers are compared on their own
   in test_optimizers.  Returns the worst mismatch (<= 1 passes). */
static double step_parity(const char *what, nn_model *m[2], nn_optimizer *o[2], float loss[2]) {
  double e;
  int k, i;
  for (k = 0; k < 2; k++)
    if (!nn_forward(m[k], 1) || !nn_backward(m[k]) || !nn_read(m[k], m[k]->loss, &loss[k])) {
      printf("  %s: %s step failed: %s\n", what, k ? "cpu" : "opencl", nn_last_error());
      return 1e9;
    }
  e = compare_models(what, m[0], m[1]);
  for (k = 0; k < 2; k++)
    if (!nn_optimizer_step(o[k])) { printf("  %s: optimizer: %s\n", what, nn_last_error()); return 1e9; }
  for (i = 0; i < m[0]->graph->n; i++) {
    nn_node *p = m[0]->graph->nodes[i];
    float *v;
    if (p->op != NN_OP_PARAM) continue;
    v = (float *)malloc(nn_node_numel(m[0], p) * sizeof(float));
    if (!nn_read(m[0], p, v) || !nn_write(m[1], m[1]->graph->nodes[i], v)) e = 1e9;
    free(v);
  }
  return e;
}

static nn_graph *cnn_graph(void) {
  nn_graph *g = nn_graph_new();
  int img[3] = {1, 9, 9}, one = 1;
  nn_node *x = nn_input(g, "image", 3, img), *y = nn_input(g, "label", 1, &one);
  nn_node *h = nn_relu(g, nn_batchnorm(g, nn_conv2d(g, x, 4, 3, 1, 1)));
  h = nn_maxpool2d(g, h, 2, 2);
  h = nn_dropout(g, nn_gelu(g, nn_conv2d(g, h, 6, 3, 1, 1)), 0.0f);
  nn_cross_entropy(g, nn_dense(g, nn_flatten(g, h), 10), y, 0.1f, NN_MEAN);
  return g;
}

static void cnn_batch(float *x, float *y, int B) {
  int i;
  for (i = 0; i < B * 81; i++) x[i] = nn_rng_uniform(&trng);
  for (i = 0; i < B; i++) y[i] = (float)nn_rng_int(&trng, 10);
}

static void test_cnn_training(void) {
  enum { B = 8, STEPS = 4 };
  nn_model *m[2];
  nn_optimizer *o[2];
  float x[B * 81], y[B], loss[2];
  nn_opencl_info info;
  int k, step, params = 0;
  double e;
  size_t want;
  for (k = 0; k < 2; k++) {
    m[k] = nn_compile(cnn_graph(), B, k == 0 ? cl_backend() : nn_cpu_backend());
    o[k] = m[k] ? nn_sgd(m[k], 0.05f, 0.9f, 5e-4f, NN_NESTEROV) : NULL;
  }
  if (!o[0] || !o[1]) { CHECK(0, "cnn: setup failed: %s", nn_last_error()); return; }
  for (step = 0; step < STEPS; step++) {
    cnn_batch(x, y, B);
    for (k = 0; k < 2; k++) {
      nn_feed(m[k], "image", x);
      nn_feed(m[k], "label", y);
    }
    e = step_parity("cnn", m, o, loss);
    CHECK(e <= 1, "cnn step %d: values or gradients differ (worst %.3g of tolerance)", step, e);
    printf("PASS cnn step %d: loss opencl %.6f cpu %.6f, values and gradients worst %.3f of tolerance\n", step, loss[0], loss[1], e);
  }

  /* one more step moves only the batch, the labels and a few scalars */
  cnn_batch(x, y, B);
  nn_opencl_reset_counters(m[0]->backend);
  nn_feed(m[0], "image", x);
  nn_feed(m[0], "label", y);
  loss[0] = nn_train_step(m[0], o[0]);
  nn_opencl_get_info(m[0]->backend, &info);
  want = sizeof x + sizeof y + sizeof(float);   /* + the loss gradient seed */
  CHECK(isfinite(loss[0]) && info.bytes_to_device == want,
        "cnn step: %zu bytes to the device, expected %zu (batch %zu + labels %zu + one float)", info.bytes_to_device, want,
        sizeof x, sizeof y);
  /* back: the loss, and the sum of squares of every trainable gradient
     (the optimizer checks the gradient norm each step) in one wait; the
     labels are checked on the host; no kernel object is made */
  for (k = 0; k < m[0]->graph->n; k++) params += m[0]->graph->nodes[k]->op == NN_OP_PARAM && m[0]->graph->nodes[k]->trainable;
  want = (1 + (size_t)params) * sizeof(float);
  CHECK(info.bytes_to_host == want, "cnn step: %zu bytes to the host, expected %zu (the loss, %d norms)", info.bytes_to_host,
        want, params);
  CHECK(info.blocking == 1, "cnn step: %ld waits for the queue, expected 1 (the loss and the norms together)", info.blocking);
  CHECK(info.kernel_creations == 0, "cnn step: %ld kernel objects created, expected none", info.kernel_creations);
  printf("PASS transfer bound: one CNN step moved %zu bytes to the device (batch %zu + labels %zu + 4) and %zu back"
         " (loss 4 + %d norms 4) in %ld blocking reads, %ld launches, %ld kernels created\n", info.bytes_to_device, sizeof x,
         sizeof y, info.bytes_to_host, params, info.blocking, info.launches, info.kernel_creations);

  /* checking only the loss leaves out the norms */
  nn_optimizer_set_nonfinite(o[0], NN_NONFINITE_STOP | NN_NONFINITE_LOSS_ONLY);
  nn_opencl_reset_counters(m[0]->backend);
  nn_feed(m[0], "image", x);
  nn_feed(m[0], "label", y);
  loss[0] = nn_train_step(m[0], o[0]);
  nn_opencl_get_info(m[0]->backend, &info);
  want = sizeof(float);
  CHECK(isfinite(loss[0]) && info.bytes_to_host == want && info.blocking == 1,
        "cnn step, NN_NONFINITE_LOSS_ONLY: %zu bytes to the host in %ld reads, expected %zu in 1", info.bytes_to_host, info.blocking,
        want);
  printf("PASS transfer bound, NN_NONFINITE_LOSS_ONLY: %zu bytes back (the loss) in one read\n", info.bytes_to_host);
  nn_optimizer_set_nonfinite(o[0], NN_NONFINITE_STOP);

  /* a bad label is found on the host's copy and named like the CPU does */
  y[3] = 10;
  nn_feed(m[0], "label", y);
  loss[0] = nn_train_step(m[0], o[0]);
  CHECK(isnan(loss[0]) && strstr(nn_last_error(), "label 10 of sample 3 is not a class in 0..9"),
        "bad label: loss %g, error '%s'", loss[0], nn_last_error());
  y[3] = 2;
  nn_feed(m[0], "label", y);
  loss[0] = nn_train_step(m[0], o[0]);
  CHECK(isfinite(loss[0]), "after a bad label, good labels train again: %s", nn_last_error());
  for (k = 0; k < 2; k++) { nn_optimizer_free(o[k]); nn_model_free(m[k]); }
}

/* Synchronised batch norm on the device, tests/test_nn.c's case with the
   same partner (tests/batchnorm_sync.h): the half batch synchronised
   with its mirror equals the joint batch on the CPU; it equals the half
   on the CPU with that partner in every value and gradient (running
   statistics, scale and shift included); the hook sees the CPU backend's
   calls, each behind one small read.  Channels of H x W = 24 x 24 and 4
   samples split into several work-groups' partials. */
static void bn_sync_case(int C, int H, int W, int b) {
  int dims[3], per = C * H * W, i;
  nn_graph *g1 = nn_graph_new(), *g2 = nn_graph_new();
  nn_node *x1, *x2, *y1, *y2;
  nn_model *half, *cpu_half, *joint;
  float *x = (float *)malloc(2 * (size_t)b * per * sizeof(float)), *r = (float *)malloc(2 * (size_t)b * per * sizeof(float));
  float *yh = (float *)malloc((size_t)b * per * sizeof(float)), *yj = (float *)malloc(2 * (size_t)b * per * sizeof(float));
  float *dh = (float *)malloc((size_t)b * per * sizeof(float)), *dj = (float *)malloc(2 * (size_t)b * per * sizeof(float));
  mirror_sync ms, cpu_ms;
  nn_opencl_info info;
  size_t at;
  double e;
  dims[0] = C; dims[1] = H; dims[2] = W;
  x1 = nn_input(g1, "x", 3, dims); x2 = nn_input(g2, "x", 3, dims);
  y1 = nn_batchnorm(g1, x1); y2 = nn_batchnorm(g2, x2);
  nn_set_requires_grad(x1);
  nn_set_requires_grad(x2);
  half = nn_compile(g1, b, cl_backend());
  cpu_half = nn_compile(g1, b, nn_cpu_backend());
  joint = nn_compile(g2, 2 * b, nn_cpu_backend());
  memset(&ms, 0, sizeof ms);
  ms.C = C;
  cpu_ms = ms;
  if (!x || !r || !yh || !yj || !dh || !dj || !half || !cpu_half || !joint) {
    CHECK(0, "batch norm sync [%d, %d, %d]: setup failed: %s", C, H, W, nn_last_error());
  } else {
    for (i = 0; i < b * per; i++) {
      x[i] = 2.0f * (float)nn_rng_normal(&trng) + 0.5f + (float)(i / (H * W) % C);
      x[b * per + i] = -x[i];
      r[i] = r[b * per + i] = (float)nn_rng_normal(&trng);
    }
    CHECK(nn_model_set_batchnorm_sync(half, mirror_partner, &ms) && nn_model_set_batchnorm_sync(cpu_half, mirror_partner, &cpu_ms),
          "set_batchnorm_sync on OpenCL: %s", nn_last_error());
    nn_feed(half, "x", x);
    nn_feed(cpu_half, "x", x);
    nn_feed(joint, "x", x);
    nn_opencl_reset_counters(half->backend);
    CHECK(nn__run_forward(half, y1, 1) && nn_backward_from(half, y1, r), "synchronised passes on OpenCL: %s", nn_last_error());
    nn_opencl_get_info(half->backend, &info);
    CHECK(nn__run_forward(cpu_half, y1, 1) && nn_backward_from(cpu_half, y1, r) && nn__run_forward(joint, y2, 1) &&
          nn_backward_from(joint, y2, r), "the CPU's passes: %s", nn_last_error());
    nn_read(half, y1, yh); nn_read(joint, y2, yj);
    nn_read_grad(half, x1, dh); nn_read_grad(joint, x2, dj);
    e = mismatch(yh, yj, (size_t)b * per, &at);
    CHECK(e <= 1, "[%d, %d, %d]: the synchronised half's output differs from the joint batch's at %zu: %g vs %g", C, H, W, at,
          yh[at], yj[at]);
    e = fmax(e, mismatch(dh, dj, (size_t)b * per, &at));
    CHECK(e <= 1, "[%d, %d, %d]: the synchronised half's input gradient differs from the joint batch's at %zu: %g vs %g", C, H,
          W, at, dh[at], dj[at]);
    CHECK(ms.calls == 3 && ms.sizes[0] == C + 1 && ms.sizes[1] == C && ms.sizes[2] == 2 * C + 1,
          "the hook sees the CPU backend's calls: %d calls of %d, %d, %d sums", ms.calls, ms.sizes[0], ms.sizes[1], ms.sizes[2]);
    /* forward: the statistics read and the joint ones written; backward:
       the gradient sums read and written, and the seed r written */
    CHECK(info.reads == 2 && info.writes == 3 && info.kernel_creations == 0,
          "[%d, %d, %d]: synchronised passes made %ld reads and %ld writes, expected 2 and 3; %ld kernels created", C, H, W,
          info.reads, info.writes, info.kernel_creations);
    e = fmax(e, compare_models("batch norm sync", half, cpu_half));
    CHECK(e <= 1, "[%d, %d, %d]: synchronised on OpenCL differs from synchronised on the CPU", C, H, W);
    if (e <= 1)
      printf("PASS batch norm sync [%d, %d, %d] x %d: the joint batch of %d within %.3f of tolerance in %ld reads, %ld writes\n",
             C, H, W, b, 2 * b, e, info.reads, info.writes);
    ms.fail = 1;
    CHECK(!nn__run_forward(half, y1, 1) && strstr(nn_last_error(), "rank 1 is gone") && strstr(nn_last_error(), "batchnorm"),
          "a failing hook fails the pass: %s", nn_last_error());
    ms.calls = 0;
    CHECK(nn__run_forward(half, y1, 0) && ms.calls == 0, "evaluation uses the running statistics, no hook");
    CHECK(nn_model_set_batchnorm_sync(half, NULL, NULL) && nn__run_forward(half, y1, 1) && ms.calls == 0, "the hook removed");
  }
  free(x); free(r); free(yh); free(yj); free(dh); free(dj);
  nn_model_free(half);
  nn_model_free(cpu_half);
  nn_model_free(joint);
}
static void test_batchnorm_sync(void) {
  bn_sync_case(3, 2, 2, 4);
  bn_sync_case(2, 24, 24, 4);
}

/* Gradients through the host in buckets (nn_model_read_grads and
   nn_model_write_grads, what nn_mpi.h stages): one blocking read and one
   write per bucket whatever its parameter count, the per-parameter
   values, device-side copies only (no kernel object made). */
static void test_grad_buckets(void) {
  enum { B = 8 };
  nn_model *m = nn_compile(cnn_graph(), B, cl_backend());
  const nn_node *params[32];
  float x[B * 81], y[B], *each, *bucket, *back;
  size_t total = 0, split = 0;
  nn_opencl_info info;
  int i, k, count = 0, half, same = 1;
  if (!m) { CHECK(0, "grad buckets: setup failed: %s", nn_last_error()); return; }
  for (i = 0; i < m->graph->n; i++)
    if (m->graph->nodes[i]->op == NN_OP_PARAM && m->grad[i] && count < 32) {
      params[count++] = m->graph->nodes[i];
      total += nn_node_numel(m, m->graph->nodes[i]);
    }
  half = count / 2;
  for (k = 0; k < half; k++) split += nn_node_numel(m, params[k]);
  each = (float *)malloc(total * sizeof(float));
  bucket = (float *)malloc(total * sizeof(float));
  back = (float *)malloc(total * sizeof(float));
  cnn_batch(x, y, B);
  nn_feed(m, "image", x);
  nn_feed(m, "label", y);
  CHECK(each && bucket && back && nn_forward(m, 1) && nn_backward(m), "grad buckets: forward and backward: %s", nn_last_error());
  if (!each || !bucket || !back) { free(each); free(bucket); free(back); nn_model_free(m); return; }
  for (k = 0, i = 0; k < count; i += (int)nn_node_numel(m, params[k]), k++) nn_read_grad(m, params[k], each + i);
  /* two buckets: one read each */
  nn_opencl_reset_counters(m->backend);
  CHECK(nn_model_read_grads(m, params, half, bucket, split) &&
        nn_model_read_grads(m, params + half, count - half, bucket + split, total - split), "read_grads: %s", nn_last_error());
  nn_opencl_get_info(m->backend, &info);
  for (i = 0; i < (int)total; i++) same &= bucket[i] == each[i];
  CHECK(same, "the buckets' %d gradients (%zu floats) equal the per-parameter reads", count, total);
  CHECK(info.reads == 2 && info.blocking == 2 && info.bytes_to_host == total * sizeof(float) && info.kernel_creations == 0,
        "two buckets of %d and %d gradients: %ld reads (%ld blocking), %zu bytes, %ld kernels created; expected 2, %zu, 0",
        half, count - half, info.reads, info.blocking, info.bytes_to_host, info.kernel_creations, total * sizeof(float));
  printf("PASS two buckets of %d and %d gradients to the host: %ld blocking reads of %zu bytes, %ld copies on the device\n",
         half, count - half, info.blocking, info.bytes_to_host, info.launches);
  /* and back, changed: one write each */
  for (i = 0; i < (int)total; i++) bucket[i] = 0.5f * each[i] - (float)i;
  nn_opencl_reset_counters(m->backend);
  CHECK(nn_model_write_grads(m, params, half, bucket, split) &&
        nn_model_write_grads(m, params + half, count - half, bucket + split, total - split), "write_grads: %s", nn_last_error());
  nn_opencl_get_info(m->backend, &info);
  CHECK(info.writes == 2 && info.reads == 0 && info.bytes_to_device == total * sizeof(float) && info.kernel_creations == 0,
        "two buckets back: %ld writes, %ld reads, %zu bytes, %ld kernels created; expected 2, 0, %zu, 0", info.writes, info.reads,
        info.bytes_to_device, info.kernel_creations, total * sizeof(float));
  for (k = 0, i = 0; k < count; i += (int)nn_node_numel(m, params[k]), k++) nn_read_grad(m, params[k], back + i);
  for (i = 0, same = 1; i < (int)total; i++) same &= back[i] == bucket[i];
  CHECK(same, "every parameter's gradient is its part of the written buckets");
  /* one parameter goes directly (no copy); all of them in one read */
  nn_opencl_reset_counters(m->backend);
  CHECK(nn_model_read_grads(m, params + 1, 1, back, total) && nn_model_read_grads(m, params, count, back, total), "%s",
        nn_last_error());
  nn_opencl_get_info(m->backend, &info);
  CHECK(info.reads == 2 && info.launches == count && back[0] == bucket[0], "one parameter and then all: %ld reads, %ld copies",
        info.reads, info.launches);
  CHECK(!nn_model_read_grads(m, params, count, back, total - 1) && strstr(nn_last_error(), "more than the host array's"),
        "a host array too small: %s", nn_last_error());
  free(each); free(bucket); free(back);
  nn_model_free(m);
}

/* A small text model: embedding, bidirectional GRU, max and mean pooling
   over the valid steps, a dense head; Adam with gradient clipping. */
enum { GRU_T = 12, GRU_V = 50, GRU_B = 6 };
static nn_graph *gru_graph(void) {
  nn_graph *g = nn_graph_new();
  int T = GRU_T, one = 1;
  nn_node *ids = nn_input(g, "ids", 1, &T), *len = nn_input(g, "len", 1, &one), *y = nn_input(g, "label", 1, &one), *pool[2];
  nn_node *h = nn_gru(g, nn_dropout(g, nn_embedding(g, ids, GRU_V, 8), 0.0f), len, 6, 1, NN_BIDIRECTIONAL);
  pool[0] = nn_seq_maxpool(g, h, len);
  pool[1] = nn_seq_meanpool(g, h, len);
  nn_cross_entropy(g, nn_dense(g, nn_concat(g, 2, pool), 2), y, 0.0f, NN_MEAN);
  return g;
}
static void gru_batch(float *ids, float *len, float *y) {
  int i;
  for (i = 0; i < GRU_B * GRU_T; i++) ids[i] = (float)nn_rng_int(&trng, GRU_V);
  for (i = 0; i < GRU_B; i++) { len[i] = (float)(1 + nn_rng_int(&trng, GRU_T)); y[i] = (float)nn_rng_int(&trng, 2); }
  len[0] = 0;   /* an empty review */
}
static void gru_feed(nn_model *m, const float *ids, const float *len, const float *y) {
  nn_feed(m, "ids", ids);
  nn_feed(m, "len", len);
  nn_feed(m, "label", y);
}

static void test_gru_training(void) {
  nn_model *m[2];
  nn_optimizer *o[2];
  float ids[GRU_B * GRU_T], len[GRU_B], y[GRU_B], loss[2];
  nn_opencl_info info;
  long launches[2];
  int k, step, params = 0;
  double e;
  size_t want;
  for (k = 0; k < 2; k++) {
    m[k] = nn_compile(gru_graph(), GRU_B, k == 0 ? cl_backend() : nn_cpu_backend());
    o[k] = m[k] ? nn_adam(m[k], 0.01f, 0.9f, 0.999f, 1e-8f, 0.0f, 0) : NULL;
    if (o[k]) nn_optimizer_set_clip(o[k], 0.5f);
  }
  if (!o[0] || !o[1]) { CHECK(0, "gru: setup failed: %s", nn_last_error()); return; }
  for (step = 0; step < 4; step++) {
    gru_batch(ids, len, y);
    for (k = 0; k < 2; k++) gru_feed(m[k], ids, len, y);
    e = step_parity("gru", m, o, loss);
    CHECK(e <= 1, "gru step %d: values or gradients differ (worst %.3g of tolerance)", step, e);
    printf("PASS gru step %d: loss opencl %.6f cpu %.6f, values and gradients worst %.3f of tolerance\n", step, loss[0], loss[1], e);
  }

  /* one more step: the ids, lengths and labels go in (checked on the
     host, which also finds the longest length there); the loss and one
     sum of squares per parameter for the gradient norm come back */
  for (k = 0; k < m[0]->graph->n; k++) params += m[0]->graph->nodes[k]->op == NN_OP_PARAM && m[0]->graph->nodes[k]->trainable;
  gru_batch(ids, len, y);
  nn_opencl_reset_counters(m[0]->backend);
  gru_feed(m[0], ids, len, y);
  loss[0] = nn_train_step(m[0], o[0]);
  nn_opencl_get_info(m[0]->backend, &info);
  want = sizeof ids + sizeof len + sizeof y + sizeof(float);
  CHECK(isfinite(loss[0]) && info.bytes_to_device == want, "gru step: %zu bytes to the device, expected %zu", info.bytes_to_device, want);
  want = (1 + (size_t)params) * sizeof(float);
  CHECK(info.bytes_to_host == want && info.blocking == 1, "gru step: %zu bytes to the host in %ld reads, expected %zu in 1",
        info.bytes_to_host, info.blocking, want);
  CHECK(info.kernel_creations == 0, "gru step: %ld kernel objects created, expected none", info.kernel_creations);
  printf("PASS transfer bound: one GRU step moved %zu bytes to the device (ids %zu + lengths %zu + labels %zu + 4) and %zu back"
         " (loss 4 + %d norms 4) in %ld blocking reads, %ld launches, %ld kernels created\n", info.bytes_to_device, sizeof ids,
         sizeof len, sizeof y, info.bytes_to_host, params, info.blocking, info.launches, info.kernel_creations);

  /* bad inputs: an id outside the vocabulary, a length past T */
  ids[GRU_T + 3] = GRU_V;
  gru_feed(m[0], ids, len, y);
  CHECK(isnan(nn_train_step(m[0], o[0])) && strstr(nn_last_error(), "id 50 (sample 1, position 3) is not in the vocabulary of 50"),
        "bad id: '%s'", nn_last_error());
  ids[GRU_T + 3] = 1;
  len[2] = GRU_T + 1;
  gru_feed(m[0], ids, len, y);
  CHECK(isnan(nn_train_step(m[0], o[0])) && strstr(nn_last_error(), "length 13 of sample 2 is not a whole number of steps in 0..12"),
        "bad length: '%s'", nn_last_error());
  printf("PASS bad length: %s\n", nn_last_error());
  len[2] = GRU_T;
  gru_feed(m[0], ids, len, y);
  CHECK(isfinite(nn_train_step(m[0], o[0])), "after bad ids and lengths, good ones train again: %s", nn_last_error());

  /* the recurrent layer costs one launch per time step forward and one
     backward, both directions together: 6 more steps, 12 more launches */
  for (k = 0; k < 2; k++) {
    int i, steps = k ? 9 : 3;
    for (i = 0; i < GRU_B; i++) len[i] = (float)(steps - i % 3);   /* the longest: steps */
    gru_feed(m[0], ids, len, y);
    nn_opencl_reset_counters(m[0]->backend);
    loss[k] = nn_train_step(m[0], o[0]);
    nn_opencl_get_info(m[0]->backend, &info);
    launches[k] = info.launches;
  }
  CHECK(isfinite(loss[0]) && isfinite(loss[1]) && launches[1] - launches[0] == 2 * (9 - 3),
        "gru step: %ld launches for 3 steps, %ld for 9, expected 12 more", launches[0], launches[1]);
  printf("PASS gru launches: %ld for the longest length 3, %ld for 9 (2 per time step)\n", launches[0], launches[1]);
  for (k = 0; k < 2; k++) { nn_optimizer_free(o[k]); nn_model_free(m[k]); }
}

/* ---------------------------------------------------------------------
   Start-up: the disk cache, the embedded sources
   --------------------------------------------------------------------- */
static int file_exists(const char *path) {
  FILE *f = fopen(path, "rb");
  if (f) fclose(f);
  return f != NULL;
}

static void test_disk_cache(void) {
  nn_opencl_config c;
  nn_opencl_info info[3];
  nn_backend *b;
  int i;
  nn_opencl_default_config(&c);
  c.cache_dir = cache_dir;
  c.extra_source = "/* a program of its own for this test */\n";
  for (i = 0; i < 3; i++) {
    if (!(b = nn_opencl_backend_ex(&c))) { CHECK(0, "cache: backend %d: %s", i, nn_last_error()); return; }
    nn_opencl_get_info(b, &info[i]);
    nn_backend_free(b);
    if (i == 0) remove(info[0].cache_file);
  }
  CHECK(strstr(info[0].cache_file, cache_dir) == info[0].cache_file, "cache file '%s' is not under %s", info[0].cache_file, cache_dir);
  CHECK(!info[1].kernels_from_cache && file_exists(info[1].cache_file), "cache: a build from source writes %s", info[1].cache_file);
  CHECK(info[2].kernels_from_cache, "cache: the next start loads the program from %s", info[2].cache_file);
  remove(info[2].cache_file);
  c.cache_dir = "";
  if ((b = nn_opencl_backend_ex(&c)) != NULL) {
    nn_opencl_get_info(b, &info[0]);
    CHECK(!info[0].cache_file[0] && !info[0].kernels_from_cache, "cache: an empty cache_dir turns the cache off");
    nn_backend_free(b);
  }
  printf("PASS disk cache: %s\n", info[2].cache_file);
}

/* the embedded copy in nn_opencl.h is exactly kernels/, file by file */
static void test_embedded_sources(void) {
  size_t i, nfiles = sizeof nn__cl_files / sizeof nn__cl_files[0];
  DIR *dir;
  struct dirent *ent;
  for (i = 0; i < nfiles; i++) {
    const nn__cl_file *f = &nn__cl_files[i];
    FILE *fp = fopen(f->path, "rb");
    char *disk, *embedded;
    size_t len = 0, elen = 0;
    int k;
    if (!fp) { CHECK(0, "embedded: %s is missing from the source tree", f->path); continue; }
    disk = (char *)calloc(1 << 20, 1);
    len = fread(disk, 1, (1 << 20) - 1, fp);
    fclose(fp);
    embedded = (char *)calloc(1 << 20, 1);
    for (k = f->first; k < f->first + f->count; k++) {
      size_t l = strlen(nn__cl_source[k]);
      if (elen + l < (1 << 20)) memcpy(embedded + elen, nn__cl_source[k], l);
      elen += l;
    }
    CHECK(len == elen && !memcmp(disk, embedded, len), "embedded: %s differs from its copy in nn_opencl.h; run tools/embed_kernels.sh", f->path);
    free(disk);
    free(embedded);
  }
  CHECK(nfiles > 0 && nn__cl_files[nfiles - 1].first + nn__cl_files[nfiles - 1].count ==
        (int)(sizeof nn__cl_source / sizeof nn__cl_source[0]), "embedded: the file table covers every line");
  if (!(dir = opendir("kernels"))) { CHECK(0, "embedded: cannot list kernels/ (run from the project root)"); return; }
  while ((ent = readdir(dir)) != NULL) {
    size_t l = strlen(ent->d_name);
    char path[300];
    int found = 0;
    if (l < 4 || strcmp(ent->d_name + l - 3, ".cl")) continue;
    snprintf(path, sizeof path, "kernels/%s", ent->d_name);
    for (i = 0; i < nfiles; i++) found |= !strcmp(nn__cl_files[i].path, path);
    CHECK(found, "embedded: %s is not embedded in nn_opencl.h; run tools/embed_kernels.sh", path);
  }
  closedir(dir);
  printf("PASS embedded kernel sources match kernels/ (%zu files)\n", nfiles);
}

/* ---------------------------------------------------------------------
   Errors
   --------------------------------------------------------------------- */
static void expect_fail(const char *what, nn_backend *b, const char *p1, const char *p2) {
  const char *e = nn_last_error();
  CHECK(!b && strstr(e, p1) && (!p2 || strstr(e, p2)), "%s: expected an error with '%s'%s%s, got %s: '%s'", what, p1,
        p2 ? " and " : "", p2 ? p2 : "", b ? "a backend" : "NULL", e);
  if (b) nn_backend_free(b);
  else printf("PASS %s: %s\n", what, e);
}

/* the entry points refuse NULL with a reason */
static void test_null_arguments(void) {
  nn_opencl_info info;
  nn_opencl_default_config(NULL);
  CHECK(strstr(nn_last_error(), "config is NULL") != NULL, "default_config(NULL): %s", nn_last_error());
  CHECK(!nn_opencl_backend_ex(NULL) && strstr(nn_last_error(), "config is NULL"), "backend_ex(NULL): %s", nn_last_error());
  CHECK(!nn_opencl_get_info(NULL, &info) && strstr(nn_last_error(), "not an OpenCL backend"), "get_info(NULL, ..): %s", nn_last_error());
}
static void test_errors(const char *argv0) {
  nn_opencl_config c;
  nn_opencl_info info;
  nn_backend *b;
  char cmd[600];
  nn_node fake;
  void *buf;
  expect_fail("bad device index", nn_opencl_backend(0, 99), "there is no device 99", "platform 0 (");
  expect_fail("bad platform index", nn_opencl_backend(42, 0), "there is no platform 42", "0 = '");
  setenv("NN_OPENCL_DEVICE", "gpu", 1);
  expect_fail("malformed NN_OPENCL_DEVICE", nn_opencl_backend(-1, -1), "NN_OPENCL_DEVICE='gpu' is not PLATFORM:DEVICE", NULL);
  setenv("NN_OPENCL_DEVICE", "0:7", 1);
  expect_fail("NN_OPENCL_DEVICE names a missing device", nn_opencl_backend(-1, -1), "there is no device 7", NULL);
  unsetenv("NN_OPENCL_DEVICE");

  nn_opencl_default_config(&c);
  c.cache_dir = "";
  c.extra_source = "__kernel void nn_broken(__global float *x) { x[0] = no_such_variable; }\n";
  expect_fail("forced kernel build failure", nn_opencl_backend_ex(&c), "building the kernels failed: CL_BUILD_PROGRAM_FAILURE (-11)",
              "no_such_variable");

  b = cl_backend();
  if (!b) { CHECK(0, "backend: %s", nn_last_error()); return; }
  nn_opencl_get_info(b, &info);
  buf = b->ops->alloc(b, (size_t)1 << 40);   /* 4 TiB */
  CHECK(!buf && strstr(nn_last_error(), "out of device memory") && strstr(nn_last_error(), info.device),
        "out of device memory: '%s'", nn_last_error());
  if (!buf) printf("PASS out of device memory: %s\n", nn_last_error());
  memset(&fake, 0, sizeof fake);
  fake.op = NN_OP_COUNT;
  CHECK(!b->ops->supports(b, &fake), "an op the backend does not know is refused");
  nn_backend_free(b);

  /* no platform at all: a child process with an empty ICD directory */
  snprintf(cmd, sizeof cmd, "OCL_ICD_VENDORS=build/no_icd_here '%s' --expect-no-platform", argv0);
  CHECK(system(cmd) == 0, "no platform: the child run failed (%s)", cmd);
}

/* every CLBlast status of clblast_c.h has its own name */
static void test_status_names(void) {
#define S(code) {code, #code}
  static const struct { int code; const char *name; } names[] = {
    S(CLBlastNotImplemented), S(CLBlastInvalidMatrixA), S(CLBlastInvalidMatrixB), S(CLBlastInvalidMatrixC),
    S(CLBlastInvalidVectorX), S(CLBlastInvalidVectorY), S(CLBlastInvalidDimension), S(CLBlastInvalidLeadDimA),
    S(CLBlastInvalidLeadDimB), S(CLBlastInvalidLeadDimC), S(CLBlastInvalidIncrementX), S(CLBlastInvalidIncrementY),
    S(CLBlastInsufficientMemoryA), S(CLBlastInsufficientMemoryB), S(CLBlastInsufficientMemoryC),
    S(CLBlastInsufficientMemoryX), S(CLBlastInsufficientMemoryY), S(CLBlastInsufficientMemoryTemp),
    S(CLBlastInvalidBatchCount), S(CLBlastInvalidOverrideKernel), S(CLBlastMissingOverrideParameter),
    S(CLBlastInvalidLocalMemUsage), S(CLBlastNoHalfPrecision), S(CLBlastNoDoublePrecision),
    S(CLBlastInvalidVectorScalar), S(CLBlastInsufficientMemoryScalar), S(CLBlastDatabaseError),
    S(CLBlastUnknownError), S(CLBlastUnexpectedError)};
#undef S
  size_t i, bad = 0;
  for (i = 0; i < sizeof names / sizeof names[0]; i++)
    if (strcmp(nn__cl_status(names[i].code), names[i].name)) {
      printf("  status %d: '%s', clblast_c.h says %s\n", names[i].code, nn__cl_status(names[i].code), names[i].name);
      bad++;
    }
  CHECK(bad == 0, "%zu CLBlast status codes are misnamed", bad);
  printf("PASS CLBlast status names (%zu codes)\n", sizeof names / sizeof names[0]);
}

static int expect_no_platform(void) {
  nn_backend *b = nn_opencl_backend(-1, -1);
  const char *want = "no OpenCL platform found (clGetPlatformIDs: CL_PLATFORM_NOT_FOUND_KHR, -1001)";
  if (!b && strstr(nn_last_error(), want)) { printf("PASS no platform: %s\n", nn_last_error()); return 0; }
  printf("FAIL no platform: expected '%s', got '%s'\n", want, b ? "a backend" : nn_last_error());
  return 1;
}

/* ---------------------------------------------------------------------
   Persistence on the device: a checkpoint written from device buffers
   holds exactly what the device has, loads into the CPU backend, and a
   run resumed from it on the device repeats the uninterrupted run
   --------------------------------------------------------------------- */
static nn_model *persist_model(nn_backend *b) {
  nn_graph *g = nn_graph_new();
  int six = 6, one = 1;
  nn_node *x = nn_input(g, "x", 1, &six), *h;
  nn_layer_name(g, "fc1");
  h = nn_dense(g, x, 12);
  nn_layer_name(g, "bn");
  h = nn_dropout(g, nn_relu(g, nn_batchnorm(g, h)), 0.25f);
  nn_layer_name(g, "fc2");
  nn_cross_entropy(g, nn_dense(g, h, 3), nn_input(g, "label", 1, &one), 0, NN_MEAN);
  return nn_compile(g, 8, b);
}
static void persist_steps(nn_model *m, nn_optimizer *o, nn_ema *e, nn_checkpoint_info *info, int steps) {
  float xb[8 * 6], yb[8];
  int s, i;
  for (s = 0; s < steps; s++, info->step++) {
    for (i = 0; i < 8 * 6; i++) xb[i] = nn_rng_normal(&info->data_rng);
    for (i = 0; i < 8; i++) yb[i] = (float)nn_rng_int(&info->data_rng, 3);
    nn_feed(m, "x", xb);
    nn_feed(m, "label", yb);
    nn_train_step(m, o);
    nn_ema_update(e);
  }
}
static int persist_same(nn_model *a, nn_model *b) {
  int i, same = 1;
  for (i = 0; i < nn_graph_num_nodes(a->graph) && same; i++) {
    nn_node *p = nn_graph_node(a->graph, i);
    float va[72], vb[72];
    if (p->op != NN_OP_PARAM) continue;
    same = nn_read(a, p, va) && nn_read(b, nn_model_find(b, p->name), vb) && !memcmp(va, vb, nn_node_numel(a, p) * sizeof(float));
  }
  return same;
}
static void test_persistence(void) {
  const char *path = "build/test_opencl_persist.tmp";
  nn_model *dev = persist_model(cl_backend()), *cpu = persist_model(nn_cpu_backend()), *dev2 = persist_model(cl_backend());
  nn_optimizer *o = dev ? nn_adam(dev, 0.01f, 0.9f, 0.999f, 1e-8f, 0, 0) : NULL, *o2 = dev2 ? nn_adam(dev2, 0.01f, 0.9f, 0.999f, 1e-8f, 0, 0) : NULL;
  nn_ema *e = o ? nn_ema_new(dev, 0.9f) : NULL, *e2 = o2 ? nn_ema_new(dev2, 0.9f) : NULL;
  nn_checkpoint_info info, info2;
  if (!e || !e2 || !cpu) { CHECK(0, "persistence: setup: %s", nn_last_error()); return; }
  memset(&info, 0, sizeof info);
  nn_rng_seed(&info.data_rng, 3);
  persist_steps(dev, o, e, &info, 5);
  CHECK(nn_checkpoint_save(dev, o, e, &info, path), "persistence: checkpoint from the device: %s", nn_last_error());
  /* 8 parameters and the batch norm's num_batches_tracked */
  CHECK(nn_safetensors_load(cpu, path, 0) == 9 && persist_same(dev, cpu), "persistence: the device's weights load into the CPU backend exactly");
  CHECK(nn_checkpoint_load(dev2, o2, e2, &info2, path), "persistence: checkpoint into a device model: %s", nn_last_error());
  persist_steps(dev, o, e, &info, 5);
  persist_steps(dev2, o2, e2, &info2, 5);
  CHECK(persist_same(dev, dev2), "persistence: 5 steps, checkpoint, 5 steps on the device equal 10 steps, bit for bit");
  nn_ema_swap(e);
  nn_ema_swap(e2);
  CHECK(persist_same(dev, dev2), "persistence: the averages too");
  remove(path);
  nn_ema_free(e); nn_ema_free(e2);
  nn_optimizer_free(o); nn_optimizer_free(o2);
  nn_model_free(dev); nn_model_free(dev2); nn_model_free(cpu);
}

int main(int argc, char **argv) {
  cl_uint platforms = 0;
  nn_backend *pin;
  nn_opencl_info info;
  /* make oclgrind: the kernels' cases alone; --small: smaller ones */
  int parity_only = argc > 1 && !strcmp(argv[1], "--parity"), small = parity_only && argc > 2 && !strcmp(argv[2], "--small");
  setvbuf(stdout, NULL, _IOLBF, 0);   /* progress under slow runtimes (Oclgrind) */
  if (argc > 1 && !strcmp(argv[1], "--expect-no-platform")) return expect_no_platform();
  if (clGetPlatformIDs(0, NULL, &platforms) != CL_SUCCESS || platforms == 0) {
    const char *ci = getenv("CI");
    if (!ci || strcmp(ci, "true")) {
      printf("SKIP: no OpenCL platform (install pocl-opencl-icd to run these tests on the CPU)\n0 passed, 0 failed\n");
      return 0;
    }
    printf("FAIL: no OpenCL platform in CI (the CI script installs pocl-opencl-icd)\n0 passed, 1 failed\n");
    return 1;
  }
  nn_rng_seed(&trng, 2024);
  if (parity_only) {
    test_gemm(0, small);
    test_parity(small);
    test_batchnorm_sync();
    return check_summary();
  }
  test_embedded_sources();
  test_status_names();
  test_disk_cache();
  /* one backend held for the whole run keeps the device's context,
     program and CLBlast kernels alive between the models below */
  if (!(pin = cl_backend())) {
    printf("FAIL: cannot open the OpenCL device: %s\n0 passed, 1 failed\n", nn_last_error());
    return 1;
  }
  nn_opencl_get_info(pin, &info);
  printf("device: %s (%s, driver %s)\n", info.device, info.platform, info.driver);
  test_null_arguments();
  test_errors(argv[0]);
  test_gemm(1, 0);
  test_parity(0);
  test_dropout_mask();
  test_optimizers();
  test_snapshot();
  test_cnn_training();
  test_batchnorm_sync();
  test_grad_buckets();
  test_gru_training();
  test_persistence();
  nn_backend_free(pin);
  return check_summary();
}
