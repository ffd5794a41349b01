/* int8 against fp32 inference with nn.h (nn_compress.h): the Fashion-MNIST
   CNN and the airbench CIFAR-10 network (tools/bench_common.h), batch 256,
   at each thread count asked for, fp32 and int8 runs interleaved so that
   both see the same machine.  Weights: the file given with --fmnist /
   --cifar (a checkpoint or safetensors of the examples' --checkpoint or
   --save), else random with batch-norm statistics from a few training
   passes; calibration on 256 random normal images (the inputs are
   normalised).  With --onnx DIR it also writes DIR/fmnist.onnx,
   DIR/cifar.onnx and DIR/<net>_calib.f32 (the calibration images) for
   tools/bench_int8_ort.py.
     build/bench_int8 [--threads 1,2] [--seconds S] [--fmnist FILE] [--cifar FILE] [--onnx DIR]
                      [--nets fmnist,cifar] [--profile 1]
   Prints one line per net and thread count:
     int8 net=fmnist threads=1 fp32_images_per_second=... int8_images_per_second=... speedup=... max_logit_diff=...
       ... fp32_cpu_images_per_second=... int8_cpu_images_per_second=...
   The _cpu_ rates divide by the process's CPU time instead of the wall
   clock: at 1 thread they are the wall-clock rates of an idle machine,
   and they stay put on a loaded one (time waiting for a core is not
   counted), so compare those when other jobs share the machine.
   --profile 1: then, per net, the int8 plan's steps one by one at the
   first thread count (CPU ms per batch of 256 and share): each quantised
   layer with what it fuses (its pool, batch norm, GELU, the quantisation
   of its input or the hand-over to the next conv), and each float op.
   It reads the plan's internals (this file includes the implementation).
   Build: cc -O3 -march=native -fopenmp -I. tools/bench_int8.c -o build/bench_int8 -lm */
#define _POSIX_C_SOURCE 199309L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NN_IMPLEMENTATION
#include "nn.h"
#define NN_ONNX_IMPLEMENTATION
#include "nn_onnx.h"
#define NN_COMPRESS_IMPLEMENTATION
#include "nn_compress.h"
#include "bench_common.h"

enum { BATCH = 256 };

static double cpu_now(void) {
  struct timespec t;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
  return t.tv_sec + 1e-9 * t.tv_nsec;
}

static nn_node *logits_of(nn_model *m) {
  /* the node before the loss: the logits */
  return nn_node_input(m->loss, 0);
}

/* random weights with batch-norm statistics of real passes */
static void settle(nn_model *m) {
  nn_optimizer *o = nn_sgd(m, 0.0f, 0.0f, 0.0f, 0);
  int i;
  for (i = 0; i < 3; i++) {
    random_image_batch(m, BATCH);
    nn_forward(m, 1);
  }
  nn_optimizer_free(o);
}

/* the plan's steps timed one by one (CPU time), `reps` batches */
static void profile(nn_int8_plan *q, int reps) {
  nn_model *m = q->m;
  double *t = (double *)calloc((size_t)q->n_steps + 1, sizeof(double)), total = 0;
  int i, k;
  for (k = 0; k < reps; k++)
    for (i = 0; i < q->n_steps; i++) {
      double c0 = cpu_now();
      if (q->step[i] >= 0) nn__q8_run_layer(q, &q->layers[q->step[i]]);
      else m->backend->ops->forward(m->backend, m, m->graph->nodes[-1 - q->step[i]]);
      t[i] += cpu_now() - c0;
    }
  for (i = 0; i < q->n_steps; i++) total += t[i];
  for (i = 0; i < q->n_steps; i++) {
    const nn__q8_layer *L = q->step[i] >= 0 ? &q->layers[q->step[i]] : NULL;
    const nn_node *nd = L ? L->node : m->graph->nodes[-1 - q->step[i]];
    printf("profile %-14s %-10s %8.2f ms %5.1f%%%s%s%s%s%s%s\n", nd->name, nn_op_name(nd->op), 1e3 * t[i] / reps, 100 * t[i] / total,
           L ? " int8" : " float", L && L->pool ? " +maxpool" : "", L && (L->bn || L->post_bn) ? " +batchnorm" : "",
           L && (L->relu || L->gelu) ? (L->gelu ? " +gelu" : " +relu") : "",
           L && i > 0 && q->step[i - 1] >= 0 && q->layers[q->step[i - 1]].hands_on ? " (input handed over)" : "",
           L && L->hands_on ? " (hands over)" : "");
  }
  printf("profile total %.2f ms per batch of %d: %.0f images/s by CPU time\n", 1e3 * total / reps, BATCH, BATCH * reps / total);
  free(t);
}

static int run(const char *name, nn_graph *g, const char *weights, const int *threads, int nthreads, double seconds,
               const char *onnx_dir, int prof) {
  nn_model *m = nn_compile(g, BATCH, nn_cpu_backend());
  nn_node *logits, *image;
  nn_int8_plan *q;
  float *cal, *fl, *i8;
  size_t per, nout, i;
  nn_rng r;
  int t;
  if (!m) { fprintf(stderr, "bench_int8: %s: %s\n", name, nn_last_error()); return 0; }
  logits = logits_of(m);
  image = nn_model_find(m, "image");
  per = nn_shape_numel(nn_node_shape(image));
  nout = (size_t)BATCH * nn_shape_numel(nn_node_shape(logits));
  if (weights) {
    if (!nn_safetensors_load(m, weights, NN_LOAD_PARTIAL)) { fprintf(stderr, "bench_int8: %s: %s\n", weights, nn_last_error()); return 0; }
  } else {
    settle(m);
  }
  cal = (float *)malloc(BATCH * per * sizeof(float));
  fl = (float *)malloc(nout * sizeof(float));
  i8 = (float *)malloc(nout * sizeof(float));
  nn_rng_seed(&r, 9);
  for (i = 0; i < BATCH * per; i++) cal[i] = nn_rng_normal(&r);
  if (!(q = nn_int8_quantize(m, logits, image, cal, BATCH))) { fprintf(stderr, "bench_int8: %s: %s\n", name, nn_last_error()); return 0; }
  if (onnx_dir) {
    char path[1024];
    FILE *f;
    snprintf(path, sizeof path, "%s/%s.onnx", onnx_dir, name);
    if (!nn_onnx_save(m, logits, path)) { fprintf(stderr, "bench_int8: %s\n", nn_last_error()); return 0; }
    snprintf(path, sizeof path, "%s/%s_calib.f32", onnx_dir, name);
    if (!(f = fopen(path, "wb")) || fwrite(cal, sizeof(float), BATCH * per, f) != BATCH * per || fclose(f)) {
      fprintf(stderr, "bench_int8: cannot write %s\n", path);
      return 0;
    }
  }
  nn_feed_node(m, image, cal);
  for (t = 0; t < nthreads; t++) {
    double tf = 0, tq = 0, cf = 0, cq = 0, diff = 0, span = 0;
    long reps = 0;
    nn_set_threads(threads[t]);
    nn_predict(m, logits);   /* warm up both */
    nn_int8_predict(q);
    while (tf + tq < seconds || reps < 3) {
      double t0 = now(), c0 = cpu_now();
      nn_predict(m, logits);
      tf += now() - t0;
      cf += cpu_now() - c0;
      t0 = now();
      c0 = cpu_now();
      nn_int8_predict(q);
      tq += now() - t0;
      cq += cpu_now() - c0;
      reps++;
    }
    nn_predict(m, logits);
    nn_read(m, logits, fl);
    nn_int8_predict(q);
    nn_read(m, logits, i8);
    for (i = 0; i < nout; i++) {
      double d = fabs((double)fl[i] - i8[i]);
      diff = d > diff ? d : diff;
      span = fabs(fl[i]) > span ? fabs(fl[i]) : span;
    }
    printf("int8 net=%s threads=%d kernel=%s fp32_images_per_second=%.0f int8_images_per_second=%.0f speedup=%.2f "
           "max_logit_diff=%.4f logit_range=%.3f fp32_cpu_images_per_second=%.0f int8_cpu_images_per_second=%.0f\n",
           name, threads[t], nn_int8_kernel(), BATCH * reps / tf, BATCH * reps / tq, tf / tq, diff, span, BATCH * reps / cf,
           BATCH * reps / cq);
    fflush(stdout);
  }
  if (prof) {
    nn_set_threads(threads[0]);
    profile(q, 5);
  }
  nn_int8_free(q);
  nn_model_free(m);
  free(cal);
  free(fl);
  free(i8);
  return 1;
}

int main(int argc, char **argv) {
  int threads[8] = {1, 2}, nthreads = 2, i, most = 1, prof = 0;
  double seconds = 3;
  const char *fmnist = NULL, *cifar = NULL, *onnx_dir = NULL, *nets = "fmnist,cifar";
  (void)imdb_graph;   /* bench_common.h's text network is not timed here */
  (void)imdb_batch;
  for (i = 1; i + 1 < argc; i += 2) {
    if (!strcmp(argv[i], "--threads")) {
      char *s = argv[i + 1];
      nthreads = 0;
      while (*s && nthreads < 8) {
        threads[nthreads++] = (int)strtol(s, &s, 10);
        if (*s == ',') s++;
      }
    } else if (!strcmp(argv[i], "--seconds")) seconds = atof(argv[i + 1]);
    else if (!strcmp(argv[i], "--fmnist")) fmnist = argv[i + 1];
    else if (!strcmp(argv[i], "--cifar")) cifar = argv[i + 1];
    else if (!strcmp(argv[i], "--onnx")) onnx_dir = argv[i + 1];
    else if (!strcmp(argv[i], "--nets")) nets = argv[i + 1];
    else if (!strcmp(argv[i], "--profile")) prof = atoi(argv[i + 1]);
    else { fprintf(stderr, "bench_int8: unknown flag %s\n", argv[i]); return 2; }
  }
  if (i < argc) { fprintf(stderr, "usage: bench_int8 [--threads 1,2] [--seconds S] [--fmnist FILE] [--cifar FILE] [--onnx DIR] [--nets fmnist,cifar] [--profile 1]\n"); return 2; }
  for (i = 0; i < nthreads; i++) most = threads[i] > most ? threads[i] : most;
  nn_set_threads(most);   /* workspaces for the most threads */
  if (strstr(nets, "fmnist") && !run("fmnist", fashion_graph(), fmnist, threads, nthreads, seconds, onnx_dir, prof)) return 1;
  if (strstr(nets, "cifar") && !run("cifar", airbench_graph(), cifar, threads, nthreads, seconds, onnx_dir, prof)) return 1;
  return 0;
}
