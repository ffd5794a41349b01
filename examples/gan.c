/* Build:  cc -O3 -march=native -fopenmp -I. examples/gan.c -o build/gan -lm
   Plain:  cc -O2 -I. examples/gan.c -lm
   OpenCL: cc -O2 -I. -DNN_OPENCL examples/gan.c -lOpenCL -lclblast -lm   (--device opencl)
   Run:    ./a.out --help

   A DCGAN (Radford et al. 2015) on Fashion-MNIST: two models trained
   against each other, each with its own Adam (lr 2e-4, beta1 0.5).
     generator:     noise 100 -> dense 7x7xW -> bn -> relu
                    -> conv2d_transpose W/2 4x4 stride 2 (14x14) -> bn -> relu
                    -> conv2d_transpose 1 4x4 stride 2 (28x28) -> tanh
     discriminator: image 28x28 in [-1, 1] -> conv W/2 4x4 stride 2 -> leaky relu 0.2
                    -> conv W 4x4 stride 2 -> leaky relu 0.2 -> dense 1 (a logit)
   (W = --width, 128; weights start N(0, 0.02) as in DCGAN.)  The loss is
   the non-saturating one, binary cross-entropy on the logit: each step
   the discriminator learns real images as 1 and generated ones as 0 (one
   batch of both: without batch norm in it, that is the sum of the two
   losses), then the generator learns to have its images called 1.  The
   generator's images go to the discriminator's input and the gradient at
   that input back into the generator's backward pass buffer to buffer
   (nn_feed_from, nn_backward_from_grad: both models on one backend); only
   the discriminator's step reads the generated batch to the host.

   --samples DIR writes a 10x10 grid of samples (the same noise each
   epoch, the generator in evaluation mode) as DIR/epoch_N.png.
   --classifier FILE (the CNN of examples/fashion_mnist.c --save FILE)
   scores the generator at the end: the Frechet distance between the
   classifier's 128 penultimate activations of --fd-samples generated
   images and of as many test images, the same distance from as many
   training images to the test images (the floor a perfect generator
   would reach), and the share of each class among the generated images.
   --score FILE scores images from elsewhere instead of training (raw
   little-endian float32, 28x28 each in [-1, 1], e.g. tools/gan_pytorch.py's),
   --write-samples FILE writes the scored images in that format.
   --checkpoint FILE keeps the generator (and the shared counters) in FILE
   and the discriminator in FILE.dN after epoch N; --resume FILE continues
   exactly.  train_seconds counts training steps only. */
#define NN_IMPLEMENTATION
#include "common.h"
#include "fmnist.h"
#include "linalg.h"
#include "png.h"

#define NOISE 100
#define FEATURES 128   /* of the classifier's penultimate layer */
#define GRID 10

typedef struct gan_opts {
  const char *samples, *classifier, *score, *write_samples;
  int fd_samples, width;
} gan_opts;

typedef struct gan {
  nn_model *g, *d;
  nn_optimizer *opt_g, *opt_d;
  nn_node *noise, *fake;             /* the generator's input and output */
  nn_node *image, *target, *logit;   /* the discriminator's */
  int batch;
} gan;

static nn_node *init_normal(nn_node *layer) {
  nn_set_init(nn_node_input(layer, 1), NN_INIT_NORMAL, 0.02f);
  return layer;
}

static void build(const ex_args *a, gan *n, int width) {
  nn_graph *gg = nn_graph_new(), *dg = nn_graph_new();
  nn_backend *be;
  int noise = NOISE, one = 1, image[3] = {1, 28, 28}, grid[3];
  nn_node *h;
  if (!gg || !dg) ex_die(a, "graph");
  nn_graph_set_seed(gg, a->seed);
  nn_graph_set_seed(dg, a->seed + 1);
  grid[0] = width; grid[1] = 7; grid[2] = 7;
  n->noise = nn_input(gg, "noise", 1, &noise);
  nn_layer_name(gg, "project");
  h = init_normal(nn_dense_ex(gg, n->noise, width * 7 * 7, 0));
  h = nn_relu(gg, nn_batchnorm(gg, nn_reshape(gg, h, 3, grid)));
  h = init_normal(nn_conv2d_transpose_ex(gg, h, width / 2, 4, 4, 2, 1, 0, 0));
  h = nn_relu(gg, nn_batchnorm(gg, h));
  h = init_normal(nn_conv2d_transpose_ex(gg, h, 1, 4, 4, 2, 1, 0, 1));
  n->fake = nn_tanh(gg, h);

  n->image = nn_input(dg, "image", 3, image);
  nn_set_requires_grad(n->image);   /* its gradient trains the generator */
  n->target = nn_input(dg, "target", 1, &one);
  h = nn_leaky_relu(dg, init_normal(nn_conv2d_ex(dg, n->image, width / 2, 4, 4, 2, 1, 1)), 0.2f);
  h = nn_leaky_relu(dg, init_normal(nn_conv2d_ex(dg, h, width, 4, 4, 2, 1, 1)), 0.2f);
  nn_layer_name(dg, "logit");
  n->logit = init_normal(nn_dense(dg, nn_flatten(dg, h), 1));
  nn_bce_with_logits(dg, n->logit, n->target, NN_MEAN);

  /* one backend object for both: buffers pass between the models */
  be = ex_backend(a);
  if (!(n->g = nn_compile(gg, n->batch, be))) ex_die(a, "cannot build the generator");
  /* the discriminator sees a batch of real and generated images together */
  if (!(n->d = nn_compile(dg, 2 * n->batch, be))) ex_die(a, "cannot build the discriminator");
  if (!(n->opt_g = nn_adam(n->g, a->lr, 0.5f, 0.999f, 1e-8f, 0.0f, 0)) ||
      !(n->opt_d = nn_adam(n->d, a->lr, 0.5f, 0.999f, 1e-8f, 0.0f, 0)))
    ex_die(a, "optimizer");
}

/* count images from the noise z (count x NOISE) in evaluation mode into out */
static void generate(const ex_args *a, gan *n, const float *z, int count, float *out) {
  int start;
  for (start = 0; start < count; start += n->batch) {
    int k = count - start < n->batch ? count - start : n->batch;
    if (!nn_set_batch(n->g, k) || !nn_feed_node(n->g, n->noise, z + (size_t)start * NOISE) || !nn_predict(n->g, n->fake) ||
        !nn_read(n->g, n->fake, out + (size_t)start * PIXELS))
      ex_die(a, "generating");
  }
  if (!nn_set_batch(n->g, n->batch)) ex_die(a, "generating");
}

static void write_grid(const ex_args *a, gan *n, const char *dir, int epoch, const float *z, float *img) {
  unsigned char pix[GRID * 28 * GRID * 28];
  char path[1024];
  int k, r, c;
  generate(a, n, z, GRID * GRID, img);
  for (k = 0; k < GRID * GRID; k++)
    for (r = 0; r < 28; r++)
      for (c = 0; c < 28; c++) {
        float v = (img[(size_t)k * PIXELS + r * 28 + c] + 1) * 127.5f;
        pix[((k / GRID) * 28 + r) * GRID * 28 + (k % GRID) * 28 + c] = (unsigned char)(v < 0 ? 0 : v > 255 ? 255 : v + 0.5f);
      }
  snprintf(path, sizeof path, "%s/epoch_%d.png", dir, epoch);
  if (!ex_png_write_grey(path, GRID * 28, GRID * 28, pix)) {
    fprintf(stderr, "%s: --samples: cannot write '%s': %s\n", a->prog, path, strerror(errno));
    exit(1);
  }
}

/* ---------------------------------------------------------------- scoring */
typedef struct scorer {
  nn_model *m;
  nn_node *logits, *features;
  int batch;
} scorer;

static void scorer_load(const ex_args *a, scorer *s, const char *path) {
  nn_graph *g = nn_graph_new();
  if (!g) ex_die(a, "graph");
  s->batch = 250;
  s->logits = fm_build(g, "cnn", 32, 64, &s->features);
  /* on the CPU: a few seconds, and the models being trained keep the device */
  if (!(s->m = nn_compile(g, s->batch, nn_cpu_backend()))) ex_die(a, "cannot build the classifier");
  if (!nn_safetensors_load(s->m, path, 0)) {
    fprintf(stderr, "%s: --classifier '%s' does not fit the scoring network (the CNN that examples/fashion_mnist.c "
            "--model cnn --save FILE writes): %s\n", a->prog, path, nn_last_error());
    exit(1);
  }
}

/* mean and covariance (n - 1 in the denominator) of the classifier's
   features of n images (pixels in [-1, 1] when gan_scale, else [0, 1]);
   hist, if not NULL, counts the predicted classes; returns the accuracy
   against labels, if given */
static double features_stats(const ex_args *a, scorer *s, const float *x, const float *labels, int n, int gan_scale,
                             double *mean, double *cov, long *hist) {
  float *in = (float *)malloc((size_t)s->batch * PIXELS * sizeof(float));
  float *f = (float *)malloc((size_t)s->batch * FEATURES * sizeof(float));
  float *out = (float *)malloc((size_t)s->batch * CLASSES * sizeof(float));
  double *sum = (double *)calloc(FEATURES + (size_t)FEATURES * FEATURES, sizeof(double)), *sq = sum + FEATURES;
  int start, i, j, k, correct = 0;
  if (!in || !f || !out || !sum) { fprintf(stderr, "%s: out of memory\n", a->prog); exit(1); }
  if (n < 2) { fprintf(stderr, "%s: scoring needs at least 2 images, not %d\n", a->prog, n); exit(1); }
  for (start = 0; start < n; start += s->batch) {
    int b = n - start < s->batch ? n - start : s->batch;
    for (i = 0; i < b * PIXELS; i++) {
      float p = x[(size_t)start * PIXELS + i];
      in[i] = gan_scale ? (p + 1) * 0.5f : p;
    }
    fm_normalize(in, (size_t)b * PIXELS);
    if (!nn_set_batch(s->m, b) || !nn_feed(s->m, "image", in) || !nn_predict(s->m, s->logits) ||
        !nn_read(s->m, s->features, f) || !nn_read(s->m, s->logits, out))
      ex_die(a, "scoring");
    for (k = 0; k < b; k++) {
      const float *fk = f + (size_t)k * FEATURES, *ok = out + (size_t)k * CLASSES;
      int best = 0;
      for (i = 0; i < FEATURES; i++) {
        sum[i] += fk[i];
        for (j = i; j < FEATURES; j++) sq[i * FEATURES + j] += (double)fk[i] * fk[j];
      }
      for (i = 1; i < CLASSES; i++) if (ok[i] > ok[best]) best = i;
      if (hist) hist[best]++;
      if (labels) correct += best == (int)labels[start + k];
    }
  }
  for (i = 0; i < FEATURES; i++) mean[i] = sum[i] / n;
  for (i = 0; i < FEATURES; i++)
    for (j = i; j < FEATURES; j++)
      cov[i * FEATURES + j] = cov[j * FEATURES + i] = (sq[i * FEATURES + j] - n * mean[i] * mean[j]) / (n - 1);
  free(in); free(f); free(out); free(sum);
  return labels ? (double)correct / n : 0;
}

static double frechet(const ex_args *a, const double *mu1, const double *s1, const double *mu2, const double *s2) {
  double d = ex_frechet_distance(FEATURES, mu1, s1, mu2, s2);
  if (d < -1e-6) ex_die(a, "Frechet distance");
  return d > 0 ? d : 0;   /* rounding below 0 for equal sets */
}

/* the files are little-endian: floats swapped on a big-endian host */
static void to_little_endian(float *x, size_t n) {
  const uint32_t one = 1;
  size_t i;
  if (*(const unsigned char *)&one) return;
  for (i = 0; i < n; i++) {
    unsigned char *p = (unsigned char *)(x + i), t;
    t = p[0]; p[0] = p[3]; p[3] = t;
    t = p[1]; p[1] = p[2]; p[2] = t;
  }
}
/* reads n x 28 x 28 float32 images of --score FILE */
static float *read_samples(const ex_args *a, const char *path, int *n) {
  FILE *f = fopen(path, "rb");
  long size;
  float *x;
  if (!f) { fprintf(stderr, "%s: --score: cannot open '%s': %s\n", a->prog, path, strerror(errno)); exit(1); }
  if (fseek(f, 0, SEEK_END) || (size = ftell(f)) < 0 || fseek(f, 0, SEEK_SET)) {
    fprintf(stderr, "%s: --score: cannot read '%s'\n", a->prog, path);
    exit(1);
  }
  if (size == 0 || size % (PIXELS * 4)) {
    fprintf(stderr, "%s: --score: '%s' has %ld bytes, not a whole number of 28x28 float32 images (%d bytes each)\n", a->prog,
            path, size, PIXELS * 4);
    exit(1);
  }
  *n = (int)(size / (PIXELS * 4));
  if (!(x = (float *)malloc((size_t)size))) { fprintf(stderr, "%s: out of memory\n", a->prog); exit(1); }
  if (fread(x, 1, (size_t)size, f) != (size_t)size) { fprintf(stderr, "%s: --score: cannot read '%s'\n", a->prog, path); exit(1); }
  fclose(f);
  to_little_endian(x, (size_t)size / 4);
  return x;
}
static void write_samples(const ex_args *a, const char *path, const float *x, int n) {
  FILE *f = fopen(path, "wb");
  float *le = (float *)malloc((size_t)n * PIXELS * sizeof(float));
  if (!le) { fprintf(stderr, "%s: out of memory\n", a->prog); exit(1); }
  memcpy(le, x, (size_t)n * PIXELS * sizeof(float));
  to_little_endian(le, (size_t)n * PIXELS);
  if (!f || fwrite(le, sizeof(float), (size_t)n * PIXELS, f) != (size_t)n * PIXELS || fclose(f)) {
    fprintf(stderr, "%s: --write-samples: cannot write '%s': %s\n", a->prog, path, strerror(errno));
    exit(1);
  }
  free(le);
}

/* what generated images are compared with: the test set's features and
   those of as many training images (the floor) */
typedef struct reference {
  int m;   /* images on each side */
  double mu_t[FEATURES], cov_t[FEATURES * FEATURES], mu_r[FEATURES], cov_r[FEATURES * FEATURES];
  double floor;
} reference;

static reference *reference_new(const ex_args *a, scorer *s, const nn_dataset *train, const nn_dataset *test, int m) {
  reference *r = (reference *)malloc(sizeof *r);
  double acc;
  if (!r) { fprintf(stderr, "%s: out of memory\n", a->prog); exit(1); }
  r->m = m < test->n ? m : test->n;
  if (train->n < r->m) {
    fprintf(stderr, "%s: the floor needs %d training images, there are %d\n", a->prog, r->m, train->n);
    exit(1);
  }
  acc = features_stats(a, s, test->x, test->y, r->m, 0, r->mu_t, r->cov_t, NULL);
  printf("classifier: test accuracy %.4f on the %d test images scored against\n", acc, r->m);
  features_stats(a, s, train->x, NULL, r->m, 0, r->mu_r, r->cov_r, NULL);
  r->floor = frechet(a, r->mu_r, r->cov_r, r->mu_t, r->cov_t);
  return r;
}

/* the scores of r->m images x (in [-1, 1]): prints the histogram, returns
   the Frechet distance, *min_share the rarest class's share */
static double score(const ex_args *a, scorer *s, const reference *r, const float *x, double *min_share) {
  double *mu = (double *)malloc((FEATURES + (size_t)FEATURES * FEATURES) * sizeof(double)), fd;
  long hist[CLASSES] = {0};
  int k;
  if (!mu) { fprintf(stderr, "%s: out of memory\n", a->prog); exit(1); }
  features_stats(a, s, x, NULL, r->m, 1, mu, mu + FEATURES, hist);
  fd = frechet(a, mu, mu + FEATURES, r->mu_t, r->cov_t);
  printf("Frechet distance to %d test images: generated %.3f, %d training images %.3f (the floor)\n", r->m, fd, r->m, r->floor);
  printf("classes of the generated images (the classifier's):\n");
  *min_share = 1;
  for (k = 0; k < CLASSES; k++) {
    double share = (double)hist[k] / r->m;
    printf("  %-12s %5.1f%%\n", class_names[k], 100 * share);
    if (share < *min_share) *min_share = share;
  }
  free(mu);
  return fd;
}

/* the generated images' noise: its own generator, so the scored samples do
   not depend on how training went through data_rng */
static float *noise(int n, uint64_t seed) {
  float *z = (float *)malloc((size_t)n * NOISE * sizeof(float));
  nn_rng r;
  size_t i;
  if (!z) return NULL;
  nn_rng_seed(&r, seed);
  for (i = 0; i < (size_t)n * NOISE; i++) z[i] = nn_rng_normal(&r);
  return z;
}

static void parse(ex_args *a, gan_opts *o, int *argc, char **argv) {
  int i;
  for (i = 1; i < *argc; i++) {
    const char *v;
    if (ex_take_flag(a, argc, argv, &i, "--samples", &v)) o->samples = v;
    else if (ex_take_flag(a, argc, argv, &i, "--classifier", &v)) o->classifier = v;
    else if (ex_take_flag(a, argc, argv, &i, "--score", &v)) o->score = v;
    else if (ex_take_flag(a, argc, argv, &i, "--write-samples", &v)) o->write_samples = v;
    else if (ex_take_flag(a, argc, argv, &i, "--fd-samples", &v)) o->fd_samples = (int)ex_parse_long(a, "--fd-samples", v, 2, 1000000);
    else if (ex_take_flag(a, argc, argv, &i, "--width", &v)) o->width = (int)ex_parse_long(a, "--width", v, 2, 4096);
    else if (!strcmp(argv[i], "--")) break;
  }
  ex_parse(a, *argc, argv);
  if (o->width % 2) ex_bad_usage(a, "--width must be even, not %s", "odd");
  if (o->score && !o->classifier) ex_bad_usage(a, "%s needs --classifier FILE", "--score");
}

/* the discriminator's file of a --checkpoint FILE after `epoch` epochs */
static void d_path(char *path, size_t size, const char *base, long epoch) { snprintf(path, size, "%s.d%ld", base, epoch); }

int main(int argc, char **argv) {
  ex_args a;
  gan_opts o;
  gan n;
  scorer s;
  nn_dataset *train, *test;
  nn_checkpoint_info info;   /* epoch and step counters, the generator for shuffles and noise */
  FILE *log;
  float *real, *z, *dx, *dy, *out, *img, *grid_z = NULL, *samples = NULL;
  int *order, steps, e, i, done, count = 0;
  double train_seconds = 0, t_start = ex_now(), fd = -1, min_share = -1, d_loss = 0, g_loss = 0;
  reference *ref = NULL;

  memset(&a, 0, sizeof a);
  memset(&o, 0, sizeof o);
  a.prog = "gan";
  a.about = "a DCGAN on Fashion-MNIST: a generator and a discriminator trained against each other";
  a.notes = "  --width W         the generator's 7x7 channels; the layers around it W/2 (default: 128)\n"
            "  --samples DIR     a 10x10 grid of samples after every epoch: DIR/epoch_N.png\n"
            "  --classifier FILE score with the CNN of examples/fashion_mnist.c --save FILE (Frechet distance,\n"
            "                    classes of the samples)\n"
            "  --fd-samples N    images scored (default: 10000, at most the test set)\n"
            "  --write-samples FILE  write the scored images (raw float32, 28x28 each in [-1, 1])\n"
            "  --score FILE      score the images in FILE (that format) instead of training";
  a.extra = EX_BATCH | EX_LR;
  a.data = "data/fashion-mnist";
  a.device = "cpu";
  a.batch = 64;
  a.lr = 2e-4f;
  a.epochs = 5;
  a.seed = 1;
  a.log_header = "epoch,d_loss,g_loss,d_real,d_fake,seconds";
  o.fd_samples = 10000;
  o.width = 128;
  parse(&a, &o, &argc, argv);

  train = fm_load(&a, "train-images-idx3-ubyte", "train-labels-idx1-ubyte");
  test = fm_load(&a, "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte");
  if (o.classifier) {   /* before --limit: the floor takes training images */
    float *x = o.score ? read_samples(&a, o.score, &count) : NULL;
    scorer_load(&a, &s, o.classifier);
    ref = reference_new(&a, &s, train, test, o.fd_samples);
    if (o.score) {   /* images from elsewhere: no training */
      if (count < ref->m) {
        fprintf(stderr, "%s: --score: '%s' has %d images, %d are scored\n", a.prog, o.score, count, ref->m);
        return 1;
      }
      fd = score(&a, &s, ref, x, &min_share);
      printf("RESULT fd=%.3f fd_floor=%.3f min_class_share=%.4f samples=%d total_seconds=%.1f\n", fd, ref->floor, min_share,
             ref->m, ex_now() - t_start);
      free(x);
      free(ref);
      nn_model_free(s.m);
      nn_dataset_free(train);
      nn_dataset_free(test);
      return 0;
    }
  }
  if (a.limit) nn_dataset_truncate(train, a.limit);
  n.batch = a.batch < train->n ? a.batch : train->n;   /* the last partial batch of an epoch is dropped */
  steps = train->n / n.batch;
  build(&a, &n, o.width);
  memset(&info, 0, sizeof info);
  nn_rng_seed(&info.data_rng, a.seed + 2);
  done = ex_resume(&a, a.epochs, n.g, n.opt_g, NULL, &info);
  if (done) {
    char path[1024];
    nn_checkpoint_info dinfo;
    d_path(path, sizeof path, a.resume, done);
    if (!nn_checkpoint_load(n.d, n.opt_d, NULL, &dinfo, path)) ex_die(&a, "--resume: the discriminator");
  }
  log = ex_log_open(&a);

  printf("gan: %d training images, batch %d, %d epochs (%d steps each), lr %g, width %d, %d thread(s)\n", train->n, n.batch,
         a.epochs, steps, a.lr, o.width, nn_set_threads(0));
  if (!a.quiet) {
    printf("generator:\n");
    nn_summary(n.g, stdout);
    printf("discriminator:\n");
    nn_summary(n.d, stdout);
  }
  fflush(stdout);

  real = (float *)malloc((size_t)n.batch * PIXELS * sizeof *real);
  z = (float *)malloc((size_t)n.batch * NOISE * sizeof *z);
  dx = (float *)malloc((size_t)2 * n.batch * PIXELS * sizeof *dx);
  dy = (float *)malloc((size_t)2 * n.batch * sizeof *dy);
  out = (float *)malloc((size_t)2 * n.batch * sizeof *out);
  img = (float *)malloc((size_t)GRID * GRID * PIXELS * sizeof *img);
  order = (int *)malloc((size_t)train->n * sizeof *order);
  grid_z = noise(GRID * GRID, a.seed + 5);
  if (!real || !z || !dx || !dy || !out || !img || !order || !grid_z) { fprintf(stderr, "%s: out of memory\n", a.prog); return 1; }
  for (i = 0; i < 2 * n.batch; i++) dy[i] = i < n.batch ? 1.0f : 0.0f;   /* real, generated */

  for (e = done + 1; e <= a.epochs; e++) {
    double t0 = ex_now(), seconds, d_sum = 0, g_sum = 0, real_p = 0, fake_p = 0;
    int st;
    ex_progress p;
    for (i = 0; i < train->n; i++) order[i] = i;
    nn_shuffle(&info.data_rng, order, train->n);
    ex_progress_start(&p, e, a.epochs, steps, a.quiet);
    for (st = 0; st < steps; st++) {
      float dl, gl;
      nn_dataset_gather(train, order + (size_t)st * n.batch, n.batch, real, NULL);
      for (i = 0; i < n.batch * PIXELS; i++) dx[i] = real[i] * 2 - 1;   /* [0, 1] -> the generator's [-1, 1] */
      for (i = 0; i < n.batch * NOISE; i++) z[i] = nn_rng_normal(&info.data_rng);
      /* the generator's batch, in training mode (batch statistics) */
      if (!nn_feed_node(n.g, n.noise, z) || !nn_forward(n.g, 1) || !nn_read(n.g, n.fake, dx + (size_t)n.batch * PIXELS))
        ex_die(&a, "generator");
      /* the discriminator: real as 1, generated as 0 */
      if (!nn_set_batch(n.d, 2 * n.batch) || !nn_feed_node(n.d, n.image, dx) || !nn_feed_node(n.d, n.target, dy))
        ex_die(&a, "discriminator");
      dl = nn_train_step(n.d, n.opt_d);
      if (dl != dl || !nn_read(n.d, n.logit, out)) ex_die(&a, "discriminator step");
      for (i = 0; i < 2 * n.batch; i++) {
        double prob = 1 / (1 + exp(-(double)out[i]));
        if (i < n.batch) real_p += prob;
        else fake_p += prob;
      }
      /* the generator: its images, still in its output buffer, called real
         by the updated discriminator; the gradient at the discriminator's
         input starts the generator's backward pass */
      if (!nn_set_batch(n.d, n.batch) || !nn_feed_from(n.d, n.image, n.g, n.fake) || !nn_feed_node(n.d, n.target, dy) ||
          !nn_forward(n.d, 1) || !nn_backward(n.d) || !nn_backward_from_grad(n.g, n.fake, n.d, n.image) ||
          !nn_optimizer_step(n.opt_g))
        ex_die(&a, "generator step");
      gl = nn_loss(n.d);
      if (gl != gl) ex_die(&a, "generator step");
      info.step++;
      d_sum += dl;
      g_sum += gl;
      ex_progress_step(&p, st + 1, d_sum / (st + 1), (long)(st + 1) * n.batch);
    }
    ex_progress_end(&p);
    seconds = ex_now() - t0;
    train_seconds += seconds;
    d_loss = d_sum / steps;
    g_loss = g_sum / steps;
    printf("epoch %d/%d d_loss=%.4f g_loss=%.4f d_real=%.3f d_fake=%.3f seconds=%.2f\n", e, a.epochs, d_loss, g_loss,
           real_p / ((double)steps * n.batch), fake_p / ((double)steps * n.batch), seconds);
    fflush(stdout);
    if (log) {
      fprintf(log, "%d,%.6f,%.6f,%.6f,%.6f,%.3f\n", e, d_loss, g_loss, real_p / ((double)steps * n.batch),
              fake_p / ((double)steps * n.batch), seconds);
      fflush(log);
    }
    if (o.samples) write_grid(&a, &n, o.samples, e, grid_z, img);
    info.epoch = e;
    if (a.checkpoint) {   /* the discriminator's file first: FILE always names a complete pair */
      char path[1024];
      d_path(path, sizeof path, a.checkpoint, e);
      if (!nn_checkpoint_save(n.d, n.opt_d, NULL, &info, path)) ex_die(&a, "--checkpoint: the discriminator");
      ex_checkpoint(&a, n.g, n.opt_g, NULL, &info);
      d_path(path, sizeof path, a.checkpoint, e - 1);
      remove(path);
    }
  }
  if (o.samples && done == a.epochs) write_grid(&a, &n, o.samples, done, grid_z, img);
  ex_save(&a, n.g, n.fake);

  if (o.classifier || o.write_samples) {
    float *sz;
    count = ref ? ref->m : o.fd_samples;
    sz = noise(count, a.seed + 6);
    samples = (float *)malloc((size_t)count * PIXELS * sizeof *samples);
    if (!sz || !samples) { fprintf(stderr, "%s: out of memory\n", a.prog); return 1; }
    generate(&a, &n, sz, count, samples);
    free(sz);
    if (o.write_samples) write_samples(&a, o.write_samples, samples, count);
    if (ref) fd = score(&a, &s, ref, samples, &min_share);
  }
  printf("RESULT");
  if (ref) printf(" fd=%.3f fd_floor=%.3f min_class_share=%.4f samples=%d", fd, ref->floor, min_share, count);
  printf(" d_loss=%.4f g_loss=%.4f train_seconds=%.1f epochs=%d images_per_second=%.0f width=%d total_seconds=%.1f\n", d_loss,
         g_loss, train_seconds, a.epochs, train_seconds > 0 ? (double)steps * n.batch * (a.epochs - done) / train_seconds : 0.0,
         o.width, ex_now() - t_start);
  if (log) fclose(log);
  if (ref) nn_model_free(s.m);
  free(ref);
  free(real); free(z); free(dx); free(dy); free(out); free(img); free(order); free(grid_z); free(samples);
  nn_optimizer_free(n.opt_g);
  nn_optimizer_free(n.opt_d);
  nn_model_free(n.g);
  nn_model_free(n.d);
  nn_dataset_free(train);
  nn_dataset_free(test);
  return 0;
}
