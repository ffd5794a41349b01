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
# a program built from two files: declarations in one, implementation in the other
printf '#include "nn.h"\nint use(void) { nn_graph *g = nn_graph_new(); int ok = g != NULL; nn_graph_free(g); return ok; }\n' > "$TMP/a.c"
printf '#define NN_IMPLEMENTATION\n#include "nn.h"\nint use(void);\nint main(void) { return !use(); }\n' > "$TMP/b.c"
check "two translation units link and run" sh -c "gcc -std=c99 $W -I. '$TMP/a.c' '$TMP/b.c' -o '$TMP/two' -lm && '$TMP/two'"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
