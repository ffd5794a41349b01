/* Fuzz target: the API contract.  The input is a program: each byte an
   operation, the following bytes its arguments, run on a few slots of
   graphs, backends, models, optimizers, averages and batch iterators:
   building layers with odd shapes and arguments (on graphs compiled or
   not, with nodes of other graphs), compiling, feeding, training,
   predicting, set_batch, saving and loading through a file, freeing in any
   order, and calls with NULL, foreign or freed-but-still-held objects.
   The program mirrors the ownership rules (README "Ownership") to know
   which pointers are still valid, and uses only those; whatever nn.h
   refuses must be refused with a reason, nothing may crash.  Every input
   is accepted (corpus files are ok-*).  See fuzz.h. */
#include "fuzz.h"

#define NG 3   /* slots of each kind */
#define NN_ 40 /* nodes remembered per graph */
#define TMP "build/fuzz_api.tmp"

typedef struct { nn_graph *g; nn_node *node[NN_]; int n, models; } fz_graph;
typedef struct { nn_backend *b; int models; } fz_backend;
typedef struct { nn_model *m; int g, b, holders, freed; } fz_model;   /* holders: optimizers, averages, iterators */
typedef struct { void *p; int m; } fz_dep;                            /* an optimizer, average or iterator of model m */

typedef struct {
  const uint8_t *d;
  size_t n, at;
  fz_graph g[NG];
  fz_backend b[NG];
  fz_model m[NG];
  fz_dep opt[NG], ema[NG], it[NG];
  nn_dataset set;
  float buf[16384];   /* more than any node of these shapes holds */
} fz;

static int byte(fz *f) { return f->at < f->n ? f->d[f->at++] : 0; }
static int pick(fz *f, int n) { return byte(f) % n; }
/* argument bytes are read into an array first: C leaves the order in
   which a call's arguments are evaluated unspecified, and an input must
   mean the same program to every compiler */
static void args(fz *f, int *a, int n) { int k; for (k = 0; k < n; k++) a[k] = byte(f); }
/* a dimension: mostly small, sometimes 0 or negative */
static int dim(int v) { return v < 240 ? 1 + v % 5 : 240 - v; }
static float value(int v) { return v == 255 ? NAN : v == 254 ? INFINITY : (float)(v - 64) / 16.0f; }

/* a node of graph slot gi, of another graph, or NULL */
static nn_node *node(fz *f, int gi) {
  int v = byte(f), k;
  if (v >= 250) return NULL;
  if (v >= 230) {   /* someone else's */
    for (k = 0; k < NG; k++) {
      fz_graph *o = &f->g[(gi + 1 + k) % NG];
      if (o->g && o->n) return o->node[v % o->n];
    }
    return NULL;
  }
  return f->g[gi].n ? f->g[gi].node[v % f->g[gi].n] : NULL;
}
static void keep(fz_graph *g, nn_node *n) {
  if (n && g->n < NN_) g->node[g->n++] = n;
}

static void build(fz *f) {
  static const char *const names[4] = {"x", "y", "ids", "len"};
  int gi = pick(f, NG), op = byte(f) % 32, a[8], d[4], k;
  fz_graph *G = &f->g[gi];
  nn_graph *g = G->g;   /* may be NULL: the builders must say so */
  nn_node *x = node(f, gi), *y = node(f, gi), *z = node(f, gi), *xs[3], *r = NULL;
  args(f, a, 8);
  for (k = 0; k < 4; k++) d[k] = dim(a[4 + k]);
  xs[0] = x; xs[1] = y; xs[2] = z;
  switch (op) {
  case 0: case 1: r = nn_input(g, a[0] == 255 ? NULL : names[a[0] % 4], 1 + a[1] % 4 - (a[2] == 255), a[3] == 255 ? NULL : d); break;
  case 2: r = nn_param(g, a[0] == 255 ? NULL : names[a[0] % 4], 1 + a[1] % 2, d, (nn_init)(a[2] % 11), value(a[3])); break;
  case 3: r = nn_dense_ex(g, x, dim(a[0]), a[1] & 1); break;
  case 4: r = nn_conv2d_ex(g, x, dim(a[0]), dim(a[1]), dim(a[2]), dim(a[3]), dim(a[4]) - 1, a[5] & 1); break;
  case 5: r = nn_maxpool2d_ex(g, x, dim(a[0]), dim(a[1]), dim(a[2]) - 1); break;
  case 6: r = nn_avgpool2d_ex(g, x, dim(a[0]), dim(a[1]), dim(a[2]) - 1); break;
  case 7: r = nn_global_avgpool(g, x); break;
  case 8: r = nn_batchnorm_ex(g, x, value(a[0]), value(a[1]), a[2] & 1); break;
  case 9: r = nn_layernorm_ex(g, x, value(a[0])); break;
  case 10: r = nn_dropout(g, x, value(a[0])); break;
  case 11: r = nn_reshape(g, x, 1 + a[0] % 3, d); break;
  case 12: r = nn_flatten(g, x); break;
  case 13: r = nn_add(g, x, y); break;
  case 14: r = nn_mul(g, x, y); break;
  case 15: r = nn_concat(g, a[0] % 4, a[1] == 255 ? NULL : xs); break;
  case 16: r = nn_scale(g, x, value(a[0])); break;
  case 17: r = nn_relu(g, x); break;
  case 18: r = nn_leaky_relu(g, x, value(a[0])); break;
  case 19: r = a[0] % 3 == 0 ? nn_gelu(g, x) : a[0] % 3 == 1 ? nn_silu(g, x) : nn_sigmoid(g, x); break;
  case 20: r = a[0] & 1 ? nn_tanh(g, x) : nn_softmax(g, x); break;
  case 21: r = nn_cross_entropy(g, x, y, value(a[0]), (nn_reduction)(a[1] % 3)); break;
  case 22: r = a[0] & 1 ? nn_mse(g, x, y, (nn_reduction)(a[1] % 2)) : nn_bce_with_logits(g, x, y, NN_MEAN); break;
  case 23: r = nn_embedding(g, x, dim(a[0]), dim(a[1])); break;
  case 24:
    r = a[0] % 3 == 0 ? nn_rnn(g, x, y, dim(a[1]), dim(a[2]) - 3, a[3] % 3)
      : a[0] % 3 == 1 ? nn_lstm(g, x, y, dim(a[1]), 1, a[3] % 2) : nn_gru(g, x, y, dim(a[1]), 1, a[3] % 2);
    break;
  case 25: r = a[0] % 3 == 0 ? nn_seq_last(g, x, y) : a[0] % 3 == 1 ? nn_seq_maxpool(g, x, y) : nn_seq_meanpool(g, x, y); break;
  case 26: nn_layer_name(g, a[0] & 1 ? "named" : NULL); return;
  case 27: nn_graph_set_loss(g, x); return;
  case 28: nn_set_trainable(x, a[0] & 1); nn_set_lr_mult(x, value(a[1])); nn_set_requires_grad(x); nn_set_init(x, (nn_init)(a[2] % 12), 1); return;
  default: nn_graph_set_seed(g, (uint64_t)a[0]); nn_graph_error(g); nn_find(g, names[a[1] % 4]); return;
  }
  if (G->g) keep(G, r);
}

/* the model slot's object is gone once the caller freed it and nothing holds it */
static void release(fz *f, int mi) {
  fz_model *M = &f->m[mi];
  if (!M->m || !M->freed || M->holders) return;
  M->m = NULL;
  if (--f->g[M->g].models == 0) memset(&f->g[M->g], 0, sizeof f->g[M->g]);   /* freed with its last model */
  if (--f->b[M->b].models == 0) f->b[M->b].b = NULL;
}
static void drop(fz *f, fz_dep *dep, int kind) {
  if (!dep->p) return;
  if (kind == 0) nn_optimizer_free((nn_optimizer *)dep->p);
  else if (kind == 1) nn_ema_free((nn_ema *)dep->p);
  else nn_batches_free((nn_batches *)dep->p);
  dep->p = NULL;
  f->m[dep->m].holders--;
  release(f, dep->m);
}
static float *data(fz *f, nn_model *m, const nn_node *n) {
  size_t k, need = n ? nn_node_numel(m, n) : 0;
  if (need > sizeof f->buf / sizeof f->buf[0]) return NULL;
  for (k = 0; k < need; k++) f->buf[k] = value(byte(f));
  return f->buf;
}
static fz_dep *dep_of(fz *f, int kind, int slot) { return kind == 0 ? &f->opt[slot] : kind == 1 ? &f->ema[slot] : &f->it[slot]; }

static void step(fz *f) {
  int op = byte(f) % 24, mi = pick(f, NG), a[6], k, gi;
  fz_model *M = &f->m[mi];
  nn_model *m = M->m;   /* NULL, or live (perhaps freed by the caller and held) */
  nn_node *n = node(f, M->m ? M->g : mi);
  nn_optimizer *o;
  nn_ema *e;
  fz_dep *dep;
  args(f, a, 6);
  o = (nn_optimizer *)f->opt[a[4] % NG].p;
  e = (nn_ema *)f->ema[a[5] % NG].p;
  switch (op) {
  case 0: gi = a[0] % NG; if (!f->g[gi].g) f->g[gi].g = nn_graph_new(); break;
  case 1: case 2: case 3: build(f); break;
  case 4: k = a[0] % NG; if (!f->b[k].b) f->b[k].b = nn_cpu_backend(); break;
  case 5: /* compile graph slot gi on backend slot k into model slot mi if it is free */
    gi = a[0] % NG; k = a[1] % NG;
    if (M->m) break;
    M->m = nn_compile(f->g[gi].g, a[2] % 9 - 1, f->b[k].b);
    if (M->m) { M->g = gi; M->b = k; M->holders = M->freed = 0; f->g[gi].models++; f->b[k].models++; }
    break;
  case 6: gi = a[0] % NG; if (f->g[gi].g && nn_graph_free(f->g[gi].g)) memset(&f->g[gi], 0, sizeof f->g[gi]); break;
  case 7: k = a[0] % NG; if (f->b[k].b && nn_backend_free(f->b[k].b)) f->b[k].b = NULL; break;
  case 8: if (m) { nn_model_free(m); M->freed = 1; release(f, mi); } break;
  case 9: if (m && n && n->graph == m->graph) nn_feed_node(m, n, data(f, m, n)); else nn_feed_node(m, n, f->buf); break;
  case 10: nn_feed(m, a[0] % 3 == 0 ? NULL : a[0] % 3 == 1 ? "x" : "len", m ? data(f, m, nn_model_find(m, "x")) : NULL); break;
  case 11: nn_predict(m, n); break;
  case 12: nn_forward(m, a[0] & 1); nn_backward(m); break;
  case 13: nn_train_step(m, o); nn_optimizer_step(o); nn_optimizer_set_clip(o, value(a[0])); break;
  case 14: /* an optimizer, an average or an iterator for model m, in place of the slot's */
    k = a[0] % 3;
    dep = dep_of(f, k, a[1] % NG);
    drop(f, dep, k);
    m = M->m;   /* the dropped one may have held the model's last reference */
    if (k == 0) dep->p = a[2] & 1 ? nn_adam(m, value(a[3]), 0.9f, 0.999f, 1e-8f, 0, (a[2] >> 1) & 3)
                                  : nn_rmsprop(m, value(a[3]), value(a[4]), 0.9f, 1e-8f, 0, (a[2] >> 1) & 3);
    else if (k == 1) dep->p = nn_ema_new(m, value(a[3]));
    else dep->p = nn_batches_new(m, a[2] & 1 ? &f->set : NULL, NULL);
    if (dep->p) { dep->m = mi; M->holders++; }
    break;
  case 15: k = a[0] % 3; drop(f, dep_of(f, k, a[1] % NG), k); break;
  case 16: nn_set_batch(m, a[0] % 10 - 1); break;
  case 17: nn_safetensors_save(m, a[0] & 1 ? TMP : NULL, NULL); break;
  case 18: nn_safetensors_load(m, TMP, a[0] & 1); break;
  case 19: if (a[0] & 1) nn_checkpoint_save(m, o, e, NULL, TMP); else nn_checkpoint_load(m, o, e, NULL, TMP); break;
  case 20:
    if (n && m && n->graph == m->graph) { nn_read(m, n, data(f, m, n)); nn_read_grad(m, n, f->buf); }
    else nn_read(m, n, a[0] & 1 ? f->buf : NULL);
    break;
  case 21: nn_ema_update(e); if (a[0] & 1) nn_ema_swap(e); else nn_ema_copy_to_model(e); break;
  case 22: nn_batches_next((nn_batches *)f->it[a[0] % NG].p); break;
  default: nn_num_params(m); nn_model_num_tensors(m); nn_loss(m); nn_clip_grad_norm(m, value(a[0])); break;
  }
}

int nn_fuzz_one(const uint8_t *d, size_t size) {
  static fz f;
  static float sx[5 * 4], sy[5];
  int k;
  memset(&f, 0, sizeof f);
  f.d = d;
  f.n = size;
  f.set.n = 5; f.set.shape.ndim = 1; f.set.shape.dim[0] = 4; f.set.x = sx; f.set.y = sy; f.set.num_classes = 5;
  while (f.at < f.n) step(&f);
  for (k = 0; k < NG; k++) { drop(&f, &f.opt[k], 0); drop(&f, &f.ema[k], 1); drop(&f, &f.it[k], 2); }
  for (k = 0; k < NG; k++) if (f.m[k].m && !f.m[k].freed) { nn_model_free(f.m[k].m); f.m[k].freed = 1; release(&f, k); }
  for (k = 0; k < NG; k++) { nn_graph_free(f.g[k].g); nn_backend_free(f.b[k].b); }
  remove(TMP);
  return 1;
}
