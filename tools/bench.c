/* nn.h CPU benchmark: this CPU's fp32 peak (an FMA-bound loop), SGEMM
   against OpenBLAS measured in the same run, the conv layers of the
   CIFAR-10 network, the LSTM/GRU layer of the IMDb network, and whole
   training steps against PyTorch (tools/bench_torch.py, run from here on
   the same shapes), on 1 and 2 threads; then a small GRU beside a busy
   process, built with OpenMP and without.  Prints tables, writes CSV, ends
   with a RESULT line.

   Run: make bench   (tools/bench.sh builds this file with and without
                      OpenMP, finds OpenBLAS, and passes --serial)
   By hand: cc -O3 -march=native -fopenmp -I. -DNN_BENCH_OPENBLAS tools/bench.c -lopenblas -lm
   Flags: --quick (fewer sizes and repetitions), --csv FILE (default build/bench.csv),
          --python PATH (runs tools/bench_torch.py; default python3),
          --serial PATH (this file built without OpenMP: the small GRU's
          baseline), --small-gru (time only the small GRU, print its seconds) */
#define _POSIX_C_SOURCE 199309L
#define NN_IMPLEMENTATION
#include "nn.h"
#include <signal.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>
#ifdef NN_BENCH_OPENBLAS
#include <cblas.h>
void openblas_set_num_threads(int);
#endif
#include "bench_common.h"

static int quick;
static FILE *csv;

/* best time of `reps` calls (after one warm-up call) */
#define BEST_OF(reps, secs, stmt)                            \
  do {                                                       \
    int r_;                                                  \
    double t0_;                                              \
    stmt;                                                    \
    secs = 1e30;                                             \
    for (r_ = 0; r_ < (reps); r_++) {                        \
      t0_ = now();                                           \
      stmt;                                                  \
      if (now() - t0_ < secs) secs = now() - t0_;            \
    }                                                        \
  } while (0)

static void set_threads(int t) {
  nn_set_threads(t);
#ifdef NN_BENCH_OPENBLAS
  openblas_set_num_threads(t);
#endif
}

/* the CPU's name from /proc/cpuinfo ("unknown" elsewhere), with its family
   and model numbers, which name the core where a hypervisor shortens the name */
static void cpu_name(char *out, size_t size) {
  char line[256], name[128] = "unknown", family[16] = "?", model[16] = "?";
  FILE *f = fopen("/proc/cpuinfo", "r");
  while (f && fgets(line, sizeof line, f) && line[0] != '\n') {   /* the first CPU's block is enough */
    char *v = strchr(line, ':');
    if (!v) continue;
    v += 1 + (v[1] == ' ');
    v[strcspn(v, "\n")] = 0;
    if (!strncmp(line, "model name", 10)) snprintf(name, sizeof name, "%s", v);
    else if (!strncmp(line, "cpu family", 10)) snprintf(family, sizeof family, "%s", v);
    else if (!strncmp(line, "model\t", 6)) snprintf(model, sizeof model, "%s", v);
  }
  if (f) fclose(f);
  snprintf(out, size, "%s (family %s, model %s)", name, family, model);
}

/* The fp32 peak: FMAs on the GEMM kernel's register tile of accumulators
   (MR x NR: 16 zmm registers with AVX-512, 8 ymm with AVX2), which fits the
   register file and holds more independent FMAs than the FMA units' latency
   needs.  With -O3 -march=native on an AVX-512 host the loop is 16
   vfmadd...ps on zmm registers and nothing else (gcc 12: check with -S). */
enum { PEAK_R = NN__GEMM_MR, PEAK_C = NN__GEMM_NR };
static NN__NOINLINE float fma_loop(long iters, const float *x, const float *y) {
  float acc[PEAK_R][PEAK_C], s = 0;
  long it;
  int i, j;
  for (i = 0; i < PEAK_R; i++)
    for (j = 0; j < PEAK_C; j++) acc[i][j] = 0;
  for (it = 0; it < iters; it++) {
#ifdef __GNUC__
#pragma GCC unroll 32
#endif
    for (i = 0; i < PEAK_R; i++)
      for (j = 0; j < PEAK_C; j++) acc[i][j] = acc[i][j] * x[j] + y[j];
  }
  for (i = 0; i < PEAK_R; i++)
    for (j = 0; j < PEAK_C; j++) s += acc[i][j];
  return s;
}

static volatile float peak_sink;   /* keeps the loops' results, so that they run */

/* fma_loop on each of nn_set_threads' threads */
static void fma_round(long iters, const float *x, const float *y) {
#ifdef _OPENMP
#pragma omp parallel
#endif
  peak_sink = fma_loop(iters, x, y);
}

/* GFLOP/s of fma_loop on `threads` threads at once (one without OpenMP) */
static double fp32_peak(int threads) {
  float x[PEAK_C], y[PEAK_C];
  long iters = 250000;   /* about 1 ms: of many short tries some run whole on a shared machine */
  double secs;
  int j;
  for (j = 0; j < PEAK_C; j++) { x[j] = 0.999f; y[j] = 1e-3f * j; }   /* stays finite and normal */
  threads = nn_set_threads(threads);
  BEST_OF(200, secs, fma_round(iters, x, y));
  return 2.0 * PEAK_R * PEAK_C * iters * threads / secs / 1e9;
}

/* GFLOP/s of nn.h's SGEMM and of OpenBLAS (0 if absent) for one shape */
static void gemm_rates(int ta, int tb, int M, int N, int K, int threads, double *nn_rate, double *ref_rate) {
  size_t na = (size_t)M * K, nb = (size_t)K * N, i;
  float *A = (float *)malloc(na * 4), *B = (float *)malloc(nb * 4), *C = (float *)malloc((size_t)M * N * 4);
  float *work = (float *)malloc(NN__GEMM_WORK * sizeof(float));
  double flops = 2.0 * M * N * K, secs;
  int reps = quick ? 3 : (flops > 4e9 ? 3 : flops > 2e8 ? 10 : 50);
  nn_rng r;
  nn_rng_seed(&r, 1);
  for (i = 0; i < na; i++) A[i] = nn_rng_uniform(&r) - 0.5f;
  for (i = 0; i < nb; i++) B[i] = nn_rng_uniform(&r) - 0.5f;
  set_threads(threads);
  BEST_OF(reps, secs, nn__sgemm(ta, tb, M, N, K, 1.0f, A, ta ? M : K, B, tb ? K : N, 0.0f, C, N, work));
  *nn_rate = flops / secs / 1e9;
  *ref_rate = 0;
#ifdef NN_BENCH_OPENBLAS
  BEST_OF(reps, secs, cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, M, N, K,
                                  1.0f, A, ta ? M : K, B, tb ? K : N, 0.0f, C, N));
  *ref_rate = flops / secs / 1e9;
#endif
  free(A); free(B); free(C); free(work);
}

static double sgemm_1024[3];  /* [threads] nn.h rate at n = 1024 */
static double sgemm_ratio[3];

static void bench_gemm(void) {
  static const int square[] = {128, 256, 512, 1024, 2048};
  static const struct { const char *name; int ta, tb, M, N, K; } shapes[] = {
    {"conv 24->64 3x3 @31x31 fwd (batch 1)", 0, 0, 64, 961, 216},
    {"conv 64->256 3x3 @15x15 fwd (2 images)", 0, 0, 256, 450, 576},
    {"conv 256->256 3x3 @7x7 fwd (11 images)", 0, 0, 256, 539, 2304},
    {"conv 256->256 3x3 dW (11 images)", 0, 1, 256, 2304, 539},
    {"conv 256->256 3x3 dX (11 images)", 1, 0, 2304, 539, 256},
    {"dense 784->256 fwd, batch 128", 0, 1, 128, 256, 784},
    {"dense 256->10 fwd, batch 128", 0, 1, 128, 10, 256},
    {"rnn 3x128 gates, batch 64", 0, 1, 64, 384, 128},
  };
  int i, t;
  printf("\nSGEMM, GFLOP/s (nn.h vs OpenBLAS cblas_sgemm, same run)\n");
  printf("%-42s %3s %9s %9s %7s\n", "shape (M x N x K)", "thr", "nn.h", "OpenBLAS", "ratio");
  for (i = 0; i < (int)(sizeof square / sizeof square[0]); i++) {
    int n = square[i];
    if (quick && n != 1024) continue;
    for (t = 1; t <= 2; t++) {
      double a, b;
      char name[64];
      gemm_rates(0, 0, n, n, n, t, &a, &b);
      snprintf(name, sizeof name, "square n=%d", n);
      printf("%-42s %3d %9.1f %9.1f %7.2f\n", name, t, a, b, b > 0 ? a / b : 0);
      fprintf(csv, "sgemm,%s,%d,%.2f,%.2f,%.3f\n", name, t, a, b, b > 0 ? a / b : 0);
      if (n == 1024) { sgemm_1024[t] = a; sgemm_ratio[t] = b > 0 ? a / b : 0; }
    }
  }
  for (i = 0; i < (int)(sizeof shapes / sizeof shapes[0]); i++) {
    if (quick && i > 2) break;
    for (t = 1; t <= 2; t++) {
      double a, b;
      gemm_rates(shapes[i].ta, shapes[i].tb, shapes[i].M, shapes[i].N, shapes[i].K, t, &a, &b);
      printf("%-42s %3d %9.1f %9.1f %7.2f\n", shapes[i].name, t, a, b, b > 0 ? a / b : 0);
      fprintf(csv, "sgemm,%s,%d,%.2f,%.2f,%.3f\n", shapes[i].name, t, a, b, b > 0 ? a / b : 0);
    }
  }
}

static double conv_gflops[3];  /* [threads] all conv layers together */

/* forward+backward time of each conv layer, inside the real network */
static void bench_conv_layers(int batch) {
  int t, k;
  printf("\nCIFAR-10 airbench conv layers, forward+backward, batch %d\n", batch);
  printf("%-10s %-22s %3s %10s %9s %10s\n", "layer", "output", "thr", "ms", "GFLOP/s", "vs SGEMM");
  for (t = 1; t <= 2; t++) {
    nn_model *m;
    double total_flops = 0, total_secs = 0;
    set_threads(t);
    m = nn_compile(airbench_graph(), batch, nn_cpu_backend());
    random_image_batch(m, batch);
    nn_forward(m, 1);
    nn_backward(m);
    for (k = 0; k < m->graph->n; k++) {
      nn_node *nd = m->graph->nodes[k];
      double secs, fl;
      char shape[48];
      if (nd->op != NN_OP_CONV2D) continue;
      BEST_OF(quick ? 2 : 4, secs, (m->backend->ops->forward(m->backend, m, nd), m->backend->ops->backward(m->backend, m, nd)));
      fl = 3.0 * nn__conv_flops(nd) * batch;  /* forward, input and weight gradients */
      total_flops += fl;
      total_secs += secs;
      printf("%-10s %-22s %3d %10.2f %9.1f %9.0f%%\n", nd->name, nn_shape_str(nn_node_shape(nd), shape, sizeof shape), t,
             secs * 1e3, fl / secs / 1e9, 100 * fl / secs / 1e9 / sgemm_1024[t]);
      fprintf(csv, "conv,%s,%d,%.3f,%.2f\n", nd->name, t, secs * 1e3, fl / secs / 1e9);
    }
    conv_gflops[t] = total_flops / total_secs / 1e9;
    printf("%-10s %-22s %3d %10.2f %9.1f %9.0f%%\n", "all convs", "", t, total_secs * 1e3, conv_gflops[t],
           100 * conv_gflops[t] / sgemm_1024[t]);
    nn_model_free(m);
  }
}

/* The whole training steps that nn.h and PyTorch (tools/bench_torch.py)
   both time, in items (images or tokens) per second, by thread count; 0:
   not measured.  `key` is bench_torch.py's name for the case. */
typedef struct step_case {
  const char *key, *name;
  int batch;
  double nn[3], torch[3];
} step_case;
enum { AIR128, AIR1024, FMNIST, GRU, LSTM, NCASES, IMDB_BATCH = 64 };
static step_case cases[NCASES] = {
  {"airbench_b128", "CIFAR-10 airbench, batch 128", 128, {0}, {0}},
  {"airbench_b1024", "CIFAR-10 airbench, batch 1024", 1024, {0}, {0}},
  {"fmnist_cnn", "Fashion-MNIST CNN, batch 128", 128, {0}, {0}},
  {"gru", "IMDb bi-GRU 128, batch 64", IMDB_BATCH, {0}, {0}},
  {"lstm", "IMDb bi-LSTM 128, batch 64", IMDB_BATCH, {0}, {0}},
};

/* whole training steps of the image networks (forward, backward, Nesterov
   SGD with the momentum of the network's example) */
static void bench_image_steps(void) {
  int c, t;
  printf("\nTraining steps (forward, backward, update)\n");
  printf("%-32s %3s %12s %12s\n", "network", "thr", "ms/step", "images/s");
  for (c = AIR128; c <= FMNIST; c++) {
    for (t = 1; t <= 2; t++) {
      int batch = cases[c].batch;
      nn_model *m;
      nn_optimizer *o;
      double secs;
      set_threads(t);
      m = nn_compile(c == FMNIST ? fashion_graph() : airbench_graph(), batch, nn_cpu_backend());
      if (!m) { fprintf(stderr, "bench: %s: %s\n", cases[c].name, nn_last_error()); exit(1); }
      o = nn_sgd(m, 0.01f, c == FMNIST ? 0.9f : 0.85f, 5e-4f, NN_NESTEROV);
      random_image_batch(m, batch);
      BEST_OF(quick ? 1 : 3, secs, nn_train_step(m, o));
      cases[c].nn[t] = batch / secs;
      printf("%-32s %3d %12.1f %12.1f\n", cases[c].name, t, secs * 1e3, cases[c].nn[t]);
      fprintf(csv, "step,%s,%d,%.3f,%.2f\n", cases[c].name, t, secs * 1e3, cases[c].nn[t]);
      nn_optimizer_free(o);
      nn_model_free(m);
    }
  }
}

/* forward+backward of the recurrent layer alone, then whole training steps
   (forward, backward, Adam update), in tokens per second; reviews of
   steps/2..steps tokens, as a batch of bucketed reviews has (`lengths`
   gets them, for PyTorch) */
static void bench_recurrent(int batch, int steps, float *lengths) {
  int lstm, t, k;
  double tokens;
  printf("\nIMDb recurrent layer (bidirectional, %d units, embed %d), batch %d, %d..%d tokens\n", IMDB_HIDDEN,
         IMDB_EMBED, batch, steps / 2, steps);
  printf("%-5s %3s %14s %12s %14s %12s\n", "layer", "thr", "layer ms", "tokens/s", "step ms", "tokens/s");
  for (lstm = 0; lstm < 2; lstm++) {
    for (t = 1; t <= 2; t++) {
      step_case *c = &cases[lstm ? LSTM : GRU];
      nn_model *m;
      nn_optimizer *o;
      nn_node *rec = NULL;
      double layer_secs, step_secs;
      set_threads(t);
      m = nn_compile(imdb_graph(lstm, steps, IMDB_EMBED, IMDB_HIDDEN), batch, nn_cpu_backend());
      o = nn_adam(m, 3e-3f, 0.9f, 0.999f, 1e-8f, 0.0f, 0);
      imdb_batch(m, batch, steps, steps / 2);
      nn_read(m, nn_model_find(m, "len"), lengths);
      for (k = 0, tokens = 0; k < batch; k++) tokens += lengths[k];
      for (k = 0; k < m->graph->n; k++)
        if (m->graph->nodes[k]->op == (lstm ? NN_OP_LSTM : NN_OP_GRU)) rec = m->graph->nodes[k];
      nn_forward(m, 1);
      nn_backward(m);
      BEST_OF(quick ? 2 : 4, layer_secs, (m->backend->ops->forward(m->backend, m, rec), m->backend->ops->backward(m->backend, m, rec)));
      BEST_OF(quick ? 2 : 3, step_secs, nn_train_step(m, o));
      c->nn[t] = tokens / step_secs;
      printf("%-5s %3d %14.1f %12.0f %14.1f %12.0f\n", c->key, t, layer_secs * 1e3, tokens / layer_secs,
             step_secs * 1e3, c->nn[t]);
      fprintf(csv, "recurrent,%s layer fwd+bwd,%d,%.3f,%.0f\n", c->key, t, layer_secs * 1e3, tokens / layer_secs);
      fprintf(csv, "step,%s x %d tokens,%d,%.3f,%.0f\n", c->name, steps, t, step_secs * 1e3, c->nn[t]);
      nn_optimizer_free(o);
      nn_model_free(m);
    }
  }
}

/* Runs `cmd` and reads its output: a line KEY=NUMBER whose KEY is one of
   keys[0..n-1] sets vals[]; any other line is passed on.  Returns 0 if the
   command could not be started. */
static int read_values(const char *cmd, const char *const *keys, double *vals, int n) {
  char line[512];
  FILE *p;
  fflush(stdout);   /* our lines first */
  if (!(p = popen(cmd, "r"))) return 0;
  while (fgets(line, sizeof line, p)) {
    char *eq = strchr(line, '=');
    int k = n;
    if (eq) {
      *eq = 0;
      for (k = 0; k < n && strcmp(line, keys[k]); k++) continue;
      if (k < n) vals[k] = atof(eq + 1);
      else *eq = '=';
    }
    if (k == n) fputs(line, stdout);
  }
  pclose(p);
  return 1;
}

/* PyTorch on the same steps and shapes: tools/bench_torch.py, run with
   `python`, fills cases[].torch */
static void bench_torch(const char *python, int imdb_steps, const float *lengths) {
  char cmd[2048], keys[NCASES * 2][32];
  const char *key_ptr[NCASES * 2];
  double vals[NCASES * 2];
  int c, t, k, n = 0, len = snprintf(cmd, sizeof cmd,
    "%s tools/bench_torch.py --reps %d --threads 1,2 --airbench %d,%d --fmnist %d --imdb %d,%d,%d,%d --lengths",
    python, quick ? 1 : 3, cases[AIR128].batch, cases[AIR1024].batch, cases[FMNIST].batch, IMDB_VOCAB, IMDB_EMBED,
    IMDB_HIDDEN, imdb_steps);
  for (k = 0; k < cases[GRU].batch; k++) len += snprintf(cmd + len, sizeof cmd - len, "%c%d", k ? ',' : ' ', (int)lengths[k]);
  for (c = 0; c < NCASES; c++)
    for (t = 1; t <= 2; t++, n++) {
      snprintf(keys[n], sizeof keys[n], "%s_t%d", cases[c].key, t);
      key_ptr[n] = keys[n];
      vals[n] = 0;
    }
  printf("\nPyTorch on the same training steps: %s\n", cmd);
  if (!read_values(cmd, key_ptr, vals, n)) printf("could not run %s\n", python);
  for (c = 0, n = 0; c < NCASES; c++)
    for (t = 1; t <= 2; t++) cases[c].torch[t] = vals[n++];
  printf("\nTraining steps, nn.h and PyTorch (same run), images or tokens per second\n");
  printf("%-32s %3s %12s %12s %12s\n", "network", "thr", "nn.h", "PyTorch", "nn.h/PyTorch");
  for (c = 0; c < NCASES; c++)
    for (t = 1; t <= 2; t++) {
      const step_case *s = &cases[c];
      printf("%-32s %3d %12.1f %12.1f %12.2f\n", s->name, t, s->nn[t], s->torch[t], s->torch[t] > 0 ? s->nn[t] / s->torch[t] : 0);
      fprintf(csv, "vs_torch,%s,%d,%.2f,%.2f,%.3f\n", s->name, t, s->nn[t], s->torch[t], s->torch[t] > 0 ? s->nn[t] / s->torch[t] : 0);
    }
}

/* A small GRU as a newcomer would write it (embedding 32, bi-GRU 32, batch
   32, reviews of 16..32 tokens, OpenMP's default thread count), trained
   for a fixed number of Adam steps beside a child process that spins on
   one core, as another user's job would on a shared machine: the best
   seconds of a few such runs. */
static double small_gru_seconds(void) {
  int i, steps = quick ? 50 : 200;
  double secs;
  nn_model *m;
  nn_optimizer *o;
  pid_t spinner = fork();
  if (spinner == 0)
    for (;;) continue;
  if (spinner < 0) { fprintf(stderr, "bench: fork failed: no small GRU run\n"); return 0; }
  m = nn_compile(imdb_graph(0, 32, 32, 32), 32, nn_cpu_backend());
  o = nn_adam(m, 3e-3f, 0.9f, 0.999f, 1e-8f, 0.0f, 0);
  imdb_batch(m, 32, 32, 16);
  BEST_OF(quick ? 1 : 3, secs, for (i = 0; i < steps; i++) nn_train_step(m, o));
  kill(spinner, SIGKILL);
  waitpid(spinner, NULL, 0);
  nn_optimizer_free(o);
  nn_model_free(m);
  return secs;
}

/* a/b with 2 decimals, or "absent" where either was not measured */
static const char *ratio(char *buf, double a, double b) {
  if (a > 0 && b > 0) snprintf(buf, 16, "%.2f", a / b);
  else snprintf(buf, 16, "absent");
  return buf;
}

int main(int argc, char **argv) {
  const char *csv_path = "build/bench.csv", *python = "python3", *serial = NULL;
  char cpu[256], cmd[1024], r[7][16];
  const char *serial_key = "small_gru_seconds";
  float lengths[IMDB_BATCH];
  double peak[3], omp_secs, serial_secs = 0;
  int i, small_gru_only = 0, default_threads = nn_set_threads(0);
  for (i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--quick")) quick = 1;
    else if (!strcmp(argv[i], "--csv") && i + 1 < argc) csv_path = argv[++i];
    else if (!strcmp(argv[i], "--python") && i + 1 < argc) python = argv[++i];
    else if (!strcmp(argv[i], "--serial") && i + 1 < argc) serial = argv[++i];
    else if (!strcmp(argv[i], "--small-gru")) small_gru_only = 1;
    else {
      fprintf(stderr, "usage: %s [--quick] [--csv FILE] [--python PATH] [--serial PATH] [--small-gru]\n", argv[0]);
      return 2;
    }
  }
  if (small_gru_only) {
    printf("%s=%.4f\n", serial_key, small_gru_seconds());
    return 0;
  }
  if (!(csv = fopen(csv_path, "w"))) { fprintf(stderr, "bench: cannot write %s\n", csv_path); return 1; }
  fprintf(csv, "section,name,threads,a,b,ratio\n");
  cpu_name(cpu, sizeof cpu);
  printf("CPU: %s\n", cpu);
#ifndef NN_BENCH_OPENBLAS
  printf("OpenBLAS not linked: the reference columns read 0 (install libopenblas-dev and use make bench)\n");
#endif
#ifndef _OPENMP
  printf("built without OpenMP: the 2-thread rows run on one thread\n");
#endif
  for (i = 1; i <= 2; i++) {
    peak[i] = fp32_peak(i);
    printf("fp32 peak (FMA loop), %d thread%s: %.1f GFLOP/s\n", i, i == 1 ? "" : "s", peak[i]);
    fprintf(csv, "peak,fma loop,%d,%.2f\n", i, peak[i]);
  }
  bench_gemm();
  bench_conv_layers(quick ? 64 : 128);
  printf("\nSGEMM n = 1024 and all conv layers, share of the fp32 peak\n");
  for (i = 1; i <= 2; i++)
    printf("%d thread%s: SGEMM %.0f%%, conv layers %.0f%%\n", i, i == 1 ? " " : "s", 100 * sgemm_1024[i] / peak[i],
           100 * conv_gflops[i] / peak[i]);
  bench_image_steps();
  bench_recurrent(cases[GRU].batch, quick ? 100 : 256, lengths);
  bench_torch(python, quick ? 100 : 256, lengths);

  printf("\nSmall GRU (embed 32, bi-GRU 32, batch 32, 16..32 tokens) beside a spinning process\n");
  nn_set_threads(default_threads);
  omp_secs = small_gru_seconds();
  if (serial) {
    snprintf(cmd, sizeof cmd, "%s --small-gru%s", serial, quick ? " --quick" : "");
    read_values(cmd, &serial_key, &serial_secs, 1);
  }
  printf("built with OpenMP (%d threads): %.3f s; without: %.3f s%s\n", default_threads, omp_secs, serial_secs,
         serial ? "" : " (no --serial build given)");
  fprintf(csv, "small_gru,omp vs serial,%d,%.4f,%.4f,%.3f\n", default_threads, omp_secs, serial_secs,
          serial_secs > 0 ? omp_secs / serial_secs : 0);
  fclose(csv);
  printf("\nCSV written to %s\n", csv_path);
  printf("RESULT sgemm_1024_t1_vs_openblas=%.2f sgemm_1024_t2_vs_openblas=%.2f step_t2_speedup=%.2f conv_vs_sgemm_rate=%.2f"
         " sgemm_1024_t1_gflops=%.1f sgemm_1024_t2_gflops=%.1f imdb_gru_step_t2_tokens_per_second=%.0f"
         " imdb_gru_step_t2_speedup=%.2f airbench_b128_t1_vs_torch=%s airbench_b128_t2_vs_torch=%s"
         " airbench_b1024_t2_vs_torch=%s fmnist_cnn_t2_vs_torch=%s gru_t2_vs_torch=%s lstm_t2_vs_torch=%s"
         " fp32_peak_t1_gflops=%.1f fp32_peak_t2_gflops=%.1f gemm_t1_of_peak=%.2f conv_t1_of_peak=%.2f"
         " small_gru_omp_vs_serial=%s cpu=\"%s\"\n",
         sgemm_ratio[1], sgemm_ratio[2], cases[AIR128].nn[2] / cases[AIR128].nn[1], conv_gflops[2] / sgemm_1024[2],
         sgemm_1024[1], sgemm_1024[2], cases[GRU].nn[2], cases[GRU].nn[2] / cases[GRU].nn[1],
         ratio(r[0], cases[AIR128].nn[1], cases[AIR128].torch[1]), ratio(r[1], cases[AIR128].nn[2], cases[AIR128].torch[2]),
         ratio(r[2], cases[AIR1024].nn[2], cases[AIR1024].torch[2]), ratio(r[3], cases[FMNIST].nn[2], cases[FMNIST].torch[2]),
         ratio(r[4], cases[GRU].nn[2], cases[GRU].torch[2]), ratio(r[5], cases[LSTM].nn[2], cases[LSTM].torch[2]),
         peak[1], peak[2], sgemm_1024[1] / peak[1], conv_gflops[1] / peak[1], ratio(r[6], omp_secs, serial_secs), cpu);
  return 0;
}
