/* examples/png.h — a dependency-free PNG writer for 8-bit grey images:
   the pixel rows go into zlib's "stored" deflate blocks (no compression:
   a 280 x 280 grid is 79 KB), so the file needs CRC-32 and Adler-32 and
   nothing else.  Used by examples/gan.c for its sample grids. */
#ifndef EX_PNG_H
#define EX_PNG_H
#include <errno.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* CRC-32 (ISO-HDLC, reflected polynomial 0xEDB88320) of n bytes,
   continuing from crc (0 to start) */
static inline uint32_t ex_crc32(uint32_t crc, const unsigned char *p, size_t n) {
  size_t i;
  int k;
  crc = ~crc;
  for (i = 0; i < n; i++) {
    crc ^= p[i];
    for (k = 0; k < 8; k++) crc = (crc >> 1) ^ (0xEDB88320u & (0u - (crc & 1u)));
  }
  return ~crc;
}
/* Adler-32 of n bytes, continuing from adler (1 to start) */
static inline uint32_t ex_adler32(uint32_t adler, const unsigned char *p, size_t n) {
  uint32_t a = adler & 0xffff, b = adler >> 16;
  size_t i;
  for (i = 0; i < n; i++) {
    a = (a + p[i]) % 65521u;
    b = (b + a) % 65521u;
  }
  return (b << 16) | a;
}
static inline void ex_png_be32(unsigned char *p, uint32_t v) {
  p[0] = (unsigned char)(v >> 24); p[1] = (unsigned char)(v >> 16); p[2] = (unsigned char)(v >> 8); p[3] = (unsigned char)v;
}
/* one chunk: length, type, data, CRC of type and data */
static inline int ex_png_chunk(FILE *f, const char *type, const unsigned char *data, size_t n) {
  unsigned char head[8], tail[4];
  ex_png_be32(head, (uint32_t)n);
  memcpy(head + 4, type, 4);
  ex_png_be32(tail, ex_crc32(ex_crc32(0, head + 4, 4), data, n));
  return fwrite(head, 1, 8, f) == 8 && (!n || fwrite(data, 1, n, f) == n) && fwrite(tail, 1, 4, f) == 4;
}

/* Writes the w x h grey image pix (row by row, 0 black .. 255 white) to
   path.  Returns 1, or 0 with errno set (an unwritable path, a full disk,
   out of memory, a size beyond PNG's limits). */
static inline int ex_png_write_grey(const char *path, int w, int h, const unsigned char *pix) {
  size_t raw = (size_t)h * ((size_t)w + 1), blocks, n, i, at = 0;
  unsigned char ihdr[13], *z, *row;
  uint32_t adler = 1;
  FILE *f;
  int y, ok;
  if (w < 1 || h < 1 || raw / (size_t)h != (size_t)w + 1 || raw > 0x7fff0000u) { errno = EINVAL; return 0; }
  blocks = (raw + 65534) / 65535;
  n = 2 + raw + 5 * blocks + 4;   /* zlib header, stored blocks (5 bytes of header each), Adler-32 */
  if (!(z = (unsigned char *)malloc(n + raw))) { errno = ENOMEM; return 0; }
  row = z + n;
  for (y = 0; y < h; y++) {   /* filter type 0 (none) before each row */
    row[(size_t)y * (w + 1)] = 0;
    memcpy(row + (size_t)y * (w + 1) + 1, pix + (size_t)y * w, (size_t)w);
  }
  z[at++] = 0x78;   /* deflate, 32K window */
  z[at++] = 0x01;   /* no dictionary, check bits: 0x7801 % 31 == 0 */
  for (i = 0; i < raw; i += 65535) {
    size_t len = raw - i < 65535 ? raw - i : 65535;
    z[at++] = (unsigned char)(i + len == raw);   /* BFINAL, BTYPE 00: stored */
    z[at++] = (unsigned char)len;
    z[at++] = (unsigned char)(len >> 8);
    z[at++] = (unsigned char)~len;
    z[at++] = (unsigned char)(~len >> 8);
    memcpy(z + at, row + i, len);
    at += len;
    adler = ex_adler32(adler, row + i, len);
  }
  ex_png_be32(z + at, adler);
  at += 4;
  ex_png_be32(ihdr, (uint32_t)w);
  ex_png_be32(ihdr + 4, (uint32_t)h);
  ihdr[8] = 8;    /* bit depth */
  ihdr[9] = 0;    /* grey */
  ihdr[10] = ihdr[11] = ihdr[12] = 0;   /* deflate, adaptive filters, no interlace */
  if (!(f = fopen(path, "wb"))) { free(z); return 0; }
  ok = fwrite("\211PNG\r\n\032\n", 1, 8, f) == 8 && ex_png_chunk(f, "IHDR", ihdr, 13) && ex_png_chunk(f, "IDAT", z, at) &&
       ex_png_chunk(f, "IEND", NULL, 0);
  free(z);
  if (fclose(f) != 0) ok = 0;
  return ok;
}
#endif
