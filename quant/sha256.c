/*
 * sha256.c — SHA-256 (FIPS 180-4), used to record a model's source checksum in its
 * metadata.json. Small and dependency-free; streaming, so multi-GB files hash in 1 MiB reads.
 */
#include "quant/quantize.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

static const uint32_t K[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};

static inline uint32_t ror(uint32_t x, int n) { return (x >> n) | (x << (32 - n)); }

static void block(uint32_t h[8], const uint8_t *p) {
    uint32_t w[64];
    for (int i = 0; i < 16; i++)
        w[i] = (uint32_t)p[4 * i] << 24 | (uint32_t)p[4 * i + 1] << 16 | (uint32_t)p[4 * i + 2] << 8 | p[4 * i + 3];
    for (int i = 16; i < 64; i++) {
        uint32_t s0 = ror(w[i - 15], 7) ^ ror(w[i - 15], 18) ^ (w[i - 15] >> 3);
        uint32_t s1 = ror(w[i - 2], 17) ^ ror(w[i - 2], 19) ^ (w[i - 2] >> 10);
        w[i] = w[i - 16] + s0 + w[i - 7] + s1;
    }
    uint32_t a = h[0], b = h[1], c = h[2], d = h[3], e = h[4], f = h[5], g = h[6], hh = h[7];
    for (int i = 0; i < 64; i++) {
        uint32_t S1 = ror(e, 6) ^ ror(e, 11) ^ ror(e, 25);
        uint32_t ch = (e & f) ^ (~e & g);
        uint32_t t1 = hh + S1 + ch + K[i] + w[i];
        uint32_t S0 = ror(a, 2) ^ ror(a, 13) ^ ror(a, 22);
        uint32_t mj = (a & b) ^ (a & c) ^ (b & c);
        uint32_t t2 = S0 + mj;
        hh = g; g = f; f = e; e = d + t1; d = c; c = b; b = a; a = t1 + t2;
    }
    h[0] += a; h[1] += b; h[2] += c; h[3] += d; h[4] += e; h[5] += f; h[6] += g; h[7] += hh;
}

void lpq_sha256_init(struct lpq_sha256 *s) {
    static const uint32_t h0[8] = { 0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                                    0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19 };
    memcpy(s->h, h0, sizeof(h0));
    s->n_bytes = 0;
    s->n_buf = 0;
}

void lpq_sha256_update(struct lpq_sha256 *s, const void *data, size_t n) {
    const uint8_t *p = data;
    s->n_bytes += n;
    if (s->n_buf) {
        size_t k = LPQ_MIN(n, 64 - s->n_buf);
        memcpy(s->buf + s->n_buf, p, k);
        s->n_buf += k;
        p += k;
        n -= k;
        if (s->n_buf < 64) return;
        block(s->h, s->buf);
        s->n_buf = 0;
    }
    for (; n >= 64; n -= 64, p += 64) block(s->h, p);
    memcpy(s->buf, p, n);
    s->n_buf = n;
}

void lpq_sha256_final(struct lpq_sha256 *s, uint8_t out[32]) {
    uint64_t bits = s->n_bytes * 8;
    uint8_t pad[72] = { 0x80 };
    size_t np = (s->n_buf < 56) ? 56 - s->n_buf : 120 - s->n_buf;
    uint8_t len[8];
    for (int i = 0; i < 8; i++) len[i] = (uint8_t)(bits >> (56 - 8 * i));
    lpq_sha256_update(s, pad, np);
    lpq_sha256_update(s, len, 8);
    for (int i = 0; i < 8; i++) {
        out[4 * i] = (uint8_t)(s->h[i] >> 24);
        out[4 * i + 1] = (uint8_t)(s->h[i] >> 16);
        out[4 * i + 2] = (uint8_t)(s->h[i] >> 8);
        out[4 * i + 3] = (uint8_t)s->h[i];
    }
}

enum lpq_status lpq_sha256_file(const char *path, char hex[65], struct lpq_err *err) {
    FILE *f = fopen(path, "rb");
    if (!f) return lpq_err_set(err, LPQ_STATUS_IO, "%s: cannot open: %s", path, strerror(errno));
    enum lpq_status st = LPQ_STATUS_OK;
    uint8_t *buf = lpq_malloc(1u << 20);
    if (!buf) {
        fclose(f);
        return lpq_err_set(err, LPQ_STATUS_NO_MEMORY, "sha256: out of memory");
    }
    struct lpq_sha256 s;
    lpq_sha256_init(&s);
    size_t n;
    while ((n = fread(buf, 1, 1u << 20, f)) > 0) lpq_sha256_update(&s, buf, n);
    if (ferror(f)) st = lpq_err_set(err, LPQ_STATUS_IO, "%s: read error", path);
    fclose(f);
    lpq_free(buf);
    if (st) return st;
    uint8_t d[32];
    lpq_sha256_final(&s, d);
    for (int i = 0; i < 32; i++) snprintf(hex + 2 * i, 3, "%02x", d[i]);
    return LPQ_STATUS_OK;
}
