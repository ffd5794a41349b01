/* The contract of a fuzz target in tests/fuzz/fuzz_NAME.c:
     #include "fuzz.h"
     int nn_fuzz_one(const uint8_t *data, size_t size) { ... }
   returns 1 if nn.h accepted the input, 0 if it rejected it (with a reason
   in nn_last_error()).  This header adds libFuzzer's entry point; the
   replay driver (replay.c) calls nn_fuzz_one on the regression corpus
   tests/fuzz/corpus/NAME/ and checks that ok-* files are accepted and
   every other file is rejected with a reason.
     libFuzzer:  clang -fsanitize=fuzzer,address,undefined -I. tests/fuzz/fuzz_NAME.c -lm
     replay:     cc -fsanitize=address,undefined -I. tests/fuzz/fuzz_NAME.c tests/fuzz/replay.c -lm
   (tools/fuzz.sh and tests/fuzz/replay.sh do this). */
#ifndef NN_FUZZ_H
#define NN_FUZZ_H
#include <stddef.h>
#include <stdint.h>
#define NN_IMPLEMENTATION
#include "nn.h"

int nn_fuzz_one(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  nn_fuzz_one(data, size);
  return 0;
}
#endif
