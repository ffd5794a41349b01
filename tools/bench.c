/* nn.h CPU benchmark: SGEMM against OpenBLAS measured in the same run, the
   conv layers of the CIFAR-10 network, the LSTM/GRU layer of the IMDb
   network, and whole training steps, on 1 and 2 threads.  Prints a table, writes CSV, ends with a RESULT line.

   Run: make bench   (tools/bench.sh builds this file and finds OpenBLAS)
   By hand: cc -O3 -march=native -fopenmp -I. -DNN_BENCH_OPENBLAS tools/bench.c -lopenblas -lm
   Flags: --quick (fewer sizes and repetitions), --csv FILE (default build/bench.csv) */
#define _POSIX_C_SOURCE 199309L
#define NN_IMPLEMENTATION
#include "nn.h"
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

static double conv_rate;

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
    printf("%-10s %-22s %3d %10.2f %9.1f %9.0f%%\n", "all convs", "", t, total_secs * 1e3, total_flops / total_secs / 1e9,
           100 * total_flops / total_secs / 1e9 / sgemm_1024[t]);
    if (t == 2) conv_rate = total_flops / total_secs / 1e9 / sgemm_1024[t];
    nn_model_free(m);
  }
}

static double step_speedup;
static double gru_tokens[3];  /* [threads] IMDb GRU training step, tokens/s */

/* whole training steps (forward, backward, SGD update) */
static void bench_steps(int batch) {
  double ips[3] = {0, 0, 0};
  int t;
  printf("\nCIFAR-10 airbench training step, batch %d\n", batch);
  printf("%3s %12s %12s\n", "thr", "ms/step", "images/s");
  for (t = 1; t <= 2; t++) {
    nn_model *m;
    nn_optimizer *o;
    double secs;
    set_threads(t);
    m = nn_compile(airbench_graph(), batch, nn_cpu_backend());
    o = nn_sgd(m, 0.01f, 0.85f, 5e-4f, NN_NESTEROV);
    random_image_batch(m, batch);
    BEST_OF(quick ? 2 : 3, secs, nn_train_step(m, o));
    ips[t] = batch / secs;
    printf("%3d %12.1f %12.1f\n", t, secs * 1e3, ips[t]);
    fprintf(csv, "step,airbench batch %d,%d,%.3f,%.2f\n", batch, t, secs * 1e3, ips[t]);
    nn_optimizer_free(o);
    nn_model_free(m);
  }
  step_speedup = ips[2] / ips[1];
  printf("2-thread speed-up: %.2fx\n", step_speedup);
}

/* forward+backward of the recurrent layer alone, then whole training steps
   (forward, backward, Adam update), in tokens per second */
static void bench_recurrent(int batch, int steps) {
  static const char *names[2] = {"GRU", "LSTM"};
  int lstm, t, k;
  printf("\nIMDb recurrent layer (bidirectional, %d units, embed %d), batch %d x %d tokens\n", IMDB_HIDDEN, IMDB_EMBED,
         batch, steps);
  printf("%-5s %3s %14s %12s %14s %12s\n", "layer", "thr", "layer ms", "tokens/s", "step ms", "tokens/s");
  for (lstm = 0; lstm < 2; lstm++) {
    for (t = 1; t <= 2; t++) {
      nn_model *m;
      nn_optimizer *o;
      nn_node *rec = NULL;
      double layer_secs, step_secs, tokens = (double)batch * steps;
      set_threads(t);
      m = nn_compile(imdb_graph(lstm, steps), batch, nn_cpu_backend());
      o = nn_adam(m, 3e-3f, 0.9f, 0.999f, 1e-8f, 0.0f, 0);
      imdb_batch(m, batch, steps, steps);
      for (k = 0; k < m->graph->n; k++)
        if (m->graph->nodes[k]->op == (lstm ? NN_OP_LSTM : NN_OP_GRU)) rec = m->graph->nodes[k];
      nn_forward(m, 1);
      nn_backward(m);
      BEST_OF(quick ? 2 : 4, layer_secs, (m->backend->ops->forward(m->backend, m, rec), m->backend->ops->backward(m->backend, m, rec)));
      BEST_OF(quick ? 2 : 3, step_secs, nn_train_step(m, o));
      printf("%-5s %3d %14.1f %12.0f %14.1f %12.0f\n", names[lstm], t, layer_secs * 1e3, tokens / layer_secs,
             step_secs * 1e3, tokens / step_secs);
      fprintf(csv, "recurrent,%s layer fwd+bwd,%d,%.3f,%.0f\n", names[lstm], t, layer_secs * 1e3, tokens / layer_secs);
      fprintf(csv, "step,imdb %s batch %d x %d,%d,%.3f,%.0f\n", names[lstm], batch, steps, t, step_secs * 1e3,
              tokens / step_secs);
      if (!lstm) gru_tokens[t] = tokens / step_secs;
      nn_optimizer_free(o);
      nn_model_free(m);
    }
  }
}

int main(int argc, char **argv) {
  const char *csv_path = "build/bench.csv";
  int i;
  for (i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--quick")) quick = 1;
    else if (!strcmp(argv[i], "--csv") && i + 1 < argc) csv_path = argv[++i];
    else { fprintf(stderr, "usage: %s [--quick] [--csv FILE]\n", argv[0]); return 2; }
  }
  if (!(csv = fopen(csv_path, "w"))) { fprintf(stderr, "bench: cannot write %s\n", csv_path); return 1; }
  fprintf(csv, "section,name,threads,a,b,ratio\n");
#ifndef NN_BENCH_OPENBLAS
  printf("OpenBLAS not linked: the reference columns read 0 (install libopenblas-dev and use make bench)\n");
#endif
#ifndef _OPENMP
  printf("built without OpenMP: the 2-thread rows run on one thread\n");
#endif
  bench_gemm();
  bench_conv_layers(quick ? 64 : 128);
  bench_steps(quick ? 64 : 128);
  bench_recurrent(64, quick ? 100 : 256);
  fclose(csv);
  printf("\nCSV written to %s\n", csv_path);
  printf("RESULT sgemm_1024_t1_vs_openblas=%.2f sgemm_1024_t2_vs_openblas=%.2f step_t2_speedup=%.2f conv_vs_sgemm_rate=%.2f"
         " sgemm_1024_t1_gflops=%.1f sgemm_1024_t2_gflops=%.1f imdb_gru_step_t2_tokens_per_second=%.0f"
         " imdb_gru_step_t2_speedup=%.2f\n",
         sgemm_ratio[1], sgemm_ratio[2], step_speedup, conv_rate, sgemm_1024[1], sgemm_1024[2], gru_tokens[2],
         gru_tokens[1] > 0 ? gru_tokens[2] / gru_tokens[1] : 0);
  return 0;
}
