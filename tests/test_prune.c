/* Pruning (nn_compress.h): the cubic schedule; magnitude masks per layer
   (the smallest |w| go, each layer to the asked fraction, masks only
   grow); pruned weights stay exactly zero through SGD with Nesterov
   momentum and through Adam steps while the others train; a checkpoint
   resumed into a second model recovers the masks from its zeros and
   continues bit for bit as the uninterrupted run; bad arguments.
   Channels: a network with two conv layers (batch norm, ReLU, pools) and
   a dense after a flatten, trained a little; the channels ranked by
   L1 norm times |gamma|; the removed ones zeroed (their batch norm's
   gamma and beta) in the big model, whose outputs then equal those of a
   model built with fewer channels that takes the kept weights; the
   smaller model trains; mismatched selections are refused.
   Global pruning: one magnitude threshold across the layers (a layer of
   large weights keeps more, no pruned |w| above a kept one anywhere).
   Recurrent layers: a bidirectional GRU's weight matrices masked (not its
   biases, not the embedding) and held at zero through Adam.
   Build: cc -I. tests/test_prune.c -lm.  Last line: "N passed, N failed". */
#include <stdlib.h>
#include <string.h>

#define NN_IMPLEMENTATION
#include "nn.h"
#define NN_COMPRESS_IMPLEMENTATION
#include "nn_compress.h"

#include "check.h"

enum { B = 8 };

static nn_graph *build(void) {
  nn_graph *g = nn_graph_new();
  int dims[3] = {2, 6, 6}, one = 1;
  nn_node *x = nn_input(g, "image", 3, dims), *y = nn_input(g, "label", 1, &one), *h;
  nn_graph_set_seed(g, 3);
  h = nn_maxpool2d(g, nn_relu(g, nn_batchnorm(g, nn_conv2d(g, x, 6, 3, 1, 1))), 2, 2);
  h = nn_relu(g, nn_dense(g, nn_flatten(g, h), 16));
  nn_cross_entropy(g, nn_dense(g, h, 4), y, 0.0f, NN_MEAN);
  return g;
}

static void batch2(nn_model *m, int step) {
  float x[B * 128], y[B];
  nn_rng r;
  int i;
  nn_rng_seed(&r, 200 + (uint64_t)step);
  for (i = 0; i < B * 128; i++) x[i] = nn_rng_normal(&r);
  for (i = 0; i < B; i++) y[i] = (float)nn_rng_int(&r, 4);
  nn_feed(m, "image", x);
  nn_feed(m, "label", y);
}

/* the same batch for the same step, whichever model asks */
static void batch(nn_model *m, int step) {
  float x[B * 72], y[B];
  nn_rng r;
  int i;
  nn_rng_seed(&r, 100 + (uint64_t)step);
  for (i = 0; i < B * 72; i++) x[i] = nn_rng_normal(&r);
  for (i = 0; i < B; i++) y[i] = (float)nn_rng_int(&r, 4);
  nn_feed(m, "image", x);
  nn_feed(m, "label", y);
}

static float *weights(nn_model *m, const nn_node *w) {
  float *v = (float *)malloc(nn_node_numel(m, w) * sizeof(float));
  nn_read(m, w, v);
  return v;
}

/* zeros where the mask says, kept ones unchanged or changed as asked */
static void masks_hold(nn_model *m, const char *opt_name, int adam) {
  nn_prune *p = nn_prune_new(m);
  nn_optimizer *o = adam ? nn_adam(m, 0.01f, 0.9f, 0.999f, 1e-8f, 0.01f, 0) : nn_sgd(m, 0.05f, 0.9f, 5e-4f, NN_NESTEROV);
  nn_graph *g = m->graph;
  int i, s, layers = nn_prune_num_layers(p);
  CHECK(p && layers == 3, "%s: 3 layers to prune, %d", opt_name, layers);
  for (s = 0; s < 3; s++) { batch(m, s); nn_train_step(m, o); }   /* momentum and moments that are not zero */
  CHECK(nn_prune_to(p, 0.6f), "%s: prune to 60%%", opt_name);
  for (i = 0; i < nn_graph_num_nodes(g); i++) {
    nn_node *nd = nn_graph_node(g, i), *w;
    float *before, *after;
    size_t n, j, zeros = 0, moved = 0, revived = 0;
    if (nd->op != NN_OP_DENSE && nd->op != NN_OP_CONV2D) continue;
    w = nn_node_input(nd, 1);
    n = nn_node_numel(m, w);
    before = weights(m, w);
    for (j = 0; j < n; j++) zeros += before[j] == 0;
    CHECK(zeros == (size_t)(0.6 * (double)n), "%s: '%s' has %zu zeros of %zu (60%%)", opt_name, w->name, zeros, n);
    for (s = 3; s < 8; s++) {
      batch(m, s);
      nn_train_step(m, o);
      nn_prune_apply(p);
    }
    after = weights(m, w);
    for (j = 0; j < n; j++) {
      revived += before[j] == 0 && after[j] != 0;
      moved += before[j] != 0 && after[j] != before[j];
    }
    CHECK(!revived, "%s: '%s': %zu pruned weights came back after 5 steps", opt_name, w->name, revived);
    CHECK(moved > (n - zeros) / 2, "%s: '%s': the kept weights train (%zu of %zu moved)", opt_name, w->name, moved, n - zeros);
    free(before);
    free(after);
  }
  nn_optimizer_free(o);
  nn_prune_free(p);
}

static nn_graph *build_channels(int c1, int c2) {
  nn_graph *g = nn_graph_new();
  int dims[3] = {2, 8, 8}, one = 1;
  nn_node *x = nn_input(g, "image", 3, dims), *y = nn_input(g, "label", 1, &one), *h;
  nn_graph_set_seed(g, 5);
  nn_layer_name(g, "c1");
  h = nn_conv2d(g, x, c1, 3, 1, 1);
  nn_layer_name(g, "bn1");
  h = nn_maxpool2d(g, nn_relu(g, nn_batchnorm(g, h)), 2, 2);
  nn_layer_name(g, "c2");
  h = nn_conv2d(g, h, c2, 3, 1, 1);
  nn_layer_name(g, "bn2");
  h = nn_gelu(g, nn_batchnorm(g, h));
  nn_layer_name(g, "fc");
  h = nn_dense(g, nn_flatten(g, h), 4);
  nn_cross_entropy(g, h, y, 0.0f, NN_MEAN);
  return g;
}

static void channel_cases(void) {
  nn_graph *big = build_channels(8, 6), *small = build_channels(5, 4);
  nn_model *a = nn_compile(big, B, nn_cpu_backend()), *b = nn_compile(small, B, nn_cpu_backend());
  nn_optimizer *o = nn_sgd(a, 0.05f, 0.9f, 0, 0), *ob;
  const char *layers[2] = {"c1", "c2"};
  int k1[5], k2[4], bad[3] = {0, 9, 2}, s, i, j;
  const int *kept[2];
  int nkept[2] = {5, 4};
  nn_node *fa = nn_find(big, "fc"), *fb = nn_find(small, "fc");
  float ya[B * 4], yb[B * 4], diff = 0, before, after;
  kept[0] = k1;
  kept[1] = k2;
  for (s = 0; s < 6; s++) { batch2(a, s); nn_train_step(a, o); }
  CHECK(nn_prune_rank_channels(a, nn_find(big, "c1"), 5, k1) && nn_prune_rank_channels(a, nn_find(big, "c2"), 4, k2),
        "rank: %s", nn_last_error());
  {   /* the ranking: L1 of the rows times |gamma|, the best kept */
    float w[8 * 18], gm[8];
    double sc[8], worst_kept = 1e30, best_cut = 0;
    nn_read(a, nn_find(big, "c1.weight"), w);
    nn_read(a, nn_find(big, "bn1.weight"), gm);
    for (i = 0; i < 8; i++) {
      int in = 0;
      sc[i] = 0;
      for (j = 0; j < 18; j++) sc[i] += fabsf(w[i * 18 + j]);
      sc[i] *= fabsf(gm[i]);
      for (j = 0; j < 5; j++) in |= k1[j] == i;
      if (in && sc[i] < worst_kept) worst_kept = sc[i];
      if (!in && sc[i] > best_cut) best_cut = sc[i];
    }
    CHECK(worst_kept >= best_cut && k1[0] < k1[1] && k1[3] < k1[4], "the highest-scoring channels kept, in order");
  }
  CHECK(nn_prune_copy_channels(a, b, 2, layers, kept, nkept), "copy: %s", nn_last_error());
  for (i = 0; i < 2; i++) {   /* zero the removed channels of the big model: gamma and beta */
    char gn[32], bn[32];
    float gv[8], bv[8];
    int c, n = i ? 6 : 8;
    snprintf(gn, sizeof gn, "bn%d.weight", i + 1);
    snprintf(bn, sizeof bn, "bn%d.bias", i + 1);
    nn_read(a, nn_find(big, gn), gv);
    nn_read(a, nn_find(big, bn), bv);
    for (c = 0; c < n; c++) {
      int in = 0;
      for (j = 0; j < nkept[i]; j++) in |= kept[i][j] == c;
      if (!in) gv[c] = bv[c] = 0;
    }
    nn_write(a, nn_find(big, gn), gv);
    nn_write(a, nn_find(big, bn), bv);
  }
  batch2(a, 99);
  batch2(b, 99);
  nn_predict(a, fa);
  nn_predict(b, fb);
  nn_read(a, fa, ya);
  nn_read(b, fb, yb);
  for (i = 0; i < B * 4; i++) diff = fabsf(ya[i] - yb[i]) > diff ? fabsf(ya[i] - yb[i]) : diff;
  CHECK(diff < 1e-4f, "the slim model gives the zeroed big model's outputs (max difference %g)", diff);
  ob = nn_sgd(b, 0.05f, 0.9f, 0, 0);
  batch2(b, 1);
  before = nn_train_step(b, ob);
  for (s = 0; s < 10; s++) nn_train_step(b, ob);
  after = nn_train_step(b, ob);
  CHECK(after < before, "the slim model fine-tunes (loss %g -> %g on one batch)", before, after);
  nkept[0] = 3;
  kept[0] = bad;
  CHECK(!nn_prune_copy_channels(a, b, 2, layers, kept, nkept) && strstr(nn_last_error(), "rise"), "channels out of range: %s", nn_last_error());
  bad[1] = 2;
  bad[2] = 3;
  CHECK(!nn_prune_copy_channels(a, b, 2, layers, kept, nkept) && strstr(nn_last_error(), "c1.weight"), "a selection that does not fit: %s", nn_last_error());
  layers[0] = "fc";
  CHECK(!nn_prune_copy_channels(a, b, 2, layers, kept, nkept) && strstr(nn_last_error(), "conv2d"), "not a conv: %s", nn_last_error());
  CHECK(!nn_prune_rank_channels(a, nn_find(big, "c1"), 9, k1), "keep 9 of 8 refused");
  nn_optimizer_free(o);
  nn_optimizer_free(ob);
  nn_model_free(a);
  nn_model_free(b);
}

/* global: one threshold over every layer.  The conv's weights scaled up
   10x: per layer each would lose half; globally the conv keeps nearly
   all, the dense layers give more, half of all the weights go, and no
   pruned |w| anywhere is above a kept one. */
static void global_cases(void) {
  nn_graph *g = build();
  nn_model *m = nn_compile(g, B, nn_cpu_backend());
  nn_prune *p = nn_prune_new(m);
  const nn_node *w;
  float *v[3], *cut[3], cut_max = 0, kept_min = 1e30f;
  size_t n[3], total = 0, zeros = 0, revived = 0, j;
  int i, layers = nn_prune_num_layers(p);
  double conv_sp, dense_sp;
  CHECK(p && layers == 3, "global: 3 layers, %d", layers);
  for (i = 0; i < 3; i++) {
    nn_prune_layer_sparsity(p, i, &w);
    n[i] = nn_node_numel(m, w);
    v[i] = weights(m, w);
    if (i == 0)
      for (j = 0; j < n[i]; j++) v[i][j] *= 10;   /* the conv (graph order) */
    nn_write(m, w, v[i]);
    total += n[i];
  }
  CHECK(nn_prune_set_global(p, 1) && nn_prune_to(p, 0.5f), "global: prune to 50%%: %s", nn_last_error());
  for (i = 0; i < 3; i++) {
    nn_prune_layer_sparsity(p, i, &w);
    cut[i] = weights(m, w);
    for (j = 0; j < n[i]; j++) {
      if (cut[i][j] == 0) { zeros++; cut_max = fabsf(v[i][j]) > cut_max ? fabsf(v[i][j]) : cut_max; }
      else kept_min = fabsf(v[i][j]) < kept_min ? fabsf(v[i][j]) : kept_min;
    }
  }
  conv_sp = nn_prune_layer_sparsity(p, 0, NULL);
  dense_sp = nn_prune_layer_sparsity(p, 1, NULL);
  CHECK(zeros == (size_t)(0.5 * (double)total) && fabs(nn_prune_sparsity(p) - (double)zeros / (double)total) < 1e-12,
        "global: %zu zeros of %zu weights in all (half)", zeros, total);
  CHECK(cut_max <= kept_min, "global: one threshold (largest pruned %g, smallest kept %g, across the layers)", cut_max, kept_min);
  CHECK(conv_sp < 0.1 && dense_sp > 0.5, "global: the conv of large weights keeps more (%.3f zeros), the dense gives more (%.3f)",
        conv_sp, dense_sp);
  /* back to per layer: the masks made stay, and each layer reaches 70% */
  CHECK(nn_prune_set_global(p, 0) && nn_prune_to(p, 0.7f), "per layer after global: %s", nn_last_error());
  for (i = 0; i < 3; i++) {
    float *after;
    nn_prune_layer_sparsity(p, i, &w);
    after = weights(m, w);
    for (j = 0; j < n[i]; j++) revived += cut[i][j] == 0 && after[j] != 0;
    CHECK(nn_prune_layer_sparsity(p, i, NULL) == (double)(size_t)(0.7 * (double)n[i]) / (double)n[i],
          "per layer: layer %d at %.4f zeros", i, nn_prune_layer_sparsity(p, i, NULL));
    free(after);
  }
  CHECK(!revived, "per layer after global: %zu weights the global cut pruned came back", revived);
  CHECK(nn_prune_layer_sparsity(p, 3, &w) < 0 && strstr(nn_last_error(), "3 of 3"), "layer 3 of 3 refused: %s", nn_last_error());
  CHECK(!nn_prune_set_global(NULL, 1) && nn_prune_layer_sparsity(NULL, 0, NULL) < 0, "NULL refused");
  for (i = 0; i < 3; i++) { free(v[i]); free(cut[i]); }
  nn_prune_free(p);
  nn_model_free(m);
}

/* recurrent layers: a bidirectional GRU's four weight matrices are
   masked (not its biases, not the embedding) and stay pruned through
   Adam steps while the others train */
static void recurrent_cases(void) {
  nn_graph *g = nn_graph_new();
  int T = 5, one = 1, i, s, found = 0;
  nn_node *ids = nn_input(g, "ids", 1, &T), *len = nn_input(g, "len", 1, &one), *y = nn_input(g, "label", 1, &one), *h;
  nn_model *m;
  nn_optimizer *o;
  nn_prune *p;
  float *before[8];
  nn_graph_set_seed(g, 9);
  h = nn_embedding(g, ids, 12, 6);
  h = nn_gru(g, h, len, 7, 1, NN_BIDIRECTIONAL);
  nn_cross_entropy(g, nn_dense(g, nn_seq_maxpool(g, h, len), 2), y, 0.0f, NN_MEAN);
  m = nn_compile(g, B, nn_cpu_backend());
  o = nn_adam(m, 0.01f, 0.9f, 0.999f, 1e-8f, 0.0f, 0);
  p = nn_prune_new(m);
  CHECK(p && nn_prune_num_layers(p) == 5, "gru: 5 weights to prune (4 recurrent, the dense): %d", nn_prune_num_layers(p));
  for (i = 0; p && i < nn_prune_num_layers(p); i++) {
    const nn_node *w;
    nn_prune_layer_sparsity(p, i, &w);
    found += strstr(w->name, "weight_ih") || strstr(w->name, "weight_hh");
    CHECK(!strstr(w->name, "bias") && !strstr(w->name, "embedding"), "gru: '%s' is not masked", w->name);
  }
  CHECK(found == 4, "gru: weight_ih and weight_hh of both directions masked (%d)", found);
  CHECK(nn_prune_to(p, 0.6f), "gru: prune to 60%%: %s", nn_last_error());
  for (i = 0; i < 5; i++) before[i] = NULL;
  for (s = 0; s < 6; s++) {
    float x[B * 5], l[B], t[B];
    int k;
    nn_rng r;
    nn_rng_seed(&r, 300 + (uint64_t)s);
    for (k = 0; k < B * 5; k++) x[k] = (float)nn_rng_int(&r, 12);
    for (k = 0; k < B; k++) { l[k] = (float)(1 + nn_rng_int(&r, 5)); t[k] = (float)nn_rng_int(&r, 2); }
    nn_feed(m, "ids", x);
    nn_feed(m, "len", l);
    nn_feed(m, "label", t);
    nn_train_step(m, o);
    nn_prune_apply(p);
    if (s == 0)
      for (i = 0; i < 5; i++) {
        const nn_node *w;
        nn_prune_layer_sparsity(p, i, &w);
        before[i] = weights(m, w);
      }
  }
  for (i = 0; i < 5; i++) {
    const nn_node *w;
    float *after;
    size_t n, j, zeros = 0, revived = 0, moved = 0;
    nn_prune_layer_sparsity(p, i, &w);
    n = nn_node_numel(m, w);
    after = weights(m, w);
    for (j = 0; j < n; j++) {
      zeros += before[i][j] == 0;
      revived += before[i][j] == 0 && after[j] != 0;
      moved += before[i][j] != 0 && after[j] != before[i][j];
    }
    CHECK(zeros == (size_t)(0.6 * (double)n) && !revived && moved > (n - zeros) / 2,
          "gru: '%s': %zu zeros of %zu (60%%), %zu came back after 5 Adam steps, %zu of the rest moved", w->name, zeros, n,
          revived, moved);
    free(before[i]);
    free(after);
  }
  nn_prune_free(p);
  nn_optimizer_free(o);
  nn_model_free(m);
}

int main(void) {
  nn_graph *g = build();
  nn_model *keep = nn_compile(g, 1, nn_cpu_backend());   /* the graph lives as long as a model of it */
  nn_model *m = nn_compile(g, B, nn_cpu_backend()), *m2;
  nn_prune *p;
  nn_optimizer *o, *o2;
  float *w0, *a, *b;
  const nn_node *fc;
  size_t n, j;
  int s, smallest_first = 1;
  double sp;

  CHECK(nn_prune_schedule(0.8f, 5, 10, 110) == 0.0f && nn_prune_schedule(0.8f, 110, 10, 110) == 0.8f &&
            nn_prune_schedule(0.8f, 500, 10, 110) == 0.8f,
        "schedule: 0 before the start, the final sparsity from the end on");
  CHECK(fabsf(nn_prune_schedule(0.8f, 60, 10, 110) - 0.8f * (1 - 0.125f)) < 1e-6f, "schedule: cubic (half way: 7/8)");
  CHECK(nn_prune_schedule(0.8f, 20, 10, 110) < nn_prune_schedule(0.8f, 21, 10, 110), "schedule rises");

  /* the smallest magnitudes go */
  p = nn_prune_new(m);
  fc = nn_node_input(nn_graph_node(g, nn_graph_num_nodes(g) - 2), 1);   /* the last dense's weight */
  fc = nn_find(g, fc->name);
  w0 = weights(m, fc);
  n = nn_node_numel(m, fc);
  CHECK(nn_prune_sparsity(p) == 0.0, "fresh weights: no zeros");
  nn_prune_to(p, 0.5f);
  a = weights(m, fc);
  {
    float kept_min = 1e30f, cut_max = 0;
    for (j = 0; j < n; j++) {
      if (a[j] == 0) cut_max = fabsf(w0[j]) > cut_max ? fabsf(w0[j]) : cut_max;
      else kept_min = fabsf(w0[j]) < kept_min ? fabsf(w0[j]) : kept_min;
      if (a[j] != 0 && a[j] != w0[j]) smallest_first = 0;
    }
    CHECK(smallest_first && cut_max <= kept_min, "the pruned weights are the smallest (largest pruned %g, smallest kept %g)",
          cut_max, kept_min);
  }
  sp = nn_prune_sparsity(p);
  CHECK(sp > 0.49 && sp <= 0.5, "sparsity %g after pruning to 0.5", sp);
  nn_prune_to(p, 0.3f);
  CHECK(nn_prune_sparsity(p) == sp, "masks never shrink");
  CHECK(!nn_prune_to(p, 1.5f) && strstr(nn_last_error(), "1.5"), "sparsity 1.5 refused: %s", nn_last_error());
  CHECK(!nn_prune_to(NULL, 0.5f) && !nn_prune_apply(NULL) && !nn_prune_new(NULL), "NULL refused");
  nn_prune_free(p);
  free(w0);
  free(a);
  nn_model_free(m);

  m = nn_compile(g, B, nn_cpu_backend());
  masks_hold(m, "SGD Nesterov", 0);
  nn_model_free(m);
  m = nn_compile(g, B, nn_cpu_backend());
  masks_hold(m, "Adam", 1);
  nn_model_free(m);

  /* resume: masks from the checkpoint's zeros, then the same steps */
  m = nn_compile(g, B, nn_cpu_backend());
  o = nn_adam(m, 0.01f, 0.9f, 0.999f, 1e-8f, 0.01f, 0);
  p = nn_prune_new(m);
  for (s = 0; s < 12; s++) {
    batch(m, s);
    nn_train_step(m, o);
    if (s % 3 == 0) nn_prune_to(p, nn_prune_schedule(0.7f, s, 0, 9));
    nn_prune_apply(p);
    if (s == 5) CHECK(nn_checkpoint_save(m, o, NULL, NULL, "build/test_prune.ckpt"), "checkpoint: %s", nn_last_error());
  }
  a = weights(m, fc);
  sp = nn_prune_sparsity(p);
  nn_prune_free(p);
  m2 = nn_compile(g, B, nn_cpu_backend());
  o2 = nn_adam(m2, 0.01f, 0.9f, 0.999f, 1e-8f, 0.01f, 0);
  CHECK(nn_checkpoint_load(m2, o2, NULL, NULL, "build/test_prune.ckpt"), "resume: %s", nn_last_error());
  p = nn_prune_new(m2);
  for (s = 6; s < 12; s++) {
    batch(m2, s);
    nn_train_step(m2, o2);
    if (s % 3 == 0) nn_prune_to(p, nn_prune_schedule(0.7f, s, 0, 9));
    nn_prune_apply(p);
  }
  b = weights(m2, fc);
  CHECK(!memcmp(a, b, n * sizeof(float)), "the resumed run has the same weights bit for bit");
  CHECK(nn_prune_sparsity(p) == sp && sp > 0.69, "... and the same masks (sparsity %g, %g)", nn_prune_sparsity(p), sp);
  free(a);
  free(b);
  nn_prune_free(p);
  nn_optimizer_free(o);
  nn_optimizer_free(o2);
  nn_model_free(m);
  nn_model_free(m2);
  nn_model_free(keep);
  global_cases();
  recurrent_cases();
  channel_cases();
  return check_summary();
}
