/* The model the safetensors and checkpoint fuzz targets load into, and
   make_corpus.c writes valid files for: fc1 (dense 6 -> 12), bn (batch
   norm, running statistics), fc2 (dense 12 -> 3), with Adam and an
   average of the weights. */
#ifndef NN_FUZZ_MODELS_H
#define NN_FUZZ_MODELS_H
static nn_model *fuzz_model(void) {
  nn_graph *g = nn_graph_new();
  int six = 6, one = 1;
  nn_node *x = nn_input(g, "x", 1, &six), *y = nn_input(g, "label", 1, &one), *h;
  nn_layer_name(g, "fc1");
  h = nn_dense(g, x, 12);
  nn_layer_name(g, "bn");
  h = nn_relu(g, nn_batchnorm(g, h));
  nn_layer_name(g, "fc2");
  nn_cross_entropy(g, nn_dense(g, h, 3), y, 0, NN_MEAN);
  return nn_compile(g, 2, nn_cpu_backend());
}
static nn_optimizer *fuzz_optimizer(nn_model *m) { return nn_adam(m, 0.01f, 0.9f, 0.999f, 1e-8f, 0, 0); }
#endif
