/* The examples' own helpers, driven from tests/test_examples.sh, which
   checks what they write with Python's zlib and NumPy:
     example_helpers png FILE W H   a W x H grey PNG, pixel (x, y) = (7x + 3y) mod 256
     example_helpers fd N SEED      two random Gaussians of dimension N (means, then
                                    covariances row by row, one number a line) and
                                    their Frechet distance last (examples/linalg.h)
   Build: cc -O2 -I. tests/example_helpers.c -lm */
#define NN_IMPLEMENTATION
#include "../examples/common.h"
#include "../examples/linalg.h"
#include "../examples/png.h"

/* a random symmetric positive semi-definite n x n matrix: B B^T / n, B with
   n - 2 columns (so it is singular, as feature covariances can be) */
static void random_cov(nn_rng *r, int n, double *s) {
  int i, j, k, cols = n > 2 ? n - 2 : 1;
  double *b = (double *)malloc((size_t)n * cols * sizeof(double));
  for (i = 0; i < n * cols; i++) b[i] = nn_rng_normal(r);
  for (i = 0; i < n; i++)
    for (j = 0; j < n; j++) {
      double v = 0;
      for (k = 0; k < cols; k++) v += b[i * cols + k] * b[j * cols + k];
      s[i * n + j] = v / n;
    }
  free(b);
}

int main(int argc, char **argv) {
  if (argc == 5 && !strcmp(argv[1], "png")) {
    int w = atoi(argv[3]), h = atoi(argv[4]), x, y;
    unsigned char *p = (unsigned char *)malloc((size_t)w * h + 1);
    if (!p) return 1;
    for (y = 0; y < h; y++)
      for (x = 0; x < w; x++) p[(size_t)y * w + x] = (unsigned char)((7 * x + 3 * y) & 255);
    if (!ex_png_write_grey(argv[2], w, h, p)) { perror(argv[2]); return 1; }
    free(p);
    return 0;
  }
  if (argc == 4 && !strcmp(argv[1], "fd")) {
    int n = atoi(argv[2]), i;
    nn_rng r;
    double *mu1 = (double *)malloc((size_t)n * (2 * n + 2) * sizeof(double)), *mu2 = mu1 + n, *s1 = mu2 + n, *s2 = s1 + n * n;
    nn_rng_seed(&r, (uint64_t)atoi(argv[3]));
    for (i = 0; i < 2 * n; i++) mu1[i] = nn_rng_normal(&r);
    random_cov(&r, n, s1);
    random_cov(&r, n, s2);
    for (i = 0; i < n * (2 * n + 2); i++) printf("%.17g\n", mu1[i]);
    printf("%.17g\n", ex_frechet_distance(n, mu1, s1, mu2, s2));
    free(mu1);
    return 0;
  }
  fprintf(stderr, "usage: example_helpers png FILE W H | fd N SEED\n");
  return 2;
}
