/* Build:  cc -O2 -I. examples/xor.c -lm
   Faster: cc -O3 -march=native -fopenmp -I. examples/xor.c -lm
   Run:    ./a.out --help

   A 2-8-1 MLP (tanh hidden layer, sigmoid output through
   bce_with_logits) learns XOR with Adam.  XOR is not linearly separable,
   so the hidden layer is what makes it learnable.

   The data are the four points (0,0)->0 (0,1)->1 (1,0)->1 (1,1)->0; with
   --data FILE.csv, rows "x1,x2,target" instead (an optional header line).
   Training and test set are the same points.  One epoch is 50 full-batch
   steps (four points are too few for epochs to mean much);
   test_accuracy is the fraction of points whose sigmoid output lands on
   the right side of 0.5.  --checkpoint/--resume carry the weights and
   Adam's state from one run to the next. */
#define NN_IMPLEMENTATION
#include "common.h"

#define STEPS_PER_EPOCH 50

/* loss and accuracy of the whole set in eval mode */
static double evaluate(const ex_args *a, nn_model *m, const nn_node *logit, const float *t, int n, float *z,
                       double *loss) {
  int i, right = 0;
  if (!nn_forward(m, 0) || !nn_read(m, logit, z)) ex_die(a, "evaluation");
  *loss = nn_loss(m);
  for (i = 0; i < n; i++) right += (z[i] > 0) == (t[i] > 0.5f);
  return (double)right / n;
}

int main(int argc, char **argv) {
  static const float xor_data[4 * 3] = {0, 0, 0, 0, 1, 1, 1, 0, 1, 1, 1, 0};
  ex_args a;
  nn_graph *g;
  nn_model *m;
  nn_optimizer *opt;
  nn_node *x, *t, *logit;
  nn_checkpoint_info info;
  FILE *log;
  float *rows, *xs, *ts, *z;
  int n = 4, i, e, s, two = 2, one = 1, done;
  double seconds = 0, acc = 0, loss = 0;

  memset(&a, 0, sizeof a);
  a.prog = "xor";
  a.about = "a 2-8-1 MLP learns XOR";
  a.notes = "one epoch is 50 full-batch Adam steps over the points";
  a.extra = EX_LR;
  a.device = "cpu";
  a.epochs = 10;
  a.lr = 0.05f;
  a.seed = 1;
  ex_parse(&a, argc, argv);

  if (a.data) rows = ex_read_csv(&a, a.data, 3, &n);
  else {
    rows = (float *)malloc(sizeof xor_data);
    if (rows) memcpy(rows, xor_data, sizeof xor_data);
  }
  if (a.limit && a.limit < n) n = a.limit;
  xs = (float *)malloc((size_t)n * 2 * sizeof *xs);
  ts = (float *)malloc((size_t)n * sizeof *ts);
  z = (float *)malloc((size_t)n * sizeof *z);
  if (!rows || !xs || !ts || !z) { fprintf(stderr, "xor: out of memory\n"); return 1; }
  for (i = 0; i < n; i++) {
    xs[2 * i] = rows[3 * i];
    xs[2 * i + 1] = rows[3 * i + 1];
    ts[i] = rows[3 * i + 2];
  }

  g = nn_graph_new();
  if (!g) ex_die(&a, "graph");
  nn_graph_set_seed(g, a.seed);
  x = nn_input(g, "x", 1, &two);
  t = nn_input(g, "target", 1, &one);
  nn_layer_name(g, "hidden");
  logit = nn_tanh(g, nn_dense(g, x, 8));
  nn_layer_name(g, "out");
  logit = nn_dense(g, logit, 1);
  nn_bce_with_logits(g, logit, t, NN_MEAN);
  if (!(m = nn_compile(g, n, ex_backend(&a)))) ex_die(&a, "cannot build the model");
  if (!(opt = nn_adam(m, a.lr, 0.9f, 0.999f, 1e-8f, 0.0f, 0))) ex_die(&a, "optimizer");
  memset(&info, 0, sizeof info);
  done = ex_resume(&a, a.epochs, m, opt, NULL, &info);
  log = ex_log_open(&a);
  if (!a.quiet) nn_summary(m, stdout);
  if (!nn_feed(m, "x", xs) || !nn_feed(m, "target", ts)) ex_die(&a, "feeding the data");

  for (e = done + 1; e <= a.epochs; e++) {
    double t0 = ex_now(), sum = 0;
    for (s = 0; s < STEPS_PER_EPOCH; s++, info.step++) {
      float l = nn_train_step(m, opt);
      if (l != l) ex_die(&a, "training");
      sum += l;
    }
    seconds += ex_now() - t0;
    acc = evaluate(&a, m, logit, ts, n, z, &loss);
    ex_epoch_report(log, e, a.epochs, sum / STEPS_PER_EPOCH, acc, loss, acc, ex_now() - t0);
    info.epoch = e;
    ex_checkpoint(&a, m, opt, NULL, &info);
  }
  if (done == a.epochs) acc = evaluate(&a, m, logit, ts, n, z, &loss);   /* nothing left to train */
  ex_save(&a, m, logit);

  for (i = 0; i < n; i++)
    printf("  %g xor %g -> %.4f (target %g)\n", xs[2 * i], xs[2 * i + 1], 1.0 / (1.0 + exp(-z[i])), ts[i]);
  printf("RESULT test_accuracy=%.6f train_seconds=%.4f epochs=%d test_loss=%.6f\n", acc, seconds, a.epochs, loss);
  if (log) fclose(log);
  nn_optimizer_free(opt);
  nn_model_free(m);
  free(rows); free(xs); free(ts); free(z);
  return 0;
}
