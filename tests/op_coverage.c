/* The "op coverage" suite of tests/run_all.sh: every op of nn.h's registry
   has a gradient check and a device parity case.  tests/test_nn.c writes
   the ops its gradient checks built to build/op_coverage_grad.txt,
   tests/test_opencl.c those of its parity cases to
   build/op_coverage_device.txt (one name a line; run_all.sh removes both
   first, so that a file left from an earlier run counts for nothing).
   Without OpenCL (outside CI) the device file is missing and the line
   says that device parity was not checked.
   Build: cc -I. tests/op_coverage.c -lm, run from the project root after
   both tests.  Last line: "N passed, N failed". */
#include <stdlib.h>
#include <string.h>

#define NN_IMPLEMENTATION
#include "nn.h"

#include "check.h"

#define GRAD_FILE "build/op_coverage_grad.txt"
#define DEVICE_FILE "build/op_coverage_device.txt"

/* marks the ops named in the file; 0 when there is no file */
static int read_ops(const char *path, int *has) {
  FILE *f = fopen(path, "r");
  char line[64];
  int i;
  if (!f) return 0;
  while (fgets(line, sizeof line, f)) {
    line[strcspn(line, "\n")] = 0;
    for (i = 0; i < NN_OP_COUNT; i++) has[i] |= !strcmp(line, nn_op_name((nn_op)i));
  }
  fclose(f);
  return 1;
}

int main(void) {
  int grad[NN_OP_COUNT] = {0}, device[NN_OP_COUNT] = {0}, i, n_grad = 0, n_both = 0, have_device;
  const char *ci = getenv("CI");
  CHECK(read_ops(GRAD_FILE, grad), "no %s: tests/test_nn.c did not run to its end", GRAD_FILE);
  have_device = read_ops(DEVICE_FILE, device);
  if (!have_device) CHECK(!ci || strcmp(ci, "true"), "no %s in CI: tests/test_opencl.c did not run to its end", DEVICE_FILE);
  for (i = 0; i < NN_OP_COUNT; i++) {
    CHECK(grad[i] && (device[i] || !have_device), "op %s has %s", nn_op_name((nn_op)i),
          !grad[i] && have_device && !device[i] ? "no gradient check and no device parity case"
          : !grad[i] ? "no gradient check" : "no device parity case");
    n_grad += grad[i];
    n_both += grad[i] && device[i];
  }
  if (have_device) printf("op coverage: %d of %d ops have a gradient check and a device parity case\n", n_both, NN_OP_COUNT);
  else printf("op coverage: %d of %d ops have a gradient check; device parity not checked (no OpenCL: no %s)\n", n_grad,
              NN_OP_COUNT, DEVICE_FILE);
  return check_summary();
}
