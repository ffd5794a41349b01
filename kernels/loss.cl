/* Losses and sums.  A loss writes per-sample or per-element terms, which
   nn_sum_partial and nn_sum_final add up into the scalar output; the
   backward kernels read the loss gradient dy[0] on the device. */

/* partial[poff + g] = sum (mode 0) or sum of squares (mode 1) of the
   elements that work-group g visits (a grid-stride loop) */
__kernel void nn_sum_partial(int n, int mode, __global const float *x, __global float *partial, int poff,
                             __local float *red) {
  int l = get_local_id(0), stride = get_global_size(0);
  float s = 0.0f;
  for (int i = get_global_id(0); i < n; i += stride) s += mode ? x[i] * x[i] : x[i];
  s = nn_wg_sum(red, s);
  if (l == 0) partial[poff + get_group_id(0)] = s;
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

/* out[i] = (acc ? out[i] : 0) + the sum of partial[poff + i*G ...][G]:
   the second level of the reductions below and of nn_sum_partial's */
__kernel void nn_seg_sum(int n, int G, __global const float *partial, int poff, __global float *out, int acc) {
  int i = get_global_id(0);
  if (i >= n) return;
  float s = 0.0f;
  for (int g = 0; g < G; g++) s += partial[poff + i * G + g];
  out[i] = acc ? out[i] + s : s;
}

/* First levels of per-channel and per-column sums: G work-groups (or
   work-items) per channel or column, so that a few channels still fill
   the device.  nn_chan_partial: channel c of [n, C, S],
   partial[c*G + g] = sum of dy over group g's share; with x also
   partial[(C + c)*G + g] = sum of dy * xhat, xhat = (x - ws[c]) * ws[C + c]
   (batch norm).  nn_col_partial: column j of [rows, cols], rows g, g + G,
   ... by work-item (g, j); with x, xhat = (x - ws[2r]) * ws[2r + 1]
   (layer norm). */
__kernel void nn_chan_partial(int n, int C, int S, int G, __global const float *dy, __global const float *x,
                              __global const float *ws, __global float *partial, __local float *red) {
  int grp = get_group_id(0), c = grp / G, g = grp - c * G, l = get_local_id(0), ls = get_local_size(0);
  float mu = x ? ws[c] : 0.0f, rs = x ? ws[C + c] : 0.0f, s = 0.0f, sx = 0.0f;
  for (int e = g * ls + l; e < n * S; e += G * ls) {
    int b = e / S;
    size_t i = ((size_t)b * C + c) * S + (e - b * S);
    s += dy[i];
    if (x) sx += dy[i] * (x[i] - mu) * rs;
  }
  s = nn_wg_sum(red, s);
  if (x) sx = nn_wg_sum(red, sx);
  if (l == 0) {
    partial[c * G + g] = s;
    if (x) partial[(C + c) * G + g] = sx;
  }
}
__kernel void nn_col_partial(int rows, int cols, int G, __global const float *dy, __global const float *x,
                             __global const float *ws, __global float *partial) {
  int i = get_global_id(0);
  if (i >= G * cols) return;
  int g = i / cols, j = i - g * cols;
  float s = 0.0f, sx = 0.0f;
  for (int r = g; r < rows; r += G) {
    size_t o = (size_t)r * cols + j;
    s += dy[o];
    if (x) sx += dy[o] * (x[o] - ws[2 * r]) * ws[2 * r + 1];
  }
  partial[j * G + g] = s;
  if (x) partial[(cols + j) * G + g] = sx;
}

/* Softmax cross entropy with label smoothing e, one work-group per sample
   (the host checked the labels):
   probabilities into prob (kept for the backward pass) and the sample's
   loss into rowloss.  Target distribution: (1-e)*onehot + e/C. */
__kernel void nn_ce_rows(int C, float e, __global const float *z, __global const float *labels,
                         __global float *prob, __global float *rowloss, __local float *red) {
  int b = get_group_id(0), l = get_local_id(0), ls = get_local_size(0);
  size_t o = (size_t)b * C;
  float mx = -INFINITY, s = 0.0f, lse, loss = 0.0f;
  int t = (int)labels[b];
  for (int j = l; j < C; j += ls) mx = fmax(mx, z[o + j]);
  mx = nn_wg_max(red, mx);
  for (int j = l; j < C; j += ls) s += exp(z[o + j] - mx);
  lse = mx + log(nn_wg_sum(red, s));
  for (int j = l; j < C; j += ls) {
    prob[o + j] = exp(z[o + j] - lse);
    loss -= ((j == t ? 1.0f - e : 0.0f) + e / (float)C) * (z[o + j] - lse);
  }
  loss = nn_wg_sum(red, loss);
  if (l == 0) rowloss[b] = loss;
}

__kernel void nn_ce_bwd(int total, int C, float e, float scale, __global const float *dy,
                        __global const float *labels, __global const float *prob, __global float *dx) {
  int i = get_global_id(0);
  if (i >= total) return;
  int b = i / C, j = i - b * C;
  float g = dy[0] * scale;
  int t = (int)labels[b];
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
