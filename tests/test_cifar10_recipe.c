/* Tests of the airbench recipe's own helpers, which live in
   examples/cifar10.c (they serve that recipe only): the eigen solver, the
   patch-whitening weights built on it, and the alternating flips.
   Build: cc -O2 -I. tests/test_cifar10_recipe.c -lm
   Last line: "N passed, N failed". */
#define main cifar10_main
#include "../examples/cifar10.c"
#undef main

#include "check.h"

static nn_rng trng;

/* the larger of a and b, NaN if a is NaN (fmax would drop it) */
static double max_err(double a, double b) { return a != a || a > b ? a : b; }

static void test_alternating_flips(void) {
  int idx[64], i, bad, changed = 0;
  unsigned char f0[64], f1[64];
  /* alternating flips: complementary in consecutive epochs, the same every other epoch, seeded */
  for (i = 0; i < 64; i++) idx[i] = 1000 + 3 * i;
  alternating_flips(9, idx, 64, 4, f0);
  alternating_flips(9, idx, 64, 7, f1);
  for (i = 0, bad = 0; i < 64; i++) { bad += f0[i] + f1[i] != 1; changed += f0[i]; }
  alternating_flips(9, idx, 64, 2, f1);
  CHECK(bad == 0 && !memcmp(f0, f1, 64) && changed > 16 && changed < 48, "alternating flips (%d of 64 in even epochs)", changed);
  alternating_flips(10, idx, 64, 2, f1);
  CHECK(memcmp(f0, f1, 64) != 0, "alternating flips depend on the seed");
}

static void test_eigen(void) {
  double a[5 * 5], keep[5 * 5], val[5], vec[5 * 5], worst = 0;
  int i, j, k;
  for (i = 0; i < 5; i++)
    for (j = 0; j <= i; j++) a[i * 5 + j] = a[j * 5 + i] = nn_rng_normal(&trng);
  memcpy(keep, a, sizeof a);
  CHECK(ex_symmetric_eigen(5, a, val, vec), "eigen: %s", nn_last_error());
  for (i = 0; i < 5; i++) {   /* A v = l v, |v| = 1, descending, orthogonal */
    for (j = 0; j < 5; j++) {
      double s = 0, d = 0;
      for (k = 0; k < 5; k++) { s += keep[j * 5 + k] * vec[i * 5 + k]; d += vec[i * 5 + k] * vec[j * 5 + k]; }
      worst = max_err(worst, fabs(s - val[i] * vec[i * 5 + j]));
      worst = max_err(worst, fabs(d - (i == j)));
    }
    if (i) worst = max_err(worst, val[i] > val[i - 1] ? 1 : 0);
  }
  CHECK(worst < 1e-12, "eigen decomposition residual %g", worst);
}
static void test_whitening(void) {
  /* correlated images: smooth random fields with different channel scales */
  enum { N = 40, C = 3, H = 9, W = 8, D = C * 4 };
  float *img = (float *)malloc(sizeof(float) * N * C * H * W), w[2 * D * D], out[2 * D * 8 * 7];
  double cov[D * D], worst = 0, count = 0;
  int i, c, h, x, u, k;
  nn_graph *g = nn_graph_new();
  int d3[3] = {C, H, W};
  nn_node *in = nn_input(g, "image", 3, d3), *conv = nn_conv2d_ex(g, in, 2 * D, 2, 2, 1, 0, 0);
  nn_model *m = nn_compile(g, 1, nn_cpu_backend());
  for (i = 0; i < N; i++)
    for (c = 0; c < C; c++)
      for (h = 0; h < H; h++)
        for (x = 0; x < W; x++) {
          float *p = img + (((size_t)i * C + c) * H + h) * W + x;
          *p = (float)(c + 1) * nn_rng_normal(&trng) + (x ? 0.8f * p[-1] : 0) + (h ? 0.5f * p[-W] : 0) + (c ? 0.3f * p[-H * W] : 0);
        }
  CHECK(whitening_weights(img, N, C, H, W, 2, 2, 1e-7f, w), "whitening: %s", nn_last_error());
  /* the conv with these weights, over every patch of every image */
  nn_write(m, nn_node_input(conv, 1), w);
  memset(cov, 0, sizeof cov);
  for (i = 0; i < N; i++) {
    nn_feed(m, "image", img + (size_t)i * C * H * W);
    nn_predict(m, conv);
    nn_read(m, conv, out);
    for (k = 0; k < 8 * 7; k++, count++)
      for (c = 0; c < D; c++)
        for (u = 0; u < D; u++) cov[c * D + u] += (double)out[c * 56 + k] * out[u * 56 + k];
    for (k = 0; k < D * 56; k++) worst = max_err(worst, fabs(out[k] + out[D * 56 + k]));   /* second half negated */
  }
  CHECK(worst == 0, "whitening filters come in negated pairs");
  for (worst = 0, c = 0; c < D; c++)
    for (u = 0; u < D; u++) worst = max_err(worst, fabs(cov[c * D + u] / count - (c == u)));
  CHECK(worst < 2e-3, "whitened patches have identity covariance: worst entry off by %g", worst);
  CHECK(!whitening_weights(img, N, C, 1, W, 2, 2, 1e-7f, w), "patches larger than the image are refused");
  free(img);
  nn_model_free(m);
}

int main(void) {
  nn_rng_seed(&trng, 7);
  test_alternating_flips();
  test_eigen();
  test_whitening();
  return check_summary();
}
