/* nn_onnx.h — ONNX export for nn.h.

   Writes the inference graph of a compiled model to an ONNX file (opset
   17) that ONNX Runtime, TensorRT, OpenVINO, onnx2torch and the rest can
   run: the inputs the chosen output depends on, the ops between, and the
   weights as initializers named like the parameters (fc.weight,
   bn.running_mean).  Weights are read with nn_read, so any backend's
   model exports.  The protobuf is written by the few lines below; nothing
   beyond the C library is needed.

   USAGE
     In the one file that defines NN_IMPLEMENTATION, after nn.h:
         #define NN_IMPLEMENTATION
         #include "nn.h"
         #define NN_ONNX_IMPLEMENTATION
         #include "nn_onnx.h"
     Elsewhere include nn.h and then nn_onnx.h for the declarations.

         if (!nn_onnx_save(m, logits, "model.onnx")) fprintf(stderr, "%s\n", nn_last_error());

   THE GRAPH
     Inputs are float tensors named like nn.h's inputs, with a symbolic
     batch dimension "N" in front of the sample's shape; outputs are named
     like their nodes (a name two exported ops share gets "#id" appended).
     The graph is the eval-mode one: batch norm uses its running
     statistics, dropout is the identity.  Only what the outputs depend on
     is written, so losses and label inputs stay out.
       nn.h                     ONNX
       dense                    Gemm (transB) on [N, F]; MatMul by the
                                transposed weight + Add on higher ranks
       conv2d                   Conv (pads, strides)
       conv2d_transpose         ConvTranspose (pads, strides, output_padding)
       upsample2d               Resize (nearest, asymmetric, floor) by scales
                                [1, 1, f, f]
       maxpool2d, avgpool2d     MaxPool, AveragePool (count_include_pad=1)
       global_avgpool           GlobalAveragePool, Flatten to [N, C]
       batchnorm                BatchNormalization (running statistics)
       layernorm                LayerNormalization (axis -1)
       dropout                  Identity
       reshape, flatten         Reshape, the batch dimension kept (0)
       add, concat              Add, Concat (axis 1: a sample's dim 0)
       mul                      Mul, b reshaped where nn.h broadcasts it
                                differently ([C] over [C, H, W]: [C, 1, 1])
       scale                    Mul by a constant
       relu, leaky_relu         Relu, LeakyRelu
       gelu                     0.5 x (1 + Erf(x / sqrt 2)): opset 17 has no Gelu
       silu                     x * Sigmoid(x)
       sigmoid, tanh, softmax   Sigmoid, Tanh, Softmax (axis -1)
       embedding                Gather of the weight by the ids, Cast to int64
       rnn, lstm, gru           RNN, LSTM, GRU (one node per layer; GRU with
                                linear_before_reset), Transposes from and
                                to [N, T, ..] (layout 0: ONNX Runtime runs
                                no other), the lengths Cast to int32
                                sequence_lens; the weights "<layer>/W",
                                "/R", "/B" in ONNX's layout and gate order
       seq_maxpool, seq_meanpool  ReduceMax, ReduceMean; with lengths:
                                Where over the valid steps (a constant of
                                0..T-1 Less than the length), ReduceMax or
                                ReduceSum / Max(length, 1), zeros for an
                                empty sequence
       seq_last                 Gather of step T-1; with lengths:
                                GatherElements at max(length-1, 0), step 0
                                for a bidirectional layer's reverse half
     Inputs holding whole numbers (token ids, lengths) say so, with their
     range, in their doc_string.  The losses are never exported: such a
     node fails the export, naming it.

   ERRORS
     Like nn.h: 0, and nn_last_error() says why: a NULL argument, a node
     that is not in the model, an op with no export (named with its node),
     a path that cannot be written.  The file is written next to its path
     and renamed over it once complete, so a failure leaves no partial file.

   LICENSE: MIT, as nn.h. */
#ifndef NN_ONNX_H
#define NN_ONNX_H

#ifndef NN_H
#error "include nn.h before nn_onnx.h"
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* the inference graph from m's inputs to `output`, with its weights;
   returns 1, or 0 with the reason in nn_last_error() */
NNDEF int nn_onnx_save(nn_model *m, const nn_node *output, const char *path);
/* the same with n outputs (e.g. logits and probabilities), in that order */
NNDEF int nn_onnx_save_outputs(nn_model *m, int n, const nn_node *const *outputs, const char *path);

#ifdef __cplusplus
}
#endif
#endif /* NN_ONNX_H */

/* ######################################################################
   IMPLEMENTATION
   ###################################################################### */
#ifdef NN_ONNX_IMPLEMENTATION
#ifndef NN__ONNX_IMPLEMENTED
#define NN__ONNX_IMPLEMENTED

#ifndef NN_IMPLEMENTATION
#error "define NN_ONNX_IMPLEMENTATION in the file that defines NN_IMPLEMENTATION, after including nn.h"
#endif

#include <math.h>
#include <stdio.h>
#include <string.h>

#define NN__ONNX_OPSET 17
#define NN__ONNX_IR_VERSION 8          /* the IR of opset 17 (ONNX 1.12) */
#define NN__ONNX_NAME (NN_NAME_LEN + 32)
enum { NN__ONNX_FLOAT = 1, NN__ONNX_INT32 = 6, NN__ONNX_INT64 = 7, NN__ONNX_BOOL = 9 };   /* TensorProto.DataType */

/* ======================================================================
   Protobuf: a growing buffer, varints, length-delimited fields.  A nested
   message is written in place and its length inserted in front of it
   when it ends, so the whole model is one buffer.
   ====================================================================== */
typedef struct nn__onnx_pb { unsigned char *p; size_t n, cap; int failed; } nn__onnx_pb;

/* n more bytes at the end; NULL (and failed) when out of memory */
static unsigned char *nn__onnx_room(nn__onnx_pb *b, size_t n) {
  if (b->failed) return NULL;
  if (n > b->cap - b->n) {
    size_t cap = b->cap ? b->cap : 4096;
    unsigned char *p;
    while (cap - b->n < n) {
      if (cap > (size_t)-1 / 2) { b->failed = 1; return NULL; }
      cap *= 2;
    }
    if (!(p = (unsigned char *)NN_REALLOC(b->p, cap))) { b->failed = 1; return NULL; }
    b->p = p;
    b->cap = cap;
  }
  b->n += n;
  return b->p + b->n - n;
}
static int nn__onnx_varint_enc(unsigned char *d, uint64_t v) {
  int n = 0;
  do {
    d[n] = (unsigned char)((v & 127) | (v > 127 ? 128 : 0));
    v >>= 7;
    n++;
  } while (v);
  return n;
}
static void nn__onnx_varint(nn__onnx_pb *b, uint64_t v) {
  unsigned char tmp[10], *d;
  int n = nn__onnx_varint_enc(tmp, v);
  if ((d = nn__onnx_room(b, (size_t)n))) memcpy(d, tmp, (size_t)n);
}
/* wire types: 0 varint, 2 length-delimited, 5 fixed 32-bit */
static void nn__onnx_tag(nn__onnx_pb *b, int field, int wire) { nn__onnx_varint(b, (uint64_t)field << 3 | (uint64_t)wire); }
/* an int64 field; a negative one takes 10 bytes (two's complement), as in protobuf */
static void nn__onnx_int(nn__onnx_pb *b, int field, int64_t v) {
  nn__onnx_tag(b, field, 0);
  nn__onnx_varint(b, (uint64_t)v);
}
static void nn__onnx_str(nn__onnx_pb *b, int field, const char *s) {
  size_t n = strlen(s);
  unsigned char *d;
  nn__onnx_tag(b, field, 2);
  nn__onnx_varint(b, n);
  if (n && (d = nn__onnx_room(b, n))) memcpy(d, s, n);
}
/* little-endian bytes whatever the host's order */
static void nn__onnx_le(unsigned char *d, uint64_t v, int bytes) {
  int i;
  for (i = 0; i < bytes; i++) d[i] = (unsigned char)(v >> (8 * i));
}
static uint32_t nn__onnx_f32_bits(float f) {
  uint32_t u;
  memcpy(&u, &f, sizeof u);
  return u;
}
static void nn__onnx_float(nn__onnx_pb *b, int field, float f) {
  unsigned char *d;
  nn__onnx_tag(b, field, 5);
  if ((d = nn__onnx_room(b, 4))) nn__onnx_le(d, nn__onnx_f32_bits(f), 4);
}
static size_t nn__onnx_begin(nn__onnx_pb *b, int field) {
  nn__onnx_tag(b, field, 2);
  return b->n;
}
static void nn__onnx_end(nn__onnx_pb *b, size_t start) {
  unsigned char len[10];
  size_t body = b->n - start;
  int n;
  if (b->failed) return;
  n = nn__onnx_varint_enc(len, body);
  if (!nn__onnx_room(b, (size_t)n)) return;
  memmove(b->p + start + n, b->p + start, body);
  memcpy(b->p + start, len, (size_t)n);
}

/* ======================================================================
   ONNX messages: attributes, nodes, initializers, value infos
   ====================================================================== */
typedef struct nn__onnx {
  nn_model *m;
  nn__onnx_pb b;
  const char *path;
  unsigned char *need;             /* per node: an output depends on it (2: a parameter only recurrent
                                      layers read, written by them in ONNX's layout) */
  char (*name)[NN__ONNX_NAME];     /* per node: its tensor's name */
} nn__onnx;

/* AttributeProto (NodeProto field 5): name 1, f 2, i 3, ints 8, type 20 */
static void nn__onnx_attr_i(nn__onnx_pb *b, const char *name, int64_t v) {
  size_t at = nn__onnx_begin(b, 5);
  nn__onnx_str(b, 1, name);
  nn__onnx_int(b, 20, 2);
  nn__onnx_int(b, 3, v);
  nn__onnx_end(b, at);
}
static void nn__onnx_attr_f(nn__onnx_pb *b, const char *name, float v) {
  size_t at = nn__onnx_begin(b, 5);
  nn__onnx_str(b, 1, name);
  nn__onnx_int(b, 20, 1);
  nn__onnx_float(b, 2, v);
  nn__onnx_end(b, at);
}
static void nn__onnx_attr_s(nn__onnx_pb *b, const char *name, const char *v) {
  size_t at = nn__onnx_begin(b, 5);
  nn__onnx_str(b, 1, name);
  nn__onnx_int(b, 20, 3);
  nn__onnx_str(b, 4, v);
  nn__onnx_end(b, at);
}
static void nn__onnx_attr_ints(nn__onnx_pb *b, const char *name, int n, const int64_t *v) {
  size_t at = nn__onnx_begin(b, 5);
  int i;
  nn__onnx_str(b, 1, name);
  nn__onnx_int(b, 20, 7);
  for (i = 0; i < n; i++) nn__onnx_int(b, 8, v[i]);
  nn__onnx_end(b, at);
}
/* kernel_shape, strides and pads of a square-strided 2-D window */
static void nn__onnx_attr_window(nn__onnx_pb *b, int kh, int kw, int stride, int pad) {
  int64_t k[2], s[2], p[4];
  k[0] = kh; k[1] = kw;
  s[0] = s[1] = stride;
  p[0] = p[1] = p[2] = p[3] = pad;
  nn__onnx_attr_ints(b, "kernel_shape", 2, k);
  nn__onnx_attr_ints(b, "strides", 2, s);
  nn__onnx_attr_ints(b, "pads", 4, p);
}

/* NodeProto (GraphProto field 1): inputs in[0..n) (NULL: an optional input
   left out), one output, which also names the node; attributes may follow
   until nn__onnx_end */
static size_t nn__onnx_op_n(nn__onnx *x, const char *type, const char *out, int n, const char *const *in) {
  size_t at = nn__onnx_begin(&x->b, 1);
  int i;
  for (i = 0; i < n; i++) nn__onnx_str(&x->b, 1, in[i] ? in[i] : "");
  nn__onnx_str(&x->b, 2, out);
  nn__onnx_str(&x->b, 3, out);
  nn__onnx_str(&x->b, 4, type);
  return at;
}
static size_t nn__onnx_op(nn__onnx *x, const char *type, const char *out, const char *a, const char *b) {
  const char *in[2];
  in[0] = a;
  in[1] = b;
  return nn__onnx_op_n(x, type, out, b ? 2 : 1, in);
}
/* the ONNX op `type` on the node's own inputs in order, output named as the node */
static size_t nn__onnx_op_of(nn__onnx *x, const char *type, const nn_node *nd) {
  const char *in[NN_MAX_INPUTS];
  int k;
  for (k = 0; k < nd->n_in; k++) in[k] = nd->in[k] ? x->name[nd->in[k]->id] : NULL;
  return nn__onnx_op_n(x, type, x->name[nd->id], nd->n_in, in);
}

/* TensorProto initializer (GraphProto field 5): dims 1, data_type 2, name
   8, raw_data 9 (little-endian); returns where its `bytes` bytes go, to
   be filled before nn__onnx_end(&x->b, *at) */
static unsigned char *nn__onnx_init(nn__onnx *x, const char *name, int type, int ndim, const int64_t *dims,
                                    size_t bytes, size_t *at) {
  int i;
  *at = nn__onnx_begin(&x->b, 5);
  for (i = 0; i < ndim; i++) nn__onnx_int(&x->b, 1, dims[i]);
  nn__onnx_int(&x->b, 2, type);
  nn__onnx_str(&x->b, 8, name);
  nn__onnx_tag(&x->b, 9, 2);
  nn__onnx_varint(&x->b, bytes);
  return nn__onnx_room(&x->b, bytes);
}
static void nn__onnx_const_float(nn__onnx *x, const char *name, float v) {   /* a scalar */
  size_t at;
  unsigned char *d = nn__onnx_init(x, name, NN__ONNX_FLOAT, 0, NULL, 4, &at);
  if (d) nn__onnx_le(d, nn__onnx_f32_bits(v), 4);
  nn__onnx_end(&x->b, at);
}
static void nn__onnx_const_floats(nn__onnx *x, const char *name, int n, const float *v) {   /* a vector */
  size_t at;
  int64_t dim = n;
  int i;
  unsigned char *d = nn__onnx_init(x, name, NN__ONNX_FLOAT, 1, &dim, 4 * (size_t)n, &at);
  for (i = 0; d && i < n; i++) nn__onnx_le(d + 4 * i, nn__onnx_f32_bits(v[i]), 4);
  nn__onnx_end(&x->b, at);
}
/* a constant of `ndim` dims (0: a scalar) from int64 values: int64, or
   bool (0 or 1) */
static void nn__onnx_const_typed(nn__onnx *x, const char *name, int type, int ndim, const int64_t *dims, const int64_t *v) {
  size_t at, n = 1, i, size = type == NN__ONNX_BOOL ? 1 : 8;
  unsigned char *d;
  int k;
  for (k = 0; k < ndim; k++) n *= (size_t)dims[k];
  d = nn__onnx_init(x, name, type, ndim, dims, size * n, &at);
  for (i = 0; d && i < n; i++) nn__onnx_le(d + size * i, (uint64_t)v[i], (int)size);
  nn__onnx_end(&x->b, at);
}
static void nn__onnx_const_ints(nn__onnx *x, const char *name, int n, const int64_t *v) {
  int64_t dim = n;
  nn__onnx_const_typed(x, name, NN__ONNX_INT64, 1, &dim, v);
}
/* a parameter's values, read from the model (any backend) */
static int nn__onnx_param(nn__onnx *x, const nn_node *p) {
  size_t n = nn_node_numel(x->m, p), at, i;
  int64_t dims[NN_MAX_DIMS];
  float *host = (float *)NN_MALLOC(n * sizeof *host);
  unsigned char *d;
  int k, ok;
  if (!host) return nn_set_error("onnx save '%s': out of memory reading '%s'", x->path, p->name);
  for (k = 0; k < p->shape.ndim; k++) dims[k] = p->shape.dim[k];
  ok = nn_read(x->m, p, host);
  d = nn__onnx_init(x, x->name[p->id], NN__ONNX_FLOAT, p->shape.ndim, dims, 4 * n, &at);
  for (i = 0; ok && d && i < n; i++) nn__onnx_le(d + 4 * i, nn__onnx_f32_bits(host[i]), 4);
  nn__onnx_end(&x->b, at);
  NN_FREE(host);
  return ok;
}
/* ValueInfoProto (graph input 11, output 12): a float tensor [N, shape],
   with a doc_string (NULL: none) */
static void nn__onnx_value(nn__onnx_pb *b, int field, const char *name, const nn_shape *s, const char *doc) {
  size_t vi = nn__onnx_begin(b, field), type, tensor, shape, dim;
  int i;
  nn__onnx_str(b, 1, name);
  if (doc) nn__onnx_str(b, 3, doc);
  type = nn__onnx_begin(b, 2);
  tensor = nn__onnx_begin(b, 1);
  nn__onnx_int(b, 1, NN__ONNX_FLOAT);
  shape = nn__onnx_begin(b, 2);
  dim = nn__onnx_begin(b, 1);
  nn__onnx_str(b, 2, "N");
  nn__onnx_end(b, dim);
  for (i = 0; i < s->ndim; i++) {
    dim = nn__onnx_begin(b, 1);
    nn__onnx_int(b, 1, s->dim[i]);
    nn__onnx_end(b, dim);
  }
  nn__onnx_end(b, shape);
  nn__onnx_end(b, tensor);
  nn__onnx_end(b, type);
  nn__onnx_end(b, vi);
}

/* ======================================================================
   The ops
   ====================================================================== */
/* the name of a helper tensor of node nd: "<its name>/<what>" */
static const char *nn__onnx_sub(const nn__onnx *x, const nn_node *nd, const char *what, char *buf) {
  snprintf(buf, NN__ONNX_NAME, "%s/%s", x->name[nd->id], what);
  return buf;
}
/* mul: the shape b takes in ONNX's broadcasting (aligned to a's last
   dims).  nn.h reads b's element (i / inner) % count for a's element i:
   b covers the dims of a whose sizes multiply to count, just before those
   that multiply to inner; every other dim is 1. */
static void nn__onnx_mul_shape(const nn_node *nd, int64_t *dims) {
  const nn_shape *a = &nd->in[0]->shape;
  int64_t inner = 1, count = 1;
  int k = a->ndim, j, i;
  while (k > 0 && inner < nd->attr.mul.inner) inner *= a->dim[--k];
  j = k;
  while (j > 0 && count < nd->attr.mul.count) count *= a->dim[--j];
  for (i = 0; i < a->ndim; i++) dims[i] = i >= j && i < k ? a->dim[i] : 1;
}
static int nn__onnx_mul(nn__onnx *x, const nn_node *nd) {
  const nn_node *b = nd->in[1];
  int64_t dims[NN_MAX_DIMS + 1];
  char shape[NN__ONNX_NAME], reshaped[NN__ONNX_NAME];
  const char *bname = x->name[b->id];
  int k, n = nd->in[0]->shape.ndim, same = b->shape.ndim == n;
  nn__onnx_mul_shape(nd, dims + 1);
  for (k = 0; k < n && same; k++) same = b->shape.dim[k] == dims[k + 1];
  if (!same) {   /* a batched b keeps its batch dim (0: copied) */
    dims[0] = 0;
    nn__onnx_const_ints(x, nn__onnx_sub(x, nd, "b_shape", shape), n + b->batched, b->batched ? dims : dims + 1);
    nn__onnx_end(&x->b, nn__onnx_op(x, "Reshape", nn__onnx_sub(x, nd, "b", reshaped), bname, shape));
    bname = reshaped;
  }
  nn__onnx_end(&x->b, nn__onnx_op(x, "Mul", x->name[nd->id], x->name[nd->in[0]->id], bname));
  return 1;
}
/* gelu(x) = 0.5 x (1 + erf(x / sqrt(2))), as nn.h computes it */
static int nn__onnx_gelu(nn__onnx *x, const nn_node *nd) {
  char c[3][NN__ONNX_NAME], t[4][NN__ONNX_NAME];
  const char *in = x->name[nd->in[0]->id];
  nn__onnx_const_float(x, nn__onnx_sub(x, nd, "rsqrt2", c[0]), 0.70710678f);
  nn__onnx_const_float(x, nn__onnx_sub(x, nd, "one", c[1]), 1.0f);
  nn__onnx_const_float(x, nn__onnx_sub(x, nd, "half", c[2]), 0.5f);
  nn__onnx_end(&x->b, nn__onnx_op(x, "Mul", nn__onnx_sub(x, nd, "scaled", t[0]), in, c[0]));
  nn__onnx_end(&x->b, nn__onnx_op(x, "Erf", nn__onnx_sub(x, nd, "erf", t[1]), t[0], NULL));
  nn__onnx_end(&x->b, nn__onnx_op(x, "Add", nn__onnx_sub(x, nd, "cdf2", t[2]), t[1], c[1]));
  nn__onnx_end(&x->b, nn__onnx_op(x, "Mul", nn__onnx_sub(x, nd, "xcdf2", t[3]), in, t[2]));
  nn__onnx_end(&x->b, nn__onnx_op(x, "Mul", x->name[nd->id], t[3], c[2]));
  return 1;
}
/* dense over the last dim: Gemm for [N, F]; otherwise MatMul by the
   transposed weight (a constant ONNX Runtime folds), then the bias */
static int nn__onnx_dense(nn__onnx *x, const nn_node *nd) {
  char wt[NN__ONNX_NAME], mm[NN__ONNX_NAME];
  const char *y = x->name[nd->id];
  int64_t perm[2];
  size_t at;
  if (nd->in[0]->shape.ndim == 1) {
    at = nn__onnx_op_of(x, "Gemm", nd);
    nn__onnx_attr_i(&x->b, "transB", 1);
    nn__onnx_end(&x->b, at);
    return 1;
  }
  perm[0] = 1; perm[1] = 0;
  at = nn__onnx_op(x, "Transpose", nn__onnx_sub(x, nd, "weight_t", wt), x->name[nd->in[1]->id], NULL);
  nn__onnx_attr_ints(&x->b, "perm", 2, perm);
  nn__onnx_end(&x->b, at);
  nn__onnx_end(&x->b, nn__onnx_op(x, "MatMul", nd->in[2] ? nn__onnx_sub(x, nd, "matmul", mm) : y, x->name[nd->in[0]->id], wt));
  if (nd->in[2]) nn__onnx_end(&x->b, nn__onnx_op(x, "Add", y, mm, x->name[nd->in[2]->id]));
  return 1;
}
/* ---- recurrent layers ----
   One ONNX RNN, LSTM or GRU node per layer, in layout 0 ([T, N, F]: ONNX
   Runtime runs no other), between transposes from and to nn.h's [N, T, ..].
   Its weights are initializers of their own, "<layer>/W" [dirs, G*H, F],
   "/R" [dirs, G*H, H] and "/B" [dirs, 2*G*H] (b_ih then b_hh), the forward
   direction first and the rows in ONNX's gate order; GRU with
   linear_before_reset, PyTorch's (and nn.h's) equations.  The lengths are
   cast to int32 sequence_lens: ONNX runs the reverse direction from each
   sample's last valid step, as nn.h does, and zeroes Y past it. */
/* direction d's tensor k (0 W_ih, 1 W_hh, 2 b_ih, 3 b_hh) with its gate
   blocks reordered, as little-endian floats to out */
static int nn__onnx_rec_rows(nn__onnx *x, const nn_node *nd, int d, int k, unsigned char *out) {
  static const int order[3][4] = {{0, 0, 0, 0}, {0, 3, 1, 2}, {1, 0, 2, 0}};   /* lstm i,o,f,c of i,f,g,o; gru z,r,h of r,z,n */
  const nn_node *p = nd->in[2 + 4 * d + k];
  const int *perm = order[nd->op == NN_OP_RNN ? 0 : nd->op == NN_OP_LSTM ? 1 : 2];
  const int gates = nd->attr.recurrent.gates;
  size_t n = nn_node_numel(x->m, p), block = n / (size_t)gates, i;
  float *host = (float *)NN_MALLOC(n * sizeof *host);
  int g, ok;
  if (!host) return nn_set_error("onnx save '%s': out of memory reading '%s'", x->path, p->name);
  ok = nn_read(x->m, p, host);
  for (g = 0; ok && g < gates; g++)
    for (i = 0; i < block; i++) nn__onnx_le(out + 4 * ((size_t)g * block + i), nn__onnx_f32_bits(host[(size_t)perm[g] * block + i]), 4);
  NN_FREE(host);
  return ok;
}
static int nn__onnx_recurrent(nn__onnx *x, const nn_node *nd) {
  static const char *const type[3] = {"RNN", "LSTM", "GRU"}, *const wname[3] = {"W", "R", "B"};
  const int H = nd->attr.recurrent.hidden, dirs = nd->attr.recurrent.dirs, GH = nd->attr.recurrent.gates * H;
  const int T = nd->shape.dim[0], F = nd->in[0]->shape.dim[1], op = nd->op == NN_OP_RNN ? 0 : nd->op == NN_OP_LSTM ? 1 : 2;
  char w[3][NN__ONNX_NAME], t[4][NN__ONNX_NAME], c[2][NN__ONNX_NAME];
  const char *in[5];
  int64_t dims[4];
  size_t at, per;
  unsigned char *d;
  int k, dir, ok = 1;
  for (k = 0; k < 3; k++) {
    per = (size_t)GH * (size_t)(k == 0 ? F : k == 1 ? H : 2);   /* floats of one direction */
    dims[0] = dirs;
    dims[1] = k == 2 ? 2 * GH : GH;
    dims[2] = k == 0 ? F : H;
    d = nn__onnx_init(x, nn__onnx_sub(x, nd, wname[k], w[k]), NN__ONNX_FLOAT, k == 2 ? 2 : 3, dims, 4 * per * (size_t)dirs, &at);
    for (dir = 0; ok && d && dir < dirs; dir++) {
      unsigned char *o = d + 4 * per * (size_t)dir;
      ok = k < 2 ? nn__onnx_rec_rows(x, nd, dir, k, o) : nn__onnx_rec_rows(x, nd, dir, 2, o) && nn__onnx_rec_rows(x, nd, dir, 3, o + 4 * (size_t)GH);
    }
    nn__onnx_end(&x->b, at);
  }
  if (!ok) return 0;
  dims[0] = 1; dims[1] = 0; dims[2] = 2;
  at = nn__onnx_op(x, "Transpose", nn__onnx_sub(x, nd, "x_tnf", t[0]), x->name[nd->in[0]->id], NULL);
  nn__onnx_attr_ints(&x->b, "perm", 3, dims);
  nn__onnx_end(&x->b, at);
  in[0] = t[0]; in[1] = w[0]; in[2] = w[1]; in[3] = w[2]; in[4] = NULL;
  if (nd->in[1]) {   /* [N, 1] floats -> [N] int32 */
    at = nn__onnx_op(x, "Cast", nn__onnx_sub(x, nd, "lengths_i32", t[1]), x->name[nd->in[1]->id], NULL);
    nn__onnx_attr_i(&x->b, "to", NN__ONNX_INT32);
    nn__onnx_end(&x->b, at);
    dims[0] = -1;
    nn__onnx_const_ints(x, nn__onnx_sub(x, nd, "lengths_shape", c[0]), 1, dims);
    nn__onnx_end(&x->b, nn__onnx_op(x, "Reshape", nn__onnx_sub(x, nd, "sequence_lens", t[2]), t[1], c[0]));
    in[4] = t[2];
  }
  at = nn__onnx_op_n(x, type[op], nn__onnx_sub(x, nd, "y_tdnh", t[3]), in[4] ? 5 : 4, in);
  nn__onnx_attr_i(&x->b, "hidden_size", H);
  nn__onnx_attr_s(&x->b, "direction", dirs == 2 ? "bidirectional" : "forward");
  if (nd->op == NN_OP_GRU) nn__onnx_attr_i(&x->b, "linear_before_reset", 1);
  nn__onnx_end(&x->b, at);
  /* Y [T, dirs, N, H] -> [N, T, dirs, H] -> [N, T, dirs*H]: the forward state, then the reverse */
  dims[0] = 2; dims[1] = 0; dims[2] = 1; dims[3] = 3;
  at = nn__onnx_op(x, "Transpose", nn__onnx_sub(x, nd, "y_ntdh", t[0]), t[3], NULL);
  nn__onnx_attr_ints(&x->b, "perm", 4, dims);
  nn__onnx_end(&x->b, at);
  dims[0] = 0; dims[1] = T; dims[2] = (int64_t)dirs * H;
  nn__onnx_const_ints(x, nn__onnx_sub(x, nd, "y_shape", c[1]), 3, dims);
  nn__onnx_end(&x->b, nn__onnx_op(x, "Reshape", x->name[nd->id], t[0], c[1]));
  return 1;
}

/* ---- reductions over the valid steps: x [N, T, F] -> [N, F] ----
   With lengths [N, 1]: the valid steps are those where a constant [1, T, 1]
   of 0..T-1 is below the length; an empty sequence gives zeros. */
/* "<node>/lengths3": the lengths as [N, 1, 1]; "<node>/nonempty": [N, 1], length > 0; "<node>/zero" */
static void nn__onnx_seq_lengths(nn__onnx *x, const nn_node *nd, char (*t)[NN__ONNX_NAME]) {
  char c[NN__ONNX_NAME];
  int64_t dims[3];
  dims[0] = 0; dims[1] = 1; dims[2] = 1;
  nn__onnx_const_ints(x, nn__onnx_sub(x, nd, "lengths3_shape", c), 3, dims);
  nn__onnx_end(&x->b, nn__onnx_op(x, "Reshape", nn__onnx_sub(x, nd, "lengths3", t[0]), x->name[nd->in[1]->id], c));
  nn__onnx_const_float(x, nn__onnx_sub(x, nd, "zero", t[2]), 0.0f);
  nn__onnx_end(&x->b, nn__onnx_op(x, "Greater", nn__onnx_sub(x, nd, "nonempty", t[1]), x->name[nd->in[1]->id], t[2]));
}
static int nn__onnx_seq_pool(nn__onnx *x, const nn_node *nd) {
  const int T = nd->in[0]->shape.dim[0], mean = nd->op == NN_OP_SEQ_MEANPOOL;
  const char *y = x->name[nd->id], *in = x->name[nd->in[0]->id];
  char t[3][NN__ONNX_NAME], u[4][NN__ONNX_NAME], c[2][NN__ONNX_NAME];
  int64_t axis = 1, dims[3];
  size_t at;
  unsigned char *d;
  int s;
  if (!nd->in[1]) {   /* all T steps */
    at = nn__onnx_op(x, mean ? "ReduceMean" : "ReduceMax", y, in, NULL);
    nn__onnx_attr_ints(&x->b, "axes", 1, &axis);
    nn__onnx_attr_i(&x->b, "keepdims", 0);
    nn__onnx_end(&x->b, at);
    return 1;
  }
  nn__onnx_seq_lengths(x, nd, t);
  dims[0] = 1; dims[1] = T; dims[2] = 1;
  d = nn__onnx_init(x, nn__onnx_sub(x, nd, "steps", c[0]), NN__ONNX_FLOAT, 3, dims, 4 * (size_t)T, &at);
  for (s = 0; d && s < T; s++) nn__onnx_le(d + 4 * s, nn__onnx_f32_bits((float)s), 4);
  nn__onnx_end(&x->b, at);
  nn__onnx_end(&x->b, nn__onnx_op(x, "Less", nn__onnx_sub(x, nd, "valid", u[0]), c[0], t[0]));   /* [N, T, 1] */
  if (mean) {   /* the sum of the valid steps / max(length, 1) */
    const char *where[3];
    where[0] = u[0]; where[1] = in; where[2] = t[2];
    nn__onnx_end(&x->b, nn__onnx_op_n(x, "Where", nn__onnx_sub(x, nd, "masked", u[1]), 3, where));
    nn__onnx_const_ints(x, nn__onnx_sub(x, nd, "axes", c[1]), 1, &axis);
    at = nn__onnx_op(x, "ReduceSum", nn__onnx_sub(x, nd, "sum", u[2]), u[1], c[1]);
    nn__onnx_attr_i(&x->b, "keepdims", 0);
    nn__onnx_end(&x->b, at);
    nn__onnx_const_float(x, nn__onnx_sub(x, nd, "one", c[1]), 1.0f);
    nn__onnx_end(&x->b, nn__onnx_op(x, "Max", nn__onnx_sub(x, nd, "count", u[3]), x->name[nd->in[1]->id], c[1]));
    nn__onnx_end(&x->b, nn__onnx_op(x, "Div", y, u[2], u[3]));
  } else {   /* the largest valid step, -inf at the others; 0 for an empty sequence */
    const char *where[3];
    nn__onnx_const_float(x, nn__onnx_sub(x, nd, "lowest", c[1]), -INFINITY);
    where[0] = u[0]; where[1] = in; where[2] = c[1];
    nn__onnx_end(&x->b, nn__onnx_op_n(x, "Where", nn__onnx_sub(x, nd, "masked", u[1]), 3, where));
    at = nn__onnx_op(x, "ReduceMax", nn__onnx_sub(x, nd, "max", u[2]), u[1], NULL);
    nn__onnx_attr_ints(&x->b, "axes", 1, &axis);
    nn__onnx_attr_i(&x->b, "keepdims", 0);
    nn__onnx_end(&x->b, at);
    where[0] = t[1]; where[1] = u[2]; where[2] = t[2];
    nn__onnx_end(&x->b, nn__onnx_op_n(x, "Where", y, 3, where));
  }
  return 1;
}
/* seq_last: step length-1, except the attr.seq.reverse_features trailing
   features (a bidirectional layer's reverse half), taken at step 0 */
static int nn__onnx_seq_last(nn__onnx *x, const nn_node *nd) {
  const int T = nd->in[0]->shape.dim[0], F = nd->shape.dim[0], back = nd->attr.seq.reverse_features;
  const char *y = x->name[nd->id], *in = x->name[nd->in[0]->id], *args[3];
  char t[3][NN__ONNX_NAME], u[6][NN__ONNX_NAME], c[4][NN__ONNX_NAME];
  int64_t *forward = (int64_t *)NN_MALLOC((size_t)F * sizeof *forward), dims[3], step;
  size_t at;
  int j;
  if (!forward) return nn_set_error("onnx save '%s': out of memory", x->path);
  for (j = 0; j < F; j++) forward[j] = j < F - back;
  if (!nd->in[1]) {   /* step T-1 (and step 0 for the reverse half) */
    step = T - 1;
    nn__onnx_const_typed(x, nn__onnx_sub(x, nd, "last_step", c[0]), NN__ONNX_INT64, 0, NULL, &step);
    at = nn__onnx_op(x, "Gather", back ? nn__onnx_sub(x, nd, "last", u[0]) : y, in, c[0]);
    nn__onnx_attr_i(&x->b, "axis", 1);
    nn__onnx_end(&x->b, at);
    if (back) {
      step = 0;
      nn__onnx_const_typed(x, nn__onnx_sub(x, nd, "first_step", c[1]), NN__ONNX_INT64, 0, NULL, &step);
      at = nn__onnx_op(x, "Gather", nn__onnx_sub(x, nd, "first", u[1]), in, c[1]);
      nn__onnx_attr_i(&x->b, "axis", 1);
      nn__onnx_end(&x->b, at);
      dims[0] = F;
      nn__onnx_const_typed(x, nn__onnx_sub(x, nd, "forward", c[2]), NN__ONNX_BOOL, 1, dims, forward);
      args[0] = c[2]; args[1] = u[0]; args[2] = u[1];
      nn__onnx_end(&x->b, nn__onnx_op_n(x, "Where", y, 3, args));
    }
    NN_FREE(forward);
    return 1;
  }
  /* index [N, 1, F] = max(length - 1, 0) on forward features, 0 on reverse ones */
  nn__onnx_seq_lengths(x, nd, t);
  nn__onnx_const_float(x, nn__onnx_sub(x, nd, "one", c[0]), 1.0f);
  nn__onnx_end(&x->b, nn__onnx_op(x, "Sub", nn__onnx_sub(x, nd, "last_step", u[0]), t[0], c[0]));
  nn__onnx_end(&x->b, nn__onnx_op(x, "Max", nn__onnx_sub(x, nd, "last_step0", u[1]), u[0], t[2]));
  at = nn__onnx_op(x, "Cast", nn__onnx_sub(x, nd, "last_step_i64", u[2]), u[1], NULL);
  nn__onnx_attr_i(&x->b, "to", NN__ONNX_INT64);
  nn__onnx_end(&x->b, at);
  dims[0] = 1; dims[1] = 1; dims[2] = F;
  nn__onnx_const_typed(x, nn__onnx_sub(x, nd, "forward", c[1]), NN__ONNX_INT64, 3, dims, forward);
  nn__onnx_end(&x->b, nn__onnx_op(x, "Mul", nn__onnx_sub(x, nd, "index", u[3]), u[2], c[1]));
  at = nn__onnx_op(x, "GatherElements", nn__onnx_sub(x, nd, "gathered", u[4]), in, u[3]);   /* [N, 1, F] */
  nn__onnx_attr_i(&x->b, "axis", 1);
  nn__onnx_end(&x->b, at);
  dims[0] = 0; dims[1] = F;
  nn__onnx_const_ints(x, nn__onnx_sub(x, nd, "last_shape", c[2]), 2, dims);
  nn__onnx_end(&x->b, nn__onnx_op(x, "Reshape", nn__onnx_sub(x, nd, "last", u[5]), u[4], c[2]));
  args[0] = t[1]; args[1] = u[5]; args[2] = t[2];   /* zeros for an empty sequence */
  nn__onnx_end(&x->b, nn__onnx_op_n(x, "Where", y, 3, args));
  NN_FREE(forward);
  return 1;
}
/* a graph input; inputs holding whole numbers say so in their doc_string:
   the ids an embedding reads ("whole numbers 0..V-1") and the lengths of
   the sequence ops ("whole numbers 0..T") */
static int nn__onnx_input(nn__onnx *x, const nn_node *nd) {
  const nn_graph *g = x->m->graph;
  char doc[160];
  int i, k, n = nn_graph_num_nodes(g);
  doc[0] = 0;
  for (i = 0; i < n && !doc[0]; i++) {
    const nn_node *u = nn_graph_node(g, i);
    if (!x->need[i]) continue;
    for (k = 0; k < u->n_in && !doc[0]; k++) {
      if (u->in[k] != nd) continue;
      if (u->op == NN_OP_EMBEDDING && k == 0)
        snprintf(doc, sizeof doc, "token ids: whole numbers 0..%d, fed as floats", u->in[1]->shape.dim[0] - 1);
      else if (k == 1 && (u->op == NN_OP_RNN || u->op == NN_OP_LSTM || u->op == NN_OP_GRU || u->op == NN_OP_SEQ_LAST ||
                          u->op == NN_OP_SEQ_MAXPOOL || u->op == NN_OP_SEQ_MEANPOOL))
        snprintf(doc, sizeof doc, "valid steps of each sample: whole numbers 0..%d, fed as floats", u->in[0]->shape.dim[0]);
    }
  }
  nn__onnx_value(&x->b, 11, x->name[nd->id], &nd->shape, doc[0] ? doc : NULL);
  return 1;
}
/* one node of nn.h as ONNX nodes (and the constants they need) */
static int nn__onnx_node(nn__onnx *x, const nn_node *nd) {
  char t[NN__ONNX_NAME], c[NN__ONNX_NAME];
  const char *y = x->name[nd->id], *in = nd->n_in ? x->name[nd->in[0]->id] : NULL;
  int64_t dims[NN_MAX_DIMS + 1];
  size_t at;
  int k;
  switch (nd->op) {
  case NN_OP_INPUT: return nn__onnx_input(x, nd);
  case NN_OP_PARAM: return x->need[nd->id] == 2 || nn__onnx_param(x, nd);
  case NN_OP_RESHAPE:
    dims[0] = 0;   /* the batch dim, copied */
    for (k = 0; k < nd->shape.ndim; k++) dims[k + 1] = nd->shape.dim[k];
    nn__onnx_const_ints(x, nn__onnx_sub(x, nd, "shape", c), nd->shape.ndim + 1, dims);
    nn__onnx_end(&x->b, nn__onnx_op(x, "Reshape", y, in, c));
    return 1;
  case NN_OP_DENSE: return nn__onnx_dense(x, nd);
  case NN_OP_CONV2D: {
    nn_conv2d_dims d = nn_conv2d_dims_of(nd);
    at = nn__onnx_op_of(x, "Conv", nd);
    nn__onnx_attr_window(&x->b, d.kh, d.kw, d.s, d.p);
    break;
  }
  case NN_OP_CONV2D_TRANSPOSE: {
    int64_t out_pad[2];
    out_pad[0] = out_pad[1] = nd->attr.conv2d.out_pad;
    at = nn__onnx_op_of(x, "ConvTranspose", nd);
    nn__onnx_attr_window(&x->b, nd->attr.conv2d.kh, nd->attr.conv2d.kw, nd->attr.conv2d.stride, nd->attr.conv2d.pad);
    nn__onnx_attr_ints(&x->b, "output_padding", 2, out_pad);
    break;
  }
  case NN_OP_UPSAMPLE2D: {
    const char *io[3];
    float scales[4];
    scales[0] = scales[1] = 1.0f;
    scales[2] = scales[3] = (float)nd->attr.upsample.factor;
    nn__onnx_const_floats(x, nn__onnx_sub(x, nd, "scales", c), 4, scales);
    io[0] = in; io[1] = NULL; io[2] = c;   /* no region of interest */
    at = nn__onnx_op_n(x, "Resize", y, 3, io);
    nn__onnx_attr_s(&x->b, "mode", "nearest");
    nn__onnx_attr_s(&x->b, "coordinate_transformation_mode", "asymmetric");
    nn__onnx_attr_s(&x->b, "nearest_mode", "floor");
    break;
  }
  case NN_OP_MAXPOOL2D:
  case NN_OP_AVGPOOL2D:
    at = nn__onnx_op_of(x, nd->op == NN_OP_MAXPOOL2D ? "MaxPool" : "AveragePool", nd);
    nn__onnx_attr_window(&x->b, nd->attr.pool.k, nd->attr.pool.k, nd->attr.pool.stride, nd->attr.pool.pad);
    if (nd->op == NN_OP_AVGPOOL2D) nn__onnx_attr_i(&x->b, "count_include_pad", 1);   /* nn.h divides by k*k */
    break;
  case NN_OP_GLOBAL_AVGPOOL:
    nn__onnx_end(&x->b, nn__onnx_op(x, "GlobalAveragePool", nn__onnx_sub(x, nd, "pool", t), in, NULL));
    at = nn__onnx_op(x, "Flatten", y, t, NULL);
    nn__onnx_attr_i(&x->b, "axis", 1);
    break;
  case NN_OP_BATCHNORM:
  case NN_OP_LAYERNORM:
    at = nn__onnx_op_of(x, nd->op == NN_OP_BATCHNORM ? "BatchNormalization" : "LayerNormalization", nd);
    nn__onnx_attr_f(&x->b, "epsilon", nd->attr.norm.eps);
    if (nd->op == NN_OP_LAYERNORM) nn__onnx_attr_i(&x->b, "axis", -1);
    break;
  case NN_OP_DROPOUT: at = nn__onnx_op_of(x, "Identity", nd); break;
  case NN_OP_ADD: at = nn__onnx_op_of(x, "Add", nd); break;
  case NN_OP_MUL: return nn__onnx_mul(x, nd);
  case NN_OP_CONCAT:
    at = nn__onnx_op_of(x, "Concat", nd);
    nn__onnx_attr_i(&x->b, "axis", 1);
    break;
  case NN_OP_SCALE:
    nn__onnx_const_float(x, nn__onnx_sub(x, nd, "factor", c), nd->attr.scalar.value);
    at = nn__onnx_op(x, "Mul", y, in, c);
    break;
  case NN_OP_RELU: at = nn__onnx_op_of(x, "Relu", nd); break;
  case NN_OP_LEAKY_RELU:
    at = nn__onnx_op_of(x, "LeakyRelu", nd);
    nn__onnx_attr_f(&x->b, "alpha", nd->attr.scalar.value);
    break;
  case NN_OP_GELU: return nn__onnx_gelu(x, nd);
  case NN_OP_SILU:
    nn__onnx_end(&x->b, nn__onnx_op(x, "Sigmoid", nn__onnx_sub(x, nd, "sigmoid", t), in, NULL));
    at = nn__onnx_op(x, "Mul", y, in, t);
    break;
  case NN_OP_SIGMOID: at = nn__onnx_op_of(x, "Sigmoid", nd); break;
  case NN_OP_TANH: at = nn__onnx_op_of(x, "Tanh", nd); break;
  case NN_OP_SOFTMAX:
    at = nn__onnx_op_of(x, "Softmax", nd);
    nn__onnx_attr_i(&x->b, "axis", -1);
    break;
  case NN_OP_EMBEDDING:   /* ids are fed as floats holding integers */
    at = nn__onnx_op(x, "Cast", nn__onnx_sub(x, nd, "ids", t), in, NULL);
    nn__onnx_attr_i(&x->b, "to", NN__ONNX_INT64);
    nn__onnx_end(&x->b, at);
    at = nn__onnx_op(x, "Gather", y, x->name[nd->in[1]->id], t);
    break;
  case NN_OP_RNN:
  case NN_OP_LSTM:
  case NN_OP_GRU: return nn__onnx_recurrent(x, nd);
  case NN_OP_SEQ_LAST: return nn__onnx_seq_last(x, nd);
  case NN_OP_SEQ_MAXPOOL:
  case NN_OP_SEQ_MEANPOOL: return nn__onnx_seq_pool(x, nd);
  case NN_OP_CROSS_ENTROPY:
  case NN_OP_BCE_LOGITS:
  case NN_OP_MSE:
    return nn_set_error("onnx save '%s': node '%s' is a loss (%s), which is not part of an inference graph: "
                        "export the node it is computed from", x->path, nd->name, nn_op_name(nd->op));
  default:
    return nn_set_error("onnx save '%s': node '%s' is op %s, which has no ONNX export yet", x->path, nd->name,
                        nn_op_name(nd->op));
  }
  nn__onnx_end(&x->b, at);
  return 1;
}

/* ======================================================================
   Export
   ====================================================================== */
/* tensor names: a node's own, except that an op whose name a leaf or an
   earlier exported op already has gets "#id" (inputs keep theirs: they are
   fed by name, and leaves' names are unique in a graph) */
static void nn__onnx_names(nn__onnx *x) {
  const nn_graph *g = x->m->graph;
  int n = nn_graph_num_nodes(g), i, j;
  for (i = 0; i < n; i++) {
    const nn_node *a = nn_graph_node(g, i);
    int taken = 0;
    if (!x->need[i]) continue;
    for (j = 0; j < n && !taken && a->op != NN_OP_INPUT && a->op != NN_OP_PARAM; j++) {
      const nn_node *b = nn_graph_node(g, j);
      taken = j != i && x->need[j] && (j < i || b->op == NN_OP_INPUT || b->op == NN_OP_PARAM) && !strcmp(a->name, b->name);
    }
    if (taken) snprintf(x->name[i], NN__ONNX_NAME, "%s#%d", a->name, i);
    else snprintf(x->name[i], NN__ONNX_NAME, "%s", a->name);
  }
}

NNDEF int nn_onnx_save_outputs(nn_model *m, int n, const nn_node *const *outputs, const char *path) {
  nn__onnx x;
  int count, i, k, ok = 1;
  size_t graph, opset;
  if (!m || !outputs || !path) return nn_set_error("onnx save: %s is NULL", !m ? "the model" : !path ? "the path" : "the output list");
  if (n < 1) return nn_set_error("onnx save '%s': %d outputs", path, n);
  count = nn_graph_num_nodes(m->graph);
  for (i = 0; i < n; i++) {
    const nn_node *o = outputs[i];
    if (!o) return nn_set_error("onnx save '%s': output %d is NULL", path, i);
    if (o->id < 0 || o->id >= count || nn_graph_node(m->graph, o->id) != o)
      return nn_set_error("onnx save '%s': node '%s' is not in this model", path, o->name);
    if (o->op == NN_OP_PARAM)   /* losses, the other unbatched nodes, fail as ops */
      return nn_set_error("onnx save '%s': '%s' is a parameter: export a node computed from the inputs", path, o->name);
    for (k = 0; k < i; k++)
      if (outputs[k] == o) return nn_set_error("onnx save '%s': output '%s' is listed twice", path, o->name);
  }
  memset(&x, 0, sizeof x);
  x.m = m;
  x.path = path;
  x.need = (unsigned char *)NN_MALLOC((size_t)count);
  x.name = (char (*)[NN__ONNX_NAME])NN_MALLOC((size_t)count * sizeof *x.name);
  if (!x.need || !x.name) ok = nn_set_error("onnx save '%s': out of memory", path);
  if (ok) {   /* what the outputs depend on: inputs come before their users */
    memset(x.need, 0, (size_t)count);
    for (i = 0; i < n; i++) x.need[outputs[i]->id] = 1;
    for (i = count - 1; i >= 0; i--) {
      const nn_node *nd = nn_graph_node(m->graph, i);
      for (k = 0; x.need[i] && k < nd->n_in; k++)
        if (nd->in[k]) x.need[nd->in[k]->id] = 1;
    }
    for (i = 0; i < count; i++) {   /* parameters only recurrent layers read: written by them, reordered */
      const nn_node *p = nn_graph_node(m->graph, i);
      int rec = 0, other = 0, j;
      if (!x.need[i] || p->op != NN_OP_PARAM) continue;
      for (j = 0; j < count; j++) {
        const nn_node *u = nn_graph_node(m->graph, j);
        int recurrent = u->op == NN_OP_RNN || u->op == NN_OP_LSTM || u->op == NN_OP_GRU;
        for (k = 0; x.need[j] && k < u->n_in; k++)
          if (u->in[k] == p) {
            if (recurrent && k >= 2) rec = 1;
            else other = 1;
          }
      }
      if (rec && !other) x.need[i] = 2;
    }
    nn__onnx_names(&x);
    /* ModelProto: ir_version 1, producer 2 and 3, graph 7, opset_import 8 */
    nn__onnx_int(&x.b, 1, NN__ONNX_IR_VERSION);
    nn__onnx_str(&x.b, 2, "nn.h");
    nn__onnx_str(&x.b, 3, NN_VERSION);
    graph = nn__onnx_begin(&x.b, 7);   /* GraphProto: nodes 1, name 2, initializers 5, inputs 11, outputs 12 */
    nn__onnx_str(&x.b, 2, "nn.h");
    for (i = 0; i < count && ok; i++)
      if (x.need[i]) ok = nn__onnx_node(&x, nn_graph_node(m->graph, i));
    for (i = 0; i < n && ok; i++) nn__onnx_value(&x.b, 12, x.name[outputs[i]->id], &outputs[i]->shape, NULL);
    nn__onnx_end(&x.b, graph);
    opset = nn__onnx_begin(&x.b, 8);   /* OperatorSetIdProto: version 2, the default domain */
    nn__onnx_int(&x.b, 2, NN__ONNX_OPSET);
    nn__onnx_end(&x.b, opset);
    if (ok && x.b.failed) ok = nn_set_error("onnx save '%s': out of memory", path);
    if (ok && !nn_file_write_atomic(path, x.b.p, x.b.n)) ok = nn_set_error("onnx save '%s': %s", path, nn_last_error());
  }
  NN_FREE(x.b.p);
  NN_FREE(x.name);
  NN_FREE(x.need);
  return ok;
}
NNDEF int nn_onnx_save(nn_model *m, const nn_node *output, const char *path) {
  return nn_onnx_save_outputs(m, 1, &output, path);
}

#endif /* NN__ONNX_IMPLEMENTED */
#endif /* NN_ONNX_IMPLEMENTATION */
