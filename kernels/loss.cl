/* Losses and sums.  A loss writes per-sample or per-element terms, which
   nn_sum_partial and nn_sum_final add up into the scalar output; the
   backward kernels read the loss gradient dy[0] on the device. */

/* partial[g] = sum (mode 0) or sum of squares (mode 1) of the elements
   that work-group g visits (a grid-stride loop) */
__kernel void nn_sum_partial(int n, int mode, __global const float *x, __global float *partial,
                             __local float *red) {
  int l = get_local_id(0), stride = get_global_size(0);
  float s = 0.0f;
  for (int i = get_global_id(0); i < n; i += stride) s += mode ? x[i] * x[i] : x[i];
  s = nn_wg_sum(red, s);
  if (l == 0) partial[get_group_id(0)] = s;
}

/* out[0] = scale * sum of `count` partial sums (one work-group) */
__kernel void nn_sum_final(int count, float scale, __global const float *partial, __global float *out,
                           __local float *red) {
  int l = get_local_id(0), ls = get_local_size(0);
  float s = 0.0f;
  for (int i = l; i < count; i += ls) s += partial[i];
  s = nn_wg_sum(red, s);
  if (l == 0) out[0] = s * scale;
}

/* a label is a class index 0..C-1 stored as a float */
int nn_bad_label(float lab, int C) { return !(lab >= 0.0f) || !(lab < (float)C) || lab != floor(lab); }

/* Softmax cross entropy with label smoothing e, one work-group per sample:
   probabilities into prob (kept for the backward pass) and the sample's
   loss into rowloss.  Target distribution: (1-e)*onehot + e/C. */
__kernel void nn_ce_rows(int C, float e, __global const float *z, __global const float *labels,
                         __global float *prob, __global float *rowloss, __local float *red) {
  int b = get_group_id(0), l = get_local_id(0), ls = get_local_size(0);
  size_t o = (size_t)b * C;
  float lab = labels[b], mx = -INFINITY, s = 0.0f, lse, loss = 0.0f;
  int t = nn_bad_label(lab, C) ? -1 : (int)lab;
  for (int j = l; j < C; j += ls) mx = fmax(mx, z[o + j]);
  mx = nn_wg_max(red, mx);
  for (int j = l; j < C; j += ls) s += exp(z[o + j] - mx);
  lse = mx + log(nn_wg_sum(red, s));
  for (int j = l; j < C; j += ls) {
    prob[o + j] = exp(z[o + j] - lse);
    loss -= ((j == t ? 1.0f - e : 0.0f) + e / (float)C) * (z[o + j] - lse);
  }
  loss = nn_wg_sum(red, loss);
  if (l == 0) rowloss[b] = t < 0 ? 0.0f : loss;
}

/* records the first bad label, unless an earlier one is still unread:
   flag = {sample, label, node id}, sample -1 when all were good */
__kernel void nn_ce_check(int n, int C, float node_id, __global const float *labels, __global float *flag) {
  if (get_global_id(0) != 0 || flag[0] >= 0.0f) return;
  for (int b = 0; b < n; b++)
    if (nn_bad_label(labels[b], C)) {
      flag[0] = (float)b;
      flag[1] = labels[b];
      flag[2] = node_id;
      return;
    }
}

__kernel void nn_ce_bwd(int total, int C, float e, float scale, __global const float *dy,
                        __global const float *labels, __global const float *prob, __global float *dx) {
  int i = get_global_id(0);
  if (i >= total) return;
  int b = i / C, j = i - b * C;
  float lab = labels[b], g = dy[0] * scale;
  int t = nn_bad_label(lab, C) ? -1 : (int)lab;
  dx[i] += g * (prob[i] - ((j == t ? 1.0f - e : 0.0f) + e / (float)C));
}

/* binary cross entropy on logits, stable form:
   max(z,0) - z t + log(1 + exp(-|z|)) */
__kernel void nn_bce_terms(int n, __global const float *z, __global const float *t, __global float *terms) {
  int i = get_global_id(0);
  if (i >= n) return;
  float v = z[i];
  terms[i] = (v > 0.0f ? v : 0.0f) - v * t[i] + log1p(exp(-fabs(v)));
}
__kernel void nn_bce_bwd(int n, float scale, __global const float *dy, __global const float *z,
                         __global const float *t, __global float *dz, __global float *dt) {
  int i = get_global_id(0);
  if (i >= n) return;
  float g = dy[0] * scale, v = z[i];
  if (dz) dz[i] += g * (1.0f / (1.0f + exp(-v)) - t[i]);
  if (dt) dt[i] -= g * v;
}

__kernel void nn_mse_terms(int n, __global const float *a, __global const float *b, __global float *terms) {
  int i = get_global_id(0);
  if (i >= n) return;
  float d = a[i] - b[i];
  terms[i] = d * d;
}
__kernel void nn_mse_bwd(int n, float scale, __global const float *dy, __global const float *a,
                         __global const float *b, __global float *da, __global float *db) {
  int i = get_global_id(0);
  if (i >= n) return;
  float d = 2.0f * dy[0] * scale * (a[i] - b[i]);
  if (da) da[i] += d;
  if (db) db[i] -= d;
}
