/* Convolution as GEMM, and pooling.  Images are NCHW.  A chunk of nb
   samples starting at sample b0 is lowered to a column matrix
   col[K, nb*P] (K = C*kh*kw rows, one column per output pixel of every
   sample), so that one GEMM with the [O, K] weights covers the chunk. */

__kernel void nn_im2col(int total, int nbP, int P, int OW, int C, int H, int W, int kh, int kw,
                        int s, int p, __global const float *x, int x_off, __global float *col) {
  int idx = get_global_id(0);
  if (idx >= total) return;
  int k = idx / nbP, r = idx - k * nbP, b = r / P, q = r - b * P;
  int oh = q / OW, ow = q - oh * OW;
  int j = k % kw, i = (k / kw) % kh, ch = k / (kw * kh);
  int h = oh * s - p + i, w = ow * s - p + j;
  col[idx] = (h >= 0 && h < H && w >= 0 && w < W) ? x[x_off + ((size_t)(b * C + ch) * H + h) * W + w] : 0.0f;
}

/* the column entries that were read from pixel idx of sample b's image:
   one work-item per pixel gathers, so no two write the same place */
float nn_col2im_sum(int idx, int nbP, int P, int OH, int OW, int C, int H, int W, int kh, int kw,
                    int s, int p, __global const float *col) {
  int w = idx % W, h = (idx / W) % H, ch = (idx / (W * H)) % C, b = idx / (W * H * C);
  float sum = 0.0f;
  for (int i = 0; i < kh; i++) {
    int t = h + p - i, oh = t / s;
    if (t < 0 || t - oh * s != 0 || oh >= OH) continue;
    for (int j = 0; j < kw; j++) {
      int u = w + p - j, ow = u / s;
      if (u < 0 || u - ow * s != 0 || ow >= OW) continue;
      sum += col[(size_t)((ch * kh + i) * kw + j) * nbP + b * P + oh * OW + ow];
    }
  }
  return sum;
}

/* dx[b0 + b] += the column entries that were read from each pixel */
__kernel void nn_col2im_acc(int total, int nbP, int P, int OH, int OW, int C, int H, int W, int kh, int kw,
                            int s, int p, __global const float *col, __global float *dx, int dx_off) {
  int idx = get_global_id(0);
  if (idx >= total) return;
  dx[dx_off + idx] += nn_col2im_sum(idx, nbP, P, OH, OW, C, H, W, kh, kw, s, p, col);
}

/* conv2d_transpose's output: y[b0 + b] = col2im of its columns (+ bias
   per channel) */
__kernel void nn_convt_out(int total, int nbP, int P, int OH, int OW, int C, int H, int W, int kh, int kw,
                           int s, int p, __global const float *col, __global const float *bias,
                           __global float *y, int y_off) {
  int idx = get_global_id(0);
  if (idx >= total) return;
  float v = nn_col2im_sum(idx, nbP, P, OH, OW, C, H, W, kh, kw, s, p, col);
  y[y_off + idx] = bias ? v + bias[(idx / (W * H)) % C] : v;
}

/* y[b0 + b, o, q] = out[o, b*P + q] (+ bias[o]) */
__kernel void nn_conv_out(int total, int nbP, int P, int O, __global const float *out,
                          __global const float *bias, __global float *y, int y_off) {
  int idx = get_global_id(0);
  if (idx >= total) return;
  int q = idx % P, o = (idx / P) % O, b = idx / (P * O);
  float v = out[(size_t)o * nbP + b * P + q];
  y[y_off + idx] = bias ? v + bias[o] : v;
}

/* dyt[o, b*P + q] = dy[b0 + b, o, q] */
__kernel void nn_conv_dyt(int total, int nbP, int P, int O, __global const float *dy, int dy_off,
                          __global float *dyt) {
  int idx = get_global_id(0);
  if (idx >= total) return;
  int q = idx % P, o = (idx / P) % O, b = idx / (P * O);
  dyt[(size_t)o * nbP + b * P + q] = dy[dy_off + idx];
}

/* dx[b0 + b, o, q] += out[o, b*P + q]: conv2d_transpose's input gradient */
__kernel void nn_convt_dx(int total, int nbP, int P, int O, __global const float *out, __global float *dx,
                          int dx_off) {
  int idx = get_global_id(0);
  if (idx >= total) return;
  int q = idx % P, o = (idx / P) % O, b = idx / (P * O);
  dx[dx_off + idx] += out[(size_t)o * nbP + b * P + q];
}

/* nearest-neighbour upsampling by f of planes [H, W]: forward one
   work-item per output, backward one per input (its f x f block) */
__kernel void nn_upsample_fwd(int total, int H, int W, int f, __global const float *x, __global float *y) {
  int idx = get_global_id(0);
  if (idx >= total) return;
  int OW = W * f, ow = idx % OW, oh = (idx / OW) % (H * f), pl = idx / (OW * H * f);
  y[idx] = x[((size_t)pl * H + oh / f) * W + ow / f];
}
__kernel void nn_upsample_bwd(int total, int H, int W, int f, __global const float *dy, __global float *dx) {
  int idx = get_global_id(0);
  if (idx >= total) return;
  int w = idx % W, h = (idx / W) % H, pl = idx / (W * H), OW = W * f;
  __global const float *d = dy + ((size_t)pl * H * f + h * f) * OW + w * f;
  float sum = 0.0f;
  for (int i = 0; i < f; i++)
    for (int j = 0; j < f; j++) sum += d[i * OW + j];
  dx[idx] += sum;
}

/* Max pooling keeps, per output, the index of the winner inside its
   input plane (exact as a float), the first one on ties. */
__kernel void nn_maxpool_fwd(int total, int H, int W, int OH, int OW, int k, int s, int p,
                             __global const float *x, __global float *y, __global float *arg) {
  int idx = get_global_id(0);
  if (idx >= total) return;
  int ow = idx % OW, oh = (idx / OW) % OH, pl = idx / (OW * OH);
  __global const float *xp = x + (size_t)pl * H * W;
  float best = -FLT_MAX;
  int at = -1;
  for (int i = 0; i < k; i++) {
    int h = oh * s - p + i;
    if (h < 0 || h >= H) continue;
    for (int j = 0; j < k; j++) {
      int w = ow * s - p + j;
      if (w < 0 || w >= W) continue;
      if (at < 0 || xp[h * W + w] > best) { best = xp[h * W + w]; at = h * W + w; }
    }
  }
  y[idx] = best;
  arg[idx] = (float)at;
}

/* range of outputs whose window covers input position v */
void nn_pool_range(int v, int k, int s, int p, int out, int *lo, int *hi) {
  int t = v + p - k + 1;
  *lo = t <= 0 ? 0 : (t + s - 1) / s;
  *hi = (v + p) / s;
  if (*hi > out - 1) *hi = out - 1;
}

__kernel void nn_maxpool_bwd(int total, int H, int W, int OH, int OW, int k, int s, int p,
                             __global const float *dy, __global const float *arg, __global float *dx) {
  int idx = get_global_id(0);
  if (idx >= total) return;
  int w = idx % W, h = (idx / W) % H, pl = idx / (W * H);
  int oh0, oh1, ow0, ow1;
  float here = (float)(h * W + w), sum = 0.0f;
  nn_pool_range(h, k, s, p, OH, &oh0, &oh1);
  nn_pool_range(w, k, s, p, OW, &ow0, &ow1);
  for (int oh = oh0; oh <= oh1; oh++)
    for (int ow = ow0; ow <= ow1; ow++) {
      size_t o = ((size_t)pl * OH + oh) * OW + ow;
      if (arg[o] == here) sum += dy[o];
    }
  dx[idx] += sum;
}

/* average pooling divides by k*k, padding included (as the CPU does) */
__kernel void nn_avgpool_fwd(int total, int H, int W, int OH, int OW, int k, int s, int p,
                             __global const float *x, __global float *y) {
  int idx = get_global_id(0);
  if (idx >= total) return;
  int ow = idx % OW, oh = (idx / OW) % OH, pl = idx / (OW * OH);
  __global const float *xp = x + (size_t)pl * H * W;
  float sum = 0.0f;
  for (int i = 0; i < k; i++) {
    int h = oh * s - p + i;
    if (h < 0 || h >= H) continue;
    for (int j = 0; j < k; j++) {
      int w = ow * s - p + j;
      if (w >= 0 && w < W) sum += xp[h * W + w];
    }
  }
  y[idx] = sum * (1.0f / (float)(k * k));
}

__kernel void nn_avgpool_bwd(int total, int H, int W, int OH, int OW, int k, int s, int p,
                             __global const float *dy, __global float *dx) {
  int idx = get_global_id(0);
  if (idx >= total) return;
  int w = idx % W, h = (idx / W) % H, pl = idx / (W * H);
  int oh0, oh1, ow0, ow1;
  float inv = 1.0f / (float)(k * k), sum = 0.0f;
  nn_pool_range(h, k, s, p, OH, &oh0, &oh1);
  nn_pool_range(w, k, s, p, OW, &ow0, &ow1);
  for (int oh = oh0; oh <= oh1; oh++)
    for (int ow = ow0; ow <= ow1; ow++) sum += dy[((size_t)pl * OH + oh) * OW + ow] * inv;
  dx[idx] += sum;
}

/* global average pooling: one work-group per plane */
__kernel void nn_gap_fwd(int hw, __global const float *x, __global float *y, __local float *red) {
  int pl = get_group_id(0), l = get_local_id(0), ls = get_local_size(0);
  float s = 0.0f;
  for (int q = l; q < hw; q += ls) s += x[(size_t)pl * hw + q];
  s = nn_wg_sum(red, s);
  if (l == 0) y[pl] = s / (float)hw;
}
__kernel void nn_gap_bwd(int n, int hw, __global const float *dy, __global float *dx) {
  int i = get_global_id(0);
  if (i < n) dx[i] += dy[i / hw] / (float)hw;
}
