/* The op test table: every case every backend is checked on.
   tests/test_nn.c runs a finite-difference gradient check of each case on
   the CPU backend, tests/test_opencl.c compares each case's values and
   gradients on the OpenCL backend with the CPU backend, and
   tools/bench_opencl.c times each case on both.  Each program records the
   ops its cases' graphs hold; an op of the registry without a case fails
   there and in the "op coverage" suite of tests/run_all.sh.

   Adding an op's case is one builder line and one entry in op_cases[]:
       static nn_node *b_silu(nn_graph *g) { return nn_silu(g, oc_in(g, "x", 1, 17, 0, 0)); }
       {NN_OP_SILU, "silu [17]", b_silu, 3, 3, 1, NULL, 0},
   A builder makes its inputs (oc_in asks for their gradient) and returns
   the node checked: the gradient check and the parity test run forward to
   it and back from it.  Odd shapes catch more: prefer them.

   Inputs are filled by name.  "label", "ids" and "len" hold integers:
   classes of the cross entropy that reads them, words of the embedding's
   vocabulary, and lengths 0..T of the sequence op's T steps (or the
   case's fixed `lengths`); "target" holds probabilities.  Every other
   input and parameter gets random values the program picks (the gradient
   check keeps them apart so that no finite difference crosses a kink).

   Included after nn.h (with its implementation) and, in the tests, after
   check.h. */
#include <string.h>

enum {
  /* the result depends on random numbers each backend draws its own way
     (dropout's mask in training): a gradient check and a timing, no parity
     case (tests/test_opencl.c checks the device's mask by itself) */
  OP_CASE_RANDOM = 1,
  /* a relu or a max of computed values (not of the inputs the gradient
     check spaces apart): a finite difference may cross its kink, so a
     parity case and a timing, no gradient check */
  OP_CASE_KINKED = 2
};

typedef struct op_case {
  nn_op op;                        /* the op the case is for */
  const char *what;                /* a short description */
  nn_node *(*build)(nn_graph *g);  /* makes the inputs and the op, returns the node checked */
  int batch, used_batch;           /* compiled for batch samples, run on used_batch <= batch */
  int training;                    /* forward in training mode */
  const float *lengths;            /* "len": these `batch` lengths; NULL: random 0..T */
  int flags;                       /* OP_CASE_* */
} op_case;

/* an input [a], [a, b] or [a, b, c] (ndim of them) with a gradient */
static nn_node *oc_in(nn_graph *g, const char *name, int ndim, int a, int b, int c) {
  int d[3];
  nn_node *x;
  d[0] = a; d[1] = b; d[2] = c;
  x = nn_input(g, name, ndim, d);
  nn_set_requires_grad(x);
  return x;
}
static nn_node *oc_label(nn_graph *g) { int one = 1; return nn_input(g, "label", 1, &one); }
static nn_node *oc_len(nn_graph *g) { int one = 1; return nn_input(g, "len", 1, &one); }
static const float oc_ragged[4] = {5, 2, 0, 4}, oc_full[3] = {5, 5, 5};

static nn_node *b_dense7(nn_graph *g) { return nn_dense(g, oc_in(g, "x", 1, 7, 0, 0), 5); }
static nn_node *b_dense13(nn_graph *g) { return nn_dense(g, oc_in(g, "x", 1, 13, 0, 0), 7); }
static nn_node *b_dense_rank2(nn_graph *g) { return nn_dense_ex(g, oc_in(g, "x", 2, 4, 6, 0), 3, 0); }
static nn_node *b_dense_rank2b(nn_graph *g) { return nn_dense_ex(g, oc_in(g, "x", 2, 3, 5, 0), 6, 0); }
static nn_node *b_conv(nn_graph *g) { return nn_conv2d(g, oc_in(g, "x", 3, 3, 7, 6), 5, 3, 2, 1); }
static nn_node *b_conv_wide(nn_graph *g) { return nn_conv2d(g, oc_in(g, "x", 3, 3, 7, 9), 5, 3, 2, 1); }
static nn_node *b_conv_1x1(nn_graph *g) { return nn_conv2d_ex(g, oc_in(g, "x", 3, 4, 5, 5), 3, 1, 1, 1, 0, 0); }
static nn_node *b_conv_2x3(nn_graph *g) { return nn_conv2d_ex(g, oc_in(g, "x", 3, 2, 6, 5), 3, 2, 3, 1, 0, 1); }
static nn_node *b_conv_1x3(nn_graph *g) { return nn_conv2d_ex(g, oc_in(g, "x", 3, 2, 5, 6), 3, 1, 3, 1, 0, 0); }
/* 3x3 stride 1 pad 1 with 32 channels in and out: the Winograd path, with
   odd sizes (edge tiles cut) and even ones */
static nn_node *b_conv_wino(nn_graph *g) { return nn_conv2d(g, oc_in(g, "x", 3, 32, 7, 5), 32, 3, 1, 1); }
static nn_node *b_conv_wino_even(nn_graph *g) { return nn_conv2d_ex(g, oc_in(g, "x", 3, 32, 4, 6), 33, 3, 3, 1, 1, 0); }
static nn_node *b_conv_k5(nn_graph *g) { return nn_conv2d(g, oc_in(g, "x", 3, 4, 6, 5), 7, 5, 1, 2); }
static nn_node *b_convt(nn_graph *g) { return nn_conv2d_transpose(g, oc_in(g, "x", 3, 3, 4, 5), 2, 4, 2, 1, 0); }
static nn_node *b_convt_op(nn_graph *g) { return nn_conv2d_transpose(g, oc_in(g, "x", 3, 4, 3, 4), 3, 3, 2, 1, 1); }
static nn_node *b_convt_2x3(nn_graph *g) { return nn_conv2d_transpose_ex(g, oc_in(g, "x", 3, 2, 5, 3), 3, 2, 3, 1, 0, 0, 0); }
static nn_node *b_convt_s3(nn_graph *g) { return nn_conv2d_transpose_ex(g, oc_in(g, "x", 3, 3, 3, 2), 2, 3, 3, 3, 2, 2, 1); }
static nn_node *b_upsample2(nn_graph *g) { return nn_upsample2d(g, oc_in(g, "x", 3, 2, 3, 5), 2); }
static nn_node *b_upsample3(nn_graph *g) { return nn_upsample2d(g, oc_in(g, "x", 3, 3, 4, 2), 3); }
static nn_node *b_maxpool(nn_graph *g) { return nn_maxpool2d_ex(g, oc_in(g, "x", 3, 2, 7, 5), 3, 2, 1); }
static nn_node *b_maxpool_wide(nn_graph *g) { return nn_maxpool2d_ex(g, oc_in(g, "x", 3, 2, 7, 9), 3, 2, 1); }
static nn_node *b_maxpool2(nn_graph *g) { return nn_maxpool2d(g, oc_in(g, "x", 3, 3, 6, 6), 2, 2); }
static nn_node *b_maxpool2_odd(nn_graph *g) { return nn_maxpool2d(g, oc_in(g, "x", 3, 3, 6, 7), 2, 2); }
static nn_node *b_avgpool(nn_graph *g) { return nn_avgpool2d_ex(g, oc_in(g, "x", 3, 2, 7, 5), 3, 2, 1); }
static nn_node *b_avgpool2(nn_graph *g) { return nn_avgpool2d(g, oc_in(g, "x", 3, 3, 7, 6), 2, 2); }
static nn_node *b_avgpool_s1(nn_graph *g) { return nn_avgpool2d_ex(g, oc_in(g, "x", 3, 2, 5, 7), 3, 1, 1); }
static nn_node *b_gap(nn_graph *g) { return nn_global_avgpool(g, oc_in(g, "x", 3, 3, 5, 4)); }
static nn_node *b_gap2(nn_graph *g) { return nn_global_avgpool(g, oc_in(g, "x", 3, 4, 5, 3)); }
static nn_node *b_bn(nn_graph *g) { return nn_batchnorm(g, oc_in(g, "x", 3, 3, 4, 5)); }
static nn_node *b_bn2(nn_graph *g) { return nn_batchnorm(g, oc_in(g, "x", 3, 4, 5, 3)); }
static nn_node *b_bn1d(nn_graph *g) { return nn_batchnorm(g, oc_in(g, "x", 1, 5, 0, 0)); }
static nn_node *b_bn1d_ex(nn_graph *g) { return nn_batchnorm_ex(g, oc_in(g, "x", 1, 6, 0, 0), 0.3f, 1e-3f, 0); }
static nn_node *b_bn_frozen(nn_graph *g) { return nn_batchnorm_ex(g, oc_in(g, "x", 3, 3, 4, 5), 0.6f, 1e-12f, 1); }
static nn_node *b_bn_frozen2(nn_graph *g) { return nn_batchnorm_ex(g, oc_in(g, "x", 3, 3, 4, 5), 0.6f, 1e-5f, 1); }
static nn_node *b_ln(nn_graph *g) { return nn_layernorm(g, oc_in(g, "x", 2, 3, 7, 0)); }
static nn_node *b_ln_wide(nn_graph *g) { return nn_layernorm(g, oc_in(g, "x", 1, 300, 0, 0)); }
static nn_node *b_dropout(nn_graph *g) { return nn_dropout(g, oc_in(g, "x", 1, 9, 0, 0), 0.3f); }
static nn_node *b_dropout0(nn_graph *g) { return nn_dropout(g, oc_in(g, "x", 2, 3, 7, 0), 0.0f); }
static nn_node *b_dropout_eval(nn_graph *g) { return nn_dropout(g, oc_in(g, "x", 1, 11, 0, 0), 0.4f); }
static nn_node *b_flatten(nn_graph *g) { return nn_dense(g, nn_flatten(g, oc_in(g, "x", 3, 2, 3, 3)), 4); }
/* a small chain that reaches the input through reshape */
static nn_node *b_chain(nn_graph *g) {
  nn_node *h = nn_relu(g, nn_conv2d(g, oc_in(g, "x", 3, 2, 6, 6), 3, 3, 1, 1));
  return nn_dense(g, nn_flatten(g, nn_maxpool2d(g, h, 2, 2)), 4);
}
static nn_node *b_add(nn_graph *g) { return nn_add(g, oc_in(g, "x", 1, 6, 0, 0), oc_in(g, "y", 1, 6, 0, 0)); }
static nn_node *b_add_tanh(nn_graph *g) { nn_node *x = oc_in(g, "x", 1, 6, 0, 0); return nn_add(g, x, nn_tanh(g, x)); }
static nn_node *b_add_tanh2(nn_graph *g) { nn_node *x = oc_in(g, "x", 2, 3, 5, 0); return nn_add(g, x, nn_tanh(g, x)); }
static nn_node *b_add_self(nn_graph *g) { nn_node *x = oc_in(g, "x", 1, 9, 0, 0); return nn_add(g, x, x); }
static nn_node *b_concat3(nn_graph *g) {
  nn_node *xs[3];
  xs[0] = oc_in(g, "a", 3, 1, 2, 3);
  xs[1] = oc_in(g, "b", 3, 3, 2, 3);
  xs[2] = oc_in(g, "c", 3, 2, 2, 3);
  return nn_concat(g, 3, xs);
}
static nn_node *b_concat2(nn_graph *g) {
  nn_node *xs[3];
  xs[0] = oc_in(g, "x", 2, 2, 3, 0);
  xs[1] = oc_in(g, "x2", 2, 1, 3, 0);
  xs[2] = oc_in(g, "x3", 2, 4, 3, 0);
  return nn_concat(g, 3, xs);
}
static nn_node *b_scale(nn_graph *g) { return nn_scale(g, oc_in(g, "x", 1, 5, 0, 0), -1.0f / 9); }
static nn_node *b_scale2(nn_graph *g) { return nn_scale(g, oc_in(g, "x", 1, 10, 0, 0), 0.7f); }
static nn_node *b_relu(nn_graph *g) { return nn_relu(g, oc_in(g, "x", 1, 8, 0, 0)); }
static nn_node *b_relu3(nn_graph *g) { return nn_relu(g, oc_in(g, "x", 3, 2, 3, 5)); }
static nn_node *b_leaky(nn_graph *g) { return nn_leaky_relu(g, oc_in(g, "x", 1, 8, 0, 0), 0.1f); }
static nn_node *b_leaky17(nn_graph *g) { return nn_leaky_relu(g, oc_in(g, "x", 1, 17, 0, 0), 0.1f); }
static nn_node *b_gelu(nn_graph *g) { return nn_gelu(g, oc_in(g, "x", 1, 8, 0, 0)); }
static nn_node *b_gelu17(nn_graph *g) { return nn_gelu(g, oc_in(g, "x", 1, 17, 0, 0)); }
static nn_node *b_silu(nn_graph *g) { return nn_silu(g, oc_in(g, "x", 1, 17, 0, 0)); }
static nn_node *b_mul(nn_graph *g) { return nn_mul(g, oc_in(g, "x", 2, 2, 3, 0), oc_in(g, "y", 2, 2, 3, 0)); }
static nn_node *b_mul_channel(nn_graph *g) {  /* a per-channel parameter, shared by the samples */
  int c = 3;
  return nn_mul(g, oc_in(g, "x", 3, 3, 4, 5), nn_param(g, "gain", 1, &c, NN_INIT_UNIFORM, 1.0f));
}
static nn_node *b_mul_feature(nn_graph *g) { return nn_mul(g, oc_in(g, "x", 2, 4, 5, 0), oc_in(g, "y", 1, 5, 0, 0)); }
static nn_node *b_mul_feature_param(nn_graph *g) {
  int f = 7;
  return nn_mul(g, oc_in(g, "x", 2, 6, 7, 0), nn_param(g, "gain", 1, &f, NN_INIT_UNIFORM, 1.0f));
}
static nn_node *b_mul_channel_batched(nn_graph *g) { return nn_mul(g, oc_in(g, "x", 3, 4, 3, 5), oc_in(g, "y", 1, 4, 0, 0)); }
static nn_node *b_mul_scalar(nn_graph *g) { return nn_mul(g, oc_in(g, "x", 3, 2, 3, 3), oc_in(g, "y", 1, 1, 0, 0)); }
static nn_node *b_sigmoid(nn_graph *g) { return nn_sigmoid(g, oc_in(g, "x", 1, 8, 0, 0)); }
static nn_node *b_sigmoid17(nn_graph *g) { return nn_sigmoid(g, oc_in(g, "x", 1, 17, 0, 0)); }
static nn_node *b_tanh(nn_graph *g) { return nn_tanh(g, oc_in(g, "x", 1, 8, 0, 0)); }
static nn_node *b_tanh17(nn_graph *g) { return nn_tanh(g, oc_in(g, "x", 1, 17, 0, 0)); }
static nn_node *b_softmax(nn_graph *g) { return nn_softmax(g, oc_in(g, "x", 2, 2, 5, 0)); }
static nn_node *b_softmax2(nn_graph *g) { return nn_softmax(g, oc_in(g, "x", 2, 3, 11, 0)); }
static nn_node *b_softmax_wide(nn_graph *g) { return nn_softmax(g, oc_in(g, "x", 1, 700, 0, 0)); }
static nn_node *b_ce(nn_graph *g) { return nn_cross_entropy(g, oc_in(g, "x", 1, 4, 0, 0), oc_label(g), 0, NN_MEAN); }
static nn_node *b_ce_sum(nn_graph *g) { return nn_cross_entropy(g, oc_in(g, "x", 1, 4, 0, 0), oc_label(g), 0.2f, NN_SUM); }
static nn_node *b_ce7(nn_graph *g) { return nn_cross_entropy(g, oc_in(g, "x", 1, 7, 0, 0), oc_label(g), 0.1f, NN_MEAN); }
static nn_node *b_ce300(nn_graph *g) { return nn_cross_entropy(g, oc_in(g, "x", 1, 300, 0, 0), oc_label(g), 0.0f, NN_SUM); }
static nn_node *b_bce(nn_graph *g) { return nn_bce_with_logits(g, oc_in(g, "x", 1, 3, 0, 0), oc_in(g, "target", 1, 3, 0, 0), NN_MEAN); }
static nn_node *b_bce5(nn_graph *g) { return nn_bce_with_logits(g, oc_in(g, "x", 1, 5, 0, 0), oc_in(g, "target", 1, 5, 0, 0), NN_MEAN); }
static nn_node *b_bce_sum(nn_graph *g) {
  int d[2] = {2, 3};
  return nn_bce_with_logits(g, oc_in(g, "x", 2, 2, 3, 0), nn_input(g, "target", 2, d), NN_SUM);
}
static nn_node *b_mse(nn_graph *g) { return nn_mse(g, oc_in(g, "x", 1, 3, 0, 0), oc_in(g, "y", 1, 3, 0, 0), NN_SUM); }
static nn_node *b_mse_mean(nn_graph *g) { return nn_mse(g, oc_in(g, "x", 2, 2, 3, 0), oc_in(g, "x2", 2, 2, 3, 0), NN_MEAN); }
static nn_node *b_mse_sum(nn_graph *g) { return nn_mse(g, oc_in(g, "x", 1, 4, 0, 0), oc_in(g, "x2", 1, 4, 0, 0), NN_SUM); }
static nn_node *b_embedding(nn_graph *g) { int five = 5; return nn_embedding(g, nn_input(g, "ids", 1, &five), 7, 3); }
static nn_node *b_embedding2(nn_graph *g) { int d[2] = {2, 5}; return nn_embedding(g, nn_input(g, "ids", 2, d), 13, 6); }
/* each recurrent op over [5, 3], one layer: forward and bidirectional with
   ragged lengths, bidirectional with every sample full */
#define OC_RECURRENT(op)                                                                                                    \
  static nn_node *b_##op##_ragged(nn_graph *g) { return nn_##op(g, oc_in(g, "x", 2, 5, 3, 0), oc_len(g), 4, 1, 0); }              \
  static nn_node *b_##op##_bi_ragged(nn_graph *g) { return nn_##op(g, oc_in(g, "x", 2, 5, 3, 0), oc_len(g), 4, 1, NN_BIDIRECTIONAL); } \
  static nn_node *b_##op##_bi_full(nn_graph *g) { return nn_##op(g, oc_in(g, "x", 2, 5, 3, 0), oc_len(g), 3, 1, NN_BIDIRECTIONAL); }
OC_RECURRENT(rnn)
OC_RECURRENT(lstm)
OC_RECURRENT(gru)
static nn_node *b_rnn(nn_graph *g) { return nn_rnn(g, oc_in(g, "x", 2, 6, 5, 0), oc_len(g), 7, 1, 0); }
static nn_node *b_rnn_bi2(nn_graph *g) { return nn_rnn(g, oc_in(g, "x", 2, 6, 4, 0), oc_len(g), 5, 2, NN_BIDIRECTIONAL); }
static nn_node *b_lstm(nn_graph *g) { return nn_lstm(g, oc_in(g, "x", 2, 6, 5, 0), oc_len(g), 6, 1, 0); }
static nn_node *b_lstm_bi(nn_graph *g) { return nn_lstm(g, oc_in(g, "x", 2, 6, 3, 0), oc_len(g), 5, 1, NN_BIDIRECTIONAL); }
static nn_node *b_lstm_bi2(nn_graph *g) { return nn_lstm(g, oc_in(g, "x", 2, 5, 3, 0), oc_len(g), 3, 2, NN_BIDIRECTIONAL); }
static nn_node *b_lstm_full(nn_graph *g) { return nn_lstm(g, oc_in(g, "x", 2, 6, 3, 0), NULL, 4, 2, 0); }
static nn_node *b_gru(nn_graph *g) { return nn_gru(g, oc_in(g, "x", 2, 6, 5, 0), oc_len(g), 7, 1, 0); }
static nn_node *b_gru_bi2(nn_graph *g) { return nn_gru(g, oc_in(g, "x", 2, 6, 4, 0), oc_len(g), 5, 2, NN_BIDIRECTIONAL); }
static nn_node *b_gru_nolen(nn_graph *g) { return nn_gru(g, oc_in(g, "x", 2, 5, 3, 0), NULL, 3, 1, 0); }
static nn_node *b_gru_bi_nolen(nn_graph *g) { return nn_gru(g, oc_in(g, "x", 2, 6, 3, 0), NULL, 6, 1, NN_BIDIRECTIONAL); }
/* more units and samples than one work-group tile of the OpenCL steps
   (16 x 16): several tiles along both, partial ones at the edges */
static nn_node *b_lstm_wide(nn_graph *g) { return nn_lstm(g, oc_in(g, "x", 2, 4, 3, 0), oc_len(g), 17, 1, NN_BIDIRECTIONAL); }
static nn_node *b_gru_wide(nn_graph *g) { return nn_gru(g, oc_in(g, "x", 2, 4, 3, 0), oc_len(g), 18, 1, NN_BIDIRECTIONAL); }
static nn_node *b_gru_frozen(nn_graph *g) {
  nn_node *y = nn_gru(g, oc_in(g, "x", 2, 5, 3, 0), oc_len(g), 3, 1, NN_BIDIRECTIONAL);
  int d;
  for (d = 0; d < 2; d++) {   /* both directions' W_hh and b_ih (inputs 2 + 4d + 1, 2 + 4d + 2) */
    nn_set_trainable(nn_node_input(y, 3 + 4 * d), 0);
    nn_set_trainable(nn_node_input(y, 4 + 4 * d), 0);
  }
  return y;
}
static nn_node *b_lstm_reverse_frozen(nn_graph *g) {   /* one direction's W_ih and b_hh only */
  nn_node *y = nn_lstm(g, oc_in(g, "x", 2, 5, 3, 0), oc_len(g), 3, 1, NN_BIDIRECTIONAL);
  nn_set_trainable(nn_node_input(y, 6), 0);
  nn_set_trainable(nn_node_input(y, 9), 0);
  return y;
}
static nn_node *b_seq_last(nn_graph *g) { return nn_seq_last(g, oc_in(g, "x", 2, 5, 6, 0), oc_len(g)); }
static nn_node *b_seq_last_gru(nn_graph *g) {
  nn_node *len = oc_len(g);
  return nn_seq_last(g, nn_gru(g, oc_in(g, "x", 2, 5, 3, 0), len, 3, 1, NN_BIDIRECTIONAL), len);
}
static nn_node *b_seq_last_gru2(nn_graph *g) {
  nn_node *len = oc_len(g);
  return nn_seq_last(g, nn_gru(g, oc_in(g, "x", 2, 6, 3, 0), len, 4, 1, NN_BIDIRECTIONAL), len);
}
static nn_node *b_seq_max(nn_graph *g) { return nn_seq_maxpool(g, oc_in(g, "x", 2, 5, 6, 0), oc_len(g)); }
static nn_node *b_seq_max2(nn_graph *g) { return nn_seq_maxpool(g, oc_in(g, "x", 2, 6, 7, 0), oc_len(g)); }
static nn_node *b_seq_mean(nn_graph *g) { return nn_seq_meanpool(g, oc_in(g, "x", 2, 5, 6, 0), oc_len(g)); }
static nn_node *b_seq_mean2(nn_graph *g) { return nn_seq_meanpool(g, oc_in(g, "x", 2, 6, 7, 0), oc_len(g)); }
static nn_node *b_seq_mean_nolen(nn_graph *g) { return nn_seq_meanpool(g, oc_in(g, "x", 2, 6, 5, 0), NULL); }

/* op, what, builder, batch, used_batch, training, lengths, flags */
static const op_case op_cases[] = {
  {NN_OP_DENSE, "dense [7] -> 5", b_dense7, 3, 3, 1, NULL, 0},
  {NN_OP_DENSE, "dense [13] -> 7", b_dense13, 5, 5, 1, NULL, 0},
  {NN_OP_DENSE, "dense over the last dim of [4, 6], no bias", b_dense_rank2, 3, 3, 1, NULL, 0},
  {NN_OP_DENSE, "dense over the last dim of [3, 5], no bias", b_dense_rank2b, 4, 3, 1, NULL, 0},
  {NN_OP_CONV2D, "conv2d 3x3 s2 p1 on [3, 7, 6]", b_conv, 2, 2, 1, NULL, 0},
  {NN_OP_CONV2D, "conv2d 3x3 s2 p1 on [3, 7, 9]", b_conv_wide, 3, 3, 1, NULL, 0},
  {NN_OP_CONV2D, "conv2d 1x1 no bias", b_conv_1x1, 3, 3, 1, NULL, 0},
  {NN_OP_CONV2D, "conv2d 2x3 s1 p0", b_conv_2x3, 2, 2, 1, NULL, 0},
  {NN_OP_CONV2D, "conv2d 1x3 no bias", b_conv_1x3, 5, 4, 1, NULL, 0},
  {NN_OP_CONV2D, "conv2d 5x5 p2", b_conv_k5, 2, 2, 1, NULL, 0},
  {NN_OP_CONV2D, "conv2d 3x3 s1 p1 (Winograd) on [32, 7, 5]", b_conv_wino, 3, 3, 1, NULL, 0},
  {NN_OP_CONV2D, "conv2d 3x3 s1 p1 (Winograd) on [32, 4, 6], no bias", b_conv_wino_even, 2, 2, 1, NULL, 0},
  {NN_OP_CONV2D_TRANSPOSE, "conv2d_transpose 4x4 s2 p1 on [3, 4, 5]", b_convt, 2, 2, 1, NULL, 0},
  {NN_OP_CONV2D_TRANSPOSE, "conv2d_transpose 3x3 s2 p1 output padding 1", b_convt_op, 3, 3, 1, NULL, 0},
  {NN_OP_CONV2D_TRANSPOSE, "conv2d_transpose 2x3 s1 no bias", b_convt_2x3, 5, 4, 1, NULL, 0},
  {NN_OP_CONV2D_TRANSPOSE, "conv2d_transpose 3x3 s3 p2 output padding 2", b_convt_s3, 2, 2, 1, NULL, 0},
  {NN_OP_UPSAMPLE2D, "upsample2d x2 on [2, 3, 5]", b_upsample2, 3, 3, 1, NULL, 0},
  {NN_OP_UPSAMPLE2D, "upsample2d x3 on [3, 4, 2]", b_upsample3, 2, 2, 1, NULL, 0},
  {NN_OP_MAXPOOL2D, "maxpool2d k3 s2 p1 on [2, 7, 5]", b_maxpool, 3, 3, 1, NULL, 0},
  {NN_OP_MAXPOOL2D, "maxpool2d k3 s2 p1 on [2, 7, 9]", b_maxpool_wide, 3, 3, 1, NULL, 0},
  {NN_OP_MAXPOOL2D, "maxpool2d k2 s2 on [3, 6, 6]", b_maxpool2, 2, 2, 1, NULL, 0},
  {NN_OP_MAXPOOL2D, "maxpool2d k2 s2 on [3, 6, 7]", b_maxpool2_odd, 2, 2, 1, NULL, 0},
  {NN_OP_AVGPOOL2D, "avgpool2d k3 s2 p1", b_avgpool, 3, 3, 1, NULL, 0},
  {NN_OP_AVGPOOL2D, "avgpool2d k2 s2", b_avgpool2, 3, 3, 1, NULL, 0},
  {NN_OP_AVGPOOL2D, "avgpool2d k3 s1 p1", b_avgpool_s1, 2, 2, 1, NULL, 0},
  {NN_OP_GLOBAL_AVGPOOL, "global_avgpool [3, 5, 4]", b_gap, 3, 3, 1, NULL, 0},
  {NN_OP_GLOBAL_AVGPOOL, "global_avgpool [4, 5, 3]", b_gap2, 3, 3, 1, NULL, 0},
  {NN_OP_BATCHNORM, "batchnorm [3, 4, 5] training", b_bn, 3, 3, 1, NULL, 0},
  {NN_OP_BATCHNORM, "batchnorm [3, 4, 5] eval", b_bn, 3, 3, 0, NULL, 0},
  {NN_OP_BATCHNORM, "batchnorm [4, 5, 3] training", b_bn2, 5, 5, 1, NULL, 0},
  {NN_OP_BATCHNORM, "batchnorm [4, 5, 3] eval", b_bn2, 3, 3, 0, NULL, 0},
  {NN_OP_BATCHNORM, "batchnorm [5] training", b_bn1d, 4, 4, 1, NULL, 0},
  {NN_OP_BATCHNORM, "batchnorm [6] training, momentum 0.3", b_bn1d_ex, 7, 6, 1, NULL, 0},
  {NN_OP_BATCHNORM, "batchnorm frozen scale, eps 1e-12", b_bn_frozen, 3, 3, 1, NULL, 0},
  {NN_OP_BATCHNORM, "batchnorm frozen scale, eps 1e-5", b_bn_frozen2, 3, 3, 1, NULL, 0},
  {NN_OP_LAYERNORM, "layernorm [3, 7]", b_ln, 3, 3, 1, NULL, 0},
  {NN_OP_LAYERNORM, "layernorm D=300", b_ln_wide, 2, 2, 1, NULL, 0},
  {NN_OP_DROPOUT, "dropout p=0.3 training", b_dropout, 3, 3, 1, NULL, OP_CASE_RANDOM},
  {NN_OP_DROPOUT, "dropout p=0 training", b_dropout0, 3, 3, 1, NULL, 0},
  {NN_OP_DROPOUT, "dropout p=0.4 eval", b_dropout_eval, 3, 3, 0, NULL, 0},
  {NN_OP_RESHAPE, "flatten + dense", b_flatten, 3, 3, 1, NULL, 0},
  {NN_OP_RESHAPE, "conv-relu-pool-flatten-dense", b_chain, 3, 3, 1, NULL, OP_CASE_KINKED},
  {NN_OP_ADD, "add x + y", b_add, 3, 3, 1, NULL, 0},
  {NN_OP_ADD, "add x + tanh(x) on [6]", b_add_tanh, 3, 3, 1, NULL, 0},
  {NN_OP_ADD, "add x + tanh(x) on [3, 5]", b_add_tanh2, 3, 3, 1, NULL, 0},
  {NN_OP_ADD, "add x + x (accumulation)", b_add_self, 2, 2, 1, NULL, 0},
  {NN_OP_MUL, "mul [2, 3] * [2, 3]", b_mul, 3, 3, 1, NULL, 0},
  {NN_OP_MUL, "mul [3, 4, 5] * parameter [3] (per channel)", b_mul_channel, 3, 2, 1, NULL, 0},
  {NN_OP_MUL, "mul [4, 5] * [5] (per feature)", b_mul_feature, 3, 3, 1, NULL, 0},
  {NN_OP_MUL, "mul [2, 3, 3] * [1]", b_mul_scalar, 2, 2, 1, NULL, 0},
  {NN_OP_MUL, "mul [6, 7] * parameter [7] (per feature)", b_mul_feature_param, 3, 3, 1, NULL, 0},
  {NN_OP_MUL, "mul [4, 3, 5] * [4] (per channel, batched)", b_mul_channel_batched, 3, 3, 1, NULL, 0},
  {NN_OP_CONCAT, "concat of [1|3|2, 2, 3]", b_concat3, 2, 2, 1, NULL, 0},
  {NN_OP_CONCAT, "concat of [2|1|4, 3]", b_concat2, 3, 2, 1, NULL, 0},
  {NN_OP_SCALE, "scale by -1/9", b_scale, 3, 3, 1, NULL, 0},
  {NN_OP_SCALE, "scale by 0.7", b_scale2, 3, 3, 1, NULL, 0},
  {NN_OP_RELU, "relu [8]", b_relu, 3, 3, 1, NULL, 0},
  {NN_OP_RELU, "relu [2, 3, 5]", b_relu3, 3, 3, 1, NULL, 0},
  {NN_OP_LEAKY_RELU, "leaky_relu [8]", b_leaky, 3, 3, 1, NULL, 0},
  {NN_OP_LEAKY_RELU, "leaky_relu [17]", b_leaky17, 3, 3, 1, NULL, 0},
  {NN_OP_GELU, "gelu [8]", b_gelu, 3, 3, 1, NULL, 0},
  {NN_OP_GELU, "gelu [17]", b_gelu17, 3, 3, 1, NULL, 0},
  {NN_OP_SILU, "silu [17]", b_silu, 3, 3, 1, NULL, 0},
  {NN_OP_SIGMOID, "sigmoid [8]", b_sigmoid, 3, 3, 1, NULL, 0},
  {NN_OP_SIGMOID, "sigmoid [17]", b_sigmoid17, 3, 3, 1, NULL, 0},
  {NN_OP_TANH, "tanh [8]", b_tanh, 3, 3, 1, NULL, 0},
  {NN_OP_TANH, "tanh [17]", b_tanh17, 3, 3, 1, NULL, 0},
  {NN_OP_SOFTMAX, "softmax [2, 5]", b_softmax, 3, 3, 1, NULL, 0},
  {NN_OP_SOFTMAX, "softmax [3, 11]", b_softmax2, 3, 3, 1, NULL, 0},
  {NN_OP_SOFTMAX, "softmax D=700", b_softmax_wide, 2, 2, 1, NULL, 0},
  {NN_OP_CROSS_ENTROPY, "cross_entropy, 4 classes, mean", b_ce, 5, 5, 1, NULL, 0},
  {NN_OP_CROSS_ENTROPY, "cross_entropy, 4 classes, sum, smoothing 0.2", b_ce_sum, 5, 5, 1, NULL, 0},
  {NN_OP_CROSS_ENTROPY, "cross_entropy, 7 classes, mean, smoothing 0.1", b_ce7, 9, 9, 1, NULL, 0},
  {NN_OP_CROSS_ENTROPY, "cross_entropy, 300 classes, sum", b_ce300, 5, 4, 1, NULL, 0},
  {NN_OP_BCE_LOGITS, "bce_with_logits [3], mean", b_bce, 3, 3, 1, NULL, 0},
  {NN_OP_BCE_LOGITS, "bce_with_logits [5], mean", b_bce5, 3, 3, 1, NULL, 0},
  {NN_OP_BCE_LOGITS, "bce_with_logits [2, 3], sum", b_bce_sum, 3, 3, 1, NULL, 0},
  {NN_OP_MSE, "mse [3], sum", b_mse, 3, 3, 1, NULL, 0},
  {NN_OP_MSE, "mse [2, 3], mean", b_mse_mean, 3, 3, 1, NULL, 0},
  {NN_OP_MSE, "mse [4], sum", b_mse_sum, 3, 3, 1, NULL, 0},
  {NN_OP_EMBEDDING, "embedding of [5] ids, 7 x 3", b_embedding, 3, 3, 1, NULL, 0},
  {NN_OP_EMBEDDING, "embedding of [2, 5] ids, 13 x 6", b_embedding2, 5, 4, 1, NULL, 0},
  {NN_OP_RNN, "rnn forward, ragged lengths", b_rnn_ragged, 4, 4, 1, oc_ragged, 0},
  {NN_OP_RNN, "rnn bidirectional, ragged lengths", b_rnn_bi_ragged, 4, 4, 1, oc_ragged, 0},
  {NN_OP_RNN, "rnn bidirectional, full lengths", b_rnn_bi_full, 3, 3, 1, oc_full, 0},
  {NN_OP_RNN, "rnn [6, 5] -> 7", b_rnn, 7, 7, 1, NULL, 0},
  {NN_OP_RNN, "rnn, 2 layers, bidirectional", b_rnn_bi2, 5, 4, 1, NULL, 0},
  {NN_OP_LSTM, "lstm forward, ragged lengths", b_lstm_ragged, 4, 4, 1, oc_ragged, 0},
  {NN_OP_LSTM, "lstm bidirectional, ragged lengths", b_lstm_bi_ragged, 4, 4, 1, oc_ragged, 0},
  {NN_OP_LSTM, "lstm bidirectional, full lengths", b_lstm_bi_full, 3, 3, 1, oc_full, 0},
  {NN_OP_LSTM, "lstm [6, 5] -> 6", b_lstm, 7, 7, 1, NULL, 0},
  {NN_OP_LSTM, "lstm [6, 3] -> 5, bidirectional", b_lstm_bi, 6, 6, 1, NULL, 0},
  {NN_OP_LSTM, "lstm, 2 layers, bidirectional", b_lstm_bi2, 4, 4, 1, oc_ragged, 0},
  {NN_OP_LSTM, "lstm, 2 layers, no lengths", b_lstm_full, 3, 3, 1, NULL, 0},
  {NN_OP_LSTM, "lstm [4, 3] -> 17, bidirectional, 17 samples", b_lstm_wide, 18, 17, 1, NULL, 0},
  {NN_OP_GRU, "gru forward, ragged lengths", b_gru_ragged, 4, 4, 1, oc_ragged, 0},
  {NN_OP_GRU, "gru bidirectional, ragged lengths", b_gru_bi_ragged, 4, 4, 1, oc_ragged, 0},
  {NN_OP_GRU, "gru bidirectional, full lengths", b_gru_bi_full, 3, 3, 1, oc_full, 0},
  {NN_OP_GRU, "gru [6, 5] -> 7", b_gru, 7, 7, 1, NULL, 0},
  {NN_OP_GRU, "gru, 2 layers, bidirectional", b_gru_bi2, 6, 5, 1, NULL, 0},
  {NN_OP_GRU, "gru without lengths", b_gru_nolen, 2, 2, 1, NULL, 0},
  {NN_OP_GRU, "gru, bidirectional, no lengths", b_gru_bi_nolen, 3, 3, 1, NULL, 0},
  {NN_OP_GRU, "gru with frozen W_hh and b_ih", b_gru_frozen, 4, 4, 1, oc_ragged, 0},
  {NN_OP_GRU, "gru [4, 3] -> 18, bidirectional, 19 samples", b_gru_wide, 20, 19, 1, NULL, 0},
  {NN_OP_LSTM, "lstm with the reverse W_ih and b_hh frozen", b_lstm_reverse_frozen, 4, 4, 1, oc_ragged, 0},
  {NN_OP_SEQ_LAST, "seq_last", b_seq_last, 4, 4, 1, oc_ragged, 0},
  {NN_OP_SEQ_LAST, "seq_last of a bidirectional gru, ragged", b_seq_last_gru, 4, 4, 1, oc_ragged, 0},
  {NN_OP_SEQ_LAST, "seq_last of a bidirectional gru", b_seq_last_gru2, 7, 7, 1, NULL, 0},
  {NN_OP_SEQ_MAXPOOL, "seq_maxpool [5, 6]", b_seq_max, 4, 4, 1, oc_ragged, 0},
  {NN_OP_SEQ_MAXPOOL, "seq_maxpool [6, 7]", b_seq_max2, 7, 7, 1, NULL, 0},
  {NN_OP_SEQ_MEANPOOL, "seq_meanpool [5, 6]", b_seq_mean, 4, 4, 1, oc_ragged, 0},
  {NN_OP_SEQ_MEANPOOL, "seq_meanpool [6, 7]", b_seq_mean2, 7, 6, 1, NULL, 0},
  {NN_OP_SEQ_MEANPOOL, "seq_meanpool, no lengths", b_seq_mean_nolen, 3, 3, 1, NULL, 0},
};
#define OP_CASE_COUNT ((int)(sizeof op_cases / sizeof op_cases[0]))

/* The values an integer input may take, 0..range-1, from the op that
   reads it: the classes of a cross entropy, the vocabulary of an
   embedding, the lengths 0..T of a sequence op over T steps. */
static int op_case_range(const nn_graph *g, const nn_node *leaf) {
  int i, k;
  for (i = 0; i < nn_graph_num_nodes(g); i++) {
    const nn_node *nd = nn_graph_node(g, i);
    for (k = 0; k < NN_MAX_INPUTS; k++)
      if (nn_node_input(nd, k) == leaf) {
        const nn_shape *s = nn_node_shape(nn_node_input(nd, nd->op == NN_OP_EMBEDDING));
        if (nd->op == NN_OP_EMBEDDING) return s->dim[0];                  /* weight [vocab, dim] */
        if (nd->op == NN_OP_CROSS_ENTROPY) return s->dim[s->ndim - 1];   /* logits [classes] */
        return s->dim[0] + 1;                                             /* x [T, F] */
      }
  }
  return 1;
}

/* Fills the n values of leaf nd of case c's graph g by the naming rules
   above and returns 1, or returns 0 for a leaf the caller fills itself. */
static int op_case_fill(const op_case *c, const nn_graph *g, const nn_node *nd, nn_rng *r, float *v, size_t n) {
  size_t i;
  int range;
  if (!strcmp(nd->name, "target")) {
    for (i = 0; i < n; i++) v[i] = nn_rng_uniform(r);
    return 1;
  }
  if (strcmp(nd->name, "label") && strcmp(nd->name, "ids") && strcmp(nd->name, "len")) return 0;
  if (!strcmp(nd->name, "len") && c->lengths) {
    for (i = 0; i < n; i++) v[i] = c->lengths[i % (size_t)c->batch];  /* repeated past c->batch (benchmarks) */
    return 1;
  }
  range = op_case_range(g, nd);
  for (i = 0; i < n; i++) v[i] = (float)nn_rng_int(r, range);
  return 1;
}

/* Marks the ops of graph g in covered[NN_OP_COUNT]; says whether `op` is
   one of them (a case must hold the op it is for).  Inline, as is the
   next: a program that does not use them gets no unused-function warning. */
static inline int op_coverage_add(int *covered, const nn_graph *g, nn_op op) {
  int i, found = 0;
  for (i = 0; i < nn_graph_num_nodes(g); i++) {
    covered[nn_graph_node(g, i)->op] = 1;
    found |= nn_graph_node(g, i)->op == op;
  }
  return found;
}

/* Writes the names of the covered ops, one a line, for the coverage suite
   (tests/op_coverage.c); run from elsewhere than the project root, it
   says so instead. */
static inline void op_coverage_write(const int *covered, const char *path) {
  FILE *f = fopen(path, "w");
  int i;
  if (!f) { printf("note: cannot write %s (run from the project root for the coverage suite)\n", path); return; }
  for (i = 0; i < NN_OP_COUNT; i++)
    if (covered[i]) fprintf(f, "%s\n", nn_op_name((nn_op)i));
  fclose(f);
}
