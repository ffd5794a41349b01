/* nn_opencl.h benchmark: the CPU backend and the OpenCL backend in the same
   run, on whatever OpenCL device is chosen (NN_OPENCL_DEVICE=P:D, else the
   first GPU, else the first device): forward+backward time of every case
   of the op table tests/op_cases.h (the cases the tests check) and of
   every layer of the CIFAR-10 airbench network and of the IMDb GRU, then whole training steps
   (forward, backward, Nesterov SGD) of that network, of the Fashion-MNIST
   CNN and of the IMDb bidirectional GRU.  Then, on every OpenCL device
   found, one steady-state training step of the Fashion-MNIST CNN and of
   the IMDb GRU with nn_opencl.h's counters: launches (kernels and CLBlast
   calls), kernel objects created, blocking transfers, bytes each way,
   and images/s and tokens/s (valid tokens).
   Prints tables, writes CSV, ends with one RESULT line per device.

   Run: make bench-opencl
   By hand: cc -O3 -march=native -fopenmp -I. tools/bench_opencl.c -o build/bench_opencl -lOpenCL -lclblast -lm
   Flags: --batch N (default 64), --threads N (CPU threads, default 2),
          --quick (fewer repetitions), --csv FILE (default build/bench_opencl.csv),
          --steps-only (only the per-device steps and their counters),
          --gemm-only (only nn_gemm against CLBlast on the chosen device),
          --ops-only (only the per-layer tables of airbench and the IMDb GRU) */
#define _POSIX_C_SOURCE 199309L
#define NN_IMPLEMENTATION
#include "nn.h"
#define NN_OPENCL_IMPLEMENTATION
#include "nn_opencl.h"
#include "bench_common.h"
#include "../tests/op_cases.h"

static int quick;
static FILE *csv;

/* waits for the device so that a time covers the work, not its queuing */
static void sync_backend(nn_backend *b) {
  if (b->ops == &nn__cl_backend_ops) clFinish(((nn__cl_impl *)b->impl)->dev->q);
}

/* the default model of examples/imdb.c: a bidirectional GRU over reviews of
   up to 400 tokens; a batch has lengths between 200 and 400, as a bucketed
   batch has */
#define IMDB_T 400
static nn_graph *imdb_gru_graph(void) { return imdb_graph(0, IMDB_T, IMDB_EMBED, IMDB_HIDDEN); }

/* a random batch for any of the three networks */
static void random_batch(nn_model *m, int n) {
  if (nn_model_find(m, "image")) random_image_batch(m, n);
  else imdb_batch(m, n, IMDB_T, IMDB_T / 2);
}

static nn_model *compile_on(nn_graph *(*graph)(void), int batch, int opencl) {
  nn_model *m = nn_compile(graph(), batch, opencl ? nn_opencl_backend(-1, -1) : nn_cpu_backend());
  if (!m) { fprintf(stderr, "bench_opencl: %s\n", nn_last_error()); exit(1); }
  return m;
}

/* best forward+backward time of one node, after a warm-up call */
static double op_time(nn_model *m, nn_node *nd) {
  nn_backend *b = m->backend;
  double best = 1e30, t0;
  int r;
  for (r = 0; r < (quick ? 2 : 4); r++) {
    t0 = now();
    b->ops->forward(b, m, nd);
    if (nd->needs_grad) b->ops->backward(b, m, nd);
    sync_backend(b);
    if (r > 0 && now() - t0 < best) best = now() - t0;
  }
  return best;
}

/* the ms of each op summed over what was timed, cpu and opencl */
static void print_by_op(double by_op[NN_OP_COUNT][2], const double *total) {
  int i;
  printf("\nby op (ms)\n");
  for (i = 0; i < NN_OP_COUNT; i++)
    if (by_op[i][0] > 0)
      printf("%-50s %10.3f %10.3f %8.2f\n", nn_op_name((nn_op)i), by_op[i][0] * 1e3, by_op[i][1] * 1e3, by_op[i][0] / by_op[i][1]);
  printf("%-50s %10.3f %10.3f %8.2f\n", "all", total[0] * 1e3, total[1] * 1e3, total[0] / total[1]);
}

/* every case of the op table at `batch` samples: the nodes of the op the
   case is for (not the helpers around it), forward+backward */
static void bench_cases(int batch) {
  double total[2] = {0, 0}, by_op[NN_OP_COUNT][2];
  int c, k, i;
  memset(by_op, 0, sizeof by_op);
  printf("\nop cases of tests/op_cases.h, forward+backward, batch %d (ms)\n", batch);
  printf("%-16s %-48s %10s %10s %8s\n", "op", "case", "cpu", "opencl", "cpu/ocl");
  for (c = 0; c < OP_CASE_COUNT; c++) {
    const op_case *oc = &op_cases[c];
    double t[2] = {0, 0};
    for (k = 0; k < 2; k++) {
      nn_graph *g = nn_graph_new();
      nn_node *out = oc->build(g);
      nn_model *m = nn_compile(g, batch, k ? nn_opencl_backend(-1, -1) : nn_cpu_backend());
      nn_rng r;
      float *v, *dy;
      size_t n;
      if (!m) { fprintf(stderr, "bench_opencl: %s: %s\n", oc->what, nn_last_error()); exit(1); }
      nn_rng_seed(&r, 3);
      for (i = 0; i < m->graph->n; i++) {
        nn_node *nd = m->graph->nodes[i];
        if (nd->op != NN_OP_INPUT) continue;
        v = (float *)malloc(nn_node_numel(m, nd) * sizeof(float));
        if (!op_case_fill(oc, m->graph, nd, &r, v, nn_node_numel(m, nd)))
          for (n = 0; n < nn_node_numel(m, nd); n++) v[n] = nn_rng_normal(&r);
        nn_write(m, nd, v);
        free(v);
      }
      n = nn_node_numel(m, out);
      dy = (float *)malloc(n * sizeof(float));
      while (n > 0) dy[--n] = 1.0f;
      if (!nn__run_forward(m, out, oc->training) || !nn_backward_from(m, out, dy)) {
        fprintf(stderr, "bench_opencl: %s: %s\n", oc->what, nn_last_error());
        exit(1);
      }
      free(dy);
      for (i = 0; i < m->graph->n; i++)
        if (m->graph->nodes[i]->op == oc->op) t[k] += op_time(m, m->graph->nodes[i]);
      total[k] += t[k];
      by_op[oc->op][k] += t[k];
      nn_model_free(m);
    }
    printf("%-16s %-48s %10.3f %10.3f %8.2f\n", nn_op_name(oc->op), oc->what, t[0] * 1e3, t[1] * 1e3, t[0] / t[1]);
    fprintf(csv, "case,\"%s\",%s,%.4f,%.4f,%.3f\n", oc->what, nn_op_name(oc->op), t[0] * 1e3, t[1] * 1e3, t[0] / t[1]);
  }
  print_by_op(by_op, total);
}

/* every layer of the airbench network */
static void bench_ops(const char *name, nn_graph *(*graph)(void), int batch) {
  nn_model *m[2];
  double total[2] = {0, 0}, by_op[NN_OP_COUNT][2];
  int k, i;
  memset(by_op, 0, sizeof by_op);
  for (k = 0; k < 2; k++) {
    m[k] = compile_on(graph, batch, k);
    random_batch(m[k], batch);
    nn_forward(m[k], 1);
    nn_backward(m[k]);
    sync_backend(m[k]->backend);
  }
  printf("\n%s ops, forward+backward, batch %d (ms)\n", name, batch);
  printf("%-14s %-16s %-18s %10s %10s %8s\n", "node", "op", "output", "cpu", "opencl", "cpu/ocl");
  for (i = 0; i < m[0]->graph->n; i++) {
    nn_node *nd[2];
    double t[2];
    char shape[48];
    nd[0] = m[0]->graph->nodes[i];
    nd[1] = m[1]->graph->nodes[i];
    if (nd[0]->op == NN_OP_INPUT || nd[0]->op == NN_OP_PARAM || nd[0]->op == NN_OP_RESHAPE) continue;
    for (k = 0; k < 2; k++) {
      t[k] = op_time(m[k], nd[k]);
      total[k] += t[k];
      by_op[nd[0]->op][k] += t[k];
    }
    printf("%-14s %-16s %-18s %10.3f %10.3f %8.2f\n", nd[0]->name, nn_op_name(nd[0]->op),
           nn_shape_str(nn_node_shape(nd[0]), shape, sizeof shape), t[0] * 1e3, t[1] * 1e3, t[0] / t[1]);
    fprintf(csv, "op,%s,%s,%.4f,%.4f,%.3f\n", nd[0]->name, nn_op_name(nd[0]->op), t[0] * 1e3, t[1] * 1e3, t[0] / t[1]);
  }
  print_by_op(by_op, total);
  for (k = 0; k < 2; k++) nn_model_free(m[k]);
}

/* best whole training step; returns ms for [cpu, opencl] */
static void bench_step(const char *name, nn_graph *(*graph)(void), int batch, double *ms) {
  int k, r;
  for (k = 0; k < 2; k++) {
    nn_model *m = compile_on(graph, batch, k);
    nn_optimizer *o = nn_sgd(m, 0.01f, 0.85f, 5e-4f, NN_NESTEROV);
    double best = 1e30, t0;
    random_batch(m, batch);
    for (r = 0; r < (quick ? 3 : 6); r++) {
      t0 = now();
      if (isnan(nn_train_step(m, o))) { fprintf(stderr, "bench_opencl: %s\n", nn_last_error()); exit(1); }
      if (r > 0 && now() - t0 < best) best = now() - t0;
    }
    ms[k] = best * 1e3;
    nn_optimizer_free(o);
    nn_model_free(m);
  }
  printf("%-32s %6d %10.1f %10.1f %8.2f %12.1f %12.1f\n", name, batch, ms[0], ms[1], ms[0] / ms[1], batch / ms[0] * 1e3,
         batch / ms[1] * 1e3);
  fprintf(csv, "step,%s,%d,%.3f,%.3f,%.3f\n", name, batch, ms[0], ms[1], ms[0] / ms[1]);
}

/* nn_gemm against CLBlast on the chosen device, for the largest products
   of the examples' steps (IMDb GRU at batch 64, Fashion-MNIST CNN at 128)
   and a few smaller ones: best of a few calls after a warm-up (each
   CLBlast call also creates a kernel object, which a training step would
   repeat every step); the numbers behind NN_OPENCL_CLBLAST_MIN_MNK.
   nn_gemm runs split along K as nn__cl_gemm_slices chooses (the slices
   column) and, where that splits, unsplit too (the 1-slice column).
   "old": products the recurrent layers no longer make (their own kernels
   compute them, over the valid steps only), kept for comparison */
#ifdef NN__CL_SCRATCH_GEMM
#define BENCH_SLICES(I, M, N, K) nn__cl_gemm_slices((I)->dev, M, N, K)
#define BENCH_GEMM_SPLIT(I, slices, ...) nn__cl_gemm_split(I, slices, __VA_ARGS__)
#else   /* an nn_opencl.h from before the split along K (tools/bench_opencl_compare.sh's old build) */
#define BENCH_SLICES(I, M, N, K) ((void)(I), (size_t)1)
#define BENCH_GEMM_SPLIT(I, slices, ...) ((void)(slices), nn__cl_gemm_own(I, __VA_ARGS__))
#endif
static void bench_gemm(nn_backend *b) {
  static const struct { const char *what; int ta, tb, M, N, K; } shapes[] = {
    {"imdb gru x W_ih^T (fwd, old)", 0, 1, 25600, 384, 128}, {"imdb gru dP W_ih (dx, old)", 0, 0, 25600, 128, 384},
    {"imdb gru dP^T x (dW_ih, old)", 1, 0, 384, 128, 25600}, {"imdb gru dP^T hprev (dW_hh, old)", 1, 0, 256, 128, 25600},
    {"fashion conv2 W col (fwd)", 0, 0, 64, 25088, 288}, {"fashion conv2 dy col^T (dW)", 0, 1, 64, 288, 25088},
    {"fashion conv2 W^T dy (dcol)", 1, 0, 288, 25088, 64}, {"fashion dense1 (fwd)", 0, 1, 128, 128, 3136},
    {"fashion conv1 W col (fwd)", 0, 0, 32, 100352, 9}, {"gru step h W_hh^T (old)", 0, 1, 64, 384, 128},
    {"fashion dense1 dy^T x (dW)", 1, 0, 128, 3136, 128}, {"fashion conv1 dy col^T (dW)", 0, 1, 32, 9, 100352}};
  nn__cl_impl *I = (nn__cl_impl *)b->impl;
  size_t i;
  double lo = 1e30, hi = 0;
  printf("\nGEMM: nn_gemm against CLBlast, ms per call\n");
  printf("%-32s %6s %6s %6s %9s %6s %11s %11s %11s %8s\n", "product", "M", "N", "K", "MACs", "slices", "1-slice ms",
         "nn_gemm ms", "CLBlast ms", "own/clb");
  for (i = 0; i < sizeof shapes / sizeof shapes[0]; i++) {
    int ta = shapes[i].ta, tb = shapes[i].tb, M = shapes[i].M, N = shapes[i].N, K = shapes[i].K, way, r;
    size_t na = (size_t)M * K, nb = (size_t)K * N, nc = (size_t)M * N;
    size_t slices = BENCH_SLICES(I, (size_t)M, (size_t)N, (size_t)K);
    void *da = b->ops->alloc(b, na), *db = b->ops->alloc(b, nb), *dc = b->ops->alloc(b, nc);
    double ms[3] = {1e30, 1e30, 1e30};   /* CLBlast, nn_gemm, nn_gemm in one slice */
    if (!da || !db || !dc || !nn__cl_fill_mem(I, NN__CL_MEM(da), 0, na) || !nn__cl_fill_mem(I, NN__CL_MEM(db), 0, nb)) {
      fprintf(stderr, "bench_opencl: %s\n", nn_last_error());
      exit(1);
    }
    for (way = 0; way < (slices > 1 ? 3 : 2); way++)
      for (r = 0; r < (quick ? 3 : 5); r++) {
        double t0 = now();
        int ok = way ? BENCH_GEMM_SPLIT(I, way == 1 ? slices : 1, ta, tb, (size_t)M, (size_t)N, (size_t)K, 1.0f,
                                         NN__CL_MEM(da), 0, (size_t)(ta ? M : K), NN__CL_MEM(db), 0, (size_t)(tb ? K : N),
                                         0.0f, NN__CL_MEM(dc), 0, (size_t)N)
                     : nn__cl_gemm_clblast(I, ta, tb, (size_t)M, (size_t)N, (size_t)K, 1.0f, NN__CL_MEM(da), 0,
                                           (size_t)(ta ? M : K), NN__CL_MEM(db), 0, (size_t)(tb ? K : N), 0.0f,
                                           NN__CL_MEM(dc), 0, (size_t)N);
        if (!ok) { fprintf(stderr, "bench_opencl: %s\n", nn_last_error()); exit(1); }
        sync_backend(b);
        if (r > 0 && now() - t0 < ms[way]) ms[way] = now() - t0;
      }
    if (slices == 1) ms[2] = ms[1];
    printf("%-32s %6d %6d %6d %9.3g %6zu %11.3f %11.3f %11.3f %8.2f\n", shapes[i].what, M, N, K, (double)M * N * K, slices,
           ms[2] * 1e3, ms[1] * 1e3, ms[0] * 1e3, ms[1] / ms[0]);
    fprintf(csv, "gemm,\"%s\",%d,%d,%d,%zu,%.3f,%.3f,%.3f\n", shapes[i].what, M, N, K, slices, ms[2] * 1e3, ms[1] * 1e3,
            ms[0] * 1e3);
    if (ms[1] / ms[0] < lo) lo = ms[1] / ms[0];
    if (ms[1] / ms[0] > hi) hi = ms[1] / ms[0];
    b->ops->release(b, da); b->ops->release(b, db); b->ops->release(b, dc);
  }
  printf("RESULT gemm device=\"%s\" nn_gemm_over_clblast_min=%.2f nn_gemm_over_clblast_max=%.2f\n", I->dev->name, lo, hi);
}

/* one steady-state training step of each network on device (p, d), after
   two warm-up steps; the counters cover the step, feeding included */
typedef struct step_count { double ms; long launches, creations, blocking; size_t to_device, to_host; } step_count;
static void count_step(nn_graph *(*graph)(void), int batch, int p, int d, step_count *out, int *longest, double *tokens) {
  nn_model *m = nn_compile(graph(), batch, nn_opencl_backend(p, d));
  nn_optimizer *o = m ? nn_sgd(m, 0.01f, 0.85f, 5e-4f, NN_NESTEROV) : NULL;
  nn_opencl_info info;
  int r, reps = quick ? 2 : 4;
  double best = 1e30, t0;
  if (!o) { fprintf(stderr, "bench_opencl: %s\n", nn_last_error()); exit(1); }
  for (r = 0; r < 2 + reps; r++) {
    nn_opencl_reset_counters(m->backend);
    t0 = now();
    random_batch(m, batch);
    if (isnan(nn_train_step(m, o))) { fprintf(stderr, "bench_opencl: %s\n", nn_last_error()); exit(1); }
    sync_backend(m->backend);
    if (r >= 2 && now() - t0 < best) best = now() - t0;
  }
  nn_opencl_get_info(m->backend, &info);
  out->ms = best * 1e3;
  out->launches = info.launches;
  out->creations = info.kernel_creations;
  out->blocking = info.blocking;
  out->to_device = info.bytes_to_device;
  out->to_host = info.bytes_to_host;
  if (longest) {   /* the lengths random_batch wrote */
    nn_node *len = nn_model_find(m, "len");
    float *v = (float *)malloc((size_t)batch * sizeof(float));
    int i;
    nn_read(m, len, v);
    for (*longest = 0, *tokens = 0, i = 0; i < batch; i++) {
      *tokens += v[i];
      if (v[i] > *longest) *longest = (int)v[i];
    }
    free(v);
  }
  nn_optimizer_free(o);
  nn_model_free(m);
}

/* the counted steps on every device of every platform */
static void count_devices(int batch) {
  cl_platform_id plats[16];
  cl_uint np = 0, p;
  printf("\nper device: one training step, after two (counters include feeding the batch)\n");
  printf("%-40s %-10s %9s %9s %9s %9s %11s %9s %11s\n", "device", "network", "ms", "smp/s", "launches", "kernels",
         "blocking", "to dev", "to host");
  if (clGetPlatformIDs(16, plats, &np) != CL_SUCCESS) np = 0;
  for (p = 0; p < np && p < 16; p++) {
    cl_device_id devs[16];
    cl_uint nd = 0, d;
    if (clGetDeviceIDs(plats[p], CL_DEVICE_TYPE_ALL, 16, devs, &nd) != CL_SUCCESS) continue;
    for (d = 0; d < nd && d < 16; d++) {
      step_count cnn, gru;
      char name[128];
      int longest;
      double tokens;
      clGetDeviceInfo(devs[d], CL_DEVICE_NAME, sizeof name, name, NULL);
      name[sizeof name - 1] = 0;
      count_step(fashion_graph, 2 * batch, (int)p, (int)d, &cnn, NULL, NULL);
      count_step(imdb_gru_graph, batch, (int)p, (int)d, &gru, &longest, &tokens);
      printf("%-40.40s %-10s %9.1f %9.1f %9ld %9ld %11ld %9zu %11zu\n", name, "cnn", cnn.ms, 2 * batch / cnn.ms * 1e3, cnn.launches,
             cnn.creations, cnn.blocking, cnn.to_device, cnn.to_host);
      printf("%-40.40s %-10s %9.1f %9.1f %9ld %9ld %11ld %9zu %11zu\n", name, "gru", gru.ms, batch / gru.ms * 1e3, gru.launches,
             gru.creations, gru.blocking, gru.to_device, gru.to_host);
      fprintf(csv, "device_step,\"%s\",cnn,%.3f,%ld,%ld,%ld\n", name, cnn.ms, cnn.launches, cnn.creations, cnn.blocking);
      fprintf(csv, "device_step,\"%s\",gru,%.3f,%ld,%ld,%ld\n", name, gru.ms, gru.launches, gru.creations, gru.blocking);
      printf("RESULT device=\"%s\" platform=%u device_index=%u cnn_step_ms=%.1f images_per_s=%.1f cnn_step_launches=%ld"
             " cnn_step_kernel_creations=%ld cnn_step_blocking_reads=%ld gru_step_ms=%.1f tokens_per_s=%.0f gru_step_launches=%ld"
             " gru_step_seq_len=%d gru_step_kernel_creations=%ld gru_step_blocking_reads=%ld step_blocking_reads_max=%ld"
             " cnn_step_bytes_to_device=%zu cnn_step_bytes_to_host=%zu gru_step_bytes_to_device=%zu gru_step_bytes_to_host=%zu\n",
             name, p, d, cnn.ms, 2 * batch / cnn.ms * 1e3, cnn.launches, cnn.creations, cnn.blocking, gru.ms, tokens / gru.ms * 1e3,
             gru.launches, longest, gru.creations, gru.blocking, cnn.blocking > gru.blocking ? cnn.blocking : gru.blocking,
             cnn.to_device, cnn.to_host, gru.to_device, gru.to_host);
    }
  }
}

int main(int argc, char **argv) {
  const char *csv_path = "build/bench_opencl.csv";
  int i, batch = 64, threads = 2, steps_only = 0, gemm_only = 0, ops_only = 0;
  double air[2] = {0, 0}, fm[2] = {0, 0}, im[2] = {0, 0};
  nn_backend *pin;
  nn_opencl_info info;
  for (i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--quick")) quick = 1;
    else if (!strcmp(argv[i], "--steps-only")) steps_only = 1;
    else if (!strcmp(argv[i], "--gemm-only")) gemm_only = 1;
    else if (!strcmp(argv[i], "--ops-only")) ops_only = 1;
    else if (!strcmp(argv[i], "--csv") && i + 1 < argc) csv_path = argv[++i];
    else if (!strcmp(argv[i], "--batch") && i + 1 < argc) batch = atoi(argv[++i]);
    else if (!strcmp(argv[i], "--threads") && i + 1 < argc) threads = atoi(argv[++i]);
    else { fprintf(stderr, "usage: %s [--batch N] [--threads N] [--quick] [--steps-only] [--gemm-only] [--ops-only] [--csv FILE]\n", argv[0]); return 2; }
  }
  if (batch < 1 || threads < 1) { fprintf(stderr, "bench_opencl: --batch and --threads need positive numbers\n"); return 2; }
  if (!(csv = fopen(csv_path, "w"))) { fprintf(stderr, "bench_opencl: cannot write %s\n", csv_path); return 1; }
  /* held for the whole run: the models below share its context and kernels */
  if (!(pin = nn_opencl_backend(-1, -1))) { fprintf(stderr, "bench_opencl: %s\n", nn_last_error()); return 1; }
  nn_opencl_get_info(pin, &info);
  threads = nn_set_threads(threads);
  printf("OpenCL device: %s (%s, driver %s); CPU backend: %d thread%s\n", info.device, info.platform, info.driver, threads,
         threads == 1 ? "" : "s");
  fprintf(csv, "section,name,what,cpu_ms,opencl_ms,cpu_over_opencl\n");
  if (gemm_only || ops_only) {
    if (gemm_only) bench_gemm(pin);
    if (ops_only) {
      bench_ops("CIFAR-10 airbench", airbench_graph, batch);
      bench_ops("IMDb bi-GRU 128, 400 tokens", imdb_gru_graph, batch);
    }
    nn_backend_free(pin);
    fclose(csv);
    return 0;
  }
  if (!steps_only) {
    bench_cases(batch);
    bench_ops("CIFAR-10 airbench", airbench_graph, batch);
    bench_ops("IMDb bi-GRU 128, 400 tokens", imdb_gru_graph, batch);
    bench_gemm(pin);
    printf("\nwhole training steps (forward, backward, Nesterov SGD)\n");
    printf("%-32s %6s %10s %10s %8s %12s %12s\n", "network", "batch", "cpu ms", "opencl ms", "cpu/ocl", "cpu smp/s", "ocl smp/s");
    bench_step("CIFAR-10 airbench", airbench_graph, batch, air);
    bench_step("Fashion-MNIST CNN", fashion_graph, 2 * batch, fm);
    bench_step("IMDb bi-GRU 128, 400 tokens", imdb_gru_graph, batch, im);
  }
  count_devices(batch);
  nn_backend_free(pin);
  fclose(csv);
  printf("\nCSV written to %s\n", csv_path);
  if (!steps_only)
    printf("RESULT device=\"%s\" airbench_step_cpu_ms=%.1f airbench_step_opencl_ms=%.1f airbench_cpu_over_opencl=%.2f"
           " fashion_step_cpu_ms=%.1f fashion_step_opencl_ms=%.1f fashion_cpu_over_opencl=%.2f"
           " imdb_step_cpu_ms=%.1f imdb_step_opencl_ms=%.1f imdb_cpu_over_opencl=%.2f\n",
           info.device, air[0], air[1], air[0] / air[1], fm[0], fm[1], fm[0] / fm[1], im[0], im[1], im[0] / im[1]);
  return 0;
}
