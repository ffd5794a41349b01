/* nn_mpi.h — data-parallel training for nn.h over MPI.

   Makes a compiled model one of N identical copies, one per MPI process
   (rank), each training on its shard of every global batch: the copies
   start from rank 0's weights, their gradients are summed by MPI
   all-reduce while backward still runs, and every rank then takes the
   same optimizer step.  Any backend: gradients go through the host, one
   read and one write per bucket (nn_model_read_grads, nn_model_write_
   grads), so OpenCL models train this way too.
   nn.h itself stays free of MPI; this header needs <mpi.h> (OpenMPI,
   MPICH) and is built with mpicc.

   USAGE
     In the one file that defines NN_IMPLEMENTATION, after nn.h:
         #define NN_IMPLEMENTATION
         #include "nn.h"
         #define NN_MPI_IMPLEMENTATION
         #include "nn_mpi.h"
     Elsewhere include nn.h and then nn_mpi.h for the declarations.

         MPI_Init(&argc, &argv);
         m = nn_compile(g, per_rank_batch, nn_cpu_backend());   // same graph, same seed everywhere
         opt = nn_sgd(m, ...);
         dp = nn_mpi_attach(m, MPI_COMM_WORLD);    // every rank: rank 0's weights
         for (step ..) {
           nn_mpi_shard(dp, global_n, &start, &n);  // this rank's samples of the batch
           nn_set_batch(m, n); nn_feed(m, ..);      // start .. start + n - 1
           loss = nn_mpi_train_step(dp, opt);       // the global batch's loss
         }
         if (nn_mpi_rank(dp) == 0) nn_safetensors_save(m, ..);
         nn_mpi_free(dp); .. MPI_Finalize();

   SEMANTICS
     A step on N ranks is the step one process would take on the global
     batch (the union of the shards), up to the order of float sums: each
     rank seeds its backward pass with its share of the loss (n_r / N for
     a mean loss, 1 for a loss op built with NN_SUM; a loss node of any
     other op counts as a mean over the batch), so the summed gradients
     are the global batch's, also for shards of different sizes.
     Gradient clipping and the non-finite guard of nn_optimizer_step see
     the summed gradients, the same on every rank, so every rank takes
     (or skips) the same step.  Batch norm uses each rank's own batch
     statistics by default (as PyTorch's DDP does); nn_mpi_set_sync_
     batchnorm makes it use the global batch's (on a device through the
     host: a small read and write per batch norm in forward and in
     backward).  Dropout masks differ per rank: each step seeds the
     model's generator from a shared stream and the rank, and puts the
     shared stream back, so a checkpoint holds nothing rank-specific.  On
     one rank a step is nn_train_step's, dropout included: a program built
     for MPI and run without mpirun trains as it would without MPI.

   ORDER OF CALLS
     Every rank must make the same calls of this header in the same order
     (they are collective, like MPI's), with models built from the same
     graph.  Gradients are reduced in buckets of about nn_mpi_set_bucket_
     bytes bytes, in the order backward finishes them (the last layers
     first): a bucket's all-reduce starts as soon as it is full and runs
     while earlier layers go on with backward.

   FAILURES
     A rank that dies or hangs does not hang the others: every collective
     here waits at most nn_mpi_set_timeout seconds (default 600) and then
     fails with a reason naming the operation; the caller should then end
     the job (MPI_Abort), since the lost collective cannot be taken back.
     MPI errors are returned, not fatal (MPI_ERRORS_RETURN on a duplicate
     of the communicator), and become the failing call's reason.  After a
     failure the object refuses further steps.

   CHECKPOINTS
     A checkpoint holds no rank-specific state, so a run resumes on the
     same or a different number of ranks: save on rank 0 only (nn_mpi_
     checkpoint_save, atomic as nn_checkpoint_save), load on every rank
     (nn_checkpoint_load from a file every rank can read).  The caller's
     data order must be a function of the global step and a generator
     drawn the same on every rank (nn_checkpoint_info's data_rng), as in
     examples/: then the same rank count resumes exactly and another one
     continues the same global batches.

   LICENSE: MIT, as nn.h. */
#ifndef NN_MPI_H
#define NN_MPI_H

#ifndef NN_H
#error "include nn.h before nn_mpi.h"
#endif
/* the C API only: MPI's deprecated C++ bindings do not compile warning-free */
#if defined(__cplusplus) && !defined(OMPI_SKIP_MPICXX)
#define OMPI_SKIP_MPICXX 1
#endif
#if defined(__cplusplus) && !defined(MPICH_SKIP_MPICXX)
#define MPICH_SKIP_MPICXX 1
#endif
#include <mpi.h>

#ifdef __cplusplus
extern "C" {
#endif

/* a model made one of the data-parallel copies of a communicator */
typedef struct nn_mpi nn_mpi;
/* Collective over comm: every rank's model takes rank 0's parameters and
   buffers (batch-norm statistics and counts) and its generator's state;
   a rank whose model differs in shape fails on every rank.  The object
   holds a reference to the model and sets its gradient hook.  NULL with
   the reason on failure. */
NNDEF nn_mpi *nn_mpi_attach(nn_model *m, MPI_Comm comm);
/* removes the hooks and frees dp (a model freed before it lives until
   then); collective only in that MPI frees the duplicate communicator */
NNDEF void nn_mpi_free(nn_mpi *dp);
/* this copy's rank and the number of ranks */
NNDEF int nn_mpi_rank(const nn_mpi *dp);   /* -1 for NULL */
NNDEF int nn_mpi_size(const nn_mpi *dp);   /* -1 for NULL */
/* bytes of gradient per all-reduce bucket (default 1 MiB; at least 4) */
NNDEF int nn_mpi_set_bucket_bytes(nn_mpi *dp, size_t bytes);
/* 1: batch norms normalise with the global batch's statistics */
NNDEF int nn_mpi_set_sync_batchnorm(nn_mpi *dp, int on);
/* seconds any collective may wait for the other ranks (> 0) */
NNDEF int nn_mpi_set_timeout(nn_mpi *dp, double seconds);
/* this rank's part of n samples: the contiguous range start .. start +
   *count - 1, sizes differing by at most one, lower ranks first */
NNDEF int nn_mpi_shard(const nn_mpi *dp, int n, int *start, int *count);
/* forward, backward with the bucketed all-reduce, the optimizer step on
   the summed gradients; the global batch's loss (the same on every rank),
   NAN on failure, INFINITY for a step skipped (NN_NONFINITE_SKIP), as
   nn_train_step.  Feed the rank's shard first (nn_set_batch, nn_feed). */
NNDEF float nn_mpi_train_step(nn_mpi *dp, nn_optimizer *o);
/* rank 0's parameters, buffers and generator to every rank (what attach
   does), e.g. after rank 0 alone loaded weights */
NNDEF int nn_mpi_broadcast(nn_mpi *dp);
/* v[0..n) := their sums over all ranks (metrics: correct counts, losses) */
NNDEF int nn_mpi_sum(nn_mpi *dp, double *v, int n);
/* rank 0 writes the checkpoint (atomically); every rank returns whether
   it succeeded, with rank 0's reason */
NNDEF int nn_mpi_checkpoint_save(nn_mpi *dp, const nn_optimizer *o, const nn_ema *e,
                                 const nn_checkpoint_info *info, const char *path);

/* What the reductions cost, summed over the steps since attach (or the
   last reset): bytes and buckets are per step. */
typedef struct nn_mpi_stats {
  long steps;
  size_t bytes_per_step;      /* gradient bytes each rank all-reduces per step */
  int buckets_per_step;
  double step_seconds;        /* in nn_mpi_train_step */
  double backward_seconds;    /* forward and backward, buckets started inside */
  double wait_seconds;        /* after backward, waiting for the reductions:
                                 the communication that backward did not hide */
} nn_mpi_stats;
NNDEF int nn_mpi_get_stats(const nn_mpi *dp, nn_mpi_stats *s);
NNDEF int nn_mpi_reset_stats(nn_mpi *dp);

#ifdef __cplusplus
}
#endif
#endif /* NN_MPI_H */

/* ######################################################################
   IMPLEMENTATION
   ###################################################################### */
#ifdef NN_MPI_IMPLEMENTATION
#ifndef NN__MPI_IMPLEMENTED
#define NN__MPI_IMPLEMENTED

#ifndef NN_IMPLEMENTATION
#error "define NN_MPI_IMPLEMENTATION in the file that defines NN_IMPLEMENTATION, after including nn.h"
#endif

#include <math.h>
#include <string.h>
#if !defined(_WIN32)
#include <sched.h>   /* sched_yield while polling: oversubscribed ranks share cores */
#endif

struct nn_mpi {
  nn_model *m;
  MPI_Comm comm;
  int rank, size;
  size_t bucket_floats;
  double timeout;
  int sync_bn;
  int broken;                 /* a collective failed or timed out: no more steps */
  /* the gradients of one step, in the order backward finishes them */
  float *staging;             /* every gradient, one after another */
  size_t total, used;         /* floats: all gradients; in buckets so far */
  const nn_node **params;     /* the order of the step */
  int nparams, nstaged;
  /* bucket b: params[bucket_first[b] .. bucket_first[b+1]), their
     gradients at staging[bucket_start[b] .. bucket_start[b+1]) */
  MPI_Request *req;
  size_t *bucket_start;
  int *bucket_first;
  int nbuckets;
  int order_checked;          /* the first step compared the order across ranks */
  nn_mpi_stats stats;
};

/* an MPI error code as nn.h's reason */
static int nn__mpi_fail(nn_mpi *dp, int code, const char *what) {
  char msg[MPI_MAX_ERROR_STRING];
  int len = 0;
  if (MPI_Error_string(code, msg, &len) != MPI_SUCCESS) snprintf(msg, sizeof msg, "MPI error %d", code);
  dp->broken = 1;
  return nn__fail("mpi rank %d: %s: %s", dp->rank, what, msg);
}
/* waits for requests with the deadline; a rank that stopped answering
   becomes an error, not a hang */
static int nn__mpi_wait(nn_mpi *dp, int count, MPI_Request *req, const char *what) {
  double deadline = MPI_Wtime() + dp->timeout;
  int done = 0, rc;
  for (;;) {
    if ((rc = MPI_Testall(count, req, &done, MPI_STATUSES_IGNORE)) != MPI_SUCCESS) return nn__mpi_fail(dp, rc, what);
    if (done) return 1;
    if (MPI_Wtime() > deadline) {
      dp->broken = 1;
      return nn__fail("mpi rank %d: %s did not complete within %g s: another of the %d ranks has died or stopped "
                      "answering (end the job: MPI_Abort)", dp->rank, what, dp->timeout, dp->size);
    }
#if !defined(_WIN32)
    sched_yield();
#endif
  }
}
static int nn__mpi_allreduce(nn_mpi *dp, void *buf, int n, MPI_Datatype type, MPI_Op op, const char *what) {
  MPI_Request r;
  int rc = MPI_Iallreduce(MPI_IN_PLACE, buf, n, type, op, dp->comm, &r);
  return rc == MPI_SUCCESS ? nn__mpi_wait(dp, 1, &r, what) : nn__mpi_fail(dp, rc, what);
}
static int nn__mpi_bcast(nn_mpi *dp, void *buf, int n, MPI_Datatype type, const char *what) {
  MPI_Request r;
  int rc = MPI_Ibcast(buf, n, type, 0, dp->comm, &r);
  return rc == MPI_SUCCESS ? nn__mpi_wait(dp, 1, &r, what) : nn__mpi_fail(dp, rc, what);
}
/* every rank's ok, and-ed: a failure on one rank fails all, each with its
   own reason or one naming the failed rank */
static int nn__mpi_all_ok(nn_mpi *dp, int ok, const char *what) {
  int first = ok ? dp->size : dp->rank;   /* MIN: the first failed rank, else size */
  if (!nn__mpi_allreduce(dp, &first, 1, MPI_INT, MPI_MIN, what)) return 0;
  if (first == dp->size) return 1;
  if (ok) nn__fail("mpi rank %d: %s failed on rank %d", dp->rank, what, first);
  return 0;
}
static int nn__mpi_ok(const nn_mpi *dp, const char *fn) {
  if (!dp) return nn__null(fn, "data-parallel object");
  if (dp->broken) return nn__fail("%s: an earlier collective of rank %d failed; end the job", fn, dp->rank);
  return nn__model_ok(dp->m, fn);
}

/* ---- broadcast of rank 0's state ---- */
NNDEF int nn_mpi_broadcast(nn_mpi *dp) {
  nn_model *m;
  nn_backend *be;
  size_t total = 0, off = 0;
  float *buf;
  int i, n, ok = 1;
  long long sig[2];
  if (!nn__mpi_ok(dp, "mpi_broadcast")) return 0;
  m = dp->m;
  be = m->backend;
  n = m->graph->n;
  for (i = 0; i < n; i++)
    if (m->graph->nodes[i]->op == NN_OP_PARAM && m->value[i]) total += nn__per(m->graph->nodes[i]);
  /* the models must match: node count and parameter floats */
  sig[0] = n;
  sig[1] = (long long)total;
  if (!nn__mpi_bcast(dp, sig, 2, MPI_LONG_LONG, "mpi_broadcast: the model's signature")) return 0;
  if (sig[0] != n || sig[1] != (long long)total)
    ok = nn__fail("mpi_broadcast: rank %d's model (%d nodes, %zu parameter floats) differs from rank 0's (%lld nodes, "
                  "%lld floats): build the same graph on every rank", dp->rank, n, total, sig[0], sig[1]);
  if (!nn__mpi_all_ok(dp, ok, "mpi_broadcast: comparing the models")) return 0;
  if (total > (size_t)0x7fffffff) return nn__fail("mpi_broadcast: %zu floats are more than one MPI message holds", total);
  if (!(buf = (float *)nn__calloc(total ? total : 1, sizeof(float)))) return 0;
  for (i = 0; ok && i < n; i++)
    if (m->graph->nodes[i]->op == NN_OP_PARAM && m->value[i]) {
      size_t len = nn__per(m->graph->nodes[i]);
      ok = dp->rank != 0 || be->ops->read(be, m->value[i], 0, buf + off, len);
      off += len;
    }
  if (!nn__mpi_all_ok(dp, ok, "mpi_broadcast: reading the weights") ||
      !nn__mpi_bcast(dp, buf, (int)total, MPI_FLOAT, "mpi_broadcast: the weights") ||
      !nn__mpi_bcast(dp, m->batches, n, MPI_INT64_T, "mpi_broadcast: the batch-norm counts") ||
      !nn__mpi_bcast(dp, m->rng.s, 2, MPI_UINT64_T, "mpi_broadcast: the generator")) {
    NN_FREE(buf);
    return 0;
  }
  for (i = 0, off = 0; ok && i < n; i++)
    if (m->graph->nodes[i]->op == NN_OP_PARAM && m->value[i]) {
      size_t len = nn__per(m->graph->nodes[i]);
      ok = be->ops->write(be, m->value[i], 0, buf + off, len);
      off += len;
    }
  NN_FREE(buf);
  return nn__mpi_all_ok(dp, ok, "mpi_broadcast: writing the weights");
}

/* ---- the gradient hook: collect, and when a bucket is full read its
   gradients (one transfer) and start its all-reduce ---- */
static int nn__mpi_start_bucket(nn_mpi *dp) {
  size_t from = dp->bucket_start[dp->nbuckets];
  int first = dp->bucket_first[dp->nbuckets], rc;
  if (dp->nstaged == first) return 1;
  if (!nn_model_read_grads(dp->m, dp->params + first, dp->nstaged - first, dp->staging + from, dp->used - from)) return 0;
  rc = MPI_Iallreduce(MPI_IN_PLACE, dp->staging + from, (int)(dp->used - from), MPI_FLOAT, MPI_SUM, dp->comm,
                      &dp->req[dp->nbuckets]);
  if (rc != MPI_SUCCESS) return nn__mpi_fail(dp, rc, "starting a gradient all-reduce");
  dp->bucket_start[++dp->nbuckets] = dp->used;
  dp->bucket_first[dp->nbuckets] = dp->nstaged;
  return 1;
}
static int nn__mpi_grad_ready(void *ctx, nn_model *m, const nn_node *p) {
  nn_mpi *dp = (nn_mpi *)ctx;
  size_t len = nn__per(p);
  int done, rc;
  (void)m;
  if (dp->nstaged == dp->nparams || dp->used + len > dp->total)
    return nn__fail("mpi: the gradient of '%s' came twice in one step", p->name);
  dp->params[dp->nstaged++] = p;
  dp->used += len;
  if (dp->used - dp->bucket_start[dp->nbuckets] >= dp->bucket_floats && !nn__mpi_start_bucket(dp)) return 0;
  /* MPI moves non-blocking collectives on inside MPI calls: a test per
     gradient keeps the started buckets going while backward runs */
  if (dp->nbuckets && (rc = MPI_Testall(dp->nbuckets, dp->req, &done, MPI_STATUSES_IGNORE)) != MPI_SUCCESS)
    return nn__mpi_fail(dp, rc, "testing the gradient all-reduces");
  return 1;
}
static int nn__mpi_sum_across(void *ctx, double *sums, int n) {
  return nn__mpi_allreduce((nn_mpi *)ctx, sums, n, MPI_DOUBLE, MPI_SUM, "synchronised batch norm's all-reduce");
}

NNDEF nn_mpi *nn_mpi_attach(nn_model *m, MPI_Comm comm) {
  nn_mpi *dp;
  int i, rc, init = 0;
  if (!nn__model_ok(m, "mpi_attach")) return NULL;
  if (MPI_Initialized(&init) != MPI_SUCCESS || !init) {
    nn__fail("mpi_attach: MPI is not initialised (call MPI_Init first)");
    return NULL;
  }
  if (m->grad_ready) {
    nn__fail("mpi_attach: the model already has a gradient hook (attached twice?)");
    return NULL;
  }
  if (!(dp = (nn_mpi *)nn__calloc(1, sizeof *dp))) return NULL;
  dp->m = m;
  m->refs++;
  dp->comm = MPI_COMM_NULL;
  dp->bucket_floats = ((size_t)1 << 20) / sizeof(float);
  dp->timeout = 600;
  if ((rc = MPI_Comm_dup(comm, &dp->comm)) != MPI_SUCCESS) {
    nn__mpi_fail(dp, rc, "mpi_attach: duplicating the communicator");
    dp->comm = MPI_COMM_NULL;
    nn_mpi_free(dp);
    return NULL;
  }
  MPI_Comm_set_errhandler(dp->comm, MPI_ERRORS_RETURN);
  MPI_Comm_rank(dp->comm, &dp->rank);
  MPI_Comm_size(dp->comm, &dp->size);
  for (i = 0; i < m->graph->n; i++)
    if (m->graph->nodes[i]->op == NN_OP_PARAM && m->grad[i]) {
      dp->total += nn__per(m->graph->nodes[i]);
      dp->nparams++;
    }
  dp->staging = (float *)nn__calloc(dp->total ? dp->total : 1, sizeof(float));
  dp->params = (const nn_node **)nn__calloc((size_t)dp->nparams + 1, sizeof(const nn_node *));
  dp->req = (MPI_Request *)nn__calloc((size_t)dp->nparams + 1, sizeof(MPI_Request));
  dp->bucket_start = (size_t *)nn__calloc((size_t)dp->nparams + 2, sizeof(size_t));
  dp->bucket_first = (int *)nn__calloc((size_t)dp->nparams + 2, sizeof(int));
  if (!dp->staging || !dp->params || !dp->req || !dp->bucket_start || !dp->bucket_first || !nn_mpi_broadcast(dp)) {
    nn_mpi_free(dp);
    return NULL;
  }
  m->grad_ready = nn__mpi_grad_ready;
  m->grad_ready_ctx = dp;
  return dp;
}

NNDEF void nn_mpi_free(nn_mpi *dp) {
  if (!dp) return;
  if (dp->m->grad_ready_ctx == dp) { dp->m->grad_ready = NULL; dp->m->grad_ready_ctx = NULL; }
  if (dp->m->bn_sync_ctx == dp) { dp->m->bn_sync = NULL; dp->m->bn_sync_ctx = NULL; }
  nn__model_unref(dp->m);
  if (dp->comm != MPI_COMM_NULL) MPI_Comm_free(&dp->comm);
  /* a reduction that never completed may still write its buffer */
  if (!dp->broken) NN_FREE(dp->staging);
  NN_FREE((void *)dp->params);
  NN_FREE(dp->req);
  NN_FREE(dp->bucket_start);
  NN_FREE(dp->bucket_first);
  NN_FREE(dp);
}

NNDEF int nn_mpi_rank(const nn_mpi *dp) { return dp ? dp->rank : (nn__null("mpi_rank", "data-parallel object"), -1); }
NNDEF int nn_mpi_size(const nn_mpi *dp) { return dp ? dp->size : (nn__null("mpi_size", "data-parallel object"), -1); }
NNDEF int nn_mpi_set_bucket_bytes(nn_mpi *dp, size_t bytes) {
  if (!dp) return nn__null("mpi_set_bucket_bytes", "data-parallel object");
  if (bytes < sizeof(float) || bytes / sizeof(float) > 0x7fffffff)
    return nn__fail("mpi_set_bucket_bytes: %zu is outside 4 .. 8 GiB", bytes);
  dp->bucket_floats = bytes / sizeof(float);
  return 1;
}
NNDEF int nn_mpi_set_sync_batchnorm(nn_mpi *dp, int on) {
  if (!nn__mpi_ok(dp, "mpi_set_sync_batchnorm")) return 0;
  if (!nn_model_set_batchnorm_sync(dp->m, on ? nn__mpi_sum_across : NULL, on ? dp : NULL)) return 0;
  dp->sync_bn = on != 0;
  return 1;
}
NNDEF int nn_mpi_set_timeout(nn_mpi *dp, double seconds) {
  if (!dp) return nn__null("mpi_set_timeout", "data-parallel object");
  if (!(seconds > 0) || !isfinite(seconds)) return nn__fail("mpi_set_timeout: %g is not a positive number of seconds", seconds);
  dp->timeout = seconds;
  return 1;
}
NNDEF int nn_mpi_shard(const nn_mpi *dp, int n, int *start, int *count) {
  int q, r;
  if (!dp || !start || !count) return nn__null("mpi_shard", !dp ? "data-parallel object" : !start ? "start" : "count");
  if (n < 0) return nn__fail("mpi_shard: %d samples", n);
  q = n / dp->size;
  r = n % dp->size;
  *start = dp->rank * q + (dp->rank < r ? dp->rank : r);
  *count = q + (dp->rank < r);
  return 1;
}
NNDEF int nn_mpi_sum(nn_mpi *dp, double *v, int n) {
  if (!nn__mpi_ok(dp, "mpi_sum")) return 0;
  if (!v && n > 0) return nn__null("mpi_sum", "v");
  if (n < 0) return nn__fail("mpi_sum: %d values", n);
  return n == 0 || nn__mpi_allreduce(dp, v, n, MPI_DOUBLE, MPI_SUM, "mpi_sum");
}
NNDEF int nn_mpi_checkpoint_save(nn_mpi *dp, const nn_optimizer *o, const nn_ema *e, const nn_checkpoint_info *info,
                                 const char *path) {
  char reason[512];
  int ok = 1;
  if (!nn__mpi_ok(dp, "mpi_checkpoint_save")) return 0;
  reason[0] = 0;
  if (dp->rank == 0 && !(ok = nn_checkpoint_save(dp->m, o, e, info, path)))
    snprintf(reason, sizeof reason, "%s", nn_last_error());
  if (!nn__mpi_bcast(dp, &ok, 1, MPI_INT, "mpi_checkpoint_save") ||
      !nn__mpi_bcast(dp, reason, (int)sizeof reason, MPI_CHAR, "mpi_checkpoint_save"))
    return 0;
  return ok ? 1 : nn__fail("%s", reason);
}
NNDEF int nn_mpi_get_stats(const nn_mpi *dp, nn_mpi_stats *s) {
  if (!dp || !s) return nn__null("mpi_get_stats", dp ? "stats" : "data-parallel object");
  *s = dp->stats;
  return 1;
}
NNDEF int nn_mpi_reset_stats(nn_mpi *dp) {
  if (!dp) return nn__null("mpi_reset_stats", "data-parallel object");
  memset(&dp->stats, 0, sizeof dp->stats);
  return 1;
}

/* the loss node's reduction: a mean's gradients are weighted by the
   shard's share of the batch, a sum's are added as they are */
static int nn__mpi_loss_is_sum(const nn_model *m) {
  nn_op op = m->loss->op;
  return (op == NN_OP_CROSS_ENTROPY || op == NN_OP_BCE_LOGITS || op == NN_OP_MSE) && m->loss->attr.loss.reduction == NN_SUM;
}
/* every rank's gradients came in the same order (checked on the first
   step: a mismatch would add unrelated gradients) */
static int nn__mpi_check_order(nn_mpi *dp) {
  unsigned long long h = 1469598103934665603ULL, v[2];
  int i;
  for (i = 0; i < dp->nstaged; i++) h = (h ^ (unsigned long long)dp->params[i]->id) * 1099511628211ULL;
  v[0] = h;
  v[1] = ~h;
  if (!nn__mpi_allreduce(dp, v, 2, MPI_UNSIGNED_LONG_LONG, MPI_MAX, "comparing the gradient order")) return 0;
  if (v[0] != h || v[1] != ~h) {
    dp->broken = 1;
    return nn__fail("mpi rank %d: the ranks' backward passes finished their gradients in different orders: build the "
                    "same graph on every rank", dp->rank);
  }
  dp->order_checked = 1;
  return 1;
}

NNDEF float nn_mpi_train_step(nn_mpi *dp, nn_optimizer *o) {
  nn_model *m;
  nn_backend *be;
  MPI_Request count_req;
  double global_n, loss_sum, t0, t1, t2;
  float seed_dy, loss;
  nn_rng shared;
  long skipped;
  int i, rc, is_sum, ok;
  if (!nn__mpi_ok(dp, "mpi_train_step") || !nn__opt_ok(o, dp->m, "mpi_train_step")) return NAN;
  m = dp->m;
  be = m->backend;
  if (!m->loss) { nn__fail("mpi_train_step: the graph has no loss"); return NAN; }
  t0 = MPI_Wtime();
  is_sum = nn__mpi_loss_is_sum(m);
  /* the global batch size, for each rank's share of a mean loss; it
     arrives during forward */
  global_n = m->batch;
  if ((rc = MPI_Iallreduce(MPI_IN_PLACE, &global_n, 1, MPI_DOUBLE, MPI_SUM, dp->comm, &count_req)) != MPI_SUCCESS) {
    nn__mpi_fail(dp, rc, "mpi_train_step: summing the batch sizes");
    return NAN;
  }
  /* per-rank dropout from the shared stream, which is put back afterwards;
     one rank uses the stream as nn_train_step does */
  shared = m->rng;
  if (dp->size > 1) {
    uint64_t s = (uint64_t)nn_rng_u32(&shared) << 32;
    s |= nn_rng_u32(&shared);
    nn_rng_seed(&m->rng, s ^ (0x9e3779b97f4a7c15ULL * (uint64_t)(dp->rank + 1)));
  }
  dp->used = 0;
  dp->nstaged = 0;
  dp->nbuckets = 0;
  dp->bucket_start[0] = 0;
  dp->bucket_first[0] = 0;
  ok = nn_forward(m, 1) && nn__mpi_wait(dp, 1, &count_req, "mpi_train_step: summing the batch sizes");
  seed_dy = is_sum ? 1.0f : (float)(m->batch / global_n);
  ok = ok && nn_backward_from(m, m->loss, &seed_dy) && nn__mpi_start_bucket(dp);
  if (dp->size > 1) m->rng = shared;
  if (!ok) { dp->broken = 1; return NAN; }
  t1 = MPI_Wtime();
  /* the global loss: each rank's loss weighted as its gradient was */
  if (!be->ops->read(be, m->value[m->loss->id], 0, &loss, 1)) { dp->broken = 1; return NAN; }
  loss_sum = (double)loss * seed_dy;
  if ((rc = MPI_Iallreduce(MPI_IN_PLACE, &loss_sum, 1, MPI_DOUBLE, MPI_SUM, dp->comm, &dp->req[dp->nbuckets])) != MPI_SUCCESS) {
    nn__mpi_fail(dp, rc, "mpi_train_step: summing the loss");
    return NAN;
  }
  if (!nn__mpi_wait(dp, dp->nbuckets + 1, dp->req, "mpi_train_step: the gradient all-reduce")) return NAN;
  t2 = MPI_Wtime();
  if (!dp->order_checked && !nn__mpi_check_order(dp)) return NAN;
  for (i = 0; i < dp->nbuckets; i++)
    if (!nn_model_write_grads(m, dp->params + dp->bucket_first[i], dp->bucket_first[i + 1] - dp->bucket_first[i],
                              dp->staging + dp->bucket_start[i], dp->bucket_start[i + 1] - dp->bucket_start[i])) {
      dp->broken = 1;
      return NAN;
    }
  dp->stats.steps++;
  dp->stats.bytes_per_step = dp->used * sizeof(float);
  dp->stats.buckets_per_step = dp->nbuckets;
  dp->stats.backward_seconds += t1 - t0;
  dp->stats.wait_seconds += t2 - t1;
  loss = (float)loss_sum;
  skipped = o->skipped;
  if (!isfinite(loss)) {
    if (!nn__nonfinite(o, "loss", loss)) return NAN;
  } else if (!nn_optimizer_step(o)) return NAN;
  dp->stats.step_seconds += MPI_Wtime() - t0;
  return o->skipped != skipped ? INFINITY : loss;
}

#endif /* NN__MPI_IMPLEMENTED */
#endif /* NN_MPI_IMPLEMENTATION */
