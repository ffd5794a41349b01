/* Build:  cc -O3 -march=native -fopenmp -I. examples/transfer.c -o build/transfer -lm
   Plain:  cc -O2 -I. examples/transfer.c -lm
   OpenCL: cc -O2 -I. -DNN_OPENCL examples/transfer.c -lOpenCL -lclblast -lm   (--device opencl)
   Run:    ./a.out --help

   Transfer learning on CIFAR-10 split in two.  A CNN is pretrained on
   the 25,000 training images of classes 0-4 (airplane, automobile, bird,
   cat, deer); then classes 5-9 (dog, frog, horse, ship, truck) are
   learnt from only --shots N labelled training images each, three ways,
   on the same images with the same steps, each evaluated on the 5,000
   test images of classes 5-9:
     scratch:   the whole network from a fresh initialisation;
     frozen:    the pretrained backbone loaded and frozen, a new head;
     finetuned: the pretrained backbone loaded and trained at a tenth of
                the head's learning rate, a new head.
   The backbone comes from the pretrained file by name with
   NN_LOAD_PARTIAL (its head, "head", is not in the new models, which
   have "new_head"); freezing is nn_set_trainable, the lower rate
   nn_set_lr_mult.

   The network: four conv 3x3 -> batch norm -> relu stages of --width W,
   2W, 4W, 8W channels (W 32), max pooling after the first three, global
   average pooling, a dense head.  Training: SGD with Nesterov momentum
   0.9, weight decay 5e-4 (not on biases and batch norm), label smoothing
   0.1, a cosine schedule with a warm-up, random flips and +-4 px shifts.

   --pretrained FILE loads the pretrained network instead of training it
   (a file that --save-pretrained FILE wrote); --limit N pretrains on the
   first N images of classes 0-4.  --save FILE writes the fine-tuned
   network, --onnx FILE its graph.  There is no --checkpoint: the four
   trainings are short, and --save-pretrained keeps the long one. */
#define NN_IMPLEMENTATION
#include "common.h"

#define CLASSES 10
#define HALF 5   /* classes per task */
#define PIXELS (3 * 32 * 32)
static const char *const class_names[CLASSES] = {"airplane", "automobile", "bird", "cat", "deer",
                                                 "dog", "frog", "horse", "ship", "truck"};

typedef struct transfer_opts {
  int shots, pretrain_epochs, width;
  float pretrain_lr;
  const char *pretrained, *save_pretrained;
} transfer_opts;

/* images and labels of one task */
typedef struct task {
  int n;
  float *x, *y;
} task;

/* the samples of d with labels first..first+HALF-1, relabelled from 0;
   at most `per_class` of each class (all of them for 0), chosen by r
   (in data-set order for a NULL r) */
static task select_classes(const ex_args *a, const nn_dataset *d, int first, int per_class, nn_rng *r) {
  int *order = (int *)malloc((size_t)d->n * sizeof(int)), count[HALF] = {0}, i, k, c;
  task t;
  t.x = (float *)malloc((size_t)d->n * PIXELS * sizeof(float));
  t.y = (float *)malloc((size_t)d->n * sizeof(float));
  t.n = 0;
  if (!order || !t.x || !t.y) { fprintf(stderr, "%s: out of memory\n", a->prog); exit(1); }
  for (i = 0; i < d->n; i++) order[i] = i;
  if (r) nn_shuffle(r, order, d->n);
  for (k = 0; k < d->n; k++) {
    c = (int)d->y[order[k]] - first;
    if (c < 0 || c >= HALF || (per_class && count[c] == per_class)) continue;
    count[c]++;
    nn_dataset_gather(d, order + k, 1, t.x + (size_t)t.n * PIXELS, NULL);
    t.y[t.n++] = (float)c;
  }
  for (c = 0; per_class && c < HALF; c++)
    if (count[c] < per_class) {
      fprintf(stderr, "%s: --shots %d: the training set has only %d images of class %s\n", a->prog, per_class, count[c],
              class_names[first + c]);
      exit(2);
    }
  free(order);
  return t;
}

/* conv 3x3 -> bn -> relu stages, pooled, then a dense head of `classes`
   named `head`.  Backbone parameters: trainable with lr_mult, or frozen. */
static nn_node *build(nn_graph *g, int width, int classes, const char *head, int frozen, float lr_mult) {
  int dims[3] = {3, 32, 32}, one = 1, i;
  char name[16];
  nn_node *x = nn_input(g, "image", 3, dims), *y = nn_input(g, "label", 1, &one), *logits;
  for (i = 0; i < 4; i++) {
    snprintf(name, sizeof name, "conv%d", i + 1);
    nn_layer_name(g, name);
    x = nn_conv2d_ex(g, x, width << i, 3, 3, 1, 1, 0);
    snprintf(name, sizeof name, "bn%d", i + 1);
    nn_layer_name(g, name);
    x = nn_relu(g, nn_batchnorm(g, x));
    if (i < 3) x = nn_maxpool2d(g, x, 2, 2);
  }
  x = nn_global_avgpool(g, x);
  for (i = 0; i < nn_graph_num_nodes(g); i++) {   /* everything so far is the backbone */
    nn_node *p = nn_graph_node(g, i);
    if (p->op != NN_OP_PARAM || !p->trainable) continue;
    if (frozen) nn_set_trainable(p, 0);
    else nn_set_lr_mult(p, lr_mult);
  }
  nn_layer_name(g, head);
  logits = nn_dense(g, nn_flatten(g, x), classes);
  nn_cross_entropy(g, logits, y, 0.1f, NN_MEAN);
  for (i = 0; i < nn_graph_num_nodes(g); i++) {   /* no weight decay on biases and batch norm */
    nn_node *p = nn_graph_node(g, i);
    if (p->op == NN_OP_PARAM && p->shape.ndim == 1) nn_set_wd_mult(p, 0.0f);
  }
  return logits;
}

static double evaluate(const ex_args *a, nn_model *m, const nn_node *logits, const task *t, int batch, float *out) {
  int start, correct = 0;
  for (start = 0; start < t->n; start += batch) {
    int n = t->n - start < batch ? t->n - start : batch;
    if (!nn_set_batch(m, n) || !nn_feed(m, "image", t->x + (size_t)start * PIXELS) || !nn_predict(m, logits) ||
        !nn_read(m, logits, out))
      ex_die(a, "evaluation");
    nn_cross_entropy_sum(out, t->y + start, n, HALF, &correct);
  }
  return (double)correct / t->n;
}

/* `epochs` passes over t (the last partial batch dropped; smaller sets
   than a batch train as one batch); returns the seconds */
static double fit(const ex_args *a, const char *what, nn_model *m, const nn_node *logits, float lr, int epochs, int batch,
                  const task *t, const task *test, nn_rng *rng, FILE *log, int *log_epoch) {
  nn_optimizer *opt;
  float *xa, *xb, *yb, *out;
  int *order, *dy, *dx, steps, e, s, i;
  unsigned char *flip;
  long step = 0, total;
  double seconds = 0;
  if (batch > t->n) batch = t->n;
  steps = t->n / batch;
  total = (long)steps * epochs;
  xa = (float *)malloc((size_t)batch * PIXELS * sizeof(float));
  xb = (float *)malloc((size_t)batch * PIXELS * sizeof(float));
  yb = (float *)malloc((size_t)batch * sizeof(float));
  out = (float *)malloc((size_t)batch * HALF * sizeof(float));
  order = (int *)malloc((size_t)t->n * sizeof(int));
  dy = (int *)malloc((size_t)batch * 2 * sizeof(int));
  flip = (unsigned char *)malloc((size_t)batch);
  if (!xa || !xb || !yb || !out || !order || !dy || !flip) { fprintf(stderr, "%s: out of memory\n", a->prog); exit(1); }
  dx = dy + batch;
  if (!(opt = nn_sgd(m, lr, 0.9f, 5e-4f, NN_NESTEROV))) ex_die(a, "optimizer");
  for (e = 1; e <= epochs; e++) {
    double t0 = ex_now(), loss_sum = 0, test_acc;
    int correct = 0;
    ex_progress p;
    for (i = 0; i < t->n; i++) order[i] = i;
    nn_shuffle(rng, order, t->n);
    ex_progress_start(&p, e, epochs, steps, a->quiet);
    if (!nn_set_batch(m, batch)) ex_die(a, "training");
    for (s = 0; s < steps; s++) {
      float loss;
      for (i = 0; i < batch; i++) {
        memcpy(xa + (size_t)i * PIXELS, t->x + (size_t)order[s * batch + i] * PIXELS, PIXELS * sizeof(float));
        yb[i] = t->y[order[s * batch + i]];
      }
      nn_random_flips(rng, batch, flip);
      nn_random_shifts(rng, batch, 4, dy, dx);
      nn_shift_flip_images(xa, xb, batch, 3, 32, 32, dy, dx, flip, NN_PAD_REFLECT);
      nn_optimizer_set_lr(opt, nn_lr_cosine(lr, step++, total, total / 20, 0.0f));
      if (!nn_feed(m, "image", xb) || !nn_feed(m, "label", yb)) ex_die(a, "feeding a batch");
      loss = nn_train_step(m, opt);
      if (loss != loss || !nn_read(m, logits, out)) ex_die(a, "training");
      nn_cross_entropy_sum(out, yb, batch, HALF, &correct);
      loss_sum += loss;
      ex_progress_step(&p, s + 1, loss_sum / (s + 1), (long)(s + 1) * batch);
    }
    ex_progress_end(&p);
    seconds += ex_now() - t0;
    /* the per-epoch test accuracy of long runs; the short ones only at the end */
    if (epochs <= 20 || e == epochs || e % 10 == 0) {
      test_acc = evaluate(a, m, logits, test, batch, out);
      printf("%s epoch %d/%d train_loss=%.4f train_accuracy=%.4f test_accuracy=%.4f seconds=%.2f\n", what, e, epochs,
             loss_sum / steps, (double)correct / ((double)steps * batch), test_acc, ex_now() - t0);
      fflush(stdout);
      if (log) {
        fprintf(log, "%d,%s,%.6f,%.6f,%.6f,%.3f\n", ++*log_epoch, what, loss_sum / steps, (double)correct / ((double)steps * batch),
                test_acc, ex_now() - t0);
        fflush(log);
      }
    }
  }
  nn_optimizer_free(opt);
  free(xa); free(xb); free(yb); free(out); free(order); free(dy); free(flip);
  return seconds;
}

static void parse(ex_args *a, transfer_opts *o, int *argc, char **argv) {
  int i;
  for (i = 1; i < *argc; i++) {
    const char *v;
    if (ex_take_flag(a, argc, argv, &i, "--shots", &v)) o->shots = (int)ex_parse_long(a, "--shots", v, 1, 1000000);
    else if (ex_take_flag(a, argc, argv, &i, "--pretrain-epochs", &v))
      o->pretrain_epochs = (int)ex_parse_long(a, "--pretrain-epochs", v, 1, 100000);
    else if (ex_take_flag(a, argc, argv, &i, "--width", &v)) o->width = (int)ex_parse_long(a, "--width", v, 1, 1024);
    else if (ex_take_flag(a, argc, argv, &i, "--pretrained", &v)) o->pretrained = v;
    else if (ex_take_flag(a, argc, argv, &i, "--save-pretrained", &v)) o->save_pretrained = v;
    else if (!strcmp(argv[i], "--")) break;
  }
  ex_parse(a, *argc, argv);
  if (a->checkpoint || a->resume)
    ex_bad_usage(a, "%s: no checkpoints here (four short trainings); --save-pretrained FILE and --pretrained FILE keep the long one",
                 a->checkpoint ? "--checkpoint" : "--resume");
}

/* a model for the target task: fresh, or with the pretrained backbone
   (the backend: a new one each, as the last model using one frees it) */
static nn_model *target_model(const ex_args *a, const transfer_opts *o, const char *pretrained, int frozen, float lr_mult,
                              int batch, nn_node **logits) {
  nn_graph *g = nn_graph_new();
  nn_model *m;
  int loaded;
  if (!g) ex_die(a, "graph");
  nn_graph_set_seed(g, a->seed + 10);   /* the same new head in all three */
  *logits = build(g, o->width, HALF, "new_head", frozen, lr_mult);
  if (!(m = nn_compile(g, batch, ex_backend(a)))) ex_die(a, "cannot build the model");
  nn_model_set_seed(m, a->seed + 11);
  if (pretrained) {
    /* the backbone by name; the file's "head" is not in this model */
    if (!(loaded = nn_safetensors_load(m, pretrained, NN_LOAD_PARTIAL))) ex_die(a, "loading the pretrained backbone");
    if (loaded != nn_model_num_tensors(m) - 2) {
      fprintf(stderr, "%s: '%s' gave %d of the backbone's %d tensors: not this network's file (--width?)\n", a->prog,
              pretrained, loaded, nn_model_num_tensors(m) - 2);
      exit(1);
    }
  }
  return m;
}

int main(int argc, char **argv) {
  ex_args a;
  transfer_opts o;
  nn_dataset *train, *test;
  task pre, pre_test, shots, target_test;
  nn_model *m;
  nn_node *logits;
  nn_rng rng;
  FILE *log;
  float mean[3], std[3], *out;
  char tmp[1024];
  const char *pretrained;
  int batch = 128, shot_batch = 64, log_epoch = 0, i;
  double pre_seconds = 0, pre_acc = -1, acc[3], secs[3], t_start = ex_now();
  static const char *const runs[3] = {"scratch", "frozen", "finetuned"};

  memset(&a, 0, sizeof a);
  memset(&o, 0, sizeof o);
  a.prog = "transfer";
  a.about = "transfer learning on CIFAR-10: pretrain on classes 0-4, learn classes 5-9 from a few images each";
  a.notes = "  --shots N         labelled training images per new class (default: 100)\n"
            "  --pretrain-epochs N  epochs of pretraining on classes 0-4 (default: 12)\n"
            "  --width W         channels of the first stage; then 2W, 4W, 8W (default: 32)\n"
            "  --pretrained FILE load the pretrained network instead of pretraining\n"
            "  --save-pretrained FILE  write the pretrained network (safetensors)\n"
            "--epochs and --lr are those of the few-shot trainings (default: 40 and 0.05; pretraining lr 0.1)";
  a.extra = EX_LR;
  a.data = "data/cifar-10-batches-bin";
  a.device = "cpu";
  a.epochs = 40;
  a.lr = 0.05f;
  a.seed = 1;
  a.log_header = "epoch,run,train_loss,train_accuracy,test_accuracy,seconds";
  o.shots = 100;
  o.pretrain_epochs = 12;
  o.pretrain_lr = 0.1f;
  o.width = 32;
  parse(&a, &o, &argc, argv);

  if (!(train = nn_dataset_read_cifar10(a.data, "train")) || !(test = nn_dataset_read_cifar10(a.data, "test"))) {
    fprintf(stderr, "%s: %s\n(the binary batches come from: tools/fetch_data.sh cifar10)\n", a.prog, nn_last_error());
    return 1;
  }
  nn_rng_seed(&rng, a.seed + 2);
  pre = select_classes(&a, train, 0, 0, NULL);
  if (a.limit && a.limit < pre.n) pre.n = a.limit;
  shots = select_classes(&a, train, HALF, o.shots, &rng);
  pre_test = select_classes(&a, test, 0, 0, NULL);
  target_test = select_classes(&a, test, HALF, 0, NULL);
  {   /* inputs normalised with the pretraining images' channel statistics */
    nn_dataset view;
    memset(&view, 0, sizeof view);
    view.n = pre.n;
    view.shape = train->shape;
    view.x = pre.x;
    view.y = pre.y;
    if (!nn_dataset_channel_stats(&view, mean, std)) ex_die(&a, "normalising");
    for (i = 0; i < 4; i++) {
      task *t = i == 0 ? &pre : i == 1 ? &shots : i == 2 ? &pre_test : &target_test;
      view.n = t->n;
      view.x = t->x;
      view.y = t->y;
      if (!nn_dataset_normalize(&view, mean, std)) ex_die(&a, "normalising");
    }
  }
  nn_dataset_free(train);
  nn_dataset_free(test);
  printf("transfer: pretraining on %d images of classes 0-4 (%s), %d test; the new classes 5-9 from %d images each "
         "(%d), %d test; width %d, %d thread(s)\n",
         pre.n, o.pretrained ? "loaded" : "trained here", pre_test.n, o.shots, shots.n, target_test.n, o.width, nn_set_threads(0));
  fflush(stdout);
  if (!(out = (float *)malloc((size_t)batch * HALF * sizeof *out))) { fprintf(stderr, "%s: out of memory\n", a.prog); return 1; }
  log = ex_log_open(&a);

  /* 1. pretraining, or its file (loaded once here: a file that does not fit fails before any training) */
  if (o.pretrained) {
    pretrained = o.pretrained;
    nn_model_free(target_model(&a, &o, pretrained, 0, 1.0f, shot_batch, &logits));
  } else {
    nn_graph *g = nn_graph_new();
    if (!g) ex_die(&a, "graph");
    nn_graph_set_seed(g, a.seed);
    logits = build(g, o.width, HALF, "head", 0, 1.0f);
    if (!(m = nn_compile(g, batch, ex_backend(&a)))) ex_die(&a, "cannot build the model");
    nn_model_set_seed(m, a.seed + 1);
    if (!a.quiet) nn_summary(m, stdout);
    pre_seconds = fit(&a, "pretrain", m, logits, o.pretrain_lr, o.pretrain_epochs, batch, &pre, &pre_test, &rng, log, &log_epoch);
    pre_acc = evaluate(&a, m, logits, &pre_test, batch, out);
    /* the file the three runs load from (nn.h saves models to files only) */
    if (o.save_pretrained) pretrained = o.save_pretrained;
    else {
      snprintf(tmp, sizeof tmp, "%s.pretrained.safetensors.tmp", a.save ? a.save : "transfer");
      pretrained = tmp;
    }
    if (!nn_safetensors_save(m, pretrained, NULL)) ex_die(&a, "saving the pretrained network");
    nn_model_free(m);
  }

  /* 2. the three runs on the same few images, with the same steps */
  for (i = 0; i < 3; i++) {
    nn_rng r;
    nn_rng_seed(&r, a.seed + 3);   /* the same batches and augmentations */
    m = target_model(&a, &o, i ? pretrained : NULL, i == 1, 0.1f, shot_batch, &logits);
    secs[i] = fit(&a, runs[i], m, logits, a.lr, a.epochs, shot_batch, &shots, &target_test, &r, log, &log_epoch);
    acc[i] = evaluate(&a, m, logits, &target_test, shot_batch, out);
    if (i == 2) ex_save(&a, m, logits);
    nn_model_free(m);
  }
  if (!o.pretrained && !o.save_pretrained) remove(tmp);
  printf("classes 5-9 from %d images each: scratch %.4f, frozen backbone %.4f, fine-tuned %.4f (%+.1f points over scratch)\n",
         o.shots, acc[0], acc[1], acc[2], 100 * (acc[2] - acc[0]));
  printf("RESULT test_accuracy=%.4f scratch_accuracy=%.4f frozen_accuracy=%.4f finetuned_accuracy=%.4f gain=%.4f ", acc[2],
         acc[0], acc[1], acc[2], acc[2] - acc[0]);
  if (pre_acc >= 0) printf("pretrain_accuracy=%.4f ", pre_acc);   /* not with --pretrained */
  printf("shots=%d epochs=%d train_seconds=%.1f pretrain_seconds=%.1f scratch_seconds=%.1f frozen_seconds=%.1f "
         "finetuned_seconds=%.1f total_seconds=%.1f\n",
         o.shots, a.epochs, pre_seconds + secs[0] + secs[1] + secs[2], pre_seconds, secs[0], secs[1], secs[2], ex_now() - t_start);
  if (log) fclose(log);
  free(out);
  free(pre.x); free(pre.y); free(shots.x); free(shots.y);
  free(pre_test.x); free(pre_test.y); free(target_test.x); free(target_test.y);
  return 0;
}
