/* cc -O2 -I. examples/cifar10.c -lm -o cifar10
   fast: cc -O3 -march=native -fopenmp -I. examples/cifar10.c -lm -o cifar10
   OpenCL: cc -O2 -I. -DNN_OPENCL examples/cifar10.c -lOpenCL -lclblast -lm -o cifar10   (--device opencl)
   MPI: mpicc -O2 -I. -DNN_MPI examples/cifar10.c -lm -o cifar10; mpirun -np 2 ./cifar10   (examples/mpi.h)

   CIFAR-10 (32x32 colour images of 10 classes).  Get the data with
   tools/fetch_data.sh cifar10; --data DIR holds data_batch_1..5.bin and
   test_batch.bin in the official binary format.

   airbench (default): the airbench94 recipe of K. Jordan
   (github.com/KellerJordan/cifar10-airbench, legacy/airbench94.py, 94.01%
   on the official test set), step for step:
     - inputs normalised per channel with the training set's statistics;
     - a 2x2 conv 3->24 fixed to the patch-whitening filters of the first
       5,000 training images (eigenvectors / sqrt(eigenvalue + 5e-4) and
       their negations); only its bias trains, for the first 3 epochs;
     - GELU, then three groups of width 64, 256, 256:
       conv3x3 -> maxpool2 -> batchnorm -> GELU -> conv3x3 -> batchnorm -> GELU
       (no conv bias; batch norm with its scale frozen at 1, eps 1e-12 and
       running statistics that keep 0.6 of the old value; convs start as
       the identity on their input channels);
     - maxpool 3 -> linear 256->10 without bias, times 1/9;
     - summed cross entropy with label smoothing 0.2; Nesterov SGD,
       momentum 0.85, batch 1024, 9.9 epochs, lr 11.5 and weight decay
       0.0153 per 1024 examples in airbench's decoupled form (see
       trainer_init), batch-norm biases at 64x the lr;
     - lr 0.2 -> 1 over the first 23% of the steps, then down to 0.07;
     - lookahead: every 5 steps the weights move to an average that keeps
       0.95^5 * (step/total)^3 of its old value;
     - random +-2 px translations (reflect padding) and alternating flips;
     - test-time augmentation: mirrors and +-1 px translations (--tta 2).
   small: the same recipe on a quarter of the pixels -- the whitening conv
   has stride 2, so the groups see 16x16, 8x8 and 4x4 -- with widths
   48/96/192, batch 512 and 4 epochs: a few minutes on two cores.

   train_seconds counts the whitening set-up and the training steps (of
   this process: --resume FILE continues a run saved by --checkpoint
   FILE exactly, lookahead average included, given the same flags); the
   per-epoch evaluation and the final TTA evaluation are not in it.
   --val N holds out N training images to keep the epoch best on them
   (--patience K: stop after K epochs without a better one; the learning
   rate schedule stays that of the full run); see examples/common.h. */
#define NN_IMPLEMENTATION
#include "common.h"
#ifdef NN_MPI
#include "mpi.h"
#endif
#include "airbench.h"
#include "linalg.h"

#define PIXELS (3 * 32 * 32)
static const char *const class_names[CLASSES] = {"airplane", "automobile", "bird", "cat", "deer",
                                                 "dog", "frog", "horse", "ship", "truck"};

/* airbench's alternating flip: every sample k of the data set owns a
   fixed random bit (drawn from seed); it is mirrored in even epochs when
   the bit is set and in odd epochs when it is not, so two consecutive
   epochs show every sample both ways.  sample: data-set indices of the
   batch.  The bit is the top of the first state word of a generator
   seeded with the sample (splitmix64 of it: a well-mixed hash). */
static void alternating_flips(uint64_t seed, const int *sample, int n, int epoch, unsigned char *flip) {
  int i;
  for (i = 0; i < n; i++) {
    nn_rng r;
    nn_rng_seed(&r, seed ^ ((uint64_t)(uint32_t)sample[i] * 0xD1B54A32D192ED03ULL));
    flip[i] = (unsigned char)((r.s[0] >> 63) ^ (uint64_t)(epoch & 1));
  }
}

/* Patch whitening: from the uncentred covariance of every kh x kw patch
   (stride 1, no padding) of n images C x H x W, with eigenvalues l_i and
   eigenvectors v_i (descending), writes 2*C*kh*kw filters of C x kh x kw
   to w: v_i / sqrt(l_i + eps), then their negations -- the weight of a
   conv2d with 2*C*kh*kw outputs whose first half maps the patches to
   identity covariance (for eps << l_i). */
static int whitening_weights(const float *images, int n, int C, int H, int W, int kh, int kw, float eps, float *w) {
  int D = C * kh * kw, OH = H - kh + 1, OW = W - kw + 1, i, oh, ow, c, u, t, k;
  double *cov, *val, *vec, *patch, count = (double)n * OH * OW;
  if (n < 1 || C < 1 || kh < 1 || kw < 1 || OH < 1 || OW < 1 || D > 1024)
    return nn_set_error("whitening: %d images %dx%dx%d with %dx%d patches", n, C, H, W, kh, kw);
  cov = (double *)calloc((size_t)D * D * 2 + (size_t)2 * D, sizeof(double));
  if (!cov) return 0;
  vec = cov + (size_t)D * D;
  val = vec + (size_t)D * D;
  patch = val + D;
  for (i = 0; i < n; i++)
    for (oh = 0; oh < OH; oh++)
      for (ow = 0; ow < OW; ow++) {
        for (c = 0, t = 0; c < C; c++)   /* in the conv weight's order: c, row, column */
          for (u = 0; u < kh; u++)
            for (k = 0; k < kw; k++) patch[t++] = images[(((size_t)i * C + c) * H + oh + u) * W + ow + k];
        for (u = 0; u < D; u++)
          for (k = u; k < D; k++) cov[u * D + k] += patch[u] * patch[k];
      }
  for (u = 0; u < D; u++)
    for (k = u; k < D; k++) cov[k * D + u] = cov[u * D + k] = cov[u * D + k] / count;
  if (!ex_symmetric_eigen(D, cov, val, vec)) { free(cov); return 0; }
  for (u = 0; u < D; u++) {
    double scale = val[u] + eps;
    if (!(scale > 0)) {
      nn_set_error("whitening: patch covariance eigenvalue %g with eps %g is not positive (use eps > 0)", val[u], eps);
      free(cov);
      return 0;
    }
    scale = 1 / sqrt(scale);
    for (k = 0; k < D; k++) {
      w[(size_t)u * D + k] = (float)(vec[u * D + k] * scale);
      w[(size_t)(u + D) * D + k] = (float)(-vec[u * D + k] * scale);
    }
  }
  free(cov);
  return 1;
}

/* The optimizer side of training: schedule, lookahead, step count. */
typedef struct trainer {
  nn_model *m;
  nn_optimizer *opt;
  nn_ema *lookahead;
  float lr_sgd;           /* the peak, per example */
  float lr_xs[3], lr_ys[3];
  long step, total_steps;
  int local;              /* 1: a model of this process alone (--prune-channels' fine-tuning), even with MPI */
} trainer;

/* airbench states lr and weight decay per 1024 examples, "decoupled": with
   Nesterov momentum m a constant gradient moves the weights 1 + 1/(1-m)
   times further than one step does, so PyTorch's SGD gets
     lr_sgd = lr / (1024 (1 + 1/(1-m)))   (per example: the loss is summed)
     weight_decay_sgd = wd * batch / lr   (so lr_sgd * wd_sgd = wd * batch / 1024 / (1 + 1/(1-m))).
   nn.h's SGD without NN_DECOUPLED_WD is PyTorch's: the decay joins the
   gradient before the momentum, and it scales with the scheduled lr.
   Call after the weights are set: the lookahead average starts from them. */
static int trainer_init(trainer *t, nn_model *m, const recipe *r, int batch, long total_steps) {
  float kilostep = 1024.0f * (1.0f + 1.0f / (1.0f - r->momentum));
  memset(t, 0, sizeof *t);
  t->m = m;
  t->lr_sgd = r->lr / kilostep;
  t->total_steps = total_steps;
  t->lr_xs[0] = 0;                                   /* 0.2 -> 1 over 23% of the steps, then -> 0.07 */
  t->lr_xs[1] = (float)(long)(total_steps * 0.23);
  t->lr_xs[2] = (float)total_steps;
  t->lr_ys[0] = 0.2f; t->lr_ys[1] = 1.0f; t->lr_ys[2] = 0.07f;
  t->opt = nn_sgd(m, t->lr_sgd, r->momentum, r->wd * (float)batch / r->lr, NN_NESTEROV);
  t->lookahead = t->opt ? nn_ema_new(m, 0.0f) : NULL;
  return t->lookahead != NULL;
}

/* one step on the batch fed; NAN on failure.  Every 5 steps the weights
   move to the lookahead average, which keeps 0.95^5 (step/total)^3 of
   itself; after the last step they become that average. */
static float train_step(trainer *t) {
  float loss;
  nn_optimizer_set_lr(t->opt, t->lr_sgd * nn_lr_piecewise((float)t->step, 3, t->lr_xs, t->lr_ys));
#ifdef NN_MPI
  loss = t->local ? nn_train_step(t->m, t->opt) : nn_mpi_train_step(ex_dp, t->opt);
#else
  loss = nn_train_step(t->m, t->opt);
#endif
  if (loss != loss) return loss;
  t->step++;
  if (t->step % 5 == 0) {
    double frac = (double)t->step / (double)t->total_steps;
    if (!nn_ema_update_decay(t->lookahead, (float)(pow(0.95, 5) * frac * frac * frac)) || !nn_ema_copy_to_model(t->lookahead))
      return NAN;
  }
  if (t->step == t->total_steps && !nn_ema_copy_to_model(t->lookahead)) return NAN;
  return loss;
}

/* outputs of the test set (TTA level `tta`), confusion matrix, accuracy and mean loss */
static double evaluate(const ex_args *a, nn_model *m, const net *n, const nn_dataset *d, int tta, float *out, int *cm,
                       double *loss) {
  if (!nn_predict_tta(m, n->image, n->logits, d->x, d->n, tta, out)) ex_die(a, "evaluation");
  memset(cm, 0, CLASSES * CLASSES * sizeof *cm);
  nn_confusion_add(cm, CLASSES, out, d->y, d->n);
  *loss = nn_cross_entropy_sum(out, d->y, d->n, CLASSES, NULL) / d->n;
  return nn_confusion_accuracy(cm, CLASSES);
}

/* the training images idx[0..batch) into xb as airbench trains on them:
   alternating flips (their bit from the seed), random translations with
   reflect padding; labels into yb.  xa, dy (2 * batch) and flip: room. */
static void augmented_batch(const ex_args *a, const recipe *r, const nn_dataset *train, const int *idx, int batch, int epoch,
                            nn_rng *rng, float *xa, float *xb, float *yb, int *dy, unsigned char *flip) {
  nn_dataset_gather(train, idx, batch, xa, yb);
  alternating_flips(a->seed + 3, idx, batch, epoch, flip);
  nn_random_shifts(rng, batch, r->translate, dy, dy + batch);
  nn_shift_flip_images(xa, xb, batch, 3, 32, 32, dy, dy + batch, flip, NN_PAD_REFLECT);
}

/* --prune-channels: the network rebuilt with fewer channels in each
   group (the whitening conv keeps its 24), the kept channels' weights
   copied (nn_compress.h), fine-tuned with the recipe's training for a
   fifth of the epochs (at least one) at a fifth of the learning rate;
   the accuracy (no test-time augmentation) and the images/s of the
   test pass of both models.  Appends to `result`. */
static void slim(const ex_args *a, nn_graph *big, nn_model *m, const net *nb, const recipe *r, double epochs, int batch,
                 const nn_dataset *train, const nn_dataset *test, float *out, char *result, size_t len) {
  ex_slim sl;
  recipe rs = *r;
  nn_graph *g;
  nn_model *s;
  net ns;
  trainer t;
  nn_rng rng;
  float *xa, *xb, *yb;
  int *order, *dy, cm[CLASSES * CLASSES], i, e, steps = train->n / batch, fine = (int)(epochs / 5) + 1;
  unsigned char *flip;
  double t0, t_big, t_slim, acc_big, acc_slim0, acc_slim, loss;
  ex_slim_rank(a, big, m, &sl);
  for (i = 0; i < 3; i++) {   /* the two convs of a group have one width */
    if (sl.n != 6 || sl.nkept[2 * i] != sl.nkept[2 * i + 1]) ex_die(a, "--prune-channels: not the airbench network");
    rs.widths[i] = sl.nkept[2 * i];
  }
  rs.lr = r->lr / 5;
  g = nn_graph_new();
  nn_graph_set_seed(g, a->seed);
  ns = build(g, &rs);
  if (!(s = nn_compile(g, batch, ex_backend(a)))) ex_die(a, "--prune-channels");
  ex_slim_copy(a, m, s, &sl);
  nn_set_lr_mult(nn_node_input(ns.whiten, 2), 0.0f);   /* frozen, as after the first epochs */
  t0 = ex_now();
  acc_big = evaluate(a, m, nb, test, 0, out, cm, &loss);
  t_big = ex_now() - t0;
  acc_slim0 = evaluate(a, s, &ns, test, 0, out, cm, &loss);
  xa = (float *)malloc((size_t)batch * PIXELS * sizeof *xa);
  xb = (float *)malloc((size_t)batch * PIXELS * sizeof *xb);
  yb = (float *)malloc((size_t)batch * sizeof *yb);
  dy = (int *)malloc((size_t)batch * 2 * sizeof *dy);
  flip = (unsigned char *)malloc((size_t)batch);
  order = (int *)malloc((size_t)train->n * sizeof *order);
  if (!xa || !xb || !yb || !dy || !flip || !order) ex_die(a, "out of memory");
  if (!trainer_init(&t, s, &rs, batch, (long)steps * fine)) ex_die(a, "--prune-channels: optimizer");
  t.local = 1;
  nn_rng_seed(&rng, a->seed + 5);
  for (e = 0; e < fine; e++) {
    for (i = 0; i < train->n; i++) order[i] = i;
    nn_shuffle(&rng, order, train->n);
    for (i = 0; i < steps; i++) {
      augmented_batch(a, &rs, train, order + (size_t)i * batch, batch, e, &rng, xa, xb, yb, dy, flip);
      if (!nn_feed_node(s, ns.image, xb) || !nn_feed(s, "label", yb)) ex_die(a, "--prune-channels: fine-tuning");
      loss = train_step(&t);
      if (loss != loss) ex_die(a, "--prune-channels: fine-tuning");
    }
  }
  t0 = ex_now();
  acc_slim = evaluate(a, s, &ns, test, 0, out, cm, &loss);
  t_slim = ex_now() - t0;
  ex_slim_report(&sl, m, s, acc_big, acc_slim0, acc_slim, fine, test->n / t_big, test->n / t_slim, result, len);
  ex_slim_free(&sl);
  free(xa); free(xb); free(yb); free(dy); free(flip); free(order);
  nn_ema_free(t.lookahead);
  nn_optimizer_free(t.opt);
  nn_model_free(s);
}

static nn_dataset *load(const ex_args *a, const char *split) {
  nn_dataset *d = nn_dataset_read_cifar10(a->data, split);
  if (!d) {
    fprintf(stderr, "%s: %s\n(the binary batches come from: tools/fetch_data.sh cifar10)\n", a->prog, nn_last_error());
    exit(1);
  }
  return d;
}

/* --tta is this example's own flag: taken out before the common parser */
static int take_tta(int *argc, char **argv, const char *prog) {
  int i, j, tta = -1;
  for (i = j = 1; i < *argc; i++) {
    const char *v;
    if (!strcmp(argv[i], "--tta")) {
      if (i + 1 >= *argc) { fprintf(stderr, "%s: --tta needs a value (0, 1 or 2)\n", prog); exit(2); }
      v = argv[++i];
    } else if (!strncmp(argv[i], "--tta=", 6)) {
      v = argv[i] + 6;
    } else {
      argv[j++] = argv[i];
      continue;
    }
    if (strcmp(v, "0") && strcmp(v, "1") && strcmp(v, "2")) {
      fprintf(stderr, "%s: --tta expects 0, 1 or 2, not '%s'\n", prog, v);
      exit(2);
    }
    tta = v[0] - '0';
  }
  *argc = j;
  argv[j] = NULL;
  return tta;
}

int main(int argc, char **argv) {
  ex_args a;
  recipe r;
  nn_dataset *train, *test, *val;
  nn_graph *g;
  nn_model *m;
  trainer t;
  nn_node *whiten_bias;
  nn_checkpoint_info info;   /* epoch and step counters, the generator for shuffles and shifts */
  ex_best best;              /* --val: the epoch kept */
  net n;
  FILE *log;
  float mean[3], std[3], *xb, *xa, *yb, *out, *wts;
  int *order, *dy, cm[CLASSES * CLASSES], vcm[CLASSES * CLASSES], steps, epochs_run, e, i, batch, tta, whiten_n, resumed;
  unsigned char *flip;
  char int8_result[768];
  nn_prune *pruner = NULL;
  long total_steps, seen = 0, first_step;
  double epochs, train_seconds = 0, t_start = ex_now(), t0, test_acc = 0, test_loss = 0, plain_acc = 0;

  memset(&a, 0, sizeof a);
  a.prog = "cifar10";
  a.about = "classify CIFAR-10 images with the airbench94 recipe or a small version of it";
  a.notes = "  --tta 0|1|2       test-time augmentation: 0 none, 1 mirror, 2 mirror and +-1 px shifts (default: 2)\n"
            "defaults per model: airbench --epochs 9.9 --batch 1024 --lr 11.5, small --epochs 4 --batch 512 --lr 11.5\n"
            "(lr per 1024 examples, airbench's decoupled form)";
  a.extra = EX_MODEL | EX_BATCH | EX_LR | EX_INT8 | EX_PRUNE | EX_PRUNE_CHANNELS | EX_VAL;
  a.models = "airbench|small";
  a.model = "airbench";
  a.data = "data/cifar-10-batches-bin";
  a.device = "cpu";
  a.seed = 1;
  tta = take_tta(&argc, argv, a.prog);
  ex_parse(&a, argc, argv);
#ifdef NN_MPI
  ex_mpi_start(&a);
#endif
  r = airbench_recipes[strcmp(a.model, "small") ? AIRBENCH : AIRBENCH_SMALL];
  epochs = a.epochs ? (double)a.epochs : r.epochs;
  if (a.batch) r.batch = a.batch;
  if (a.lr > 0) r.lr = a.lr;
  if (tta >= 0) r.tta = tta;

  train = load(&a, "train");
  test = load(&a, "test");
  if (a.limit) nn_dataset_truncate(train, a.limit);
  val = ex_val_split(&a, train);
  if (!nn_dataset_channel_stats(train, mean, std) || !nn_dataset_normalize(train, mean, std) ||
      !nn_dataset_normalize(test, mean, std) || (val && !nn_dataset_normalize(val, mean, std)))
    ex_die(&a, "normalising");
  batch = r.batch < train->n ? r.batch : train->n;   /* the last partial batch of an epoch is dropped */
  steps = train->n / batch;
  total_steps = (long)ceil(steps * epochs - 1e-9);
  epochs_run = (int)((total_steps + steps - 1) / steps);

  g = nn_graph_new();
  if (!g) ex_die(&a, "graph");
  nn_graph_set_seed(g, a.seed);
  n = build(g, &r);
  whiten_bias = nn_node_input(n.whiten, 2);
#ifdef NN_MPI
  if (!(m = nn_compile(g, ex_mpi_batch(&a, batch), ex_backend(&a)))) ex_die(&a, "cannot build the model");
  ex_mpi_attach(&a, m);
#else
  if (!(m = nn_compile(g, batch, ex_backend(&a)))) ex_die(&a, "cannot build the model");
#endif
  memset(&info, 0, sizeof info);
  nn_rng_seed(&info.data_rng, a.seed + 2);

  printf("cifar10: model %s, %d training / %s%d test images, batch %d, %g epochs (%ld steps), lr %g (SGD %g), "
         "tta %d, %d thread(s)\n",
         a.model, train->n, ex_val_note(&a), test->n, batch, epochs, total_steps, r.lr, r.lr / (1024.0f * (1.0f + 1.0f / (1.0f - r.momentum))),
         r.tta, nn_set_threads(0));
  printf("channel mean %.4f %.4f %.4f, std %.4f %.4f %.4f\n", mean[0], mean[1], mean[2], std[0], std[1], std[2]);
  if (!a.quiet) nn_summary(m, stdout);
  fflush(stdout);

  xb = (float *)malloc((size_t)batch * PIXELS * sizeof *xb);
  xa = (float *)malloc((size_t)batch * PIXELS * sizeof *xa);
  yb = (float *)malloc((size_t)batch * sizeof *yb);
  dy = (int *)malloc((size_t)batch * 2 * sizeof *dy);
  flip = (unsigned char *)malloc((size_t)batch);
  order = (int *)malloc((size_t)train->n * sizeof *order);
  i = test->n > batch ? test->n : batch;
  if (val && val->n > i) i = val->n;
  out = (float *)malloc((size_t)i * CLASSES * sizeof *out);
  wts = (float *)malloc(24 * 12 * sizeof *wts);
  if (!xb || !xa || !yb || !dy || !flip || !order || !out || !wts) { fprintf(stderr, "%s: out of memory\n", a.prog); return 1; }

  /* the whitening filters from the first 5,000 training images, then the optimizer and lookahead */
  t0 = ex_now();
  whiten_n = train->n < 5000 ? train->n : 5000;
  if (!whitening_weights(train->x, whiten_n, 3, 32, 32, 2, 2, 5e-4f, wts) || !nn_write(m, nn_node_input(n.whiten, 1), wts))
    ex_die(&a, "whitening");
  if (!trainer_init(&t, m, &r, batch, total_steps)) ex_die(&a, "optimizer");
  train_seconds += ex_now() - t0;
  ex_best_init(&a, &best, m);
  resumed = ex_resume(&a, epochs_run, m, t.opt, t.lookahead, &info);
  ex_best_check(&a, &best);
  t.step = first_step = info.step;
  /* after --resume: the masks are the checkpoint's zeros; a fresh run's
     pruner comes after its first step (ex_prune_step): the identity convs
     start mostly zero */
  if (a.prune > 0 && t.step > 0) pruner = ex_prune_new(&a, m);
  log = ex_log_open(&a);

  for (e = resumed; e < epochs_run && !ex_best_stop(&a, &best, e); e++) {
    double loss_sum = 0, t_epoch = ex_now(), val_acc = -1, val_loss = 0;
    int s, correct = 0, done = 0;
    ex_progress p;
    if (e >= r.whiten_bias_epochs) nn_set_lr_mult(whiten_bias, 0.0f);   /* frozen from here on */
    for (i = 0; i < train->n; i++) order[i] = i;   /* each epoch's order depends on the generator only */
    nn_shuffle(&info.data_rng, order, train->n);
    ex_progress_start(&p, e + 1, epochs_run, steps, a.quiet);
    for (s = 0; s < steps && t.step < total_steps; s++) {
      const int *idx = order + (size_t)s * batch;
      float loss;
      augmented_batch(&a, &r, train, idx, batch, e, &info.data_rng, xa, xb, yb, dy, flip);
#ifdef NN_MPI
      {   /* this rank's shard of the batch, its correct count summed after the epoch */
        int count, first = ex_mpi_shard(&a, m, batch, &count);
        if (!nn_feed_node(m, n.image, xb + (size_t)first * PIXELS) || !nn_feed(m, "label", yb + first))
          ex_die(&a, "feeding a batch");
        loss = train_step(&t);
        if (loss != loss) ex_die(&a, "training");
        ex_prune_step(&a, m, &pruner, t.step, total_steps);
        if (!nn_read(m, n.logits, out)) ex_die(&a, "reading logits");
        nn_cross_entropy_sum(out, yb + first, count, CLASSES, &correct);
      }
#else
      if (!nn_feed_node(m, n.image, xb) || !nn_feed(m, "label", yb)) ex_die(&a, "feeding a batch");
      loss = train_step(&t);
      if (loss != loss) ex_die(&a, "training");
      ex_prune_step(&a, m, &pruner, t.step, total_steps);
      if (!nn_read(m, n.logits, out)) ex_die(&a, "reading logits");
      nn_cross_entropy_sum(out, yb, batch, CLASSES, &correct);
#endif
      loss_sum += loss;
      done += batch;
      ex_progress_step(&p, s + 1, loss_sum / done, done);
    }
#ifdef NN_MPI
    correct = (int)ex_mpi_sum(&a, correct);
#endif
    ex_progress_end(&p);
    t_epoch = ex_now() - t_epoch;
    train_seconds += t_epoch;
    seen += done;
    test_acc = evaluate(&a, m, &n, test, 0, out, cm, &test_loss);
    if (val) {
      val_acc = evaluate(&a, m, &n, val, 0, out, vcm, &val_loss);
      ex_best_update(&a, &best, m, e + 1, (long)(val_acc * val->n + 0.5));
    }
    ex_epoch_report_val(log, e + 1, epochs_run, loss_sum / done, (double)correct / done, test_loss, test_acc, t_epoch,
                        val_loss, val_acc);
    info.epoch = e + 1;
    info.step = t.step;
    ex_checkpoint(&a, m, t.opt, t.lookahead, &info);
  }
  ex_best_restore(&a, &best);
  /* nothing left to train, or the kept epoch's weights back */
  if (e == resumed || val) test_acc = evaluate(&a, m, &n, test, 0, out, cm, &test_loss);
  plain_acc = test_acc;
  if (r.tta) {
    t0 = ex_now();
    test_acc = evaluate(&a, m, &n, test, r.tta, out, cm, &test_loss);
    printf("test-time augmentation (level %d): test_loss=%.4f test_accuracy=%.4f seconds=%.1f\n", r.tta, test_loss, test_acc,
           ex_now() - t0);
  }

  ex_save(&a, m, n.logits);

  nn_classification_report(cm, CLASSES, class_names, stdout);
  /* --int8: no test-time augmentation on either side */
  ex_int8_report(&a, g, m, n.logits, train, test, CLASSES, int8_result, sizeof int8_result);
  if (a.prune_channels > 0) slim(&a, g, m, &n, &r, epochs, batch, train, test, out, int8_result, sizeof int8_result);
  ex_prune_report(pruner, int8_result, sizeof int8_result);
  printf("RESULT test_accuracy=%.4f train_seconds=%.1f images_per_second=%.1f epochs=%g model=%s tta=%d "
         "test_accuracy_no_tta=%.4f seconds_per_step=%.3f steps=%ld total_seconds=%.1f%s",
         test_acc, train_seconds, seen / train_seconds, epochs, a.model, r.tta, plain_acc,
         t.step > first_step ? train_seconds / (double)(t.step - first_step) : 0.0,
         total_steps, ex_now() - t_start, int8_result);
  ex_best_result(&a, &best, e);
  printf("\n");
  if (log) fclose(log);
  free(xb); free(xa); free(yb); free(dy); free(flip); free(order); free(out); free(wts);
  nn_ema_free(t.lookahead);
  nn_optimizer_free(t.opt);
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
