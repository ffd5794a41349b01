/* Data-parallel training (nn_mpi.h) under mpirun; tests/test_mpi.sh runs it.
     mpicc -std=c99 -O2 -I. tests/test_mpi.c -o build/test_mpi -lm
   Modes (KIND: cnn, a CNN with batch norm in synchronised mode and SGD
   with clipping; gru, a GRU over sequences of ragged lengths and Adam):
     equal KIND BATCH [opencl]
                          20 steps on every rank against one process on
                          the global batch (rank 0 trains that reference
                          on the CPU); all ranks' weights identical too;
                          opencl (built with -DNN_OPENCL): the ranks' models
                          on the first OpenCL device, gradients and the
                          CNN's batch-norm sums through the host
     train KIND BATCH STEPS OUT [--checkpoint-at K FILE] [--resume FILE]
                          [--timeout S] [--pids DIR]
                          trains, rank 0 writes the weights to OUT; a
                          checkpoint after step K; --pids: each rank writes
                          DIR/rank<r>.pid after its first step (the fault
                          test kills one); a failure ends the job (MPI_Abort)
     mismatch             rank 1's model differs: attach fails on every rank
     compare KIND A B TOL weights A and B agree within TOL (no MPI)
   Global batch k (0-based) holds samples k*BATCH .. k*BATCH + n_k - 1 of
   an endless synthetic set, n_k = BATCH - k % 3 (the shards change size);
   each sample comes from its index alone, so the data order is defined by
   the global step. */
#define _POSIX_C_SOURCE 200112L   /* getpid under -std=c99 */
#define NN_IMPLEMENTATION
#include "nn.h"
#define NN_MPI_IMPLEMENTATION
#include "nn_mpi.h"
#ifdef NN_OPENCL
#define NN_OPENCL_IMPLEMENTATION
#include "nn_opencl.h"
#endif
#include "check.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>   /* getpid */

enum { IMG = 8, T = 6, F = 3, CLASSES = 3 };

static int is_cnn(const char *kind) { return !strcmp(kind, "cnn"); }

static nn_model *build(const char *kind, int batch, int opencl) {
  nn_graph *g = nn_graph_new();
  int one = 1;
  nn_node *h, *y = NULL;
  nn_model *m;
  nn_graph_set_seed(g, 7);
  if (is_cnn(kind)) {
    int dims[3] = {1, IMG, IMG};
    h = nn_input(g, "x", 3, dims);
    y = nn_input(g, "y", 1, &one);
    h = nn_maxpool2d(g, nn_relu(g, nn_batchnorm(g, nn_conv2d(g, h, 4, 3, 1, 1))), 2, 2);
    h = nn_relu(g, nn_batchnorm(g, nn_dense(g, nn_flatten(g, h), 16)));
  } else {
    int dims[2] = {T, F};
    nn_node *len;
    h = nn_input(g, "x", 2, dims);
    len = nn_input(g, "len", 1, &one);
    y = nn_input(g, "y", 1, &one);
    h = nn_seq_last(g, nn_gru(g, h, len, 8, 1, 0), len);
  }
  nn_cross_entropy(g, nn_dense(g, h, CLASSES), y, 0.0f, NN_MEAN);
  nn_backend *be = nn_cpu_backend();
#ifdef NN_OPENCL
  if (opencl && !(be = nn_opencl_backend(-1, -1))) {
    fprintf(stderr, "opencl: %s\n", nn_last_error());
    exit(1);
  }
#endif
  (void)opencl;
  if (!(m = nn_compile(g, batch, be))) {
    fprintf(stderr, "compile: %s\n", nn_last_error());
    exit(1);
  }
  return m;
}
static nn_optimizer *optimizer(const char *kind, nn_model *m) {
  nn_optimizer *o;
  if (is_cnn(kind)) {
    o = nn_sgd(m, 0.1f, 0.9f, 1e-3f, NN_NESTEROV);
    nn_optimizer_set_clip(o, 1.0f);   /* clipping reads the summed gradients */
  } else {
    o = nn_adam(m, 0.01f, 0.9f, 0.999f, 1e-8f, 0.0f, 0);
  }
  return o;
}
static int batch_size(int batch, long step) { return batch - (int)(step % 3); }

/* samples first .. first + n - 1 fed to m */
static void feed(const char *kind, nn_model *m, long first, int n) {
  int per = is_cnn(kind) ? IMG * IMG : T * F, i, k;
  float *x = (float *)malloc((size_t)n * per * sizeof(float)), y[64], len[64];
  for (i = 0; i < n; i++) {
    nn_rng r;
    nn_rng_seed(&r, 1000 + (uint64_t)(first + i));
    y[i] = (float)nn_rng_int(&r, CLASSES);
    len[i] = (float)(1 + nn_rng_int(&r, T));   /* 1 .. T valid steps */
    for (k = 0; k < per; k++) x[(size_t)i * per + k] = nn_rng_normal(&r) + 0.5f * y[i];
  }
  if (!nn_set_batch(m, n) || !nn_feed(m, "x", x) || !nn_feed(m, "y", y) || (!is_cnn(kind) && !nn_feed(m, "len", len))) {
    fprintf(stderr, "feed: %s\n", nn_last_error());
    exit(1);
  }
  free(x);
}
/* this rank's shard of global step `step` */
static void feed_shard(const char *kind, nn_mpi *dp, nn_model *m, int batch, long step) {
  int start, count;
  nn_mpi_shard(dp, batch_size(batch, step), &start, &count);
  feed(kind, m, step * batch + start, count);
}

/* every tensor of m, one after another (floats; counts as floats) */
static float *weights(nn_model *m, size_t *len) {
  nn_tensor_info info;
  size_t total = 0, off = 0;
  float *w;
  int i;
  for (i = 0; i < nn_model_num_tensors(m); i++) {
    nn_model_tensor(m, i, &info);
    total += info.numel;
  }
  w = (float *)calloc(total, sizeof(float));
  for (i = 0; i < nn_model_num_tensors(m); i++) {
    nn_model_tensor(m, i, &info);
    if (strcmp(info.dtype, "F32")) w[off] = (float)info.count;
    else nn_read(m, info.node, w + off);
    off += info.numel;
  }
  *len = total;
  return w;
}
static double max_diff(const float *a, const float *b, size_t n) {
  double d = 0;
  size_t i;
  for (i = 0; i < n; i++) {
    double e = fabs((double)a[i] - b[i]) / (1.0 + fabs((double)b[i]));
    if (!(e <= d)) d = e;   /* NaN counts as the largest */
  }
  return d;
}
static void die(nn_mpi *dp, const char *what) {
  fprintf(stderr, "test_mpi rank %d: %s: %s\n", nn_mpi_rank(dp), what, nn_last_error());
  fflush(stderr);
  MPI_Abort(MPI_COMM_WORLD, 1);
}

static int run_equal(const char *kind, int batch, int opencl) {
  enum { STEPS = 20 };
  int size, rank;
  nn_model *m;
  nn_optimizer *o;
  nn_mpi *dp;
  long step;
  float *w, loss = 0, ref_loss = 0;
  size_t n;
  double sums[2];
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  m = build(kind, (batch + size - 1) / size, opencl);
  o = optimizer(kind, m);
  if (!(dp = nn_mpi_attach(m, MPI_COMM_WORLD))) die(NULL, "attach");
  if (is_cnn(kind) && !nn_mpi_set_sync_batchnorm(dp, 1)) die(dp, "sync batch norm");
  nn_mpi_set_bucket_bytes(dp, 256);   /* several buckets, started during backward */
  for (step = 0; step < STEPS; step++) {
    feed_shard(kind, dp, m, batch, step);
#ifdef NN_OPENCL
    if (opencl && step == STEPS - 1) nn_opencl_reset_counters(m->backend);
#endif
    loss = nn_mpi_train_step(dp, o);
    if (loss != loss) die(dp, "train step");
  }
#ifdef NN_OPENCL
  /* the last step (fed before): a read and a write per bucket, and per
     synchronised batch norm in forward and in backward; the loss and the
     norms read, the loss's seed written */
  if (opencl) {
    nn_opencl_info info;
    nn_mpi_stats st;
    long bn = 0, most;
    int i;
    for (i = 0; i < m->graph->n; i++) bn += is_cnn(kind) && m->graph->nodes[i]->op == NN_OP_BATCHNORM;
    nn_opencl_get_info(m->backend, &info);
    nn_mpi_get_stats(dp, &st);
    most = st.buckets_per_step + 2 * bn;
    if (rank == 0) {
      CHECK(info.reads >= most && info.reads <= most + 2 && info.writes <= most + 1,
            "%s on OpenCL: %ld reads and %ld writes in a step of %d buckets, %ld synchronised batch norms", kind, info.reads,
            info.writes, st.buckets_per_step, bn);
      printf("PASS %s on OpenCL: a step of %d buckets and %ld synchronised batch norms makes %ld blocking reads and %ld writes\n",
             kind, st.buckets_per_step, bn, info.reads, info.writes);
    }
  }
#endif
  w = weights(m, &n);
  /* every rank holds the same weights: the sum and the sum of squares agree */
  {
    double s = 0, mn[2], mx[2];
    size_t i;
    for (i = 0; i < n; i++) s += w[i] * (1.0 + (double)(i % 7));
    sums[0] = s;
    sums[1] = loss;
    memcpy(mn, sums, sizeof mn);
    memcpy(mx, sums, sizeof mx);
    MPI_Allreduce(MPI_IN_PLACE, mn, 2, MPI_DOUBLE, MPI_MIN, MPI_COMM_WORLD);
    MPI_Allreduce(MPI_IN_PLACE, mx, 2, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD);
    if (rank == 0) {
      CHECK(mn[0] == mx[0], "%s, %d ranks: the ranks' weights differ (checksums %.17g .. %.17g)", kind, size, mn[0], mx[0]);
      CHECK(mn[1] == mx[1], "%s, %d ranks: the ranks' losses differ (%.9g .. %.9g)", kind, size, mn[1], mx[1]);
    }
  }
  if (rank == 0) {   /* the reference: one process, the global batch */
    nn_model *r = build(kind, batch, 0);
    double tol = opencl ? 1e-4 : 2e-5;   /* a device's sums round differently */
    nn_optimizer *ro = optimizer(kind, r);
    float *rw;
    size_t rn;
    double d;
    nn_mpi_stats st;
    for (step = 0; step < STEPS; step++) {
      feed(kind, r, step * batch, batch_size(batch, step));
      ref_loss = nn_train_step(r, ro);
    }
    rw = weights(r, &rn);
    d = max_diff(w, rw, n);
    CHECK(rn == n && d < tol, "%s, %d ranks: weights after %d steps differ from one process's by %.3g (relative)", kind,
          size, STEPS, d);
    CHECK(fabsf(loss - ref_loss) < 5 * tol * (1 + fabsf(ref_loss)), "%s, %d ranks: last loss %.7g, one process %.7g", kind,
          size, loss, ref_loss);
    nn_mpi_get_stats(dp, &st);
    CHECK(st.steps == STEPS && st.buckets_per_step > 1, "%s: %ld steps, %d buckets per step", kind, st.steps,
          st.buckets_per_step);
    if (d < tol) printf("PASS %s%s, %d ranks, global batch %d: max relative difference %.3g after %d steps, %d buckets of %zu bytes\n", kind,
           opencl ? " on OpenCL" : "", size, batch, d, STEPS, st.buckets_per_step, st.bytes_per_step);
    free(rw);
    nn_optimizer_free(ro);
    nn_model_free(r);
  }
  free(w);
  nn_mpi_free(dp);
  nn_optimizer_free(o);
  nn_model_free(m);
  return 0;
}

static int run_train(int argc, char **argv) {
  const char *kind = argv[2], *out = argv[5], *ckpt = NULL, *resume = NULL, *pids = NULL;
  int batch = atoi(argv[3]), i, rank, size;
  long steps = atol(argv[4]), ckpt_at = -1, step;
  double timeout = 0;
  nn_model *m;
  nn_optimizer *o;
  nn_mpi *dp;
  nn_checkpoint_info info;
  for (i = 6; i + 1 < argc; i++) {
    if (!strcmp(argv[i], "--checkpoint-at") && i + 2 < argc) { ckpt_at = atol(argv[++i]); ckpt = argv[++i]; }
    else if (!strcmp(argv[i], "--resume")) resume = argv[++i];
    else if (!strcmp(argv[i], "--timeout")) timeout = atof(argv[++i]);
    else if (!strcmp(argv[i], "--pids")) pids = argv[++i];
  }
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  m = build(kind, (batch + size - 1) / size, 0);
  o = optimizer(kind, m);
  if (!(dp = nn_mpi_attach(m, MPI_COMM_WORLD))) die(NULL, "attach");
  if (is_cnn(kind) && !nn_mpi_set_sync_batchnorm(dp, 1)) die(dp, "sync batch norm");
  if (timeout > 0) nn_mpi_set_timeout(dp, timeout);
  memset(&info, 0, sizeof info);
  if (resume && !nn_checkpoint_load(m, o, NULL, &info, resume)) die(dp, "resume");
  for (step = info.step; step < steps; step++) {
    float loss;
    feed_shard(kind, dp, m, batch, step);
    loss = nn_mpi_train_step(dp, o);
    if (loss != loss) die(dp, "train step");
    if (step == info.step && pids) {
      char path[1024];
      FILE *f;
      snprintf(path, sizeof path, "%s/rank%d.pid", pids, rank);
      if ((f = fopen(path, "w"))) { fprintf(f, "%ld\n", (long)getpid()); fclose(f); }
    }
    if (step + 1 == ckpt_at) {
      info.step = step + 1;
      if (!nn_mpi_checkpoint_save(dp, o, NULL, &info, ckpt)) die(dp, "checkpoint");
    }
  }
  if (rank == 0 && !nn_safetensors_save(m, out, NULL)) die(dp, "save");
  if (rank == 0) printf("trained %s on %d ranks: steps %ld..%ld, global batch %d\n", kind, size, info.step, steps, batch);
  nn_mpi_free(dp);
  nn_optimizer_free(o);
  nn_model_free(m);
  return 0;
}

/* rank 1 builds another model: attach fails on every rank, with a reason */
static void run_mismatch(void) {
  int rank, ok, all;
  nn_model *m;
  nn_mpi *dp;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  m = build(rank == 1 ? "gru" : "cnn", 2, 0);
  dp = nn_mpi_attach(m, MPI_COMM_WORLD);
  ok = !dp && strstr(nn_last_error(), rank == 1 ? "differs from rank 0's" : "failed on rank 1") != NULL;
  if (!ok) fprintf(stderr, "rank %d: attach gave %p: %s\n", rank, (void *)dp, nn_last_error());
  MPI_Allreduce(&ok, &all, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD);
  if (rank == 0) CHECK(all, "attach of different models did not fail on every rank with a reason");
  if (rank == 0 && all) printf("PASS attach of different models fails on every rank: %s\n", nn_last_error());
  nn_mpi_free(dp);
  nn_model_free(m);
}

int main(int argc, char **argv) {
  int rank = 0;
  if (argc >= 6 && !strcmp(argv[1], "compare")) {
    nn_model *m = build(argv[2], 1, 0);
    float *a, *b;
    size_t na, nb;
    double d, tol = atof(argv[5]);
    if (!nn_safetensors_load(m, argv[3], 0)) { printf("FAIL: %s\n0 passed, 1 failed\n", nn_last_error()); return 1; }
    a = weights(m, &na);
    if (!nn_safetensors_load(m, argv[4], 0)) { printf("FAIL: %s\n0 passed, 1 failed\n", nn_last_error()); return 1; }
    b = weights(m, &nb);
    d = max_diff(a, b, na);
    CHECK(na == nb && d <= tol, "%s and %s differ by %.3g (relative), more than %g", argv[3], argv[4], d, tol);
    if (d <= tol) printf("PASS %s and %s agree: max relative difference %.3g (tolerance %g)\n", argv[3], argv[4], d, tol);
    free(a);
    free(b);
    nn_model_free(m);
    return check_summary();
  }
  MPI_Init(&argc, &argv);
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  if (argc >= 4 && !strcmp(argv[1], "equal")) run_equal(argv[2], atoi(argv[3]), argc >= 5 && !strcmp(argv[4], "opencl"));
  else if (argc >= 6 && !strcmp(argv[1], "train")) run_train(argc, argv);
  else if (argc >= 2 && !strcmp(argv[1], "mismatch")) run_mismatch();
  else if (rank == 0) {
    fprintf(stderr, "usage: see the top of tests/test_mpi.c\n");
    MPI_Abort(MPI_COMM_WORLD, 2);
  }
  MPI_Finalize();
  return rank == 0 ? check_summary() : 0;
}
