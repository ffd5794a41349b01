/* What tools/bench.c (CPU) and tools/bench_opencl.c (CPU vs OpenCL) share:
   the clock, and the networks (CIFAR-10, Fashion-MNIST, IMDb) and random
   batches they both time, so that the two measure the same work.
   Included after nn.h, with _POSIX_C_SOURCE 199309L defined first
   (clock_gettime); everything here is static and used by both. */
#include <time.h>

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec + 1e-9 * t.tv_nsec;
}

/* The CIFAR-10 example's airbench94 network, as examples/cifar10.c builds it. */
#include "../examples/airbench.h"
static nn_graph *airbench_graph(void) {
  nn_graph *g = nn_graph_new();
  build(g, &airbench_recipes[AIRBENCH]);
  return g;
}

/* the CNN of examples/fashion_mnist.c's --model cnn */
static nn_graph *fashion_graph(void) {
  nn_graph *g = nn_graph_new();
  int img[3] = {1, 28, 28}, one = 1;
  nn_node *x = nn_input(g, "image", 3, img), *y = nn_input(g, "label", 1, &one);
  x = nn_maxpool2d(g, nn_relu(g, nn_batchnorm(g, nn_conv2d_ex(g, x, 32, 3, 3, 1, 1, 0))), 2, 2);
  x = nn_maxpool2d(g, nn_relu(g, nn_batchnorm(g, nn_conv2d_ex(g, x, 64, 3, 3, 1, 1, 0))), 2, 2);
  x = nn_dropout(g, nn_relu(g, nn_dense(g, nn_flatten(g, x), 128)), 0.3f);
  nn_cross_entropy(g, nn_dense(g, x, 10), y, 0.0f, NN_MEAN);
  return g;
}

/* standard normal images of whatever shape the input "image" has, labels 0..9 */
static void random_image_batch(nn_model *m, int n) {
  nn_node *x = nn_model_find(m, "image");
  size_t len = (size_t)n * nn_shape_numel(nn_node_shape(x)), i;
  float *xv = (float *)malloc(len * sizeof(float)), *yv = (float *)malloc((size_t)n * sizeof(float));
  nn_rng r;
  nn_rng_seed(&r, 3);
  for (i = 0; i < len; i++) xv[i] = nn_rng_normal(&r);
  for (i = 0; i < (size_t)n; i++) yv[i] = (float)(i % 10);
  nn_feed(m, "image", xv);
  nn_feed(m, "label", yv);
  free(xv);
  free(yv);
}

/* The IMDb example's network (examples/imdb.c defaults: embedding 128,
   one bidirectional recurrent layer (GRU, or LSTM) of 128 units), max+mean
   pooling over time, a dense head, for reviews of up to `steps` tokens;
   embed and hidden give other sizes. */
enum { IMDB_VOCAB = 30000, IMDB_EMBED = 128, IMDB_HIDDEN = 128 };
static nn_graph *imdb_graph(int lstm, int steps, int embed, int hidden) {
  nn_graph *g = nn_graph_new();
  int one = 1;
  nn_node *ids = nn_input(g, "ids", 1, &steps), *len = nn_input(g, "len", 1, &one);
  nn_node *y = nn_input(g, "label", 1, &one), *h, *pool[2];
  h = nn_dropout(g, nn_embedding(g, ids, IMDB_VOCAB, embed), 0.4f);
  h = lstm ? nn_lstm(g, h, len, hidden, 1, NN_BIDIRECTIONAL) : nn_gru(g, h, len, hidden, 1, NN_BIDIRECTIONAL);
  pool[0] = nn_seq_maxpool(g, h, len);
  pool[1] = nn_seq_meanpool(g, h, len);
  nn_cross_entropy(g, nn_dense(g, nn_dropout(g, nn_concat(g, 2, pool), 0.4f), 2), y, 0.0f, NN_MEAN);
  return g;
}

/* random word ids (2.., past <pad> and <unk>), lengths drawn from
   min_len..steps (min_len == steps: every review is full), labels 0/1 */
static void imdb_batch(nn_model *m, int n, int steps, int min_len) {
  float *ids = (float *)malloc((size_t)n * steps * sizeof(float)), *len = (float *)malloc((size_t)n * sizeof(float));
  float *y = (float *)malloc((size_t)n * sizeof(float));
  size_t i;
  nn_rng r;
  nn_rng_seed(&r, 3);
  for (i = 0; i < (size_t)n * steps; i++) ids[i] = (float)(2 + nn_rng_int(&r, IMDB_VOCAB - 2));
  for (i = 0; i < (size_t)n; i++) {
    len[i] = (float)(min_len + nn_rng_int(&r, steps - min_len + 1));
    y[i] = (float)(i % 2);
  }
  nn_feed(m, "ids", ids);
  nn_feed(m, "len", len);
  nn_feed(m, "label", y);
  free(ids);
  free(len);
  free(y);
}
