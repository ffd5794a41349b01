/* Optimizer updates and the weight-averaging helpers, the same math as
   the CPU backend's update: SGD (momentum, Nesterov), Adam and
   RMSprop, with L2 or decoupled weight decay and L1.  kind: 0 SGD, 1 Adam,
   2 RMSprop (nn_opt_kind); bc1, bc2: Adam's bias corrections. */
__kernel void nn_update(int n, int kind, int decoupled, int nesterov, float lr, float wd, float mom,
                        float beta1, float beta2, float eps, float gs, float l1, float bc1, float bc2,
                        __global float *w, __global const float *g, __global float *s1, __global float *s2) {
  int i = get_global_id(0);
  if (i >= n) return;
  float wi = w[i], gi = g[i] * gs + l1 * (float)((wi > 0.0f) - (wi < 0.0f)), d;
  if (decoupled) wi -= lr * wd * wi;
  else gi += wd * wi;
  if (kind == 0) {
    if (mom != 0.0f) {
      float m = mom * s1[i] + gi;
      s1[i] = m;
      gi = nesterov ? gi + mom * m : m;
    }
    wi -= lr * gi;
  } else if (kind == 1) {
    float m = beta1 * s1[i] + (1.0f - beta1) * gi, v = beta2 * s2[i] + (1.0f - beta2) * gi * gi;
    s1[i] = m;
    s2[i] = v;
    wi -= lr * (m / bc1) / (sqrt(v / bc2) + eps);
  } else {
    float v = beta2 * s2[i] + (1.0f - beta2) * gi * gi;
    s2[i] = v;
    d = gi / (sqrt(v) + eps);
    if (mom != 0.0f) { d = mom * s1[i] + d; s1[i] = d; }
    wi -= lr * d;
  }
  w[i] = wi;
}

/* a += t * (b - a) */
__kernel void nn_lerp(int n, float t, __global float *a, __global const float *b) {
  int i = get_global_id(0);
  if (i < n) a[i] += t * (b[i] - a[i]);
}

__kernel void nn_scale_inplace(int n, float s, __global float *x) {
  int i = get_global_id(0);
  if (i < n) x[i] *= s;
}
