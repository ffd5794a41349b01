/* Helpers shared by every kernel file (embedded first).  OpenCL C 1.2.
   Global sizes are rounded up to whole work-groups, so every kernel
   checks its index against the element count it is given.  Work-group
   reductions need a power-of-two local size and a __local float array
   of that many elements; every work-item of the group must call them. */

/* bitwise-closer results to the CPU path: no silent a*b+c -> fma */
#pragma OPENCL FP_CONTRACT OFF

float nn_wg_sum(__local float *s, float v) {
  int l = get_local_id(0);
  s[l] = v;
  barrier(CLK_LOCAL_MEM_FENCE);
  for (int k = get_local_size(0) / 2; k > 0; k >>= 1) {
    if (l < k) s[l] += s[l + k];
    barrier(CLK_LOCAL_MEM_FENCE);
  }
  v = s[0];
  barrier(CLK_LOCAL_MEM_FENCE);
  return v;
}

float nn_wg_max(__local float *s, float v) {
  int l = get_local_id(0);
  s[l] = v;
  barrier(CLK_LOCAL_MEM_FENCE);
  for (int k = get_local_size(0) / 2; k > 0; k >>= 1) {
    if (l < k) s[l] = fmax(s[l], s[l + k]);
    barrier(CLK_LOCAL_MEM_FENCE);
  }
  v = s[0];
  barrier(CLK_LOCAL_MEM_FENCE);
  return v;
}

/* counter-based random bits: a 32-bit integer hash (lowbias32) */
uint nn_hash(uint x) {
  x ^= x >> 16;
  x *= 0x7feb352dU;
  x ^= x >> 15;
  x *= 0x846ca68bU;
  x ^= x >> 16;
  return x;
}
