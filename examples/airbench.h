/* The airbench94 network and its training settings (the recipe is
   described at the top of examples/cifar10.c): one definition for the
   example and for the benchmarks of tools/, which time the same network.
   Included after nn.h. */
#ifndef AIRBENCH_H
#define AIRBENCH_H
#include <math.h>

#define CLASSES 10

typedef struct recipe {
  int widths[3];
  int stem_stride;        /* of the 2x2 whitening conv */
  double epochs;
  int batch;
  float lr, wd;           /* per 1024 examples, decoupled (see trainer_init) */
  float momentum;
  float bias_lr_scale;    /* batch-norm biases learn this much faster */
  float label_smoothing;
  float bn_keep;          /* running statistics keep this much of the old value */
  int whiten_bias_epochs;
  int translate;          /* pixels */
  int tta;
} recipe;

enum { AIRBENCH, AIRBENCH_SMALL };
static const recipe airbench_recipes[2] = {
  {{64, 256, 256}, 1, 9.9, 1024, 11.5f, 0.0153f, 0.85f, 64.0f, 0.2f, 0.6f, 3, 2, 2},
  {{48, 96, 192}, 2, 4, 512, 11.5f, 0.0153f, 0.85f, 64.0f, 0.2f, 0.6f, 3, 2, 2}};

typedef struct net {
  nn_node *image, *logits, *whiten;
} net;

/* conv3x3 -> maxpool2 -> bn -> gelu -> conv3x3 -> bn -> gelu */
static nn_node *conv_group(nn_graph *g, nn_node *x, int width, const recipe *r) {
  int i;
  for (i = 0; i < 2; i++) {
    nn_node *c = nn_conv2d_ex(g, x, width, 3, 3, 1, 1, 0);
    nn_set_init(nn_node_input(c, 1), NN_INIT_DIRAC, 0);
    if (i == 0) c = nn_maxpool2d(g, c, 2, 2);
    x = nn_batchnorm_ex(g, c, 1.0f - r->bn_keep, 1e-12f, 1);
    nn_set_lr_mult(nn_node_input(x, 2), r->bias_lr_scale);
    nn_set_wd_mult(nn_node_input(x, 2), 1.0f / r->bias_lr_scale);   /* the lr scale only */
    x = nn_gelu(g, x);
  }
  return x;
}

static net build(nn_graph *g, const recipe *r) {
  int dims[3] = {3, 32, 32}, one = 1, i, pool;
  nn_node *label, *h, *fc;
  net n;
  n.image = nn_input(g, "image", 3, dims);
  label = nn_input(g, "label", 1, &one);
  nn_layer_name(g, "whiten");
  n.whiten = nn_conv2d_ex(g, n.image, 24, 2, 2, r->stem_stride, 0, 1);
  nn_set_trainable(nn_node_input(n.whiten, 1), 0);   /* set from the data, never trained */
  h = nn_gelu(g, n.whiten);
  for (i = 0; i < 3; i++) h = conv_group(g, h, r->widths[i], r);
  pool = h ? nn_node_shape(h)->dim[1] : 1;   /* what is left: 3x3 (stem stride 1) or 2x2 */
  h = nn_flatten(g, nn_maxpool2d(g, h, pool, pool));
  nn_layer_name(g, "fc");
  fc = nn_dense_ex(g, h, CLASSES, 0);
  nn_set_init(nn_node_input(fc, 1), NN_INIT_UNIFORM, 1.0f / sqrtf((float)r->widths[2]));   /* PyTorch's default */
  n.logits = nn_scale(g, fc, 1.0f / 9);
  nn_cross_entropy(g, n.logits, label, r->label_smoothing, NN_SUM);
  return n;
}
#endif
