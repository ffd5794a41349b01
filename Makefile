# nn.h — build and test entry points. Everything here is also a one-line
# cc command; see README.md.
CC ?= cc
FAST = -O3 -march=native -fopenmp

.PHONY: test valgrind oclgrind fuzz demo examples windows bench bench-opencl bench-int8 clean

# every test suite; the last line reads "N passed, N failed"
test:
	bash tests/run_all.sh

# the unit and persistence tests and the fuzz corpus under valgrind (also part of make test)
valgrind:
	bash tests/valgrind.sh

# the OpenCL GEMM and op parity cases under Oclgrind (Debian: oclgrind) with
# its data-race, uninitialised-value and API checks; fails on any report
oclgrind:
	bash tests/oclgrind.sh

# every fuzz target for FUZZ_SECONDS each (needs clang's libFuzzer)
FUZZ_SECONDS ?= 60
fuzz:
	for src in tests/fuzz/fuzz_*.c; do t=$${src#tests/fuzz/fuzz_}; tools/fuzz.sh $${t%.c} $(FUZZ_SECONDS) || exit 1; done

# the main job: get Fashion-MNIST, build the example, train the CNN
demo:
	tools/fetch_data.sh fashion-mnist
	@mkdir -p build
	$(CC) $(FAST) -I. examples/fashion_mnist.c -o build/fashion_mnist -lm
	build/fashion_mnist --model cnn --threads 2

examples:
	@mkdir -p build
	for ex in xor linreg fashion_mnist; do $(CC) $(FAST) -I. examples/$$ex.c -o build/$$ex -lm || exit 1; done
	$(CC) -O2 tools/plot.c -o build/plot -lm

# Windows executables from Linux (Debian: gcc-mingw-w64-x86-64): the test
# programs and every example in build/windows/ (tests/windows.sh runs them under Wine)
MINGW_CC ?= x86_64-w64-mingw32-gcc
windows:
	@mkdir -p build/windows
	for src in tests/test_nn.c tests/test_persist.c examples/*.c; do n=$${src##*/}; \
	  $(MINGW_CC) -std=c99 -pedantic -Wall -Wextra -Werror -O2 -I. $$src -o build/windows/$${n%.c}.exe -lm || exit 1; done

clean:
	rm -rf build

# CPU benchmark against OpenBLAS and PyTorch in the same run; writes
# build/bench.csv (BENCH_FLAGS=--quick: fewer sizes and repetitions)
bench:
	tools/bench.sh $(BENCH_FLAGS)

# int8 vs fp32 inference (nn_compress.h) and ONNX Runtime's fp32 and int8,
# Fashion-MNIST CNN and airbench, batch 256, 1 and 2 threads; ends with a
# RESULT line (see tools/bench_int8.sh for the checkpoints it uses)
bench-int8:
	tools/bench_int8.sh

# CPU backend vs OpenCL backend in the same run (per op and whole steps)
# on the device NN_OPENCL_DEVICE names; writes build/bench_opencl.csv
bench-opencl:
	@mkdir -p build
	$(CC) $(FAST) -I. tools/bench_opencl.c -o build/bench_opencl -lOpenCL -lclblast -lm
	build/bench_opencl
