/* Sequences: embedding, recurrent layers (rnn, lstm, gru) and reductions
   over the valid steps.  A sequence is x[b, t, f] with T padded steps;
   `len` holds each sample's valid steps (NULL: all T). */

int nn_seq_len(__global const float *len, int b, int T) { return len ? (int)len[b] : T; }

/* float atomic add through compare-and-swap (OpenCL 1.2 core atomics).
   The first value is read through the atomic as well: a plain load would
   race with another work-item's atomic_cmpxchg on the same word. */
void nn_atomic_add(volatile __global float *p, float v) {
  uint old = atomic_cmpxchg((volatile __global uint *)p, 0u, 0u), prev;
  do {
    prev = old;
    old = atomic_cmpxchg((volatile __global uint *)p, prev, as_uint(as_float(prev) + v));
  } while (old != prev);
}

/* Embedding: y[i, :] = weight[id_i, :].  The host checked the ids; one
   that is not a row would give zeros rather than read outside the table. */
__kernel void nn_embedding_fwd(int total, int D, int V, __global const float *ids, __global const float *w,
                               __global float *y) {
  int idx = get_global_id(0);
  if (idx >= total) return;
  int i = idx / D, j = idx - i * D;
  float v = ids[i];
  y[idx] = v >= 0.0f && v < (float)V ? w[(size_t)(int)v * D + j] : 0.0f;
}

/* the rows of the ids used receive the gradients; rows shared by several
   ids add atomically, in no fixed order.  Exact zeros are skipped: the
   positions past a sequence's length (padding) have no gradient, and
   their atomics would all queue on the padding id's row. */
__kernel void nn_embedding_bwd(int total, int D, int V, __global const float *ids, __global const float *dy,
                               __global float *dw) {
  int idx = get_global_id(0);
  if (idx >= total) return;
  int i = idx / D, j = idx - i * D;
  float v = ids[i];
  float g = dy[idx];
  if (!(v >= 0.0f && v < (float)V) || g == 0.0f) return;
  nn_atomic_add(dw + (size_t)(int)v * D + j, g);
}

/* Recurrent layers.  N = dirs*G*H gate columns; P[b*T + t, N] holds the
   input side of the gates (x W_ih^T + b_ih), then their values, then in
   the backward pass their gradients; aux[b*T + t, dirs*H] holds lstm c_t
   or gru W_hn h + b_hn (then its gradient).  State rows: h, c, dh, dc
   [dirs, n, H] and q [dirs, n, GH] (h W_hh^T, later dG_hh). */

/* P += b_ih on valid steps; zeros past a sample's length */
__kernel void nn_rec_proj(int total, int T, int N, int GH, int off, __global const float *len,
                          __global const float *bias, __global float *P) {
  int idx = get_global_id(0);
  if (idx >= total) return;
  int row = idx / GH, j = idx - row * GH, b = row / T, t = row - b * T;
  size_t at = (size_t)row * N + off + j;
  P[at] = t < nn_seq_len(len, b, T) ? P[at] + bias[j] : 0.0f;
}

/* step s of every direction: one work-item per (direction, sample, unit) */
__kernel void nn_rec_step(int op, int s, int n, int T, int H, int dirs, __global const float *len,
                          __global float *P, __global float *aux, int aux_off, __global const float *q,
                          __global const float *bh0, __global const float *bh1, __global float *h,
                          __global float *c, __global float *y) {
  int idx = get_global_id(0);
  aux += aux_off;
  if (idx >= dirs * n * H) return;
  int j = idx % H, b = (idx / H) % n, d = idx / (H * n), L = nn_seq_len(len, b, T);
  if (s >= L) return;
  int t = d ? L - 1 - s : s, G = op == 0 ? 1 : op == 1 ? 4 : 3, GH = G * H;
  size_t row = (size_t)b * T + t;
  __global float *p = P + row * dirs * GH + (size_t)d * GH;
  __global const float *qq = q + ((size_t)d * n + b) * GH, *bb = d ? bh1 : bh0;
  size_t at = row * dirs * H + (size_t)d * H + j, st = ((size_t)d * n + b) * H + j;
  if (op == 0) {
    float v = tanh(p[j] + qq[j] + bb[j]);
    p[j] = v;
    h[st] = v;
    y[at] = v;
  } else if (op == 1) {
    float ig = 1.0f / (1.0f + exp(-(p[j] + qq[j] + bb[j])));
    float fg = 1.0f / (1.0f + exp(-(p[H + j] + qq[H + j] + bb[H + j])));
    float gg = tanh(p[2 * H + j] + qq[2 * H + j] + bb[2 * H + j]);
    float og = 1.0f / (1.0f + exp(-(p[3 * H + j] + qq[3 * H + j] + bb[3 * H + j])));
    float cn = fg * c[st] + ig * gg, v = og * tanh(cn);
    p[j] = ig; p[H + j] = fg; p[2 * H + j] = gg; p[3 * H + j] = og;
    c[st] = cn;
    aux[at] = cn;
    h[st] = v;
    y[at] = v;
  } else {
    float rg = 1.0f / (1.0f + exp(-(p[j] + qq[j] + bb[j])));
    float zg = 1.0f / (1.0f + exp(-(p[H + j] + qq[H + j] + bb[H + j])));
    float a = qq[2 * H + j] + bb[2 * H + j];
    float ng = tanh(p[2 * H + j] + rg * a), v = (1.0f - zg) * ng + zg * h[st];
    p[j] = rg; p[H + j] = zg; p[2 * H + j] = ng;
    aux[at] = a;
    h[st] = v;
    y[at] = v;
  }
}

/* backward of step s of every direction.  dh carries the gradient that
   reaches h_t from later steps and receives the part that reaches h_{t-1}
   directly (gru: dh z; the W_hh path follows in a GEMM from q).  p gets
   dG_ih, q dG_hh (zeros for a sample past its length). */
__kernel void nn_rec_step_bwd(int op, int s, int n, int T, int H, int dirs, __global const float *len,
                              __global float *P, __global float *aux, int aux_off, __global float *q,
                              __global const float *y, __global const float *dy, __global float *dh,
                              __global float *dc) {
  int idx = get_global_id(0);
  aux += aux_off;
  if (idx >= dirs * n * H) return;
  int j = idx % H, b = (idx / H) % n, d = idx / (H * n), L = nn_seq_len(len, b, T);
  int G = op == 0 ? 1 : op == 1 ? 4 : 3, GH = G * H;
  __global float *qq = q + ((size_t)d * n + b) * GH;
  if (s >= L) {
    for (int k = 0; k < G; k++) qq[k * H + j] = 0.0f;
    return;
  }
  int t = d ? L - 1 - s : s, tp = d ? t + 1 : t - 1;
  size_t row = (size_t)b * T + t, st = ((size_t)d * n + b) * H + j;
  size_t at = row * dirs * H + (size_t)d * H + j, prev = ((size_t)b * T + tp) * dirs * H + (size_t)d * H + j;
  __global float *p = P + row * dirs * GH + (size_t)d * GH;
  float g = dy[at] + dh[st];
  if (op == 0) {
    float v = g * (1.0f - y[at] * y[at]);
    qq[j] = v;
    p[j] = v;
  } else if (op == 1) {
    float ig = p[j], fg = p[H + j], gg = p[2 * H + j], og = p[3 * H + j], cp = s > 0 ? aux[prev] : 0.0f;
    float tc = tanh(aux[at]), dcn = dc[st] + g * og * (1.0f - tc * tc);
    p[j] = qq[j] = dcn * gg * ig * (1.0f - ig);
    p[H + j] = qq[H + j] = dcn * cp * fg * (1.0f - fg);
    p[2 * H + j] = qq[2 * H + j] = dcn * ig * (1.0f - gg * gg);
    p[3 * H + j] = qq[3 * H + j] = g * tc * og * (1.0f - og);
    dc[st] = dcn * fg;
  } else {
    float rg = p[j], zg = p[H + j], ng = p[2 * H + j], hp = s > 0 ? y[prev] : 0.0f;
    float dn = g * (1.0f - zg) * (1.0f - ng * ng);
    p[j] = qq[j] = dn * aux[at] * rg * (1.0f - rg);
    p[H + j] = qq[H + j] = g * (hp - ng) * zg * (1.0f - zg);
    p[2 * H + j] = dn;
    qq[2 * H + j] = aux[at] = dn * rg;
    dh[st] = g * zg;
  }
}

/* hprev[b*T + t, d*H + j] = the state before step t of direction d: h at
   t-1 (forward) or t+1 (reverse), zero at a first step and past the length */
__kernel void nn_rec_hprev(int total, int T, int H, int dirs, __global const float *len, __global const float *y,
                           __global float *hprev) {
  int idx = get_global_id(0);
  if (idx >= total) return;
  int HD = dirs * H, row = idx / HD, k = idx - row * HD, d = k / H, b = row / T, t = row - b * T;
  int L = nn_seq_len(len, b, T), tp = d ? t + 1 : t - 1;
  hprev[idx] = t < L && tp >= 0 && tp < L ? y[((size_t)b * T + tp) * HD + k] : 0.0f;
}

/* bias gradients of direction d: its column k of P summed over all rows
   (zeros past the lengths); for gru the hidden side's n gates sum aux
   instead */
__kernel void nn_rec_bias_bwd(int rows, int N, int H, int dirs, int gru, int d, __global const float *P,
                              __global const float *aux, int aux_off, __global float *dbi, __global float *dbh) {
  int k = get_global_id(0);
  aux += aux_off;
  int GH = N / dirs;
  if (k >= GH) return;
  int from_aux = gru && k >= 2 * H;
  float si = 0.0f, sh = 0.0f;
  for (int r = 0; r < rows; r++) {
    float v = P[(size_t)r * N + d * GH + k];
    si += v;
    sh += from_aux ? aux[(size_t)r * dirs * H + d * H + k - 2 * H] : v;
  }
  if (dbi) dbi[k] += si;
  if (dbh) dbh[k] += sh;
}

/* Reductions over valid steps, one work-item per (sample, feature).  All
   take (total, T, F, back, len, in, out, arg): in, out are x, y forward
   and dy, dx backward; seq_last takes its last `back` features from step 0
   (the reverse direction of a bidirectional layer); seq_max keeps its
   winners in arg. */
#define NN_SEQ_ARGS int total, int T, int F, int back, __global const float *len, __global const float *in, \
                    __global float *out, __global float *arg
__kernel void nn_seq_last_fwd(NN_SEQ_ARGS) {
  int idx = get_global_id(0);
  if (idx >= total) return;
  int b = idx / F, j = idx - b * F, L = nn_seq_len(len, b, T);
  out[idx] = L == 0 ? 0.0f : in[((size_t)b * T + (j < F - back ? L - 1 : 0)) * F + j];
}
__kernel void nn_seq_last_bwd(NN_SEQ_ARGS) {
  int idx = get_global_id(0);
  if (idx >= total) return;
  int b = idx / F, j = idx - b * F, L = nn_seq_len(len, b, T);
  if (L > 0) out[((size_t)b * T + (j < F - back ? L - 1 : 0)) * F + j] += in[idx];
}

/* the first maximum wins; arg: its step, -1 for an empty sequence */
__kernel void nn_seq_max_fwd(NN_SEQ_ARGS) {
  int idx = get_global_id(0);
  if (idx >= total) return;
  int b = idx / F, j = idx - b * F, L = nn_seq_len(len, b, T), at = L ? 0 : -1;
  __global const float *xb = in + (size_t)b * T * F + j;
  float best = L ? xb[0] : 0.0f;
  for (int t = 1; t < L; t++)
    if (xb[(size_t)t * F] > best) { best = xb[(size_t)t * F]; at = t; }
  out[idx] = best;
  arg[idx] = (float)at;
}
__kernel void nn_seq_max_bwd(NN_SEQ_ARGS) {
  int idx = get_global_id(0);
  if (idx >= total) return;
  int b = idx / F, j = idx - b * F, at = (int)arg[idx];
  if (at >= 0) out[((size_t)b * T + at) * F + j] += in[idx];
}

__kernel void nn_seq_mean_fwd(NN_SEQ_ARGS) {
  int idx = get_global_id(0);
  if (idx >= total) return;
  int b = idx / F, j = idx - b * F, L = nn_seq_len(len, b, T);
  float s = 0.0f;
  for (int t = 0; t < L; t++) s += in[((size_t)b * T + t) * F + j];
  out[idx] = L > 0 ? s / (float)L : 0.0f;
}
/* one work-item per element of dx */
__kernel void nn_seq_mean_bwd(NN_SEQ_ARGS) {
  int idx = get_global_id(0);
  if (idx >= total) return;
  int f = idx % F, t = (idx / F) % T, b = idx / (F * T), L = nn_seq_len(len, b, T);
  if (t < L) out[idx] += in[(size_t)b * F + f] / (float)L;
}
