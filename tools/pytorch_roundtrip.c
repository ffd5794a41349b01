/* The nn.h side of tools/pytorch_roundtrip.py: builds the network of one
   named case, loads DIR/torch.safetensors (PyTorch's state_dict, saved by
   safetensors.torch.save_file) with flags 0, feeds the inputs the script
   wrote and writes nn.h's outputs; then trains a few SGD steps and saves
   DIR/nnh.safetensors for PyTorch's load_state_dict(strict=True).

     cc -std=c99 -O2 -I. tools/pytorch_roundtrip.c -o build/pytorch_roundtrip -lm
     build/pytorch_roundtrip CASE DIR        (build/pytorch_roundtrip --list)

   Files are raw little-endian float32 (this tool runs on little-endian
   hosts): inputs DIR/<input name>.f32 (x or ids, len, target); outputs
   DIR/eval.f32 (eval mode, as loaded), DIR/train.f32 (one forward pass in
   training mode: batch statistics), DIR/after.f32 (eval mode after
   TRAIN_STEPS steps of SGD on the mean squared error to `target`).  Layer
   names are the PyTorch modules' attribute names, so neither side renames
   anything.  Shapes are the script's: keep CASES there in step. */
#define NN_IMPLEMENTATION
#include "nn.h"
#include <stdlib.h>
#include <string.h>

#define BATCH 3
#define TRAIN_STEPS 5

static nn_node *in_x(nn_graph *g, int ndim, int a, int b, int c) {
  int d[3];
  d[0] = a; d[1] = b; d[2] = c;
  return nn_input(g, "x", ndim, d);
}
static nn_node *in_len(nn_graph *g) { int one = 1; return nn_input(g, "len", 1, &one); }

static nn_node *c_dense(nn_graph *g) { nn_layer_name(g, "fc"); return nn_dense(g, in_x(g, 1, 7, 0, 0), 5); }
static nn_node *c_dense_seq(nn_graph *g) { nn_layer_name(g, "fc"); return nn_dense_ex(g, in_x(g, 2, 4, 6, 0), 3, 0); }
static nn_node *c_conv2d(nn_graph *g) { nn_layer_name(g, "conv"); return nn_conv2d(g, in_x(g, 3, 3, 9, 8), 4, 3, 2, 1); }
static nn_node *c_conv_bn(nn_graph *g) {   /* conv -> batch norm -> relu -> flatten -> dense */
  nn_node *h;
  nn_layer_name(g, "conv");
  h = nn_conv2d_ex(g, in_x(g, 3, 2, 6, 5), 4, 3, 3, 1, 1, 0);
  nn_layer_name(g, "bn");
  h = nn_relu(g, nn_batchnorm(g, h));
  nn_layer_name(g, "fc");
  return nn_dense(g, nn_flatten(g, h), 3);
}
static nn_node *c_conv_transpose(nn_graph *g) {   /* DCGAN's: stride 2, padding 1, output padding 1 */
  nn_layer_name(g, "convt");
  return nn_conv2d_transpose(g, in_x(g, 3, 4, 5, 6), 3, 3, 2, 1, 1);
}
static nn_node *c_generator(nn_graph *g) {   /* convt -> bn -> relu -> upsample x2 -> conv -> tanh */
  nn_node *h;
  nn_layer_name(g, "convt");
  h = nn_conv2d_transpose_ex(g, in_x(g, 3, 4, 3, 5), 3, 4, 4, 2, 1, 0, 0);
  nn_layer_name(g, "bn");
  h = nn_upsample2d(g, nn_relu(g, nn_batchnorm(g, h)), 2);
  nn_layer_name(g, "conv");
  return nn_tanh(g, nn_conv2d(g, h, 2, 3, 1, 1));
}
static nn_node *c_batchnorm1d(nn_graph *g) { nn_layer_name(g, "bn"); return nn_batchnorm_ex(g, in_x(g, 1, 6, 0, 0), 0.3f, 1e-3f, 0); }
static nn_node *c_layernorm(nn_graph *g) { nn_layer_name(g, "ln"); return nn_layernorm(g, in_x(g, 2, 3, 7, 0)); }
static nn_node *c_embedding(nn_graph *g) {
  int six = 6;
  nn_node *ids = nn_input(g, "ids", 1, &six);
  nn_layer_name(g, "emb");
  return nn_embedding(g, ids, 11, 5);
}
/* recurrent: x [5, 4], hidden 3; name, op, layers, flags, lengths */
#define RT_REC(cname, fn, layers, flags, lengths)                                        \
  static nn_node *c_##cname(nn_graph *g) {                                              \
    nn_node *x = in_x(g, 2, 5, 4, 0), *len = (lengths) ? in_len(g) : NULL;              \
    nn_layer_name(g, "rnn");                                                                     \
    return fn(g, x, len, 3, layers, flags);                                              \
  }
RT_REC(rnn, nn_rnn, 1, 0, 1)
RT_REC(rnn_bi, nn_rnn, 1, NN_BIDIRECTIONAL, 1)
RT_REC(lstm, nn_lstm, 1, 0, 1)
RT_REC(lstm_bi, nn_lstm, 1, NN_BIDIRECTIONAL, 1)
RT_REC(lstm_bi2, nn_lstm, 2, NN_BIDIRECTIONAL, 1)
RT_REC(lstm_2_nolen, nn_lstm, 2, 0, 0)
RT_REC(gru, nn_gru, 1, 0, 1)
RT_REC(gru_bi, nn_gru, 1, NN_BIDIRECTIONAL, 1)
RT_REC(gru_bi2, nn_gru, 2, NN_BIDIRECTIONAL, 1)

static const struct { const char *name; nn_node *(*build)(nn_graph *g); } cases[] = {
  {"dense", c_dense}, {"dense_seq", c_dense_seq}, {"conv2d", c_conv2d}, {"conv_bn", c_conv_bn},
  {"conv_transpose", c_conv_transpose}, {"generator", c_generator},
  {"batchnorm1d", c_batchnorm1d}, {"layernorm", c_layernorm}, {"embedding", c_embedding},
  {"rnn", c_rnn}, {"rnn_bi", c_rnn_bi}, {"lstm", c_lstm}, {"lstm_bi", c_lstm_bi}, {"lstm_bi2", c_lstm_bi2},
  {"lstm_2_nolen", c_lstm_2_nolen}, {"gru", c_gru}, {"gru_bi", c_gru_bi}, {"gru_bi2", c_gru_bi2},
};
#define N_CASES ((int)(sizeof cases / sizeof cases[0]))

static void die(const char *what, const char *detail) {
  fprintf(stderr, "pytorch_roundtrip: %s: %s\n", what, detail);
  exit(1);
}
static void path_of(char *buf, size_t len, const char *dir, const char *name, const char *ext) {
  if ((size_t)snprintf(buf, len, "%s/%s%s", dir, name, ext) >= len) die("path too long", dir);
}
/* reads exactly n floats, or fails naming the file */
static void read_f32(const char *path, float *v, size_t n) {
  FILE *f = fopen(path, "rb");
  int extra;
  if (!f) die("cannot open", path);
  if (fread(v, sizeof(float), n, f) != n || (extra = fgetc(f)) != EOF) die("not the expected number of floats", path);
  fclose(f);
}
static void write_output(nn_model *m, const nn_node *out, const char *dir, const char *name) {
  char path[1024];
  size_t n = nn_node_numel(m, out);
  float *v = (float *)malloc(n * sizeof(float));
  FILE *f;
  path_of(path, sizeof path, dir, name, ".f32");
  if (!v || !nn_read(m, out, v) || !(f = fopen(path, "wb")) || fwrite(v, sizeof(float), n, f) != n || fclose(f) != 0)
    die("cannot write", path);
  free(v);
}

int main(int argc, char **argv) {
  nn_graph *g;
  nn_node *out, *target;
  nn_model *m;
  nn_optimizer *opt;
  char path[1024];
  int c, i, step;
  if (argc == 2 && !strcmp(argv[1], "--list")) {
    for (c = 0; c < N_CASES; c++) printf("%s\n", cases[c].name);
    return 0;
  }
  if (argc != 3) die("usage", "pytorch_roundtrip CASE DIR, or --list");
  for (c = 0; c < N_CASES && strcmp(cases[c].name, argv[1]); c++) {}
  if (c == N_CASES) die("unknown case", argv[1]);
  g = nn_graph_new();
  out = cases[c].build(g);
  target = out ? nn_input(g, "target", nn_node_shape(out)->ndim, nn_node_shape(out)->dim) : NULL;
  if (target) nn_mse(g, out, target, NN_MEAN);
  if (!(m = nn_compile(g, BATCH, nn_cpu_backend()))) die("compile", nn_last_error());
  path_of(path, sizeof path, argv[2], "torch", ".safetensors");
  if (!nn_safetensors_load(m, path, 0)) die("load", nn_last_error());
  for (i = 0; i < m->graph->n; i++) {   /* every input, from its file */
    nn_node *x = m->graph->nodes[i];
    float *v;
    if (x->op != NN_OP_INPUT) continue;
    v = (float *)malloc(nn_node_numel(m, x) * sizeof(float));
    path_of(path, sizeof path, argv[2], x->name, ".f32");
    read_f32(path, v, nn_node_numel(m, x));
    if (!nn_feed_node(m, x, v)) die("feed", nn_last_error());
    free(v);
  }
  if (!nn_predict(m, out)) die("eval forward", nn_last_error());
  write_output(m, out, argv[2], "eval");
  if (!nn_forward(m, 1)) die("training forward", nn_last_error());
  write_output(m, out, argv[2], "train");
  if (!(opt = nn_sgd(m, 0.1f, 0.9f, 0.0f, 0))) die("optimizer", nn_last_error());
  for (step = 0; step < TRAIN_STEPS; step++)
    if (!(nn_train_step(m, opt) >= 0)) die("train step", nn_last_error());
  path_of(path, sizeof path, argv[2], "nnh", ".safetensors");
  if (!nn_safetensors_save(m, path, NULL)) die("save", nn_last_error());
  if (!nn_predict(m, out)) die("eval forward after training", nn_last_error());
  write_output(m, out, argv[2], "after");
  printf("ok %s: %d tensors loaded and saved, %d training steps\n", cases[c].name, nn_model_num_tensors(m), TRAIN_STEPS);
  nn_optimizer_free(opt);
  nn_model_free(m);
  return 0;
}
