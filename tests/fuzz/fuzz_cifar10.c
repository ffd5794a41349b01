/* Fuzz target: the CIFAR-10 binary batch reader on one file's bytes (the
   reader works on files, so the input goes to a temporary file first).
   See fuzz.h. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include "fuzz.h"

static char fuzz_path[64];
static void fuzz_cleanup(void) { remove(fuzz_path); }

int nn_fuzz_one(const uint8_t *data, size_t size) {
  const char *paths[1];
  nn_dataset *d;
  FILE *f;
  if (!fuzz_path[0]) {
    snprintf(fuzz_path, sizeof fuzz_path, "/tmp/nn_fuzz_cifar10_%ld.bin", (long)getpid());
    atexit(fuzz_cleanup);
  }
  if (!(f = fopen(fuzz_path, "wb")) || fwrite(data, 1, size, f) != size || fclose(f) != 0) abort();
  paths[0] = fuzz_path;
  d = nn_dataset_read_cifar10_files(1, paths);
  nn_dataset_free(d);
  return d != NULL;
}
