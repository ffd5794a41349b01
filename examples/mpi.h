/* examples/mpi.h — what the examples add when built with -DNN_MPI (mpicc):
   data-parallel training with nn_mpi.h under mpirun -np N.  Include it
   after common.h.

   Every rank reads the data, draws the same global batches (the order
   and the augmentation come from the checkpointed generator, so they are
   the same on every rank and for every rank count) and trains on its
   shard of each: --batch stays the global batch and --lr its learning
   rate, and N ranks compute what one process would, up to float sums
   (batch norm: each rank's own statistics; NN_MPI_SYNC_BN=1 in the
   environment synchronises them, CPU only).  Rank 0 alone prints, logs
   and writes --save, --onnx and --checkpoint (atomically); every rank
   reads --resume, which may come from a run on another number of ranks.
   Evaluation runs on every rank (the others would wait for rank 0).
   A rank that fails exits 1 through MPI_Abort, which ends the job; a rank
   that hangs makes the others fail after NN_MPI_TIMEOUT seconds (default
   600).

   Built without -DNN_MPI, the examples include none of this; built with
   it and run without mpirun (one rank), they train and print as without. */
#ifndef EX_MPI_H
#define EX_MPI_H

#ifdef NN_IMPLEMENTATION
#define NN_MPI_IMPLEMENTATION
#endif
#include "nn_mpi.h"

static nn_mpi *ex_dp;          /* the training model's data-parallel copy */
static int ex_rank, ex_size = 1;

static int ex_mpi_finished;    /* main got to its end */

/* at exit: MPI_Finalize after a run that got to its end; after an error
   (exit 1 anywhere) MPI_Abort, which ends every rank at once, where
   MPI_Finalize would wait for ranks stuck in a collective */
static void ex_mpi_at_exit(void) {
  if (!ex_mpi_finished) MPI_Abort(MPI_COMM_WORLD, 1);
  nn_mpi_free(ex_dp);
  ex_dp = NULL;
  MPI_Finalize();
}
/* before main returns 0 */
static inline void ex_mpi_finish(void) { ex_mpi_finished = 1; }

/* after ex_parse (--help and bad flags exit before MPI starts): MPI_Init,
   and ranks other than 0 print and write nothing */
static inline void ex_mpi_start(ex_args *a) {
  MPI_Init(NULL, NULL);
  MPI_Comm_rank(MPI_COMM_WORLD, &ex_rank);
  MPI_Comm_size(MPI_COMM_WORLD, &ex_size);
  atexit(ex_mpi_at_exit);
  if (ex_rank == 0) return;
  a->log = a->save = a->onnx = a->checkpoint = NULL;
  a->quiet = 1;
  if (!freopen("/dev/null", "w", stdout)) exit(1);
}

/* a rank's share of a global batch: the most samples one rank gets (the
   batch to compile); exits 2 for a batch smaller than the ranks */
static inline int ex_mpi_batch(const ex_args *a, int global) {
  if (global < ex_size) {
    fprintf(stderr, "%s: a batch of %d is smaller than the %d ranks\n", a->prog, global, ex_size);
    exit(2);
  }
  return (global + ex_size - 1) / ex_size;
}

/* makes m data-parallel (after nn_compile, before training) */
static inline void ex_mpi_attach(const ex_args *a, nn_model *m) {
  const char *sync = getenv("NN_MPI_SYNC_BN"), *timeout = getenv("NN_MPI_TIMEOUT");
  if (!(ex_dp = nn_mpi_attach(m, MPI_COMM_WORLD))) ex_die(a, "MPI");
  if (sync && !strcmp(sync, "1") && !nn_mpi_set_sync_batchnorm(ex_dp, 1)) ex_die(a, "NN_MPI_SYNC_BN");
  if (timeout && !nn_mpi_set_timeout(ex_dp, atof(timeout))) ex_die(a, "NN_MPI_TIMEOUT");
  if (!a->quiet && ex_size > 1)
    printf("%s: %d MPI ranks, each training on its shard of every batch (at most %d samples)\n", a->prog, ex_size,
           m->max_batch);
}

/* this rank's part of a global batch of n samples: sets m's batch to its
   count and returns its first sample; -1 on every rank for a batch of
   fewer samples than ranks (the end of an epoch), which is left out */
static inline int ex_mpi_shard(const ex_args *a, nn_model *m, int n, int *count) {
  int start = 0;
  if (n < ex_size) return -1;
  if (!nn_mpi_shard(ex_dp, n, &start, count) || !nn_set_batch(m, *count)) ex_die(a, "sharding a batch");
  return start;
}

/* the sum of v over the ranks (metrics) */
static inline double ex_mpi_sum(const ex_args *a, double v) {
  if (!nn_mpi_sum(ex_dp, &v, 1)) ex_die(a, "summing over the ranks");
  return v;
}

/* nn_batches for the global batch, without a model of that batch: the
   same order from the same generator, each batch gathered whole on every
   rank (x, y: n samples) */
typedef struct ex_batches {
  float *x, *y;
  int n, index, count, batch;
  const nn_dataset *d;
  nn_rng *r;
  int *order;
} ex_batches;
static inline void ex_batches_free(ex_batches *it) {
  if (!it) return;
  free(it->x);
  free(it->y);
  free(it->order);
  free(it);
}
static inline ex_batches *ex_batches_new(const nn_dataset *d, int batch, nn_rng *r) {
  ex_batches *it = (ex_batches *)calloc(1, sizeof *it);
  if (!it) return NULL;
  it->d = d;
  it->r = r;
  it->batch = batch;
  it->count = (d->n + batch - 1) / batch;
  it->index = -1;
  it->x = (float *)malloc((size_t)batch * nn_shape_numel(&d->shape) * sizeof(float));
  it->y = (float *)malloc((size_t)batch * sizeof(float));
  it->order = (int *)malloc((size_t)d->n * sizeof(int));
  if (!it->x || !it->y || !it->order) { ex_batches_free(it); return NULL; }
  return it;
}
/* 1 with a batch, 0 at the end of an epoch (the next call starts one) */
static inline int ex_batches_next(ex_batches *it) {
  int i, B = it->batch;
  if (it->index == it->count - 1) {
    it->index = -1;
    it->n = 0;
    return 0;
  }
  if (++it->index == 0) {
    for (i = 0; i < it->d->n; i++) it->order[i] = i;
    if (it->r) nn_shuffle(it->r, it->order, it->d->n);
  }
  it->n = it->d->n - it->index * B < B ? it->d->n - it->index * B : B;
  nn_dataset_gather(it->d, it->order + (size_t)it->index * B, it->n, it->x, it->y);
  return 1;
}
#endif /* EX_MPI_H */
