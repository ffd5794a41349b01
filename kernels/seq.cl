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

/* Embedding: y[i, :] = weight[id_i, :] (global: D, ids).  The host
   checked the ids; one that is not a row would give zeros rather than
   read outside the table. */
__kernel void nn_embedding_fwd(int D, int V, __global const float *ids, __global const float *w, __global float *y) {
  size_t j = get_global_id(0), i = get_global_id(1);
  if (j >= (size_t)D) return;
  float v = ids[i];
  y[i * D + j] = v >= 0.0f && v < (float)V ? w[(size_t)(int)v * D + j] : 0.0f;
}

/* the rows of the ids used receive the gradients; rows shared by several
   ids add atomically, in no fixed order.  Exact zeros are skipped: the
   positions past a sequence's length (padding) have no gradient, and
   their atomics would all queue on the padding id's row. */
__kernel void nn_embedding_bwd(int D, int V, __global const float *ids, __global const float *dy, __global float *dw) {
  size_t j = get_global_id(0), i = get_global_id(1);
  if (j >= (size_t)D) return;
  float v = ids[i], g = dy[i * D + j];
  if (!(v >= 0.0f && v < (float)V) || g == 0.0f) return;
  nn_atomic_add(dw + (size_t)(int)v * D + j, g);
}

/* Recurrent layers.  N = dirs*G*H gate columns; P[b*T + t, N] holds the
   input side of the gates (x W_ih^T + b_ih), then their values, then in
   the backward pass their gradients; aux[b*T + t, dirs*H] holds lstm c_t
   or gru W_hn h + b_hn (then its gradient).  The previous state h_{t-1}
   is the output y of the step before, so no state buffers are needed
   forward; backward, dh and dc [dirs, n, H] carry what each unit passes
   to its own previous step directly (gru: dh z; lstm: dc f).

   One launch per step covers every direction, sample and unit, and does
   the state product itself (no GEMM per step): work-groups of TS x TS
   work-items (one direction) cover TS units and NN_REC_NB * TS samples,
   each work-item unit j of samples lb, lb + TS, ... (the W_hh values it
   reads serve NN_REC_NB samples).  They stage the states and TS x TS tiles
   of W_hh in local memory, TS columns of the product at a time, rows
   padded to TS + 1 so that reads along a column do not collide in one
   bank.  Work-items outside the units, samples or valid steps load zeros
   and stay for the barriers. */
#define NN_REC_NB 4
int nn_rec_gates(int op) { return op == 0 ? 1 : op == 1 ? 4 : 3; }

/* The products over the whole sequence, for both directions in one
   launch: each work-item computes NN_REC_MB rows of one column, the
   columns consecutive across work-items (vector lanes on a CPU, coalesced
   on a GPU), the rows' values broadcast.  Only valid steps are computed
   and read: P, aux and the states are zero or unused past the lengths. */
#define NN_REC_MB 8

/* wt = [W_ih^T; W_hh^T] of both directions, [F + H, N]: row k holds
   input (then state) feature k of every gate column d*GH + m, so that the
   projection and the CPU steps read consecutive columns */
__kernel void nn_rec_wt(int total, int F, int H, int GH, int dirs, __global const float *wi0, __global const float *wi1,
                        __global const float *wh0, __global const float *wh1, __global float *wt) {
  int idx = get_global_id(0), N = dirs * GH;
  if (idx >= total) return;
  int k = idx / N, c = idx - k * N, d = c >= GH, m = c - d * GH;
  wt[idx] = k < F ? (d ? wi1 : wi0)[(size_t)m * F + k] : (d ? wh1 : wh0)[(size_t)m * H + k - F];
}

/* P[row, c] = x[row, :] . W_ih[c, :] + b_ih[c] on valid steps, zero past
   a sample's length (global: N columns, rows / NN_REC_MB) */
__kernel void nn_rec_proj(int rows, int T, int F, int N, int GH, __global const float *len, __global const float *x,
                          __global const float *wt, __global const float *bi0, __global const float *bi1,
                          __global float *P) {
  size_t c = get_global_id(0);
  int r0 = get_global_id(1) * NN_REC_MB, any = 0;
  int ok[NN_REC_MB];
  size_t xo[NN_REC_MB];
  float acc[NN_REC_MB];
  if (c >= (size_t)N) return;
  for (int i = 0; i < NN_REC_MB; i++) {
    int row = min(r0 + i, rows - 1), b = row / T;
    ok[i] = r0 + i < rows && row - b * T < nn_seq_len(len, b, T);
    any |= ok[i];
    xo[i] = (size_t)row * F;
    acc[i] = 0.0f;
  }
  if (any)
    for (int f = 0; f < F; f++) {
      float w = wt[(size_t)f * N + c];
      for (int i = 0; i < NN_REC_MB; i++) acc[i] = fma(x[xo[i] + f], w, acc[i]);
    }
  float bias = c < (size_t)GH ? bi0[c] : bi1[c - GH];
  for (int i = 0; i < NN_REC_MB; i++)
    if (r0 + i < rows) P[(size_t)(r0 + i) * N + c] = ok[i] ? acc[i] + bias : 0.0f;
}

/* the cell of unit j of sample b at step s (t, previous step tp), from
   its gates' recurrent parts a0..a3 (the product with W_hh) */
void nn_rec_cell(int op, int s, int b, size_t j, int d, int T, int H, int dirs, int t, int tp, __global float *P,
                 __global float *aux, __global const float *bb, __global float *y, float a0, float a1, float a2,
                 float a3) {
  int GH = nn_rec_gates(op) * H, HD = dirs * H;
  size_t row = (size_t)b * T + t, at = row * HD + (size_t)d * H + j, prev = ((size_t)b * T + tp) * HD + (size_t)d * H + j;
  __global float *p = P + row * dirs * GH + (size_t)d * GH;
  if (op == 0) {
    float v = tanh(p[j] + a0 + bb[j]);
    p[j] = v;
    y[at] = v;
  } else if (op == 1) {
    float ig = 1.0f / (1.0f + exp(-(p[j] + a0 + bb[j])));
    float fg = 1.0f / (1.0f + exp(-(p[H + j] + a1 + bb[H + j])));
    float gg = tanh(p[2 * H + j] + a2 + bb[2 * H + j]);
    float og = 1.0f / (1.0f + exp(-(p[3 * H + j] + a3 + bb[3 * H + j])));
    float cn = fg * (s > 0 ? aux[prev] : 0.0f) + ig * gg;
    p[j] = ig; p[H + j] = fg; p[2 * H + j] = gg; p[3 * H + j] = og;
    aux[at] = cn;
    y[at] = og * tanh(cn);
  } else {
    float rg = 1.0f / (1.0f + exp(-(p[j] + a0 + bb[j])));
    float zg = 1.0f / (1.0f + exp(-(p[H + j] + a1 + bb[H + j])));
    float a = a2 + bb[2 * H + j];
    float ng = tanh(p[2 * H + j] + rg * a);
    p[j] = rg; p[H + j] = zg; p[2 * H + j] = ng;
    aux[at] = a;
    y[at] = (1.0f - zg) * ng + zg * (s > 0 ? y[prev] : 0.0f);
  }
}

/* step s of every direction (global: units, samples / NN_REC_NB,
   directions).  Each work-item adds h_{t-1}[b, :] . W_hh[g*H + j, :] for
   each gate g of its unit j and each of its samples b, then applies the
   cell.  Local: hs [NN_REC_NB*TS][TS+1] states (sample, column), ws
   [G*TS][TS+1] W_hh (gate and column, unit: read along the units, as the
   work-items run). */
__kernel void nn_rec_step(int op, int s, int n, int T, int H, int dirs, __global const float *len,
                          __global float *P, __global float *aux, int aux_off, __global const float *w0,
                          __global const float *w1, __global const float *bh0, __global const float *bh1,
                          __global float *y, __local float *hs, __local float *ws) {
  int TS = get_local_size(0), lj = get_local_id(0), lb = get_local_id(1), P1 = TS + 1;
  int j = get_global_id(0), d = get_global_id(2), j0 = get_group_id(0) * TS, b0 = get_group_id(1) * TS * NN_REC_NB;
  int G = nn_rec_gates(op), HD = dirs * H, u = j0 + lb;
  int L[NN_REC_NB], tp[NN_REC_NB];
  float a0[NN_REC_NB], a1[NN_REC_NB], a2[NN_REC_NB], a3[NN_REC_NB];
  __global const float *W = d ? w1 : w0;
  aux += aux_off;
  for (int i = 0; i < NN_REC_NB; i++) {
    int b = b0 + lb + TS * i;
    L[i] = b < n ? nn_seq_len(len, b, T) : 0;
    tp[i] = d ? L[i] - s : s - 1;   /* the step before t = s (forward) or L - 1 - s (reverse) */
    a0[i] = a1[i] = a2[i] = a3[i] = 0.0f;
  }
  for (int k0 = 0; k0 < H; k0 += TS) {
    int k = k0 + lj, kn = min(TS, H - k0);
    for (int i = 0; i < NN_REC_NB; i++) {
      int b = b0 + lb + TS * i;
      hs[(lb + TS * i) * P1 + lj] = s > 0 && s < L[i] && k < H ? y[((size_t)b * T + tp[i]) * HD + d * H + k] : 0.0f;
    }
    for (int g = 0; g < G; g++) ws[(g * TS + lj) * P1 + lb] = u < H && k < H ? W[(size_t)(g * H + u) * H + k] : 0.0f;
    barrier(CLK_LOCAL_MEM_FENCE);
    for (int kk = 0; kk < kn; kk++) {
      float v0 = ws[kk * P1 + lj], v1 = 0.0f, v2 = 0.0f, v3 = 0.0f;
      if (G > 1) { v1 = ws[(TS + kk) * P1 + lj]; v2 = ws[(2 * TS + kk) * P1 + lj]; }
      if (G > 3) v3 = ws[(3 * TS + kk) * P1 + lj];
      for (int i = 0; i < NN_REC_NB; i++) {
        float hv = hs[(lb + TS * i) * P1 + kk];
        a0[i] += hv * v0; a1[i] += hv * v1; a2[i] += hv * v2; a3[i] += hv * v3;
      }
    }
    barrier(CLK_LOCAL_MEM_FENCE);
  }
  if (j >= H) return;
  for (int i = 0; i < NN_REC_NB; i++)
    if (s < L[i])
      nn_rec_cell(op, s, b0 + lb + TS * i, j, d, T, H, dirs, d ? L[i] - 1 - s : s, tp[i], P, aux, d ? bh1 : bh0, y,
                  a0[i], a1[i], a2[i], a3[i]);
}

/* backward of the cell of unit j of sample b at step s, g the gradient
   that reaches h_t; dh and dc are the unit's own state slots */
void nn_rec_cell_bwd(int op, int s, int b, size_t j, int d, int T, int H, int dirs, int t, int tp, __global float *P,
                     __global float *aux, __global const float *y, __global float *dh, __global float *dc, float g) {
  int GH = nn_rec_gates(op) * H, HD = dirs * H;
  size_t row = (size_t)b * T + t, at = row * HD + (size_t)d * H + j, prev = ((size_t)b * T + tp) * HD + (size_t)d * H + j;
  __global float *p = P + row * dirs * GH + (size_t)d * GH;
  if (op == 0) {
    p[j] = g * (1.0f - y[at] * y[at]);
  } else if (op == 1) {
    float ig = p[j], fg = p[H + j], gg = p[2 * H + j], og = p[3 * H + j], cp = s > 0 ? aux[prev] : 0.0f;
    float tc = tanh(aux[at]), dcn = *dc + g * og * (1.0f - tc * tc);
    p[j] = dcn * gg * ig * (1.0f - ig);
    p[H + j] = dcn * cp * fg * (1.0f - fg);
    p[2 * H + j] = dcn * ig * (1.0f - gg * gg);
    p[3 * H + j] = g * tc * og * (1.0f - og);
    *dc = dcn * fg;
  } else {
    float rg = p[j], zg = p[H + j], ng = p[2 * H + j], hp = s > 0 ? y[prev] : 0.0f;
    float dn = g * (1.0f - zg) * (1.0f - ng * ng);
    p[j] = dn * aux[at] * rg * (1.0f - rg);
    p[H + j] = g * (hp - ng) * zg * (1.0f - zg);
    p[2 * H + j] = dn;
    aux[at] = dn * rg;
    *dh = g * zg;
  }
}

/* backward of step s of every direction (global as forward).  The
   gradient reaching h_t: dy, the direct part dh, and dG_hh of the step
   processed before (t+1 forward, t-1 reverse) times column j of W_hh;
   that dG_hh is still in P (gru's n gate: in aux).  Then p gets dG_ih,
   aux (gru) dG_hn.  Local: gs [NN_REC_NB*TS][TS+1] gate gradients, ws
   [TS][TS+1] W_hh. */
__kernel void nn_rec_step_bwd(int op, int s, int n, int T, int H, int dirs, __global const float *len,
                              __global float *P, __global float *aux, int aux_off, __global const float *w0,
                              __global const float *w1, __global const float *y, __global const float *dy,
                              __global float *dh, __global float *dc, __local float *gs, __local float *ws) {
  int TS = get_local_size(0), lj = get_local_id(0), lb = get_local_id(1), P1 = TS + 1;
  int j = get_global_id(0), d = get_global_id(2), j0 = get_group_id(0) * TS, b0 = get_group_id(1) * TS * NN_REC_NB;
  int G = nn_rec_gates(op), GH = G * H, HD = dirs * H;
  int L[NN_REC_NB];
  float acc[NN_REC_NB];
  __global const float *W = d ? w1 : w0;
  aux += aux_off;
  for (int i = 0; i < NN_REC_NB; i++) {
    int b = b0 + lb + TS * i;
    L[i] = b < n ? nn_seq_len(len, b, T) : 0;
    acc[i] = 0.0f;
  }
  for (int r0 = 0; r0 < GH; r0 += TS) {
    int r = r0 + lj, rn = min(TS, GH - r0), wr = r0 + lb;
    for (int i = 0; i < NN_REC_NB; i++) {
      int b = b0 + lb + TS * i, tn = d ? L[i] - 2 - s : s + 1;   /* the step processed before this one */
      size_t next = (size_t)b * T + tn;
      float v = 0.0f;
      if (s + 1 < L[i] && r < GH)
        v = op == 2 && r >= 2 * H ? aux[next * HD + d * H + r - 2 * H] : P[next * dirs * GH + (size_t)d * GH + r];
      gs[(lb + TS * i) * P1 + lj] = v;
    }
    ws[lb * P1 + lj] = wr < GH && j0 + lj < H ? W[(size_t)wr * H + j0 + lj] : 0.0f;
    barrier(CLK_LOCAL_MEM_FENCE);
    for (int rr = 0; rr < rn; rr++) {
      float w = ws[rr * P1 + lj];
      for (int i = 0; i < NN_REC_NB; i++) acc[i] += gs[(lb + TS * i) * P1 + rr] * w;
    }
    barrier(CLK_LOCAL_MEM_FENCE);
  }
  if (j >= H) return;
  for (int i = 0; i < NN_REC_NB; i++) {
    int b = b0 + lb + TS * i, t = d ? L[i] - 1 - s : s;
    size_t st = ((size_t)d * n + b) * H + j, at = ((size_t)b * T + t) * HD + (size_t)d * H + j;
    if (s < L[i])
      nn_rec_cell_bwd(op, s, b, j, d, T, H, dirs, t, d ? t + 1 : t - 1, P, aux, y, dh + st, dc + st,
                      dy[at] + dh[st] + acc[i]);
  }
}

/* The steps for CPU-like devices (OpenCL CPU runtimes run the work-items
   of a work-group as vector lanes along the first dimension and gain
   nothing from local memory): work-item (unit j, NN_REC_CB samples,
   direction), the units consecutive across lanes, W_hh read straight from
   global memory (it stays in cache), the states broadcast.  The launch
   covers exactly H units: a test of the unit would be masked per lane
   through the whole kernel. */
#define NN_REC_CB 4
/* a[g][i] += h_{t-1}[sample i] . W_hh[g*H + j, :] for GATES gates */
#define NN_REC_HW(GATES)                                                    \
  for (int k = 0; k < H; k++) {                                             \
    __global const float *wk = w + (size_t)k * N;                           \
    float h[NN_REC_CB];                                                     \
    for (int i = 0; i < NN_REC_CB; i++) h[i] = hv[i] ? y[ho[i] + k] : 0.0f; \
    for (int g = 0; g < GATES; g++) {                                       \
      float v = wk[g * H];                                                  \
      for (int i = 0; i < NN_REC_CB; i++) a[g][i] = fma(h[i], v, a[g][i]);  \
    }                                                                       \
  }

/* the cells of the work-item's samples with the op fixed (here and in
   the products the gate count): a test inside a loop, even of a kernel
   argument, would be masked per lane; and unrolled, or the accumulators
   would stay in private memory, read and written lane by lane */
#define NN_REC_CELLS(OP)                                                                                          \
  _Pragma("unroll") for (int i = 0; i < NN_REC_CB; i++) {                                                        \
    if (s < L[i])                                                                                                \
      nn_rec_cell(OP, s, b0 + i, j, d, T, H, dirs, d ? L[i] - 1 - s : s, tp[i], P, aux, d ? bh1 : bh0, y, a[0][i], \
                  a[1][i], a[2][i], a[3][i]);                                                                    \
  }
#define NN_REC_CELLS_BWD(OP)                                                                              \
  _Pragma("unroll") for (int i = 0; i < NN_REC_CB; i++) {                                                \
    int b = b0 + i, t = d ? L[i] - 1 - s : s;                                                            \
    size_t st = ((size_t)d * n + b) * H + j, at = ((size_t)b * T + t) * HD + (size_t)d * H + j;          \
    if (s < L[i])                                                                                        \
      nn_rec_cell_bwd(OP, s, b, j, d, T, H, dirs, t, d ? t + 1 : t - 1, P, aux, y, dh + st, dc + st,     \
                      dy[at] + dh[st] + acc[i]);                                                         \
  }

/* step s of every direction, as nn_rec_step; W_hh^T [H, N] at wt + wh_off */
__kernel void nn_rec_step_cpu(int op, int s, int n, int T, int H, int dirs, __global const float *len,
                              __global float *P, __global float *aux, int aux_off, __global const float *wt, int wh_off,
                              __global const float *bh0, __global const float *bh1, __global float *y) {
  size_t j = get_global_id(0);
  int b0 = get_global_id(1) * NN_REC_CB, d = get_global_id(2);
  int G = nn_rec_gates(op), GH = G * H, N = dirs * GH, HD = dirs * H, any = 0;
  int L[NN_REC_CB], tp[NN_REC_CB], hv[NN_REC_CB];
  size_t ho[NN_REC_CB];
  float a[4][NN_REC_CB];
  __global const float *w = wt + wh_off + d * GH + j;
  aux += aux_off;
  for (int i = 0; i < NN_REC_CB; i++) {
    int b = min(b0 + i, n - 1);
    L[i] = b0 + i < n ? nn_seq_len(len, b, T) : 0;
    tp[i] = d ? L[i] - s : s - 1;   /* the step before t = s (forward) or L - 1 - s (reverse) */
    hv[i] = s > 0 && s < L[i];
    ho[i] = ((size_t)b * T + (hv[i] ? tp[i] : 0)) * HD + d * H;
    any |= s < L[i];
    a[0][i] = a[1][i] = a[2][i] = a[3][i] = 0.0f;
  }
  if (!any) return;
  if (G == 1) NN_REC_HW(1) else if (G == 3) NN_REC_HW(3) else NN_REC_HW(4)
  if (op == 2) NN_REC_CELLS(2) else if (op == 1) NN_REC_CELLS(1) else NN_REC_CELLS(0)
}

/* backward of step s of every direction, as nn_rec_step_bwd: W_hh [GH, H]
   read down column j; dh + zero_off holds GH zeros */
__kernel void nn_rec_step_bwd_cpu(int op, int s, int n, int T, int H, int dirs, __global const float *len,
                                  __global float *P, __global float *aux, int aux_off, __global const float *w0,
                                  __global const float *w1, __global const float *y, __global const float *dy,
                                  __global float *dh, __global float *dc, int zero_off) {
  size_t j = get_global_id(0);
  int b0 = get_global_id(1) * NN_REC_CB, d = get_global_id(2);
  int G = nn_rec_gates(op), GH = G * H, N = dirs * GH, HD = dirs * H, any = 0, from_p = op == 2 ? 2 * H : GH;
  int L[NN_REC_CB];
  __global const float *gp[NN_REC_CB], *ga[NN_REC_CB];
  float acc[NN_REC_CB];
  __global const float *W = (d ? w1 : w0) + j, *zeros = dh + zero_off;
  aux += aux_off;
  for (int i = 0; i < NN_REC_CB; i++) {
    int b = min(b0 + i, n - 1);
    L[i] = b0 + i < n ? nn_seq_len(len, b, T) : 0;
    /* dG_hh of the step processed before (t+1 forward, t-1 reverse), or
       the zeros after dh at a sample's first step back */
    size_t next = (size_t)b * T + (d ? L[i] - 2 - s : s + 1);
    gp[i] = s + 1 < L[i] ? P + next * N + d * GH : zeros;
    ga[i] = s + 1 < L[i] ? aux + next * HD + d * H : zeros;
    any |= s < L[i];
    acc[i] = 0.0f;
  }
  if (!any) return;
  for (int r = 0; r < from_p; r++) {
    float w = W[(size_t)r * H];
    for (int i = 0; i < NN_REC_CB; i++) acc[i] = fma(gp[i][r], w, acc[i]);
  }
  for (int r = from_p; r < GH; r++) {   /* gru's n gate: dG_hn is in aux */
    float w = W[(size_t)r * H];
    for (int i = 0; i < NN_REC_CB; i++) acc[i] = fma(ga[i][r - from_p], w, acc[i]);
  }
  if (op == 2) NN_REC_CELLS_BWD(2) else if (op == 1) NN_REC_CELLS_BWD(1) else NN_REC_CELLS_BWD(0)
}

/* dx[row, f] += dG[row, :] . W_ih[:, f] over both directions' gate
   columns (global: F, rows / NN_REC_MB); rows past a length have no
   gradient and are skipped */
__kernel void nn_rec_dx(int rows, int T, int F, int GH, int dirs, __global const float *len, __global const float *P,
                        __global const float *w0, __global const float *w1, __global float *dx) {
  size_t f = get_global_id(0);
  int r0 = get_global_id(1) * NN_REC_MB, N = dirs * GH, any = 0;
  int ok[NN_REC_MB];
  size_t po[NN_REC_MB];
  float acc[NN_REC_MB];
  if (f >= (size_t)F) return;
  for (int i = 0; i < NN_REC_MB; i++) {
    int row = min(r0 + i, rows - 1), b = row / T;
    ok[i] = r0 + i < rows && row - b * T < nn_seq_len(len, b, T);
    any |= ok[i];
    po[i] = (size_t)row * N;
    acc[i] = 0.0f;
  }
  if (!any) return;
  for (int d = 0; d < dirs; d++) {
    __global const float *W = (d ? w1 : w0) + f;
    for (int m = 0; m < GH; m++) {
      float w = W[(size_t)m * F];
      for (int i = 0; i < NN_REC_MB; i++) acc[i] = fma(P[po[i] + d * GH + m], w, acc[i]);
    }
  }
  for (int i = 0; i < NN_REC_MB; i++)
    if (ok[i]) dx[(size_t)(r0 + i) * F + f] += acc[i];
}

/* rows per work-item of the weight gradients: more than the products'
   (each row of the sequence's values they load serves more) */
#define NN_REC_WB 16
/* acc[i] += A[row, IDX(i)] src[row'] over the slice's steps (rows of A
   astride apart, of src stride apart, row' = row + shift) */
#define NN_REC_WG(IDX)                                                       \
  for (int b = slice * SB; b < nb; b++) {                                    \
    int L = nn_seq_len(len, b, T);                                           \
    for (int t = first; t < L - cut; t++) {                                  \
      size_t row = (size_t)b * T + t;                                        \
      __global const float *a = A + row * astride;                           \
      float v = src[(row + shift) * stride];                                 \
      for (int i = 0; i < NN_REC_WB; i++) acc[i] = fma(a[IDX], v, acc[i]);   \
    }                                                                        \
  }

/* The weight and bias gradients of a slice of the samples: partial sums
   over its valid steps, part[d*S + slice] = [dW_ih [GH, F], dW_hh [GH, H],
   db_ih [GH], db_hh [GH]] (Q floats), added up by nn_rec_wsum.  dG_hh is
   P's, but for gru's n gate: aux.  Three launches, each over exactly its
   columns (no test of the column: it would be masked per lane) and
   dirs * S slices:  kind 0, dW_ih with x (F columns, GH / NN_REC_WB
   blocks of rows); kind 1, dW_hh with the previous states, read from y
   (H columns, the blocks of rows of P's part and of aux's); kind 2, the
   biases (GH columns, one row). */
__kernel void nn_rec_wgrad(int kind, int n, int T, int F, int H, int dirs, int op, int SB, int S,
                           __global const float *len, __global const float *ws, int aux_off, __global const float *x,
                           __global const float *y, __global float *part) {
  size_t col = get_global_id(0);
  int slice = get_global_id(2) % S, d = get_global_id(2) / S;
  int GH = nn_rec_gates(op) * H, N = dirs * GH, HD = dirs * H, C = kind ? H : F, nb = min(n, slice * SB + SB);
  int from_p = op == 2 ? 2 * H : GH;
  size_t Q = (size_t)GH * (F + H + 2);
  __global float *out = part + (size_t)(d * S + slice) * Q;
  if (kind == 2) {
    float si = 0.0f, sh = 0.0f;
    for (int b = slice * SB; b < nb; b++)
      for (int t = 0, L = nn_seq_len(len, b, T); t < L; t++) {
        size_t row = (size_t)b * T + t;
        float v = ws[row * N + d * GH + col];
        si += v;
        sh += col < (size_t)from_p ? v : ws[aux_off + row * HD + d * H + col - from_p];
      }
    out[(size_t)GH * (F + H) + col] = si;
    out[(size_t)GH * (F + H + 1) + col] = sh;
    return;
  }
  /* blocks of rows come from P, then (gru's dW_hn) from aux: each block
     from one, its rows consecutive there */
  int blk = get_global_id(1), pb = (from_p + NN_REC_WB - 1) / NN_REC_WB, in_aux = kind == 1 && blk >= pb;
  int m0 = in_aux ? from_p + (blk - pb) * NN_REC_WB : blk * NN_REC_WB;
  int cnt = min(NN_REC_WB, (in_aux || kind == 0 ? GH : from_p) - m0), astride = in_aux ? HD : N;
  __global const float *A = ws + (in_aux ? aux_off + d * H + m0 - from_p : d * GH + m0);
  float acc[NN_REC_WB];
  for (int i = 0; i < NN_REC_WB; i++) acc[i] = 0.0f;
  /* kind 1: the state before step t is h at t-1 (forward) or t+1 (reverse),
     zero at a first step, so those steps add nothing */
  __global const float *src = (kind ? y + d * H : x) + col;
  int stride = kind ? HD : F, first = kind && !d, cut = kind && d, shift = kind ? (d ? 1 : -1) : 0;
  if (cnt == NN_REC_WB) NN_REC_WG(i) else NN_REC_WG(min(i, cnt - 1))
  /* a loop of fixed length: one of cnt would keep acc in private memory */
  for (int i = 0; i < NN_REC_WB; i++)
    if (i < cnt) out[(kind ? (size_t)GH * F : 0) + (size_t)(m0 + i) * C + col] = acc[i];
}

/* the gradients (+)= the sum of nn_rec_wgrad's S slices, one element of
   a direction's [Q] per work-item; a gradient not wanted is NULL */
__kernel void nn_rec_wsum(int total, int S, int F, int H, int GH, __global const float *part, __global float *dwi0,
                          __global float *dwh0, __global float *dbi0, __global float *dbh0, __global float *dwi1,
                          __global float *dwh1, __global float *dbi1, __global float *dbh1) {
  int idx = get_global_id(0), Q = GH * (F + H + 2);
  if (idx >= total) return;
  int d = idx / Q, e = idx - d * Q, wi = GH * F, wh = wi + GH * H;
  __global float *to = e < wi ? (d ? dwi1 : dwi0) : e < wh ? (d ? dwh1 : dwh0) : e < wh + GH ? (d ? dbi1 : dbi0) : (d ? dbh1 : dbh0);
  if (!to) return;
  float sum = 0.0f;
  for (int s = 0; s < S; s++) sum += part[((size_t)d * S + s) * Q + e];
  to[e < wi ? e : e < wh ? e - wi : e < wh + GH ? e - wh : e - wh - GH] += sum;
}

/* Reductions over valid steps, one work-item per (feature j, sample b),
   the features consecutive across work-items.  All take (T, F, back,
   len, in, out, arg): in, out are x, y forward and dy, dx backward;
   seq_last takes its last `back` features from step 0 (the reverse
   direction of a bidirectional layer); seq_max keeps its winners in arg. */
#define NN_SEQ_ARGS int T, int F, int back, __global const float *len, __global const float *in, __global float *out, \
                    __global float *arg
#define NN_SEQ_ITEM                                                  \
  size_t j = get_global_id(0), o = get_global_id(1) * (size_t)F + j; \
  int b = get_global_id(1), L = nn_seq_len(len, b, T);               \
  if (j >= (size_t)F) return;
__kernel void nn_seq_last_fwd(NN_SEQ_ARGS) {
  NN_SEQ_ITEM
  out[o] = L == 0 ? 0.0f : in[((size_t)b * T + (j < (size_t)(F - back) ? L - 1 : 0)) * F + j];
}
__kernel void nn_seq_last_bwd(NN_SEQ_ARGS) {
  NN_SEQ_ITEM
  if (L > 0) out[((size_t)b * T + (j < (size_t)(F - back) ? L - 1 : 0)) * F + j] += in[o];
}

/* the first maximum wins; arg: its step, -1 for an empty sequence */
__kernel void nn_seq_max_fwd(NN_SEQ_ARGS) {
  NN_SEQ_ITEM
  int at = L ? 0 : -1;
  __global const float *xb = in + (size_t)b * T * F + j;
  float best = L ? xb[0] : 0.0f;
  for (int t = 1; t < L; t++)
    if (xb[(size_t)t * F] > best) { best = xb[(size_t)t * F]; at = t; }
  out[o] = best;
  arg[o] = (float)at;
}
__kernel void nn_seq_max_bwd(NN_SEQ_ARGS) {
  NN_SEQ_ITEM
  int at = (int)arg[o];
  if (at >= 0) out[((size_t)b * T + at) * F + j] += in[o];
}

__kernel void nn_seq_mean_fwd(NN_SEQ_ARGS) {
  NN_SEQ_ITEM
  float s = 0.0f;
  for (int t = 0; t < L; t++) s += in[((size_t)b * T + t) * F + j];
  out[o] = L > 0 ? s / (float)L : 0.0f;
}
/* steps past the length get nothing */
__kernel void nn_seq_mean_bwd(NN_SEQ_ARGS) {
  NN_SEQ_ITEM
  float g = L > 0 ? in[o] / (float)L : 0.0f;
  for (int t = 0; t < L; t++) out[((size_t)b * T + t) * F + j] += g;
}
