#!/usr/bin/env bash
# The headers compile warning-free as C99 (gcc, clang) and as C++ (g++,
# clang++), with and without the implementation, and with OpenMP.
# Last line: "N passed, N failed".
set -u
cd "$(dirname "${BASH_SOURCE[0]}")/.." || exit 1
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
passed=0 failed=0
printf '#include "nn.h"\nint nn_user_code(void) { return (int)nn_op_name(NN_OP_DENSE)[0]; }\n' > "$TMP/decl.c"
printf '#define NN_IMPLEMENTATION\n#include "nn.h"\n#include "nn.h"\nint main(void) { nn_graph *g = nn_graph_new(); nn_graph_free(g); return 0; }\n' > "$TMP/impl.c"
printf '#define NN_STATIC\n#define NN_IMPLEMENTATION\n#include "nn.h"\nint main(void) { return nn_graph_new() == NULL; }\n' > "$TMP/static.c"
check() {  # NAME COMMAND...
    local name=$1; shift
    if "$@" >"$TMP/log" 2>&1 && [ ! -s "$TMP/log" ]; then
        passed=$((passed + 1)); echo "PASS: $name"
    else
        failed=$((failed + 1)); echo "FAIL: $name"; sed 's/^/    | /' "$TMP/log" | head -20
    fi
}
W="-Wall -Wextra -Werror"
for cc in gcc clang; do
    command -v $cc >/dev/null || { echo "SKIP: $cc not installed"; continue; }
    for f in decl impl static; do
        check "$cc -std=c99 -pedantic $f" $cc -std=c99 -pedantic $W -I. -c "$TMP/$f.c" -o "$TMP/$f.o"
    done
    check "$cc -std=c99 -pedantic impl -O2 -fopenmp" $cc -std=c99 -pedantic $W -O2 -fopenmp -I. -c "$TMP/impl.c" -o "$TMP/o.o"
    check "$cc -std=c99 -pedantic impl -O3 -march=native" $cc -std=c99 -pedantic $W -O3 -march=native -I. -c "$TMP/impl.c" -o "$TMP/o.o"
done
for cxx in g++ clang++; do
    command -v $cxx >/dev/null || { echo "SKIP: $cxx not installed"; continue; }
    for f in decl impl static; do
        check "$cxx -x c++ $f" $cxx -x c++ $W -I. -c "$TMP/$f.c" -o "$TMP/$f.o"
    done
done
# nn_opencl.h: the declarations need no OpenCL headers; the implementation
# needs them (skipped where OpenCL is not installed, never in CI)
printf '#include "nn.h"\n#include "nn_opencl.h"\nint nn_user_code(void) { return nn_opencl_backend(-1, -1) != NULL; }\n' > "$TMP/cl_decl.c"
printf '#define NN_IMPLEMENTATION\n#include "nn.h"\n#define NN_OPENCL_IMPLEMENTATION\n#include "nn_opencl.h"\nint main(void) { nn_backend *b = nn_opencl_backend(-1, -1); nn_backend_free(b); return 0; }\n' > "$TMP/cl_impl.c"
printf '#define NN_STATIC\n#define NN_IMPLEMENTATION\n#include "nn.h"\n#define NN_OPENCL_IMPLEMENTATION\n#include "nn_opencl.h"\nint main(void) { return nn_opencl_backend(0, 0) == NULL; }\n' > "$TMP/cl_static.c"
cl_impl=1
if ! printf '#include <CL/cl.h>\n#include <clblast_c.h>\n' | gcc -E -x c - >/dev/null 2>&1 && [ "${CI:-}" != true ]; then
    echo "SKIP: OpenCL headers not installed: nn_opencl.h implementation not compiled"; cl_impl=0
fi
check "gcc -std=c99 -pedantic cl_decl" gcc -std=c99 -pedantic $W -I. -c "$TMP/cl_decl.c" -o "$TMP/o.o"
check "g++ -x c++ cl_decl" g++ -x c++ $W -I. -c "$TMP/cl_decl.c" -o "$TMP/o.o"
if [ $cl_impl = 1 ]; then
    for cc in "gcc -std=c99 -pedantic" "clang -std=c99 -pedantic" "g++ -x c++" "clang++ -x c++"; do
        command -v ${cc%% *} >/dev/null && check "$cc cl_impl -O2" $cc $W -O2 -I. -c "$TMP/cl_impl.c" -o "$TMP/o.o"
    done
    check "gcc -std=c99 -pedantic cl_impl -O3 -march=native -fopenmp" gcc -std=c99 -pedantic $W -O3 -march=native -fopenmp -I. -c "$TMP/cl_impl.c" -o "$TMP/o.o"
    check "gcc -std=c99 -pedantic cl_static" gcc -std=c99 -pedantic $W -I. -c "$TMP/cl_static.c" -o "$TMP/o.o"
fi
# nn_onnx.h: declarations alone, and the implementation after nn.h's
printf '#include "nn.h"\n#include "nn_onnx.h"\nint nn_user_code(nn_model *m, nn_node *y) { return nn_onnx_save(m, y, "m.onnx"); }\n' > "$TMP/onnx_decl.c"
printf '#define NN_IMPLEMENTATION\n#include "nn.h"\n#define NN_ONNX_IMPLEMENTATION\n#include "nn_onnx.h"\n#include "nn_onnx.h"\nint main(void) { return nn_onnx_save(NULL, NULL, NULL); }\n' > "$TMP/onnx_impl.c"
printf '#define NN_STATIC\n#define NN_IMPLEMENTATION\n#include "nn.h"\n#define NN_ONNX_IMPLEMENTATION\n#include "nn_onnx.h"\nint main(void) { return nn_onnx_save(NULL, NULL, NULL); }\n' > "$TMP/onnx_static.c"
for cc in "gcc -std=c99 -pedantic" "clang -std=c99 -pedantic" "g++ -x c++" "clang++ -x c++"; do
    command -v ${cc%% *} >/dev/null || continue
    for f in onnx_decl onnx_impl onnx_static; do check "$cc $f" $cc $W -O2 -I. -c "$TMP/$f.c" -o "$TMP/o.o"; done
done
check "gcc -std=c99 -pedantic onnx_impl, core only (-DNN_NO_DATA -DNN_NO_TEXT -DNN_NO_IO)" gcc -std=c99 -pedantic $W \
    -DNN_NO_DATA -DNN_NO_TEXT -DNN_NO_IO -I. -c "$TMP/onnx_impl.c" -o "$TMP/o.o"
# the core alone, with the data, text and io modules compiled out: a
# program that trains, and proof that the modules are really gone
CORE="-DNN_NO_DATA -DNN_NO_TEXT -DNN_NO_IO"
cat > "$TMP/core.c" <<'EOF'
#define NN_IMPLEMENTATION
#include "nn.h"
int main(void) {  /* fits y = 2x - 1 */
  nn_graph *g = nn_graph_new();
  int one = 1, i, s;
  float x[8], y[8], first = 0, last = 0;
  nn_node *in = nn_input(g, "x", 1, &one), *target = nn_input(g, "y", 1, &one);
  nn_model *m;
  nn_optimizer *o;
  nn_mse(g, nn_dense(g, in, 1), target, NN_MEAN);
  m = nn_compile(g, 8, nn_cpu_backend());
  o = m ? nn_sgd(m, 0.1f, 0.9f, 0.0f, 0) : NULL;
  if (!o) return 1;
  for (i = 0; i < 8; i++) { x[i] = (float)i / 8; y[i] = 2 * x[i] - 1; }
  for (s = 0; s < 200; s++) {
    nn_feed(m, "x", x);
    nn_feed(m, "y", y);
    last = nn_train_step(m, o);
    if (s == 0) first = last;
  }
  nn_optimizer_free(o);
  nn_model_free(m);
  return !(last < 1e-3f * first);
}
EOF
check "gcc -std=c99 -pedantic core only ($CORE): builds and trains" sh -c "gcc -std=c99 -pedantic $W $CORE -I. '$TMP/core.c' -o '$TMP/core' -lm && '$TMP/core'"
check "g++ -x c++ core only" g++ -x c++ $W $CORE -I. -c "$TMP/core.c" -o "$TMP/o.o"
for gone in "NN_NO_DATA nn_dataset_free(0)" "NN_NO_TEXT nn_vocab_free(0)" "NN_NO_IO nn_checkpoint_save(0, 0, 0, 0, 0)"; do
    printf '#include "nn.h"\nvoid f(void) { %s; }\n' "${gone#* }" > "$TMP/gone.c"
    check "-D${gone%% *} leaves out ${gone#* }" sh -c "! gcc -std=c99 $W -D${gone%% *} -I. -c '$TMP/gone.c' -o '$TMP/o.o' 2>/dev/null && gcc -std=c99 $W -I. -c '$TMP/gone.c' -o '$TMP/o.o'"
done
# a program built from two files: declarations in one, implementation in the other
printf '#include "nn.h"\nint use(void) { nn_graph *g = nn_graph_new(); int ok = g != NULL; nn_graph_free(g); return ok; }\n' > "$TMP/a.c"
printf '#define NN_IMPLEMENTATION\n#include "nn.h"\nint use(void);\nint main(void) { return !use(); }\n' > "$TMP/b.c"
check "two translation units link and run" sh -c "gcc -std=c99 $W -I. '$TMP/a.c' '$TMP/b.c' -o '$TMP/two' -lm && '$TMP/two'"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
