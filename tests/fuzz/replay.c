/* Replays a regression corpus through a fuzz target (see fuzz.h), built
   with the sanitizers instead of libFuzzer:
     replay FILE...
   Files named ok-* must be accepted, all others rejected with a reason.
   Prints a PASS/FAIL line per file; last line "N passed, N failed". */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "nn.h"

int nn_fuzz_one(const uint8_t *data, size_t size);

int main(int argc, char **argv) {
  int i, passed = 0, failed = 0;
  for (i = 1; i < argc; i++) {
    const char *base = strrchr(argv[i], '/') ? strrchr(argv[i], '/') + 1 : argv[i];
    int want_ok = !strncmp(base, "ok-", 3), accepted;
    FILE *f = fopen(argv[i], "rb");
    unsigned char *buf;
    long n;
    if (!f || fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0) {
      printf("FAIL %s: cannot read\n", argv[i]);
      failed++;
      if (f) fclose(f);
      continue;
    }
    buf = (unsigned char *)malloc(n > 0 ? (size_t)n : 1);  /* no slack: ASan sees any overread */
    if (fread(buf, 1, (size_t)n, f) != (size_t)n) n = -1;
    fclose(f);
    nn_clear_error();
    accepted = n >= 0 && nn_fuzz_one(buf, (size_t)n);
    free(buf);
    if (accepted == want_ok && (accepted || nn_last_error()[0])) {
      passed++;
      printf("PASS %s: %s%s\n", base, accepted ? "accepted" : "rejected: ", accepted ? "" : nn_last_error());
    } else {
      failed++;
      printf("FAIL %s: %s %s\n", base, accepted ? "accepted, expected a rejection" : "rejected", accepted ? "" : nn_last_error());
    }
  }
  printf("%d passed, %d failed\n", passed, failed);
  return failed != 0;
}
