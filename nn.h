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
     NN_NO_DATA           leave out the data sets, loaders and augmentation
     NN_NO_TEXT           leave out the tokenizer, vocabulary and aclImdb
     NN_NO_IO             leave out safetensors files and checkpoints
   Compile with -fopenmp to use several threads; results do not depend on
   the thread count beyond the rounding of parallel reductions.  Each kind
   of pass times itself on all of the model's threads and on one now and
   then and runs on the faster (a busy machine, a small model): that choice
   never changes a result.

   ERRORS
     Functions that can fail return 0 / NULL / NAN and leave a readable
     reason in nn_last_error() (one per thread).  The library never prints
     unless asked (nn_summary, nn_classification_report) and never exits.
     Every public function checks its pointer arguments: a NULL is such a
     failure, never a crash.

   OWNERSHIP
     The caller owns what a constructor returns (nn_graph_new,
     nn_cpu_backend, nn_compile, nn_sgd, ..) and frees it with the matching
     nn_*_free.  nn_compile, when it succeeds, gives the graph and the
     backend to the model: the graph is frozen (builders and setters on it
     fail without poisoning it), and both are freed with the last model
     compiled from them -- a graph may be compiled again and a backend may
     run several models (a training and an inference model on one device);
     nn_graph_free and nn_backend_free refuse them while a model uses them.
     A failed nn_compile takes nothing: the graph and backend stay the
     caller's, usable (retry with a smaller batch) and to be freed by it.
     Optimizers and averages belong to the model they were made for; they
     and the model may be freed in any order.  Nodes, optimizers and
     averages of another model are refused with an error, as are NULLs;
     what no check can catch is a pointer used after it was freed.
     Automatic layer names ("dense3") are given at nn_compile in an order
     taken from the graph's structure (a depth-first walk from the loss,
     then from the nodes nothing uses, inputs in order), not from the order
     in which C happened to evaluate builder calls, so weights saved by one
     compiler's build load into another's; for a straight chain of layers
     this is the order they were built in.

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

   CONTENTS
     Declarations                      Implementation (NN_IMPLEMENTATION)
       errors, random numbers,           configuration, errors, memory,
       shapes                            random numbers, shapes, files
       the op list (NN_OPS)              matrix product (GEMM)
       graphs: leaves, layers, losses,   element-wise math
         sequences, recurrent layers     graph building
       models: compile, feed, run        the ops, one block each: builder,
       optimizers, schedules, EMA          CPU forward/backward/workspace,
       metrics                             its row of the CPU table
       data        (NN_NO_DATA)          the CPU backend
       text        (NN_NO_TEXT)          compile and run, initialisers
       serialization (NN_NO_IO)          optimizers, schedules, EMA
       for backend authors: node         metrics
         attributes, the backend         data, text, serialization
         table, the model struct
   Search for a section by its title, e.g. "Graph building".

   ADDING AN OP (nn_silu is an example of each step)
     1. one entry in NN_OPS below: X(SILU, silu);
     2. one op block in the implementation: the builder (nn_silu, declared
        with the other layers), the CPU forward and backward (and workspace
        and flops where it has them), ending in its row
        `static const nn__cpu_op nn__cpu_op_silu = {...}` -- the CPU table
        is generated from NN_OPS, so a missing row does not compile;
     3. for the device: one kernel in a kernels/ .cl file (embedded by
        tools/embed_kernels.sh) and the op's row in nn_opencl.h, whose
        table is generated the same way (a missing row does not compile);
     4. one case in tests/op_cases.h: the gradient check, the device parity
        test and the per-op timing all read it, and the op-coverage check
        fails while an op has no case.
   Attributes an op needs go in a typed struct of nn_op_attr.

   LICENSE: MIT, see the end of this file. */
#ifndef NN_H
#define NN_H

#define NN_VERSION_MAJOR 0
#define NN_VERSION_MINOR 3
#define NN_VERSION_PATCH 0
#define NN_VERSION "0.3.0"

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
#define NN_MAX_INPUTS 10 /* inputs of one op, parameters included (a
                            bidirectional recurrent layer has 10) */
#define NN_NAME_LEN 64

/* ======================================================================
   Errors
   ====================================================================== */
NNDEF const char *nn_last_error(void);   /* reason of the last failure */
NNDEF void nn_clear_error(void);
/* records the reason nn_last_error() gives and returns 0, for backends and
   other code built on nn.h that reports through the same channel */
NNDEF int nn_set_error(const char *fmt, ...)
#if defined(__MINGW32__)
    __attribute__((format(gnu_printf, 1, 2)))   /* C99's %zu, not msvcrt's dialect */
#elif defined(__GNUC__)
    __attribute__((format(printf, 1, 2)))
#endif
    ;

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

/* Writes n bytes to path atomically: to a temporary file in the same
   directory, flushed to disk, then renamed over path, so that a crash
   leaves the old file intact.  1, or 0 with the reason (no file left). */
NNDEF int nn_file_write_atomic(const char *path, const void *data, size_t n);

/* ======================================================================
   The op list: every operation the graph knows, once.  X(ID, name)
   generates the enum NN_OP_ID, the name "name" and each backend's table
   ("Adding an op", above).
   ====================================================================== */
#define NN_OPS(X)                                                                       \
  X(INPUT, input) X(PARAM, param) X(RESHAPE, reshape)                                   \
  X(DENSE, dense) X(CONV2D, conv2d) X(MAXPOOL2D, maxpool2d) X(AVGPOOL2D, avgpool2d)     \
  X(CONV2D_TRANSPOSE, conv2d_transpose) X(UPSAMPLE2D, upsample2d)                       \
  X(GLOBAL_AVGPOOL, global_avgpool) X(BATCHNORM, batchnorm) X(LAYERNORM, layernorm)     \
  X(DROPOUT, dropout) X(ADD, add) X(MUL, mul) X(CONCAT, concat) X(SCALE, scale)         \
  X(RELU, relu) X(LEAKY_RELU, leaky_relu) X(GELU, gelu) X(SILU, silu)                   \
  X(SIGMOID, sigmoid) X(TANH, tanh) X(SOFTMAX, softmax)                                 \
  X(CROSS_ENTROPY, cross_entropy) X(BCE_LOGITS, bce_with_logits) X(MSE, mse)            \
  X(EMBEDDING, embedding) X(RNN, rnn) X(LSTM, lstm) X(GRU, gru)                         \
  X(SEQ_LAST, seq_last) X(SEQ_MAXPOOL, seq_maxpool) X(SEQ_MEANPOOL, seq_meanpool)

#define NN__OP_ENUM(ID, name) NN_OP_##ID,
typedef enum nn_op { NN_OPS(NN__OP_ENUM) NN_OP_COUNT } nn_op;
#undef NN__OP_ENUM
NNDEF const char *nn_op_name(nn_op op);

typedef enum nn_reduction { NN_MEAN = 0, NN_SUM = 1 } nn_reduction;

typedef enum nn_init {
  NN_INIT_ZEROS, NN_INIT_ONES, NN_INIT_CONST, NN_INIT_UNIFORM, NN_INIT_NORMAL,
  NN_INIT_HE_UNIFORM, NN_INIT_HE_NORMAL, NN_INIT_XAVIER_UNIFORM,
  NN_INIT_XAVIER_NORMAL, NN_INIT_DIRAC
} nn_init;

/* ======================================================================
   Graphs: nodes are ops and leaves, built by the functions below; a
   builder given NULL returns NULL, so checking the last one is enough.
   ====================================================================== */
typedef struct nn_node nn_node;
typedef struct nn_graph nn_graph;
NNDEF nn_graph *nn_graph_new(void);
/* 1, or 0 with the reason for a compiled graph: its last model frees it */
NNDEF int nn_graph_free(nn_graph *g);
NNDEF int nn_graph_set_seed(nn_graph *g, uint64_t seed);   /* initialisers */
NNDEF const char *nn_graph_error(const nn_graph *g);  /* first build error */
NNDEF int nn_layer_name(nn_graph *g, const char *name);  /* names the next layer */
/* automatic layer names are final once the graph is compiled (OWNERSHIP, top) */
NNDEF nn_node *nn_find(const nn_graph *g, const char *name);
NNDEF int nn_graph_num_nodes(const nn_graph *g);
NNDEF nn_node *nn_graph_node(const nn_graph *g, int i);

/* Leaves.  Inputs are batched; parameters are not.  Builders and setters
   fail on a compiled graph (it is frozen) without marking it failed. */
NNDEF nn_node *nn_input(nn_graph *g, const char *name, int ndim, const int *dims);
NNDEF nn_node *nn_param(nn_graph *g, const char *name, int ndim, const int *dims,
                        nn_init init, float init_arg);
/* Setters return 1, or 0 with the reason for a node of the wrong kind or a
   value out of range (multipliers are finite and >= 0).  The multipliers
   may change after nn_compile (each step reads them), the others not. */
NNDEF int nn_set_requires_grad(nn_node *input);   /* gradient w.r.t. an input */
NNDEF int nn_set_trainable(nn_node *param, int trainable);
NNDEF int nn_set_lr_mult(nn_node *param, float mult);
NNDEF int nn_set_wd_mult(nn_node *param, float mult);
NNDEF int nn_set_l1_mult(nn_node *param, float mult);   /* of nn_optimizer_set_l1 */
NNDEF int nn_set_init(nn_node *param, nn_init init, float arg);
NNDEF nn_node *nn_node_input(const nn_node *n, int i);   /* e.g. a layer's weight */
NNDEF const nn_shape *nn_node_shape(const nn_node *n);

/* Layers: thin builders over ops that create their parameters. */
NNDEF nn_node *nn_dense(nn_graph *g, nn_node *x, int units);           /* over the last dim */
NNDEF nn_node *nn_dense_ex(nn_graph *g, nn_node *x, int units, int bias);
NNDEF nn_node *nn_conv2d(nn_graph *g, nn_node *x, int out_ch, int k, int stride, int pad);
NNDEF nn_node *nn_conv2d_ex(nn_graph *g, nn_node *x, int out_ch, int kh, int kw,
                            int stride, int pad, int bias);
/* PyTorch's ConvTranspose2d (groups 1): the adjoint of nn_conv2d, the
   upsampling layer of generators; weight [C_in, out_ch, kh, kw], output
   size (H - 1) * stride - 2 * pad + k + out_pad, out_pad < stride */
NNDEF nn_node *nn_conv2d_transpose(nn_graph *g, nn_node *x, int out_ch, int k, int stride, int pad,
                                   int out_pad);
NNDEF nn_node *nn_conv2d_transpose_ex(nn_graph *g, nn_node *x, int out_ch, int kh, int kw,
                                      int stride, int pad, int out_pad, int bias);
/* nearest-neighbour upsampling of [C, H, W] to [C, H * factor, W * factor]
   (PyTorch's nn.Upsample(scale_factor=factor, mode='nearest')) */
NNDEF nn_node *nn_upsample2d(nn_graph *g, nn_node *x, int factor);
NNDEF nn_node *nn_maxpool2d(nn_graph *g, nn_node *x, int k, int stride);
NNDEF nn_node *nn_maxpool2d_ex(nn_graph *g, nn_node *x, int k, int stride, int pad);
NNDEF nn_node *nn_avgpool2d(nn_graph *g, nn_node *x, int k, int stride);
NNDEF nn_node *nn_avgpool2d_ex(nn_graph *g, nn_node *x, int k, int stride, int pad);
NNDEF nn_node *nn_global_avgpool(nn_graph *g, nn_node *x);
/* PyTorch's BatchNorm1d/2d: parameters .weight, .bias, buffers
   .running_mean, .running_var and .num_batches_tracked (nn_model_tensor). */
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
/* a * b, b broadcast per channel ([C] over [C, H, W]) or per feature
   ([F] over [.., F]) or of a's shape; b may be a parameter */
NNDEF nn_node *nn_mul(nn_graph *g, nn_node *a, nn_node *b);
NNDEF nn_node *nn_concat(nn_graph *g, int n, nn_node *const *xs);     /* along dim 0 of a sample */
NNDEF nn_node *nn_scale(nn_graph *g, nn_node *x, float c);
NNDEF nn_node *nn_relu(nn_graph *g, nn_node *x);
NNDEF nn_node *nn_leaky_relu(nn_graph *g, nn_node *x, float slope);
NNDEF nn_node *nn_gelu(nn_graph *g, nn_node *x);                       /* exact (erf) form */
NNDEF nn_node *nn_silu(nn_graph *g, nn_node *x);                       /* x * sigmoid(x) */
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
NNDEF int nn_graph_set_loss(nn_graph *g, nn_node *loss);   /* a scalar node of g */

/* Sequences.  A sequence is [T, F] per sample: T steps of F features, T the
   padded length the graph is built with.  `lengths` is an input of shape [1]
   holding each sample's number of valid steps (0..T, fed as floats like
   labels); NULL means all T steps are valid.  Steps past a sample's length
   change no output and no gradient, and the recurrent ops run only as far
   as the longest sample in the batch.
   Embedding: ids (integers fed as floats, any shape) -> ids' shape + [dim];
   the weight [vocab, dim] starts N(0, 1), as in PyTorch.  An id outside
   0..vocab-1 fails the forward pass, naming the id and the vocabulary size. */
NNDEF nn_node *nn_embedding(nn_graph *g, nn_node *ids, int vocab, int dim);

/* Recurrent layers over a whole sequence, one op per layer: x [T, F] ->
   [T, dirs * hidden], each step the hidden state h_t (zeros at padded
   steps).  `layers` stacks that many; flags NN_BIDIRECTIONAL adds a second
   direction that starts at each sample's last valid step and runs to step 0;
   its states follow the forward ones in the output.  Equations (PyTorch and
   cuDNN; sigma the logistic function, h_{-1} = c_{-1} = 0):
     rnn:  h_t = tanh(W_ih x_t + b_ih + W_hh h_{t-1} + b_hh)
     lstm: i = sigma(W_ii x_t + b_ii + W_hi h_{t-1} + b_hi)
           f = sigma(W_if x_t + b_if + W_hf h_{t-1} + b_hf)
           g = tanh (W_ig x_t + b_ig + W_hg h_{t-1} + b_hg)
           o = sigma(W_io x_t + b_io + W_ho h_{t-1} + b_ho)
           c_t = f * c_{t-1} + i * g,   h_t = o * tanh(c_t)
     gru:  r = sigma(W_ir x_t + b_ir + W_hr h_{t-1} + b_hr)
           z = sigma(W_iz x_t + b_iz + W_hz h_{t-1} + b_hz)
           n = tanh (W_in x_t + b_in + r * (W_hn h_{t-1} + b_hn))
           h_t = (1 - z) * n + z * h_{t-1}
   Parameters of layer L, PyTorch's names, shapes and gate order (lstm
   i,f,g,o; gru r,z,n; G gates): PREFIX.weight_ih_lL [G*hidden, F],
   .weight_hh_lL [G*hidden, hidden], .bias_ih_lL and .bias_hh_lL
   [G*hidden], and for the reverse direction the same four with the
   suffix _reverse (nn_node_input(layer, 2 + 4*d + k): direction d, k in
   that order); all start U(-1/sqrt(hidden), 1/sqrt(hidden)).  Files of
   nn.h 0.2, which joined both directions in one tensor of [2*G*hidden, ..]
   under the forward name, still load: the tensor is split. */
enum { NN_BIDIRECTIONAL = 1 };
NNDEF nn_node *nn_rnn(nn_graph *g, nn_node *x, nn_node *lengths, int hidden, int layers, int flags);
NNDEF nn_node *nn_lstm(nn_graph *g, nn_node *x, nn_node *lengths, int hidden, int layers, int flags);
NNDEF nn_node *nn_gru(nn_graph *g, nn_node *x, nn_node *lengths, int hidden, int layers, int flags);

/* Reductions over the valid steps of x [T, F] -> [F] (zeros for an empty
   sequence).  seq_last takes step length-1; on the output of a bidirectional
   recurrent layer it takes the reverse direction's half at step 0, so that
   both halves are final states. */
NNDEF nn_node *nn_seq_last(nn_graph *g, nn_node *x, nn_node *lengths);
NNDEF nn_node *nn_seq_maxpool(nn_graph *g, nn_node *x, nn_node *lengths);
NNDEF nn_node *nn_seq_meanpool(nn_graph *g, nn_node *x, nn_node *lengths);

/* ======================================================================
   Models: a graph compiled for a batch size on a backend (the CPU, or
   nn_opencl.h's device).  Every buffer is planned and allocated here;
   training steps allocate nothing.
   ====================================================================== */
typedef struct nn_model nn_model;
typedef struct nn_backend nn_backend;
NNDEF nn_backend *nn_cpu_backend(void);
/* 1, or 0 with the reason for a backend models run on: the last frees it */
NNDEF int nn_backend_free(nn_backend *b);
/* On success the graph and the backend belong to the model (shared with
   other models compiled from them, freed with the last).  On failure, NULL
   with the reason, and both stay the caller's, unchanged and usable. */
NNDEF nn_model *nn_compile(nn_graph *g, int batch, nn_backend *backend);
/* also frees the graph and backend if no other model uses them; the
   model's optimizers and averages may be freed before or after it */
NNDEF void nn_model_free(nn_model *m);
NNDEF int nn_set_batch(nn_model *m, int n);            /* 1 .. compiled batch */
NNDEF int nn_model_set_seed(nn_model *m, uint64_t seed);   /* dropout */
NNDEF nn_node *nn_model_find(const nn_model *m, const char *name);
/* Functions taking a model and a node fail for a node of another graph. */
NNDEF size_t nn_node_numel(const nn_model *m, const nn_node *n); /* incl. batch; 0 on failure */
NNDEF int nn_feed(nn_model *m, const char *input_name, const float *data);
NNDEF int nn_feed_node(nn_model *m, const nn_node *input, const float *data);
NNDEF int nn_forward(nn_model *m, int training);       /* computes the loss too */
NNDEF int nn_predict(nn_model *m, const nn_node *out); /* eval mode, only what out needs */
NNDEF int nn_backward(nn_model *m);                    /* zero grads, seed loss with 1 */
NNDEF int nn_backward_from(nn_model *m, const nn_node *node, const float *dy);
/* Two models on one backend (a generator feeding a discriminator): m's
   input takes src's value of src_node, or m's backward starts at node
   from src's gradient of src_node, without a trip through the host.
   Element counts (with the batch) must match. */
NNDEF int nn_feed_from(nn_model *m, const nn_node *input, nn_model *src, const nn_node *src_node);
NNDEF int nn_backward_from_grad(nn_model *m, const nn_node *node, nn_model *src, const nn_node *src_node);
/* Called during backward passes as soon as a parameter's gradient is final
   (the last node using it has run backward), in the order they complete,
   and at the end for parameters the pass left at zero: a data-parallel
   engine starts reducing gradients while backward goes on.  Returning 0
   stops the pass (with nn_set_error's reason).  NULL fn removes it. */
typedef int (*nn_grad_ready_fn)(void *ctx, nn_model *m, const nn_node *param);
NNDEF int nn_model_set_grad_ready(nn_model *m, nn_grad_ready_fn fn, void *ctx);
/* Synchronised batch norm for data-parallel copies of a model: in
   training, batch norms call fn with n sums (per-channel statistics and
   the sample count) to have each replaced by its total over every copy,
   so all normalise with the joint batch's statistics.  NULL fn: each copy
   its own batch (the default).  On a device the sums cross to the host
   and back: a small read and a write per batch norm and pass. */
typedef int (*nn_sum_across_fn)(void *ctx, double *sums, int n);
NNDEF int nn_model_set_batchnorm_sync(nn_model *m, nn_sum_across_fn fn, void *ctx);
NNDEF int nn_read(nn_model *m, const nn_node *n, float *dst);       /* value to host */
NNDEF int nn_read_grad(nn_model *m, const nn_node *n, float *dst);  /* gradient to host */
NNDEF int nn_write(nn_model *m, const nn_node *n, const float *src);/* e.g. set weights */
NNDEF float nn_loss(nn_model *m);
NNDEF size_t nn_num_params(const nn_model *m);          /* trainable scalars */
/* The gradients of count nodes (parameters, or nodes with
   nn_set_requires_grad) to and from one host array, one after another in
   the order given, each nn_node_numel floats: one transfer on a device,
   where a read per node would wait for the device count times (a
   data-parallel engine's gradient buckets).  The array holds `floats`
   floats; the nodes must fit in it.  A node listed twice is written
   twice, the later values winning. */
NNDEF int nn_model_read_grads(nn_model *m, const nn_node *const *nodes, int count, float *dst, size_t floats);
NNDEF int nn_model_write_grads(nn_model *m, const nn_node *const *nodes, int count, const float *src, size_t floats);
/* The layers (op, output shape, parameters, MFLOPs), then every tensor of
   nn_model_tensor: name, shape, scalars, trainable, frozen or buffer. */
NNDEF void nn_summary(const nn_model *m, FILE *out);
/* Every tensor a model saves, named and shaped as files (and PyTorch's
   state_dict) hold it: the parameters, trainable or frozen, and the
   buffers, which no optimizer changes: a batch norm's running_mean and
   running_var, and num_batches_tracked, the number of its forward passes
   in training (a 64-bit integer scalar, I64 in files; PyTorch counts the
   same).  In graph order, i from 0 to nn_model_num_tensors(m) - 1;
   nn_model_tensor returns 1, or 0 with the reason for an i out of range. */
typedef struct nn_tensor_info {
  char name[NN_NAME_LEN + 24];  /* "conv1.weight", "gru.weight_ih_l0_reverse", "bn.num_batches_tracked" */
  nn_shape shape;               /* ndim 0 for a scalar */
  size_t numel;
  int trainable;                /* 1: optimizers update it */
  int buffer;                   /* 1: a buffer (state), not a parameter */
  const char *dtype;            /* "F32", or "I64" for num_batches_tracked */
  int64_t count;                /* I64: its value */
  nn_node *node;                /* the parameter; for num_batches_tracked, the batch norm */
} nn_tensor_info;
NNDEF int nn_model_num_tensors(const nn_model *m);
NNDEF int nn_model_tensor(const nn_model *m, int i, nn_tensor_info *info);
/* OpenMP threads; returns the number in use.  A model keeps the count it
   was compiled with (its workspaces are sized for it): call this before
   nn_cpu_backend() and nn_compile(). */
NNDEF int nn_set_threads(int n);

/* ======================================================================
   Optimizers, schedules, clipping, weight averaging
   ====================================================================== */
typedef struct nn_optimizer nn_optimizer;
typedef enum nn_opt_kind { NN_OPT_SGD, NN_OPT_ADAM, NN_OPT_RMSPROP } nn_opt_kind;
enum { NN_NESTEROV = 1, NN_DECOUPLED_WD = 2 };   /* optimizer flags */
/* weight_decay is L2 added to the gradient unless flags has NN_DECOUPLED_WD */
NNDEF nn_optimizer *nn_sgd(nn_model *m, float lr, float momentum, float weight_decay, int flags);
/* Every optimizer takes (model, lr, [momentum], its own constants,
   weight_decay, flags); flags NN_DECOUPLED_WD makes Adam AdamW. */
NNDEF nn_optimizer *nn_adam(nn_model *m, float lr, float beta1, float beta2, float eps,
                            float weight_decay, int flags);
NNDEF nn_optimizer *nn_rmsprop(nn_model *m, float lr, float momentum, float alpha, float eps,
                               float weight_decay, int flags);
/* An optimizer or average belongs to the model it was made for: functions
   given one with another model fail, naming both. */
NNDEF void nn_optimizer_free(nn_optimizer *o);
NNDEF int nn_optimizer_set_lr(nn_optimizer *o, float lr);   /* finite, >= 0 */
NNDEF float nn_optimizer_get_lr(const nn_optimizer *o);
NNDEF int nn_optimizer_set_clip(nn_optimizer *o, float max_norm);  /* 0: off */
/* L1 regularisation: each step adds strength * l1_mult * sign(w) to the
   gradient (sign(0) = 0) before the update, as weight_decay adds L2
   without NN_DECOUPLED_WD.  0 (the default): off.  The caller's setting,
   like the others: checkpoints keep only the learning rate. */
NNDEF int nn_optimizer_set_l1(nn_optimizer *o, float strength);
NNDEF long nn_optimizer_steps(const nn_optimizer *o);
/* A step whose loss or gradient is not finite (NaN, Inf) either stops
   training (NN_NONFINITE_STOP, the default: the call fails with a message
   naming the step and, for a gradient, the parameter) or is skipped
   (NN_NONFINITE_SKIP: weights and optimizer state stay as they were, the
   step count does not advance, nn_optimizer_skipped counts it; batch-norm
   running statistics of that forward pass are already updated).  The
   gradients are checked through their global norm, one sum of squares
   per parameter: on the CPU about 1% of a step; on a device, one small
   read per parameter.  Adding NN_NONFINITE_LOSS_ONLY to either mode checks
   only the loss, and the gradients only when clipping computes their norm
   anyway. */
enum { NN_NONFINITE_STOP = 0, NN_NONFINITE_SKIP = 1, NN_NONFINITE_LOSS_ONLY = 2 };
NNDEF int nn_optimizer_set_nonfinite(nn_optimizer *o, int mode);
NNDEF long nn_optimizer_skipped(const nn_optimizer *o);
NNDEF int nn_optimizer_step(nn_optimizer *o);          /* apply gradients */
/* forward + backward + step; returns the loss, NAN on failure, INFINITY
   for a step skipped under NN_NONFINITE_SKIP */
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

/* An exact copy of every parameter (batch-norm running statistics and the
   other state buffers included), kept on the model's backend: early
   stopping keeps the best epoch's weights with nn_snapshot_take and goes
   back to them with nn_snapshot_restore, device to device on OpenCL.
   Like an average, it belongs to its model and may be freed before or
   after it. */
typedef struct nn_snapshot nn_snapshot;
NNDEF nn_snapshot *nn_snapshot_new(nn_model *m);     /* holds the current weights */
NNDEF void nn_snapshot_free(nn_snapshot *s);
NNDEF int nn_snapshot_take(nn_snapshot *s);          /* snapshot := weights */
NNDEF int nn_snapshot_restore(nn_snapshot *s);       /* weights := snapshot */

/* ======================================================================
   Metrics
   ====================================================================== */
NNDEF int nn_argmax(const float *v, int n);
/* summed cross entropy of n rows of k logits against class labels (in
   double, stable); adds to *correct (if not NULL) the rows whose argmax is
   the label.  NAN if a label is not a class. */
NNDEF double nn_cross_entropy_sum(const float *logits, const float *labels, int n, int k, int *correct);
/* cm[true * k + predicted] += 1 for each sample */
NNDEF void nn_confusion_add(int *cm, int k, const float *logits, const float *labels, int n);
NNDEF double nn_confusion_accuracy(const int *cm, int k);
/* per-class precision/recall/F1 (arrays of k, may be NULL) and macro averages */
NNDEF void nn_class_metrics(const int *cm, int k, double *precision, double *recall,
                            double *f1, double *macro_p, double *macro_r, double *macro_f1);
NNDEF void nn_classification_report(const int *cm, int k, const char *const *names, FILE *out);
/* area under the ROC curve of scores for binary labels (0/1); ties averaged */
NNDEF double nn_roc_auc(const float *scores, const float *labels, int n);
/* Regression: over n values, the mean squared error, the mean absolute
   error and R^2 = 1 - SS_res / SS_tot (NAN where the targets are all
   equal); each output may be NULL.  1, or 0 with the reason. */
NNDEF int nn_regression_metrics(const float *pred, const float *target, size_t n,
                                double *mse, double *mae, double *r2);

#ifndef NN_NO_DATA
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
NNDEF nn_dataset *nn_dataset_read_idx(const char *images_path, const char *labels_path);
NNDEF void nn_dataset_free(nn_dataset *d);
/* copies samples idx[0..count) into x (count*numel) and y (count) */
NNDEF void nn_dataset_gather(const nn_dataset *d, const int *idx, int count,
                             float *x, float *y);
/* keep only the first n samples (n <= d->n) */
NNDEF int nn_dataset_truncate(nn_dataset *d, int n);

/* Mini-batches of a data set for a model, the explicit loop without its
   bookkeeping:
     nn_batches *it = nn_batches_new(m, train, &rng);
     for (epoch ..) while (nn_batches_next(it) > 0) {
       nn_feed(m, "image", it->x); nn_feed(m, "label", it->y); nn_train_step(m, opt); }
     nn_batches_free(it);
   Each epoch starts with the order 0..n-1 shuffled by r (NULL: in order);
   each batch holds the model's compiled batch size of samples, the last
   the rest, and sets the model's batch to it (nn_set_batch); the end of
   the epoch restores the compiled batch.  nn_batches_next returns 1 with
   a batch in x and y, 0 at the end of an epoch (the next call starts a
   new one) and -1 on failure, with the reason.  The data set and r must
   outlive the iterator; the model may be freed before it. */
typedef struct nn_batches {
  float *x, *y;         /* the current batch: n samples, n labels (owned) */
  int n;                /* samples in the current batch */
  int index, count;     /* its number in the epoch (from 0); batches per epoch */
  nn_model *m;          /* the rest is the iterator's own */
  const nn_dataset *d;
  nn_rng *r;
  int *order;
} nn_batches;
NNDEF nn_batches *nn_batches_new(nn_model *m, const nn_dataset *d, nn_rng *r);
NNDEF int nn_batches_next(nn_batches *it);
NNDEF void nn_batches_free(nn_batches *it);

/* CIFAR-10 binary batches: records of 1 label byte (0..9) and 3072 pixel
   bytes (1024 red, 1024 green, 1024 blue, each 32 rows of 32).  Pixels
   scaled to [0,1]; images as 3 x 32 x 32.  The files are concatenated in
   order; a file whose size is not a whole number of records, or a label
   byte above 9, fails naming the file. */
NNDEF nn_dataset *nn_dataset_read_cifar10_files(int count, const char *const *paths);
/* split "train": dir/data_batch_1.bin .. data_batch_5.bin; "test": dir/test_batch.bin */
NNDEF nn_dataset *nn_dataset_read_cifar10(const char *dir, const char *split);

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
/* Test-time augmentation: eval-mode outputs of `out` (one vector per
   sample) for n images fed to the image input `x`, averaged over views:
   level 0: the images; 1: images and mirrors, 1/2 each; 2 (airbench):
   images and mirrors 1/4 each, plus those two shifted by (+1, +1) and by
   (-1, -1) px with reflect padding, 1/8 each.  Runs in batches of the
   compiled size, other inputs keep their values.  out_values: n vectors. */
NNDEF int nn_predict_tta(nn_model *m, const nn_node *x, const nn_node *out, const float *images,
                         int n, int level, float *out_values);

#endif /* NN_NO_DATA */

#ifndef NN_NO_TEXT
/* ======================================================================
   Text: a tokenizer, a vocabulary, encoding to ids, the aclImdb layout and
   batches of similar lengths
   ====================================================================== */
/* Tokenizes len bytes of text (NUL bytes allowed) into out, which must hold
   2 * len + 1 bytes: lower-case tokens separated by single spaces, then a
   NUL.  A token is a word (ASCII letters and digits, UTF-8 letters, with
   inner apostrophes and hyphens: "don't", "low-budget") or a punctuation
   mark (a run of one mark, at most 3 long: "!!!", "...").  HTML line
   breaks (<br />) are spaces; bytes that are not valid UTF-8 are dropped.
   Returns the number of tokens. */
NNDEF size_t nn_tokenize(const char *text, size_t len, char *out);

/* A vocabulary: count words, then keep the most frequent.  Ids: NN_PAD 0,
   NN_UNK 1 (every word not kept), then the kept words by falling count
   (ties in byte order). */
enum { NN_PAD = 0, NN_UNK = 1 };
typedef struct nn_vocab nn_vocab;
NNDEF nn_vocab *nn_vocab_new(void);
NNDEF void nn_vocab_free(nn_vocab *v);
NNDEF int nn_vocab_add(nn_vocab *v, const char *tokens);   /* counts tokenized text */
/* keeps at most max_size ids (PAD and UNK included) of words counted at
   least min_count times; fails if no word qualifies.  Ends the counting. */
NNDEF int nn_vocab_finish(nn_vocab *v, int max_size, int min_count);
NNDEF int nn_vocab_size(const nn_vocab *v);
NNDEF int nn_vocab_id(const nn_vocab *v, const char *word, size_t len); /* NN_UNK if absent */
NNDEF const char *nn_vocab_word(const nn_vocab *v, int id);
NNDEF long nn_vocab_count(const nn_vocab *v, int id);      /* times counted */
/* Writes maxlen ids of tokenized text: the first maxlen tokens, or with
   keep_end the last maxlen, then NN_PAD.  Returns how many are tokens. */
NNDEF int nn_text_encode(const nn_vocab *v, const char *tokens, int maxlen, int keep_end, float *ids);

/* Tokenized documents with labels. */
typedef struct nn_text_set {
  int n;
  char *text;          /* every document, tokenized, each ending in a NUL */
  size_t *offset;      /* document i is text + offset[i] */
  int *tokens;         /* its number of tokens */
  float *y;            /* its label */
} nn_text_set;
/* The aclImdb layout: the .txt files of DIR/SPLIT/pos (label 1) and of
   DIR/SPLIT/neg (label 0), SPLIT "train" or "test".  Files in name order,
   positives and negatives alternating, so any first N documents are
   balanced.  A missing folder, an empty or unreadable file, or one without
   words fails, naming it. */
NNDEF nn_text_set *nn_text_set_read_aclimdb(const char *dir, const char *split);
NNDEF void nn_text_set_free(nn_text_set *s);
NNDEF int nn_text_set_truncate(nn_text_set *s, int n);   /* keep the first n <= s->n */
/* counts the words of every document of s into v */
NNDEF int nn_vocab_add_set(nn_vocab *v, const nn_text_set *s);

/* An order of samples 0..n-1 for mini-batches of similar lengths, so that
   padded steps are few: with r, a shuffle, then each window of `window`
   batches sorted by length, then the full batches shuffled (a short one
   last); without r, all sorted by length (for evaluation).  Batch k is
   order[k * batch ...].  Returns 0 if out of memory. */
NNDEF int nn_bucket_order(nn_rng *r, const int *lengths, int n, int batch, int window, int *order);

#endif /* NN_NO_TEXT */

#ifndef NN_NO_IO
/* ======================================================================
   Serialization: safetensors files and training checkpoints.
   A safetensors file (the format of Hugging Face's `safetensors`, read by
   PyTorch, NumPy, JAX) is an 8-byte little-endian header length N, N bytes
   of JSON {"name": {"dtype": "F32", "shape": [..], "data_offsets": [begin,
   end]}, .., "__metadata__": {"key": "value", ..}} padded with spaces, then
   the tensors' little-endian bytes.  A model is saved as the tensors of
   nn_model_tensor, under PyTorch's state_dict names and layouts (F32, and
   each batch norm's num_batches_tracked as an I64 scalar), in the
   reference writer's order (I64 first, then by name).  Loading checks
   every name, dtype and shape and changes nothing unless all of them
   match; a missing num_batches_tracked is not a problem (the count keeps
   its value, as PyTorch does), and nn.h 0.2's bidirectional recurrent
   tensors, both directions joined under the forward name, are split.
   So a PyTorch state_dict saved with safetensors.torch.save_file loads
   with flags 0 into the same architecture, and load_state_dict(...,
   strict=True) takes nn.h's files.  Files are written
   atomically: a temporary file in the same directory, flushed to disk,
   then renamed over the target, so a crash leaves the old file intact.
   ====================================================================== */
enum {
  NN_LOAD_PARTIAL = 1   /* tensors absent from the file keep their values and
                           tensors the model lacks are ignored; the shapes of
                           the tensors both have must still match */
};
/* metadata: NULL, or key, value, key, value, ..., NULL (UTF-8 strings) */
NNDEF int nn_safetensors_save(nn_model *m, const char *path, const char *const *metadata);
/* returns the number of tensors loaded, 0 on failure (the model is unchanged) */
NNDEF int nn_safetensors_load(nn_model *m, const char *path, int flags);
NNDEF int nn_safetensors_load_buffer(nn_model *m, const void *data, size_t len, int flags);

/* Checkpoints: everything a run needs to continue exactly where it stopped.
   A checkpoint is a safetensors file (so the weights load anywhere, and
   nn_safetensors_load reads them from it) holding, next to the weights,
     __optimizer__.<param>.<slot>  optimizer state (momentum_buffer, exp_avg,
                                   exp_avg_sq, square_avg as in PyTorch)
     __ema__.<param>               the moving average of the weights
   and in its metadata (format version "nn.checkpoint": "1"):
     nn.epoch, nn.step             the caller's counters (decimal)
     nn.rng, nn.data_rng           the model's generator (dropout) and the
                                   caller's, as two 16-digit hex words
     nn.optimizer                  sgd, adam or rmsprop, with
     nn.optimizer.step, .skipped   its step and skipped-step counts and
     nn.optimizer.lr               its learning rate as the hex bits of an
                                   IEEE-754 binary32 ("0x3dcccccd" is 0.1)
   The optimizer's other settings (momentum, betas, weight decay, clipping,
   the non-finite mode) and the average's decay are the ones they were
   made with.  o, e and info may be NULL: a checkpoint
   loaded without an optimizer or average just skips that state, but an
   optimizer or average given to nn_checkpoint_load must be in the file. */
typedef struct nn_checkpoint_info {
  long epoch, step;     /* the caller's counters, stored as given */
  nn_rng data_rng;      /* the caller's generator (shuffling, augmentation) */
} nn_checkpoint_info;
NNDEF int nn_checkpoint_save(nn_model *m, const nn_optimizer *o, const nn_ema *e,
                             const nn_checkpoint_info *info, const char *path);
NNDEF int nn_checkpoint_load(nn_model *m, nn_optimizer *o, nn_ema *e, nn_checkpoint_info *info,
                             const char *path);

#endif /* NN_NO_IO */

/* ======================================================================
   For backend authors (nn_opencl.h is one): what a node holds, how a
   backend is called, what a compiled model holds.  User code reads these
   through the functions above.
   ====================================================================== */
/* Op attributes, typed: a builder writes them once and every backend
   reads them by name (node->attr.conv2d.stride). */
/* conv2d and conv2d_transpose; out_pad: the transposed one's output padding */
typedef struct nn_conv2d_attr { int kh, kw, stride, pad, out_pad; } nn_conv2d_attr;
/* a conv2d node's geometry, from its input, output and attributes:
   K = C*kh*kw rows of the lowered input, P = OH*OW positions.  For a
   conv2d_transpose node, the geometry of the conv2d it is the adjoint of:
   C, H, W are its output, O, OH, OW its input (its weight is that
   conv2d's [O, K]), so that both lower through the same im2col/col2im. */
typedef struct nn_conv2d_dims { int C, H, W, O, OH, OW, kh, kw, s, p, K, P; } nn_conv2d_dims;
typedef struct nn_pool_attr { int k, stride, pad; } nn_pool_attr;  /* maxpool2d, avgpool2d */
typedef struct nn_norm_attr { float momentum, eps; } nn_norm_attr;  /* batchnorm; layernorm uses eps */
typedef struct nn_dropout_attr { float p; } nn_dropout_attr;
typedef struct nn_upsample_attr { int factor; } nn_upsample_attr;
typedef struct nn_scalar_attr { float value; } nn_scalar_attr;    /* scale: factor; leaky_relu: slope */
typedef struct nn_loss_attr { nn_reduction reduction; float smoothing; } nn_loss_attr;
typedef struct nn_recurrent_attr { int hidden, dirs, gates; } nn_recurrent_attr; /* gates: 1, 4 or 3 */
typedef struct nn_seq_attr { int reverse_features; } nn_seq_attr;  /* seq_last: features taken at step 0 */
/* mul: y[i] = a[i] * b[(i / inner) % count (+ the sample's offset if b is batched)] */
typedef struct nn_mul_attr { int inner, count; } nn_mul_attr;
typedef union nn_op_attr {
  nn_conv2d_attr conv2d;
  nn_pool_attr pool;
  nn_norm_attr norm;
  nn_dropout_attr dropout;
  nn_upsample_attr upsample;
  nn_scalar_attr scalar;
  nn_loss_attr loss;
  nn_recurrent_attr recurrent;
  nn_seq_attr seq;
  nn_mul_attr mul;
} nn_op_attr;

struct nn_node {
  int id;
  nn_op op;
  int n_in;
  nn_node *in[NN_MAX_INPUTS];   /* NULL entries are optional inputs left out */
  nn_shape shape;               /* per sample when batched, whole otherwise */
  int batched;                  /* 1: a leading batch dimension is implied */
  int needs_grad;               /* a gradient buffer exists for this node */
  int trainable;                /* PARAM: updated by optimizers */
  float lr_mult, wd_mult, l1_mult;  /* PARAM: per-parameter-group multipliers */
  nn_init init;                 /* PARAM: initialiser and its argument */
  float init_arg;
  int fan_in, fan_out;
  nn_op_attr attr;              /* the op's attributes, by op family */
  char name[NN_NAME_LEN];
  nn_graph *graph;              /* the graph it belongs to */
};
NNDEF nn_conv2d_dims nn_conv2d_dims_of(const nn_node *conv2d);

/* One parameter's optimizer update, as a backend runs it. */
typedef struct nn_update {
  nn_opt_kind kind;
  int flags;
  void *w, *g, *s1, *s2;        /* weights, gradient, optimizer state */
  size_t n;
  float lr, momentum, weight_decay, beta1, beta2, eps;
  float grad_scale;             /* from gradient clipping, 1 otherwise */
  float l1;                     /* l1 * sign(w) joins the (scaled) gradient */
  long step;                    /* 1-based, for Adam's bias correction */
} nn_update;

/* A backend is a static const table of functions and the state of one
   instance.  Buffers are opaque handles (CPU: float arrays). */
typedef struct nn_backend_ops {
  const char *name;
  void *(*alloc)(nn_backend *b, size_t nfloat);          /* zero-filled */
  void (*release)(nn_backend *b, void *buf);
  int (*write)(nn_backend *b, void *buf, size_t off, const float *src, size_t n);
  int (*read)(nn_backend *b, const void *buf, size_t off, float *dst, size_t n);
  int (*fill)(nn_backend *b, void *buf, size_t off, float v, size_t n);
  int (*copy)(nn_backend *b, void *dst, const void *src, size_t n);
  int (*supports)(nn_backend *b, const nn_node *node);
  /* floats of workspace an op keeps from forward to backward on this
     backend, for batches up to `batch` */
  size_t (*workspace)(nn_backend *b, const nn_node *node, int batch);
  int (*forward)(nn_backend *b, nn_model *m, const nn_node *node);
  int (*backward)(nn_backend *b, nn_model *m, const nn_node *node);
  int (*update)(nn_backend *b, const nn_update *u);
  /* out[i] = the sum of squares of bufs[i][0 .. n[i]) for i < count, and
     with `peek` (a one-float buffer, or NULL) its value in *peeked: the
     training step's one wait on a device, for the loss and the norms */
  int (*sumsq)(nn_backend *b, const void *const *bufs, const size_t *n, int count, double *out,
               const void *peek, float *peeked);
  int (*scale)(nn_backend *b, void *buf, size_t n, float s);
  /* a += t * (b - a): moving averages of weights */
  int (*lerp)(nn_backend *b, void *a, const void *bsrc, size_t n, float t);
  void (*destroy)(nn_backend *b);                         /* frees b too */
  /* Entries added since go last, so that a backend written against an
     older table still builds (they are NULL there and nn.h does without).
     Several buffers through the host in one transfer (a data-parallel
     engine's gradient buckets): gather copies bufs[0][0 .. n[0]), then
     bufs[1][0 .. n[1]), .. one after another into dst; scatter copies src
     back the same way.  NULL: one read or write per buffer. */
  int (*gather)(nn_backend *b, const void *const *bufs, const size_t *n, int count, float *dst);
  int (*scatter)(nn_backend *b, void *const *bufs, const size_t *n, int count, const float *src);
} nn_backend_ops;
/* A backend allocates this zeroed; nn.h keeps `models`, the number of
   models that run on it (it is destroyed with the last). */
struct nn_backend { const nn_backend_ops *ops; void *impl; int models; };

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
  int64_t *batches;             /* per node: a batch norm's training forward
                                   passes (num_batches_tracked), host-side */
  int refs;                     /* the caller's (until nn_model_free), and one per
                                   optimizer, average and batch iterator */
  int *pending;                 /* per PARAM: consumers still to run backward */
  void *norm_scratch;           /* the gradient norm's lists, made at compile:
                                   training steps allocate nothing */
  nn_sum_across_fn bn_sync;     /* synchronised batch norm, or NULL */
  void *bn_sync_ctx;
  nn_grad_ready_fn grad_ready;
  void *grad_ready_ctx;
  int freed;                    /* nn_model_free was called */
  struct {                      /* per kind of pass (step, training forward, */
    int threads, calls;         /* eval forward, backward): the threads chosen by */
    double best[2];             /* timing it on one and on all (seconds per sample) */
  } team[4];
  int team_depth;               /* passes inside passes time nothing */
};

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
#include <limits.h>
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
/* before a loop whose iterations touch disjoint memory that the compiler
   cannot prove disjoint (stores into several planes of one buffer) */
#if defined(__clang__)
#define NN__INDEPENDENT NN__PRAGMA(clang loop vectorize(assume_safety))
#elif defined(__GNUC__)
#define NN__INDEPENDENT NN__PRAGMA(GCC ivdep)
#else
#define NN__INDEPENDENT
#endif
/* below this many floats touched, starting threads costs more than it saves */
#define NN__OMP_MIN_WORK 32768
#ifdef _OPENMP
#define NN__OMP_FOR_IF(cond) NN__PRAGMA(omp parallel for schedule(static) if(cond))
/* element-wise loops over `len` items */
#define NN__OMP_FOR_LEN NN__OMP_FOR_IF(len > NN__OMP_MIN_WORK)
/* a loop over chunks whose per-thread workspace (and partial sums) belong to
   blocks of `block` chunks: the same sums whatever the team size */
#define NN__OMP_FOR_BLOCKS(block) NN__PRAGMA(omp parallel for schedule(static, block))
/* a loop whose per-thread scratch was sized for `threads` threads (nn_compress.h) */
#define NN__OMP_FOR_THREADS NN__PRAGMA(omp parallel for schedule(static) num_threads(threads))
static int nn__max_threads(void) { return omp_get_max_threads(); }
static int nn__thread_id(void) { return omp_get_thread_num(); }
#else
#define NN__OMP_FOR_IF(cond)
#define NN__OMP_FOR_LEN
#define NN__OMP_FOR_BLOCKS(block)
#define NN__OMP_FOR_THREADS
static int nn__max_threads(void) { return 1; }
static int nn__thread_id(void) { return 0; }
#endif

/* ======================================================================
   Errors
   ====================================================================== */
/* the reason of the last failure, one per thread where the compiler can */
#if defined(__STDC_VERSION__) && __STDC_VERSION__ >= 201112L && !defined(__STDC_NO_THREADS__)
#define NN__THREAD_LOCAL _Thread_local
#elif defined(__cplusplus) && __cplusplus >= 201103L
#define NN__THREAD_LOCAL thread_local
#elif defined(_MSC_VER)
#define NN__THREAD_LOCAL __declspec(thread)
#elif defined(__GNUC__)
#define NN__THREAD_LOCAL __thread
#else
#define NN__THREAD_LOCAL
#endif
static NN__THREAD_LOCAL char nn__error[512];

NNDEF const char *nn_last_error(void) { return nn__error; }
NNDEF void nn_clear_error(void) { nn__error[0] = 0; }

/* records a reason and returns 0 so callers can write `return nn__fail(..)` */
static int nn__vfail(const char *fmt, va_list ap) {
  char why[sizeof nn__error];   /* an argument may be nn_last_error() itself */
  vsnprintf(why, sizeof why, fmt, ap);
  memcpy(nn__error, why, sizeof why);
  return 0;
}
static int nn__fail(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  nn__vfail(fmt, ap);
  va_end(ap);
  return 0;
}
NNDEF int nn_set_error(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  nn__vfail(fmt, ap);
  va_end(ap);
  return 0;
}
/* the failure of a function given NULL: `if (!p) return nn__null("fn", "p");` */
static int nn__null(const char *fn, const char *arg) { return nn__fail("%s: %s is NULL", fn, arg); }

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
  if (!r) { nn__null("rng_seed", "generator"); return; }
  r->s[0] = nn__splitmix(&seed);
  r->s[1] = nn__splitmix(&seed);
}
static uint64_t nn__rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
NNDEF uint32_t nn_rng_u32(nn_rng *r) {
  uint64_t s0, s1, out;
  if (!r) return (uint32_t)nn__null("rng", "generator");
  s0 = r->s[0]; s1 = r->s[1]; out = s0 + s1;
  s1 ^= s0;
  r->s[0] = nn__rotl(s0, 24) ^ s1 ^ (s1 << 16);
  r->s[1] = nn__rotl(s1, 37);
  return (uint32_t)(out >> 32);
}
NNDEF float nn_rng_uniform(nn_rng *r) {
  if (!r) return (float)nn__null("rng_uniform", "generator") * NAN;
  return (float)(nn_rng_u32(r) >> 8) * (1.0f / 16777216.0f);
}
NNDEF float nn_rng_normal(nn_rng *r) {
  /* Box-Muller; u1 in (0,1] keeps the log finite */
  double u1 = ((nn_rng_u32(r) >> 8) + 1.0) / 16777216.0, u2 = (nn_rng_u32(r) >> 8) / 16777216.0;
  return r ? (float)(sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2)) : NAN;
}
NNDEF int nn_rng_int(nn_rng *r, int n) { return (int)(((uint64_t)nn_rng_u32(r) * (uint64_t)n) >> 32); }
NNDEF void nn_shuffle(nn_rng *r, int *idx, int n) {
  int i;
  if (n > 0 && (!r || !idx)) { nn__null("shuffle", r ? "idx" : "generator"); return; }
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
  if (!s) return (size_t)nn__null("shape_numel", "shape");
  for (i = 0; i < s->ndim; i++) n *= (size_t)s->dim[i];
  return n;
}
/* "[d0, d1, ..]" of ndim dims, given as ints or (idims NULL) as uint64s */
static const char *nn__dims_str(int ndim, const int *idims, const uint64_t *udims, char *buf, size_t len) {
  size_t used = 0;
  int i;
  if (!len) return buf;
  buf[0] = 0;
  used += (size_t)snprintf(buf, len, "[");
  for (i = 0; i < ndim && used < len; i++)
    used += idims ? (size_t)snprintf(buf + used, len - used, i ? ", %d" : "%d", idims[i])
                  : (size_t)snprintf(buf + used, len - used, i ? ", %llu" : "%llu", (unsigned long long)udims[i]);
  if (used < len) snprintf(buf + used, len - used, "]");
  return buf;
}
NNDEF const char *nn_shape_str(const nn_shape *s, char *buf, size_t len) {
  if (!s || !buf || !len) { nn__null("shape_str", !s ? "shape" : "buf (or its length 0)"); return "?"; }
  return nn__dims_str(s->ndim, s->dim, NULL, buf, len);
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
  if (ndim < 1 || ndim > NN_MAX_DIMS || !dims) { nn__fail("tensor: %d dimensions%s (1..%d allowed)", ndim, dims ? "" : " in NULL", NN_MAX_DIMS); return NULL; }
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
   Atomic files: written next to the target and renamed over it
   ====================================================================== */
#if defined(__unix__) || defined(__unix) || (defined(__APPLE__) && defined(__MACH__))
#define NN__POSIX_FILES 1
#include <fcntl.h>
#include <unistd.h>
#elif defined(_WIN32)
#define NN__WIN32_FILES 1
#include <io.h>        /* _commit, _fileno */
#include <windows.h>   /* MoveFileExA */
#endif

/* A file written next to its final name and renamed over it once it is
   complete and on disk; a crash before the rename leaves the old file. */
typedef struct nn__atomic_file {
  const char *path;
  char *tmp;
#ifdef NN__POSIX_FILES
  int fd;
#else
  FILE *f;
#endif
} nn__atomic_file;
static int nn__af_open(nn__atomic_file *af, const char *path) {
  size_t len = strlen(path) + 32;
  af->path = path;
  if (!(af->tmp = (char *)nn__calloc(len, 1))) return 0;
#ifdef NN__POSIX_FILES
  snprintf(af->tmp, len, "%s.%ld.tmp", path, (long)getpid());  /* one per writer */
  af->fd = open(af->tmp, O_WRONLY | O_CREAT | O_TRUNC, 0666);
  if (af->fd < 0) {
    nn__fail("cannot create '%s': %s", af->tmp, strerror(errno));
#else
#ifdef NN__WIN32_FILES
  snprintf(af->tmp, len, "%s.%lu.tmp", path, (unsigned long)GetCurrentProcessId());  /* one per writer */
#else
  snprintf(af->tmp, len, "%s.tmp", path);
#endif
  if (!(af->f = fopen(af->tmp, "wb"))) {
    nn__fail("cannot create '%s'", af->tmp);
#endif
    NN_FREE(af->tmp);
    return 0;
  }
  return 1;
}
static int nn__af_write(nn__atomic_file *af, const void *data, size_t n) {
#ifdef NN__POSIX_FILES
  const char *c = (const char *)data;
  while (n > 0) {
    ssize_t w = write(af->fd, c, n);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return nn__fail("cannot write '%s': %s", af->tmp, w < 0 ? strerror(errno) : "no progress");
    c += w;
    n -= (size_t)w;
  }
  return 1;
#else
  return fwrite(data, 1, n, af->f) == n ? 1 : nn__fail("cannot write '%s'", af->tmp);
#endif
}
/* ok: flush to disk, rename over the target; otherwise remove the temporary */
static int nn__af_close(nn__atomic_file *af, int ok) {
#ifdef NN__POSIX_FILES
  if (ok && fsync(af->fd) != 0) ok = nn__fail("cannot flush '%s' to disk: %s", af->tmp, strerror(errno));
  if (close(af->fd) != 0 && ok) ok = nn__fail("cannot write '%s': %s", af->tmp, strerror(errno));
  if (ok && rename(af->tmp, af->path) != 0) ok = nn__fail("cannot rename '%s' to '%s': %s", af->tmp, af->path, strerror(errno));
  if (ok) {  /* make the rename itself durable: sync the directory */
    char *dir = af->tmp, *slash = strrchr(dir, '/');
    int fd;
    if (slash == dir) slash[1] = 0;
    else if (slash) *slash = 0;
    else strcpy(dir, ".");
    if ((fd = open(dir, O_RDONLY)) >= 0) {
      fsync(fd);
      close(fd);
    }
  }
#elif defined(NN__WIN32_FILES)
  if (ok && fflush(af->f) != 0) ok = nn__fail("cannot write '%s'", af->tmp);
  if (ok && _commit(_fileno(af->f)) != 0) ok = nn__fail("cannot flush '%s' to disk: %s", af->tmp, strerror(errno));
  if (fclose(af->f) != 0 && ok) ok = nn__fail("cannot write '%s'", af->tmp);
  /* replaces the target in one step, unlike rename(); WRITE_THROUGH returns once it is on disk */
  if (ok && !MoveFileExA(af->tmp, af->path, MOVEFILE_REPLACE_EXISTING | MOVEFILE_WRITE_THROUGH))
    ok = nn__fail("cannot rename '%s' to '%s' (Windows error %lu)", af->tmp, af->path, (unsigned long)GetLastError());
#else
  if (ok && fflush(af->f) != 0) ok = nn__fail("cannot write '%s'", af->tmp);
  if (fclose(af->f) != 0 && ok) ok = nn__fail("cannot write '%s'", af->tmp);
  if (ok) remove(af->path);  /* rename() does not replace a file everywhere */
  if (ok && rename(af->tmp, af->path) != 0) ok = nn__fail("cannot rename '%s' to '%s'", af->tmp, af->path);
#endif
  if (!ok) remove(af->tmp);
  NN_FREE(af->tmp);
  return ok;
}
NNDEF int nn_file_write_atomic(const char *path, const void *data, size_t n) {
  nn__atomic_file af;
  if (!path || (!data && n)) return nn__fail("file_write_atomic: %s is NULL", path ? "the data" : "the path");
  if (!nn__af_open(&af, path)) return 0;
  return nn__af_close(&af, nn__af_write(&af, data, n));
}

/* ======================================================================
   Files and UTF-8, for the optional modules below
   ====================================================================== */
#if !defined(NN_NO_DATA) || !defined(NN_NO_TEXT) || !defined(NN_NO_IO)
/* reads a whole file, growing the buffer as it goes: sizes from fseek/ftell
   are not trusted (directories and pipes report nonsense) */
static unsigned char *nn__read_file(const char *path, size_t *len) {
  FILE *f = path ? fopen(path, "rb") : NULL;
  unsigned char *buf = NULL, *grown;
  size_t cap = 0, got = 0, n;
  if (!path) { nn__fail("a file path is NULL"); return NULL; }
  if (!f) { nn__fail("cannot open '%s': %s", path, strerror(errno)); return NULL; }
  for (;;) {
    if (got == cap) {
      if (cap > (size_t)-1 / 2) { nn__fail("'%s' is too large for this machine's address space", path); break; }
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
#endif
#if !defined(NN_NO_TEXT) || !defined(NN_NO_IO)
/* length of the valid UTF-8 sequence at s (2..4 bytes), 0 if invalid */
static int nn__utf8_len(const unsigned char *s, size_t n) {
  int k, i;
  unsigned cp;
  if (s[0] >= 0xC2 && s[0] <= 0xDF) { k = 2; cp = s[0] & 0x1Fu; }
  else if (s[0] >= 0xE0 && s[0] <= 0xEF) { k = 3; cp = s[0] & 0x0Fu; }
  else if (s[0] >= 0xF0 && s[0] <= 0xF4) { k = 4; cp = s[0] & 0x07u; }
  else return 0;
  if ((size_t)k > n) return 0;
  for (i = 1; i < k; i++) {
    if ((s[i] & 0xC0) != 0x80) return 0;
    cp = cp << 6 | (s[i] & 0x3Fu);
  }
  /* overlong forms, UTF-16 surrogates, beyond U+10FFFF */
  if ((k == 3 && cp < 0x800) || (k == 4 && (cp < 0x10000 || cp > 0x10FFFF)) || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
  return k;
}
#endif

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
     AArch64 (32 q):     8 x 12 -> 24 accumulators + 3 B + 2 A registers,
                         by-element fmla and no spill in gcc 12, also with
                         +sve (where 4 x 16 becomes ordered scalar fadda);
                         NC is then a multiple of 12, which the packing needs
     other:              4 x 16 (32-bit NEON) / 4 x 8 on SSE. */
#ifndef NN__GEMM_MR
#  if defined(__AVX512F__)
#    define NN__GEMM_MR 8
#    define NN__GEMM_NR 32
#  elif defined(__aarch64__) || defined(_M_ARM64)
#    define NN__GEMM_MR 8
#    define NN__GEMM_NR 12
#    ifndef NN__GEMM_NC
#      define NN__GEMM_NC 2040
#    endif
#  elif defined(__AVX__) || defined(__ARM_NEON)
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

/* The packing copies stay loops: gcc turns a loop of MR or NR floats into
   a call to memcpy per row, ~12% of a transposed-A GEMM's time. */
#ifndef NN__NOLIBCALL
#  if defined(__GNUC__) && !defined(__clang__)
#    define NN__NOLIBCALL __attribute__((optimize("no-tree-loop-distribute-patterns")))
#  else
#    define NN__NOLIBCALL
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
static NN__NOLIBCALL void nn__sgemm_pack_a(int transA, const float *A, int lda, int i0,
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
            if (mr == MR)
                for (k = 0; k < kc; ++k, s += lda, d += MR)
                    for (i = 0; i < MR; ++i) d[i] = s[i];
            else
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
static NN__NOLIBCALL void nn__sgemm_pack_b_panel(int transB, const float *B, int ldb, int j0,
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
                              const float *Apacked,
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
                    const float *Ab = Apacked ? Apacked + (size_t)ic * kc : Ap;
                    int ip, t;
                    if (!Apacked) {
#ifdef _OPENMP
#pragma omp for schedule(static)
#endif
                        for (ip = 0; ip < mpan; ++ip) {
                            const int i = ip * MR;
                            nn__sgemm_pack_a(transA, A, lda, ic + i,
                                             mc - i < MR ? mc - i : MR, pc, kc,
                                             Ap + (size_t)i * kc);
                        }
                    }
                    /* Tiles ordered N-panel-major so each thread reuses its
                       B panel from L1 across consecutive A panels. */
#ifdef _OPENMP
#pragma omp for schedule(static)
#endif
                    for (t = 0; t < npan * mpan; ++t) {
                        const int j = (t / mpan) * NR, i = (t % mpan) * MR;
                        nn__sgemm_kernel(kc, Ab + (size_t)i * kc,
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
        nn__sgemm_blocked(!transB, !transA, N, M, K, alpha, B, ldb, NULL, A,
                          lda, beta, C, 1, ldc, work);
    else
        nn__sgemm_blocked(transA, transB, M, N, K, alpha, A, lda, NULL, B, ldb,
                          beta, C, ldc, 1, work);
}

/* An A that multiplies many B (Winograd's transformed weights, once per
   chunk of images) is packed once: nn__sgemm_pack_a(transA, A, lda, 0, M,
   0, K, packed) makes the panels the blocked product would, and
   nn__sgemm_packed then skips its own packing.  One K block only: 0 floats
   when K > NN__GEMM_KC. */
static size_t nn__sgemm_packed_floats(int M, int K)
{
    return K <= NN__GEMM_KC ? (size_t)((M + NN__GEMM_MR - 1) / NN__GEMM_MR * NN__GEMM_MR) * (size_t)K : 0;
}
/* C = op(A) B + beta C with op(A) packed whole as above (A itself is
   still read if packing space for B cannot be allocated) */
static void nn__sgemm_packed(int transA, int M, int N, int K, const float *A, int lda, const float *packed,
                             const float *B, int ldb, float beta, float *C, int ldc, float *work)
{
    if (M <= 0 || N <= 0) return;
    nn__sgemm_blocked(transA, 0, M, N, K, 1.0f, A, lda, packed, B, ldb, beta, C, ldc, 1, work);
}
#endif

/* ======================================================================
   Element-wise math written so that compilers vectorise it (libm's expf
   and erff are scalar calls): e^x within 1e-7 relative, erf within 1e-6
   absolute (Abramowitz & Stegun 7.1.26), tanh near 0 by its series.
   ====================================================================== */
static float nn__exp(float x) {
  float t, n, r, p, scale;
  int32_t bits;
  x = x < -87.0f ? -87.0f : (x > 88.0f ? 88.0f : x);
  /* n = round(x log2 e) by adding 1.5 * 2^23: n lands in the low mantissa
     bits, and no float-to-int conversion (which gcc will not vectorise
     unless -fno-trapping-math) is needed */
  t = x * 1.44269504f + 12582912.0f;
  n = t - 12582912.0f;                         /* x = n ln2 + r, |r| <= ln2/2 */
  r = x - n * 0.693359375f + n * 2.12194440e-4f;
  p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * r * r + r + 1.0f;
  memcpy(&bits, &t, sizeof bits);
  bits = (bits - 0x4B400000 + 127) * (1 << 23);   /* 2^n; 0x4B400000 is 1.5 * 2^23 */
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
   Graph building.  Builders check shapes at once and name the op and
   the shapes on a mismatch; a failed builder returns NULL, and every
   later builder given NULL returns NULL too, so the first reason stays.
   ====================================================================== */
#define NN__OP_NAME(ID, name) #name,
static const char *const nn__op_names[] = { NN_OPS(NN__OP_NAME) };
#undef NN__OP_NAME
NNDEF const char *nn_op_name(nn_op op) { return (unsigned)op < NN_OP_COUNT ? nn__op_names[op] : "?"; }
static size_t nn__per(const nn_node *n) { return nn_shape_numel(&n->shape); }

/* A layer made by a builder: its name prefix and the id of its first
   node; its nodes are those from there whose names start with the prefix
   (and a dot).  Automatic prefixes are renumbered at nn_compile. */
typedef struct nn__layer {
  const char *kind;    /* "dense", .. for an automatic name; NULL for nn_layer_name's */
  int first;
  char prefix[NN_NAME_LEN];
} nn__layer;

struct nn_graph {
  nn_node **nodes;
  int n, cap;
  uint64_t seed;
  int failed;
  char error[512];
  char next_name[NN_NAME_LEN];
  nn__layer *layer;
  int layers, layer_cap;
  nn_node *loss;
  int models;          /* models compiled from it: > 0 freezes it */
};

NNDEF nn_graph *nn_graph_new(void) {
  nn_graph *g = (nn_graph *)nn__calloc(1, sizeof *g);
  if (g) g->seed = 42;
  return g;
}
static void nn__graph_destroy(nn_graph *g) {
  int i;
  for (i = 0; i < g->n; i++) NN_FREE(g->nodes[i]);
  NN_FREE(g->nodes);
  NN_FREE(g->layer);
  NN_FREE(g);
}
NNDEF int nn_graph_free(nn_graph *g) {
  if (!g) return 1;
  if (g->models) return nn__fail("graph_free: the graph is compiled into %d model(s); the last one frees it", g->models);
  nn__graph_destroy(g);
  return 1;
}
/* 1 if g may still change; else 0 with the reason (g itself stays healthy) */
static int nn__mutable(const nn_graph *g, const char *fn) {
  if (!g) return nn__null(fn, "graph");
  if (g->models) return nn__fail("%s: the graph is compiled (frozen); build a new graph for another model", fn);
  return 1;
}
NNDEF int nn_graph_set_seed(nn_graph *g, uint64_t seed) {
  if (!nn__mutable(g, "graph_set_seed")) return 0;
  g->seed = seed;
  return 1;
}
NNDEF const char *nn_graph_error(const nn_graph *g) {
  if (!g) { nn__null("graph_error", "graph"); return "graph_error: graph is NULL"; }
  return g->failed ? g->error : NULL;
}
NNDEF int nn_layer_name(nn_graph *g, const char *name) {
  if (!nn__mutable(g, "layer_name")) return 0;
  if (name && strlen(name) >= sizeof g->next_name) return nn__fail("layer_name: '%s' is longer than %d bytes", name, NN_NAME_LEN - 1);
  snprintf(g->next_name, sizeof g->next_name, "%s", name ? name : "");
  return 1;
}
NNDEF nn_node *nn_find(const nn_graph *g, const char *name) {
  int i;
  if (!g || !name) { nn__null("find", g ? "name" : "graph"); return NULL; }
  for (i = 0; i < g->n; i++) if (!strcmp(g->nodes[i]->name, name)) return g->nodes[i];
  return NULL;
}
NNDEF int nn_graph_num_nodes(const nn_graph *g) { return g ? g->n : nn__null("graph_num_nodes", "graph"); }
NNDEF nn_node *nn_graph_node(const nn_graph *g, int i) {
  if (!g) { nn__null("graph_node", "graph"); return NULL; }
  return i >= 0 && i < g->n ? g->nodes[i] : NULL;
}
NNDEF nn_node *nn_node_input(const nn_node *n, int i) { return n && i >= 0 && i < n->n_in ? n->in[i] : NULL; }
NNDEF const nn_shape *nn_node_shape(const nn_node *n) {
  if (!n) { nn__null("node_shape", "node"); return NULL; }
  return &n->shape;
}

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
  if (!nn__mutable(g, op)) return 0;
  if (g->failed) return 0;
  for (i = 0; i < n; i++) {
    if (!xs[i]) { nn__gfail(g, "%s: input %d is NULL", op, i); return 0; }
    if (xs[i]->graph != g) { nn__gfail(g, "%s: input %d ('%s') is a node of another graph", op, i, xs[i]->name); return 0; }
  }
  return 1;
}
static nn_node *nn__add_node(nn_graph *g, nn_op op, int n_in, nn_node *const *in,
                             nn_shape shape, int batched, const char *name) {
  nn_node *nd;
  int i;
  for (i = 0; i < shape.ndim; i++)
    if (shape.dim[i] < 1) {
      char buf[64];
      return nn__gfail(g, "%s: output shape %s is empty", nn_op_name(op), nn_shape_str(&shape, buf, sizeof buf));
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
  nd->graph = g;
  nd->op = op;
  nd->n_in = n_in;
  for (i = 0; i < n_in; i++) nd->in[i] = in[i];
  nd->shape = shape;
  nd->batched = batched;
  nd->lr_mult = nd->wd_mult = nd->l1_mult = 1.0f;
  if (name && *name) memcpy(nd->name, name, strlen(name) < sizeof nd->name ? strlen(name) : sizeof nd->name - 1);
  else snprintf(nd->name, sizeof nd->name, "%s_%d", nn_op_name(op), nd->id);
  g->nodes[g->n++] = nd;
  return nd;
}
/* a layer's name: the one given by nn_layer_name, else kind + counter
   (renumbered at nn_compile); 0 if out of memory */
static int nn__layer_prefix(nn_graph *g, const char *kind, char *buf) {
  nn__layer *l;
  if (g->layers == g->layer_cap) {
    int cap = g->layer_cap ? 2 * g->layer_cap : 16;
    nn__layer *grown = (nn__layer *)NN_REALLOC(g->layer, (size_t)cap * sizeof *grown);
    if (!grown) { nn__gfail(g, "out of memory building the graph"); return 0; }
    g->layer = grown;
    g->layer_cap = cap;
  }
  l = &g->layer[g->layers];
  l->kind = g->next_name[0] ? NULL : kind;
  l->first = g->n;
  if (g->next_name[0]) snprintf(buf, NN_NAME_LEN, "%s", g->next_name);
  else snprintf(buf, NN_NAME_LEN, "%s%d", kind, g->layers);
  memcpy(l->prefix, buf, NN_NAME_LEN);
  g->next_name[0] = 0;
  g->layers++;
  return 1;
}
static nn_node *nn__layer_param(nn_graph *g, const char *prefix, const char *what, nn_shape s,
                                nn_init init, float arg, int fan_in, int fan_out) {
  char name[NN_NAME_LEN + 32];
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
  if (strlen(name) >= NN_NAME_LEN) return nn__gfail(g, "input '%s': longer than %d bytes", name, NN_NAME_LEN - 1);
  if (ndim < 1 || ndim > NN_MAX_DIMS || !dims) return nn__gfail(g, "input '%s': %d dims%s (1..%d allowed)", name, ndim, dims ? "" : " in NULL", NN_MAX_DIMS);
  if (nn_find(g, name)) return nn__gfail(g, "input '%s': the name is taken", name);
  return nn__add_node(g, NN_OP_INPUT, 0, NULL, nn__shape(ndim, dims), 1, name);
}
NNDEF nn_node *nn_param(nn_graph *g, const char *name, int ndim, const int *dims, nn_init init, float arg) {
  nn_node *none = NULL, *p;
  if (!nn__ready(g, "param", 0, &none)) return NULL;
  if (!name || !*name) return nn__gfail(g, "param: a name is required (files store weights by name)");
  if (strlen(name) >= NN_NAME_LEN) return nn__gfail(g, "param '%s': longer than %d bytes", name, NN_NAME_LEN - 1);
  if (ndim < 1 || ndim > NN_MAX_DIMS || !dims) return nn__gfail(g, "param '%s': %d dims%s (1..%d allowed)", name, ndim, dims ? "" : " in NULL", NN_MAX_DIMS);
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
/* 1 if node is a leaf of the kind op; else 0 with the reason */
static int nn__leaf_of_kind(const nn_node *node, nn_op op, const char *what) {
  if (node && node->op == op) return 1;
  return nn__fail("%s: '%s' is not %s", what, node ? node->name : "NULL", op == NN_OP_INPUT ? "an input" : "a parameter");
}
static int nn__mult_ok(const nn_node *p, float v, const char *what) {
  if (!nn__leaf_of_kind(p, NN_OP_PARAM, what)) return 0;
  return v >= 0 && v <= FLT_MAX ? 1 : nn__fail("%s: '%s': %g is not a finite multiplier >= 0", what, p->name, v);
}
NNDEF int nn_set_requires_grad(nn_node *x) {
  if (!nn__leaf_of_kind(x, NN_OP_INPUT, "set_requires_grad") || !nn__mutable(x->graph, "set_requires_grad")) return 0;
  x->needs_grad = 1;
  return 1;
}
NNDEF int nn_set_trainable(nn_node *p, int t) {
  if (!nn__leaf_of_kind(p, NN_OP_PARAM, "set_trainable") || !nn__mutable(p->graph, "set_trainable")) return 0;
  p->trainable = t != 0;
  return 1;
}
NNDEF int nn_set_lr_mult(nn_node *p, float v) {
  if (!nn__mult_ok(p, v, "set_lr_mult")) return 0;
  p->lr_mult = v;
  return 1;
}
NNDEF int nn_set_wd_mult(nn_node *p, float v) {
  if (!nn__mult_ok(p, v, "set_wd_mult")) return 0;
  p->wd_mult = v;
  return 1;
}
NNDEF int nn_set_l1_mult(nn_node *p, float v) {
  if (!nn__mult_ok(p, v, "set_l1_mult")) return 0;
  p->l1_mult = v;
  return 1;
}
NNDEF int nn_set_init(nn_node *p, nn_init init, float arg) {
  if (!nn__leaf_of_kind(p, NN_OP_PARAM, "set_init") || !nn__mutable(p->graph, "set_init")) return 0;
  if ((unsigned)init > NN_INIT_DIRAC) return nn__fail("set_init: '%s': unknown initialiser %d", p->name, (int)init);
  p->init = init;
  p->init_arg = arg;
  return 1;
}

static nn_node *nn__unary(nn_graph *g, nn_op op, nn_node *x, float arg) {
  if (!nn__ready(g, nn_op_name(op), 1, &x) || !nn__need_batched(g, nn_op_name(op), x, 1, NN_MAX_DIMS)) return NULL;
  x = nn__add_node(g, op, 1, &x, x->shape, 1, NULL);
  if (x) x->attr.scalar.value = arg;
  return x;
}

/* ======================================================================
   The ops, one block each.  A CPU kernel sees its node, the batch size
   and flat float buffers: input values x[i], input gradients dx[i] (NULL
   where none is needed), output value y and gradient dy, and a workspace
   that lives from forward to backward.  Backward kernels ADD into dx, so a node
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

/* An op's CPU block ends in its row of the CPU table, nn__cpu_op_<name>: */
typedef struct nn__cpu_op {
  int (*forward)(const nn__ctx *c);           /* NULL: nothing to compute */
  int (*backward)(const nn__ctx *c);
  size_t (*workspace)(const nn_node *node, int batch);  /* floats; NULL: none */
  double (*flops)(const nn_node *node);       /* forward, per sample; NULL: ~0 */
} nn__cpu_op;

static size_t nn__len(const nn__ctx *c, const nn_node *n) { return n->batched ? (size_t)c->n * nn__per(n) : nn__per(n); }
static double nn__elementwise_flops(const nn_node *n) { return (double)nn__per(n); }
#define NN__IN(c, i) ((c)->node->in[i])
#define NN__LAST(n) ((n)->shape.dim[(n)->shape.ndim - 1])

/* ---- leaves and reshape: no kernels.  Inputs are fed, parameters are
   initialised at compile time, reshape shares its input's buffers. ---- */
NNDEF nn_node *nn_reshape(nn_graph *g, nn_node *x, int ndim, const int *dims) {
  char a[64], b[64];
  nn_shape s;
  if (!nn__ready(g, "reshape", 1, &x) || !nn__need_batched(g, "reshape", x, 1, NN_MAX_DIMS)) return NULL;
  if (ndim < 1 || ndim > NN_MAX_DIMS || !dims) return nn__gfail(g, "reshape: %d dims%s", ndim, dims ? "" : " in NULL");
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
static const nn__cpu_op nn__cpu_op_input = {NULL, NULL, NULL, NULL};
static const nn__cpu_op nn__cpu_op_param = {NULL, NULL, NULL, NULL};
static const nn__cpu_op nn__cpu_op_reshape = {NULL, NULL, NULL, NULL};

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

NNDEF nn_node *nn_dense_ex(nn_graph *g, nn_node *x, int units, int bias) {
  char pre[NN_NAME_LEN];
  nn_node *in[3];
  nn_shape s;
  int fan_in;
  if (!nn__ready(g, "dense", 1, &x) || !nn__need_batched(g, "dense", x, 1, NN_MAX_DIMS)) return NULL;
  if (units < 1) return nn__gfail(g, "dense: %d units", units);
  fan_in = NN__LAST(x);
  if (!nn__layer_prefix(g, "dense", pre)) return NULL;
  in[0] = x;
  in[1] = nn__layer_param(g, pre, "weight", nn__shape2(units, fan_in), NN_INIT_HE_UNIFORM, 0, fan_in, units);
  in[2] = bias ? nn__layer_param(g, pre, "bias", nn__shape1(units), NN_INIT_ZEROS, 0, fan_in, units) : NULL;
  if (!in[1] || (bias && !in[2])) return NULL;
  s = x->shape;
  s.dim[s.ndim - 1] = units;
  return nn__add_node(g, NN_OP_DENSE, 3, in, s, 1, pre);
}
NNDEF nn_node *nn_dense(nn_graph *g, nn_node *x, int units) { return nn_dense_ex(g, x, units, 1); }

static const nn__cpu_op nn__cpu_op_dense = {nn__dense_fwd, nn__dense_bwd, NULL, nn__dense_flops};

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
NNDEF nn_conv2d_dims nn_conv2d_dims_of(const nn_node *n) {
  nn_conv2d_dims d;
  const nn_node *x, *y;
  memset(&d, 0, sizeof d);
  if (!n || (n->op != NN_OP_CONV2D && n->op != NN_OP_CONV2D_TRANSPOSE)) {
    nn__fail("conv2d_dims_of: '%s' is not a conv2d", n ? n->name : "NULL");
    return d;
  }
  x = n->in[0];
  y = n;
  if (n->op == NN_OP_CONV2D_TRANSPOSE) { x = n; y = n->in[0]; }  /* the adjoint's view */
  d.C = x->shape.dim[0]; d.H = x->shape.dim[1]; d.W = x->shape.dim[2];
  d.O = y->shape.dim[0]; d.OH = y->shape.dim[1]; d.OW = y->shape.dim[2];
  d.kh = n->attr.conv2d.kh; d.kw = n->attr.conv2d.kw; d.s = n->attr.conv2d.stride; d.p = n->attr.conv2d.pad;
  d.K = d.C * d.kh * d.kw; d.P = d.OH * d.OW;
  return d;
}
/* images a thread lowers at once, at most */
static int nn__conv_chunk_max(const nn_conv2d_dims *d, int batch) {
  int chunk = (NN__CONV_COLUMNS + d->P - 1) / d->P;
  return chunk < batch ? chunk : batch;
}
/* per thread: columns [K x chunk*P], staging [O x chunk*P], dW partial [O x K] */
static size_t nn__conv_thread_ws(const nn_conv2d_dims *d, int chunk) {
  size_t cols = (size_t)chunk * d->P;
  return (size_t)d->K * cols + (size_t)d->O * cols + (size_t)d->O * d->K;
}
/* images per chunk for a batch of n: as many as the workspace allows, but
   spread so that every thread gets an equal share of chunks */
static int nn__conv_chunk(int chunk, int n, int threads) {
  int chunks = (n + chunk - 1) / chunk;
  chunks = (chunks + threads - 1) / threads * threads;
  return (n + chunks - 1) / chunks;
}
/* ---- 3x3 stride-1 pad-1 conv2d by Winograd F(2x2, 3x3) ----------------
   Each 2x2 output tile is A^T [U . V] A with U = G g G^T (per output and
   input channel) and V = B^T d B (per 4x4 input tile d): summed over input
   channels, the 16 element-wise products become 16 GEMMs [O x C] by
   [C x tiles], 2.25x fewer multiplications than the im2col GEMM and no
   9x copy of the input.  The gradients are the adjoints of the same map:
   the weights' G^T [sum (A dY A^T) . V] G, the input's B [U . (A dY A^T)] B^T
   added over overlapping tiles.  The transforms' coefficients are 0, +-1
   and 1/2, so fp32 rounding stays at the direct convolution's level.
   The transforms run along a row of tiles with unit strides, so they
   vectorise: an image plane is first split by column parity (a tile's
   four columns are then two even and two odd ones, each a unit-stride run
   across the row), and results are merged back the same way.  The 16
   planes of a transform lie NN__WINO_SKEW floats more than a multiple of
   their size apart: planes a power of two apart would share cache sets.
   Workspace: U [16 planes of O x C], U packed for the pass's GEMMs, then
   per thread V [16 of C x T], the output or dY transforms [16 of O x T],
   the weight gradient's partial [16 of O x C] and the transforms' scratch
   (T: tiles per chunk). */
#define NN__WINO_TILES 128        /* GEMM columns (2x2 tiles) per chunk: 128 measured 5-9% faster than 256 */
#define NN__WINO_MIN_CHANNELS 16  /* input and output channels, at least */
#define NN__WINO_SKEW 16          /* floats between planes beyond their size */

static int nn__wino_img_tiles(const nn_conv2d_dims *d) { return ((d->OH + 1) / 2) * ((d->OW + 1) / 2); }
/* where F(2x2, 3x3) applies and pays: the tiles' padding to even sizes
   costs at most a third of the 2.25x saving, and the GEMMs' inner sizes
   (C forward, O backward) are wide enough (airbench's 24-to-64-channel
   layer at 31x31 runs 1.36x faster than through im2col; below 16 channels
   is untried) */
static int nn__wino_ok(const nn_node *n, const nn_conv2d_dims *d) {
  return n->op == NN_OP_CONV2D && d->kh == 3 && d->kw == 3 && d->s == 1 && d->p == 1 && 8 * nn__wino_img_tiles(d) <= 3 * d->P &&
         d->C >= NN__WINO_MIN_CHANNELS && d->O >= NN__WINO_MIN_CHANNELS;
}
static int nn__wino_chunk_max(const nn_conv2d_dims *d, int batch) {
  int chunk = NN__WINO_TILES / nn__wino_img_tiles(d);
  if (chunk < 1) chunk = 1;
  return chunk < batch ? chunk : batch;
}
/* the stride of 16 planes [rows x cols] */
static size_t nn__wino_plane(size_t rows, size_t cols) { return rows * cols + NN__WINO_SKEW; }
/* the split plane (2 of 2 th + 2 rows of tw + 1) and 16 rows of tw */
static size_t nn__wino_scratch(const nn_conv2d_dims *d) {
  size_t th = (size_t)(d->H + 1) / 2, tw = (size_t)(d->W + 1) / 2;
  return 2 * (2 * th + 2) * (tw + 1) + 16 * tw;
}
static size_t nn__wino_thread_ws(const nn_conv2d_dims *d, int chunk) {
  size_t t = (size_t)chunk * nn__wino_img_tiles(d);
  return 16 * (nn__wino_plane(d->C, t) + nn__wino_plane(d->O, t) + nn__wino_plane(d->O, d->C)) + nn__wino_scratch(d);
}
/* U's 16 planes packed as the A of the forward's GEMMs (U) or of the
   input gradient's (U^T), once per pass rather than once per chunk */
static size_t nn__wino_packed(const nn_conv2d_dims *d) {
#ifdef NN_USE_CBLAS
  (void)d;
  return 0;   /* the BLAS packs on its own */
#else
  size_t fwd = nn__sgemm_packed_floats(d->O, d->C), bwd = nn__sgemm_packed_floats(d->C, d->O);
  return 16 * (fwd > bwd ? fwd : bwd);
#endif
}
/* packs U (transU: U^T) into `packed`; NULL where the GEMMs pack it themselves */
static const float *nn__wino_pack_u(const nn_conv2d_dims *d, int transU, const float *u, float *packed) {
#ifdef NN_USE_CBLAS
  (void)d; (void)transU; (void)u; (void)packed;
  return NULL;
#else
  int M = transU ? d->C : d->O, K = transU ? d->O : d->C, xi;
  size_t each = nn__sgemm_packed_floats(M, K), plane = nn__wino_plane(d->O, d->C);
  if (!each) return NULL;
  NN__OMP_FOR_IF((size_t)16 * M * K > NN__OMP_MIN_WORK)
  for (xi = 0; xi < 16; xi++) nn__sgemm_pack_a(transU, u + xi * plane, d->C, 0, M, 0, K, packed + xi * each);
  return packed;
#endif
}
/* plane xi of C [M x N] = op(U) B [K x N], op(U) from `packed` where it is packed */
static void nn__wino_gemm_u(const nn__ctx *c, int transU, int M, int N, int K, const float *u, const float *packed, int xi,
                            const float *b, float *out) {
  int ldu = transU ? M : K;
#ifndef NN_USE_CBLAS
  if (packed) {
    nn__sgemm_packed(transU, M, N, K, u, ldu, packed + xi * nn__sgemm_packed_floats(M, K), b, N, 0.0f, out, N, nn__gemm_work(c));
    return;
  }
#else
  (void)packed; (void)xi;
#endif
  nn__sgemm(transU, 0, M, N, K, 1.0f, u, ldu, b, N, 0.0f, out, N, nn__gemm_work(c));
}
/* U = G g G^T of every [O x C] 3x3 kernel, as 16 planes [O x C] */
static void nn__wino_weights(const nn_conv2d_dims *d, const float *w, float *u) {
  int o;
  size_t plane = nn__wino_plane(d->O, d->C);
  NN__OMP_FOR_IF((size_t)d->O * d->C * 9 > NN__OMP_MIN_WORK)
  for (o = 0; o < d->O; o++) {
    size_t oc;
    for (oc = (size_t)o * d->C; oc < (size_t)(o + 1) * d->C; oc++) {
      const float *g = w + oc * 9;
      float t[4][3];
      int i, j;
      for (j = 0; j < 3; j++) {
        t[0][j] = g[j];
        t[1][j] = 0.5f * (g[j] + g[3 + j] + g[6 + j]);
        t[2][j] = 0.5f * (g[j] - g[3 + j] + g[6 + j]);
        t[3][j] = g[6 + j];
      }
      for (i = 0; i < 4; i++) {
        u[(size_t)(4 * i + 0) * plane + oc] = t[i][0];
        u[(size_t)(4 * i + 1) * plane + oc] = 0.5f * (t[i][0] + t[i][1] + t[i][2]);
        u[(size_t)(4 * i + 2) * plane + oc] = 0.5f * (t[i][0] - t[i][1] + t[i][2]);
        u[(size_t)(4 * i + 3) * plane + oc] = t[i][2];
      }
    }
  }
}
/* an image plane [H x W], zero-padded by a pixel above and to the left
   and to 2 tw + 2 columns and `rows` rows, split by column parity:
   e[r][k] = x[r - 1][2k - 1], o[r][k] = x[r - 1][2k], rows of tw + 1 */
static void nn__wino_split(const float *x, int H, int W, int tw, int rows, float *NN__RESTRICT e, float *NN__RESTRICT o) {
  int r, k, sw = tw + 1;
  for (r = 0; r < rows; r++) {
    float *NN__RESTRICT er = e + r * sw, *NN__RESTRICT odd = o + r * sw;
    const float *NN__RESTRICT xr;
    if (r == 0 || r > H) {
      for (k = 0; k < sw; k++) er[k] = odd[k] = 0;
      continue;
    }
    xr = x + (size_t)(r - 1) * W;
    er[0] = 0;
    for (k = 1; 2 * k - 1 < W; k++) er[k] = xr[2 * k - 1];
    for (; k < sw; k++) er[k] = 0;
    for (k = 0; 2 * k < W; k++) odd[k] = xr[2 * k];
    for (; k < sw; k++) odd[k] = 0;
  }
}
/* row [W] = the even and odd columns e, o interleaved */
static void nn__wino_merge(const float *NN__RESTRICT e, const float *NN__RESTRICT o, float *NN__RESTRICT row, int W) {
  int k;
  for (k = 0; 2 * k + 1 < W; k++) {
    row[2 * k] = e[k];
    row[2 * k + 1] = o[k];
  }
  if (W % 2) row[W - 1] = e[W / 2];
}
/* the even and odd columns of row [W]; an odd width's last odd one is 0 */
static void nn__wino_unmerge(const float *NN__RESTRICT row, int W, float *NN__RESTRICT e, float *NN__RESTRICT o) {
  int k;
  for (k = 0; 2 * k + 1 < W; k++) {
    e[k] = row[2 * k];
    o[k] = row[2 * k + 1];
  }
  if (W % 2) {
    e[W / 2] = row[W - 1];
    o[W / 2] = 0;
  }
}
/* V = B^T d B of one image's tiles into columns [0, tiles) of the 16
   planes v (rows of C, `plane` apart, row stride ld) */
static void nn__wino_input(const float *x, int C, int H, int W, float *v, size_t ld, size_t plane, float *scratch) {
  int c, ty, tx, th = (H + 1) / 2, tw = (W + 1) / 2, sw = tw + 1, rows = 2 * th + 2;
  float *e = scratch, *o = scratch + (size_t)rows * sw;
  for (c = 0; c < C; c++) {
    nn__wino_split(x + (size_t)c * H * W, H, W, tw, rows, e, o);
    for (ty = 0; ty < th; ty++) {
      const float *NN__RESTRICT e0 = e + 2 * ty * sw, *NN__RESTRICT e1 = e0 + sw, *NN__RESTRICT e2 = e1 + sw, *NN__RESTRICT e3 = e2 + sw;
      const float *NN__RESTRICT o0 = o + 2 * ty * sw, *NN__RESTRICT o1 = o0 + sw, *NN__RESTRICT o2 = o1 + sw, *NN__RESTRICT o3 = o2 + sw;
      float *NN__RESTRICT q0 = v + (size_t)c * ld + (size_t)ty * tw, *NN__RESTRICT q1 = q0 + plane, *NN__RESTRICT q2 = q1 + plane;
      float *NN__RESTRICT q3 = q2 + plane, *NN__RESTRICT q4 = q3 + plane, *NN__RESTRICT q5 = q4 + plane, *NN__RESTRICT q6 = q5 + plane;
      float *NN__RESTRICT q7 = q6 + plane, *NN__RESTRICT q8 = q7 + plane, *NN__RESTRICT q9 = q8 + plane, *NN__RESTRICT q10 = q9 + plane;
      float *NN__RESTRICT q11 = q10 + plane, *NN__RESTRICT q12 = q11 + plane, *NN__RESTRICT q13 = q12 + plane;
      float *NN__RESTRICT q14 = q13 + plane, *NN__RESTRICT q15 = q14 + plane;
      NN__INDEPENDENT
      for (tx = 0; tx < tw; tx++) {
        /* B^T down the tile's columns (e[tx], o[tx], e[tx + 1], o[tx + 1]) */
        float a0 = e0[tx] - e2[tx], a1 = o0[tx] - o2[tx], a2 = e0[tx + 1] - e2[tx + 1], a3 = o0[tx + 1] - o2[tx + 1];
        float b0 = e1[tx] + e2[tx], b1 = o1[tx] + o2[tx], b2 = e1[tx + 1] + e2[tx + 1], b3 = o1[tx + 1] + o2[tx + 1];
        float c0 = e2[tx] - e1[tx], c1 = o2[tx] - o1[tx], c2 = e2[tx + 1] - e1[tx + 1], c3 = o2[tx + 1] - o1[tx + 1];
        float d0 = e1[tx] - e3[tx], d1 = o1[tx] - o3[tx], d2 = e1[tx + 1] - e3[tx + 1], d3 = o1[tx + 1] - o3[tx + 1];
        /* then B along its rows */
        q0[tx] = a0 - a2; q1[tx] = a1 + a2; q2[tx] = a2 - a1; q3[tx] = a1 - a3;
        q4[tx] = b0 - b2; q5[tx] = b1 + b2; q6[tx] = b2 - b1; q7[tx] = b1 - b3;
        q8[tx] = c0 - c2; q9[tx] = c1 + c2; q10[tx] = c2 - c1; q11[tx] = c1 - c3;
        q12[tx] = d0 - d2; q13[tx] = d1 + d2; q14[tx] = d2 - d1; q15[tx] = d1 - d3;
      }
    }
  }
}
/* the adjoint of nn__wino_input: dx += B dV B^T over one image's tiles,
   summed in the split plane (tiles overlap by two rows and columns) and
   merged into dx at the end of each channel */
static void nn__wino_input_adjoint(const float *v, size_t ld, size_t plane, int C, int H, int W, float *dx, float *scratch) {
  int c, ty, tx, i, r, th = (H + 1) / 2, tw = (W + 1) / 2, sw = tw + 1, rows = 2 * th + 2;
  float *ae = scratch, *ao = scratch + (size_t)rows * sw, *dd = ao + (size_t)rows * sw;
  for (c = 0; c < C; c++) {
    memset(ae, 0, 2 * (size_t)rows * sw * sizeof(float));
    for (ty = 0; ty < th; ty++) {
      const float *NN__RESTRICT p0 = v + (size_t)c * ld + (size_t)ty * tw, *NN__RESTRICT p1 = p0 + plane, *NN__RESTRICT p2 = p1 + plane;
      const float *NN__RESTRICT p3 = p2 + plane, *NN__RESTRICT p4 = p3 + plane, *NN__RESTRICT p5 = p4 + plane, *NN__RESTRICT p6 = p5 + plane;
      const float *NN__RESTRICT p7 = p6 + plane, *NN__RESTRICT p8 = p7 + plane, *NN__RESTRICT p9 = p8 + plane, *NN__RESTRICT p10 = p9 + plane;
      const float *NN__RESTRICT p11 = p10 + plane, *NN__RESTRICT p12 = p11 + plane, *NN__RESTRICT p13 = p12 + plane;
      const float *NN__RESTRICT p14 = p13 + plane, *NN__RESTRICT p15 = p14 + plane;
      float *NN__RESTRICT d = dd;
      NN__INDEPENDENT
      for (tx = 0; tx < tw; tx++) {
        /* B down the tile's columns: w_i = row i of B times V */
        float w00 = p0[tx], w01 = p1[tx], w02 = p2[tx], w03 = p3[tx];
        float w10 = p4[tx] - p8[tx] + p12[tx], w11 = p5[tx] - p9[tx] + p13[tx], w12 = p6[tx] - p10[tx] + p14[tx], w13 = p7[tx] - p11[tx] + p15[tx];
        float w20 = p4[tx] + p8[tx] - p0[tx], w21 = p5[tx] + p9[tx] - p1[tx], w22 = p6[tx] + p10[tx] - p2[tx], w23 = p7[tx] + p11[tx] - p3[tx];
        float w30 = -p12[tx], w31 = -p13[tx], w32 = -p14[tx], w33 = -p15[tx];
        /* then B^T along the rows: columns e[tx], o[tx], e[tx + 1], o[tx + 1] */
        d[tx] = w00; d[tw + tx] = w01 - w02 + w03; d[2 * tw + tx] = w01 + w02 - w00; d[3 * tw + tx] = -w03;
        d[4 * tw + tx] = w10; d[5 * tw + tx] = w11 - w12 + w13; d[6 * tw + tx] = w11 + w12 - w10; d[7 * tw + tx] = -w13;
        d[8 * tw + tx] = w20; d[9 * tw + tx] = w21 - w22 + w23; d[10 * tw + tx] = w21 + w22 - w20; d[11 * tw + tx] = -w23;
        d[12 * tw + tx] = w30; d[13 * tw + tx] = w31 - w32 + w33; d[14 * tw + tx] = w31 + w32 - w30; d[15 * tw + tx] = -w33;
      }
      for (i = 0; i < 4; i++) {
        float *NN__RESTRICT re = ae + (size_t)(2 * ty + i) * sw, *NN__RESTRICT ro = ao + (size_t)(2 * ty + i) * sw;
        const float *NN__RESTRICT di = dd + (size_t)4 * i * tw;
        NN__INDEPENDENT
        for (tx = 0; tx < tw; tx++) {
          re[tx] += di[tx];
          ro[tx] += di[tw + tx];
        }
        NN__INDEPENDENT
        for (tx = 0; tx < tw; tx++) {
          re[tx + 1] += di[2 * tw + tx];
          ro[tx + 1] += di[3 * tw + tx];
        }
      }
    }
    for (r = 1; r <= H; r++) {
      const float *NN__RESTRICT re = ae + (size_t)r * sw, *NN__RESTRICT ro = ao + (size_t)r * sw;
      float *NN__RESTRICT row = dx + ((size_t)c * H + r - 1) * W;
      int k;
      for (k = 0; 2 * k + 1 < W; k++) {
        row[2 * k] += ro[k];
        row[2 * k + 1] += re[k + 1];
      }
      if (W % 2) row[W - 1] += ro[W / 2];
    }
  }
}
/* y = A^T M A + bias of one image's tiles, from columns [0, tiles) of the
   16 planes m (rows of O, `plane` apart, row stride ld) */
static void nn__wino_output(const float *m, size_t ld, size_t plane, int O, int OH, int OW, const float *bias, float *y, float *scratch) {
  int o, ty, tx, th = (OH + 1) / 2, tw = (OW + 1) / 2;
  float *NN__RESTRICT r0e = scratch, *NN__RESTRICT r0o = r0e + tw, *NN__RESTRICT r1e = r0o + tw, *NN__RESTRICT r1o = r1e + tw;
  for (o = 0; o < O; o++) {
    float b = bias ? bias[o] : 0.0f;
    for (ty = 0; ty < th; ty++) {
      const float *NN__RESTRICT p0 = m + (size_t)o * ld + (size_t)ty * tw, *NN__RESTRICT p1 = p0 + plane, *NN__RESTRICT p2 = p1 + plane;
      const float *NN__RESTRICT p3 = p2 + plane, *NN__RESTRICT p4 = p3 + plane, *NN__RESTRICT p5 = p4 + plane, *NN__RESTRICT p6 = p5 + plane;
      const float *NN__RESTRICT p7 = p6 + plane, *NN__RESTRICT p8 = p7 + plane, *NN__RESTRICT p9 = p8 + plane, *NN__RESTRICT p10 = p9 + plane;
      const float *NN__RESTRICT p11 = p10 + plane, *NN__RESTRICT p12 = p11 + plane, *NN__RESTRICT p13 = p12 + plane;
      const float *NN__RESTRICT p14 = p13 + plane, *NN__RESTRICT p15 = p14 + plane;
      float *row = y + ((size_t)o * OH + 2 * ty) * OW;
      NN__INDEPENDENT
      for (tx = 0; tx < tw; tx++) {
        float s00 = p0[tx] + p4[tx] + p8[tx], s01 = p1[tx] + p5[tx] + p9[tx], s02 = p2[tx] + p6[tx] + p10[tx], s03 = p3[tx] + p7[tx] + p11[tx];
        float s10 = p4[tx] - p8[tx] - p12[tx], s11 = p5[tx] - p9[tx] - p13[tx], s12 = p6[tx] - p10[tx] - p14[tx];
        float s13 = p7[tx] - p11[tx] - p15[tx];
        r0e[tx] = s00 + s01 + s02 + b;
        r0o[tx] = s01 - s02 - s03 + b;
        r1e[tx] = s10 + s11 + s12 + b;
        r1o[tx] = s11 - s12 - s13 + b;
      }
      nn__wino_merge(r0e, r0o, row, OW);
      if (2 * ty + 1 < OH) nn__wino_merge(r1e, r1o, row + OW, OW);
    }
  }
}
/* M = A dY A^T of one image's tiles (dY zero past the edges), the adjoint
   of nn__wino_output, into columns [0, tiles) of the 16 planes m */
static void nn__wino_output_adjoint(const float *dy, int O, int OH, int OW, float *m, size_t ld, size_t plane, float *scratch) {
  int o, ty, tx, th = (OH + 1) / 2, tw = (OW + 1) / 2;
  float *NN__RESTRICT g0e = scratch, *NN__RESTRICT g0o = g0e + tw, *NN__RESTRICT g1e = g0o + tw, *NN__RESTRICT g1o = g1e + tw;
  for (o = 0; o < O; o++)
    for (ty = 0; ty < th; ty++) {
      const float *row = dy + ((size_t)o * OH + 2 * ty) * OW;
      float *NN__RESTRICT q0 = m + (size_t)o * ld + (size_t)ty * tw, *NN__RESTRICT q1 = q0 + plane, *NN__RESTRICT q2 = q1 + plane;
      float *NN__RESTRICT q3 = q2 + plane, *NN__RESTRICT q4 = q3 + plane, *NN__RESTRICT q5 = q4 + plane, *NN__RESTRICT q6 = q5 + plane;
      float *NN__RESTRICT q7 = q6 + plane, *NN__RESTRICT q8 = q7 + plane, *NN__RESTRICT q9 = q8 + plane, *NN__RESTRICT q10 = q9 + plane;
      float *NN__RESTRICT q11 = q10 + plane, *NN__RESTRICT q12 = q11 + plane, *NN__RESTRICT q13 = q12 + plane;
      float *NN__RESTRICT q14 = q13 + plane, *NN__RESTRICT q15 = q14 + plane;
      nn__wino_unmerge(row, OW, g0e, g0o);
      if (2 * ty + 1 < OH) nn__wino_unmerge(row + OW, OW, g1e, g1o);
      else
        for (tx = 0; tx < tw; tx++) g1e[tx] = g1o[tx] = 0;
      NN__INDEPENDENT
      for (tx = 0; tx < tw; tx++) {
        /* A down the tile's two rows, then A along each of the four */
        float a = g0e[tx], b = g0o[tx], s = a + g1e[tx], t = b + g1o[tx], u = a - g1e[tx], w = b - g1o[tx];
        q0[tx] = a; q1[tx] = a + b; q2[tx] = a - b; q3[tx] = -b;
        q4[tx] = s; q5[tx] = s + t; q6[tx] = s - t; q7[tx] = -t;
        q8[tx] = u; q9[tx] = u + w; q10[tx] = u - w; q11[tx] = -w;
        q12[tx] = -g1e[tx]; q13[tx] = -g1e[tx] - g1o[tx]; q14[tx] = g1o[tx] - g1e[tx]; q15[tx] = g1o[tx];
      }
    }
}
static int nn__wino_fwd(const nn__ctx *c, const nn_conv2d_dims *d) {
  int chunk = nn__wino_chunk_max(d, c->m->max_batch), img_tiles = nn__wino_img_tiles(d);
  int threads = c->m->threads, per = nn__conv_chunk(chunk, c->n, threads), chunks = (c->n + per - 1) / per, block = (chunks + threads - 1) / threads, ch;
  size_t per_thread = nn__wino_thread_ws(d, chunk), up = nn__wino_plane(d->O, d->C);
  size_t m_off = 16 * nn__wino_plane(d->C, (size_t)chunk * img_tiles);
  float *u = c->ws, *thread_ws = c->ws + 16 * up + nn__wino_packed(d);
  const float *packed;
  nn__wino_weights(d, c->x[1], u);
  packed = nn__wino_pack_u(d, 0, u, u + 16 * up);
  NN__OMP_FOR_BLOCKS(block)
  for (ch = 0; ch < chunks; ch++) {
    float *v = thread_ws + (size_t)(ch / block) * per_thread, *mt = v + m_off, *scratch = v + per_thread - nn__wino_scratch(d);
    int b0 = ch * per, nb = c->n - b0 < per ? c->n - b0 : per, b, xi;
    size_t cols = (size_t)nb * img_tiles, vp = nn__wino_plane(d->C, cols), mp = nn__wino_plane(d->O, cols);
    size_t in_size = (size_t)d->C * d->H * d->W, out_size = (size_t)d->O * d->P;
    for (b = 0; b < nb; b++)
      nn__wino_input(c->x[0] + (b0 + b) * in_size, d->C, d->H, d->W, v + (size_t)b * img_tiles, cols, vp, scratch);
    for (xi = 0; xi < 16; xi++) nn__wino_gemm_u(c, 0, d->O, (int)cols, d->C, u + xi * up, packed, xi, v + xi * vp, mt + xi * mp);
    for (b = 0; b < nb; b++)
      nn__wino_output(mt + (size_t)b * img_tiles, cols, mp, d->O, d->OH, d->OW, c->x[2], c->y + (b0 + b) * out_size, scratch);
  }
  return 1;
}
static int nn__wino_bwd(const nn__ctx *c, const nn_conv2d_dims *d) {
  int chunk = nn__wino_chunk_max(d, c->m->max_batch), img_tiles = nn__wino_img_tiles(d);
  int threads = c->m->threads, per = nn__conv_chunk(chunk, c->n, threads), chunks = (c->n + per - 1) / per, block = (chunks + threads - 1) / threads, ch, t;
  size_t per_thread = nn__wino_thread_ws(d, chunk), up = nn__wino_plane(d->O, d->C), tiles = (size_t)chunk * img_tiles;
  size_t m_off = 16 * nn__wino_plane(d->C, tiles), partial_off = m_off + 16 * nn__wino_plane(d->O, tiles);
  float *u = c->ws, *thread_ws = c->ws + 16 * up + nn__wino_packed(d);
  const float *packed = NULL;
  if (c->dx[0]) {
    nn__wino_weights(d, c->x[1], u);
    packed = nn__wino_pack_u(d, 1, u, u + 16 * up);
  }
  if (c->dx[1])
    for (t = 0; t < threads; t++) memset(thread_ws + t * per_thread + partial_off, 0, 16 * up * sizeof(float));
  NN__OMP_FOR_BLOCKS(block)
  for (ch = 0; ch < chunks; ch++) {
    float *v = thread_ws + (size_t)(ch / block) * per_thread, *mt = v + m_off, *scratch = v + per_thread - nn__wino_scratch(d);
    int b0 = ch * per, nb = c->n - b0 < per ? c->n - b0 : per, b, xi;
    size_t cols = (size_t)nb * img_tiles, vp = nn__wino_plane(d->C, cols), mp = nn__wino_plane(d->O, cols);
    size_t in_size = (size_t)d->C * d->H * d->W, out_size = (size_t)d->O * d->P;
    for (b = 0; b < nb; b++)
      nn__wino_output_adjoint(c->dy + (b0 + b) * out_size, d->O, d->OH, d->OW, mt + (size_t)b * img_tiles, cols, mp, scratch);
    if (c->dx[1]) {
      for (b = 0; b < nb; b++)
        nn__wino_input(c->x[0] + (b0 + b) * in_size, d->C, d->H, d->W, v + (size_t)b * img_tiles, cols, vp, scratch);
      for (xi = 0; xi < 16; xi++)
        nn__sgemm(0, 1, d->O, d->C, (int)cols, 1.0f, mt + xi * mp, (int)cols, v + xi * vp, (int)cols, 1.0f,
                  v + partial_off + xi * up, d->C, nn__gemm_work(c));
    }
    if (c->dx[0]) {
      for (xi = 0; xi < 16; xi++) nn__wino_gemm_u(c, 1, d->C, (int)cols, d->O, u + xi * up, packed, xi, mt + xi * mp, v + xi * vp);
      for (b = 0; b < nb; b++)
        nn__wino_input_adjoint(v + (size_t)b * img_tiles, cols, vp, d->C, d->H, d->W, c->dx[0] + (b0 + b) * in_size, scratch);
    }
  }
  if (c->dx[1]) {
    int o;
    NN__OMP_FOR_IF((size_t)d->O * d->C * 16 * threads > NN__OMP_MIN_WORK)
    for (o = 0; o < d->O; o++) {
      size_t oc;
      for (oc = (size_t)o * d->C; oc < (size_t)(o + 1) * d->C; oc++) {
        float z[4][4], s[4][3], *dw = c->dx[1] + oc * 9;
        int i, j, k;
        for (i = 0; i < 16; i++) {
          float acc = 0;
          for (k = 0; k < threads; k++) acc += thread_ws[k * per_thread + partial_off + i * up + oc];
          z[i / 4][i % 4] = acc;
        }
        for (i = 0; i < 4; i++) {  /* z G, then G^T (z G) */
          s[i][0] = z[i][0] + 0.5f * (z[i][1] + z[i][2]);
          s[i][1] = 0.5f * (z[i][1] - z[i][2]);
          s[i][2] = 0.5f * (z[i][1] + z[i][2]) + z[i][3];
        }
        for (j = 0; j < 3; j++) {
          dw[j] += s[0][j] + 0.5f * (s[1][j] + s[2][j]);
          dw[3 + j] += 0.5f * (s[1][j] - s[2][j]);
          dw[6 + j] += 0.5f * (s[1][j] + s[2][j]) + s[3][j];
        }
      }
    }
  }
  return 1;
}
static size_t nn__conv_ws(const nn_node *n, int batch) {
  nn_conv2d_dims d = nn_conv2d_dims_of(n);
  if (nn__wino_ok(n, &d))
    return 16 * nn__wino_plane(d.O, d.C) + nn__wino_packed(&d) + (size_t)nn__max_threads() * nn__wino_thread_ws(&d, nn__wino_chunk_max(&d, batch));
  return (size_t)nn__max_threads() * nn__conv_thread_ws(&d, nn__conv_chunk_max(&d, batch));
}
static int nn__conv_fwd(const nn__ctx *c) {
  nn_conv2d_dims d = nn_conv2d_dims_of(c->node);
  int chunk = nn__conv_chunk_max(&d, c->m->max_batch);
  int threads = c->m->threads, per = nn__conv_chunk(chunk, c->n, threads), chunks = (c->n + per - 1) / per, block = (chunks + threads - 1) / threads, ch;
  if (nn__wino_ok(c->node, &d)) return nn__wino_fwd(c, &d);
  NN__OMP_FOR_BLOCKS(block)
  for (ch = 0; ch < chunks; ch++) {
    float *col = c->ws + (size_t)(ch / block) * nn__conv_thread_ws(&d, chunk), *stage = col + (size_t)d.K * chunk * d.P;
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
/* the bias gradient: dy summed over images and positions */
static void nn__conv_bias_grad(const nn__ctx *c, const nn_conv2d_dims *d) {
  int o;
  if (!c->dx[2]) return;
  NN__OMP_FOR_IF((size_t)c->n * d->O * d->P > NN__OMP_MIN_WORK)
  for (o = 0; o < d->O; o++) {
    int b, i;
    float s = 0;
    for (b = 0; b < c->n; b++)
      for (i = 0; i < d->P; i++) s += c->dy[((size_t)b * d->O + o) * d->P + i];
    c->dx[2][o] += s;
  }
}
static int nn__conv_bwd(const nn__ctx *c) {
  nn_conv2d_dims d = nn_conv2d_dims_of(c->node);
  int chunk = nn__conv_chunk_max(&d, c->m->max_batch);
  int threads = c->m->threads, per = nn__conv_chunk(chunk, c->n, threads), chunks = (c->n + per - 1) / per, block = (chunks + threads - 1) / threads, ch, t, q;
  size_t per_thread = nn__conv_thread_ws(&d, chunk), partial_off = (size_t)(d.K + d.O) * chunk * d.P;
  if (nn__wino_ok(c->node, &d)) {
    nn__wino_bwd(c, &d);
    nn__conv_bias_grad(c, &d);
    return 1;
  }
  if (c->dx[1])
    for (t = 0; t < threads; t++) memset(c->ws + t * per_thread + partial_off, 0, (size_t)d.O * d.K * sizeof(float));
  NN__OMP_FOR_BLOCKS(block)
  for (ch = 0; ch < chunks; ch++) {
    float *col = c->ws + (size_t)(ch / block) * per_thread, *stage = col + (size_t)d.K * chunk * d.P;
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
  nn__conv_bias_grad(c, &d);
  return 1;
}
static double nn__conv_flops(const nn_node *n) { nn_conv2d_dims d = nn_conv2d_dims_of(n); return 2.0 * d.O * d.P * d.K; }

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
  if (!nn__layer_prefix(g, "conv", pre)) return NULL;
  d[0] = out_ch; d[1] = C; d[2] = kh; d[3] = kw;
  in[0] = x;
  in[1] = nn__layer_param(g, pre, "weight", nn__shape(4, d), NN_INIT_HE_UNIFORM, 0, C * kh * kw, out_ch * kh * kw);
  in[2] = bias ? nn__layer_param(g, pre, "bias", nn__shape1(out_ch), NN_INIT_ZEROS, 0, C * kh * kw, out_ch) : NULL;
  if (!in[1] || (bias && !in[2])) return NULL;
  x = nn__add_node(g, NN_OP_CONV2D, 3, in, nn__shape3(out_ch, OH, OW), 1, pre);
  if (x) { x->attr.conv2d.kh = kh; x->attr.conv2d.kw = kw; x->attr.conv2d.stride = stride; x->attr.conv2d.pad = pad; }
  return x;
}
NNDEF nn_node *nn_conv2d(nn_graph *g, nn_node *x, int out_ch, int k, int stride, int pad) {
  return nn_conv2d_ex(g, x, out_ch, k, k, stride, pad, 1);
}

static const nn__cpu_op nn__cpu_op_conv2d = {nn__conv_fwd, nn__conv_bwd, nn__conv_ws, nn__conv_flops};

/* ---- conv2d_transpose: the adjoint of the conv2d that nn_conv2d_dims_of
   describes (its input x is that conv2d's output).  Forward is that
   conv2d's backward-data (GEMM with W^T, col2im), backward-data its
   forward (im2col, GEMM) and the weight gradient the same GEMM with the
   roles of x and dy swapped.  Chunks, threads and workspace as conv2d. */
/* the chunk's images of a [O, P] tensor as one [O x nb*P] matrix */
static void nn__convt_gather(const nn_conv2d_dims *d, const float *src, int nb, float *dst) {
  int b, o;
  size_t cols = (size_t)nb * d->P;
  for (b = 0; b < nb; b++)
    for (o = 0; o < d->O; o++)
      memcpy(dst + (size_t)o * cols + (size_t)b * d->P, src + ((size_t)b * d->O + o) * d->P, (size_t)d->P * sizeof(float));
}
static int nn__convt_fwd(const nn__ctx *c) {
  nn_conv2d_dims d = nn_conv2d_dims_of(c->node);
  int chunk = nn__conv_chunk_max(&d, c->m->max_batch);
  int threads = c->m->threads, per = nn__conv_chunk(chunk, c->n, threads), chunks = (c->n + per - 1) / per, block = (chunks + threads - 1) / threads, ch;
  NN__OMP_FOR_BLOCKS(block)
  for (ch = 0; ch < chunks; ch++) {
    float *col = c->ws + (size_t)(ch / block) * nn__conv_thread_ws(&d, chunk), *stage = col + (size_t)d.K * chunk * d.P;
    int b0 = ch * per, nb = c->n - b0 < per ? c->n - b0 : per, b, o, q;
    size_t cols = (size_t)nb * d.P, out_size = (size_t)d.C * d.H * d.W;
    nn__convt_gather(&d, c->x[0] + (size_t)b0 * d.O * d.P, nb, stage);
    nn__sgemm(1, 0, d.K, (int)cols, d.O, 1.0f, c->x[1], d.K, stage, (int)cols, 0.0f, col, (int)cols, nn__gemm_work(c));
    for (b = 0; b < nb; b++) {
      float *y = c->y + (size_t)(b0 + b) * out_size;
      for (o = 0; o < d.C; o++)
        for (q = 0; q < d.H * d.W; q++) y[(size_t)o * d.H * d.W + q] = c->x[2] ? c->x[2][o] : 0.0f;
      nn__col2im_add(col + (size_t)b * d.P, d.C, d.H, d.W, d.kh, d.kw, d.s, d.p, d.OH, d.OW, y, cols);
    }
  }
  return 1;
}
static int nn__convt_bwd(const nn__ctx *c) {
  nn_conv2d_dims d = nn_conv2d_dims_of(c->node);
  int chunk = nn__conv_chunk_max(&d, c->m->max_batch);
  int threads = c->m->threads, per = nn__conv_chunk(chunk, c->n, threads), chunks = (c->n + per - 1) / per, block = (chunks + threads - 1) / threads, ch, t, o, q;
  size_t per_thread = nn__conv_thread_ws(&d, chunk), partial_off = (size_t)(d.K + d.O) * chunk * d.P;
  if (c->dx[1])
    for (t = 0; t < threads; t++) memset(c->ws + t * per_thread + partial_off, 0, (size_t)d.O * d.K * sizeof(float));
  if (c->dx[0] || c->dx[1]) {
    NN__OMP_FOR_BLOCKS(block)
    for (ch = 0; ch < chunks; ch++) {
      float *col = c->ws + (size_t)(ch / block) * per_thread, *stage = col + (size_t)d.K * chunk * d.P;
      int b0 = ch * per, nb = c->n - b0 < per ? c->n - b0 : per, bb, oo, qq;
      size_t cols = (size_t)nb * d.P, out_size = (size_t)d.C * d.H * d.W;
      for (bb = 0; bb < nb; bb++)
        nn__im2col(c->dy + (b0 + bb) * out_size, d.C, d.H, d.W, d.kh, d.kw, d.s, d.p, d.OH, d.OW, col + (size_t)bb * d.P, cols);
      if (c->dx[1]) {
        nn__convt_gather(&d, c->x[0] + (size_t)b0 * d.O * d.P, nb, stage);
        nn__sgemm(0, 1, d.O, d.K, (int)cols, 1.0f, stage, (int)cols, col, (int)cols, 1.0f, col + partial_off, d.K, nn__gemm_work(c));
      }
      if (c->dx[0]) {
        nn__sgemm(0, 0, d.O, (int)cols, d.K, 1.0f, c->x[1], d.K, col, (int)cols, 0.0f, stage, (int)cols, nn__gemm_work(c));
        for (bb = 0; bb < nb; bb++)
          for (oo = 0; oo < d.O; oo++) {
            float *dx = c->dx[0] + ((size_t)(b0 + bb) * d.O + oo) * d.P;
            const float *src = stage + (size_t)oo * cols + (size_t)bb * d.P;
            for (qq = 0; qq < d.P; qq++) dx[qq] += src[qq];
          }
      }
    }
  }
  if (c->dx[1])
    for (t = 0; t < threads; t++)
      for (q = 0; q < d.O * d.K; q++) c->dx[1][q] += c->ws[t * per_thread + partial_off + q];
  if (c->dx[2]) {
    int hw = d.H * d.W;
    NN__OMP_FOR_IF((size_t)c->n * d.C * hw > NN__OMP_MIN_WORK)
    for (o = 0; o < d.C; o++) {
      int b, i;
      float s = 0;
      for (b = 0; b < c->n; b++)
        for (i = 0; i < hw; i++) s += c->dy[((size_t)b * d.C + o) * hw + i];
      c->dx[2][o] += s;
    }
  }
  return 1;
}

NNDEF nn_node *nn_conv2d_transpose_ex(nn_graph *g, nn_node *x, int out_ch, int kh, int kw, int stride, int pad,
                                      int out_pad, int bias) {
  char pre[NN_NAME_LEN], buf[64], obuf[64];
  nn_node *in[3];
  nn_shape out;
  int C, d[4];
  if (!nn__ready(g, "conv2d_transpose", 1, &x) || !nn__need_batched(g, "conv2d_transpose", x, 3, 3)) return NULL;
  if (out_ch < 1 || kh < 1 || kw < 1 || stride < 1 || pad < 0 || out_pad < 0)
    return nn__gfail(g, "conv2d_transpose: bad arguments (out %d, kernel %dx%d, stride %d, pad %d, output padding %d)",
                     out_ch, kh, kw, stride, pad, out_pad);
  if (out_pad >= stride)  /* PyTorch's rule: a larger one would add rows no input reaches */
    return nn__gfail(g, "conv2d_transpose: output padding %d must be smaller than the stride %d", out_pad, stride);
  C = x->shape.dim[0];
  out = nn__shape3(out_ch, (x->shape.dim[1] - 1) * stride - 2 * pad + kh + out_pad,
                   (x->shape.dim[2] - 1) * stride - 2 * pad + kw + out_pad);
  if (out.dim[1] < 1 || out.dim[2] < 1)
    return nn__gfail(g, "conv2d_transpose: input '%s' of shape %s gives output shape %s (kernel %dx%d, stride %d, pad %d, "
                     "output padding %d)", x->name, nn_shape_str(&x->shape, buf, sizeof buf),
                     nn_shape_str(&out, obuf, sizeof obuf), kh, kw, stride, pad, out_pad);
  if (!nn__layer_prefix(g, "convt", pre)) return NULL;
  d[0] = C; d[1] = out_ch; d[2] = kh; d[3] = kw;
  in[0] = x;
  /* fans as the adjoint conv2d's, turned around */
  in[1] = nn__layer_param(g, pre, "weight", nn__shape(4, d), NN_INIT_HE_UNIFORM, 0, C * kh * kw, out_ch * kh * kw);
  in[2] = bias ? nn__layer_param(g, pre, "bias", nn__shape1(out_ch), NN_INIT_ZEROS, 0, C * kh * kw, out_ch) : NULL;
  if (!in[1] || (bias && !in[2])) return NULL;
  x = nn__add_node(g, NN_OP_CONV2D_TRANSPOSE, 3, in, out, 1, pre);
  if (x) {
    x->attr.conv2d.kh = kh; x->attr.conv2d.kw = kw; x->attr.conv2d.stride = stride; x->attr.conv2d.pad = pad;
    x->attr.conv2d.out_pad = out_pad;
  }
  return x;
}
NNDEF nn_node *nn_conv2d_transpose(nn_graph *g, nn_node *x, int out_ch, int k, int stride, int pad, int out_pad) {
  return nn_conv2d_transpose_ex(g, x, out_ch, k, k, stride, pad, out_pad, 1);
}

static const nn__cpu_op nn__cpu_op_conv2d_transpose = {nn__convt_fwd, nn__convt_bwd, nn__conv_ws, nn__conv_flops};

/* ---- upsample2d: nearest neighbour, [C, H, W] -> [C, H*f, W*f] ---- */
static int nn__upsample_fwd(const nn__ctx *c) {
  const nn_node *x = NN__IN(c, 0);
  int f = c->node->attr.upsample.factor, H = x->shape.dim[1], W = x->shape.dim[2], OW = W * f;
  int planes = c->n * x->shape.dim[0], pl;
  NN__OMP_FOR_IF((size_t)planes * H * W * f * f > NN__OMP_MIN_WORK)
  for (pl = 0; pl < planes; pl++) {
    const float *src = c->x[0] + (size_t)pl * H * W;
    float *y = c->y + (size_t)pl * H * W * f * f;
    int oh, ow;
    for (oh = 0; oh < H * f; oh++)
      for (ow = 0; ow < OW; ow++) y[(size_t)oh * OW + ow] = src[(oh / f) * W + ow / f];
  }
  return 1;
}
static int nn__upsample_bwd(const nn__ctx *c) {
  const nn_node *x = NN__IN(c, 0);
  int f = c->node->attr.upsample.factor, H = x->shape.dim[1], W = x->shape.dim[2], OW = W * f;
  int planes = c->n * x->shape.dim[0], pl;
  NN__OMP_FOR_IF((size_t)planes * H * W * f * f > NN__OMP_MIN_WORK)
  for (pl = 0; pl < planes; pl++) {
    const float *dy = c->dy + (size_t)pl * H * W * f * f;
    float *dx = c->dx[0] + (size_t)pl * H * W;
    int h, w, i, j;
    for (h = 0; h < H; h++)
      for (w = 0; w < W; w++) {
        float s = 0;
        for (i = 0; i < f; i++)
          for (j = 0; j < f; j++) s += dy[(size_t)(h * f + i) * OW + w * f + j];
        dx[h * W + w] += s;
      }
  }
  return 1;
}
NNDEF nn_node *nn_upsample2d(nn_graph *g, nn_node *x, int factor) {
  char buf[64];
  if (!nn__ready(g, "upsample2d", 1, &x) || !nn__need_batched(g, "upsample2d", x, 3, 3)) return NULL;
  if (factor < 1 || x->shape.dim[1] > INT_MAX / factor || x->shape.dim[2] > INT_MAX / factor)
    return nn__gfail(g, "upsample2d: factor %d does not fit input '%s' of shape %s", factor, x->name,
                     nn_shape_str(&x->shape, buf, sizeof buf));
  x = nn__add_node(g, NN_OP_UPSAMPLE2D, 1, &x, nn__shape3(x->shape.dim[0], x->shape.dim[1] * factor, x->shape.dim[2] * factor),
                   1, NULL);
  if (x) x->attr.upsample.factor = factor;
  return x;
}
static const nn__cpu_op nn__cpu_op_upsample2d = {nn__upsample_fwd, nn__upsample_bwd, NULL, nn__elementwise_flops};

/* ---- pooling: ip: k, stride, pad.  Max pooling remembers, per output,
   the index of the winner inside its input plane (exact as a float). ---- */
typedef struct nn__pool_dims { int planes, H, W, OH, OW, k, s, p; } nn__pool_dims;
static nn__pool_dims nn__pool_get(const nn__ctx *c) {
  nn__pool_dims d;
  const nn_node *x = NN__IN(c, 0);
  d.planes = c->n * x->shape.dim[0]; d.H = x->shape.dim[1]; d.W = x->shape.dim[2];
  d.OH = c->node->shape.dim[1]; d.OW = c->node->shape.dim[2];
  d.k = c->node->attr.pool.k; d.s = c->node->attr.pool.stride; d.p = c->node->attr.pool.pad;
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
static double nn__pool_flops(const nn_node *n) { return (double)nn__per(n) * n->attr.pool.k * n->attr.pool.k; }

static nn_node *nn__pool(nn_graph *g, nn_op op, nn_node *x, int k, int stride, int pad) {
  const char *name = nn_op_name(op);
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
  if (x) { x->attr.pool.k = k; x->attr.pool.stride = stride; x->attr.pool.pad = pad; }
  return x;
}
NNDEF nn_node *nn_maxpool2d_ex(nn_graph *g, nn_node *x, int k, int s, int p) { return nn__pool(g, NN_OP_MAXPOOL2D, x, k, s, p); }
NNDEF nn_node *nn_maxpool2d(nn_graph *g, nn_node *x, int k, int s) { return nn__pool(g, NN_OP_MAXPOOL2D, x, k, s, 0); }
NNDEF nn_node *nn_avgpool2d_ex(nn_graph *g, nn_node *x, int k, int s, int p) { return nn__pool(g, NN_OP_AVGPOOL2D, x, k, s, p); }
NNDEF nn_node *nn_avgpool2d(nn_graph *g, nn_node *x, int k, int s) { return nn__pool(g, NN_OP_AVGPOOL2D, x, k, s, 0); }
static const nn__cpu_op nn__cpu_op_maxpool2d = {nn__maxpool_fwd, nn__maxpool_bwd, nn__maxpool_ws, nn__pool_flops};
static const nn__cpu_op nn__cpu_op_avgpool2d = {nn__avgpool_fwd, nn__avgpool_bwd, NULL, nn__pool_flops};

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

NNDEF nn_node *nn_global_avgpool(nn_graph *g, nn_node *x) {
  if (!nn__ready(g, "global_avgpool", 1, &x) || !nn__need_batched(g, "global_avgpool", x, 3, 3)) return NULL;
  return nn__add_node(g, NN_OP_GLOBAL_AVGPOOL, 1, &x, nn__shape1(x->shape.dim[0]), 1, NULL);
}

static const nn__cpu_op nn__cpu_op_global_avgpool = {nn__gap_fwd, nn__gap_bwd, NULL, nn__gap_flops};

/* ---- batch norm over channel dim 0 of a sample ([C] or [C, H, W]) ----
   inputs: x, weight, bias, running_mean, running_var; fp: momentum, eps.
   Training normalises with batch statistics and moves the running ones
   (unbiased variance, PyTorch's convention); eval uses the running ones.
   Workspace: mean[C], rstd[C] of the last forward pass. */
static size_t nn__bn_ws(const nn_node *n, int batch) { (void)batch; return 2 * (size_t)n->shape.dim[0] + 4 * ((size_t)n->shape.dim[0] + 1) + 1; }
/* the 2C + 1 doubles of per-channel sums behind mean and rstd */
static double *nn__bn_sums(const nn__ctx *c) {
  float *p = c->ws + 2 * c->node->shape.dim[0];
  return (double *)(void *)(p + ((uintptr_t)p % sizeof(double) != 0));
}
/* sums over every copy of the model (synchronised batch norm), or as they are */
static int nn__bn_sum_across(const nn__ctx *c, double *sums, int n) {
  if (!c->m->bn_sync || c->m->bn_sync(c->m->bn_sync_ctx, sums, n)) return 1;
  return nn__fail("batchnorm '%s': summing the statistics across copies failed: %s", c->node->name, nn_last_error());
}
static int nn__bn_fwd(const nn__ctx *c) {
  int C = c->node->shape.dim[0], ch;
  size_t S = nn__per(c->node) / (size_t)C, cnt = (size_t)c->n * S;
  float mom = c->node->attr.norm.momentum, eps = c->node->attr.norm.eps, *mean = c->ws, *rstd = c->ws + C;
  double *sum = nn__bn_sums(c), *ss = sum + C + 1, total;
  if (c->training) {
    /* mean, then the centred sum of squares (two passes, as exact as the
       data allow), each summed across copies when synchronised */
    NN__OMP_FOR_IF(cnt * C > NN__OMP_MIN_WORK)
    for (ch = 0; ch < C; ch++) {
      double s = 0;
      size_t b, q;
      for (b = 0; b < (size_t)c->n; b++) {
        const float *x = c->x[0] + (b * C + ch) * S;
        for (q = 0; q < S; q++) s += x[q];
      }
      sum[ch] = s;
    }
    sum[C] = (double)cnt;
    if (!nn__bn_sum_across(c, sum, C + 1)) return 0;
    total = sum[C];
    NN__OMP_FOR_IF(cnt * C > NN__OMP_MIN_WORK)
    for (ch = 0; ch < C; ch++) {
      double s = 0, mu = sum[ch] / total;
      size_t b, q;
      for (b = 0; b < (size_t)c->n; b++) {
        const float *x = c->x[0] + (b * C + ch) * S;
        for (q = 0; q < S; q++) s += (x[q] - mu) * (x[q] - mu);
      }
      ss[ch] = s;
    }
    if (!nn__bn_sum_across(c, ss, C)) return 0;
    for (ch = 0; ch < C; ch++) {
      double mu = sum[ch] / total, var = ss[ch] / total;
      mean[ch] = (float)mu;
      rstd[ch] = (float)(1.0 / sqrt(var + eps));
      c->x[3][ch] = (1 - mom) * c->x[3][ch] + mom * (float)mu;
      c->x[4][ch] = (1 - mom) * c->x[4][ch] + mom * (float)(total > 1 ? var * total / (total - 1) : var);
    }
  } else {
    for (ch = 0; ch < C; ch++) {
      mean[ch] = c->x[3][ch];
      rstd[ch] = 1.0f / sqrtf(c->x[4][ch] + eps);
    }
  }
  NN__OMP_FOR_IF(cnt * C > NN__OMP_MIN_WORK)
  for (ch = 0; ch < C; ch++) {
    float a = c->x[1][ch] * rstd[ch], sh = c->x[2][ch] - mean[ch] * a;
    size_t b, q;
    for (b = 0; b < (size_t)c->n; b++) {
      const float *x = c->x[0] + (b * C + ch) * S;
      float *y = c->y + (b * C + ch) * S;
      for (q = 0; q < S; q++) y[q] = x[q] * a + sh;
    }
  }
  return 1;
}
/* the weight and bias gradients are this copy's sums; the input gradient
   uses the sums over every copy when synchronised (each copy's loss is
   its own batch's mean, so its gradients are the copies' count times the
   joint one's, which the data-parallel average of weights divides out) */
static int nn__bn_bwd(const nn__ctx *c) {
  int C = c->node->shape.dim[0], ch;
  size_t S = nn__per(c->node) / (size_t)C, cnt = (size_t)c->n * S;
  double *sdy = nn__bn_sums(c), *sdyx = sdy + C, total = (double)cnt;
  NN__OMP_FOR_IF(cnt * C > NN__OMP_MIN_WORK)
  for (ch = 0; ch < C; ch++) {
    float mu = c->ws[ch], rs = c->ws[C + ch];
    double a = 0, ax = 0;
    size_t b, q;
    for (b = 0; b < (size_t)c->n; b++) {
      const float *x = c->x[0] + (b * C + ch) * S, *dy = c->dy + (b * C + ch) * S;
      for (q = 0; q < S; q++) { a += dy[q]; ax += dy[q] * (x[q] - mu) * rs; }
    }
    sdy[ch] = a;
    sdyx[ch] = ax;
    if (c->dx[1]) c->dx[1][ch] += (float)ax;
    if (c->dx[2]) c->dx[2][ch] += (float)a;
  }
  if (!c->dx[0]) return 1;
  if (c->training) {
    sdyx[C] = total;
    if (!nn__bn_sum_across(c, sdy, 2 * C + 1)) return 0;
    total = sdyx[C];
  }
  NN__OMP_FOR_IF(cnt * C > NN__OMP_MIN_WORK)
  for (ch = 0; ch < C; ch++) {
    float mu = c->ws[ch], rs = c->ws[C + ch], g = c->x[1][ch];
    float k = g * rs / (float)total, n = (float)total, m1 = (float)sdy[ch], m2 = (float)sdyx[ch];
    size_t b, q;
    for (b = 0; b < (size_t)c->n; b++) {
      const float *x = c->x[0] + (b * C + ch) * S, *dy = c->dy + (b * C + ch) * S;
      float *dx = c->dx[0] + (b * C + ch) * S;
      if (c->training)
        for (q = 0; q < S; q++) dx[q] += k * (n * dy[q] - m1 - (x[q] - mu) * rs * m2);
      else
        for (q = 0; q < S; q++) dx[q] += g * rs * dy[q];
    }
  }
  return 1;
}
static double nn__norm_flops(const nn_node *n) { return 5.0 * (double)nn__per(n); }

NNDEF nn_node *nn_batchnorm_ex(nn_graph *g, nn_node *x, float momentum, float eps, int frozen_scale) {
  char pre[NN_NAME_LEN];
  nn_node *in[5];
  nn_shape s;
  int i;
  if (!nn__ready(g, "batchnorm", 1, &x) || !nn__need_batched(g, "batchnorm", x, 1, 3)) return NULL;
  if (!(momentum >= 0 && momentum <= 1) || !(eps > 0)) return nn__gfail(g, "batchnorm: momentum %g, eps %g", momentum, eps);
  s = nn__shape1(x->shape.dim[0]);
  if (!nn__layer_prefix(g, "bn", pre)) return NULL;
  in[0] = x;
  in[1] = nn__layer_param(g, pre, "weight", s, NN_INIT_ONES, 0, 1, 1);
  in[2] = nn__layer_param(g, pre, "bias", s, NN_INIT_ZEROS, 0, 1, 1);
  in[3] = nn__layer_param(g, pre, "running_mean", s, NN_INIT_ZEROS, 0, 1, 1);
  in[4] = nn__layer_param(g, pre, "running_var", s, NN_INIT_ONES, 0, 1, 1);
  for (i = 1; i < 5; i++) if (!in[i]) return NULL;
  in[1]->trainable = !frozen_scale;
  in[3]->trainable = in[4]->trainable = 0;
  x = nn__add_node(g, NN_OP_BATCHNORM, 5, in, x->shape, 1, pre);
  if (x) { x->attr.norm.momentum = momentum; x->attr.norm.eps = eps; }
  return x;
}
NNDEF nn_node *nn_batchnorm(nn_graph *g, nn_node *x) { return nn_batchnorm_ex(g, x, 0.1f, 1e-5f, 0); }

static const nn__cpu_op nn__cpu_op_batchnorm = {nn__bn_fwd, nn__bn_bwd, nn__bn_ws, nn__norm_flops};

/* ---- layer norm over the last dimension; inputs x, weight, bias; fp: eps.
   Workspace: mean and rstd of every row. ---- */
static size_t nn__ln_ws(const nn_node *n, int batch) { return 2 * (size_t)batch * (nn__per(n) / (size_t)NN__LAST(n)); }
static int nn__ln_fwd(const nn__ctx *c) {
  int D = NN__LAST(c->node), rows = (int)(nn__len(c, c->node) / (size_t)D), r;
  float eps = c->node->attr.norm.eps;
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

NNDEF nn_node *nn_layernorm_ex(nn_graph *g, nn_node *x, float eps) {
  char pre[NN_NAME_LEN];
  nn_node *in[3];
  if (!nn__ready(g, "layernorm", 1, &x) || !nn__need_batched(g, "layernorm", x, 1, NN_MAX_DIMS)) return NULL;
  if (!(eps > 0)) return nn__gfail(g, "layernorm: eps %g", eps);
  if (!nn__layer_prefix(g, "ln", pre)) return NULL;
  in[0] = x;
  in[1] = nn__layer_param(g, pre, "weight", nn__shape1(NN__LAST(x)), NN_INIT_ONES, 0, 1, 1);
  in[2] = nn__layer_param(g, pre, "bias", nn__shape1(NN__LAST(x)), NN_INIT_ZEROS, 0, 1, 1);
  if (!in[1] || !in[2]) return NULL;
  x = nn__add_node(g, NN_OP_LAYERNORM, 3, in, x->shape, 1, pre);
  if (x) x->attr.norm.eps = eps;
  return x;
}
NNDEF nn_node *nn_layernorm(nn_graph *g, nn_node *x) { return nn_layernorm_ex(g, x, 1e-5f); }

static const nn__cpu_op nn__cpu_op_layernorm = {nn__ln_fwd, nn__ln_bwd, nn__ln_ws, nn__norm_flops};

/* ---- dropout: fp: p.  Workspace: the scaled keep-mask of the batch. ---- */
static size_t nn__dropout_ws(const nn_node *n, int batch) { return (size_t)batch * nn__per(n); }
static int nn__dropout_fwd(const nn__ctx *c) {
  size_t i, len = nn__len(c, c->node);
  float p = c->node->attr.dropout.p, keep = 1.0f / (1.0f - p);
  if (!c->training || p <= 0) { memcpy(c->y, c->x[0], len * sizeof(float)); return 1; }
  for (i = 0; i < len; i++) {
    c->ws[i] = nn_rng_uniform(&c->m->rng) >= p ? keep : 0.0f;
    c->y[i] = c->x[0][i] * c->ws[i];
  }
  return 1;
}
static int nn__dropout_bwd(const nn__ctx *c) {
  size_t i, len = nn__len(c, c->node);
  if (!c->training || c->node->attr.dropout.p <= 0) for (i = 0; i < len; i++) c->dx[0][i] += c->dy[i];
  else for (i = 0; i < len; i++) c->dx[0][i] += c->dy[i] * c->ws[i];
  return 1;
}

NNDEF nn_node *nn_dropout(nn_graph *g, nn_node *x, float p) {
  if (!nn__ready(g, "dropout", 1, &x) || !nn__need_batched(g, "dropout", x, 1, NN_MAX_DIMS)) return NULL;
  if (!(p >= 0 && p < 1)) return nn__gfail(g, "dropout: p = %g, expected 0 <= p < 1", p);
  x = nn__add_node(g, NN_OP_DROPOUT, 1, &x, x->shape, 1, NULL);
  if (x) x->attr.dropout.p = p;
  return x;
}
static const nn__cpu_op nn__cpu_op_dropout = {nn__dropout_fwd, nn__dropout_bwd, nn__dropout_ws, nn__elementwise_flops};

/* ---- activations: element-wise, one loop for all of them.  FWD is y from
   v = x[i] (a: the op's scalar attribute); BWD is what dx[i] gains from
   g = dy[i], using v or the saved output u = y[i] where that is cheaper. -- */
#define NN__ELEMENTWISE(name, FWD, BWD)                                              \
  static int nn__##name##_fwd(const nn__ctx *c) {                                    \
    ptrdiff_t i, len = (ptrdiff_t)nn__len(c, c->node);                               \
    const float *NN__RESTRICT x = c->x[0];                                           \
    float *NN__RESTRICT y = c->y, a = c->node->attr.scalar.value;                    \
    (void)a;                                                                         \
    NN__OMP_FOR_LEN                                                                  \
    for (i = 0; i < len; i++) { float v = x[i]; y[i] = (FWD); }                      \
    return 1;                                                                        \
  }                                                                                  \
  static int nn__##name##_bwd(const nn__ctx *c) {                                    \
    ptrdiff_t i, len = (ptrdiff_t)nn__len(c, c->node);                               \
    const float *NN__RESTRICT x = c->x[0], *NN__RESTRICT y = c->y;                   \
    const float *NN__RESTRICT dy = c->dy;                                            \
    float *NN__RESTRICT dx = c->dx[0], a = c->node->attr.scalar.value;               \
    (void)a;                                                                         \
    NN__OMP_FOR_LEN                                                                  \
    for (i = 0; i < len; i++) {                                                      \
      float v = x[i], u = y[i], g = dy[i];                                           \
      (void)v; (void)u;                                                              \
      dx[i] += (BWD);                                                                \
    }                                                                                \
    return 1;                                                                        \
  }
NN__ELEMENTWISE(relu, v > 0 ? v : 0.0f, v > 0 ? g : 0.0f)
NN__ELEMENTWISE(leaky_relu, v > 0 ? v : a * v, v > 0 ? g : a * g)
/* gelu(x) = x * Phi(x), Phi the standard normal CDF */
NN__ELEMENTWISE(gelu, 0.5f * v * (1.0f + nn__erf(v * 0.70710678f)),
                g * (0.5f * (1.0f + nn__erf(v * 0.70710678f)) + v * 0.39894228f * nn__exp(-0.5f * v * v)))
/* silu(x) = x * sigmoid(x) (also called swish) */
NN__ELEMENTWISE(silu, v * nn__sigmoid(v), g * (nn__sigmoid(v) * (1.0f + v * (1.0f - nn__sigmoid(v)))))
NN__ELEMENTWISE(sigmoid, nn__sigmoid(v), g * u * (1.0f - u))
NN__ELEMENTWISE(tanh, nn__tanh(v), g * (1.0f - u * u))
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

NNDEF nn_node *nn_relu(nn_graph *g, nn_node *x) { return nn__unary(g, NN_OP_RELU, x, 0); }
NNDEF nn_node *nn_leaky_relu(nn_graph *g, nn_node *x, float slope) { return nn__unary(g, NN_OP_LEAKY_RELU, x, slope); }
NNDEF nn_node *nn_gelu(nn_graph *g, nn_node *x) { return nn__unary(g, NN_OP_GELU, x, 0); }
NNDEF nn_node *nn_silu(nn_graph *g, nn_node *x) { return nn__unary(g, NN_OP_SILU, x, 0); }
NNDEF nn_node *nn_sigmoid(nn_graph *g, nn_node *x) { return nn__unary(g, NN_OP_SIGMOID, x, 0); }
NNDEF nn_node *nn_tanh(nn_graph *g, nn_node *x) { return nn__unary(g, NN_OP_TANH, x, 0); }
NNDEF nn_node *nn_softmax(nn_graph *g, nn_node *x) { return nn__unary(g, NN_OP_SOFTMAX, x, 0); }

static const nn__cpu_op nn__cpu_op_relu = {nn__relu_fwd, nn__relu_bwd, NULL, nn__elementwise_flops};
static const nn__cpu_op nn__cpu_op_leaky_relu = {nn__leaky_relu_fwd, nn__leaky_relu_bwd, NULL, nn__elementwise_flops};
static const nn__cpu_op nn__cpu_op_gelu = {nn__gelu_fwd, nn__gelu_bwd, NULL, nn__elementwise_flops};
static const nn__cpu_op nn__cpu_op_silu = {nn__silu_fwd, nn__silu_bwd, NULL, nn__elementwise_flops};
static const nn__cpu_op nn__cpu_op_sigmoid = {nn__sigmoid_fwd, nn__sigmoid_bwd, NULL, nn__elementwise_flops};
static const nn__cpu_op nn__cpu_op_tanh = {nn__tanh_fwd, nn__tanh_bwd, NULL, nn__elementwise_flops};
static const nn__cpu_op nn__cpu_op_softmax = {nn__softmax_fwd, nn__softmax_bwd, NULL, nn__elementwise_flops};

/* ---- residual add, broadcast product, concat along dim 0 of a sample,
   scale by a constant ---- */
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
/* mul: y = a * b, b broadcast: b's element for a's element i of a sample is
   (i / inner) % count (attr.mul), in the sample's own b if b is batched. */
static int nn__mul_fwd(const nn__ctx *c) {
  const nn_mul_attr *at = &c->node->attr.mul;
  size_t per = nn__per(c->node), blocks = per / (size_t)at->inner, bstride = NN__IN(c, 1)->batched ? (size_t)at->count : 0;
  int s;
  NN__OMP_FOR_IF((size_t)c->n * per > NN__OMP_MIN_WORK)
  for (s = 0; s < c->n; s++) {
    const float *a = c->x[0] + s * per, *b = c->x[1] + s * bstride;
    float *y = c->y + s * per;
    size_t q, j;
    for (q = 0; q < blocks; q++) {
      float bv = b[q % (size_t)at->count];
      for (j = 0; j < (size_t)at->inner; j++) y[q * at->inner + j] = a[q * at->inner + j] * bv;
    }
  }
  return 1;
}
static int nn__mul_bwd(const nn__ctx *c) {
  const nn_mul_attr *at = &c->node->attr.mul;
  size_t per = nn__per(c->node), blocks = per / (size_t)at->inner, bstride = NN__IN(c, 1)->batched ? (size_t)at->count : 0;
  int s;
  for (s = 0; s < c->n; s++) {  /* in sample order: db of a shared b sums over samples */
    const float *a = c->x[0] + s * per, *b = c->x[1] + s * bstride, *dy = c->dy + s * per;
    size_t q, j;
    for (q = 0; q < blocks; q++) {
      const float *g = dy + q * at->inner, *av = a + q * at->inner;
      float bv = b[q % (size_t)at->count], sum = 0;
      if (c->dx[0]) for (j = 0; j < (size_t)at->inner; j++) c->dx[0][s * per + q * at->inner + j] += g[j] * bv;
      if (c->dx[1]) {
        for (j = 0; j < (size_t)at->inner; j++) sum += g[j] * av[j];
        c->dx[1][s * bstride + q % (size_t)at->count] += sum;
      }
    }
  }
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
NN__ELEMENTWISE(scale, v * a, g * a)

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
/* b broadcasts when its shape is a's, a's leading dims (per channel: [C]
   over [C, H, W]) or a's trailing dims (per feature: [F] over [T, F]), or
   it has one element; b is a parameter (shared by all samples) or batched. */
NNDEF nn_node *nn_mul(nn_graph *g, nn_node *a, nn_node *b) {
  char sa[64], sb[64];
  nn_node *in[2], *y;
  int k, lead = 1, trail = 1, count, inner = 0;
  in[0] = a; in[1] = b;
  if (!nn__ready(g, "mul", 2, in) || !nn__need_batched(g, "mul", a, 1, NN_MAX_DIMS)) return NULL;
  count = (int)nn__per(b);
  if (b->shape.ndim <= a->shape.ndim)
    for (k = 0; k < b->shape.ndim; k++) {
      lead = lead && b->shape.dim[k] == a->shape.dim[k];
      trail = trail && b->shape.dim[k] == a->shape.dim[a->shape.ndim - b->shape.ndim + k];
    }
  if (count == 1 || (b->shape.ndim <= a->shape.ndim && lead)) inner = (int)(nn__per(a) / (size_t)count);
  else if (b->shape.ndim <= a->shape.ndim && trail) inner = 1;
  if (!inner)
    return nn__gfail(g, "mul: '%s' %s does not broadcast over '%s' %s (it needs a's shape, its leading or trailing dims, or one element)",
                     b->name, nn_shape_str(&b->shape, sb, sizeof sb), a->name, nn_shape_str(&a->shape, sa, sizeof sa));
  y = nn__add_node(g, NN_OP_MUL, 2, in, a->shape, 1, NULL);
  if (y) { y->attr.mul.inner = inner; y->attr.mul.count = count; }
  return y;
}
NNDEF nn_node *nn_concat(nn_graph *g, int n, nn_node *const *xs) {
  char sa[64], sb[64];
  nn_shape s;
  int k, i;
  if (!nn__ready(g, "concat", 0, NULL)) return NULL;
  if (n < 1 || n > NN_MAX_INPUTS || !xs) return nn__gfail(g, "concat: %d inputs%s (1..%d allowed)", n, xs ? "" : " in NULL", NN_MAX_INPUTS);
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
NNDEF nn_node *nn_scale(nn_graph *g, nn_node *x, float c) { return nn__unary(g, NN_OP_SCALE, x, c); }
static const nn__cpu_op nn__cpu_op_add = {nn__add_fwd, nn__add_bwd, NULL, nn__elementwise_flops};
static const nn__cpu_op nn__cpu_op_mul = {nn__mul_fwd, nn__mul_bwd, NULL, nn__elementwise_flops};
static const nn__cpu_op nn__cpu_op_concat = {nn__concat_fwd, nn__concat_bwd, NULL, NULL};
static const nn__cpu_op nn__cpu_op_scale = {nn__scale_fwd, nn__scale_bwd, NULL, nn__elementwise_flops};

/* ---- losses: scalar outputs; attr.loss has the reduction ----
   cross entropy: inputs logits [C], labels [1]; fp: label smoothing e.
   Target distribution (1-e)*onehot + e/C.  Workspace: probabilities. */
static float nn__loss_scale(const nn__ctx *c, size_t count) { return c->node->attr.loss.reduction == NN_SUM ? 1.0f : 1.0f / (float)count; }
static size_t nn__ce_ws(const nn_node *n, int batch) { return (size_t)batch * nn__per(n->in[0]); }
static int nn__ce_fwd(const nn__ctx *c) {
  int C = (int)nn__per(NN__IN(c, 0)), b, j;
  float e = c->node->attr.loss.smoothing;
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
  float e = c->node->attr.loss.smoothing, g = c->dy[0] * nn__loss_scale(c, (size_t)c->n);
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

static nn_node *nn__loss(nn_graph *g, nn_op op, nn_node *a, nn_node *b, nn_reduction red, float arg) {
  const char *name = nn_op_name(op);
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
  l->attr.loss.reduction = red;
  l->attr.loss.smoothing = arg;
  g->loss = l;
  return l;
}
NNDEF nn_node *nn_cross_entropy(nn_graph *g, nn_node *logits, nn_node *labels, float smoothing, nn_reduction red) {
  if (!nn__ready(g, "cross_entropy", 0, NULL)) return NULL;
  if (!(smoothing >= 0 && smoothing < 1)) return nn__gfail(g, "cross_entropy: label smoothing %g", smoothing);
  return nn__loss(g, NN_OP_CROSS_ENTROPY, logits, labels, red, smoothing);
}
NNDEF nn_node *nn_bce_with_logits(nn_graph *g, nn_node *z, nn_node *t, nn_reduction red) { return nn__loss(g, NN_OP_BCE_LOGITS, z, t, red, 0); }
NNDEF nn_node *nn_mse(nn_graph *g, nn_node *p, nn_node *t, nn_reduction red) { return nn__loss(g, NN_OP_MSE, p, t, red, 0); }
NNDEF int nn_graph_set_loss(nn_graph *g, nn_node *loss) {
  if (!nn__mutable(g, "graph_set_loss")) return 0;
  if (!loss) return nn__null("graph_set_loss", "loss");
  if (loss->graph != g || g->nodes[loss->id] != loss) return nn__fail("graph_set_loss: '%s' is not a node of this graph", loss->name);
  if (loss->batched || nn__per(loss) != 1) return nn__fail("graph_set_loss: '%s' is not a scalar", loss->name);
  g->loss = loss;
  return 1;
}

static const nn__cpu_op nn__cpu_op_cross_entropy = {nn__ce_fwd, nn__ce_bwd, nn__ce_ws, NULL};
static const nn__cpu_op nn__cpu_op_bce_with_logits = {nn__bce_fwd, nn__bce_bwd, NULL, NULL};
static const nn__cpu_op nn__cpu_op_mse = {nn__mse_fwd, nn__mse_bwd, NULL, NULL};

/* ---- embedding: ids [..] -> rows of weight [V, D].  The ids are floats
   holding integers; backward adds into the rows used, and only those. ---- */
static int nn__embedding_fwd(const nn__ctx *c) {
  const nn_node *ids = NN__IN(c, 0);
  int V = NN__IN(c, 1)->shape.dim[0], D = NN__IN(c, 1)->shape.dim[1];
  size_t i, count = nn__len(c, ids), per = nn__per(ids);
  for (i = 0; i < count; i++) {
    float v = c->x[0][i];
    if (!(v >= 0 && v < (float)V) || v != floorf(v))
      return nn__fail("embedding '%s': id %g (sample %zu, position %zu) is not in the vocabulary of %d (ids 0..%d)",
                      c->node->name, v, i / per, i % per, V, V - 1);
    memcpy(c->y + i * D, c->x[1] + (size_t)v * D, (size_t)D * sizeof(float));
  }
  return 1;
}
static int nn__embedding_bwd(const nn__ctx *c) {
  int D = NN__IN(c, 1)->shape.dim[1], j;
  size_t i, count = nn__len(c, NN__IN(c, 0));
  if (!c->dx[1]) return 1;
  for (i = 0; i < count; i++) {
    float *dw = c->dx[1] + (size_t)c->x[0][i] * D;
    const float *dy = c->dy + i * D;
    for (j = 0; j < D; j++) dw[j] += dy[j];
  }
  return 1;
}

NNDEF nn_node *nn_embedding(nn_graph *g, nn_node *ids, int vocab, int dim) {
  char pre[NN_NAME_LEN], buf[64];
  nn_node *in[2];
  nn_shape s;
  if (!nn__ready(g, "embedding", 1, &ids) || !nn__need_batched(g, "embedding", ids, 1, NN_MAX_DIMS - 1)) return NULL;
  if (vocab < 1 || dim < 1) return nn__gfail(g, "embedding: vocabulary %d, dimension %d", vocab, dim);
  if (ids->op != NN_OP_INPUT)
    return nn__gfail(g, "embedding: ids '%s' %s must be an input (ids are fed, not computed)", ids->name,
                     nn_shape_str(&ids->shape, buf, sizeof buf));
  if (!nn__layer_prefix(g, "embedding", pre)) return NULL;
  in[0] = ids;
  in[1] = nn__layer_param(g, pre, "weight", nn__shape2(vocab, dim), NN_INIT_NORMAL, 1.0f, dim, vocab);
  if (!in[1]) return NULL;
  s = ids->shape;
  s.dim[s.ndim++] = dim;
  return nn__add_node(g, NN_OP_EMBEDDING, 2, in, s, 1, pre);
}

static const nn__cpu_op nn__cpu_op_embedding = {nn__embedding_fwd, nn__embedding_bwd, NULL, NULL};

/* ---- sequence lengths: input 1 of the sequence ops, [1] per sample ---- */
static const char *nn__seq_op_name(nn_op op) {
  switch (op) {
  case NN_OP_RNN: return "rnn";
  case NN_OP_LSTM: return "lstm";
  case NN_OP_GRU: return "gru";
  case NN_OP_SEQ_LAST: return "seq_last";
  case NN_OP_SEQ_MAXPOOL: return "seq_maxpool";
  default: return "seq_meanpool";
  }
}
static int nn__seq_lengths_ok(const nn__ctx *c, int T) {
  int b;
  if (!c->x[1]) return 1;
  for (b = 0; b < c->n; b++) {
    float L = c->x[1][b];
    if (!(L >= 0 && L <= (float)T) || L != floorf(L))
      return nn__fail("%s '%s': length %g of sample %d is not a whole number of steps in 0..%d (the padded length)",
                      nn__seq_op_name(c->node->op), c->node->name, L, b, T);
  }
  return 1;
}
static int nn__seq_len(const nn__ctx *c, int b, int T) { return c->x[1] ? (int)c->x[1][b] : T; }

/* lengths: NULL or a batched input of one value per sample */
static int nn__lengths_ok(nn_graph *g, const char *op, const nn_node *lengths) {
  char buf[64];
  if (!lengths) return 1;
  if (lengths->graph != g) { nn__gfail(g, "%s: lengths '%s' is a node of another graph", op, lengths->name); return 0; }
  if (!lengths->batched || lengths->op != NN_OP_INPUT || nn__per(lengths) != 1) {
    nn__gfail(g, "%s: lengths '%s' %s must be an input of shape [1]", op, lengths->name,
              nn_shape_str(&lengths->shape, buf, sizeof buf));
    return 0;
  }
  return 1;
}

/* ---- recurrent layers (rnn, lstm, gru) over a whole sequence ----------
   inputs: x [T, F], lengths, then per direction d W_ih [GH, F], W_hh
   [GH, H], b_ih, b_hh [GH] (inputs 2 + 4d ..) with GH = G*H (G gates);
   ip: H, dirs.
   Forward: the input projection of every valid step of a sample is one
   GEMM per direction (P = x W_ih^T + b_ih, the directions side by side in
   P's rows); then each step one
   GEMM of the states with W_hh and the gates fused in one loop.  The
   batch is split once, not per step: every (direction, group of samples)
   runs all its steps on one thread with no synchronisation.  Samples are
   sorted by falling length, so the ones still running at a step are a
   prefix and the step's GEMM covers only them.
   Workspace (floats; `rows` = batch + threads state slots per direction):
     P      batch*T*dirs*GH  gate values of every step; backward overwrites
                             them with their gradients (dG_ih)
     aux    batch*T*dirs*H   lstm: c_t; gru: W_hn h + b_hn, then its gradient
     order  batch            samples by falling length
     h, c, dh, dc  dirs*rows*H each, gh  dirs*rows*GH   per-step state
     part   threads * dirs * (dW_ih + dW_hh + db_ih + db_hh)   backward partial sums */
#define NN__REC_W(v, d, k) ((v)[2 + 4 * (d) + (k)])   /* x or dx: k 0 W_ih, 1 W_hh, 2 b_ih, 3 b_hh */
typedef struct nn__rec {
  nn_op op;
  int n, T, F, H, dirs, GH, rows, threads, chunks;
  float *P, *aux, *order, *h, *cs, *dh, *dc, *gh, *part;
} nn__rec;
static size_t nn__rec_part(const nn_node *nd) {
  const nn_recurrent_attr *a = &nd->attr.recurrent;
  size_t GH = (size_t)a->gates * a->hidden;
  return (size_t)a->dirs * GH * ((size_t)NN__LAST(nd->in[0]) + (size_t)a->hidden + 2);
}
static size_t nn__rec_ws(const nn_node *nd, int batch) {
  size_t T = (size_t)nd->shape.dim[0], H = (size_t)nd->attr.recurrent.hidden, dirs = (size_t)nd->attr.recurrent.dirs;
  size_t GH = (size_t)nd->attr.recurrent.gates * H, th = (size_t)nn__max_threads(), rows = (size_t)batch + th;
  /* nn_compile sets the model's thread count to nn__max_threads() too */
  return (size_t)batch * T * dirs * (GH + (nd->op == NN_OP_RNN ? 0 : H)) + (size_t)batch +
         dirs * rows * (4 * H + GH) + th * nn__rec_part(nd);
}
static nn__rec nn__rec_get(const nn__ctx *c) {
  nn__rec r;
  const nn_node *nd = c->node;
  size_t slab;
  float *w = c->ws;
  r.op = nd->op;
  r.n = c->n; r.T = nd->shape.dim[0]; r.F = NN__LAST(nd->in[0]);
  r.H = nd->attr.recurrent.hidden; r.dirs = nd->attr.recurrent.dirs; r.GH = nd->attr.recurrent.gates * r.H;
  r.threads = c->m->threads;
  r.rows = c->m->max_batch + r.threads;
  /* the directions run side by side; threads beyond one per direction
     split the batch into groups */
  r.chunks = r.threads / r.dirs > 1 ? r.threads / r.dirs : 1;
  if (r.chunks > r.n) r.chunks = r.n > 0 ? r.n : 1;
  slab = (size_t)c->m->max_batch * r.T * r.dirs;
  r.P = w; w += slab * r.GH;
  r.aux = w; if (r.op != NN_OP_RNN) w += slab * r.H;
  r.order = w; w += c->m->max_batch;
  slab = (size_t)r.dirs * r.rows;
  r.h = w; w += slab * r.H;
  r.cs = w; w += slab * r.H;
  r.dh = w; w += slab * r.H;
  r.dc = w; w += slab * r.H;
  r.gh = w; w += slab * r.GH;
  r.part = w;
  return r;
}

/* the rows of group k: sorted positions k, k + chunks, ...; their count */
static int nn__rec_group(const nn__rec *r, int k) { return (r->n - k + r->chunks - 1) / r->chunks; }
static int nn__rec_sample(const nn__rec *r, int k, int i) { return (int)r->order[k + i * r->chunks]; }

/* One step of one sample: p holds the input side of the gates (x W_ih^T +
   b_ih) and receives the gates' values; q is h_{t-1} W_hh^T; h the state,
   updated; y the output.  Separate functions with restrict arguments, so
   that compilers vectorise the loops. */
static void nn__rnn_step(int H, float *NN__RESTRICT p, const float *NN__RESTRICT q, const float *NN__RESTRICT bh,
                         float *NN__RESTRICT h, float *NN__RESTRICT y) {
  int j;
  for (j = 0; j < H; j++) y[j] = h[j] = p[j] = nn__tanh(p[j] + q[j] + bh[j]);
}
/* cs: the cell state, updated; ca: where c_t is kept for backward */
static void nn__lstm_step(int H, float *NN__RESTRICT p, const float *NN__RESTRICT q, const float *NN__RESTRICT bh,
                          float *NN__RESTRICT cs, float *NN__RESTRICT ca, float *NN__RESTRICT h, float *NN__RESTRICT y) {
  int j;
  for (j = 0; j < H; j++) {
    float ig = nn__sigmoid(p[j] + q[j] + bh[j]);
    float fg = nn__sigmoid(p[H + j] + q[H + j] + bh[H + j]);
    float gg = nn__tanh(p[2 * H + j] + q[2 * H + j] + bh[2 * H + j]);
    float og = nn__sigmoid(p[3 * H + j] + q[3 * H + j] + bh[3 * H + j]);
    float cn = fg * cs[j] + ig * gg;
    p[j] = ig; p[H + j] = fg; p[2 * H + j] = gg; p[3 * H + j] = og;
    ca[j] = cs[j] = cn;
    y[j] = h[j] = og * nn__tanh(cn);
  }
}
/* hn: where W_hn h_{t-1} + b_hn is kept for backward */
static void nn__gru_step(int H, float *NN__RESTRICT p, const float *NN__RESTRICT q, const float *NN__RESTRICT bh,
                         float *NN__RESTRICT hn, float *NN__RESTRICT h, float *NN__RESTRICT y) {
  int j;
  for (j = 0; j < H; j++) {
    float rg = nn__sigmoid(p[j] + q[j] + bh[j]);
    float zg = nn__sigmoid(p[H + j] + q[H + j] + bh[H + j]);
    float a = q[2 * H + j] + bh[2 * H + j];
    float ng = nn__tanh(p[2 * H + j] + rg * a);
    p[j] = rg; p[H + j] = zg; p[2 * H + j] = ng;
    hn[j] = a;
    y[j] = h[j] = (1.0f - zg) * ng + zg * h[j];
  }
}

/* One direction of one group, all steps forward in time of that direction. */
static void nn__rec_fwd_group(const nn__ctx *c, const nn__rec *r, int d, int k) {
  const int H = r->H, GH = r->GH, dirs = r->dirs, T = r->T, R = nn__rec_group(r, k);
  const size_t slot = (size_t)d * r->rows + (size_t)k * ((r->n + r->chunks - 1) / r->chunks);
  const float *Whh = NN__REC_W(c->x, d, 1), *bh = NN__REC_W(c->x, d, 3);
  float *hs = r->h + slot * H, *cs = r->cs + slot * H, *gh = r->gh + slot * GH;
  int M = R, s, i, steps = R ? nn__seq_len(c, nn__rec_sample(r, k, 0), r->T) : 0;
  memset(hs, 0, (size_t)R * H * sizeof(float));
  memset(cs, 0, (size_t)R * H * sizeof(float));
  for (s = 0; s < steps; s++) {
    while (M > 0 && nn__seq_len(c, nn__rec_sample(r, k, M - 1), r->T) <= s) M--;
    if (s == 0) memset(gh, 0, (size_t)M * GH * sizeof(float));
    else nn__sgemm(0, 1, M, GH, H, 1.0f, hs, H, Whh, H, 0.0f, gh, GH, nn__gemm_work(c));
    for (i = 0; i < M; i++) {
      int b = nn__rec_sample(r, k, i), L = nn__seq_len(c, b, r->T), t = d ? L - 1 - s : s;
      size_t row = (size_t)b * T + t, at = row * dirs * H + (size_t)d * H;
      float *p = r->P + row * dirs * GH + (size_t)d * GH, *y = c->y + at, *h = hs + (size_t)i * H;
      const float *q = gh + (size_t)i * GH;
      if (r->op == NN_OP_RNN) nn__rnn_step(H, p, q, bh, h, y);
      else if (r->op == NN_OP_LSTM) nn__lstm_step(H, p, q, bh, cs + (size_t)i * H, r->aux + at, h, y);
      else nn__gru_step(H, p, q, bh, r->aux + at, h, y);
    }
  }
}

/* Threads pay off above this many flops of work for a recurrent op. */
#ifndef NN__REC_OMP_MIN_FLOPS
#define NN__REC_OMP_MIN_FLOPS 2e6
#endif
static int nn__rec_parallel(const nn__ctx *c, const nn__rec *r) {
  double steps = 0;
  int b;
  for (b = 0; b < r->n; b++) steps += nn__seq_len(c, b, r->T);
  return 2.0 * steps * r->dirs * r->GH * (r->F + r->H) >= NN__REC_OMP_MIN_FLOPS;
}
static int nn__rec_fwd(const nn__ctx *c) {
  nn__rec r = nn__rec_get(c);
  const int T = r.T, F = r.F, GH = r.GH, N = r.dirs * GH, HD = r.dirs * r.H;
  int b, i, item, par;
  if (!nn__seq_lengths_ok(c, T)) return 0;
  par = nn__rec_parallel(c, &r);
  (void)par;
  /* the input projection of each sample's valid steps, and zero outputs
     past them */
#ifdef _OPENMP
#pragma omp parallel for schedule(dynamic) if (par)
#endif
  for (b = 0; b < r.n; b++) {
    int L = nn__seq_len(c, b, T), t, j, d;
    for (d = 0; d < r.dirs && L > 0; d++) {
      float *P = r.P + (size_t)b * T * N + (size_t)d * GH;
      const float *bi = NN__REC_W(c->x, d, 2);
      nn__sgemm(0, 1, L, GH, F, 1.0f, c->x[0] + (size_t)b * T * F, F, NN__REC_W(c->x, d, 0), F, 0.0f, P, N, nn__gemm_work(c));
      for (t = 0; t < L; t++)
        for (j = 0; j < GH; j++) P[(size_t)t * N + j] += bi[j];
    }
    if (L < T) memset(c->y + ((size_t)b * T + L) * HD, 0, (size_t)(T - L) * HD * sizeof(float));
  }
  /* samples by falling length (insertion sort: batches come nearly sorted) */
  for (b = 0; b < r.n; b++) {
    int L = nn__seq_len(c, b, T);
    for (i = b; i > 0 && nn__seq_len(c, (int)r.order[i - 1], T) < L; i--) r.order[i] = r.order[i - 1];
    r.order[i] = (float)b;
  }
#ifdef _OPENMP
#pragma omp parallel for schedule(static, 1) if (par)
#endif
  for (item = 0; item < r.dirs * r.chunks; item++) nn__rec_fwd_group(c, &r, item % r.dirs, item / r.dirs);
  return 1;
}

/* Backward of one step of one sample: dh is the gradient reaching h_t
   from later steps and receives the part that reaches h_{t-1} directly
   (gru: dh z; the W_hh path is added by the step's GEMM); p receives dG_ih
   in place of the gates, q dG_hh. */
static void nn__rnn_back(int H, float *NN__RESTRICT p, float *NN__RESTRICT q, const float *NN__RESTRICT y,
                         const float *NN__RESTRICT dy, const float *NN__RESTRICT dh) {
  int j;
  for (j = 0; j < H; j++) q[j] = p[j] = (dy[j] + dh[j]) * (1.0f - y[j] * y[j]);
}
/* ca: c_t; cp: c_{t-1} (zeros at the first step); dc: the cell gradient */
static void nn__lstm_back(int H, float *NN__RESTRICT p, float *NN__RESTRICT q, const float *NN__RESTRICT ca,
                          const float *NN__RESTRICT cp, const float *NN__RESTRICT dy, const float *NN__RESTRICT dh,
                          float *NN__RESTRICT dc) {
  int j;
  for (j = 0; j < H; j++) {
    float ig = p[j], fg = p[H + j], gg = p[2 * H + j], og = p[3 * H + j];
    float tc = nn__tanh(ca[j]), g = dy[j] + dh[j], dcn = dc[j] + g * og * (1.0f - tc * tc);
    q[j] = dcn * gg * ig * (1.0f - ig);
    q[H + j] = dcn * cp[j] * fg * (1.0f - fg);
    q[2 * H + j] = dcn * ig * (1.0f - gg * gg);
    q[3 * H + j] = g * tc * og * (1.0f - og);
    dc[j] = dcn * fg;
  }
  memcpy(p, q, (size_t)4 * H * sizeof(float));   /* storing both in the loop stops gcc 12 vectorising it */
}
/* hn: W_hn h_{t-1} + b_hn, replaced by its gradient; hp: h_{t-1} */
static void nn__gru_back(int H, float *NN__RESTRICT p, float *NN__RESTRICT q, float *NN__RESTRICT hn,
                         const float *NN__RESTRICT hp, const float *NN__RESTRICT dy, float *NN__RESTRICT dh) {
  int j;
  for (j = 0; j < H; j++) {
    float rg = p[j], zg = p[H + j], ng = p[2 * H + j], g = dy[j] + dh[j];
    float dn = g * (1.0f - zg) * (1.0f - ng * ng);
    q[j] = p[j] = dn * hn[j] * rg * (1.0f - rg);
    q[H + j] = p[H + j] = g * (hp[j] - ng) * zg * (1.0f - zg);
    p[2 * H + j] = dn;
    q[2 * H + j] = hn[j] = dn * rg;
    dh[j] = g * zg;
  }
}

/* Backward of one direction of one group, steps in reverse.  After each
   step's samples, one GEMM dh_prev = dG_hh W_hh (gru: added to dh z).  The
   forward cell states are not needed here, so `cs` holds zeros: the
   previous state of a first step. */
static void nn__rec_bwd_group(const nn__ctx *c, const nn__rec *r, int d, int k) {
  const int H = r->H, GH = r->GH, dirs = r->dirs, T = r->T, R = nn__rec_group(r, k);
  const size_t slot = (size_t)d * r->rows + (size_t)k * ((r->n + r->chunks - 1) / r->chunks);
  const float *Whh = NN__REC_W(c->x, d, 1);
  float *dhs = r->dh + slot * H, *dcs = r->dc + slot * H, *gh = r->gh + slot * GH, *zeros = r->cs + slot * H;
  int M = 0, s, i, steps = R ? nn__seq_len(c, nn__rec_sample(r, k, 0), r->T) : 0;
  memset(dhs, 0, (size_t)R * H * sizeof(float));
  memset(dcs, 0, (size_t)R * H * sizeof(float));
  memset(zeros, 0, (size_t)H * sizeof(float));
  for (s = steps - 1; s >= 0; s--) {
    while (M < R && nn__seq_len(c, nn__rec_sample(r, k, M), r->T) > s) M++;
    for (i = 0; i < M; i++) {
      int b = nn__rec_sample(r, k, i), L = nn__seq_len(c, b, r->T), t = d ? L - 1 - s : s, tp = d ? t + 1 : t - 1;
      size_t row = (size_t)b * T + t, at = row * dirs * H + (size_t)d * H;
      size_t prev = ((size_t)b * T + (size_t)tp) * dirs * H + (size_t)d * H;   /* only read when s > 0 */
      float *p = r->P + row * dirs * GH + (size_t)d * GH, *q = gh + (size_t)i * GH, *dh = dhs + (size_t)i * H;
      const float *dy = c->dy + at;
      if (r->op == NN_OP_RNN) nn__rnn_back(H, p, q, c->y + at, dy, dh);
      else if (r->op == NN_OP_LSTM) nn__lstm_back(H, p, q, r->aux + at, s > 0 ? r->aux + prev : zeros, dy, dh, dcs + (size_t)i * H);
      else nn__gru_back(H, p, q, r->aux + at, s > 0 ? c->y + prev : zeros, dy, dh);
    }
    if (s > 0) nn__sgemm(0, 0, M, H, GH, 1.0f, gh, GH, Whh, H, r->op == NN_OP_GRU ? 1.0f : 0.0f, dhs, H, nn__gemm_work(c));
  }
}

static int nn__rec_bwd(const nn__ctx *c) {
  nn__rec r = nn__rec_get(c);
  const int T = r.T, F = r.F, H = r.H, GH = r.GH, N = r.dirs * GH, HD = r.dirs * H;
  const int gate_rows = r.op == NN_OP_GRU ? 2 * H : GH;   /* gru: W_hn's rows come from aux */
  /* per block of samples and direction: dW_ih, dW_hh, db_ih, db_hh */
  const size_t wi = (size_t)GH * F, wh = (size_t)GH * H, per_dir = wi + wh + 2 * (size_t)GH, per = nn__rec_part(c->node);
  int threads = r.threads, b, item, t, d, k, par = nn__rec_parallel(c, &r);
  int block = r.n > threads ? (r.n + threads - 1) / threads : 1;   /* samples per partial sum */
  (void)par;
#ifdef _OPENMP
#pragma omp parallel for schedule(static, 1) if (par)
#endif
  for (item = 0; item < r.dirs * r.chunks; item++) nn__rec_bwd_group(c, &r, item % r.dirs, item / r.dirs);
  memset(r.part, 0, (size_t)threads * per * sizeof(float));
  /* per sample and direction: dx += dG_ih W_ih, and the weight gradients
     from all its steps at once, into this thread's partial sums */
#ifdef _OPENMP
#pragma omp parallel for schedule(static, block) if (par)
#endif
  for (b = 0; b < r.n; b++) {
    int L = nn__seq_len(c, b, T), d2, t2, j2;
    const float *A = r.aux + (size_t)b * T * HD, *Y = c->y + (size_t)b * T * HD, *X = c->x[0] + (size_t)b * T * F;
    for (d2 = 0; d2 < r.dirs && L > 0; d2++) {
      float *pwi = r.part + (size_t)(b / block) * per + (size_t)d2 * per_dir, *pwh = pwi + wi, *pbi = pwh + wh, *pbh = pbi + GH;
      const float *P = r.P + (size_t)b * T * N + (size_t)d2 * GH, *Ad = A + (size_t)d2 * H;
      /* h_prev of step t is h at t-1 (forward) or t+1 (reverse); the
         first step's is zero and adds nothing to dW_hh */
      const size_t first = d2 ? 0 : 1, from = d2 ? 1 : 0;
      const float *Hp = Y + from * HD + (size_t)d2 * H;
      if (c->dx[0]) nn__sgemm(0, 0, L, F, GH, 1.0f, P, N, NN__REC_W(c->x, d2, 0), F, 1.0f, c->dx[0] + (size_t)b * T * F, F, nn__gemm_work(c));
      if (NN__REC_W(c->dx, d2, 0)) nn__sgemm(1, 0, GH, F, L, 1.0f, P, N, X, F, 1.0f, pwi, F, nn__gemm_work(c));
      if (NN__REC_W(c->dx, d2, 1) && L > 1) {
        nn__sgemm(1, 0, gate_rows, H, L - 1, 1.0f, P + first * N, N, Hp, HD, 1.0f, pwh, H, nn__gemm_work(c));
        if (r.op == NN_OP_GRU)
          nn__sgemm(1, 0, H, H, L - 1, 1.0f, Ad + first * HD, HD, Hp, HD, 1.0f, pwh + (size_t)2 * H * H, H, nn__gemm_work(c));
      }
      for (t2 = 0; t2 < L; t2++) {
        const float *p = P + (size_t)t2 * N, *a = Ad + (size_t)t2 * HD;
        if (NN__REC_W(c->dx, d2, 2)) for (j2 = 0; j2 < GH; j2++) pbi[j2] += p[j2];
        if (!NN__REC_W(c->dx, d2, 3)) continue;
        for (j2 = 0; j2 < gate_rows; j2++) pbh[j2] += p[j2];
        if (r.op == NN_OP_GRU)
          for (j2 = 0; j2 < H; j2++) pbh[2 * H + j2] += a[j2];
      }
    }
  }
  for (t = 0; t < threads; t++)
    for (d = 0; d < r.dirs; d++) {
      const float *part = r.part + (size_t)t * per + (size_t)d * per_dir;
      const size_t at[4] = {0, wi, wi + wh, wi + wh + GH}, len[4] = {wi, wh, (size_t)GH, (size_t)GH};
      size_t q;
      for (k = 0; k < 4; k++) {
        float *dw = NN__REC_W(c->dx, d, k);
        if (dw) for (q = 0; q < len[k]; q++) dw[q] += part[at[k] + q];
      }
    }
  return 1;
}
static double nn__rec_flops(const nn_node *nd) {
  const nn_recurrent_attr *a = &nd->attr.recurrent;
  return 2.0 * a->dirs * nd->shape.dim[0] * (double)a->gates * a->hidden * (NN__LAST(nd->in[0]) + a->hidden);
}

static nn_node *nn__recurrent(nn_graph *g, nn_op op, nn_node *x, nn_node *lengths, int hidden, int layers, int flags) {
  const char *name = nn_op_name(op);
  char pre[NN_NAME_LEN], pname[32], nname[NN_NAME_LEN];
  int dirs = (flags & NN_BIDIRECTIONAL) ? 2 : 1, GH = (op == NN_OP_LSTM ? 4 : op == NN_OP_GRU ? 3 : 1) * hidden, l, k, d;
  float a = hidden > 0 ? 1.0f / sqrtf((float)hidden) : 0;
  if (!nn__ready(g, name, 1, &x) || !nn__need_batched(g, name, x, 2, 2) || !nn__lengths_ok(g, name, lengths)) return NULL;
  if (hidden < 1 || layers < 1 || layers > 99 || (flags & ~NN_BIDIRECTIONAL))
    return nn__gfail(g, "%s: hidden %d, layers %d, flags %d", name, hidden, layers, flags);
  if (!nn__layer_prefix(g, name, pre)) return NULL;
  for (l = 0; l < layers && x; l++) {
    static const char *const what[4] = {"weight_ih", "weight_hh", "bias_ih", "bias_hh"};
    nn_node *in[10];
    int F = NN__LAST(x);
    in[0] = x;
    in[1] = lengths;
    /* made kind by kind, the reverse direction after the forward one: the
       same initial values as nn.h 0.2's joined tensors */
    for (k = 0; k < 4; k++)
      for (d = 0; d < dirs; d++) {
        snprintf(pname, sizeof pname, "%s_l%u%s", what[k], (unsigned)l % 100u, d ? "_reverse" : "");
        in[2 + 4 * d + k] = nn__layer_param(g, pre, pname, k < 2 ? nn__shape2(GH, k == 0 ? F : hidden) : nn__shape1(GH),
                                            NN_INIT_UNIFORM, a, k == 0 ? F : hidden, GH);
        if (!in[2 + 4 * d + k]) return NULL;
      }
    if (layers > 1) snprintf(nname, sizeof nname, "%.58s.l%u", pre, (unsigned)l % 100u);
    else snprintf(nname, sizeof nname, "%s", pre);
    x = nn__add_node(g, op, 2 + 4 * dirs, in, nn__shape2(x->shape.dim[0], dirs * hidden), 1, nname);
    if (x) { x->attr.recurrent.hidden = hidden; x->attr.recurrent.dirs = dirs; x->attr.recurrent.gates = GH / hidden; }
  }
  return x;
}
NNDEF nn_node *nn_rnn(nn_graph *g, nn_node *x, nn_node *len, int hidden, int layers, int flags) {
  return nn__recurrent(g, NN_OP_RNN, x, len, hidden, layers, flags);
}
NNDEF nn_node *nn_lstm(nn_graph *g, nn_node *x, nn_node *len, int hidden, int layers, int flags) {
  return nn__recurrent(g, NN_OP_LSTM, x, len, hidden, layers, flags);
}
NNDEF nn_node *nn_gru(nn_graph *g, nn_node *x, nn_node *len, int hidden, int layers, int flags) {
  return nn__recurrent(g, NN_OP_GRU, x, len, hidden, layers, flags);
}
static const nn__cpu_op nn__cpu_op_rnn = {nn__rec_fwd, nn__rec_bwd, nn__rec_ws, nn__rec_flops};
static const nn__cpu_op nn__cpu_op_lstm = {nn__rec_fwd, nn__rec_bwd, nn__rec_ws, nn__rec_flops};
static const nn__cpu_op nn__cpu_op_gru = {nn__rec_fwd, nn__rec_bwd, nn__rec_ws, nn__rec_flops};

/* ---- reductions over the valid steps of x [T, F] -> [F] ----
   seq_last: attr.seq.reverse_features trailing features are taken at step 0
   (a reverse direction).
   seq_maxpool: workspace: the winning step of every output. */
static int nn__seq_last_fwd(const nn__ctx *c) {
  const int T = NN__IN(c, 0)->shape.dim[0], F = NN__LAST(c->node), back = c->node->attr.seq.reverse_features;
  int b, j;
  if (!nn__seq_lengths_ok(c, T)) return 0;
  for (b = 0; b < c->n; b++) {
    int L = nn__seq_len(c, b, T);
    const float *x = c->x[0] + (size_t)b * T * F;
    for (j = 0; j < F; j++) c->y[(size_t)b * F + j] = L == 0 ? 0.0f : x[(size_t)(j < F - back ? L - 1 : 0) * F + j];
  }
  return 1;
}
static int nn__seq_last_bwd(const nn__ctx *c) {
  const int T = NN__IN(c, 0)->shape.dim[0], F = NN__LAST(c->node), back = c->node->attr.seq.reverse_features;
  int b, j;
  for (b = 0; b < c->n; b++) {
    int L = nn__seq_len(c, b, T);
    float *dx = c->dx[0] + (size_t)b * T * F;
    if (L > 0)
      for (j = 0; j < F; j++) dx[(size_t)(j < F - back ? L - 1 : 0) * F + j] += c->dy[(size_t)b * F + j];
  }
  return 1;
}
static size_t nn__seq_max_ws(const nn_node *n, int batch) { return (size_t)batch * nn__per(n); }
static int nn__seq_max_fwd(const nn__ctx *c) {
  const int T = NN__IN(c, 0)->shape.dim[0], F = NN__LAST(c->node);
  int b, t, j;
  if (!nn__seq_lengths_ok(c, T)) return 0;
  for (b = 0; b < c->n; b++) {
    int L = nn__seq_len(c, b, T);
    const float *x = c->x[0] + (size_t)b * T * F;
    float *y = c->y + (size_t)b * F, *arg = c->ws + (size_t)b * F;
    for (j = 0; j < F; j++) { y[j] = L ? x[j] : 0.0f; arg[j] = L ? 0.0f : -1.0f; }
    for (t = 1; t < L; t++)
      for (j = 0; j < F; j++)
        if (x[(size_t)t * F + j] > y[j]) { y[j] = x[(size_t)t * F + j]; arg[j] = (float)t; }
  }
  return 1;
}
static int nn__seq_max_bwd(const nn__ctx *c) {
  const int T = NN__IN(c, 0)->shape.dim[0], F = NN__LAST(c->node);
  int b, j;
  for (b = 0; b < c->n; b++) {
    const float *arg = c->ws + (size_t)b * F;
    for (j = 0; j < F; j++)
      if (arg[j] >= 0) c->dx[0][((size_t)b * T + (size_t)arg[j]) * F + j] += c->dy[(size_t)b * F + j];
  }
  return 1;
}
static int nn__seq_mean_fwd(const nn__ctx *c) {
  const int T = NN__IN(c, 0)->shape.dim[0], F = NN__LAST(c->node);
  int b, t, j;
  if (!nn__seq_lengths_ok(c, T)) return 0;
  for (b = 0; b < c->n; b++) {
    int L = nn__seq_len(c, b, T);
    const float *x = c->x[0] + (size_t)b * T * F;
    float *y = c->y + (size_t)b * F;
    for (j = 0; j < F; j++) y[j] = 0.0f;
    for (t = 0; t < L; t++)
      for (j = 0; j < F; j++) y[j] += x[(size_t)t * F + j];
    if (L > 0) for (j = 0; j < F; j++) y[j] /= (float)L;
  }
  return 1;
}
static int nn__seq_mean_bwd(const nn__ctx *c) {
  const int T = NN__IN(c, 0)->shape.dim[0], F = NN__LAST(c->node);
  int b, t, j;
  for (b = 0; b < c->n; b++) {
    int L = nn__seq_len(c, b, T);
    float *dx = c->dx[0] + (size_t)b * T * F;
    const float *dy = c->dy + (size_t)b * F;
    for (t = 0; t < L; t++)
      for (j = 0; j < F; j++) dx[(size_t)t * F + j] += dy[j] / (float)L;
  }
  return 1;
}
static double nn__seq_flops(const nn_node *n) { return (double)nn__per(n->in[0]); }

static nn_node *nn__seq_reduce(nn_graph *g, nn_op op, nn_node *x, nn_node *lengths) {
  const char *name = nn_op_name(op);
  nn_node *in[2], *y;
  if (!nn__ready(g, name, 1, &x) || !nn__need_batched(g, name, x, 2, 2) || !nn__lengths_ok(g, name, lengths)) return NULL;
  in[0] = x;
  in[1] = lengths;
  y = nn__add_node(g, op, 2, in, nn__shape1(NN__LAST(x)), 1, NULL);
  if (y && op == NN_OP_SEQ_LAST && (x->op == NN_OP_RNN || x->op == NN_OP_LSTM || x->op == NN_OP_GRU) && x->attr.recurrent.dirs == 2)
    y->attr.seq.reverse_features = x->attr.recurrent.hidden;
  return y;
}
NNDEF nn_node *nn_seq_last(nn_graph *g, nn_node *x, nn_node *len) { return nn__seq_reduce(g, NN_OP_SEQ_LAST, x, len); }
NNDEF nn_node *nn_seq_maxpool(nn_graph *g, nn_node *x, nn_node *len) { return nn__seq_reduce(g, NN_OP_SEQ_MAXPOOL, x, len); }
NNDEF nn_node *nn_seq_meanpool(nn_graph *g, nn_node *x, nn_node *len) { return nn__seq_reduce(g, NN_OP_SEQ_MEANPOOL, x, len); }

static const nn__cpu_op nn__cpu_op_seq_last = {nn__seq_last_fwd, nn__seq_last_bwd, NULL, NULL};
static const nn__cpu_op nn__cpu_op_seq_maxpool = {nn__seq_max_fwd, nn__seq_max_bwd, nn__seq_max_ws, nn__seq_flops};
static const nn__cpu_op nn__cpu_op_seq_meanpool = {nn__seq_mean_fwd, nn__seq_mean_bwd, NULL, nn__seq_flops};

/* The CPU table, generated from NN_OPS: an op without its block above
   (ending in nn__cpu_op_<name>) does not compile. */
#define NN__CPU_ROW(ID, name) &nn__cpu_op_##name,
static const nn__cpu_op *const nn__cpu_ops[] = { NN_OPS(NN__CPU_ROW) };
#undef NN__CPU_ROW
typedef char nn__cpu_ops_complete[sizeof nn__cpu_ops / sizeof nn__cpu_ops[0] == NN_OP_COUNT ? 1 : -1];

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
static size_t nn__cpu_workspace(nn_backend *b, const nn_node *node, int batch) {
  (void)b;
  return nn__cpu_ops[node->op]->workspace ? nn__cpu_ops[node->op]->workspace(node, batch) : 0;
}
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
  if (!nn__cpu_ops[node->op]->forward) return 1;
  nn__cpu_ctx(m, node, &c);
  return nn__cpu_ops[node->op]->forward(&c);
}
static int nn__cpu_backward(nn_backend *b, nn_model *m, const nn_node *node) {
  nn__ctx c;
  (void)b;
  if (!nn__cpu_ops[node->op]->backward) return 1;
  nn__cpu_ctx(m, node, &c);
  return nn__cpu_ops[node->op]->backward(&c);
}
/* SGD, Adam and RMSprop as in PyTorch; flags select Nesterov momentum and
   decoupled weight decay (w -= lr * wd * w before the gradient step).
   L1 joins the gradient with the sign of the weight before any decay. */
static int nn__cpu_update(nn_backend *b, const nn_update *u) {
  float *NN__RESTRICT w = (float *)u->w, *NN__RESTRICT s1 = (float *)u->s1, *NN__RESTRICT s2 = (float *)u->s2;
  const float *NN__RESTRICT g = (const float *)u->g;
  float lr = u->lr, wd = u->weight_decay, mom = u->momentum, gs = u->grad_scale, l1 = u->l1;
  int decoupled = (u->flags & NN_DECOUPLED_WD) != 0, nesterov = (u->flags & NN_NESTEROV) != 0;
  float bc1 = 1.0f - (float)pow(u->beta1, (double)u->step), bc2 = 1.0f - (float)pow(u->beta2, (double)u->step);
  ptrdiff_t i, len = (ptrdiff_t)u->n;
  (void)b;
  NN__OMP_FOR_LEN
  for (i = 0; i < len; i++) {
    float gi = g[i] * gs + l1 * (float)((w[i] > 0) - (w[i] < 0)), d;
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
static int nn__cpu_sumsq(nn_backend *b, const void *const *bufs, const size_t *n, int count, double *out,
                         const void *peek, float *peeked) {
  int k;
  (void)b;
  for (k = 0; k < count; k++) {
    const float *p = (const float *)bufs[k];
    double s = 0;
    size_t i;
    for (i = 0; i < n[k]; i++) s += (double)p[i] * p[i];
    out[k] = s;
  }
  if (peek) *peeked = *(const float *)peek;
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
static int nn__cpu_gather(nn_backend *b, const void *const *bufs, const size_t *n, int count, float *dst) {
  int k;
  (void)b;
  for (k = 0; k < count; dst += n[k], k++) memcpy(dst, bufs[k], n[k] * sizeof(float));
  return 1;
}
static int nn__cpu_scatter(nn_backend *b, void *const *bufs, const size_t *n, int count, const float *src) {
  int k;
  (void)b;
  for (k = 0; k < count; src += n[k], k++) memcpy(bufs[k], src, n[k] * sizeof(float));
  return 1;
}
static void nn__cpu_destroy(nn_backend *b) {
  NN_FREE(((nn__cpu_impl *)b->impl)->gemm_work);
  NN_FREE(b->impl);
  NN_FREE(b);
}

static const nn_backend_ops nn__cpu_backend_ops = {
  "cpu", nn__cpu_alloc, nn__cpu_release, nn__cpu_write, nn__cpu_read, nn__cpu_fill, nn__cpu_copy,
  nn__cpu_supports, nn__cpu_workspace, nn__cpu_forward, nn__cpu_backward, nn__cpu_update,
  nn__cpu_sumsq, nn__cpu_scale, nn__cpu_lerp, nn__cpu_destroy, nn__cpu_gather, nn__cpu_scatter};

NNDEF int nn_backend_free(nn_backend *b) {
  if (!b) return 1;
  if (b->models) return nn__fail("backend_free: '%s' runs %d model(s); the last one frees it", b->ops->name, b->models);
  b->ops->destroy(b);
  return 1;
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
  b->ops = &nn__cpu_backend_ops;
  b->impl = impl;
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

static size_t nn__numel(const nn_model *m, const nn_node *n) { return n->batched ? (size_t)m->batch * nn__per(n) : nn__per(n); }

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

/* frees a model's buffers and arrays; with `owned`, it also lets go of
   its graph and backend, freeing each with its last model */
static void nn__model_destroy(nn_model *m, int owned) {
  nn_backend *be = m->backend;
  int i;
  float none;
  /* a backend may still hold deferred work of this model (a device's
     label checks): a read of nothing finishes it */
  if (owned) be->ops->read(be, m->value[0], 0, &none, 0);
  for (i = 0; i < m->graph->n; i++) {
    if (m->graph->nodes[i]->op == NN_OP_RESHAPE) continue;  /* borrowed */
    if (m->value && m->value[i]) be->ops->release(be, m->value[i]);
    if (m->grad && m->grad[i]) be->ops->release(be, m->grad[i]);
    if (m->ws && m->ws[i]) be->ops->release(be, m->ws[i]);
  }
  if (owned) {
    if (--be->models == 0 && be->ops->destroy) be->ops->destroy(be);
    if (--m->graph->models == 0) nn__graph_destroy(m->graph);
  }
  NN_FREE(m->value);
  NN_FREE(m->grad);
  NN_FREE(m->ws);
  NN_FREE(m->ws_size);
  NN_FREE(m->active);
  NN_FREE(m->batches);
  NN_FREE(m->pending);
  NN_FREE(m->norm_scratch);
  NN_FREE(m);
}
/* one holder (the caller, an optimizer, an average, an iterator) less */
static void nn__model_unref(nn_model *m) {
  if (--m->refs == 0) nn__model_destroy(m, 1);
}
NNDEF void nn_model_free(nn_model *m) {
  if (!m) return;
  if (m->freed) { nn__fail("model_free: the model was freed already"); return; }
  m->freed = 1;
  nn__model_unref(m);
}
/* 1 if m is a live model; else 0 with the reason */
static int nn__model_ok(const nn_model *m, const char *fn) {
  if (!m) return nn__null(fn, "model");
  if (m->freed) return nn__fail("%s: the model was freed (nn_model_free)", fn);
  return 1;
}
/* 1 if n is a node of m's graph; else 0 naming both */
static int nn__node_ok(const nn_model *m, const nn_node *n, const char *fn) {
  if (!nn__model_ok(m, fn)) return 0;
  if (!n) return nn__null(fn, "node");
  if (n->graph != m->graph || n->id < 0 || n->id >= m->graph->n || m->graph->nodes[n->id] != n)
    return nn__fail("%s: node '%s' belongs to another graph than the model's (compiled from a graph of %d nodes)", fn,
                    n->name, m->graph->n);
  return 1;
}

static int nn__alloc_buffers(nn_model *m) {
  nn_graph *g = m->graph;
  nn_backend *be = m->backend;
  int i, k;
  for (i = 0; i < g->n; i++) {
    nn_node *nd = g->nodes[i];
    size_t len = nd->batched ? (size_t)m->max_batch * nn__per(nd) : nn__per(nd);
    double bytes = (nd->batched ? (double)m->max_batch : 1.0) * sizeof(float);   /* in double: size_t wraps on 32 bits */
    for (k = 0; k < nd->shape.ndim; k++) bytes *= nd->shape.dim[k];
    if (bytes > (double)((size_t)-1 / 2))
      return nn__fail("'%s' (%s) needs %.0f bytes, more than this machine's address space", nd->name, nn_op_name(nd->op), bytes);
    if (nd->op == NN_OP_RESHAPE) {   /* a view: same memory, new shape */
      m->value[i] = m->value[nd->in[0]->id];
      m->grad[i] = m->grad[nd->in[0]->id];
      continue;
    }
    if (!(m->value[i] = be->ops->alloc(be, len))) return 0;
    if (nd->needs_grad && !(m->grad[i] = be->ops->alloc(be, len))) return 0;
    m->ws_size[i] = be->ops->workspace ? be->ops->workspace(be, nd, m->max_batch) : 0;
    if (m->ws_size[i] && !(m->ws[i] = be->ops->alloc(be, m->ws_size[i]))) return 0;
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
    ok = m->backend->ops->write(m->backend, m->value[i], 0, host, nn__per(p));
  }
  NN_FREE(host);
  return ok;
}

/* ---- canonical layer names ----------------------------------------
   Automatic layer names numbered in an order that depends on the graph's
   structure only, not on the order C evaluated the builder calls in: a
   depth-first walk, inputs in order, from the loss and then from each node
   nothing uses (in creation order: such nodes come from separate
   statements, which C sequences); a layer's number is the rank of its
   first node the walk finishes.  For a chain of layers it is the order
   they were built in. */
static int nn__layer_of(const nn_graph *g, const nn_node *nd) {
  int lo = 0, hi = g->layers - 1, k = -1;
  size_t len;
  while (lo <= hi) {   /* the last layer that starts at or before nd */
    int mid = (lo + hi) / 2;
    if (g->layer[mid].first <= nd->id) { k = mid; lo = mid + 1; }
    else hi = mid - 1;
  }
  if (k < 0) return -1;
  len = strlen(g->layer[k].prefix);
  return !strncmp(nd->name, g->layer[k].prefix, len) && (nd->name[len] == 0 || nd->name[len] == '.') ? k : -1;
}
/* the final names of the nodes of automatic layers into names (NN_NAME_LEN
   bytes each, "" for a node that keeps its name); 0 with the reason if
   two nodes would share a name */
static int nn__canonical_names(const nn_graph *g, char *names) {
  int *stack = (int *)nn__calloc((size_t)g->n + 1, 2 * sizeof(int)), *number = (int *)nn__calloc((size_t)g->layers + 1, sizeof(int));
  unsigned char *seen = (unsigned char *)nn__calloc((size_t)g->n, 1), *used = (unsigned char *)nn__calloc((size_t)g->n, 1);
  int i, k, top, root, next = 0, renamed = 0, ok = 1;
  if (!stack || !number || !seen || !used) ok = 0;
  for (i = 0; ok && i < g->n; i++)
    for (k = 0; k < g->nodes[i]->n_in; k++) if (g->nodes[i]->in[k]) used[g->nodes[i]->in[k]->id] = 1;
  for (k = 0; ok && k < g->layers; k++) number[k] = -1;
  for (root = -1; ok && root < g->n; root++) {
    const nn_node *r = root < 0 ? g->loss : used[root] ? NULL : g->nodes[root];
    if (!r || seen[r->id]) continue;
    top = 0;
    stack[0] = r->id; stack[1] = 0; seen[r->id] = 1;
    while (top >= 0) {   /* stack: (node, next input) pairs */
      const nn_node *nd = g->nodes[stack[2 * top]];
      int *in = &stack[2 * top + 1];
      while (*in < nd->n_in && (!nd->in[*in] || seen[nd->in[*in]->id])) (*in)++;
      if (*in < nd->n_in) {
        const nn_node *c = nd->in[(*in)++];
        seen[c->id] = 1;
        top++;
        stack[2 * top] = c->id; stack[2 * top + 1] = 0;
        continue;
      }
      k = nn__layer_of(g, nd);
      if (k >= 0 && number[k] < 0) number[k] = next++;
      top--;
    }
  }
  for (i = 0; ok && i < g->n; i++) {
    const nn_node *nd = g->nodes[i];
    k = nn__layer_of(g, nd);
    if (k < 0 || !g->layer[k].kind || number[k] == k) continue;
    if (snprintf(names + (size_t)i * NN_NAME_LEN, NN_NAME_LEN, "%s%d%s", g->layer[k].kind, number[k],
                 nd->name + strlen(g->layer[k].prefix)) >= NN_NAME_LEN)
      ok = nn__fail("compile: the name of '%s' renumbered is longer than %d bytes", nd->name, NN_NAME_LEN - 1);
    renamed = 1;
  }
  for (i = 0; ok && renamed && i < g->n; i++) {   /* a renumbered name may be one nn_layer_name gave */
    const char *a = names + (size_t)i * NN_NAME_LEN;
    if (!*a) continue;
    for (k = 0; ok && k < g->n; k++)
      if (k != i && !strcmp(a, names[(size_t)k * NN_NAME_LEN] ? names + (size_t)k * NN_NAME_LEN : g->nodes[k]->name))
        ok = nn__fail("compile: the layer '%s' is numbered '%s' in the graph's order, a name already taken; "
                      "name one of them with nn_layer_name", g->nodes[i]->name, a);
  }
  NN_FREE(stack); NN_FREE(number); NN_FREE(seen); NN_FREE(used);
  return ok;
}

NNDEF nn_model *nn_compile(nn_graph *g, int batch, nn_backend *be) {
  nn_model *m = NULL;
  char *names = NULL;
  int i, k;
  if (!g || !be) { nn__null("compile", g ? "backend" : "graph"); return NULL; }
  if (g->failed) { nn__fail("compile: the graph has an error: %s", g->error); return NULL; }
  if (g->n == 0) { nn__fail("compile: the graph is empty"); return NULL; }
  if (batch < 1) { nn__fail("compile: batch size %d", batch); return NULL; }
  for (i = 0; i < g->n; i++) {
    nn_node *nd = g->nodes[i];
    if (!be->ops->supports(be, nd)) { nn__fail("compile: backend '%s' cannot run op %s ('%s')", be->ops->name, nn_op_name(nd->op), nd->name); return NULL; }
    if (nd->op == NN_OP_PARAM) nd->needs_grad = nd->trainable;
    else if (nd->op != NN_OP_INPUT) {
      nd->needs_grad = 0;
      for (k = 0; k < nd->n_in; k++) if (nd->in[k] && nd->in[k]->needs_grad) nd->needs_grad = 1;
    }
  }
  /* names are given once, by the first model; applied when it succeeds */
  if (!g->models && (!(names = (char *)nn__calloc((size_t)g->n, NN_NAME_LEN)) || !nn__canonical_names(g, names))) goto fail;
  m = (nn_model *)nn__calloc(1, sizeof *m);
  if (!m) goto fail;
  m->graph = g;
  m->backend = be;
  m->refs = 1;
  m->max_batch = m->batch = batch;
  m->loss = g->loss;
  m->threads = nn__max_threads();
  m->value = (void **)nn__calloc((size_t)g->n, sizeof(void *));
  m->grad = (void **)nn__calloc((size_t)g->n, sizeof(void *));
  m->ws = (void **)nn__calloc((size_t)g->n, sizeof(void *));
  m->ws_size = (size_t *)nn__calloc((size_t)g->n, sizeof(size_t));
  m->active = (unsigned char *)nn__calloc((size_t)g->n, 1);
  m->batches = (int64_t *)nn__calloc((size_t)g->n, sizeof(int64_t));
  m->pending = (int *)nn__calloc((size_t)g->n, sizeof(int));
  m->norm_scratch = nn__calloc((size_t)g->n, sizeof(void *) + sizeof(size_t) + sizeof(double) + sizeof(int));
  if (!m->value || !m->grad || !m->ws || !m->ws_size || !m->active || !m->batches || !m->pending || !m->norm_scratch) goto fail;
  if (!nn__alloc_buffers(m)) { nn__fail("compile: cannot allocate buffers on '%s': %s", be->ops->name, nn_last_error()); goto fail; }
  if (!nn__init_params(m)) goto fail;
  nn_rng_seed(&m->rng, g->seed ^ 0x5DEECE66DULL);
  for (i = 0; names && i < g->n; i++)
    if (names[(size_t)i * NN_NAME_LEN]) memcpy(g->nodes[i]->name, names + (size_t)i * NN_NAME_LEN, NN_NAME_LEN);
  NN_FREE(names);
  g->models++;
  be->models++;
  return m;
fail:   /* the graph and the backend stay the caller's */
  NN_FREE(names);
  if (m) nn__model_destroy(m, 0);
  return NULL;
}

NNDEF size_t nn_node_numel(const nn_model *m, const nn_node *n) {
  return nn__node_ok(m, n, "node_numel") ? nn__numel(m, n) : 0;
}
NNDEF int nn_set_batch(nn_model *m, int n) {
  if (!nn__model_ok(m, "set_batch")) return 0;
  if (n < 1 || n > m->max_batch) return nn__fail("set_batch: %d is outside 1..%d (the compiled batch)", n, m->max_batch);
  m->batch = n;
  return 1;
}
NNDEF int nn_model_set_grad_ready(nn_model *m, nn_grad_ready_fn fn, void *ctx) {
  if (!nn__model_ok(m, "model_set_grad_ready")) return 0;
  m->grad_ready = fn;
  m->grad_ready_ctx = ctx;
  return 1;
}
NNDEF int nn_model_set_batchnorm_sync(nn_model *m, nn_sum_across_fn fn, void *ctx) {
  if (!nn__model_ok(m, "model_set_batchnorm_sync")) return 0;
  m->bn_sync = fn;
  m->bn_sync_ctx = ctx;
  return 1;
}
NNDEF int nn_model_set_seed(nn_model *m, uint64_t seed) {
  if (!nn__model_ok(m, "model_set_seed")) return 0;
  nn_rng_seed(&m->rng, seed);
  return 1;
}
NNDEF nn_node *nn_model_find(const nn_model *m, const char *name) {
  return nn__model_ok(m, "model_find") ? nn_find(m->graph, name) : NULL;
}

/* a host transfer of node n's value (or gradient) checked: n is m's, the
   host pointer is not NULL */
static void *nn__buffer(nn_model *m, const nn_node *n, const void *host, int grad, const char *fn) {
  void *buf;
  if (!nn__node_ok(m, n, fn)) return NULL;
  if (!host) { nn__fail("%s: the host array for '%s' is NULL", fn, n->name); return NULL; }
  buf = grad ? m->grad[n->id] : m->value[n->id];
  if (!buf) nn__fail("%s: '%s' has no gradient", fn, n->name);
  return buf;
}
NNDEF int nn_feed_node(nn_model *m, const nn_node *x, const float *data) {
  void *buf = nn__buffer(m, x, data, 0, "feed");
  if (!buf) return 0;
  if (x->op != NN_OP_INPUT) return nn__fail("feed: '%s' is not an input", x->name);
  return m->backend->ops->write(m->backend, buf, 0, data, nn__numel(m, x));
}
NNDEF int nn_feed(nn_model *m, const char *name, const float *data) {
  nn_node *x;
  if (!nn__model_ok(m, "feed")) return 0;
  if (!name) return nn__null("feed", "input name");
  if (!(x = nn_find(m->graph, name))) return nn__fail("feed: no input named '%s'", name);
  return nn_feed_node(m, x, data);
}
NNDEF int nn_read(nn_model *m, const nn_node *n, float *dst) {
  void *buf = nn__buffer(m, n, dst, 0, "read");
  return buf ? m->backend->ops->read(m->backend, buf, 0, dst, nn__numel(m, n)) : 0;
}
NNDEF int nn_read_grad(nn_model *m, const nn_node *n, float *dst) {
  void *buf = nn__buffer(m, n, dst, 1, "read_grad");
  return buf ? m->backend->ops->read(m->backend, buf, 0, dst, nn__numel(m, n)) : 0;
}
NNDEF int nn_write(nn_model *m, const nn_node *n, const float *src) {
  void *buf = nn__buffer(m, n, src, 0, "write");
  return buf ? m->backend->ops->write(m->backend, buf, 0, src, nn__numel(m, n)) : 0;
}

/* the gradient buffers of nodes[0..count) and their lengths, checked:
   every node m's with a gradient, together within `floats`; NULL with
   the reason on failure, else one allocation (*lens behind the buffers) */
static void **nn__grad_list(nn_model *m, const nn_node *const *nodes, int count, const void *host, size_t floats,
                            size_t **lens, const char *fn) {
  void **bufs;
  size_t total = 0;
  int k;
  if (!nn__model_ok(m, fn)) return NULL;
  if (!nodes || !host) { nn__null(fn, !nodes ? "node list" : "host array"); return NULL; }
  if (count < 0) { nn__fail("%s: %d nodes", fn, count); return NULL; }
  for (k = 0; k < count; k++) {
    if (!nn__node_ok(m, nodes[k], fn)) return NULL;
    if (!m->grad[nodes[k]->id]) { nn__fail("%s: '%s' has no gradient", fn, nodes[k]->name); return NULL; }
    total += nn__numel(m, nodes[k]);
  }
  if (total > floats) {
    nn__fail("%s: the %d gradients hold %zu floats, more than the host array's %zu", fn, count, total, floats);
    return NULL;
  }
  if (!(bufs = (void **)nn__calloc((size_t)count + 1, sizeof(void *) + sizeof(size_t)))) return NULL;
  *lens = (size_t *)(void *)(bufs + count + 1);
  for (k = 0; k < count; k++) {
    bufs[k] = m->grad[nodes[k]->id];
    (*lens)[k] = nn__numel(m, nodes[k]);
  }
  return bufs;
}
/* a backend without gather/scatter: one read or write per buffer */
static int nn__transfer_each(nn_backend *b, void **bufs, const size_t *lens, int count, float *dst, const float *src) {
  size_t at = 0;
  int k;
  for (k = 0; k < count; at += lens[k++])
    if (!(dst ? b->ops->read(b, bufs[k], 0, dst + at, lens[k]) : b->ops->write(b, bufs[k], 0, src + at, lens[k]))) return 0;
  return 1;
}
NNDEF int nn_model_read_grads(nn_model *m, const nn_node *const *nodes, int count, float *dst, size_t floats) {
  size_t *lens;
  void **bufs = nn__grad_list(m, nodes, count, dst, floats, &lens, "model_read_grads");
  nn_backend *b = m ? m->backend : NULL;
  int ok = bufs && (count == 0 || (b->ops->gather ? b->ops->gather(b, (const void *const *)bufs, lens, count, dst)
                                                  : nn__transfer_each(b, bufs, lens, count, dst, NULL)));
  NN_FREE(bufs);
  return ok;
}
NNDEF int nn_model_write_grads(nn_model *m, const nn_node *const *nodes, int count, const float *src, size_t floats) {
  size_t *lens;
  void **bufs = nn__grad_list(m, nodes, count, src, floats, &lens, "model_write_grads");
  nn_backend *b = m ? m->backend : NULL;
  int ok = bufs && (count == 0 || (b->ops->scatter ? b->ops->scatter(b, bufs, lens, count, src)
                                                   : nn__transfer_each(b, bufs, lens, count, NULL, src)));
  NN_FREE(bufs);
  return ok;
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

/* Threads that never hurt. On a machine where another process is busy, or
   for a model too small to share out, one thread beats all of them, and
   OpenMP's waiting threads spin on the cores the work needs. So each kind of
   pass on the CPU backend runs now and then on all of the model's threads and
   on one, twice each, and in between on whichever took less time per sample
   (all of them only if clearly faster). The CPU ops split their work and
   partial sums by the model's thread count, not by the team that runs them,
   so the choice never changes a result. */
enum { NN__PASS_STEP, NN__PASS_TRAIN, NN__PASS_EVAL, NN__PASS_BACKWARD };
#define NN__TEAM_PERIOD 256   /* passes from one timing round to the next */
#ifdef _OPENMP
static int nn__team_begin(nn_model *m, int kind, double *t0) {
  int phase, size, prev = omp_get_max_threads();
  *t0 = 0;
  if (m->team_depth++ || m->threads < 2 || m->backend->ops != &nn__cpu_backend_ops) return 0;
  phase = m->team[kind].calls % NN__TEAM_PERIOD;
  if (phase == 0) m->team[kind].best[0] = m->team[kind].best[1] = HUGE_VAL;
  size = phase < 2 ? m->threads : phase < 4 ? 1 : m->team[kind].threads;
  omp_set_num_threads(size < prev ? size : prev);
  *t0 = omp_get_wtime();
  return prev;
}
static void nn__team_end(nn_model *m, int kind, double t0, int prev) {
  double per_sample;
  int phase;
  if (--m->team_depth || !prev) return;
  per_sample = (omp_get_wtime() - t0) / (m->batch > 0 ? m->batch : 1);
  omp_set_num_threads(prev);
  phase = m->team[kind].calls++ % NN__TEAM_PERIOD;
  if (phase >= 4) return;
  if (per_sample < m->team[kind].best[phase >= 2]) m->team[kind].best[phase >= 2] = per_sample;
  if (phase == 3) m->team[kind].threads = m->team[kind].best[0] < 0.9 * m->team[kind].best[1] ? m->threads : 1;
}
#else
static int nn__team_begin(nn_model *m, int kind, double *t0) { (void)m; (void)kind; *t0 = 0; return 0; }
static void nn__team_end(nn_model *m, int kind, double t0, int prev) { (void)m; (void)kind; (void)t0; (void)prev; }
#endif

static int nn__run_forward(nn_model *m, const nn_node *target, int training) {
  int i, ok = 1, kind = training ? NN__PASS_TRAIN : NN__PASS_EVAL, team;
  double t0;
  m->training = training;
  nn__mark(m, target);
  team = nn__team_begin(m, kind, &t0);
  for (i = 0; i <= target->id && ok; i++) {
    nn_node *nd = m->graph->nodes[i];
    if (!m->active[i] || nn__is_leaf(nd)) continue;
    ok = m->backend->ops->forward(m->backend, m, nd);
    /* counted here, not in the kernels, so that every backend counts */
    if (ok && training && nd->op == NN_OP_BATCHNORM) m->batches[i]++;
  }
  nn__team_end(m, kind, t0, team);
  return ok;
}
NNDEF int nn_forward(nn_model *m, int training) {
  if (!nn__model_ok(m, "forward")) return 0;
  return nn__run_forward(m, m->loss ? m->loss : m->graph->nodes[m->graph->n - 1], training);
}
NNDEF int nn_predict(nn_model *m, const nn_node *out) {
  return nn__node_ok(m, out, "predict") && nn__run_forward(m, out, 0);
}

/* the parameter a node's buffer belongs to (reshapes share their input's), or NULL */
static nn_node *nn__param_under(nn_node *x) {
  while (x && x->op == NN_OP_RESHAPE) x = x->in[0];
  return x && x->op == NN_OP_PARAM ? x : NULL;
}
/* pending[p]: the active nodes whose backward writes p's gradient */
static void nn__count_consumers(nn_model *m, const nn_node *from) {
  int i, k;
  for (i = 0; i <= from->id; i++) m->pending[i] = 0;
  for (i = 0; i <= from->id; i++) {
    nn_node *nd = m->graph->nodes[i], *p;
    if (!m->active[i] || !nd->needs_grad || nn__is_leaf(nd)) continue;
    for (k = 0; k < nd->n_in; k++)
      if ((p = nn__param_under(nd->in[k])) && m->grad[p->id]) m->pending[p->id]++;
  }
  /* a parameter with no active consumer still counts as one, for the end */
  for (i = 0; i <= from->id; i++)
    if (m->active[i] && m->graph->nodes[i]->op == NN_OP_PARAM && m->grad[i] && !m->pending[i]) m->pending[i] = 1;
}
static int nn__grads_ready(nn_model *m, const nn_node *nd) {
  int k;
  nn_node *p;
  for (k = 0; k < nd->n_in; k++)
    if ((p = nn__param_under(nd->in[k])) && m->grad[p->id] && m->pending[p->id] > 0 && --m->pending[p->id] == 0 &&
        !m->grad_ready(m->grad_ready_ctx, m, p))
      return nn__fail("backward: stopped when the gradient of '%s' was ready: %s", p->name, nn_last_error());
  return 1;
}
/* zero the gradients `from` depends on, seed it with dy (host) or dy_buf
   (a buffer of the backend), run backwards */
static int nn__run_backward_nodes(nn_model *m, const nn_node *from, const float *dy, const void *dy_buf) {
  nn_backend *be = m->backend;
  int i;
  nn__mark(m, from);
  for (i = 0; i <= from->id; i++)
    if (m->active[i] && m->grad[i] && m->graph->nodes[i]->op != NN_OP_RESHAPE &&
        !be->ops->fill(be, m->grad[i], 0, 0.0f, nn__numel(m, m->graph->nodes[i]))) return 0;
  if (!(dy ? be->ops->write(be, m->grad[from->id], 0, dy, nn__numel(m, from))
           : be->ops->copy(be, m->grad[from->id], dy_buf, nn__numel(m, from)))) return 0;
  if (m->grad_ready) nn__count_consumers(m, from);
  for (i = from->id; i >= 0; i--) {
    nn_node *nd = m->graph->nodes[i];
    if (!m->active[i] || !nd->needs_grad || nn__is_leaf(nd)) continue;
    if (!be->ops->backward(be, m, nd)) return 0;
    if (m->grad_ready && !nn__grads_ready(m, nd)) return 0;
  }
  /* parameters on the path that no backward wrote (zero gradients) */
  for (i = 0; m->grad_ready && i <= from->id; i++) {
    nn_node *p = m->graph->nodes[i];
    if (m->active[i] && p->op == NN_OP_PARAM && m->grad[i] && m->pending[i] > 0 &&
        (m->pending[i] = 0, !m->grad_ready(m->grad_ready_ctx, m, p)))
      return nn__fail("backward: stopped when the gradient of '%s' was ready: %s", p->name, nn_last_error());
  }
  return 1;
}
static int nn__run_backward(nn_model *m, const nn_node *from, const float *dy, const void *dy_buf) {
  double t0;
  int team, ok;
  if (!from->needs_grad) return nn__fail("backward: nothing trainable leads to '%s'", from->name);
  team = nn__team_begin(m, NN__PASS_BACKWARD, &t0);
  ok = nn__run_backward_nodes(m, from, dy, dy_buf);
  nn__team_end(m, NN__PASS_BACKWARD, t0, team);
  return ok;
}
NNDEF int nn_backward_from(nn_model *m, const nn_node *node, const float *dy) {
  if (!nn__node_ok(m, node, "backward_from")) return 0;
  return dy ? nn__run_backward(m, node, dy, NULL) : nn__null("backward_from", "dy");
}
/* src's buffer of src_node for m's node (value or gradient), checked */
static const void *nn__buffer_from(nn_model *m, const nn_node *node, nn_model *src, const nn_node *src_node, int grad, const char *fn) {
  const void *buf;
  if (!nn__node_ok(m, node, fn) || !nn__node_ok(src, src_node, fn)) return NULL;
  /* CPU buffers are host memory; a device's belong to its backend */
  if (m->backend != src->backend && !(m->backend->ops == &nn__cpu_backend_ops && src->backend->ops == &nn__cpu_backend_ops)) {
    nn__fail("%s: the two models run on different backends ('%s', '%s'): compile both on one", fn, m->backend->ops->name,
             src->backend->ops->name);
    return NULL;
  }
  if (nn__numel(m, node) != nn__numel(src, src_node)) {
    nn__fail("%s: '%s' has %zu elements at batch %d, '%s' has %zu at batch %d", fn, node->name, nn__numel(m, node), m->batch,
             src_node->name, nn__numel(src, src_node), src->batch);
    return NULL;
  }
  if (!(buf = grad ? src->grad[src_node->id] : src->value[src_node->id])) nn__fail("%s: '%s' has no gradient", fn, src_node->name);
  return buf;
}
NNDEF int nn_feed_from(nn_model *m, const nn_node *input, nn_model *src, const nn_node *src_node) {
  const void *buf = nn__buffer_from(m, input, src, src_node, 0, "feed_from");
  if (!buf) return 0;
  if (input->op != NN_OP_INPUT) return nn__fail("feed_from: '%s' is not an input", input->name);
  return m->backend->ops->copy(m->backend, m->value[input->id], buf, nn__numel(m, input));
}
NNDEF int nn_backward_from_grad(nn_model *m, const nn_node *node, nn_model *src, const nn_node *src_node) {
  const void *buf = nn__buffer_from(m, node, src, src_node, 1, "backward_from_grad");
  /* the pass zeroes m's gradients before it reads the seed */
  if (buf && m == src) return nn__fail("backward_from_grad: the gradient comes from the same model: use nn_backward_from");
  return buf && nn__run_backward(m, node, NULL, buf);
}
NNDEF int nn_backward(nn_model *m) {
  float one = 1.0f;
  if (!nn__model_ok(m, "backward")) return 0;
  if (!m->loss) return nn__fail("backward: the graph has no loss");
  return nn__run_backward(m, m->loss, &one, NULL);
}
NNDEF float nn_loss(nn_model *m) {
  float v = NAN;
  if (!nn__model_ok(m, "loss")) return NAN;
  if (!m->loss) { nn__fail("loss: the graph has no loss"); return NAN; }
  if (!nn_read(m, m->loss, &v)) return NAN;
  return v;
}
NNDEF size_t nn_num_params(const nn_model *m) {
  size_t s = 0;
  int i;
  if (!nn__model_ok(m, "num_params")) return 0;
  for (i = 0; i < m->graph->n; i++)
    if (m->graph->nodes[i]->op == NN_OP_PARAM && m->graph->nodes[i]->trainable) s += nn__per(m->graph->nodes[i]);
  return s;
}

/* a running statistic: input 3 or 4 of a batch norm */
static int nn__is_buffer(const nn_graph *g, const nn_node *p) {
  int i;
  for (i = p->id + 1; i < g->n; i++)
    if (g->nodes[i]->op == NN_OP_BATCHNORM && (g->nodes[i]->in[3] == p || g->nodes[i]->in[4] == p)) return 1;
  return 0;
}
NNDEF int nn_model_num_tensors(const nn_model *m) {
  int i, n = 0;
  if (!nn__model_ok(m, "model_num_tensors")) return 0;
  for (i = 0; i < m->graph->n; i++) n += m->graph->nodes[i]->op == NN_OP_PARAM || m->graph->nodes[i]->op == NN_OP_BATCHNORM;
  return n;
}
NNDEF int nn_model_tensor(const nn_model *m, int i, nn_tensor_info *info) {
  int k, seen = -1;
  if (!nn__model_ok(m, "model_tensor")) return 0;
  if (!info) return nn__null("model_tensor", "info");
  memset(info, 0, sizeof *info);
  for (k = 0; k < m->graph->n && seen < i; k++) {
    nn_node *nd = m->graph->nodes[k];
    if (nd->op != NN_OP_PARAM && nd->op != NN_OP_BATCHNORM) continue;
    if (++seen < i) continue;
    info->node = nd;
    info->dtype = "F32";
    if (nd->op == NN_OP_BATCHNORM) {
      snprintf(info->name, sizeof info->name, "%s.num_batches_tracked", nd->name);
      info->buffer = 1;
      info->dtype = "I64";
      info->count = m->batches[k];
    } else {
      snprintf(info->name, sizeof info->name, "%s", nd->name);
      info->shape = nd->shape;
      info->trainable = nd->trainable;
      info->buffer = nn__is_buffer(m->graph, nd);
    }
    info->numel = nn_shape_numel(&info->shape);
    return 1;
  }
  return nn__fail("model_tensor: %d is not in 0..%d", i, nn_model_num_tensors(m) - 1);
}

NNDEF void nn_summary(const nn_model *m, FILE *out) {
  double total_flops = 0;
  size_t total_params = 0, state = 0;
  int i, k, n;
  char buf[64];
  nn_tensor_info t;
  if (!nn__model_ok(m, "summary") || (!out && !nn__null("summary", "out"))) return;
  n = nn_model_num_tensors(m);
  fprintf(out, "%-22s %-16s %-18s %12s %12s\n", "layer", "op", "output", "params", "MFLOPs");
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
    fl = nn__cpu_ops[nd->op]->flops ? nn__cpu_ops[nd->op]->flops(nd) : 0;
    total_flops += fl;
    fprintf(out, "%-22s %-16s %-18s %12zu %12.3f\n", nd->name, nn_op_name(nd->op),
            nn_shape_str(&nd->shape, buf, sizeof buf), params, fl / 1e6);
  }
  fprintf(out, "\n%-40s %-18s %12s  %s\n", "tensor", "shape", "scalars", "kind");
  for (i = 0; i < n && nn_model_tensor(m, i, &t); i++) {
    fprintf(out, "%-40s %-18s %12zu  %s", t.name, nn_shape_str(&t.shape, buf, sizeof buf), t.numel,
            t.buffer ? "buffer" : t.trainable ? "trainable" : "frozen");
    if (t.node->op == NN_OP_BATCHNORM) fprintf(out, " (I64: %lld)", (long long)t.count);
    fputc('\n', out);
  }
  fprintf(out, "trainable parameters: %zu (+%zu state), forward: %.2f MFLOPs per sample, batch %d, backend %s\n",
          total_params, state, total_flops / 1e6, m->max_batch, m->backend->ops->name);
}

/* ======================================================================
   Optimizers.  State buffers are allocated when the optimizer is made,
   one or two per trainable parameter.
   ====================================================================== */
struct nn_optimizer {
  nn_model *m;
  nn_opt_kind kind;
  int flags;
  float lr, momentum, weight_decay, beta1, beta2, eps, clip, l1;
  long step;
  void **s1, **s2;
  int nonfinite;                /* NN_NONFINITE_STOP or _SKIP, | _LOSS_ONLY */
  long skipped;
};

static nn_optimizer *nn__opt_new(nn_model *m, nn_opt_kind kind, int states) {
  nn_optimizer *o = (nn_optimizer *)nn__calloc(1, sizeof *o);
  int i;
  if (!o) return NULL;
  o->m = m;
  m->refs++;
  o->kind = kind;
  o->s1 = (void **)nn__calloc((size_t)m->graph->n, sizeof(void *));
  o->s2 = (void **)nn__calloc((size_t)m->graph->n, sizeof(void *));
  if (!o->s1 || !o->s2) { nn_optimizer_free(o); return NULL; }
  for (i = 0; i < m->graph->n; i++) {
    nn_node *p = m->graph->nodes[i];
    if (p->op != NN_OP_PARAM || !p->trainable) continue;
    if ((states >= 1 && !(o->s1[i] = m->backend->ops->alloc(m->backend, nn__per(p)))) ||
        (states >= 2 && !(o->s2[i] = m->backend->ops->alloc(m->backend, nn__per(p))))) {
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
    if (o->s1 && o->s1[i]) o->m->backend->ops->release(o->m->backend, o->s1[i]);
    if (o->s2 && o->s2[i]) o->m->backend->ops->release(o->m->backend, o->s2[i]);
  }
  nn__model_unref(o->m);
  NN_FREE(o->s1);
  NN_FREE(o->s2);
  NN_FREE(o);
}
/* 1 if o is live and (with m) m's optimizer; else 0 naming both */
static int nn__opt_ok(const nn_optimizer *o, const nn_model *m, const char *fn) {
  if (!o) return nn__null(fn, "optimizer");
  if (!nn__model_ok(o->m, fn)) return 0;
  if (m && m != o->m)
    return nn__fail("%s: the optimizer was made for another model (of %d nodes) than this one (of %d nodes)", fn,
                    o->m->graph->n, m->graph->n);
  return 1;
}
/* the settings every optimizer shares, checked; NULL with the reason */
static nn_optimizer *nn__opt_make(nn_model *m, nn_opt_kind kind, int states, float lr, float momentum, float wd, int flags) {
  static const char *const names[3] = {"sgd", "adam", "rmsprop"};
  nn_optimizer *o;
  if (!nn__model_ok(m, names[kind])) return NULL;
  if (!(lr >= 0 && lr <= FLT_MAX) || !(momentum >= 0 && momentum < 1) || !(wd >= 0 && wd <= FLT_MAX) ||
      (flags & ~(NN_NESTEROV | NN_DECOUPLED_WD)) || ((flags & NN_NESTEROV) && kind != NN_OPT_SGD)) {
    nn__fail("%s: lr %g, momentum %g, weight decay %g, flags %d (lr and decay finite and >= 0, momentum in [0, 1), "
             "NN_NESTEROV for sgd only)", names[kind], lr, momentum, wd, flags);
    return NULL;
  }
  if (!(o = nn__opt_new(m, kind, states))) return NULL;
  o->lr = lr; o->momentum = momentum; o->weight_decay = wd; o->flags = flags;
  return o;
}
NNDEF nn_optimizer *nn_sgd(nn_model *m, float lr, float momentum, float weight_decay, int flags) {
  return nn__opt_make(m, NN_OPT_SGD, momentum != 0 ? 1 : 0, lr, momentum, weight_decay, flags);
}
NNDEF nn_optimizer *nn_adam(nn_model *m, float lr, float b1, float b2, float eps, float wd, int flags) {
  nn_optimizer *o;
  if (!nn__model_ok(m, "adam")) return NULL;
  if (!(b1 >= 0 && b1 < 1) || !(b2 >= 0 && b2 < 1) || !(eps > 0)) { nn__fail("adam: betas %g, %g in [0, 1) and eps %g > 0", b1, b2, eps); return NULL; }
  if ((o = nn__opt_make(m, NN_OPT_ADAM, 2, lr, 0, wd, flags))) { o->beta1 = b1; o->beta2 = b2; o->eps = eps; }
  return o;
}
NNDEF nn_optimizer *nn_rmsprop(nn_model *m, float lr, float momentum, float alpha, float eps, float wd, int flags) {
  nn_optimizer *o;
  if (!nn__model_ok(m, "rmsprop")) return NULL;
  if (!(alpha >= 0 && alpha < 1) || !(eps > 0)) { nn__fail("rmsprop: alpha %g in [0, 1) and eps %g > 0", alpha, eps); return NULL; }
  if ((o = nn__opt_make(m, NN_OPT_RMSPROP, 2, lr, momentum, wd, flags))) { o->beta2 = alpha; o->eps = eps; }
  return o;
}
NNDEF int nn_optimizer_set_lr(nn_optimizer *o, float lr) {
  if (!o || !(lr >= 0 && lr <= FLT_MAX)) return nn__fail("optimizer_set_lr: %s", o ? "the rate must be finite and >= 0" : "optimizer is NULL");
  o->lr = lr;
  return 1;
}
NNDEF float nn_optimizer_get_lr(const nn_optimizer *o) { return o ? o->lr : (nn__null("optimizer_get_lr", "optimizer"), NAN); }
NNDEF int nn_optimizer_set_clip(nn_optimizer *o, float max_norm) {
  if (!o || !(max_norm >= 0 && max_norm <= FLT_MAX)) return nn__fail("optimizer_set_clip: %s", o ? "the norm must be finite and >= 0" : "optimizer is NULL");
  o->clip = max_norm;
  return 1;
}
NNDEF int nn_optimizer_set_l1(nn_optimizer *o, float strength) {
  if (!o || !(strength >= 0 && strength <= FLT_MAX))
    return nn__fail("optimizer_set_l1: %s", o ? "the strength must be finite and >= 0" : "optimizer is NULL");
  o->l1 = strength;
  return 1;
}
NNDEF long nn_optimizer_steps(const nn_optimizer *o) { return o ? o->step : (nn__null("optimizer_steps", "optimizer"), -1); }
NNDEF int nn_optimizer_set_nonfinite(nn_optimizer *o, int mode) {
  if (!o || (mode & ~(NN_NONFINITE_SKIP | NN_NONFINITE_LOSS_ONLY))) return nn__fail("optimizer_set_nonfinite: %s", o ? "unknown mode" : "optimizer is NULL");
  o->nonfinite = mode;
  return 1;
}
NNDEF long nn_optimizer_skipped(const nn_optimizer *o) { return o ? o->skipped : (nn__null("optimizer_skipped", "optimizer"), -1); }

/* global L2 norm of all parameter gradients, in one request to the
   backend (with the loss when `loss` is given: one wait on a device);
   negative on failure.  With bad, the first parameter whose gradient is
   not finite (or NULL). */
static double nn__grad_norm(nn_model *m, const nn_node **bad, double *bad_sumsq, float *loss) {
  int n = m->graph->n, count = 0, i, ok;
  const void **bufs = (const void **)m->norm_scratch;
  size_t *lens = (size_t *)(bufs + n);
  double *part = (double *)(lens + n), total = 0;
  int *node = (int *)(part + n);
  for (i = 0; i < n; i++)
    if (m->graph->nodes[i]->op == NN_OP_PARAM && m->grad[i]) {
      bufs[count] = m->grad[i];
      lens[count] = nn__per(m->graph->nodes[i]);
      node[count++] = i;
    }
  ok = m->backend->ops->sumsq(m->backend, bufs, lens, count, part, loss ? m->value[m->loss->id] : NULL, loss);
  for (i = 0; ok && i < count; i++) {
    total += part[i];
    if (bad && !*bad && !isfinite(part[i])) { *bad = m->graph->nodes[node[i]]; *bad_sumsq = part[i]; }
  }
  return ok ? sqrt(total) : -1;
}
/* a non-finite loss or gradient: fails (0) or, under NN_NONFINITE_SKIP,
   counts a skipped step (1); the reason is in nn_last_error() either way */
static int nn__nonfinite(nn_optimizer *o, const char *what, double v) {
  int skip = (o->nonfinite & NN_NONFINITE_SKIP) != 0;
  nn__fail("training: %s is %g at step %ld%s", what, v, o->step + 1, skip ? " (step skipped)" : "");
  if (skip) o->skipped++;
  return skip;
}
NNDEF double nn_clip_grad_norm(nn_model *m, float max_norm) {
  double norm;
  int i;
  if (!nn__model_ok(m, "clip_grad_norm") || (norm = nn__grad_norm(m, NULL, NULL, NULL)) < 0) return -1;
  if (norm > max_norm && isfinite(norm))
    for (i = 0; i < m->graph->n; i++)
      if (m->graph->nodes[i]->op == NN_OP_PARAM && m->grad[i] &&
          !m->backend->ops->scale(m->backend, m->grad[i], nn__per(m->graph->nodes[i]), (float)(max_norm / (norm + 1e-6)))) return -1;
  return norm;
}
static int nn__optimizer_needs_norm(const nn_optimizer *o) { return o->clip > 0 || !(o->nonfinite & NN_NONFINITE_LOSS_ONLY); }
/* the step, given the gradient norm (norm < 0: not measured yet) */
static int nn__optimizer_step(nn_optimizer *o, double norm, const nn_node *bad, double bad_sumsq) {
  nn_model *m = o->m;
  float scale = 1.0f;
  int i;
  if (norm < 0 && nn__optimizer_needs_norm(o) && (norm = nn__grad_norm(m, &bad, &bad_sumsq, NULL)) < 0) return 0;
  if (bad) {
    char what[NN_NAME_LEN + 48];
    snprintf(what, sizeof what, "the gradient of '%s' (sum of squares)", bad->name);
    return nn__nonfinite(o, what, bad_sumsq);
  }
  if (o->clip > 0 && norm > o->clip) scale = (float)(o->clip / (norm + 1e-6));
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
    u.l1 = o->l1 * p->l1_mult;
    u.step = o->step;
    if (!m->backend->ops->update(m->backend, &u)) return 0;
  }
  return 1;
}
NNDEF int nn_optimizer_step(nn_optimizer *o) {
  return nn__opt_ok(o, NULL, "optimizer_step") && nn__optimizer_step(o, -1, NULL, 0);
}
/* 1, 0 on an error, -1 for a non-finite loss (*loss says which) */
static int nn__train_step(nn_model *m, nn_optimizer *o, float *loss) {
  const nn_node *bad = NULL;
  double bad_sumsq = 0, norm = -1;
  /* the loss and the gradient norms come back together: one wait per step.
     A failed read keeps its reason (a device reports bad labels here). */
  if (!nn_forward(m, 1) || !nn_backward(m)) return 0;
  if (nn__optimizer_needs_norm(o) ? (norm = nn__grad_norm(m, &bad, &bad_sumsq, loss)) < 0 : !nn_read(m, m->loss, loss)) return 0;
  if (!isfinite(*loss)) return -1;
  return nn__optimizer_step(o, norm, bad, bad_sumsq);
}
NNDEF float nn_train_step(nn_model *m, nn_optimizer *o) {
  double t0;
  long skipped;
  float loss = NAN;
  int team, ok;
  if (!nn__model_ok(m, "train_step") || !nn__opt_ok(o, m, "train_step")) return NAN;
  skipped = o->skipped;
  team = nn__team_begin(m, NN__PASS_STEP, &t0);
  ok = nn__train_step(m, o, &loss);
  nn__team_end(m, NN__PASS_STEP, t0, team);
  if (ok < 0) return nn__nonfinite(o, "loss", loss) ? INFINITY : NAN;
  if (!ok) return NAN;
  return o->skipped != skipped ? INFINITY : loss;
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
  if (n >= 1 && (!xs || !ys)) { nn__null("lr_piecewise", xs ? "ys" : "xs"); return NAN; }
  if (n < 1) return 0;
  if (x <= xs[0]) return ys[0];
  for (i = 1; i < n; i++)
    if (x < xs[i]) return ys[i - 1] + (ys[i] - ys[i - 1]) * (x - xs[i - 1]) / (xs[i] - xs[i - 1]);
  return ys[n - 1];
}

/* ---- copies of every parameter on the model's backend: the moving
   average and the snapshot ---- */
static void nn__param_copies_free(nn_model *m, void **bufs) {
  int i;
  for (i = 0; bufs && i < m->graph->n; i++) if (bufs[i]) m->backend->ops->release(m->backend, bufs[i]);
  NN_FREE(bufs);
}
/* a buffer per parameter (NULL for other nodes) holding its value; NULL
   on failure */
static void **nn__param_copies_new(nn_model *m) {
  void **bufs = (void **)nn__calloc((size_t)m->graph->n, sizeof(void *));
  int i;
  for (i = 0; bufs && i < m->graph->n; i++) {
    nn_node *p = m->graph->nodes[i];
    if (p->op != NN_OP_PARAM) continue;
    if (!(bufs[i] = m->backend->ops->alloc(m->backend, nn__per(p))) ||
        !m->backend->ops->copy(m->backend, bufs[i], m->value[i], nn__per(p))) {
      nn__param_copies_free(m, bufs);
      return NULL;
    }
  }
  return bufs;
}
/* to_model: the model's parameters := bufs; else bufs := the parameters */
static int nn__param_copies_copy(nn_model *m, void **bufs, int to_model) {
  int i;
  for (i = 0; i < m->graph->n; i++)
    if (bufs[i] && !m->backend->ops->copy(m->backend, to_model ? m->value[i] : bufs[i], to_model ? bufs[i] : m->value[i],
                                          nn__per(m->graph->nodes[i])))
      return 0;
  return 1;
}

/* ---- exponential moving average of weights ---- */
struct nn_ema { nn_model *m; float decay; void **avg; };
NNDEF nn_ema *nn_ema_new(nn_model *m, float decay) {
  nn_ema *e;
  if (!nn__model_ok(m, "ema_new") || !(e = (nn_ema *)nn__calloc(1, sizeof *e))) return NULL;
  e->m = m;
  m->refs++;
  e->decay = decay;
  if (!(e->avg = nn__param_copies_new(m))) { nn_ema_free(e); return NULL; }
  return e;
}
NNDEF void nn_ema_free(nn_ema *e) {
  if (!e) return;
  nn__param_copies_free(e->m, e->avg);
  nn__model_unref(e->m);
  NN_FREE(e);
}
/* 1 if e is live and (with m) m's average; else 0 naming both */
static int nn__ema_ok(const nn_ema *e, const nn_model *m, const char *fn) {
  if (!e) return nn__null(fn, "average");
  if (!nn__model_ok(e->m, fn)) return 0;
  if (m && m != e->m)
    return nn__fail("%s: the average was made for another model (of %d nodes) than this one (of %d nodes)", fn,
                    e->m->graph->n, m->graph->n);
  return 1;
}
NNDEF int nn_ema_update_decay(nn_ema *e, float decay) {
  int i;
  if (!nn__ema_ok(e, NULL, "ema_update")) return 0;
  for (i = 0; i < e->m->graph->n; i++)
    if (e->avg[i] && !e->m->backend->ops->lerp(e->m->backend, e->avg[i], e->m->value[i], nn__per(e->m->graph->nodes[i]), 1.0f - decay))
      return 0;
  return 1;
}
NNDEF int nn_ema_update(nn_ema *e) { return e ? nn_ema_update_decay(e, e->decay) : nn__null("ema_update", "average"); }
NNDEF void nn_ema_swap(nn_ema *e) {
  int i;
  if (!nn__ema_ok(e, NULL, "ema_swap")) return;
  for (i = 0; i < e->m->graph->n; i++)
    if (e->avg[i]) { void *t = e->m->value[i]; e->m->value[i] = e->avg[i]; e->avg[i] = t; }
}
NNDEF int nn_ema_copy_to_model(nn_ema *e) {
  return nn__ema_ok(e, NULL, "ema_copy_to_model") && nn__param_copies_copy(e->m, e->avg, 1);
}

/* ---- snapshot of the weights, with the batch norms' pass counts (their
   num_batches_tracked) so that a restored model saves as the one taken ---- */
struct nn_snapshot { nn_model *m; void **w; int64_t *batches; };
NNDEF nn_snapshot *nn_snapshot_new(nn_model *m) {
  nn_snapshot *s;
  if (!nn__model_ok(m, "snapshot_new") || !(s = (nn_snapshot *)nn__calloc(1, sizeof *s))) return NULL;
  s->m = m;
  m->refs++;
  if (!(s->w = nn__param_copies_new(m)) || !(s->batches = (int64_t *)nn__calloc((size_t)m->graph->n, sizeof *s->batches))) {
    nn_snapshot_free(s);
    return NULL;
  }
  memcpy(s->batches, m->batches, (size_t)m->graph->n * sizeof *s->batches);
  return s;
}
NNDEF void nn_snapshot_free(nn_snapshot *s) {
  if (!s) return;
  nn__param_copies_free(s->m, s->w);
  nn__model_unref(s->m);
  NN_FREE(s->batches);
  NN_FREE(s);
}
NNDEF int nn_snapshot_take(nn_snapshot *s) {
  if (!s) return nn__null("snapshot_take", "snapshot");
  if (!nn__model_ok(s->m, "snapshot_take") || !nn__param_copies_copy(s->m, s->w, 0)) return 0;
  memcpy(s->batches, s->m->batches, (size_t)s->m->graph->n * sizeof *s->batches);
  return 1;
}
NNDEF int nn_snapshot_restore(nn_snapshot *s) {
  if (!s) return nn__null("snapshot_restore", "snapshot");
  if (!nn__model_ok(s->m, "snapshot_restore") || !nn__param_copies_copy(s->m, s->w, 1)) return 0;
  memcpy(s->m->batches, s->batches, (size_t)s->m->graph->n * sizeof *s->batches);
  return 1;
}

/* ======================================================================
   Metrics
   ====================================================================== */
NNDEF int nn_argmax(const float *v, int n) {
  int i, best = 0;
  if (!v && n > 0) return nn__null("argmax", "v") - 1;
  for (i = 1; i < n; i++) if (v[i] > v[best]) best = i;
  return best;
}
NNDEF double nn_cross_entropy_sum(const float *logits, const float *labels, int n, int k, int *correct) {
  double loss = 0;
  int i, j;
  if (n > 0 && (!logits || !labels)) { nn__null("cross_entropy_sum", logits ? "labels" : "logits"); return NAN; }
  for (i = 0; i < n; i++) {
    const float *z = logits + (size_t)i * k;
    int best = nn_argmax(z, k), y = (int)labels[i];
    double s = 0;
    if (!(labels[i] >= 0 && labels[i] < (float)k)) { nn__fail("cross_entropy_sum: label %g of row %d is not a class 0..%d", labels[i], i, k - 1); return NAN; }
    for (j = 0; j < k; j++) s += exp((double)z[j] - z[best]);
    loss += z[best] + log(s) - z[y];
    if (correct) *correct += best == y;
  }
  return loss;
}
NNDEF void nn_confusion_add(int *cm, int k, const float *logits, const float *labels, int n) {
  int i;
  if (n > 0 && (!cm || !logits || !labels)) { nn__null("confusion_add", !cm ? "cm" : !logits ? "logits" : "labels"); return; }
  for (i = 0; i < n; i++) {
    int t = (int)labels[i];
    if (t >= 0 && t < k) cm[t * k + nn_argmax(logits + (size_t)i * k, k)]++;
  }
}
NNDEF double nn_confusion_accuracy(const int *cm, int k) {
  long right = 0, all = 0;
  int i;
  if (!cm) { nn__null("confusion_accuracy", "cm"); return NAN; }
  for (i = 0; i < k * k; i++) { all += cm[i]; if (i / k == i % k) right += cm[i]; }
  return all ? (double)right / (double)all : 0.0;
}
NNDEF void nn_class_metrics(const int *cm, int k, double *precision, double *recall, double *f1,
                            double *macro_p, double *macro_r, double *macro_f1) {
  double sp = 0, sr = 0, sf = 0;
  int c, j;
  if (!cm) { nn__null("class_metrics", "cm"); return; }
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
NNDEF void nn_classification_report(const int *cm, int k, const char *const *names, FILE *out) {
  double mp, mr, mf;
  int c, j;
  if (!cm || !out) { nn__null("classification_report", cm ? "out" : "cm"); return; }
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
  if (!scores || !labels) { nn__null("roc_auc", scores ? "labels" : "scores"); return NAN; }
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
NNDEF int nn_regression_metrics(const float *pred, const float *target, size_t n, double *mse, double *mae, double *r2) {
  double se = 0, ae = 0, mean = 0, tot = 0;
  size_t i;
  if (n < 1) return nn__fail("regression_metrics: no values");
  if (!pred || !target) return nn__null("regression_metrics", pred ? "target" : "pred");
  for (i = 0; i < n; i++) mean += target[i];
  mean /= (double)n;
  for (i = 0; i < n; i++) {
    double e = (double)pred[i] - target[i], d = target[i] - mean;
    se += e * e;
    ae += fabs(e);
    tot += d * d;
  }
  if (mse) *mse = se / (double)n;
  if (mae) *mae = ae / (double)n;
  if (r2) *r2 = tot > 0 ? 1.0 - se / tot : NAN;
  return 1;
}

#ifndef NN_NO_DATA
/* ======================================================================
   Data: IDX files (big-endian header: 0, 0, type 0x08 = ubyte, ndim,
   then ndim 32-bit sizes, then the bytes)
   ====================================================================== */
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
/* the loader on bytes in memory (the files' contents; the fuzzer's input) */
static nn_dataset *nn__idx_from_buffers(const char *images_path, const unsigned char *ib, size_t ilen,
                                        const char *labels_path, const unsigned char *lb, size_t llen) {
  size_t per, i;
  const unsigned char *px, *lab;
  int idim = 0, ldim = 0, id[3], ld[3], k;
  nn_dataset *d;
  if (!(px = nn__idx_parse(images_path, ib, ilen, &idim, id)) || !(lab = nn__idx_parse(labels_path, lb, llen, &ldim, ld))) return NULL;
  if (idim < 2) { nn__fail("'%s': images need at least 2 dimensions, found %d", images_path, idim); return NULL; }
  if (ldim != 1) { nn__fail("'%s': labels must have 1 dimension, found %d", labels_path, ldim); return NULL; }
  if (id[0] != ld[0]) { nn__fail("'%s' has %d images but '%s' has %d labels", images_path, id[0], labels_path, ld[0]); return NULL; }
  if (!(d = (nn_dataset *)nn__calloc(1, sizeof *d))) return NULL;
  d->n = id[0];
  if (idim == 3) d->shape = nn__shape3(1, id[1], id[2]);
  else d->shape = nn__shape1(id[1]);
  per = nn_shape_numel(&d->shape);
  d->x = (float *)nn__calloc((size_t)d->n * per, sizeof(float));
  d->y = (float *)nn__calloc((size_t)d->n, sizeof(float));
  if (!d->x || !d->y) { nn_dataset_free(d); return NULL; }
  for (i = 0; i < (size_t)d->n * per; i++) d->x[i] = px[i] * (1.0f / 255.0f);
  for (k = 0; k < d->n; k++) {
    d->y[k] = lab[k];
    if (lab[k] + 1 > d->num_classes) d->num_classes = lab[k] + 1;
  }
  return d;
}
NNDEF nn_dataset *nn_dataset_read_idx(const char *images_path, const char *labels_path) {
  size_t ilen = 0, llen = 0;
  unsigned char *ib = nn__read_file(images_path, &ilen), *lb = ib ? nn__read_file(labels_path, &llen) : NULL;
  nn_dataset *d = ib && lb ? nn__idx_from_buffers(images_path, ib, ilen, labels_path, lb, llen) : NULL;
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
  size_t per;
  int i;
  if (!d || (!idx && count > 0)) { nn__null("dataset_gather", d ? "idx" : "data set"); return; }
  per = nn_shape_numel(&d->shape);
  for (i = 0; i < count; i++) {
    if (idx[i] < 0 || idx[i] >= d->n) { nn__fail("dataset_gather: index %d is not a sample (0..%d)", idx[i], d->n - 1); return; }
    if (x) memcpy(x + (size_t)i * per, d->x + (size_t)idx[i] * per, per * sizeof(float));
    if (y) y[i] = d->y[idx[i]];
  }
}
NNDEF int nn_dataset_truncate(nn_dataset *d, int n) {
  if (!d || n < 0 || n > d->n) return nn__fail("dataset_truncate: %d of %d samples", n, d ? d->n : 0);
  d->n = n;
  return 1;
}

/* ---- mini-batches: the iterator holds a reference to the model ---- */
NNDEF nn_batches *nn_batches_new(nn_model *m, const nn_dataset *d, nn_rng *r) {
  nn_batches *it;
  if (!nn__model_ok(m, "batches_new")) return NULL;
  if (!d) { nn__null("batches_new", "data set"); return NULL; }
  if (d->n < 1) { nn__fail("batches_new: the data set is empty"); return NULL; }
  if (!(it = (nn_batches *)nn__calloc(1, sizeof *it))) return NULL;
  it->m = m;
  m->refs++;
  it->d = d;
  it->r = r;
  it->count = (d->n + m->max_batch - 1) / m->max_batch;
  it->index = -1;
  it->x = (float *)nn__calloc((size_t)m->max_batch * nn_shape_numel(&d->shape), sizeof(float));
  it->y = (float *)nn__calloc((size_t)m->max_batch, sizeof(float));
  it->order = (int *)nn__calloc((size_t)d->n, sizeof(int));
  if (!it->x || !it->y || !it->order) { nn_batches_free(it); return NULL; }
  return it;
}
NNDEF int nn_batches_next(nn_batches *it) {
  nn_model *m;
  int i, B;
  if (!it) return nn__null("batches_next", "iterator") - 1;
  if (!nn__model_ok(it->m, "batches_next")) return -1;
  m = it->m;
  B = m->max_batch;
  if (it->index == it->count - 1) {   /* the end of the epoch */
    it->index = -1;
    it->n = 0;
    m->batch = B;
    return 0;
  }
  if (++it->index == 0) {
    for (i = 0; i < it->d->n; i++) it->order[i] = i;
    if (it->r) nn_shuffle(it->r, it->order, it->d->n);
  }
  it->n = it->d->n - it->index * B < B ? it->d->n - it->index * B : B;
  nn_dataset_gather(it->d, it->order + (size_t)it->index * B, it->n, it->x, it->y);
  m->batch = it->n;
  return 1;
}
NNDEF void nn_batches_free(nn_batches *it) {
  if (!it) return;
  if (it->index >= 0 && !it->m->freed) it->m->batch = it->m->max_batch;   /* left in mid-epoch */
  nn__model_unref(it->m);
  NN_FREE(it->x);
  NN_FREE(it->y);
  NN_FREE(it->order);
  NN_FREE(it);
}

/* ---- CIFAR-10 binary batches ---- */
#define NN__CIFAR_PIXELS 3072
#define NN__CIFAR_RECORD (1 + NN__CIFAR_PIXELS)
/* size of a file that must hold whole CIFAR-10 records; 0 on failure */
static int nn__cifar_records(const char *path, size_t *records) {
  FILE *f = path ? fopen(path, "rb") : NULL;
  long size;
  if (!path) return nn__fail("dataset_read_cifar10: a file path is NULL");
  if (!f) return nn__fail("cannot open '%s': %s", path, strerror(errno));
  /* a directory opens on some systems but cannot be read */
  if ((getc(f) == EOF && ferror(f)) || fseek(f, 0, SEEK_END) != 0) {
    fclose(f);
    return nn__fail("cannot read '%s' (a directory, or not a regular file)", path);
  }
  if ((size = ftell(f)) < 0) {   /* past LONG_MAX: 2 GiB where long has 32 bits (Windows, 32-bit systems) */
    fclose(f);
    return nn__fail("'%s' is too large to measure here (%s); CIFAR-10 batches are 30 MB", path, strerror(errno));
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
NNDEF nn_dataset *nn_dataset_read_cifar10_files(int count, const char *const *paths) {
  nn_dataset *d;
  size_t total = 0, done = 0, recs = 0, i, p;
  int k;
  if (count < 1 || !paths) { nn__fail("dataset_read_cifar10: no files given"); return NULL; }
  for (k = 0; k < count; k++) {
    if (!nn__cifar_records(paths[k], &recs)) return NULL;
    total += recs;
  }
  if (total > 0x7fffffff / NN__CIFAR_PIXELS) { nn__fail("dataset_read_cifar10: %zu records are too many", total); return NULL; }
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
NNDEF nn_dataset *nn_dataset_read_cifar10(const char *dir, const char *split) {
  static const char *const names[6] = {"data_batch_1.bin", "data_batch_2.bin", "data_batch_3.bin",
                                       "data_batch_4.bin", "data_batch_5.bin", "test_batch.bin"};
  char buf[6][1024];
  const char *paths[6];
  int k, train = split && !strcmp(split, "train"), count = train ? 5 : 1;
  if (!dir || !split || (!train && strcmp(split, "test"))) {
    nn__fail("dataset_read_cifar10: split '%s' is not \"train\" or \"test\"", split ? split : "NULL");
    return NULL;
  }
  for (k = 0; k < count; k++) {
    int len = snprintf(buf[k], sizeof buf[k], "%s/%s", dir, names[train ? k : 5]);
    if (len < 0 || len >= (int)sizeof buf[k]) { nn__fail("dataset_read_cifar10: directory name too long"); return NULL; }
    paths[k] = buf[k];
  }
  return nn_dataset_read_cifar10_files(count, paths);
}

/* ---- per-channel normalisation ---- */
NNDEF int nn_dataset_channel_stats(const nn_dataset *d, float *mean, float *std) {
  int C, c, k;
  size_t per, S, q;
  if (!d || !mean || !std) return nn__null("channel_stats", !d ? "data set" : !mean ? "mean" : "std");
  C = d->shape.dim[0]; per = nn_shape_numel(&d->shape); S = per / (size_t)C;
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
  int C, c, k;
  size_t per, S, q;
  if (!d || !mean || !std) return nn__null("normalize", !d ? "data set" : !mean ? "mean" : "std");
  C = d->shape.dim[0]; per = nn_shape_numel(&d->shape); S = per / (size_t)C;
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
  if (n > 0 && (!src || !dst)) { nn__null("shift_flip_images", src ? "dst" : "src"); return; }
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
  if (n > 0 && (!r || !dy || !dx)) { nn__null("random_shifts", !r ? "generator" : !dy ? "dy" : "dx"); return; }
  for (i = 0; i < n; i++) {
    dy[i] = nn_rng_int(r, 2 * max_shift + 1) - max_shift;
    dx[i] = nn_rng_int(r, 2 * max_shift + 1) - max_shift;
  }
}
NNDEF void nn_random_flips(nn_rng *r, int n, unsigned char *flip) {
  int i;
  if (n > 0 && (!r || !flip)) { nn__null("random_flips", r ? "flip" : "generator"); return; }
  for (i = 0; i < n; i++) flip[i] = (unsigned char)(nn_rng_u32(r) >> 31);
}

/* ---- test-time augmentation ---- */
NNDEF int nn_predict_tta(nn_model *m, const nn_node *x, const nn_node *out, const float *images, int n,
                         int level, float *out_values) {
  /* views: shift y, shift x, mirror, weight by level */
  static const int views[6][3] = {{0, 0, 0}, {0, 0, 1}, {1, 1, 0}, {1, 1, 1}, {-1, -1, 0}, {-1, -1, 1}};
  static const float weight[3][6] = {{1, 0, 0, 0, 0, 0}, {0.5f, 0.5f, 0, 0, 0, 0},
                                     {0.25f, 0.25f, 0.125f, 0.125f, 0.125f, 0.125f}};
  int B, keep, C, H, W, v, start, ok = 1;
  size_t per, K, j;
  float *buf, *res;
  int *dy, *dx;
  unsigned char *fl;
  if (!nn__node_ok(m, x, "predict_tta") || !nn__node_ok(m, out, "predict_tta")) return 0;
  if (n > 0 && (!images || !out_values)) return nn__null("predict_tta", images ? "out_values" : "images");
  B = m->max_batch; keep = m->batch;
  if (x->op != NN_OP_INPUT || x->shape.ndim != 3) return nn__fail("predict_tta: '%s' is not an image input [C, H, W]", x->name);
  if (!out->batched) return nn__fail("predict_tta: the output has no batch dimension");
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

#endif /* NN_NO_DATA */

#ifndef NN_NO_TEXT
/* ======================================================================
   Text: tokenizer, vocabulary, encoding, the aclImdb layout, bucketing
   ====================================================================== */
static int nn__is_alnum(unsigned char ch) { return (ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z'); }
/* "<br />", "<br/>", "<br>" (any case) at s: its length, else 0 */
static size_t nn__html_break(const char *s, size_t n) {
  size_t i = 3;
  if (n < 4 || s[0] != '<' || (s[1] | 0x20) != 'b' || (s[2] | 0x20) != 'r') return 0;
  while (i < n && s[i] == ' ') i++;
  if (i < n && s[i] == '/') i++;
  return i < n && s[i] == '>' ? i + 1 : 0;
}
NNDEF size_t nn_tokenize(const char *text, size_t len, char *out) {
  const unsigned char *s = (const unsigned char *)text;
  size_t i = 0, o = 0, count = 0, k;
  int in_word = 0;
  if (!out || (!text && len)) return (size_t)nn__null("tokenize", out ? "text" : "out");
  while (i < len) {
    unsigned char ch = s[i];
    int u;
    if (ch == '<' && (k = nn__html_break(text + i, len - i)) > 0) { in_word = 0; i += k; continue; }
    if (nn__is_alnum(ch) || (ch >= 0x80 && (u = nn__utf8_len(s + i, len - i)) > 0 &&
                             /* U+2000..U+206F, general punctuation, is punctuation */
                             !(ch == 0xE2 && (s[i + 1] == 0x80 || s[i + 1] == 0x81)))) {
      size_t n = nn__is_alnum(ch) ? 1 : (size_t)u;
      if (!in_word) { if (count++) out[o++] = ' '; in_word = 1; }
      for (k = 0; k < n; k++) out[o++] = (char)(s[i + k] >= 'A' && s[i + k] <= 'Z' ? s[i + k] + 32 : s[i + k]);
      i += n;
    } else if ((ch == '\'' || ch == '-') && in_word && i + 1 < len && (nn__is_alnum(s[i + 1]) || s[i + 1] >= 0x80)) {
      out[o++] = (char)ch;   /* inside a word: don't, low-budget */
      i++;
    } else if ((ch > ' ' && ch < 0x7F) || ch == 0xE2) {
      /* a punctuation mark: a run of one mark, kept at most 3 long */
      size_t n = ch == 0xE2 ? (size_t)nn__utf8_len(s + i, len - i) : 1, start = i, run = 0;
      if (n == 0) { in_word = 0; i++; continue; }   /* invalid UTF-8 */
      if (n == 3 && in_word && s[i + 1] == 0x80 && s[i + 2] == 0x99 && i + 3 < len && nn__is_alnum(s[i + 3])) {
        out[o++] = '\'';   /* a typographic apostrophe inside a word */
        i += 3;
        continue;
      }
      if (count++) out[o++] = ' ';
      for (; i + n <= len && !memcmp(s + i, s + start, n); run++, i += n)
        if (run < 3) { memcpy(out + o, s + i, n); o += n; }
      in_word = 0;
    } else {
      in_word = 0;   /* space, control character, invalid UTF-8 */
      i++;
    }
  }
  out[o] = 0;
  return count;
}

/* ---- vocabulary: words in one arena, an open-addressing hash table ---- */
struct nn_vocab {
  char *arena;              /* words, each NUL-terminated */
  size_t arena_len, arena_cap;
  size_t *word;             /* offset of word i */
  long *count;
  int n, cap;
  int *table;               /* word index + 1; 0 empty */
  size_t table_cap;         /* a power of two, at least twice n */
  int finished;
};
static uint64_t nn__hash(const char *s, size_t n) {
  uint64_t h = 1469598103934665603ULL;
  size_t i;
  for (i = 0; i < n; i++) h = (h ^ (unsigned char)s[i]) * 1099511628211ULL;
  return h;
}
/* slot of word s[0..n) in the table: where it is, or the empty slot to use */
static size_t nn__vocab_slot(const nn_vocab *v, const char *s, size_t n) {
  size_t mask = v->table_cap - 1, at = (size_t)nn__hash(s, n) & mask;
  while (v->table[at]) {
    const char *w = v->arena + v->word[v->table[at] - 1];
    if (!strncmp(w, s, n) && w[n] == 0) break;
    at = (at + 1) & mask;
  }
  return at;
}
static int nn__vocab_rehash(nn_vocab *v, size_t cap) {
  int *t = (int *)nn__calloc(cap, sizeof(int)), i;
  if (!t) return 0;
  NN_FREE(v->table);
  v->table = t;
  v->table_cap = cap;
  for (i = 0; i < v->n; i++) {
    const char *w = v->arena + v->word[i];
    v->table[nn__vocab_slot(v, w, strlen(w))] = i + 1;
  }
  return 1;
}
/* appends word s[0..n) with a count; returns its index or -1 */
static int nn__vocab_push(nn_vocab *v, const char *s, size_t n, long count) {
  if (v->n == v->cap) {
    int cap = v->cap ? 2 * v->cap : 1024;
    size_t *w = (size_t *)NN_REALLOC(v->word, (size_t)cap * sizeof *w);
    long *c;
    if (!w) return nn__fail("vocabulary: out of memory") - 1;
    v->word = w;
    if (!(c = (long *)NN_REALLOC(v->count, (size_t)cap * sizeof *c))) return nn__fail("vocabulary: out of memory") - 1;
    v->count = c;
    v->cap = cap;
  }
  if (v->arena_len + n + 1 > v->arena_cap) {
    size_t cap = v->arena_cap ? 2 * v->arena_cap : 65536;
    char *a;
    while (cap < v->arena_len + n + 1) cap *= 2;
    if (!(a = (char *)NN_REALLOC(v->arena, cap))) return nn__fail("vocabulary: out of memory") - 1;
    v->arena = a;
    v->arena_cap = cap;
  }
  memcpy(v->arena + v->arena_len, s, n);
  v->arena[v->arena_len + n] = 0;
  v->word[v->n] = v->arena_len;
  v->count[v->n] = count;
  v->arena_len += n + 1;
  return v->n++;
}
NNDEF nn_vocab *nn_vocab_new(void) {
  nn_vocab *v = (nn_vocab *)nn__calloc(1, sizeof *v);
  if (v && !nn__vocab_rehash(v, 4096)) { NN_FREE(v); v = NULL; }
  return v;
}
NNDEF void nn_vocab_free(nn_vocab *v) {
  if (!v) return;
  NN_FREE(v->arena);
  NN_FREE(v->word);
  NN_FREE(v->count);
  NN_FREE(v->table);
  NN_FREE(v);
}
NNDEF int nn_vocab_add(nn_vocab *v, const char *tokens) {
  const char *p = tokens;
  if (!v || !tokens) return nn__null("vocab_add", v ? "tokens" : "vocabulary");
  if (v->finished) return nn__fail("vocabulary: counting has ended (nn_vocab_finish)");
  while (*p) {
    size_t n = strcspn(p, " "), at;
    if (n > 0) {
      at = nn__vocab_slot(v, p, n);
      if (v->table[at]) v->count[v->table[at] - 1]++;
      else {
        int i = nn__vocab_push(v, p, n, 1);
        if (i < 0) return 0;
        v->table[at] = i + 1;
        if ((size_t)v->n * 2 > v->table_cap && !nn__vocab_rehash(v, v->table_cap * 2)) return 0;
      }
    }
    p += n;
    if (*p) p++;
  }
  return 1;
}
typedef struct nn__word_rank { long count; const char *word; } nn__word_rank;
static int nn__cmp_words(const void *a, const void *b) {
  const nn__word_rank *x = (const nn__word_rank *)a, *y = (const nn__word_rank *)b;
  if (x->count != y->count) return x->count > y->count ? -1 : 1;
  return strcmp(x->word, y->word);
}
NNDEF int nn_vocab_finish(nn_vocab *v, int max_size, int min_count) {
  nn_vocab *kept;
  nn__word_rank *rank;
  int i, n = 0, ok;
  if (!v) return nn__null("vocab_finish", "vocabulary");
  if (v->finished) return nn__fail("vocabulary: already finished");
  if (max_size < 3) return nn__fail("vocabulary: size %d leaves no room for words beside <pad> and <unk>", max_size);
  if (!(rank = (nn__word_rank *)nn__calloc((size_t)v->n + 1, sizeof *rank))) return 0;
  for (i = 0; i < v->n; i++)
    if (v->count[i] >= min_count) { rank[n].count = v->count[i]; rank[n].word = v->arena + v->word[i]; n++; }
  if (n == 0) {
    NN_FREE(rank);
    return nn__fail("vocabulary: empty: none of %d distinct words occurs at least %d times", v->n, min_count);
  }
  qsort(rank, (size_t)n, sizeof *rank, nn__cmp_words);
  if (n > max_size - 2) n = max_size - 2;
  kept = nn_vocab_new();
  ok = kept && nn__vocab_push(kept, "<pad>", 5, 0) >= 0 && nn__vocab_push(kept, "<unk>", 5, 0) >= 0;
  for (i = 0; ok && i < n; i++) ok = nn__vocab_push(kept, rank[i].word, strlen(rank[i].word), rank[i].count) >= 0;
  if (ok) {
    long unk = 0;
    size_t cap = 4096;
    for (i = 0; i < v->n; i++) unk += v->count[i];
    for (i = 2; i < kept->n; i++) unk -= kept->count[i];
    kept->count[NN_UNK] = unk;   /* every occurrence of a word not kept */
    while (cap < 4 * (size_t)kept->n) cap *= 2;
    ok = nn__vocab_rehash(kept, cap);
  }
  NN_FREE(rank);
  if (!ok) { nn_vocab_free(kept); return 0; }
  NN_FREE(v->arena); NN_FREE(v->word); NN_FREE(v->count); NN_FREE(v->table);
  *v = *kept;
  NN_FREE(kept);
  v->finished = 1;
  return 1;
}
NNDEF int nn_vocab_size(const nn_vocab *v) { return !v ? nn__null("vocab_size", "vocabulary") : v->finished ? v->n : 0; }
NNDEF int nn_vocab_id(const nn_vocab *v, const char *word, size_t len) {
  size_t at;
  if (!v || (!word && len)) return nn__null("vocab_id", v ? "word" : "vocabulary") + NN_UNK;
  if (!v->finished) return NN_UNK;
  at = nn__vocab_slot(v, word, len);
  return v->table[at] ? v->table[at] - 1 : NN_UNK;
}
NNDEF const char *nn_vocab_word(const nn_vocab *v, int id) {
  if (!v) { nn__null("vocab_word", "vocabulary"); return NULL; }
  return v->finished && id >= 0 && id < v->n ? v->arena + v->word[id] : NULL;
}
NNDEF long nn_vocab_count(const nn_vocab *v, int id) { return !v ? nn__null("vocab_count", "vocabulary") : v->finished && id >= 0 && id < v->n ? v->count[id] : 0; }
NNDEF int nn_text_encode(const nn_vocab *v, const char *tokens, int maxlen, int keep_end, float *ids) {
  const char *p = tokens;
  int total = 0, skip, k = 0;
  if (maxlen < 1) return 0;
  if (!v || !tokens || !ids) return nn__null("text_encode", !v ? "vocabulary" : !tokens ? "tokens" : "ids");
  for (; *p; p++) if (*p != ' ' && (p == tokens || p[-1] == ' ')) total++;
  skip = keep_end && total > maxlen ? total - maxlen : 0;
  for (p = tokens; *p && k < maxlen;) {
    size_t n = strcspn(p, " ");
    if (n > 0) {
      if (skip > 0) skip--;
      else ids[k++] = (float)nn_vocab_id(v, p, n);
    }
    p += n;
    if (*p) p++;
  }
  total = k;
  for (; k < maxlen; k++) ids[k] = NN_PAD;
  return total;
}

/* ---- the aclImdb layout ---- */
#if defined(_WIN32)
#include <windows.h>
#else
#include <dirent.h>
#endif
static int nn__cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }
static void nn__free_names(char **names, int n) {
  int i;
  for (i = 0; i < n; i++) NN_FREE(names[i]);
  NN_FREE(names);
}
static int nn__push_name(char ***names, int *n, int *cap, const char *name) {
  size_t len = strlen(name);
  if (len < 5 || strcmp(name + len - 4, ".txt")) return 1;
  if (*n == *cap) {
    int c = *cap ? 2 * *cap : 256;
    char **p = (char **)NN_REALLOC(*names, (size_t)c * sizeof *p);
    if (!p) return nn__fail("out of memory listing files");
    *names = p;
    *cap = c;
  }
  if (!((*names)[*n] = (char *)nn__calloc(len + 1, 1))) return 0;
  memcpy((*names)[(*n)++], name, len);
  return 1;
}
/* the names of the .txt files in dir, sorted */
static char **nn__list_txt(const char *dir, int *count) {
  char **names = NULL;
  int n = 0, cap = 0, ok = 1;
#if defined(_WIN32)
  char pattern[4096];
  WIN32_FIND_DATAA fd;
  HANDLE h;
  snprintf(pattern, sizeof pattern, "%s\\*.txt", dir);
  h = FindFirstFileA(pattern, &fd);
  if (h == INVALID_HANDLE_VALUE) {
    if (GetLastError() != ERROR_FILE_NOT_FOUND) { nn__fail("cannot open directory '%s'", dir); return NULL; }
  } else {
    do ok = nn__push_name(&names, &n, &cap, fd.cFileName); while (ok && FindNextFileA(h, &fd));
    FindClose(h);
  }
#else
  DIR *d = opendir(dir);
  struct dirent *e;
  if (!d) { nn__fail("cannot open directory '%s': %s", dir, strerror(errno)); return NULL; }
  while (ok && (e = readdir(d)) != NULL) ok = nn__push_name(&names, &n, &cap, e->d_name);
  closedir(d);
#endif
  if (!ok) { nn__free_names(names, n); return NULL; }
  if (n == 0) { NN_FREE(names); nn__fail("'%s' has no reviews (no .txt files)", dir); return NULL; }
  qsort(names, (size_t)n, sizeof *names, nn__cmp_str);
  *count = n;
  return names;
}
/* reads and tokenizes one review onto the end of s->text */
static int nn__text_append(nn_text_set *s, size_t *cap, const char *path, float label) {
  size_t len = 0, need, ntok;
  unsigned char *raw = nn__read_file(path, &len);
  if (!raw) return 0;
  if (len == 0) { NN_FREE(raw); return nn__fail("'%s' is empty", path); }
  if (len > ((size_t)-1 - 1 - s->offset[s->n]) / 2) {   /* the tokens take up to 2 * len + 1 bytes */
    NN_FREE(raw);
    return nn__fail("'%s': the reviews do not fit this machine's address space", path);
  }
  need = s->offset[s->n] + 2 * len + 1;
  if (need > *cap) {
    size_t c = *cap ? *cap : (size_t)1 << 20;
    char *t;
    while (c < need) c = c > (size_t)-1 / 2 ? need : 2 * c;
    if (!(t = (char *)NN_REALLOC(s->text, c))) { NN_FREE(raw); return nn__fail("out of memory reading '%s'", path); }
    s->text = t;
    *cap = c;
  }
  ntok = nn_tokenize((const char *)raw, len, s->text + s->offset[s->n]);
  NN_FREE(raw);
  if (ntok == 0) return nn__fail("'%s' has no words", path);
  if (ntok > 0x7fffffff) return nn__fail("'%s' has more than 2^31 tokens", path);
  s->tokens[s->n] = (int)ntok;
  s->y[s->n] = label;
  s->offset[s->n + 1] = s->offset[s->n] + strlen(s->text + s->offset[s->n]) + 1;
  s->n++;
  return 1;
}
NNDEF nn_text_set *nn_text_set_read_aclimdb(const char *dir, const char *split) {
  static const char *const side[2] = {"pos", "neg"};
  char *path = NULL, **names[2] = {NULL, NULL};
  int count[2] = {0, 0}, k, i, total;
  size_t cap = 0, plen;
  nn_text_set *s = NULL;
  if (!dir || !split) { nn__null("text_set_read_aclimdb", dir ? "split" : "dir"); return NULL; }
  plen = strlen(dir) + strlen(split) + 16;
  if (!(path = (char *)nn__calloc(plen, 1))) return NULL;
  for (k = 0; k < 2; k++) {
    snprintf(path, plen, "%s/%s/%s", dir, split, side[k]);
    if (!(names[k] = nn__list_txt(path, &count[k]))) goto fail;
  }
  total = count[0] + count[1];
  if (!(s = (nn_text_set *)nn__calloc(1, sizeof *s)) || !(s->offset = (size_t *)nn__calloc((size_t)total + 1, sizeof(size_t))) ||
      !(s->tokens = (int *)nn__calloc((size_t)total, sizeof(int))) || !(s->y = (float *)nn__calloc((size_t)total, sizeof(float))))
    goto fail;
  /* positives and negatives alternate while both last */
  for (i = 0; i < count[0] || i < count[1]; i++)
    for (k = 0; k < 2; k++) {
      char *file;
      size_t flen;
      int ok;
      if (i >= count[k]) continue;
      flen = plen + strlen(names[k][i]) + 1;
      if (!(file = (char *)nn__calloc(flen, 1))) goto fail;
      snprintf(file, flen, "%s/%s/%s/%s", dir, split, side[k], names[k][i]);
      ok = nn__text_append(s, &cap, file, k == 0 ? 1.0f : 0.0f);
      NN_FREE(file);
      if (!ok) goto fail;
    }
  nn__free_names(names[0], count[0]);
  nn__free_names(names[1], count[1]);
  NN_FREE(path);
  return s;
fail:
  nn__free_names(names[0], count[0]);
  nn__free_names(names[1], count[1]);
  NN_FREE(path);
  nn_text_set_free(s);
  return NULL;
}
NNDEF void nn_text_set_free(nn_text_set *s) {
  if (!s) return;
  NN_FREE(s->text);
  NN_FREE(s->offset);
  NN_FREE(s->tokens);
  NN_FREE(s->y);
  NN_FREE(s);
}
NNDEF int nn_text_set_truncate(nn_text_set *s, int n) {
  if (!s || n < 0 || n > s->n) return nn__fail("text_set_truncate: %d of %d documents", n, s ? s->n : 0);
  s->n = n;
  return 1;
}
NNDEF int nn_vocab_add_set(nn_vocab *v, const nn_text_set *s) {
  int i;
  if (!v || !s) return nn__null("vocab_add_set", v ? "text set" : "vocabulary");
  for (i = 0; i < s->n; i++) if (!nn_vocab_add(v, s->text + s->offset[i])) return 0;
  return 1;
}

/* ---- batches of similar lengths ---- */
typedef struct nn__by_length { int length, index; } nn__by_length;
static int nn__cmp_by_length(const void *a, const void *b) {
  const nn__by_length *x = (const nn__by_length *)a, *y = (const nn__by_length *)b;
  if (x->length != y->length) return x->length > y->length ? -1 : 1;   /* longest first */
  return (x->index > y->index) - (x->index < y->index);
}
/* sorts order[0..n) by falling length, through tmp (n entries) */
static void nn__sort_by_length(int *order, int n, const int *lengths, nn__by_length *tmp) {
  int i;
  for (i = 0; i < n; i++) { tmp[i].length = lengths[order[i]]; tmp[i].index = order[i]; }
  qsort(tmp, (size_t)n, sizeof *tmp, nn__cmp_by_length);
  for (i = 0; i < n; i++) order[i] = tmp[i].index;
}
NNDEF int nn_bucket_order(nn_rng *r, const int *lengths, int n, int batch, int window, int *order) {
  nn__by_length *tmp;
  int i, full, span;
  if (n > 0 && (!lengths || !order)) return nn__null("bucket_order", lengths ? "order" : "lengths");
  if (batch < 1) batch = 1;
  if (window < 1) window = 1;
  span = !r || batch > n / window ? n : batch * window;
  if (!(tmp = (nn__by_length *)nn__calloc((size_t)(span > 0 ? span : 1), sizeof *tmp))) return 0;
  for (i = 0; i < n; i++) order[i] = i;
  if (r) nn_shuffle(r, order, n);
  for (i = 0; i < n; i += span) nn__sort_by_length(order + i, n - i < span ? n - i : span, lengths, tmp);
  NN_FREE(tmp);
  if (!r) return 1;
  /* shuffle whole batches: swap batch i with batch j */
  full = n / batch;
  for (i = full - 1; i > 0; i--) {
    int j = nn_rng_int(r, i + 1), t, q;
    for (q = 0; q < batch; q++) { t = order[i * batch + q]; order[i * batch + q] = order[j * batch + q]; order[j * batch + q] = t; }
  }
  return 1;
}

#endif /* NN_NO_TEXT */

#ifndef NN_NO_IO
/* ======================================================================
   Serialization: safetensors files and checkpoints.
   The reader trusts nothing in a file: the header length is checked
   against the file size; the JSON is read by a parser that knows the
   format's shape, needs no recursion (unknown fields are skipped with a
   nesting limit) and never reads past the header; every number, shape
   product and offset is checked for overflow; names must be unique and
   valid UTF-8; and the tensors must tile the data section exactly, with
   no gap, no overlap and nothing past the end, as the reference reader
   requires.  Bytes are converted with shifts, so big-endian hosts read
   and write the same little-endian files.
   ====================================================================== */
#define NN__ST_MAX_HEADER 100000000u   /* bytes, the reference reader's limit */
#define NN__ST_MAX_DIMS 8
#define NN__ST_MAX_DEPTH 64            /* nesting of skipped unknown fields */
#define NN__ST_CHUNK 16384             /* floats converted at a time */
#define NN__ST_NAME_MAX (NN_NAME_LEN + 48)  /* a name with checkpoint prefix and slot */
#define NN__CKPT_OPT "__optimizer__."
#define NN__CKPT_EMA "__ema__."

typedef struct nn__st_dtype { const char *name; unsigned size; } nn__st_dtype;
static const nn__st_dtype nn__st_dtypes[] = {  /* F32 first: the one nn.h loads */
  {"F32", 4}, {"F16", 2}, {"BF16", 2}, {"F64", 8}, {"I8", 1}, {"I16", 2}, {"I32", 4}, {"I64", 8},
  {"U8", 1}, {"U16", 2}, {"U32", 4}, {"U64", 8}, {"BOOL", 1}, {"F8_E5M2", 1}, {"F8_E4M3", 1},
  {"F8_E8M0", 1}, {"C64", 8}
};

typedef struct nn__st_tensor {
  const char *name;               /* in the parser's arena */
  int dtype;                      /* index in nn__st_dtypes */
  int ndim;
  uint64_t dim[NN__ST_MAX_DIMS];
  uint64_t begin, end;            /* byte offsets in the data section */
  int matched;
} nn__st_tensor;
typedef struct nn__st_meta { const char *key, *value; } nn__st_meta;

/* a parsed and checked safetensors file (views into the caller's bytes) */
typedef struct nn__st {
  const char *what;               /* the file's name, for messages */
  nn__st_tensor *t;               /* sorted by name */
  int n, cap;
  nn__st_meta *meta;              /* sorted by key */
  int n_meta, cap_meta;
  char *arena;                    /* decoded strings, NUL-terminated */
  size_t arena_used;
  const unsigned char *data;
  uint64_t data_len;
} nn__st;

/* ---- little-endian bytes <-> floats, the same code on every host ---- */
static void nn__f32_to_le(const float *src, unsigned char *dst, size_t n) {
  size_t i;
  for (i = 0; i < n; i++, dst += 4) {
    uint32_t u;
    memcpy(&u, src + i, 4);
    dst[0] = (unsigned char)u; dst[1] = (unsigned char)(u >> 8);
    dst[2] = (unsigned char)(u >> 16); dst[3] = (unsigned char)(u >> 24);
  }
}
static void nn__f32_from_le(const unsigned char *src, float *dst, size_t n) {
  size_t i;
  for (i = 0; i < n; i++, src += 4) {
    uint32_t u = (uint32_t)src[0] | (uint32_t)src[1] << 8 | (uint32_t)src[2] << 16 | (uint32_t)src[3] << 24;
    memcpy(dst + i, &u, 4);
  }
}

/* 1 if s[0..n) is well-formed UTF-8: no overlong forms, no surrogates,
   nothing past U+10FFFF, no sequence cut short */
static int nn__utf8_valid(const unsigned char *s, size_t n) {
  size_t i = 0;
  while (i < n) {
    int k = s[i] < 0x80 ? 1 : nn__utf8_len(s + i, n - i);
    if (!k) return 0;
    i += (size_t)k;
  }
  return 1;
}

/* ---- the JSON header parser ---- */
typedef struct nn__json { const unsigned char *p, *start, *end; nn__st *st; } nn__json;

static int nn__json_fail(nn__json *j, const char *fmt, ...) {
  char msg[256];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  return nn__fail("'%s': bad safetensors header at byte %zu: %s", j->st->what, (size_t)(j->p - j->start) + 8, msg);
}
static int nn__json_peek(nn__json *j) {
  while (j->p < j->end && (*j->p == ' ' || *j->p == '\t' || *j->p == '\n' || *j->p == '\r')) j->p++;
  return j->p < j->end ? *j->p : -1;
}
static int nn__json_expect(nn__json *j, int c, const char *where) {
  if (nn__json_peek(j) != c) return nn__json_fail(j, "expected '%c' %s", c, where);
  j->p++;
  return 1;
}
static int nn__json_hex4(nn__json *j, uint32_t *v) {
  int i;
  *v = 0;
  if (j->end - j->p < 4) return nn__json_fail(j, "a \\u escape is cut short");
  for (i = 0; i < 4; i++) {
    int c = *j->p++, d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
    if (d < 0) return nn__json_fail(j, "a \\u escape has a non-hex digit");
    *v = *v << 4 | (uint32_t)d;
  }
  return 1;
}
/* a string, decoded into the arena (which holds as many bytes as the
   header: decoding never makes a string longer than its JSON form) */
static const char *nn__json_string(nn__json *j) {
  char *out, *o;
  if (nn__json_peek(j) != '"') { nn__json_fail(j, "expected a string"); return NULL; }
  j->p++;
  out = o = j->st->arena + j->st->arena_used;
  for (;;) {
    uint32_t cp;
    int c;
    if (j->p >= j->end) { nn__json_fail(j, "a string is not closed"); return NULL; }
    c = *j->p++;
    if (c == '"') break;
    if (c < 0x20) { nn__json_fail(j, "control character 0x%02x inside a string", c); return NULL; }
    if (c != '\\') { *o++ = (char)c; continue; }
    if (j->p >= j->end) { nn__json_fail(j, "a string is not closed"); return NULL; }
    switch (c = *j->p++) {
    case '"': case '\\': case '/': *o++ = (char)c; continue;
    case 'b': *o++ = '\b'; continue;
    case 'f': *o++ = '\f'; continue;
    case 'n': *o++ = '\n'; continue;
    case 'r': *o++ = '\r'; continue;
    case 't': *o++ = '\t'; continue;
    case 'u': break;
    default: nn__json_fail(j, "unknown escape '\\%c'", c); return NULL;
    }
    if (!nn__json_hex4(j, &cp)) return NULL;
    if (cp >= 0xD800 && cp <= 0xDBFF) {
      uint32_t lo;
      if (j->end - j->p < 2 || j->p[0] != '\\' || j->p[1] != 'u') { nn__json_fail(j, "a lone surrogate \\u%04lx", (unsigned long)cp); return NULL; }
      j->p += 2;
      if (!nn__json_hex4(j, &lo)) return NULL;
      if (lo < 0xDC00 || lo > 0xDFFF) { nn__json_fail(j, "a lone surrogate \\u%04lx", (unsigned long)cp); return NULL; }
      cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
    } else if (cp >= 0xDC00 && cp <= 0xDFFF) { nn__json_fail(j, "a lone surrogate \\u%04lx", (unsigned long)cp); return NULL; }
    if (cp == 0) { nn__json_fail(j, "\\u0000 inside a string"); return NULL; }
    if (cp < 0x80) *o++ = (char)cp;
    else if (cp < 0x800) { *o++ = (char)(0xC0 | cp >> 6); *o++ = (char)(0x80 | (cp & 0x3F)); }
    else if (cp < 0x10000) { *o++ = (char)(0xE0 | cp >> 12); *o++ = (char)(0x80 | (cp >> 6 & 0x3F)); *o++ = (char)(0x80 | (cp & 0x3F)); }
    else {
      *o++ = (char)(0xF0 | cp >> 18); *o++ = (char)(0x80 | (cp >> 12 & 0x3F));
      *o++ = (char)(0x80 | (cp >> 6 & 0x3F)); *o++ = (char)(0x80 | (cp & 0x3F));
    }
  }
  *o++ = 0;
  j->st->arena_used = (size_t)(o - j->st->arena);
  return out;
}
/* a non-negative integer as JSON writes it (no sign, fraction, exponent
   or leading zero) */
static int nn__json_uint(nn__json *j, uint64_t *v, const char *what) {
  uint64_t x = 0;
  int c = nn__json_peek(j);
  if (c == '-') return nn__json_fail(j, "%s is negative", what);
  if (c < '0' || c > '9') return nn__json_fail(j, "expected a number for %s", what);
  if (c == '0' && j->p + 1 < j->end && j->p[1] >= '0' && j->p[1] <= '9') return nn__json_fail(j, "%s has a leading zero", what);
  while (j->p < j->end && *j->p >= '0' && *j->p <= '9') {
    unsigned d = (unsigned)(*j->p - '0');
    if (x > (UINT64_MAX - d) / 10) return nn__json_fail(j, "%s does not fit in 64 bits", what);
    x = x * 10 + d;
    j->p++;
  }
  if (j->p < j->end && (*j->p == '.' || *j->p == 'e' || *j->p == 'E')) return nn__json_fail(j, "%s is not an integer", what);
  *v = x;
  return 1;
}
/* true, false, null or a number */
static int nn__json_scalar(nn__json *j) {
  static const char *const literals[3] = {"true", "false", "null"};
  const unsigned char *q = j->p;
  int i;
  for (i = 0; i < 3; i++) {
    size_t len = strlen(literals[i]);
    if ((size_t)(j->end - q) >= len && !memcmp(q, literals[i], len)) { j->p += len; return 1; }
  }
#define NN__DIGIT(q) ((q) < j->end && *(q) >= '0' && *(q) <= '9')
  if (q < j->end && *q == '-') q++;
  if (!NN__DIGIT(q)) return nn__json_fail(j, "expected a value");
  if (*q == '0') q++;
  else while (NN__DIGIT(q)) q++;
  if (q < j->end && *q == '.') {
    q++;
    if (!NN__DIGIT(q)) return nn__json_fail(j, "a number has no digits after '.'");
    while (NN__DIGIT(q)) q++;
  }
  if (q < j->end && (*q == 'e' || *q == 'E')) {
    if (++q < j->end && (*q == '+' || *q == '-')) q++;
    if (!NN__DIGIT(q)) return nn__json_fail(j, "a number has no exponent digits");
    while (NN__DIGIT(q)) q++;
  }
#undef NN__DIGIT
  j->p = q;
  return 1;
}
/* skips one value of any kind without recursion, at most
   NN__ST_MAX_DEPTH arrays and objects deep */
static int nn__json_skip(nn__json *j) {
  char close[NN__ST_MAX_DEPTH];
  int depth = 0, c;
  for (;;) {
    c = nn__json_peek(j);
    if (c == '{' || c == '[') {
      if (depth == NN__ST_MAX_DEPTH) return nn__json_fail(j, "values nested more than %d deep", NN__ST_MAX_DEPTH);
      close[depth++] = (char)(c == '{' ? '}' : ']');
      j->p++;
      if (nn__json_peek(j) == close[depth - 1]) { j->p++; depth--; }
      else {
        if (c == '{' && (!nn__json_string(j) || !nn__json_expect(j, ':', "after a key"))) return 0;
        continue;
      }
    } else if (c == '"') {
      if (!nn__json_string(j)) return 0;
    } else if (!nn__json_scalar(j)) return 0;
    for (;;) {   /* after a value: close containers, or on to the next element */
      if (depth == 0) return 1;
      c = nn__json_peek(j);
      if (c == close[depth - 1]) { j->p++; depth--; continue; }
      if (c != ',') return nn__json_fail(j, "expected ',' or '%c'", close[depth - 1]);
      j->p++;
      if (close[depth - 1] == '}' && (!nn__json_string(j) || !nn__json_expect(j, ':', "after a key"))) return 0;
      break;
    }
  }
}
/* ',' then more, or the closing character; *more says which */
static int nn__json_next(nn__json *j, int closing, int *more) {
  int c = nn__json_peek(j);
  if (c == ',') { j->p++; *more = 1; return 1; }
  if (c == closing) { j->p++; *more = 0; return 1; }
  return nn__json_fail(j, "expected ',' or '%c'", closing);
}
/* {"dtype": "F32", "shape": [..], "data_offsets": [begin, end]}, other
   fields skipped as the reference reader does */
static int nn__st_parse_tensor(nn__json *j, nn__st_tensor *t) {
  int seen = 0, more = 1, i;
  if (nn__json_peek(j) != '{') return nn__json_fail(j, "tensor '%s' is not an object", t->name);
  j->p++;
  if (nn__json_peek(j) == '}') { j->p++; more = 0; }
  while (more) {
    const char *key = nn__json_string(j);
    int field = !key ? -1 : !strcmp(key, "dtype") ? 1 : !strcmp(key, "shape") ? 2 : !strcmp(key, "data_offsets") ? 4 : 0;
    if (field < 0 || !nn__json_expect(j, ':', "after a key")) return 0;
    if (seen & field) return nn__json_fail(j, "tensor '%s' has two '%s' fields", t->name, key);
    seen |= field;
    if (field == 1) {
      const char *dt = nn__json_string(j);
      if (!dt) return 0;
      for (t->dtype = 0; t->dtype < (int)(sizeof nn__st_dtypes / sizeof nn__st_dtypes[0]); t->dtype++)
        if (!strcmp(dt, nn__st_dtypes[t->dtype].name)) break;
      if (t->dtype == (int)(sizeof nn__st_dtypes / sizeof nn__st_dtypes[0])) return nn__json_fail(j, "tensor '%s' has unknown dtype '%s'", t->name, dt);
    } else if (field == 2) {
      int dims_more = 1;
      if (!nn__json_expect(j, '[', "to open a shape")) return 0;
      if (nn__json_peek(j) == ']') { j->p++; dims_more = 0; }
      while (dims_more) {
        if (t->ndim == NN__ST_MAX_DIMS) return nn__json_fail(j, "tensor '%s' has more than %d dimensions", t->name, NN__ST_MAX_DIMS);
        if (!nn__json_uint(j, &t->dim[t->ndim++], "a dimension") || !nn__json_next(j, ']', &dims_more)) return 0;
      }
    } else if (field == 4) {
      if (!nn__json_expect(j, '[', "to open data_offsets") || !nn__json_uint(j, &t->begin, "an offset") ||
          !nn__json_expect(j, ',', "between the two offsets") || !nn__json_uint(j, &t->end, "an offset") ||
          !nn__json_expect(j, ']', "after the two offsets")) return 0;
    } else if (!nn__json_skip(j)) return 0;
    if (!nn__json_next(j, '}', &more)) return 0;
  }
  for (i = 1; i <= 4; i *= 2)
    if (!(seen & i)) return nn__json_fail(j, "tensor '%s' has no '%s'", t->name, i == 1 ? "dtype" : i == 2 ? "shape" : "data_offsets");
  return 1;
}
/* {"key": "value", ..} or null */
static int nn__st_parse_meta(nn__json *j) {
  nn__st *st = j->st;
  int more = 1;
  if (nn__json_peek(j) == 'n' && (size_t)(j->end - j->p) >= 4 && !memcmp(j->p, "null", 4)) { j->p += 4; return 1; }
  if (nn__json_peek(j) != '{') return nn__json_fail(j, "__metadata__ is not an object");
  j->p++;
  if (nn__json_peek(j) == '}') { j->p++; more = 0; }
  while (more) {
    nn__st_meta kv;
    if (!(kv.key = nn__json_string(j)) || !nn__json_expect(j, ':', "after a key")) return 0;
    if (nn__json_peek(j) != '"') return nn__json_fail(j, "the value of metadata '%s' is not a string", kv.key);
    if (!(kv.value = nn__json_string(j))) return 0;
    if (st->n_meta == st->cap_meta) {
      int cap = st->cap_meta ? 2 * st->cap_meta : 8;
      nn__st_meta *p = (nn__st_meta *)NN_REALLOC(st->meta, (size_t)cap * sizeof *p);
      if (!p) return nn__fail("out of memory reading '%s'", st->what);
      st->meta = p;
      st->cap_meta = cap;
    }
    st->meta[st->n_meta++] = kv;
    if (!nn__json_next(j, '}', &more)) return 0;
  }
  return 1;
}
static int nn__st_parse_header(nn__st *st, const unsigned char *h, size_t n) {
  nn__json j;
  int seen_meta = 0, more = 1;
  j.p = j.start = h;
  j.end = h + n;
  j.st = st;
  if (!nn__utf8_valid(h, n)) return nn__fail("'%s': the safetensors header is not UTF-8 text (not a safetensors file?)", st->what);
  if (nn__json_peek(&j) != '{') return nn__json_fail(&j, "expected '{' (not a safetensors file?)");
  j.p++;
  if (nn__json_peek(&j) == '}') { j.p++; more = 0; }
  while (more) {
    const char *key = nn__json_string(&j);
    if (!key || !nn__json_expect(&j, ':', "after a key")) return 0;
    if (!strcmp(key, "__metadata__")) {
      if (seen_meta) return nn__json_fail(&j, "two __metadata__ entries");
      seen_meta = 1;
      if (!nn__st_parse_meta(&j)) return 0;
    } else {
      if (st->n == st->cap) {
        int cap = st->cap ? 2 * st->cap : 16;
        nn__st_tensor *p = (nn__st_tensor *)NN_REALLOC(st->t, (size_t)cap * sizeof *p);
        if (!p) return nn__fail("out of memory reading '%s'", st->what);
        st->t = p;
        st->cap = cap;
      }
      memset(&st->t[st->n], 0, sizeof st->t[0]);
      st->t[st->n].name = key;
      if (!nn__st_parse_tensor(&j, &st->t[st->n++])) return 0;
    }
    if (!nn__json_next(&j, '}', &more)) return 0;
  }
  if (nn__json_peek(&j) != -1) return nn__json_fail(&j, "text after the header's closing '}'");
  return 1;
}

static int nn__st_cmp_name(const void *a, const void *b) { return strcmp(((const nn__st_tensor *)a)->name, ((const nn__st_tensor *)b)->name); }
static int nn__st_cmp_key(const void *a, const void *b) { return strcmp(((const nn__st_meta *)a)->key, ((const nn__st_meta *)b)->key); }
static int nn__st_cmp_offset(const void *a, const void *b) {
  const nn__st_tensor *x = *(const nn__st_tensor *const *)a, *y = *(const nn__st_tensor *const *)b;
  if (x->begin != y->begin) return x->begin < y->begin ? -1 : 1;
  return x->end < y->end ? -1 : x->end > y->end;
}
/* unique names and keys; sizes that match shapes; tensors that tile the
   data section exactly */
static int nn__st_validate(nn__st *st) {
  const nn__st_tensor **order;
  uint64_t next = 0;
  char sh[160];
  int i;
  if (st->n > 1) qsort(st->t, (size_t)st->n, sizeof *st->t, nn__st_cmp_name);
  if (st->n_meta > 1) qsort(st->meta, (size_t)st->n_meta, sizeof *st->meta, nn__st_cmp_key);
  for (i = 1; i < st->n; i++)
    if (!strcmp(st->t[i - 1].name, st->t[i].name)) return nn__fail("'%s': tensor '%s' appears twice", st->what, st->t[i].name);
  for (i = 1; i < st->n_meta; i++)
    if (!strcmp(st->meta[i - 1].key, st->meta[i].key)) return nn__fail("'%s': metadata '%s' appears twice", st->what, st->meta[i].key);
  for (i = 0; i < st->n; i++) {
    const nn__st_tensor *t = &st->t[i];
    uint64_t bytes = nn__st_dtypes[t->dtype].size;
    int k;
    for (k = 0; k < t->ndim; k++) {
      if (t->dim[k] && bytes > UINT64_MAX / t->dim[k])
        return nn__fail("'%s': tensor '%s' has shape %s, too large to exist", st->what, t->name, nn__dims_str(t->ndim, NULL, t->dim, sh, sizeof sh));
      bytes *= t->dim[k];
    }
    if (t->end < t->begin)
      return nn__fail("'%s': tensor '%s' has data_offsets [%llu, %llu], which end before they begin", st->what, t->name,
                      (unsigned long long)t->begin, (unsigned long long)t->end);
    if (t->end - t->begin != bytes)
      return nn__fail("'%s': tensor '%s' has data_offsets [%llu, %llu] (%llu bytes) but %s %s needs %llu bytes", st->what, t->name,
                      (unsigned long long)t->begin, (unsigned long long)t->end, (unsigned long long)(t->end - t->begin),
                      nn__st_dtypes[t->dtype].name, nn__dims_str(t->ndim, NULL, t->dim, sh, sizeof sh), (unsigned long long)bytes);
  }
  order = (const nn__st_tensor **)nn__calloc((size_t)st->n + 1, sizeof *order);
  if (!order) return 0;
  for (i = 0; i < st->n; i++) order[i] = &st->t[i];
  if (st->n > 1) qsort(order, (size_t)st->n, sizeof *order, nn__st_cmp_offset);
  for (i = 0; i < st->n; i++) {
    if (order[i]->begin != next) {
      nn__fail("'%s': tensor '%s' starts at byte %llu of the data, where %llu was expected (tensors overlap or leave a gap)",
               st->what, order[i]->name, (unsigned long long)order[i]->begin, (unsigned long long)next);
      NN_FREE(order);
      return 0;
    }
    next = order[i]->end;
  }
  NN_FREE(order);
  if (next != st->data_len)
    return nn__fail("'%s': the tensors hold %llu bytes but the data section has %llu (%s)", st->what, (unsigned long long)next,
                    (unsigned long long)st->data_len, next > st->data_len ? "truncated" : "trailing bytes");
  return 1;
}
static void nn__st_close(nn__st *st) {
  NN_FREE(st->t);
  NN_FREE(st->meta);
  NN_FREE(st->arena);
  memset(st, 0, sizeof *st);
}
/* parses and checks a whole file held in memory; what names it in messages */
static int nn__st_open(nn__st *st, const unsigned char *buf, size_t len, const char *what) {
  uint64_t hlen = 0;
  int i;
  memset(st, 0, sizeof *st);
  st->what = what;
  if (len < 8) return nn__fail("'%s' is too short for a safetensors file (%zu bytes)", what, len);
  for (i = 7; i >= 0; i--) hlen = hlen << 8 | buf[i];
  if (hlen > len - 8)
    return nn__fail("'%s': the safetensors header length is %llu bytes but only %zu follow (truncated, or not a safetensors file)",
                    what, (unsigned long long)hlen, len - 8);
  if (hlen > NN__ST_MAX_HEADER) return nn__fail("'%s': a safetensors header of %llu bytes (at most %u allowed)", what, (unsigned long long)hlen, NN__ST_MAX_HEADER);
  if (!(st->arena = (char *)nn__calloc((size_t)hlen + 1, 1))) return 0;
  st->data = buf + 8 + hlen;
  st->data_len = len - 8 - hlen;
  if (!nn__st_parse_header(st, buf + 8, (size_t)hlen) || !nn__st_validate(st)) { nn__st_close(st); return 0; }
  return 1;
}
static nn__st_tensor *nn__st_find(const nn__st *st, const char *name) {
  int lo = 0, hi = st->n - 1;
  while (lo <= hi) {
    int mid = lo + (hi - lo) / 2, c = strcmp(st->t[mid].name, name);
    if (!c) return &st->t[mid];
    if (c < 0) lo = mid + 1;
    else hi = mid - 1;
  }
  return NULL;
}
static const char *nn__st_meta_get(const nn__st *st, const char *key) {
  int lo = 0, hi = st->n_meta - 1;
  while (lo <= hi) {
    int mid = lo + (hi - lo) / 2, c = strcmp(st->meta[mid].key, key);
    if (!c) return st->meta[mid].value;
    if (c < 0) lo = mid + 1;
    else hi = mid - 1;
  }
  return NULL;
}

/* ---- what a file holds for a model: one target per tensor ---- */
enum { NN__ST_F32 = 0, NN__ST_I64 = 7 };   /* indices in nn__st_dtypes */
typedef struct nn__st_target {
  char name[NN__ST_NAME_MAX];
  /* a tensor of a bidirectional recurrent layer: the name it had in nn.h
     0.2's files, which stacked the reverse direction (half 1) after the
     forward one (half 0) in one tensor under the forward name; else "" */
  char joined[NN__ST_NAME_MAX];
  int half;
  nn_shape shape;                 /* ndim 0: a scalar */
  int dtype;                      /* NN__ST_F32, or NN__ST_I64 for a count */
  void *buf;                      /* F32: the backend buffer */
  int64_t *count;                 /* I64: num_batches_tracked, on the host */
} nn__st_target;

static const char *nn__opt_kind_name(nn_opt_kind k) { return k == NN_OPT_SGD ? "sgd" : k == NN_OPT_ADAM ? "adam" : "rmsprop"; }
/* PyTorch's names for the optimizer's state buffers s1 and s2 */
static const char *nn__opt_slot_name(nn_opt_kind k, int slot) {
  if (k == NN_OPT_ADAM) return slot == 1 ? "exp_avg" : "exp_avg_sq";
  return slot == 1 ? "momentum_buffer" : "square_avg";
}
/* the reference writer's order: wider dtypes first (I64 before F32), then by name */
static int nn__st_cmp_target(const void *a, const void *b) {
  const nn__st_target *x = (const nn__st_target *)a, *y = (const nn__st_target *)b;
  if (x->dtype != y->dtype) return x->dtype == NN__ST_I64 ? -1 : 1;
  return strcmp(x->name, y->name);
}
/* buf, a tensor of parameter p's shape, named prefix + p's name [+ "." +
   slot]; fwd: for a bidirectional layer's parameter, the forward
   direction's parameter of its kind, else NULL */
static void nn__st_param_target(nn__st_target *t, const nn_node *p, const nn_node *fwd, const char *prefix, const char *slot,
                                void *buf) {
  snprintf(t->name, sizeof t->name, "%s%s%s%s", prefix, p->name, *slot ? "." : "", slot);
  if (fwd) {
    snprintf(t->joined, sizeof t->joined, "%s%s%s%s", prefix, fwd->name, *slot ? "." : "", slot);
    t->half = fwd != p;
  }
  t->shape = p->shape;
  t->dtype = NN__ST_F32;
  t->buf = buf;
}
/* every parameter and batch-norm count, and the optimizer's and the
   average's buffers when given, in the order files hold them (nn__st_cmp_target) */
static nn__st_target *nn__st_targets(nn_model *m, const nn_optimizer *o, const nn_ema *e, int *count) {
  const nn_graph *g = m->graph;
  const nn_node **fwd;
  nn__st_target *t;
  int i, d, k, n = 0, cap = 0;
  for (i = 0; i < g->n; i++)
    if (g->nodes[i]->op == NN_OP_PARAM) cap += 1 + (o && o->s1[i] != NULL) + (o && o->s2[i] != NULL) + (e && e->avg[i] != NULL);
    else cap += g->nodes[i]->op == NN_OP_BATCHNORM;
  t = (nn__st_target *)nn__calloc((size_t)cap + 1, sizeof *t);
  fwd = (const nn_node **)nn__calloc((size_t)g->n, sizeof *fwd);
  if (!t || !fwd) { NN_FREE(t); NN_FREE(fwd); return NULL; }
  for (i = 0; i < g->n; i++) {
    const nn_node *nd = g->nodes[i];
    if ((nd->op == NN_OP_RNN || nd->op == NN_OP_LSTM || nd->op == NN_OP_GRU) && nd->attr.recurrent.dirs == 2)
      for (d = 0; d < 2; d++)
        for (k = 0; k < 4; k++) fwd[nd->in[2 + 4 * d + k]->id] = nd->in[2 + k];
  }
  for (i = 0; i < g->n; i++) {
    const nn_node *p = g->nodes[i];
    if (p->op == NN_OP_BATCHNORM) {
      snprintf(t[n].name, sizeof t[n].name, "%s.num_batches_tracked", p->name);
      t[n].dtype = NN__ST_I64;
      t[n++].count = &m->batches[i];
      continue;
    }
    if (p->op != NN_OP_PARAM) continue;
    nn__st_param_target(&t[n++], p, fwd[i], "", "", m->value[i]);
    if (o && o->s1[i]) nn__st_param_target(&t[n++], p, fwd[i], NN__CKPT_OPT, nn__opt_slot_name(o->kind, 1), o->s1[i]);
    if (o && o->s2[i]) nn__st_param_target(&t[n++], p, fwd[i], NN__CKPT_OPT, nn__opt_slot_name(o->kind, 2), o->s2[i]);
    if (e && e->avg[i]) nn__st_param_target(&t[n++], p, fwd[i], NN__CKPT_EMA, "", e->avg[i]);
  }
  NN_FREE(fwd);
  if (n > 1) qsort(t, (size_t)n, sizeof *t, nn__st_cmp_target);
  *count = n;
  return t;
}

/* ---- writing: a growing text buffer for the header, an atomic file ---- */
typedef struct nn__text { char *p; size_t n, cap; int failed; } nn__text;
static void nn__text_put(nn__text *b, const char *s, size_t n) {
  if (b->failed) return;
  if (b->n + n + 1 > b->cap) {
    size_t cap = b->cap ? b->cap : 1024;
    char *p = NULL;
    while (cap < b->n + n + 1 && cap <= (size_t)-1 / 2) cap *= 2;
    if (cap < b->n + n + 1 || !(p = (char *)NN_REALLOC(b->p, cap))) { b->failed = 1; nn__fail("out of memory writing a header"); return; }
    b->p = p;
    b->cap = cap;
  }
  memcpy(b->p + b->n, s, n);
  b->n += n;
  b->p[b->n] = 0;
}
static void nn__text_str(nn__text *b, const char *s) { nn__text_put(b, s, strlen(s)); }
/* a JSON string, escaped as serde_json (the reference writer) does */
static void nn__text_json(nn__text *b, const char *s) {
  nn__text_put(b, "\"", 1);
  for (; *s; s++) {
    unsigned char c = (unsigned char)*s;
    char esc[8];
    if (c == '"' || c == '\\') { esc[0] = '\\'; esc[1] = (char)c; nn__text_put(b, esc, 2); }
    else if (c == '\b') nn__text_str(b, "\\b");
    else if (c == '\f') nn__text_str(b, "\\f");
    else if (c == '\n') nn__text_str(b, "\\n");
    else if (c == '\r') nn__text_str(b, "\\r");
    else if (c == '\t') nn__text_str(b, "\\t");
    else if (c < 0x20) { snprintf(esc, sizeof esc, "\\u%04x", c); nn__text_str(b, esc); }
    else nn__text_put(b, (const char *)&c, 1);
  }
  nn__text_put(b, "\"", 1);
}

/* writes targets t[0..n) (in file order) with metadata pairs meta[0..2*n_meta) */
static int nn__st_write(nn_model *m, const nn__st_target *t, int n, const char **meta, int n_meta, const char *path) {
  nn__text h;
  nn__atomic_file af;
  uint64_t off = 0;
  unsigned char len8[8];
  float *host = NULL;
  unsigned char *bytes = NULL;
  int i, k, ok = 1;
  char num[64];
  memset(&h, 0, sizeof h);
  for (i = 0; i < n; i++) {
    if (!nn__utf8_valid((const unsigned char *)t[i].name, strlen(t[i].name))) return nn__fail("save '%s': the name '%s' is not UTF-8", path, t[i].name);
    if (!strcmp(t[i].name, "__metadata__")) return nn__fail("save '%s': a tensor cannot be named __metadata__", path);
    if (i && !strcmp(t[i - 1].name, t[i].name)) return nn__fail("save '%s': two tensors are named '%s'", path, t[i].name);
  }
  for (i = 0; i < n_meta; i++) {  /* sorted by key, as the reference writer does */
    for (k = i; k > 0 && strcmp(meta[2 * k - 2], meta[2 * k]) > 0; k--) {
      const char *a = meta[2 * k - 2], *b = meta[2 * k - 1];
      meta[2 * k - 2] = meta[2 * k]; meta[2 * k - 1] = meta[2 * k + 1];
      meta[2 * k] = a; meta[2 * k + 1] = b;
    }
  }
  for (i = 0; i < n_meta; i++) {
    if (!nn__utf8_valid((const unsigned char *)meta[2 * i], strlen(meta[2 * i])) ||
        !nn__utf8_valid((const unsigned char *)meta[2 * i + 1], strlen(meta[2 * i + 1])))
      return nn__fail("save '%s': metadata '%s' is not UTF-8", path, meta[2 * i]);
    if (i && !strcmp(meta[2 * i - 2], meta[2 * i])) return nn__fail("save '%s': metadata '%s' is given twice", path, meta[2 * i]);
  }
  nn__text_str(&h, "{");
  if (n_meta) {
    nn__text_str(&h, "\"__metadata__\":{");
    for (i = 0; i < n_meta; i++) {
      if (i) nn__text_str(&h, ",");
      nn__text_json(&h, meta[2 * i]);
      nn__text_str(&h, ":");
      nn__text_json(&h, meta[2 * i + 1]);
    }
    nn__text_str(&h, n ? "}," : "}");
  }
  for (i = 0; i < n; i++) {
    const nn_shape *s = &t[i].shape;
    uint64_t size = (uint64_t)nn_shape_numel(s) * nn__st_dtypes[t[i].dtype].size;
    if (i) nn__text_str(&h, ",");
    nn__text_json(&h, t[i].name);
    nn__text_str(&h, ":{\"dtype\":\"");
    nn__text_str(&h, nn__st_dtypes[t[i].dtype].name);
    nn__text_str(&h, "\",\"shape\":[");
    for (k = 0; k < s->ndim; k++) {
      snprintf(num, sizeof num, k ? ",%d" : "%d", s->dim[k]);
      nn__text_str(&h, num);
    }
    snprintf(num, sizeof num, "],\"data_offsets\":[%llu,%llu]}", (unsigned long long)off, (unsigned long long)(off + size));
    nn__text_str(&h, num);
    off += size;
  }
  nn__text_str(&h, "}");
  while (!h.failed && h.n % 8) nn__text_str(&h, " ");  /* data starts 8-byte aligned */
  if (h.failed) { NN_FREE(h.p); return 0; }
  for (i = 0; i < 8; i++) len8[i] = (unsigned char)((uint64_t)h.n >> (8 * i));
  host = (float *)nn__calloc(NN__ST_CHUNK, sizeof(float));
  bytes = (unsigned char *)nn__calloc(NN__ST_CHUNK, 4);
  if (!host || !bytes || !nn__af_open(&af, path)) { NN_FREE(h.p); NN_FREE(host); NN_FREE(bytes); return 0; }
  ok = nn__af_write(&af, len8, 8) && nn__af_write(&af, h.p, h.n);
  for (i = 0; i < n && ok; i++) {
    size_t total = nn_shape_numel(&t[i].shape), at, c;
    if (t[i].dtype == NN__ST_I64) {
      for (k = 0; k < 8; k++) bytes[k] = (unsigned char)((uint64_t)*t[i].count >> (8 * k));
      ok = nn__af_write(&af, bytes, 8);
      continue;
    }
    for (at = 0; at < total && ok; at += c) {
      c = total - at < NN__ST_CHUNK ? total - at : NN__ST_CHUNK;
      ok = m->backend->ops->read(m->backend, t[i].buf, at, host, c);
      nn__f32_to_le(host, bytes, c);
      ok = ok && nn__af_write(&af, bytes, 4 * c);
    }
  }
  ok = nn__af_close(&af, ok);
  NN_FREE(h.p);
  NN_FREE(host);
  NN_FREE(bytes);
  return ok;
}

/* ---- loading: match a file against targets, then copy ---- */
/* the problems found, as many as fit in full, then a count of the rest */
typedef struct nn__problems { char text[360]; size_t used; int count, listed; } nn__problems;
static void nn__problem(nn__problems *p, const char *fmt, ...) {
  char one[300];
  size_t len;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(one, sizeof one, fmt, ap);
  va_end(ap);
  len = strlen(one);
  p->count++;
  if (p->listed < p->count - 1 || p->used + len + 2 >= sizeof p->text) return;
  snprintf(p->text + p->used, sizeof p->text - p->used, "%s%s", p->listed ? "; " : "", one);
  p->used += len + (p->listed ? 2 : 0);
  p->listed++;
}
enum { NN__IGNORE_OPT = 2, NN__IGNORE_EMA = 4 };  /* with the NN_LOAD_ flags */
static int nn__st_reserved(const char *name, int flags) {
  return ((flags & NN__IGNORE_OPT) && !strncmp(name, NN__CKPT_OPT, strlen(NN__CKPT_OPT))) ||
         ((flags & NN__IGNORE_EMA) && !strncmp(name, NN__CKPT_EMA, strlen(NN__CKPT_EMA)));
}
/* 1 if file tensor f is nn.h 0.2's joined form of shape s: both
   directions stacked along dim 0 */
static int nn__st_joined(const nn__st_tensor *f, const nn_shape *s) {
  int k;
  if (f->ndim != s->ndim || f->dim[0] != 2 * (uint64_t)s->dim[0]) return 0;
  for (k = 1; k < s->ndim; k++) if (f->dim[k] != (uint64_t)s->dim[k]) return 0;
  return 1;
}
/* checks every name, dtype and shape; only if all match, copies the
   tensors.  A missing num_batches_tracked (files of nn.h 0.2 and of
   PyTorch before 0.4.1) is not a problem: the count keeps its value, as
   in PyTorch.  Returns how many were copied, 0 on failure. */
static int nn__st_apply(nn_model *m, nn__st *st, const nn__st_target *t, int n, int flags) {
  typedef struct { const nn__st_tensor *f; size_t at; } nn__st_src;   /* at: first element taken */
  nn__problems pr;
  nn__st_src *src;
  float *host;
  char a[160], b[64];
  int i, k, loaded = 0, ok = 1;
  memset(&pr, 0, sizeof pr);
  if (!(src = (nn__st_src *)nn__calloc((size_t)n + 1, sizeof *src))) return 0;
  for (i = 0; i < n; i++) {
    const nn_shape *s = &t[i].shape;
    nn__st_tensor *f = nn__st_find(st, t[i].name);
    int same = 1;
    if (!f && t[i].half) {   /* the reverse half of a joined tensor? */
      f = nn__st_find(st, t[i].joined);
      if (f && !nn__st_joined(f, s)) f = NULL;
    }
    if (!f) {
      if (!(flags & NN_LOAD_PARTIAL) && t[i].dtype != NN__ST_I64) nn__problem(&pr, "missing tensor '%s' %s", t[i].name, nn_shape_str(s, b, sizeof b));
      continue;
    }
    f->matched = 1;
    if (t[i].joined[0] && nn__st_joined(f, s)) src[i].at = (size_t)t[i].half * nn_shape_numel(s);
    else {
      if (f->ndim != s->ndim) same = 0;
      for (k = 0; same && k < s->ndim; k++) same = f->dim[k] == (uint64_t)s->dim[k];
    }
    if (f->dtype != t[i].dtype) nn__problem(&pr, "tensor '%s' is %s, not %s", t[i].name, nn__st_dtypes[f->dtype].name, nn__st_dtypes[t[i].dtype].name);
    else if (!same) nn__problem(&pr, "tensor '%s' has shape %s in the file, %s in the model", t[i].name,
                                nn__dims_str(f->ndim, NULL, f->dim, a, sizeof a), nn_shape_str(s, b, sizeof b));
    else src[i].f = f;
  }
  for (i = 0; i < st->n && !(flags & NN_LOAD_PARTIAL); i++)
    if (!st->t[i].matched && !nn__st_reserved(st->t[i].name, flags))
      nn__problem(&pr, "unexpected tensor '%s' %s %s", st->t[i].name, nn__st_dtypes[st->t[i].dtype].name,
                  nn__dims_str(st->t[i].ndim, NULL, st->t[i].dim, a, sizeof a));
  for (i = 0; i < n; i++) loaded += src[i].f != NULL;
  if (pr.count) {
    char rest[32] = "";
    if (pr.listed < pr.count) snprintf(rest, sizeof rest, "; and %d more", pr.count - pr.listed);
    nn__fail("'%s' does not fit the model (%d problem%s): %s%s", st->what, pr.count, pr.count > 1 ? "s" : "", pr.text, rest);
    NN_FREE(src);
    return 0;
  }
  if (!loaded) { NN_FREE(src); return nn__fail("'%s' has none of the model's tensors", st->what); }
  if (!(host = (float *)nn__calloc(NN__ST_CHUNK, sizeof(float)))) { NN_FREE(src); return 0; }
  for (i = 0; i < n && ok; i++) {
    const unsigned char *data;
    size_t total, at, c;
    if (!src[i].f) continue;
    data = st->data + src[i].f->begin;
    if (t[i].dtype == NN__ST_I64) {
      uint64_t v = 0;
      for (k = 7; k >= 0; k--) v = v << 8 | data[k];
      *t[i].count = (int64_t)v;
      continue;
    }
    data += 4 * src[i].at;
    total = nn_shape_numel(&t[i].shape);
    for (at = 0; at < total && ok; at += c) {
      c = total - at < NN__ST_CHUNK ? total - at : NN__ST_CHUNK;
      nn__f32_from_le(data + 4 * at, host, c);
      ok = m->backend->ops->write(m->backend, t[i].buf, at, host, c);
    }
  }
  NN_FREE(host);
  NN_FREE(src);
  return ok ? loaded : 0;
}

/* ---- public: weights ---- */
NNDEF int nn_safetensors_save(nn_model *m, const char *path, const char *const *metadata) {
  const char **meta = NULL;
  nn__st_target *t;
  int n = 0, n_meta = 0, ok;
  if (!nn__model_ok(m, "safetensors_save")) return 0;
  if (!path) return nn__null("safetensors_save", "path");
  while (metadata && metadata[2 * n_meta]) {
    if (!metadata[2 * n_meta + 1]) return nn__fail("save '%s': metadata '%s' has no value", path, metadata[2 * n_meta]);
    n_meta++;
  }
  if (!(meta = (const char **)nn__calloc(2 * (size_t)n_meta + 1, sizeof *meta))) return 0;
  if (n_meta) memcpy(meta, metadata, 2 * (size_t)n_meta * sizeof *meta);
  if (!(t = nn__st_targets(m, NULL, NULL, &n))) { NN_FREE(meta); return 0; }
  ok = nn__st_write(m, t, n, meta, n_meta, path);
  NN_FREE(t);
  NN_FREE(meta);
  return ok;
}
static int nn__load_weights(nn_model *m, const unsigned char *buf, size_t len, int flags, const char *what) {
  nn__st st;
  nn__st_target *t;
  int n = 0, loaded;
  if (!nn__model_ok(m, "safetensors_load")) return 0;
  if (!buf) return nn__fail("safetensors_load: the data of %s is NULL", what);
  if (!nn__st_open(&st, buf, len, what)) return 0;
  /* a checkpoint is a weights file with more in it */
  flags &= NN_LOAD_PARTIAL;
  if (nn__st_meta_get(&st, "nn.checkpoint")) flags |= NN__IGNORE_OPT | NN__IGNORE_EMA;
  if (!(t = nn__st_targets(m, NULL, NULL, &n))) { nn__st_close(&st); return 0; }
  loaded = nn__st_apply(m, &st, t, n, flags);
  NN_FREE(t);
  nn__st_close(&st);
  return loaded;
}
NNDEF int nn_safetensors_load_buffer(nn_model *m, const void *data, size_t len, int flags) {
  return nn__load_weights(m, (const unsigned char *)data, len, flags, "(buffer)");
}
NNDEF int nn_safetensors_load(nn_model *m, const char *path, int flags) {
  size_t len = 0;
  unsigned char *buf = nn__model_ok(m, "safetensors_load") ? nn__read_file(path, &len) : NULL;
  int loaded = buf ? nn__load_weights(m, buf, len, flags, path) : 0;
  NN_FREE(buf);
  return loaded;
}

/* ---- public: checkpoints ---- */
/* 1 if m is live and o and e (each may be NULL) are its own */
static int nn__ckpt_args(const nn_model *m, const nn_optimizer *o, const nn_ema *e, const char *fn) {
  return nn__model_ok(m, fn) && (!o || nn__opt_ok(o, m, fn)) && (!e || nn__ema_ok(e, m, fn));
}
static void nn__rng_str(const nn_rng *r, char *buf, size_t len) {
  snprintf(buf, len, "%016llx:%016llx", (unsigned long long)r->s[0], (unsigned long long)r->s[1]);
}
static int nn__hex_digits(const char *s, int n, uint64_t *v) {
  int i;
  *v = 0;
  for (i = 0; i < n; i++) {
    int c = s[i], d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
    if (d < 0) return 0;
    *v = *v << 4 | (uint64_t)d;
  }
  return 1;
}
/* metadata values, each checked to be exactly what the writer writes */
static int nn__ckpt_rng(const nn__st *st, const char *key, nn_rng *r) {
  const char *s = nn__st_meta_get(st, key);
  if (!s) return nn__fail("'%s': checkpoint without %s", st->what, key);
  if (strlen(s) != 33 || s[16] != ':' || !nn__hex_digits(s, 16, &r->s[0]) || !nn__hex_digits(s + 17, 16, &r->s[1]))
    return nn__fail("'%s': %s is '%s', expected two 16-digit hex words joined by ':'", st->what, key, s);
  return 1;
}
static int nn__ckpt_long(const nn__st *st, const char *key, long *v) {
  const char *s = nn__st_meta_get(st, key), *p;
  unsigned long x = 0, limit;
  if (!s) return nn__fail("'%s': checkpoint without %s", st->what, key);
  p = s + (*s == '-');
  limit = *s == '-' ? (unsigned long)LONG_MAX + 1 : (unsigned long)LONG_MAX;
  if (!*p || (*p == '0' && p[1])) return nn__fail("'%s': %s is '%s', not a decimal integer", st->what, key, s);
  for (; *p; p++) {
    if (*p < '0' || *p > '9' || x > (limit - (unsigned long)(*p - '0')) / 10) return nn__fail("'%s': %s is '%s', not a decimal integer that fits a long", st->what, key, s);
    x = x * 10 + (unsigned long)(*p - '0');
  }
  *v = *s == '-' ? (x == (unsigned long)LONG_MAX + 1 ? LONG_MIN : -(long)x) : (long)x;
  return 1;
}
static int nn__ckpt_f32(const nn__st *st, const char *key, float *f) {
  const char *s = nn__st_meta_get(st, key);
  uint64_t bits;
  uint32_t u;
  if (!s) return nn__fail("'%s': checkpoint without %s", st->what, key);
  if (strlen(s) != 10 || s[0] != '0' || s[1] != 'x' || !nn__hex_digits(s + 2, 8, &bits))
    return nn__fail("'%s': %s is '%s', expected the bits of a float as 0x and 8 hex digits", st->what, key, s);
  u = (uint32_t)bits;
  memcpy(f, &u, 4);
  return 1;
}

NNDEF int nn_checkpoint_save(nn_model *m, const nn_optimizer *o, const nn_ema *e,
                             const nn_checkpoint_info *info, const char *path) {
  char epoch[32], step[32], rng[40], data_rng[40], ostep[32], oskip[32], olr[16];
  const char *meta[24];
  nn__st_target *t;
  int i, n = 0, k = 0, ok;
  if (!nn__ckpt_args(m, o, e, "checkpoint_save")) return 0;
  if (!path) return nn__null("checkpoint_save", "path");
  for (i = 0; i < m->graph->n; i++)
    if (m->graph->nodes[i]->op == NN_OP_PARAM && !strncmp(m->graph->nodes[i]->name, "__", 2))
      return nn__fail("checkpoint '%s': parameter '%s': names starting with __ are reserved for checkpoints", path, m->graph->nodes[i]->name);
  meta[k++] = "nn.checkpoint"; meta[k++] = "1";
  nn__rng_str(&m->rng, rng, sizeof rng);
  meta[k++] = "nn.rng"; meta[k++] = rng;
  if (info) {
    snprintf(epoch, sizeof epoch, "%ld", info->epoch);
    snprintf(step, sizeof step, "%ld", info->step);
    nn__rng_str(&info->data_rng, data_rng, sizeof data_rng);
    meta[k++] = "nn.epoch"; meta[k++] = epoch;
    meta[k++] = "nn.step"; meta[k++] = step;
    meta[k++] = "nn.data_rng"; meta[k++] = data_rng;
  }
  if (o) {
    uint32_t u;
    memcpy(&u, &o->lr, 4);
    snprintf(ostep, sizeof ostep, "%ld", o->step);
    snprintf(oskip, sizeof oskip, "%ld", o->skipped);
    snprintf(olr, sizeof olr, "0x%08lx", (unsigned long)u);
    meta[k++] = "nn.optimizer"; meta[k++] = nn__opt_kind_name(o->kind);
    meta[k++] = "nn.optimizer.step"; meta[k++] = ostep;
    meta[k++] = "nn.optimizer.skipped"; meta[k++] = oskip;
    meta[k++] = "nn.optimizer.lr"; meta[k++] = olr;
  }
  if (!(t = nn__st_targets(m, o, e, &n))) return 0;
  ok = nn__st_write(m, t, n, meta, k / 2, path);
  NN_FREE(t);
  return ok;
}
static int nn__checkpoint_load_buffer(nn_model *m, nn_optimizer *o, nn_ema *e, nn_checkpoint_info *info,
                                      const unsigned char *buf, size_t len, const char *what) {
  nn__st st;
  nn__st_target *t = NULL;
  nn_checkpoint_info in;
  nn_rng rng;
  long ostep = 0, oskip = 0;
  float olr = 0;
  const char *version, *kind;
  int n = 0, i, ok = 0, flags = 0, has_ema = 0;
  if (!nn__ckpt_args(m, o, e, "checkpoint_load")) return 0;
  if (!buf) return nn__fail("checkpoint_load: the data of %s is NULL", what);
  if (!nn__st_open(&st, buf, len, what)) return 0;
  memset(&in, 0, sizeof in);
  if (!(version = nn__st_meta_get(&st, "nn.checkpoint"))) {
    nn__fail("'%s' is a safetensors file but not a checkpoint (no nn.checkpoint metadata); nn_safetensors_load reads weights", what);
    goto done;
  }
  if (strcmp(version, "1")) { nn__fail("'%s' is a checkpoint of version '%s'; this nn.h reads version 1", what, version); goto done; }
  if (!nn__ckpt_rng(&st, "nn.rng", &rng)) goto done;
  if (info && (!nn__ckpt_long(&st, "nn.epoch", &in.epoch) || !nn__ckpt_long(&st, "nn.step", &in.step) ||
               !nn__ckpt_rng(&st, "nn.data_rng", &in.data_rng))) goto done;
  if (o) {
    if (!(kind = nn__st_meta_get(&st, "nn.optimizer"))) { nn__fail("'%s' holds no optimizer state", what); goto done; }
    if (strcmp(kind, nn__opt_kind_name(o->kind))) {
      nn__fail("'%s' holds the state of %s, the optimizer is %s", what, kind, nn__opt_kind_name(o->kind));
      goto done;
    }
    if (!nn__ckpt_long(&st, "nn.optimizer.step", &ostep) || !nn__ckpt_long(&st, "nn.optimizer.skipped", &oskip) ||
        !nn__ckpt_f32(&st, "nn.optimizer.lr", &olr)) goto done;
    if (ostep < 0 || oskip < 0) { nn__fail("'%s': negative optimizer step count", what); goto done; }
  } else flags |= NN__IGNORE_OPT;
  if (e) {
    for (i = 0; i < st.n; i++) has_ema |= !strncmp(st.t[i].name, NN__CKPT_EMA, strlen(NN__CKPT_EMA));
    if (!has_ema) { nn__fail("'%s' holds no moving average of the weights", what); goto done; }
  } else flags |= NN__IGNORE_EMA;
  if (!(t = nn__st_targets(m, o, e, &n)) || !nn__st_apply(m, &st, t, n, flags)) goto done;
  m->rng = rng;
  if (o) { o->step = ostep; o->skipped = oskip; o->lr = olr; }
  if (info) *info = in;
  ok = 1;
done:
  NN_FREE(t);
  nn__st_close(&st);
  return ok;
}
NNDEF int nn_checkpoint_load(nn_model *m, nn_optimizer *o, nn_ema *e, nn_checkpoint_info *info, const char *path) {
  size_t len = 0;
  unsigned char *buf = nn__ckpt_args(m, o, e, "checkpoint_load") ? nn__read_file(path, &len) : NULL;
  int ok = buf ? nn__checkpoint_load_buffer(m, o, e, info, buf, len, path) : 0;
  NN_FREE(buf);
  return ok;
}

#endif /* NN_NO_IO */

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
