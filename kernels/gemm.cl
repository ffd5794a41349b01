/* C = alpha op(A) op(B) + beta C, row-major, op(A) [M, K], op(B) [K, N]
   (ta, tb: A, B stored transposed), each matrix at an offset with its
   leading dimension: every product of the examples (see nn__cl_gemm).
   Work-groups of NN_GW x NN_GW (16; the host sets it in the build options,
   smaller under a simulator) compute tiles of 4 NN_GW x 4 NN_GW of C, each
   work-item a 4 x 4 block strided by NN_GW (conflict-free local reads);
   tiles of A and B go through local memory NN_GW columns of K at a time,
   loaded along their contiguous dimension, 4 elements per work-item.
   Any sizes: out-of-range loads read zeros, stores are skipped.  beta 0
   does not read C (it may hold anything, as in BLAS).
   Split along K (when M x N has too few tiles to fill the device): the
   third dimension of the launch numbers slices of kc columns of K; slice s
   writes its partial product to C + s cs (scratch, alpha 1, beta 0) and
   nn_gemm_sum adds the slices into the real C.  Unsplit: kc = K, cs = 0. */
#ifndef NN_GW
#define NN_GW 16
#endif
#define NN_GT (4 * NN_GW)   /* tile of C */
#define NN_GK NN_GW         /* step along K */
__kernel __attribute__((reqd_work_group_size(NN_GW, NN_GW, 1)))
void nn_gemm(int M, int N, int K, int kc, int ta, int tb, float alpha, __global const float *A, int ao, int lda,
             __global const float *B, int bo, int ldb, float beta, __global float *C, int co, int ldc, int cs) {
  __local float as[NN_GK][NN_GT + 1], bs[NN_GK][NN_GT + 1];
  int tx = get_local_id(0), ty = get_local_id(1), t = ty * NN_GW + tx;
  int m0 = get_group_id(1) * NN_GT, n0 = get_group_id(0) * NN_GT;
  int kb = get_group_id(2) * kc, ke = min(K, kb + kc);
  float acc[4][4];
  C += co + get_group_id(2) * cs;
  for (int i = 0; i < 4; i++)
    for (int j = 0; j < 4; j++) acc[i][j] = 0.0f;
  for (int k0 = kb; k0 < ke; k0 += NN_GK) {
    for (int r = 0; r < 4; r++) {
      int e = t + NN_GW * NN_GW * r;
      /* element (m, k) of op(A) and (k, n) of op(B), contiguous index fastest */
      int am = ta ? e % NN_GT : e / NN_GK, ak = ta ? e / NN_GT : e % NN_GK;
      int bn = tb ? e / NN_GK : e % NN_GT, bk = tb ? e % NN_GK : e / NN_GT;
      int gm = m0 + am, gk = k0 + ak, gn = n0 + bn, hk = k0 + bk;
      as[ak][am] = gm < M && gk < ke ? A[ao + (ta ? gk * lda + gm : gm * lda + gk)] : 0.0f;
      bs[bk][bn] = gn < N && hk < ke ? B[bo + (tb ? gn * ldb + hk : hk * ldb + gn)] : 0.0f;
    }
    barrier(CLK_LOCAL_MEM_FENCE);
    for (int k = 0; k < NN_GK; k++) {
      float a[4], b[4];
      for (int i = 0; i < 4; i++) { a[i] = as[k][ty + NN_GW * i]; b[i] = bs[k][tx + NN_GW * i]; }
      for (int i = 0; i < 4; i++)
        for (int j = 0; j < 4; j++) acc[i][j] = fma(a[i], b[j], acc[i][j]);
    }
    barrier(CLK_LOCAL_MEM_FENCE);
  }
  for (int i = 0; i < 4; i++)
    for (int j = 0; j < 4; j++) {
      int m = m0 + ty + NN_GW * i, n = n0 + tx + NN_GW * j;
      if (m < M && n < N) {
        __global float *c = C + m * ldc + n;
        *c = beta == 0.0f ? alpha * acc[i][j] : alpha * acc[i][j] + beta * *c;
      }
    }
}

/* C = alpha (sum of the S slices of nn_gemm's split product P, each M x N
   packed) + beta C, one element per work-item; beta 0 does not read C */
__kernel void nn_gemm_sum(int M, int N, int S, __global const float *P, float alpha, float beta, __global float *C,
                          int co, int ldc) {
  int i = get_global_id(0), mn = M * N;
  if (i >= mn) return;
  float sum = 0.0f;
  for (int s = 0; s < S; s++) sum += P[s * mn + i];
  __global float *c = C + co + i / N * ldc + i % N;
  *c = beta == 0.0f ? alpha * sum : alpha * sum + beta * *c;
}
