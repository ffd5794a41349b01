/* Fuzz target: the IDX reader (MNIST format).  The input holds both files:
   a 4-byte big-endian length L, L bytes of the images file, then the
   labels file.  See fuzz.h. */
#include "fuzz.h"

int nn_fuzz_one(const uint8_t *data, size_t size) {
  size_t split;
  nn_dataset *d;
  if (size < 4) return nn__fail("fuzz input shorter than its 4-byte split");
  split = (size_t)data[0] << 24 | (size_t)data[1] << 16 | (size_t)data[2] << 8 | data[3];
  if (split > size - 4) split = size - 4;
  d = nn__idx_from_buffers("images", data + 4, split, "labels", data + 4 + split, size - 4 - split);
  nn_dataset_free(d);
  return d != NULL;
}
