/* examples/linalg.h — dense symmetric linear algebra in double precision
   for the examples: the eigen-decomposition behind CIFAR-10's patch
   whitening and the Frechet distance of the GAN's quality score.
   Included after common.h (nn.h). */
#ifndef EX_LINALG_H
#define EX_LINALG_H
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Eigen-decomposition of a symmetric n x n matrix (row-major, destroyed)
   by cyclic Jacobi rotations in double precision: eigenvalues in
   descending order, eigenvectors as the rows of vectors (unit length). */
static inline int ex_symmetric_eigen(int n, double *a, double *values, double *vectors) {
  double *v;
  int sweep, p, q, k;
  if (n < 1) return nn_set_error("symmetric_eigen: size %d", n);
  if (!(v = (double *)calloc((size_t)n * n, sizeof(double)))) return 0;
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
  free(v);
  return 1;
}
/* The Frechet distance between the Gaussians N(mu1, s1) and N(mu2, s2)
   of dimension n (covariances symmetric, row-major):
     |mu1 - mu2|^2 + tr(s1 + s2 - 2 (s1^1/2 s2 s1^1/2)^1/2)
   the square roots through eigen-decompositions (eigenvalues below zero,
   rounding noise of a semi-definite matrix, count as zero).  Returns the
   distance, or a negative number (out of memory, nn_set_error's reason). */
static inline double ex_frechet_distance(int n, const double *mu1, const double *s1, const double *mu2, const double *s2) {
  double *a = (double *)malloc((size_t)n * n * 4 * sizeof(double)), *vec, *root, *t, *val, d = 0;
  int i, j, k;
  val = (double *)malloc((size_t)n * sizeof(double));
  if (!a || !val) { free(a); free(val); nn_set_error("frechet_distance: out of memory"); return -1; }
  vec = a + (size_t)n * n;
  root = vec + (size_t)n * n;
  t = root + (size_t)n * n;
  for (i = 0; i < n; i++) d += (mu1[i] - mu2[i]) * (mu1[i] - mu2[i]) + s1[i * n + i] + s2[i * n + i];
  /* root = s1^1/2 = V diag(sqrt(l)) V^T, eigenvectors the rows of vec */
  memcpy(a, s1, (size_t)n * n * sizeof(double));
  if (!ex_symmetric_eigen(n, a, val, vec)) { free(a); free(val); return -1; }
  for (i = 0; i < n; i++)
    for (j = 0; j < n; j++) {
      double r = 0;
      for (k = 0; k < n; k++) r += vec[k * n + i] * (val[k] > 0 ? sqrt(val[k]) : 0) * vec[k * n + j];
      root[i * n + j] = r;
    }
  /* a = root s2 root, symmetric positive semi-definite */
  for (i = 0; i < n; i++)
    for (j = 0; j < n; j++) {
      double r = 0;
      for (k = 0; k < n; k++) r += s2[i * n + k] * root[k * n + j];
      t[i * n + j] = r;
    }
  for (i = 0; i < n; i++)
    for (j = i; j < n; j++) {
      double r = 0;
      for (k = 0; k < n; k++) r += root[i * n + k] * t[k * n + j];
      a[i * n + j] = a[j * n + i] = r;
    }
  if (!ex_symmetric_eigen(n, a, val, vec)) { free(a); free(val); return -1; }
  for (i = 0; i < n; i++) d -= 2 * (val[i] > 0 ? sqrt(val[i]) : 0);
  free(a);
  free(val);
  return d;
}
#endif
