/* The partner of synchronised batch norm's tests (tests/test_nn.c on the
   CPU, tests/test_opencl.c on a device): a copy of the model on batch x
   whose partner copy holds -x (with the same output gradient r) must
   normalise and back-propagate exactly as one model on the joint batch
   [x; -x].  The hook plays the partner, adding its sums to ours: its sums
   of x cancel ours, its centred squares and sums of r equal ours, its
   sums of r * xhat are the negatives of ours.  C channels. */
typedef struct { int C, calls, sizes[3], fail; } mirror_sync;
static int mirror_partner(void *ctx, double *sums, int n) {
  mirror_sync *ms = (mirror_sync *)ctx;
  int C = ms->C, i;
  if (ms->calls < 3) ms->sizes[ms->calls] = n;
  ms->calls++;
  if (ms->fail) return nn_set_error("rank 1 is gone");
  if (n == C + 1) { for (i = 0; i < C; i++) sums[i] = 0; sums[C] *= 2; }   /* sums of x, count */
  else if (n == C) for (i = 0; i < C; i++) sums[i] *= 2;                     /* centred squares */
  else { for (i = 0; i < C; i++) { sums[i] *= 2; sums[C + i] = 0; } sums[2 * C] *= 2; }  /* r, r*xhat, count */
  return 1;
}
