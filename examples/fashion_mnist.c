/* Build:  cc -O2 -I. examples/fashion_mnist.c -lm
   Faster: cc -O3 -march=native -fopenmp -I. examples/fashion_mnist.c -lm
   OpenCL: cc -O2 -I. -DNN_OPENCL examples/fashion_mnist.c -lOpenCL -lclblast -lm   (--device opencl)
   MPI:    mpicc -O2 -I. -DNN_MPI examples/fashion_mnist.c -lm; mpirun -np 2 ./a.out   (examples/mpi.h)
   Run:    ./a.out --help

   Fashion-MNIST (28x28 grey images of 10 kinds of clothing) with a small
   CNN (default) or an MLP.  Get the data with tools/fetch_data.sh
   fashion-mnist; --data DIR holds the four unzipped IDX files.

   cnn: conv 32 3x3 -> bn -> relu -> maxpool 2 -> conv 64 3x3 -> bn -> relu
        -> maxpool 2 -> dense 128 -> relu -> dropout 0.3 -> dense 10
   mlp: dense 256 -> relu -> dropout 0.2 -> dense 128 -> relu -> dense 10
   Both: SGD with Nesterov momentum 0.9, weight decay 5e-4 (not on biases
   and batch-norm), a cosine learning-rate schedule with a short warm-up,
   inputs normalised with the training set's mean and deviation, random
   horizontal flips.

   --checkpoint FILE saves the run after every epoch; --resume FILE (with
   the same flags) continues it exactly as if it had not stopped.
   --val N holds out N training images to keep the epoch best on them
   (--patience K: stop after K epochs without a better one); see
   examples/common.h.
   train_seconds counts the training steps of this process only;
   evaluation is not in it. */
#define NN_IMPLEMENTATION
#include "common.h"
#ifdef NN_MPI
#include "mpi.h"
#endif

#include "fmnist.h"

/* mirrors each image left-right with probability 1/2 */
static void random_flip(nn_rng *rng, float *x, int n) {
  int k, r, c;
  for (k = 0; k < n; k++) {
    if (nn_rng_uniform(rng) < 0.5f) continue;
    for (r = 0; r < 28; r++) {
      float *row = x + (size_t)k * PIXELS + r * 28;
      for (c = 0; c < 14; c++) {
        float t = row[c];
        row[c] = row[27 - c];
        row[27 - c] = t;
      }
    }
  }
}

/* test set in eval mode, last batch partial; fills cm, returns the accuracy */
static double evaluate(const ex_args *a, nn_model *m, const nn_node *logits, const nn_dataset *d, int batch,
                       float *out, int *cm, double *loss) {
  int start, correct = 0;
  *loss = 0;
  memset(cm, 0, CLASSES * CLASSES * sizeof *cm);
  for (start = 0; start < d->n; start += batch) {
    int n = d->n - start < batch ? d->n - start : batch;
    if (!nn_set_batch(m, n) || !nn_feed(m, "image", d->x + (size_t)start * PIXELS) || !nn_predict(m, logits) ||
        !nn_read(m, logits, out))
      ex_die(a, "evaluation");
    *loss += nn_cross_entropy_sum(out, d->y + start, n, CLASSES, &correct);
    nn_confusion_add(cm, CLASSES, out, d->y + start, n);
  }
  *loss /= d->n;
  return (double)correct / d->n;
}

/* --prune-channels: the CNN rebuilt with fewer channels, the kept ones'
   weights copied (nn_compress.h), fine-tuned for a fifth of the epochs
   (at least one) at a fifth of the learning rate; the accuracy and the
   images/s of the test pass of both models.  Appends to `result`. */
static void slim(const ex_args *a, nn_graph *big, nn_model *m, const nn_dataset *train, const nn_dataset *test, float *out,
                 char *result, size_t len) {
  nn_graph *g;
  nn_model *s;
  nn_optimizer *o;
  nn_batches *it;
  nn_node *logits;
  nn_rng rng;
  ex_slim sl;
  int cm[CLASSES * CLASSES], e, epochs = a->epochs / 5 + 1;
  long step = 0, total;
  double t0, t_big, t_slim, acc_big, acc_slim0, acc_slim, loss;
  ex_slim_rank(a, big, m, &sl);
  if (sl.n < 2) { ex_slim_free(&sl); return; }   /* the MLP has no channels */
  g = nn_graph_new();
  nn_graph_set_seed(g, a->seed);
  logits = fm_build(g, "cnn", sl.nkept[0], sl.nkept[1], NULL);
  if (!(s = nn_compile(g, a->batch, ex_backend(a)))) ex_die(a, "--prune-channels");
  ex_slim_copy(a, m, s, &sl);
  t0 = ex_now();
  acc_big = evaluate(a, m, nn_model_find(m, "logits"), test, a->batch, out, cm, &loss);
  t_big = ex_now() - t0;
  acc_slim0 = evaluate(a, s, logits, test, a->batch, out, cm, &loss);
  if (!(o = nn_sgd(s, a->lr / 5, 0.9f, 5e-4f, NN_NESTEROV))) ex_die(a, "--prune-channels");
  nn_rng_seed(&rng, a->seed + 3);
  if (!(it = nn_batches_new(s, train, &rng))) ex_die(a, "--prune-channels");
  total = (long)it->count * epochs;
  for (e = 0; e < epochs; e++)
    while (nn_batches_next(it) > 0) {
      random_flip(&rng, it->x, it->n);
      nn_optimizer_set_lr(o, nn_lr_cosine(a->lr / 5, step++, total, 0, 0.0f));
      if (!nn_feed(s, "image", it->x) || !nn_feed(s, "label", it->y)) ex_die(a, "--prune-channels: fine-tuning");
      loss = nn_train_step(s, o);
      if (loss != loss) ex_die(a, "--prune-channels: fine-tuning");
    }
  t0 = ex_now();
  acc_slim = evaluate(a, s, logits, test, a->batch, out, cm, &loss);
  t_slim = ex_now() - t0;
  ex_slim_report(&sl, m, s, acc_big, acc_slim0, acc_slim, epochs, test->n / t_big, test->n / t_slim, result, len);
  ex_slim_free(&sl);
  nn_batches_free(it);
  nn_optimizer_free(o);
  nn_model_free(s);
}

int main(int argc, char **argv) {
  ex_args a;
  nn_dataset *train, *test, *val;
  nn_graph *g;
  nn_model *m;
  nn_optimizer *opt;
  nn_node *logits;
  nn_checkpoint_info info;   /* epoch and step counters, the generator for shuffles and flips */
  ex_best best;              /* --val: the epoch kept */
  FILE *log;
#ifdef NN_MPI
  ex_batches *it;   /* global batches, the same on every rank */
#else
  nn_batches *it;
#endif
  float *out;
  int cm[CLASSES * CLASSES], vcm[CLASSES * CLASSES], steps, e, i, cnn, done, last, batch;
  char int8_result[512];
  nn_prune *pruner = NULL;
  long total_steps, warmup;
  double train_seconds = 0, t_start = ex_now(), test_acc = 0, test_loss = 0;

  memset(&a, 0, sizeof a);
  a.prog = "fashion_mnist";
  a.about = "classify Fashion-MNIST images with a CNN or an MLP";
  a.notes = "defaults per model: cnn --epochs 10 --lr 0.05, mlp --epochs 12 --lr 0.05";
  a.extra = EX_MODEL | EX_BATCH | EX_LR | EX_INT8 | EX_PRUNE | EX_PRUNE_CHANNELS | EX_VAL;
  a.models = "cnn|mlp";
  a.model = "cnn";
  a.data = "data/fashion-mnist";
  a.device = "cpu";
  a.batch = 128;
  a.seed = 1;
  ex_parse(&a, argc, argv);
  batch = a.batch;   /* the model's: this rank's share under MPI */
#ifdef NN_MPI
  ex_mpi_start(&a);
  batch = ex_mpi_batch(&a, a.batch);
#endif
  cnn = !strcmp(a.model, "cnn");
  if (!a.epochs) a.epochs = cnn ? 10 : 12;
  if (!(a.lr > 0)) a.lr = 0.05f;

  train = fm_load(&a, "train-images-idx3-ubyte", "train-labels-idx1-ubyte");
  test = fm_load(&a, "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte");
  fm_normalize(train->x, (size_t)train->n * PIXELS);
  fm_normalize(test->x, (size_t)test->n * PIXELS);
  if (a.limit) nn_dataset_truncate(train, a.limit);
  val = ex_val_split(&a, train);

  g = nn_graph_new();
  if (!g) ex_die(&a, "graph");
  nn_graph_set_seed(g, a.seed);
  logits = fm_build(g, a.model, 32, 64, NULL);
  for (i = 0; i < nn_graph_num_nodes(g); i++) {   /* no weight decay on biases and batch norm */
    nn_node *p = nn_graph_node(g, i);
    if (p->op == NN_OP_PARAM && p->shape.ndim == 1) nn_set_wd_mult(p, 0.0f);
  }
  if (!(m = nn_compile(g, batch, ex_backend(&a)))) ex_die(&a, "cannot build the model");
  nn_model_set_seed(m, a.seed + 1);
#ifdef NN_MPI
  ex_mpi_attach(&a, m);
#endif
  if (!(opt = nn_sgd(m, a.lr, 0.9f, 5e-4f, NN_NESTEROV))) ex_die(&a, "optimizer");
  memset(&info, 0, sizeof info);
  nn_rng_seed(&info.data_rng, a.seed + 2);
  ex_best_init(&a, &best, m);
  done = last = ex_resume(&a, a.epochs, m, opt, NULL, &info);
  ex_best_check(&a, &best);
  /* after --resume: the masks are the checkpoint's zeros */
  if (a.prune > 0) pruner = ex_prune_new(&a, m);
  log = ex_log_open(&a);

  printf("fashion_mnist: model %s, %d training / %s%d test images, batch %d, %d epochs, lr %g, %d thread(s)\n", a.model,
         train->n, ex_val_note(&a), test->n, a.batch, a.epochs, a.lr, nn_set_threads(0));
  if (!a.quiet) nn_summary(m, stdout);
  fflush(stdout);

  out = (float *)malloc((size_t)a.batch * CLASSES * sizeof *out);
  /* each epoch's order depends on the generator only */
#ifdef NN_MPI
  it = out ? ex_batches_new(train, a.batch, &info.data_rng) : NULL;
#else
  it = out ? nn_batches_new(m, train, &info.data_rng) : NULL;
#endif
  if (!it) { fprintf(stderr, "%s: out of memory\n", a.prog); return 1; }
  steps = it->count;
  total_steps = (long)steps * a.epochs;
  warmup = steps / 2;

  for (e = done + 1; e <= a.epochs && !ex_best_stop(&a, &best, e - 1); e++) {
    double t0 = ex_now(), seconds, loss_sum = 0, val_acc = -1, val_loss = 0;
    int s, correct = 0;
    ex_progress p;
    ex_progress_start(&p, e, a.epochs, steps, a.quiet);
#ifdef NN_MPI
    while ((s = ex_batches_next(it)) > 0) {
      int n = it->n, first, count;
      float loss;
      random_flip(&info.data_rng, it->x, n);
      nn_optimizer_set_lr(opt, nn_lr_cosine(a.lr, info.step++, total_steps, warmup, 0.0f));
      if ((first = ex_mpi_shard(&a, m, n, &count)) < 0) continue;
      if (!nn_feed(m, "image", it->x + (size_t)first * PIXELS) || !nn_feed(m, "label", it->y + first))
        ex_die(&a, "feeding a batch");
      loss = nn_mpi_train_step(ex_dp, opt);
      if (loss != loss) ex_die(&a, "training");
      ex_prune_step(&a, m, &pruner, info.step, total_steps);
      if (!nn_read(m, logits, out)) ex_die(&a, "reading logits");
      nn_cross_entropy_sum(out, it->y + first, count, CLASSES, &correct);   /* this rank's; summed below */
#else
    while ((s = nn_batches_next(it)) > 0) {   /* sets the model's batch to it->n, restored at the end */
      int n = it->n;
      float loss;
      random_flip(&info.data_rng, it->x, n);
      nn_optimizer_set_lr(opt, nn_lr_cosine(a.lr, info.step++, total_steps, warmup, 0.0f));
      if (!nn_feed(m, "image", it->x) || !nn_feed(m, "label", it->y)) ex_die(&a, "feeding a batch");
      loss = nn_train_step(m, opt);
      if (loss != loss) ex_die(&a, "training");
      ex_prune_step(&a, m, &pruner, info.step, total_steps);
      if (!nn_read(m, logits, out)) ex_die(&a, "reading logits");
      nn_cross_entropy_sum(out, it->y, n, CLASSES, &correct);   /* accuracy of the training batch (dropout on) */
#endif
      loss_sum += (double)loss * n;
      ex_progress_step(&p, it->index + 1, loss_sum / ((double)it->index * a.batch + n), (long)it->index * a.batch + n);
    }
    if (s < 0) ex_die(&a, "batches");
#ifdef NN_MPI
    correct = (int)ex_mpi_sum(&a, correct);
#endif
    ex_progress_end(&p);
    seconds = ex_now() - t0;   /* training only */
    train_seconds += seconds;
    test_acc = evaluate(&a, m, logits, test, batch, out, cm, &test_loss);
    if (val) {
      val_acc = evaluate(&a, m, logits, val, batch, out, vcm, &val_loss);
      ex_best_update(&a, &best, m, e, (long)(val_acc * val->n + 0.5));
    }
    ex_epoch_report_val(log, e, a.epochs, loss_sum / train->n, (double)correct / train->n, test_loss, test_acc, seconds,
                        val_loss, val_acc);
    info.epoch = last = e;
    ex_checkpoint(&a, m, opt, NULL, &info);
  }
  ex_best_restore(&a, &best);
  /* nothing left to train, or the kept epoch's weights back */
  if (last == done || val) test_acc = evaluate(&a, m, logits, test, batch, out, cm, &test_loss);
  ex_save(&a, m, logits);

  nn_classification_report(cm, CLASSES, class_names, stdout);
  ex_int8_report(&a, g, m, logits, train, test, CLASSES, int8_result, sizeof int8_result);
  if (a.prune_channels > 0) slim(&a, g, m, train, test, out, int8_result, sizeof int8_result);
  ex_prune_report(pruner, int8_result, sizeof int8_result);
  printf("RESULT test_accuracy=%.4f train_seconds=%.1f epochs=%d images_per_second=%.0f model=%s total_seconds=%.1f%s",
         test_acc, train_seconds, a.epochs, train_seconds > 0 ? (double)train->n * (last - done) / train_seconds : 0.0,
         a.model, ex_now() - t_start, int8_result);
  ex_best_result(&a, &best, last);
  printf("\n");
  if (log) fclose(log);
  free(out);
#ifdef NN_MPI
  ex_batches_free(it);
#else
  nn_batches_free(it);
#endif
  nn_optimizer_free(opt);
  nn_model_free(m);
  nn_dataset_free(train);
  nn_dataset_free(test);
  nn_dataset_free(val);
  ex_best_free(&best);
#ifdef NN_MPI
  ex_mpi_finish();
#endif
  return 0;
}
