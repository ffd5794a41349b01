/* Batch norm, layer norm and softmax: reductions over a channel (in two
   levels) or a row (one work-group each). */

/* Batch norm over channel c of x[n, C, S] in two levels.  Training:
   work-group g of the G of channel c writes the count, mean and sum of
   squared deviations of its share (partial[(k*C + c)*G + g], k = 0, 1,
   2); nn_bn_stats_final merges them per channel (Chan et al.'s pairwise
   update, as stable as two passes over the channel), writes mean and
   1/std into ws[c], ws[C + c] and moves the running statistics by `mom`
   (unbiased variance, as in PyTorch). */
__kernel void nn_bn_stats_partial(int n, int C, int S, int G, __global const float *x, __global float *partial,
                                  __local float *red) {
  int grp = get_group_id(0), c = grp / G, g = grp - c * G, l = get_local_id(0), ls = get_local_size(0);
  float s = 0.0f, k = 0.0f, ss = 0.0f, mu;
  for (int e = g * ls + l; e < n * S; e += G * ls) {
    int b = e / S;
    s += x[((size_t)b * C + c) * S + (e - b * S)];
    k += 1.0f;
  }
  k = nn_wg_sum(red, k);
  s = nn_wg_sum(red, s);
  mu = k > 0.0f ? s / k : 0.0f;
  for (int e = g * ls + l; e < n * S; e += G * ls) {
    int b = e / S;
    float d = x[((size_t)b * C + c) * S + (e - b * S)] - mu;
    ss += d * d;
  }
  ss = nn_wg_sum(red, ss);
  if (l == 0) {
    partial[c * G + g] = k;
    partial[(C + c) * G + g] = mu;
    partial[(2 * C + c) * G + g] = ss;
  }
}
/* channel c's count, mean and sum of squared deviations from its G partials */
void nn_bn_merge(int C, int G, int c, __global const float *partial, float *count, float *mean, float *sq) {
  float cnt = 0.0f, mu = 0.0f, m2 = 0.0f;
  for (int g = 0; g < G; g++) {
    float k = partial[c * G + g], d = partial[(C + c) * G + g] - mu;
    if (k == 0.0f) continue;
    mu += d * k / (cnt + k);
    m2 += partial[(2 * C + c) * G + g] + d * d * cnt * k / (cnt + k);
    cnt += k;
  }
  *count = cnt;
  *mean = mu;
  *sq = m2;
}
__kernel void nn_bn_stats_final(int C, int G, float mom, float eps, __global const float *partial,
                                __global float *ws, __global float *rmean, __global float *rvar) {
  int c = get_global_id(0);
  if (c >= C) return;
  float cnt, mu, m2, var;
  nn_bn_merge(C, G, c, partial, &cnt, &mu, &m2);
  var = m2 / cnt;
  ws[c] = mu;
  ws[C + c] = 1.0f / sqrt(var + eps);
  rmean[c] = (1.0f - mom) * rmean[c] + mom * mu;
  rvar[c] = (1.0f - mom) * rvar[c] + mom * (cnt > 1.0f ? var * cnt / (cnt - 1.0f) : var);
}

/* Synchronised batch norm (nn_model_set_batchnorm_sync): stats gets each
   channel's mean and sum of squared deviations (stats[c], stats[C + c])
   for the host, which sums the copies' statistics and writes the joint
   mean, 1/std and unbiased variance into ws[c], ws[C + c], ws[2C + c];
   nn_bn_sync_running then moves the running statistics by `mom`. */
__kernel void nn_bn_sync_stats(int C, int G, __global const float *partial, __global float *stats) {
  int c = get_global_id(0);
  if (c >= C) return;
  float cnt, mu, m2;
  nn_bn_merge(C, G, c, partial, &cnt, &mu, &m2);
  stats[c] = mu;
  stats[C + c] = m2;
}
__kernel void nn_bn_sync_running(int C, float mom, __global const float *ws, __global float *rmean,
                                 __global float *rvar) {
  int c = get_global_id(0);
  if (c >= C) return;
  rmean[c] = (1.0f - mom) * rmean[c] + mom * ws[c];
  rvar[c] = (1.0f - mom) * rvar[c] + mom * ws[2 * C + c];
}

/* eval mode: the running statistics */
__kernel void nn_bn_eval_stats(int C, float eps, __global const float *rmean, __global const float *rvar,
                               __global float *ws) {
  int c = get_global_id(0);
  if (c >= C) return;
  ws[c] = rmean[c];
  ws[C + c] = 1.0f / sqrt(rvar[c] + eps);
}

__kernel void nn_bn_apply(int total, int C, int S, __global const float *x, __global const float *gamma,
                          __global const float *beta, __global const float *ws, __global float *y) {
  int i = get_global_id(0);
  if (i >= total) return;
  int c = (i / S) % C;
  float a = gamma[c] * ws[C + c], sh = beta[c] - ws[c] * a;
  y[i] = x[i] * a + sh;
}

/* per channel, from nn_chan_partial's G partial sums: sums[c] = sum dy,
   sums[C + c] = sum dy * xhat; they are also the gradients of the shift
   and the scale */
__kernel void nn_bn_bwd_final(int C, int G, __global const float *partial, __global float *dgamma,
                              __global float *dbeta, __global float *sums) {
  int c = get_global_id(0);
  if (c >= C) return;
  float sdy = 0.0f, sdyx = 0.0f;
  for (int g = 0; g < G; g++) {
    sdy += partial[c * G + g];
    sdyx += partial[(C + c) * G + g];
  }
  if (dgamma) dgamma[c] += sdyx;
  if (dbeta) dbeta[c] += sdy;
  sums[c] = sdy;
  sums[C + c] = sdyx;
}

__kernel void nn_bn_bwd_dx(int total, int C, int S, int cnt, int training, __global const float *x,
                           __global const float *dy, __global const float *gamma, __global const float *ws,
                           __global const float *sums, __global float *dx) {
  int i = get_global_id(0);
  if (i >= total) return;
  int c = (i / S) % C;
  float mu = ws[c], rs = ws[C + c], g = gamma[c];
  if (training) {
    float k = g * rs / (float)cnt;
    dx[i] += k * ((float)cnt * dy[i] - sums[c] - (x[i] - mu) * rs * sums[C + c]);
  } else {
    dx[i] += g * rs * dy[i];
  }
}

/* Layer norm over rows of D: one work-group per row; ws holds mean and
   1/std of every row. */
__kernel void nn_ln_fwd(int D, float eps, __global const float *x, __global const float *gamma,
                        __global const float *beta, __global float *ws, __global float *y, __local float *red) {
  int r = get_group_id(0), l = get_local_id(0), ls = get_local_size(0);
  __global const float *xr = x + (size_t)r * D;
  float s = 0.0f, ss = 0.0f, mu, rs;
  for (int j = l; j < D; j += ls) s += xr[j];
  mu = nn_wg_sum(red, s) / (float)D;
  for (int j = l; j < D; j += ls) ss += (xr[j] - mu) * (xr[j] - mu);
  rs = 1.0f / sqrt(nn_wg_sum(red, ss) / (float)D + eps);
  if (l == 0) { ws[2 * r] = mu; ws[2 * r + 1] = rs; }
  for (int j = l; j < D; j += ls) y[(size_t)r * D + j] = (xr[j] - mu) * rs * gamma[j] + beta[j];
}

__kernel void nn_ln_bwd_dx(int D, __global const float *x, __global const float *dy, __global const float *gamma,
                           __global const float *ws, __global float *dx, __local float *red) {
  int r = get_group_id(0), l = get_local_id(0), ls = get_local_size(0);
  size_t o = (size_t)r * D;
  float mu = ws[2 * r], rs = ws[2 * r + 1], sg = 0.0f, sgx = 0.0f, m1, m2;
  for (int j = l; j < D; j += ls) {
    float gj = dy[o + j] * gamma[j];
    sg += gj;
    sgx += gj * (x[o + j] - mu) * rs;
  }
  m1 = nn_wg_sum(red, sg) / (float)D;
  m2 = nn_wg_sum(red, sgx) / (float)D;
  for (int j = l; j < D; j += ls)
    dx[o + j] += rs * (dy[o + j] * gamma[j] - m1 - (x[o + j] - mu) * rs * m2);
}

/* softmax over rows of D: one work-group per row */
__kernel void nn_softmax_fwd(int D, __global const float *x, __global float *y, __local float *red) {
  int r = get_group_id(0), l = get_local_id(0), ls = get_local_size(0);
  size_t o = (size_t)r * D;
  float mx = -INFINITY, s = 0.0f;
  for (int j = l; j < D; j += ls) mx = fmax(mx, x[o + j]);
  mx = nn_wg_max(red, mx);
  for (int j = l; j < D; j += ls) s += exp(x[o + j] - mx);
  s = nn_wg_sum(red, s);
  for (int j = l; j < D; j += ls) y[o + j] = exp(x[o + j] - mx) / s;
}

__kernel void nn_softmax_bwd(int D, __global const float *y, __global const float *dy, __global float *dx,
                             __local float *red) {
  int r = get_group_id(0), l = get_local_id(0), ls = get_local_size(0);
  size_t o = (size_t)r * D;
  float dot = 0.0f;
  for (int j = l; j < D; j += ls) dot += dy[o + j] * y[o + j];
  dot = nn_wg_sum(red, dot);
  for (int j = l; j < D; j += ls) dx[o + j] += y[o + j] * (dy[o + j] - dot);
}
