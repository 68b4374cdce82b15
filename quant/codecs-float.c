/*
 * codecs-float.c — row codecs of the unquantized float types F32, F16 and BF16.
 * Conversions are exact IEEE (no flush of subnormals); narrowing rounds to nearest even.
 *
 * Byte layout (one value per "block", little-endian):
 *   F32  : 4 bytes, IEEE binary32
 *   F16  : 2 bytes, IEEE binary16 (1 sign, 5 exponent bias 15, 10 mantissa)
 *   BF16 : 2 bytes, the upper 16 bits of the binary32 (1 sign, 8 exponent, 7 mantissa)
 */
#include "quant/codecs-impl.h"

void lpq__f32_to_float(const void *src, float *dst, int64_t n) {
    memcpy(dst, src, (size_t)n * sizeof(float));
}

bool lpq__f32_from_float(const float *src, void *dst, int64_t n, const float *imp) {
    if (!lpq__all_finite(src, n)) return false;
    memcpy(dst, src, (size_t)n * sizeof(float));
    return true;
}

void lpq__f16_to_float(const void *src, float *dst, int64_t n) {
    const uint8_t *p = src;
    for (int64_t i = 0; i < n; i++) {
        uint16_t h = (uint16_t)(p[2 * i] | (p[2 * i + 1] << 8));
        dst[i] = lpq__f16_to_f32(h);
    }
}

bool lpq__f16_from_float(const float *src, void *dst, int64_t n, const float *imp) {
    if (!lpq__all_finite(src, n)) return false;
    uint8_t *p = dst;
    for (int64_t i = 0; i < n; i++) {
        uint16_t h = lpq__f32_to_f16(src[i]);
        p[2 * i] = (uint8_t)h;
        p[2 * i + 1] = (uint8_t)(h >> 8);
    }
    return true;
}

void lpq__bf16_to_float(const void *src, float *dst, int64_t n) {
    const uint8_t *p = src;
    for (int64_t i = 0; i < n; i++) {
        uint16_t h = (uint16_t)(p[2 * i] | (p[2 * i + 1] << 8));
        dst[i] = lpq__bf16_to_f32(h);
    }
}

bool lpq__bf16_from_float(const float *src, void *dst, int64_t n, const float *imp) {
    if (!lpq__all_finite(src, n)) return false;
    uint8_t *p = dst;
    for (int64_t i = 0; i < n; i++) {
        uint16_t h = lpq__f32_to_bf16(src[i]);
        p[2 * i] = (uint8_t)h;
        p[2 * i + 1] = (uint8_t)(h >> 8);
    }
    return true;
}
