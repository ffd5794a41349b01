/* Build:  cc -O3 -march=native -fopenmp -I. examples/transfer.c -o build/transfer -lm
   Plain:  cc -O2 -I. examples/transfer.c -lm
   OpenCL: cc -O2 -I. -DNN_OPENCL examples/transfer.c -lOpenCL -lclblast -lm   (--device opencl)
   Run:    ./a.out --help

   Transfer learning on CIFAR-10 split in two.  A CNN is pretrained on
   the 25,000 training images of classes 0-4 (airplane, automobile, bird,
   cat, deer); then classes 5-9 (dog, frog, horse, ship, truck) are
   learnt from only --shots N labelled training images each, three ways,
   on the same images with the same batches and augmentations, each
   evaluated on the 5,000 test images of classes 5-9:
     scratch:   the whole network from a fresh initialisation;
     frozen:    the pretrained backbone loaded and frozen, a new head;
     finetuned: the pretrained backbone loaded, a new head trained alone
                first (--probe-epochs, the backbone's learning-rate
                multiplier 0), then both (--backbone-lr-mult).
   The backbone comes from the pretrained file by name with
   NN_LOAD_PARTIAL (its head, "head", is not in the new models, which
   have "new_head"); freezing is nn_set_trainable, the backbone's rate
   nn_set_lr_mult (read by every step, so the probe's 0 is lifted after
   it without rebuilding the model).

   Each run has its own learning rate and epochs (--scratch-lr,
   --scratch-epochs and so on; --lr and --epochs set all three).  The
   defaults are each run's best on validation images, never on the test
   set: tools/transfer_search.sh trains every run over the same grid
   (learning rate 0.025, 0.05, 0.1 x 20, 40 epochs, and one step past the
   grid's edge where a run's best lay on it; finetuned also the backbone's
   multiplier 0.1, 0.3, 1 and probe epochs) with --val 1000, and scores
   each by the accuracy of its last epoch on those 1,000 images.  --val N
   draws them from the training images of classes 5-9 that are not among
   the shots (in the few-shot setting those images are there, unlabelled
   in principle; labelling 1,000 to choose a recipe is the usual
   compromise).  With --val every run keeps its best epoch on them and
   --patience K stops it early; the per-epoch lines then show the
   validation accuracy, and the test set is measured once, at the end.

   The network: four conv 3x3 -> batch norm -> relu stages of --width W,
   2W, 4W, 8W channels (W 32), max pooling after the first three, global
   average pooling, a dense head.  Training: SGD with Nesterov momentum
   0.9, weight decay 5e-4 (not on biases and batch norm), label smoothing
   0.1, a cosine schedule with a warm-up, random flips and +-4 px shifts.

   --pretrained FILE loads the pretrained network instead of training it
   (a file that --save-pretrained FILE wrote); --limit N pretrains on the
   first N images of classes 0-4; --runs picks some of the three.  --save
   FILE writes the fine-tuned network, --onnx FILE its graph.  There is no
   --checkpoint: the few-shot trainings are short, and --save-pretrained
   keeps the long one. */
#define NN_IMPLEMENTATION
#include "common.h"

#define CLASSES 10
#define HALF 5   /* classes per task */
#define PIXELS (3 * 32 * 32)
static const char *const class_names[CLASSES] = {"airplane", "automobile", "bird", "cat", "deer",
                                                 "dog", "frog", "horse", "ship", "truck"};

enum { SCRATCH, FROZEN, FINETUNED, RUNS };
static const char *const run_names[RUNS] = {"scratch", "frozen", "finetuned"};

typedef struct transfer_opts {
  int shots, pretrain_epochs, width, probe_epochs;
  int epochs[RUNS];        /* of each few-shot run (finetuned: after the probe) */
  float lr[RUNS];          /* of each few-shot run (finetuned: the head's; the probe's too) */
  float pretrain_lr, backbone_lr_mult;
  int run[RUNS];           /* --runs: which of them to train */
  const char *pretrained, *save_pretrained;
} transfer_opts;

/* images and labels of one task */
typedef struct task {
  int n;
  float *x, *y;
} task;

/* the samples of d with labels first..first+HALF-1, relabelled from 0,
   that `taken` does not mark (NULL: all), in the order r shuffles them
   (data-set order for a NULL r): at most `per_class` of each class (0: no
   limit) and `total` in all (0: no limit).  Marks the chosen ones in
   `taken`.  Exits 2 when a class has fewer than per_class. */
static task select_classes(const ex_args *a, const nn_dataset *d, int first, int per_class, int total, nn_rng *r,
                           unsigned char *taken) {
  int *order = (int *)malloc((size_t)d->n * sizeof(int)), count[HALF] = {0}, i, k, c;
  task t;
  t.x = (float *)malloc((size_t)d->n * PIXELS * sizeof(float));
  t.y = (float *)malloc((size_t)d->n * sizeof(float));
  t.n = 0;
  if (!order || !t.x || !t.y) { fprintf(stderr, "%s: out of memory\n", a->prog); exit(1); }
  for (i = 0; i < d->n; i++) order[i] = i;
  if (r) nn_shuffle(r, order, d->n);
  for (k = 0; k < d->n && (!total || t.n < total); k++) {
    c = (int)d->y[order[k]] - first;
    if (c < 0 || c >= HALF || (per_class && count[c] == per_class) || (taken && taken[order[k]])) continue;
    count[c]++;
    if (taken) taken[order[k]] = 1;
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
   named `head`.  Backbone parameters: trainable with lr_mult, or frozen.
   *backbone_end: the nodes before it are the backbone's. */
static nn_node *build(nn_graph *g, int width, int classes, const char *head, int frozen, float lr_mult, int *backbone_end) {
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
  *backbone_end = nn_graph_num_nodes(g);   /* everything so far is the backbone */
  for (i = 0; i < *backbone_end; i++) {
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

/* the backbone's learning-rate multiplier of a compiled model (each step reads it) */
static void set_backbone_lr_mult(const ex_args *a, nn_graph *g, int backbone_end, float mult) {
  int i;
  for (i = 0; i < backbone_end; i++) {
    nn_node *p = nn_graph_node(g, i);
    if (p->op == NN_OP_PARAM && p->trainable && !nn_set_lr_mult(p, mult)) ex_die(a, "the backbone's learning rate");
  }
}

/* the fraction of t classified right; *correct: how many */
static double evaluate(const ex_args *a, nn_model *m, const nn_node *logits, const task *t, int batch, float *out, long *correct) {
  int start, right = 0;
  for (start = 0; start < t->n; start += batch) {
    int n = t->n - start < batch ? t->n - start : batch;
    if (!nn_set_batch(m, n) || !nn_feed(m, "image", t->x + (size_t)start * PIXELS) || !nn_predict(m, logits) ||
        !nn_read(m, logits, out))
      ex_die(a, "evaluation");
    nn_cross_entropy_sum(out, t->y + start, n, HALF, &right);
  }
  if (correct) *correct = right;
  return (double)right / t->n;
}

/* where a training's per-epoch lines go, and what it measures after each
   epoch: the validation images (then the test set only at the end), or,
   without them, the test images */
typedef struct monitor {
  const task *val, *test;
  FILE *log;
  int log_epoch;   /* the CSV's running epoch number */
  ex_best best;    /* --val: the epoch kept */
  int epoch;       /* epochs trained in this run (all its phases) */
} monitor;

/* `epochs` passes over t (the last partial batch dropped; smaller sets
   than a batch train as one batch) with a cosine schedule from lr, fewer
   when --patience sees K epochs of this phase without a better one;
   returns the seconds */
static double fit(const ex_args *a, const char *what, nn_model *m, const nn_node *logits, float lr, int epochs, int batch,
                  const task *t, nn_rng *rng, monitor *mon) {
  nn_optimizer *opt;
  float *xa, *xb, *yb, *out;
  int *order, *dy, *dx, steps, e, s, i, start = mon->epoch;
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
    double t0 = ex_now(), loss_sum = 0, acc;
    int correct = 0;
    long right;
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
    mon->epoch++;
    if (mon->val) {   /* every epoch: the validation images choose the one kept */
      acc = evaluate(a, m, logits, mon->val, batch, out, &right);
      ex_best_update(a, &mon->best, m, mon->epoch, right);
    } else if (epochs <= 20 || e == epochs || e % 10 == 0) {   /* the test accuracy of long runs every 10 epochs */
      acc = evaluate(a, m, logits, mon->test, batch, out, NULL);
    } else acc = -1;
    seconds += ex_now() - t0;
    if (acc >= 0) {
      printf("%s epoch %d/%d train_loss=%.4f train_accuracy=%.4f %s_accuracy=%.4f seconds=%.2f\n", what, e, epochs,
             loss_sum / steps, (double)correct / ((double)steps * batch), mon->val ? "val" : "test", acc, ex_now() - t0);
      fflush(stdout);
      if (mon->log) {
        fprintf(mon->log, "%d,%s,%.6f,%.6f,%.6f,%.3f\n", ++mon->log_epoch, what, loss_sum / steps,
                (double)correct / ((double)steps * batch), acc, ex_now() - t0);
        fflush(mon->log);
      }
    }
    if (ex_best_stop(a, &mon->best, mon->epoch) && mon->epoch - start >= a->patience) break;
  }
  nn_optimizer_free(opt);
  free(xa); free(xb); free(yb); free(out); free(order); free(dy); free(flip);
  return seconds;
}

static float parse_float(const ex_args *a, const char *flag, const char *v, float lo, float hi) {
  char *end;
  float x = strtof(v, &end);
  if (end == v || *end || !(x >= lo && x <= hi)) {
    fprintf(stderr, "%s: %s expects a number in %g..%g, not '%s'\n", a->prog, flag, lo, hi, v);
    exit(2);
  }
  return x;
}

/* --runs scratch,frozen,finetuned (any of them, in any order) */
static void parse_runs(const ex_args *a, transfer_opts *o, const char *v) {
  const char *p = v;
  int i;
  for (i = 0; i < RUNS; i++) o->run[i] = 0;
  while (*p) {
    size_t n = strcspn(p, ",");
    for (i = 0; i < RUNS && (strlen(run_names[i]) != n || strncmp(p, run_names[i], n)); i++) {}
    if (i == RUNS) ex_bad_usage(a, "--runs: '%s' is not a list of scratch, frozen, finetuned", v);
    o->run[i] = 1;
    p += n + (p[n] == ',');
  }
  if (!o->run[SCRATCH] && !o->run[FROZEN] && !o->run[FINETUNED]) ex_bad_usage(a, "--runs: '%s' names no run", v);
}

static void parse(ex_args *a, transfer_opts *o, int *argc, char **argv) {
  int i, k, epochs[RUNS] = {0, 0, 0};
  float lr[RUNS] = {0, 0, 0};
  char flag[32];
  for (i = 1; i < *argc; i++) {
    const char *v;
    if (ex_take_flag(a, argc, argv, &i, "--shots", &v)) o->shots = (int)ex_parse_long(a, "--shots", v, 1, 1000000);
    else if (ex_take_flag(a, argc, argv, &i, "--pretrain-epochs", &v))
      o->pretrain_epochs = (int)ex_parse_long(a, "--pretrain-epochs", v, 1, 100000);
    else if (ex_take_flag(a, argc, argv, &i, "--width", &v)) o->width = (int)ex_parse_long(a, "--width", v, 1, 1024);
    else if (ex_take_flag(a, argc, argv, &i, "--pretrained", &v)) o->pretrained = v;
    else if (ex_take_flag(a, argc, argv, &i, "--save-pretrained", &v)) o->save_pretrained = v;
    else if (ex_take_flag(a, argc, argv, &i, "--backbone-lr-mult", &v))
      o->backbone_lr_mult = parse_float(a, "--backbone-lr-mult", v, 0.0f, 100.0f);
    else if (ex_take_flag(a, argc, argv, &i, "--probe-epochs", &v))
      o->probe_epochs = (int)ex_parse_long(a, "--probe-epochs", v, 0, 100000);
    else if (ex_take_flag(a, argc, argv, &i, "--runs", &v)) parse_runs(a, o, v);
    else if (!strcmp(argv[i], "--")) break;
    else
      for (k = 0; k < RUNS; k++) {
        snprintf(flag, sizeof flag, "--%s-lr", k == FINETUNED ? "finetune" : run_names[k]);
        if (ex_take_flag(a, argc, argv, &i, flag, &v)) { lr[k] = parse_float(a, flag, v, 1e-6f, 100.0f); break; }
        snprintf(flag, sizeof flag, "--%s-epochs", k == FINETUNED ? "finetune" : run_names[k]);
        if (ex_take_flag(a, argc, argv, &i, flag, &v)) { epochs[k] = (int)ex_parse_long(a, flag, v, 1, 100000); break; }
      }
  }
  ex_parse(a, *argc, argv);
  if (a->checkpoint || a->resume)
    ex_bad_usage(a, "%s: no checkpoints here (four short trainings); --save-pretrained FILE and --pretrained FILE keep the long one",
                 a->checkpoint ? "--checkpoint" : "--resume");
  if ((a->save || a->onnx) && !o->run[FINETUNED])
    ex_bad_usage(a, "%s writes the fine-tuned network: --runs must include finetuned", a->save ? "--save" : "--onnx");
  /* --lr and --epochs set all three runs; --scratch-lr and the like one */
  for (k = 0; k < RUNS; k++) {
    if (lr[k] > 0) o->lr[k] = lr[k];
    else if (a->lr > 0) o->lr[k] = a->lr;
    if (epochs[k]) o->epochs[k] = epochs[k];
    else if (a->epochs > 0) o->epochs[k] = a->epochs;
  }
}

/* a model for the target task: fresh, or with the pretrained backbone
   (the backend: a new one each, as the last model using one frees it) */
static nn_model *target_model(const ex_args *a, const transfer_opts *o, const char *pretrained, int frozen, float lr_mult,
                              int batch, nn_node **logits, nn_graph **graph, int *backbone_end) {
  nn_graph *g = nn_graph_new();
  nn_model *m;
  int loaded;
  if (!g) ex_die(a, "graph");
  nn_graph_set_seed(g, a->seed + 10);   /* the same new head in all three */
  *logits = build(g, o->width, HALF, "new_head", frozen, lr_mult, backbone_end);
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
  if (graph) *graph = g;
  return m;
}

int main(int argc, char **argv) {
  ex_args a;
  transfer_opts o;
  nn_dataset *train, *test;
  task pre, pre_test, shots, val, target_test;
  nn_model *m;
  nn_graph *g;
  nn_node *logits;
  nn_rng rng;
  monitor mon;
  float mean[3], std[3], *out;
  char tmp[1024];
  const char *pretrained = NULL;
  unsigned char *taken;
  int batch = 128, shot_batch = 64, backbone_end, best_epoch[RUNS] = {0, 0, 0}, epochs_run[RUNS] = {0, 0, 0}, i;
  double pre_seconds = 0, pre_acc = -1, acc[RUNS] = {-1, -1, -1}, val_acc[RUNS] = {-1, -1, -1}, secs[RUNS] = {0, 0, 0},
         t_start = ex_now();

  memset(&a, 0, sizeof a);
  memset(&o, 0, sizeof o);
  a.prog = "transfer";
  a.about = "transfer learning on CIFAR-10: pretrain on classes 0-4, learn classes 5-9 from a few images each";
  a.notes = "  --shots N         labelled training images per new class (default: 100)\n"
            "  --pretrain-epochs N  epochs of pretraining on classes 0-4 (default: 12, lr 0.1)\n"
            "  --width W         channels of the first stage; then 2W, 4W, 8W (default: 32)\n"
            "  --pretrained FILE load the pretrained network instead of pretraining\n"
            "  --save-pretrained FILE  write the pretrained network (safetensors)\n"
            "  --runs LIST       which of scratch,frozen,finetuned to train (default: all three)\n"
            "  --scratch-lr X, --frozen-lr X, --finetune-lr X            one run's learning rate\n"
            "  --scratch-epochs N, --frozen-epochs N, --finetune-epochs N  one run's epochs\n"
            "                    (--lr X and --epochs N set all three; defaults: scratch 0.1 and 80,\n"
            "                    frozen 0.1 and 80, finetuned 0.025 and 40)\n"
            "  --backbone-lr-mult M  finetuned: the backbone's learning rate over the head's (default: 1)\n"
            "  --probe-epochs P  finetuned: first P epochs of the new head alone (backbone still),\n"
            "                    then --finetune-epochs of both (default: 10)\n"
            "--val N draws N validation images from the training images of classes 5-9 that are not\n"
            "among the shots; each run keeps its best epoch on them, and the per-epoch lines show\n"
            "their accuracy instead of the test set's (measured once, at the end).";
  a.extra = EX_LR | EX_VAL;
  a.data = "data/cifar-10-batches-bin";
  a.device = "cpu";
  a.seed = 1;
  o.shots = 100;
  o.pretrain_epochs = 12;
  o.pretrain_lr = 0.1f;
  o.width = 32;
  /* each run's best on the validation images (tools/transfer_search.sh) */
  o.lr[SCRATCH] = 0.1f;
  o.epochs[SCRATCH] = 80;
  o.lr[FROZEN] = 0.1f;
  o.epochs[FROZEN] = 80;
  o.lr[FINETUNED] = 0.025f;
  o.epochs[FINETUNED] = 40;
  o.probe_epochs = 10;
  o.backbone_lr_mult = 1.0f;
  for (i = 0; i < RUNS; i++) o.run[i] = 1;
  parse(&a, &o, &argc, argv);
  a.log_header = a.val ? "epoch,run,train_loss,train_accuracy,val_accuracy,seconds"
                       : "epoch,run,train_loss,train_accuracy,test_accuracy,seconds";

  if (!(train = nn_dataset_read_cifar10(a.data, "train")) || !(test = nn_dataset_read_cifar10(a.data, "test"))) {
    fprintf(stderr, "%s: %s\n(the binary batches come from: tools/fetch_data.sh cifar10)\n", a.prog, nn_last_error());
    return 1;
  }
  if (!(taken = (unsigned char *)calloc((size_t)train->n, 1))) { fprintf(stderr, "%s: out of memory\n", a.prog); return 1; }
  nn_rng_seed(&rng, a.seed + 2);
  pre = select_classes(&a, train, 0, 0, 0, NULL, NULL);
  if (a.limit && a.limit < pre.n) pre.n = a.limit;
  shots = select_classes(&a, train, HALF, o.shots, 0, &rng, taken);
  memset(&val, 0, sizeof val);
  if (a.val) {   /* from the images of classes 5-9 that are not shots, by a generator of its own */
    nn_rng vr;
    nn_rng_seed(&vr, a.seed ^ 0x76616cULL);
    val = select_classes(&a, train, HALF, 0, a.val, &vr, taken);
    if (val.n < a.val) {
      fprintf(stderr, "%s: --val %d: only %d training images of classes 5-9 are not among the shots\n", a.prog, a.val, val.n);
      return 2;
    }
  }
  free(taken);
  pre_test = select_classes(&a, test, 0, 0, 0, NULL, NULL);
  target_test = select_classes(&a, test, HALF, 0, 0, NULL, NULL);
  {   /* inputs normalised with the pretraining images' channel statistics */
    nn_dataset view;
    memset(&view, 0, sizeof view);
    view.n = pre.n;
    view.shape = train->shape;
    view.x = pre.x;
    view.y = pre.y;
    if (!nn_dataset_channel_stats(&view, mean, std)) ex_die(&a, "normalising");
    for (i = 0; i < 5; i++) {
      task *t = i == 0 ? &pre : i == 1 ? &shots : i == 2 ? &pre_test : i == 3 ? &target_test : &val;
      if (!t->n) continue;
      view.n = t->n;
      view.x = t->x;
      view.y = t->y;
      if (!nn_dataset_normalize(&view, mean, std)) ex_die(&a, "normalising");
    }
  }
  nn_dataset_free(train);
  nn_dataset_free(test);
  printf("transfer: pretraining on %d images of classes 0-4 (%s), %d test; the new classes 5-9 from %d images each "
         "(%d), %s%d test; width %d, %d thread(s)\n",
         pre.n, o.pretrained ? "loaded" : "trained here", pre_test.n, o.shots, shots.n, ex_val_note(&a), target_test.n,
         o.width, nn_set_threads(0));
  for (i = 0; i < RUNS; i++)
    if (o.run[i]) {
      printf("%s: lr %g, %d epochs", run_names[i], o.lr[i], o.epochs[i]);
      if (i == FINETUNED) printf(" after %d of the head alone, backbone lr x %g", o.probe_epochs, o.backbone_lr_mult);
      printf("\n");
    }
  fflush(stdout);
  if (!(out = (float *)malloc((size_t)batch * HALF * sizeof *out))) { fprintf(stderr, "%s: out of memory\n", a.prog); return 1; }
  memset(&mon, 0, sizeof mon);
  mon.test = &pre_test;
  mon.log = ex_log_open(&a);

  /* 1. pretraining, or its file (loaded once here: a file that does not fit fails before any training) */
  if (o.pretrained) {
    pretrained = o.pretrained;
    nn_model_free(target_model(&a, &o, pretrained, 0, 1.0f, shot_batch, &logits, NULL, &backbone_end));
  } else if (o.run[FROZEN] || o.run[FINETUNED]) {
    if (!(g = nn_graph_new())) ex_die(&a, "graph");
    nn_graph_set_seed(g, a.seed);
    logits = build(g, o.width, HALF, "head", 0, 1.0f, &backbone_end);
    if (!(m = nn_compile(g, batch, ex_backend(&a)))) ex_die(&a, "cannot build the model");
    nn_model_set_seed(m, a.seed + 1);
    if (!a.quiet) nn_summary(m, stdout);
    pre_seconds = fit(&a, "pretrain", m, logits, o.pretrain_lr, o.pretrain_epochs, batch, &pre, &rng, &mon);
    pre_acc = evaluate(&a, m, logits, &pre_test, batch, out, NULL);
    /* the file the runs load from (nn.h saves models to files only) */
    if (o.save_pretrained) pretrained = o.save_pretrained;
    else {
      snprintf(tmp, sizeof tmp, "%s.pretrained.safetensors.tmp", a.save ? a.save : "transfer");
      pretrained = tmp;
    }
    if (!nn_safetensors_save(m, pretrained, NULL)) ex_die(&a, "saving the pretrained network");
    nn_model_free(m);
  }

  /* 2. the runs on the same few images, with the same batches and augmentations */
  mon.val = a.val ? &val : NULL;
  mon.test = &target_test;
  for (i = 0; i < RUNS; i++) {
    nn_rng r;
    if (!o.run[i]) continue;
    nn_rng_seed(&r, a.seed + 3);
    m = target_model(&a, &o, i == SCRATCH ? NULL : pretrained, i == FROZEN, o.backbone_lr_mult, shot_batch, &logits, &g,
                     &backbone_end);
    ex_best_init(&a, &mon.best, m);
    mon.epoch = 0;
    if (i == FINETUNED && o.probe_epochs) {   /* the new head first, on the still backbone */
      set_backbone_lr_mult(&a, g, backbone_end, 0.0f);
      secs[i] += fit(&a, "probe", m, logits, o.lr[i], o.probe_epochs, shot_batch, &shots, &r, &mon);
      set_backbone_lr_mult(&a, g, backbone_end, o.backbone_lr_mult);
    }
    secs[i] += fit(&a, run_names[i], m, logits, o.lr[i], o.epochs[i], shot_batch, &shots, &r, &mon);
    epochs_run[i] = mon.epoch;
    if (a.val) {
      ex_best_restore(&a, &mon.best);
      best_epoch[i] = mon.best.epoch;
      val_acc[i] = (double)mon.best.correct / val.n;
      printf("%s: kept epoch %d of %d, val_accuracy=%.4f\n", run_names[i], best_epoch[i], epochs_run[i], val_acc[i]);
      ex_best_free(&mon.best);
    }
    acc[i] = evaluate(&a, m, logits, &target_test, shot_batch, out, NULL);
    if (i == FINETUNED) ex_save(&a, m, logits);
    nn_model_free(m);
  }
  if (pretrained == tmp) remove(tmp);
  printf("classes 5-9 from %d images each:", o.shots);
  for (i = 0; i < RUNS; i++)
    if (o.run[i]) printf(" %s %.4f", run_names[i], acc[i]);
  if (o.run[SCRATCH] && o.run[FINETUNED]) printf(" (fine-tuned %+.1f points over scratch)", 100 * (acc[FINETUNED] - acc[SCRATCH]));
  printf("\n");
  /* test_accuracy: the fine-tuned run's, or the last run's that was trained */
  for (i = RUNS - 1; !o.run[i]; i--) {}
  printf("RESULT test_accuracy=%.4f", acc[i]);
  for (i = 0; i < RUNS; i++)
    if (o.run[i]) printf(" %s_accuracy=%.4f", run_names[i], acc[i]);
  if (o.run[SCRATCH] && o.run[FINETUNED]) printf(" gain=%.4f", acc[FINETUNED] - acc[SCRATCH]);
  if (pre_acc >= 0) printf(" pretrain_accuracy=%.4f", pre_acc);   /* not with --pretrained */
  for (i = 0; a.val && i < RUNS; i++)
    if (o.run[i]) printf(" %s_val_accuracy=%.4f %s_best_epoch=%d %s_epochs_run=%d", run_names[i], val_acc[i], run_names[i],
                         best_epoch[i], run_names[i], epochs_run[i]);
  printf(" shots=%d", o.shots);
  for (i = 0; i < RUNS; i++)
    if (o.run[i]) printf(" %s_lr=%g %s_epochs=%d", run_names[i], o.lr[i], run_names[i], o.epochs[i]);
  if (o.run[FINETUNED]) printf(" backbone_lr_mult=%g probe_epochs=%d", o.backbone_lr_mult, o.probe_epochs);
  printf(" train_seconds=%.1f pretrain_seconds=%.1f", pre_seconds + secs[0] + secs[1] + secs[2], pre_seconds);
  for (i = 0; i < RUNS; i++)
    if (o.run[i]) printf(" %s_seconds=%.1f", run_names[i], secs[i]);
  printf(" total_seconds=%.1f\n", ex_now() - t_start);
  if (mon.log) fclose(mon.log);
  free(out);
  free(pre.x); free(pre.y); free(shots.x); free(shots.y); free(val.x); free(val.y);
  free(pre_test.x); free(pre_test.y); free(target_test.x); free(target_test.y);
  return 0;
}
