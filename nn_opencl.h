/* nn_opencl.h — an OpenCL backend for nn.h.

   Runs nn.h graphs on any OpenCL 1.2 device (NVIDIA, AMD and Intel GPUs,
   PoCL on the CPU): every op of nn.h's op table, the losses and the
   optimizer updates, forward and backward, with the tensors kept on the
   device for the whole training step.  Matrix products (dense layers,
   convolutions lowered to GEMM) run in nn_gemm, the project's own
   kernel, and only past 10^12 multiply-adds in CLBlast
   (NN_OPENCL_CLBLAST_MIN_MNK); the recurrent layers have their own
   kernels for every product (the input projection, dx and the weight
   gradients over the valid steps only, the state products inside the
   step kernels); everything else runs in the kernels of the kernels/
   directory, embedded below so that this header is all a program needs.

   USAGE
     In the one file that defines NN_IMPLEMENTATION, after nn.h:
         #define NN_IMPLEMENTATION
         #include "nn.h"
         #define NN_OPENCL_IMPLEMENTATION
         #include "nn_opencl.h"
     Elsewhere include nn.h and then nn_opencl.h for the declarations.
     Link with -lOpenCL -lclblast, for example
         cc -O2 -I. prog.c -lOpenCL -lclblast -lm

         nn_model *m = nn_compile(g, 128, nn_opencl_backend(-1, -1));
         if (!m) fprintf(stderr, "%s\n", nn_last_error());

   CHOOSING THE DEVICE
     Platform and device indices are the ones `clinfo -l` lists.  With -1
     for both, the environment variable NN_OPENCL_DEVICE=P:D decides, and
     without it the first GPU of any platform, else the first device.

   ERRORS
     Like nn.h: NULL or 0, and nn_last_error() says why, naming the device
     and the OpenCL error code: no platform, a bad device index, a kernel
     build failure (with the build log), out of device memory.  Every op
     of nn.h runs on the device (an op without device kernels stops this
     header from compiling, naming the op), so nothing falls back to the
     CPU.  A cross-entropy label outside 0..C-1, an embedding id
     outside the vocabulary and a bad sequence length fail the op that
     reads them, found on the host's copy of what nn_feed wrote.

   BUILD OPTIONS
     NN_OPENCL_BUILD_OPTIONS is appended to the kernels' build options
     (make oclgrind sets -cl-opt-disable: Oclgrind 21.10 cannot run the
     `freeze` instructions LLVM's optimiser emits).
     The environment variable NN_OPENCL_MAX_WORK_GROUP caps the work-group
     size of every kernel (make oclgrind sets 16: a simulator runs every
     work-item, idle ones included; nn_gemm's tiles shrink with it).
     Defined before the implementation, NN_OPENCL_CLBLAST_MIN_MNK (default
     1e12) is the size in multiply-adds from which matrix products go to
     CLBlast rather than nn_gemm (measurements at its definition).

   START-UP COST
     The compiled kernels are cached on disk (see nn_opencl_config), keyed
     by device, driver and source.  CLBlast compiles its GEMM kernels on
     their first use in a process; the backend runs a tiny GEMM at start
     so that this happens before training, and drivers that keep their
     own cache (PoCL, NVIDIA) make it fast from the second run on.

   Backends on the same device share one context, queue and program: the
   first pays the start-up cost.  Not thread-safe: one thread at a time.
   Results match the CPU backend's within float rounding, not bit for bit;
   the embedding's weight gradient adds rows shared by several ids with
   atomics, in no fixed order, so it can differ in the last bits between
   runs.

   LICENSE: MIT, as nn.h. */
#ifndef NN_OPENCL_H
#define NN_OPENCL_H

#ifndef NN_H
#error "include nn.h before nn_opencl.h"
#endif

#ifdef __cplusplus
extern "C" {
#endif

typedef struct nn_opencl_config {
  int platform, device;        /* as `clinfo -l` lists them; -1, -1: see above */
  /* compiled-kernel cache directory; NULL: $NN_OPENCL_CACHE_DIR, else
     $XDG_CACHE_HOME/nn_opencl, else ~/.cache/nn_opencl; "": no disk cache */
  const char *cache_dir;
  /* 1: CLBlastFillCache at start, compiling every CLBlast routine (minutes
     on PoCL); 0: compile only the GEMM the backend uses */
  int clblast_fill_cache;
  size_t scratch_mb;           /* convolution lowering space cap; 0: 256 */
  /* appended to the kernel sources (a test forces a build failure with it) */
  const char *extra_source;
} nn_opencl_config;

typedef struct nn_opencl_info {
  char platform[128], device[128], driver[64];
  int platform_index, device_index;
  /* since the backend was made or nn_opencl_reset_counters was called:
     host<->device traffic (writes, reads and their bytes); launches
     (kernels and CLBlast calls); CLBlast calls; kernel objects created
     (this program's at start, and at least one per CLBlast call, which
     builds one each time); transfers that waited for the queue to drain
     (reads, and the writes' rare flushes) */
  size_t bytes_to_device, bytes_to_host;
  long writes, reads, launches, clblast_calls, kernel_creations, blocking;
  int kernels_from_cache;      /* 1: the program came from the disk cache */
  char cache_file[512];        /* "" when the disk cache is off */
} nn_opencl_info;

NNDEF void nn_opencl_default_config(nn_opencl_config *c);
NNDEF nn_backend *nn_opencl_backend(int platform, int device);
NNDEF nn_backend *nn_opencl_backend_ex(const nn_opencl_config *c);
/* 0 if b is not an OpenCL backend */
NNDEF int nn_opencl_get_info(const nn_backend *b, nn_opencl_info *out);
NNDEF void nn_opencl_reset_counters(nn_backend *b);

#ifdef __cplusplus
}
#endif
#endif /* NN_OPENCL_H */

/* ######################################################################
   IMPLEMENTATION
   ###################################################################### */
#ifdef NN_OPENCL_IMPLEMENTATION
#ifndef NN__OPENCL_IMPLEMENTED
#define NN__OPENCL_IMPLEMENTED

#ifndef NN_IMPLEMENTATION
#error "define NN_OPENCL_IMPLEMENTATION in the file that defines NN_IMPLEMENTATION, after including nn.h"
#endif

#ifndef CL_TARGET_OPENCL_VERSION
#define CL_TARGET_OPENCL_VERSION 120
#endif
#ifdef __APPLE__
#include <OpenCL/opencl.h>
#else
#include <CL/cl.h>
#endif
#include <clblast_c.h>
#ifdef _WIN32
#include <direct.h>
#define NN__CL_MKDIR(p) _mkdir(p)
#else
#include <sys/stat.h>
#include <sys/types.h>
#define NN__CL_MKDIR(p) mkdir(p, 0755)
#endif

/* ======================================================================
   The kernel sources: the files of kernels/, one string per line, and
   which lines came from which file, generated by tools/embed_kernels.sh
   at the end of this file (after the code, which reads them through
   nn__cl_sources)
   ====================================================================== */
typedef struct nn__cl_file { const char *path; int first, count; } nn__cl_file;
static const char *const *nn__cl_sources(size_t *count);

#define NN__CL_KERNELS(X)                                                                          \
  X(gemm) X(gemm_sum) X(fill) X(add_fwd) X(acc1) X(bias_rows) X(scale_fwd) X(scale_bwd) X(relu_fwd) X(relu_bwd)         \
  X(leaky_relu_fwd) X(leaky_relu_bwd) X(gelu_fwd) X(gelu_bwd) X(silu_fwd) X(silu_bwd)                \
  X(sigmoid_fwd) X(sigmoid_bwd) X(tanh_fwd) X(tanh_bwd) X(mul_bcast) X(mul_bwd_b)                    \
  X(dropout_fwd) X(dropout_bwd) X(concat_fwd) X(concat_bwd)                                          \
  X(im2col) X(col2im_acc) X(conv_out) X(conv_dyt) X(convt_out) X(convt_dx) X(upsample_fwd)               \
  X(upsample_bwd) X(maxpool_fwd)                                                                    \
  X(maxpool_bwd) X(avgpool_fwd) X(avgpool_bwd) X(gap_fwd) X(gap_bwd)                                 \
  X(bn_stats_partial) X(bn_stats_final) X(bn_eval_stats) X(bn_apply) X(bn_bwd_final) X(bn_bwd_dx)    \
  X(bn_sync_stats) X(bn_sync_running)                                                                \
  X(ln_fwd) X(ln_bwd_dx) X(softmax_fwd) X(softmax_bwd)                                               \
  X(sum_partial) X(sum_final) X(seg_sum) X(chan_partial) X(col_partial)                              \
  X(ce_rows) X(ce_bwd) X(bce_terms) X(bce_bwd)                                                       \
  X(mse_terms) X(mse_bwd) X(update) X(lerp) X(scale_inplace)                                         \
  X(embedding_fwd) X(embedding_bwd) X(rec_proj) X(rec_step)                                          \
  X(rec_step_bwd) X(seq_last_fwd) X(seq_last_bwd) X(seq_max_fwd)                                     \
  X(seq_max_bwd) X(seq_mean_fwd) X(seq_mean_bwd)                                                     \
  X(rec_wt) X(rec_step_cpu) X(rec_step_bwd_cpu) X(rec_dx) X(rec_wgrad) X(rec_wsum)
#define NN__CL_ENUM(name) NN__CL_K_##name,
enum { NN__CL_KERNELS(NN__CL_ENUM) NN__CL_K_COUNT };
#define NN__CL_NAME(name) "nn_" #name,
static const char *const nn__cl_kernel_names[] = { NN__CL_KERNELS(NN__CL_NAME) };
typedef char nn__cl_kernel_names_complete[sizeof nn__cl_kernel_names / sizeof nn__cl_kernel_names[0] == NN__CL_K_COUNT ? 1 : -1];

#define NN__CL_PARTIALS 256     /* work-groups of a two-stage sum, at most */
#define NN__CL_MAX_WG 256
#define NN__CL_SCRATCH 5        /* temporary buffers an op may use at once */
#define NN__CL_SCRATCH_GEMM 4   /* the last: nn_gemm's split-K slices (ops pass the others to it) */
/* GEMMs of at least this many multiply-adds (M*N*K) go to CLBlast, smaller
   ones to nn_gemm.  Every CLBlast call creates a kernel object (and on
   Intel's runtime temporary buffers), every step again.  Measured per call
   with bench_opencl --gemm-only on the examples' products (10^7..1.3*10^9,
   a 2-core AMD EPYC): on Intel's CPU runtime nn_gemm takes 0.14-0.76 of
   CLBlast's time, except weight gradients with K = 25600 (1.4-1.7 times);
   on PoCL 1.3-2.3 times CLBlast's (5.7 at K = 9).  So every product of the
   examples runs in nn_gemm and a step creates no kernel object; CLBlast
   keeps products past 10^12, where one kernel creation is noise, and
   devices that cannot run nn_gemm's 16 x 16 work-groups.  Define
   NN_OPENCL_CLBLAST_MIN_MNK (e.g. 1e8 on PoCL) to move the split. */
#ifndef NN_OPENCL_CLBLAST_MIN_MNK
#define NN_OPENCL_CLBLAST_MIN_MNK 1e12
#endif
/* host copies of written buffers that no check reads, at most, before the
   writes are waited for and the copies freed */
#define NN__CL_STAGED_MAX ((size_t)64 << 20)

/* ======================================================================
   Errors: OpenCL and CLBlast status codes by name
   ====================================================================== */
static const char *nn__cl_status(int e) {
  switch (e) {
  case 0: return "CL_SUCCESS";
  case -1: return "CL_DEVICE_NOT_FOUND";
  case -2: return "CL_DEVICE_NOT_AVAILABLE";
  case -3: return "CL_COMPILER_NOT_AVAILABLE";
  case -4: return "CL_MEM_OBJECT_ALLOCATION_FAILURE";
  case -5: return "CL_OUT_OF_RESOURCES";
  case -6: return "CL_OUT_OF_HOST_MEMORY";
  case -7: return "CL_PROFILING_INFO_NOT_AVAILABLE";
  case -8: return "CL_MEM_COPY_OVERLAP";
  case -9: return "CL_IMAGE_FORMAT_MISMATCH";
  case -10: return "CL_IMAGE_FORMAT_NOT_SUPPORTED";
  case -11: return "CL_BUILD_PROGRAM_FAILURE";
  case -12: return "CL_MAP_FAILURE";
  case -13: return "CL_MISALIGNED_SUB_BUFFER_OFFSET";
  case -14: return "CL_EXEC_STATUS_ERROR_FOR_EVENTS_IN_WAIT_LIST";
  case -15: return "CL_COMPILE_PROGRAM_FAILURE";
  case -16: return "CL_LINKER_NOT_AVAILABLE";
  case -17: return "CL_LINK_PROGRAM_FAILURE";
  case -30: return "CL_INVALID_VALUE";
  case -31: return "CL_INVALID_DEVICE_TYPE";
  case -32: return "CL_INVALID_PLATFORM";
  case -33: return "CL_INVALID_DEVICE";
  case -34: return "CL_INVALID_CONTEXT";
  case -35: return "CL_INVALID_QUEUE_PROPERTIES";
  case -36: return "CL_INVALID_COMMAND_QUEUE";
  case -38: return "CL_INVALID_MEM_OBJECT";
  case -42: return "CL_INVALID_BINARY";
  case -43: return "CL_INVALID_BUILD_OPTIONS";
  case -44: return "CL_INVALID_PROGRAM";
  case -45: return "CL_INVALID_PROGRAM_EXECUTABLE";
  case -46: return "CL_INVALID_KERNEL_NAME";
  case -47: return "CL_INVALID_KERNEL_DEFINITION";
  case -48: return "CL_INVALID_KERNEL";
  case -49: return "CL_INVALID_ARG_INDEX";
  case -50: return "CL_INVALID_ARG_VALUE";
  case -51: return "CL_INVALID_ARG_SIZE";
  case -52: return "CL_INVALID_KERNEL_ARGS";
  case -53: return "CL_INVALID_WORK_DIMENSION";
  case -54: return "CL_INVALID_WORK_GROUP_SIZE";
  case -55: return "CL_INVALID_WORK_ITEM_SIZE";
  case -56: return "CL_INVALID_GLOBAL_OFFSET";
  case -57: return "CL_INVALID_EVENT_WAIT_LIST";
  case -58: return "CL_INVALID_EVENT";
  case -59: return "CL_INVALID_OPERATION";
  case -61: return "CL_INVALID_BUFFER_SIZE";
  case -63: return "CL_INVALID_GLOBAL_WORK_SIZE";
  case -1001: return "CL_PLATFORM_NOT_FOUND_KHR";
  /* CLBlast's own codes, as clblast_c.h numbers them */
  case -1024: return "CLBlastNotImplemented";
  case -1022: return "CLBlastInvalidMatrixA";
  case -1021: return "CLBlastInvalidMatrixB";
  case -1020: return "CLBlastInvalidMatrixC";
  case -1019: return "CLBlastInvalidVectorX";
  case -1018: return "CLBlastInvalidVectorY";
  case -1017: return "CLBlastInvalidDimension";
  case -1016: return "CLBlastInvalidLeadDimA";
  case -1015: return "CLBlastInvalidLeadDimB";
  case -1014: return "CLBlastInvalidLeadDimC";
  case -1013: return "CLBlastInvalidIncrementX";
  case -1012: return "CLBlastInvalidIncrementY";
  case -1011: return "CLBlastInsufficientMemoryA";
  case -1010: return "CLBlastInsufficientMemoryB";
  case -1009: return "CLBlastInsufficientMemoryC";
  case -1008: return "CLBlastInsufficientMemoryX";
  case -1007: return "CLBlastInsufficientMemoryY";
  case -2050: return "CLBlastInsufficientMemoryTemp";
  case -2049: return "CLBlastInvalidBatchCount";
  case -2048: return "CLBlastInvalidOverrideKernel";
  case -2047: return "CLBlastMissingOverrideParameter";
  case -2046: return "CLBlastInvalidLocalMemUsage";
  case -2045: return "CLBlastNoHalfPrecision";
  case -2044: return "CLBlastNoDoublePrecision";
  case -2043: return "CLBlastInvalidVectorScalar";
  case -2042: return "CLBlastInsufficientMemoryScalar";
  case -2041: return "CLBlastDatabaseError";
  case -2040: return "CLBlastUnknownError";
  case -2039: return "CLBlastUnexpectedError";
  default: return "unknown status";
  }
}

/* ======================================================================
   Device state, shared by the backends on one device
   ====================================================================== */
typedef struct nn__cl_dev {
  struct nn__cl_dev *next;
  int refs, shared;
  int platform_index, device_index;
  cl_platform_id platform;
  cl_device_id device;
  cl_context ctx;
  cl_command_queue q;
  cl_program prog;
  cl_kernel k[NN__CL_K_COUNT];
  size_t wg;                        /* work-group size of 1-D launches */
  cl_ulong max_alloc, global_mem, in_use;
  char name[128], platform_name[128], driver[64];
  int from_cache;
  long kernels_created;             /* clCreateKernel calls for this device's program */
  int own_gemm;                     /* nn_gemm runs here (work-groups of gemm_side^2) */
  size_t gemm_side;                 /* 16, less under NN_OPENCL_MAX_WORK_GROUP */
  cl_uint compute_units;            /* work-groups that run at once, about */
  size_t rec_tile;                  /* recurrent steps' work-groups: rec_tile^2 */
  int rec_cpu;                      /* recurrent steps: vector lanes along the units, no local memory */
  char cache_file[512];
  cl_mem scratch[NN__CL_SCRATCH];   /* per-op temporaries, grown on first use */
  size_t scratch_n[NN__CL_SCRATCH];
  size_t scratch_cap;               /* floats, for convolution chunks */
  cl_mem partials;                  /* two-stage sums */
} nn__cl_dev;

static nn__cl_dev *nn__cl_devs;     /* the shared ones */

/* A buffer the host writes keeps a copy of what was written: the write
   does not wait (the copy outlives it), and the checks of labels, ids and
   sequence lengths read the copy rather than the device.  Copies that no
   check reads are freed at the next wait for the queue. */
typedef struct nn__cl_host {
  cl_mem mem;
  float *data;
  size_t cap, n;                    /* n: floats from offset 0 that match the device (0: none) */
  cl_event sent;                    /* the write from data, while it may be running */
  int keep;                         /* a check reads it: kept for the next writes */
} nn__cl_host;

typedef struct nn__cl_impl {
  nn__cl_dev *dev;
  nn__cl_host *host;
  int n_host, cap_host;
  size_t staged;                    /* bytes of copies no check reads */
  size_t to_device, to_host;
  long writes, reads, launches, clblast_calls, blocking, created_base;
  char what[NN_NAME_LEN + 32];      /* what runs now, for error messages */
  cl_mem staging;                   /* gather and scatter: grown on first use, kept */
  size_t staging_n;
} nn__cl_impl;

#define NN__CL_MEM(p) ((cl_mem)(void *)(p))

static void *nn__cl_zalloc(size_t bytes) {
  void *p = NN_MALLOC(bytes);
  if (p) memset(p, 0, bytes);
  return p;
}
static int nn__cl_fail(const nn__cl_dev *d, const char *what, cl_int e) {
  return nn_set_error("opencl [%s]: %s failed: %s (%d)", d->name, what, nn__cl_status(e), (int)e);
}

static cl_ulong nn__cl_mem_size(cl_mem m) {
  size_t s = 0;
  clGetMemObjectInfo(m, CL_MEM_SIZE, sizeof s, &s, NULL);
  return (cl_ulong)s;
}
static void nn__cl_free_mem(nn__cl_dev *d, cl_mem m) {
  if (!m) return;
  d->in_use -= nn__cl_mem_size(m);
  clReleaseMemObject(m);
}
/* x[off .. off + n) = v through nn_fill (a grid-stride loop over at most
   4096 work-groups) */
static cl_int nn__cl_fill_dev(nn__cl_dev *d, cl_mem x, size_t off, size_t n, float v) {
  cl_kernel k = d->k[NN__CL_K_fill];
  cl_ulong a = n, b = off;
  size_t local = d->wg, global = (n + local - 1) / local;
  cl_int e;
  if (!n) return CL_SUCCESS;
  global = (global < 4096 ? global : 4096) * local;
  if ((e = clSetKernelArg(k, 0, sizeof a, &a)) != CL_SUCCESS || (e = clSetKernelArg(k, 1, sizeof b, &b)) != CL_SUCCESS ||
      (e = clSetKernelArg(k, 2, sizeof v, &v)) != CL_SUCCESS || (e = clSetKernelArg(k, 3, sizeof x, &x)) != CL_SUCCESS)
    return e;
  return clEnqueueNDRangeKernel(d->q, k, 1, NULL, &global, &local, 0, NULL, NULL);
}

/* a zero-filled device buffer of `bytes`; NULL with the reason on failure */
static cl_mem nn__cl_new_mem(nn__cl_dev *d, size_t bytes) {
  cl_int e;
  cl_mem m;
  char what[64];
  if (bytes == 0) bytes = sizeof(float);
  if (bytes > d->max_alloc) {
    nn_set_error("opencl [%s]: out of device memory: one buffer of %.1f MiB is more than the device allows "
             "(CL_DEVICE_MAX_MEM_ALLOC_SIZE %.1f MiB)", d->name, bytes / 1048576.0, d->max_alloc / 1048576.0);
    return NULL;
  }
  if (d->in_use + bytes > d->global_mem) {
    nn_set_error("opencl [%s]: out of device memory: %.1f MiB more with %.1f of %.1f MiB in use", d->name,
             bytes / 1048576.0, d->in_use / 1048576.0, d->global_mem / 1048576.0);
    return NULL;
  }
  m = clCreateBuffer(d->ctx, CL_MEM_READ_WRITE, bytes, NULL, &e);
  if (!m || e != CL_SUCCESS) {
    snprintf(what, sizeof what, "clCreateBuffer (%.1f MiB)", bytes / 1048576.0);
    nn__cl_fail(d, what, e);
    return NULL;
  }
  if ((e = nn__cl_fill_dev(d, m, 0, bytes / sizeof(float), 0.0f)) != CL_SUCCESS) {
    clReleaseMemObject(m);
    snprintf(what, sizeof what, "zeroing a new buffer (%.1f MiB)", bytes / 1048576.0);
    nn__cl_fail(d, what, e);
    return NULL;
  }
  d->in_use += bytes;
  return m;
}
/* scratch space `which` of at least n floats; kept for later steps */
static cl_mem nn__cl_scratch(nn__cl_dev *d, int which, size_t n) {
  if (d->scratch_n[which] < n) {
    nn__cl_free_mem(d, d->scratch[which]);
    d->scratch[which] = NULL;
    d->scratch_n[which] = 0;
    if (!(d->scratch[which] = nn__cl_new_mem(d, n * sizeof(float)))) return NULL;
    d->scratch_n[which] = n;
  }
  return d->scratch[which];
}

static void nn__cl_dev_release(nn__cl_dev *d) {
  int i;
  if (!d) return;
  for (i = 0; i < NN__CL_K_COUNT; i++) if (d->k[i]) clReleaseKernel(d->k[i]);
  for (i = 0; i < NN__CL_SCRATCH; i++) if (d->scratch[i]) clReleaseMemObject(d->scratch[i]);
  if (d->partials) clReleaseMemObject(d->partials);
  if (d->prog) clReleaseProgram(d->prog);
  if (d->q) clReleaseCommandQueue(d->q);
  if (d->ctx) clReleaseContext(d->ctx);
  NN_FREE(d);
}

/* ======================================================================
   Choosing the device
   ====================================================================== */
static void nn__cl_info_str(cl_platform_id p, cl_device_id dv, cl_uint what, char *buf, size_t len) {
  buf[0] = 0;
  if (p) clGetPlatformInfo(p, what, len, buf, NULL);
  else clGetDeviceInfo(dv, what, len, buf, NULL);
  buf[len - 1] = 0;
}

/* NN_OPENCL_DEVICE=P:D into *p, *d; 0 if set but malformed */
static int nn__cl_env_device(int *p, int *d) {
  const char *s = getenv("NN_OPENCL_DEVICE");
  char *end;
  long a, b;
  if (!s || !*s) return 1;
  a = strtol(s, &end, 10);
  if (end == s || *end != ':') return nn_set_error("opencl: NN_OPENCL_DEVICE='%s' is not PLATFORM:DEVICE (e.g. 0:0, see clinfo -l)", s);
  s = end + 1;
  b = strtol(s, &end, 10);
  if (end == s || *end || a < 0 || b < 0 || a > 1000 || b > 1000)
    return nn_set_error("opencl: NN_OPENCL_DEVICE='%s' is not PLATFORM:DEVICE (e.g. 0:0, see clinfo -l)", getenv("NN_OPENCL_DEVICE"));
  *p = (int)a;
  *d = (int)b;
  return 1;
}

static int nn__cl_pick(int pi, int di, nn__cl_dev *d) {
  cl_platform_id plats[16];
  cl_device_id devs[64];
  cl_uint np = 0, nd = 0, i;
  cl_int e = clGetPlatformIDs(16, plats, &np);
  char names[256], one[64];
  if (e == CL_PLATFORM_NOT_FOUND_KHR || (e == CL_SUCCESS && np == 0))
    return nn_set_error("opencl: no OpenCL platform found (clGetPlatformIDs: CL_PLATFORM_NOT_FOUND_KHR, -1001); "
                    "install an OpenCL driver: an .icd file in /etc/OpenCL/vendors (pocl-opencl-icd for the CPU, "
                    "or the GPU vendor's)");
  if (e != CL_SUCCESS) return nn_set_error("opencl: clGetPlatformIDs failed: %s (%d)", nn__cl_status(e), (int)e);
  if (np > 16) np = 16;
  if (pi < 0 && di < 0 && !nn__cl_env_device(&pi, &di)) return 0;
  if (pi < 0 && di < 0) {  /* the first GPU, else the first device */
    for (i = 0; i < np && pi < 0; i++) {
      cl_uint j;
      if (clGetDeviceIDs(plats[i], CL_DEVICE_TYPE_ALL, 64, devs, &nd) != CL_SUCCESS) continue;
      for (j = 0; j < nd && j < 64; j++) {
        cl_device_type t = 0;
        clGetDeviceInfo(devs[j], CL_DEVICE_TYPE, sizeof t, &t, NULL);
        if (t & CL_DEVICE_TYPE_GPU) { pi = (int)i; di = (int)j; break; }
      }
    }
  }
  if (pi < 0) pi = 0;
  if (di < 0) di = 0;
  if ((cl_uint)pi >= np) {
    names[0] = 0;
    for (i = 0; i < np; i++) {
      char pn[48];
      nn__cl_info_str(plats[i], NULL, CL_PLATFORM_NAME, pn, sizeof pn);
      snprintf(one, sizeof one, "%s%u = '%s'", i ? ", " : "", i, pn);
      if (strlen(names) + strlen(one) < sizeof names) strcat(names, one);
    }
    return nn_set_error("opencl: there is no platform %d; %u found: %s", pi, np, names);
  }
  d->platform = plats[pi];
  nn__cl_info_str(d->platform, NULL, CL_PLATFORM_NAME, d->platform_name, sizeof d->platform_name);
  e = clGetDeviceIDs(d->platform, CL_DEVICE_TYPE_ALL, 64, devs, &nd);
  if (e == CL_DEVICE_NOT_FOUND) nd = 0;
  else if (e != CL_SUCCESS) return nn_set_error("opencl: clGetDeviceIDs on platform %d ('%s') failed: %s (%d)", pi, d->platform_name, nn__cl_status(e), (int)e);
  if (nd > 64) nd = 64;
  if ((cl_uint)di >= nd)
    return nn_set_error("opencl: platform %d ('%s') has %u device%s; there is no device %d", pi, d->platform_name, nd,
                    nd == 1 ? "" : "s", di);
  d->device = devs[di];
  d->platform_index = pi;
  d->device_index = di;
  nn__cl_info_str(NULL, d->device, CL_DEVICE_NAME, d->name, sizeof d->name);
  nn__cl_info_str(NULL, d->device, CL_DRIVER_VERSION, d->driver, sizeof d->driver);
  return 1;
}

/* ======================================================================
   The program: built from the embedded sources, or loaded from the
   disk cache (a file per device + driver + source hash)
   ====================================================================== */
static uint64_t nn__cl_fnv(uint64_t h, const char *s) {
  for (; *s; s++) { h ^= (unsigned char)*s; h *= 0x100000001B3ULL; }
  return h ^ 0xff;   /* separates consecutive strings */
}

static void nn__cl_cache_path(nn__cl_dev *d, const nn_opencl_config *c, const char *options) {
  const char *dir = c->cache_dir, *env;
  char pver[128], dver[128];
  uint64_t h = 0xCBF29CE484222325ULL;
  const char *const *src;
  size_t nsrc, i;
  char base[400];
  d->cache_file[0] = 0;
  if (!dir) {
    if ((env = getenv("NN_OPENCL_CACHE_DIR")) != NULL) dir = env;
    else if ((env = getenv("XDG_CACHE_HOME")) != NULL && *env) { snprintf(base, sizeof base, "%s/nn_opencl", env); dir = base; }
    else if ((env = getenv("HOME")) != NULL && *env) { snprintf(base, sizeof base, "%s/.cache/nn_opencl", env); dir = base; }
    else return;
  }
  if (!*dir) return;
  nn__cl_info_str(d->platform, NULL, CL_PLATFORM_VERSION, pver, sizeof pver);
  nn__cl_info_str(NULL, d->device, CL_DEVICE_VERSION, dver, sizeof dver);
  h = nn__cl_fnv(h, d->platform_name);
  h = nn__cl_fnv(h, pver);
  h = nn__cl_fnv(h, d->name);
  h = nn__cl_fnv(h, dver);
  h = nn__cl_fnv(h, d->driver);
  h = nn__cl_fnv(h, options);
  for (src = nn__cl_sources(&nsrc), i = 0; i < nsrc; i++) h = nn__cl_fnv(h, src[i]);
  if (c->extra_source) h = nn__cl_fnv(h, c->extra_source);
  snprintf(d->cache_file, sizeof d->cache_file, "%s/kernels-%016llx.bin", dir, (unsigned long long)h);
}

/* mkdir -p of the directory part of path */
static void nn__cl_make_dirs(const char *path) {
  char buf[512];
  size_t i;
  snprintf(buf, sizeof buf, "%s", path);
  for (i = 1; buf[i]; i++)
    if (buf[i] == '/') {
      buf[i] = 0;
      NN__CL_MKDIR(buf);
      buf[i] = '/';
    }
}

static int nn__cl_load_cached(nn__cl_dev *d, const char *options) {
  FILE *f;
  long size;
  unsigned char *bin;
  const unsigned char *bins[1];
  size_t len;
  cl_int e, status;
  if (!d->cache_file[0] || !(f = fopen(d->cache_file, "rb"))) return 0;
  if (fseek(f, 0, SEEK_END) != 0 || (size = ftell(f)) <= 0 || fseek(f, 0, SEEK_SET) != 0) { fclose(f); return 0; }
  bin = (unsigned char *)NN_MALLOC((size_t)size);
  if (!bin || fread(bin, 1, (size_t)size, f) != (size_t)size) { fclose(f); NN_FREE(bin); return 0; }
  fclose(f);
  len = (size_t)size;
  bins[0] = bin;
  d->prog = clCreateProgramWithBinary(d->ctx, 1, &d->device, &len, bins, &status, &e);
  NN_FREE(bin);
  if (e == CL_SUCCESS && status == CL_SUCCESS && clBuildProgram(d->prog, 1, &d->device, options, NULL, NULL) == CL_SUCCESS)
    return 1;
  if (d->prog) clReleaseProgram(d->prog);   /* stale or foreign: rebuild */
  d->prog = NULL;
  return 0;
}

static void nn__cl_store_cached(nn__cl_dev *d) {
  size_t size = 0;
  unsigned char *bin;
  char tmp[530];
  FILE *f;
  int ok;
  if (!d->cache_file[0] || clGetProgramInfo(d->prog, CL_PROGRAM_BINARY_SIZES, sizeof size, &size, NULL) != CL_SUCCESS ||
      size == 0 || !(bin = (unsigned char *)NN_MALLOC(size)))
    return;
  if (clGetProgramInfo(d->prog, CL_PROGRAM_BINARIES, sizeof bin, &bin, NULL) == CL_SUCCESS) {
    nn__cl_make_dirs(d->cache_file);
    snprintf(tmp, sizeof tmp, "%s.tmp", d->cache_file);
    if ((f = fopen(tmp, "wb")) != NULL) {   /* another process may read the old one meanwhile */
      ok = fwrite(bin, 1, size, f) == size;
      ok = fclose(f) == 0 && ok;
      remove(d->cache_file);
      if (!ok || rename(tmp, d->cache_file) != 0) remove(tmp);
    }
  }
  NN_FREE(bin);
}

static int nn__cl_build(nn__cl_dev *d, const nn_opencl_config *c) {
  const char *extra = getenv("NN_OPENCL_BUILD_OPTIONS");
  char options[256];
  size_t nsrc, i;
  const char *const *lines = nn__cl_sources(&nsrc);
  const char **src;
  cl_int e;
  snprintf(options, sizeof options, "-cl-std=CL1.2 -DNN_GW=%d %s", (int)d->gemm_side, extra ? extra : "");
  nn__cl_cache_path(d, c, options);
  if (nn__cl_load_cached(d, options)) { d->from_cache = 1; return 1; }
  src = (const char **)NN_MALLOC((nsrc + 1) * sizeof *src);
  if (!src) return nn_set_error("out of memory");
  for (i = 0; i < nsrc; i++) src[i] = lines[i];
  if (c->extra_source) src[nsrc++] = c->extra_source;
  d->prog = clCreateProgramWithSource(d->ctx, (cl_uint)nsrc, src, NULL, &e);
  NN_FREE(src);
  if (e != CL_SUCCESS) return nn__cl_fail(d, "clCreateProgramWithSource", e);
  e = clBuildProgram(d->prog, 1, &d->device, options, NULL, NULL);
  if (e != CL_SUCCESS) {
    char log[2048];
    size_t len = 0;
    log[0] = 0;
    clGetProgramBuildInfo(d->prog, d->device, CL_PROGRAM_BUILD_LOG, sizeof log, log, &len);
    log[sizeof log - 1] = 0;
    return nn_set_error("opencl [%s]: building the kernels failed: %s (%d); build log:\n%s", d->name, nn__cl_status(e), (int)e, log);
  }
  nn__cl_store_cached(d);
  return 1;
}

/* ======================================================================
   Opening a device: context, queue, program, kernels, limits, CLBlast
   ====================================================================== */
static int nn__cl_open(nn__cl_dev *d, const nn_opencl_config *c) {
  const char *cap;
  cl_int e;
  size_t wg = NN__CL_MAX_WG, item[3] = {0, 0, 0}, kwg;
  cl_ulong local_mem = 0;
  cl_device_type type = 0;
  int i;
  d->ctx = clCreateContext(NULL, 1, &d->device, NULL, NULL, &e);
  if (e != CL_SUCCESS) return nn__cl_fail(d, "clCreateContext", e);
  d->q = clCreateCommandQueue(d->ctx, d->device, 0, &e);
  if (e != CL_SUCCESS) return nn__cl_fail(d, "clCreateCommandQueue", e);
  clGetDeviceInfo(d->device, CL_DEVICE_MAX_MEM_ALLOC_SIZE, sizeof d->max_alloc, &d->max_alloc, NULL);
  clGetDeviceInfo(d->device, CL_DEVICE_GLOBAL_MEM_SIZE, sizeof d->global_mem, &d->global_mem, NULL);
  clGetDeviceInfo(d->device, CL_DEVICE_LOCAL_MEM_SIZE, sizeof local_mem, &local_mem, NULL);
  clGetDeviceInfo(d->device, CL_DEVICE_MAX_WORK_GROUP_SIZE, sizeof kwg, &kwg, NULL);
  clGetDeviceInfo(d->device, CL_DEVICE_MAX_WORK_ITEM_SIZES, sizeof item, item, NULL);
  if (clGetDeviceInfo(d->device, CL_DEVICE_MAX_COMPUTE_UNITS, sizeof d->compute_units, &d->compute_units, NULL) != CL_SUCCESS ||
      !d->compute_units)
    d->compute_units = 1;
  if (kwg < wg) wg = kwg;
  if (item[0] && item[0] < wg) wg = item[0];
  if ((cap = getenv("NN_OPENCL_MAX_WORK_GROUP")) != NULL && atoi(cap) >= 1 && (size_t)atoi(cap) < wg) wg = (size_t)atoi(cap);
  for (d->gemm_side = 16; d->gemm_side > 1 && d->gemm_side * d->gemm_side > wg; d->gemm_side /= 2) {}
  if (!nn__cl_build(d, c)) return 0;
  for (i = 0; i < NN__CL_K_COUNT; i++) {
    d->k[i] = clCreateKernel(d->prog, nn__cl_kernel_names[i], &e);
    d->kernels_created++;
    if (e != CL_SUCCESS) return nn__cl_fail(d, nn__cl_kernel_names[i], e);
    if (clGetKernelWorkGroupInfo(d->k[i], d->device, CL_KERNEL_WORK_GROUP_SIZE, sizeof kwg, &kwg, NULL) != CL_SUCCESS)
      continue;
    if (i == NN__CL_K_gemm)   /* else CLBlast does all */
      d->own_gemm = kwg >= d->gemm_side * d->gemm_side && item[0] >= d->gemm_side && item[1] >= d->gemm_side;
    else if (kwg < wg) wg = kwg;
  }
  while (wg > 1 && (size_t)local_mem < wg * sizeof(float)) wg /= 2;   /* one float per work-item */
  for (d->wg = 1; d->wg * 2 <= wg; d->wg *= 2) {}
  /* a CPU runtime vectorises across work-items and has no local memory
     to gain from (Oclgrind claims every type: it runs the tiled steps) */
  d->rec_cpu = clGetDeviceInfo(d->device, CL_DEVICE_TYPE, sizeof type, &type, NULL) == CL_SUCCESS &&
               (type & CL_DEVICE_TYPE_CPU) && !(type & CL_DEVICE_TYPE_GPU);
  for (d->rec_tile = 1; d->rec_tile < 16 && 4 * d->rec_tile * d->rec_tile <= d->wg && 2 * d->rec_tile <= item[1];
       d->rec_tile *= 2) {}
  d->scratch_cap = (c->scratch_mb ? c->scratch_mb : 256) * (1024 * 1024 / sizeof(float));
  if (!(d->partials = nn__cl_new_mem(d, NN__CL_PARTIALS * sizeof(float)))) return 0;
  if (c->clblast_fill_cache) {
    CLBlastStatusCode s = CLBlastFillCache(d->device);
    if (s != CLBlastSuccess) return nn__cl_fail(d, "CLBlastFillCache", s);
  } else {  /* compiles CLBlast's GEMM program now rather than in the first step */
    CLBlastStatusCode s = CLBlastSgemm(CLBlastLayoutRowMajor, CLBlastTransposeNo, CLBlastTransposeNo, 1, 1, 1, 1.0f,
                                       d->partials, 0, 1, d->partials, 1, 1, 0.0f, d->partials, 2, 1, &d->q, NULL);
    if (s != CLBlastSuccess) return nn__cl_fail(d, "CLBlastSgemm (warm-up)", s);
  }
  if ((e = clFinish(d->q)) != CL_SUCCESS) return nn__cl_fail(d, "clFinish (start-up)", e);
  return 1;
}

static nn__cl_dev *nn__cl_get_dev(const nn_opencl_config *c) {
  nn__cl_dev *d = (nn__cl_dev *)nn__cl_zalloc(sizeof *d), *s;
  if (!d) return NULL;
  if (!nn__cl_pick(c->platform, c->device, d)) { NN_FREE(d); return NULL; }
  d->shared = c->extra_source == NULL;
  if (d->shared)
    for (s = nn__cl_devs; s; s = s->next)
      if (s->device == d->device) { NN_FREE(d); s->refs++; return s; }
  if (!nn__cl_open(d, c)) { nn__cl_dev_release(d); return NULL; }
  d->refs = 1;
  if (d->shared) { d->next = nn__cl_devs; nn__cl_devs = d; }
  return d;
}
static void nn__cl_put_dev(nn__cl_dev *d) {
  nn__cl_dev **p;
  if (--d->refs > 0) return;
  for (p = &nn__cl_devs; *p; p = &(*p)->next)
    if (*p == d) { *p = d->next; break; }
  clFinish(d->q);
  nn__cl_dev_release(d);
}

/* ======================================================================
   Launching kernels
   ====================================================================== */
typedef struct nn__cl_call { nn__cl_impl *I; int kid; cl_uint arg; cl_int err; } nn__cl_call;

static nn__cl_call nn__cl_begin(nn__cl_impl *I, int kid) {
  nn__cl_call c;
  c.I = I; c.kid = kid; c.arg = 0; c.err = CL_SUCCESS;
  return c;
}
static void nn__cl_set(nn__cl_call *c, size_t size, const void *v) {
  cl_int e = clSetKernelArg(c->I->dev->k[c->kid], c->arg++, size, v);
  if (c->err == CL_SUCCESS) c->err = e;
}
static void nn__cl_ai(nn__cl_call *c, int v) { nn__cl_set(c, sizeof v, &v); }
static void nn__cl_au(nn__cl_call *c, cl_uint v) { nn__cl_set(c, sizeof v, &v); }
static void nn__cl_af(nn__cl_call *c, float v) { nn__cl_set(c, sizeof v, &v); }
static void nn__cl_am(nn__cl_call *c, cl_mem v) { nn__cl_set(c, sizeof v, &v); }
static void nn__cl_al(nn__cl_call *c, size_t local) { nn__cl_set(c, local * sizeof(float), NULL); }

/* a launch of `dims` dimensions, each global size rounded up to whole
   work-groups of `local` */
static int nn__cl_launch(nn__cl_call *c, cl_uint dims, size_t *global, const size_t *local) {
  nn__cl_dev *d = c->I->dev;
  char what[160];
  cl_uint i;
  for (i = 0; i < dims; i++) global[i] = (global[i] + local[i] - 1) / local[i] * local[i];
  if (c->err == CL_SUCCESS)
    c->err = clEnqueueNDRangeKernel(d->q, d->k[c->kid], dims, NULL, global, local, 0, NULL, NULL);
  c->I->launches++;
  if (c->err == CL_SUCCESS) return 1;
  snprintf(what, sizeof what, "kernel %s (%s)", nn__cl_kernel_names[c->kid], c->I->what);
  return nn__cl_fail(d, what, c->err);
}
static int nn__cl_go(nn__cl_call *c, size_t global, size_t local) { return nn__cl_launch(c, 1, &global, &local); }
static int nn__cl_elems(nn__cl_call *c, size_t n) { return nn__cl_go(c, n ? n : 1, c->I->dev->wg); }
/* one work-group per row of `len` elements: the smallest power of two
   that covers a row, within the device's limit */
static size_t nn__cl_row_local(const nn__cl_dev *d, size_t len) {
  size_t l = 8;
  while (l < len && l < d->wg) l *= 2;
  return l < d->wg ? l : d->wg;
}
static int nn__cl_groups(nn__cl_call *c, size_t groups, size_t local) { return nn__cl_go(c, groups * local, local); }
/* work-groups (or work-items) per segment of a two-level reduction over
   `count` elements each: about 8 elements per work-item, so that a few
   channels or columns still fill the device, at most NN__CL_PARTIALS */
static int nn__cl_split(size_t count, size_t local) {
  size_t g = (count + 8 * local - 1) / (8 * local);
  return g < 1 ? 1 : g > NN__CL_PARTIALS ? NN__CL_PARTIALS : (int)g;
}

/* How many slices of K nn_gemm splits a product into: enough work-groups
   for about 4 per compute unit when M x N has fewer tiles than that, each
   slice at least NN__CL_GEMM_MIN_KC long (shorter ones spend more on
   writing and summing partial products than they gain) and all the
   slices' partial products in NN__CL_GEMM_MAX_SPLIT floats. */
#define NN__CL_GEMM_MIN_KC 256
#define NN__CL_GEMM_MAX_SPLIT (64u << 20)
static size_t nn__cl_gemm_slices(const nn__cl_dev *d, size_t M, size_t N, size_t K) {
  size_t tile = 4 * d->gemm_side, tiles = ((M + tile - 1) / tile) * ((N + tile - 1) / tile), want = 4 * (size_t)d->compute_units;
  size_t s = tiles >= want ? 1 : (want + tiles - 1) / tiles;
  if (!tiles) return 1;
  if (s > K / NN__CL_GEMM_MIN_KC) s = K / NN__CL_GEMM_MIN_KC;
  if (s > NN__CL_GEMM_MAX_SPLIT / (M * N)) s = NN__CL_GEMM_MAX_SPLIT / (M * N);
  return s < 1 ? 1 : s;
}
/* C = alpha op(A) op(B) + beta C, row-major, through nn_gemm, K in `slices`
   slices (1: C directly; more: partial products in scratch, summed by
   nn_gemm_sum) */
static int nn__cl_gemm_split(nn__cl_impl *I, size_t slices, int ta, int tb, size_t M, size_t N, size_t K, float alpha,
                             cl_mem A, size_t ao, size_t lda, cl_mem B, size_t bo, size_t ldb, float beta, cl_mem C,
                             size_t co, size_t ldc) {
  nn__cl_dev *d = I->dev;
  size_t side = d->gemm_side, global[3], local[3], kc = K;
  cl_mem part = NULL;
  nn__cl_call k;
  if (slices > 1) {
    kc = ((K + slices - 1) / slices + side - 1) / side * side;   /* whole steps of K per slice */
    slices = (K + kc - 1) / kc;
  }
  if (slices > 1 && !(part = nn__cl_scratch(d, NN__CL_SCRATCH_GEMM, slices * M * N))) return 0;
  k = nn__cl_begin(I, NN__CL_K_gemm);
  local[0] = local[1] = side;
  local[2] = 1;
  global[0] = (N + 4 * side - 1) / (4 * side) * side;
  global[1] = (M + 4 * side - 1) / (4 * side) * side;
  global[2] = slices;
  nn__cl_ai(&k, (int)M); nn__cl_ai(&k, (int)N); nn__cl_ai(&k, (int)K); nn__cl_ai(&k, (int)kc); nn__cl_ai(&k, ta);
  nn__cl_ai(&k, tb); nn__cl_af(&k, part ? 1.0f : alpha); nn__cl_am(&k, A); nn__cl_ai(&k, (int)ao); nn__cl_ai(&k, (int)lda);
  nn__cl_am(&k, B); nn__cl_ai(&k, (int)bo); nn__cl_ai(&k, (int)ldb); nn__cl_af(&k, part ? 0.0f : beta);
  nn__cl_am(&k, part ? part : C); nn__cl_ai(&k, part ? 0 : (int)co); nn__cl_ai(&k, part ? (int)N : (int)ldc);
  nn__cl_ai(&k, part ? (int)(M * N) : 0);
  if (!nn__cl_launch(&k, 3, global, local)) return 0;
  if (!part) return 1;
  k = nn__cl_begin(I, NN__CL_K_gemm_sum);
  nn__cl_ai(&k, (int)M); nn__cl_ai(&k, (int)N); nn__cl_ai(&k, (int)slices); nn__cl_am(&k, part); nn__cl_af(&k, alpha);
  nn__cl_af(&k, beta); nn__cl_am(&k, C); nn__cl_ai(&k, (int)co); nn__cl_ai(&k, (int)ldc);
  return nn__cl_elems(&k, M * N);
}
/* the same, split as nn__cl_gemm_slices chooses */
static int nn__cl_gemm_own(nn__cl_impl *I, int ta, int tb, size_t M, size_t N, size_t K, float alpha, cl_mem A, size_t ao,
                           size_t lda, cl_mem B, size_t bo, size_t ldb, float beta, cl_mem C, size_t co, size_t ldc) {
  return nn__cl_gemm_split(I, nn__cl_gemm_slices(I->dev, M, N, K), ta, tb, M, N, K, alpha, A, ao, lda, B, bo, ldb, beta,
                           C, co, ldc);
}
/* the same through CLBlast */
static int nn__cl_gemm_clblast(nn__cl_impl *I, int ta, int tb, size_t M, size_t N, size_t K, float alpha, cl_mem A,
                               size_t ao, size_t lda, cl_mem B, size_t bo, size_t ldb, float beta, cl_mem C, size_t co,
                               size_t ldc) {
  CLBlastStatusCode s = CLBlastSgemm(CLBlastLayoutRowMajor, ta ? CLBlastTransposeYes : CLBlastTransposeNo,
                                     tb ? CLBlastTransposeYes : CLBlastTransposeNo, M, N, K, alpha, A, ao, lda, B, bo,
                                     ldb, beta, C, co, ldc, &I->dev->q, NULL);
  char what[200];
  I->clblast_calls++;
  if (s == CLBlastSuccess) return 1;
  snprintf(what, sizeof what, "CLBlastSgemm %zux%zux%zu (%s)", M, N, K, I->what);
  return nn__cl_fail(I->dev, what, s);
}
/* products to nn_gemm, past NN_OPENCL_CLBLAST_MIN_MNK to CLBlast */
static int nn__cl_gemm(nn__cl_impl *I, int ta, int tb, size_t M, size_t N, size_t K, float alpha, cl_mem A, size_t ao,
                       size_t lda, cl_mem B, size_t bo, size_t ldb, float beta, cl_mem C, size_t co, size_t ldc) {
  int own = I->dev->own_gemm && (double)M * N * K < (double)NN_OPENCL_CLBLAST_MIN_MNK;
  return (own ? nn__cl_gemm_own : nn__cl_gemm_clblast)(I, ta, tb, M, N, K, alpha, A, ao, lda, B, bo, ldb, beta, C, co, ldc);
}

/* out[0] = scale * sum of x[0..n) (mode 0) or of squares (mode 1) */
static size_t nn__cl_sum_groups(const nn__cl_dev *d, size_t n) {
  size_t groups = (n + d->wg - 1) / d->wg;
  return groups < 1 ? 1 : groups > NN__CL_PARTIALS ? NN__CL_PARTIALS : groups;
}
static int nn__cl_sum(nn__cl_impl *I, cl_mem x, size_t n, int mode, float scale, cl_mem out) {
  nn__cl_dev *d = I->dev;
  size_t groups = nn__cl_sum_groups(d, n);
  nn__cl_call c;
  c = nn__cl_begin(I, NN__CL_K_sum_partial);
  nn__cl_ai(&c, (int)n); nn__cl_ai(&c, mode); nn__cl_am(&c, x); nn__cl_am(&c, d->partials); nn__cl_ai(&c, 0); nn__cl_al(&c, d->wg);
  if (!nn__cl_groups(&c, groups, d->wg)) return 0;
  c = nn__cl_begin(I, NN__CL_K_sum_final);
  nn__cl_ai(&c, (int)groups); nn__cl_af(&c, scale); nn__cl_am(&c, d->partials); nn__cl_am(&c, out); nn__cl_al(&c, d->wg);
  return nn__cl_groups(&c, 1, d->wg);
}

/* out[i] (+)= the sum of part[poff + i*G ...][G], for i < n */
static int nn__cl_seg_sum(nn__cl_impl *I, size_t n, int G, cl_mem part, size_t poff, cl_mem out, int acc) {
  nn__cl_call k = nn__cl_begin(I, NN__CL_K_seg_sum);
  nn__cl_ai(&k, (int)n); nn__cl_ai(&k, G); nn__cl_am(&k, part); nn__cl_ai(&k, (int)poff); nn__cl_am(&k, out); nn__cl_ai(&k, acc);
  return nn__cl_elems(&k, n);
}

/* ---- host copies of written buffers (nn__cl_host) ---- */
static nn__cl_host *nn__cl_host_find(nn__cl_impl *I, cl_mem mem) {
  int i;
  for (i = 0; i < I->n_host; i++) if (I->host[i].mem == mem) return &I->host[i];
  return NULL;
}
/* the entry of mem with room for n floats, its last write done */
static nn__cl_host *nn__cl_host_get(nn__cl_impl *I, cl_mem mem, size_t n) {
  nn__cl_host *h = nn__cl_host_find(I, mem);
  if (!h) {
    if (I->n_host == I->cap_host) {
      int cap = I->cap_host ? 2 * I->cap_host : 8;
      nn__cl_host *p = (nn__cl_host *)NN_REALLOC(I->host, (size_t)cap * sizeof *p);
      if (!p) { nn_set_error("out of memory"); return NULL; }
      I->host = p;
      I->cap_host = cap;
    }
    h = &I->host[I->n_host++];
    memset(h, 0, sizeof *h);
    h->mem = mem;
  }
  if (h->sent) { clWaitForEvents(1, &h->sent); clReleaseEvent(h->sent); h->sent = NULL; }
  if (h->cap < n) {
    float *p = (float *)NN_REALLOC(h->data, n * sizeof(float));
    if (!p) { nn_set_error("out of memory"); return NULL; }
    h->data = p;
    h->cap = n;
  }
  return h;
}
static void nn__cl_host_drop(nn__cl_impl *I, nn__cl_host *h) {
  if (h->sent) { clWaitForEvents(1, &h->sent); clReleaseEvent(h->sent); }
  NN_FREE(h->data);
  *h = I->host[--I->n_host];
}
/* after a wait for the whole queue: every write is done; copies that no
   check reads go */
static void nn__cl_settle(nn__cl_impl *I) {
  int i;
  for (i = I->n_host - 1; i >= 0; i--) {
    if (!I->host[i].keep) nn__cl_host_drop(I, &I->host[i]);
    else if (I->host[i].sent) { clReleaseEvent(I->host[i].sent); I->host[i].sent = NULL; }
  }
  I->staged = 0;
}
/* a blocking read of n floats of mem from float offset off */
static int nn__cl_read_now(nn__cl_impl *I, cl_mem mem, size_t off, float *dst, size_t n) {
  cl_int e = clEnqueueReadBuffer(I->dev->q, mem, CL_TRUE, off * sizeof(float), n * sizeof(float), dst, 0, NULL, NULL);
  if (e != CL_SUCCESS) return nn__cl_fail(I->dev, "clEnqueueReadBuffer", e);
  I->to_host += n * sizeof(float);
  I->reads++;
  I->blocking++;
  nn__cl_settle(I);
  return 1;
}
/* the first n floats of an input as the host wrote them; read from the
   device (once: later writes keep their copy) if the host has none */
static const float *nn__cl_host_values(nn__cl_impl *I, cl_mem mem, size_t n) {
  nn__cl_host *h = nn__cl_host_find(I, mem);
  if (h && h->n >= n) { h->keep = 1; return h->data; }
  if (!(h = nn__cl_host_get(I, mem, n))) return NULL;
  h->keep = 1;
  h->n = 0;
  if (!nn__cl_read_now(I, mem, 0, h->data, n)) return NULL;
  h = nn__cl_host_find(I, mem);
  h->n = n;
  return h->data;
}
/* the first of v[0..n) that is not a whole number in 0..hi-1; -1: none */
static long nn__cl_first_bad(const float *v, size_t n, float hi) {
  size_t i;
  for (i = 0; i < n; i++)
    if (!(v[i] >= 0.0f && v[i] < hi) || v[i] != floorf(v[i])) return (long)i;
  return -1;
}

/* ======================================================================
   Ops: the device version of every op of nn.h's NN_OPS list.  Each op's
   block reads its attributes, runs forward and backward, says what
   workspace it keeps, and ends in its row of the op table.
   ====================================================================== */
typedef struct nn__cl_ctx {
  nn__cl_impl *I;
  nn_model *m;
  const nn_node *node;
  int n, training;
  cl_mem x[NN_MAX_INPUTS], dx[NN_MAX_INPUTS], y, dy, ws;
} nn__cl_ctx;

/* An op's device block ends in its row, NN__CL_OP(name) = {forward,
   backward, workspace};  The row's variable is named as the compiler's
   complaint should read when an op of NN_OPS has no device block:
   "'nn__opencl_has_no_kernel_for_<name>' undeclared". */
typedef struct nn__cl_op {
  int (*forward)(nn__cl_ctx *c);    /* NULL: nothing to compute */
  int (*backward)(nn__cl_ctx *c);
  /* floats the op's kernels keep from forward to backward for batches up
     to `batch` (temporaries use nn__cl_scratch instead); NULL: none */
  size_t (*workspace)(const nn_node *node, int batch);
} nn__cl_op;
#define NN__CL_OP(name) static const nn__cl_op nn__opencl_has_no_kernel_for_##name
/* forward and backward of ops that share one function f(c, kernel,
   backward), each with its own pair of kernels */
#define NN__CL_SHARED(name, f, fk, bk)                                               \
  static int nn__cl_##name##_fwd(nn__cl_ctx *c) { return f(c, NN__CL_K_##fk, 0); }   \
  static int nn__cl_##name##_bwd(nn__cl_ctx *c) { return f(c, NN__CL_K_##bk, 1); }

static size_t nn__cl_per(const nn_node *n) { return nn_shape_numel(&n->shape); }
#define NN__CL_LAST(n) ((n)->shape.dim[(n)->shape.ndim - 1])
#define NN__CL_IN(c, i) ((c)->node->in[i])
static size_t nn__cl_len(const nn__cl_ctx *c, const nn_node *n) { return n->batched ? (size_t)c->n * nn__cl_per(n) : nn__cl_per(n); }
/* a workspace of one float per output element of each sample */
static size_t nn__cl_ws_per_output(const nn_node *n, int batch) { return (size_t)batch * nn__cl_per(n); }

/* zeros n floats of buf from float offset off */
static int nn__cl_fill_mem(nn__cl_impl *I, cl_mem buf, size_t off, size_t n) {
  cl_int e = nn__cl_fill_dev(I->dev, buf, off, n, 0.0f);
  I->launches += n > 0;
  return e == CL_SUCCESS ? 1 : nn__cl_fail(I->dev, I->what, e);
}

/* a 1-D kernel over n elements with arguments (n, a, b[, o]) */
static int nn__cl_map(nn__cl_ctx *c, int kid, size_t n, cl_mem a, cl_mem b, cl_mem o) {
  nn__cl_call k = nn__cl_begin(c->I, kid);
  nn__cl_ai(&k, (int)n); nn__cl_am(&k, a); nn__cl_am(&k, b);
  if (o) nn__cl_am(&k, o);
  return nn__cl_elems(&k, n);
}

/* ---- leaves and reshape: nothing to run (reshape shares its input's
   buffers) ---- */
NN__CL_OP(input) = {NULL, NULL, NULL};
NN__CL_OP(param) = {NULL, NULL, NULL};
NN__CL_OP(reshape) = {NULL, NULL, NULL};

/* Parameter gradients as two-level sums (nn_col_partial, nn_chan_partial,
   then nn_seg_sum or batch norm's own second level), the partial sums in
   scratch space 3 (the recurrent layers use 0..3, but not these).
   Column sums of dy [rows, cols] into sum_dy; with x (layer norm) also of
   dy * xhat into sum_dyx; each may be NULL. */
static int nn__cl_col_sums(nn__cl_ctx *c, size_t rows, size_t cols, cl_mem x, cl_mem sum_dy, cl_mem sum_dyx) {
  int G = nn__cl_split(rows, 1);
  cl_mem part = nn__cl_scratch(c->I->dev, 3, (x ? 2 : 1) * cols * (size_t)G);
  nn__cl_call k = nn__cl_begin(c->I, NN__CL_K_col_partial);
  if (!part) return 0;
  nn__cl_ai(&k, (int)rows); nn__cl_ai(&k, (int)cols); nn__cl_ai(&k, G); nn__cl_am(&k, c->dy); nn__cl_am(&k, x);
  nn__cl_am(&k, x ? c->ws : NULL); nn__cl_am(&k, part);
  return nn__cl_elems(&k, (size_t)G * cols) && (!sum_dy || nn__cl_seg_sum(c->I, cols, G, part, 0, sum_dy, 1)) &&
         (!sum_dyx || nn__cl_seg_sum(c->I, cols, G, part, cols * (size_t)G, sum_dyx, 1));
}
/* per channel of dy [n, C, S]: G partial sums of dy and, with x (batch
   norm), of dy * xhat; returns the partials, G in *G */
static cl_mem nn__cl_chan_partial(nn__cl_ctx *c, int C, int S, cl_mem x, int *G) {
  nn__cl_dev *d = c->I->dev;
  cl_mem part;
  nn__cl_call k;
  *G = nn__cl_split((size_t)c->n * S, d->wg);
  if (!(part = nn__cl_scratch(d, 3, (x ? 2 : 1) * (size_t)C * *G))) return NULL;
  k = nn__cl_begin(c->I, NN__CL_K_chan_partial);
  nn__cl_ai(&k, c->n); nn__cl_ai(&k, C); nn__cl_ai(&k, S); nn__cl_ai(&k, *G); nn__cl_am(&k, c->dy); nn__cl_am(&k, x);
  nn__cl_am(&k, x ? c->ws : NULL); nn__cl_am(&k, part); nn__cl_al(&k, d->wg);
  return nn__cl_groups(&k, (size_t)C * *G, d->wg) ? part : NULL;
}

/* ---- dense: y = x W^T + b over the last dimension ---- */
static int nn__cl_dense_fwd(nn__cl_ctx *c) {
  size_t in = (size_t)NN__CL_LAST(NN__CL_IN(c, 0)), out = (size_t)NN__CL_LAST(c->node), rows = nn__cl_len(c, NN__CL_IN(c, 0)) / in;
  nn__cl_call k;
  if (!nn__cl_gemm(c->I, 0, 1, rows, out, in, 1.0f, c->x[0], 0, in, c->x[1], 0, in, 0.0f, c->y, 0, out)) return 0;
  if (!c->x[2]) return 1;
  k = nn__cl_begin(c->I, NN__CL_K_bias_rows);
  nn__cl_ai(&k, (int)(rows * out)); nn__cl_ai(&k, (int)out); nn__cl_am(&k, c->x[2]); nn__cl_am(&k, c->y);
  return nn__cl_elems(&k, rows * out);
}
static int nn__cl_dense_bwd(nn__cl_ctx *c) {
  size_t in = (size_t)NN__CL_LAST(NN__CL_IN(c, 0)), out = (size_t)NN__CL_LAST(c->node), rows = nn__cl_len(c, NN__CL_IN(c, 0)) / in;
  if (c->dx[0] && !nn__cl_gemm(c->I, 0, 0, rows, in, out, 1.0f, c->dy, 0, out, c->x[1], 0, in, 1.0f, c->dx[0], 0, in)) return 0;
  if (c->dx[1] && !nn__cl_gemm(c->I, 1, 0, out, in, rows, 1.0f, c->dy, 0, out, c->x[0], 0, in, 1.0f, c->dx[1], 0, in)) return 0;
  return !c->dx[2] || nn__cl_col_sums(c, rows, out, NULL, c->dx[2], NULL);
}
NN__CL_OP(dense) = {nn__cl_dense_fwd, nn__cl_dense_bwd, NULL};

/* ---- conv2d: chunks of samples lowered to col[K, nb*P] in scratch
   space, one GEMM each; nothing is kept between the passes ---- */
static int nn__cl_conv_chunk(const nn__cl_ctx *c, const nn_conv2d_dims *d) {
  size_t per = (size_t)(d->K + d->O) * d->P, nb = c->I->dev->scratch_cap / (per ? per : 1);
  if (nb < 1) nb = 1;
  if (nb > (size_t)c->m->max_batch) nb = (size_t)c->m->max_batch;
  return (int)nb;
}
/* col = the lowered images b0 .. b0 + cnt of src (conv2d's input, or the
   output gradient of a conv2d_transpose) */
static int nn__cl_im2col(nn__cl_ctx *c, const nn_conv2d_dims *d, cl_mem src, int b0, int cnt, cl_mem col) {
  nn__cl_call k = nn__cl_begin(c->I, NN__CL_K_im2col);
  size_t total = (size_t)d->K * cnt * d->P;
  nn__cl_ai(&k, (int)total); nn__cl_ai(&k, cnt * d->P); nn__cl_ai(&k, d->P); nn__cl_ai(&k, d->OW); nn__cl_ai(&k, d->C);
  nn__cl_ai(&k, d->H); nn__cl_ai(&k, d->W); nn__cl_ai(&k, d->kh); nn__cl_ai(&k, d->kw); nn__cl_ai(&k, d->s); nn__cl_ai(&k, d->p);
  nn__cl_am(&k, src); nn__cl_ai(&k, b0 * d->C * d->H * d->W); nn__cl_am(&k, col);
  return nn__cl_elems(&k, total);
}
static int nn__cl_conv_fwd(nn__cl_ctx *c) {
  nn_conv2d_dims d = nn_conv2d_dims_of(c->node);
  int nb = nn__cl_conv_chunk(c, &d), b0;
  cl_mem col = nn__cl_scratch(c->I->dev, 0, (size_t)d.K * nb * d.P), out = nn__cl_scratch(c->I->dev, 1, (size_t)d.O * nb * d.P);
  if (!col || !out) return 0;
  for (b0 = 0; b0 < c->n; b0 += nb) {
    int cnt = c->n - b0 < nb ? c->n - b0 : nb;
    size_t np = (size_t)cnt * d.P, total = (size_t)d.O * np;
    nn__cl_call k;
    if (!nn__cl_im2col(c, &d, c->x[0], b0, cnt, col) ||
        !nn__cl_gemm(c->I, 0, 0, d.O, np, d.K, 1.0f, c->x[1], 0, d.K, col, 0, np, 0.0f, out, 0, np)) return 0;
    k = nn__cl_begin(c->I, NN__CL_K_conv_out);
    nn__cl_ai(&k, (int)total); nn__cl_ai(&k, (int)np); nn__cl_ai(&k, d.P); nn__cl_ai(&k, d.O); nn__cl_am(&k, out);
    nn__cl_am(&k, c->x[2]); nn__cl_am(&k, c->y); nn__cl_ai(&k, b0 * d.O * d.P);
    if (!nn__cl_elems(&k, total)) return 0;
  }
  return 1;
}
static int nn__cl_conv_bwd(nn__cl_ctx *c) {
  nn_conv2d_dims d = nn_conv2d_dims_of(c->node);
  int nb = nn__cl_conv_chunk(c, &d), b0, G;
  cl_mem col, dyt, part;
  nn__cl_call k;
  if (c->dx[0] || c->dx[1]) {
    if (!(col = nn__cl_scratch(c->I->dev, 0, (size_t)d.K * nb * d.P)) || !(dyt = nn__cl_scratch(c->I->dev, 1, (size_t)d.O * nb * d.P)))
      return 0;
    for (b0 = 0; b0 < c->n; b0 += nb) {
      int cnt = c->n - b0 < nb ? c->n - b0 : nb;
      size_t np = (size_t)cnt * d.P, total = (size_t)d.O * np;
      k = nn__cl_begin(c->I, NN__CL_K_conv_dyt);
      nn__cl_ai(&k, (int)total); nn__cl_ai(&k, (int)np); nn__cl_ai(&k, d.P); nn__cl_ai(&k, d.O); nn__cl_am(&k, c->dy);
      nn__cl_ai(&k, b0 * d.O * d.P); nn__cl_am(&k, dyt);
      if (!nn__cl_elems(&k, total)) return 0;
      if (c->dx[1] && (!nn__cl_im2col(c, &d, c->x[0], b0, cnt, col) ||
                       !nn__cl_gemm(c->I, 0, 1, d.O, d.K, np, 1.0f, dyt, 0, np, col, 0, np, 1.0f, c->dx[1], 0, d.K)))
        return 0;
      if (c->dx[0]) {
        total = (size_t)cnt * d.C * d.H * d.W;
        if (!nn__cl_gemm(c->I, 1, 0, d.K, np, d.O, 1.0f, c->x[1], 0, d.K, dyt, 0, np, 0.0f, col, 0, np)) return 0;
        k = nn__cl_begin(c->I, NN__CL_K_col2im_acc);
        nn__cl_ai(&k, (int)total); nn__cl_ai(&k, (int)np); nn__cl_ai(&k, d.P); nn__cl_ai(&k, d.OH); nn__cl_ai(&k, d.OW);
        nn__cl_ai(&k, d.C); nn__cl_ai(&k, d.H); nn__cl_ai(&k, d.W); nn__cl_ai(&k, d.kh); nn__cl_ai(&k, d.kw); nn__cl_ai(&k, d.s);
        nn__cl_ai(&k, d.p); nn__cl_am(&k, col); nn__cl_am(&k, c->dx[0]); nn__cl_ai(&k, b0 * d.C * d.H * d.W);
        if (!nn__cl_elems(&k, total)) return 0;
      }
    }
  }
  if (!c->dx[2]) return 1;
  return (part = nn__cl_chan_partial(c, d.O, d.P, NULL, &G)) != NULL && nn__cl_seg_sum(c->I, (size_t)d.O, G, part, 0, c->dx[2], 1);
}
NN__CL_OP(conv2d) = {nn__cl_conv_fwd, nn__cl_conv_bwd, NULL};

/* ---- conv2d_transpose: the adjoint of the conv2d nn_conv2d_dims_of
   describes, in the same chunks: forward = GEMM with W^T and col2im,
   backward-data = im2col of dy and GEMM, weight gradient = x^T GEMM ---- */
/* xt[o, b*P + q] = src[b0 + b, o, q]: the chunk of a [O, P] tensor as a matrix */
static int nn__cl_convt_rows(nn__cl_ctx *c, const nn_conv2d_dims *d, cl_mem src, int b0, int cnt, cl_mem xt) {
  nn__cl_call k = nn__cl_begin(c->I, NN__CL_K_conv_dyt);
  size_t total = (size_t)d->O * cnt * d->P;
  nn__cl_ai(&k, (int)total); nn__cl_ai(&k, cnt * d->P); nn__cl_ai(&k, d->P); nn__cl_ai(&k, d->O); nn__cl_am(&k, src);
  nn__cl_ai(&k, b0 * d->O * d->P); nn__cl_am(&k, xt);
  return nn__cl_elems(&k, total);
}
static int nn__cl_convt_fwd(nn__cl_ctx *c) {
  nn_conv2d_dims d = nn_conv2d_dims_of(c->node);
  int nb = nn__cl_conv_chunk(c, &d), b0;
  cl_mem col = nn__cl_scratch(c->I->dev, 0, (size_t)d.K * nb * d.P), xt = nn__cl_scratch(c->I->dev, 1, (size_t)d.O * nb * d.P);
  if (!col || !xt) return 0;
  for (b0 = 0; b0 < c->n; b0 += nb) {
    int cnt = c->n - b0 < nb ? c->n - b0 : nb;
    size_t np = (size_t)cnt * d.P, total = (size_t)cnt * d.C * d.H * d.W;
    nn__cl_call k;
    if (!nn__cl_convt_rows(c, &d, c->x[0], b0, cnt, xt) ||
        !nn__cl_gemm(c->I, 1, 0, d.K, np, d.O, 1.0f, c->x[1], 0, d.K, xt, 0, np, 0.0f, col, 0, np)) return 0;
    k = nn__cl_begin(c->I, NN__CL_K_convt_out);
    nn__cl_ai(&k, (int)total); nn__cl_ai(&k, (int)np); nn__cl_ai(&k, d.P); nn__cl_ai(&k, d.OH); nn__cl_ai(&k, d.OW);
    nn__cl_ai(&k, d.C); nn__cl_ai(&k, d.H); nn__cl_ai(&k, d.W); nn__cl_ai(&k, d.kh); nn__cl_ai(&k, d.kw); nn__cl_ai(&k, d.s);
    nn__cl_ai(&k, d.p); nn__cl_am(&k, col); nn__cl_am(&k, c->x[2]); nn__cl_am(&k, c->y); nn__cl_ai(&k, b0 * d.C * d.H * d.W);
    if (!nn__cl_elems(&k, total)) return 0;
  }
  return 1;
}
static int nn__cl_convt_bwd(nn__cl_ctx *c) {
  nn_conv2d_dims d = nn_conv2d_dims_of(c->node);
  int nb = nn__cl_conv_chunk(c, &d), b0, G;
  cl_mem col, xt, part;
  nn__cl_call k;
  if (c->dx[0] || c->dx[1]) {
    if (!(col = nn__cl_scratch(c->I->dev, 0, (size_t)d.K * nb * d.P)) || !(xt = nn__cl_scratch(c->I->dev, 1, (size_t)d.O * nb * d.P)))
      return 0;
    for (b0 = 0; b0 < c->n; b0 += nb) {
      int cnt = c->n - b0 < nb ? c->n - b0 : nb;
      size_t np = (size_t)cnt * d.P, total = (size_t)d.O * np;
      if (!nn__cl_im2col(c, &d, c->dy, b0, cnt, col)) return 0;
      if (c->dx[1] && (!nn__cl_convt_rows(c, &d, c->x[0], b0, cnt, xt) ||
                       !nn__cl_gemm(c->I, 0, 1, d.O, d.K, np, 1.0f, xt, 0, np, col, 0, np, 1.0f, c->dx[1], 0, d.K)))
        return 0;
      if (c->dx[0]) {
        if (!nn__cl_gemm(c->I, 0, 0, d.O, np, d.K, 1.0f, c->x[1], 0, d.K, col, 0, np, 0.0f, xt, 0, np)) return 0;
        k = nn__cl_begin(c->I, NN__CL_K_convt_dx);
        nn__cl_ai(&k, (int)total); nn__cl_ai(&k, (int)np); nn__cl_ai(&k, d.P); nn__cl_ai(&k, d.O); nn__cl_am(&k, xt);
        nn__cl_am(&k, c->dx[0]); nn__cl_ai(&k, b0 * d.O * d.P);
        if (!nn__cl_elems(&k, total)) return 0;
      }
    }
  }
  if (!c->dx[2]) return 1;
  return (part = nn__cl_chan_partial(c, d.C, d.H * d.W, NULL, &G)) != NULL &&
         nn__cl_seg_sum(c->I, (size_t)d.C, G, part, 0, c->dx[2], 1);
}
NN__CL_OP(conv2d_transpose) = {nn__cl_convt_fwd, nn__cl_convt_bwd, NULL};

/* ---- upsample2d: nearest neighbour (attr.upsample.factor) ---- */
static int nn__cl_upsample(nn__cl_ctx *c, int kid, int backward) {
  const nn_node *x = NN__CL_IN(c, 0);
  int f = c->node->attr.upsample.factor, H = x->shape.dim[1], W = x->shape.dim[2];
  size_t total = nn__cl_len(c, backward ? x : c->node);
  nn__cl_call k = nn__cl_begin(c->I, kid);
  nn__cl_ai(&k, (int)total); nn__cl_ai(&k, H); nn__cl_ai(&k, W); nn__cl_ai(&k, f);
  nn__cl_am(&k, backward ? c->dy : c->x[0]); nn__cl_am(&k, backward ? c->dx[0] : c->y);
  return nn__cl_elems(&k, total);
}
NN__CL_SHARED(upsample2d, nn__cl_upsample, upsample_fwd, upsample_bwd)
NN__CL_OP(upsample2d) = {nn__cl_upsample2d_fwd, nn__cl_upsample2d_bwd, NULL};

/* ---- pooling (attr.pool); max pooling keeps each output's winner in
   the workspace ---- */
static int nn__cl_pool(nn__cl_ctx *c, int kid, int backward) {
  const nn_node *x = NN__CL_IN(c, 0);
  int H = x->shape.dim[1], W = x->shape.dim[2], OH = c->node->shape.dim[1], OW = c->node->shape.dim[2];
  int max = kid == NN__CL_K_maxpool_fwd || kid == NN__CL_K_maxpool_bwd;
  size_t planes = (size_t)c->n * x->shape.dim[0], total = planes * (backward ? (size_t)H * W : (size_t)OH * OW);
  nn__cl_call k = nn__cl_begin(c->I, kid);
  nn__cl_ai(&k, (int)total); nn__cl_ai(&k, H); nn__cl_ai(&k, W); nn__cl_ai(&k, OH); nn__cl_ai(&k, OW);
  nn__cl_ai(&k, c->node->attr.pool.k); nn__cl_ai(&k, c->node->attr.pool.stride); nn__cl_ai(&k, c->node->attr.pool.pad);
  if (!backward) {
    nn__cl_am(&k, c->x[0]); nn__cl_am(&k, c->y);
    if (max) nn__cl_am(&k, c->ws);
  } else {
    nn__cl_am(&k, c->dy);
    if (max) nn__cl_am(&k, c->ws);
    nn__cl_am(&k, c->dx[0]);
  }
  return nn__cl_elems(&k, total);
}
NN__CL_SHARED(maxpool2d, nn__cl_pool, maxpool_fwd, maxpool_bwd)
NN__CL_SHARED(avgpool2d, nn__cl_pool, avgpool_fwd, avgpool_bwd)
NN__CL_OP(maxpool2d) = {nn__cl_maxpool2d_fwd, nn__cl_maxpool2d_bwd, nn__cl_ws_per_output};
NN__CL_OP(avgpool2d) = {nn__cl_avgpool2d_fwd, nn__cl_avgpool2d_bwd, NULL};

/* ---- global average pooling: [C, H, W] -> [C] ---- */
static int nn__cl_gap_fwd(nn__cl_ctx *c) {
  const nn_node *x = NN__CL_IN(c, 0);
  size_t planes = (size_t)c->n * x->shape.dim[0], hw = (size_t)x->shape.dim[1] * x->shape.dim[2];
  size_t local = nn__cl_row_local(c->I->dev, hw);
  nn__cl_call k = nn__cl_begin(c->I, NN__CL_K_gap_fwd);
  nn__cl_ai(&k, (int)hw); nn__cl_am(&k, c->x[0]); nn__cl_am(&k, c->y); nn__cl_al(&k, local);
  return nn__cl_groups(&k, planes, local);
}
static int nn__cl_gap_bwd(nn__cl_ctx *c) {
  const nn_node *x = NN__CL_IN(c, 0);
  size_t n = nn__cl_len(c, x);
  nn__cl_call k = nn__cl_begin(c->I, NN__CL_K_gap_bwd);
  nn__cl_ai(&k, (int)n); nn__cl_ai(&k, x->shape.dim[1] * x->shape.dim[2]); nn__cl_am(&k, c->dy); nn__cl_am(&k, c->dx[0]);
  return nn__cl_elems(&k, n);
}
NN__CL_OP(global_avgpool) = {nn__cl_gap_fwd, nn__cl_gap_bwd, NULL};

/* ---- batch norm: inputs x, weight, bias, running mean, running var
   (attr.norm).  The workspace keeps each channel's mean and 1/std (and
   for synchronised batch norm its unbiased variance); the statistics and
   the parameter gradients are two-level reductions. ---- */
static int nn__cl_write(nn_backend *b, void *buf, size_t off, const float *src, size_t n);
static cl_mem nn__cl_staging(nn_backend *b, size_t n);
/* Synchronised batch norm (nn_model_set_batchnorm_sync), the CPU
   backend's sums through the model's hook: the hook's failure fails the op */
static int nn__cl_bn_sum_across(nn__cl_ctx *c, double *sums, int n) {
  if (c->m->bn_sync(c->m->bn_sync_ctx, sums, n)) return 1;
  return nn_set_error("batchnorm '%s': summing the statistics across copies failed: %s", c->node->name, nn_last_error());
}
/* Training forward: one small read of every channel's mean and squared
   deviations (from the partials in part), from which the host makes the
   CPU backend's sums (C of x and the count, then C squares centred on the
   joint mean) for the hook; one write of the joint mean, 1/std and
   unbiased variance into ws[0 .. 3C), from which the running statistics
   move on the device. */
static int nn__cl_bn_sync_fwd(nn__cl_ctx *c, int C, int S, int G, cl_mem part) {
  cl_mem st = nn__cl_scratch(c->I->dev, 0, 2 * (size_t)C);
  float *f = (float *)NN_MALLOC(3 * (size_t)C * sizeof(float));
  double *sum = (double *)NN_MALLOC((2 * (size_t)C + 1) * sizeof(double)), *ss = sum ? sum + C + 1 : NULL;
  double count = (double)c->n * S, total;
  float eps = c->node->attr.norm.eps;
  int ch, ok = st && f && sum;
  nn__cl_call k = nn__cl_begin(c->I, NN__CL_K_bn_sync_stats);
  if (!ok) { NN_FREE(f); NN_FREE(sum); return st ? nn_set_error("out of memory") : 0; }
  nn__cl_ai(&k, C); nn__cl_ai(&k, G); nn__cl_am(&k, part); nn__cl_am(&k, st);
  ok = nn__cl_elems(&k, (size_t)C) && nn__cl_read_now(c->I, st, 0, f, 2 * (size_t)C);
  if (ok) {
    for (ch = 0; ch < C; ch++) sum[ch] = count * f[ch];
    sum[C] = count;
    ok = nn__cl_bn_sum_across(c, sum, C + 1);
  }
  if (ok) {
    total = sum[C];
    /* the squares about the joint mean from those about this copy's */
    for (ch = 0; ch < C; ch++) {
      double d = f[ch] - sum[ch] / total;
      ss[ch] = f[C + ch] + count * d * d;
    }
    ok = nn__cl_bn_sum_across(c, ss, C);
  }
  if (ok) {
    for (ch = 0; ch < C; ch++) {
      double mu = sum[ch] / total, var = ss[ch] / total;
      f[ch] = (float)mu;
      f[C + ch] = (float)(1.0 / sqrt(var + eps));
      f[2 * C + ch] = (float)(total > 1 ? var * total / (total - 1) : var);
    }
    ok = nn__cl_write(c->m->backend, (void *)c->ws, 0, f, 3 * (size_t)C);
  }
  NN_FREE(f);
  NN_FREE(sum);
  if (!ok) return 0;
  k = nn__cl_begin(c->I, NN__CL_K_bn_sync_running);
  nn__cl_ai(&k, C); nn__cl_af(&k, c->node->attr.norm.momentum); nn__cl_am(&k, c->ws); nn__cl_am(&k, c->x[3]); nn__cl_am(&k, c->x[4]);
  return nn__cl_elems(&k, (size_t)C);
}
/* Training backward: the sums of dy and dy * xhat (2C floats in *sums)
   and the count through the hook, one small read and one write (into
   the backend's staging buffer, which becomes *sums); *count becomes the
   joint count.  Host writes cover whole buffers from their start (here
   and in forward): Oclgrind tracks what a write initialises by its size
   alone. */
static int nn__cl_bn_sync_bwd(nn__cl_ctx *c, int C, cl_mem *sums, int *count) {
  float *f = (float *)NN_MALLOC(2 * (size_t)C * sizeof(float));
  double *s = (double *)NN_MALLOC((2 * (size_t)C + 1) * sizeof(double));
  cl_mem st;
  int i, ok = f && s && nn__cl_read_now(c->I, *sums, 0, f, 2 * (size_t)C);
  if (ok) {
    for (i = 0; i < 2 * C; i++) s[i] = f[i];
    s[2 * C] = *count;
    ok = nn__cl_bn_sum_across(c, s, 2 * C + 1);
  }
  if (ok && !(s[2 * C] >= 1 && s[2 * C] <= 0x7fffffff))
    ok = nn_set_error("batchnorm '%s': the copies' sample count %g is outside 1 .. 2^31 - 1", c->node->name, s[2 * C]);
  if (ok) {
    for (i = 0; i < 2 * C; i++) f[i] = (float)s[i];
    *count = (int)s[2 * C];
    ok = (st = nn__cl_staging(c->m->backend, 2 * (size_t)C)) && nn__cl_write(c->m->backend, (void *)st, 0, f, 2 * (size_t)C);
    if (ok) *sums = st;
  }
  if (!ok && (!f || !s)) nn_set_error("out of memory");
  NN_FREE(f);
  NN_FREE(s);
  return ok;
}
static int nn__cl_bn_fwd(nn__cl_ctx *c) {
  int C = c->node->shape.dim[0], S = (int)(nn__cl_per(c->node) / (size_t)C);
  nn__cl_dev *d = c->I->dev;
  size_t total = (size_t)c->n * C * S;
  int G = nn__cl_split((size_t)c->n * S, d->wg);
  cl_mem part;
  nn__cl_call k;
  if (c->training) {
    if (!(part = nn__cl_scratch(d, 3, 3 * (size_t)C * G))) return 0;
    k = nn__cl_begin(c->I, NN__CL_K_bn_stats_partial);
    nn__cl_ai(&k, c->n); nn__cl_ai(&k, C); nn__cl_ai(&k, S); nn__cl_ai(&k, G); nn__cl_am(&k, c->x[0]); nn__cl_am(&k, part);
    nn__cl_al(&k, d->wg);
    if (!nn__cl_groups(&k, (size_t)C * G, d->wg)) return 0;
    if (c->m->bn_sync) {
      if (!nn__cl_bn_sync_fwd(c, C, S, G, part)) return 0;
    } else {
      k = nn__cl_begin(c->I, NN__CL_K_bn_stats_final);
      nn__cl_ai(&k, C); nn__cl_ai(&k, G); nn__cl_af(&k, c->node->attr.norm.momentum); nn__cl_af(&k, c->node->attr.norm.eps);
      nn__cl_am(&k, part); nn__cl_am(&k, c->ws); nn__cl_am(&k, c->x[3]); nn__cl_am(&k, c->x[4]);
      if (!nn__cl_elems(&k, (size_t)C)) return 0;
    }
  } else {
    k = nn__cl_begin(c->I, NN__CL_K_bn_eval_stats);
    nn__cl_ai(&k, C); nn__cl_af(&k, c->node->attr.norm.eps); nn__cl_am(&k, c->x[3]); nn__cl_am(&k, c->x[4]); nn__cl_am(&k, c->ws);
    if (!nn__cl_elems(&k, (size_t)C)) return 0;
  }
  k = nn__cl_begin(c->I, NN__CL_K_bn_apply);
  nn__cl_ai(&k, (int)total); nn__cl_ai(&k, C); nn__cl_ai(&k, S); nn__cl_am(&k, c->x[0]); nn__cl_am(&k, c->x[1]);
  nn__cl_am(&k, c->x[2]); nn__cl_am(&k, c->ws); nn__cl_am(&k, c->y);
  return nn__cl_elems(&k, total);
}
static int nn__cl_bn_bwd(nn__cl_ctx *c) {
  int C = c->node->shape.dim[0], S = (int)(nn__cl_per(c->node) / (size_t)C), G, count = c->n * S;
  size_t total = (size_t)c->n * C * S;
  cl_mem sums = nn__cl_scratch(c->I->dev, 0, 2 * (size_t)C), part;
  nn__cl_call k;
  if (!sums || !(part = nn__cl_chan_partial(c, C, S, c->x[0], &G))) return 0;
  k = nn__cl_begin(c->I, NN__CL_K_bn_bwd_final);
  nn__cl_ai(&k, C); nn__cl_ai(&k, G); nn__cl_am(&k, part); nn__cl_am(&k, c->dx[1]); nn__cl_am(&k, c->dx[2]); nn__cl_am(&k, sums);
  if (!nn__cl_elems(&k, (size_t)C)) return 0;
  if (!c->dx[0]) return 1;
  if (c->training && c->m->bn_sync && !nn__cl_bn_sync_bwd(c, C, &sums, &count)) return 0;
  k = nn__cl_begin(c->I, NN__CL_K_bn_bwd_dx);
  nn__cl_ai(&k, (int)total); nn__cl_ai(&k, C); nn__cl_ai(&k, S); nn__cl_ai(&k, count); nn__cl_ai(&k, c->training);
  nn__cl_am(&k, c->x[0]); nn__cl_am(&k, c->dy); nn__cl_am(&k, c->x[1]); nn__cl_am(&k, c->ws); nn__cl_am(&k, sums); nn__cl_am(&k, c->dx[0]);
  return nn__cl_elems(&k, total);
}
static size_t nn__cl_bn_workspace(const nn_node *n, int batch) { (void)batch; return 3 * (size_t)n->shape.dim[0]; }
NN__CL_OP(batchnorm) = {nn__cl_bn_fwd, nn__cl_bn_bwd, nn__cl_bn_workspace};

/* ---- layer norm over the last dimension (attr.norm.eps); the
   workspace keeps each row's mean and 1/std ---- */
static int nn__cl_ln_fwd(nn__cl_ctx *c) {
  int D = NN__CL_LAST(c->node);
  size_t rows = nn__cl_len(c, c->node) / (size_t)D, local = nn__cl_row_local(c->I->dev, (size_t)D);
  nn__cl_call k = nn__cl_begin(c->I, NN__CL_K_ln_fwd);
  nn__cl_ai(&k, D); nn__cl_af(&k, c->node->attr.norm.eps); nn__cl_am(&k, c->x[0]); nn__cl_am(&k, c->x[1]); nn__cl_am(&k, c->x[2]);
  nn__cl_am(&k, c->ws); nn__cl_am(&k, c->y); nn__cl_al(&k, local);
  return nn__cl_groups(&k, rows, local);
}
static int nn__cl_ln_bwd(nn__cl_ctx *c) {
  int D = NN__CL_LAST(c->node);
  size_t rows = nn__cl_len(c, c->node) / (size_t)D, local = nn__cl_row_local(c->I->dev, (size_t)D);
  nn__cl_call k;
  if (c->dx[0]) {
    k = nn__cl_begin(c->I, NN__CL_K_ln_bwd_dx);
    nn__cl_ai(&k, D); nn__cl_am(&k, c->x[0]); nn__cl_am(&k, c->dy); nn__cl_am(&k, c->x[1]); nn__cl_am(&k, c->ws);
    nn__cl_am(&k, c->dx[0]); nn__cl_al(&k, local);
    if (!nn__cl_groups(&k, rows, local)) return 0;
  }
  return (!c->dx[1] && !c->dx[2]) || nn__cl_col_sums(c, rows, (size_t)D, c->x[0], c->dx[2], c->dx[1]);
}
static size_t nn__cl_ln_workspace(const nn_node *n, int batch) { return 2 * (size_t)batch * (nn__cl_per(n) / (size_t)NN__CL_LAST(n)); }
NN__CL_OP(layernorm) = {nn__cl_ln_fwd, nn__cl_ln_bwd, nn__cl_ln_workspace};

/* ---- dropout (attr.dropout.p): the mask of the step stays in the
   workspace ---- */
static int nn__cl_dropout_fwd(nn__cl_ctx *c) {
  size_t n = nn__cl_len(c, c->node);
  float p = c->node->attr.dropout.p;
  nn__cl_call k;
  cl_int e;
  if (!c->training || p <= 0) {
    e = clEnqueueCopyBuffer(c->I->dev->q, c->x[0], c->y, 0, 0, n * sizeof(float), 0, NULL, NULL);
    return e == CL_SUCCESS ? 1 : nn__cl_fail(c->I->dev, c->I->what, e);
  }
  k = nn__cl_begin(c->I, NN__CL_K_dropout_fwd);
  nn__cl_ai(&k, (int)n); nn__cl_af(&k, p); nn__cl_af(&k, 1.0f / (1.0f - p));
  nn__cl_au(&k, nn_rng_u32(&c->m->rng)); nn__cl_au(&k, nn_rng_u32(&c->m->rng));
  nn__cl_am(&k, c->x[0]); nn__cl_am(&k, c->ws); nn__cl_am(&k, c->y);
  return nn__cl_elems(&k, n);
}
static int nn__cl_dropout_bwd(nn__cl_ctx *c) {
  size_t n = nn__cl_len(c, c->node);
  if (!c->training || c->node->attr.dropout.p <= 0) return nn__cl_map(c, NN__CL_K_acc1, n, c->dy, c->dx[0], NULL);
  return nn__cl_map(c, NN__CL_K_dropout_bwd, n, c->dy, c->ws, c->dx[0]);
}
NN__CL_OP(dropout) = {nn__cl_dropout_fwd, nn__cl_dropout_bwd, nn__cl_ws_per_output};

/* ---- residual add ---- */
static int nn__cl_add_fwd(nn__cl_ctx *c) { return nn__cl_map(c, NN__CL_K_add_fwd, nn__cl_len(c, c->node), c->x[0], c->x[1], c->y); }
static int nn__cl_add_bwd(nn__cl_ctx *c) {
  int i;
  for (i = 0; i < 2; i++)
    if (c->dx[i] && !nn__cl_map(c, NN__CL_K_acc1, nn__cl_len(c, c->node), c->dy, c->dx[i], NULL)) return 0;
  return 1;
}
NN__CL_OP(add) = {nn__cl_add_fwd, nn__cl_add_bwd, NULL};

/* ---- broadcast product y = a * b (attr.mul: b's element for position
   j of a sample is (j / inner) % count, in the sample's own b if b is
   batched) ---- */
static void nn__cl_mul_args(nn__cl_ctx *c, nn__cl_call *k) {
  nn__cl_ai(k, (int)nn__cl_len(c, c->node)); nn__cl_ai(k, (int)nn__cl_per(c->node));
  nn__cl_ai(k, c->node->attr.mul.inner); nn__cl_ai(k, c->node->attr.mul.count);
}
static int nn__cl_mul_fwd(nn__cl_ctx *c) {
  nn__cl_call k = nn__cl_begin(c->I, NN__CL_K_mul_bcast);
  nn__cl_mul_args(c, &k);
  nn__cl_ai(&k, NN__CL_IN(c, 1)->batched ? c->node->attr.mul.count : 0); nn__cl_ai(&k, 0);
  nn__cl_am(&k, c->x[0]); nn__cl_am(&k, c->x[1]); nn__cl_am(&k, c->y);
  return nn__cl_elems(&k, nn__cl_len(c, c->node));
}
static int nn__cl_mul_bwd(nn__cl_ctx *c) {
  int batched = NN__CL_IN(c, 1)->batched;
  size_t groups = (size_t)(batched ? c->n : 1) * c->node->attr.mul.count;
  size_t local = nn__cl_row_local(c->I->dev, nn__cl_len(c, c->node) / groups);
  nn__cl_call k;
  if (c->dx[0]) {   /* da += dy * b */
    k = nn__cl_begin(c->I, NN__CL_K_mul_bcast);
    nn__cl_mul_args(c, &k);
    nn__cl_ai(&k, batched ? c->node->attr.mul.count : 0); nn__cl_ai(&k, 1);
    nn__cl_am(&k, c->dy); nn__cl_am(&k, c->x[1]); nn__cl_am(&k, c->dx[0]);
    if (!nn__cl_elems(&k, nn__cl_len(c, c->node))) return 0;
  }
  if (!c->dx[1]) return 1;
  k = nn__cl_begin(c->I, NN__CL_K_mul_bwd_b);
  nn__cl_mul_args(c, &k);
  nn__cl_ai(&k, batched); nn__cl_am(&k, c->x[0]); nn__cl_am(&k, c->dy); nn__cl_am(&k, c->dx[1]); nn__cl_al(&k, local);
  return nn__cl_groups(&k, groups, local);
}
NN__CL_OP(mul) = {nn__cl_mul_fwd, nn__cl_mul_bwd, NULL};

/* ---- concat along dim 0 of a sample ---- */
static int nn__cl_concat(nn__cl_ctx *c, int kid, int backward) {
  size_t out = nn__cl_per(c->node), off = 0;
  int i;
  for (i = 0; i < c->node->n_in; i++) {
    size_t part = nn__cl_per(NN__CL_IN(c, i)), n = (size_t)c->n * part;
    if (!backward || c->dx[i]) {
      nn__cl_call k = nn__cl_begin(c->I, kid);
      nn__cl_ai(&k, (int)n); nn__cl_ai(&k, (int)part); nn__cl_ai(&k, (int)out); nn__cl_ai(&k, (int)off);
      nn__cl_am(&k, backward ? c->dy : c->x[i]); nn__cl_am(&k, backward ? c->dx[i] : c->y);
      if (!nn__cl_elems(&k, n)) return 0;
    }
    off += part;
  }
  return 1;
}
NN__CL_SHARED(concat, nn__cl_concat, concat_fwd, concat_bwd)
NN__CL_OP(concat) = {nn__cl_concat_fwd, nn__cl_concat_bwd, NULL};

/* ---- element-wise maps: scale (attr.scalar.value the factor) and the
   activations (leaky_relu: the slope), kernels nn_<name>_fwd (n, a, x, y)
   and nn_<name>_bwd (n, a, x, y, dy, dx) ---- */
static int nn__cl_unary(nn__cl_ctx *c, int kid, int backward) {
  size_t n = nn__cl_len(c, c->node);
  nn__cl_call k = nn__cl_begin(c->I, kid);
  nn__cl_ai(&k, (int)n); nn__cl_af(&k, c->node->attr.scalar.value); nn__cl_am(&k, c->x[0]); nn__cl_am(&k, c->y);
  if (backward) { nn__cl_am(&k, c->dy); nn__cl_am(&k, c->dx[0]); }
  return nn__cl_elems(&k, n);
}
#define NN__CL_MAP(name)                                              \
  NN__CL_SHARED(name, nn__cl_unary, name##_fwd, name##_bwd)           \
  NN__CL_OP(name) = {nn__cl_##name##_fwd, nn__cl_##name##_bwd, NULL};
NN__CL_MAP(scale)
NN__CL_MAP(relu)
NN__CL_MAP(leaky_relu)
NN__CL_MAP(gelu)
NN__CL_MAP(silu)
NN__CL_MAP(sigmoid)
NN__CL_MAP(tanh)

/* ---- softmax over the last dimension ---- */
static int nn__cl_softmax(nn__cl_ctx *c, int kid, int backward) {
  int D = NN__CL_LAST(c->node);
  size_t rows = nn__cl_len(c, c->node) / (size_t)D, local = nn__cl_row_local(c->I->dev, (size_t)D);
  nn__cl_call k = nn__cl_begin(c->I, kid);
  nn__cl_ai(&k, D);
  if (backward) { nn__cl_am(&k, c->y); nn__cl_am(&k, c->dy); nn__cl_am(&k, c->dx[0]); }
  else { nn__cl_am(&k, c->x[0]); nn__cl_am(&k, c->y); }
  nn__cl_al(&k, local);
  return nn__cl_groups(&k, rows, local);
}
NN__CL_SHARED(softmax, nn__cl_softmax, softmax_fwd, softmax_bwd)
NN__CL_OP(softmax) = {nn__cl_softmax_fwd, nn__cl_softmax_bwd, NULL};

/* ---- losses (attr.loss): scalar outputs ---- */
static float nn__cl_loss_scale(const nn__cl_ctx *c, size_t count) { return c->node->attr.loss.reduction == NN_SUM ? 1.0f : 1.0f / (float)count; }
/* cross entropy: logits [C], labels [1], checked on the host (see
   nn__cl_host); the workspace keeps the probabilities for the backward
   pass */
static int nn__cl_ce_fwd(nn__cl_ctx *c) {
  int C = (int)nn__cl_per(NN__CL_IN(c, 0));
  size_t local = nn__cl_row_local(c->I->dev, (size_t)C);
  cl_mem rowloss = nn__cl_scratch(c->I->dev, 0, (size_t)c->m->max_batch);
  const float *lab = nn__cl_host_values(c->I, c->x[1], (size_t)c->n);
  long bad;
  nn__cl_call k;
  if (!rowloss || !lab) return 0;
  if ((bad = nn__cl_first_bad(lab, (size_t)c->n, (float)C)) >= 0)
    return nn_set_error("cross_entropy '%s': label %g of sample %d is not a class in 0..%d", c->node->name, lab[bad], (int)bad, C - 1);
  k = nn__cl_begin(c->I, NN__CL_K_ce_rows);
  nn__cl_ai(&k, C); nn__cl_af(&k, c->node->attr.loss.smoothing); nn__cl_am(&k, c->x[0]); nn__cl_am(&k, c->x[1]); nn__cl_am(&k, c->ws);
  nn__cl_am(&k, rowloss); nn__cl_al(&k, local);
  return nn__cl_groups(&k, (size_t)c->n, local) &&
         nn__cl_sum(c->I, rowloss, (size_t)c->n, 0, nn__cl_loss_scale(c, (size_t)c->n), c->y);
}
static int nn__cl_ce_bwd(nn__cl_ctx *c) {
  int C = (int)nn__cl_per(NN__CL_IN(c, 0));
  size_t total = (size_t)c->n * C;
  nn__cl_call k;
  if (!c->dx[0]) return 1;
  k = nn__cl_begin(c->I, NN__CL_K_ce_bwd);
  nn__cl_ai(&k, (int)total); nn__cl_ai(&k, C); nn__cl_af(&k, c->node->attr.loss.smoothing); nn__cl_af(&k, nn__cl_loss_scale(c, (size_t)c->n));
  nn__cl_am(&k, c->dy); nn__cl_am(&k, c->x[1]); nn__cl_am(&k, c->ws); nn__cl_am(&k, c->dx[0]);
  return nn__cl_elems(&k, total);
}
static size_t nn__cl_ce_workspace(const nn_node *n, int batch) { return (size_t)batch * nn__cl_per(n->in[0]); }
NN__CL_OP(cross_entropy) = {nn__cl_ce_fwd, nn__cl_ce_bwd, nn__cl_ce_workspace};
/* bce and mse: per-element terms in scratch space, then their scaled sum */
static int nn__cl_pair_loss(nn__cl_ctx *c, int kid, int backward) {
  size_t n = nn__cl_len(c, NN__CL_IN(c, 0));
  cl_mem terms;
  nn__cl_call k;
  if (!backward) {
    terms = nn__cl_scratch(c->I->dev, 0, (size_t)c->m->max_batch * nn__cl_per(NN__CL_IN(c, 0)));
    if (!terms || !nn__cl_map(c, kid, n, c->x[0], c->x[1], terms)) return 0;
    return nn__cl_sum(c->I, terms, n, 0, nn__cl_loss_scale(c, n), c->y);
  }
  k = nn__cl_begin(c->I, kid);
  nn__cl_ai(&k, (int)n); nn__cl_af(&k, nn__cl_loss_scale(c, n)); nn__cl_am(&k, c->dy); nn__cl_am(&k, c->x[0]);
  nn__cl_am(&k, c->x[1]); nn__cl_am(&k, c->dx[0]); nn__cl_am(&k, c->dx[1]);
  return nn__cl_elems(&k, n);
}
NN__CL_SHARED(bce_with_logits, nn__cl_pair_loss, bce_terms, bce_bwd)
NN__CL_SHARED(mse, nn__cl_pair_loss, mse_terms, mse_bwd)
NN__CL_OP(bce_with_logits) = {nn__cl_bce_with_logits_fwd, nn__cl_bce_with_logits_bwd, NULL};
NN__CL_OP(mse) = {nn__cl_mse_fwd, nn__cl_mse_bwd, NULL};

/* ---- sequences: x [T, F] per sample, input 1 the lengths (or NULL) ----
   The host needs the longest length of the batch to run the recurrent
   steps; it reads it, and checks every length, from its copy of the
   lengths.  A bad length fails at once, as on the CPU. */
static int nn__cl_lengths(nn__cl_ctx *c, int T, int *longest) {
  const float *len;
  long bad;
  int i;
  if (!c->x[1]) { *longest = T; return 1; }
  if (!(len = nn__cl_host_values(c->I, c->x[1], (size_t)c->n))) return 0;
  if ((bad = nn__cl_first_bad(len, (size_t)c->n, (float)T + 1.0f)) >= 0)
    return nn_set_error("%s '%s': length %g of sample %d is not a whole number of steps in 0..%d (the padded length)",
                        nn_op_name(c->node->op), c->node->name, len[bad], (int)bad, T);
  for (*longest = 0, i = 0; i < c->n; i++) if (len[i] > *longest) *longest = (int)len[i];
  return 1;
}

/* a launch over (cols, d1, d2) in work-groups of consecutive columns: the
   smallest power of two that covers them, at most 128 (8 vectors of a CPU
   runtime's 16 lanes) and the device's limit */
static int nn__cl_cols(nn__cl_call *k, size_t cols, size_t d1, size_t d2) {
  size_t global[3], local[3], l = 1;
  while (l < cols && l < 128 && 2 * l <= k->I->dev->wg) l *= 2;
  global[0] = cols; global[1] = d1; global[2] = d2;
  local[0] = l; local[1] = local[2] = 1;
  return nn__cl_launch(k, 3, global, local);
}
/* the same over exactly `cols` columns, for kernels that do not test
   theirs: work-groups of the largest power of two that divides cols */
static int nn__cl_cols_exact(nn__cl_call *k, size_t cols, size_t d1, size_t d2) {
  size_t global[3], local[3], l = 1;
  while (cols % (2 * l) == 0 && l < 128 && 2 * l <= k->I->dev->wg) l *= 2;
  global[0] = cols; global[1] = d1; global[2] = d2;
  local[0] = l; local[1] = local[2] = 1;
  return nn__cl_launch(k, 3, global, local);
}

/* ---- embedding: ids -> rows of weight [V, D]; the ids are checked on
   the host ---- */
static int nn__cl_embedding(nn__cl_ctx *c, int kid, int backward) {
  int V = NN__CL_IN(c, 1)->shape.dim[0], D = NN__CL_IN(c, 1)->shape.dim[1];
  size_t count = nn__cl_len(c, NN__CL_IN(c, 0)), per = nn__cl_per(NN__CL_IN(c, 0));
  const float *ids;
  long bad;
  nn__cl_call k;
  if (backward && !c->dx[1]) return 1;
  if (!backward) {
    if (!(ids = nn__cl_host_values(c->I, c->x[0], count))) return 0;
    if ((bad = nn__cl_first_bad(ids, count, (float)V)) >= 0)
      return nn_set_error("embedding '%s': id %g (sample %d, position %d) is not in the vocabulary of %d (ids 0..%d)",
                          c->node->name, ids[bad], (int)((size_t)bad / per), (int)((size_t)bad % per), V, V - 1);
  }
  k = nn__cl_begin(c->I, kid);
  nn__cl_ai(&k, D); nn__cl_ai(&k, V); nn__cl_am(&k, c->x[0]);
  nn__cl_am(&k, backward ? c->dy : c->x[1]); nn__cl_am(&k, backward ? c->dx[1] : c->y);
  return nn__cl_cols(&k, (size_t)D, count, 1);
}
NN__CL_SHARED(embedding, nn__cl_embedding, embedding_fwd, embedding_bwd)
NN__CL_OP(embedding) = {nn__cl_embedding_fwd, nn__cl_embedding_bwd, NULL};

/* ---- recurrent layers: inputs x, lengths, then per direction d W_ih
   [GH, F], W_hh [GH, H], b_ih, b_hh (inputs 2 + 4d ..); attr.recurrent.
   The workspace holds P [rows, N] (gate inputs, values, then gradients;
   N = dirs*GH) and, for lstm and gru, aux [rows, dirs*H] (lstm c_t, gru
   W_hn h + b_hn, then its gradient), rows = batch*T.  Forward: the input
   projection of both directions in one launch (over the valid steps
   only), then one launch per step for every direction, sample and unit,
   the product with W_hh included (see kernels/seq.cl).  Backward: one
   launch per step, then dx in one launch and every weight and bias
   gradient as partial sums over slices of the samples, added up in one
   more. */
typedef struct nn__cl_rec { int op, T, F, H, dirs, GH, N, HD; size_t aux_off, size; } nn__cl_rec;
#define NN__CL_REC_W(v, d, k) ((v)[2 + 4 * (d) + (k)])   /* x or dx: k 0 W_ih, 1 W_hh, 2 b_ih, 3 b_hh */

static nn__cl_rec nn__cl_rec_dims(const nn_node *nd, int batch) {
  nn__cl_rec r;
  r.op = nd->op == NN_OP_RNN ? 0 : nd->op == NN_OP_LSTM ? 1 : 2;   /* the kernels' numbering */
  r.T = nd->shape.dim[0];
  r.F = NN__CL_LAST(nd->in[0]);
  r.H = nd->attr.recurrent.hidden;
  r.dirs = nd->attr.recurrent.dirs;
  r.GH = nd->attr.recurrent.gates * r.H;
  r.N = r.dirs * r.GH;
  r.HD = r.dirs * r.H;
  r.aux_off = (size_t)batch * r.T * r.N;
  r.size = r.aux_off + (r.op ? (size_t)batch * r.T * r.HD : 0);
  return r;
}
static size_t nn__cl_rec_workspace(const nn_node *n, int batch) { return nn__cl_rec_dims(n, batch).size; }

/* the layout, for a workspace whose offsets fit the kernels' int */
static int nn__cl_rec_get(nn__cl_ctx *c, nn__cl_rec *r) {
  *r = nn__cl_rec_dims(c->node, c->m->max_batch);
  if (r->size > 0x7fffffff)
    return nn_set_error("opencl [%s]: %s '%s' needs %zu floats of workspace, more than 2^31", c->I->dev->name,
                        nn_op_name(c->node->op), c->node->name, r->size);
  return 1;
}

/* samples per work-item of the recurrent steps (NN_REC_NB and NN_REC_CB
   in kernels/seq.cl), rows per work-item of the products (NN_REC_MB) */
#define NN__CL_REC_NB 4
#define NN__CL_REC_CB 4
#define NN__CL_REC_MB 8
#define NN__CL_REC_WB 16   /* rows per work-item of the weight gradients (NN_REC_WB) */
#define NN__CL_REC_BLOCKS(rows) (((rows) + NN__CL_REC_WB - 1) / NN__CL_REC_WB)
/* one launch of rec_step or rec_step_bwd: work-groups of rec_tile x
   rec_tile (units x samples, NN__CL_REC_NB samples each) for each
   direction, tiles of rec_tile x (rec_tile + 1) floats of local memory
   in two arguments */
static int nn__cl_rec_launch(nn__cl_call *k, const nn__cl_rec *r, int n, int first_tiles, int second_tiles) {
  size_t ts = k->I->dev->rec_tile, global[3], local[3];
  global[0] = (size_t)r->H; global[2] = (size_t)r->dirs;
  global[1] = ((size_t)n + NN__CL_REC_NB * ts - 1) / (NN__CL_REC_NB * ts) * ts;
  local[0] = ts; local[1] = ts; local[2] = 1;
  nn__cl_al(k, (size_t)first_tiles * ts * (ts + 1));
  nn__cl_al(k, (size_t)second_tiles * ts * (ts + 1));
  return nn__cl_launch(k, 3, global, local);
}
static int nn__cl_rec_fwd(nn__cl_ctx *c) {
  nn__cl_rec r;
  nn__cl_dev *d = c->I->dev;
  size_t rows, wt_n;
  cl_mem wt;
  nn__cl_call k;
  int S, s;
  if (!nn__cl_rec_get(c, &r) || !nn__cl_lengths(c, r.T, &S)) return 0;
  rows = (size_t)c->n * r.T;
  wt_n = (size_t)(r.F + r.H) * r.N;
  /* outputs past the lengths stay zero (nothing reads P or aux there) */
  if (!nn__cl_fill_mem(c->I, c->y, 0, rows * r.HD) || !(wt = nn__cl_scratch(d, 0, wt_n))) return 0;
  k = nn__cl_begin(c->I, NN__CL_K_rec_wt);
  nn__cl_ai(&k, (int)wt_n); nn__cl_ai(&k, r.F); nn__cl_ai(&k, r.H); nn__cl_ai(&k, r.GH); nn__cl_ai(&k, r.dirs);
  nn__cl_am(&k, NN__CL_REC_W(c->x, 0, 0)); nn__cl_am(&k, NN__CL_REC_W(c->x, r.dirs - 1, 0));
  nn__cl_am(&k, NN__CL_REC_W(c->x, 0, 1)); nn__cl_am(&k, NN__CL_REC_W(c->x, r.dirs - 1, 1)); nn__cl_am(&k, wt);
  if (!nn__cl_elems(&k, wt_n)) return 0;
  k = nn__cl_begin(c->I, NN__CL_K_rec_proj);
  nn__cl_ai(&k, (int)rows); nn__cl_ai(&k, r.T); nn__cl_ai(&k, r.F); nn__cl_ai(&k, r.N); nn__cl_ai(&k, r.GH);
  nn__cl_am(&k, c->x[1]); nn__cl_am(&k, c->x[0]); nn__cl_am(&k, wt); nn__cl_am(&k, NN__CL_REC_W(c->x, 0, 2));
  nn__cl_am(&k, NN__CL_REC_W(c->x, r.dirs - 1, 2)); nn__cl_am(&k, c->ws);
  if (!nn__cl_cols(&k, (size_t)r.N, (rows + NN__CL_REC_MB - 1) / NN__CL_REC_MB, 1)) return 0;
  for (s = 0; s < S; s++) {
    k = nn__cl_begin(c->I, d->rec_cpu ? NN__CL_K_rec_step_cpu : NN__CL_K_rec_step);
    nn__cl_ai(&k, r.op); nn__cl_ai(&k, s); nn__cl_ai(&k, c->n); nn__cl_ai(&k, r.T); nn__cl_ai(&k, r.H); nn__cl_ai(&k, r.dirs);
    nn__cl_am(&k, c->x[1]); nn__cl_am(&k, c->ws); nn__cl_am(&k, c->ws); nn__cl_ai(&k, (int)r.aux_off);
    if (d->rec_cpu) {
      nn__cl_am(&k, wt); nn__cl_ai(&k, r.F * r.N);
    } else {
      nn__cl_am(&k, NN__CL_REC_W(c->x, 0, 1)); nn__cl_am(&k, NN__CL_REC_W(c->x, r.dirs - 1, 1));
    }
    nn__cl_am(&k, NN__CL_REC_W(c->x, 0, 3)); nn__cl_am(&k, NN__CL_REC_W(c->x, r.dirs - 1, 3)); nn__cl_am(&k, c->y);
    if (!(d->rec_cpu ? nn__cl_cols_exact(&k, (size_t)r.H, ((size_t)c->n + NN__CL_REC_CB - 1) / NN__CL_REC_CB, (size_t)r.dirs)
                     : nn__cl_rec_launch(&k, &r, c->n, NN__CL_REC_NB, r.GH / r.H)))
      return 0;
  }
  return 1;
}

static int nn__cl_rec_bwd(nn__cl_ctx *c) {
  nn__cl_rec r;
  nn__cl_dev *d = c->I->dev;
  size_t rows, states, Q;
  cl_mem dh, dc, part;
  nn__cl_call k;
  int S, s, i, SB, slices, kind;
  if (!nn__cl_rec_get(c, &r) || !nn__cl_lengths(c, r.T, &S)) return 0;
  rows = (size_t)c->n * r.T;
  states = (size_t)r.dirs * c->m->max_batch * r.H;   /* dh, then GH zeros for the CPU steps */
  if (!(dh = nn__cl_scratch(d, 0, states + r.GH)) || !(dc = nn__cl_scratch(d, 1, states))) return 0;
  if (!nn__cl_fill_mem(c->I, dh, 0, states + r.GH) || !nn__cl_fill_mem(c->I, dc, 0, states)) return 0;
  for (s = S - 1; s >= 0; s--) {
    k = nn__cl_begin(c->I, d->rec_cpu ? NN__CL_K_rec_step_bwd_cpu : NN__CL_K_rec_step_bwd);
    nn__cl_ai(&k, r.op); nn__cl_ai(&k, s); nn__cl_ai(&k, c->n); nn__cl_ai(&k, r.T); nn__cl_ai(&k, r.H); nn__cl_ai(&k, r.dirs);
    nn__cl_am(&k, c->x[1]); nn__cl_am(&k, c->ws); nn__cl_am(&k, c->ws); nn__cl_ai(&k, (int)r.aux_off);
    nn__cl_am(&k, NN__CL_REC_W(c->x, 0, 1)); nn__cl_am(&k, NN__CL_REC_W(c->x, r.dirs - 1, 1));
    nn__cl_am(&k, c->y); nn__cl_am(&k, c->dy); nn__cl_am(&k, dh); nn__cl_am(&k, dc);
    if (d->rec_cpu) nn__cl_ai(&k, (int)states);
    if (!(d->rec_cpu ? nn__cl_cols_exact(&k, (size_t)r.H, ((size_t)c->n + NN__CL_REC_CB - 1) / NN__CL_REC_CB, (size_t)r.dirs)
                     : nn__cl_rec_launch(&k, &r, c->n, NN__CL_REC_NB, 1)))
      return 0;
  }
  /* P now holds dG_ih of every valid step (zeros elsewhere) */
  if (c->dx[0]) {
    k = nn__cl_begin(c->I, NN__CL_K_rec_dx);
    nn__cl_ai(&k, (int)rows); nn__cl_ai(&k, r.T); nn__cl_ai(&k, r.F); nn__cl_ai(&k, r.GH); nn__cl_ai(&k, r.dirs);
    nn__cl_am(&k, c->x[1]); nn__cl_am(&k, c->ws); nn__cl_am(&k, NN__CL_REC_W(c->x, 0, 0));
    nn__cl_am(&k, NN__CL_REC_W(c->x, r.dirs - 1, 0)); nn__cl_am(&k, c->dx[0]);
    if (!nn__cl_cols(&k, (size_t)r.F, (rows + NN__CL_REC_MB - 1) / NN__CL_REC_MB, 1)) return 0;
  }
  for (i = 0; i < 4 * r.dirs && !NN__CL_REC_W(c->dx, i / 4, i % 4); i++) {}
  if (i == 4 * r.dirs) return 1;   /* no parameter gradient wanted */
  /* slices of SB samples: about 16, for parallel work on long sequences */
  SB = (c->n + 15) / 16;
  slices = (c->n + SB - 1) / SB;
  Q = (size_t)r.GH * (r.F + r.H + 2);
  if (!(part = nn__cl_scratch(d, 2, (size_t)r.dirs * slices * Q))) return 0;
  for (kind = 0; kind < 3; kind++) {   /* dW_ih, dW_hh, the biases */
    k = nn__cl_begin(c->I, NN__CL_K_rec_wgrad);
    nn__cl_ai(&k, kind); nn__cl_ai(&k, c->n); nn__cl_ai(&k, r.T); nn__cl_ai(&k, r.F); nn__cl_ai(&k, r.H); nn__cl_ai(&k, r.dirs);
    nn__cl_ai(&k, r.op); nn__cl_ai(&k, SB); nn__cl_ai(&k, slices); nn__cl_am(&k, c->x[1]); nn__cl_am(&k, c->ws);
    nn__cl_ai(&k, (int)r.aux_off); nn__cl_am(&k, c->x[0]); nn__cl_am(&k, c->y); nn__cl_am(&k, part);
    if (!nn__cl_cols_exact(&k, (size_t)(kind == 0 ? r.F : kind == 1 ? r.H : r.GH),
                          kind == 2 ? 1 : kind == 0 || r.op != 2 ? (size_t)NN__CL_REC_BLOCKS(r.GH) : (size_t)NN__CL_REC_BLOCKS(2 * r.H) + NN__CL_REC_BLOCKS(r.H),
                          (size_t)r.dirs * slices))
      return 0;
  }
  k = nn__cl_begin(c->I, NN__CL_K_rec_wsum);
  nn__cl_ai(&k, (int)(r.dirs * Q)); nn__cl_ai(&k, slices); nn__cl_ai(&k, r.F); nn__cl_ai(&k, r.H); nn__cl_ai(&k, r.GH);
  nn__cl_am(&k, part);
  for (i = 0; i < 8; i++) nn__cl_am(&k, NN__CL_REC_W(c->dx, i / 4 < r.dirs ? i / 4 : 0, i % 4));
  return nn__cl_elems(&k, r.dirs * Q);
}
NN__CL_OP(rnn) = {nn__cl_rec_fwd, nn__cl_rec_bwd, nn__cl_rec_workspace};
NN__CL_OP(lstm) = {nn__cl_rec_fwd, nn__cl_rec_bwd, nn__cl_rec_workspace};
NN__CL_OP(gru) = {nn__cl_rec_fwd, nn__cl_rec_bwd, nn__cl_rec_workspace};

/* ---- reductions over the valid steps: [T, F] -> [F]; seq_last reads
   attr.seq.reverse_features, seq_maxpool keeps each output's step in the
   workspace.  The kernels take (T, F, back, lengths, in, out, arg), one
   work-item per feature and sample. */
static int nn__cl_seq(nn__cl_ctx *c, int kid, int backward) {
  int T = NN__CL_IN(c, 0)->shape.dim[0], F = NN__CL_LAST(c->node), S;
  nn__cl_call k;
  if (!backward && !nn__cl_lengths(c, T, &S)) return 0;
  k = nn__cl_begin(c->I, kid);
  nn__cl_ai(&k, T); nn__cl_ai(&k, F);
  nn__cl_ai(&k, c->node->op == NN_OP_SEQ_LAST ? c->node->attr.seq.reverse_features : 0); nn__cl_am(&k, c->x[1]);
  nn__cl_am(&k, backward ? c->dy : c->x[0]); nn__cl_am(&k, backward ? c->dx[0] : c->y); nn__cl_am(&k, c->ws);
  return nn__cl_cols(&k, (size_t)F, (size_t)c->n, 1);
}
NN__CL_SHARED(seq_last, nn__cl_seq, seq_last_fwd, seq_last_bwd)
NN__CL_SHARED(seq_maxpool, nn__cl_seq, seq_max_fwd, seq_max_bwd)
NN__CL_SHARED(seq_meanpool, nn__cl_seq, seq_mean_fwd, seq_mean_bwd)
NN__CL_OP(seq_last) = {nn__cl_seq_last_fwd, nn__cl_seq_last_bwd, NULL};
NN__CL_OP(seq_maxpool) = {nn__cl_seq_maxpool_fwd, nn__cl_seq_maxpool_bwd, nn__cl_ws_per_output};
NN__CL_OP(seq_meanpool) = {nn__cl_seq_meanpool_fwd, nn__cl_seq_meanpool_bwd, NULL};

/* ---- the op table, one row per op of NN_OPS.  An op without a device
   block stops the build here: 'nn__opencl_has_no_kernel_for_<name>'
   undeclared. ---- */
#define NN__CL_ROW(ID, name) &nn__opencl_has_no_kernel_for_##name,
static const nn__cl_op *const nn__cl_ops[] = { NN_OPS(NN__CL_ROW) };
#undef NN__CL_ROW
typedef char nn__cl_ops_complete[sizeof nn__cl_ops / sizeof nn__cl_ops[0] == NN_OP_COUNT ? 1 : -1];

static int nn__cl_supports(nn_backend *b, const nn_node *node) { (void)b; return (unsigned)node->op < NN_OP_COUNT; }
static size_t nn__cl_workspace(nn_backend *b, const nn_node *node, int batch) {
  const nn__cl_op *op = nn__cl_ops[node->op];
  (void)b;
  return op->workspace ? op->workspace(node, batch) : 0;
}

/* kernel arguments are int: every length must fit; and the workspace
   nn.h planned must hold what the kernels keep */
static int nn__cl_ctx_init(nn__cl_impl *I, nn_model *m, const nn_node *node, const char *phase, nn__cl_ctx *c) {
  size_t need = nn__cl_workspace(m->backend, node, m->max_batch);
  int i;
  memset(c, 0, sizeof *c);
  c->I = I;
  c->m = m;
  c->node = node;
  c->n = m->batch;
  c->training = m->training;
  snprintf(I->what, sizeof I->what, "%s of '%s'", phase, node->name);
  if ((size_t)m->max_batch * nn__cl_per(node) > 0x7fffffff)
    return nn_set_error("opencl [%s]: '%s' has more than 2^31 elements", I->dev->name, node->name);
  if (need > m->ws_size[node->id])
    return nn_set_error("opencl [%s]: %s '%s' needs %zu floats of workspace, nn.h planned %zu", I->dev->name,
                        nn_op_name(node->op), node->name, need, m->ws_size[node->id]);
  for (i = 0; i < node->n_in; i++) {
    if (!node->in[i]) continue;
    if ((size_t)m->max_batch * nn__cl_per(node->in[i]) > 0x7fffffff)
      return nn_set_error("opencl [%s]: '%s' has more than 2^31 elements", I->dev->name, node->in[i]->name);
    c->x[i] = NN__CL_MEM(m->value[node->in[i]->id]);
    c->dx[i] = NN__CL_MEM(m->grad[node->in[i]->id]);
  }
  c->y = NN__CL_MEM(m->value[node->id]);
  c->dy = NN__CL_MEM(m->grad[node->id]);
  c->ws = NN__CL_MEM(m->ws[node->id]);
  return 1;
}

static int nn__cl_run(nn_backend *b, nn_model *m, const nn_node *node, int backward) {
  const nn__cl_op *op = nn__cl_ops[node->op];
  int (*run)(nn__cl_ctx *c) = backward ? op->backward : op->forward;
  nn__cl_ctx c;
  if (!run) return 1;   /* leaves and reshape */
  return nn__cl_ctx_init((nn__cl_impl *)b->impl, m, node, backward ? "backward" : "forward", &c) && run(&c);
}
static int nn__cl_forward(nn_backend *b, nn_model *m, const nn_node *node) { return nn__cl_run(b, m, node, 0); }
static int nn__cl_backward(nn_backend *b, nn_model *m, const nn_node *node) { return nn__cl_run(b, m, node, 1); }

/* ======================================================================
   Buffers, transfers and the optimizer helpers of the backend table
   ====================================================================== */
static void *nn__cl_alloc(nn_backend *b, size_t n) {
  return (void *)nn__cl_new_mem(((nn__cl_impl *)b->impl)->dev, n * sizeof(float));
}
static void nn__cl_release(nn_backend *b, void *buf) {
  nn__cl_impl *I = (nn__cl_impl *)b->impl;
  nn__cl_host *h = nn__cl_host_find(I, NN__CL_MEM(buf));
  if (h) nn__cl_host_drop(I, h);
  nn__cl_free_mem(I->dev, NN__CL_MEM(buf));
}

/* Writes do not wait: they go out from the buffer's host copy */
static int nn__cl_write(nn_backend *b, void *buf, size_t off, const float *src, size_t n) {
  nn__cl_impl *I = (nn__cl_impl *)b->impl;
  nn__cl_host *h;
  cl_int e;
  if (!n) return 1;
  if (!(h = nn__cl_host_get(I, NN__CL_MEM(buf), n))) return 0;
  memcpy(h->data, src, n * sizeof(float));
  h->n = off == 0 ? n : 0;
  e = clEnqueueWriteBuffer(I->dev->q, NN__CL_MEM(buf), CL_FALSE, off * sizeof(float), n * sizeof(float), h->data, 0, NULL,
                           &h->sent);
  if (e != CL_SUCCESS) { h->n = 0; h->sent = NULL; return nn__cl_fail(I->dev, "clEnqueueWriteBuffer", e); }
  I->to_device += n * sizeof(float);
  I->writes++;
  if (!h->keep && (I->staged += n * sizeof(float)) > NN__CL_STAGED_MAX) {   /* e.g. every weight at start */
    if ((e = clFinish(I->dev->q)) != CL_SUCCESS) return nn__cl_fail(I->dev, "clFinish", e);
    I->blocking++;
    nn__cl_settle(I);
  }
  return 1;
}
static int nn__cl_read(nn_backend *b, const void *buf, size_t off, float *dst, size_t n) {
  return !n || nn__cl_read_now((nn__cl_impl *)b->impl, NN__CL_MEM(buf), off, dst, n);
}
/* fill and copy make the destination's host copy stale */
static int nn__cl_changed(nn__cl_impl *I, cl_mem mem, cl_int e, const char *what) {
  nn__cl_host *h = nn__cl_host_find(I, mem);
  if (h) h->n = 0;
  I->launches++;
  return e == CL_SUCCESS ? 1 : nn__cl_fail(I->dev, what, e);
}
static int nn__cl_fill(nn_backend *b, void *buf, size_t off, float v, size_t n) {
  nn__cl_impl *I = (nn__cl_impl *)b->impl;
  return !n || nn__cl_changed(I, NN__CL_MEM(buf), nn__cl_fill_dev(I->dev, NN__CL_MEM(buf), off, n, v), "nn_fill");
}
static int nn__cl_copy(nn_backend *b, void *dst, const void *src, size_t n) {
  nn__cl_impl *I = (nn__cl_impl *)b->impl;
  return !n || nn__cl_changed(I, NN__CL_MEM(dst), clEnqueueCopyBuffer(I->dev->q, NN__CL_MEM(src), NN__CL_MEM(dst), 0, 0,
                                                                      n * sizeof(float), 0, NULL, NULL), "clEnqueueCopyBuffer");
}

static int nn__cl_update(nn_backend *b, const nn_update *u) {
  nn__cl_impl *I = (nn__cl_impl *)b->impl;
  nn__cl_call k = nn__cl_begin(I, NN__CL_K_update);
  snprintf(I->what, sizeof I->what, "optimizer update");
  nn__cl_ai(&k, (int)u->n); nn__cl_ai(&k, (int)u->kind); nn__cl_ai(&k, (u->flags & NN_DECOUPLED_WD) != 0);
  nn__cl_ai(&k, (u->flags & NN_NESTEROV) != 0); nn__cl_af(&k, u->lr); nn__cl_af(&k, u->weight_decay); nn__cl_af(&k, u->momentum);
  nn__cl_af(&k, u->beta1); nn__cl_af(&k, u->beta2); nn__cl_af(&k, u->eps); nn__cl_af(&k, u->grad_scale); nn__cl_af(&k, u->l1);
  nn__cl_af(&k, 1.0f - (float)pow(u->beta1, (double)u->step)); nn__cl_af(&k, 1.0f - (float)pow(u->beta2, (double)u->step));
  nn__cl_am(&k, NN__CL_MEM(u->w)); nn__cl_am(&k, NN__CL_MEM(u->g)); nn__cl_am(&k, NN__CL_MEM(u->s1)); nn__cl_am(&k, NN__CL_MEM(u->s2));
  return nn__cl_elems(&k, u->n);
}
/* out[i] = the sum of squares of bufs[i][0..n[i]), for i < count: one
   nn_sum_partial per buffer into its own NN__CL_PARTIALS slots (zeros
   past the work-groups it needs), one nn_seg_sum over all, the peeked
   float copied behind the sums, one read */
static int nn__cl_sumsq(nn_backend *b, const void *const *bufs, const size_t *n, int count, double *out,
                        const void *peek, float *peeked) {
  nn__cl_impl *I = (nn__cl_impl *)b->impl;
  nn__cl_dev *d = I->dev;
  size_t np = (size_t)(count > 0 ? count : 1) * NN__CL_PARTIALS;
  cl_mem part = nn__cl_scratch(d, 0, np), res = nn__cl_scratch(d, 1, (size_t)count + 1);
  float *v = (float *)NN_MALLOC(((size_t)count + 1) * sizeof(float));
  int i, ok = part && res && v && (!count || nn__cl_fill_mem(I, part, 0, (size_t)count * NN__CL_PARTIALS));
  snprintf(I->what, sizeof I->what, "sum of squares");
  for (i = 0; i < count && ok; i++) {
    nn__cl_call k = nn__cl_begin(I, NN__CL_K_sum_partial);
    nn__cl_ai(&k, (int)n[i]); nn__cl_ai(&k, 1); nn__cl_am(&k, NN__CL_MEM(bufs[i])); nn__cl_am(&k, part);
    nn__cl_ai(&k, i * NN__CL_PARTIALS); nn__cl_al(&k, d->wg);
    ok = nn__cl_groups(&k, nn__cl_sum_groups(d, n[i]), d->wg);
  }
  ok = ok && (!count || nn__cl_seg_sum(I, (size_t)count, NN__CL_PARTIALS, part, 0, res, 0));
  if (ok && peek) {
    cl_int e = clEnqueueCopyBuffer(d->q, NN__CL_MEM(peek), res, 0, (size_t)count * sizeof(float), sizeof(float), 0, NULL, NULL);
    I->launches++;
    ok = e == CL_SUCCESS || nn__cl_fail(d, "clEnqueueCopyBuffer", e);
  }
  ok = ok && (count + (peek != NULL) == 0 || nn__cl_read_now(I, res, 0, v, (size_t)count + (peek != NULL)));
  for (i = 0; i < count && ok; i++) out[i] = v[i];
  if (ok && peek) *peeked = v[count];
  NN_FREE(v);
  return ok || v ? ok : nn_set_error("out of memory");
}
static int nn__cl_scale(nn_backend *b, void *buf, size_t n, float s) {
  nn__cl_impl *I = (nn__cl_impl *)b->impl;
  nn__cl_call k = nn__cl_begin(I, NN__CL_K_scale_inplace);
  snprintf(I->what, sizeof I->what, "scaling a buffer");
  nn__cl_ai(&k, (int)n); nn__cl_af(&k, s); nn__cl_am(&k, NN__CL_MEM(buf));
  return nn__cl_elems(&k, n);
}
static int nn__cl_lerp(nn_backend *b, void *a, const void *src, size_t n, float t) {
  nn__cl_impl *I = (nn__cl_impl *)b->impl;
  nn__cl_call k = nn__cl_begin(I, NN__CL_K_lerp);
  snprintf(I->what, sizeof I->what, "weight average");
  nn__cl_ai(&k, (int)n); nn__cl_af(&k, t); nn__cl_am(&k, NN__CL_MEM(a)); nn__cl_am(&k, NN__CL_MEM(src));
  return nn__cl_elems(&k, n);
}

/* Several buffers through the host with one transfer: device-side copies
   into (or out of) this backend's staging buffer, and one read (or one
   write) of it; a single buffer goes directly.  No kernel objects: the
   copies are clEnqueueCopyBuffer. */
static cl_mem nn__cl_staging(nn_backend *b, size_t n) {
  nn__cl_impl *I = (nn__cl_impl *)b->impl;
  if (I->staging_n < n) {
    if (I->staging) nn__cl_release(b, (void *)I->staging);
    I->staging = NULL;
    I->staging_n = 0;
    if (!(I->staging = nn__cl_new_mem(I->dev, n * sizeof(float)))) return NULL;
    I->staging_n = n;
  }
  return I->staging;
}
static int nn__cl_gather(nn_backend *b, const void *const *bufs, const size_t *n, int count, float *dst) {
  nn__cl_impl *I = (nn__cl_impl *)b->impl;
  size_t total = 0, off = 0;
  cl_mem st;
  int k, ok = 1;
  if (count == 1) return nn__cl_read(b, bufs[0], 0, dst, n[0]);
  for (k = 0; k < count; k++) total += n[k];
  if (!total) return 1;
  if (!(st = nn__cl_staging(b, total))) return 0;
  for (k = 0; k < count && ok; off += n[k], k++)
    ok = !n[k] || nn__cl_changed(I, st, clEnqueueCopyBuffer(I->dev->q, NN__CL_MEM(bufs[k]), st, 0, off * sizeof(float),
                                                             n[k] * sizeof(float), 0, NULL, NULL), "clEnqueueCopyBuffer (gather)");
  return ok && nn__cl_read_now(I, st, 0, dst, total);
}
static int nn__cl_scatter(nn_backend *b, void *const *bufs, const size_t *n, int count, const float *src) {
  nn__cl_impl *I = (nn__cl_impl *)b->impl;
  size_t total = 0, off = 0;
  cl_mem st;
  int k, ok;
  if (count == 1) return nn__cl_write(b, bufs[0], 0, src, n[0]);
  for (k = 0; k < count; k++) total += n[k];
  if (!total) return 1;
  ok = (st = nn__cl_staging(b, total)) && nn__cl_write(b, (void *)st, 0, src, total);
  for (k = 0; k < count && ok; off += n[k], k++)
    ok = !n[k] || nn__cl_changed(I, NN__CL_MEM(bufs[k]), clEnqueueCopyBuffer(I->dev->q, st, NN__CL_MEM(bufs[k]), off * sizeof(float),
                                                                              0, n[k] * sizeof(float), 0, NULL, NULL),
                                 "clEnqueueCopyBuffer (scatter)");
  return ok;
}

static void nn__cl_destroy(nn_backend *b) {
  nn__cl_impl *I = (nn__cl_impl *)b->impl;
  if (I) {
    if (I->staging) nn__cl_release(b, (void *)I->staging);
    while (I->n_host) nn__cl_host_drop(I, &I->host[0]);
    NN_FREE(I->host);
    if (I->dev) nn__cl_put_dev(I->dev);
    NN_FREE(I);
  }
  NN_FREE(b);
}

/* ======================================================================
   Public functions
   ====================================================================== */
NNDEF void nn_opencl_default_config(nn_opencl_config *c) {
  if (!c) { nn_set_error("opencl_default_config: the config is NULL"); return; }
  memset(c, 0, sizeof *c);
  c->platform = c->device = -1;
}

static const nn_backend_ops nn__cl_backend_ops = {
  "opencl", nn__cl_alloc, nn__cl_release, nn__cl_write, nn__cl_read, nn__cl_fill, nn__cl_copy,
  nn__cl_supports, nn__cl_workspace, nn__cl_forward, nn__cl_backward, nn__cl_update,
  nn__cl_sumsq, nn__cl_scale, nn__cl_lerp, nn__cl_destroy, nn__cl_gather, nn__cl_scatter};

NNDEF nn_backend *nn_opencl_backend_ex(const nn_opencl_config *c) {
  nn_backend *b;
  nn__cl_impl *I;
  if (!c) { nn_set_error("opencl_backend_ex: the config is NULL"); return NULL; }
  b = (nn_backend *)nn__cl_zalloc(sizeof *b);
  I = (nn__cl_impl *)nn__cl_zalloc(sizeof *I);
  if (!b || !I) { NN_FREE(b); NN_FREE(I); return NULL; }
  b->ops = &nn__cl_backend_ops;
  b->impl = I;
  if (!(I->dev = nn__cl_get_dev(c))) {
    nn__cl_destroy(b);
    return NULL;
  }
  I->created_base = I->dev->kernels_created;
  return b;
}

NNDEF nn_backend *nn_opencl_backend(int platform, int device) {
  nn_opencl_config c;
  nn_opencl_default_config(&c);
  c.platform = platform;
  c.device = device;
  return nn_opencl_backend_ex(&c);
}

NNDEF int nn_opencl_get_info(const nn_backend *b, nn_opencl_info *out) {
  const nn__cl_impl *I;
  const nn__cl_dev *d;
  if (!b || b->ops != &nn__cl_backend_ops) return nn_set_error("opencl_get_info: not an OpenCL backend");
  if (!out) return nn_set_error("opencl_get_info: the output is NULL");
  I = (const nn__cl_impl *)b->impl;
  d = I->dev;
  memset(out, 0, sizeof *out);
  snprintf(out->platform, sizeof out->platform, "%s", d->platform_name);
  snprintf(out->device, sizeof out->device, "%s", d->name);
  snprintf(out->driver, sizeof out->driver, "%s", d->driver);
  out->platform_index = d->platform_index;
  out->device_index = d->device_index;
  out->bytes_to_device = I->to_device;
  out->bytes_to_host = I->to_host;
  out->writes = I->writes;
  out->reads = I->reads;
  out->launches = I->launches + I->clblast_calls;
  out->clblast_calls = I->clblast_calls;
  out->kernel_creations = I->dev->kernels_created - I->created_base + I->clblast_calls;
  out->blocking = I->blocking;
  out->kernels_from_cache = d->from_cache;
  snprintf(out->cache_file, sizeof out->cache_file, "%s", d->cache_file);
  return 1;
}

NNDEF void nn_opencl_reset_counters(nn_backend *b) {
  nn__cl_impl *I;
  if (!b || b->ops != &nn__cl_backend_ops) return;
  I = (nn__cl_impl *)b->impl;
  I->to_device = I->to_host = 0;
  I->writes = I->reads = I->launches = I->clblast_calls = I->blocking = 0;
  I->created_base = I->dev->kernels_created;
}

/* BEGIN KERNELS (generated by tools/embed_kernels.sh from kernels/; do not edit) */
static const char *const nn__cl_source[] = {
/* kernels/common.cl */
"/* Helpers shared by every kernel file (embedded first).  OpenCL C 1.2.\n",
"   Global sizes are rounded up to whole work-groups, so every kernel\n",
"   checks its index against the element count it is given.  Work-group\n",
"   reductions need a power-of-two local size and a __local float array\n",
"   of that many elements; every work-item of the group must call them. */\n",
"\n",
"/* bitwise-closer results to the CPU path: no silent a*b+c -> fma */\n",
"#pragma OPENCL FP_CONTRACT OFF\n",
"\n",
"float nn_wg_sum(__local float *s, float v) {\n",
"  int l = get_local_id(0);\n",
"  s[l] = v;\n",
"  barrier(CLK_LOCAL_MEM_FENCE);\n",
"  for (int k = get_local_size(0) / 2; k > 0; k >>= 1) {\n",
"    if (l < k) s[l] += s[l + k];\n",
"    barrier(CLK_LOCAL_MEM_FENCE);\n",
"  }\n",
"  v = s[0];\n",
"  barrier(CLK_LOCAL_MEM_FENCE);\n",
"  return v;\n",
"}\n",
"\n",
"float nn_wg_max(__local float *s, float v) {\n",
"  int l = get_local_id(0);\n",
"  s[l] = v;\n",
"  barrier(CLK_LOCAL_MEM_FENCE);\n",
"  for (int k = get_local_size(0) / 2; k > 0; k >>= 1) {\n",
"    if (l < k) s[l] = fmax(s[l], s[l + k]);\n",
"    barrier(CLK_LOCAL_MEM_FENCE);\n",
"  }\n",
"  v = s[0];\n",
"  barrier(CLK_LOCAL_MEM_FENCE);\n",
"  return v;\n",
"}\n",
"\n",
"/* counter-based random bits: a 32-bit integer hash (lowbias32) */\n",
"uint nn_hash(uint x) {\n",
"  x ^= x >> 16;\n",
"  x *= 0x7feb352dU;\n",
"  x ^= x >> 15;\n",
"  x *= 0x846ca68bU;\n",
"  x ^= x >> 16;\n",
"  return x;\n",
"}\n",
/* kernels/conv.cl */
"/* Convolution as GEMM, and pooling.  Images are NCHW.  A chunk of nb\n",
"   samples starting at sample b0 is lowered to a column matrix\n",
"   col[K, nb*P] (K = C*kh*kw rows, one column per output pixel of every\n",
"   sample), so that one GEMM with the [O, K] weights covers the chunk. */\n",
"\n",
"__kernel void nn_im2col(int total, int nbP, int P, int OW, int C, int H, int W, int kh, int kw,\n",
"                        int s, int p, __global const float *x, int x_off, __global float *col) {\n",
"  int idx = get_global_id(0);\n",
"  if (idx >= total) return;\n",
"  int k = idx / nbP, r = idx - k * nbP, b = r / P, q = r - b * P;\n",
"  int oh = q / OW, ow = q - oh * OW;\n",
"  int j = k % kw, i = (k / kw) % kh, ch = k / (kw * kh);\n",
"  int h = oh * s - p + i, w = ow * s - p + j;\n",
"  col[idx] = (h >= 0 && h < H && w >= 0 && w < W) ? x[x_off + ((size_t)(b * C + ch) * H + h) * W + w] : 0.0f;\n",
"}\n",
"\n",
"/* the column entries that were read from pixel idx of sample b's image:\n",
"   one work-item per pixel gathers, so no two write the same place */\n",
"float nn_col2im_sum(int idx, int nbP, int P, int OH, int OW, int C, int H, int W, int kh, int kw,\n",
"                    int s, int p, __global const float *col) {\n",
"  int w = idx % W, h = (idx / W) % H, ch = (idx / (W * H)) % C, b = idx / (W * H * C);\n",
"  float sum = 0.0f;\n",
"  for (int i = 0; i < kh; i++) {\n",
"    int t = h + p - i, oh = t / s;\n",
"    if (t < 0 || t - oh * s != 0 || oh >= OH) continue;\n",
"    for (int j = 0; j < kw; j++) {\n",
"      int u = w + p - j, ow = u / s;\n",
"      if (u < 0 || u - ow * s != 0 || ow >= OW) continue;\n",
"      sum += col[(size_t)((ch * kh + i) * kw + j) * nbP + b * P + oh * OW + ow];\n",
"    }\n",
"  }\n",
"  return sum;\n",
"}\n",
"\n",
"/* dx[b0 + b] += the column entries that were read from each pixel */\n",
"__kernel void nn_col2im_acc(int total, int nbP, int P, int OH, int OW, int C, int H, int W, int kh, int kw,\n",
"                            int s, int p, __global const float *col, __global float *dx, int dx_off) {\n",
"  int idx = get_global_id(0);\n",
"  if (idx >= total) return;\n",
"  dx[dx_off + idx] += nn_col2im_sum(idx, nbP, P, OH, OW, C, H, W, kh, kw, s, p, col);\n",
"}\n",
"\n",
"/* conv2d_transpose's output: y[b0 + b] = col2im of its columns (+ bias\n",
"   per channel) */\n",
"__kernel void nn_convt_out(int total, int nbP, int P, int OH, int OW, int C, int H, int W, int kh, int kw,\n",
"                           int s, int p, __global const float *col, __global const float *bias,\n",
"                           __global float *y, int y_off) {\n",
"  int idx = get_global_id(0);\n",
"  if (idx >= total) return;\n",
"  float v = nn_col2im_sum(idx, nbP, P, OH, OW, C, H, W, kh, kw, s, p, col);\n",
"  y[y_off + idx] = bias ? v + bias[(idx / (W * H)) % C] : v;\n",
"}\n",
"\n",
"/* y[b0 + b, o, q] = out[o, b*P + q] (+ bias[o]) */\n",
"__kernel void nn_conv_out(int total, int nbP, int P, int O, __global const float *out,\n",
"                          __global const float *bias, __global float *y, int y_off) {\n",
"  int idx = get_global_id(0);\n",
"  if (idx >= total) return;\n",
"  int q = idx % P, o = (idx / P) % O, b = idx / (P * O);\n",
"  float v = out[(size_t)o * nbP + b * P + q];\n",
"  y[y_off + idx] = bias ? v + bias[o] : v;\n",
"}\n",
"\n",
"/* dyt[o, b*P + q] = dy[b0 + b, o, q] */\n",
"__kernel void nn_conv_dyt(int total, int nbP, int P, int O, __global const float *dy, int dy_off,\n",
"                          __global float *dyt) {\n",
"  int idx = get_global_id(0);\n",
"  if (idx >= total) return;\n",
"  int q = idx % P, o = (idx / P) % O, b = idx / (P * O);\n",
"  dyt[(size_t)o * nbP + b * P + q] = dy[dy_off + idx];\n",
"}\n",
"\n",
"/* dx[b0 + b, o, q] += out[o, b*P + q]: conv2d_transpose's input gradient */\n",
"__kernel void nn_convt_dx(int total, int nbP, int P, int O, __global const float *out, __global float *dx,\n",
"                          int dx_off) {\n",
"  int idx = get_global_id(0);\n",
"  if (idx >= total) return;\n",
"  int q = idx % P, o = (idx / P) % O, b = idx / (P * O);\n",
"  dx[dx_off + idx] += out[(size_t)o * nbP + b * P + q];\n",
"}\n",
"\n",
"/* nearest-neighbour upsampling by f of planes [H, W]: forward one\n",
"   work-item per output, backward one per input (its f x f block) */\n",
"__kernel void nn_upsample_fwd(int total, int H, int W, int f, __global const float *x, __global float *y) {\n",
"  int idx = get_global_id(0);\n",
"  if (idx >= total) return;\n",
"  int OW = W * f, ow = idx % OW, oh = (idx / OW) % (H * f), pl = idx / (OW * H * f);\n",
"  y[idx] = x[((size_t)pl * H + oh / f) * W + ow / f];\n",
"}\n",
"__kernel void nn_upsample_bwd(int total, int H, int W, int f, __global const float *dy, __global float *dx) {\n",
"  int idx = get_global_id(0);\n",
"  if (idx >= total) return;\n",
"  int w = idx % W, h = (idx / W) % H, pl = idx / (W * H), OW = W * f;\n",
"  __global const float *d = dy + ((size_t)pl * H * f + h * f) * OW + w * f;\n",
"  float sum = 0.0f;\n",
"  for (int i = 0; i < f; i++)\n",
"    for (int j = 0; j < f; j++) sum += d[i * OW + j];\n",
"  dx[idx] += sum;\n",
"}\n",
"\n",
"/* Max pooling keeps, per output, the index of the winner inside its\n",
"   input plane (exact as a float), the first one on ties. */\n",
"__kernel void nn_maxpool_fwd(int total, int H, int W, int OH, int OW, int k, int s, int p,\n",
"                             __global const float *x, __global float *y, __global float *arg) {\n",
"  int idx = get_global_id(0);\n",
"  if (idx >= total) return;\n",
"  int ow = idx % OW, oh = (idx / OW) % OH, pl = idx / (OW * OH);\n",
"  __global const float *xp = x + (size_t)pl * H * W;\n",
"  float best = -FLT_MAX;\n",
"  int at = -1;\n",
"  for (int i = 0; i < k; i++) {\n",
"    int h = oh * s - p + i;\n",
"    if (h < 0 || h >= H) continue;\n",
"    for (int j = 0; j < k; j++) {\n",
"      int w = ow * s - p + j;\n",
"      if (w < 0 || w >= W) continue;\n",
"      if (at < 0 || xp[h * W + w] > best) { best = xp[h * W + w]; at = h * W + w; }\n",
"    }\n",
"  }\n",
"  y[idx] = best;\n",
"  arg[idx] = (float)at;\n",
"}\n",
"\n",
"/* range of outputs whose window covers input position v */\n",
"void nn_pool_range(int v, int k, int s, int p, int out, int *lo, int *hi) {\n",
"  int t = v + p - k + 1;\n",
"  *lo = t <= 0 ? 0 : (t + s - 1) / s;\n",
"  *hi = (v + p) / s;\n",
"  if (*hi > out - 1) *hi = out - 1;\n",
"}\n",
"\n",
"__kernel void nn_maxpool_bwd(int total, int H, int W, int OH, int OW, int k, int s, int p,\n",
"                             __global const float *dy, __global const float *arg, __global float *dx) {\n",
"  int idx = get_global_id(0);\n",
"  if (idx >= total) return;\n",
"  int w = idx % W, h = (idx / W) % H, pl = idx / (W * H);\n",
"  int oh0, oh1, ow0, ow1;\n",
"  float here = (float)(h * W + w), sum = 0.0f;\n",
"  nn_pool_range(h, k, s, p, OH, &oh0, &oh1);\n",
"  nn_pool_range(w, k, s, p, OW, &ow0, &ow1);\n",
"  for (int oh = oh0; oh <= oh1; oh++)\n",
"    for (int ow = ow0; ow <= ow1; ow++) {\n",
"      size_t o = ((size_t)pl * OH + oh) * OW + ow;\n",
"      if (arg[o] == here) sum += dy[o];\n",
"    }\n",
"  dx[idx] += sum;\n",
"}\n",
"\n",
"/* average pooling divides by k*k, padding included (as the CPU does) */\n",
"__kernel void nn_avgpool_fwd(int total, int H, int W, int OH, int OW, int k, int s, int p,\n",
"                             __global const float *x, __global float *y) {\n",
"  int idx = get_global_id(0);\n",
"  if (idx >= total) return;\n",
"  int ow = idx % OW, oh = (idx / OW) % OH, pl = idx / (OW * OH);\n",
"  __global const float *xp = x + (size_t)pl * H * W;\n",
"  float sum = 0.0f;\n",
"  for (int i = 0; i < k; i++) {\n",
"    int h = oh * s - p + i;\n",
"    if (h < 0 || h >= H) continue;\n",
"    for (int j = 0; j < k; j++) {\n",
"      int w = ow * s - p + j;\n",
"      if (w >= 0 && w < W) sum += xp[h * W + w];\n",
"    }\n",
"  }\n",
"  y[idx] = sum * (1.0f / (float)(k * k));\n",
"}\n",
"\n",
"__kernel void nn_avgpool_bwd(int total, int H, int W, int OH, int OW, int k, int s, int p,\n",
"                             __global const float *dy, __global float *dx) {\n",
"  int idx = get_global_id(0);\n",
"  if (idx >= total) return;\n",
"  int w = idx % W, h = (idx / W) % H, pl = idx / (W * H);\n",
"  int oh0, oh1, ow0, ow1;\n",
"  float inv = 1.0f / (float)(k * k), sum = 0.0f;\n",
"  nn_pool_range(h, k, s, p, OH, &oh0, &oh1);\n",
"  nn_pool_range(w, k, s, p, OW, &ow0, &ow1);\n",
"  for (int oh = oh0; oh <= oh1; oh++)\n",
"    for (int ow = ow0; ow <= ow1; ow++) sum += dy[((size_t)pl * OH + oh) * OW + ow] * inv;\n",
"  dx[idx] += sum;\n",
"}\n",
"\n",
"/* global average pooling: one work-group per plane */\n",
"__kernel void nn_gap_fwd(int hw, __global const float *x, __global float *y, __local float *red) {\n",
"  int pl = get_group_id(0), l = get_local_id(0), ls = get_local_size(0);\n",
"  float s = 0.0f;\n",
"  for (int q = l; q < hw; q += ls) s += x[(size_t)pl * hw + q];\n",
"  s = nn_wg_sum(red, s);\n",
"  if (l == 0) y[pl] = s / (float)hw;\n",
"}\n",
"__kernel void nn_gap_bwd(int n, int hw, __global const float *dy, __global float *dx) {\n",
"  int i = get_global_id(0);\n",
"  if (i < n) dx[i] += dy[i / hw] / (float)hw;\n",
"}\n",
/* kernels/elementwise.cl */
"/* Element-wise ops.  Forward kernels write y; backward kernels ADD into\n",
"   dx, as the CPU kernels do, so a value read by several ops receives the\n",
"   sum of their gradients. */\n",
"\n",
"/* x[off + i] = v for i < n: zeroing by a kernel rather than\n",
"   clEnqueueFillBuffer, which Oclgrind does not count as initialising */\n",
"__kernel void nn_fill(ulong n, ulong off, float v, __global float *x) {\n",
"  for (ulong i = get_global_id(0); i < n; i += get_global_size(0)) x[off + i] = v;\n",
"}\n",
"\n",
"__kernel void nn_add_fwd(int n, __global const float *a, __global const float *b, __global float *y) {\n",
"  int i = get_global_id(0);\n",
"  if (i < n) y[i] = a[i] + b[i];\n",
"}\n",
"\n",
"/* dx += dy (exactly, no multiply: residual add, dropout in eval mode) */\n",
"__kernel void nn_acc1(int n, __global const float *dy, __global float *dx) {\n",
"  int i = get_global_id(0);\n",
"  if (i < n) dx[i] += dy[i];\n",
"}\n",
"\n",
"/* y[row, j] += b[j] for rows of width `width` */\n",
"__kernel void nn_bias_rows(int n, int width, __global const float *b, __global float *y) {\n",
"  int i = get_global_id(0);\n",
"  if (i < n) y[i] += b[i % width];\n",
"}\n",
"\n",
"/* Maps, one pair of kernels each, as nn.h's NN__ELEMENTWISE: FWD is y\n",
"   from v = x[i] (a: the op's scalar attribute), BWD what dx[i] gains from\n",
"   g = dy[i], using v or the saved output u = y[i] (loads a map does not\n",
"   use are left out by the compiler). */\n",
"#define NN_MAP(name, FWD, BWD)                                                                      \\\n",
"  __kernel void nn_##name##_fwd(int n, float a, __global const float *x, __global float *y) {       \\\n",
"    int i = get_global_id(0);                                                                       \\\n",
"    if (i < n) { float v = x[i]; y[i] = (FWD); }                                                    \\\n",
"  }                                                                                                 \\\n",
"  __kernel void nn_##name##_bwd(int n, float a, __global const float *x, __global const float *y,   \\\n",
"                                __global const float *dy, __global float *dx) {                     \\\n",
"    int i = get_global_id(0);                                                                       \\\n",
"    if (i < n) { float v = x[i], u = y[i], g = dy[i]; dx[i] += (BWD); }                             \\\n",
"  }\n",
"float nn_sigmoid(float v) { return 1.0f / (1.0f + exp(-v)); }\n",
"NN_MAP(relu, v > 0.0f ? v : 0.0f, v > 0.0f ? g : 0.0f)\n",
"NN_MAP(leaky_relu, v > 0.0f ? v : a * v, v > 0.0f ? g : a * g)\n",
"/* gelu(x) = x * Phi(x), the exact (erf) form */\n",
"NN_MAP(gelu, 0.5f * v * (1.0f + erf(v * 0.70710678f)),\n",
"       g * (0.5f * (1.0f + erf(v * 0.70710678f)) + v * 0.39894228f * exp(-0.5f * v * v)))\n",
"NN_MAP(silu, v * nn_sigmoid(v), g * (nn_sigmoid(v) * (1.0f + v * (1.0f - nn_sigmoid(v)))))\n",
"NN_MAP(sigmoid, nn_sigmoid(v), g * u * (1.0f - u))\n",
"NN_MAP(tanh, tanh(v), g * (1.0f - u * u))\n",
"NN_MAP(scale, v * a, g * a)\n",
"\n",
"/* Broadcast product: b's element for position j of sample s is\n",
"   s * bstride + (j / inner) % count (bstride: count for a batched b, 0 for\n",
"   one shared by all samples).  y = a * b, or y += a * b with acc: the\n",
"   forward pass, and the backward pass for a with a = dy, y = da. */\n",
"__kernel void nn_mul_bcast(int n, int per, int inner, int count, int bstride, int acc, __global const float *a,\n",
"                           __global const float *b, __global float *y) {\n",
"  int i = get_global_id(0);\n",
"  if (i >= n) return;\n",
"  int s = i / per, j = i - s * per;\n",
"  float v = a[i] * b[s * bstride + (j / inner) % count];\n",
"  y[i] = acc ? y[i] + v : v;\n",
"}\n",
"/* db[e] += sum of dy * a over the positions that read b[e]: one\n",
"   work-group per element of b, so there are no atomics.  Element e is\n",
"   k = e % count of sample e / count (batched) or of every sample (shared);\n",
"   it is read by the blocks k, k + count, ... of `inner` positions. */\n",
"__kernel void nn_mul_bwd_b(int n, int per, int inner, int count, int batched, __global const float *a,\n",
"                           __global const float *dy, __global float *db, __local float *red) {\n",
"  int e = get_group_id(0), l = get_local_id(0), ls = get_local_size(0);\n",
"  int k = e % count, reps = per / inner / count, s0 = batched ? e / count : 0;\n",
"  int cnt = (batched ? per : n) / count;   /* n: elements of a in the batch */\n",
"  float sum = 0.0f;\n",
"  for (int t = l; t < cnt; t += ls) {\n",
"    int j = t % inner, r = t / inner, s = s0 + r / reps, m = r % reps;\n",
"    size_t at = (size_t)s * per + (size_t)(k + m * count) * inner + j;\n",
"    sum += dy[at] * a[at];\n",
"  }\n",
"  sum = nn_wg_sum(red, sum);\n",
"  if (l == 0) db[e] += sum;\n",
"}\n",
"\n",
"/* Dropout: element i of a step keeps its value when a uniform number in\n",
"   [0,1) drawn from (seed, i) is >= p; the mask holds 1/(1-p) or 0 and\n",
"   stays in the workspace for the backward pass. */\n",
"__kernel void nn_dropout_fwd(int n, float p, float keep, uint seed_a, uint seed_b,\n",
"                             __global const float *x, __global float *mask, __global float *y) {\n",
"  int i = get_global_id(0);\n",
"  if (i >= n) return;\n",
"  uint h = nn_hash(nn_hash((uint)i ^ seed_a) + seed_b);\n",
"  float u = (float)(h >> 8) * (1.0f / 16777216.0f), k = u >= p ? keep : 0.0f;\n",
"  mask[i] = k;\n",
"  y[i] = x[i] * k;\n",
"}\n",
"__kernel void nn_dropout_bwd(int n, __global const float *dy, __global const float *mask, __global float *dx) {\n",
"  int i = get_global_id(0);\n",
"  if (i < n) dx[i] += dy[i] * mask[i];\n",
"}\n",
"\n",
"/* concat along dim 0 of a sample: input k is a block of `part` floats per\n",
"   sample at offset `off` of each output sample of `out` floats */\n",
"__kernel void nn_concat_fwd(int n, int part, int out, int off, __global const float *x, __global float *y) {\n",
"  int i = get_global_id(0);\n",
"  if (i < n) y[(size_t)(i / part) * out + off + i % part] = x[i];\n",
"}\n",
"__kernel void nn_concat_bwd(int n, int part, int out, int off, __global const float *dy, __global float *dx) {\n",
"  int i = get_global_id(0);\n",
"  if (i < n) dx[i] += dy[(size_t)(i / part) * out + off + i % part];\n",
"}\n",
/* kernels/gemm.cl */
"/* C = alpha op(A) op(B) + beta C, row-major, op(A) [M, K], op(B) [K, N]\n",
"   (ta, tb: A, B stored transposed), each matrix at an offset with its\n",
"   leading dimension: every product of the examples (see nn__cl_gemm).\n",
"   Work-groups of NN_GW x NN_GW (16; the host sets it in the build options,\n",
"   smaller under a simulator) compute tiles of 4 NN_GW x 4 NN_GW of C, each\n",
"   work-item a 4 x 4 block strided by NN_GW (conflict-free local reads);\n",
"   tiles of A and B go through local memory NN_GW columns of K at a time,\n",
"   loaded along their contiguous dimension, 4 elements per work-item.\n",
"   Any sizes: out-of-range loads read zeros, stores are skipped.  beta 0\n",
"   does not read C (it may hold anything, as in BLAS).\n",
"   Split along K (when M x N has too few tiles to fill the device): the\n",
"   third dimension of the launch numbers slices of kc columns of K; slice s\n",
"   writes its partial product to C + s cs (scratch, alpha 1, beta 0) and\n",
"   nn_gemm_sum adds the slices into the real C.  Unsplit: kc = K, cs = 0. */\n",
"#ifndef NN_GW\n",
"#define NN_GW 16\n",
"#endif\n",
"#define NN_GT (4 * NN_GW)   /* tile of C */\n",
"#define NN_GK NN_GW         /* step along K */\n",
"__kernel __attribute__((reqd_work_group_size(NN_GW, NN_GW, 1)))\n",
"void nn_gemm(int M, int N, int K, int kc, int ta, int tb, float alpha, __global const float *A, int ao, int lda,\n",
"             __global const float *B, int bo, int ldb, float beta, __global float *C, int co, int ldc, int cs) {\n",
"  __local float as[NN_GK][NN_GT + 1], bs[NN_GK][NN_GT + 1];\n",
"  int tx = get_local_id(0), ty = get_local_id(1), t = ty * NN_GW + tx;\n",
"  int m0 = get_group_id(1) * NN_GT, n0 = get_group_id(0) * NN_GT;\n",
"  int kb = get_group_id(2) * kc, ke = min(K, kb + kc);\n",
"  float acc[4][4];\n",
"  C += co + get_group_id(2) * cs;\n",
"  for (int i = 0; i < 4; i++)\n",
"    for (int j = 0; j < 4; j++) acc[i][j] = 0.0f;\n",
"  for (int k0 = kb; k0 < ke; k0 += NN_GK) {\n",
"    for (int r = 0; r < 4; r++) {\n",
"      int e = t + NN_GW * NN_GW * r;\n",
"      /* element (m, k) of op(A) and (k, n) of op(B), contiguous index fastest */\n",
"      int am = ta ? e % NN_GT : e / NN_GK, ak = ta ? e / NN_GT : e % NN_GK;\n",
"      int bn = tb ? e / NN_GK : e % NN_GT, bk = tb ? e % NN_GK : e / NN_GT;\n",
"      int gm = m0 + am, gk = k0 + ak, gn = n0 + bn, hk = k0 + bk;\n",
"      as[ak][am] = gm < M && gk < ke ? A[ao + (ta ? gk * lda + gm : gm * lda + gk)] : 0.0f;\n",
"      bs[bk][bn] = gn < N && hk < ke ? B[bo + (tb ? gn * ldb + hk : hk * ldb + gn)] : 0.0f;\n",
"    }\n",
"    barrier(CLK_LOCAL_MEM_FENCE);\n",
"    for (int k = 0; k < NN_GK; k++) {\n",
"      float a[4], b[4];\n",
"      for (int i = 0; i < 4; i++) { a[i] = as[k][ty + NN_GW * i]; b[i] = bs[k][tx + NN_GW * i]; }\n",
"      for (int i = 0; i < 4; i++)\n",
"        for (int j = 0; j < 4; j++) acc[i][j] = fma(a[i], b[j], acc[i][j]);\n",
"    }\n",
"    barrier(CLK_LOCAL_MEM_FENCE);\n",
"  }\n",
"  for (int i = 0; i < 4; i++)\n",
"    for (int j = 0; j < 4; j++) {\n",
"      int m = m0 + ty + NN_GW * i, n = n0 + tx + NN_GW * j;\n",
"      if (m < M && n < N) {\n",
"        __global float *c = C + m * ldc + n;\n",
"        *c = beta == 0.0f ? alpha * acc[i][j] : alpha * acc[i][j] + beta * *c;\n",
"      }\n",
"    }\n",
"}\n",
"\n",
"/* C = alpha (sum of the S slices of nn_gemm's split product P, each M x N\n",
"   packed) + beta C, one element per work-item; beta 0 does not read C */\n",
"__kernel void nn_gemm_sum(int M, int N, int S, __global const float *P, float alpha, float beta, __global float *C,\n",
"                          int co, int ldc) {\n",
"  int i = get_global_id(0), mn = M * N;\n",
"  if (i >= mn) return;\n",
"  float sum = 0.0f;\n",
"  for (int s = 0; s < S; s++) sum += P[s * mn + i];\n",
"  __global float *c = C + co + i / N * ldc + i % N;\n",
"  *c = beta == 0.0f ? alpha * sum : alpha * sum + beta * *c;\n",
"}\n",
/* kernels/loss.cl */
"/* Losses and sums.  A loss writes per-sample or per-element terms, which\n",
"   nn_sum_partial and nn_sum_final add up into the scalar output; the\n",
"   backward kernels read the loss gradient dy[0] on the device. */\n",
"\n",
"/* partial[poff + g] = sum (mode 0) or sum of squares (mode 1) of the\n",
"   elements that work-group g visits (a grid-stride loop) */\n",
"__kernel void nn_sum_partial(int n, int mode, __global const float *x, __global float *partial, int poff,\n",
"                             __local float *red) {\n",
"  int l = get_local_id(0), stride = get_global_size(0);\n",
"  float s = 0.0f;\n",
"  for (int i = get_global_id(0); i < n; i += stride) s += mode ? x[i] * x[i] : x[i];\n",
"  s = nn_wg_sum(red, s);\n",
"  if (l == 0) partial[poff + get_group_id(0)] = s;\n",
"}\n",
"\n",
"/* out[0] = scale * sum of `count` partial sums (one work-group) */\n",
"__kernel void nn_sum_final(int count, float scale, __global const float *partial, __global float *out,\n",
"                           __local float *red) {\n",
"  int l = get_local_id(0), ls = get_local_size(0);\n",
"  float s = 0.0f;\n",
"  for (int i = l; i < count; i += ls) s += partial[i];\n",
"  s = nn_wg_sum(red, s);\n",
"  if (l == 0) out[0] = s * scale;\n",
"}\n",
"\n",
"/* out[i] = (acc ? out[i] : 0) + the sum of partial[poff + i*G ...][G]:\n",
"   the second level of the reductions below and of nn_sum_partial's */\n",
"__kernel void nn_seg_sum(int n, int G, __global const float *partial, int poff, __global float *out, int acc) {\n",
"  int i = get_global_id(0);\n",
"  if (i >= n) return;\n",
"  float s = 0.0f;\n",
"  for (int g = 0; g < G; g++) s += partial[poff + i * G + g];\n",
"  out[i] = acc ? out[i] + s : s;\n",
"}\n",
"\n",
"/* First levels of per-channel and per-column sums: G work-groups (or\n",
"   work-items) per channel or column, so that a few channels still fill\n",
"   the device.  nn_chan_partial: channel c of [n, C, S],\n",
"   partial[c*G + g] = sum of dy over group g's share; with x also\n",
"   partial[(C + c)*G + g] = sum of dy * xhat, xhat = (x - ws[c]) * ws[C + c]\n",
"   (batch norm).  nn_col_partial: column j of [rows, cols], rows g, g + G,\n",
"   ... by work-item (g, j); with x, xhat = (x - ws[2r]) * ws[2r + 1]\n",
"   (layer norm). */\n",
"__kernel void nn_chan_partial(int n, int C, int S, int G, __global const float *dy, __global const float *x,\n",
"                              __global const float *ws, __global float *partial, __local float *red) {\n",
"  int grp = get_group_id(0), c = grp / G, g = grp - c * G, l = get_local_id(0), ls = get_local_size(0);\n",
"  float mu = x ? ws[c] : 0.0f, rs = x ? ws[C + c] : 0.0f, s = 0.0f, sx = 0.0f;\n",
"  for (int e = g * ls + l; e < n * S; e += G * ls) {\n",
"    int b = e / S;\n",
"    size_t i = ((size_t)b * C + c) * S + (e - b * S);\n",
"    s += dy[i];\n",
"    if (x) sx += dy[i] * (x[i] - mu) * rs;\n",
"  }\n",
"  s = nn_wg_sum(red, s);\n",
"  if (x) sx = nn_wg_sum(red, sx);\n",
"  if (l == 0) {\n",
"    partial[c * G + g] = s;\n",
"    if (x) partial[(C + c) * G + g] = sx;\n",
"  }\n",
"}\n",
"__kernel void nn_col_partial(int rows, int cols, int G, __global const float *dy, __global const float *x,\n",
"                             __global const float *ws, __global float *partial) {\n",
"  int i = get_global_id(0);\n",
"  if (i >= G * cols) return;\n",
"  int g = i / cols, j = i - g * cols;\n",
"  float s = 0.0f, sx = 0.0f;\n",
"  for (int r = g; r < rows; r += G) {\n",
"    size_t o = (size_t)r * cols + j;\n",
"    s += dy[o];\n",
"    if (x) sx += dy[o] * (x[o] - ws[2 * r]) * ws[2 * r + 1];\n",
"  }\n",
"  partial[j * G + g] = s;\n",
"  if (x) partial[(cols + j) * G + g] = sx;\n",
"}\n",
"\n",
"/* Softmax cross entropy with label smoothing e, one work-group per sample\n",
"   (the host checked the labels):\n",
"   probabilities into prob (kept for the backward pass) and the sample's\n",
"   loss into rowloss.  Target distribution: (1-e)*onehot + e/C. */\n",
"__kernel void nn_ce_rows(int C, float e, __global const float *z, __global const float *labels,\n",
"                         __global float *prob, __global float *rowloss, __local float *red) {\n",
"  int b = get_group_id(0), l = get_local_id(0), ls = get_local_size(0);\n",
"  size_t o = (size_t)b * C;\n",
"  float mx = -INFINITY, s = 0.0f, lse, loss = 0.0f;\n",
"  int t = (int)labels[b];\n",
"  for (int j = l; j < C; j += ls) mx = fmax(mx, z[o + j]);\n",
"  mx = nn_wg_max(red, mx);\n",
"  for (int j = l; j < C; j += ls) s += exp(z[o + j] - mx);\n",
"  lse = mx + log(nn_wg_sum(red, s));\n",
"  for (int j = l; j < C; j += ls) {\n",
"    prob[o + j] = exp(z[o + j] - lse);\n",
"    loss -= ((j == t ? 1.0f - e : 0.0f) + e / (float)C) * (z[o + j] - lse);\n",
"  }\n",
"  loss = nn_wg_sum(red, loss);\n",
"  if (l == 0) rowloss[b] = loss;\n",
"}\n",
"\n",
"__kernel void nn_ce_bwd(int total, int C, float e, float scale, __global const float *dy,\n",
"                        __global const float *labels, __global const float *prob, __global float *dx) {\n",
"  int i = get_global_id(0);\n",
"  if (i >= total) return;\n",
"  int b = i / C, j = i - b * C;\n",
"  float g = dy[0] * scale;\n",
"  int t = (int)labels[b];\n",
"  dx[i] += g * (prob[i] - ((j == t ? 1.0f - e : 0.0f) + e / (float)C));\n",
"}\n",
"\n",
"/* binary cross entropy on logits, stable form:\n",
"   max(z,0) - z t + log(1 + exp(-|z|)) */\n",
"__kernel void nn_bce_terms(int n, __global const float *z, __global const float *t, __global float *terms) {\n",
"  int i = get_global_id(0);\n",
"  if (i >= n) return;\n",
"  float v = z[i];\n",
"  terms[i] = (v > 0.0f ? v : 0.0f) - v * t[i] + log1p(exp(-fabs(v)));\n",
"}\n",
"__kernel void nn_bce_bwd(int n, float scale, __global const float *dy, __global const float *z,\n",
"                         __global const float *t, __global float *dz, __global float *dt) {\n",
"  int i = get_global_id(0);\n",
"  if (i >= n) return;\n",
"  float g = dy[0] * scale, v = z[i];\n",
"  if (dz) dz[i] += g * (1.0f / (1.0f + exp(-v)) - t[i]);\n",
"  if (dt) dt[i] -= g * v;\n",
"}\n",
"\n",
"__kernel void nn_mse_terms(int n, __global const float *a, __global const float *b, __global float *terms) {\n",
"  int i = get_global_id(0);\n",
"  if (i >= n) return;\n",
"  float d = a[i] - b[i];\n",
"  terms[i] = d * d;\n",
"}\n",
"__kernel void nn_mse_bwd(int n, float scale, __global const float *dy, __global const float *a,\n",
"                         __global const float *b, __global float *da, __global float *db) {\n",
"  int i = get_global_id(0);\n",
"  if (i >= n) return;\n",
"  float d = 2.0f * dy[0] * scale * (a[i] - b[i]);\n",
"  if (da) da[i] += d;\n",
"  if (db) db[i] -= d;\n",
"}\n",
/* kernels/norm.cl */
"/* Batch norm, layer norm and softmax: reductions over a channel (in two\n",
"   levels) or a row (one work-group each). */\n",
"\n",
"/* Batch norm over channel c of x[n, C, S] in two levels.  Training:\n",
"   work-group g of the G of channel c writes the count, mean and sum of\n",
"   squared deviations of its share (partial[(k*C + c)*G + g], k = 0, 1,\n",
"   2); nn_bn_stats_final merges them per channel (Chan et al.'s pairwise\n",
"   update, as stable as two passes over the channel), writes mean and\n",
"   1/std into ws[c], ws[C + c] and moves the running statistics by `mom`\n",
"   (unbiased variance, as in PyTorch). */\n",
"__kernel void nn_bn_stats_partial(int n, int C, int S, int G, __global const float *x, __global float *partial,\n",
"                                  __local float *red) {\n",
"  int grp = get_group_id(0), c = grp / G, g = grp - c * G, l = get_local_id(0), ls = get_local_size(0);\n",
"  float s = 0.0f, k = 0.0f, ss = 0.0f, mu;\n",
"  for (int e = g * ls + l; e < n * S; e += G * ls) {\n",
"    int b = e / S;\n",
"    s += x[((size_t)b * C + c) * S + (e - b * S)];\n",
"    k += 1.0f;\n",
"  }\n",
"  k = nn_wg_sum(red, k);\n",
"  s = nn_wg_sum(red, s);\n",
"  mu = k > 0.0f ? s / k : 0.0f;\n",
"  for (int e = g * ls + l; e < n * S; e += G * ls) {\n",
"    int b = e / S;\n",
"    float d = x[((size_t)b * C + c) * S + (e - b * S)] - mu;\n",
"    ss += d * d;\n",
"  }\n",
"  ss = nn_wg_sum(red, ss);\n",
"  if (l == 0) {\n",
"    partial[c * G + g] = k;\n",
"    partial[(C + c) * G + g] = mu;\n",
"    partial[(2 * C + c) * G + g] = ss;\n",
"  }\n",
"}\n",
"/* channel c's count, mean and sum of squared deviations from its G partials */\n",
"void nn_bn_merge(int C, int G, int c, __global const float *partial, float *count, float *mean, float *sq) {\n",
"  float cnt = 0.0f, mu = 0.0f, m2 = 0.0f;\n",
"  for (int g = 0; g < G; g++) {\n",
"    float k = partial[c * G + g], d = partial[(C + c) * G + g] - mu;\n",
"    if (k == 0.0f) continue;\n",
"    mu += d * k / (cnt + k);\n",
"    m2 += partial[(2 * C + c) * G + g] + d * d * cnt * k / (cnt + k);\n",
"    cnt += k;\n",
"  }\n",
"  *count = cnt;\n",
"  *mean = mu;\n",
"  *sq = m2;\n",
"}\n",
"__kernel void nn_bn_stats_final(int C, int G, float mom, float eps, __global const float *partial,\n",
"                                __global float *ws, __global float *rmean, __global float *rvar) {\n",
"  int c = get_global_id(0);\n",
"  if (c >= C) return;\n",
"  float cnt, mu, m2, var;\n",
"  nn_bn_merge(C, G, c, partial, &cnt, &mu, &m2);\n",
"  var = m2 / cnt;\n",
"  ws[c] = mu;\n",
"  ws[C + c] = 1.0f / sqrt(var + eps);\n",
"  rmean[c] = (1.0f - mom) * rmean[c] + mom * mu;\n",
"  rvar[c] = (1.0f - mom) * rvar[c] + mom * (cnt > 1.0f ? var * cnt / (cnt - 1.0f) : var);\n",
"}\n",
"\n",
"/* Synchronised batch norm (nn_model_set_batchnorm_sync): stats gets each\n",
"   channel's mean and sum of squared deviations (stats[c], stats[C + c])\n",
"   for the host, which sums the copies' statistics and writes the joint\n",
"   mean, 1/std and unbiased variance into ws[c], ws[C + c], ws[2C + c];\n",
"   nn_bn_sync_running then moves the running statistics by `mom`. */\n",
"__kernel void nn_bn_sync_stats(int C, int G, __global const float *partial, __global float *stats) {\n",
"  int c = get_global_id(0);\n",
"  if (c >= C) return;\n",
"  float cnt, mu, m2;\n",
"  nn_bn_merge(C, G, c, partial, &cnt, &mu, &m2);\n",
"  stats[c] = mu;\n",
"  stats[C + c] = m2;\n",
"}\n",
"__kernel void nn_bn_sync_running(int C, float mom, __global const float *ws, __global float *rmean,\n",
"                                 __global float *rvar) {\n",
"  int c = get_global_id(0);\n",
"  if (c >= C) return;\n",
"  rmean[c] = (1.0f - mom) * rmean[c] + mom * ws[c];\n",
"  rvar[c] = (1.0f - mom) * rvar[c] + mom * ws[2 * C + c];\n",
"}\n",
"\n",
"/* eval mode: the running statistics */\n",
"__kernel void nn_bn_eval_stats(int C, float eps, __global const float *rmean, __global const float *rvar,\n",
"                               __global float *ws) {\n",
"  int c = get_global_id(0);\n",
"  if (c >= C) return;\n",
"  ws[c] = rmean[c];\n",
"  ws[C + c] = 1.0f / sqrt(rvar[c] + eps);\n",
"}\n",
"\n",
"__kernel void nn_bn_apply(int total, int C, int S, __global const float *x, __global const float *gamma,\n",
"                          __global const float *beta, __global const float *ws, __global float *y) {\n",
"  int i = get_global_id(0);\n",
"  if (i >= total) return;\n",
"  int c = (i / S) % C;\n",
"  float a = gamma[c] * ws[C + c], sh = beta[c] - ws[c] * a;\n",
"  y[i] = x[i] * a + sh;\n",
"}\n",
"\n",
"/* per channel, from nn_chan_partial's G partial sums: sums[c] = sum dy,\n",
"   sums[C + c] = sum dy * xhat; they are also the gradients of the shift\n",
"   and the scale */\n",
"__kernel void nn_bn_bwd_final(int C, int G, __global const float *partial, __global float *dgamma,\n",
"                              __global float *dbeta, __global float *sums) {\n",
"  int c = get_global_id(0);\n",
"  if (c >= C) return;\n",
"  float sdy = 0.0f, sdyx = 0.0f;\n",
"  for (int g = 0; g < G; g++) {\n",
"    sdy += partial[c * G + g];\n",
"    sdyx += partial[(C + c) * G + g];\n",
"  }\n",
"  if (dgamma) dgamma[c] += sdyx;\n",
"  if (dbeta) dbeta[c] += sdy;\n",
"  sums[c] = sdy;\n",
"  sums[C + c] = sdyx;\n",
"}\n",
"\n",
"__kernel void nn_bn_bwd_dx(int total, int C, int S, int cnt, int training, __global const float *x,\n",
"                           __global const float *dy, __global const float *gamma, __global const float *ws,\n",
"                           __global const float *sums, __global float *dx) {\n",
"  int i = get_global_id(0);\n",
"  if (i >= total) return;\n",
"  int c = (i / S) % C;\n",
"  float mu = ws[c], rs = ws[C + c], g = gamma[c];\n",
"  if (training) {\n",
"    float k = g * rs / (float)cnt;\n",
"    dx[i] += k * ((float)cnt * dy[i] - sums[c] - (x[i] - mu) * rs * sums[C + c]);\n",
"  } else {\n",
"    dx[i] += g * rs * dy[i];\n",
"  }\n",
"}\n",
"\n",
"/* Layer norm over rows of D: one work-group per row; ws holds mean and\n",
"   1/std of every row. */\n",
"__kernel void nn_ln_fwd(int D, float eps, __global const float *x, __global const float *gamma,\n",
"                        __global const float *beta, __global float *ws, __global float *y, __local float *red) {\n",
"  int r = get_group_id(0), l = get_local_id(0), ls = get_local_size(0);\n",
"  __global const float *xr = x + (size_t)r * D;\n",
"  float s = 0.0f, ss = 0.0f, mu, rs;\n",
"  for (int j = l; j < D; j += ls) s += xr[j];\n",
"  mu = nn_wg_sum(red, s) / (float)D;\n",
"  for (int j = l; j < D; j += ls) ss += (xr[j] - mu) * (xr[j] - mu);\n",
"  rs = 1.0f / sqrt(nn_wg_sum(red, ss) / (float)D + eps);\n",
"  if (l == 0) { ws[2 * r] = mu; ws[2 * r + 1] = rs; }\n",
"  for (int j = l; j < D; j += ls) y[(size_t)r * D + j] = (xr[j] - mu) * rs * gamma[j] + beta[j];\n",
"}\n",
"\n",
"__kernel void nn_ln_bwd_dx(int D, __global const float *x, __global const float *dy, __global const float *gamma,\n",
"                           __global const float *ws, __global float *dx, __local float *red) {\n",
"  int r = get_group_id(0), l = get_local_id(0), ls = get_local_size(0);\n",
"  size_t o = (size_t)r * D;\n",
"  float mu = ws[2 * r], rs = ws[2 * r + 1], sg = 0.0f, sgx = 0.0f, m1, m2;\n",
"  for (int j = l; j < D; j += ls) {\n",
"    float gj = dy[o + j] * gamma[j];\n",
"    sg += gj;\n",
"    sgx += gj * (x[o + j] - mu) * rs;\n",
"  }\n",
"  m1 = nn_wg_sum(red, sg) / (float)D;\n",
"  m2 = nn_wg_sum(red, sgx) / (float)D;\n",
"  for (int j = l; j < D; j += ls)\n",
"    dx[o + j] += rs * (dy[o + j] * gamma[j] - m1 - (x[o + j] - mu) * rs * m2);\n",
"}\n",
"\n",
"/* softmax over rows of D: one work-group per row */\n",
"__kernel void nn_softmax_fwd(int D, __global const float *x, __global float *y, __local float *red) {\n",
"  int r = get_group_id(0), l = get_local_id(0), ls = get_local_size(0);\n",
"  size_t o = (size_t)r * D;\n",
"  float mx = -INFINITY, s = 0.0f;\n",
"  for (int j = l; j < D; j += ls) mx = fmax(mx, x[o + j]);\n",
"  mx = nn_wg_max(red, mx);\n",
"  for (int j = l; j < D; j += ls) s += exp(x[o + j] - mx);\n",
"  s = nn_wg_sum(red, s);\n",
"  for (int j = l; j < D; j += ls) y[o + j] = exp(x[o + j] - mx) / s;\n",
"}\n",
"\n",
"__kernel void nn_softmax_bwd(int D, __global const float *y, __global const float *dy, __global float *dx,\n",
"                             __local float *red) {\n",
"  int r = get_group_id(0), l = get_local_id(0), ls = get_local_size(0);\n",
"  size_t o = (size_t)r * D;\n",
"  float dot = 0.0f;\n",
"  for (int j = l; j < D; j += ls) dot += dy[o + j] * y[o + j];\n",
"  dot = nn_wg_sum(red, dot);\n",
"  for (int j = l; j < D; j += ls) dx[o + j] += y[o + j] * (dy[o + j] - dot);\n",
"}\n",
/* kernels/optim.cl */
"/* Optimizer updates and the weight-averaging helpers, the same math as\n",
"   the CPU backend's update: SGD (momentum, Nesterov), Adam and\n",
"   RMSprop, with L2 or decoupled weight decay and L1.  kind: 0 SGD, 1 Adam,\n",
"   2 RMSprop (nn_opt_kind); bc1, bc2: Adam's bias corrections. */\n",
"__kernel void nn_update(int n, int kind, int decoupled, int nesterov, float lr, float wd, float mom,\n",
"                        float beta1, float beta2, float eps, float gs, float l1, float bc1, float bc2,\n",
"                        __global float *w, __global const float *g, __global float *s1, __global float *s2) {\n",
"  int i = get_global_id(0);\n",
"  if (i >= n) return;\n",
"  float wi = w[i], gi = g[i] * gs + l1 * (float)((wi > 0.0f) - (wi < 0.0f)), d;\n",
"  if (decoupled) wi -= lr * wd * wi;\n",
"  else gi += wd * wi;\n",
"  if (kind == 0) {\n",
"    if (mom != 0.0f) {\n",
"      float m = mom * s1[i] + gi;\n",
"      s1[i] = m;\n",
"      gi = nesterov ? gi + mom * m : m;\n",
"    }\n",
"    wi -= lr * gi;\n",
"  } else if (kind == 1) {\n",
"    float m = beta1 * s1[i] + (1.0f - beta1) * gi, v = beta2 * s2[i] + (1.0f - beta2) * gi * gi;\n",
"    s1[i] = m;\n",
"    s2[i] = v;\n",
"    wi -= lr * (m / bc1) / (sqrt(v / bc2) + eps);\n",
"  } else {\n",
"    float v = beta2 * s2[i] + (1.0f - beta2) * gi * gi;\n",
"    s2[i] = v;\n",
"    d = gi / (sqrt(v) + eps);\n",
"    if (mom != 0.0f) { d = mom * s1[i] + d; s1[i] = d; }\n",
"    wi -= lr * d;\n",
"  }\n",
"  w[i] = wi;\n",
"}\n",
"\n",
"/* a += t * (b - a) */\n",
"__kernel void nn_lerp(int n, float t, __global float *a, __global const float *b) {\n",
"  int i = get_global_id(0);\n",
"  if (i < n) a[i] += t * (b[i] - a[i]);\n",
"}\n",
"\n",
"__kernel void nn_scale_inplace(int n, float s, __global float *x) {\n",
"  int i = get_global_id(0);\n",
"  if (i < n) x[i] *= s;\n",
"}\n",
/* kernels/seq.cl */
"/* Sequences: embedding, recurrent layers (rnn, lstm, gru) and reductions\n",
"   over the valid steps.  A sequence is x[b, t, f] with T padded steps;\n",
"   `len` holds each sample's valid steps (NULL: all T). */\n",
"\n",
"int nn_seq_len(__global const float *len, int b, int T) { return len ? (int)len[b] : T; }\n",
"\n",
"/* float atomic add through compare-and-swap (OpenCL 1.2 core atomics).\n",
"   The first value is read through the atomic as well: a plain load would\n",
"   race with another work-item's atomic_cmpxchg on the same word. */\n",
"void nn_atomic_add(volatile __global float *p, float v) {\n",
"  uint old = atomic_cmpxchg((volatile __global uint *)p, 0u, 0u), prev;\n",
"  do {\n",
"    prev = old;\n",
"    old = atomic_cmpxchg((volatile __global uint *)p, prev, as_uint(as_float(prev) + v));\n",
"  } while (old != prev);\n",
"}\n",
"\n",
"/* Embedding: y[i, :] = weight[id_i, :] (global: D, ids).  The host\n",
"   checked the ids; one that is not a row would give zeros rather than\n",
"   read outside the table. */\n",
"__kernel void nn_embedding_fwd(int D, int V, __global const float *ids, __global const float *w, __global float *y) {\n",
"  size_t j = get_global_id(0), i = get_global_id(1);\n",
"  if (j >= (size_t)D) return;\n",
"  float v = ids[i];\n",
"  y[i * D + j] = v >= 0.0f && v < (float)V ? w[(size_t)(int)v * D + j] : 0.0f;\n",
"}\n",
"\n",
"/* the rows of the ids used receive the gradients; rows shared by several\n",
"   ids add atomically, in no fixed order.  Exact zeros are skipped: the\n",
"   positions past a sequence's length (padding) have no gradient, and\n",
"   their atomics would all queue on the padding id's row. */\n",
"__kernel void nn_embedding_bwd(int D, int V, __global const float *ids, __global const float *dy, __global float *dw) {\n",
"  size_t j = get_global_id(0), i = get_global_id(1);\n",
"  if (j >= (size_t)D) return;\n",
"  float v = ids[i], g = dy[i * D + j];\n",
"  if (!(v >= 0.0f && v < (float)V) || g == 0.0f) return;\n",
"  nn_atomic_add(dw + (size_t)(int)v * D + j, g);\n",
"}\n",
"\n",
"/* Recurrent layers.  N = dirs*G*H gate columns; P[b*T + t, N] holds the\n",
"   input side of the gates (x W_ih^T + b_ih), then their values, then in\n",
"   the backward pass their gradients; aux[b*T + t, dirs*H] holds lstm c_t\n",
"   or gru W_hn h + b_hn (then its gradient).  The previous state h_{t-1}\n",
"   is the output y of the step before, so no state buffers are needed\n",
"   forward; backward, dh and dc [dirs, n, H] carry what each unit passes\n",
"   to its own previous step directly (gru: dh z; lstm: dc f).\n",
"\n",
"   One launch per step covers every direction, sample and unit, and does\n",
"   the state product itself (no GEMM per step): work-groups of TS x TS\n",
"   work-items (one direction) cover TS units and NN_REC_NB * TS samples,\n",
"   each work-item unit j of samples lb, lb + TS, ... (the W_hh values it\n",
"   reads serve NN_REC_NB samples).  They stage the states and TS x TS tiles\n",
"   of W_hh in local memory, TS columns of the product at a time, rows\n",
"   padded to TS + 1 so that reads along a column do not collide in one\n",
"   bank.  Work-items outside the units, samples or valid steps load zeros\n",
"   and stay for the barriers. */\n",
"#define NN_REC_NB 4\n",
"int nn_rec_gates(int op) { return op == 0 ? 1 : op == 1 ? 4 : 3; }\n",
"\n",
"/* The products over the whole sequence, for both directions in one\n",
"   launch: each work-item computes NN_REC_MB rows of one column, the\n",
"   columns consecutive across work-items (vector lanes on a CPU, coalesced\n",
"   on a GPU), the rows' values broadcast.  Only valid steps are computed\n",
"   and read: P, aux and the states are zero or unused past the lengths. */\n",
"#define NN_REC_MB 8\n",
"\n",
"/* wt = [W_ih^T; W_hh^T] of both directions, [F + H, N]: row k holds\n",
"   input (then state) feature k of every gate column d*GH + m, so that the\n",
"   projection and the CPU steps read consecutive columns */\n",
"__kernel void nn_rec_wt(int total, int F, int H, int GH, int dirs, __global const float *wi0, __global const float *wi1,\n",
"                        __global const float *wh0, __global const float *wh1, __global float *wt) {\n",
"  int idx = get_global_id(0), N = dirs * GH;\n",
"  if (idx >= total) return;\n",
"  int k = idx / N, c = idx - k * N, d = c >= GH, m = c - d * GH;\n",
"  wt[idx] = k < F ? (d ? wi1 : wi0)[(size_t)m * F + k] : (d ? wh1 : wh0)[(size_t)m * H + k - F];\n",
"}\n",
"\n",
"/* P[row, c] = x[row, :] . W_ih[c, :] + b_ih[c] on valid steps, zero past\n",
"   a sample's length (global: N columns, rows / NN_REC_MB) */\n",
"__kernel void nn_rec_proj(int rows, int T, int F, int N, int GH, __global const float *len, __global const float *x,\n",
"                          __global const float *wt, __global const float *bi0, __global const float *bi1,\n",
"                          __global float *P) {\n",
"  size_t c = get_global_id(0);\n",
"  int r0 = get_global_id(1) * NN_REC_MB, any = 0;\n",
"  int ok[NN_REC_MB];\n",
"  size_t xo[NN_REC_MB];\n",
"  float acc[NN_REC_MB];\n",
"  if (c >= (size_t)N) return;\n",
"  for (int i = 0; i < NN_REC_MB; i++) {\n",
"    int row = min(r0 + i, rows - 1), b = row / T;\n",
"    ok[i] = r0 + i < rows && row - b * T < nn_seq_len(len, b, T);\n",
"    any |= ok[i];\n",
"    xo[i] = (size_t)row * F;\n",
"    acc[i] = 0.0f;\n",
"  }\n",
"  if (any)\n",
"    for (int f = 0; f < F; f++) {\n",
"      float w = wt[(size_t)f * N + c];\n",
"      for (int i = 0; i < NN_REC_MB; i++) acc[i] = fma(x[xo[i] + f], w, acc[i]);\n",
"    }\n",
"  float bias = c < (size_t)GH ? bi0[c] : bi1[c - GH];\n",
"  for (int i = 0; i < NN_REC_MB; i++)\n",
"    if (r0 + i < rows) P[(size_t)(r0 + i) * N + c] = ok[i] ? acc[i] + bias : 0.0f;\n",
"}\n",
"\n",
"/* the cell of unit j of sample b at step s (t, previous step tp), from\n",
"   its gates' recurrent parts a0..a3 (the product with W_hh) */\n",
"void nn_rec_cell(int op, int s, int b, size_t j, int d, int T, int H, int dirs, int t, int tp, __global float *P,\n",
"                 __global float *aux, __global const float *bb, __global float *y, float a0, float a1, float a2,\n",
"                 float a3) {\n",
"  int GH = nn_rec_gates(op) * H, HD = dirs * H;\n",
"  size_t row = (size_t)b * T + t, at = row * HD + (size_t)d * H + j, prev = ((size_t)b * T + tp) * HD + (size_t)d * H + j;\n",
"  __global float *p = P + row * dirs * GH + (size_t)d * GH;\n",
"  if (op == 0) {\n",
"    float v = tanh(p[j] + a0 + bb[j]);\n",
"    p[j] = v;\n",
"    y[at] = v;\n",
"  } else if (op == 1) {\n",
"    float ig = 1.0f / (1.0f + exp(-(p[j] + a0 + bb[j])));\n",
"    float fg = 1.0f / (1.0f + exp(-(p[H + j] + a1 + bb[H + j])));\n",
"    float gg = tanh(p[2 * H + j] + a2 + bb[2 * H + j]);\n",
"    float og = 1.0f / (1.0f + exp(-(p[3 * H + j] + a3 + bb[3 * H + j])));\n",
"    float cn = fg * (s > 0 ? aux[prev] : 0.0f) + ig * gg;\n",
"    p[j] = ig; p[H + j] = fg; p[2 * H + j] = gg; p[3 * H + j] = og;\n",
"    aux[at] = cn;\n",
"    y[at] = og * tanh(cn);\n",
"  } else {\n",
"    float rg = 1.0f / (1.0f + exp(-(p[j] + a0 + bb[j])));\n",
"    float zg = 1.0f / (1.0f + exp(-(p[H + j] + a1 + bb[H + j])));\n",
"    float a = a2 + bb[2 * H + j];\n",
"    float ng = tanh(p[2 * H + j] + rg * a);\n",
"    p[j] = rg; p[H + j] = zg; p[2 * H + j] = ng;\n",
"    aux[at] = a;\n",
"    y[at] = (1.0f - zg) * ng + zg * (s > 0 ? y[prev] : 0.0f);\n",
"  }\n",
"}\n",
"\n",
"/* step s of every direction (global: units, samples / NN_REC_NB,\n",
"   directions).  Each work-item adds h_{t-1}[b, :] . W_hh[g*H + j, :] for\n",
"   each gate g of its unit j and each of its samples b, then applies the\n",
"   cell.  Local: hs [NN_REC_NB*TS][TS+1] states (sample, column), ws\n",
"   [G*TS][TS+1] W_hh (gate and column, unit: read along the units, as the\n",
"   work-items run). */\n",
"__kernel void nn_rec_step(int op, int s, int n, int T, int H, int dirs, __global const float *len,\n",
"                          __global float *P, __global float *aux, int aux_off, __global const float *w0,\n",
"                          __global const float *w1, __global const float *bh0, __global const float *bh1,\n",
"                          __global float *y, __local float *hs, __local float *ws) {\n",
"  int TS = get_local_size(0), lj = get_local_id(0), lb = get_local_id(1), P1 = TS + 1;\n",
"  int j = get_global_id(0), d = get_global_id(2), j0 = get_group_id(0) * TS, b0 = get_group_id(1) * TS * NN_REC_NB;\n",
"  int G = nn_rec_gates(op), HD = dirs * H, u = j0 + lb;\n",
"  int L[NN_REC_NB], tp[NN_REC_NB];\n",
"  float a0[NN_REC_NB], a1[NN_REC_NB], a2[NN_REC_NB], a3[NN_REC_NB];\n",
"  __global const float *W = d ? w1 : w0;\n",
"  aux += aux_off;\n",
"  for (int i = 0; i < NN_REC_NB; i++) {\n",
"    int b = b0 + lb + TS * i;\n",
"    L[i] = b < n ? nn_seq_len(len, b, T) : 0;\n",
"    tp[i] = d ? L[i] - s : s - 1;   /* the step before t = s (forward) or L - 1 - s (reverse) */\n",
"    a0[i] = a1[i] = a2[i] = a3[i] = 0.0f;\n",
"  }\n",
"  for (int k0 = 0; k0 < H; k0 += TS) {\n",
"    int k = k0 + lj, kn = min(TS, H - k0);\n",
"    for (int i = 0; i < NN_REC_NB; i++) {\n",
"      int b = b0 + lb + TS * i;\n",
"      hs[(lb + TS * i) * P1 + lj] = s > 0 && s < L[i] && k < H ? y[((size_t)b * T + tp[i]) * HD + d * H + k] : 0.0f;\n",
"    }\n",
"    for (int g = 0; g < G; g++) ws[(g * TS + lj) * P1 + lb] = u < H && k < H ? W[(size_t)(g * H + u) * H + k] : 0.0f;\n",
"    barrier(CLK_LOCAL_MEM_FENCE);\n",
"    for (int kk = 0; kk < kn; kk++) {\n",
"      float v0 = ws[kk * P1 + lj], v1 = 0.0f, v2 = 0.0f, v3 = 0.0f;\n",
"      if (G > 1) { v1 = ws[(TS + kk) * P1 + lj]; v2 = ws[(2 * TS + kk) * P1 + lj]; }\n",
"      if (G > 3) v3 = ws[(3 * TS + kk) * P1 + lj];\n",
"      for (int i = 0; i < NN_REC_NB; i++) {\n",
"        float hv = hs[(lb + TS * i) * P1 + kk];\n",
"        a0[i] += hv * v0; a1[i] += hv * v1; a2[i] += hv * v2; a3[i] += hv * v3;\n",
"      }\n",
"    }\n",
"    barrier(CLK_LOCAL_MEM_FENCE);\n",
"  }\n",
"  if (j >= H) return;\n",
"  for (int i = 0; i < NN_REC_NB; i++)\n",
"    if (s < L[i])\n",
"      nn_rec_cell(op, s, b0 + lb + TS * i, j, d, T, H, dirs, d ? L[i] - 1 - s : s, tp[i], P, aux, d ? bh1 : bh0, y,\n",
"                  a0[i], a1[i], a2[i], a3[i]);\n",
"}\n",
"\n",
"/* backward of the cell of unit j of sample b at step s, g the gradient\n",
"   that reaches h_t; dh and dc are the unit's own state slots */\n",
"void nn_rec_cell_bwd(int op, int s, int b, size_t j, int d, int T, int H, int dirs, int t, int tp, __global float *P,\n",
"                     __global float *aux, __global const float *y, __global float *dh, __global float *dc, float g) {\n",
"  int GH = nn_rec_gates(op) * H, HD = dirs * H;\n",
"  size_t row = (size_t)b * T + t, at = row * HD + (size_t)d * H + j, prev = ((size_t)b * T + tp) * HD + (size_t)d * H + j;\n",
"  __global float *p = P + row * dirs * GH + (size_t)d * GH;\n",
"  if (op == 0) {\n",
"    p[j] = g * (1.0f - y[at] * y[at]);\n",
"  } else if (op == 1) {\n",
"    float ig = p[j], fg = p[H + j], gg = p[2 * H + j], og = p[3 * H + j], cp = s > 0 ? aux[prev] : 0.0f;\n",
"    float tc = tanh(aux[at]), dcn = *dc + g * og * (1.0f - tc * tc);\n",
"    p[j] = dcn * gg * ig * (1.0f - ig);\n",
"    p[H + j] = dcn * cp * fg * (1.0f - fg);\n",
"    p[2 * H + j] = dcn * ig * (1.0f - gg * gg);\n",
"    p[3 * H + j] = g * tc * og * (1.0f - og);\n",
"    *dc = dcn * fg;\n",
"  } else {\n",
"    float rg = p[j], zg = p[H + j], ng = p[2 * H + j], hp = s > 0 ? y[prev] : 0.0f;\n",
"    float dn = g * (1.0f - zg) * (1.0f - ng * ng);\n",
"    p[j] = dn * aux[at] * rg * (1.0f - rg);\n",
"    p[H + j] = g * (hp - ng) * zg * (1.0f - zg);\n",
"    p[2 * H + j] = dn;\n",
"    aux[at] = dn * rg;\n",
"    *dh = g * zg;\n",
"  }\n",
"}\n",
"\n",
"/* backward of step s of every direction (global as forward).  The\n",
"   gradient reaching h_t: dy, the direct part dh, and dG_hh of the step\n",
"   processed before (t+1 forward, t-1 reverse) times column j of W_hh;\n",
"   that dG_hh is still in P (gru's n gate: in aux).  Then p gets dG_ih,\n",
"   aux (gru) dG_hn.  Local: gs [NN_REC_NB*TS][TS+1] gate gradients, ws\n",
"   [TS][TS+1] W_hh. */\n",
"__kernel void nn_rec_step_bwd(int op, int s, int n, int T, int H, int dirs, __global const float *len,\n",
"                              __global float *P, __global float *aux, int aux_off, __global const float *w0,\n",
"                              __global const float *w1, __global const float *y, __global const float *dy,\n",
"                              __global float *dh, __global float *dc, __local float *gs, __local float *ws) {\n",
"  int TS = get_local_size(0), lj = get_local_id(0), lb = get_local_id(1), P1 = TS + 1;\n",
"  int j = get_global_id(0), d = get_global_id(2), j0 = get_group_id(0) * TS, b0 = get_group_id(1) * TS * NN_REC_NB;\n",
"  int G = nn_rec_gates(op), GH = G * H, HD = dirs * H;\n",
"  int L[NN_REC_NB];\n",
"  float acc[NN_REC_NB];\n",
"  __global const float *W = d ? w1 : w0;\n",
"  aux += aux_off;\n",
"  for (int i = 0; i < NN_REC_NB; i++) {\n",
"    int b = b0 + lb + TS * i;\n",
"    L[i] = b < n ? nn_seq_len(len, b, T) : 0;\n",
"    acc[i] = 0.0f;\n",
"  }\n",
"  for (int r0 = 0; r0 < GH; r0 += TS) {\n",
"    int r = r0 + lj, rn = min(TS, GH - r0), wr = r0 + lb;\n",
"    for (int i = 0; i < NN_REC_NB; i++) {\n",
"      int b = b0 + lb + TS * i, tn = d ? L[i] - 2 - s : s + 1;   /* the step processed before this one */\n",
"      size_t next = (size_t)b * T + tn;\n",
"      float v = 0.0f;\n",
"      if (s + 1 < L[i] && r < GH)\n",
"        v = op == 2 && r >= 2 * H ? aux[next * HD + d * H + r - 2 * H] : P[next * dirs * GH + (size_t)d * GH + r];\n",
"      gs[(lb + TS * i) * P1 + lj] = v;\n",
"    }\n",
"    ws[lb * P1 + lj] = wr < GH && j0 + lj < H ? W[(size_t)wr * H + j0 + lj] : 0.0f;\n",
"    barrier(CLK_LOCAL_MEM_FENCE);\n",
"    for (int rr = 0; rr < rn; rr++) {\n",
"      float w = ws[rr * P1 + lj];\n",
"      for (int i = 0; i < NN_REC_NB; i++) acc[i] += gs[(lb + TS * i) * P1 + rr] * w;\n",
"    }\n",
"    barrier(CLK_LOCAL_MEM_FENCE);\n",
"  }\n",
"  if (j >= H) return;\n",
"  for (int i = 0; i < NN_REC_NB; i++) {\n",
"    int b = b0 + lb + TS * i, t = d ? L[i] - 1 - s : s;\n",
"    size_t st = ((size_t)d * n + b) * H + j, at = ((size_t)b * T + t) * HD + (size_t)d * H + j;\n",
"    if (s < L[i])\n",
"      nn_rec_cell_bwd(op, s, b, j, d, T, H, dirs, t, d ? t + 1 : t - 1, P, aux, y, dh + st, dc + st,\n",
"                      dy[at] + dh[st] + acc[i]);\n",
"  }\n",
"}\n",
"\n",
"/* The steps for CPU-like devices (OpenCL CPU runtimes run the work-items\n",
"   of a work-group as vector lanes along the first dimension and gain\n",
"   nothing from local memory): work-item (unit j, NN_REC_CB samples,\n",
"   direction), the units consecutive across lanes, W_hh read straight from\n",
"   global memory (it stays in cache), the states broadcast.  The launch\n",
"   covers exactly H units: a test of the unit would be masked per lane\n",
"   through the whole kernel. */\n",
"#define NN_REC_CB 4\n",
"/* a[g][i] += h_{t-1}[sample i] . W_hh[g*H + j, :] for GATES gates */\n",
"#define NN_REC_HW(GATES)                                                    \\\n",
"  for (int k = 0; k < H; k++) {                                             \\\n",
"    __global const float *wk = w + (size_t)k * N;                           \\\n",
"    float h[NN_REC_CB];                                                     \\\n",
"    for (int i = 0; i < NN_REC_CB; i++) h[i] = hv[i] ? y[ho[i] + k] : 0.0f; \\\n",
"    for (int g = 0; g < GATES; g++) {                                       \\\n",
"      float v = wk[g * H];                                                  \\\n",
"      for (int i = 0; i < NN_REC_CB; i++) a[g][i] = fma(h[i], v, a[g][i]);  \\\n",
"    }                                                                       \\\n",
"  }\n",
"\n",
"/* the cells of the work-item's samples with the op fixed (here and in\n",
"   the products the gate count): a test inside a loop, even of a kernel\n",
"   argument, would be masked per lane; and unrolled, or the accumulators\n",
"   would stay in private memory, read and written lane by lane */\n",
"#define NN_REC_CELLS(OP)                                                                                          \\\n",
"  _Pragma(\"unroll\") for (int i = 0; i < NN_REC_CB; i++) {                                                        \\\n",
"    if (s < L[i])                                                                                                \\\n",
"      nn_rec_cell(OP, s, b0 + i, j, d, T, H, dirs, d ? L[i] - 1 - s : s, tp[i], P, aux, d ? bh1 : bh0, y, a[0][i], \\\n",
"                  a[1][i], a[2][i], a[3][i]);                                                                    \\\n",
"  }\n",
"#define NN_REC_CELLS_BWD(OP)                                                                              \\\n",
"  _Pragma(\"unroll\") for (int i = 0; i < NN_REC_CB; i++) {                                                \\\n",
"    int b = b0 + i, t = d ? L[i] - 1 - s : s;                                                            \\\n",
"    size_t st = ((size_t)d * n + b) * H + j, at = ((size_t)b * T + t) * HD + (size_t)d * H + j;          \\\n",
"    if (s < L[i])                                                                                        \\\n",
"      nn_rec_cell_bwd(OP, s, b, j, d, T, H, dirs, t, d ? t + 1 : t - 1, P, aux, y, dh + st, dc + st,     \\\n",
"                      dy[at] + dh[st] + acc[i]);                                                         \\\n",
"  }\n",
"\n",
"/* step s of every direction, as nn_rec_step; W_hh^T [H, N] at wt + wh_off */\n",
"__kernel void nn_rec_step_cpu(int op, int s, int n, int T, int H, int dirs, __global const float *len,\n",
"                              __global float *P, __global float *aux, int aux_off, __global const float *wt, int wh_off,\n",
"                              __global const float *bh0, __global const float *bh1, __global float *y) {\n",
"  size_t j = get_global_id(0);\n",
"  int b0 = get_global_id(1) * NN_REC_CB, d = get_global_id(2);\n",
"  int G = nn_rec_gates(op), GH = G * H, N = dirs * GH, HD = dirs * H, any = 0;\n",
"  int L[NN_REC_CB], tp[NN_REC_CB], hv[NN_REC_CB];\n",
"  size_t ho[NN_REC_CB];\n",
"  float a[4][NN_REC_CB];\n",
"  __global const float *w = wt + wh_off + d * GH + j;\n",
"  aux += aux_off;\n",
"  for (int i = 0; i < NN_REC_CB; i++) {\n",
"    int b = min(b0 + i, n - 1);\n",
"    L[i] = b0 + i < n ? nn_seq_len(len, b, T) : 0;\n",
"    tp[i] = d ? L[i] - s : s - 1;   /* the step before t = s (forward) or L - 1 - s (reverse) */\n",
"    hv[i] = s > 0 && s < L[i];\n",
"    ho[i] = ((size_t)b * T + (hv[i] ? tp[i] : 0)) * HD + d * H;\n",
"    any |= s < L[i];\n",
"    a[0][i] = a[1][i] = a[2][i] = a[3][i] = 0.0f;\n",
"  }\n",
"  if (!any) return;\n",
"  if (G == 1) NN_REC_HW(1) else if (G == 3) NN_REC_HW(3) else NN_REC_HW(4)\n",
"  if (op == 2) NN_REC_CELLS(2) else if (op == 1) NN_REC_CELLS(1) else NN_REC_CELLS(0)\n",
"}\n",
"\n",
"/* backward of step s of every direction, as nn_rec_step_bwd: W_hh [GH, H]\n",
"   read down column j; dh + zero_off holds GH zeros */\n",
"__kernel void nn_rec_step_bwd_cpu(int op, int s, int n, int T, int H, int dirs, __global const float *len,\n",
"                                  __global float *P, __global float *aux, int aux_off, __global const float *w0,\n",
"                                  __global const float *w1, __global const float *y, __global const float *dy,\n",
"                                  __global float *dh, __global float *dc, int zero_off) {\n",
"  size_t j = get_global_id(0);\n",
"  int b0 = get_global_id(1) * NN_REC_CB, d = get_global_id(2);\n",
"  int G = nn_rec_gates(op), GH = G * H, N = dirs * GH, HD = dirs * H, any = 0, from_p = op == 2 ? 2 * H : GH;\n",
"  int L[NN_REC_CB];\n",
"  __global const float *gp[NN_REC_CB], *ga[NN_REC_CB];\n",
"  float acc[NN_REC_CB];\n",
"  __global const float *W = (d ? w1 : w0) + j, *zeros = dh + zero_off;\n",
"  aux += aux_off;\n",
"  for (int i = 0; i < NN_REC_CB; i++) {\n",
"    int b = min(b0 + i, n - 1);\n",
"    L[i] = b0 + i < n ? nn_seq_len(len, b, T) : 0;\n",
"    /* dG_hh of the step processed before (t+1 forward, t-1 reverse), or\n",
"       the zeros after dh at a sample's first step back */\n",
"    size_t next = (size_t)b * T + (d ? L[i] - 2 - s : s + 1);\n",
"    gp[i] = s + 1 < L[i] ? P + next * N + d * GH : zeros;\n",
"    ga[i] = s + 1 < L[i] ? aux + next * HD + d * H : zeros;\n",
"    any |= s < L[i];\n",
"    acc[i] = 0.0f;\n",
"  }\n",
"  if (!any) return;\n",
"  for (int r = 0; r < from_p; r++) {\n",
"    float w = W[(size_t)r * H];\n",
"    for (int i = 0; i < NN_REC_CB; i++) acc[i] = fma(gp[i][r], w, acc[i]);\n",
"  }\n",
"  for (int r = from_p; r < GH; r++) {   /* gru's n gate: dG_hn is in aux */\n",
"    float w = W[(size_t)r * H];\n",
"    for (int i = 0; i < NN_REC_CB; i++) acc[i] = fma(ga[i][r - from_p], w, acc[i]);\n",
"  }\n",
"  if (op == 2) NN_REC_CELLS_BWD(2) else if (op == 1) NN_REC_CELLS_BWD(1) else NN_REC_CELLS_BWD(0)\n",
"}\n",
"\n",
"/* dx[row, f] += dG[row, :] . W_ih[:, f] over both directions' gate\n",
"   columns (global: F, rows / NN_REC_MB); rows past a length have no\n",
"   gradient and are skipped */\n",
"__kernel void nn_rec_dx(int rows, int T, int F, int GH, int dirs, __global const float *len, __global const float *P,\n",
"                        __global const float *w0, __global const float *w1, __global float *dx) {\n",
"  size_t f = get_global_id(0);\n",
"  int r0 = get_global_id(1) * NN_REC_MB, N = dirs * GH, any = 0;\n",
"  int ok[NN_REC_MB];\n",
"  size_t po[NN_REC_MB];\n",
"  float acc[NN_REC_MB];\n",
"  if (f >= (size_t)F) return;\n",
"  for (int i = 0; i < NN_REC_MB; i++) {\n",
"    int row = min(r0 + i, rows - 1), b = row / T;\n",
"    ok[i] = r0 + i < rows && row - b * T < nn_seq_len(len, b, T);\n",
"    any |= ok[i];\n",
"    po[i] = (size_t)row * N;\n",
"    acc[i] = 0.0f;\n",
"  }\n",
"  if (!any) return;\n",
"  for (int d = 0; d < dirs; d++) {\n",
"    __global const float *W = (d ? w1 : w0) + f;\n",
"    for (int m = 0; m < GH; m++) {\n",
"      float w = W[(size_t)m * F];\n",
"      for (int i = 0; i < NN_REC_MB; i++) acc[i] = fma(P[po[i] + d * GH + m], w, acc[i]);\n",
"    }\n",
"  }\n",
"  for (int i = 0; i < NN_REC_MB; i++)\n",
"    if (ok[i]) dx[(size_t)(r0 + i) * F + f] += acc[i];\n",
"}\n",
"\n",
"/* rows per work-item of the weight gradients: more than the products'\n",
"   (each row of the sequence's values they load serves more) */\n",
"#define NN_REC_WB 16\n",
"/* acc[i] += A[row, IDX(i)] src[row'] over the slice's steps (rows of A\n",
"   astride apart, of src stride apart, row' = row + shift) */\n",
"#define NN_REC_WG(IDX)                                                       \\\n",
"  for (int b = slice * SB; b < nb; b++) {                                    \\\n",
"    int L = nn_seq_len(len, b, T);                                           \\\n",
"    for (int t = first; t < L - cut; t++) {                                  \\\n",
"      size_t row = (size_t)b * T + t;                                        \\\n",
"      __global const float *a = A + row * astride;                           \\\n",
"      float v = src[(row + shift) * stride];                                 \\\n",
"      for (int i = 0; i < NN_REC_WB; i++) acc[i] = fma(a[IDX], v, acc[i]);   \\\n",
"    }                                                                        \\\n",
"  }\n",
"\n",
"/* The weight and bias gradients of a slice of the samples: partial sums\n",
"   over its valid steps, part[d*S + slice] = [dW_ih [GH, F], dW_hh [GH, H],\n",
"   db_ih [GH], db_hh [GH]] (Q floats), added up by nn_rec_wsum.  dG_hh is\n",
"   P's, but for gru's n gate: aux.  Three launches, each over exactly its\n",
"   columns (no test of the column: it would be masked per lane) and\n",
"   dirs * S slices:  kind 0, dW_ih with x (F columns, GH / NN_REC_WB\n",
"   blocks of rows); kind 1, dW_hh with the previous states, read from y\n",
"   (H columns, the blocks of rows of P's part and of aux's); kind 2, the\n",
"   biases (GH columns, one row). */\n",
"__kernel void nn_rec_wgrad(int kind, int n, int T, int F, int H, int dirs, int op, int SB, int S,\n",
"                           __global const float *len, __global const float *ws, int aux_off, __global const float *x,\n",
"                           __global const float *y, __global float *part) {\n",
"  size_t col = get_global_id(0);\n",
"  int slice = get_global_id(2) % S, d = get_global_id(2) / S;\n",
"  int GH = nn_rec_gates(op) * H, N = dirs * GH, HD = dirs * H, C = kind ? H : F, nb = min(n, slice * SB + SB);\n",
"  int from_p = op == 2 ? 2 * H : GH;\n",
"  size_t Q = (size_t)GH * (F + H + 2);\n",
"  __global float *out = part + (size_t)(d * S + slice) * Q;\n",
"  if (kind == 2) {\n",
"    float si = 0.0f, sh = 0.0f;\n",
"    for (int b = slice * SB; b < nb; b++)\n",
"      for (int t = 0, L = nn_seq_len(len, b, T); t < L; t++) {\n",
"        size_t row = (size_t)b * T + t;\n",
"        float v = ws[row * N + d * GH + col];\n",
"        si += v;\n",
"        sh += col < (size_t)from_p ? v : ws[aux_off + row * HD + d * H + col - from_p];\n",
"      }\n",
"    out[(size_t)GH * (F + H) + col] = si;\n",
"    out[(size_t)GH * (F + H + 1) + col] = sh;\n",
"    return;\n",
"  }\n",
"  /* blocks of rows come from P, then (gru's dW_hn) from aux: each block\n",
"     from one, its rows consecutive there */\n",
"  int blk = get_global_id(1), pb = (from_p + NN_REC_WB - 1) / NN_REC_WB, in_aux = kind == 1 && blk >= pb;\n",
"  int m0 = in_aux ? from_p + (blk - pb) * NN_REC_WB : blk * NN_REC_WB;\n",
"  int cnt = min(NN_REC_WB, (in_aux || kind == 0 ? GH : from_p) - m0), astride = in_aux ? HD : N;\n",
"  __global const float *A = ws + (in_aux ? aux_off + d * H + m0 - from_p : d * GH + m0);\n",
"  float acc[NN_REC_WB];\n",
"  for (int i = 0; i < NN_REC_WB; i++) acc[i] = 0.0f;\n",
"  /* kind 1: the state before step t is h at t-1 (forward) or t+1 (reverse),\n",
"     zero at a first step, so those steps add nothing */\n",
"  __global const float *src = (kind ? y + d * H : x) + col;\n",
"  int stride = kind ? HD : F, first = kind && !d, cut = kind && d, shift = kind ? (d ? 1 : -1) : 0;\n",
"  if (cnt == NN_REC_WB) NN_REC_WG(i) else NN_REC_WG(min(i, cnt - 1))\n",
"  /* a loop of fixed length: one of cnt would keep acc in private memory */\n",
"  for (int i = 0; i < NN_REC_WB; i++)\n",
"    if (i < cnt) out[(kind ? (size_t)GH * F : 0) + (size_t)(m0 + i) * C + col] = acc[i];\n",
"}\n",
"\n",
"/* the gradients (+)= the sum of nn_rec_wgrad's S slices, one element of\n",
"   a direction's [Q] per work-item; a gradient not wanted is NULL */\n",
"__kernel void nn_rec_wsum(int total, int S, int F, int H, int GH, __global const float *part, __global float *dwi0,\n",
"                          __global float *dwh0, __global float *dbi0, __global float *dbh0, __global float *dwi1,\n",
"                          __global float *dwh1, __global float *dbi1, __global float *dbh1) {\n",
"  int idx = get_global_id(0), Q = GH * (F + H + 2);\n",
"  if (idx >= total) return;\n",
"  int d = idx / Q, e = idx - d * Q, wi = GH * F, wh = wi + GH * H;\n",
"  __global float *to = e < wi ? (d ? dwi1 : dwi0) : e < wh ? (d ? dwh1 : dwh0) : e < wh + GH ? (d ? dbi1 : dbi0) : (d ? dbh1 : dbh0);\n",
"  if (!to) return;\n",
"  float sum = 0.0f;\n",
"  for (int s = 0; s < S; s++) sum += part[((size_t)d * S + s) * Q + e];\n",
"  to[e < wi ? e : e < wh ? e - wi : e < wh + GH ? e - wh : e - wh - GH] += sum;\n",
"}\n",
"\n",
"/* Reductions over valid steps, one work-item per (feature j, sample b),\n",
"   the features consecutive across work-items.  All take (T, F, back,\n",
"   len, in, out, arg): in, out are x, y forward and dy, dx backward;\n",
"   seq_last takes its last `back` features from step 0 (the reverse\n",
"   direction of a bidirectional layer); seq_max keeps its winners in arg. */\n",
"#define NN_SEQ_ARGS int T, int F, int back, __global const float *len, __global const float *in, __global float *out, \\\n",
"                    __global float *arg\n",
"#define NN_SEQ_ITEM                                                  \\\n",
"  size_t j = get_global_id(0), o = get_global_id(1) * (size_t)F + j; \\\n",
"  int b = get_global_id(1), L = nn_seq_len(len, b, T);               \\\n",
"  if (j >= (size_t)F) return;\n",
"__kernel void nn_seq_last_fwd(NN_SEQ_ARGS) {\n",
"  NN_SEQ_ITEM\n",
"  out[o] = L == 0 ? 0.0f : in[((size_t)b * T + (j < (size_t)(F - back) ? L - 1 : 0)) * F + j];\n",
"}\n",
"__kernel void nn_seq_last_bwd(NN_SEQ_ARGS) {\n",
"  NN_SEQ_ITEM\n",
"  if (L > 0) out[((size_t)b * T + (j < (size_t)(F - back) ? L - 1 : 0)) * F + j] += in[o];\n",
"}\n",
"\n",
"/* the first maximum wins; arg: its step, -1 for an empty sequence */\n",
"__kernel void nn_seq_max_fwd(NN_SEQ_ARGS) {\n",
"  NN_SEQ_ITEM\n",
"  int at = L ? 0 : -1;\n",
"  __global const float *xb = in + (size_t)b * T * F + j;\n",
"  float best = L ? xb[0] : 0.0f;\n",
"  for (int t = 1; t < L; t++)\n",
"    if (xb[(size_t)t * F] > best) { best = xb[(size_t)t * F]; at = t; }\n",
"  out[o] = best;\n",
"  arg[o] = (float)at;\n",
"}\n",
"__kernel void nn_seq_max_bwd(NN_SEQ_ARGS) {\n",
"  NN_SEQ_ITEM\n",
"  int at = (int)arg[o];\n",
"  if (at >= 0) out[((size_t)b * T + at) * F + j] += in[o];\n",
"}\n",
"\n",
"__kernel void nn_seq_mean_fwd(NN_SEQ_ARGS) {\n",
"  NN_SEQ_ITEM\n",
"  float s = 0.0f;\n",
"  for (int t = 0; t < L; t++) s += in[((size_t)b * T + t) * F + j];\n",
"  out[o] = L > 0 ? s / (float)L : 0.0f;\n",
"}\n",
"/* steps past the length get nothing */\n",
"__kernel void nn_seq_mean_bwd(NN_SEQ_ARGS) {\n",
"  NN_SEQ_ITEM\n",
"  float g = L > 0 ? in[o] / (float)L : 0.0f;\n",
"  for (int t = 0; t < L; t++) out[((size_t)b * T + t) * F + j] += g;\n",
"}\n",
};
static const nn__cl_file nn__cl_files[] = {
  {"kernels/common.cl", 0, 44},
  {"kernels/conv.cl", 44, 193},
  {"kernels/elementwise.cl", 237, 110},
  {"kernels/gemm.cl", 347, 70},
  {"kernels/loss.cl", 417, 138},
  {"kernels/norm.cl", 555, 185},
  {"kernels/optim.cl", 740, 44},
  {"kernels/seq.cl", 784, 525},
};
static const char *const *nn__cl_sources(size_t *count) {
  *count = sizeof nn__cl_source / sizeof nn__cl_source[0];
  return nn__cl_source;
}
/* END KERNELS */

#endif /* NN__OPENCL_IMPLEMENTED */
#endif /* NN_OPENCL_IMPLEMENTATION */
