/* nn.h — a single-header neural-network library for C99.

   Tensors, a differentiable computation graph, layers, losses, optimizers,
   data loading and metrics on a portable CPU path that needs only a C99
   compiler and libm.  An optional companion header, nn_opencl.h, runs the
   same graphs on OpenCL devices through the backend table declared below.

   USAGE
     In exactly one C or C++ file:
         #define NN_IMPLEMENTATION
         #include "nn.h"
     Everywhere else just #include "nn.h".

   CONFIGURATION (define before including)
     NN_STATIC            make every function static (private to one file)
     NN_MALLOC(n) NN_REALLOC(p,n) NN_FREE(p)   replace the allocator
     NN_ASSERT(x)         replace assert() for internal invariants
     NN_USE_CBLAS         route matrix products to cblas_sgemm (link a BLAS)
   Compile with -fopenmp to use several threads; results do not depend on
   the thread count beyond the rounding of parallel reductions.

   ERRORS
     Functions that can fail return 0 / NULL / NAN and leave a readable
     reason in nn_last_error().  The library never prints unless asked
     (nn_summary, nn_classification_report) and never exits.

   A TOUR
     nn_graph *g = nn_graph_new();
     nn_node *x = nn_input(g, "image", 3, (int[]){1, 28, 28});
     nn_node *y = nn_input(g, "label", 1, (int[]){1});
     nn_node *h = nn_relu(g, nn_conv2d(g, x, 32, 3, 1, 1));
     nn_node *logits = nn_dense(g, nn_flatten(g, nn_maxpool2d(g, h, 2, 2)), 10);
     nn_cross_entropy(g, logits, y, 0.0f, NN_MEAN);
     nn_model *m = nn_compile(g, 128, nn_cpu_backend());
     nn_optimizer *opt = nn_sgd(m, 0.05f, 0.9f, 5e-4f, NN_NESTEROV);
     nn_feed(m, "image", xb); nn_feed(m, "label", yb);
     float loss = nn_train_step(m, opt);

   LICENSE: MIT, see the end of this file. */
#ifndef NN_H
#define NN_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#ifndef NNDEF
#if defined(NN_STATIC) && defined(__GNUC__)
#define NNDEF static __attribute__((unused))  /* a user needs only some */
#elif defined(NN_STATIC)
#define NNDEF static
#else
#define NNDEF extern
#endif
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* ======================================================================
   Configuration limits
   ====================================================================== */
#define NN_MAX_DIMS 4    /* dimensions of one sample (the batch is extra) */
#define NN_MAX_INPUTS 6  /* inputs of one op, parameters included */
#define NN_NAME_LEN 64

/* ======================================================================
   Errors
   ====================================================================== */
NNDEF const char *nn_last_error(void);   /* reason of the last failure */
NNDEF void nn_clear_error(void);

/* ======================================================================
   Random numbers: a small seeded generator (xoshiro128+ style) so that
   the same seed gives the same run on every platform.
   ====================================================================== */
typedef struct nn_rng { uint64_t s[2]; } nn_rng;
NNDEF void nn_rng_seed(nn_rng *r, uint64_t seed);
NNDEF uint32_t nn_rng_u32(nn_rng *r);
NNDEF float nn_rng_uniform(nn_rng *r);           /* [0, 1) */
NNDEF float nn_rng_normal(nn_rng *r);            /* N(0, 1) */
NNDEF int nn_rng_int(nn_rng *r, int n);          /* [0, n) */
NNDEF void nn_shuffle(nn_rng *r, int *idx, int n);

/* ======================================================================
   Shapes and host tensors
   ====================================================================== */
typedef struct nn_shape { int ndim; int dim[NN_MAX_DIMS]; } nn_shape;
NNDEF size_t nn_shape_numel(const nn_shape *s);
NNDEF const char *nn_shape_str(const nn_shape *s, char *buf, size_t len);

typedef struct nn_tensor { nn_shape shape; float *data; } nn_tensor;
NNDEF nn_tensor *nn_tensor_new(int ndim, const int *dims);   /* zeroed */
NNDEF void nn_tensor_free(nn_tensor *t);

/* ======================================================================
   The op table: every operation the graph knows.  Each has one entry in
   the registry, one CPU forward/backward pair, one gradient check.
   ====================================================================== */
typedef enum nn_op {
  NN_OP_INPUT, NN_OP_PARAM, NN_OP_RESHAPE,
  NN_OP_DENSE, NN_OP_CONV2D, NN_OP_MAXPOOL2D, NN_OP_AVGPOOL2D,
  NN_OP_GLOBAL_AVGPOOL, NN_OP_BATCHNORM, NN_OP_LAYERNORM, NN_OP_DROPOUT,
  NN_OP_ADD, NN_OP_CONCAT, NN_OP_SCALE,
  NN_OP_RELU, NN_OP_LEAKY_RELU, NN_OP_GELU, NN_OP_SIGMOID, NN_OP_TANH,
  NN_OP_SOFTMAX,
  NN_OP_CROSS_ENTROPY, NN_OP_BCE_LOGITS, NN_OP_MSE,
  NN_OP_COUNT
} nn_op;
NNDEF const char *nn_op_name(nn_op op);

typedef enum nn_reduction { NN_MEAN = 0, NN_SUM = 1 } nn_reduction;

typedef enum nn_init {
  NN_INIT_ZEROS, NN_INIT_ONES, NN_INIT_CONST, NN_INIT_UNIFORM, NN_INIT_NORMAL,
  NN_INIT_HE_UNIFORM, NN_INIT_HE_NORMAL, NN_INIT_XAVIER_UNIFORM,
  NN_INIT_XAVIER_NORMAL, NN_INIT_DIRAC
} nn_init;

/* ======================================================================
   Graph nodes.  The struct is public so that backends can read it; user
   code should treat it as read-only and use the functions below.
   ====================================================================== */
typedef struct nn_node nn_node;
struct nn_node {
  int id;
  nn_op op;
  int n_in;
  nn_node *in[NN_MAX_INPUTS];   /* NULL entries are optional inputs left out */
  nn_shape shape;               /* per sample when batched, whole otherwise */
  int batched;                  /* 1: a leading batch dimension is implied */
  int needs_grad;               /* a gradient buffer exists for this node */
  int trainable;                /* PARAM: updated by optimizers */
  float lr_mult, wd_mult;       /* PARAM: per-parameter-group multipliers */
  nn_init init;                 /* PARAM: initialiser and its argument */
  float init_arg;
  int fan_in, fan_out;
  int ip[8];                    /* integer attributes of the op */
  float fp[4];                  /* float attributes of the op */
  char name[NN_NAME_LEN];
};

typedef struct nn_graph nn_graph;
NNDEF nn_graph *nn_graph_new(void);
NNDEF void nn_graph_free(nn_graph *g);          /* only if never compiled */
NNDEF void nn_graph_set_seed(nn_graph *g, uint64_t seed);  /* initialisers */
NNDEF const char *nn_graph_error(const nn_graph *g);  /* first build error */
NNDEF void nn_layer_name(nn_graph *g, const char *name); /* names the next layer */
NNDEF nn_node *nn_find(const nn_graph *g, const char *name);
NNDEF int nn_graph_num_nodes(const nn_graph *g);
NNDEF nn_node *nn_graph_node(const nn_graph *g, int i);

/* Leaves.  Inputs are batched; parameters are not. */
NNDEF nn_node *nn_input(nn_graph *g, const char *name, int ndim, const int *dims);
NNDEF nn_node *nn_param(nn_graph *g, const char *name, int ndim, const int *dims,
                        nn_init init, float init_arg);
NNDEF void nn_set_requires_grad(nn_node *input);   /* gradient w.r.t. an input */
NNDEF void nn_set_trainable(nn_node *param, int trainable);
NNDEF void nn_set_lr_mult(nn_node *param, float mult);
NNDEF void nn_set_wd_mult(nn_node *param, float mult);
NNDEF void nn_set_init(nn_node *param, nn_init init, float arg);
NNDEF nn_node *nn_node_input(const nn_node *n, int i);   /* e.g. a layer's weight */
NNDEF const nn_shape *nn_node_shape(const nn_node *n);

/* Layers: thin builders over ops that create their parameters. */
NNDEF nn_node *nn_dense(nn_graph *g, nn_node *x, int units);           /* over the last dim */
NNDEF nn_node *nn_dense_ex(nn_graph *g, nn_node *x, int units, int bias);
NNDEF nn_node *nn_conv2d(nn_graph *g, nn_node *x, int out_ch, int k, int stride, int pad);
NNDEF nn_node *nn_conv2d_ex(nn_graph *g, nn_node *x, int out_ch, int kh, int kw,
                            int stride, int pad, int bias);
NNDEF nn_node *nn_maxpool2d(nn_graph *g, nn_node *x, int k, int stride);
NNDEF nn_node *nn_maxpool2d_ex(nn_graph *g, nn_node *x, int k, int stride, int pad);
NNDEF nn_node *nn_avgpool2d(nn_graph *g, nn_node *x, int k, int stride);
NNDEF nn_node *nn_avgpool2d_ex(nn_graph *g, nn_node *x, int k, int stride, int pad);
NNDEF nn_node *nn_global_avgpool(nn_graph *g, nn_node *x);
NNDEF nn_node *nn_batchnorm(nn_graph *g, nn_node *x);
/* momentum as in PyTorch (weight of the new batch statistic); frozen_scale
   keeps the scale at 1 and untrained (it still exists, named .weight). */
NNDEF nn_node *nn_batchnorm_ex(nn_graph *g, nn_node *x, float momentum, float eps,
                               int frozen_scale);
NNDEF nn_node *nn_layernorm(nn_graph *g, nn_node *x);                  /* over the last dim */
NNDEF nn_node *nn_layernorm_ex(nn_graph *g, nn_node *x, float eps);
NNDEF nn_node *nn_dropout(nn_graph *g, nn_node *x, float p);
NNDEF nn_node *nn_reshape(nn_graph *g, nn_node *x, int ndim, const int *dims);
NNDEF nn_node *nn_flatten(nn_graph *g, nn_node *x);
NNDEF nn_node *nn_add(nn_graph *g, nn_node *a, nn_node *b);
NNDEF nn_node *nn_concat(nn_graph *g, int n, nn_node *const *xs);     /* along dim 0 of a sample */
NNDEF nn_node *nn_scale(nn_graph *g, nn_node *x, float c);
NNDEF nn_node *nn_relu(nn_graph *g, nn_node *x);
NNDEF nn_node *nn_leaky_relu(nn_graph *g, nn_node *x, float slope);
NNDEF nn_node *nn_gelu(nn_graph *g, nn_node *x);                       /* exact (erf) form */
NNDEF nn_node *nn_sigmoid(nn_graph *g, nn_node *x);
NNDEF nn_node *nn_tanh(nn_graph *g, nn_node *x);
NNDEF nn_node *nn_softmax(nn_graph *g, nn_node *x);                    /* over the last dim */

/* Losses: scalar nodes.  The last loss built is the one nn_train_step uses. */
/* labels: one class index per sample (stored as float); smoothing in [0,1). */
NNDEF nn_node *nn_cross_entropy(nn_graph *g, nn_node *logits, nn_node *labels,
                                float label_smoothing, nn_reduction red);
NNDEF nn_node *nn_bce_with_logits(nn_graph *g, nn_node *logits, nn_node *targets,
                                  nn_reduction red);
NNDEF nn_node *nn_mse(nn_graph *g, nn_node *pred, nn_node *target, nn_reduction red);
NNDEF void nn_graph_set_loss(nn_graph *g, nn_node *loss);

/* ======================================================================
   Backends: a table of functions that owns buffers and runs ops.  The
   graph never knows which backend runs it.  Buffers are opaque handles.
   ====================================================================== */
typedef struct nn_model nn_model;
typedef struct nn_backend nn_backend;

typedef enum nn_opt_kind { NN_OPT_SGD, NN_OPT_ADAM, NN_OPT_RMSPROP } nn_opt_kind;
enum { NN_NESTEROV = 1, NN_DECOUPLED_WD = 2 };   /* optimizer flags */

/* One parameter's optimizer update, as a backend runs it. */
typedef struct nn_update {
  nn_opt_kind kind;
  int flags;
  void *w, *g, *s1, *s2;        /* weights, gradient, optimizer state */
  size_t n;
  float lr, momentum, weight_decay, beta1, beta2, eps;
  float grad_scale;             /* from gradient clipping, 1 otherwise */
  long step;                    /* 1-based, for Adam's bias correction */
} nn_update;

struct nn_backend {
  const char *name;
  void *impl;
  void *(*alloc)(nn_backend *b, size_t nfloat);          /* zero-filled */
  void (*release)(nn_backend *b, void *buf);
  int (*write)(nn_backend *b, void *buf, size_t off, const float *src, size_t n);
  int (*read)(nn_backend *b, const void *buf, size_t off, float *dst, size_t n);
  int (*fill)(nn_backend *b, void *buf, size_t off, float v, size_t n);
  int (*copy)(nn_backend *b, void *dst, const void *src, size_t n);
  int (*supports)(nn_backend *b, const nn_node *node);
  int (*forward)(nn_backend *b, nn_model *m, const nn_node *node);
  int (*backward)(nn_backend *b, nn_model *m, const nn_node *node);
  int (*update)(nn_backend *b, const nn_update *u);
  int (*sumsq)(nn_backend *b, const void *buf, size_t n, double *out);
  int (*scale)(nn_backend *b, void *buf, size_t n, float s);
  /* a += t * (b - a): moving averages of weights */
  int (*lerp)(nn_backend *b, void *a, const void *bsrc, size_t n, float t);
  void (*destroy)(nn_backend *b);
};
NNDEF nn_backend *nn_cpu_backend(void);

/* ======================================================================
   Models: a graph compiled for a batch size.  Every buffer is planned and
   allocated here; training steps allocate nothing.
   ====================================================================== */
struct nn_model {
  nn_graph *graph;
  nn_backend *backend;
  int max_batch, batch;
  int training;
  void **value, **grad, **ws;   /* per node: backend buffers (NULL if none) */
  size_t *ws_size;
  unsigned char *active;        /* per node scratch: part of the current pass */
  nn_node *loss;
  nn_rng rng;                   /* dropout and other training randomness */
  int threads;
};

NNDEF nn_model *nn_compile(nn_graph *g, int batch, nn_backend *backend); /* takes both */
NNDEF void nn_model_free(nn_model *m);
NNDEF int nn_set_batch(nn_model *m, int n);            /* 1 .. compiled batch */
NNDEF void nn_model_seed(nn_model *m, uint64_t seed);
NNDEF nn_node *nn_model_find(const nn_model *m, const char *name);
NNDEF size_t nn_node_numel(const nn_model *m, const nn_node *n); /* incl. batch */
NNDEF int nn_feed(nn_model *m, const char *input_name, const float *data);
NNDEF int nn_feed_node(nn_model *m, const nn_node *input, const float *data);
NNDEF int nn_forward(nn_model *m, int training);       /* computes the loss too */
NNDEF int nn_predict(nn_model *m, const nn_node *out); /* eval mode, only what out needs */
NNDEF int nn_backward(nn_model *m);                    /* zero grads, seed loss with 1 */
NNDEF int nn_backward_from(nn_model *m, const nn_node *node, const float *dy);
NNDEF int nn_read(nn_model *m, const nn_node *n, float *dst);       /* value to host */
NNDEF int nn_read_grad(nn_model *m, const nn_node *n, float *dst);  /* gradient to host */
NNDEF int nn_write(nn_model *m, const nn_node *n, const float *src);/* e.g. set weights */
NNDEF float nn_loss(nn_model *m);
NNDEF size_t nn_num_params(const nn_model *m);          /* trainable scalars */
NNDEF void nn_summary(const nn_model *m, FILE *out);
/* OpenMP threads; returns the number in use.  A model keeps the count it
   was compiled with (its workspaces are sized for it): call this before
   nn_cpu_backend() and nn_compile(). */
NNDEF int nn_set_threads(int n);

/* ======================================================================
   Optimizers, schedules, clipping, weight averaging
   ====================================================================== */
typedef struct nn_optimizer nn_optimizer;
/* weight_decay is L2 added to the gradient unless flags has NN_DECOUPLED_WD */
NNDEF nn_optimizer *nn_sgd(nn_model *m, float lr, float momentum, float weight_decay, int flags);
NNDEF nn_optimizer *nn_adam(nn_model *m, float lr, float beta1, float beta2, float eps,
                            float weight_decay);
NNDEF nn_optimizer *nn_adamw(nn_model *m, float lr, float beta1, float beta2, float eps,
                             float weight_decay);
NNDEF nn_optimizer *nn_rmsprop(nn_model *m, float lr, float alpha, float eps,
                               float momentum, float weight_decay);
NNDEF void nn_optimizer_free(nn_optimizer *o);
NNDEF void nn_optimizer_set_lr(nn_optimizer *o, float lr);
NNDEF float nn_optimizer_get_lr(const nn_optimizer *o);
NNDEF void nn_optimizer_set_clip(nn_optimizer *o, float max_norm);  /* 0: off */
NNDEF long nn_optimizer_steps(const nn_optimizer *o);
NNDEF int nn_optimizer_step(nn_optimizer *o);          /* apply gradients */
/* forward + backward + step; returns the loss, NAN on failure */
NNDEF float nn_train_step(nn_model *m, nn_optimizer *o);
/* scales all trainable gradients so their global L2 norm is at most
   max_norm; returns the norm before clipping (negative on failure) */
NNDEF double nn_clip_grad_norm(nn_model *m, float max_norm);

/* Learning-rate schedules: pure functions of the step. */
NNDEF float nn_lr_step(float base, long step, long step_size, float gamma);
NNDEF float nn_lr_cosine(float base, long step, long total, long warmup, float min_lr);
/* piecewise-linear through (xs[i], ys[i]), xs increasing; flat outside */
NNDEF float nn_lr_piecewise(float x, int n, const float *xs, const float *ys);

/* Exponential moving average of every parameter (state buffers such as
   batch-norm running statistics included). */
typedef struct nn_ema nn_ema;
NNDEF nn_ema *nn_ema_new(nn_model *m, float decay);
NNDEF void nn_ema_free(nn_ema *e);
NNDEF int nn_ema_update(nn_ema *e);                  /* avg += (1-decay)(w - avg) */
NNDEF int nn_ema_update_decay(nn_ema *e, float decay);
NNDEF void nn_ema_swap(nn_ema *e);                   /* exchange model and average */
NNDEF int nn_ema_copy_to_model(nn_ema *e);           /* weights := average (lookahead) */

/* ======================================================================
   Data: IDX files (MNIST, Fashion-MNIST), data sets and mini-batches
   ====================================================================== */
typedef struct nn_dataset {
  int n;                /* samples */
  nn_shape shape;       /* of one sample */
  float *x;             /* n * numel(shape) */
  float *y;             /* n labels (class indices) */
  int num_classes;
} nn_dataset;
/* pixels scaled to [0,1]; images as 1 x H x W */
NNDEF nn_dataset *nn_load_idx(const char *images_path, const char *labels_path);
NNDEF void nn_dataset_free(nn_dataset *d);
/* copies samples idx[0..count) into x (count*numel) and y (count) */
NNDEF void nn_dataset_gather(const nn_dataset *d, const int *idx, int count,
                             float *x, float *y);
/* keep only the first n samples (n <= d->n) */
NNDEF void nn_dataset_truncate(nn_dataset *d, int n);

/* CIFAR-10 binary batches: records of 1 label byte (0..9) and 3072 pixel
   bytes (1024 red, 1024 green, 1024 blue, each 32 rows of 32).  Pixels
   scaled to [0,1]; images as 3 x 32 x 32.  The files are concatenated in
   order; a file whose size is not a whole number of records, or a label
   byte above 9, fails naming the file. */
NNDEF nn_dataset *nn_load_cifar10_files(int count, const char *const *paths);
/* dir/data_batch_1.bin .. data_batch_5.bin (train) or dir/test_batch.bin */
NNDEF nn_dataset *nn_load_cifar10(const char *dir, int train);

/* Per-channel statistics over all samples (the channel is dim 0 of a
   sample; a [C] sample has one value per channel): mean and population
   standard deviation, arrays of C.  Then x = (x - mean[c]) / std[c]. */
NNDEF int nn_dataset_channel_stats(const nn_dataset *d, float *mean, float *std);
NNDEF int nn_dataset_normalize(nn_dataset *d, const float *mean, const float *std);

/* ---- image augmentation on batches of n images C x H x W (NCHW) ----
   dst = mirror(shift(src)): dst(c, h, w) = src(c, h - dy, w' - dx) with
   w' = W-1-w where the image is flipped, else w; pixels from outside the
   image come from the padding.  dy, dx, flip: one entry per image, or
   NULL for none.  src and dst must not overlap. */
typedef enum nn_pad_mode {
  NN_PAD_REFLECT,   /* mirror at the border without repeating it (PyTorch 'reflect') */
  NN_PAD_ZERO
} nn_pad_mode;
NNDEF void nn_shift_flip_images(const float *src, float *dst, int n, int C, int H, int W,
                                const int *dy, const int *dx, const unsigned char *flip,
                                nn_pad_mode pad);
/* shifts uniform in -max_shift..max_shift, independently in y and x */
NNDEF void nn_random_shifts(nn_rng *r, int n, int max_shift, int *dy, int *dx);
NNDEF void nn_random_flips(nn_rng *r, int n, unsigned char *flip);   /* each with p = 1/2 */
/* airbench's alternating flip: every sample k of the data set owns a
   fixed random bit (drawn from seed); it is mirrored in even epochs when
   the bit is set and in odd epochs when it is not, so two consecutive
   epochs show every sample both ways.  sample: data-set indices of the
   batch. */
NNDEF void nn_alternating_flips(uint64_t seed, const int *sample, int n, int epoch,
                                unsigned char *flip);

/* Test-time augmentation: eval-mode outputs of `out` (one vector per
   sample) for n images fed to the image input `x`, averaged over views:
   level 0: the images; 1: images and mirrors, 1/2 each; 2 (airbench):
   images and mirrors 1/4 each, plus those two shifted by (+1, +1) and by
   (-1, -1) px with reflect padding, 1/8 each.  Runs in batches of the
   compiled size, other inputs keep their values.  out_values: n vectors. */
NNDEF int nn_predict_tta(nn_model *m, const nn_node *x, const nn_node *out, const float *images,
                         int n, int level, float *out_values);

/* Eigen-decomposition of a symmetric n x n matrix (row-major, destroyed)
   by cyclic Jacobi rotations in double precision: eigenvalues in
   descending order, eigenvectors as the rows of vectors (unit length). */
NNDEF int nn_symmetric_eigen(int n, double *a, double *values, double *vectors);
/* Patch whitening (airbench): from the uncentred covariance of every
   kh x kw patch (stride 1, no padding) of n images C x H x W, with
   eigenvalues l_i and eigenvectors v_i (descending), writes 2*C*kh*kw
   filters of C x kh x kw to w: v_i / sqrt(l_i + eps), then their
   negations -- the weight of a conv2d with 2*C*kh*kw outputs whose first
   half maps the patches to identity covariance (for eps << l_i). */
NNDEF int nn_whitening_weights(const float *images, int n, int C, int H, int W, int kh, int kw,
                               float eps, float *w);

/* ======================================================================
   Metrics
   ====================================================================== */
NNDEF int nn_argmax(const float *v, int n);
/* cm[true * k + predicted] += 1 for each sample */
NNDEF void nn_confusion_add(int *cm, int k, const float *logits, const float *labels, int n);
NNDEF double nn_confusion_accuracy(const int *cm, int k);
/* per-class precision/recall/F1 (arrays of k, may be NULL) and macro averages */
NNDEF void nn_class_metrics(const int *cm, int k, double *precision, double *recall,
                            double *f1, double *macro_p, double *macro_r, double *macro_f1);
NNDEF void nn_classification_report(FILE *out, const int *cm, int k, const char *const *names);
/* area under the ROC curve of scores for binary labels (0/1); ties averaged */
NNDEF double nn_roc_auc(const float *scores, const float *labels, int n);

#ifdef __cplusplus
}
#endif
#endif /* NN_H */

/* ######################################################################
   IMPLEMENTATION
   ###################################################################### */
#ifdef NN_IMPLEMENTATION
#ifndef NN__IMPLEMENTED
#define NN__IMPLEMENTED

#include <errno.h>
#include <float.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

/* ======================================================================
   Configuration: allocator, assertions, portability
   ====================================================================== */
#if !defined(NN_MALLOC) && !defined(NN_REALLOC) && !defined(NN_FREE)
#define NN_MALLOC(n) malloc(n)
#define NN_REALLOC(p, n) realloc(p, n)
#define NN_FREE(p) free(p)
#elif !defined(NN_MALLOC) || !defined(NN_REALLOC) || !defined(NN_FREE)
#error "nn.h: define all of NN_MALLOC, NN_REALLOC and NN_FREE, or none"
#endif
#ifndef NN_ASSERT
#include <assert.h>
#define NN_ASSERT(x) assert(x)
#endif

#if defined(__cplusplus) || !defined(__STDC_VERSION__) || __STDC_VERSION__ < 199901L
#define NN__RESTRICT __restrict
#else
#define NN__RESTRICT restrict
#endif

/* OpenMP pragmas only when compiled with -fopenmp (no unknown-pragma noise) */
#define NN__PRAGMA(x) _Pragma(#x)
/* below this many floats touched, starting threads costs more than it saves */
#define NN__OMP_MIN_WORK 32768
#ifdef _OPENMP
#define NN__OMP_FOR_IF(cond) NN__PRAGMA(omp parallel for schedule(static) if(cond))
/* element-wise loops over `len` items */
#define NN__OMP_FOR_LEN NN__OMP_FOR_IF(len > NN__OMP_MIN_WORK)
/* a loop whose per-thread workspace was sized for `threads` threads */
#define NN__OMP_FOR_THREADS NN__PRAGMA(omp parallel for schedule(static) num_threads(threads))
static int nn__max_threads(void) { return omp_get_max_threads(); }
static int nn__thread_id(void) { return omp_get_thread_num(); }
#else
#define NN__OMP_FOR_IF(cond)
#define NN__OMP_FOR_LEN
#define NN__OMP_FOR_THREADS
static int nn__max_threads(void) { return 1; }
static int nn__thread_id(void) { return 0; }
#endif

/* ======================================================================
   Errors
   ====================================================================== */
static char nn__error[512];

NNDEF const char *nn_last_error(void) { return nn__error; }
NNDEF void nn_clear_error(void) { nn__error[0] = 0; }

/* records a reason and returns 0 so callers can write `return nn__fail(..)` */
static int nn__fail(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(nn__error, sizeof nn__error, fmt, ap);
  va_end(ap);
  return 0;
}

/* ======================================================================
   Memory
   ====================================================================== */
static void *nn__calloc(size_t count, size_t size) {
  void *p;
  size_t bytes;
  if (size && count > (size_t)-1 / size) { nn__fail("allocation size overflows"); return NULL; }
  bytes = count * size;
  p = NN_MALLOC(bytes > 0 ? bytes : 1);
  if (!p) { nn__fail("out of memory (%zu bytes)", bytes); return NULL; }
  memset(p, 0, bytes);
  return p;
}

/* ======================================================================
   Random numbers (xoroshiro128+, seeded through splitmix64)
   ====================================================================== */
static uint64_t nn__splitmix(uint64_t *x) {
  uint64_t z = (*x += 0x9E3779B97F4A7C15ULL);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}
NNDEF void nn_rng_seed(nn_rng *r, uint64_t seed) {
  r->s[0] = nn__splitmix(&seed);
  r->s[1] = nn__splitmix(&seed);
}
static uint64_t nn__rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
NNDEF uint32_t nn_rng_u32(nn_rng *r) {
  uint64_t s0 = r->s[0], s1 = r->s[1], out = s0 + s1;
  s1 ^= s0;
  r->s[0] = nn__rotl(s0, 24) ^ s1 ^ (s1 << 16);
  r->s[1] = nn__rotl(s1, 37);
  return (uint32_t)(out >> 32);
}
NNDEF float nn_rng_uniform(nn_rng *r) { return (float)(nn_rng_u32(r) >> 8) * (1.0f / 16777216.0f); }
NNDEF float nn_rng_normal(nn_rng *r) {
  /* Box-Muller; u1 in (0,1] keeps the log finite */
  double u1 = ((nn_rng_u32(r) >> 8) + 1.0) / 16777216.0, u2 = (nn_rng_u32(r) >> 8) / 16777216.0;
  return (float)(sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2));
}
NNDEF int nn_rng_int(nn_rng *r, int n) { return (int)(((uint64_t)nn_rng_u32(r) * (uint64_t)n) >> 32); }
NNDEF void nn_shuffle(nn_rng *r, int *idx, int n) {
  int i;
  for (i = n - 1; i > 0; i--) {
    int j = nn_rng_int(r, i + 1), t = idx[i];
    idx[i] = idx[j];
    idx[j] = t;
  }
}

/* ======================================================================
   Shapes and host tensors
   ====================================================================== */
NNDEF size_t nn_shape_numel(const nn_shape *s) {
  size_t n = 1;
  int i;
  for (i = 0; i < s->ndim; i++) n *= (size_t)s->dim[i];
  return n;
}
NNDEF const char *nn_shape_str(const nn_shape *s, char *buf, size_t len) {
  size_t used = 0;
  int i;
  if (!len) return buf;
  buf[0] = 0;
  used += (size_t)snprintf(buf, len, "[");
  for (i = 0; i < s->ndim && used < len; i++)
    used += (size_t)snprintf(buf + used, len - used, i ? ", %d" : "%d", s->dim[i]);
  if (used < len) snprintf(buf + used, len - used, "]");
  return buf;
}
static nn_shape nn__shape(int ndim, const int *dims) {
  nn_shape s;
  int i;
  memset(&s, 0, sizeof s);
  s.ndim = ndim;
  for (i = 0; i < ndim; i++) s.dim[i] = dims[i];
  return s;
}
static nn_shape nn__shape1(int a) { return nn__shape(1, &a); }
static nn_shape nn__shape2(int a, int b) { int d[2]; d[0] = a; d[1] = b; return nn__shape(2, d); }
static nn_shape nn__shape3(int a, int b, int c) { int d[3]; d[0] = a; d[1] = b; d[2] = c; return nn__shape(3, d); }
static int nn__shape_eq(const nn_shape *a, const nn_shape *b) {
  int i;
  if (a->ndim != b->ndim) return 0;
  for (i = 0; i < a->ndim; i++) if (a->dim[i] != b->dim[i]) return 0;
  return 1;
}
NNDEF nn_tensor *nn_tensor_new(int ndim, const int *dims) {
  nn_tensor *t;
  int i;
  if (ndim < 1 || ndim > NN_MAX_DIMS) { nn__fail("tensor: %d dimensions (1..%d allowed)", ndim, NN_MAX_DIMS); return NULL; }
  for (i = 0; i < ndim; i++) if (dims[i] < 1) { nn__fail("tensor: dimension %d is %d", i, dims[i]); return NULL; }
  t = (nn_tensor *)nn__calloc(1, sizeof *t);
  if (!t) return NULL;
  t->shape = nn__shape(ndim, dims);
  t->data = (float *)nn__calloc(nn_shape_numel(&t->shape), sizeof(float));
  if (!t->data) { NN_FREE(t); return NULL; }
  return t;
}
NNDEF void nn_tensor_free(nn_tensor *t) {
  if (!t) return;
  NN_FREE(t->data);
  NN_FREE(t);
}

/* ======================================================================
   Matrix product: C = alpha * op(A) * op(B) + beta * C, row-major.
   op(A) is M x K (stored K x M when transA), op(B) is K x N.
   With beta == 0, C is overwritten without being read.
   ====================================================================== */
#ifdef NN_USE_CBLAS
#include <cblas.h>
#define NN__GEMM_WORK 1  /* the BLAS packs on its own */
static void nn__sgemm(int transA, int transB, int M, int N, int K, float alpha,
                      const float *A, int lda, const float *B, int ldb,
                      float beta, float *C, int ldc, float *work) {
  int i;
  (void)work;
  if (M <= 0 || N <= 0) return;
  if (K <= 0) {  /* BLAS leaves C alone for K == 0 only when beta == 1 */
    for (i = 0; i < M; i++) {
      int j;
      for (j = 0; j < N; j++) C[(size_t)i * ldc + j] = beta == 0 ? 0 : beta * C[(size_t)i * ldc + j];
    }
    return;
  }
  cblas_sgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
              M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}
#else
/* ---------------------------------------------------------------------------
 * SGEMM: C = alpha * op(A) * op(B) + beta * C   (row-major)
 *
 * Classic Goto/BLIS structure:
 *   for jc in N step NC            (B block lives in L3)
 *     for pc in K step KC          (pack KC x NC of op(B) into NR-wide panels)
 *       for ic in M step MC        (pack MC x KC of op(A) into MR-tall panels)
 *         for each MR x NR tile    (register-tiled micro-kernel)
 * The micro-kernel is plain C written so that gcc/clang vectorise the inner
 * NR loop and keep the MR x NR accumulator block in registers.
 * With OpenMP the packing and the tile loop are shared across threads; K is
 * never split, so every C element is computed by the same sequence of
 * operations whatever the thread count (results are bitwise identical).
 * ------------------------------------------------------------------------- */


/* The micro-kernel is kept out of line: once inlined into the (OpenMP
   outlined) driver, clang -O3 stops keeping the accumulators in registers. */
#ifndef NN__NOINLINE
#  if defined(__GNUC__)
#    define NN__NOINLINE __attribute__((noinline))
#  elif defined(_MSC_VER)
#    define NN__NOINLINE __declspec(noinline)
#  else
#    define NN__NOINLINE
#  endif
#endif

/* Register tile: MR x NR accumulators must fit the vector register file
   with room for the B row and the A broadcast, or the compiler spills.
   Picked by measurement (gcc 12 / clang 14, -O2 and -O3):
     AVX-512 (32 zmm):   8 x 32 -> 16 accumulators
     AVX/AVX2 (16 ymm):  4 x 16 ->  8 accumulators (6 x 16 spills in gcc)
     other:              4 x 16 (NEON: 16 of 32 q regs) / 4 x 8 on SSE. */
#ifndef NN__GEMM_MR
#  if defined(__AVX512F__)
#    define NN__GEMM_MR 8
#    define NN__GEMM_NR 32
#  elif defined(__AVX__) || defined(__aarch64__) || defined(__ARM_NEON)
#    define NN__GEMM_MR 4
#    define NN__GEMM_NR 16
#  elif defined(__x86_64__) || defined(_M_X64) || defined(__i386__)
#    define NN__GEMM_MR 4
#    define NN__GEMM_NR 8
#  else
#    define NN__GEMM_MR 4
#    define NN__GEMM_NR 16
#  endif
#endif

/* Cache blocks: KC x NR panel of B stays in L1, MC x KC block of A in L2,
   KC x NC block of B in L2/L3. Flat optimum on Zen 5 (KC 256-512 and
   MC 96-384 within noise); these are conventional, safe sizes. */
#ifndef NN__GEMM_KC
#define NN__GEMM_KC 256
#endif
#ifndef NN__GEMM_MC
#define NN__GEMM_MC 192
#endif
#ifndef NN__GEMM_NC
#define NN__GEMM_NC 2048
#endif
/* Below this many flops (2*M*N*K) a parallel region costs more than it
   saves. */
#ifndef NN__GEMM_OMP_MIN_FLOPS
#define NN__GEMM_OMP_MIN_FLOPS (2.0 * 96 * 96 * 96)
#endif

#define NN__GEMM_ALIGN 64

/* The transposing pack is fastest as plain scalar moves (~2 stores/cycle);
   gcc -O3's and clang's vectorised versions of it are ~1.5-2x slower. */
#ifndef NN__NOVECTORIZE
#  if defined(__GNUC__) && !defined(__clang__)
#    define NN__NOVECTORIZE __attribute__((optimize("no-tree-vectorize")))
#  else
#    define NN__NOVECTORIZE
#  endif
#endif

/* Transposing copy: dst[k * w + r] = src[r * lds + k] for r < rows (< w),
   zero for rows <= r < w, k < kc. Four source rows per pass keeps the
   reads sequential and the writes to one cache line group. */
static NN__NOVECTORIZE void nn__sgemm_pack_t(const float *src, int lds,
                                             int rows, int kc,
                                             float *NN__RESTRICT dst, int w)
{
    int r = 0, k;
    for (; r + 4 <= rows; r += 4) {
        const float *s0 = src + (size_t)r * lds, *s1 = s0 + lds;
        const float *s2 = s1 + lds, *s3 = s2 + lds;
        float *d = dst + r;
#if defined(__clang__)
#pragma clang loop vectorize(disable) interleave(disable)
#endif
        for (k = 0; k < kc; ++k, d += w) {
            d[0] = s0[k];
            d[1] = s1[k];
            d[2] = s2[k];
            d[3] = s3[k];
        }
    }
    for (; r < rows; ++r) {
        const float *s0 = src + (size_t)r * lds;
        for (k = 0; k < kc; ++k) dst[(size_t)k * w + r] = s0[k];
    }
    for (; r < w; ++r)
        for (k = 0; k < kc; ++k) dst[(size_t)k * w + r] = 0.0f;
}

/* Pack rows [i0, i0+mc) x cols [p0, p0+kc) of op(A) as MR-tall panels:
   panel r holds op(A)[i0+r*MR+i][p0+k] at k*MR+i; rows past M are zero. */
static void nn__sgemm_pack_a(int transA, const float *A, int lda, int i0,
                             int mc, int p0, int kc, float *NN__RESTRICT dst)
{
    const int MR = NN__GEMM_MR;
    int ir, i, k;
    for (ir = 0; ir < mc; ir += MR) {
        int mr = mc - ir < MR ? mc - ir : MR;
        float *d = dst + (size_t)ir * kc;
        if (transA) {
            /* A is K x M: each k gives mr contiguous values. */
            const float *s = A + (size_t)p0 * lda + i0 + ir;
            for (k = 0; k < kc; ++k, s += lda, d += MR) {
                for (i = 0; i < mr; ++i) d[i] = s[i];
                for (; i < MR; ++i) d[i] = 0.0f;
            }
        } else {
            /* A is M x K: panel is its transpose. */
            const float *s = A + (size_t)(i0 + ir) * lda + p0;
            nn__sgemm_pack_t(s, lda, mr, kc, d, MR);
        }
    }
}

/* Pack one NR-wide panel: op(B)[p0+k][j0+j] at k*NR+j; cols past N are zero. */
static void nn__sgemm_pack_b_panel(int transB, const float *B, int ldb, int j0,
                                   int nr, int p0, int kc,
                                   float *NN__RESTRICT d)
{
    const int NR = NN__GEMM_NR;
    int j, k;
    if (!transB) {
        /* B is K x N: each k gives nr contiguous values. */
        const float *s = B + (size_t)p0 * ldb + j0;
        if (nr == NR) {
            for (k = 0; k < kc; ++k, s += ldb, d += NR)
                for (j = 0; j < NR; ++j) d[j] = s[j];
        } else {
            for (k = 0; k < kc; ++k, s += ldb, d += NR) {
                for (j = 0; j < nr; ++j) d[j] = s[j];
                for (; j < NR; ++j) d[j] = 0.0f;
            }
        }
    } else {
        /* B is N x K. */
        nn__sgemm_pack_t(B + (size_t)j0 * ldb + p0, ldb, nr, kc, d, NR);
    }
}

/* MR x NR micro-kernel over kc packed steps, then
   C[0:m, 0:n] = alpha * acc + beta * C  (beta == 0: C is not read).
   C element (i, j) is at C[i * rsc + j * csc]; csc != 1 only when the driver
   computes the transposed product (see nn__sgemm). */
static NN__NOINLINE void nn__sgemm_kernel(int kc, const float *NN__RESTRICT a,
                                          const float *NN__RESTRICT b,
                                          float *C, int rsc, int csc, int m,
                                          int n, float alpha, float beta)
{
    enum { MR = NN__GEMM_MR, NR = NN__GEMM_NR };
    float acc[NN__GEMM_MR][NN__GEMM_NR];
    int i, j, k;
#ifdef __GNUC__
#pragma GCC unroll 32
#endif
    for (i = 0; i < MR; ++i)
        for (j = 0; j < NR; ++j) acc[i][j] = 0.0f;
    for (k = 0; k < kc; ++k) {
#ifdef __GNUC__
#pragma GCC unroll 32
#endif
        for (i = 0; i < MR; ++i) {
            const float ai = a[i];
            for (j = 0; j < NR; ++j) acc[i][j] += ai * b[j];
        }
        a += MR;
        b += NR;
    }
    if (m == MR && n == NR && csc == 1) {
        if (beta == 0.0f) {
            for (i = 0; i < MR; ++i)
                for (j = 0; j < NR; ++j)
                    C[(size_t)i * rsc + j] = alpha * acc[i][j];
        } else if (beta == 1.0f) {
            for (i = 0; i < MR; ++i)
                for (j = 0; j < NR; ++j)
                    C[(size_t)i * rsc + j] += alpha * acc[i][j];
        } else {
            for (i = 0; i < MR; ++i)
                for (j = 0; j < NR; ++j)
                    C[(size_t)i * rsc + j] =
                        alpha * acc[i][j] + beta * C[(size_t)i * rsc + j];
        }
    } else {
        for (i = 0; i < m; ++i)
            for (j = 0; j < n; ++j) {
                float *c = &C[(size_t)i * rsc + (size_t)j * csc];
                *c = beta == 0.0f ? alpha * acc[i][j]
                                  : alpha * acc[i][j] + beta * *c;
            }
    }
}

/* C = beta * C for the degenerate cases (K == 0 or alpha == 0). */
static void nn__sgemm_scale_c(int M, int N, float beta, float *C, int ldc)
{
    int i, j;
    for (i = 0; i < M; ++i) {
        float *c = C + (size_t)i * ldc;
        if (beta == 0.0f)
            memset(c, 0, (size_t)N * sizeof(float));
        else if (beta != 1.0f)
            for (j = 0; j < N; ++j) c[j] *= beta;
    }
}

/* Packing space for the largest blocks plus alignment slack: the size of
   the `work` buffer a caller may pass (NULL: allocated per call). */
#define NN__GEMM_WORK ((size_t)NN__GEMM_MC * NN__GEMM_KC + 16 + (size_t)NN__GEMM_NC * NN__GEMM_KC + NN__GEMM_ALIGN / 4)

/* Reference loop for when no packing memory can be had. */
static void nn__sgemm_unpacked(int transA, int transB, int M, int N, int K, float alpha,
                               const float *A, int lda, const float *B, int ldb,
                               float beta, float *C, int rsc, int csc)
{
    int i, j, k;
    for (i = 0; i < M; ++i)
        for (j = 0; j < N; ++j) {
            float s = 0, *c = &C[(size_t)i * rsc + (size_t)j * csc];
            for (k = 0; k < K; ++k)
                s += (transA ? A[(size_t)k * lda + i] : A[(size_t)i * lda + k]) *
                     (transB ? B[(size_t)j * ldb + k] : B[(size_t)k * ldb + j]);
            *c = beta == 0.0f ? alpha * s : alpha * s + beta * *c;
        }
}

/* Blocked driver; C element (i, j) lives at C[i * rsc + j * csc]. */
static void nn__sgemm_blocked(int transA, int transB, int M, int N, int K,
                              float alpha, const float *A, int lda,
                              const float *B, int ldb, float beta, float *C,
                              int rsc, int csc, float *work)
{
    const int MR = NN__GEMM_MR, NR = NN__GEMM_NR;
    int KC = NN__GEMM_KC, MC = NN__GEMM_MC, NC = NN__GEMM_NC;
    size_t a_elems;
    char *mem;
    float *Ap, *Bp;

    /* Shrink blocks to the problem so small GEMMs don't touch big buffers;
       balance KC so the last K block is not a sliver. */
    if (K < KC) KC = K;
    else KC = (K + (K + KC - 1) / KC - 1) / ((K + KC - 1) / KC);
    if (M < MC) MC = (M + MR - 1) / MR * MR;
    if (N < NC) NC = (N + NR - 1) / NR * NR;

    /* A block rounded to a whole cache line so Bp stays aligned too. */
    a_elems = ((size_t)MC * KC + 15) & ~(size_t)15;
    mem = work ? (char *)work : (char *)NN_MALLOC(NN__GEMM_WORK * sizeof(float));
    if (!mem) {  /* no memory for packing: the unpacked loop is still exact */
        nn__sgemm_unpacked(transA, transB, M, N, K, alpha, A, lda, B, ldb, beta, C, rsc, csc);
        return;
    }
    Ap = (float *)(mem + (NN__GEMM_ALIGN - (size_t)mem % NN__GEMM_ALIGN));
    Bp = Ap + a_elems;

#ifdef _OPENMP
#pragma omp parallel if (2.0 * M * N * K >= NN__GEMM_OMP_MIN_FLOPS)
#endif
    {
        int jc, pc, ic;
        for (jc = 0; jc < N; jc += NC) {
            const int nc = N - jc < NC ? N - jc : NC;
            const int npan = (nc + NR - 1) / NR;
            for (pc = 0; pc < K; pc += KC) {
                const int kc = K - pc < KC ? K - pc : KC;
                /* First K block applies the caller's beta, later ones add. */
                const float bet = pc == 0 ? beta : 1.0f;
                int jp;
#ifdef _OPENMP
#pragma omp for schedule(static)
#endif
                for (jp = 0; jp < npan; ++jp) {
                    const int j = jp * NR;
                    nn__sgemm_pack_b_panel(transB, B, ldb, jc + j,
                                           nc - j < NR ? nc - j : NR, pc, kc,
                                           Bp + (size_t)j * kc);
                }
                for (ic = 0; ic < M; ic += MC) {
                    const int mc = M - ic < MC ? M - ic : MC;
                    const int mpan = (mc + MR - 1) / MR;
                    int ip, t;
#ifdef _OPENMP
#pragma omp for schedule(static)
#endif
                    for (ip = 0; ip < mpan; ++ip) {
                        const int i = ip * MR;
                        nn__sgemm_pack_a(transA, A, lda, ic + i,
                                         mc - i < MR ? mc - i : MR, pc, kc,
                                         Ap + (size_t)i * kc);
                    }
                    /* Tiles ordered N-panel-major so each thread reuses its
                       B panel from L1 across consecutive A panels. */
#ifdef _OPENMP
#pragma omp for schedule(static)
#endif
                    for (t = 0; t < npan * mpan; ++t) {
                        const int j = (t / mpan) * NR, i = (t % mpan) * MR;
                        nn__sgemm_kernel(kc, Ap + (size_t)i * kc,
                                         Bp + (size_t)j * kc,
                                         C + (size_t)(ic + i) * rsc +
                                             (size_t)(jc + j) * csc,
                                         rsc, csc, mc - i < MR ? mc - i : MR,
                                         nc - j < NR ? nc - j : NR, alpha, bet);
                    }
                }
            }
        }
    }
    if (!work) NN_FREE(mem);
}

/* Fraction of an x-by-y tile grid that does useful work for an m x n C. */
static double nn__sgemm_tile_use(int m, int n, int x, int y)
{
    return ((double)m / ((m + x - 1) / x * x)) *
           ((double)n / ((n + y - 1) / y * y));
}

static void nn__sgemm(int transA, int transB, int M, int N, int K, float alpha,
                      const float *A, int lda, const float *B, int ldb,
                      float beta, float *C, int ldc, float *work)
{
    const int MR = NN__GEMM_MR, NR = NN__GEMM_NR;
    if (M <= 0 || N <= 0) return;
    if (K <= 0 || alpha == 0.0f) {
        nn__sgemm_scale_c(M, N, beta, C, ldc);
        return;
    }
    /* Narrow C (e.g. a 10-way classifier layer) wastes most of an NR-wide
       tile; computing C^T = op(B)^T op(A)^T puts the short side on MR. */
    if (N < NR && nn__sgemm_tile_use(N, M, MR, NR) >
                      1.25 * nn__sgemm_tile_use(M, N, MR, NR))
        nn__sgemm_blocked(!transB, !transA, N, M, K, alpha, B, ldb, A, lda,
                          beta, C, 1, ldc, work);
    else
        nn__sgemm_blocked(transA, transB, M, N, K, alpha, A, lda, B, ldb,
                          beta, C, ldc, 1, work);
}
#endif

/* ======================================================================
   Element-wise math written so that compilers vectorise it (libm's expf
   and erff are scalar calls): e^x within 1e-7 relative, erf within 1e-6
   absolute (Abramowitz & Stegun 7.1.26), tanh near 0 by its series.
   ====================================================================== */
static float nn__exp(float x) {
  float n, r, p, scale;
  int32_t bits;
  x = x < -87.0f ? -87.0f : (x > 88.0f ? 88.0f : x);
  n = floorf(x * 1.44269504f + 0.5f);          /* x = n ln2 + r, |r| <= ln2/2 */
  r = x - n * 0.693359375f + n * 2.12194440e-4f;
  p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * r * r + r + 1.0f;
  bits = ((int32_t)n + 127) * (1 << 23);       /* 2^n */
  memcpy(&scale, &bits, sizeof scale);
  return p * scale;
}
static float nn__erf(float x) {
  float a = fabsf(x), t = 1.0f / (1.0f + 0.3275911f * a), y;
  y = ((((1.061405429f * t - 1.453152027f) * t + 1.421413741f) * t - 0.284496736f) * t + 0.254829592f) * t;
  y = 1.0f - y * nn__exp(-a * a);
  return x < 0 ? -y : y;
}
static float nn__sigmoid(float x) { return 1.0f / (1.0f + nn__exp(-x)); }
static float nn__tanh(float x) {
  float a = fabsf(x), e = nn__exp(-2.0f * a), t = (1.0f - e) / (1.0f + e), x2 = x * x;
  float series = x * (1.0f - x2 * (0.33333333f - x2 * (0.13333333f - x2 * 0.053968254f)));
  return a < 0.0625f ? series : (x < 0 ? -t : t);
}

/* ======================================================================
   The op table.  A kernel sees its node, the batch size and flat float
   buffers: input values x[i], input gradients dx[i] (NULL where none is
   needed), output value y and gradient dy, and a workspace that lives
   from forward to backward.  Backward kernels ADD into dx, so a node
   read by several ops receives the sum of their gradients.
   ====================================================================== */
typedef struct nn__ctx {
  nn_model *m;
  const nn_node *node;
  int n;                          /* samples in this batch */
  int training;
  float *x[NN_MAX_INPUTS], *dx[NN_MAX_INPUTS];
  float *y, *dy, *ws;
  float *gemm_work;               /* NN__GEMM_WORK floats per thread */
  int gemm_slots;
} nn__ctx;

/* this thread's GEMM packing space; NULL (GEMM allocates) if none is left */
static float *nn__gemm_work(const nn__ctx *c) {
  int t = nn__thread_id();
  return t < c->gemm_slots ? c->gemm_work + (size_t)t * NN__GEMM_WORK : NULL;
}

typedef struct nn__op_def {
  nn_op op;
  const char *name;
  int (*forward)(const nn__ctx *c);           /* NULL: nothing to compute */
  int (*backward)(const nn__ctx *c);
  size_t (*workspace)(const nn_node *node, int batch);  /* floats; NULL: none */
  double (*flops)(const nn_node *node);       /* forward, per sample; NULL: ~0 */
} nn__op_def;

static size_t nn__per(const nn_node *n) { return nn_shape_numel(&n->shape); }
static size_t nn__len(const nn__ctx *c, const nn_node *n) { return n->batched ? (size_t)c->n * nn__per(n) : nn__per(n); }
#define NN__IN(c, i) ((c)->node->in[i])
#define NN__LAST(n) ((n)->shape.dim[(n)->shape.ndim - 1])

/* ---- dense: y = x W^T + b over the last dimension; W is [out, in] ---- */
static int nn__dense_fwd(const nn__ctx *c) {
  int in = NN__LAST(NN__IN(c, 0)), out = NN__LAST(c->node);
  int rows = (int)(nn__len(c, NN__IN(c, 0)) / (size_t)in), r;
  nn__sgemm(0, 1, rows, out, in, 1.0f, c->x[0], in, c->x[1], in, 0.0f, c->y, out, nn__gemm_work(c));
  if (c->x[2]) {
    NN__OMP_FOR_IF((size_t)rows * out > NN__OMP_MIN_WORK)
    for (r = 0; r < rows; r++) {
      float *y = c->y + (size_t)r * out;
      int k;
      for (k = 0; k < out; k++) y[k] += c->x[2][k];
    }
  }
  return 1;
}
static int nn__dense_bwd(const nn__ctx *c) {
  int in = NN__LAST(NN__IN(c, 0)), out = NN__LAST(c->node);
  int rows = (int)(nn__len(c, NN__IN(c, 0)) / (size_t)in), r, j;
  if (c->dx[0]) nn__sgemm(0, 0, rows, in, out, 1.0f, c->dy, out, c->x[1], in, 1.0f, c->dx[0], in, nn__gemm_work(c));
  if (c->dx[1]) nn__sgemm(1, 0, out, in, rows, 1.0f, c->dy, out, c->x[0], in, 1.0f, c->dx[1], in, nn__gemm_work(c));
  if (c->dx[2])
    for (r = 0; r < rows; r++)
      for (j = 0; j < out; j++) c->dx[2][j] += c->dy[(size_t)r * out + j];
  return 1;
}
static double nn__dense_flops(const nn_node *n) { return 2.0 * (double)nn__per(n) * NN__LAST(n->in[0]); }

/* ---- conv2d, NCHW, lowered to GEMM through im2col --------------------
   ip: kh, kw, stride, pad.  Images are lowered in chunks wide enough for
   an efficient GEMM (small late-layer images are batched together); each
   thread owns a chunk's column buffer, an output staging buffer and, for
   the weight gradient, a partial sum added up in thread order. */
#define NN__CONV_COLUMNS 512  /* GEMM columns (images x positions) per chunk */

/* the [0, OW) positions whose input column ow*s - p + j lies inside [0, W) */
static void nn__conv_span(int W, int OW, int s, int p, int j, int *lo, int *hi) {
  int a = p - j > 0 ? (p - j + s - 1) / s : 0, b = (W - 1 + p - j) >= 0 ? (W - 1 + p - j) / s + 1 : 0;
  *lo = a < OW ? a : OW;
  *hi = b < OW ? b : OW;
  if (*hi < *lo) *hi = *lo;
}
/* col row (ch, i, j), columns [0, OH*OW), row stride ld */
static void nn__im2col(const float *x, int C, int H, int W, int kh, int kw, int s, int p,
                       int OH, int OW, float *col, size_t ld) {
  int ch, i, j, oh, ow;
  for (ch = 0; ch < C; ch++)
    for (i = 0; i < kh; i++)
      for (j = 0; j < kw; j++) {
        float *row = col + (size_t)((ch * kh + i) * kw + j) * ld;
        int lo, hi;
        nn__conv_span(W, OW, s, p, j, &lo, &hi);
        for (oh = 0; oh < OH; oh++) {
          int h = oh * s - p + i;
          float *dst = row + oh * OW;
          const float *src = x + ((size_t)ch * H + h) * W - p + j;
          if (h < 0 || h >= H) { memset(dst, 0, (size_t)OW * sizeof(float)); continue; }
          for (ow = 0; ow < lo; ow++) dst[ow] = 0;
          if (s == 1) for (ow = lo; ow < hi; ow++) dst[ow] = src[ow];
          else for (ow = lo; ow < hi; ow++) dst[ow] = src[ow * s];
          for (ow = hi; ow < OW; ow++) dst[ow] = 0;
        }
      }
}
static void nn__col2im_add(const float *col, int C, int H, int W, int kh, int kw, int s, int p,
                           int OH, int OW, float *dx, size_t ld) {
  int ch, i, j, oh, ow;
  for (ch = 0; ch < C; ch++)
    for (i = 0; i < kh; i++)
      for (j = 0; j < kw; j++) {
        const float *row = col + (size_t)((ch * kh + i) * kw + j) * ld;
        int lo, hi;
        nn__conv_span(W, OW, s, p, j, &lo, &hi);
        for (oh = 0; oh < OH; oh++) {
          int h = oh * s - p + i;
          const float *src = row + oh * OW;
          float *dst = dx + ((size_t)ch * H + h) * W - p + j;
          if (h < 0 || h >= H) continue;
          if (s == 1) for (ow = lo; ow < hi; ow++) dst[ow] += src[ow];
          else for (ow = lo; ow < hi; ow++) dst[ow * s] += src[ow];
        }
      }
}
typedef struct nn__conv_dims { int C, H, W, O, OH, OW, kh, kw, s, p, K, P, chunk; } nn__conv_dims;
static nn__conv_dims nn__conv_get(const nn_node *n, int batch) {
  nn__conv_dims d;
  const nn_node *x = n->in[0];
  d.C = x->shape.dim[0]; d.H = x->shape.dim[1]; d.W = x->shape.dim[2];
  d.O = n->shape.dim[0]; d.OH = n->shape.dim[1]; d.OW = n->shape.dim[2];
  d.kh = n->ip[0]; d.kw = n->ip[1]; d.s = n->ip[2]; d.p = n->ip[3];
  d.K = d.C * d.kh * d.kw; d.P = d.OH * d.OW;
  d.chunk = (NN__CONV_COLUMNS + d.P - 1) / d.P;
  if (d.chunk > batch) d.chunk = batch;
  return d;
}
/* per thread: columns [K x chunk*P], staging [O x chunk*P], dW partial [O x K] */
static size_t nn__conv_thread_ws(const nn__conv_dims *d) {
  size_t cols = (size_t)d->chunk * d->P;
  return (size_t)d->K * cols + (size_t)d->O * cols + (size_t)d->O * d->K;
}
/* images per chunk for a batch of n: as many as the workspace allows, but
   spread so that every thread gets an equal share of chunks */
static int nn__conv_chunk(const nn__conv_dims *d, int n, int threads) {
  int chunks = (n + d->chunk - 1) / d->chunk;
  chunks = (chunks + threads - 1) / threads * threads;
  return (n + chunks - 1) / chunks;
}
static size_t nn__conv_ws(const nn_node *n, int batch) {
  nn__conv_dims d = nn__conv_get(n, batch);
  return (size_t)nn__max_threads() * nn__conv_thread_ws(&d);
}
static int nn__conv_fwd(const nn__ctx *c) {
  nn__conv_dims d = nn__conv_get(c->node, c->m->max_batch);
  int threads = c->m->threads, per = nn__conv_chunk(&d, c->n, threads), chunks = (c->n + per - 1) / per, ch;
  NN__OMP_FOR_THREADS
  for (ch = 0; ch < chunks; ch++) {
    float *col = c->ws + (size_t)nn__thread_id() * nn__conv_thread_ws(&d), *stage = col + (size_t)d.K * d.chunk * d.P;
    int b0 = ch * per, nb = c->n - b0 < per ? c->n - b0 : per, b, o, q;
    size_t cols = (size_t)nb * d.P, in_size = (size_t)d.C * d.H * d.W;
    for (b = 0; b < nb; b++)
      nn__im2col(c->x[0] + (b0 + b) * in_size, d.C, d.H, d.W, d.kh, d.kw, d.s, d.p, d.OH, d.OW, col + (size_t)b * d.P, cols);
    nn__sgemm(0, 0, d.O, (int)cols, d.K, 1.0f, c->x[1], d.K, col, (int)cols, 0.0f, stage, (int)cols, nn__gemm_work(c));
    for (b = 0; b < nb; b++)
      for (o = 0; o < d.O; o++) {
        float *y = c->y + ((size_t)(b0 + b) * d.O + o) * d.P, bias = c->x[2] ? c->x[2][o] : 0.0f;
        const float *src = stage + (size_t)o * cols + (size_t)b * d.P;
        for (q = 0; q < d.P; q++) y[q] = src[q] + bias;
      }
  }
  return 1;
}
static int nn__conv_bwd(const nn__ctx *c) {
  nn__conv_dims d = nn__conv_get(c->node, c->m->max_batch);
  int threads = c->m->threads, per = nn__conv_chunk(&d, c->n, threads), chunks = (c->n + per - 1) / per, ch, t, o, q;
  size_t per_thread = nn__conv_thread_ws(&d), partial_off = (size_t)(d.K + d.O) * d.chunk * d.P;
  if (c->dx[1])
    for (t = 0; t < threads; t++) memset(c->ws + t * per_thread + partial_off, 0, (size_t)d.O * d.K * sizeof(float));
  NN__OMP_FOR_THREADS
  for (ch = 0; ch < chunks; ch++) {
    float *col = c->ws + (size_t)nn__thread_id() * per_thread, *stage = col + (size_t)d.K * d.chunk * d.P;
    int b0 = ch * per, nb = c->n - b0 < per ? c->n - b0 : per, bb, oo;
    size_t cols = (size_t)nb * d.P, in_size = (size_t)d.C * d.H * d.W;
    for (bb = 0; bb < nb; bb++)  /* dy of the chunk as one [O x cols] matrix */
      for (oo = 0; oo < d.O; oo++)
        memcpy(stage + (size_t)oo * cols + (size_t)bb * d.P, c->dy + ((size_t)(b0 + bb) * d.O + oo) * d.P, (size_t)d.P * sizeof(float));
    if (c->dx[1]) {
      for (bb = 0; bb < nb; bb++)
        nn__im2col(c->x[0] + (b0 + bb) * in_size, d.C, d.H, d.W, d.kh, d.kw, d.s, d.p, d.OH, d.OW, col + (size_t)bb * d.P, cols);
      nn__sgemm(0, 1, d.O, d.K, (int)cols, 1.0f, stage, (int)cols, col, (int)cols, 1.0f, col + partial_off, d.K, nn__gemm_work(c));
    }
    if (c->dx[0]) {
      nn__sgemm(1, 0, d.K, (int)cols, d.O, 1.0f, c->x[1], d.K, stage, (int)cols, 0.0f, col, (int)cols, nn__gemm_work(c));
      for (bb = 0; bb < nb; bb++)
        nn__col2im_add(col + (size_t)bb * d.P, d.C, d.H, d.W, d.kh, d.kw, d.s, d.p, d.OH, d.OW, c->dx[0] + (b0 + bb) * in_size, cols);
    }
  }
  if (c->dx[1])
    for (t = 0; t < threads; t++)
      for (q = 0; q < d.O * d.K; q++) c->dx[1][q] += c->ws[t * per_thread + partial_off + q];
  if (c->dx[2]) {
    NN__OMP_FOR_IF((size_t)c->n * d.O * d.P > NN__OMP_MIN_WORK)
    for (o = 0; o < d.O; o++) {
      int b, i;
      float s = 0;
      for (b = 0; b < c->n; b++)
        for (i = 0; i < d.P; i++) s += c->dy[((size_t)b * d.O + o) * d.P + i];
      c->dx[2][o] += s;
    }
  }
  return 1;
}
static double nn__conv_flops(const nn_node *n) { nn__conv_dims d = nn__conv_get(n, 1); return 2.0 * d.O * d.P * d.K; }

/* ---- pooling: ip: k, stride, pad.  Max pooling remembers, per output,
   the index of the winner inside its input plane (exact as a float). ---- */
typedef struct nn__pool_dims { int planes, H, W, OH, OW, k, s, p; } nn__pool_dims;
static nn__pool_dims nn__pool_get(const nn__ctx *c) {
  nn__pool_dims d;
  const nn_node *x = NN__IN(c, 0);
  d.planes = c->n * x->shape.dim[0]; d.H = x->shape.dim[1]; d.W = x->shape.dim[2];
  d.OH = c->node->shape.dim[1]; d.OW = c->node->shape.dim[2];
  d.k = c->node->ip[0]; d.s = c->node->ip[1]; d.p = c->node->ip[2];
  return d;
}
static size_t nn__maxpool_ws(const nn_node *n, int batch) { return (size_t)batch * nn__per(n); }
static int nn__maxpool_fwd(const nn__ctx *c) {
  nn__pool_dims d = nn__pool_get(c);
  int pl;
  NN__OMP_FOR_IF((size_t)d.planes * d.H * d.W > NN__OMP_MIN_WORK)
  for (pl = 0; pl < d.planes; pl++) {
    const float *x = c->x[0] + (size_t)pl * d.H * d.W;
    float *y = c->y + (size_t)pl * d.OH * d.OW, *arg = c->ws + (size_t)pl * d.OH * d.OW;
    int oh, ow, h, w;
    for (oh = 0; oh < d.OH; oh++) {
      int h0 = oh * d.s - d.p, h1 = h0 + d.k;  /* the window, clipped to the image */
      h0 = h0 < 0 ? 0 : h0;
      h1 = h1 > d.H ? d.H : h1;
      for (ow = 0; ow < d.OW; ow++) {
        int w0 = ow * d.s - d.p, w1 = w0 + d.k, at;
        float best;
        w0 = w0 < 0 ? 0 : w0;
        w1 = w1 > d.W ? d.W : w1;
        at = h0 * d.W + w0;
        best = x[at];
        for (h = h0; h < h1; h++)
          for (w = w0; w < w1; w++)
            if (x[h * d.W + w] > best) { best = x[h * d.W + w]; at = h * d.W + w; }
        y[oh * d.OW + ow] = best;
        arg[oh * d.OW + ow] = (float)at;
      }
    }
  }
  return 1;
}
static int nn__maxpool_bwd(const nn__ctx *c) {
  nn__pool_dims d = nn__pool_get(c);
  int pl;
  NN__OMP_FOR_IF((size_t)d.planes * d.H * d.W > NN__OMP_MIN_WORK)
  for (pl = 0; pl < d.planes; pl++) {
    float *dx = c->dx[0] + (size_t)pl * d.H * d.W;
    const float *dy = c->dy + (size_t)pl * d.OH * d.OW, *arg = c->ws + (size_t)pl * d.OH * d.OW;
    int q;
    for (q = 0; q < d.OH * d.OW; q++) dx[(int)arg[q]] += dy[q];
  }
  return 1;
}
/* average pooling divides by k*k, padding included (PyTorch's default) */
static int nn__avgpool_fwd(const nn__ctx *c) {
  nn__pool_dims d = nn__pool_get(c);
  float inv = 1.0f / (float)(d.k * d.k);
  int pl;
  NN__OMP_FOR_IF((size_t)d.planes * d.H * d.W > NN__OMP_MIN_WORK)
  for (pl = 0; pl < d.planes; pl++) {
    const float *x = c->x[0] + (size_t)pl * d.H * d.W;
    float *y = c->y + (size_t)pl * d.OH * d.OW;
    int oh, ow, i, j;
    for (oh = 0; oh < d.OH; oh++)
      for (ow = 0; ow < d.OW; ow++) {
        float s = 0;
        for (i = 0; i < d.k; i++) {
          int h = oh * d.s - d.p + i;
          if (h < 0 || h >= d.H) continue;
          for (j = 0; j < d.k; j++) {
            int w = ow * d.s - d.p + j;
            if (w >= 0 && w < d.W) s += x[h * d.W + w];
          }
        }
        y[oh * d.OW + ow] = s * inv;
      }
  }
  return 1;
}
static int nn__avgpool_bwd(const nn__ctx *c) {
  nn__pool_dims d = nn__pool_get(c);
  float inv = 1.0f / (float)(d.k * d.k);
  int pl;
  NN__OMP_FOR_IF((size_t)d.planes * d.H * d.W > NN__OMP_MIN_WORK)
  for (pl = 0; pl < d.planes; pl++) {
    float *dx = c->dx[0] + (size_t)pl * d.H * d.W;
    const float *dy = c->dy + (size_t)pl * d.OH * d.OW;
    int oh, ow, i, j;
    for (oh = 0; oh < d.OH; oh++)
      for (ow = 0; ow < d.OW; ow++) {
        float g = dy[oh * d.OW + ow] * inv;
        for (i = 0; i < d.k; i++) {
          int h = oh * d.s - d.p + i;
          if (h < 0 || h >= d.H) continue;
          for (j = 0; j < d.k; j++) {
            int w = ow * d.s - d.p + j;
            if (w >= 0 && w < d.W) dx[h * d.W + w] += g;
          }
        }
      }
  }
  return 1;
}
static double nn__pool_flops(const nn_node *n) { return (double)nn__per(n) * n->ip[0] * n->ip[0]; }

/* ---- global average pooling: [C, H, W] -> [C] ---- */
static int nn__gap_fwd(const nn__ctx *c) {
  const nn_node *x = NN__IN(c, 0);
  int planes = c->n * x->shape.dim[0], hw = x->shape.dim[1] * x->shape.dim[2], pl, q;
  for (pl = 0; pl < planes; pl++) {
    float s = 0;
    for (q = 0; q < hw; q++) s += c->x[0][(size_t)pl * hw + q];
    c->y[pl] = s / (float)hw;
  }
  return 1;
}
static int nn__gap_bwd(const nn__ctx *c) {
  const nn_node *x = NN__IN(c, 0);
  int planes = c->n * x->shape.dim[0], hw = x->shape.dim[1] * x->shape.dim[2], pl, q;
  for (pl = 0; pl < planes; pl++) {
    float g = c->dy[pl] / (float)hw;
    for (q = 0; q < hw; q++) c->dx[0][(size_t)pl * hw + q] += g;
  }
  return 1;
}
static double nn__gap_flops(const nn_node *n) { return (double)nn__per(n->in[0]); }

/* ---- batch norm over channel dim 0 of a sample ([C] or [C, H, W]) ----
   inputs: x, weight, bias, running_mean, running_var; fp: momentum, eps.
   Training normalises with batch statistics and moves the running ones
   (unbiased variance, PyTorch's convention); eval uses the running ones.
   Workspace: mean[C], rstd[C] of the last forward pass. */
static size_t nn__bn_ws(const nn_node *n, int batch) { (void)batch; return 2 * (size_t)n->shape.dim[0]; }
static int nn__bn_fwd(const nn__ctx *c) {
  int C = c->node->shape.dim[0], ch;
  size_t S = nn__per(c->node) / (size_t)C, cnt = (size_t)c->n * S;
  float mom = c->node->fp[0], eps = c->node->fp[1];
  NN__OMP_FOR_IF(cnt * C > NN__OMP_MIN_WORK)
  for (ch = 0; ch < C; ch++) {
    float *mean = c->ws, *rstd = c->ws + C, g = c->x[1][ch], bta = c->x[2][ch];
    size_t b, q;
    if (c->training) {
      double s = 0, ss = 0, mu, var;
      for (b = 0; b < (size_t)c->n; b++) {
        const float *x = c->x[0] + (b * C + ch) * S;
        for (q = 0; q < S; q++) s += x[q];
      }
      mu = s / (double)cnt;
      for (b = 0; b < (size_t)c->n; b++) {
        const float *x = c->x[0] + (b * C + ch) * S;
        for (q = 0; q < S; q++) ss += (x[q] - mu) * (x[q] - mu);
      }
      var = ss / (double)cnt;
      mean[ch] = (float)mu;
      rstd[ch] = (float)(1.0 / sqrt(var + eps));
      c->x[3][ch] = (1 - mom) * c->x[3][ch] + mom * (float)mu;
      c->x[4][ch] = (1 - mom) * c->x[4][ch] + mom * (float)(cnt > 1 ? var * cnt / (cnt - 1) : var);
    } else {
      mean[ch] = c->x[3][ch];
      rstd[ch] = 1.0f / sqrtf(c->x[4][ch] + eps);
    }
    for (b = 0; b < (size_t)c->n; b++) {
      const float *x = c->x[0] + (b * C + ch) * S;
      float *y = c->y + (b * C + ch) * S, a = g * rstd[ch], sh = bta - mean[ch] * a;
      for (q = 0; q < S; q++) y[q] = x[q] * a + sh;
    }
  }
  return 1;
}
static int nn__bn_bwd(const nn__ctx *c) {
  int C = c->node->shape.dim[0], ch;
  size_t S = nn__per(c->node) / (size_t)C, cnt = (size_t)c->n * S;
  NN__OMP_FOR_IF(cnt * C > NN__OMP_MIN_WORK)
  for (ch = 0; ch < C; ch++) {
    float mu = c->ws[ch], rs = c->ws[C + ch], g = c->x[1][ch];
    double sdy = 0, sdyx = 0;
    size_t b, q;
    for (b = 0; b < (size_t)c->n; b++) {
      const float *x = c->x[0] + (b * C + ch) * S, *dy = c->dy + (b * C + ch) * S;
      for (q = 0; q < S; q++) { sdy += dy[q]; sdyx += dy[q] * (x[q] - mu) * rs; }
    }
    if (c->dx[1]) c->dx[1][ch] += (float)sdyx;
    if (c->dx[2]) c->dx[2][ch] += (float)sdy;
    if (!c->dx[0]) continue;
    for (b = 0; b < (size_t)c->n; b++) {
      const float *x = c->x[0] + (b * C + ch) * S, *dy = c->dy + (b * C + ch) * S;
      float *dx = c->dx[0] + (b * C + ch) * S;
      if (c->training) {
        float k = g * rs / (float)cnt, m1 = (float)sdy, m2 = (float)sdyx;
        for (q = 0; q < S; q++) dx[q] += k * ((float)cnt * dy[q] - m1 - (x[q] - mu) * rs * m2);
      } else {
        for (q = 0; q < S; q++) dx[q] += g * rs * dy[q];
      }
    }
  }
  return 1;
}
static double nn__norm_flops(const nn_node *n) { return 5.0 * (double)nn__per(n); }

/* ---- layer norm over the last dimension; inputs x, weight, bias; fp: eps.
   Workspace: mean and rstd of every row. ---- */
static size_t nn__ln_ws(const nn_node *n, int batch) { return 2 * (size_t)batch * (nn__per(n) / (size_t)NN__LAST(n)); }
static int nn__ln_fwd(const nn__ctx *c) {
  int D = NN__LAST(c->node), rows = (int)(nn__len(c, c->node) / (size_t)D), r;
  float eps = c->node->fp[0];
  NN__OMP_FOR_IF((size_t)rows * D > NN__OMP_MIN_WORK)
  for (r = 0; r < rows; r++) {
    const float *x = c->x[0] + (size_t)r * D;
    float *y = c->y + (size_t)r * D;
    double s = 0, ss = 0, mu;
    float rs;
    int j;
    for (j = 0; j < D; j++) s += x[j];
    mu = s / D;
    for (j = 0; j < D; j++) ss += (x[j] - mu) * (x[j] - mu);
    rs = (float)(1.0 / sqrt(ss / D + eps));
    c->ws[2 * r] = (float)mu;
    c->ws[2 * r + 1] = rs;
    for (j = 0; j < D; j++) y[j] = (x[j] - (float)mu) * rs * c->x[1][j] + c->x[2][j];
  }
  return 1;
}
static int nn__ln_bwd(const nn__ctx *c) {
  int D = NN__LAST(c->node), rows = (int)(nn__len(c, c->node) / (size_t)D), r, j;
  for (r = 0; r < rows; r++) {  /* serial: rows share the parameter gradients */
    const float *x = c->x[0] + (size_t)r * D, *dy = c->dy + (size_t)r * D;
    float mu = c->ws[2 * r], rs = c->ws[2 * r + 1];
    double sg = 0, sgx = 0;
    for (j = 0; j < D; j++) {
      float xh = (x[j] - mu) * rs, gj = dy[j] * c->x[1][j];
      if (c->dx[1]) c->dx[1][j] += dy[j] * xh;
      if (c->dx[2]) c->dx[2][j] += dy[j];
      sg += gj;
      sgx += gj * xh;
    }
    if (c->dx[0]) {
      float *dx = c->dx[0] + (size_t)r * D, m1 = (float)(sg / D), m2 = (float)(sgx / D);
      for (j = 0; j < D; j++) dx[j] += rs * (dy[j] * c->x[1][j] - m1 - (x[j] - mu) * rs * m2);
    }
  }
  return 1;
}

/* ---- dropout: fp: p.  Workspace: the scaled keep-mask of the batch. ---- */
static size_t nn__dropout_ws(const nn_node *n, int batch) { return (size_t)batch * nn__per(n); }
static int nn__dropout_fwd(const nn__ctx *c) {
  size_t i, len = nn__len(c, c->node);
  float p = c->node->fp[0], keep = 1.0f / (1.0f - p);
  if (!c->training || p <= 0) { memcpy(c->y, c->x[0], len * sizeof(float)); return 1; }
  for (i = 0; i < len; i++) {
    c->ws[i] = nn_rng_uniform(&c->m->rng) >= p ? keep : 0.0f;
    c->y[i] = c->x[0][i] * c->ws[i];
  }
  return 1;
}
static int nn__dropout_bwd(const nn__ctx *c) {
  size_t i, len = nn__len(c, c->node);
  if (!c->training || c->node->fp[0] <= 0) for (i = 0; i < len; i++) c->dx[0][i] += c->dy[i];
  else for (i = 0; i < len; i++) c->dx[0][i] += c->dy[i] * c->ws[i];
  return 1;
}

/* ---- residual add, concat along dim 0 of a sample, scale by a constant ---- */
static int nn__add_fwd(const nn__ctx *c) {
  ptrdiff_t i, len = (ptrdiff_t)nn__len(c, c->node);
  const float *NN__RESTRICT x = c->x[0];
  const float *NN__RESTRICT x1 = c->x[1];
  float *NN__RESTRICT y = c->y;
  NN__OMP_FOR_LEN
  for (i = 0; i < len; i++) y[i] = x[i] + x1[i];
  return 1;
}
static int nn__add_bwd(const nn__ctx *c) {
  size_t i, len = nn__len(c, c->node);
  int k;
  for (k = 0; k < 2; k++)
    if (c->dx[k]) for (i = 0; i < len; i++) c->dx[k][i] += c->dy[i];
  return 1;
}
static int nn__concat_fwd(const nn__ctx *c) {
  size_t out = nn__per(c->node), off = 0;
  int k, b;
  for (k = 0; k < c->node->n_in; k++) {
    size_t part = nn__per(NN__IN(c, k));
    for (b = 0; b < c->n; b++) memcpy(c->y + b * out + off, c->x[k] + b * part, part * sizeof(float));
    off += part;
  }
  return 1;
}
static int nn__concat_bwd(const nn__ctx *c) {
  size_t out = nn__per(c->node), off = 0, i;
  int k, b;
  for (k = 0; k < c->node->n_in; k++) {
    size_t part = nn__per(NN__IN(c, k));
    if (c->dx[k])
      for (b = 0; b < c->n; b++)
        for (i = 0; i < part; i++) c->dx[k][b * part + i] += c->dy[b * out + off + i];
    off += part;
  }
  return 1;
}
static int nn__scale_fwd(const nn__ctx *c) {
  ptrdiff_t i, len = (ptrdiff_t)nn__len(c, c->node);
  const float *NN__RESTRICT x = c->x[0];
  float *NN__RESTRICT y = c->y;
  NN__OMP_FOR_LEN
  for (i = 0; i < len; i++) y[i] = x[i] * c->node->fp[0];
  return 1;
}
static int nn__scale_bwd(const nn__ctx *c) {
  ptrdiff_t i, len = (ptrdiff_t)nn__len(c, c->node);
  float *NN__RESTRICT dx = c->dx[0];
  const float *NN__RESTRICT dy = c->dy;
  NN__OMP_FOR_LEN
  for (i = 0; i < len; i++) dx[i] += dy[i] * c->node->fp[0];
  return 1;
}
static double nn__elementwise_flops(const nn_node *n) { return (double)nn__per(n); }

/* ---- activations.  Backward uses the saved output where it can. ---- */
static int nn__relu_fwd(const nn__ctx *c) {
  ptrdiff_t i, len = (ptrdiff_t)nn__len(c, c->node);
  const float *NN__RESTRICT x = c->x[0];
  float *NN__RESTRICT y = c->y;
  NN__OMP_FOR_LEN
  for (i = 0; i < len; i++) y[i] = x[i] > 0 ? x[i] : 0.0f;
  return 1;
}
static int nn__relu_bwd(const nn__ctx *c) {
  ptrdiff_t i, len = (ptrdiff_t)nn__len(c, c->node);
  const float *NN__RESTRICT x = c->x[0];
  float *NN__RESTRICT dx = c->dx[0];
  const float *NN__RESTRICT dy = c->dy;
  NN__OMP_FOR_LEN
  for (i = 0; i < len; i++) if (x[i] > 0) dx[i] += dy[i];
  return 1;
}
static int nn__leaky_fwd(const nn__ctx *c) {
  ptrdiff_t i, len = (ptrdiff_t)nn__len(c, c->node);
  const float *NN__RESTRICT x = c->x[0];
  float *NN__RESTRICT y = c->y;
  float a = c->node->fp[0];
  NN__OMP_FOR_LEN
  for (i = 0; i < len; i++) y[i] = x[i] > 0 ? x[i] : a * x[i];
  return 1;
}
static int nn__leaky_bwd(const nn__ctx *c) {
  ptrdiff_t i, len = (ptrdiff_t)nn__len(c, c->node);
  const float *NN__RESTRICT x = c->x[0];
  float *NN__RESTRICT dx = c->dx[0];
  const float *NN__RESTRICT dy = c->dy;
  float a = c->node->fp[0];
  NN__OMP_FOR_LEN
  for (i = 0; i < len; i++) dx[i] += x[i] > 0 ? dy[i] : a * dy[i];
  return 1;
}
/* gelu(x) = x * Phi(x), Phi the standard normal CDF */
static int nn__gelu_fwd(const nn__ctx *c) {
  ptrdiff_t i, len = (ptrdiff_t)nn__len(c, c->node);
  const float *NN__RESTRICT x = c->x[0];
  float *NN__RESTRICT y = c->y;
  NN__OMP_FOR_LEN
  for (i = 0; i < len; i++) y[i] = 0.5f * x[i] * (1.0f + nn__erf(x[i] * 0.70710678f));
  return 1;
}
static int nn__gelu_bwd(const nn__ctx *c) {
  ptrdiff_t i, len = (ptrdiff_t)nn__len(c, c->node);
  const float *NN__RESTRICT x = c->x[0];
  float *NN__RESTRICT dx = c->dx[0];
  const float *NN__RESTRICT dy = c->dy;
  NN__OMP_FOR_LEN
  for (i = 0; i < len; i++) {
    float v = x[i], cdf = 0.5f * (1.0f + nn__erf(v * 0.70710678f));
    dx[i] += dy[i] * (cdf + v * 0.39894228f * nn__exp(-0.5f * v * v));
  }
  return 1;
}
static int nn__sigmoid_fwd(const nn__ctx *c) {
  ptrdiff_t i, len = (ptrdiff_t)nn__len(c, c->node);
  const float *NN__RESTRICT x = c->x[0];
  float *NN__RESTRICT y = c->y;
  NN__OMP_FOR_LEN
  for (i = 0; i < len; i++) y[i] = nn__sigmoid(x[i]);
  return 1;
}
static int nn__sigmoid_bwd(const nn__ctx *c) {
  ptrdiff_t i, len = (ptrdiff_t)nn__len(c, c->node);
  float *NN__RESTRICT dx = c->dx[0];
  const float *NN__RESTRICT dy = c->dy;
  const float *NN__RESTRICT y = c->y;
  NN__OMP_FOR_LEN
  for (i = 0; i < len; i++) dx[i] += dy[i] * y[i] * (1.0f - y[i]);
  return 1;
}
static int nn__tanh_fwd(const nn__ctx *c) {
  ptrdiff_t i, len = (ptrdiff_t)nn__len(c, c->node);
  const float *NN__RESTRICT x = c->x[0];
  float *NN__RESTRICT y = c->y;
  NN__OMP_FOR_LEN
  for (i = 0; i < len; i++) y[i] = nn__tanh(x[i]);
  return 1;
}
static int nn__tanh_bwd(const nn__ctx *c) {
  ptrdiff_t i, len = (ptrdiff_t)nn__len(c, c->node);
  float *NN__RESTRICT dx = c->dx[0];
  const float *NN__RESTRICT dy = c->dy;
  const float *NN__RESTRICT y = c->y;
  NN__OMP_FOR_LEN
  for (i = 0; i < len; i++) dx[i] += dy[i] * (1.0f - y[i] * y[i]);
  return 1;
}
static void nn__softmax_row(const float *x, float *y, int D) {
  float mx = x[0], s = 0;
  int j;
  for (j = 1; j < D; j++) if (x[j] > mx) mx = x[j];
  for (j = 0; j < D; j++) { y[j] = expf(x[j] - mx); s += y[j]; }
  for (j = 0; j < D; j++) y[j] /= s;
}
static int nn__softmax_fwd(const nn__ctx *c) {
  int D = NN__LAST(c->node), rows = (int)(nn__len(c, c->node) / (size_t)D), r;
  for (r = 0; r < rows; r++) nn__softmax_row(c->x[0] + (size_t)r * D, c->y + (size_t)r * D, D);
  return 1;
}
static int nn__softmax_bwd(const nn__ctx *c) {
  int D = NN__LAST(c->node), rows = (int)(nn__len(c, c->node) / (size_t)D), r, j;
  for (r = 0; r < rows; r++) {
    const float *y = c->y + (size_t)r * D, *dy = c->dy + (size_t)r * D;
    float dot = 0;
    for (j = 0; j < D; j++) dot += dy[j] * y[j];
    for (j = 0; j < D; j++) c->dx[0][(size_t)r * D + j] += y[j] * (dy[j] - dot);
  }
  return 1;
}

/* ---- losses: scalar outputs; ip[0] is the reduction ----
   cross entropy: inputs logits [C], labels [1]; fp: label smoothing e.
   Target distribution (1-e)*onehot + e/C.  Workspace: probabilities. */
static float nn__loss_scale(const nn__ctx *c, size_t count) { return c->node->ip[0] == NN_SUM ? 1.0f : 1.0f / (float)count; }
static size_t nn__ce_ws(const nn_node *n, int batch) { return (size_t)batch * nn__per(n->in[0]); }
static int nn__ce_fwd(const nn__ctx *c) {
  int C = (int)nn__per(NN__IN(c, 0)), b, j;
  float e = c->node->fp[0];
  double total = 0;
  for (b = 0; b < c->n; b++) {
    const float *z = c->x[0] + (size_t)b * C;
    float *p = c->ws + (size_t)b * C, lab = c->x[1][b];
    double lse, mx = z[0], s = 0, l = 0;
    int t = (int)lab;
    if (!(lab >= 0) || t >= C || (float)t != lab)
      return nn__fail("cross_entropy '%s': label %g of sample %d is not a class in 0..%d", c->node->name, lab, b, C - 1);
    for (j = 1; j < C; j++) if (z[j] > mx) mx = z[j];
    for (j = 0; j < C; j++) s += exp(z[j] - mx);
    lse = mx + log(s);
    for (j = 0; j < C; j++) {
      p[j] = (float)exp(z[j] - lse);
      l -= ((j == t ? 1.0 - e : 0.0) + e / C) * (z[j] - lse);
    }
    total += l;
  }
  c->y[0] = (float)total * nn__loss_scale(c, (size_t)c->n);
  return 1;
}
static int nn__ce_bwd(const nn__ctx *c) {
  int C = (int)nn__per(NN__IN(c, 0)), b, j;
  float e = c->node->fp[0], g = c->dy[0] * nn__loss_scale(c, (size_t)c->n);
  for (b = 0; b < c->n; b++) {
    const float *p = c->ws + (size_t)b * C;
    int t = (int)c->x[1][b];
    for (j = 0; j < C; j++) c->dx[0][(size_t)b * C + j] += g * (p[j] - ((j == t ? 1.0f - e : 0.0f) + e / C));
  }
  return 1;
}
/* binary cross entropy on logits z with targets t, stable form:
   max(z,0) - z t + log(1 + exp(-|z|)) */
static int nn__bce_fwd(const nn__ctx *c) {
  size_t i, len = nn__len(c, NN__IN(c, 0));
  double total = 0;
  for (i = 0; i < len; i++) {
    float z = c->x[0][i], t = c->x[1][i];
    total += (z > 0 ? z : 0) - z * t + log1p(exp(-fabs(z)));
  }
  c->y[0] = (float)total * nn__loss_scale(c, len);
  return 1;
}
static int nn__bce_bwd(const nn__ctx *c) {
  size_t i, len = nn__len(c, NN__IN(c, 0));
  float g = c->dy[0] * nn__loss_scale(c, len);
  for (i = 0; i < len; i++) {
    float z = c->x[0][i];
    if (c->dx[0]) c->dx[0][i] += g * (nn__sigmoid(z) - c->x[1][i]);
    if (c->dx[1]) c->dx[1][i] -= g * z;
  }
  return 1;
}
static int nn__mse_fwd(const nn__ctx *c) {
  size_t i, len = nn__len(c, NN__IN(c, 0));
  double total = 0;
  for (i = 0; i < len; i++) { double d = (double)c->x[0][i] - c->x[1][i]; total += d * d; }
  c->y[0] = (float)total * nn__loss_scale(c, len);
  return 1;
}
static int nn__mse_bwd(const nn__ctx *c) {
  size_t i, len = nn__len(c, NN__IN(c, 0));
  float g = 2.0f * c->dy[0] * nn__loss_scale(c, len);
  for (i = 0; i < len; i++) {
    float d = g * (c->x[0][i] - c->x[1][i]);
    if (c->dx[0]) c->dx[0][i] += d;
    if (c->dx[1]) c->dx[1][i] -= d;
  }
  return 1;
}

/* The registry, in nn_op order (a test checks the order). */
static const nn__op_def nn__ops[NN_OP_COUNT] = {
  {NN_OP_INPUT, "input", NULL, NULL, NULL, NULL},
  {NN_OP_PARAM, "param", NULL, NULL, NULL, NULL},
  {NN_OP_RESHAPE, "reshape", NULL, NULL, NULL, NULL},  /* shares its input's buffers */
  {NN_OP_DENSE, "dense", nn__dense_fwd, nn__dense_bwd, NULL, nn__dense_flops},
  {NN_OP_CONV2D, "conv2d", nn__conv_fwd, nn__conv_bwd, nn__conv_ws, nn__conv_flops},
  {NN_OP_MAXPOOL2D, "maxpool2d", nn__maxpool_fwd, nn__maxpool_bwd, nn__maxpool_ws, nn__pool_flops},
  {NN_OP_AVGPOOL2D, "avgpool2d", nn__avgpool_fwd, nn__avgpool_bwd, NULL, nn__pool_flops},
  {NN_OP_GLOBAL_AVGPOOL, "global_avgpool", nn__gap_fwd, nn__gap_bwd, NULL, nn__gap_flops},
  {NN_OP_BATCHNORM, "batchnorm", nn__bn_fwd, nn__bn_bwd, nn__bn_ws, nn__norm_flops},
  {NN_OP_LAYERNORM, "layernorm", nn__ln_fwd, nn__ln_bwd, nn__ln_ws, nn__norm_flops},
  {NN_OP_DROPOUT, "dropout", nn__dropout_fwd, nn__dropout_bwd, nn__dropout_ws, nn__elementwise_flops},
  {NN_OP_ADD, "add", nn__add_fwd, nn__add_bwd, NULL, nn__elementwise_flops},
  {NN_OP_CONCAT, "concat", nn__concat_fwd, nn__concat_bwd, NULL, NULL},
  {NN_OP_SCALE, "scale", nn__scale_fwd, nn__scale_bwd, NULL, nn__elementwise_flops},
  {NN_OP_RELU, "relu", nn__relu_fwd, nn__relu_bwd, NULL, nn__elementwise_flops},
  {NN_OP_LEAKY_RELU, "leaky_relu", nn__leaky_fwd, nn__leaky_bwd, NULL, nn__elementwise_flops},
  {NN_OP_GELU, "gelu", nn__gelu_fwd, nn__gelu_bwd, NULL, nn__elementwise_flops},
  {NN_OP_SIGMOID, "sigmoid", nn__sigmoid_fwd, nn__sigmoid_bwd, NULL, nn__elementwise_flops},
  {NN_OP_TANH, "tanh", nn__tanh_fwd, nn__tanh_bwd, NULL, nn__elementwise_flops},
  {NN_OP_SOFTMAX, "softmax", nn__softmax_fwd, nn__softmax_bwd, NULL, nn__elementwise_flops},
  {NN_OP_CROSS_ENTROPY, "cross_entropy", nn__ce_fwd, nn__ce_bwd, nn__ce_ws, NULL},
  {NN_OP_BCE_LOGITS, "bce_with_logits", nn__bce_fwd, nn__bce_bwd, NULL, NULL},
  {NN_OP_MSE, "mse", nn__mse_fwd, nn__mse_bwd, NULL, NULL},
};

NNDEF const char *nn_op_name(nn_op op) { return (unsigned)op < NN_OP_COUNT ? nn__ops[op].name : "?"; }

/* ======================================================================
   Graph building.  Builders check shapes at once and name the op and
   the shapes on a mismatch; a failed builder returns NULL, and every
   later builder given NULL returns NULL too, so the first reason stays.
   ====================================================================== */
struct nn_graph {
  nn_node **nodes;
  int n, cap;
  uint64_t seed;
  int failed;
  char error[512];
  char next_name[NN_NAME_LEN];
  int layers;          /* counter for automatic layer names */
  nn_node *loss;
};

NNDEF nn_graph *nn_graph_new(void) {
  nn_graph *g = (nn_graph *)nn__calloc(1, sizeof *g);
  if (g) g->seed = 42;
  return g;
}
NNDEF void nn_graph_free(nn_graph *g) {
  int i;
  if (!g) return;
  for (i = 0; i < g->n; i++) NN_FREE(g->nodes[i]);
  NN_FREE(g->nodes);
  NN_FREE(g);
}
NNDEF void nn_graph_set_seed(nn_graph *g, uint64_t seed) { g->seed = seed; }
NNDEF const char *nn_graph_error(const nn_graph *g) { return g->failed ? g->error : NULL; }
NNDEF void nn_layer_name(nn_graph *g, const char *name) {
  snprintf(g->next_name, sizeof g->next_name, "%s", name ? name : "");
}
NNDEF nn_node *nn_find(const nn_graph *g, const char *name) {
  int i;
  for (i = 0; i < g->n; i++) if (!strcmp(g->nodes[i]->name, name)) return g->nodes[i];
  return NULL;
}
NNDEF int nn_graph_num_nodes(const nn_graph *g) { return g->n; }
NNDEF nn_node *nn_graph_node(const nn_graph *g, int i) { return i >= 0 && i < g->n ? g->nodes[i] : NULL; }
NNDEF nn_node *nn_node_input(const nn_node *n, int i) { return n && i >= 0 && i < n->n_in ? n->in[i] : NULL; }
NNDEF const nn_shape *nn_node_shape(const nn_node *n) { return &n->shape; }

static nn_node *nn__gfail(nn_graph *g, const char *fmt, ...) {
  va_list ap;
  if (g->failed) return NULL;
  va_start(ap, fmt);
  vsnprintf(g->error, sizeof g->error, fmt, ap);
  va_end(ap);
  g->failed = 1;
  nn__fail("%s", g->error);
  return NULL;
}
/* 1 if the graph is healthy and the required inputs exist */
static int nn__ready(nn_graph *g, const char *op, int n, nn_node *const *xs) {
  int i;
  if (!g) return nn__fail("%s: graph is NULL", op);
  if (g->failed) return 0;
  for (i = 0; i < n; i++)
    if (!xs[i]) { nn__gfail(g, "%s: input %d is NULL", op, i); return 0; }
  return 1;
}
static nn_node *nn__add_node(nn_graph *g, nn_op op, int n_in, nn_node *const *in,
                             nn_shape shape, int batched, const char *name) {
  nn_node *nd;
  int i;
  for (i = 0; i < shape.ndim; i++)
    if (shape.dim[i] < 1) {
      char buf[64];
      return nn__gfail(g, "%s: output shape %s is empty", nn__ops[op].name, nn_shape_str(&shape, buf, sizeof buf));
    }
  if (g->n == g->cap) {
    int cap = g->cap ? 2 * g->cap : 64;
    nn_node **nodes = (nn_node **)NN_REALLOC(g->nodes, (size_t)cap * sizeof *nodes);
    if (!nodes) return nn__gfail(g, "out of memory building the graph");
    g->nodes = nodes;
    g->cap = cap;
  }
  nd = (nn_node *)nn__calloc(1, sizeof *nd);
  if (!nd) return nn__gfail(g, "out of memory building the graph");
  nd->id = g->n;
  nd->op = op;
  nd->n_in = n_in;
  for (i = 0; i < n_in; i++) nd->in[i] = in[i];
  nd->shape = shape;
  nd->batched = batched;
  nd->lr_mult = nd->wd_mult = 1.0f;
  if (name && *name) snprintf(nd->name, sizeof nd->name, "%s", name);
  else snprintf(nd->name, sizeof nd->name, "%s_%d", nn__ops[op].name, nd->id);
  g->nodes[g->n++] = nd;
  return nd;
}
/* a layer's name: the one given by nn_layer_name, else kind + counter */
static void nn__layer_prefix(nn_graph *g, const char *kind, char *buf) {
  if (g->next_name[0]) snprintf(buf, NN_NAME_LEN, "%s", g->next_name);
  else snprintf(buf, NN_NAME_LEN, "%s%d", kind, g->layers);
  g->next_name[0] = 0;
  g->layers++;
}
static nn_node *nn__layer_param(nn_graph *g, const char *prefix, const char *what, nn_shape s,
                                nn_init init, float arg, int fan_in, int fan_out) {
  char name[NN_NAME_LEN + 16];
  nn_node *p;
  snprintf(name, sizeof name, "%s.%s", prefix, what);
  p = nn_param(g, name, s.ndim, s.dim, init, arg);
  if (p) { p->fan_in = fan_in; p->fan_out = fan_out; }
  return p;
}
static int nn__need_batched(nn_graph *g, const char *op, const nn_node *x, int ndim_min, int ndim_max) {
  char buf[64];
  if (!x->batched) { nn__gfail(g, "%s: input '%s' has no batch dimension", op, x->name); return 0; }
  if (x->shape.ndim < ndim_min || x->shape.ndim > ndim_max) {
    nn__gfail(g, "%s: input '%s' has shape %s, expected %d..%d dims per sample", op, x->name,
              nn_shape_str(&x->shape, buf, sizeof buf), ndim_min, ndim_max);
    return 0;
  }
  return 1;
}

NNDEF nn_node *nn_input(nn_graph *g, const char *name, int ndim, const int *dims) {
  nn_node *none = NULL;
  if (!nn__ready(g, "input", 0, &none)) return NULL;
  if (!name || !*name) return nn__gfail(g, "input: a name is required (nn_feed finds inputs by name)");
  if (ndim < 1 || ndim > NN_MAX_DIMS) return nn__gfail(g, "input '%s': %d dims (1..%d allowed)", name, ndim, NN_MAX_DIMS);
  if (nn_find(g, name)) return nn__gfail(g, "input '%s': the name is taken", name);
  return nn__add_node(g, NN_OP_INPUT, 0, NULL, nn__shape(ndim, dims), 1, name);
}
NNDEF nn_node *nn_param(nn_graph *g, const char *name, int ndim, const int *dims, nn_init init, float arg) {
  nn_node *none = NULL, *p;
  if (!nn__ready(g, "param", 0, &none)) return NULL;
  if (!name || !*name) return nn__gfail(g, "param: a name is required (files store weights by name)");
  if (ndim < 1 || ndim > NN_MAX_DIMS) return nn__gfail(g, "param '%s': %d dims (1..%d allowed)", name, ndim, NN_MAX_DIMS);
  if (nn_find(g, name)) return nn__gfail(g, "param '%s': the name is taken (use nn_layer_name)", name);
  p = nn__add_node(g, NN_OP_PARAM, 0, NULL, nn__shape(ndim, dims), 0, name);
  if (!p) return NULL;
  p->trainable = 1;
  p->init = init;
  p->init_arg = arg;
  p->fan_in = ndim > 1 ? (int)(nn__per(p) / (size_t)dims[0]) : dims[0];
  p->fan_out = dims[0];
  return p;
}
NNDEF void nn_set_requires_grad(nn_node *x) { if (x && x->op == NN_OP_INPUT) x->needs_grad = 1; }
NNDEF void nn_set_trainable(nn_node *p, int t) { if (p && p->op == NN_OP_PARAM) p->trainable = t; }
NNDEF void nn_set_lr_mult(nn_node *p, float v) { if (p) p->lr_mult = v; }
NNDEF void nn_set_wd_mult(nn_node *p, float v) { if (p) p->wd_mult = v; }
NNDEF void nn_set_init(nn_node *p, nn_init init, float arg) { if (p) { p->init = init; p->init_arg = arg; } }

NNDEF nn_node *nn_dense_ex(nn_graph *g, nn_node *x, int units, int bias) {
  char pre[NN_NAME_LEN];
  nn_node *in[3];
  nn_shape s;
  int fan_in;
  if (!nn__ready(g, "dense", 1, &x) || !nn__need_batched(g, "dense", x, 1, NN_MAX_DIMS)) return NULL;
  if (units < 1) return nn__gfail(g, "dense: %d units", units);
  fan_in = NN__LAST(x);
  nn__layer_prefix(g, "dense", pre);
  in[0] = x;
  in[1] = nn__layer_param(g, pre, "weight", nn__shape2(units, fan_in), NN_INIT_HE_UNIFORM, 0, fan_in, units);
  in[2] = bias ? nn__layer_param(g, pre, "bias", nn__shape1(units), NN_INIT_ZEROS, 0, fan_in, units) : NULL;
  if (!in[1] || (bias && !in[2])) return NULL;
  s = x->shape;
  s.dim[s.ndim - 1] = units;
  return nn__add_node(g, NN_OP_DENSE, 3, in, s, 1, pre);
}
NNDEF nn_node *nn_dense(nn_graph *g, nn_node *x, int units) { return nn_dense_ex(g, x, units, 1); }

static int nn__out_size(int in, int k, int s, int p) { return in + 2 * p < k ? 0 : (in + 2 * p - k) / s + 1; }

NNDEF nn_node *nn_conv2d_ex(nn_graph *g, nn_node *x, int out_ch, int kh, int kw, int stride, int pad, int bias) {
  char pre[NN_NAME_LEN], buf[64];
  nn_node *in[3];
  int C, OH, OW, d[4];
  if (!nn__ready(g, "conv2d", 1, &x) || !nn__need_batched(g, "conv2d", x, 3, 3)) return NULL;
  if (out_ch < 1 || kh < 1 || kw < 1 || stride < 1 || pad < 0)
    return nn__gfail(g, "conv2d: bad arguments (out %d, kernel %dx%d, stride %d, pad %d)", out_ch, kh, kw, stride, pad);
  C = x->shape.dim[0];
  OH = nn__out_size(x->shape.dim[1], kh, stride, pad);
  OW = nn__out_size(x->shape.dim[2], kw, stride, pad);
  if (OH < 1 || OW < 1)
    return nn__gfail(g, "conv2d: kernel %dx%d does not fit input '%s' of shape %s with pad %d", kh, kw, x->name,
                     nn_shape_str(&x->shape, buf, sizeof buf), pad);
  nn__layer_prefix(g, "conv", pre);
  d[0] = out_ch; d[1] = C; d[2] = kh; d[3] = kw;
  in[0] = x;
  in[1] = nn__layer_param(g, pre, "weight", nn__shape(4, d), NN_INIT_HE_UNIFORM, 0, C * kh * kw, out_ch * kh * kw);
  in[2] = bias ? nn__layer_param(g, pre, "bias", nn__shape1(out_ch), NN_INIT_ZEROS, 0, C * kh * kw, out_ch) : NULL;
  if (!in[1] || (bias && !in[2])) return NULL;
  x = nn__add_node(g, NN_OP_CONV2D, 3, in, nn__shape3(out_ch, OH, OW), 1, pre);
  if (x) { x->ip[0] = kh; x->ip[1] = kw; x->ip[2] = stride; x->ip[3] = pad; }
  return x;
}
NNDEF nn_node *nn_conv2d(nn_graph *g, nn_node *x, int out_ch, int k, int stride, int pad) {
  return nn_conv2d_ex(g, x, out_ch, k, k, stride, pad, 1);
}

static nn_node *nn__pool(nn_graph *g, nn_op op, nn_node *x, int k, int stride, int pad) {
  const char *name = nn__ops[op].name;
  char buf[64];
  int OH, OW;
  if (!nn__ready(g, name, 1, &x) || !nn__need_batched(g, name, x, 3, 3)) return NULL;
  if (k < 1 || stride < 1 || pad < 0 || 2 * pad > k)
    return nn__gfail(g, "%s: bad arguments (kernel %d, stride %d, pad %d)", name, k, stride, pad);
  OH = nn__out_size(x->shape.dim[1], k, stride, pad);
  OW = nn__out_size(x->shape.dim[2], k, stride, pad);
  if (OH < 1 || OW < 1)
    return nn__gfail(g, "%s: kernel %d does not fit input '%s' of shape %s", name, k, x->name, nn_shape_str(&x->shape, buf, sizeof buf));
  x = nn__add_node(g, op, 1, &x, nn__shape3(x->shape.dim[0], OH, OW), 1, NULL);
  if (x) { x->ip[0] = k; x->ip[1] = stride; x->ip[2] = pad; }
  return x;
}
NNDEF nn_node *nn_maxpool2d_ex(nn_graph *g, nn_node *x, int k, int s, int p) { return nn__pool(g, NN_OP_MAXPOOL2D, x, k, s, p); }
NNDEF nn_node *nn_maxpool2d(nn_graph *g, nn_node *x, int k, int s) { return nn__pool(g, NN_OP_MAXPOOL2D, x, k, s, 0); }
NNDEF nn_node *nn_avgpool2d_ex(nn_graph *g, nn_node *x, int k, int s, int p) { return nn__pool(g, NN_OP_AVGPOOL2D, x, k, s, p); }
NNDEF nn_node *nn_avgpool2d(nn_graph *g, nn_node *x, int k, int s) { return nn__pool(g, NN_OP_AVGPOOL2D, x, k, s, 0); }
NNDEF nn_node *nn_global_avgpool(nn_graph *g, nn_node *x) {
  if (!nn__ready(g, "global_avgpool", 1, &x) || !nn__need_batched(g, "global_avgpool", x, 3, 3)) return NULL;
  return nn__add_node(g, NN_OP_GLOBAL_AVGPOOL, 1, &x, nn__shape1(x->shape.dim[0]), 1, NULL);
}

NNDEF nn_node *nn_batchnorm_ex(nn_graph *g, nn_node *x, float momentum, float eps, int frozen_scale) {
  char pre[NN_NAME_LEN];
  nn_node *in[5];
  nn_shape s;
  int i;
  if (!nn__ready(g, "batchnorm", 1, &x) || !nn__need_batched(g, "batchnorm", x, 1, 3)) return NULL;
  if (!(momentum >= 0 && momentum <= 1) || !(eps > 0)) return nn__gfail(g, "batchnorm: momentum %g, eps %g", momentum, eps);
  s = nn__shape1(x->shape.dim[0]);
  nn__layer_prefix(g, "bn", pre);
  in[0] = x;
  in[1] = nn__layer_param(g, pre, "weight", s, NN_INIT_ONES, 0, 1, 1);
  in[2] = nn__layer_param(g, pre, "bias", s, NN_INIT_ZEROS, 0, 1, 1);
  in[3] = nn__layer_param(g, pre, "running_mean", s, NN_INIT_ZEROS, 0, 1, 1);
  in[4] = nn__layer_param(g, pre, "running_var", s, NN_INIT_ONES, 0, 1, 1);
  for (i = 1; i < 5; i++) if (!in[i]) return NULL;
  in[1]->trainable = !frozen_scale;
  in[3]->trainable = in[4]->trainable = 0;
  x = nn__add_node(g, NN_OP_BATCHNORM, 5, in, x->shape, 1, pre);
  if (x) { x->fp[0] = momentum; x->fp[1] = eps; }
  return x;
}
NNDEF nn_node *nn_batchnorm(nn_graph *g, nn_node *x) { return nn_batchnorm_ex(g, x, 0.1f, 1e-5f, 0); }

NNDEF nn_node *nn_layernorm_ex(nn_graph *g, nn_node *x, float eps) {
  char pre[NN_NAME_LEN];
  nn_node *in[3];
  if (!nn__ready(g, "layernorm", 1, &x) || !nn__need_batched(g, "layernorm", x, 1, NN_MAX_DIMS)) return NULL;
  if (!(eps > 0)) return nn__gfail(g, "layernorm: eps %g", eps);
  nn__layer_prefix(g, "ln", pre);
  in[0] = x;
  in[1] = nn__layer_param(g, pre, "weight", nn__shape1(NN__LAST(x)), NN_INIT_ONES, 0, 1, 1);
  in[2] = nn__layer_param(g, pre, "bias", nn__shape1(NN__LAST(x)), NN_INIT_ZEROS, 0, 1, 1);
  if (!in[1] || !in[2]) return NULL;
  x = nn__add_node(g, NN_OP_LAYERNORM, 3, in, x->shape, 1, pre);
  if (x) x->fp[0] = eps;
  return x;
}
NNDEF nn_node *nn_layernorm(nn_graph *g, nn_node *x) { return nn_layernorm_ex(g, x, 1e-5f); }

NNDEF nn_node *nn_dropout(nn_graph *g, nn_node *x, float p) {
  if (!nn__ready(g, "dropout", 1, &x) || !nn__need_batched(g, "dropout", x, 1, NN_MAX_DIMS)) return NULL;
  if (!(p >= 0 && p < 1)) return nn__gfail(g, "dropout: p = %g, expected 0 <= p < 1", p);
  x = nn__add_node(g, NN_OP_DROPOUT, 1, &x, x->shape, 1, NULL);
  if (x) x->fp[0] = p;
  return x;
}
NNDEF nn_node *nn_reshape(nn_graph *g, nn_node *x, int ndim, const int *dims) {
  char a[64], b[64];
  nn_shape s;
  if (!nn__ready(g, "reshape", 1, &x) || !nn__need_batched(g, "reshape", x, 1, NN_MAX_DIMS)) return NULL;
  if (ndim < 1 || ndim > NN_MAX_DIMS) return nn__gfail(g, "reshape: %d dims", ndim);
  s = nn__shape(ndim, dims);
  if (nn_shape_numel(&s) != nn__per(x))
    return nn__gfail(g, "reshape: '%s' of shape %s cannot become %s", x->name, nn_shape_str(&x->shape, a, sizeof a),
                     nn_shape_str(&s, b, sizeof b));
  return nn__add_node(g, NN_OP_RESHAPE, 1, &x, s, 1, NULL);
}
NNDEF nn_node *nn_flatten(nn_graph *g, nn_node *x) {
  int d;
  if (!nn__ready(g, "flatten", 1, &x)) return NULL;
  d = (int)nn__per(x);
  return nn_reshape(g, x, 1, &d);
}
NNDEF nn_node *nn_add(nn_graph *g, nn_node *a, nn_node *b) {
  char sa[64], sb[64];
  nn_node *in[2];
  in[0] = a; in[1] = b;
  if (!nn__ready(g, "add", 2, in) || !nn__need_batched(g, "add", a, 1, NN_MAX_DIMS) ||
      !nn__need_batched(g, "add", b, 1, NN_MAX_DIMS)) return NULL;
  if (!nn__shape_eq(&a->shape, &b->shape))
    return nn__gfail(g, "add: shapes differ: '%s' %s vs '%s' %s", a->name, nn_shape_str(&a->shape, sa, sizeof sa),
                     b->name, nn_shape_str(&b->shape, sb, sizeof sb));
  return nn__add_node(g, NN_OP_ADD, 2, in, a->shape, 1, NULL);
}
NNDEF nn_node *nn_concat(nn_graph *g, int n, nn_node *const *xs) {
  char sa[64], sb[64];
  nn_shape s;
  int k, i;
  if (n < 1 || n > NN_MAX_INPUTS) { if (g && !g->failed) nn__gfail(g, "concat: %d inputs (1..%d allowed)", n, NN_MAX_INPUTS); return NULL; }
  if (!nn__ready(g, "concat", n, xs)) return NULL;
  s = xs[0]->shape;
  for (k = 0; k < n; k++) {
    if (!nn__need_batched(g, "concat", xs[k], 1, NN_MAX_DIMS)) return NULL;
    if (k == 0) continue;
    if (xs[k]->shape.ndim != s.ndim) goto mismatch;
    for (i = 1; i < s.ndim; i++) if (xs[k]->shape.dim[i] != s.dim[i]) goto mismatch;
    s.dim[0] += xs[k]->shape.dim[0];
  }
  return nn__add_node(g, NN_OP_CONCAT, n, xs, s, 1, NULL);
mismatch:
  return nn__gfail(g, "concat: '%s' %s and '%s' %s differ beyond dim 0", xs[0]->name, nn_shape_str(&xs[0]->shape, sa, sizeof sa),
                   xs[k]->name, nn_shape_str(&xs[k]->shape, sb, sizeof sb));
}
static nn_node *nn__unary(nn_graph *g, nn_op op, nn_node *x, float arg) {
  if (!nn__ready(g, nn__ops[op].name, 1, &x) || !nn__need_batched(g, nn__ops[op].name, x, 1, NN_MAX_DIMS)) return NULL;
  x = nn__add_node(g, op, 1, &x, x->shape, 1, NULL);
  if (x) x->fp[0] = arg;
  return x;
}
NNDEF nn_node *nn_scale(nn_graph *g, nn_node *x, float c) { return nn__unary(g, NN_OP_SCALE, x, c); }
NNDEF nn_node *nn_relu(nn_graph *g, nn_node *x) { return nn__unary(g, NN_OP_RELU, x, 0); }
NNDEF nn_node *nn_leaky_relu(nn_graph *g, nn_node *x, float slope) { return nn__unary(g, NN_OP_LEAKY_RELU, x, slope); }
NNDEF nn_node *nn_gelu(nn_graph *g, nn_node *x) { return nn__unary(g, NN_OP_GELU, x, 0); }
NNDEF nn_node *nn_sigmoid(nn_graph *g, nn_node *x) { return nn__unary(g, NN_OP_SIGMOID, x, 0); }
NNDEF nn_node *nn_tanh(nn_graph *g, nn_node *x) { return nn__unary(g, NN_OP_TANH, x, 0); }
NNDEF nn_node *nn_softmax(nn_graph *g, nn_node *x) { return nn__unary(g, NN_OP_SOFTMAX, x, 0); }

/* ---- losses ---- */
static nn_node *nn__loss(nn_graph *g, nn_op op, nn_node *a, nn_node *b, nn_reduction red, float arg) {
  const char *name = nn__ops[op].name;
  char sa[64], sb[64];
  nn_node *in[2], *l;
  in[0] = a; in[1] = b;
  if (!nn__ready(g, name, 2, in) || !nn__need_batched(g, name, a, 1, NN_MAX_DIMS) ||
      !nn__need_batched(g, name, b, 1, NN_MAX_DIMS)) return NULL;
  if (red != NN_MEAN && red != NN_SUM) return nn__gfail(g, "%s: unknown reduction %d", name, (int)red);
  if (op == NN_OP_CROSS_ENTROPY ? (a->shape.ndim != 1 || nn__per(b) != 1) : !nn__shape_eq(&a->shape, &b->shape))
    return nn__gfail(g, op == NN_OP_CROSS_ENTROPY ? "%s: logits '%s' %s must be [classes] and labels '%s' %s must be [1]"
                                                  : "%s: prediction '%s' %s and target '%s' %s differ",
                     name, a->name, nn_shape_str(&a->shape, sa, sizeof sa), b->name, nn_shape_str(&b->shape, sb, sizeof sb));
  l = nn__add_node(g, op, 2, in, nn__shape1(1), 0, NULL);
  if (!l) return NULL;
  l->ip[0] = (int)red;
  l->fp[0] = arg;
  g->loss = l;
  return l;
}
NNDEF nn_node *nn_cross_entropy(nn_graph *g, nn_node *logits, nn_node *labels, float smoothing, nn_reduction red) {
  if (g && !g->failed && !(smoothing >= 0 && smoothing < 1)) return nn__gfail(g, "cross_entropy: label smoothing %g", smoothing);
  return nn__loss(g, NN_OP_CROSS_ENTROPY, logits, labels, red, smoothing);
}
NNDEF nn_node *nn_bce_with_logits(nn_graph *g, nn_node *z, nn_node *t, nn_reduction red) { return nn__loss(g, NN_OP_BCE_LOGITS, z, t, red, 0); }
NNDEF nn_node *nn_mse(nn_graph *g, nn_node *p, nn_node *t, nn_reduction red) { return nn__loss(g, NN_OP_MSE, p, t, red, 0); }
NNDEF void nn_graph_set_loss(nn_graph *g, nn_node *loss) { if (g && loss) g->loss = loss; }

/* ======================================================================
   The CPU backend: buffers are float arrays, ops run the kernels of the
   op table, optimizer updates run here too.
   ====================================================================== */
typedef struct nn__cpu_impl { float *gemm_work; int gemm_slots; } nn__cpu_impl;

static void *nn__cpu_alloc(nn_backend *b, size_t n) { (void)b; return nn__calloc(n ? n : 1, sizeof(float)); }
static void nn__cpu_release(nn_backend *b, void *buf) { (void)b; NN_FREE(buf); }
static int nn__cpu_write(nn_backend *b, void *buf, size_t off, const float *src, size_t n) {
  (void)b;
  memcpy((float *)buf + off, src, n * sizeof(float));
  return 1;
}
static int nn__cpu_read(nn_backend *b, const void *buf, size_t off, float *dst, size_t n) {
  (void)b;
  memcpy(dst, (const float *)buf + off, n * sizeof(float));
  return 1;
}
static int nn__cpu_fill(nn_backend *b, void *buf, size_t off, float v, size_t n) {
  float *p = (float *)buf + off;
  ptrdiff_t i, len = (ptrdiff_t)n;
  (void)b;
  NN__OMP_FOR_LEN
  for (i = 0; i < len; i++) p[i] = v;
  return 1;
}
static int nn__cpu_copy(nn_backend *b, void *dst, const void *src, size_t n) {
  (void)b;
  memcpy(dst, src, n * sizeof(float));
  return 1;
}
static int nn__cpu_supports(nn_backend *b, const nn_node *node) { (void)b; return (unsigned)node->op < NN_OP_COUNT; }
static void nn__cpu_ctx(nn_model *m, const nn_node *node, nn__ctx *c) {
  int i;
  memset(c, 0, sizeof *c);
  c->m = m;
  c->node = node;
  c->n = m->batch;
  c->training = m->training;
  for (i = 0; i < node->n_in; i++) {
    if (!node->in[i]) continue;
    c->x[i] = (float *)m->value[node->in[i]->id];
    c->dx[i] = (float *)m->grad[node->in[i]->id];
  }
  c->y = (float *)m->value[node->id];
  c->dy = (float *)m->grad[node->id];
  c->ws = (float *)m->ws[node->id];
  c->gemm_work = ((nn__cpu_impl *)m->backend->impl)->gemm_work;
  c->gemm_slots = ((nn__cpu_impl *)m->backend->impl)->gemm_slots;
}
static int nn__cpu_forward(nn_backend *b, nn_model *m, const nn_node *node) {
  nn__ctx c;
  (void)b;
  if (!nn__ops[node->op].forward) return 1;
  nn__cpu_ctx(m, node, &c);
  return nn__ops[node->op].forward(&c);
}
static int nn__cpu_backward(nn_backend *b, nn_model *m, const nn_node *node) {
  nn__ctx c;
  (void)b;
  if (!nn__ops[node->op].backward) return 1;
  nn__cpu_ctx(m, node, &c);
  return nn__ops[node->op].backward(&c);
}
/* SGD, Adam and RMSprop as in PyTorch; flags select Nesterov momentum and
   decoupled weight decay (w -= lr * wd * w before the gradient step). */
static int nn__cpu_update(nn_backend *b, const nn_update *u) {
  float *NN__RESTRICT w = (float *)u->w, *NN__RESTRICT s1 = (float *)u->s1, *NN__RESTRICT s2 = (float *)u->s2;
  const float *NN__RESTRICT g = (const float *)u->g;
  float lr = u->lr, wd = u->weight_decay, mom = u->momentum, gs = u->grad_scale;
  int decoupled = (u->flags & NN_DECOUPLED_WD) != 0, nesterov = (u->flags & NN_NESTEROV) != 0;
  float bc1 = 1.0f - (float)pow(u->beta1, (double)u->step), bc2 = 1.0f - (float)pow(u->beta2, (double)u->step);
  ptrdiff_t i, len = (ptrdiff_t)u->n;
  (void)b;
  NN__OMP_FOR_LEN
  for (i = 0; i < len; i++) {
    float gi = g[i] * gs, d;
    if (decoupled) w[i] -= lr * wd * w[i];
    else gi += wd * w[i];
    switch (u->kind) {
    case NN_OPT_SGD:
      if (mom != 0) {
        s1[i] = mom * s1[i] + gi;
        gi = nesterov ? gi + mom * s1[i] : s1[i];
      }
      w[i] -= lr * gi;
      break;
    case NN_OPT_ADAM:
      s1[i] = u->beta1 * s1[i] + (1 - u->beta1) * gi;
      s2[i] = u->beta2 * s2[i] + (1 - u->beta2) * gi * gi;
      w[i] -= lr * (s1[i] / bc1) / (sqrtf(s2[i] / bc2) + u->eps);
      break;
    case NN_OPT_RMSPROP:
      s2[i] = u->beta2 * s2[i] + (1 - u->beta2) * gi * gi;
      d = gi / (sqrtf(s2[i]) + u->eps);
      if (mom != 0) d = s1[i] = mom * s1[i] + d;
      w[i] -= lr * d;
      break;
    }
  }
  return 1;
}
static int nn__cpu_sumsq(nn_backend *b, const void *buf, size_t n, double *out) {
  const float *p = (const float *)buf;
  double s = 0;
  size_t i;
  (void)b;
  for (i = 0; i < n; i++) s += (double)p[i] * p[i];
  *out = s;
  return 1;
}
static int nn__cpu_scale(nn_backend *b, void *buf, size_t n, float s) {
  float *p = (float *)buf;
  size_t i;
  (void)b;
  for (i = 0; i < n; i++) p[i] *= s;
  return 1;
}
static int nn__cpu_lerp(nn_backend *b, void *a, const void *src, size_t n, float t) {
  float *x = (float *)a;
  const float *y = (const float *)src;
  size_t i;
  (void)b;
  for (i = 0; i < n; i++) x[i] += t * (y[i] - x[i]);
  return 1;
}
static void nn__cpu_destroy(nn_backend *b) {
  NN_FREE(((nn__cpu_impl *)b->impl)->gemm_work);
  NN_FREE(b->impl);
  NN_FREE(b);
}

/* GEMM packing space for as many threads as OpenMP offers now: call
   nn_set_threads first to use more. */
NNDEF nn_backend *nn_cpu_backend(void) {
  nn_backend *b = (nn_backend *)nn__calloc(1, sizeof *b);
  nn__cpu_impl *impl = (nn__cpu_impl *)nn__calloc(1, sizeof *impl);
  if (impl) {
    impl->gemm_slots = nn__max_threads();
    impl->gemm_work = (float *)nn__calloc((size_t)impl->gemm_slots * NN__GEMM_WORK, sizeof(float));
  }
  if (!b || !impl || !impl->gemm_work) {
    if (impl) NN_FREE(impl->gemm_work);
    NN_FREE(impl);
    NN_FREE(b);
    return NULL;
  }
  b->impl = impl;
  b->name = "cpu";
  b->alloc = nn__cpu_alloc;
  b->release = nn__cpu_release;
  b->write = nn__cpu_write;
  b->read = nn__cpu_read;
  b->fill = nn__cpu_fill;
  b->copy = nn__cpu_copy;
  b->supports = nn__cpu_supports;
  b->forward = nn__cpu_forward;
  b->backward = nn__cpu_backward;
  b->update = nn__cpu_update;
  b->sumsq = nn__cpu_sumsq;
  b->scale = nn__cpu_scale;
  b->lerp = nn__cpu_lerp;
  b->destroy = nn__cpu_destroy;
  return b;
}

/* ======================================================================
   Compile and run
   ====================================================================== */
NNDEF int nn_set_threads(int n) {
#ifdef _OPENMP
  if (n > 0) omp_set_num_threads(n);
  return omp_get_max_threads();
#else
  (void)n;
  return 1;
#endif
}

NNDEF size_t nn_node_numel(const nn_model *m, const nn_node *n) {
  return n->batched ? (size_t)m->batch * nn__per(n) : nn__per(n);
}

/* He/Xavier take init_arg as a gain (0 means 1); DIRAC makes a conv (or a
   square dense) an identity on the first min(out, in) channels and fills
   the other output channels like PyTorch's default, U(+-1/sqrt(fan_in)). */
static void nn__init_values(const nn_node *p, nn_rng *r, float *w) {
  size_t i, n = nn__per(p);
  double fi = p->fan_in > 0 ? p->fan_in : 1, fo = p->fan_out > 0 ? p->fan_out : 1;
  double gain = p->init_arg != 0 ? p->init_arg : 1, a = 0;
  int normal = 0;
  switch (p->init) {
  case NN_INIT_ZEROS: a = 0; break;
  case NN_INIT_ONES: for (i = 0; i < n; i++) w[i] = 1; return;
  case NN_INIT_CONST: for (i = 0; i < n; i++) w[i] = p->init_arg; return;
  case NN_INIT_UNIFORM: a = p->init_arg; break;
  case NN_INIT_NORMAL: a = p->init_arg; normal = 1; break;
  case NN_INIT_HE_UNIFORM: a = gain * sqrt(6.0 / fi); break;
  case NN_INIT_HE_NORMAL: a = gain * sqrt(2.0 / fi); normal = 1; break;
  case NN_INIT_XAVIER_UNIFORM: a = gain * sqrt(6.0 / (fi + fo)); break;
  case NN_INIT_XAVIER_NORMAL: a = gain * sqrt(2.0 / (fi + fo)); normal = 1; break;
  case NN_INIT_DIRAC: a = 1.0 / sqrt(fi); break;
  }
  for (i = 0; i < n; i++) w[i] = (float)(normal ? a * nn_rng_normal(r) : a * (2.0 * nn_rng_uniform(r) - 1.0));
  if (p->init == NN_INIT_DIRAC && p->shape.ndim >= 2) {
    int O = p->shape.dim[0], C = p->shape.dim[1], o;
    size_t per_out = n / (size_t)O, per_in = per_out / (size_t)C, center = 0;
    if (p->shape.ndim == 4) center = (size_t)(p->shape.dim[2] / 2) * p->shape.dim[3] + p->shape.dim[3] / 2;
    for (o = 0; o < O && o < C; o++) {
      memset(w + o * per_out, 0, per_out * sizeof(float));
      w[o * per_out + (size_t)o * per_in + center] = 1;
    }
  }
}

static void nn__release_buffers(nn_model *m) {
  nn_backend *be = m->backend;
  int i;
  for (i = 0; i < m->graph->n; i++) {
    if (m->graph->nodes[i]->op == NN_OP_RESHAPE) continue;  /* borrowed */
    if (m->value && m->value[i]) be->release(be, m->value[i]);
    if (m->grad && m->grad[i]) be->release(be, m->grad[i]);
    if (m->ws && m->ws[i]) be->release(be, m->ws[i]);
  }
}
NNDEF void nn_model_free(nn_model *m) {
  if (!m) return;
  if (m->backend) {
    nn__release_buffers(m);
    if (m->backend->destroy) m->backend->destroy(m->backend);
  }
  nn_graph_free(m->graph);
  NN_FREE(m->value);
  NN_FREE(m->grad);
  NN_FREE(m->ws);
  NN_FREE(m->ws_size);
  NN_FREE(m->active);
  NN_FREE(m);
}

static int nn__alloc_buffers(nn_model *m) {
  nn_graph *g = m->graph;
  nn_backend *be = m->backend;
  int i;
  for (i = 0; i < g->n; i++) {
    nn_node *nd = g->nodes[i];
    size_t len = nd->batched ? (size_t)m->max_batch * nn__per(nd) : nn__per(nd);
    if (nd->op == NN_OP_RESHAPE) {   /* a view: same memory, new shape */
      m->value[i] = m->value[nd->in[0]->id];
      m->grad[i] = m->grad[nd->in[0]->id];
      continue;
    }
    if (!(m->value[i] = be->alloc(be, len))) return 0;
    if (nd->needs_grad && !(m->grad[i] = be->alloc(be, len))) return 0;
    m->ws_size[i] = nn__ops[nd->op].workspace ? nn__ops[nd->op].workspace(nd, m->max_batch) : 0;
    if (m->ws_size[i] && !(m->ws[i] = be->alloc(be, m->ws_size[i]))) return 0;
  }
  return 1;
}
static int nn__init_params(nn_model *m) {
  nn_graph *g = m->graph;
  nn_rng r;
  size_t most = 1;
  float *host;
  int i, ok = 1;
  for (i = 0; i < g->n; i++) if (g->nodes[i]->op == NN_OP_PARAM && nn__per(g->nodes[i]) > most) most = nn__per(g->nodes[i]);
  host = (float *)nn__calloc(most, sizeof(float));
  if (!host) return 0;
  nn_rng_seed(&r, g->seed);
  for (i = 0; i < g->n && ok; i++) {
    nn_node *p = g->nodes[i];
    if (p->op != NN_OP_PARAM) continue;
    nn__init_values(p, &r, host);
    ok = m->backend->write(m->backend, m->value[i], 0, host, nn__per(p));
  }
  NN_FREE(host);
  return ok;
}

NNDEF nn_model *nn_compile(nn_graph *g, int batch, nn_backend *be) {
  nn_model *m = NULL;
  int i, k;
  if (!g || !be) { nn__fail("compile: %s is NULL", g ? "backend" : "graph"); goto fail; }
  if (g->failed) { nn__fail("compile: the graph has an error: %s", g->error); goto fail; }
  if (g->n == 0) { nn__fail("compile: the graph is empty"); goto fail; }
  if (batch < 1) { nn__fail("compile: batch size %d", batch); goto fail; }
  for (i = 0; i < g->n; i++) {
    nn_node *nd = g->nodes[i];
    if (!be->supports(be, nd)) { nn__fail("compile: backend '%s' cannot run op %s ('%s')", be->name, nn__ops[nd->op].name, nd->name); goto fail; }
    if (nd->op == NN_OP_PARAM) nd->needs_grad = nd->trainable;
    else if (nd->op != NN_OP_INPUT) {
      nd->needs_grad = 0;
      for (k = 0; k < nd->n_in; k++) if (nd->in[k] && nd->in[k]->needs_grad) nd->needs_grad = 1;
    }
  }
  m = (nn_model *)nn__calloc(1, sizeof *m);
  if (!m) goto fail;
  m->graph = g;
  m->backend = be;
  m->max_batch = m->batch = batch;
  m->loss = g->loss;
  m->threads = nn__max_threads();
  m->value = (void **)nn__calloc((size_t)g->n, sizeof(void *));
  m->grad = (void **)nn__calloc((size_t)g->n, sizeof(void *));
  m->ws = (void **)nn__calloc((size_t)g->n, sizeof(void *));
  m->ws_size = (size_t *)nn__calloc((size_t)g->n, sizeof(size_t));
  m->active = (unsigned char *)nn__calloc((size_t)g->n, 1);
  if (!m->value || !m->grad || !m->ws || !m->ws_size || !m->active) goto fail_model;
  if (!nn__alloc_buffers(m)) { nn__fail("compile: cannot allocate buffers on '%s': %s", be->name, nn_last_error()); goto fail_model; }
  if (!nn__init_params(m)) goto fail_model;
  nn_rng_seed(&m->rng, g->seed ^ 0x5DEECE66DULL);
  return m;
fail_model:
  nn_model_free(m);
  return NULL;
fail:
  nn_graph_free(g);
  if (be && be->destroy) be->destroy(be);
  return NULL;
}

NNDEF int nn_set_batch(nn_model *m, int n) {
  if (n < 1 || n > m->max_batch) return nn__fail("set_batch: %d is outside 1..%d (the compiled batch)", n, m->max_batch);
  m->batch = n;
  return 1;
}
NNDEF void nn_model_seed(nn_model *m, uint64_t seed) { nn_rng_seed(&m->rng, seed); }
NNDEF nn_node *nn_model_find(const nn_model *m, const char *name) { return nn_find(m->graph, name); }

NNDEF int nn_feed_node(nn_model *m, const nn_node *x, const float *data) {
  if (!x || x->op != NN_OP_INPUT) return nn__fail("feed: '%s' is not an input", x ? x->name : "(null)");
  return m->backend->write(m->backend, m->value[x->id], 0, data, nn_node_numel(m, x));
}
NNDEF int nn_feed(nn_model *m, const char *name, const float *data) {
  nn_node *x = nn_find(m->graph, name);
  if (!x) return nn__fail("feed: no input named '%s'", name);
  return nn_feed_node(m, x, data);
}
NNDEF int nn_read(nn_model *m, const nn_node *n, float *dst) {
  return m->backend->read(m->backend, m->value[n->id], 0, dst, nn_node_numel(m, n));
}
NNDEF int nn_read_grad(nn_model *m, const nn_node *n, float *dst) {
  if (!m->grad[n->id]) return nn__fail("read_grad: '%s' has no gradient", n->name);
  return m->backend->read(m->backend, m->grad[n->id], 0, dst, nn_node_numel(m, n));
}
NNDEF int nn_write(nn_model *m, const nn_node *n, const float *src) {
  return m->backend->write(m->backend, m->value[n->id], 0, src, nn_node_numel(m, n));
}

/* marks `target` and everything it depends on (inputs precede their users) */
static void nn__mark(nn_model *m, const nn_node *target) {
  int i, k;
  memset(m->active, 0, (size_t)m->graph->n);
  m->active[target->id] = 1;
  for (i = target->id; i >= 0; i--) {
    nn_node *nd = m->graph->nodes[i];
    if (!m->active[i]) continue;
    for (k = 0; k < nd->n_in; k++) if (nd->in[k]) m->active[nd->in[k]->id] = 1;
  }
}
static int nn__is_leaf(const nn_node *n) { return n->op == NN_OP_INPUT || n->op == NN_OP_PARAM || n->op == NN_OP_RESHAPE; }
static int nn__run_forward(nn_model *m, const nn_node *target, int training) {
  int i;
  m->training = training;
  nn__mark(m, target);
  for (i = 0; i <= target->id; i++) {
    nn_node *nd = m->graph->nodes[i];
    if (!m->active[i] || nn__is_leaf(nd)) continue;
    if (!m->backend->forward(m->backend, m, nd)) return 0;
  }
  return 1;
}
NNDEF int nn_forward(nn_model *m, int training) {
  return nn__run_forward(m, m->loss ? m->loss : m->graph->nodes[m->graph->n - 1], training);
}
NNDEF int nn_predict(nn_model *m, const nn_node *out) { return nn__run_forward(m, out, 0); }

/* zero the gradients `from` depends on, seed it with dy, run backwards */
static int nn__run_backward(nn_model *m, const nn_node *from, const float *dy) {
  nn_backend *be = m->backend;
  int i;
  if (!from->needs_grad) return nn__fail("backward: nothing trainable leads to '%s'", from->name);
  nn__mark(m, from);
  for (i = 0; i <= from->id; i++)
    if (m->active[i] && m->grad[i] && m->graph->nodes[i]->op != NN_OP_RESHAPE &&
        !be->fill(be, m->grad[i], 0, 0.0f, nn_node_numel(m, m->graph->nodes[i]))) return 0;
  if (!be->write(be, m->grad[from->id], 0, dy, nn_node_numel(m, from))) return 0;
  for (i = from->id; i >= 0; i--) {
    nn_node *nd = m->graph->nodes[i];
    if (!m->active[i] || !nd->needs_grad || nn__is_leaf(nd)) continue;
    if (!be->backward(be, m, nd)) return 0;
  }
  return 1;
}
NNDEF int nn_backward_from(nn_model *m, const nn_node *node, const float *dy) { return nn__run_backward(m, node, dy); }
NNDEF int nn_backward(nn_model *m) {
  float one = 1.0f;
  if (!m->loss) return nn__fail("backward: the graph has no loss");
  return nn__run_backward(m, m->loss, &one);
}
NNDEF float nn_loss(nn_model *m) {
  float v = NAN;
  if (!m->loss) { nn__fail("loss: the graph has no loss"); return NAN; }
  if (!nn_read(m, m->loss, &v)) return NAN;
  return v;
}
NNDEF size_t nn_num_params(const nn_model *m) {
  size_t s = 0;
  int i;
  for (i = 0; i < m->graph->n; i++)
    if (m->graph->nodes[i]->op == NN_OP_PARAM && m->graph->nodes[i]->trainable) s += nn__per(m->graph->nodes[i]);
  return s;
}

NNDEF void nn_summary(const nn_model *m, FILE *out) {
  double total_flops = 0;
  size_t total_params = 0, state = 0;
  int i, k;
  char buf[64];
  fprintf(out, "%-22s %-15s %-18s %12s %12s\n", "layer", "op", "output", "params", "MFLOPs");
  for (i = 0; i < m->graph->n; i++) {
    const nn_node *nd = m->graph->nodes[i];
    size_t params = 0;
    double fl;
    if (nd->op == NN_OP_PARAM) {
      if (nd->trainable) total_params += nn__per(nd);
      else state += nn__per(nd);
      continue;
    }
    for (k = 0; k < nd->n_in; k++)
      if (nd->in[k] && nd->in[k]->op == NN_OP_PARAM && nd->in[k]->trainable) params += nn__per(nd->in[k]);
    fl = nn__ops[nd->op].flops ? nn__ops[nd->op].flops(nd) : 0;
    total_flops += fl;
    fprintf(out, "%-22s %-15s %-18s %12zu %12.3f\n", nd->name, nn__ops[nd->op].name,
            nn_shape_str(&nd->shape, buf, sizeof buf), params, fl / 1e6);
  }
  fprintf(out, "trainable parameters: %zu (+%zu state), forward: %.2f MFLOPs per sample, batch %d, backend %s\n",
          total_params, state, total_flops / 1e6, m->max_batch, m->backend->name);
}

/* ======================================================================
   Optimizers.  State buffers are allocated when the optimizer is made,
   one or two per trainable parameter.
   ====================================================================== */
struct nn_optimizer {
  nn_model *m;
  nn_opt_kind kind;
  int flags;
  float lr, momentum, weight_decay, beta1, beta2, eps, clip;
  long step;
  void **s1, **s2;
};

static nn_optimizer *nn__opt_new(nn_model *m, nn_opt_kind kind, int states) {
  nn_optimizer *o = (nn_optimizer *)nn__calloc(1, sizeof *o);
  int i;
  if (!o) return NULL;
  o->m = m;
  o->kind = kind;
  o->s1 = (void **)nn__calloc((size_t)m->graph->n, sizeof(void *));
  o->s2 = (void **)nn__calloc((size_t)m->graph->n, sizeof(void *));
  if (!o->s1 || !o->s2) { nn_optimizer_free(o); return NULL; }
  for (i = 0; i < m->graph->n; i++) {
    nn_node *p = m->graph->nodes[i];
    if (p->op != NN_OP_PARAM || !p->trainable) continue;
    if ((states >= 1 && !(o->s1[i] = m->backend->alloc(m->backend, nn__per(p)))) ||
        (states >= 2 && !(o->s2[i] = m->backend->alloc(m->backend, nn__per(p))))) {
      nn_optimizer_free(o);
      return NULL;
    }
  }
  return o;
}
NNDEF void nn_optimizer_free(nn_optimizer *o) {
  int i;
  if (!o) return;
  for (i = 0; i < o->m->graph->n; i++) {
    if (o->s1 && o->s1[i]) o->m->backend->release(o->m->backend, o->s1[i]);
    if (o->s2 && o->s2[i]) o->m->backend->release(o->m->backend, o->s2[i]);
  }
  NN_FREE(o->s1);
  NN_FREE(o->s2);
  NN_FREE(o);
}
NNDEF nn_optimizer *nn_sgd(nn_model *m, float lr, float momentum, float weight_decay, int flags) {
  nn_optimizer *o = nn__opt_new(m, NN_OPT_SGD, momentum != 0 ? 1 : 0);
  if (!o) return NULL;
  o->lr = lr; o->momentum = momentum; o->weight_decay = weight_decay; o->flags = flags;
  return o;
}
static nn_optimizer *nn__adam(nn_model *m, float lr, float b1, float b2, float eps, float wd, int flags) {
  nn_optimizer *o = nn__opt_new(m, NN_OPT_ADAM, 2);
  if (!o) return NULL;
  o->lr = lr; o->beta1 = b1; o->beta2 = b2; o->eps = eps; o->weight_decay = wd; o->flags = flags;
  return o;
}
NNDEF nn_optimizer *nn_adam(nn_model *m, float lr, float b1, float b2, float eps, float wd) { return nn__adam(m, lr, b1, b2, eps, wd, 0); }
NNDEF nn_optimizer *nn_adamw(nn_model *m, float lr, float b1, float b2, float eps, float wd) { return nn__adam(m, lr, b1, b2, eps, wd, NN_DECOUPLED_WD); }
NNDEF nn_optimizer *nn_rmsprop(nn_model *m, float lr, float alpha, float eps, float momentum, float wd) {
  nn_optimizer *o = nn__opt_new(m, NN_OPT_RMSPROP, 2);
  if (!o) return NULL;
  o->lr = lr; o->beta2 = alpha; o->eps = eps; o->momentum = momentum; o->weight_decay = wd;
  return o;
}
NNDEF void nn_optimizer_set_lr(nn_optimizer *o, float lr) { o->lr = lr; }
NNDEF float nn_optimizer_get_lr(const nn_optimizer *o) { return o->lr; }
NNDEF void nn_optimizer_set_clip(nn_optimizer *o, float max_norm) { o->clip = max_norm; }
NNDEF long nn_optimizer_steps(const nn_optimizer *o) { return o->step; }

/* global L2 norm of all trainable gradients; negative on failure */
static double nn__grad_norm(nn_model *m) {
  double total = 0, part;
  int i;
  for (i = 0; i < m->graph->n; i++) {
    nn_node *p = m->graph->nodes[i];
    if (p->op != NN_OP_PARAM || !m->grad[i]) continue;
    if (!m->backend->sumsq(m->backend, m->grad[i], nn__per(p), &part)) return -1;
    total += part;
  }
  return sqrt(total);
}
NNDEF double nn_clip_grad_norm(nn_model *m, float max_norm) {
  double norm = nn__grad_norm(m);
  int i;
  if (norm < 0) return -1;
  if (norm > max_norm && isfinite(norm))
    for (i = 0; i < m->graph->n; i++)
      if (m->graph->nodes[i]->op == NN_OP_PARAM && m->grad[i] &&
          !m->backend->scale(m->backend, m->grad[i], nn__per(m->graph->nodes[i]), (float)(max_norm / (norm + 1e-6)))) return -1;
  return norm;
}
NNDEF int nn_optimizer_step(nn_optimizer *o) {
  nn_model *m = o->m;
  float scale = 1.0f;
  int i;
  if (o->clip > 0) {
    double norm = nn__grad_norm(m);
    if (norm < 0) return 0;
    if (!isfinite(norm)) return nn__fail("optimizer: gradient norm is %g at step %ld", norm, o->step + 1);
    if (norm > o->clip) scale = (float)(o->clip / (norm + 1e-6));
  }
  o->step++;
  for (i = 0; i < m->graph->n; i++) {
    nn_node *p = m->graph->nodes[i];
    nn_update u;
    if (p->op != NN_OP_PARAM || !p->trainable || !m->grad[i] || p->lr_mult == 0) continue;
    u.kind = o->kind;
    u.flags = o->flags;
    u.w = m->value[i]; u.g = m->grad[i]; u.s1 = o->s1[i]; u.s2 = o->s2[i];
    u.n = nn__per(p);
    u.lr = o->lr * p->lr_mult;
    u.weight_decay = o->weight_decay * p->wd_mult;
    u.momentum = o->momentum; u.beta1 = o->beta1; u.beta2 = o->beta2; u.eps = o->eps;
    u.grad_scale = scale;
    u.step = o->step;
    if (!m->backend->update(m->backend, &u)) return 0;
  }
  return 1;
}
NNDEF float nn_train_step(nn_model *m, nn_optimizer *o) {
  float loss;
  /* a failed read keeps its reason (a device reports bad labels here) */
  if (!nn_forward(m, 1) || !nn_backward(m) || !nn_read(m, m->loss, &loss)) return NAN;
  if (!isfinite(loss)) { nn__fail("training: loss is %g at step %ld", loss, o->step + 1); return NAN; }
  return nn_optimizer_step(o) ? loss : NAN;
}

/* ---- learning-rate schedules ---- */
NNDEF float nn_lr_step(float base, long step, long size, float gamma) {
  return size > 0 ? base * (float)pow(gamma, (double)(step / size)) : base;
}
NNDEF float nn_lr_cosine(float base, long step, long total, long warmup, float min_lr) {
  double t;
  if (step < warmup) return base * (float)(step + 1) / (float)warmup;
  t = total > warmup ? (double)(step - warmup) / (double)(total - warmup) : 1.0;
  if (t > 1) t = 1;
  return min_lr + (base - min_lr) * (float)(0.5 * (1.0 + cos(3.141592653589793 * t)));
}
NNDEF float nn_lr_piecewise(float x, int n, const float *xs, const float *ys) {
  int i;
  if (n < 1) return 0;
  if (x <= xs[0]) return ys[0];
  for (i = 1; i < n; i++)
    if (x < xs[i]) return ys[i - 1] + (ys[i] - ys[i - 1]) * (x - xs[i - 1]) / (xs[i] - xs[i - 1]);
  return ys[n - 1];
}

/* ---- exponential moving average of weights ---- */
struct nn_ema { nn_model *m; float decay; void **avg; };
NNDEF nn_ema *nn_ema_new(nn_model *m, float decay) {
  nn_ema *e = (nn_ema *)nn__calloc(1, sizeof *e);
  int i;
  if (!e) return NULL;
  e->m = m;
  e->decay = decay;
  e->avg = (void **)nn__calloc((size_t)m->graph->n, sizeof(void *));
  if (!e->avg) { NN_FREE(e); return NULL; }
  for (i = 0; i < m->graph->n; i++) {
    nn_node *p = m->graph->nodes[i];
    if (p->op != NN_OP_PARAM) continue;
    if (!(e->avg[i] = m->backend->alloc(m->backend, nn__per(p))) ||
        !m->backend->copy(m->backend, e->avg[i], m->value[i], nn__per(p))) { nn_ema_free(e); return NULL; }
  }
  return e;
}
NNDEF void nn_ema_free(nn_ema *e) {
  int i;
  if (!e) return;
  for (i = 0; i < e->m->graph->n; i++) if (e->avg[i]) e->m->backend->release(e->m->backend, e->avg[i]);
  NN_FREE(e->avg);
  NN_FREE(e);
}
NNDEF int nn_ema_update_decay(nn_ema *e, float decay) {
  int i;
  for (i = 0; i < e->m->graph->n; i++)
    if (e->avg[i] && !e->m->backend->lerp(e->m->backend, e->avg[i], e->m->value[i], nn__per(e->m->graph->nodes[i]), 1.0f - decay))
      return 0;
  return 1;
}
NNDEF int nn_ema_update(nn_ema *e) { return nn_ema_update_decay(e, e->decay); }
NNDEF void nn_ema_swap(nn_ema *e) {
  int i;
  for (i = 0; i < e->m->graph->n; i++)
    if (e->avg[i]) { void *t = e->m->value[i]; e->m->value[i] = e->avg[i]; e->avg[i] = t; }
}
NNDEF int nn_ema_copy_to_model(nn_ema *e) {
  int i;
  for (i = 0; i < e->m->graph->n; i++)
    if (e->avg[i] && !e->m->backend->copy(e->m->backend, e->m->value[i], e->avg[i], nn__per(e->m->graph->nodes[i]))) return 0;
  return 1;
}

/* ======================================================================
   Data: IDX files (big-endian header: 0, 0, type 0x08 = ubyte, ndim,
   then ndim 32-bit sizes, then the bytes)
   ====================================================================== */
/* reads a whole file, growing the buffer as it goes: sizes from fseek/ftell
   are not trusted (directories and pipes report nonsense) */
static unsigned char *nn__read_file(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  unsigned char *buf = NULL, *grown;
  size_t cap = 0, got = 0, n;
  if (!f) { nn__fail("cannot open '%s': %s", path, strerror(errno)); return NULL; }
  for (;;) {
    if (got == cap) {
      cap = cap ? 2 * cap : 1 << 16;
      if (!(grown = (unsigned char *)NN_REALLOC(buf, cap))) { nn__fail("out of memory reading '%s'", path); break; }
      buf = grown;
    }
    n = fread(buf + got, 1, cap - got, f);
    got += n;
    if (n == 0) {
      if (ferror(f)) { nn__fail("cannot read '%s' (is it a regular file?)", path); break; }
      fclose(f);
      *len = got;
      return buf;
    }
  }
  fclose(f);
  NN_FREE(buf);
  return NULL;
}
static uint32_t nn__be32(const unsigned char *p) { return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3]; }
/* validates an IDX file of ubytes with 1..3 dims; fills dims, returns data */
static const unsigned char *nn__idx_parse(const char *path, const unsigned char *b, size_t len, int *ndim, int *dims) {
  size_t need, count = 1;
  int i;
  if (len < 4 || b[0] || b[1]) { nn__fail("'%s' is not an IDX file (bad magic)", path); return NULL; }
  if (b[2] != 0x08) { nn__fail("'%s': IDX element type 0x%02x, only unsigned bytes (0x08) are supported", path, b[2]); return NULL; }
  *ndim = b[3];
  if (*ndim < 1 || *ndim > 3) { nn__fail("'%s': IDX with %d dimensions (1..3 supported)", path, *ndim); return NULL; }
  if (len < 4 + 4 * (size_t)*ndim) { nn__fail("'%s' is truncated inside its header", path); return NULL; }
  for (i = 0; i < *ndim; i++) {
    uint32_t d = nn__be32(b + 4 + 4 * i);
    if (d == 0 || d > 0x7fffffffu || count > (size_t)-1 / d) { nn__fail("'%s': dimension %d is %lu", path, i, (unsigned long)d); return NULL; }
    dims[i] = (int)d;
    count *= d;
  }
  need = 4 + 4 * (size_t)*ndim + count;
  if (need < count || len != need) {
    nn__fail("'%s': header promises %zu bytes of data, the file has %zu (%s)", path, count,
             len - 4 - 4 * (size_t)*ndim, len < need ? "truncated" : "trailing bytes");
    return NULL;
  }
  return b + 4 + 4 * *ndim;
}
NNDEF nn_dataset *nn_load_idx(const char *images_path, const char *labels_path) {
  size_t ilen = 0, llen = 0, per, i;
  unsigned char *ib = nn__read_file(images_path, &ilen), *lb = ib ? nn__read_file(labels_path, &llen) : NULL;
  const unsigned char *px, *lab;
  int idim = 0, ldim = 0, id[3], ld[3], k;
  nn_dataset *d = NULL;
  if (!ib || !lb) goto done;
  if (!(px = nn__idx_parse(images_path, ib, ilen, &idim, id)) || !(lab = nn__idx_parse(labels_path, lb, llen, &ldim, ld))) goto done;
  if (idim < 2) { nn__fail("'%s': images need at least 2 dimensions, found %d", images_path, idim); goto done; }
  if (ldim != 1) { nn__fail("'%s': labels must have 1 dimension, found %d", labels_path, ldim); goto done; }
  if (id[0] != ld[0]) { nn__fail("'%s' has %d images but '%s' has %d labels", images_path, id[0], labels_path, ld[0]); goto done; }
  if (!(d = (nn_dataset *)nn__calloc(1, sizeof *d))) goto done;
  d->n = id[0];
  if (idim == 3) d->shape = nn__shape3(1, id[1], id[2]);
  else d->shape = nn__shape1(id[1]);
  per = nn_shape_numel(&d->shape);
  d->x = (float *)nn__calloc((size_t)d->n * per, sizeof(float));
  d->y = (float *)nn__calloc((size_t)d->n, sizeof(float));
  if (!d->x || !d->y) { nn_dataset_free(d); d = NULL; goto done; }
  for (i = 0; i < (size_t)d->n * per; i++) d->x[i] = px[i] * (1.0f / 255.0f);
  for (k = 0; k < d->n; k++) {
    d->y[k] = lab[k];
    if (lab[k] + 1 > d->num_classes) d->num_classes = lab[k] + 1;
  }
done:
  NN_FREE(ib);
  NN_FREE(lb);
  return d;
}
NNDEF void nn_dataset_free(nn_dataset *d) {
  if (!d) return;
  NN_FREE(d->x);
  NN_FREE(d->y);
  NN_FREE(d);
}
NNDEF void nn_dataset_gather(const nn_dataset *d, const int *idx, int count, float *x, float *y) {
  size_t per = nn_shape_numel(&d->shape);
  int i;
  for (i = 0; i < count; i++) {
    if (x) memcpy(x + (size_t)i * per, d->x + (size_t)idx[i] * per, per * sizeof(float));
    if (y) y[i] = d->y[idx[i]];
  }
}
NNDEF void nn_dataset_truncate(nn_dataset *d, int n) { if (n >= 0 && n < d->n) d->n = n; }

/* ---- CIFAR-10 binary batches ---- */
#define NN__CIFAR_PIXELS 3072
#define NN__CIFAR_RECORD (1 + NN__CIFAR_PIXELS)
/* size of a file that must hold whole CIFAR-10 records; 0 on failure */
static int nn__cifar_records(const char *path, size_t *records) {
  FILE *f = fopen(path, "rb");
  long size;
  if (!f) return nn__fail("cannot open '%s': %s", path, strerror(errno));
  /* a directory opens on some systems but cannot be read */
  if ((getc(f) == EOF && ferror(f)) || fseek(f, 0, SEEK_END) != 0 || (size = ftell(f)) < 0) {
    fclose(f);
    return nn__fail("cannot read '%s' (a directory, or not a regular file)", path);
  }
  fclose(f);
  if (size == 0) return nn__fail("'%s' is empty (a CIFAR-10 batch holds 3073-byte records)", path);
  if ((unsigned long)size % NN__CIFAR_RECORD) {
    if ((unsigned long)size % (NN__CIFAR_RECORD + 1) == 0)
      return nn__fail("'%s' has 3074-byte records: a CIFAR-100 file? (CIFAR-10 records are 3073 bytes)", path);
    return nn__fail("'%s' is truncated or has the wrong size: %ld bytes is not a whole number of 3073-byte "
                    "records (%ld whole, then %ld bytes)", path, size, size / NN__CIFAR_RECORD, size % NN__CIFAR_RECORD);
  }
  *records = (size_t)size / NN__CIFAR_RECORD;
  return 1;
}
NNDEF nn_dataset *nn_load_cifar10_files(int count, const char *const *paths) {
  nn_dataset *d;
  size_t total = 0, done = 0, recs = 0, i, p;
  int k;
  if (count < 1 || !paths) { nn__fail("load_cifar10: no files given"); return NULL; }
  for (k = 0; k < count; k++) {
    if (!nn__cifar_records(paths[k], &recs)) return NULL;
    total += recs;
  }
  if (total > 0x7fffffff / NN__CIFAR_PIXELS) { nn__fail("load_cifar10: %zu records are too many", total); return NULL; }
  if (!(d = (nn_dataset *)nn__calloc(1, sizeof *d))) return NULL;
  d->n = (int)total;
  d->shape = nn__shape3(3, 32, 32);
  d->num_classes = 10;
  d->x = (float *)nn__calloc(total * NN__CIFAR_PIXELS, sizeof(float));
  d->y = (float *)nn__calloc(total, sizeof(float));
  if (!d->x || !d->y) { nn_dataset_free(d); return NULL; }
  for (k = 0; k < count; k++) {
    size_t len = 0;
    unsigned char *b = nn__read_file(paths[k], &len);
    if (!b) { nn_dataset_free(d); return NULL; }
    recs = len / NN__CIFAR_RECORD;
    if (len % NN__CIFAR_RECORD || done + recs > total) {   /* changed since it was measured */
      nn__fail("'%s' changed size while being read", paths[k]);
      NN_FREE(b);
      nn_dataset_free(d);
      return NULL;
    }
    for (i = 0; i < recs; i++) {
      const unsigned char *r = b + i * NN__CIFAR_RECORD;
      float *x = d->x + (done + i) * NN__CIFAR_PIXELS;
      if (r[0] > 9) {
        nn__fail("'%s': record %zu has label %d; CIFAR-10 labels are 0..9", paths[k], i, r[0]);
        NN_FREE(b);
        nn_dataset_free(d);
        return NULL;
      }
      d->y[done + i] = r[0];
      for (p = 0; p < NN__CIFAR_PIXELS; p++) x[p] = r[1 + p] * (1.0f / 255.0f);
    }
    done += recs;
    NN_FREE(b);
  }
  return d;
}
NNDEF nn_dataset *nn_load_cifar10(const char *dir, int train) {
  static const char *const names[6] = {"data_batch_1.bin", "data_batch_2.bin", "data_batch_3.bin",
                                       "data_batch_4.bin", "data_batch_5.bin", "test_batch.bin"};
  char buf[6][1024];
  const char *paths[6];
  int k, count = train ? 5 : 1;
  for (k = 0; k < count; k++) {
    int len = snprintf(buf[k], sizeof buf[k], "%s/%s", dir, names[train ? k : 5]);
    if (len < 0 || len >= (int)sizeof buf[k]) { nn__fail("load_cifar10: directory name too long"); return NULL; }
    paths[k] = buf[k];
  }
  return nn_load_cifar10_files(count, paths);
}

/* ---- per-channel normalisation ---- */
NNDEF int nn_dataset_channel_stats(const nn_dataset *d, float *mean, float *std) {
  int C = d->shape.dim[0], c, k;
  size_t per = nn_shape_numel(&d->shape), S = per / (size_t)C, q;
  if (d->n < 1) return nn__fail("channel_stats: the data set is empty");
  for (c = 0; c < C; c++) {
    double s = 0, ss = 0, mu, cnt = (double)d->n * (double)S;
    for (k = 0; k < d->n; k++) {
      const float *x = d->x + (size_t)k * per + (size_t)c * S;
      for (q = 0; q < S; q++) s += x[q];
    }
    mu = s / cnt;
    for (k = 0; k < d->n; k++) {
      const float *x = d->x + (size_t)k * per + (size_t)c * S;
      for (q = 0; q < S; q++) ss += (x[q] - mu) * (x[q] - mu);
    }
    mean[c] = (float)mu;
    std[c] = (float)sqrt(ss / cnt);
  }
  return 1;
}
NNDEF int nn_dataset_normalize(nn_dataset *d, const float *mean, const float *std) {
  int C = d->shape.dim[0], c, k;
  size_t per = nn_shape_numel(&d->shape), S = per / (size_t)C, q;
  for (c = 0; c < C; c++)
    if (!(std[c] > 0)) return nn__fail("normalize: channel %d has standard deviation %g", c, std[c]);
  for (k = 0; k < d->n; k++)
    for (c = 0; c < C; c++) {
      float *x = d->x + (size_t)k * per + (size_t)c * S, mu = mean[c], inv = 1.0f / std[c];
      for (q = 0; q < S; q++) x[q] = (x[q] - mu) * inv;
    }
  return 1;
}

/* ---- image augmentation ---- */
/* where coordinate i of an axis of length n reads from; -1: a zero */
static int nn__pad_index(int i, int n, nn_pad_mode pad) {
  int period;
  if (i >= 0 && i < n) return i;
  if (pad == NN_PAD_ZERO) return -1;
  if (n == 1) return 0;
  period = 2 * (n - 1);   /* reflection repeats with this period */
  i %= period;
  if (i < 0) i += period;
  return i < n ? i : period - i;
}
NNDEF void nn_shift_flip_images(const float *src, float *dst, int n, int C, int H, int W,
                                const int *dy, const int *dx, const unsigned char *flip, nn_pad_mode pad) {
  int i;
  NN__OMP_FOR_IF((size_t)n * C * H * W > NN__OMP_MIN_WORK)
  for (i = 0; i < n; i++) {
    int sy = dy ? dy[i] : 0, sx = dx ? dx[i] : 0, f = flip && flip[i], c, h, w;
    for (c = 0; c < C; c++) {
      const float *plane = src + ((size_t)i * C + c) * H * W;
      for (h = 0; h < H; h++) {
        int hs = nn__pad_index(h - sy, H, pad);
        float *o = dst + (((size_t)i * C + c) * H + h) * W;
        const float *s = plane + (size_t)(hs < 0 ? 0 : hs) * W;
        int lo = sx > 0 ? sx : 0, hi = sx < 0 ? W + sx : W;   /* w' - sx inside the image */
        if (hs < 0) { memset(o, 0, (size_t)W * sizeof(float)); continue; }
        if (lo > W) lo = W;
        if (hi < lo) hi = lo;
        /* columns w' of the shifted row: padding on both sides, a plain copy between */
        for (w = 0; w < lo; w++) { int ws = nn__pad_index(w - sx, W, pad); o[f ? W - 1 - w : w] = ws < 0 ? 0.0f : s[ws]; }
        if (f) for (w = lo; w < hi; w++) o[W - 1 - w] = s[w - sx];
        else for (w = lo; w < hi; w++) o[w] = s[w - sx];
        for (w = hi; w < W; w++) { int ws = nn__pad_index(w - sx, W, pad); o[f ? W - 1 - w : w] = ws < 0 ? 0.0f : s[ws]; }
      }
    }
  }
}
NNDEF void nn_random_shifts(nn_rng *r, int n, int max_shift, int *dy, int *dx) {
  int i;
  for (i = 0; i < n; i++) {
    dy[i] = nn_rng_int(r, 2 * max_shift + 1) - max_shift;
    dx[i] = nn_rng_int(r, 2 * max_shift + 1) - max_shift;
  }
}
NNDEF void nn_random_flips(nn_rng *r, int n, unsigned char *flip) {
  int i;
  for (i = 0; i < n; i++) flip[i] = (unsigned char)(nn_rng_u32(r) >> 31);
}
NNDEF void nn_alternating_flips(uint64_t seed, const int *sample, int n, int epoch, unsigned char *flip) {
  int i;
  for (i = 0; i < n; i++) {
    uint64_t x = seed ^ ((uint64_t)(uint32_t)sample[i] * 0xD1B54A32D192ED03ULL);
    flip[i] = (unsigned char)((nn__splitmix(&x) >> 63) ^ (uint64_t)(epoch & 1));
  }
}

/* ---- test-time augmentation ---- */
NNDEF int nn_predict_tta(nn_model *m, const nn_node *x, const nn_node *out, const float *images, int n,
                         int level, float *out_values) {
  /* views: shift y, shift x, mirror, weight by level */
  static const int views[6][3] = {{0, 0, 0}, {0, 0, 1}, {1, 1, 0}, {1, 1, 1}, {-1, -1, 0}, {-1, -1, 1}};
  static const float weight[3][6] = {{1, 0, 0, 0, 0, 0}, {0.5f, 0.5f, 0, 0, 0, 0},
                                     {0.25f, 0.25f, 0.125f, 0.125f, 0.125f, 0.125f}};
  int B = m->max_batch, keep = m->batch, C, H, W, v, start, ok = 1;
  size_t per, K, j;
  float *buf, *res;
  int *dy, *dx;
  unsigned char *fl;
  if (!x || x->op != NN_OP_INPUT || x->shape.ndim != 3) return nn__fail("predict_tta: '%s' is not an image input [C, H, W]", x ? x->name : "(null)");
  if (!out || !out->batched) return nn__fail("predict_tta: the output has no batch dimension");
  if (level < 0 || level > 2) return nn__fail("predict_tta: level %d (0, 1 or 2)", level);
  C = x->shape.dim[0]; H = x->shape.dim[1]; W = x->shape.dim[2];
  per = nn__per(x);
  K = nn__per(out);
  buf = (float *)nn__calloc((size_t)B * per, sizeof(float));
  res = (float *)nn__calloc((size_t)B * K, sizeof(float));
  dy = (int *)nn__calloc((size_t)B, 3 * sizeof(int));
  if (!buf || !res || !dy) { NN_FREE(buf); NN_FREE(res); NN_FREE(dy); return 0; }
  dx = dy + B;
  fl = (unsigned char *)(dx + B);
  for (start = 0; start < n && ok; start += B) {
    int cnt = n - start < B ? n - start : B, i;
    float *dst = out_values + (size_t)start * K;
    memset(dst, 0, (size_t)cnt * K * sizeof(float));
    ok = nn_set_batch(m, cnt);
    for (v = 0; v < 6 && ok; v++) {
      float wgt = weight[level][v];
      if (wgt == 0) continue;
      for (i = 0; i < cnt; i++) { dy[i] = views[v][0]; dx[i] = views[v][1]; fl[i] = (unsigned char)views[v][2]; }
      nn_shift_flip_images(images + (size_t)start * per, buf, cnt, C, H, W, dy, dx, fl, NN_PAD_REFLECT);
      ok = nn_feed_node(m, x, buf) && nn_predict(m, out) && nn_read(m, out, res);
      for (j = 0; ok && j < (size_t)cnt * K; j++) dst[j] += wgt * res[j];
    }
  }
  m->batch = keep;
  NN_FREE(buf);
  NN_FREE(res);
  NN_FREE(dy);
  return ok;
}

/* ---- symmetric eigenproblem and patch whitening ---- */
NNDEF int nn_symmetric_eigen(int n, double *a, double *values, double *vectors) {
  double *v;
  int sweep, p, q, k;
  if (n < 1) return nn__fail("symmetric_eigen: size %d", n);
  if (!(v = (double *)nn__calloc((size_t)n * n, sizeof(double)))) return 0;
  for (p = 0; p < n; p++) v[p * n + p] = 1;
  for (sweep = 0; sweep < 100; sweep++) {
    double off = 0, diag = 0;
    for (p = 0; p < n; p++) {
      diag += a[p * n + p] * a[p * n + p];
      for (q = p + 1; q < n; q++) off += a[p * n + q] * a[p * n + q];
    }
    if (off <= 1e-30 * diag || off == 0) break;
    for (p = 0; p < n; p++)
      for (q = p + 1; q < n; q++) {
        double apq = a[p * n + q], theta, t, c, s;
        if (apq == 0) continue;
        /* the rotation in the (p, q) plane that zeroes a[p][q] */
        theta = (a[q * n + q] - a[p * n + p]) / (2 * apq);
        t = (theta >= 0 ? 1.0 : -1.0) / (fabs(theta) + sqrt(theta * theta + 1));
        c = 1 / sqrt(t * t + 1);
        s = t * c;
        for (k = 0; k < n; k++) {   /* columns: A J */
          double akp = a[k * n + p], akq = a[k * n + q];
          a[k * n + p] = c * akp - s * akq;
          a[k * n + q] = s * akp + c * akq;
        }
        for (k = 0; k < n; k++) {   /* rows: J^T (A J) */
          double apk = a[p * n + k], aqk = a[q * n + k];
          a[p * n + k] = c * apk - s * aqk;
          a[q * n + k] = s * apk + c * aqk;
        }
        for (k = 0; k < n; k++) {   /* accumulated rotations, eigenvectors as columns */
          double vkp = v[k * n + p], vkq = v[k * n + q];
          v[k * n + p] = c * vkp - s * vkq;
          v[k * n + q] = s * vkp + c * vkq;
        }
      }
  }
  /* eigenvalues in descending order (selection: n is small) */
  for (p = 0; p < n; p++) values[p] = a[p * n + p];
  for (p = 0; p < n; p++) {
    int best = p;
    for (q = p + 1; q < n; q++) if (values[q] > values[best]) best = q;
    if (best != p) {
      double t = values[p];
      values[p] = values[best];
      values[best] = t;
      for (k = 0; k < n; k++) { t = v[k * n + p]; v[k * n + p] = v[k * n + best]; v[k * n + best] = t; }
    }
    for (k = 0; k < n; k++) vectors[p * n + k] = v[k * n + p];
  }
  NN_FREE(v);
  return 1;
}
NNDEF int nn_whitening_weights(const float *images, int n, int C, int H, int W, int kh, int kw, float eps, float *w) {
  int D = C * kh * kw, OH = H - kh + 1, OW = W - kw + 1, i, oh, ow, c, u, t, k;
  double *cov, *val, *vec, *patch, count = (double)n * OH * OW;
  if (n < 1 || C < 1 || kh < 1 || kw < 1 || OH < 1 || OW < 1 || D > 1024)
    return nn__fail("whitening: %d images %dx%dx%d with %dx%d patches", n, C, H, W, kh, kw);
  cov = (double *)nn__calloc((size_t)D * D * 2 + (size_t)2 * D, sizeof(double));
  if (!cov) return 0;
  vec = cov + (size_t)D * D;
  val = vec + (size_t)D * D;
  patch = val + D;
  for (i = 0; i < n; i++)
    for (oh = 0; oh < OH; oh++)
      for (ow = 0; ow < OW; ow++) {
        for (c = 0, t = 0; c < C; c++)   /* in the conv weight's order: c, row, column */
          for (u = 0; u < kh; u++)
            for (k = 0; k < kw; k++) patch[t++] = images[(((size_t)i * C + c) * H + oh + u) * W + ow + k];
        for (u = 0; u < D; u++)
          for (k = u; k < D; k++) cov[u * D + k] += patch[u] * patch[k];
      }
  for (u = 0; u < D; u++)
    for (k = u; k < D; k++) cov[k * D + u] = cov[u * D + k] = cov[u * D + k] / count;
  if (!nn_symmetric_eigen(D, cov, val, vec)) { NN_FREE(cov); return 0; }
  for (u = 0; u < D; u++) {
    double scale = val[u] + eps;
    if (!(scale > 0)) {
      nn__fail("whitening: patch covariance eigenvalue %g with eps %g is not positive (use eps > 0)", val[u], eps);
      NN_FREE(cov);
      return 0;
    }
    scale = 1 / sqrt(scale);
    for (k = 0; k < D; k++) {
      w[(size_t)u * D + k] = (float)(vec[u * D + k] * scale);
      w[(size_t)(u + D) * D + k] = (float)(-vec[u * D + k] * scale);
    }
  }
  NN_FREE(cov);
  return 1;
}

/* ======================================================================
   Metrics
   ====================================================================== */
NNDEF int nn_argmax(const float *v, int n) {
  int i, best = 0;
  for (i = 1; i < n; i++) if (v[i] > v[best]) best = i;
  return best;
}
NNDEF void nn_confusion_add(int *cm, int k, const float *logits, const float *labels, int n) {
  int i;
  for (i = 0; i < n; i++) {
    int t = (int)labels[i];
    if (t >= 0 && t < k) cm[t * k + nn_argmax(logits + (size_t)i * k, k)]++;
  }
}
NNDEF double nn_confusion_accuracy(const int *cm, int k) {
  long right = 0, all = 0;
  int i;
  for (i = 0; i < k * k; i++) { all += cm[i]; if (i / k == i % k) right += cm[i]; }
  return all ? (double)right / (double)all : 0.0;
}
NNDEF void nn_class_metrics(const int *cm, int k, double *precision, double *recall, double *f1,
                            double *macro_p, double *macro_r, double *macro_f1) {
  double sp = 0, sr = 0, sf = 0;
  int c, j;
  for (c = 0; c < k; c++) {
    long tp = cm[c * k + c], col = 0, row = 0;
    double p, r, f;
    for (j = 0; j < k; j++) { col += cm[j * k + c]; row += cm[c * k + j]; }
    p = col ? (double)tp / col : 0.0;
    r = row ? (double)tp / row : 0.0;
    f = p + r > 0 ? 2 * p * r / (p + r) : 0.0;
    if (precision) precision[c] = p;
    if (recall) recall[c] = r;
    if (f1) f1[c] = f;
    sp += p; sr += r; sf += f;
  }
  if (macro_p) *macro_p = k ? sp / k : 0;
  if (macro_r) *macro_r = k ? sr / k : 0;
  if (macro_f1) *macro_f1 = k ? sf / k : 0;
}
NNDEF void nn_classification_report(FILE *out, const int *cm, int k, const char *const *names) {
  double mp, mr, mf;
  int c, j;
  fprintf(out, "confusion matrix (rows: true class, columns: predicted)\n%12s", "");
  for (j = 0; j < k; j++) fprintf(out, " %6d", j);
  fprintf(out, "\n");
  for (c = 0; c < k; c++) {
    if (names) fprintf(out, "%12.12s", names[c]);
    else fprintf(out, "%12d", c);
    for (j = 0; j < k; j++) fprintf(out, " %6d", cm[c * k + j]);
    fprintf(out, "\n");
  }
  fprintf(out, "%-12s %9s %9s %9s\n", "class", "precision", "recall", "f1");
  for (c = 0; c < k; c++) {
    double p, r, f;
    long tp = cm[c * k + c], col = 0, row = 0;
    for (j = 0; j < k; j++) { col += cm[j * k + c]; row += cm[c * k + j]; }
    p = col ? (double)tp / col : 0;
    r = row ? (double)tp / row : 0;
    f = p + r > 0 ? 2 * p * r / (p + r) : 0;
    if (names) fprintf(out, "%-12.12s %9.4f %9.4f %9.4f\n", names[c], p, r, f);
    else fprintf(out, "%-12d %9.4f %9.4f %9.4f\n", c, p, r, f);
  }
  nn_class_metrics(cm, k, NULL, NULL, NULL, &mp, &mr, &mf);
  fprintf(out, "%-12s %9.4f %9.4f %9.4f\naccuracy %.4f\n", "macro avg", mp, mr, mf, nn_confusion_accuracy(cm, k));
}
typedef struct nn__scored { float s, y; } nn__scored;
static int nn__cmp_scored(const void *a, const void *b) {
  float x = ((const nn__scored *)a)->s, y = ((const nn__scored *)b)->s;
  return x < y ? -1 : x > y;
}
/* Mann-Whitney form: the mean rank of the positives, ties sharing ranks */
NNDEF double nn_roc_auc(const float *scores, const float *labels, int n) {
  nn__scored *v;
  double pos = 0, rank_sum = 0;
  int i, j;
  if (n < 1) { nn__fail("roc_auc: no samples"); return NAN; }
  v = (nn__scored *)nn__calloc((size_t)n, sizeof *v);
  if (!v) return NAN;
  for (i = 0; i < n; i++) { v[i].s = scores[i]; v[i].y = labels[i] > 0.5f ? 1.0f : 0.0f; pos += v[i].y; }
  qsort(v, (size_t)n, sizeof *v, nn__cmp_scored);
  for (i = 0; i < n; i = j) {
    double avg_rank;
    for (j = i + 1; j < n && v[j].s == v[i].s; j++) {}
    avg_rank = 0.5 * (i + 1 + j);
    for (; i < j; i++) rank_sum += v[i].y * avg_rank;
  }
  NN_FREE(v);
  if (pos == 0 || pos == n) { nn__fail("roc_auc: only one class present"); return NAN; }
  return (rank_sum - pos * (pos + 1) / 2) / (pos * (n - pos));
}

#endif /* NN__IMPLEMENTED */
#endif /* NN_IMPLEMENTATION */

/*
MIT License

Copyright (c) 2026 the nn.h authors

Permission is hereby granted, free of charge, to any person obtaining a copy
of this software and associated documentation files (the "Software"), to deal
in the Software without restriction, including without limitation the rights
to use, copy, modify, merge, publish, distribute, sublicense, and/or sell
copies of the Software, and to permit persons to whom the Software is
furnished to do so, subject to the following conditions:

The above copyright notice and this permission notice shall be included in all
copies or substantial portions of the Software.

THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR
IMPLIED, INCLUDING BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY,
FITNESS FOR A PARTICULAR PURPOSE AND NONINFRINGEMENT. IN NO EVENT SHALL THE
AUTHORS OR COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM, DAMAGES OR OTHER
LIABILITY, WHETHER IN AN ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING FROM,
OUT OF OR IN CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS IN THE
SOFTWARE.
*/
