/* nn_compress.h — int8 inference and pruning for models trained with nn.h.

   Post-training quantisation of a compiled CPU model: its dense and conv2d
   layers run as int8 x int8 -> int32 products, every other op runs as the
   model's own float op on the model's buffers, in graph order, so any
   inference graph works.

   USAGE
     In the one file that defines NN_IMPLEMENTATION, after nn.h:
         #define NN_IMPLEMENTATION
         #include "nn.h"
         #define NN_COMPRESS_IMPLEMENTATION
         #include "nn_compress.h"
     Elsewhere include nn.h and then nn_compress.h for the declarations.

         nn_int8_plan *q = nn_int8_quantize(m, logits, image, train_x, 512);
         nn_set_batch(m, n); nn_feed(m, "image", x);
         nn_int8_predict(q);            (instead of nn_predict(m, logits))
         nn_read(m, logits, out);
         nn_int8_save(q, "model.int8.safetensors");
         nn_int8_free(q);

   THE NUMBERS
     Weights: symmetric int8 per output channel, w ~ w_scale[o] * q with
     q in -127..127.  Inputs of a quantised layer: unsigned 8 bits with a
     zero point per tensor, x ~ in_scale * (q - zero_point), q in 0..255,
     the range calibrated as the minimum and maximum (0 included) the float
     model sees on the calibration samples.  u8 x s8 is the product
     AVX-512 VNNI's vpdpbusd takes.  A layer's output is float:
       y[o] = (acc[o] - zero_point * sum_k q_w[o][k]) * in_scale * w_scale[o] + bias[o]
     with acc the exact int32 sum, max(y, 0) fused where a ReLU follows.
     A batch norm that is a conv's (or 1-d dense's) only consumer is
     folded into its weights and bias before quantisation (eval mode: its
     running statistics), so it costs nothing; a ReLU and a max pool that
     follow a conv alone are computed from its tiles (the unpooled output
     is never stored), and so are a batch norm after that pool (its
     per-channel affine on the pooled tile) and a GELU after the conv or
     that batch norm.  A conv whose whole output is the next conv's input
     hands it over already quantised with the next conv's scale and zero
     point, in the padded channels-last layout that conv reads: no float
     tensor between them (nn_int8_keep_outputs turns this off).

   THE KERNELS (chosen at compile time by the compiler's macros)
     __AVX512VNNI__  vpdpbusd, 6 rows x 64 outputs a step (then 32, 16)
     __AVX2__        activations widened to 16 bits, vpmaddwd (exact; the
                     8-bit vpmaddubsw would saturate on u8 x s8 pairs)
     otherwise       portable C
     All three compute the same int32 sums.  Conv2d runs without im2col:
     the input is quantised into a zero-point-padded channels-last copy,
     and each output position reads its kh*kw taps in place; with a
     handed-over input, a tile's rows may come from consecutive samples.
     OpenMP threads (-fopenmp) split conv2d over the batch and dense over
     rows.

   PRUNING
     nn_prune_*: gradual magnitude pruning during training (declared
     below), masks applied after every optimizer step and recovered from
     the weights' exact zeros on resume.

   FILES
     nn_int8_save writes a safetensors file: per quantised layer, named
     after its weight W ("conv1.weight"):
       W                   I8  the weight's shape (batch norm folded in)
       W_scale             F32 [out]
       W_bias              F32 [out] (batch norm folded in; zeros if none)
       W_input_scale       F32 []
       W_input_zero_point  U8  []
     and, as F32, every parameter the float ops use (by node name), with
     __metadata__ {"nn.format": "int8", "nn.int8.output": <node name>}.
     nn_int8_load refuses a file without that marker (a float model's
     weights: nn_safetensors_load) and checks every name, dtype and shape
     before it changes anything.  nn_safetensors_load refuses an int8 file
     (its weights are I8, not F32).

   ERRORS
     Like nn.h: NULL or 0, and nn_last_error() says why.  A plan holds a
     reference to its model: nn_model_free before nn_int8_free is safe.

   LICENSE: MIT, as nn.h. */
#ifndef NN_COMPRESS_H
#define NN_COMPRESS_H

#ifndef NN_H
#error "include nn.h before nn_compress.h"
#endif

#ifdef __cplusplus
extern "C" {
#endif

typedef struct nn_int8_plan nn_int8_plan;

/* An int8 plan for computing `output` of CPU model m, calibrated on
   `count` samples of the input node `input` (back to back, each of that
   input's per-sample size), run in batches of up to m's compiled batch.
   The float model is unchanged (its batch size is restored). */
NNDEF nn_int8_plan *nn_int8_quantize(nn_model *m, const nn_node *output, const nn_node *input, const float *samples,
                                     int count);
/* the same for a model with several inputs (token ids and lengths):
   inputs[k] takes samples[k], `count` samples each, fed together */
NNDEF nn_int8_plan *nn_int8_quantize_inputs(nn_model *m, const nn_node *output, int n_inputs, const nn_node *const *inputs,
                                            const float *const *samples, int count);
/* computes the plan's output for the model's current batch (nn_set_batch)
   and fed inputs, like nn_predict(m, output); read it with nn_read.  The
   nodes a layer absorbs (a folded batch norm's input, a fused ReLU's,
   max pool's, batch norm's or GELU's) and the outputs handed over to the
   next conv (nn_int8_keep_outputs) keep whatever their buffers held. */
NNDEF int nn_int8_predict(nn_int8_plan *p);
/* keep = 1: every quantised layer writes its output node's float buffer
   (to inspect them); 0, the default: a conv whose output only feeds the
   next conv hands it over as that conv's 8-bit input (the same values,
   no float round trip) and leaves its own output buffer unwritten.
   The plan's output is the same bits either way. */
NNDEF int nn_int8_keep_outputs(nn_int8_plan *p, int keep);
NNDEF void nn_int8_free(nn_int8_plan *p);
NNDEF int nn_int8_save(const nn_int8_plan *p, const char *path);
/* a saved plan for a model compiled from the same graph (any batch size);
   also writes the file's float parameters into m */
NNDEF nn_int8_plan *nn_int8_load(nn_model *m, const nn_node *output, const char *path);
NNDEF nn_int8_plan *nn_int8_load_buffer(nn_model *m, const nn_node *output, const void *data, size_t len);

/* One quantised layer, as the kernels see it. */
typedef struct nn_int8_layer_info {
  const nn_node *node;      /* the dense or conv2d */
  const nn_node *out;       /* whose buffer gets the result: node, its batch norm, max pool or ReLU */
  const nn_node *pool;      /* a conv's max pool, fused (out or the ReLU after it), or NULL */
  int relu;                 /* 1: max(y, 0) fused (before the pool: the same after it) */
  const nn_node *post_norm; /* a batch norm after the pool, fused as y * post_scale + post_shift, or NULL */
  const float *post_scale, *post_shift;   /* [outputs], or NULL */
  int gelu;                 /* 1: a GELU fused last (after the pool and post_norm) */
  int hands_on;             /* 1: its output goes to the next layer as 8-bit input (see nn_int8_keep_outputs) */
  int outputs, inputs;      /* out channels (units); K per output (C*kh*kw or features) */
  const signed char *weight;/* [outputs][inputs], nn.h's layout */
  const float *weight_scale, *bias;   /* [outputs] */
  float input_scale;
  int input_zero_point;
} nn_int8_layer_info;
NNDEF int nn_int8_num_layers(const nn_int8_plan *p);
NNDEF int nn_int8_layer(const nn_int8_plan *p, int i, nn_int8_layer_info *info);

/* "avx512-vnni", "avx2" or "portable": the kernel this build uses */
NNDEF const char *nn_int8_kernel(void);
/* c[M][N] = a[M][K] (0..255) times w[N][K] (-128..127) transposed, exact
   int32, by this build's kernel; K at most 66000 (no int32 overflow) */
NNDEF int nn_int8_gemm(int M, int N, int K, const unsigned char *a, const signed char *w, int32_t *c);

/* Gradual magnitude pruning (Zhu and Gupta, 2017): masks that only grow
   over the weights of m's trainable dense and conv2d layers and the
   input and hidden weight matrices of its recurrent layers (rnn, lstm,
   gru; not the biases, not embeddings), the smallest |w| first.
   A mask is recovered from a model's exact zeros, so a run resumed from a
   checkpoint (nn_checkpoint_load, then nn_prune_new) has the masks it had.
       nn_prune *pr = nn_prune_new(m);
       nn_prune_set_global(pr, 1);         (optional: one threshold, below)
       every step:  loss = nn_train_step(m, opt);
                    nn_prune_apply(pr);     (pruned weights back to zero)
       every k steps: nn_prune_to(pr, nn_prune_schedule(0.8f, step, begin, end));
   nn_prune_apply after every optimizer step keeps pruned weights at zero
   whatever the optimizer's state (momentum, Adam's moments) says. */
typedef struct nn_prune nn_prune;
NNDEF nn_prune *nn_prune_new(nn_model *m);   /* masks: the weights that are not 0 */
NNDEF void nn_prune_free(nn_prune *p);
/* how nn_prune_to spreads the zeros.  0 (the default): per layer, every
   weight pruned to the same fraction.  1: global, the weights of all the
   layers ranked together by |w| and one threshold for all, so the
   fraction is over all of them: a small layer of large weights (a first
   conv) keeps more, a large layer of small ones (a wide dense) gives
   more.  Masks made either way stay; only later cuts follow the mode. */
NNDEF int nn_prune_set_global(nn_prune *p, int global);
/* the cubic schedule: 0 before `begin`, `final` from `end` on, between
   final * (1 - (1 - (step - begin) / (end - begin))^3) */
NNDEF float nn_prune_schedule(float final, long step, long begin, long end);
/* prunes to at least `sparsity` (0..1) of zeros, every layer (per layer)
   or all the masked weights together (global); masks never shrink */
NNDEF int nn_prune_to(nn_prune *p, float sparsity);
NNDEF int nn_prune_apply(nn_prune *p);        /* weights *= masks */
NNDEF double nn_prune_sparsity(const nn_prune *p);   /* zeros in the masks / masked weights */
/* layer i's (0 .. nn_prune_num_layers - 1) zeros / weights, and its
   weight in *weight (if not NULL); -1 for an i out of range */
NNDEF double nn_prune_layer_sparsity(const nn_prune *p, int i, const nn_node **weight);
NNDEF int nn_prune_num_layers(const nn_prune *p);

/* Structured channel pruning: whole output channels of conv2d layers go,
   and a smaller model built with fewer channels (the same layer names)
   takes the weights of the channels kept.
   nn_prune_rank_channels: the `keep` channels of `conv` with the largest
   L1 norm of their weights times |gamma| of the batch norm that follows
   (if one does), in `kept` in increasing order.
   nn_prune_copy_channels: every parameter of dst from the one of src with
   the same name, sliced where layers[i] keeps kept[i][0..nkept[i]): the
   conv's weight rows and bias, the batch norm's parameters and running
   statistics, and the input slices of the next conv or of the dense
   after a flatten (through element-wise ops, pools and dropout between).
   A layer whose output feeds anything else is refused with the reason. */
NNDEF int nn_prune_rank_channels(nn_model *m, const nn_node *conv, int keep, int *kept);
NNDEF int nn_prune_copy_channels(nn_model *src, nn_model *dst, int n_layers, const char *const *layers,
                                 const int *const *kept, const int *nkept);

#ifdef __cplusplus
}
#endif
#endif /* NN_COMPRESS_H */

/* ######################################################################
   IMPLEMENTATION
   ###################################################################### */
#ifdef NN_COMPRESS_IMPLEMENTATION
#ifndef NN__COMPRESS_IMPLEMENTED
#define NN__COMPRESS_IMPLEMENTED

#ifndef NN_IMPLEMENTATION
#error "define NN_COMPRESS_IMPLEMENTATION in the file that defines NN_IMPLEMENTATION, after including nn.h"
#endif

#include <math.h>
#include <stdio.h>
#include <string.h>

#if defined(__AVX512VNNI__) && defined(__AVX512F__)
#include <immintrin.h>
#define NN__Q8_VNNI 1
typedef unsigned char nn__q8_act;
#elif defined(__AVX2__)
#include <immintrin.h>
#define NN__Q8_AVX2 1
typedef int16_t nn__q8_act;   /* 0..255 widened: vpmaddwd takes 16-bit pairs */
#else
typedef unsigned char nn__q8_act;
#endif

#define NN__Q8_MR 6           /* rows (output positions, dense rows) per tile */
#define NN__Q8_MAX_K 66000    /* 255 * 127 * K stays below 2^31 */

typedef struct nn__q8_layer {
  const nn_node *node, *out, *bn;   /* bn: the folded batch norm, or NULL */
  const nn_node *pool;              /* a conv's max pool, computed from its tiles, or NULL */
  const nn_node *post_bn;           /* a batch norm after that pool (eval: a per-channel affine), or NULL */
  int conv, relu, gelu;             /* relu: before the pool; gelu: last */
  nn_conv2d_dims d;                 /* conv2d */
  int K, N;                         /* per output: inputs; outputs */
  int Cp, T, Kp, Np;                /* channels per tap padded to 4, taps, Kp = T*Cp, N padded to 16 */
  float in_scale;
  int in_zp;
  signed char *w;                   /* [N][K], nn.h's layout */
  float *w_scale, *bias, *mult;     /* [N]; mult = in_scale * w_scale */
  float *post_a, *post_b;           /* [N]: post_bn as y * a + b, from the model's parameters */
  int32_t *zpw;                     /* [N]: zero point * the row's weight sum */
  void *packed;                     /* the kernel's layout */
  int *tap;                         /* [T]: offsets of the taps in the padded input */
  int hands_on;                     /* 1: a conv whose output is the next layer's (a conv's) only input */
  int group;                        /* samples whose positions share tiles when the input is handed over */
} nn__q8_layer;

struct nn_int8_plan {
  nn_model *m;
  const nn_node *output;
  nn__q8_layer *layers;
  int n_layers;
  int *step, n_steps;               /* >= 0: a layer; < 0: -1 - the id of a float node */
  int threads;
  size_t per_thread;                /* bytes of scratch per thread */
  unsigned char *scratch;
  nn__q8_act *rows;                 /* dense: the quantised input rows */
  size_t rows_len;
  int keep_outputs;                 /* 1: no hand-over, every layer writes its float output */
  nn__q8_act *hand[2];              /* layer k reads hand[k % 2]: its padded channels-last input, per sample */
  size_t hand_len;                  /* elements of each */
};

NNDEF const char *nn_int8_kernel(void) {
#if defined(NN__Q8_VNNI)
  return "avx512-vnni";
#elif defined(NN__Q8_AVX2)
  return "avx2";
#else
  return "portable";
#endif
}

/* ======================================================================
   Kernels: one tile of MR rows by all Np outputs.  rowp[r] points at row
   r's data for tap 0; tap t adds tap[t]; each tap holds Cp values.
   ====================================================================== */
static size_t nn__q8_packed_bytes(int Kp, int Np) {
#if defined(NN__Q8_AVX2)
  return (size_t)Kp * Np * sizeof(int16_t);
#else
  return (size_t)Kp * Np;
#endif
}
/* wk[n][k] in the kernel's k order (tap-major, channels padded) into the kernel's layout */
static void nn__q8_pack(const signed char *wk, int Kp, int Np, void *dst) {
  int n, k;
#if defined(NN__Q8_VNNI)
  signed char *p = (signed char *)dst;   /* [Np/16][Kp/4][16][4] */
  for (n = 0; n < Np; n++)
    for (k = 0; k < Kp; k++) p[(((size_t)(n / 16) * (Kp / 4) + k / 4) * 16 + n % 16) * 4 + k % 4] = wk[(size_t)n * Kp + k];
#elif defined(NN__Q8_AVX2)
  int16_t *p = (int16_t *)dst;           /* [Np/8][Kp/2][8][2] */
  for (n = 0; n < Np; n++)
    for (k = 0; k < Kp; k++) p[(((size_t)(n / 8) * (Kp / 2) + k / 2) * 8 + n % 8) * 2 + k % 2] = wk[(size_t)n * Kp + k];
#else
  memcpy(dst, wk, (size_t)Kp * Np);      /* [Np][Kp] */
  (void)n;
  (void)k;
#endif
}

#if defined(NN__Q8_VNNI)
static int32_t nn__q8_load4(const unsigned char *p) {
  int32_t v;
  memcpy(&v, p, 4);
  return v;
}
#define NN__Q8_ROW1(r) do { __m512i x = _mm512_set1_epi32(nn__q8_load4(a##r + g)); c##r##0 = _mm512_dpbusd_epi32(c##r##0, x, w0); } while (0)
#define NN__Q8_ROW2(r) do { __m512i x = _mm512_set1_epi32(nn__q8_load4(a##r + g)); \
    c##r##0 = _mm512_dpbusd_epi32(c##r##0, x, w0); c##r##1 = _mm512_dpbusd_epi32(c##r##1, x, w1); } while (0)
#define NN__Q8_ROW4(r) do { __m512i x = _mm512_set1_epi32(nn__q8_load4(a##r + g)); \
    c##r##0 = _mm512_dpbusd_epi32(c##r##0, x, w0); c##r##1 = _mm512_dpbusd_epi32(c##r##1, x, w1); \
    c##r##2 = _mm512_dpbusd_epi32(c##r##2, x, w2); c##r##3 = _mm512_dpbusd_epi32(c##r##3, x, w3); } while (0)
#define NN__Q8_ST4(r) do { _mm512_storeu_si512((void *)(c + r * Np + j), c##r##0); _mm512_storeu_si512((void *)(c + r * Np + j + 16), c##r##1); \
    _mm512_storeu_si512((void *)(c + r * Np + j + 32), c##r##2); _mm512_storeu_si512((void *)(c + r * Np + j + 48), c##r##3); } while (0)
static NN__NOINLINE void nn__q8_tile(const nn__q8_act *const *rowp, const int *tap, int T, int Cp, const void *packed, int Np,
                        int32_t *c) {
  const signed char *B = (const signed char *)packed;
  size_t blk = (size_t)T * Cp * 16;     /* bytes of one 16-output block */
  int j, t, g;
  /* 64 outputs a step: each broadcast row value feeds 4 products */
  for (j = 0; j + 64 <= Np; j += 64) {
    const signed char *b0 = B + (size_t)(j / 16) * blk;
    __m512i c00 = _mm512_setzero_si512(), c01 = c00, c02 = c00, c03 = c00, c10 = c00, c11 = c00, c12 = c00, c13 = c00;
    __m512i c20 = c00, c21 = c00, c22 = c00, c23 = c00, c30 = c00, c31 = c00, c32 = c00, c33 = c00;
    __m512i c40 = c00, c41 = c00, c42 = c00, c43 = c00, c50 = c00, c51 = c00, c52 = c00, c53 = c00;
    for (t = 0; t < T; t++) {
      const unsigned char *a0 = rowp[0] + tap[t], *a1 = rowp[1] + tap[t], *a2 = rowp[2] + tap[t];
      const unsigned char *a3 = rowp[3] + tap[t], *a4 = rowp[4] + tap[t], *a5 = rowp[5] + tap[t];
      for (g = 0; g < Cp; g += 4, b0 += 64) {
        __m512i w0 = _mm512_loadu_si512((const void *)b0), w1 = _mm512_loadu_si512((const void *)(b0 + blk));
        __m512i w2 = _mm512_loadu_si512((const void *)(b0 + 2 * blk)), w3 = _mm512_loadu_si512((const void *)(b0 + 3 * blk));
        NN__Q8_ROW4(0); NN__Q8_ROW4(1); NN__Q8_ROW4(2); NN__Q8_ROW4(3); NN__Q8_ROW4(4); NN__Q8_ROW4(5);
      }
    }
    NN__Q8_ST4(0); NN__Q8_ST4(1); NN__Q8_ST4(2); NN__Q8_ST4(3); NN__Q8_ST4(4); NN__Q8_ST4(5);
  }
  for (; j + 32 <= Np; j += 32) {
    const signed char *b0 = B + (size_t)(j / 16) * blk, *b1 = b0 + blk;
    __m512i c00 = _mm512_setzero_si512(), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00;
    __m512i c30 = c00, c31 = c00, c40 = c00, c41 = c00, c50 = c00, c51 = c00;
    for (t = 0; t < T; t++) {
      const unsigned char *a0 = rowp[0] + tap[t], *a1 = rowp[1] + tap[t], *a2 = rowp[2] + tap[t];
      const unsigned char *a3 = rowp[3] + tap[t], *a4 = rowp[4] + tap[t], *a5 = rowp[5] + tap[t];
      for (g = 0; g < Cp; g += 4, b0 += 64, b1 += 64) {
        __m512i w0 = _mm512_loadu_si512((const void *)b0), w1 = _mm512_loadu_si512((const void *)b1);
        NN__Q8_ROW2(0); NN__Q8_ROW2(1); NN__Q8_ROW2(2); NN__Q8_ROW2(3); NN__Q8_ROW2(4); NN__Q8_ROW2(5);
      }
    }
    _mm512_storeu_si512((void *)(c + 0 * Np + j), c00); _mm512_storeu_si512((void *)(c + 0 * Np + j + 16), c01);
    _mm512_storeu_si512((void *)(c + 1 * Np + j), c10); _mm512_storeu_si512((void *)(c + 1 * Np + j + 16), c11);
    _mm512_storeu_si512((void *)(c + 2 * Np + j), c20); _mm512_storeu_si512((void *)(c + 2 * Np + j + 16), c21);
    _mm512_storeu_si512((void *)(c + 3 * Np + j), c30); _mm512_storeu_si512((void *)(c + 3 * Np + j + 16), c31);
    _mm512_storeu_si512((void *)(c + 4 * Np + j), c40); _mm512_storeu_si512((void *)(c + 4 * Np + j + 16), c41);
    _mm512_storeu_si512((void *)(c + 5 * Np + j), c50); _mm512_storeu_si512((void *)(c + 5 * Np + j + 16), c51);
  }
  if (j < Np) {   /* the last 16 */
    const signed char *b0 = B + (size_t)(j / 16) * blk;
    __m512i c00 = _mm512_setzero_si512(), c10 = c00, c20 = c00, c30 = c00, c40 = c00, c50 = c00;
    for (t = 0; t < T; t++) {
      const unsigned char *a0 = rowp[0] + tap[t], *a1 = rowp[1] + tap[t], *a2 = rowp[2] + tap[t];
      const unsigned char *a3 = rowp[3] + tap[t], *a4 = rowp[4] + tap[t], *a5 = rowp[5] + tap[t];
      for (g = 0; g < Cp; g += 4, b0 += 64) {
        __m512i w0 = _mm512_loadu_si512((const void *)b0);
        NN__Q8_ROW1(0); NN__Q8_ROW1(1); NN__Q8_ROW1(2); NN__Q8_ROW1(3); NN__Q8_ROW1(4); NN__Q8_ROW1(5);
      }
    }
    _mm512_storeu_si512((void *)(c + 0 * Np + j), c00); _mm512_storeu_si512((void *)(c + 1 * Np + j), c10);
    _mm512_storeu_si512((void *)(c + 2 * Np + j), c20); _mm512_storeu_si512((void *)(c + 3 * Np + j), c30);
    _mm512_storeu_si512((void *)(c + 4 * Np + j), c40); _mm512_storeu_si512((void *)(c + 5 * Np + j), c50);
  }
}
#elif defined(NN__Q8_AVX2)
static int32_t nn__q8_load2(const int16_t *p) {
  int32_t v;
  memcpy(&v, p, 4);
  return v;
}
#define NN__Q8_ROW2(r) do { __m256i x = _mm256_set1_epi32(nn__q8_load2(a##r + h)); \
    c##r##0 = _mm256_add_epi32(c##r##0, _mm256_madd_epi16(x, w0)); c##r##1 = _mm256_add_epi32(c##r##1, _mm256_madd_epi16(x, w1)); } while (0)
static NN__NOINLINE void nn__q8_tile(const nn__q8_act *const *rowp, const int *tap, int T, int Cp, const void *packed, int Np,
                        int32_t *c) {
  const int16_t *B = (const int16_t *)packed;
  size_t blk = (size_t)T * Cp * 8;      /* int16s of one 8-output block */
  int j, t, h;
  for (j = 0; j < Np; j += 16) {
    const int16_t *b0 = B + (size_t)(j / 8) * blk, *b1 = b0 + blk;
    __m256i c00 = _mm256_setzero_si256(), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00;
    __m256i c30 = c00, c31 = c00, c40 = c00, c41 = c00, c50 = c00, c51 = c00;
    for (t = 0; t < T; t++) {
      const int16_t *a0 = rowp[0] + tap[t], *a1 = rowp[1] + tap[t], *a2 = rowp[2] + tap[t];
      const int16_t *a3 = rowp[3] + tap[t], *a4 = rowp[4] + tap[t], *a5 = rowp[5] + tap[t];
      for (h = 0; h < Cp; h += 2, b0 += 16, b1 += 16) {
        __m256i w0 = _mm256_loadu_si256((const __m256i *)(const void *)b0), w1 = _mm256_loadu_si256((const __m256i *)(const void *)b1);
        NN__Q8_ROW2(0); NN__Q8_ROW2(1); NN__Q8_ROW2(2); NN__Q8_ROW2(3); NN__Q8_ROW2(4); NN__Q8_ROW2(5);
      }
    }
#define NN__Q8_ST(r) _mm256_storeu_si256((__m256i *)(void *)(c + r * Np + j), c##r##0); _mm256_storeu_si256((__m256i *)(void *)(c + r * Np + j + 8), c##r##1)
    NN__Q8_ST(0); NN__Q8_ST(1); NN__Q8_ST(2); NN__Q8_ST(3); NN__Q8_ST(4); NN__Q8_ST(5);
#undef NN__Q8_ST
  }
}
#else
static NN__NOINLINE void nn__q8_tile(const nn__q8_act *const *rowp, const int *tap, int T, int Cp, const void *packed, int Np,
                        int32_t *c) {
  const signed char *B = (const signed char *)packed;
  int r, n, t, k, Kp = T * Cp;
  for (r = 0; r < NN__Q8_MR; r++)
    for (n = 0; n < Np; n++) {
      const signed char *w = B + (size_t)n * Kp;
      int32_t s = 0;
      for (t = 0; t < T; t++) {
        const nn__q8_act *a = rowp[r] + tap[t];
        for (k = 0; k < Cp; k++) s += (int32_t)a[k] * w[t * Cp + k];
      }
      c[r * Np + n] = s;
    }
}
#endif

/* ======================================================================
   Layers: packing, quantising the input, running
   ====================================================================== */
static int nn__q8_round_up(int x, int m) { return (x + m - 1) / m * m; }

/* geometry, packed weights, the requantisation constants; w, w_scale,
   bias, in_scale and in_zp are set */
static int nn__q8_finish(nn__q8_layer *L) {
  signed char *wk;
  int n, k, t, c;
  L->mult = (float *)nn__calloc((size_t)L->N, sizeof(float));
  L->zpw = (int32_t *)nn__calloc((size_t)L->N, sizeof(int32_t));
  wk = (signed char *)nn__calloc((size_t)L->Kp * L->Np, 1);
  L->packed = nn__calloc(nn__q8_packed_bytes(L->Kp, L->Np), 1);
  L->tap = (int *)nn__calloc((size_t)L->T, sizeof(int));
  if (!L->mult || !L->zpw || !wk || !L->packed || !L->tap) { NN_FREE(wk); return 0; }
  for (n = 0; n < L->N; n++) {
    int32_t sum = 0;
    for (k = 0; k < L->K; k++) sum += L->w[(size_t)n * L->K + k];
    L->zpw[n] = sum * L->in_zp;
    L->mult[n] = L->in_scale * L->w_scale[n];
    if (L->conv)   /* nn.h's [C][kh][kw] to [tap][C padded] */
      for (c = 0; c < L->d.C; c++)
        for (t = 0; t < L->T; t++) wk[(size_t)n * L->Kp + t * L->Cp + c] = L->w[(size_t)n * L->K + c * L->T + t];
    else
      memcpy(wk + (size_t)n * L->Kp, L->w + (size_t)n * L->K, (size_t)L->K);
  }
  nn__q8_pack(wk, L->Kp, L->Np, L->packed);
  NN_FREE(wk);
  if (L->conv) {   /* the padded channels-last input is (H + 2p) x (W + 2p) x Cp */
    int Wp = L->d.W + 2 * L->d.p, ky, kx;
    for (ky = 0; ky < L->d.kh; ky++)
      for (kx = 0; kx < L->d.kw; kx++) L->tap[ky * L->d.kw + kx] = (ky * Wp + kx) * L->Cp;
  } else {
    L->tap[0] = 0;
  }
  return 1;
}

/* n values quantised (restrict: nothing stops the compiler vectorising;
   out of line: one compiled body, so a value handed over to the next
   layer quantises to the bits it would from the float buffer) */
static NN__NOINLINE void nn__q8_quant_run(const float *NN__RESTRICT x, nn__q8_act *NN__RESTRICT q, size_t n, float inv, float zp) {
  size_t i;
  for (i = 0; i < n; i++) {
    float v = x[i] * inv + zp;
    v = v > 0 ? (v < 255 ? v : 255) : 0;   /* NaN to 0 too */
    q[i] = (nn__q8_act)(int)(v + 0.5f);
  }
}
static float nn__q8_out(const nn__q8_layer *L, int32_t acc, int n) {
  float v = (float)(acc - L->zpw[n]) * L->mult[n] + L->bias[n];
  return L->relu && v < 0 ? 0.0f : v;
}

/* the conv's channels-last output y [OH][OW][N] max-pooled into
   channels-last py [PH][PW][N] (windows clipped to the image, as nn.h's
   max pool does) */
static void nn__q8_maxpool(const nn__q8_layer *L, const float *y, float *py) {
  const nn_pool_attr *a = &L->pool->attr.pool;
  int H = L->d.OH, W = L->d.OW, PH = L->pool->shape.dim[1], PW = L->pool->shape.dim[2], N = L->N, ph, pw, h, w, n;
  for (ph = 0; ph < PH; ph++)
    for (pw = 0; pw < PW; pw++) {
      int h0 = ph * a->stride - a->pad, h1 = h0 + a->k, w0 = pw * a->stride - a->pad, w1 = w0 + a->k;
      float *dst = py + ((size_t)ph * PW + pw) * N;
      h0 = h0 < 0 ? 0 : h0;
      h1 = h1 > H ? H : h1;
      w0 = w0 < 0 ? 0 : w0;
      w1 = w1 > W ? W : w1;
      memcpy(dst, y + ((size_t)h0 * W + w0) * N, (size_t)N * sizeof(float));
      for (h = h0; h < h1; h++)
        for (w = w0; w < w1; w++) {
          const float *src = y + ((size_t)h * W + w) * N;
          for (n = 0; n < N; n++) dst[n] = src[n] > dst[n] ? src[n] : dst[n];
        }
    }
}
/* channels-last [P][N] to nn.h's [N][P], in blocks that stay in cache;
   with AVX, 8 x 8 blocks transposed in registers */
static void nn__q8_to_planes(const float *y, int P, int N, float *out) {
  int p0, n0, p, n;
#if defined(NN__Q8_VNNI) || defined(NN__Q8_AVX2)
  int P8 = P / 8 * 8, N8 = N / 8 * 8;
  for (p0 = 0; p0 < P8; p0 += 8)
    for (n0 = 0; n0 < N8; n0 += 8) {
      const float *s = y + (size_t)p0 * N + n0;
      float *d = out + (size_t)n0 * P + p0;
      __m256 r0 = _mm256_loadu_ps(s), r1 = _mm256_loadu_ps(s + N), r2 = _mm256_loadu_ps(s + 2 * N), r3 = _mm256_loadu_ps(s + 3 * N);
      __m256 r4 = _mm256_loadu_ps(s + 4 * N), r5 = _mm256_loadu_ps(s + 5 * N), r6 = _mm256_loadu_ps(s + 6 * N), r7 = _mm256_loadu_ps(s + 7 * N);
      __m256 t0 = _mm256_unpacklo_ps(r0, r1), t1 = _mm256_unpackhi_ps(r0, r1), t2 = _mm256_unpacklo_ps(r2, r3), t3 = _mm256_unpackhi_ps(r2, r3);
      __m256 t4 = _mm256_unpacklo_ps(r4, r5), t5 = _mm256_unpackhi_ps(r4, r5), t6 = _mm256_unpacklo_ps(r6, r7), t7 = _mm256_unpackhi_ps(r6, r7);
      r0 = _mm256_shuffle_ps(t0, t2, 0x44);
      r1 = _mm256_shuffle_ps(t0, t2, 0xEE);
      r2 = _mm256_shuffle_ps(t1, t3, 0x44);
      r3 = _mm256_shuffle_ps(t1, t3, 0xEE);
      r4 = _mm256_shuffle_ps(t4, t6, 0x44);
      r5 = _mm256_shuffle_ps(t4, t6, 0xEE);
      r6 = _mm256_shuffle_ps(t5, t7, 0x44);
      r7 = _mm256_shuffle_ps(t5, t7, 0xEE);
      _mm256_storeu_ps(d, _mm256_permute2f128_ps(r0, r4, 0x20));
      _mm256_storeu_ps(d + P, _mm256_permute2f128_ps(r1, r5, 0x20));
      _mm256_storeu_ps(d + 2 * (size_t)P, _mm256_permute2f128_ps(r2, r6, 0x20));
      _mm256_storeu_ps(d + 3 * (size_t)P, _mm256_permute2f128_ps(r3, r7, 0x20));
      _mm256_storeu_ps(d + 4 * (size_t)P, _mm256_permute2f128_ps(r0, r4, 0x31));
      _mm256_storeu_ps(d + 5 * (size_t)P, _mm256_permute2f128_ps(r1, r5, 0x31));
      _mm256_storeu_ps(d + 6 * (size_t)P, _mm256_permute2f128_ps(r2, r6, 0x31));
      _mm256_storeu_ps(d + 7 * (size_t)P, _mm256_permute2f128_ps(r3, r7, 0x31));
    }
  for (n = 0; n < N; n++)   /* the edges the blocks leave */
    for (p = n < N8 ? P8 : 0; p < P; p++) out[(size_t)n * P + p] = y[(size_t)p * N + n];
  return;
#endif
  for (p0 = 0; p0 < P; p0 += 16)
    for (n0 = 0; n0 < N; n0 += 16) {
      int p1 = p0 + 16 < P ? p0 + 16 : P, n1 = n0 + 16 < N ? n0 + 16 : N;
      for (n = n0; n < n1; n++)
        for (p = p0; p < p1; p++) out[(size_t)n * P + p] = y[(size_t)p * N + n];
    }
}

/* scratch of a conv: the padded input, the quantised input planes, the
   accumulators of a tile, the channels-last output and, with a pool, the
   pooled one; 64-byte steps */
static size_t nn__q8_conv_planes_at(const nn__q8_layer *L) {
  return (size_t)nn__q8_round_up((int)((size_t)(L->d.H + 2 * L->d.p) * (L->d.W + 2 * L->d.p) * L->Cp * sizeof(nn__q8_act)), 64);
}
static size_t nn__q8_conv_acc_at(const nn__q8_layer *L) {
  return nn__q8_conv_planes_at(L) + (size_t)nn__q8_round_up((int)((size_t)L->d.C * L->d.H * L->d.W * sizeof(nn__q8_act)), 64);
}
static size_t nn__q8_conv_tmp_at(const nn__q8_layer *L) { return nn__q8_conv_acc_at(L) + (size_t)NN__Q8_MR * L->Np * sizeof(int32_t); }
static size_t nn__q8_conv_pool_at(const nn__q8_layer *L) {
  return nn__q8_conv_tmp_at(L) + (size_t)nn__q8_round_up((int)((size_t)L->group * L->N * L->d.OH * L->d.OW * sizeof(float)), 64);
}
static size_t nn__q8_conv_scratch(const nn__q8_layer *L) {
  return nn__q8_conv_pool_at(L) + (L->pool ? nn__per(L->pool) * sizeof(float) : 0);
}

/* the fused ops after the pool on channels-last rows y [rows][N]: the
   batch norm's affine, then the GELU (nn.h's formula: the same bits) */
static void nn__q8_tail(const nn__q8_layer *L, float *y, size_t rows) {
  const float *a = L->post_a, *b = L->post_b;
  size_t r;
  int n, N = L->N;
  for (r = 0; r < rows; r++, y += N) {
    if (a)
      for (n = 0; n < N; n++) y[n] = y[n] * a[n] + b[n];
    if (L->gelu)
      for (n = 0; n < N; n++) y[n] = 0.5f * y[n] * (1.0f + nn__erf(y[n] * 0.70710678f));
  }
}

/* a sample's final values y [positions][N] (channels-last) into next's
   padded 8-bit input xout, or into out in nn.h's layout */
static void nn__q8_sample_out(const nn__q8_layer *L, const float *y, int P, const nn__q8_layer *next, nn__q8_act *xout,
                              float *out) {
  int N = L->N, h, w;
  size_t i;
  if (next) {   /* y [OH][OW][N] (pooled) is next's [H][W][C] */
    const nn_conv2d_dims *e = &next->d;
    int nWp = e->W + 2 * e->p, ncp = next->Cp;
    size_t nlen = (size_t)(e->H + 2 * e->p) * nWp * ncp;
    nn__q8_act nzp = (nn__q8_act)next->in_zp;
    float ninv = 1.0f / next->in_scale, nzf = (float)next->in_zp;
    for (i = 0; i < nlen; i++) xout[i] = nzp;
    for (h = 0; h < e->H; h++) {
      nn__q8_act *row = xout + ((size_t)(h + e->p) * nWp + e->p) * ncp;
      if (ncp == N)   /* no padded channels: the row is one run */
        nn__q8_quant_run(y + (size_t)h * e->W * N, row, (size_t)e->W * N, ninv, nzf);
      else
        for (w = 0; w < e->W; w++) nn__q8_quant_run(y + ((size_t)h * e->W + w) * N, row + (size_t)w * ncp, (size_t)N, ninv, nzf);
    }
  } else {
    nn__q8_to_planes(y, P, N, out);
  }
}

/* G consecutive samples of a conv2d: x [C][H][W] float to out [N][OH][OW]
   (or pooled), one sample after the other (out: ys apart).  A handed-over
   input xin is already the padded channels-last 8-bit input (in_len
   apart; x unused), and only then can G be more than 1: the samples'
   positions share tiles (fewer rows computed in vain past a sample's
   last).  With next, the result goes to xout (out_len apart) as next's
   padded channels-last input, quantised as next would quantise out (the
   same values), and out is not written. */
static void nn__q8_conv_samples(const nn__q8_layer *L, const float *x, float *out, size_t ys, unsigned char *scratch,
                                const nn__q8_act *xin, size_t in_len, int G, const nn__q8_layer *next, nn__q8_act *xout,
                                size_t out_len) {
  const nn_conv2d_dims *d = &L->d;
  int Hp = d->H + 2 * d->p, Wp = d->W + 2 * d->p, P = d->OH * d->OW, Q = G * P, N = L->N, c, h, w, p0, r, n, sm;
  const int C = d->C, H = d->H, W = d->W, pad = d->p, Cp = L->Cp;
  nn__q8_act *xp = (nn__q8_act *)(void *)scratch, zp = (nn__q8_act)L->in_zp;
  const nn__q8_act *xq = xin ? xin : xp;
  nn__q8_act *planes = (nn__q8_act *)(void *)(scratch + nn__q8_conv_planes_at(L));
  int32_t *acc = (int32_t *)(void *)(scratch + nn__q8_conv_acc_at(L));
  float *y = (float *)(void *)(scratch + nn__q8_conv_tmp_at(L)), inv = 1.0f / L->in_scale, zf = (float)L->in_zp;
  const float *mult = L->mult, *bias = L->bias;
  const int32_t *zpw = L->zpw;
  size_t i, len = (size_t)Hp * Wp * L->Cp, HW = (size_t)d->H * d->W;
  /* quantised in nn.h's planar order (contiguous: vectorised), then
     moved to channels-last a row at a time */
  if (!xin) {
    nn__q8_quant_run(x, planes, (size_t)d->C * HW, inv, zf);
    for (i = 0; i < len; i++) xp[i] = zp;   /* borders and padded channels hold the zero point */
    for (h = 0; h < H; h++)   /* sizes in locals: byte stores would make the compiler reload them */
      for (c = 0; c < C; c++) {
        const nn__q8_act *src = planes + (size_t)c * HW + (size_t)h * W;
        nn__q8_act *dst = xp + ((size_t)(h + pad) * Wp + pad) * Cp + c;
        for (w = 0; w < W; w++) dst[(size_t)w * Cp] = src[w];
      }
  }
  for (p0 = 0; p0 < Q; p0 += NN__Q8_MR) {   /* row q: position q % P of sample q / P */
    const nn__q8_act *rowp[NN__Q8_MR];
    int rows = Q - p0 < NN__Q8_MR ? Q - p0 : NN__Q8_MR;
    for (r = 0; r < NN__Q8_MR; r++) {   /* rows past the end repeat the last (results unused) */
      int q = p0 + (r < rows ? r : rows - 1), p = q % P, oy = p / d->OW, ox = p % d->OW;
      rowp[r] = xq + (size_t)(q / P) * in_len + ((size_t)oy * d->s * Wp + (size_t)ox * d->s) * L->Cp;
    }
    nn__q8_tile(rowp, L->tap, L->T, L->Cp, L->packed, L->Np, acc);
    for (r = 0; r < rows; r++) {   /* contiguous in n: vectorised requantisation */
      const int32_t *a = acc + r * L->Np;
      float *dst = y + (size_t)(p0 + r) * N;
      if (L->relu)
        for (n = 0; n < N; n++) {
          float v = (float)(a[n] - zpw[n]) * mult[n] + bias[n];
          dst[n] = v > 0 ? v : 0.0f;
        }
      else
        for (n = 0; n < N; n++) dst[n] = (float)(a[n] - zpw[n]) * mult[n] + bias[n];
    }
    if (!L->pool) nn__q8_tail(L, y + (size_t)p0 * N, (size_t)rows);
  }
  for (sm = 0; sm < G; sm++, out += ys, xout = next ? xout + out_len : NULL) {
    float *ys_ = y + (size_t)sm * P * N;
    int PP = P;
    if (L->pool) {
      float *py = (float *)(void *)(scratch + nn__q8_conv_pool_at(L));
      nn__q8_maxpool(L, ys_, py);
      PP = L->pool->shape.dim[1] * L->pool->shape.dim[2];
      nn__q8_tail(L, py, (size_t)PP);
      ys_ = py;
    }
    nn__q8_sample_out(L, ys_, PP, next, xout, out);
  }
}


static int nn__q8_threads(const nn_int8_plan *p) {
#ifdef _OPENMP
  int t = omp_get_max_threads();
  return t < p->threads ? t : p->threads;
#else
  (void)p;
  return 1;
#endif
}

static void nn__q8_run_layer(nn_int8_plan *p, const nn__q8_layer *L) {
  nn_model *m = p->m;
  const float *x = (const float *)m->value[L->node->in[0]->id];
  float *y = (float *)m->value[L->out->id];
  int threads = nn__q8_threads(p), b;
  (void)threads;   /* read by the OpenMP pragmas only */
  if (L->conv) {
    size_t xs = (size_t)L->d.C * L->d.H * L->d.W, ys = nn__per(L->out), in_len = 0, out_len = 0;
    int n = m->batch, k = (int)(L - p->layers);
    const nn__q8_layer *next = L->hands_on && !p->keep_outputs ? L + 1 : NULL;
    const nn__q8_act *xin = k > 0 && L[-1].hands_on && !p->keep_outputs ? p->hand[k % 2] : NULL;
    nn__q8_act *xout = next ? p->hand[(k + 1) % 2] : NULL;
    if (xin) in_len = (size_t)(L->d.H + 2 * L->d.p) * (L->d.W + 2 * L->d.p) * L->Cp;
    if (next) out_len = (size_t)(next->d.H + 2 * next->d.p) * (next->d.W + 2 * next->d.p) * next->Cp;
    int G = xin ? L->group : 1, groups = (n + G - 1) / G;
    NN__OMP_FOR_THREADS
    for (b = 0; b < groups; b++) {
      int first = b * G, cnt = n - first < G ? n - first : G;
      nn__q8_conv_samples(L, x + first * xs, y + first * ys, ys, p->scratch + (size_t)nn__thread_id() * p->per_thread,
                          xin ? xin + first * in_len : NULL, in_len, cnt, next, next ? xout + first * out_len : NULL, out_len);
    }
  } else {
    int rows = (int)(nn_node_numel(m, L->node->in[0]) / (size_t)L->K), tiles = (rows + NN__Q8_MR - 1) / NN__Q8_MR, r;
    float inv = 1.0f / L->in_scale, zf = (float)L->in_zp;
    nn__q8_act zp = (nn__q8_act)L->in_zp;
    NN__OMP_FOR_THREADS
    for (r = 0; r < rows; r++) {
      nn__q8_act *dst = p->rows + (size_t)r * L->Kp;
      const float *src = x + (size_t)r * L->K;
      int k;
      nn__q8_quant_run(src, dst, (size_t)L->K, inv, zf);
      for (k = L->K; k < L->Kp; k++) dst[k] = zp;
    }
    NN__OMP_FOR_THREADS
    for (b = 0; b < tiles; b++) {
      int32_t *acc = (int32_t *)(void *)(p->scratch + (size_t)nn__thread_id() * p->per_thread);
      const nn__q8_act *rowp[NN__Q8_MR];
      int i, n, r0 = b * NN__Q8_MR, cnt = rows - r0 < NN__Q8_MR ? rows - r0 : NN__Q8_MR;
      for (i = 0; i < NN__Q8_MR; i++) rowp[i] = p->rows + (size_t)(r0 + (i < cnt ? i : cnt - 1)) * L->Kp;
      nn__q8_tile(rowp, L->tap, 1, L->Kp, L->packed, L->Np, acc);
      for (i = 0; i < cnt; i++)
        for (n = 0; n < L->N; n++) y[(size_t)(r0 + i) * L->N + n] = nn__q8_out(L, acc[i * L->Np + n], n);
    }
  }
}

NNDEF int nn_int8_gemm(int M, int N, int K, const unsigned char *a, const signed char *w, int32_t *c) {
  nn__q8_layer L;
  nn__q8_act *rows;
  int32_t *acc;
  int i, k, n, ok;
  if (!a || !w || !c) return nn__fail("int8_gemm: an array is NULL");
  if (M < 1 || N < 1 || K < 1 || K > NN__Q8_MAX_K) return nn__fail("int8_gemm: M %d, N %d, K %d (each >= 1, K <= %d)", M, N, K, NN__Q8_MAX_K);
  memset(&L, 0, sizeof L);
  L.K = K;
  L.N = N;
  L.T = 1;
  L.Kp = L.Cp = nn__q8_round_up(K, 4);
  L.Np = nn__q8_round_up(N, 16);
  L.in_scale = 1;
  L.w = (signed char *)w;   /* only read */
  L.w_scale = L.bias = NULL;
  L.w_scale = (float *)nn__calloc((size_t)N, sizeof(float));
  rows = (nn__q8_act *)nn__calloc((size_t)M * L.Kp, sizeof(nn__q8_act));
  acc = (int32_t *)nn__calloc((size_t)NN__Q8_MR * L.Np, sizeof(int32_t));
  ok = L.w_scale && rows && acc && nn__q8_finish(&L);
  for (i = 0; ok && i < M; i++)
    for (k = 0; k < K; k++) rows[(size_t)i * L.Kp + k] = (nn__q8_act)a[(size_t)i * K + k];
  for (i = 0; ok && i < M; i += NN__Q8_MR) {
    const nn__q8_act *rowp[NN__Q8_MR];
    int r, cnt = M - i < NN__Q8_MR ? M - i : NN__Q8_MR;
    for (r = 0; r < NN__Q8_MR; r++) rowp[r] = rows + (size_t)(i + (r < cnt ? r : cnt - 1)) * L.Kp;
    nn__q8_tile(rowp, L.tap, 1, L.Kp, L.packed, L.Np, acc);
    for (r = 0; r < cnt; r++)
      for (n = 0; n < N; n++) c[(size_t)(i + r) * N + n] = acc[r * L.Np + n];
  }
  NN_FREE(L.w_scale);
  NN_FREE(L.mult);
  NN_FREE(L.zpw);
  NN_FREE(L.packed);
  NN_FREE(L.tap);
  NN_FREE(rows);
  NN_FREE(acc);
  return ok;
}

/* ======================================================================
   Plans: the graph walk, folding, calibration
   ====================================================================== */
NNDEF void nn_int8_free(nn_int8_plan *p) {
  int i;
  if (!p) return;
  for (i = 0; i < p->n_layers; i++) {
    nn__q8_layer *L = &p->layers[i];
    NN_FREE(L->w);
    NN_FREE(L->w_scale);
    NN_FREE(L->bias);
    NN_FREE(L->mult);
    NN_FREE(L->post_a);
    NN_FREE(L->post_b);
    NN_FREE(L->zpw);
    NN_FREE(L->packed);
    NN_FREE(L->tap);
  }
  NN_FREE(p->layers);
  NN_FREE(p->step);
  NN_FREE(p->scratch);
  NN_FREE(p->rows);
  NN_FREE(p->hand[0]);
  NN_FREE(p->hand[1]);
  if (p->m) nn__model_unref(p->m);
  NN_FREE(p);
}

/* the plan's structure for m and output: which nodes run as int8 layers
   (and what each folds), which run as float ops; the layers' numbers are
   left to the caller */
static nn_int8_plan *nn__q8_build(nn_model *m, const nn_node *output, const char *fn) {
  nn_graph *g;
  nn_int8_plan *p;
  int *uses = NULL, *user = NULL, i, k, nl = 0, threads = 1;
  unsigned char *active = NULL, *skip = NULL;
  if (!nn__node_ok(m, output, fn)) return NULL;
  if (m->backend->ops != &nn__cpu_backend_ops) { nn__fail("%s: int8 plans run on the CPU backend, the model is on '%s'", fn, m->backend->ops->name); return NULL; }
  g = m->graph;
  p = (nn_int8_plan *)nn__calloc(1, sizeof *p);
  uses = (int *)nn__calloc((size_t)g->n, sizeof(int));
  user = (int *)nn__calloc((size_t)g->n, sizeof(int));
  active = (unsigned char *)nn__calloc((size_t)g->n, 1);
  skip = (unsigned char *)nn__calloc((size_t)g->n, 1);
  if (!p || !uses || !user || !active || !skip) goto fail;
  p->m = m;
  m->refs++;
  p->output = output;
  active[output->id] = 1;
  for (i = output->id; i >= 0; i--)
    if (active[i])
      for (k = 0; k < g->nodes[i]->n_in; k++) if (g->nodes[i]->in[k]) active[g->nodes[i]->in[k]->id] = 1;
  for (i = 0; i <= output->id; i++)
    if (active[i])
      for (k = 0; k < g->nodes[i]->n_in; k++)
        if (g->nodes[i]->in[k]) { uses[g->nodes[i]->in[k]->id]++; user[g->nodes[i]->in[k]->id] = i; }
  p->layers = (nn__q8_layer *)nn__calloc((size_t)output->id + 1, sizeof *p->layers);
  p->step = (int *)nn__calloc((size_t)output->id + 1, sizeof(int));
  if (!p->layers || !p->step) goto fail;
  for (i = 0; i <= output->id; i++) {
    nn_node *nd = g->nodes[i], *t;
    nn__q8_layer *L;
    if (!active[i] || skip[i] || nn__is_leaf(nd)) continue;
    if ((nd->op != NN_OP_DENSE && nd->op != NN_OP_CONV2D) || !nd->in[1] || nd->in[1]->op != NN_OP_PARAM) {
      p->step[p->n_steps++] = -1 - i;
      continue;
    }
    L = &p->layers[nl];
    memset(L, 0, sizeof *L);
    L->node = t = nd;
    L->group = 1;
    L->conv = nd->op == NN_OP_CONV2D;
    L->N = nd->in[1]->shape.dim[0];
    L->K = (int)(nn__per(nd->in[1]) / (size_t)L->N);
    if (L->K > NN__Q8_MAX_K) { nn__fail("%s: '%s' sums %d products per output (int8 plans take up to %d)", fn, nd->name, L->K, NN__Q8_MAX_K); goto fail; }
    if (L->conv) {
      L->d = nn_conv2d_dims_of(nd);
      L->T = L->d.kh * L->d.kw;
      L->Cp = nn__q8_round_up(L->d.C, 4);
      L->Kp = L->T * L->Cp;
    } else {
      L->T = 1;
      L->Kp = L->Cp = nn__q8_round_up(L->K, 4);
    }
    L->Np = nn__q8_round_up(L->N, 16);
    /* a batch norm over the output channels that only this layer feeds */
    if (t != output && uses[t->id] == 1 && g->nodes[user[t->id]]->op == NN_OP_BATCHNORM && g->nodes[user[t->id]]->in[0] == t &&
        (L->conv || t->shape.ndim == 1)) {
      L->bn = t = g->nodes[user[t->id]];
      skip[t->id] = 1;
    }
    if (t != output && uses[t->id] == 1 && g->nodes[user[t->id]]->op == NN_OP_RELU) {
      t = g->nodes[user[t->id]];
      skip[t->id] = 1;
      L->relu = 1;
    }
    /* a max pool after a conv: pooled from the tiles, never stored unpooled;
       a ReLU after the pool is the same before it */
    if (L->conv && t != output && uses[t->id] == 1 && g->nodes[user[t->id]]->op == NN_OP_MAXPOOL2D) {
      L->pool = t = g->nodes[user[t->id]];
      skip[t->id] = 1;
      if (!L->relu && t != output && uses[t->id] == 1 && g->nodes[user[t->id]]->op == NN_OP_RELU) {
        t = g->nodes[user[t->id]];
        skip[t->id] = 1;
        L->relu = 1;
      }
    }
    /* after the pool, a batch norm (airbench's conv, pool, norm, GELU):
       an affine per channel on the pooled tile; then a GELU, applied to
       the tile before it is stored */
    if (L->pool && t != output && uses[t->id] == 1 && g->nodes[user[t->id]]->op == NN_OP_BATCHNORM &&
        g->nodes[user[t->id]]->in[0] == t) {
      L->post_bn = t = g->nodes[user[t->id]];
      skip[t->id] = 1;
    }
    if (L->conv && t != output && uses[t->id] == 1 && g->nodes[user[t->id]]->op == NN_OP_GELU) {
      t = g->nodes[user[t->id]];
      skip[t->id] = 1;
      L->gelu = 1;
    }
    L->out = t;
    p->step[p->n_steps++] = nl++;
  }
  p->n_layers = nl;
  /* a conv whose whole output is the next step's conv's input hands it
     over as that conv's 8-bit padded channels-last input */
  for (i = 0; i + 1 < p->n_steps; i++) {
    nn__q8_layer *L, *N;
    size_t len;
    if (p->step[i] < 0 || p->step[i + 1] < 0) continue;
    L = &p->layers[p->step[i]];
    N = &p->layers[p->step[i + 1]];
    if (!L->conv || !N->conv || N->node->in[0] != L->out || L->out == output || uses[L->out->id] != 1) continue;
    L->hands_on = 1;
    len = (size_t)m->max_batch * (N->d.H + 2 * N->d.p) * (N->d.W + 2 * N->d.p) * N->Cp;
    if (len > p->hand_len) p->hand_len = len;
    /* N's tiles span up to 6 samples: as few as that takes to waste under
       2% of the rows on a last tile (7x7 maps: 49 rows need 54 alone) */
    for (k = 1; k < NN__Q8_MR; k++) {
      int rows = k * N->d.OH * N->d.OW;
      if ((nn__q8_round_up(rows, NN__Q8_MR) - rows) * 50 <= rows) break;
    }
    N->group = k;
  }
  if (p->hand_len) {
    p->hand[0] = (nn__q8_act *)nn__calloc(p->hand_len, sizeof(nn__q8_act));
    p->hand[1] = (nn__q8_act *)nn__calloc(p->hand_len, sizeof(nn__q8_act));
    if (!p->hand[0] || !p->hand[1]) goto fail;
  }
#ifdef _OPENMP
  threads = omp_get_max_threads();
#endif
  p->threads = threads;
  for (i = 0; i < nl; i++) {   /* scratch: a conv's padded input and accumulators, a dense tile's */
    nn__q8_layer *L = &p->layers[i];
    size_t need = L->conv ? nn__q8_conv_scratch(L) : (size_t)NN__Q8_MR * L->Np * sizeof(int32_t), rows;
    if (need > p->per_thread) p->per_thread = nn__q8_round_up((int)need, 64);
    rows = L->conv ? 0 : (size_t)m->max_batch * (nn__per(L->node->in[0]) / (size_t)L->K) * L->Kp;
    if (rows > p->rows_len) p->rows_len = rows;
  }
  p->scratch = (unsigned char *)nn__calloc((size_t)threads * p->per_thread + 1, 1);
  p->rows = (nn__q8_act *)nn__calloc(p->rows_len + 1, sizeof(nn__q8_act));
  if (!p->scratch || !p->rows) goto fail;
  NN_FREE(uses);
  NN_FREE(user);
  NN_FREE(active);
  NN_FREE(skip);
  return p;
fail:
  NN_FREE(uses);
  NN_FREE(user);
  NN_FREE(active);
  NN_FREE(skip);
  nn_int8_free(p);
  return NULL;
}

/* the layer's float weights (batch norm folded) from the model, then
   symmetric per-output int8 */
static int nn__q8_weights_from(nn_model *m, nn__q8_layer *L) {
  const nn_node *nd = L->node;
  size_t nw = (size_t)L->N * L->K;
  float *w = (float *)nn__calloc(nw, sizeof(float)), *bn = (float *)nn__calloc((size_t)L->N * 4, sizeof(float));
  int n, k, ok;
  L->w = (signed char *)nn__calloc(nw, 1);
  L->w_scale = (float *)nn__calloc((size_t)L->N, sizeof(float));
  L->bias = (float *)nn__calloc((size_t)L->N, sizeof(float));
  ok = w && bn && L->w && L->w_scale && L->bias && nn_read(m, nd->in[1], w) && (!nd->in[2] || nn_read(m, nd->in[2], L->bias));
  if (ok && L->bn)
    for (k = 0; k < 4 && ok; k++) ok = nn_read(m, L->bn->in[1 + k], bn + (size_t)k * L->N);
  for (n = 0; ok && n < L->N; n++) {
    float *row = w + (size_t)n * L->K, amax = 0;
    if (L->bn) {   /* gamma (x - mean) / sqrt(var + eps) + beta */
      float s = bn[n] / sqrtf(bn[3 * L->N + n] + L->bn->attr.norm.eps);
      for (k = 0; k < L->K; k++) row[k] *= s;
      L->bias[n] = (L->bias[n] - bn[2 * L->N + n]) * s + bn[L->N + n];
    }
    for (k = 0; k < L->K; k++) amax = fabsf(row[k]) > amax ? fabsf(row[k]) : amax;
    L->w_scale[n] = amax > 0 ? amax / 127.0f : 1.0f;
    for (k = 0; k < L->K; k++) {
      float q = row[k] / L->w_scale[n];
      L->w[(size_t)n * L->K + k] = (signed char)(q < 0 ? -(int)(-q + 0.5f) : (int)(q + 0.5f));
    }
  }
  NN_FREE(w);
  NN_FREE(bn);
  return ok;
}

/* the batch norm after a pool as y * a + b, computed as nn.h's eval
   batch norm does (the same bits) from the model's parameters */
static int nn__q8_post_from(nn_model *m, nn__q8_layer *L) {
  float *v;
  int n, k, ok;
  if (!L->post_bn) return 1;
  v = (float *)nn__calloc((size_t)L->N * 4, sizeof(float));
  if (!L->post_a) L->post_a = (float *)nn__calloc((size_t)L->N, sizeof(float));
  if (!L->post_b) L->post_b = (float *)nn__calloc((size_t)L->N, sizeof(float));
  ok = v && L->post_a && L->post_b;
  for (k = 0; k < 4 && ok; k++) ok = nn_read(m, L->post_bn->in[1 + k], v + (size_t)k * L->N);
  for (n = 0; ok && n < L->N; n++) {   /* gamma, beta, mean, var */
    float rstd = 1.0f / sqrtf(v[3 * L->N + n] + L->post_bn->attr.norm.eps);
    L->post_a[n] = v[n] * rstd;
    L->post_b[n] = v[L->N + n] - v[2 * L->N + n] * L->post_a[n];
  }
  NN_FREE(v);
  return ok;
}

NNDEF nn_int8_plan *nn_int8_quantize(nn_model *m, const nn_node *output, const nn_node *input, const float *samples,
                                     int count) {
  return nn_int8_quantize_inputs(m, output, 1, &input, &samples, count);
}

NNDEF nn_int8_plan *nn_int8_quantize_inputs(nn_model *m, const nn_node *output, int n_inputs, const nn_node *const *inputs,
                                            const float *const *samples, int count) {
  nn_int8_plan *p;
  float *lo = NULL, *hi = NULL, *buf = NULL;
  size_t most = 0;
  int i, k, start, batch, ok = 1;
  if (!nn__model_ok(m, "int8_quantize")) return NULL;
  if (n_inputs < 1 || !inputs || !samples) { nn__fail("int8_quantize: %d inputs (at least 1, with their samples)", n_inputs); return NULL; }
  for (k = 0; k < n_inputs; k++) {
    if (!nn__node_ok(m, inputs[k], "int8_quantize")) return NULL;
    if (inputs[k]->op != NN_OP_INPUT) { nn__fail("int8_quantize: '%s' is not an input", inputs[k]->name); return NULL; }
    if (!samples[k]) { nn__fail("int8_quantize: the samples of '%s' are NULL", inputs[k]->name); return NULL; }
  }
  if (count < 1) { nn__fail("int8_quantize: %d calibration samples (at least 1)", count); return NULL; }
  if (!(p = nn__q8_build(m, output, "int8_quantize"))) return NULL;
  if (!p->n_layers) { nn__fail("int8_quantize: no dense or conv2d layer leads to '%s'", output->name); nn_int8_free(p); return NULL; }
  batch = m->batch;
  for (i = 0; i < p->n_layers; i++)
    if (nn__per(p->layers[i].node->in[0]) * (size_t)m->max_batch > most) most = nn__per(p->layers[i].node->in[0]) * (size_t)m->max_batch;
  lo = (float *)nn__calloc((size_t)p->n_layers, sizeof(float));
  hi = (float *)nn__calloc((size_t)p->n_layers, sizeof(float));
  buf = (float *)nn__calloc(most + 1, sizeof(float));
  ok = lo && hi && buf;
  for (start = 0; ok && start < count; start += m->max_batch) {
    int n = count - start < m->max_batch ? count - start : m->max_batch;
    ok = nn_set_batch(m, n);
    for (k = 0; ok && k < n_inputs; k++) ok = nn_feed_node(m, inputs[k], samples[k] + (size_t)start * nn__per(inputs[k]));
    ok = ok && nn_predict(m, output);
    for (i = 0; ok && i < p->n_layers; i++) {
      const nn_node *x = p->layers[i].node->in[0];
      size_t len = nn_node_numel(m, x), j;
      ok = nn_read(m, x, buf);
      for (j = 0; ok && j < len; j++) {
        if (buf[j] < lo[i]) lo[i] = buf[j];
        if (buf[j] > hi[i]) hi[i] = buf[j];
      }
    }
  }
  if (ok && m->batch != batch) nn_set_batch(m, batch);
  for (i = 0; ok && i < p->n_layers; i++) {
    nn__q8_layer *L = &p->layers[i];
    float range = hi[i] - lo[i];   /* 0 is in it: lo <= 0 <= hi */
    if (!(range < FLT_MAX)) { ok = nn__fail("int8_quantize: the input of '%s' is not finite in calibration", L->node->name); break; }
    L->in_scale = range > 0 ? range / 255.0f : 1.0f;
    L->in_zp = (int)(-lo[i] / L->in_scale + 0.5f);
    if (L->in_zp > 255) L->in_zp = 255;
    ok = nn__q8_weights_from(m, L) && nn__q8_post_from(m, L) && nn__q8_finish(L);
  }
  NN_FREE(lo);
  NN_FREE(hi);
  NN_FREE(buf);
  if (!ok) {
    if (m->batch != batch) nn_set_batch(m, batch);
    nn_int8_free(p);
    return NULL;
  }
  return p;
}

NNDEF int nn_int8_predict(nn_int8_plan *p) {
  nn_model *m;
  int i;
  if (!p) return nn__null("int8_predict", "plan");
  m = p->m;
  m->training = 0;
  for (i = 0; i < p->n_steps; i++) {
    if (p->step[i] >= 0) nn__q8_run_layer(p, &p->layers[p->step[i]]);
    else if (!m->backend->ops->forward(m->backend, m, m->graph->nodes[-1 - p->step[i]])) return 0;
  }
  return 1;
}

NNDEF int nn_int8_keep_outputs(nn_int8_plan *p, int keep) {
  if (!p) return nn__null("int8_keep_outputs", "plan");
  p->keep_outputs = keep != 0;
  return 1;
}

NNDEF int nn_int8_num_layers(const nn_int8_plan *p) { return p ? p->n_layers : nn__null("int8_num_layers", "plan"); }
NNDEF int nn_int8_layer(const nn_int8_plan *p, int i, nn_int8_layer_info *info) {
  const nn__q8_layer *L;
  if (!p || !info) return nn__null("int8_layer", !p ? "plan" : "info");
  if (i < 0 || i >= p->n_layers) return nn__fail("int8_layer: layer %d of %d", i, p->n_layers);
  L = &p->layers[i];
  info->node = L->node;
  info->out = L->out;
  info->pool = L->pool;
  info->relu = L->relu;
  info->post_norm = L->post_bn;
  info->post_scale = L->post_a;
  info->post_shift = L->post_b;
  info->gelu = L->gelu;
  info->hands_on = L->hands_on;
  info->outputs = L->N;
  info->inputs = L->K;
  info->weight = L->w;
  info->weight_scale = L->w_scale;
  info->bias = L->bias;
  info->input_scale = L->in_scale;
  info->input_zero_point = L->in_zp;
  return 1;
}

/* ======================================================================
   Files
   ====================================================================== */
enum { NN__Q8_F32 = 0, NN__Q8_I8 = 4, NN__Q8_U8 = 8 };   /* indices in nn.h's nn__st_dtypes */
enum { NN__Q8_W, NN__Q8_SCALE, NN__Q8_BIAS, NN__Q8_IN_SCALE, NN__Q8_IN_ZP, NN__Q8_PARTS };
static const char *const nn__q8_suffix[NN__Q8_PARTS] = {"", "_scale", "_bias", "_input_scale", "_input_zero_point"};

/* one tensor of the file: a layer's part, or a float parameter */
typedef struct nn__q8_entry {
  char name[NN__ST_NAME_MAX];
  int dtype;
  nn_shape shape;
  nn__q8_layer *layer;   /* NULL: the float parameter `param` */
  int part;
  const nn_node *param;
} nn__q8_entry;

/* what a plan's file holds, in file order; *n entries */
static nn__q8_entry *nn__q8_entries(const nn_int8_plan *p, int *count) {
  nn_graph *g = p->m->graph;
  unsigned char *seen = (unsigned char *)nn__calloc((size_t)g->n, 1);
  nn__q8_entry *e = (nn__q8_entry *)nn__calloc((size_t)NN__Q8_PARTS * p->n_layers + (size_t)g->n + 1, sizeof *e);
  int i, k, n = 0;
  if (!seen || !e) { NN_FREE(seen); NN_FREE(e); return NULL; }
  for (i = 0; i < p->n_layers; i++)
    for (k = 0; k < NN__Q8_PARTS; k++) {
      nn__q8_layer *L = &p->layers[i];
      nn__q8_entry *t = &e[n++];
      snprintf(t->name, sizeof t->name, "%s%s", L->node->in[1]->name, nn__q8_suffix[k]);
      t->layer = L;
      t->part = k;
      t->dtype = k == NN__Q8_W ? NN__Q8_I8 : k == NN__Q8_IN_ZP ? NN__Q8_U8 : NN__Q8_F32;
      if (k == NN__Q8_W) t->shape = L->node->in[1]->shape;
      else if (k == NN__Q8_SCALE || k == NN__Q8_BIAS) t->shape = nn__shape1(L->N);
      else t->shape.ndim = 0;
    }
  for (i = 0; i < p->n_steps; i++) {   /* the float ops' parameters, and those of batch norms fused after a pool */
    const nn_node *nd = p->step[i] >= 0 ? p->layers[p->step[i]].post_bn : g->nodes[-1 - p->step[i]];
    if (!nd) continue;
    for (k = p->step[i] >= 0; k < nd->n_in; k++) {
      const nn_node *q = nn__param_under(nd->in[k]);
      if (!q || seen[q->id]) continue;
      seen[q->id] = 1;
      snprintf(e[n].name, sizeof e[n].name, "%s", q->name);
      e[n].dtype = NN__Q8_F32;
      e[n].shape = q->shape;
      e[n].param = q;
      n++;
    }
  }
  NN_FREE(seen);
  *count = n;
  return e;
}

NNDEF int nn_int8_save(const nn_int8_plan *p, const char *path) {
  nn__text h;
  nn__atomic_file af;
  nn__q8_entry *e;
  uint64_t off = 0;
  unsigned char len8[8], *bytes = NULL;
  float *host = NULL;
  char num[96];
  int n, i, k, ok, opened;
  if (!p || !path) return nn__null("int8_save", !p ? "plan" : "path");
  if (!(e = nn__q8_entries(p, &n))) return 0;
  memset(&h, 0, sizeof h);
  nn__text_str(&h, "{\"__metadata__\":{\"nn.format\":\"int8\",\"nn.int8.output\":");
  nn__text_json(&h, p->output->name);
  nn__text_str(&h, "}");
  for (i = 0; i < n; i++) {
    uint64_t size = (uint64_t)nn_shape_numel(&e[i].shape) * nn__st_dtypes[e[i].dtype].size;
    nn__text_str(&h, ",");
    nn__text_json(&h, e[i].name);
    nn__text_str(&h, ":{\"dtype\":\"");
    nn__text_str(&h, nn__st_dtypes[e[i].dtype].name);
    nn__text_str(&h, "\",\"shape\":[");
    for (k = 0; k < e[i].shape.ndim; k++) {
      snprintf(num, sizeof num, k ? ",%d" : "%d", e[i].shape.dim[k]);
      nn__text_str(&h, num);
    }
    snprintf(num, sizeof num, "],\"data_offsets\":[%llu,%llu]}", (unsigned long long)off, (unsigned long long)(off + size));
    nn__text_str(&h, num);
    off += size;
  }
  nn__text_str(&h, "}");
  while (!h.failed && h.n % 8) nn__text_str(&h, " ");
  if (h.failed) { NN_FREE(h.p); NN_FREE(e); return 0; }
  for (i = 0; i < 8; i++) len8[i] = (unsigned char)((uint64_t)h.n >> (8 * i));
  ok = opened = nn__af_open(&af, path);
  if (ok) ok = nn__af_write(&af, len8, 8) && nn__af_write(&af, h.p, h.n);
  for (i = 0; ok && i < n; i++) {
    size_t cnt = nn_shape_numel(&e[i].shape);
    const nn__q8_layer *L = e[i].layer;
    NN_FREE(host);
    NN_FREE(bytes);
    host = (float *)nn__calloc(cnt + 1, sizeof(float));
    bytes = (unsigned char *)nn__calloc(cnt * 4 + 1, 1);
    if (!host || !bytes) { ok = 0; break; }
    if (!L) {
      ok = nn_read(p->m, e[i].param, host);
      nn__f32_to_le(host, bytes, cnt);
      ok = ok && nn__af_write(&af, bytes, cnt * 4);
    } else if (e[i].part == NN__Q8_W) {
      ok = nn__af_write(&af, L->w, cnt);
    } else if (e[i].part == NN__Q8_IN_ZP) {
      bytes[0] = (unsigned char)L->in_zp;
      ok = nn__af_write(&af, bytes, 1);
    } else {
      const float *src = e[i].part == NN__Q8_SCALE ? L->w_scale : e[i].part == NN__Q8_BIAS ? L->bias : &L->in_scale;
      nn__f32_to_le(src, bytes, cnt);
      ok = nn__af_write(&af, bytes, cnt * 4);
    }
  }
  if (opened) ok = nn__af_close(&af, ok);
  NN_FREE(h.p);
  NN_FREE(e);
  NN_FREE(host);
  NN_FREE(bytes);
  return ok;
}

NNDEF nn_int8_plan *nn_int8_load_buffer(nn_model *m, const nn_node *output, const void *data, size_t len) {
  nn_int8_plan *p;
  nn__st st;
  nn__q8_entry *e = NULL;
  const char *fmt, *out_name;
  char sh[160], b[64];
  int n = 0, i, k, ok = 1;
  if (!data) { nn__null("int8_load", "data"); return NULL; }
  if (!(p = nn__q8_build(m, output, "int8_load"))) return NULL;
  if (!nn__st_open(&st, (const unsigned char *)data, len, "int8 file")) { nn_int8_free(p); return NULL; }
  fmt = nn__st_meta_get(&st, "nn.format");
  out_name = nn__st_meta_get(&st, "nn.int8.output");
  if (!fmt || strcmp(fmt, "int8"))
    ok = nn__fail("int8_load: not an int8 model file (its __metadata__ has no \"nn.format\": \"int8\"; a float model's weights load with nn_safetensors_load)");
  else if (!out_name || strcmp(out_name, output->name))
    ok = nn__fail("int8_load: the file quantises the graph up to '%s', not '%s'", out_name ? out_name : "(not named)", output->name);
  else if (!(e = nn__q8_entries(p, &n)))
    ok = 0;
  for (i = 0; ok && i < n; i++) {   /* every name, dtype and shape before anything changes */
    nn__st_tensor *t = nn__st_find(&st, e[i].name);
    if (!t) { ok = nn__fail("int8_load: missing tensor '%s' %s %s", e[i].name, nn__st_dtypes[e[i].dtype].name, nn_shape_str(&e[i].shape, b, sizeof b)); break; }
    t->matched = 1;
    if (t->dtype != e[i].dtype) { ok = nn__fail("int8_load: tensor '%s' is %s, not %s", e[i].name, nn__st_dtypes[t->dtype].name, nn__st_dtypes[e[i].dtype].name); break; }
    if (t->ndim != e[i].shape.ndim) ok = 0;
    for (k = 0; ok && k < t->ndim; k++) ok = t->dim[k] == (uint64_t)e[i].shape.dim[k];
    if (!ok) { nn__fail("int8_load: tensor '%s' has shape %s, the model's is %s", e[i].name, nn__dims_str(t->ndim, NULL, t->dim, sh, sizeof sh), nn_shape_str(&e[i].shape, b, sizeof b)); break; }
  }
  for (i = 0; ok && i < st.n; i++)
    if (!st.t[i].matched) ok = nn__fail("int8_load: unexpected tensor '%s' (not in this model's int8 plan)", st.t[i].name);
  for (i = 0; ok && i < p->n_layers; i++) {
    nn__q8_layer *L = &p->layers[i];
    L->w = (signed char *)nn__calloc((size_t)L->N * L->K, 1);
    L->w_scale = (float *)nn__calloc((size_t)L->N, sizeof(float));
    L->bias = (float *)nn__calloc((size_t)L->N, sizeof(float));
    ok = L->w && L->w_scale && L->bias;
  }
  for (i = 0; ok && i < n; i++) {
    const nn__st_tensor *t = nn__st_find(&st, e[i].name);
    const unsigned char *src = st.data + t->begin;
    nn__q8_layer *L = e[i].layer;
    size_t cnt = nn_shape_numel(&e[i].shape), j;
    if (!L || e[i].part == NN__Q8_W || e[i].part == NN__Q8_IN_ZP) continue;
    nn__f32_from_le(src, e[i].part == NN__Q8_SCALE ? L->w_scale : e[i].part == NN__Q8_BIAS ? L->bias : &L->in_scale, cnt);
    if (e[i].part == NN__Q8_SCALE)
      for (j = 0; ok && j < cnt; j++)
        if (!(L->w_scale[j] > 0 && L->w_scale[j] < FLT_MAX)) ok = nn__fail("int8_load: '%s'[%zu] is %g (scales are positive and finite)", e[i].name, j, L->w_scale[j]);
    if (e[i].part == NN__Q8_IN_SCALE && !(L->in_scale > 0 && L->in_scale < FLT_MAX))
      ok = nn__fail("int8_load: '%s' is %g (scales are positive and finite)", e[i].name, L->in_scale);
  }
  for (i = 0; ok && i < n; i++) {   /* checked: now change things */
    const nn__st_tensor *t = nn__st_find(&st, e[i].name);
    const unsigned char *src = st.data + t->begin;
    nn__q8_layer *L = e[i].layer;
    size_t cnt = nn_shape_numel(&e[i].shape);
    if (!L) {
      float *host = (float *)nn__calloc(cnt + 1, sizeof(float));
      ok = host != NULL;
      if (ok) nn__f32_from_le(src, host, cnt);
      ok = ok && nn_write(m, e[i].param, host);
      NN_FREE(host);
    } else if (e[i].part == NN__Q8_W) {
      memcpy(L->w, src, cnt);
    } else if (e[i].part == NN__Q8_IN_ZP) {
      L->in_zp = src[0];
    }
  }
  for (i = 0; ok && i < p->n_layers; i++) ok = nn__q8_post_from(m, &p->layers[i]) && nn__q8_finish(&p->layers[i]);
  nn__st_close(&st);
  NN_FREE(e);
  if (!ok) { nn_int8_free(p); return NULL; }
  return p;
}

NNDEF nn_int8_plan *nn_int8_load(nn_model *m, const nn_node *output, const char *path) {
  nn_int8_plan *p;
  unsigned char *buf;
  size_t len;
  if (!path) { nn__null("int8_load", "path"); return NULL; }
  if (!(buf = nn__read_file(path, &len))) return NULL;
  p = nn_int8_load_buffer(m, output, buf, len);
  NN_FREE(buf);
  if (!p) nn__fail("int8_load '%s': %s", path, nn_last_error());
  return p;
}

/* ======================================================================
   Pruning
   ====================================================================== */
struct nn_prune {
  nn_model *m;
  int n;
  const nn_node **w;       /* the masked weights */
  size_t *off;             /* [n + 1]: weight i is mask[off[i] .. off[i + 1]) */
  unsigned char *mask;     /* 1: kept; all the weights back to back */
  float *host;             /* [off[n]]: the weights, read in the same order */
  int global;              /* nn_prune_set_global */
};

NNDEF void nn_prune_free(nn_prune *p) {
  if (!p) return;
  NN_FREE(p->mask);
  NN_FREE(p->w);
  NN_FREE(p->off);
  NN_FREE(p->host);
  if (p->m) nn__model_unref(p->m);
  NN_FREE(p);
}

/* adds weight w to the list unless it is there (a weight two layers share: one mask) */
static void nn__prune_add(nn_prune *p, const nn_node *w) {
  int j;
  if (!w || w->op != NN_OP_PARAM || !w->trainable) return;
  for (j = 0; j < p->n && p->w[j] != w; j++) {}
  if (j == p->n) p->w[p->n++] = w;
}

NNDEF nn_prune *nn_prune_new(nn_model *m) {
  nn_prune *p;
  nn_graph *g;
  size_t j;
  int i, d;
  if (!nn__model_ok(m, "prune_new")) return NULL;
  g = m->graph;
  if (!(p = (nn_prune *)nn__calloc(1, sizeof *p))) return NULL;
  p->m = m;
  m->refs++;
  /* at most 4 weights a node: a bidirectional recurrent layer's */
  p->w = (const nn_node **)nn__calloc((size_t)g->n * 4, sizeof *p->w);
  p->off = (size_t *)nn__calloc((size_t)g->n * 4 + 1, sizeof *p->off);
  if (!p->w || !p->off) { nn_prune_free(p); return NULL; }
  for (i = 0; i < g->n; i++) {
    const nn_node *nd = g->nodes[i];
    if ((nd->op == NN_OP_DENSE || nd->op == NN_OP_CONV2D) && nd->n_in > 1) nn__prune_add(p, nd->in[1]);
    if (nd->op == NN_OP_RNN || nd->op == NN_OP_LSTM || nd->op == NN_OP_GRU)
      for (d = 0; d < nd->attr.recurrent.dirs; d++) {   /* weight_ih, weight_hh; not the biases */
        nn__prune_add(p, nd->in[2 + 4 * d]);
        nn__prune_add(p, nd->in[3 + 4 * d]);
      }
  }
  if (!p->n) { nn__fail("prune_new: the model has no trainable dense, conv2d or recurrent weights"); nn_prune_free(p); return NULL; }
  for (i = 0; i < p->n; i++) p->off[i + 1] = p->off[i] + nn__per(p->w[i]);
  p->mask = (unsigned char *)nn__calloc(p->off[p->n], 1);
  p->host = (float *)nn__calloc(p->off[p->n], sizeof(float));
  if (!p->mask || !p->host) { nn_prune_free(p); return NULL; }
  for (i = 0; i < p->n; i++)
    if (!nn_read(m, p->w[i], p->host + p->off[i])) { nn_prune_free(p); return NULL; }
  for (j = 0; j < p->off[p->n]; j++) p->mask[j] = p->host[j] != 0;
  return p;
}

NNDEF int nn_prune_set_global(nn_prune *p, int global) {
  if (!p) return nn__null("prune_set_global", "pruner");
  p->global = global != 0;
  return 1;
}

NNDEF float nn_prune_schedule(float final, long step, long begin, long end) {
  double f;
  if (step < begin) return 0;
  if (step >= end || end <= begin) return final;
  f = 1.0 - (double)(step - begin) / (double)(end - begin);
  return (float)(final * (1.0 - f * f * f));
}

static int nn__prune_cmp(const void *a, const void *b) {
  float x = *(const float *)a, y = *(const float *)b;
  return x < y ? -1 : x > y;
}

/* n weights w with their mask: the smallest |w| of those kept go until
   `sparsity` of the n are zeros in the mask (ties in index order) */
static int nn__prune_cut(unsigned char *mask, const float *w, size_t n, float sparsity) {
  size_t k = (size_t)((double)sparsity * (double)n), zeros = 0, j;
  float *mag, cut;
  for (j = 0; j < n; j++) zeros += !mask[j];
  if (k <= zeros) return 1;
  if (!(mag = (float *)nn__calloc(n, sizeof(float)))) return 0;
  for (j = 0; j < n; j++) mag[j] = mask[j] ? fabsf(w[j]) : -1.0f;   /* pruned ones first */
  qsort(mag, n, sizeof *mag, nn__prune_cmp);
  cut = mag[k - 1];
  NN_FREE(mag);
  /* below the cut, then at it until k */
  for (j = 0; j < n; j++)
    if (mask[j] && fabsf(w[j]) < cut) { mask[j] = 0; zeros++; }
  for (j = 0; j < n && zeros < k; j++)
    if (mask[j] && fabsf(w[j]) == cut) { mask[j] = 0; zeros++; }
  return 1;
}

NNDEF int nn_prune_to(nn_prune *p, float sparsity) {
  int i, ok = 1;
  if (!p) return nn__null("prune_to", "pruner");
  if (!(sparsity >= 0 && sparsity <= 1)) return nn__fail("prune_to: sparsity %g (0 to 1)", sparsity);
  for (i = 0; i < p->n; i++)
    if (!nn_read(p->m, p->w[i], p->host + p->off[i])) return 0;
  if (p->global) ok = nn__prune_cut(p->mask, p->host, p->off[p->n], sparsity);
  for (i = 0; ok && !p->global && i < p->n; i++)
    ok = nn__prune_cut(p->mask + p->off[i], p->host + p->off[i], p->off[i + 1] - p->off[i], sparsity);
  return ok && nn_prune_apply(p);
}

NNDEF int nn_prune_apply(nn_prune *p) {
  int i;
  size_t j;
  if (!p) return nn__null("prune_apply", "pruner");
  for (i = 0; i < p->n; i++) {
    float *w = p->host + p->off[i];
    const unsigned char *mask = p->mask + p->off[i];
    if (!nn_read(p->m, p->w[i], w)) return 0;
    for (j = 0; j < p->off[i + 1] - p->off[i]; j++)
      if (!mask[j]) w[j] = 0.0f;
    if (!nn_write(p->m, p->w[i], w)) return 0;
  }
  return 1;
}

NNDEF double nn_prune_sparsity(const nn_prune *p) {
  size_t zeros = 0, j;
  if (!p) return (nn__null("prune_sparsity", "pruner"), -1.0);
  for (j = 0; j < p->off[p->n]; j++) zeros += !p->mask[j];
  return p->off[p->n] ? (double)zeros / (double)p->off[p->n] : 0.0;
}
NNDEF double nn_prune_layer_sparsity(const nn_prune *p, int i, const nn_node **weight) {
  size_t zeros = 0, j;
  if (!p) return (nn__null("prune_layer_sparsity", "pruner"), -1.0);
  if (i < 0 || i >= p->n) return (nn__fail("prune_layer_sparsity: layer %d of %d", i, p->n), -1.0);
  if (weight) *weight = p->w[i];
  for (j = p->off[i]; j < p->off[i + 1]; j++) zeros += !p->mask[j];
  return (double)zeros / (double)(p->off[i + 1] - p->off[i]);
}
NNDEF int nn_prune_num_layers(const nn_prune *p) { return p ? p->n : nn__null("prune_num_layers", "pruner"); }

/* ---- structured: channels ---- */
/* the one op that reads x among the nodes up to the last, or NULL (none, or several) */
static nn_node *nn__prune_sole_user(const nn_graph *g, const nn_node *x, int *count) {
  nn_node *u = NULL;
  int i, k;
  *count = 0;
  for (i = x->id + 1; i < g->n; i++)
    for (k = 0; k < g->nodes[i]->n_in; k++)
      if (g->nodes[i]->in[k] == x) { u = g->nodes[i]; (*count)++; }
  return *count == 1 ? u : NULL;
}

NNDEF int nn_prune_rank_channels(nn_model *m, const nn_node *conv, int keep, int *kept) {
  const nn_node *bn;
  float *w, *gamma = NULL;
  double *score;
  int O, o, j, users, ok;
  size_t per, k;
  if (!nn__node_ok(m, conv, "prune_rank_channels")) return 0;
  if (!kept) return nn__null("prune_rank_channels", "kept");
  if (conv->op != NN_OP_CONV2D) return nn__fail("prune_rank_channels: '%s' is a %s, not a conv2d", conv->name, nn_op_name(conv->op));
  O = conv->in[1]->shape.dim[0];
  if (keep < 1 || keep > O) return nn__fail("prune_rank_channels: keep %d of '%s''s %d channels", keep, conv->name, O);
  per = nn__per(conv->in[1]) / (size_t)O;
  bn = nn__prune_sole_user(m->graph, conv, &users);
  if (bn && bn->op != NN_OP_BATCHNORM) bn = NULL;
  w = (float *)nn__calloc(nn__per(conv->in[1]), sizeof(float));
  score = (double *)nn__calloc((size_t)O, sizeof(double));
  if (bn) gamma = (float *)nn__calloc((size_t)O, sizeof(float));
  ok = w && score && (!bn || gamma) && nn_read(m, conv->in[1], w) && (!bn || nn_read(m, bn->in[1], gamma));
  for (o = 0; ok && o < O; o++) {
    for (k = 0; k < per; k++) score[o] += fabs((double)w[(size_t)o * per + k]);
    if (bn) score[o] *= fabs((double)gamma[o]);
  }
  for (j = 0; ok && j < keep; j++) {   /* the best left, ties to the lower index */
    int best = -1;
    for (o = 0; o < O; o++)
      if (score[o] >= 0 && (best < 0 || score[o] > score[best])) best = o;
    kept[j] = best;
    score[best] = -1;
  }
  for (j = 1; ok && j < keep; j++) {   /* increasing order */
    int v = kept[j], i = j;
    for (; i > 0 && kept[i - 1] > v; i--) kept[i] = kept[i - 1];
    kept[i] = v;
  }
  NN_FREE(w);
  NN_FREE(score);
  NN_FREE(gamma);
  return ok;
}

/* a selection along one dimension of one parameter: idx[0..n) of the source's */
typedef struct nn__prune_sel { const nn_node *param; int dim, n; int *idx; } nn__prune_sel;

static int nn__prune_select(nn__prune_sel *s, int *count, const nn_node *param, int dim, const int *kept, int nkept, int block) {
  int j, b;
  if (!param) return 1;
  s[*count].param = param;
  s[*count].dim = dim;
  s[*count].n = nkept * block;
  if (!(s[*count].idx = (int *)nn__calloc((size_t)nkept * block + 1, sizeof(int)))) return 0;
  for (j = 0; j < nkept; j++)
    for (b = 0; b < block; b++) s[*count].idx[j * block + b] = kept[j] * block + b;
  (*count)++;
  return 1;
}

NNDEF int nn_prune_copy_channels(nn_model *src, nn_model *dst, int n_layers, const char *const *layers,
                                 const int *const *kept, const int *nkept) {
  nn_graph *g;
  nn__prune_sel *sel = NULL;
  float *a = NULL, *b = NULL;
  int nsel = 0, i, k, ok = 1;
  if (!nn__model_ok(src, "prune_copy_channels") || !nn__model_ok(dst, "prune_copy_channels")) return 0;
  if (n_layers < 0 || (n_layers && (!layers || !kept || !nkept))) return nn__null("prune_copy_channels", "layers, kept or nkept");
  g = src->graph;
  if (!(sel = (nn__prune_sel *)nn__calloc((size_t)n_layers * 8 + 1, sizeof *sel))) return 0;
  for (i = 0; ok && i < n_layers; i++) {
    nn_node *x = layers[i] ? nn_find(g, layers[i]) : NULL, *u;
    int O, users;
    if (!x || x->op != NN_OP_CONV2D) { ok = nn__fail("prune_copy_channels: no conv2d named '%s' in the source model", layers[i] ? layers[i] : "(NULL)"); break; }
    O = x->in[1]->shape.dim[0];
    for (k = 0; ok && k < nkept[i]; k++)
      if (!kept[i] || kept[i][k] < 0 || kept[i][k] >= O || (k && kept[i][k] <= kept[i][k - 1]))
        ok = nn__fail("prune_copy_channels: '%s': the kept channels must rise within 0..%d", layers[i], O - 1);
    if (!ok || nkept[i] < 1) { ok = ok ? nn__fail("prune_copy_channels: '%s' keeps no channel", layers[i]) : 0; break; }
    ok = nn__prune_select(sel, &nsel, x->in[1], 0, kept[i], nkept[i], 1) &&
         nn__prune_select(sel, &nsel, x->in[2], 0, kept[i], nkept[i], 1);
    for (;;) {   /* along the channel-preserving ops to the next layer */
      if (!ok) break;
      if (!(u = nn__prune_sole_user(g, x, &users))) {
        if (users) ok = nn__fail("prune_copy_channels: '%s' (after '%s') feeds %d ops: only chains prune", x->name, layers[i], users);
        break;   /* the end of the graph */
      }
      if (u->op == NN_OP_BATCHNORM && u->in[0] == x) {
        for (k = 1; ok && k < 5; k++) ok = nn__prune_select(sel, &nsel, u->in[k], 0, kept[i], nkept[i], 1);
      } else if (u->op == NN_OP_CONV2D && u->in[0] == x) {
        ok = nn__prune_select(sel, &nsel, u->in[1], 1, kept[i], nkept[i], 1);
        break;
      } else if (u->op == NN_OP_RESHAPE && u->shape.ndim == 1) {   /* a flatten, then a dense */
        int block = (int)(nn__per(x) / (size_t)O), users2;
        nn_node *d = nn__prune_sole_user(g, u, &users2);
        if (!d || d->op != NN_OP_DENSE) { ok = nn__fail("prune_copy_channels: the flatten after '%s' must feed one dense", layers[i]); break; }
        ok = nn__prune_select(sel, &nsel, d->in[1], 1, kept[i], nkept[i], block);
        break;
      } else if (!(u->op == NN_OP_RELU || u->op == NN_OP_LEAKY_RELU || u->op == NN_OP_GELU || u->op == NN_OP_SILU ||
                   u->op == NN_OP_SIGMOID || u->op == NN_OP_TANH || u->op == NN_OP_MAXPOOL2D ||
                   u->op == NN_OP_AVGPOOL2D || u->op == NN_OP_DROPOUT || u->op == NN_OP_SCALE) || u->in[0] != x) {
        ok = nn__fail("prune_copy_channels: '%s' (%s) after '%s' does not keep channels apart", u->name, nn_op_name(u->op), layers[i]);
        break;
      }
      x = u;
    }
  }
  for (i = 0; ok && i < dst->graph->n; i++) {   /* every parameter of dst, gathered */
    const nn_node *q = dst->graph->nodes[i], *p;
    int dims[NN_MAX_DIMS], at[NN_MAX_DIMS], d, nd;
    const int *map[NN_MAX_DIMS];
    size_t n, e;
    char sa[64], sb[64];
    if (q->op != NN_OP_PARAM) continue;
    if (!(p = nn_find(g, q->name)) || p->op != NN_OP_PARAM) { ok = nn__fail("prune_copy_channels: the source has no parameter '%s'", q->name); break; }
    nd = p->shape.ndim;
    if (q->shape.ndim != nd) { ok = nn__fail("prune_copy_channels: '%s' is %s in the source, %s here", q->name, nn_shape_str(&p->shape, sa, sizeof sa), nn_shape_str(&q->shape, sb, sizeof sb)); break; }
    for (d = 0; d < nd; d++) {
      map[d] = NULL;
      dims[d] = p->shape.dim[d];
      for (k = 0; k < nsel; k++)
        if (sel[k].param == p && sel[k].dim == d) { map[d] = sel[k].idx; dims[d] = sel[k].n; }
      if (dims[d] != q->shape.dim[d]) break;
    }
    if (d < nd) { ok = nn__fail("prune_copy_channels: '%s' is %s in the source and %s here, which the kept channels do not explain", q->name, nn_shape_str(&p->shape, sa, sizeof sa), nn_shape_str(&q->shape, sb, sizeof sb)); break; }
    NN_FREE(a);
    NN_FREE(b);
    n = nn__per(q);
    a = (float *)nn__calloc(nn__per(p), sizeof(float));
    b = (float *)nn__calloc(n, sizeof(float));
    if (!a || !b || !nn_read(src, p, a)) { ok = 0; break; }
    memset(at, 0, sizeof at);
    for (e = 0; e < n; e++) {   /* at: e's index in dst; its source offset by the maps */
      size_t off = 0;
      for (d = 0; d < nd; d++) off = off * (size_t)p->shape.dim[d] + (size_t)(map[d] ? map[d][at[d]] : at[d]);
      b[e] = a[off];
      for (d = nd - 1; d >= 0 && ++at[d] == dims[d]; d--) at[d] = 0;
    }
    ok = nn_write(dst, q, b);
  }
  for (i = 0; i < nsel; i++) NN_FREE(sel[i].idx);
  NN_FREE(sel);
  NN_FREE(a);
  NN_FREE(b);
  return ok;
}

#endif /* NN__COMPRESS_IMPLEMENTED */
#endif /* NN_COMPRESS_IMPLEMENTATION */
