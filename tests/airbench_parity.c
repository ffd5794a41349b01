/* examples/cifar10.c against airbench94's own PyTorch training code.
   The example's network (widths 32/32/32: its 3x3 convolutions of 32
   channels run nn.h's Winograd path), optimizer translation, schedule,
   lookahead and whitening-bias freeze run 12 steps of batch 16 on seeded
   inputs and weights; the per-step losses and the final eval-mode logits
   must match tests/airbench_reference.txt, which
   tests/airbench_reference.py computed with legacy/airbench94.py's code
   in float64 from the same start.  Regenerate the reference (needs torch):
     cc -O2 -I. tests/airbench_parity.c -o build/airbench_parity -lm
     build/airbench_parity --dump build/airbench_start.bin
     python3 tests/airbench_reference.py build/airbench_start.bin > tests/airbench_reference.txt
   Run: build/airbench_parity tests/airbench_reference.txt
   The seed of the inputs matters: with some seeds a max-pooling window or
   another discrete choice is a near tie that float32 rounding decides,
   and after it the trajectories part by ~1e-5 (seeds 2024 and 11 did so
   under some compilers' flags or summation orders); seed 7 passes with
   -O2 and with -O3 -march=native.
   Last line: "N passed, N failed". */
#define main cifar10_main
#include "../examples/cifar10.c"
#undef main

enum { B = 16, T = 12, FREEZE = 7 };

/* seeded values for every parameter, so the start does not depend on nn.h's initialisers */
static void set_weights(nn_model *m, nn_rng *r) {
  int i;
  for (i = 0; i < nn_graph_num_nodes(m->graph); i++) {
    nn_node *p = nn_graph_node(m->graph, i);
    size_t k, len = nn_node_numel(m, p);
    float *v, scale;
    if (p->op != NN_OP_PARAM) continue;
    v = (float *)malloc(len * sizeof *v);
    scale = p->shape.ndim > 1 ? 1.0f / sqrtf((float)(len / (size_t)p->shape.dim[0])) : 0.1f;
    for (k = 0; k < len; k++) v[k] = scale * nn_rng_normal(r);
    if (strstr(p->name, ".weight") && p->shape.ndim == 1) for (k = 0; k < len; k++) v[k] = 1;   /* frozen scale */
    if (strstr(p->name, "running_var")) for (k = 0; k < len; k++) v[k] = 1 + 0.5f * nn_rng_uniform(r);
    nn_write(m, p, v);
    free(v);
  }
}

/* inputs, labels and parameters in order, as float32 (parameters as count + values) */
static void dump_start(const char *path, nn_model *m, const float *x, const float *y) {
  FILE *f = fopen(path, "wb");
  int i;
  if (!f) { fprintf(stderr, "cannot write %s\n", path); exit(1); }
  fwrite(x, sizeof *x, (size_t)T * B * PIXELS, f);
  fwrite(y, sizeof *y, (size_t)T * B, f);
  for (i = 0; i < nn_graph_num_nodes(m->graph); i++) {
    nn_node *p = nn_graph_node(m->graph, i);
    int32_t len = (int32_t)nn_node_numel(m, p);
    float *v;
    if (p->op != NN_OP_PARAM) continue;
    v = (float *)malloc((size_t)len * sizeof *v);
    nn_read(m, p, v);
    fwrite(&len, sizeof len, 1, f);
    fwrite(v, sizeof *v, (size_t)len, f);
    free(v);
  }
  fclose(f);
}

int main(int argc, char **argv) {
  recipe r = airbench_recipes[AIRBENCH];
  trainer t;
  nn_rng rng;
  net n;
  nn_graph *g = nn_graph_new();
  nn_model *m;
  float *x = (float *)malloc(sizeof(float) * T * B * PIXELS), y[T * B], loss[T], logits[B * CLASSES];
  float ref_loss[T], ref_logits[B * CLASSES];
  double worst_loss = 0, worst_logit = 0, scale = 0;
  int i, s, passed = 0, failed = 0;
  FILE *f;
  r.widths[0] = 32; r.widths[1] = 32; r.widths[2] = 32;
  n = build(g, &r);
  if (!(m = nn_compile(g, B, nn_cpu_backend()))) { printf("compile: %s\n0 passed, 1 failed\n", nn_last_error()); return 1; }
  nn_rng_seed(&rng, 7);
  for (i = 0; i < T * B * PIXELS; i++) x[i] = nn_rng_normal(&rng) + 0.3f * (float)((i / 7) % 5);
  for (i = 0; i < T * B; i++) y[i] = (float)nn_rng_int(&rng, CLASSES);
  set_weights(m, &rng);
  if (argc == 3 && !strcmp(argv[1], "--dump")) { dump_start(argv[2], m, x, y); return 0; }
  if (argc != 2) { fprintf(stderr, "usage: airbench_parity REFERENCE.txt | --dump FILE\n"); return 2; }
  if (!trainer_init(&t, m, &r, B, T)) { printf("trainer: %s\n0 passed, 1 failed\n", nn_last_error()); return 1; }
  for (s = 0; s < T; s++) {
    if (s == FREEZE) nn_set_lr_mult(nn_node_input(n.whiten, 2), 0.0f);   /* as at airbench's epoch 3 */
    nn_feed(m, "image", x + (size_t)s * B * PIXELS);
    nn_feed(m, "label", y + (size_t)s * B);
    loss[s] = train_step(&t);
  }
  nn_feed(m, "image", x);
  nn_predict(m, n.logits);
  nn_read(m, n.logits, logits);

  if (!(f = fopen(argv[1], "r"))) { printf("cannot open %s\n0 passed, 1 failed\n", argv[1]); return 1; }
  for (i = 0; i < T; i++) if (fscanf(f, " loss %*d %f", &ref_loss[i]) != 1) break;
  for (s = 0; i == T && s < B * CLASSES; s++) if (fscanf(f, " logit %*d %*d %f", &ref_logits[s]) != 1) break;
  fclose(f);
  if (i != T || s != B * CLASSES) { printf("FAIL: %s is not a reference file\n0 passed, 1 failed\n", argv[1]); return 1; }
  for (i = 0; i < T; i++) worst_loss = fmax(worst_loss, fabs(loss[i] - ref_loss[i]) / fabs(ref_loss[i]));
  for (i = 0; i < B * CLASSES; i++) {
    worst_logit = fmax(worst_logit, fabs(logits[i] - ref_logits[i]));
    scale = fmax(scale, fabs(ref_logits[i]));
  }
  /* float32 here against float64 there: about 1e-7 of the loss and 1e-6 of
     the logits; a wrong momentum, decay or schedule moves the logits by 1e-4 or more */
  if (worst_loss < 1e-5) { passed++; printf("PASS: losses of 12 steps match airbench94 (worst relative difference %.1e)\n", worst_loss); }
  else { failed++; printf("FAIL: losses differ from airbench94 by %.1e (relative)\n", worst_loss); }
  if (worst_logit < 2e-5) { passed++; printf("PASS: logits after training match airbench94 (worst %.1e of %.2f)\n", worst_logit, scale); }
  else { failed++; printf("FAIL: logits after training differ from airbench94 by %.1e (of %.2f)\n", worst_logit, scale); }
  printf("%d passed, %d failed\n", passed, failed);
  nn_ema_free(t.lookahead);
  nn_optimizer_free(t.opt);
  nn_model_free(m);
  free(x);
  return failed != 0;
}
