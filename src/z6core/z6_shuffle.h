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
 * than a byte store per byte. Where the CPU has AVX2 (asked at run time, so one
 * build serves every x86-64), a record is one 32-byte load and whole 64-byte lines
 * of each plane go through a small tile: 2.7 times faster to encode than SSE2, 1.7
 * to decode (docs/performance.md). Every path writes and reads the same bytes.
 * Little-endian hosts only, as the rest of the codec.
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

static inline void z6_shuffle_blocks_sse2(const uint8_t* rows, size_t blocks, const size_t* plane, uint8_t* out,
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
static inline void z6_unshuffle_blocks_sse2(const uint8_t* data, size_t blocks, const size_t* plane, uint8_t* rows,
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


#if defined(__GNUC__) && defined(__x86_64__)
/* AVX2, chosen at run time (`z6_shuffle_use_avx2`): a record is one 32-byte load,
 * its two halves transposed at once in the two 128-bit lanes, half the work of
 * the SSE2 path. And four blocks (64 records) go through a 2 KiB tile, so each
 * plane is written (or, decoding, read) 64 bytes at a time, a whole cache line:
 * the 32 planes of a 65,536-record chunk lie 64 KiB apart, all in the same set
 * of an 8-way L1, and 16 bytes at a time each line was fetched four times. The
 * tile alone nearly halves the time; AVX2 without it gains nothing. */
#include <immintrin.h>
#define Z6_SHUFFLE_AVX2 1
#define Z6_TILE_BLOCKS 4

/* 16 rows of 16 bytes in each lane transposed in place: r[k] was row k (record
 * bytes 0-15 in lane 0, 16-31 in lane 1); r[p] becomes byte p of the 16 rows in
 * lane 0 and byte p + 16 in lane 1. Its own inverse. */
__attribute__((target("avx2")))
static inline void z6_transpose_16x16_avx2(__m256i* r) {
    __m256i a[16], b[16];
    int g;
    for (g = 0; g < 8; g++) {          /* a[g]: rows 2g, 2g+1, bytes 0-7; a[8+g]: bytes 8-15 */
        a[g] = _mm256_unpacklo_epi8(r[2 * g], r[2 * g + 1]);
        a[8 + g] = _mm256_unpackhi_epi8(r[2 * g], r[2 * g + 1]);
    }
    for (g = 0; g < 4; g++) {          /* b[4q + g]: rows 4g..4g+3, bytes 4q..4q+3 */
        b[g] = _mm256_unpacklo_epi16(a[2 * g], a[2 * g + 1]);
        b[4 + g] = _mm256_unpackhi_epi16(a[2 * g], a[2 * g + 1]);
        b[8 + g] = _mm256_unpacklo_epi16(a[8 + 2 * g], a[8 + 2 * g + 1]);
        b[12 + g] = _mm256_unpackhi_epi16(a[8 + 2 * g], a[8 + 2 * g + 1]);
    }
    for (g = 0; g < 4; g++) {          /* rows 0-7 then 8-15, bytes 4g, 4g+1 and 4g+2, 4g+3 */
        a[4 * g + 0] = _mm256_unpacklo_epi32(b[4 * g + 0], b[4 * g + 1]);
        a[4 * g + 1] = _mm256_unpackhi_epi32(b[4 * g + 0], b[4 * g + 1]);
        a[4 * g + 2] = _mm256_unpacklo_epi32(b[4 * g + 2], b[4 * g + 3]);
        a[4 * g + 3] = _mm256_unpackhi_epi32(b[4 * g + 2], b[4 * g + 3]);
    }
    for (g = 0; g < 4; g++) {          /* all 16 rows of bytes 4g .. 4g+3 */
        r[4 * g + 0] = _mm256_unpacklo_epi64(a[4 * g + 0], a[4 * g + 2]);
        r[4 * g + 1] = _mm256_unpackhi_epi64(a[4 * g + 0], a[4 * g + 2]);
        r[4 * g + 2] = _mm256_unpacklo_epi64(a[4 * g + 1], a[4 * g + 3]);
        r[4 * g + 3] = _mm256_unpackhi_epi64(a[4 * g + 1], a[4 * g + 3]);
    }
}

__attribute__((target("avx2")))
static void z6_shuffle_blocks_avx2(const uint8_t* rows, size_t blocks, const size_t* plane, uint8_t* out,
                                   uint64_t* previous) {
    size_t first, nb, b, i, k;
    __m256i r[16], v;
    /* The tick word is the first 8 bytes: each record less the previous record's tick there. */
    const __m256i tick_word = _mm256_set_epi64x(0, 0, 0, -1);
    __m256i last = _mm256_set_epi64x(0, 0, 0, (long long)*previous);
    __attribute__((aligned(32))) uint8_t tile[32][16 * Z6_TILE_BLOCKS];
    for (first = 0; first < blocks; first += nb) {
        nb = blocks - first < Z6_TILE_BLOCKS ? blocks - first : Z6_TILE_BLOCKS;
        for (b = 0; b < nb; b++) {
            i = (first + b) * 16;
            for (k = 0; k < 16; k++) {
                v = _mm256_loadu_si256((const __m256i*)(rows + (i + k) * Z6_SHUFFLE_RECORD));
                r[k] = _mm256_sub_epi64(v, last);
                last = _mm256_and_si256(v, tick_word);
            }
            z6_transpose_16x16_avx2(r);
            for (k = 0; k < 16; k++) {
                _mm_store_si128((__m128i*)&tile[k][b * 16], _mm256_castsi256_si128(r[k]));
                _mm_store_si128((__m128i*)&tile[k + 16][b * 16], _mm256_extracti128_si256(r[k], 1));
            }
        }
        if (nb == Z6_TILE_BLOCKS)   /* a constant size: two 32-byte moves, not a call */
            for (k = 0; k < 32; k++)
                memcpy(out + plane[k] + first * 16, tile[k], 16 * Z6_TILE_BLOCKS);
        else
            for (k = 0; k < 32; k++)
                memcpy(out + plane[k] + first * 16, tile[k], nb * 16);
    }
    *previous = (uint64_t)_mm256_extract_epi64(last, 0);
}

__attribute__((target("avx2")))
static void z6_unshuffle_blocks_avx2(const uint8_t* data, size_t blocks, const size_t* plane, uint8_t* rows,
                                     uint64_t* tick) {
    size_t first, nb, b, i, k;
    __m256i r[16];
    uint64_t running = *tick;
    __attribute__((aligned(32))) uint8_t tile[32][16 * Z6_TILE_BLOCKS];
    for (first = 0; first < blocks; first += nb) {
        nb = blocks - first < Z6_TILE_BLOCKS ? blocks - first : Z6_TILE_BLOCKS;
        if (nb == Z6_TILE_BLOCKS)
            for (k = 0; k < 32; k++)
                memcpy(tile[k], data + plane[k] + first * 16, 16 * Z6_TILE_BLOCKS);
        else
            for (k = 0; k < 32; k++)
                memcpy(tile[k], data + plane[k] + first * 16, nb * 16);
        for (b = 0; b < nb; b++) {
            i = (first + b) * 16;
            for (k = 0; k < 16; k++)
                r[k] = _mm256_set_m128i(_mm_load_si128((const __m128i*)&tile[k + 16][b * 16]),
                                        _mm_load_si128((const __m128i*)&tile[k][b * 16]));
            z6_transpose_16x16_avx2(r);
            for (k = 0; k < 16; k++) {
                /* The tick word comes out as a difference: summed back (modulo 2**64). */
                running += (uint64_t)_mm256_extract_epi64(r[k], 0);
                _mm256_storeu_si256((__m256i*)(rows + (i + k) * Z6_SHUFFLE_RECORD),
                                    _mm256_blend_epi32(r[k], _mm256_set_epi64x(0, 0, 0, (long long)running), 0x03));
            }
        }
    }
    *tick = running;
}

/* -1 until asked; then whether this CPU runs AVX2 (and the caller allows it). */
static int z6_shuffle_avx2 = -1;

static inline int z6_shuffle_use_avx2(void) {
    if (z6_shuffle_avx2 < 0)
        z6_shuffle_avx2 = __builtin_cpu_supports("avx2") ? 1 : 0;
    return z6_shuffle_avx2;
}

/* For tests: 0 forces the SSE2 path, 1 asks for AVX2 (granted only where the CPU
 * has it); returns the path now in use (1: AVX2). */
static inline int z6_shuffle_set_avx2(int on) {
    z6_shuffle_avx2 = on && __builtin_cpu_supports("avx2") ? 1 : 0;
    return z6_shuffle_avx2;
}
#endif

static inline void z6_shuffle_blocks(const uint8_t* rows, size_t blocks, const size_t* plane, uint8_t* out,
                                     uint64_t* previous) {
#ifdef Z6_SHUFFLE_AVX2
    if (z6_shuffle_use_avx2()) {
        z6_shuffle_blocks_avx2(rows, blocks, plane, out, previous);
        return;
    }
#endif
    z6_shuffle_blocks_sse2(rows, blocks, plane, out, previous);
}

static inline void z6_unshuffle_blocks(const uint8_t* data, size_t blocks, const size_t* plane, uint8_t* rows,
                                       uint64_t* tick) {
#ifdef Z6_SHUFFLE_AVX2
    if (z6_shuffle_use_avx2()) {
        z6_unshuffle_blocks_avx2(data, blocks, plane, rows, tick);
        return;
    }
#endif
    z6_unshuffle_blocks_sse2(data, blocks, plane, rows, tick);
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

#ifndef Z6_SHUFFLE_AVX2
/* Where the compiler or the machine has no AVX2 path, the baseline is the only one. */
static inline int z6_shuffle_use_avx2(void) { return 0; }
static inline int z6_shuffle_set_avx2(int on) { (void)on; return 0; }
#endif

#endif
