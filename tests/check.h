/* The test counting of tests/test_*.c: CHECK(cond, printf-style message)
   counts a pass or prints the failure with its place; check_summary()
   prints the last line, "N passed, N failed", and gives main's exit status. */
#include <stdio.h>

static int passed, failed;
#define CHECK(cond, ...)                                   \
  do {                                                     \
    if (cond) passed++;                                    \
    else {                                                 \
      failed++;                                            \
      printf("FAIL %s:%d: ", __FILE__, __LINE__);          \
      printf(__VA_ARGS__);                                 \
      printf("\n");                                        \
    }                                                      \
  } while (0)

static int check_summary(void) {
  printf("%d passed, %d failed\n", passed, failed);
  return failed != 0;
}
