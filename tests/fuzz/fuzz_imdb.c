/* Fuzz target: the aclImdb reader and the text pipeline.  The input is a
   review: it is tokenized, counted into a vocabulary and encoded, then
   written as the one positive review of a temporary aclImdb tree (the
   negative one is "fine") and read back with nn_text_set_read_aclimdb.
   See fuzz.h. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>
#include "fuzz.h"

static char fuzz_dir[64], fuzz_pos[96];
static void fuzz_cleanup(void) {
  char p[128];
  remove(fuzz_pos);
  snprintf(p, sizeof p, "%s/train/neg/0_1.txt", fuzz_dir); remove(p);
  snprintf(p, sizeof p, "%s/train/neg", fuzz_dir); rmdir(p);
  snprintf(p, sizeof p, "%s/train/pos", fuzz_dir); rmdir(p);
  snprintf(p, sizeof p, "%s/train", fuzz_dir); rmdir(p);
  rmdir(fuzz_dir);
}
static void fuzz_setup(void) {
  char p[128];
  FILE *f;
  snprintf(fuzz_dir, sizeof fuzz_dir, "/tmp/nn_fuzz_imdb_%ld", (long)getpid());
  mkdir(fuzz_dir, 0700);
  snprintf(p, sizeof p, "%s/train", fuzz_dir); mkdir(p, 0700);
  snprintf(p, sizeof p, "%s/train/pos", fuzz_dir); mkdir(p, 0700);
  snprintf(p, sizeof p, "%s/train/neg", fuzz_dir); mkdir(p, 0700);
  snprintf(p, sizeof p, "%s/train/neg/0_1.txt", fuzz_dir);
  if (!(f = fopen(p, "wb")) || fputs("fine", f) < 0 || fclose(f) != 0) abort();
  snprintf(fuzz_pos, sizeof fuzz_pos, "%s/train/pos/0_10.txt", fuzz_dir);
  atexit(fuzz_cleanup);
}

int nn_fuzz_one(const uint8_t *data, size_t size) {
  char *tokens = (char *)malloc(2 * size + 1);
  float ids[32];
  nn_vocab *v = nn_vocab_new();
  nn_text_set *s;
  FILE *f;
  if (!fuzz_dir[0]) fuzz_setup();
  if (!tokens || !v) abort();
  nn_tokenize((const char *)data, size, tokens);
  if (nn_vocab_add(v, tokens) && nn_vocab_finish(v, 16, 1)) {
    nn_text_encode(v, tokens, 32, 0, ids);
    nn_text_encode(v, tokens, 32, 1, ids);
  }
  nn_vocab_free(v);
  free(tokens);
  if (!(f = fopen(fuzz_pos, "wb")) || fwrite(data, 1, size, f) != size || fclose(f) != 0) abort();
  s = nn_text_set_read_aclimdb(fuzz_dir, "train");
  nn_text_set_free(s);
  return s != NULL;
}
