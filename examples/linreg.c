/* Build:  cc -O2 -I. examples/linreg.c -lm
   Faster: cc -O3 -march=native -fopenmp -I. examples/linreg.c -lm
   Run:    ./a.out --help

   Linear regression by mini-batch gradient descent: one dense layer with
   two inputs and one output, mean squared error, plain SGD whose learning
   rate follows a cosine from --lr down to 0.

   The data are synthetic: x1, x2 ~ U(-1, 1) and y = 3 x1 - 2 x2 + 0.5 plus
   Gaussian noise of deviation 0.03 (--seed picks them), 1000 training and
   200 held-out points.  With --data FILE.csv, rows "x1,x2,y" instead (an
   optional header line), of which the last 20% are held out.
   test_accuracy is the fraction of held-out points predicted within 0.1
   of their y; weight_error is the largest distance of w1, w2 and the bias
   from 3, -2 and 0.5 (synthetic data only). */
#define NN_IMPLEMENTATION
#include "common.h"

#define N_TRAIN 1000
#define N_TEST 200
#define TOLERANCE 0.1
static const float true_w[3] = {3.0f, -2.0f, 0.5f};   /* w1, w2, bias */

/* mean squared error and the fraction within TOLERANCE, eval mode */
static double evaluate(const ex_args *a, nn_model *m, const nn_node *pred, const float *xy, int n, int batch,
                       float *xb, float *yb, float *out, double *mse) {
  int start, i, hits = 0;
  *mse = 0;
  for (start = 0; start < n; start += batch) {
    int k = n - start < batch ? n - start : batch;
    for (i = 0; i < k; i++) {
      xb[2 * i] = xy[3 * (start + i)];
      xb[2 * i + 1] = xy[3 * (start + i) + 1];
      yb[i] = xy[3 * (start + i) + 2];
    }
    if (!nn_set_batch(m, k) || !nn_feed(m, "x", xb) || !nn_predict(m, pred) || !nn_read(m, pred, out))
      ex_die(a, "evaluation");
    for (i = 0; i < k; i++) {
      double d = (double)out[i] - yb[i];
      *mse += d * d;
      hits += fabs(d) < TOLERANCE;
    }
  }
  *mse /= n;
  return (double)hits / n;
}

int main(int argc, char **argv) {
  ex_args a;
  nn_graph *g;
  nn_model *m;
  nn_optimizer *opt;
  nn_node *x, *y, *pred;
  nn_rng rng;
  nn_checkpoint_info info;   /* counters and the shuffling generator, for --checkpoint/--resume */
  FILE *log;
  float *xy, *xb, *yb, *out, w[3];
  int n, n_train, n_test, i, e, s, steps, *order, two = 2, one = 1, done;
  double seconds = 0, acc = 0, mse = 0, werr = 0;

  memset(&a, 0, sizeof a);
  a.prog = "linreg";
  a.about = "linear regression y = 3 x1 - 2 x2 + 0.5 by gradient descent";
  a.extra = EX_BATCH | EX_LR;
  a.device = "cpu";
  a.epochs = 20;
  a.batch = 32;
  a.lr = 0.1f;
  a.seed = 1;
  ex_parse(&a, argc, argv);
  nn_rng_seed(&rng, a.seed);

  if (a.data) {
    xy = ex_read_csv(&a, a.data, 3, &n);
    if (n < 2) { fprintf(stderr, "linreg: '%s' needs at least 2 rows\n", a.data); return 1; }
    n_test = n / 5 > 0 ? n / 5 : 1;
    n_train = n - n_test;
  } else {
    n_train = N_TRAIN;
    n_test = N_TEST;
    n = n_train + n_test;
    if (!(xy = (float *)malloc((size_t)n * 3 * sizeof *xy))) { fprintf(stderr, "linreg: out of memory\n"); return 1; }
    for (i = 0; i < n; i++) {
      float x1 = 2 * nn_rng_uniform(&rng) - 1, x2 = 2 * nn_rng_uniform(&rng) - 1;
      xy[3 * i] = x1;
      xy[3 * i + 1] = x2;
      xy[3 * i + 2] = true_w[0] * x1 + true_w[1] * x2 + true_w[2] + 0.03f * nn_rng_normal(&rng);
    }
  }
  if (a.limit && a.limit < n_train) n_train = a.limit;   /* the held-out rows stay where they are */
  xb = (float *)malloc((size_t)a.batch * 2 * sizeof *xb);
  yb = (float *)malloc((size_t)a.batch * sizeof *yb);
  out = (float *)malloc((size_t)a.batch * sizeof *out);
  order = (int *)malloc((size_t)n_train * sizeof *order);
  if (!xb || !yb || !out || !order) { fprintf(stderr, "linreg: out of memory\n"); return 1; }

  g = nn_graph_new();
  if (!g) ex_die(&a, "graph");
  nn_graph_set_seed(g, a.seed);
  x = nn_input(g, "x", 1, &two);
  y = nn_input(g, "y", 1, &one);
  nn_layer_name(g, "linear");
  pred = nn_dense(g, x, 1);
  nn_mse(g, pred, y, NN_MEAN);
  if (!(m = nn_compile(g, a.batch, ex_backend(&a)))) ex_die(&a, "cannot build the model");
  if (!(opt = nn_sgd(m, a.lr, 0.0f, 0.0f, 0))) ex_die(&a, "optimizer");
  memset(&info, 0, sizeof info);
  info.data_rng = rng;   /* shuffles go on from where the data generation stopped */
  done = ex_resume(&a, a.epochs, m, opt, NULL, &info);
  log = ex_log_open(&a);
  if (!a.quiet) nn_summary(m, stdout);
  printf("linreg: %d training and %d held-out points, batch %d, lr %g\n", n_train, n_test, a.batch, a.lr);

  steps = (n_train + a.batch - 1) / a.batch;
  for (e = done + 1; e <= a.epochs; e++) {
    double t0 = ex_now(), train_mse, train_acc;
    for (i = 0; i < n_train; i++) order[i] = i;   /* each epoch's order depends on the generator only */
    nn_shuffle(&info.data_rng, order, n_train);
    for (s = 0; s < steps; s++) {
      int k = n_train - s * a.batch < a.batch ? n_train - s * a.batch : a.batch;
      float l;
      for (i = 0; i < k; i++) {
        const float *r = xy + 3 * order[s * a.batch + i];
        xb[2 * i] = r[0];
        xb[2 * i + 1] = r[1];
        yb[i] = r[2];
      }
      nn_optimizer_set_lr(opt, nn_lr_cosine(a.lr, info.step++, (long)a.epochs * steps, 0, 0.0f));
      if (!nn_set_batch(m, k) || !nn_feed(m, "x", xb) || !nn_feed(m, "y", yb)) ex_die(&a, "feeding a batch");
      l = nn_train_step(m, opt);
      if (l != l) ex_die(&a, "training");
    }
    seconds += ex_now() - t0;
    /* both sets measured after the epoch; "loss" is the mean squared error */
    train_acc = evaluate(&a, m, pred, xy, n_train, a.batch, xb, yb, out, &train_mse);
    acc = evaluate(&a, m, pred, xy + (size_t)3 * (n - n_test), n_test, a.batch, xb, yb, out, &mse);
    ex_epoch_report(log, e, a.epochs, train_mse, train_acc, mse, acc, ex_now() - t0);
    info.epoch = e;
    ex_checkpoint(&a, m, opt, NULL, &info);
  }
  if (done == a.epochs) acc = evaluate(&a, m, pred, xy + (size_t)3 * (n - n_test), n_test, a.batch, xb, yb, out, &mse);
  ex_save(&a, m, pred);

  if (!nn_read(m, nn_node_input(pred, 1), w) || !nn_read(m, nn_node_input(pred, 2), w + 2)) ex_die(&a, "reading weights");
  printf("learned: y = %.4f x1 %+.4f x2 %+.4f", w[0], w[1], w[2]);
  if (!a.data) {
    for (i = 0; i < 3; i++) werr = fabs(w[i] - true_w[i]) > werr ? fabs(w[i] - true_w[i]) : werr;
    printf("   (true: y = 3 x1 - 2 x2 + 0.5)");
  }
  printf("\n");
  printf("RESULT test_accuracy=%.6f train_seconds=%.4f epochs=%d test_mse=%.6f", acc, seconds, a.epochs, mse);
  if (!a.data) printf(" weight_error=%.6f", werr);
  printf("\n");
  if (log) fclose(log);
  nn_optimizer_free(opt);
  nn_model_free(m);
  free(xy); free(xb); free(yb); free(out); free(order);
  return 0;
}
