/* Element-wise ops.  Forward kernels write y; backward kernels ADD into
   dx, as the CPU kernels do, so a value read by several ops receives the
   sum of their gradients. */

/* x[off + i] = v for i < n: zeroing by a kernel rather than
   clEnqueueFillBuffer, which Oclgrind does not count as initialising */
__kernel void nn_fill(ulong n, ulong off, float v, __global float *x) {
  for (ulong i = get_global_id(0); i < n; i += get_global_size(0)) x[off + i] = v;
}

__kernel void nn_add_fwd(int n, __global const float *a, __global const float *b, __global float *y) {
  int i = get_global_id(0);
  if (i < n) y[i] = a[i] + b[i];
}

/* dx += dy (exactly, no multiply: residual add, dropout in eval mode) */
__kernel void nn_acc1(int n, __global const float *dy, __global float *dx) {
  int i = get_global_id(0);
  if (i < n) dx[i] += dy[i];
}

/* y[row, j] += b[j] for rows of width `width` */
__kernel void nn_bias_rows(int n, int width, __global const float *b, __global float *y) {
  int i = get_global_id(0);
  if (i < n) y[i] += b[i % width];
}

/* Maps, one pair of kernels each, as nn.h's NN__ELEMENTWISE: FWD is y
   from v = x[i] (a: the op's scalar attribute), BWD what dx[i] gains from
   g = dy[i], using v or the saved output u = y[i] (loads a map does not
   use are left out by the compiler). */
#define NN_MAP(name, FWD, BWD)                                                                      \
  __kernel void nn_##name##_fwd(int n, float a, __global const float *x, __global float *y) {       \
    int i = get_global_id(0);                                                                       \
    if (i < n) { float v = x[i]; y[i] = (FWD); }                                                    \
  }                                                                                                 \
  __kernel void nn_##name##_bwd(int n, float a, __global const float *x, __global const float *y,   \
                                __global const float *dy, __global float *dx) {                     \
    int i = get_global_id(0);                                                                       \
    if (i < n) { float v = x[i], u = y[i], g = dy[i]; dx[i] += (BWD); }                             \
  }
float nn_sigmoid(float v) { return 1.0f / (1.0f + exp(-v)); }
NN_MAP(relu, v > 0.0f ? v : 0.0f, v > 0.0f ? g : 0.0f)
NN_MAP(leaky_relu, v > 0.0f ? v : a * v, v > 0.0f ? g : a * g)
/* gelu(x) = x * Phi(x), the exact (erf) form */
NN_MAP(gelu, 0.5f * v * (1.0f + erf(v * 0.70710678f)),
       g * (0.5f * (1.0f + erf(v * 0.70710678f)) + v * 0.39894228f * exp(-0.5f * v * v)))
NN_MAP(silu, v * nn_sigmoid(v), g * (nn_sigmoid(v) * (1.0f + v * (1.0f - nn_sigmoid(v)))))
NN_MAP(sigmoid, nn_sigmoid(v), g * u * (1.0f - u))
NN_MAP(tanh, tanh(v), g * (1.0f - u * u))
NN_MAP(scale, v * a, g * a)

/* Broadcast product: b's element for position j of sample s is
   s * bstride + (j / inner) % count (bstride: count for a batched b, 0 for
   one shared by all samples).  y = a * b, or y += a * b with acc: the
   forward pass, and the backward pass for a with a = dy, y = da. */
__kernel void nn_mul_bcast(int n, int per, int inner, int count, int bstride, int acc, __global const float *a,
                           __global const float *b, __global float *y) {
  int i = get_global_id(0);
  if (i >= n) return;
  int s = i / per, j = i - s * per;
  float v = a[i] * b[s * bstride + (j / inner) % count];
  y[i] = acc ? y[i] + v : v;
}
/* db[e] += sum of dy * a over the positions that read b[e]: one
   work-group per element of b, so there are no atomics.  Element e is
   k = e % count of sample e / count (batched) or of every sample (shared);
   it is read by the blocks k, k + count, ... of `inner` positions. */
__kernel void nn_mul_bwd_b(int n, int per, int inner, int count, int batched, __global const float *a,
                           __global const float *dy, __global float *db, __local float *red) {
  int e = get_group_id(0), l = get_local_id(0), ls = get_local_size(0);
  int k = e % count, reps = per / inner / count, s0 = batched ? e / count : 0;
  int cnt = (batched ? per : n) / count;   /* n: elements of a in the batch */
  float sum = 0.0f;
  for (int t = l; t < cnt; t += ls) {
    int j = t % inner, r = t / inner, s = s0 + r / reps, m = r % reps;
    size_t at = (size_t)s * per + (size_t)(k + m * count) * inner + j;
    sum += dy[at] * a[at];
  }
  sum = nn_wg_sum(red, sum);
  if (l == 0) db[e] += sum;
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
__kernel void nn_dropout_bwd(int n, __global const float *dy, __global const float *mask, __global float *dx) {
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
