/* cc -O2 -I. examples/imdb.c -lm -o imdb
   faster: cc -O3 -march=native -fopenmp -I. examples/imdb.c -lm -o imdb
   OpenCL: cc -O2 -I. -DNN_OPENCL examples/imdb.c -lOpenCL -lclblast -lm -o imdb   (--device opencl)
   MPI: mpicc -O2 -I. -DNN_MPI examples/imdb.c -lm -o imdb; mpirun -np 2 ./imdb   (examples/mpi.h)

   IMDb movie-review sentiment (aclImdb: 25,000 training and 25,000 test
   reviews, half positive) with a recurrent net.  Get the data with
   tools/fetch_data.sh imdb; --data DIR is the unpacked aclImdb/.

   Reviews are tokenized, the vocabulary is the --vocab most frequent words
   of the training reviews, and each review is cut to its last --maxlen
   tokens (the end of a review tends to hold its verdict).
     ids -> embedding --embed (starts N(0, 0.1)) -> dropout 0.4
         -> --model gru|lstm|rnn, --hidden units, both directions
            (--bidirectional 1)
         -> max and mean pooling over the valid steps -> dropout 0.4
         -> dense 2
   Adam (lr 3e-3 decaying linearly to zero) with gradient clipping at norm
   1; evaluation uses a moving average of the weights (decay 0.998).
   Batches group reviews of similar lengths, and the recurrent op stops at
   the longest review in the batch, so short reviews cost little.
   The defaults reach about 91% test accuracy in 2 epochs.

   --checkpoint FILE saves the run (weights, Adam, the average, counters,
   generators) after every epoch and --resume FILE continues it exactly,
   given the same flags; --save FILE writes the averaged weights, the ones
   evaluated.  train_seconds counts the training steps of this process
   only; total_seconds everything (reading, tokenizing, training,
   evaluating).
   --val N holds out N training reviews (not counted into the vocabulary)
   to keep the epoch best on them (--patience K: stop after K epochs
   without a better one); see examples/common.h.
   --prune S prunes the dense and the recurrent weight matrices (not the
   embedding, not the biases) to S zeros over all of them (global
   magnitude pruning, examples/common.h), the averaged weights masked
   too.  --int8 quantises the dense (nn_compress.h: the embedding and the
   recurrent layer stay float) and reports both accuracies and speeds. */
#define NN_IMPLEMENTATION
#include "common.h"
#ifdef NN_MPI
#include "mpi.h"
#endif

typedef struct imdb_args {
  int maxlen, vocab, embed, hidden, bidirectional, keep_end, test_limit;
} imdb_args;

/* The flags of this example that common.h does not know are taken out of
   argv (ex_take_flag) before ex_parse sees the rest. */
static void imdb_parse(ex_args *a, imdb_args *o, int *argc, char **argv) {
  int i;
  for (i = 1; i < *argc; i++) {
    const char *v;
    if (ex_take_flag(a, argc, argv, &i, "--maxlen", &v)) o->maxlen = (int)ex_parse_long(a, "--maxlen", v, 1, 100000);
    else if (ex_take_flag(a, argc, argv, &i, "--vocab", &v)) o->vocab = (int)ex_parse_long(a, "--vocab", v, 3, 10000000);
    else if (ex_take_flag(a, argc, argv, &i, "--embed", &v)) o->embed = (int)ex_parse_long(a, "--embed", v, 1, 4096);
    else if (ex_take_flag(a, argc, argv, &i, "--hidden", &v)) o->hidden = (int)ex_parse_long(a, "--hidden", v, 1, 4096);
    else if (ex_take_flag(a, argc, argv, &i, "--bidirectional", &v)) o->bidirectional = (int)ex_parse_long(a, "--bidirectional", v, 0, 1);
    else if (ex_take_flag(a, argc, argv, &i, "--test-limit", &v)) o->test_limit = (int)ex_parse_long(a, "--test-limit", v, 2, 2000000000);
    else if (ex_take_flag(a, argc, argv, &i, "--keep", &v)) {
      if (strcmp(v, "start") && strcmp(v, "end")) ex_bad_usage(a, "--keep expects start or end, not '%s'", v);
      o->keep_end = !strcmp(v, "end");
    } else if (!strcmp(argv[i], "--")) break;
  }
}

/* the reviews of one split, encoded */
typedef struct encoded {
  int n, maxlen;
  float *ids;     /* n * maxlen */
  float *len;     /* valid tokens of each */
  int *ilen;
  float *y;
  long tokens;    /* sum of len */
} encoded;

static nn_text_set *load(const ex_args *a, const char *split) {
  nn_text_set *s = nn_text_set_read_aclimdb(a->data, split);
  if (!s) {
    fprintf(stderr, "%s: %s\n(the unpacked aclImdb/ comes from: tools/fetch_data.sh imdb)\n", a->prog, nn_last_error());
    exit(1);
  }
  return s;
}
/* the reviews i of s with mask[i] == pick (all of them for a NULL mask) */
static encoded encode(const ex_args *a, const nn_vocab *v, const nn_text_set *s, const imdb_args *o,
                      const unsigned char *mask, int pick) {
  encoded e;
  int i, n = 0;
  for (i = 0; i < s->n; i++) n += !mask || mask[i] == pick;
  e.n = n;
  e.maxlen = o->maxlen;
  e.tokens = 0;
  e.ids = (float *)malloc(((size_t)n * o->maxlen + 1) * sizeof(float));
  e.len = (float *)malloc(((size_t)n + 1) * sizeof(float));
  e.ilen = (int *)malloc(((size_t)n + 1) * sizeof(int));
  e.y = (float *)malloc(((size_t)n + 1) * sizeof(float));
  if (!e.ids || !e.len || !e.ilen || !e.y) { fprintf(stderr, "%s: out of memory\n", a->prog); exit(1); }
  for (i = n = 0; i < s->n; i++) {
    if (mask && mask[i] != pick) continue;
    e.ilen[n] = nn_text_encode(v, s->text + s->offset[i], o->maxlen, o->keep_end, e.ids + (size_t)n * o->maxlen);
    e.len[n] = (float)e.ilen[n];
    e.y[n] = s->y[i];
    e.tokens += e.ilen[n++];
  }
  return e;
}
static void encoded_free(encoded *e) {
  free(e->ids); free(e->len); free(e->ilen); free(e->y);
}
static void gather(const encoded *e, const int *idx, int n, float *ids, float *len, float *y) {
  int i;
  for (i = 0; i < n; i++) {
    memcpy(ids + (size_t)i * e->maxlen, e->ids + (size_t)idx[i] * e->maxlen, (size_t)e->maxlen * sizeof(float));
    len[i] = e->len[idx[i]];
    y[i] = e->y[idx[i]];
  }
}

static nn_node *build(nn_graph *g, const ex_args *a, const imdb_args *o, int vocab) {
  int one = 1;
  nn_node *ids = nn_input(g, "ids", 1, &o->maxlen), *len = nn_input(g, "len", 1, &one);
  nn_node *y = nn_input(g, "label", 1, &one), *h, *pool[2], *logits;
  int flags = o->bidirectional ? NN_BIDIRECTIONAL : 0;
  h = nn_embedding(g, ids, vocab, o->embed);
  /* small initial embeddings: Adam's first steps then move them far, and
     the net learns within the first epoch (N(0, 1) trains much slower) */
  nn_set_init(nn_node_input(h, 1), NN_INIT_NORMAL, 0.1f);
  h = nn_dropout(g, h, 0.4f);
  if (!strcmp(a->model, "lstm")) h = nn_lstm(g, h, len, o->hidden, 1, flags);
  else if (!strcmp(a->model, "rnn")) h = nn_rnn(g, h, len, o->hidden, 1, flags);
  else h = nn_gru(g, h, len, o->hidden, 1, flags);
  pool[0] = nn_seq_maxpool(g, h, len);
  pool[1] = nn_seq_meanpool(g, h, len);
  nn_layer_name(g, "logits");
  logits = nn_dense(g, nn_dropout(g, nn_concat(g, 2, pool), 0.4f), 2);
  nn_cross_entropy(g, logits, y, 0.0f, NN_MEAN);
  return logits;
}

/* --int8: the test set through model m (batch 256, a CPU copy) or its
   int8 plan q, longest reviews first; the accuracy, the seconds taken */
static double int8_pass(const ex_args *a, nn_model *m, nn_int8_plan *q, const nn_node *logits, const encoded *e, int *order,
                        float *ids, float *len, float *y, float *out, double *seconds) {
  int start, correct = 0;
  double t0 = ex_now();
  if (!nn_bucket_order(NULL, e->ilen, e->n, 256, 1, order)) ex_die(a, "--int8 evaluation");
  for (start = 0; start < e->n; start += 256) {
    int n = e->n - start < 256 ? e->n - start : 256;
    gather(e, order + start, n, ids, len, y);
    if (!nn_set_batch(m, n) || !nn_feed(m, "ids", ids) || !nn_feed(m, "len", len) ||
        !(q ? nn_int8_predict(q) : nn_predict(m, logits)) || !nn_read(m, logits, out))
      ex_die(a, "--int8 evaluation");
    nn_cross_entropy_sum(out, y, n, 2, &correct);
  }
  *seconds = ex_now() - t0;
  return (double)correct / e->n;
}
/* --int8 for `trained` (the weights evaluated): calibrated on the first
   512 training reviews with their lengths, tested on the test set */
static void int8_report(const ex_args *a, nn_graph *g, nn_model *trained, const encoded *train, const encoded *test,
                        int *order, char *result, size_t len) {
  nn_model *m;
  nn_int8_plan *q;
  const nn_node *inputs[2], *logits;
  const float *samples[2];
  float *ids, *lens, *y, *out;
  int n_calib = train->n < 512 ? train->n : 512;
  double acc_f, acc_q, sec_f, sec_q;
  result[0] = 0;
  if (!a->int8) return;
  m = ex_int8_copy(a, g, trained, 256);
  logits = nn_model_find(m, "logits");
  inputs[0] = nn_model_find(m, "ids");
  inputs[1] = nn_model_find(m, "len");
  samples[0] = train->ids;
  samples[1] = train->len;
  if (!(q = nn_int8_quantize_inputs(m, logits, 2, inputs, samples, n_calib))) ex_die(a, "--int8");
  ids = (float *)malloc((size_t)256 * test->maxlen * sizeof *ids);
  lens = (float *)malloc(256 * sizeof *lens);
  y = (float *)malloc(256 * sizeof *y);
  out = (float *)malloc(256 * 2 * sizeof *out);
  if (!ids || !lens || !y || !out) ex_die(a, "out of memory");
  int8_pass(a, m, NULL, logits, test, order, ids, lens, y, out, &sec_f);   /* warm-up */
  acc_f = int8_pass(a, m, NULL, logits, test, order, ids, lens, y, out, &sec_f);
  acc_q = int8_pass(a, m, q, logits, test, order, ids, lens, y, out, &sec_q);
  ex_int8_print(q, n_calib, "reviews", acc_f, acc_q, test->n, sec_f, sec_q, result, len);
  free(ids); free(lens); free(y); free(out);
  nn_int8_free(q);
  nn_model_free(m);
}

/* in eval mode, longest reviews first; fills cm and the scores (by sample) */
static double evaluate(const ex_args *a, nn_model *m, const nn_node *logits, const encoded *e, int batch, int *order,
                       float *ids, float *len, float *y, float *out, int *cm, float *scores, double *loss) {
  int start, correct = 0, i;
  *loss = 0;
  memset(cm, 0, 4 * sizeof *cm);
  if (!nn_bucket_order(NULL, e->ilen, e->n, batch, 1, order)) ex_die(a, "evaluation");
  for (start = 0; start < e->n; start += batch) {
    int n = e->n - start < batch ? e->n - start : batch;
    gather(e, order + start, n, ids, len, y);
    if (!nn_set_batch(m, n) || !nn_feed(m, "ids", ids) || !nn_feed(m, "len", len) || !nn_predict(m, logits) ||
        !nn_read(m, logits, out))
      ex_die(a, "evaluation");
    *loss += nn_cross_entropy_sum(out, y, n, 2, &correct);
    nn_confusion_add(cm, 2, out, y, n);
    for (i = 0; i < n; i++) scores[order[start + i]] = out[2 * i + 1] - out[2 * i];   /* for the ROC curve */
  }
  *loss /= e->n;
  return (double)correct / e->n;
}

int main(int argc, char **argv) {
  static const char *const class_names[2] = {"negative", "positive"};
  ex_args a;
  imdb_args o;
  nn_text_set *train_text, *test_text;
  nn_vocab *vocab;
  encoded train, test, val;
  nn_graph *g;
  nn_model *m;
  nn_optimizer *opt;
  nn_ema *ema;
  nn_node *logits;
  nn_checkpoint_info info;   /* epoch and step counters, the generator for batch orders */
  ex_best best;              /* --val: the epoch kept */
  unsigned char *val_mask = NULL;
  nn_prune *pruner = NULL;
  char int8_result[512];
  FILE *log;
  float *ids, *len, *y, *out, *scores;
  int *order, cm[4] = {0, 0, 0, 0}, vcm[4], steps, e, i, done, last, most, batch;
  long total_steps, tokens_seen = 0;
  double train_seconds = 0, t_start = ex_now(), test_acc = 0, test_loss = 0, auc;

  memset(&a, 0, sizeof a);
  a.prog = "imdb";
  a.about = "classify IMDb movie reviews as positive or negative with a recurrent net";
  a.notes = "  --maxlen N        tokens kept of each review (default: 400)\n"
            "  --keep end|start  which end of a longer review is kept (default: end)\n"
            "  --vocab N         vocabulary size, <pad> and <unk> included (default: 30000)\n"
            "  --embed N         embedding size (default: 128)\n"
            "  --hidden N        recurrent units per direction (default: 128)\n"
            "  --bidirectional B 1: both directions, 0: forward only (default: 1)\n"
            "  --test-limit N    evaluate on the first N test reviews only (balanced)";
  a.extra = EX_MODEL | EX_BATCH | EX_LR | EX_VAL | EX_INT8 | EX_PRUNE;
  a.models = "gru|lstm|rnn";
  a.model = "gru";
  a.data = "data/aclImdb";
  a.device = "cpu";
  a.batch = 64;
  a.epochs = 2;
  a.lr = 3e-3f;
  a.seed = 1;
  o.maxlen = 400;
  o.keep_end = 1;
  o.vocab = 30000;
  o.embed = 128;
  o.hidden = 128;
  o.bidirectional = 1;
  o.test_limit = 0;
  imdb_parse(&a, &o, &argc, argv);
  ex_parse(&a, argc, argv);
  if (a.batch > 1024) ex_bad_usage(&a, "--batch is at most %s here", "1024");
  batch = a.batch;   /* the model's: this rank's share under MPI */
#ifdef NN_MPI
  ex_mpi_start(&a);
  batch = ex_mpi_batch(&a, a.batch);
#endif

  train_text = load(&a, "train");
  test_text = load(&a, "test");
  if (a.limit) nn_text_set_truncate(train_text, a.limit);
  if (o.test_limit) nn_text_set_truncate(test_text, o.test_limit);
  if (a.val) val_mask = ex_val_mask(&a, train_text->n);
  if (!(vocab = nn_vocab_new())) ex_die(&a, "vocabulary");
  for (i = 0; i < train_text->n; i++)   /* the training reviews' words only */
    if ((!val_mask || !val_mask[i]) && !nn_vocab_add(vocab, train_text->text + train_text->offset[i])) ex_die(&a, "vocabulary");
  if (!nn_vocab_finish(vocab, o.vocab, 1)) ex_die(&a, "vocabulary");
  train = encode(&a, vocab, train_text, &o, val_mask, 0);
  val = encode(&a, vocab, train_text, &o, val_mask, 1);
  test = encode(&a, vocab, test_text, &o, NULL, 0);

  g = nn_graph_new();
  if (!g) ex_die(&a, "graph");
  nn_graph_set_seed(g, a.seed);
  logits = build(g, &a, &o, nn_vocab_size(vocab));
  if (!(m = nn_compile(g, batch, ex_backend(&a)))) ex_die(&a, "cannot build the model");
  nn_model_set_seed(m, a.seed + 1);
#ifdef NN_MPI
  ex_mpi_attach(&a, m);
#endif
  if (!(opt = nn_adam(m, a.lr, 0.9f, 0.999f, 1e-8f, 0.0f, 0))) ex_die(&a, "optimizer");
  nn_optimizer_set_clip(opt, 1.0f);
  if (!(ema = nn_ema_new(m, 0.998f))) ex_die(&a, "weight average");
  memset(&info, 0, sizeof info);
  nn_rng_seed(&info.data_rng, a.seed + 2);
  ex_best_init(&a, &best, m);
  done = last = ex_resume(&a, a.epochs, m, opt, ema, &info);
  ex_best_check(&a, &best);
  /* after --resume: the masks are the checkpoint's zeros */
  if (a.prune > 0) pruner = ex_prune_new(&a, m);
  log = ex_log_open(&a);

  printf("imdb: model %s%s, %d training / %s%d test reviews (%.0f / %.0f tokens each on average after "
         "cutting to %d), vocabulary %d, batch %d, %d epochs, lr %g, %d thread(s)\n",
         o.bidirectional ? "bidirectional " : "", a.model, train.n, ex_val_note(&a), test.n, (double)train.tokens / train.n,
         (double)test.tokens / test.n, o.maxlen, nn_vocab_size(vocab), a.batch, a.epochs, a.lr, nn_set_threads(0));
  if (!a.quiet) nn_summary(m, stdout);
  fflush(stdout);

  ids = (float *)malloc((size_t)a.batch * o.maxlen * sizeof *ids);
  len = (float *)malloc((size_t)a.batch * sizeof *len);
  y = (float *)malloc((size_t)a.batch * sizeof *y);
  out = (float *)malloc((size_t)a.batch * 2 * sizeof *out);
  most = train.n > test.n ? train.n : test.n;
  if (val.n > most) most = val.n;
  order = (int *)malloc((size_t)most * sizeof *order);
  scores = (float *)calloc((size_t)most, sizeof *scores);
  if (!ids || !len || !y || !out || !order || !scores) { fprintf(stderr, "%s: out of memory\n", a.prog); return 1; }
  steps = (train.n + a.batch - 1) / a.batch;
  total_steps = (long)steps * a.epochs;

  for (e = done + 1; e <= a.epochs && !ex_best_stop(&a, &best, e - 1); e++) {
    double t0 = ex_now(), seconds, loss_sum = 0, val_acc = -1, val_loss = 0;
    int s, correct = 0;
    ex_progress p;
    if (!nn_bucket_order(&info.data_rng, train.ilen, train.n, a.batch, 50, order)) ex_die(&a, "batches");
    ex_progress_start(&p, e, a.epochs, steps, a.quiet);
    for (s = 0; s < steps; s++) {
      int n = train.n - s * a.batch < a.batch ? train.n - s * a.batch : a.batch, k, first = 0, count = n;
      float loss;
      gather(&train, order + (size_t)s * a.batch, n, ids, len, y);
      for (k = 0; k < n; k++) tokens_seen += (long)len[k];
      nn_optimizer_set_lr(opt, a.lr * (1.0f - (float)info.step++ / (float)total_steps));
#ifdef NN_MPI
      if ((first = ex_mpi_shard(&a, m, n, &count)) < 0) continue;
      if (!nn_feed(m, "ids", ids + (size_t)first * o.maxlen) || !nn_feed(m, "len", len + first) ||
          !nn_feed(m, "label", y + first))
        ex_die(&a, "feeding a batch");
      loss = nn_mpi_train_step(ex_dp, opt);
#else
      if (!nn_set_batch(m, n) || !nn_feed(m, "ids", ids) || !nn_feed(m, "len", len) || !nn_feed(m, "label", y))
        ex_die(&a, "feeding a batch");
      loss = nn_train_step(m, opt);
#endif
      if (loss != loss) ex_die(&a, "training");
      ex_prune_step(&a, m, &pruner, info.step, total_steps);
      /* the average starts short: decay (1 + t) / (10 + t) up to 0.998 */
      if (!nn_ema_update_decay(ema, (1.0f + info.step) / (10.0f + info.step) < 0.998f ? (1.0f + info.step) / (10.0f + info.step) : 0.998f))
        ex_die(&a, "weight average");
      if (!nn_read(m, logits, out)) ex_die(&a, "reading logits");
      nn_cross_entropy_sum(out, y + first, count, 2, &correct);   /* accuracy of the training batch (dropout on) */
      loss_sum += (double)loss * n;
      ex_progress_step(&p, s + 1, loss_sum / ((double)s * a.batch + n), (long)s * a.batch + n);
    }
#ifdef NN_MPI
    correct = (int)ex_mpi_sum(&a, correct);
#endif
    ex_progress_end(&p);
    seconds = ex_now() - t0;   /* training only */
    train_seconds += seconds;
    nn_ema_swap(ema);   /* evaluate the averaged weights, pruned as the trained ones */
    if (pruner && !nn_prune_apply(pruner)) ex_die(&a, "--prune");
    test_acc = evaluate(&a, m, logits, &test, batch, order, ids, len, y, out, cm, scores, &test_loss);
    if (a.val) {   /* the averaged weights are the ones kept */
      val_acc = evaluate(&a, m, logits, &val, batch, order, ids, len, y, out, vcm, scores, &val_loss);
      ex_best_update(&a, &best, m, e, (long)(val_acc * val.n + 0.5));
    }
    nn_ema_swap(ema);
    ex_epoch_report_val(log, e, a.epochs, loss_sum / train.n, (double)correct / train.n, test_loss, test_acc, seconds,
                        val_loss, val_acc);
    info.epoch = last = e;
    ex_checkpoint(&a, m, opt, ema, &info);
  }
  nn_ema_swap(ema);   /* the averaged weights (or the kept epoch's): evaluated when nothing was left to train, and saved */
  ex_best_restore(&a, &best);
  if (last == done || a.val) test_acc = evaluate(&a, m, logits, &test, batch, order, ids, len, y, out, cm, scores, &test_loss);
  ex_save(&a, m, logits);
  int8_report(&a, g, m, &train, &test, order, int8_result, sizeof int8_result);
  nn_ema_swap(ema);
  ex_prune_report(pruner, int8_result, sizeof int8_result);

  nn_classification_report(cm, 2, class_names, stdout);
  auc = nn_roc_auc(scores, test.y, test.n);
  printf("ROC AUC %.4f\n", auc);
  printf("RESULT test_accuracy=%.4f train_seconds=%.1f tokens_per_second=%.0f epochs=%d model=%s roc_auc=%.4f "
         "total_seconds=%.1f%s",
         test_acc, train_seconds, train_seconds > 0 ? tokens_seen / train_seconds : 0.0, a.epochs, a.model, auc,
         ex_now() - t_start, int8_result);
  ex_best_result(&a, &best, last);
  printf("\n");
  if (log) fclose(log);
  free(ids); free(len); free(y); free(out); free(order); free(scores);
  encoded_free(&train);
  encoded_free(&val);
  encoded_free(&test);
  free(val_mask);
  ex_best_free(&best);
  nn_ema_free(ema);
  nn_optimizer_free(opt);
  nn_model_free(m);
  nn_vocab_free(vocab);
  nn_text_set_free(train_text);
  nn_text_set_free(test_text);
#ifdef NN_MPI
  ex_mpi_finish();
#endif
  return 0;
}
