/* examples/common.h — helpers shared by the examples: the command-line
   flags, a wall-clock timer, a progress display, the per-epoch line and the
   --log CSV.  Include it before any other header (it sets the POSIX feature
   macro and includes nn.h); every function is static and prefixed ex_.

   Every example takes the same flags:
     --data PATH  --epochs N  --limit N  --seed N  --threads N
     --device cpu|opencl  --log FILE.csv  --quiet  --help
     --save FILE  --onnx FILE  --checkpoint FILE  --resume FILE
   and, where it says so, --model NAME, --batch N, --lr X, --int8, --prune S,
   --prune-channels F, and --val N --patience K (early stopping, below).
   Exit status: 0 done, 1 runtime error (bad data, I/O), 2 bad command line.
   The last line on stdout is "RESULT key=value ...". */
#ifndef EX_COMMON_H
#define EX_COMMON_H

#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 199309L   /* clock_gettime, fileno, isatty under -std=c99 */
#endif
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#ifdef _WIN32
#include <io.h>        /* _isatty, _fileno */
#include <windows.h>   /* QueryPerformanceCounter: Windows has no clock_gettime without winpthreads */
#else
#include <unistd.h>
#endif

#include "nn.h"
/* --onnx: nn_onnx.h, compiled in the example's file */
#ifdef NN_IMPLEMENTATION
#define NN_ONNX_IMPLEMENTATION
#endif
#include "nn_onnx.h"
/* --int8: nn_compress.h, compiled in the example's file */
#ifdef NN_IMPLEMENTATION
#define NN_COMPRESS_IMPLEMENTATION
#endif
#include "nn_compress.h"
/* -DNN_OPENCL (and -lOpenCL -lclblast) adds --device opencl: nn_opencl.h
   compiled in the example's file, which defines NN_IMPLEMENTATION */
#ifdef NN_OPENCL
#ifdef NN_IMPLEMENTATION
#define NN_OPENCL_IMPLEMENTATION
#endif
#include "nn_opencl.h"
#endif

/* ---------------------------------------------------------------- flags */
enum { EX_MODEL = 1, EX_BATCH = 2, EX_LR = 4, EX_INT8 = 8, EX_PRUNE = 16, EX_PRUNE_CHANNELS = 32, EX_VAL = 64 };   /* example-specific flags */

typedef struct ex_args {
  /* filled by the example before ex_parse: its name and defaults */
  const char *prog;       /* name in messages */
  const char *about;      /* one line for --help */
  const char *notes;      /* extra --help text (defaults per model...), or NULL */
  unsigned extra;         /* EX_MODEL | EX_BATCH | EX_LR | EX_INT8 | EX_PRUNE | EX_PRUNE_CHANNELS | EX_VAL accepted */
  const char *models;     /* e.g. "cnn|mlp" when EX_MODEL */
  /* the flags */
  const char *data, *model, *device, *log;
  const char *save, *onnx, *checkpoint, *resume;   /* NULL: not asked for */
  int epochs, limit, threads, batch, quiet;   /* limit 0: all; threads 0: default */
  int int8;               /* --int8: also evaluate the int8-quantised model */
  float prune;            /* --prune: final sparsity of the dense, conv and recurrent weights (0: none) */
  float prune_channels;   /* --prune-channels: fraction of each conv's channels removed (0: none) */
  float lr;
  unsigned long seed;
  int done_epochs;        /* epochs in the --resume checkpoint (set by ex_resume) */
  int val, patience;      /* EX_VAL: validation samples held out, epochs without improvement (0: off) */
  const char *log_header; /* --log's first line, NULL: epoch,train_loss,...,seconds */
} ex_args;

static inline void ex_usage(const ex_args *a, FILE *f) {
  fprintf(f, "%s: %s\nusage: %s [flags]\n", a->prog, a->about, a->prog);
  fprintf(f, "  --data PATH       data location (default: %s)\n", a->data ? a->data : "built in");
  if (a->extra & EX_MODEL) fprintf(f, "  --model %-9s model (default: %s)\n", a->models, a->model);
  if (a->epochs > 0) fprintf(f, "  --epochs N        passes over the training set (default: %d)\n", a->epochs);
  else fprintf(f, "  --epochs N        passes over the training set (default: per model)\n");
  if (a->extra & EX_BATCH) fprintf(f, "  --batch N         mini-batch size (default: %d)\n", a->batch);
  if (a->extra & EX_LR) {
    if (a->lr > 0) fprintf(f, "  --lr X            learning rate (default: %g)\n", a->lr);
    else fprintf(f, "  --lr X            learning rate (default: per model)\n");
  }
  if (a->extra & EX_INT8)
    fprintf(f, "  --int8            after training (or --resume of a finished run), quantise to int8 and\n"
               "                    report its accuracy and images/s next to the float model's\n");
  if (a->extra & EX_PRUNE)
    fprintf(f, "  --prune S         gradual magnitude pruning to sparsity S (0..1) of the dense, conv and\n"
               "                    recurrent weights, one threshold for all: cubic schedule from 10%% to\n"
               "                    70%% of the steps\n");
  if (a->extra & EX_PRUNE_CHANNELS)
    fprintf(f, "  --prune-channels F  after training, remove the fraction F of each conv's channels\n"
               "                    (lowest L1 x |gamma|), rebuild the smaller model, fine-tune it\n");
  if (a->extra & EX_VAL)
    fprintf(f, "  --val N           hold out N training samples to choose the epoch kept (the best on them)\n"
               "  --patience K      with --val: stop after K epochs without a better validation accuracy\n");
  fprintf(f, "  --limit N         train on the first N training samples only\n"
             "  --seed N          random seed (default: %lu)\n"
             "  --threads N       OpenMP threads (needs -fopenmp; default: all cores)\n"
             "  --device DEV      cpu or opencl (default: cpu)\n"
             "  --log FILE.csv    write one CSV row per epoch\n"
             "  --save FILE       write the trained weights at the end (safetensors)\n"
             "  --onnx FILE       write the inference graph with its weights at the end (ONNX)\n"
             "  --checkpoint FILE write a checkpoint after every epoch (replaced atomically)\n"
             "  --resume FILE     continue from a checkpoint, with the same flags as its run\n"
             "  --quiet           no model summary, no progress display\n"
             "  --help            this text\n", a->seed);
  if (a->notes) fprintf(f, "%s\n", a->notes);
}

static inline void ex_bad_usage(const ex_args *a, const char *fmt, const char *what) {
  fprintf(stderr, "%s: ", a->prog);
  fprintf(stderr, fmt, what);
  fprintf(stderr, "\n");
  ex_usage(a, stderr);
  exit(2);
}

static inline long ex_parse_long(const ex_args *a, const char *flag, const char *s, long lo, long hi) {
  char *end;
  long v;
  errno = 0;
  v = strtol(s, &end, 10);
  if (errno || end == s || *end || v < lo || v > hi) {
    fprintf(stderr, "%s: %s expects an integer in %ld..%ld, not '%s'\n", a->prog, flag, lo, hi, s);
    exit(2);
  }
  return v;
}

/* An example's own flag: if argv[*i] is `flag` (as "--flag V" or
   "--flag=V"), sets *value, takes it out of argv (so that ex_parse does
   not see it), steps *i back and returns 1; exits 2 if the value is missing. */
static inline int ex_take_flag(const ex_args *a, int *argc, char **argv, int *i, const char *flag, const char **value) {
  size_t n = strlen(flag);
  char *f = argv[*i];
  int k, used;
  if (strncmp(f, flag, n) || (f[n] && f[n] != '=')) return 0;
  if (f[n] == '=') { *value = f + n + 1; used = 1; }
  else if (*i + 1 < *argc) { *value = argv[*i + 1]; used = 2; }
  else { fprintf(stderr, "%s: %s needs a value\n", a->prog, flag); exit(2); }
  for (k = *i; k + used < *argc; k++) argv[k] = argv[k + used];
  *argc -= used;
  (*i)--;
  return 1;
}

/* Parses argv into a (defaults already set).  --help exits 0, bad flags
   exit 2, --device opencl exits 1 unless built with -DNN_OPENCL.  Applies
   --threads. */
static inline void ex_parse(ex_args *a, int argc, char **argv) {
  int i;
  for (i = 1; i < argc; i++) {
    const char *f = argv[i], *v = NULL, *eq = strchr(f, '=');
    char name[32];
    size_t len = eq ? (size_t)(eq - f) : strlen(f);
    if (!strcmp(f, "--help") || !strcmp(f, "-h")) { ex_usage(a, stdout); exit(0); }
    if (!strcmp(f, "--quiet")) { a->quiet = 1; continue; }
    if (!strcmp(f, "--int8") && (a->extra & EX_INT8)) { a->int8 = 1; continue; }
    if (strncmp(f, "--", 2) || len >= sizeof name) ex_bad_usage(a, "unknown argument '%s'", f);
    memcpy(name, f, len);
    name[len] = 0;
    if (!((!strcmp(name, "--model") && (a->extra & EX_MODEL)) || (!strcmp(name, "--prune") && (a->extra & EX_PRUNE)) ||
          (!strcmp(name, "--prune-channels") && (a->extra & EX_PRUNE_CHANNELS)) || (!strcmp(name, "--batch") && (a->extra & EX_BATCH)) ||
          (!strcmp(name, "--lr") && (a->extra & EX_LR)) || (!strcmp(name, "--val") && (a->extra & EX_VAL)) ||
          (!strcmp(name, "--patience") && (a->extra & EX_VAL)) || !strcmp(name, "--data") || !strcmp(name, "--epochs") ||
          !strcmp(name, "--limit") || !strcmp(name, "--seed") || !strcmp(name, "--threads") ||
          !strcmp(name, "--device") || !strcmp(name, "--log") || !strcmp(name, "--save") || !strcmp(name, "--onnx") ||
          !strcmp(name, "--checkpoint") || !strcmp(name, "--resume")))
      ex_bad_usage(a, "unknown flag '%s'", name);
    if (eq) v = eq + 1;
    else if (i + 1 < argc) v = argv[++i];
    else ex_bad_usage(a, "%s needs a value", name);
    if (!strcmp(name, "--data")) a->data = v;
    else if (!strcmp(name, "--model")) a->model = v;
    else if (!strcmp(name, "--device")) a->device = v;
    else if (!strcmp(name, "--log")) a->log = v;
    else if (!strcmp(name, "--save")) a->save = v;
    else if (!strcmp(name, "--onnx")) a->onnx = v;
    else if (!strcmp(name, "--checkpoint")) a->checkpoint = v;
    else if (!strcmp(name, "--resume")) a->resume = v;
    else if (!strcmp(name, "--epochs")) a->epochs = (int)ex_parse_long(a, name, v, 1, 1000000);
    else if (!strcmp(name, "--limit")) a->limit = (int)ex_parse_long(a, name, v, 1, 2000000000);
    else if (!strcmp(name, "--threads")) a->threads = (int)ex_parse_long(a, name, v, 1, 1024);
    else if (!strcmp(name, "--batch")) a->batch = (int)ex_parse_long(a, name, v, 1, 65536);
    else if (!strcmp(name, "--val")) a->val = (int)ex_parse_long(a, name, v, 1, 2000000000);
    else if (!strcmp(name, "--patience")) a->patience = (int)ex_parse_long(a, name, v, 1, 1000000);
    else if (!strcmp(name, "--seed")) a->seed = (unsigned long)ex_parse_long(a, name, v, 0, 2147483647L);
    else if (!strcmp(name, "--prune")) {
      char *end;
      a->prune = strtof(v, &end);
      if (end == v || *end || !(a->prune > 0 && a->prune < 1)) ex_bad_usage(a, "--prune expects a sparsity in (0, 1), not '%s'", v);
    }
    else if (!strcmp(name, "--prune-channels")) {
      char *end;
      a->prune_channels = strtof(v, &end);
      if (end == v || *end || !(a->prune_channels > 0 && a->prune_channels < 1))
        ex_bad_usage(a, "--prune-channels expects a fraction in (0, 1), not '%s'", v);
    }
    else if (!strcmp(name, "--lr")) {
      char *end;
      a->lr = strtof(v, &end);
      if (end == v || *end || !(a->lr > 0 && a->lr < 100)) ex_bad_usage(a, "--lr expects a number in (0, 100), not '%s'", v);
    }
  }
  if (a->patience && !a->val) ex_bad_usage(a, "%s needs --val N (the samples it watches)", "--patience");
  if (a->extra & EX_MODEL) {   /* the model must be one of "a|b|c" */
    const char *p = a->models;
    size_t n = strlen(a->model);
    while (p && (strncmp(p, a->model, n) || (p[n] && p[n] != '|'))) p = strchr(p, '|') ? strchr(p, '|') + 1 : NULL;
    if (!p || !n || strchr(a->model, '|')) ex_bad_usage(a, "unknown model '%s'", a->model);
  }
  if (!strcmp(a->device, "opencl")) {
#ifndef NN_OPENCL
    fprintf(stderr, "%s: not built with OpenCL support (--device opencl needs -DNN_OPENCL ... -lOpenCL -lclblast)\n", a->prog);
    exit(1);
#endif
  } else if (strcmp(a->device, "cpu")) ex_bad_usage(a, "unknown device '%s' (cpu or opencl)", a->device);
  /* before nn_compile: kernels size per-thread scratch by the thread count */
  if (a->threads > 0 && nn_set_threads(a->threads) != a->threads)
    fprintf(stderr, "%s: note: --threads %d ignored, built without -fopenmp\n", a->prog, a->threads);
}

/* the backend the flags ask for; the OpenCL device is the one that
   NN_OPENCL_DEVICE=P:D names, else the first GPU, else the first device */
static inline nn_backend *ex_backend(const ex_args *a) {
  (void)a;   /* only OpenCL builds look at the flags */
#ifdef NN_OPENCL
  if (!strcmp(a->device, "opencl")) {
    nn_backend *b = nn_opencl_backend(-1, -1);
    nn_opencl_info info;
    if (!b) {
      fprintf(stderr, "%s: --device opencl: %s\n", a->prog, nn_last_error());
      exit(1);
    }
    nn_opencl_get_info(b, &info);
    if (!a->quiet) printf("%s: OpenCL device %s (%s, driver %s)\n", a->prog, info.device, info.platform, info.driver);
    return b;
  }
#endif
  return nn_cpu_backend();
}

/* prints "prog: what: <nn_last_error()>" and exits 1 */
static inline void ex_die(const ex_args *a, const char *what) {
  fprintf(stderr, "%s: %s: %s\n", a->prog, what, nn_last_error());
  exit(1);
}

/* ---------------------------------------------------------------- time */
static inline double ex_now(void) {
#ifdef _WIN32
  LARGE_INTEGER t, hz;
  QueryPerformanceCounter(&t);
  QueryPerformanceFrequency(&hz);
  return (double)t.QuadPart / (double)hz.QuadPart;
#else
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
#endif
}

/* ---------------------------------------------------------------- progress
   On a terminal: one bar redrawn in place.  Otherwise: a plain line at
   every 10% of the epoch.  Epochs shorter than a second show nothing. */
typedef struct ex_progress {
  int epoch, epochs, total, quiet, tty, drawn, decile;
  double start, last;
} ex_progress;

static inline void ex_progress_start(ex_progress *p, int epoch, int epochs, int total_steps, int quiet) {
  p->epoch = epoch; p->epochs = epochs; p->total = total_steps; p->quiet = quiet;
#ifdef _WIN32
  p->tty = _isatty(_fileno(stderr));
#else
  p->tty = isatty(fileno(stderr));
#endif
  p->drawn = 0;
  p->decile = 1;
  p->start = p->last = ex_now();
}

/* step: steps done (1..total); loss: running mean; samples: seen so far */
static inline void ex_progress_step(ex_progress *p, int step, double loss, long samples) {
  double now = ex_now(), el = now - p->start, eta = step > 0 ? el / step * (p->total - step) : 0;
  double rate = el > 0 ? samples / el : 0;
  if (p->quiet || el < 1.0) return;
  if (p->tty) {
    char bar[26];
    int i, fill = p->total > 0 ? (int)(25.0 * step / p->total) : 25;
    if (now - p->last < 0.1 && step < p->total) return;
    for (i = 0; i < 25; i++) bar[i] = i < fill ? '#' : '.';
    bar[25] = 0;
    fprintf(stderr, "\r\033[Kepoch %d/%d [%s] %d/%d loss %.4f %.0f samples/s ETA %d:%02d", p->epoch, p->epochs,
            bar, step, p->total, loss, rate, (int)eta / 60, (int)eta % 60);
    p->drawn = 1;
  } else {
    if (step * 10 < p->decile * p->total) return;
    while (step * 10 >= p->decile * p->total) p->decile++;
    fprintf(stderr, "epoch %d/%d: %3d%% (%d/%d steps) loss %.4f %.0f samples/s ETA %.0fs\n", p->epoch, p->epochs,
            100 * step / p->total, step, p->total, loss, rate, eta);
  }
  p->last = now;
  fflush(stderr);
}

static inline void ex_progress_end(ex_progress *p) {
  if (p->drawn) fprintf(stderr, "\r\033[K");
  p->drawn = 0;
}

/* ---------------------------------------------------------------- saving
   A run keeps everything that decides its future in the model, the
   optimizer (and a weight average, if any) and an nn_checkpoint_info: the
   epoch and step counters and the generator for shuffling and
   augmentation.  With the same flags, a run resumed from a checkpoint
   trains exactly as the uninterrupted run would have. */

/* --resume: loads the checkpoint of a run of `epochs` epochs and returns
   the epochs it has done (0 without --resume); exits 1 naming the
   problem.  Call it after building the model and optimizer (and average),
   before ex_log_open. */
static inline int ex_resume(ex_args *a, int epochs, nn_model *m, nn_optimizer *opt, nn_ema *ema, nn_checkpoint_info *info) {
  if (!a->resume) return 0;
  if (!nn_checkpoint_load(m, opt, ema, info, a->resume)) ex_die(a, "--resume");
  if (info->epoch < 0 || info->epoch > epochs) {
    fprintf(stderr, "%s: '%s' is at epoch %ld, outside this run's 0..%d\n", a->prog, a->resume, info->epoch, epochs);
    exit(1);
  }
  a->done_epochs = (int)info->epoch;
  printf("%s: resuming from '%s' after epoch %d of %d (step %ld)\n", a->prog, a->resume, a->done_epochs, epochs, info->step);
  return a->done_epochs;
}
/* --checkpoint: call after every epoch, with info->epoch the epochs done */
static inline void ex_checkpoint(const ex_args *a, nn_model *m, const nn_optimizer *opt, const nn_ema *ema,
                                 const nn_checkpoint_info *info) {
  if (a->checkpoint && !nn_checkpoint_save(m, opt, ema, info, a->checkpoint)) ex_die(a, "--checkpoint");
}
/* at the end: --save, the weights; --onnx, the inference graph from the
   inputs to `out` (the example's output node) with its weights */
static inline void ex_save(const ex_args *a, nn_model *m, const nn_node *out) {
  const char *meta[] = {"example", NULL, "model", NULL, NULL};
  meta[1] = a->prog;
  if (a->model) meta[3] = a->model;
  else meta[2] = NULL;   /* no model to name: the list ends there */
  if (a->save && !nn_safetensors_save(m, a->save, meta)) ex_die(a, "--save");
  if (a->onnx && !nn_onnx_save(m, out, a->onnx)) ex_die(a, "--onnx");
}

/* ---------------------------------------------------------------- int8
   --int8: the trained model's weights copied into a CPU copy of its graph
   compiled for batch 256, quantised (nn_compress.h) with the first 512
   training images as calibration, then the test set through the float and
   the int8 model: both accuracies and both speeds (images/s of the whole
   pass at batch 256, feeding and reading included).  Plain forward passes:
   no test-time augmentation.  Fills `result` with the RESULT line's keys. */
typedef struct ex_int8_data {
  const float *calib, *x, *y;   /* calibration images; test images and labels */
  int n_calib, n;
  int classes;
} ex_int8_data;
static inline double ex_int8_pass(const ex_args *a, nn_model *m, nn_int8_plan *q, const nn_node *image,
                                  const nn_node *out, const ex_int8_data *d, float *buf, double *seconds) {
  size_t per = nn_shape_numel(nn_node_shape(image));
  int start, correct = 0;
  double t0 = ex_now();
  for (start = 0; start < d->n; start += 256) {
    int n = d->n - start < 256 ? d->n - start : 256;
    if (!nn_set_batch(m, n) || !nn_feed_node(m, image, d->x + (size_t)start * per) ||
        !(q ? nn_int8_predict(q) : nn_predict(m, out)) || !nn_read(m, out, buf))
      ex_die(a, "--int8 evaluation");
    nn_cross_entropy_sum(buf, d->y + start, n, d->classes, &correct);
  }
  *seconds = ex_now() - t0;
  return (double)correct / d->n;
}
/* a CPU copy of graph g compiled for `batch`, with the parameters and
   batch-norm statistics of the trained model (on any backend) */
static inline nn_model *ex_int8_copy(const ex_args *a, nn_graph *g, nn_model *trained, int batch) {
  nn_model *m;
  float *w;
  int i, ntensors;
  if (!(m = nn_compile(g, batch, nn_cpu_backend()))) ex_die(a, "--int8: a CPU copy of the model");
  ntensors = nn_model_num_tensors(m);
  for (i = 0; i < ntensors; i++) {   /* node by node */
    nn_tensor_info t;
    if (!nn_model_tensor(m, i, &t) || t.node->op != NN_OP_PARAM) continue;
    if (!(w = (float *)malloc(t.numel * sizeof *w)) || !nn_read(trained, t.node, w) || !nn_write(m, t.node, w))
      ex_die(a, "--int8: copying the weights");
    free(w);
  }
  return m;
}
/* the report line and the RESULT keys of an int8 evaluation: n test
   samples (`unit`: "images", "reviews") in sec_f and sec_q seconds */
static inline void ex_int8_print(const nn_int8_plan *q, int n_calib, const char *unit, double acc_f, double acc_q, int n,
                                 double sec_f, double sec_q, char *result, size_t len) {
  printf("int8 (%s kernel, %d quantised layers, %d calibration %s): test_accuracy fp32=%.4f int8=%.4f "
         "(%+.2f points), %s/s at batch 256 fp32=%.0f int8=%.0f (%.2fx)\n",
         nn_int8_kernel(), nn_int8_num_layers(q), n_calib, unit, acc_f, acc_q, 100 * (acc_q - acc_f), unit, n / sec_f,
         n / sec_q, sec_f / sec_q);
  snprintf(result, len, " fp32_accuracy=%.4f int8_accuracy=%.4f fp32_%s_per_second=%.0f int8_%s_per_second=%.0f", acc_f,
           acc_q, unit, n / sec_f, unit, n / sec_q);
}
/* calibrated on the first 512 training images, tested on the test set */
static inline void ex_int8_report(const ex_args *a, nn_graph *g, nn_model *trained, const nn_node *out,
                                  const nn_dataset *train, const nn_dataset *test, int classes, char *result, size_t len) {
  ex_int8_data data, *d = &data;
  nn_model *m;
  nn_int8_plan *q;
  nn_node *image;
  float *buf;
  double acc_f, acc_q, sec_f, sec_q;
  result[0] = 0;
  if (!a->int8) return;
  data.calib = train->x;
  data.n_calib = train->n < 512 ? train->n : 512;
  data.x = test->x;
  data.y = test->y;
  data.n = test->n;
  data.classes = classes;
  m = ex_int8_copy(a, g, trained, 256);
  image = nn_model_find(m, "image");
  if (!(q = nn_int8_quantize(m, out, image, d->calib, d->n_calib))) ex_die(a, "--int8");
  if (!(buf = (float *)malloc((size_t)256 * nn_shape_numel(nn_node_shape(out)) * sizeof *buf))) ex_die(a, "out of memory");
  ex_int8_pass(a, m, NULL, image, out, d, buf, &sec_f);   /* warm-up */
  acc_f = ex_int8_pass(a, m, NULL, image, out, d, buf, &sec_f);
  acc_q = ex_int8_pass(a, m, q, image, out, d, buf, &sec_q);
  ex_int8_print(q, d->n_calib, "images", acc_f, acc_q, d->n, sec_f, sec_q, result, len);
  free(buf);
  nn_int8_free(q);
  nn_model_free(m);
}

/* ---------------------------------------------------------------- pruning */
/* --prune: Zhu and Gupta's schedule to a->prune from 10% to 70% of the
   run, 100 pruning steps a run, the zeros restored after every step.
   Global magnitude pruning (nn_prune_set_global): one threshold over all
   the masked weights, so a->prune is the sparsity of them all and the
   small first layers keep more of theirs (per layer, the Fashion-MNIST
   CNN lost more at 80%: README).
   *pruner is made on the first call if NULL: its masks are m's nonzero
   weights then (nn_prune_new), so a model that starts with exact zeros
   (airbench's identity convs) makes it after its first step, and a run
   resumed from a checkpoint makes it before (the zeros pruning left). */
static inline nn_prune *ex_prune_new(const ex_args *a, nn_model *m) {
  nn_prune *p = nn_prune_new(m);
  if (!p || !nn_prune_set_global(p, 1)) ex_die(a, "--prune");
  return p;
}
static inline void ex_prune_step(const ex_args *a, nn_model *m, nn_prune **pruner, long step, long total_steps) {
  if (!(a->prune > 0)) return;
  if (!*pruner) *pruner = ex_prune_new(a, m);
  if (step % (total_steps / 100 + 1) == 0 && !nn_prune_to(*pruner, nn_prune_schedule(a->prune, step, total_steps / 10, total_steps * 7 / 10)))
    ex_die(a, "--prune");
  if (!nn_prune_apply(*pruner)) ex_die(a, "--prune");
}

/* --prune, at the end: a line with the sparsity of each masked weight
   (global pruning spreads the zeros unevenly); appends sparsity= (all of
   them) to result, frees the pruner */
static inline void ex_prune_report(nn_prune *p, char *result, size_t len) {
  int i;
  if (!p) return;
  printf("pruning (global magnitude): %.2f%% of the masked weights are zero; per weight:", 100 * nn_prune_sparsity(p));
  for (i = 0; i < nn_prune_num_layers(p); i++) {
    const nn_node *w;
    double sp = nn_prune_layer_sparsity(p, i, &w);
    printf("%s %s %.1f%%", i ? "," : "", w->name, 100 * sp);
  }
  printf("\n");
  snprintf(result + strlen(result), len - strlen(result), " sparsity=%.4f", nn_prune_sparsity(p));
  nn_prune_free(p);
}

/* --prune-channels: every trainable conv of graph g (compiled as m) keeps the fraction
   1 - a->prune_channels of its channels (at least one), those that
   nn_prune_rank_channels ranks first; the example builds the smaller
   model with widths nkept and ex_slim_copy fills it. */
enum { EX_SLIM_MAX = 16 };
typedef struct ex_slim {
  int n;                           /* the trainable convs, in graph order */
  const char *names[EX_SLIM_MAX];
  int widths[EX_SLIM_MAX], nkept[EX_SLIM_MAX];
  int *kept[EX_SLIM_MAX];          /* nkept[i] channel indices, increasing */
} ex_slim;
static inline void ex_slim_free(ex_slim *s) {
  int i;
  for (i = 0; i < s->n; i++) free(s->kept[i]);
  s->n = 0;
}
static inline void ex_slim_rank(const ex_args *a, nn_graph *g, nn_model *m, ex_slim *s) {
  int i;
  memset(s, 0, sizeof *s);
  for (i = 0; i < nn_graph_num_nodes(g); i++) {
    nn_node *c = nn_graph_node(g, i), *w;
    if (c->op != NN_OP_CONV2D || !(w = nn_node_input(c, 1)) || w->op != NN_OP_PARAM || !w->trainable) continue;
    if (s->n == EX_SLIM_MAX) ex_die(a, "--prune-channels: more convs than the example keeps track of");
    s->names[s->n] = c->name;
    s->widths[s->n] = nn_node_shape(w)->dim[0];
    s->nkept[s->n] = (int)(s->widths[s->n] * (1 - a->prune_channels) + 0.5f);
    if (s->nkept[s->n] < 1) s->nkept[s->n] = 1;
    if (!(s->kept[s->n] = (int *)malloc((size_t)s->nkept[s->n] * sizeof(int)))) ex_die(a, "out of memory");
    s->n++;
    if (!nn_prune_rank_channels(m, c, s->nkept[s->n - 1], s->kept[s->n - 1])) ex_die(a, "--prune-channels");
  }
}
static inline void ex_slim_copy(const ex_args *a, nn_model *big, nn_model *small, const ex_slim *s) {
  if (!nn_prune_copy_channels(big, small, s->n, s->names, (const int *const *)s->kept, s->nkept)) ex_die(a, "--prune-channels");
}
/* the report line; appends slim_channels= (the kept widths) and the rest to result */
static inline void ex_slim_report(const ex_slim *s, nn_model *big, nn_model *small, double acc_big, double acc_slim0,
                                  double acc_slim, int epochs, double ips_big, double ips_slim, char *result, size_t len) {
  char before[160] = "", after[160] = "";
  int i;
  for (i = 0; i < s->n; i++) {
    snprintf(before + strlen(before), sizeof before - strlen(before), "%s%d", i ? "," : "", s->widths[i]);
    snprintf(after + strlen(after), sizeof after - strlen(after), "%s%d", i ? "," : "", s->nkept[i]);
  }
  printf("channel pruning: convs %s -> %s channels, %lu -> %lu parameters; test_accuracy %.4f -> %.4f "
         "(%.4f before %d epoch(s) of fine-tuning); test images/s %.0f -> %.0f (%.2fx)\n",
         before, after, (unsigned long)nn_num_params(big), (unsigned long)nn_num_params(small), acc_big, acc_slim, acc_slim0,
         epochs, ips_big, ips_slim, ips_slim / ips_big);
  snprintf(result + strlen(result), len - strlen(result),
           " slim_channels=%s slim_accuracy=%.4f slim_accuracy_before_finetune=%.4f slim_images_per_second=%.0f full_images_per_second=%.0f",
           after, acc_slim, acc_slim0, ips_slim, ips_big);
}

/* ---------------------------------------------------------------- per epoch */
/* With --resume the rows of the epochs the checkpoint holds stay; the
   rows of epochs after it (written before the run stopped) go. */
static inline FILE *ex_log_open(const ex_args *a) {
  FILE *f, *old = NULL;
  char *kept = NULL;
  size_t used = 0;
  if (!a->log) return NULL;
  if (a->resume && (old = fopen(a->log, "r"))) {
    char line[1024];
    while (fgets(line, sizeof line, old)) {
      long epoch = strtol(line, NULL, 10);
      size_t len = strlen(line);
      char *p;
      if (epoch < 1 || epoch > a->done_epochs || !strchr(line, '\n')) continue;
      if (!(p = (char *)realloc(kept, used + len + 1))) { fprintf(stderr, "%s: out of memory\n", a->prog); exit(1); }
      kept = p;
      memcpy(kept + used, line, len + 1);
      used += len;
    }
    fclose(old);
  }
  if (!(f = fopen(a->log, "w"))) {
    fprintf(stderr, "%s: cannot write log '%s': %s\n", a->prog, a->log, strerror(errno));
    exit(1);
  }
  if (a->log_header) fprintf(f, "%s\n", a->log_header);
  else fprintf(f, "epoch,train_loss,train_accuracy,test_loss,test_accuracy,seconds%s\n", a->val ? ",val_loss,val_accuracy" : "");
  if (kept) fputs(kept, f);
  free(kept);
  fflush(f);
  return f;
}

/* one line on stdout and, with --log, one CSV row (flushed); val_acc < 0:
   no validation set (--val) */
static inline void ex_epoch_report_val(FILE *log, int epoch, int epochs, double train_loss, double train_acc,
                                       double test_loss, double test_acc, double seconds, double val_loss, double val_acc) {
  printf("epoch %d/%d train_loss=%.4f train_accuracy=%.4f test_loss=%.4f test_accuracy=%.4f seconds=%.2f", epoch, epochs,
         train_loss, train_acc, test_loss, test_acc, seconds);
  if (val_acc >= 0) printf(" val_loss=%.4f val_accuracy=%.4f", val_loss, val_acc);
  printf("\n");
  fflush(stdout);
  if (log) {
    fprintf(log, "%d,%.6f,%.6f,%.6f,%.6f,%.3f", epoch, train_loss, train_acc, test_loss, test_acc, seconds);
    if (val_acc >= 0) fprintf(log, ",%.6f,%.6f", val_loss, val_acc);
    fprintf(log, "\n");
    fflush(log);
  }
}
static inline void ex_epoch_report(FILE *log, int epoch, int epochs, double train_loss, double train_acc,
                                   double test_loss, double test_acc, double seconds) {
  ex_epoch_report_val(log, epoch, epochs, train_loss, train_acc, test_loss, test_acc, seconds, 0, -1);
}

/* ---------------------------------------------------------------- early stopping
   --val N holds out N training samples, drawn by a generator of its own
   seeded from --seed (the same samples on every run and resume; never the
   test set).  After each epoch the example measures them; the best epoch's
   weights -- every parameter, frozen ones, batch-norm running statistics
   and counts: an nn_snapshot on the model's backend -- are put back before
   the final test evaluation, and --patience K stops after K epochs without
   a better validation accuracy.
   With --checkpoint FILE the kept weights go to FILE.best (a checkpoint
   whose epoch is the kept epoch and whose step is its number of correct
   validation samples), written before FILE, so --resume FILE reads
   FILE.best back: the kept weights and the patience count (the epochs
   since the kept one) survive a resume.  If a run dies between the two
   writes, FILE.best is one epoch ahead of FILE: the resumed run retrains
   that epoch to the same weights and accuracy, so it is kept all the same. */

/* the --val samples of a training set of n: mask[i] 1 for a validation
   sample (free it); exits 2 when --val leaves no training sample */
static inline unsigned char *ex_val_mask(const ex_args *a, int n) {
  unsigned char *mask;
  int *order, i;
  nn_rng r;
  if (a->val >= n) {
    fprintf(stderr, "%s: --val %d holds out the whole training set of %d samples: it must be smaller\n", a->prog, a->val, n);
    exit(2);
  }
  mask = (unsigned char *)calloc((size_t)n, 1);
  order = (int *)malloc((size_t)n * sizeof *order);
  if (!mask || !order) { fprintf(stderr, "%s: out of memory\n", a->prog); exit(1); }
  for (i = 0; i < n; i++) order[i] = i;
  nn_rng_seed(&r, a->seed ^ 0x76616cULL);   /* "val": apart from the other generators of the run */
  nn_shuffle(&r, order, n);
  for (i = 0; i < a->val; i++) mask[order[i]] = 1;
  free(order);
  return mask;
}
/* --val: moves the held-out samples of d into a new data set (returned;
   NULL without --val), d keeps the others in their order */
static inline nn_dataset *ex_val_split(const ex_args *a, nn_dataset *d) {
  size_t per = nn_shape_numel(&d->shape);
  unsigned char *mask;
  nn_dataset *v;
  int i, kept = 0, held = 0;
  if (!a->val) return NULL;
  mask = ex_val_mask(a, d->n);
  v = (nn_dataset *)malloc(sizeof *v);
  if (!v) { fprintf(stderr, "%s: out of memory\n", a->prog); exit(1); }
  *v = *d;
  v->n = a->val;
  v->x = (float *)malloc((size_t)a->val * per * sizeof(float));
  v->y = (float *)malloc((size_t)a->val * sizeof(float));
  if (!v->x || !v->y) { fprintf(stderr, "%s: out of memory\n", a->prog); exit(1); }
  for (i = 0; i < d->n; i++) {
    float *dst = mask[i] ? v->x + (size_t)held * per : d->x + (size_t)kept * per;
    if (mask[i]) v->y[held++] = d->y[i];
    else d->y[kept++] = d->y[i];
    if (dst != d->x + (size_t)i * per) memmove(dst, d->x + (size_t)i * per, per * sizeof(float));
  }
  nn_dataset_truncate(d, kept);
  free(mask);
  return v;
}

/* "N validation / " for the line that counts the samples ("" without --val) */
static inline const char *ex_val_note(const ex_args *a) {
  static char note[48];
  if (!a->val) return "";
  snprintf(note, sizeof note, "%d validation / ", a->val);
  return note;
}

typedef struct ex_best {
  int epoch;          /* the epoch kept, 0: none yet */
  long correct;       /* its validation samples classified right */
  nn_snapshot *kept;  /* its weights, on the model's backend */
} ex_best;

static inline void ex_best_path(const ex_args *a, const char *base, char *path, size_t size) {
  if ((size_t)snprintf(path, size, "%s.best", base) >= size) {
    fprintf(stderr, "%s: '%s' is too long a name\n", a->prog, base);
    exit(2);
  }
}
/* with --val: a snapshot of the model; with --resume, the kept weights and
   epoch from its .best file (call before ex_resume: this loads them
   through the model) */
static inline void ex_best_init(const ex_args *a, ex_best *b, nn_model *m) {
  memset(b, 0, sizeof *b);
  if (!a->val) return;
  if (!(b->kept = nn_snapshot_new(m))) ex_die(a, "--val: the kept weights");
  if (a->resume) {
    char path[1024];
    nn_checkpoint_info info;
    ex_best_path(a, a->resume, path, sizeof path);
    memset(&info, 0, sizeof info);
    if (!nn_checkpoint_load(m, NULL, NULL, &info, path)) ex_die(a, "--resume with --val: the kept weights");
    b->epoch = (int)info.epoch;
    b->correct = info.step;
    if (!nn_snapshot_take(b->kept)) ex_die(a, "--val: the kept weights");
    if (a->checkpoint && strcmp(a->checkpoint, a->resume)) {   /* the new checkpoint gets its own copy */
      char to[1024];
      ex_best_path(a, a->checkpoint, to, sizeof to);
      if (!nn_checkpoint_save(m, NULL, NULL, &info, to)) ex_die(a, "--checkpoint");
    }
  }
}
/* after ex_resume: a .best file must not be more than one epoch ahead of its checkpoint */
static inline void ex_best_check(const ex_args *a, const ex_best *b) {
  if (a->val && a->resume && (b->epoch < 1 || b->epoch > a->done_epochs + 1)) {
    fprintf(stderr, "%s: '%s.best' keeps epoch %d, which does not fit the checkpoint's %d epochs\n", a->prog, a->resume,
            b->epoch, a->done_epochs);
    exit(1);
  }
}
/* after epoch `epoch` with `correct` of the validation samples right:
   keeps the model's weights if they are the best yet (returns 1) */
static inline int ex_best_update(const ex_args *a, ex_best *b, nn_model *m, int epoch, long correct) {
  if (!a->val || (b->epoch && correct <= b->correct)) return 0;
  b->epoch = epoch;
  b->correct = correct;
  if (!nn_snapshot_take(b->kept)) ex_die(a, "--val: the kept weights");
  if (a->checkpoint) {
    char path[1024];
    nn_checkpoint_info info;
    memset(&info, 0, sizeof info);
    info.epoch = epoch;
    info.step = correct;
    ex_best_path(a, a->checkpoint, path, sizeof path);
    if (!nn_checkpoint_save(m, NULL, NULL, &info, path)) ex_die(a, "--checkpoint (the kept weights)");
  }
  return 1;
}
/* 1 when --patience says to stop after `epoch` epochs */
static inline int ex_best_stop(const ex_args *a, const ex_best *b, int epoch) {
  return a->patience && b->epoch && epoch - b->epoch >= a->patience;
}
/* puts the kept weights back (nothing without --val) */
static inline void ex_best_restore(const ex_args *a, ex_best *b) {
  if (a->val && b->epoch && !nn_snapshot_restore(b->kept)) ex_die(a, "--val: the kept weights");
}
/* the RESULT line's part for --val (nothing without it), after the last
   epoch trained, epochs_run */
static inline void ex_best_result(const ex_args *a, const ex_best *b, int epochs_run) {
  if (a->val) printf(" best_epoch=%d val_accuracy=%.4f epochs_run=%d", b->epoch, (double)b->correct / a->val, epochs_run);
}
static inline void ex_best_free(ex_best *b) { nn_snapshot_free(b->kept); }

/* ---------------------------------------------------------------- CSV data
   Reads rows of `cols` numbers separated by commas or blanks; a first
   line that is not numeric is a header.  Exits 1 naming the file and the
   line on any error.  Returns rows * cols floats (free them). */
static inline float *ex_read_csv(const ex_args *a, const char *path, int cols, int *rows) {
  FILE *f = fopen(path, "r");
  char line[1024];
  float *v = NULL;
  int n = 0, cap = 0, lineno = 0, first = 1;
  if (!f) { fprintf(stderr, "%s: cannot open '%s': %s\n", a->prog, path, strerror(errno)); exit(1); }
  while (fgets(line, sizeof line, f)) {
    char *p = line, *end;
    int k;
    lineno++;
    if (!strchr(line, '\n') && !feof(f)) { fprintf(stderr, "%s: '%s' line %d is too long\n", a->prog, path, lineno); exit(1); }
    p += strspn(p, " \t\r\n");
    if (!*p || *p == '#') continue;
    if (n == cap) {
      cap = cap ? 2 * cap : 256;
      if (!(v = (float *)realloc(v, (size_t)cap * cols * sizeof *v))) { fprintf(stderr, "%s: out of memory\n", a->prog); exit(1); }
    }
    for (k = 0; k < cols; k++) {
      v[(size_t)n * cols + k] = strtof(p, &end);
      if (end == p) break;
      p = end + strspn(end, " \t,");
    }
    p += strspn(p, " \t\r\n");
    if (k == 0 && first) { first = 0; continue; }   /* header */
    first = 0;
    if (k < cols || *p) {
      fprintf(stderr, "%s: '%s' line %d: expected %d numbers separated by commas\n", a->prog, path, lineno, cols);
      exit(1);
    }
    n++;
  }
  if (ferror(f)) { fprintf(stderr, "%s: error reading '%s': %s\n", a->prog, path, strerror(errno)); exit(1); }
  fclose(f);
  if (!n) { fprintf(stderr, "%s: '%s' has no data rows\n", a->prog, path); exit(1); }
  *rows = n;
  return v;
}

#endif /* EX_COMMON_H */
