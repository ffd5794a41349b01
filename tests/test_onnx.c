/* The C side of the ONNX export suite (tests/test_onnx.sh).
   Exports, into the directory DIR given as argument:
     - every case of tests/op_cases.h whose ops nn_onnx.h exports: random
       inputs and parameters (batch-norm running statistics included), the
       output in eval mode;
     - a graph whose names collide;
     - rnn, lstm and gru of 2 layers, one and both directions, with ragged
       lengths (0 and T among them) and without lengths; seq_last,
       seq_maxpool and seq_meanpool after a bidirectional layer of each,
       with and without lengths;
     - the IMDb network of examples/imdb.c (embedding, bidirectional GRU
       with lengths, max and mean pooling, dense) after a few training
       steps on random reviews;
     - a DCGAN generator (transposed conv, nearest upsampling);
     - the Fashion-MNIST CNN of examples/fashion_mnist.c and the airbench
       network of examples/airbench.h after a few training steps on random
       data, the CNN with two outputs (logits and probabilities);
   each as DIR/NAME.onnx with its inputs and nn.h's outputs as raw float32
   files, listed in DIR/manifest.txt for tests/test_onnx.py, which runs
   them in ONNX Runtime:
       case NAME DESCRIPTION...
       input NAME FILE D0 D1 ...      (D0 the batch)
       output NAME FILE D0 D1 ...     (in the order of the ONNX outputs)
   Checks here: cases of ops without an export (the losses) fail naming the
   op and the node and leave no file;
   the error cases (NULL arguments, a node of another model, a path that
   cannot be written, an earlier file kept on failure).
   Build: cc -I. tests/test_onnx.c -lm; run: build/test_onnx DIR.
   Last line: "N passed, N failed". */
#include <stdlib.h>
#include <string.h>

#define NN_IMPLEMENTATION
#include "nn.h"
#define NN_ONNX_IMPLEMENTATION
#include "nn_onnx.h"

#include "check.h"
#include "op_cases.h"
#include "../examples/airbench.h"

static const char *dir;
static FILE *manifest;

static int file_exists(const char *path) {
  FILE *f = fopen(path, "rb");
  if (f) fclose(f);
  return f != NULL;
}
/* DIR/NAME.onnx (and its .tmp) */
static void onnx_path(char *buf, size_t len, const char *name, const char *ext) {
  snprintf(buf, len, "%s/%s.onnx%s", dir, name, ext);
}

/* a node's values to DIR/CASE.ID.bin and its manifest line */
static int dump(nn_model *m, const nn_node *nd, const char *kind, const char *name) {
  size_t count = nn_node_numel(m, nd);
  float *v = (float *)malloc(count * sizeof *v);
  char path[512];
  FILE *f;
  int k, ok;
  snprintf(path, sizeof path, "%s/%s.%d.bin", dir, name, nd->id);
  ok = v && nn_read(m, nd, v) && (f = fopen(path, "wb")) != NULL;
  if (ok) {
    ok = fwrite(v, sizeof *v, count, f) == count;
    ok = fclose(f) == 0 && ok;
  }
  free(v);
  if (!ok) return 0;
  fprintf(manifest, "%s %s %s %d", kind, nd->name, path, m->batch);
  for (k = 0; k < nd->shape.ndim; k++) fprintf(manifest, " %d", nd->shape.dim[k]);
  fprintf(manifest, "\n");
  return 1;
}

/* runs m in eval mode to the outputs, exports them as DIR/NAME.onnx and
   lists the inputs they read and the outputs */
static void export_case(nn_model *m, int n, const nn_node *const *out, const char *name, const char *what) {
  char path[512];
  unsigned char *need = (unsigned char *)calloc((size_t)m->graph->n, 1);
  int i, k, ok = 1;
  for (k = 0; k < n; k++) ok = ok && nn_predict(m, out[k]);
  onnx_path(path, sizeof path, name, "");
  CHECK(ok && nn_onnx_save_outputs(m, n, out, path), "%s: export failed: %s", what, nn_last_error());
  fprintf(manifest, "case %s %s\n", name, what);
  for (k = 0; k < n; k++) need[out[k]->id] = 1;
  for (i = m->graph->n - 1; i >= 0; i--)
    for (k = 0; need[i] && k < m->graph->nodes[i]->n_in; k++)
      if (m->graph->nodes[i]->in[k]) need[m->graph->nodes[i]->in[k]->id] = 1;
  for (i = 0; i < m->graph->n; i++)
    if (need[i] && m->graph->nodes[i]->op == NN_OP_INPUT) CHECK(dump(m, m->graph->nodes[i], "input", name), "%s: dump failed", what);
  for (k = 0; k < n; k++) CHECK(dump(m, out[k], "output", name), "%s: dump failed", what);
  free(need);
}

/* 1 if the export of node `out` must fail: an op nn_onnx.h does not export */
static int refused_op(nn_op op) { return op == NN_OP_CROSS_ENTROPY || op == NN_OP_BCE_LOGITS || op == NN_OP_MSE; }
/* the first node `out` depends on whose op is refused, else NULL */
static const nn_node *first_refused(const nn_graph *g, const nn_node *out) {
  const nn_node *found = refused_op(out->op) ? out : NULL;
  int k;
  for (k = 0; k < out->n_in; k++) {
    const nn_node *r = out->in[k] ? first_refused(g, out->in[k]) : NULL;
    if (r && (!found || r->id < found->id)) found = r;
  }
  return found;
}

/* random inputs (and with `params`, parameters) by tests/op_cases.h's
   naming rules, as tests/test_opencl.c draws them */
static void randomize(const op_case *c, nn_model *m, nn_rng *r, int params) {
  int i;
  size_t k;
  for (i = 0; i < m->graph->n; i++) {
    nn_node *nd = m->graph->nodes[i];
    size_t n = nn_node_numel(m, nd);
    float *v;
    if (nd->op != NN_OP_INPUT && (nd->op != NN_OP_PARAM || !params)) continue;
    v = (float *)calloc(n, sizeof(float));
    if (!op_case_fill(c, m->graph, nd, r, v, n))
      for (k = 0; k < n; k++) v[k] = strstr(nd->name, "running_var") ? 0.5f + nn_rng_uniform(r) : 4.0f * nn_rng_uniform(r) - 2.0f;
    nn_write(m, nd, v);
    free(v);
  }
}

/* every op case: exported and listed, or refused naming the op and node */
static void test_op_cases(void) {
  int exported[NN_OP_COUNT] = {0}, refused[NN_OP_COUNT] = {0}, i, n_exp = 0, n_ref = 0;
  nn_rng r;
  nn_rng_seed(&r, 17);
  for (i = 0; i < OP_CASE_COUNT; i++) {
    const op_case *c = &op_cases[i];
    nn_graph *g = nn_graph_new();
    nn_node *out = c->build(g);
    nn_model *m = nn_compile(g, c->batch, nn_cpu_backend());
    const nn_node *bad;
    char name[32], path[512], tmp[512];
    if (!m) { CHECK(0, "%s: compile failed: %s", c->what, nn_last_error()); continue; }
    nn_set_batch(m, c->used_batch);
    randomize(c, m, &r, 1);
    snprintf(name, sizeof name, "op%02d_%s", i, nn_op_name(c->op));
    if ((bad = first_refused(g, out))) {
      onnx_path(path, sizeof path, name, "");
      onnx_path(tmp, sizeof tmp, name, ".tmp");
      CHECK(!nn_onnx_save(m, out, path) && strstr(nn_last_error(), bad->name) && strstr(nn_last_error(), nn_op_name(bad->op)),
            "%s: the export must fail naming node '%s' (%s), not '%s'", c->what, bad->name, nn_op_name(bad->op), nn_last_error());
      CHECK(!file_exists(path) && !file_exists(tmp), "%s: a refused export left a file", c->what);
      refused[bad->op] = 1;
    } else {
      export_case(m, 1, (const nn_node *const *)&out, name, c->what);
      exported[c->op] = 1;
    }
    nn_model_free(m);
  }
  for (i = 0; i < NN_OP_COUNT; i++) {
    if (i == NN_OP_INPUT || i == NN_OP_PARAM) continue;
    CHECK(exported[i] || refused[i], "op %s has no case", nn_op_name((nn_op)i));
    n_exp += exported[i];
    n_ref += refused[i];
  }
  printf("onnx ops: %d exported, %d refused (losses)\n", n_exp, n_ref);
}

/* recurrent layers and sequence reductions: graph g (inputs "x" and, if
   used, "len") compiled for 5 samples with lengths 6, 0, 3, 1, 5 of T = 6,
   random inputs and parameters, exported as NAME */
static const float rec_lengths[5] = {6, 0, 3, 1, 5};
static void export_seq(nn_graph *g, nn_node *out, const char *name, const char *what) {
  const op_case c = {NN_OP_INPUT, "", NULL, 5, 5, 0, rec_lengths, 0};
  nn_model *m = nn_compile(g, 5, nn_cpu_backend());
  nn_rng r;
  if (!m) { CHECK(0, "%s: compile failed: %s", what, nn_last_error()); return; }
  nn_rng_seed(&r, 11);
  randomize(&c, m, &r, 1);
  export_case(m, 1, (const nn_node *const *)&out, name, what);
  nn_model_free(m);
}
typedef nn_node *(*recurrent_fn)(nn_graph *, nn_node *, nn_node *, int, int, int);
static const recurrent_fn recurrent[3] = {nn_rnn, nn_lstm, nn_gru};
static const char *const recurrent_name[3] = {"rnn", "lstm", "gru"};
/* x [6, 3] (and len) -> op, 2 layers of 4 (or 1 layer, for a reduction), flags */
static nn_node *seq_layers(nn_graph *g, int op, int lengths, int layers, int flags, nn_node **len) {
  int d[2] = {6, 3}, one = 1;
  nn_node *x = nn_input(g, "x", 2, d);
  *len = lengths ? nn_input(g, "len", 1, &one) : NULL;
  return recurrent[op](g, x, *len, 4, layers, flags);
}
static void test_recurrent(void) {
  int op, bi, lengths, red;
  for (op = 0; op < 3; op++)
    for (bi = 0; bi < 2; bi++)
      for (lengths = 1; lengths >= 0; lengths--) {
        nn_graph *g = nn_graph_new();
        nn_node *len, *y = seq_layers(g, op, lengths, 2, bi ? NN_BIDIRECTIONAL : 0, &len);
        char name[64], what[128];
        snprintf(name, sizeof name, "%s%s_2layers%s", recurrent_name[op], bi ? "_bi" : "", lengths ? "_lengths" : "");
        snprintf(what, sizeof what, "%s, 2 layers%s, %s", recurrent_name[op], bi ? ", bidirectional" : "",
                 lengths ? "lengths 6 0 3 1 5 of 6" : "no lengths");
        export_seq(g, y, name, what);
      }
  for (red = 0; red < 3; red++)
    for (op = 0; op < 3; op++)
      for (lengths = 1; lengths >= 0; lengths--) {
        static const char *const red_name[3] = {"seq_last", "seq_maxpool", "seq_meanpool"};
        nn_graph *g = nn_graph_new();
        nn_node *len, *y = seq_layers(g, op, lengths, 1, NN_BIDIRECTIONAL, &len);
        char name[64], what[128];
        y = red == 0 ? nn_seq_last(g, y, len) : red == 1 ? nn_seq_maxpool(g, y, len) : nn_seq_meanpool(g, y, len);
        snprintf(name, sizeof name, "%s_%s_bi%s", red_name[red], recurrent_name[op], lengths ? "_lengths" : "");
        snprintf(what, sizeof what, "%s of a bidirectional %s, %s", red_name[red], recurrent_name[op],
                 lengths ? "lengths 6 0 3 1 5 of 6" : "no lengths");
        export_seq(g, y, name, what);
      }
}

/* a network after `steps` SGD steps on batches of `batch` random images
   and labels (weights and batch-norm running statistics far from their
   initial values), exported with outputs out[0..n) and run on batch - 1
   samples (ONNX Runtime sees another batch size than the training's) */
static void test_network(nn_graph *g, int n, nn_node *const *out, int steps, float lr, int batch, const char *name,
                         const char *what) {
  static const op_case none = {NN_OP_INPUT, "", NULL, 1, 1, 0, NULL, 0};
  nn_model *m = nn_compile(g, batch, nn_cpu_backend());
  nn_optimizer *o = m ? nn_sgd(m, lr, 0.9f, 0.0f, 0) : NULL;
  nn_rng r;
  int s;
  float loss = 0;
  if (!o) { CHECK(0, "%s: %s", what, nn_last_error()); nn_model_free(m); return; }
  nn_rng_seed(&r, 5);
  for (s = 0; s < steps; s++) {
    randomize(&none, m, &r, 0);
    loss = nn_train_step(m, o);
    CHECK(loss == loss, "%s: training step %d: %s", what, s, nn_last_error());
  }
  printf("%s: loss %.4f after %d steps\n", what, loss, steps);
  nn_set_batch(m, batch - 1);
  randomize(&none, m, &r, 0);
  export_case(m, n, (const nn_node *const *)out, name, what);
  nn_optimizer_free(o);
  nn_model_free(m);
}

/* examples/fashion_mnist.c --model cnn, with its probabilities as a second output */
static void test_fashion_cnn(void) {
  int dims[3] = {1, 28, 28}, one = 1;
  nn_graph *g = nn_graph_new();
  nn_node *x = nn_input(g, "image", 3, dims), *y = nn_input(g, "label", 1, &one), *h, *out[2];
  h = nn_maxpool2d(g, nn_relu(g, nn_batchnorm(g, nn_conv2d_ex(g, x, 32, 3, 3, 1, 1, 0))), 2, 2);
  h = nn_maxpool2d(g, nn_relu(g, nn_batchnorm(g, nn_conv2d_ex(g, h, 64, 3, 3, 1, 1, 0))), 2, 2);
  h = nn_dropout(g, nn_relu(g, nn_dense(g, nn_flatten(g, h), 128)), 0.3f);
  nn_layer_name(g, "logits");
  out[0] = nn_dense(g, h, CLASSES);
  out[1] = nn_softmax(g, out[0]);
  nn_cross_entropy(g, out[0], y, 0.0f, NN_MEAN);
  test_network(g, 2, out, 5, 0.01f, 16, "fashion_mnist_cnn", "Fashion-MNIST CNN (logits, softmax)");
}
/* a DCGAN generator, small: noise -> dense -> [8, 7, 7] -> transposed conv
   to 14x14 (stride 2, padding 1, output padding 1) -> batch norm -> relu
   -> nearest upsampling to 28x28 -> conv -> tanh, trained toward targets
   (mean squared error) */
static void test_generator(void) {
  int noise = 16, img[3] = {1, 28, 28}, d3[3] = {8, 7, 7};
  nn_graph *g = nn_graph_new();
  nn_node *z = nn_input(g, "z", 1, &noise), *t = nn_input(g, "target", 3, img), *h, *out;
  h = nn_reshape(g, nn_relu(g, nn_dense(g, z, 8 * 7 * 7)), 3, d3);
  h = nn_relu(g, nn_batchnorm(g, nn_conv2d_transpose_ex(g, h, 4, 3, 3, 2, 1, 1, 0)));
  out = nn_tanh(g, nn_conv2d(g, nn_upsample2d(g, h, 2), 1, 3, 1, 1));
  nn_mse(g, out, t, NN_MEAN);
  test_network(g, 1, &out, 5, 0.05f, 5, "generator", "DCGAN generator (transposed conv, nearest upsampling)");
}
/* examples/imdb.c's network, small: ids -> embedding -> dropout ->
   bidirectional gru with lengths -> seq_maxpool, seq_meanpool -> concat ->
   dropout -> dense 2 */
static void test_imdb(void) {
  int maxlen = 12, one = 1;
  nn_graph *g = nn_graph_new();
  nn_node *ids = nn_input(g, "ids", 1, &maxlen), *len = nn_input(g, "len", 1, &one), *y = nn_input(g, "label", 1, &one);
  nn_node *h, *pool[2], *logits;
  h = nn_dropout(g, nn_embedding(g, ids, 50, 8), 0.4f);
  h = nn_gru(g, h, len, 6, 1, NN_BIDIRECTIONAL);
  pool[0] = nn_seq_maxpool(g, h, len);
  pool[1] = nn_seq_meanpool(g, h, len);
  nn_layer_name(g, "logits");
  logits = nn_dense(g, nn_dropout(g, nn_concat(g, 2, pool), 0.4f), 2);
  nn_cross_entropy(g, logits, y, 0.0f, NN_MEAN);
  test_network(g, 1, &logits, 5, 0.05f, 9, "imdb", "IMDb network (bidirectional GRU, max and mean pooling)");
}
static void test_airbench(void) {
  nn_graph *g = nn_graph_new();
  net n = build(g, &airbench_recipes[AIRBENCH]);
  test_network(g, 1, &n.logits, 2, 0.001f, 3, "airbench", "CIFAR-10 airbench94 network");
}

/* a layer named like the input (its tensor becomes "x#id"; the input keeps
   its name, by which it is fed), and the input itself as an output */
static void test_names(void) {
  static const op_case none = {NN_OP_INPUT, "", NULL, 1, 1, 0, NULL, 0};
  int four = 4;
  nn_graph *g = nn_graph_new();
  nn_node *x = nn_input(g, "x", 1, &four), *out[3];
  nn_model *m;
  nn_rng r;
  nn_layer_name(g, "x");
  out[0] = nn_dense(g, x, 3);
  out[1] = nn_relu(g, out[0]);
  out[2] = x;
  if (!(m = nn_compile(g, 2, nn_cpu_backend()))) { CHECK(0, "names: %s", nn_last_error()); return; }
  nn_rng_seed(&r, 3);
  randomize(&none, m, &r, 1);
  export_case(m, 3, (const nn_node *const *)out, "names", "a layer named like the input, the input as an output");
  nn_model_free(m);
}

/* NULL arguments, foreign nodes, parameters and losses as outputs, paths
   that cannot be written; a failed export keeps the earlier file */
static void test_errors(void) {
  int four = 4, three = 3;
  nn_graph *g = nn_graph_new(), *g2 = nn_graph_new();
  nn_node *x = nn_input(g, "x", 1, &four), *y = nn_dense(g, x, 3), *twice[2], *loss;
  nn_node *y2 = nn_dense(g2, nn_input(g2, "x", 1, &four), 3);
  nn_model *m, *m2;
  char path[512], tmp[512], old[8] = {0};
  FILE *f;
  loss = nn_mse(g, y, nn_input(g, "t", 1, &three), NN_SUM);
  m = nn_compile(g, 2, nn_cpu_backend());
  m2 = nn_compile(g2, 2, nn_cpu_backend());
  onnx_path(path, sizeof path, "kept", "");
  onnx_path(tmp, sizeof tmp, "kept", ".tmp");
  CHECK(!nn_onnx_save(NULL, y, path) && strstr(nn_last_error(), "model"), "a NULL model: %s", nn_last_error());
  CHECK(!nn_onnx_save(m, NULL, path) && strstr(nn_last_error(), "NULL"), "a NULL output: %s", nn_last_error());
  CHECK(!nn_onnx_save(m, y, NULL) && strstr(nn_last_error(), "path"), "a NULL path: %s", nn_last_error());
  CHECK(!nn_onnx_save_outputs(m, 0, (const nn_node *const *)&y, path), "no outputs");
  CHECK(!nn_onnx_save(m, y2, path) && strstr(nn_last_error(), "not in this model"), "a node of another model: %s", nn_last_error());
  CHECK(!nn_onnx_save(m, nn_node_input(y, 1), path) && strstr(nn_last_error(), "parameter"), "a parameter: %s", nn_last_error());
  twice[0] = twice[1] = y;
  CHECK(!nn_onnx_save_outputs(m, 2, (const nn_node *const *)twice, path) && strstr(nn_last_error(), "twice"), "an output twice: %s",
        nn_last_error());
  CHECK(!nn_onnx_save(m, y, "no-such-dir/x.onnx") && strstr(nn_last_error(), "no-such-dir/x.onnx"), "an unwritable path: %s",
        nn_last_error());
  CHECK(!file_exists(path), "failed exports left '%s'", path);
  /* an earlier file survives a failed export, and a good one replaces it */
  if ((f = fopen(path, "wb"))) { fputs("old", f); fclose(f); }
  CHECK(!nn_onnx_save(m, loss, path) && strstr(nn_last_error(), "loss") && strstr(nn_last_error(), loss->name),
        "a loss as output: %s", nn_last_error());
  if ((f = fopen(path, "rb"))) { if (!fgets(old, sizeof old, f)) old[0] = 0; fclose(f); }
  CHECK(!strcmp(old, "old") && !file_exists(tmp), "a failed export changed '%s' or left '%s'", path, tmp);
  CHECK(nn_onnx_save(m, y, path), "export: %s", nn_last_error());
  if ((f = fopen(path, "rb"))) { if (!fgets(old, sizeof old, f)) old[0] = 0; fclose(f); }
  CHECK(strcmp(old, "old") != 0 && !file_exists(tmp), "a good export did not replace '%s'", path);
  remove(path);
  nn_model_free(m);
  nn_model_free(m2);
}

int main(int argc, char **argv) {
  char path[512];
  if (argc != 2) { fprintf(stderr, "usage: %s DIR\n", argv[0]); return 2; }
  dir = argv[1];
  snprintf(path, sizeof path, "%s/manifest.txt", dir);
  if (!(manifest = fopen(path, "w"))) { fprintf(stderr, "cannot write %s\n", path); return 1; }
  test_errors();
  test_names();
  test_op_cases();
  test_recurrent();
  test_imdb();
  test_fashion_cnn();
  test_generator();
  test_airbench();
  fclose(manifest);
  return check_summary();
}
