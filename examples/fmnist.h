/* examples/fmnist.h — Fashion-MNIST for the examples: reading the IDX
   files and the classifiers of examples/fashion_mnist.c, whose CNN also
   scores the images of examples/gan.c.  Included after common.h. */
#ifndef EX_FMNIST_H
#define EX_FMNIST_H

#define CLASSES 10
#define PIXELS (28 * 28)
static const char *const class_names[CLASSES] = {"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                                                 "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"};

/* pixels in [0, 1], images 1 x 28 x 28; exits 1 naming a bad file */
static inline nn_dataset *fm_load(const ex_args *a, const char *images, const char *labels) {
  char ip[1024], lp[1024];
  nn_dataset *d;
  snprintf(ip, sizeof ip, "%s/%s", a->data, images);
  snprintf(lp, sizeof lp, "%s/%s", a->data, labels);
  if (!(d = nn_dataset_read_idx(ip, lp))) {
    fprintf(stderr, "%s: %s\n(the unzipped IDX files come from: tools/fetch_data.sh fashion-mnist)\n", a->prog,
            nn_last_error());
    exit(1);
  }
  if (d->shape.ndim != 3 || d->shape.dim[1] != 28 || d->shape.dim[2] != 28) {
    fprintf(stderr, "%s: '%s' does not hold 28x28 images\n", a->prog, ip);
    exit(1);
  }
  if (d->num_classes > CLASSES) {
    fprintf(stderr, "%s: '%s' has label %d, Fashion-MNIST has classes 0..9\n", a->prog, lp, d->num_classes - 1);
    exit(1);
  }
  return d;
}

/* the training set's mean and deviation: pixels in [0, 1] to the classifiers' inputs */
static inline void fm_normalize(float *x, size_t n) {
  size_t i;
  for (i = 0; i < n; i++) x[i] = (x[i] - 0.2860f) / 0.3530f;
}

/* the graph of --model cnn or mlp: inputs "image" and "label", the loss;
   returns the logits and, in *features (if not NULL), the 128 activations
   the logits are computed from (dropout is off in evaluation) */
/* c1, c2: the two conv layers' channels (32 and 64; fewer for --prune-channels) */
static inline nn_node *fm_build(nn_graph *g, const char *model, int c1, int c2, nn_node **features) {
  int dims[3] = {1, 28, 28}, one = 1;
  nn_node *x = nn_input(g, "image", 3, dims), *h;
  nn_node *y = nn_input(g, "label", 1, &one), *logits;
  if (!strcmp(model, "cnn")) {
    h = nn_maxpool2d(g, nn_relu(g, nn_batchnorm(g, nn_conv2d_ex(g, x, c1, 3, 3, 1, 1, 0))), 2, 2);
    h = nn_maxpool2d(g, nn_relu(g, nn_batchnorm(g, nn_conv2d_ex(g, h, c2, 3, 3, 1, 1, 0))), 2, 2);
    h = nn_relu(g, nn_dense(g, nn_flatten(g, h), 128));
    if (features) *features = h;
    h = nn_dropout(g, h, 0.3f);
  } else {
    h = nn_dropout(g, nn_relu(g, nn_dense(g, nn_flatten(g, x), 256)), 0.2f);
    h = nn_relu(g, nn_dense(g, h, 128));
    if (features) *features = h;
  }
  nn_layer_name(g, "logits");
  logits = nn_dense(g, h, CLASSES);
  nn_cross_entropy(g, logits, y, 0.0f, NN_MEAN);
  return logits;
}
#endif
