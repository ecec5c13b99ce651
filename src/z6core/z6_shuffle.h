/* The byte shuffle of an event log chunk (format 2), in whole blocks of records,
 * and its inverse for readers.
 *
 * A chunk's 32-byte records are stored as 32 byte planes: byte p of every record,
 * in record order, then byte p + 1 ... (the columns' planes, each column's w planes
 * in a row; `plane[p]` is where byte p's plane starts). The tick word (bytes 0-7)
 * is stored as its difference from the previous record's tick.
 *
 * Seen across a block of records, each of a record's four 8-byte words is a byte
 * matrix (a row a record) whose transpose is the planes' next bytes: with SSE2 (in
 * every x86-64) sixteen records at a time, three rounds of unpacks and a 16-byte
 * store a plane; elsewhere eight at a time, three rounds of masked xors on 64-bit
 * words and an 8-byte store a plane. Either is several times fewer instructions
 * than a byte store per byte, and the writer's thread spends its time on zstd and
 * the digest instead. Little-endian hosts only, as the rest of the codec.
 */
#ifndef Z6_SHUFFLE_H
#define Z6_SHUFFLE_H

#include <stdint.h>
#include <string.h>
#include <stddef.h>

#if defined(__SSE2__) || defined(_M_X64)
#include <emmintrin.h>
#define Z6_SHUFFLE_BLOCK 16
#else
#define Z6_SHUFFLE_BLOCK 8
#endif

#define Z6_SHUFFLE_RECORD 32

/* The tick words of a block's records, as differences (modulo 2**64). */
static inline void z6_shuffle_ticks(const uint8_t* rows, size_t count, uint64_t* out, uint64_t* previous) {
    size_t k;
    uint64_t tick;
    for (k = 0; k < count; k++) {
        memcpy(&tick, rows + k * Z6_SHUFFLE_RECORD, 8);
        out[k] = tick - *previous;
        *previous = tick;
    }
}

#if Z6_SHUFFLE_BLOCK == 16

/* Eight 8-byte rows (the low halves of r[0..7]) transposed: v[j] holds planes 2j
 * (low half) and 2j + 1 (high half). */
static inline void z6_transpose_8x8_sse2(const __m128i* r, __m128i* v) {
    __m128i t0 = _mm_unpacklo_epi8(r[0], r[1]), t1 = _mm_unpacklo_epi8(r[2], r[3]);
    __m128i t2 = _mm_unpacklo_epi8(r[4], r[5]), t3 = _mm_unpacklo_epi8(r[6], r[7]);
    __m128i u0 = _mm_unpacklo_epi16(t0, t1), u1 = _mm_unpackhi_epi16(t0, t1);
    __m128i u2 = _mm_unpacklo_epi16(t2, t3), u3 = _mm_unpackhi_epi16(t2, t3);
    v[0] = _mm_unpacklo_epi32(u0, u2);
    v[1] = _mm_unpackhi_epi32(u0, u2);
    v[2] = _mm_unpacklo_epi32(u1, u3);
    v[3] = _mm_unpackhi_epi32(u1, u3);
}

static inline void z6_shuffle_blocks(const uint8_t* rows, size_t blocks, const size_t* plane, uint8_t* out,
                                     uint64_t* previous) {
    size_t blk, i, k, q, j;
    uint64_t ticks[16];
    __m128i r[16], a[4], b[4];
    for (blk = 0; blk < blocks; blk++) {
        i = blk * 16;
        for (q = 0; q < 4; q++) {
            if (q == 0) {
                z6_shuffle_ticks(rows + i * Z6_SHUFFLE_RECORD, 16, ticks, previous);
                for (k = 0; k < 16; k++)
                    r[k] = _mm_loadl_epi64((const __m128i*)&ticks[k]);
            } else {
                for (k = 0; k < 16; k++)
                    r[k] = _mm_loadl_epi64((const __m128i*)(rows + (i + k) * Z6_SHUFFLE_RECORD + q * 8));
            }
            z6_transpose_8x8_sse2(r, a);
            z6_transpose_8x8_sse2(r + 8, b);
            for (j = 0; j < 4; j++) {
                _mm_storeu_si128((__m128i*)(out + plane[q * 8 + 2 * j] + i), _mm_unpacklo_epi64(a[j], b[j]));
                _mm_storeu_si128((__m128i*)(out + plane[q * 8 + 2 * j + 1] + i), _mm_unpackhi_epi64(a[j], b[j]));
            }
        }
    }
}

/* The inverse, for a reader: the planes' next 16 bytes back into 16 records. An
 * 8 x 8 byte transpose is its own inverse, so the same unpacks serve: eight plane
 * rows in, v[j] holds records 2j (low half) and 2j + 1 (high half). The tick words
 * come out as differences and are summed back from `*tick` (modulo 2**64). */
static inline void z6_unshuffle_blocks(const uint8_t* data, size_t blocks, const size_t* plane, uint8_t* rows,
                                       uint64_t* tick) {
    size_t blk, i, k, q, j;
    uint64_t ticks[16];
    __m128i r[16], a[4], b[4], v[16];
    for (blk = 0; blk < blocks; blk++) {
        i = blk * 16;
        for (q = 0; q < 4; q++) {
            for (k = 0; k < 8; k++) {
                r[k] = _mm_loadl_epi64((const __m128i*)(data + plane[q * 8 + k] + i));
                r[8 + k] = _mm_loadl_epi64((const __m128i*)(data + plane[q * 8 + k] + i + 8));
            }
            z6_transpose_8x8_sse2(r, a);
            z6_transpose_8x8_sse2(r + 8, b);
            for (j = 0; j < 4; j++) {
                v[2 * j] = a[j];
                v[2 * j + 1] = _mm_unpackhi_epi64(a[j], a[j]);
                v[8 + 2 * j] = b[j];
                v[8 + 2 * j + 1] = _mm_unpackhi_epi64(b[j], b[j]);
            }
            if (q == 0) {
                for (k = 0; k < 16; k++) {
                    _mm_storel_epi64((__m128i*)&ticks[k], v[k]);
                    *tick += ticks[k];
                    memcpy(rows + (i + k) * Z6_SHUFFLE_RECORD, tick, 8);
                }
            } else {
                for (k = 0; k < 16; k++)
                    _mm_storel_epi64((__m128i*)(rows + (i + k) * Z6_SHUFFLE_RECORD + q * 8), v[k]);
            }
        }
    }
}

#else

/* An 8 x 8 byte matrix (row k = w[k], column j = its byte j) transposed in place:
 * 2 x 2, then 4 x 4, then 8 x 8 blocks swapped across the diagonal. */
static inline void z6_transpose_8x8_words(uint64_t* w) {
    uint64_t t;
    int k, j;
    for (k = 0; k < 8; k += 2) {
        t = ((w[k] >> 8) ^ w[k + 1]) & 0x00FF00FF00FF00FFULL;
        w[k + 1] ^= t;
        w[k] ^= t << 8;
    }
    for (k = 0; k < 4; k++) {
        j = k + (k & 2);    /* rows 0, 1, 4, 5 with 2, 3, 6, 7 */
        t = ((w[j] >> 16) ^ w[j + 2]) & 0x0000FFFF0000FFFFULL;
        w[j + 2] ^= t;
        w[j] ^= t << 16;
    }
    for (k = 0; k < 4; k++) {
        t = ((w[k] >> 32) ^ w[k + 4]) & 0x00000000FFFFFFFFULL;
        w[k + 4] ^= t;
        w[k] ^= t << 32;
    }
}

static inline void z6_shuffle_blocks(const uint8_t* rows, size_t blocks, const size_t* plane, uint8_t* out,
                                     uint64_t* previous) {
    size_t blk, i, k, q;
    uint64_t w[8];
    for (blk = 0; blk < blocks; blk++) {
        i = blk * 8;
        for (q = 0; q < 4; q++) {
            if (q == 0)
                z6_shuffle_ticks(rows + i * Z6_SHUFFLE_RECORD, 8, w, previous);
            else
                for (k = 0; k < 8; k++)
                    memcpy(&w[k], rows + (i + k) * Z6_SHUFFLE_RECORD + q * 8, 8);
            z6_transpose_8x8_words(w);
            for (k = 0; k < 8; k++)
                memcpy(out + plane[q * 8 + k] + i, &w[k], 8);
        }
    }
}

/* The inverse, for a reader (the transpose is its own inverse); tick words summed
 * back from `*tick` (modulo 2**64). */
static inline void z6_unshuffle_blocks(const uint8_t* data, size_t blocks, const size_t* plane, uint8_t* rows,
                                       uint64_t* tick) {
    size_t blk, i, k, q;
    uint64_t w[8];
    for (blk = 0; blk < blocks; blk++) {
        i = blk * 8;
        for (q = 0; q < 4; q++) {
            for (k = 0; k < 8; k++)
                memcpy(&w[k], data + plane[q * 8 + k] + i, 8);
            z6_transpose_8x8_words(w);
            for (k = 0; k < 8; k++) {
                if (q == 0) {
                    *tick += w[k];
                    w[k] = *tick;
                }
                memcpy(rows + (i + k) * Z6_SHUFFLE_RECORD + q * 8, &w[k], 8);
            }
        }
    }
}

#endif

#endif
