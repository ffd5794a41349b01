/* The API contract (README "Ownership"): objects belong to someone, a
   compiled graph is frozen, models share graphs and backends, foreign and
   NULL arguments are errors, and saved weights do not depend on the order
   a compiler evaluates builder calls in.  One test per misuse that crashed
   or misbehaved before (issue 14); run under ASan+UBSan by run_all.sh.
   Build: cc -std=c99 -I. tests/test_contract.c -lm && ./a.out
   Last line: "N passed, N failed". */
#include <stdlib.h>
#include <string.h>

/* a device with little memory: allocations above the limit fail */
static size_t test_limit = (size_t)-1;
static void *test_malloc(size_t n) { return n > test_limit ? NULL : malloc(n); }
#define NN_MALLOC(n) test_malloc(n)
#define NN_REALLOC(p, n) realloc(p, n)
#define NN_FREE(p) free(p)
#define NN_IMPLEMENTATION
#include "nn.h"

#include "check.h"

#define HAS(s) (strstr(nn_last_error(), s) != NULL)

/* x [4] -> dense 3 -> relu -> dense 2, mse against t */
static nn_graph *mlp(nn_node **out) {
  nn_graph *g = nn_graph_new();
  int four = 4, two = 2;
  nn_node *x = nn_input(g, "x", 1, &four), *t = nn_input(g, "t", 1, &two);
  *out = nn_dense(g, nn_relu(g, nn_dense(g, x, 3)), 2);
  nn_mse(g, *out, t, NN_MEAN);
  return g;
}
static void feed(nn_model *m) {
  static const float x[8] = {1, -2, 3, 0.5f, -1, 2, 0, 1}, t[4] = {1, 0, 0, 1};
  nn_feed(m, "x", x);
  nn_feed(m, "t", t);
}

/* 1. a layer built on a compiled graph (read past the model's arrays) */
static void test_frozen_graph(void) {
  nn_node *out, *late;
  nn_graph *g = mlp(&out);
  nn_model *m = nn_compile(g, 2, nn_cpu_backend());
  float y[4];
  if (!m) { CHECK(0, "compile: %s", nn_last_error()); return; }
  late = nn_dense(g, out, 5);
  CHECK(!late && HAS("compiled") && HAS("frozen"), "a layer built on a compiled graph fails: %s", nn_last_error());
  CHECK(nn_graph_error(g) == NULL, "without poisoning the graph");
  CHECK(!nn_set_trainable(nn_node_input(out, 1), 0) && HAS("frozen"), "a setter on it fails too: %s", nn_last_error());
  CHECK(!nn_predict(m, late) && HAS("NULL"), "predicting the refused node fails: %s", nn_last_error());
  feed(m);
  CHECK(nn_predict(m, out) && nn_read(m, out, y), "the model still runs: %s", nn_last_error());
  nn_model_free(m);
}

/* 2. one graph compiled twice, both models freed (freed twice before) */
static void test_graph_twice(void) {
  nn_node *out;
  nn_graph *g = mlp(&out);
  nn_model *a = nn_compile(g, 2, nn_cpu_backend()), *b = nn_compile(g, 4, nn_cpu_backend());
  float ya[4], yb[4];
  CHECK(a && b, "the same graph compiles twice: %s", nn_last_error());
  if (!a || !b) return;
  CHECK(!nn_graph_free(g) && HAS("2 model(s)"), "graph_free refuses a graph in use: %s", nn_last_error());
  nn_set_batch(b, 2);
  feed(a);
  feed(b);
  CHECK(nn_predict(a, out) && nn_read(a, out, ya), "the first model runs: %s", nn_last_error());
  nn_model_free(a);
  CHECK(nn_predict(b, out) && nn_read(b, out, yb) && !memcmp(ya, yb, sizeof ya),
        "the second runs after the first is freed, with the same weights (same seed)");
  nn_model_free(b);
}

/* 3. two models on one backend (destroyed by each before) */
static void test_shared_backend(void) {
  nn_node *o1, *o2;
  nn_backend *be = nn_cpu_backend();
  nn_model *train = nn_compile(mlp(&o1), 2, be), *infer = nn_compile(mlp(&o2), 2, be);
  nn_optimizer *opt = train ? nn_sgd(train, 0.1f, 0, 0, 0) : NULL;
  CHECK(train && infer && opt, "two models on one backend: %s", nn_last_error());
  if (!train || !infer || !opt) return;
  CHECK(!nn_backend_free(be) && HAS("runs 2 model(s)"), "backend_free refuses a backend in use: %s", nn_last_error());
  feed(train);
  nn_model_free(train);   /* the optimizer keeps the model alive, the backend stays */
  CHECK(isfinite(nn_train_step(train, opt)) == 0 && HAS("was freed"), "a freed model refuses to train: %s", nn_last_error());
  nn_optimizer_free(opt);
  feed(infer);
  CHECK(nn_predict(infer, o2), "the other model still runs: %s", nn_last_error());
  nn_model_free(infer);
}

/* 4. a failed compile left the caller nothing (freed graph and backend) */
static void test_failed_compile(void) {
  nn_graph *g = nn_graph_new();
  nn_backend *be = nn_cpu_backend();
  int n = 256;
  nn_model *m;
  nn_dense(g, nn_input(g, "x", 1, &n), n);
  test_limit = 1 << 20;   /* 1 MiB of "device memory" */
  m = nn_compile(g, 4096, be);
  CHECK(!m && HAS("out of memory"), "a batch too large fails: %s", m ? "compiled" : nn_last_error());
  CHECK(nn_graph_error(g) == NULL && nn_graph_num_nodes(g) == 4, "the graph is still the caller's and readable");
  m = nn_compile(g, 16, be);
  test_limit = (size_t)-1;
  CHECK(m != NULL, "a retry with a smaller batch on the same backend: %s", nn_last_error());
  nn_model_free(m);
  if (!m) { nn_graph_free(g); nn_backend_free(be); }
}

/* 5 and 6. an optimizer, a node, an average of another model */
static void test_foreign(void) {
  nn_node *oa, *ob;
  nn_model *a = nn_compile(mlp(&oa), 2, nn_cpu_backend()), *b = nn_compile(mlp(&ob), 2, nn_cpu_backend());
  nn_optimizer *opt_a = a ? nn_adam(a, 0.01f, 0.9f, 0.999f, 1e-8f, 0, 0) : NULL;
  nn_ema *ema_a = a ? nn_ema_new(a, 0.9f) : NULL;
  float y[4];
  if (!a || !b || !opt_a || !ema_a) { CHECK(0, "setup: %s", nn_last_error()); return; }
  feed(b);
  CHECK(nn_train_step(b, opt_a) != nn_train_step(b, opt_a) && HAS("another model"),
        "train_step with another model's optimizer fails: %s", nn_last_error());
  CHECK(nn_optimizer_steps(opt_a) == 0, "and trains nothing");
  CHECK(!nn_predict(a, ob) && HAS("another graph") && HAS("'dense1'"), "predict with another model's node fails: %s",
        nn_last_error());
  CHECK(!nn_read(a, ob, y) && !nn_write(a, ob, y) && !nn_feed_node(a, nn_model_find(b, "x"), y), "read, write, feed too");
  CHECK(!nn_checkpoint_save(b, opt_a, NULL, NULL, "build/test_contract.tmp") && HAS("another model"), "a checkpoint of b with a's optimizer: %s",
        nn_last_error());
  CHECK(!nn_checkpoint_save(b, NULL, ema_a, NULL, "build/test_contract.tmp") && HAS("another model"), "with a's average: %s", nn_last_error());
  nn_model_free(a);   /* before its optimizer and average: any order */
  nn_model_free(b);
  nn_ema_free(ema_a);
  nn_optimizer_free(opt_a);
}

/* 7. nn_add(g, nn_dense(g, x, 4), nn_relu(g, nn_dense(g, nn_tanh(g, x), 4))),
   its arguments evaluated left to right (clang) and right to left (gcc) */
static nn_model *branches(int right_first, nn_node **out) {
  nn_graph *g = nn_graph_new();
  int three = 3, four = 4;
  nn_node *x = nn_input(g, "x", 1, &three), *left, *right;
  if (right_first) {
    right = nn_relu(g, nn_dense(g, nn_tanh(g, x), 4));
    left = nn_dense(g, x, 4);
  } else {
    left = nn_dense(g, x, 4);
    right = nn_relu(g, nn_dense(g, nn_tanh(g, x), 4));
  }
  *out = nn_add(g, left, right);
  nn_mse(g, *out, nn_input(g, "t", 1, &four), NN_SUM);
  nn_graph_set_seed(g, right_first ? 7 : 8);
  return nn_compile(g, 1, nn_cpu_backend());
}
static void test_evaluation_order(void) {
  const char *path = "build/test_contract_order.safetensors";
  static const float x[3] = {0.5f, -1, 2};
  nn_node *oa, *ob;
  nn_model *a = branches(1, &oa), *b = branches(0, &ob);
  float ya[4], yb[4];
  if (!a || !b) { CHECK(0, "setup: %s", nn_last_error()); return; }
  CHECK(nn_node_input(nn_node_input(oa, 0), 0) == nn_model_find(a, "x") && !strcmp(nn_node_input(oa, 0)->name, "dense0") &&
        !strcmp(nn_node_input(ob, 0)->name, "dense0"), "the dense layer on x is dense0 in both orders ('%s', '%s')",
        nn_node_input(oa, 0)->name, nn_node_input(ob, 0)->name);
  CHECK(nn_safetensors_save(a, path, NULL) && nn_safetensors_load(b, path, 0) == 4, "weights of one load into the other: %s",
        nn_last_error());
  nn_feed(a, "x", x);
  nn_feed(b, "x", x);
  CHECK(nn_predict(a, oa) && nn_predict(b, ob) && nn_read(a, oa, ya) && nn_read(b, ob, yb) && !memcmp(ya, yb, sizeof ya),
        "and give the same outputs (%g %g vs %g %g)", ya[0], ya[1], yb[0], yb[1]);
  remove(path);
  nn_model_free(a);
  nn_model_free(b);
}
/* a chain keeps the names it was built with, so today's files load */
static void test_chain_names(void) {
  nn_graph *g = nn_graph_new();
  int d[3] = {1, 6, 6}, one = 1;
  nn_node *h = nn_input(g, "image", 3, d), *l = nn_input(g, "label", 1, &one);
  nn_model *m;
  h = nn_relu(g, nn_batchnorm(g, nn_conv2d(g, h, 2, 3, 1, 1)));
  nn_layer_name(g, "head");
  h = nn_dense(g, nn_flatten(g, h), 5);
  nn_cross_entropy(g, nn_dense(g, nn_layernorm(g, h), 3), l, 0, NN_MEAN);
  m = nn_compile(g, 1, nn_cpu_backend());
  CHECK(m && nn_model_find(m, "conv0.weight") && nn_model_find(m, "bn1.running_var") && nn_model_find(m, "head.bias") &&
        nn_model_find(m, "ln3.weight") && nn_model_find(m, "dense4.weight"), "chain names kept: %s", nn_last_error());
  nn_model_free(m);
}

/* 8. NULL where a pointer is expected: an error, never a crash */
static void test_nulls(void) {
  nn_node *out;
  nn_model *m = nn_compile(mlp(&out), 2, nn_cpu_backend());
  float v[8] = {0};
  int four = 4;
  nn_graph *g = nn_graph_new();
  if (!m) { CHECK(0, "setup: %s", nn_last_error()); return; }
  CHECK(!nn_feed(NULL, "x", v) && HAS("model is NULL"), "feed(NULL, ..): %s", nn_last_error());
  CHECK(!nn_feed(m, NULL, v) && HAS("NULL"), "feed with a NULL name: %s", nn_last_error());
  CHECK(!nn_feed(m, "x", NULL) && HAS("NULL"), "feed with NULL data: %s", nn_last_error());
  CHECK(!nn_predict(m, nn_model_find(m, "typo")) && HAS("node is NULL"), "predict of a name not found: %s", nn_last_error());
  CHECK(isnan(nn_train_step(m, NULL)) && HAS("optimizer is NULL"), "train_step without optimizer: %s", nn_last_error());
  CHECK(!nn_adam(NULL, 0.1f, 0.9f, 0.999f, 1e-8f, 0, 0) && HAS("model is NULL"), "adam(NULL): %s", nn_last_error());
  CHECK(!nn_read(m, NULL, v) && !nn_read(m, out, NULL) && HAS("NULL"), "read a NULL node or into NULL: %s", nn_last_error());
  CHECK(!nn_set_batch(NULL, 1) && HAS("NULL"), "set_batch(NULL): %s", nn_last_error());
  CHECK(!nn_safetensors_save(NULL, "x", NULL) && !nn_safetensors_save(m, NULL, NULL) && HAS("NULL"), "save NULL: %s", nn_last_error());
  CHECK(!nn_safetensors_load(NULL, "x", 0) && !nn_safetensors_load(m, NULL, 0) && HAS("NULL"), "load NULL: %s", nn_last_error());
  nn_clear_error();
  nn_summary(NULL, stdout);
  CHECK(HAS("NULL"), "summary(NULL): %s", nn_last_error());
  nn_clear_error();
  nn_summary(m, NULL);
  CHECK(HAS("NULL"), "summary to a NULL stream: %s", nn_last_error());
  CHECK(!nn_forward(NULL, 1) && HAS("NULL"), "forward(NULL): %s", nn_last_error());
  CHECK(!nn_input(g, "x", 1, NULL) && HAS("NULL"), "input with NULL dims: %s", nn_last_error());
  CHECK(!nn_checkpoint_load(m, NULL, NULL, NULL, NULL) && !nn_backward_from(m, out, NULL) && !nn_ema_new(NULL, 0.9f) &&
        !nn_optimizer_step(NULL) && !nn_graph_node(NULL, 0) && !nn_find(NULL, "x") && !nn_model_tensor(m, 0, NULL) &&
        nn_shape_numel(NULL) == 0 && !nn_batches_new(m, NULL, NULL), "the rest: %s", nn_last_error());
  nn_graph_free(g);
  (void)four;
  nn_model_free(m);
}

/* several gradients to and from one host array: the per-node values in
   the order given; nodes of another model, nodes without a gradient and
   arrays too small are refused before anything is copied */
static void test_grad_lists(void) {
  nn_node *oa, *ob, *x, *w0, *w1;
  nn_graph *g = mlp(&oa);
  nn_model *a, *b = nn_compile(mlp(&ob), 2, nn_cpu_backend());
  const nn_node *list[3], *foreign[2];
  float all[64], one[64], back[64];
  size_t n0, n1, nx;
  int i, same = 1;
  nn_set_requires_grad(nn_find(g, "x"));
  a = nn_compile(g, 2, nn_cpu_backend());
  if (!a || !b) { CHECK(0, "setup: %s", nn_last_error()); return; }
  x = nn_model_find(a, "x");
  w0 = nn_model_find(a, "dense0.weight");
  w1 = nn_model_find(a, "dense1.bias");
  feed(a);
  CHECK(nn_forward(a, 1) && nn_backward(a), "forward and backward: %s", nn_last_error());
  n0 = nn_node_numel(a, w1); n1 = nn_node_numel(a, x); nx = nn_node_numel(a, w0);
  list[0] = w1; list[1] = x; list[2] = w0;   /* any order, a batched input among them */
  memset(all, 0, sizeof all);
  CHECK(nn_model_read_grads(a, list, 3, all, n0 + n1 + nx), "read_grads: %s", nn_last_error());
  nn_read_grad(a, w1, one);
  nn_read_grad(a, x, one + n0);
  nn_read_grad(a, w0, one + n0 + n1);
  for (i = 0; i < (int)(n0 + n1 + nx); i++) same &= all[i] == one[i] && (i >= (int)n0 || one[i] != 0);
  CHECK(same, "read_grads is the per-node reads one after another (%zu + %zu + %zu floats)", n0, n1, nx);
  for (i = 0; i < (int)(n0 + n1 + nx); i++) all[i] = (float)i - 3;
  CHECK(nn_model_write_grads(a, list, 3, all, sizeof all / sizeof all[0]), "write_grads: %s", nn_last_error());
  nn_read_grad(a, w1, back);
  nn_read_grad(a, x, back + n0);
  nn_read_grad(a, w0, back + n0 + n1);
  for (i = 0, same = 1; i < (int)(n0 + n1 + nx); i++) same &= back[i] == all[i];
  CHECK(same, "write_grads puts each node's part back");
  {  /* a backend whose table predates gather and scatter: one transfer per node */
    nn_backend_ops old_ops = *a->backend->ops;
    const nn_backend_ops *real = a->backend->ops;
    float again[64];
    old_ops.gather = NULL;
    old_ops.scatter = NULL;
    a->backend->ops = &old_ops;
    memset(again, 0, sizeof again);
    CHECK(nn_model_read_grads(a, list, 3, again, 64) && !memcmp(again, all, (n0 + n1 + nx) * sizeof(float)),
          "read_grads without the backend's gather: %s", nn_last_error());
    for (i = 0; i < (int)(n0 + n1 + nx); i++) again[i] = 2.0f * all[i];
    CHECK(nn_model_write_grads(a, list, 3, again, 64), "write_grads without the backend's scatter: %s", nn_last_error());
    a->backend->ops = real;
    nn_read_grad(a, w0, back);
    for (i = 0, same = 1; i < (int)nx; i++) same &= back[i] == 2.0f * all[n0 + n1 + i];
    CHECK(same, "write_grads without the backend's scatter puts each node's part back");
  }
  CHECK(nn_model_read_grads(a, list, 0, all, 0), "no nodes: nothing to do");
  foreign[0] = w1; foreign[1] = nn_model_find(b, "dense0.weight");
  CHECK(!nn_model_read_grads(a, foreign, 2, all, 64) && HAS("another graph") && HAS("'dense0.weight'"),
        "a node of another model: %s", nn_last_error());
  CHECK(!nn_model_write_grads(b, list, 1, all, 64) && HAS("another graph"), "written into another model: %s", nn_last_error());
  CHECK(!nn_model_read_grads(a, list, 3, all, n0 + n1 + nx - 1) && HAS("more than the host array's"),
        "an array one float too small: %s", nn_last_error());
  CHECK(!nn_model_write_grads(a, list, 3, all, n0) && HAS("more than the host array's"), "to write from: %s", nn_last_error());
  foreign[0] = nn_model_find(a, "t");
  CHECK(!nn_model_read_grads(a, foreign, 1, all, 64) && HAS("'t' has no gradient"), "an input without a gradient: %s", nn_last_error());
  CHECK(!nn_model_read_grads(a, NULL, 1, all, 64) && HAS("NULL") && !nn_model_write_grads(a, list, 1, NULL, 64) && HAS("NULL") &&
        !nn_model_read_grads(NULL, list, 1, all, 64) && HAS("NULL"), "NULL arguments: %s", nn_last_error());
  CHECK(!nn_model_read_grads(a, list, -1, all, 64) && HAS("-1 nodes"), "a negative count: %s", nn_last_error());
  nn_model_free(a);
  nn_model_free(b);
}

/* the conveniences: batches of a data set, regression metrics */
static void test_batches(void) {
  nn_dataset d;
  float x[7 * 4], y[7];
  nn_node *out;
  nn_model *m = nn_compile(mlp(&out), 3, nn_cpu_backend());
  nn_batches *it;
  nn_rng r;
  int i, seen[7] = {0}, sizes = 0, batches = 0, ok = 1;
  double mse, mae, r2;
  static const float p[4] = {1, 2, 3, 4}, t[4] = {1, 2, 3, 6};
  memset(&d, 0, sizeof d);
  d.n = 7; d.shape.ndim = 1; d.shape.dim[0] = 4; d.x = x; d.y = y; d.num_classes = 7;
  for (i = 0; i < 7 * 4; i++) x[i] = (float)(i / 4);
  for (i = 0; i < 7; i++) y[i] = (float)i;
  nn_rng_seed(&r, 1);
  if (!m || !(it = nn_batches_new(m, &d, &r))) { CHECK(0, "setup: %s", nn_last_error()); return; }
  while (nn_batches_next(it) > 0) {
    batches++;
    sizes = sizes * 10 + it->n;
    ok &= m->batch == it->n;
    for (i = 0; i < it->n; i++) { seen[(int)it->y[i]]++; ok &= it->x[4 * i] == it->y[i]; }
  }
  CHECK(batches == 3 && sizes == 331 && ok, "7 samples in batches of 3: %d batches, sizes %d", batches, sizes);
  for (i = 0; i < 7; i++) ok &= seen[i] == 1;
  CHECK(ok && m->batch == 3, "each sample once, the compiled batch restored");
  CHECK(nn_batches_next(it) == 1, "the next call starts a new epoch");
  nn_model_free(m);   /* the iterator keeps the model */
  CHECK(nn_batches_next(it) == -1 && HAS("freed"), "a freed model ends the iteration: %s", nn_last_error());
  nn_batches_free(it);
  CHECK(nn_regression_metrics(p, t, 4, &mse, &mae, &r2) && fabs(mse - 1) < 1e-12 && fabs(mae - 0.5) < 1e-12 &&
        fabs(r2 - (1 - 4.0 / 14)) < 1e-12, "regression metrics: mse %g mae %g r2 %g", mse, mae, r2);
  CHECK(nn_regression_metrics(p, p, 1, NULL, NULL, &r2) && isnan(r2), "R^2 of constant targets is NaN");
}

int main(void) {
  test_frozen_graph();
  test_graph_twice();
  test_shared_backend();
  test_failed_compile();
  test_foreign();
  test_evaluation_order();
  test_chain_names();
  test_nulls();
  test_grad_lists();
  test_batches();
  return check_summary();
}
