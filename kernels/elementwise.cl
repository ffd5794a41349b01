/* Element-wise ops.  Forward kernels write y; backward kernels ADD into
   dx, as the CPU kernels do, so a value read by several ops receives the
   sum of their gradients. */

__kernel void nn_add_fwd(int n, __global const float *a, __global const float *b, __global float *y) {
  int i = get_global_id(0);
  if (i < n) y[i] = a[i] + b[i];
}

/* dx += s * dy (add, scale, reshape-free pass-throughs) */
__kernel void nn_acc(int n, float s, __global const float *dy, __global float *dx) {
  int i = get_global_id(0);
  if (i < n) dx[i] += dy[i] * s;
}

/* dx += dy (exactly, no multiply: residual add, dropout in eval mode) */
__kernel void nn_acc1(int n, __global const float *dy, __global float *dx) {
  int i = get_global_id(0);
  if (i < n) dx[i] += dy[i];
}

__kernel void nn_scale_fwd(int n, float s, __global const float *x, __global float *y) {
  int i = get_global_id(0);
  if (i < n) y[i] = x[i] * s;
}

/* y[row, j] += b[j] for rows of width `width` */
__kernel void nn_bias_rows(int n, int width, __global const float *b, __global float *y) {
  int i = get_global_id(0);
  if (i < n) y[i] += b[i % width];
}

/* dst[j] += sum over rows of src[row, j]: one work-item per column */
__kernel void nn_col_sum_acc(int rows, int cols, __global const float *src, __global float *dst) {
  int j = get_global_id(0);
  if (j >= cols) return;
  float s = 0.0f;
  for (int r = 0; r < rows; r++) s += src[(size_t)r * cols + j];
  dst[j] += s;
}

__kernel void nn_relu_fwd(int n, __global const float *x, __global float *y) {
  int i = get_global_id(0);
  if (i < n) y[i] = x[i] > 0.0f ? x[i] : 0.0f;
}
__kernel void nn_relu_bwd(int n, __global const float *x, __global const float *dy, __global float *dx) {
  int i = get_global_id(0);
  if (i < n && x[i] > 0.0f) dx[i] += dy[i];
}

__kernel void nn_leaky_fwd(int n, float a, __global const float *x, __global float *y) {
  int i = get_global_id(0);
  if (i < n) y[i] = x[i] > 0.0f ? x[i] : a * x[i];
}
__kernel void nn_leaky_bwd(int n, float a, __global const float *x, __global const float *dy, __global float *dx) {
  int i = get_global_id(0);
  if (i < n) dx[i] += x[i] > 0.0f ? dy[i] : a * dy[i];
}

/* gelu(x) = x * Phi(x), the exact (erf) form */
__kernel void nn_gelu_fwd(int n, __global const float *x, __global float *y) {
  int i = get_global_id(0);
  if (i < n) { float v = x[i]; y[i] = 0.5f * v * (1.0f + erf(v * 0.70710678f)); }
}
__kernel void nn_gelu_bwd(int n, __global const float *x, __global const float *dy, __global float *dx) {
  int i = get_global_id(0);
  if (i < n) {
    float v = x[i], cdf = 0.5f * (1.0f + erf(v * 0.70710678f));
    dx[i] += dy[i] * (cdf + v * 0.39894228f * exp(-0.5f * v * v));
  }
}

__kernel void nn_sigmoid_fwd(int n, __global const float *x, __global float *y) {
  int i = get_global_id(0);
  if (i < n) y[i] = 1.0f / (1.0f + exp(-x[i]));
}
__kernel void nn_sigmoid_bwd(int n, __global const float *y, __global const float *dy, __global float *dx) {
  int i = get_global_id(0);
  if (i < n) dx[i] += dy[i] * y[i] * (1.0f - y[i]);
}

__kernel void nn_tanh_fwd(int n, __global const float *x, __global float *y) {
  int i = get_global_id(0);
  if (i < n) y[i] = tanh(x[i]);
}
__kernel void nn_tanh_bwd(int n, __global const float *y, __global const float *dy, __global float *dx) {
  int i = get_global_id(0);
  if (i < n) dx[i] += dy[i] * (1.0f - y[i] * y[i]);
}

/* Dropout: element i of a step keeps its value when a uniform number in
   [0,1) drawn from (seed, i) is >= p; the mask holds 1/(1-p) or 0 and
   stays in the workspace for the backward pass. */
__kernel void nn_dropout_fwd(int n, float p, float keep, uint seed_a, uint seed_b,
                             __global const float *x, __global float *mask, __global float *y) {
  int i = get_global_id(0);
  if (i >= n) return;
  uint h = nn_hash(nn_hash((uint)i ^ seed_a) + seed_b);
  float u = (float)(h >> 8) * (1.0f / 16777216.0f), k = u >= p ? keep : 0.0f;
  mask[i] = k;
  y[i] = x[i] * k;
}
__kernel void nn_mul_acc(int n, __global const float *dy, __global const float *mask, __global float *dx) {
  int i = get_global_id(0);
  if (i < n) dx[i] += dy[i] * mask[i];
}

/* concat along dim 0 of a sample: input k is a block of `part` floats per
   sample at offset `off` of each output sample of `out` floats */
__kernel void nn_concat_fwd(int n, int part, int out, int off, __global const float *x, __global float *y) {
  int i = get_global_id(0);
  if (i < n) y[(size_t)(i / part) * out + off + i % part] = x[i];
}
__kernel void nn_concat_bwd(int n, int part, int out, int off, __global const float *dy, __global float *dx) {
  int i = get_global_id(0);
  if (i < n) dx[i] += dy[(size_t)(i / part) * out + off + i % part];
}
