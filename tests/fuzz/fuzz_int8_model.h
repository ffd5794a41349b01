/* The model the int8 fuzz target loads quantised files into, and
   make_corpus_int8.c quantises to write them: conv (batch norm, ReLU and
   max pool fused) handing its output over to conv2 (max pool, the batch
   norm after it, whose parameters are saved as F32, and GELU fused),
   dense, layer norm (a float op with parameters, saved as F32), dense;
   images 2x6x6. */
#ifndef NN_FUZZ_INT8_MODEL_H
#define NN_FUZZ_INT8_MODEL_H
static nn_model *fuzz_int8_model(nn_node **out) {
  nn_graph *g = nn_graph_new();
  int img[3] = {2, 6, 6};
  nn_node *x = nn_input(g, "image", 3, img), *h;
  nn_layer_name(g, "conv");
  h = nn_conv2d(g, x, 4, 3, 1, 1);
  nn_layer_name(g, "bn");
  h = nn_maxpool2d(g, nn_relu(g, nn_batchnorm(g, h)), 2, 2);
  nn_layer_name(g, "conv2");
  h = nn_conv2d(g, h, 4, 3, 1, 1);
  nn_layer_name(g, "bn2");
  h = nn_gelu(g, nn_batchnorm(g, nn_maxpool2d_ex(g, h, 2, 2, 1)));
  nn_layer_name(g, "fc1");
  h = nn_dense(g, nn_flatten(g, h), 8);
  nn_layer_name(g, "ln");
  h = nn_layernorm(g, h);
  nn_layer_name(g, "fc2");
  *out = nn_dense(g, h, 3);
  return nn_compile(g, 2, nn_cpu_backend());
}
#endif
