/* Data-parallel training speed (nn_mpi.h): images per second of one
   configuration of ranks and threads, the communication per step and how
   much of it backward hides.  tools/bench_mpi.sh runs the comparisons.
     mpicc -O3 -march=native -fopenmp -I. tools/bench_mpi.c -o build/bench_mpi -lm
     mpirun -np 2 build/bench_mpi fmnist|airbench GLOBAL_BATCH STEPS THREADS [BUCKET_BYTES]
   Random images (the work does not depend on them); SGD as the examples
   use it; 2 warm-up steps.  Rank 0 prints one line:
     BENCH net= ranks= threads= batch= images_per_second= step_ms= backward_ms=
           exposed_ms= allreduce_ms= hidden_fraction= bytes_per_step= buckets=
   allreduce_ms: a blocking MPI_Allreduce of the step's gradient bytes,
   timed alone: what the reduction costs without overlap; exposed_ms: the
   time a step waited after backward, the reduction not hidden and any
   wait for a slower rank (on a busy machine mostly the latter);
   hidden_fraction = 1 - exposed / allreduce (1: all hidden; 0 on one
   rank). */
#define _POSIX_C_SOURCE 199309L
#define NN_IMPLEMENTATION
#include "nn.h"
#define NN_MPI_IMPLEMENTATION
#include "nn_mpi.h"
#include <stdlib.h>
#include <string.h>
#include "bench_common.h"

static void fail(const char *what) {
  fprintf(stderr, "bench_mpi: %s: %s\n", what, nn_last_error());
  MPI_Abort(MPI_COMM_WORLD, 1);
}

int main(int argc, char **argv) {
  int rank, size, batch, steps, threads, per, start, count, i, airbench;
  nn_graph *g;
  nn_model *m;
  nn_optimizer *o;
  nn_mpi *dp;
  nn_mpi_stats st;
  double t0, t, allreduce = 0;
  (void)imdb_graph;   /* bench_common.h's other network */
  (void)imdb_batch;
  memset(&st, 0, sizeof st);
  MPI_Init(&argc, &argv);
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  if (argc < 5 || (strcmp(argv[1], "fmnist") && strcmp(argv[1], "airbench"))) {
    if (rank == 0) fprintf(stderr, "usage: bench_mpi fmnist|airbench GLOBAL_BATCH STEPS THREADS [BUCKET_BYTES]\n");
    MPI_Finalize();
    return 2;
  }
  airbench = !strcmp(argv[1], "airbench");
  batch = atoi(argv[2]);
  steps = atoi(argv[3]);
  threads = atoi(argv[4]);
  if (batch < size || steps < 1 || threads < 1) {
    if (rank == 0) fprintf(stderr, "bench_mpi: a batch of at least the %d ranks, steps and threads >= 1\n", size);
    MPI_Finalize();
    return 2;
  }
  nn_set_threads(threads);
  g = airbench ? airbench_graph() : fashion_graph();
  per = (batch + size - 1) / size;
  if (!(m = nn_compile(g, per, nn_cpu_backend()))) fail("compile");
  if (!(o = nn_sgd(m, 1e-3f, 0.9f, 5e-4f, NN_NESTEROV))) fail("optimizer");
  if (!(dp = nn_mpi_attach(m, MPI_COMM_WORLD))) fail("attach");
  if (argc > 5 && !nn_mpi_set_bucket_bytes(dp, (size_t)atol(argv[5]))) fail("bucket size");
  nn_mpi_shard(dp, batch, &start, &count);
  nn_set_batch(m, count);
  random_image_batch(m, count);
  for (i = 0; i < 2; i++) {
    float loss = nn_mpi_train_step(dp, o);
    if (loss != loss) fail("warm-up step");
  }
  nn_mpi_reset_stats(dp);
  MPI_Barrier(MPI_COMM_WORLD);
  t0 = now();
  for (i = 0; i < steps; i++) {
    float loss = nn_mpi_train_step(dp, o);
    if (loss != loss) fail("step");
  }
  MPI_Barrier(MPI_COMM_WORLD);
  t = now() - t0;
  nn_mpi_get_stats(dp, &st);
  /* the same bytes all-reduced alone, blocking */
  {
    size_t n = st.bytes_per_step / sizeof(float);
    float *buf = (float *)calloc(n ? n : 1, sizeof(float));
    int reps = 10;
    MPI_Barrier(MPI_COMM_WORLD);
    t0 = now();
    for (i = 0; i < reps; i++) MPI_Allreduce(MPI_IN_PLACE, buf, (int)n, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);
    allreduce = (now() - t0) / reps;
    free(buf);
  }
  if (rank == 0) {
    double exposed = st.wait_seconds / st.steps, hidden = size > 1 && allreduce > 0 ? 1.0 - exposed / allreduce : 0.0;
    if (hidden < 0) hidden = 0;
    printf("BENCH net=%s ranks=%d threads=%d batch=%d images_per_second=%.1f step_ms=%.2f backward_ms=%.2f exposed_ms=%.3f "
           "allreduce_ms=%.3f hidden_fraction=%.3f bytes_per_step=%zu buckets=%d\n",
           argv[1], size, threads, batch, (double)batch * steps / t, 1e3 * t / steps, 1e3 * st.backward_seconds / st.steps,
           1e3 * exposed, 1e3 * allreduce, hidden, st.bytes_per_step, st.buckets_per_step);
  }
  nn_mpi_free(dp);
  nn_optimizer_free(o);
  nn_model_free(m);
  MPI_Finalize();
  return 0;
}
