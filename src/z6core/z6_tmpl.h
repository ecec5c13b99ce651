/* Request templates rendered in C: segments (literal bytes or a value
 * reference) written into a VU's send buffer, without the GIL.
 *
 * The tables are flat arrays built once by `z6.plan` (compiled in Python) and
 * checked by `_template.pyx` (`TemplateTables`); nothing here allocates except
 * the per-VU send buffer (`z6_tmpl_reserve`). See docs/templates.md.
 *
 * Values come from the VU's value stream (stream 1, `z6_tmpl_stream_seed`),
 * never from stream 0, so a template never shifts which requests are issued or
 * when. Draw order per request, fixed: the rows of every data file with
 * pick = "random" (declaration order) when the request is the first templated
 * one of its iteration, then each random segment of the request in order
 * (head before body).
 *
 * Wire safety, by the segment's context:
 *   Z6_CTX_PATH    a value is percent-encoded outside RFC 3986's unreserved and
 *                  sub-delimiter characters;
 *   Z6_CTX_HEADER  a value holding CR, LF or NUL fails the render (the request
 *                  fails with ERR_HEADER_VALUE, nothing is written);
 *   Z6_CTX_RAW     the body: values as they are.
 */
#ifndef Z6_TMPL_H
#define Z6_TMPL_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Segment kinds. Appended only. */
enum {
    Z6_SEG_LITERAL = 0,   /* a = offset in lit, b = length */
    Z6_SEG_VU = 1,        /* the 1-based VU id */
    Z6_SEG_ITERATION = 2, /* the VU's iteration, from 0 */
    Z6_SEG_DATA = 3,      /* a = data file, b = column */
    Z6_SEG_RANDOM_INT = 4,/* a, b: the inclusive range, as int64 bit patterns */
    Z6_SEG_CHOICE = 5,    /* a = first entry of choice (offset, length pairs), b = count */
    Z6_SEG_UUID = 6,      /* a version 4 UUID from two draws */
    Z6_SEG_HEX = 7,       /* a = number of hex digits */
    Z6_SEG_VAR = 8,       /* a = the VU's variable (extracted from a response, issue 15) */
    Z6_SEG_KINDS = 9
};

/* A variable's length when it holds no value. */
#define Z6_VAR_UNSET 0xFFFFFFFFu

/* Render results besides a length. */
#define Z6_RENDER_BAD_HEADER (-1)   /* a header value would hold CR, LF or NUL */
#define Z6_RENDER_UNSET (-2)        /* a ${var.NAME} without a value or a default */

enum { Z6_CTX_RAW = 0, Z6_CTX_PATH = 1, Z6_CTX_HEADER = 2 };

enum { Z6_PICK_PER_VU = 0, Z6_PICK_SEQUENTIAL = 1, Z6_PICK_UNIQUE = 2, Z6_PICK_RANDOM = 3 };

/* "Content-Length: " + 20 digits + CRLF + the blank line's CRLF */
#define Z6_TMPL_CL_MAX 40u

typedef struct {
    uint32_t kind;        /* Z6_SEG_* */
    uint32_t ctx;         /* Z6_CTX_* */
    uint64_t a, b;
} z6_seg_t;

typedef struct {
    uint32_t head_first;  /* segments of the request line and headers, each header's CRLF included */
    uint32_t head_count;  /* 0: the request is not templated (sent pre-serialised) */
    uint32_t body_first;
    uint32_t body_count;
    uint32_t content_length;  /* 1: a Content-Length line of the rendered body's length */
    uint32_t bound;       /* most bytes a rendering can take (set by the loader) */
    uint32_t has_var;     /* 1: a segment reads a variable (the digest then covers placeholders; set by the loader) */
} z6_treq_t;

typedef struct {
    uint64_t n_rows;
    uint32_t n_cols;
    uint32_t pick;        /* Z6_PICK_* */
    const uint32_t* cell; /* n_rows * n_cols + 1 offsets into bytes, row-major */
    const char* bytes;    /* every cell's bytes, back to back (the read-only arena) */
} z6_data_t;

typedef struct {
    const z6_seg_t* segs;
    const z6_treq_t* reqs;    /* one per plan request */
    const char* lit;
    const uint32_t* choice;   /* (offset, length) pairs into lit */
    const z6_data_t* data;
    uint32_t n_data;
    uint32_t n_reqs;
    uint64_t total_vus;       /* VUs of the whole run (not of a shard): the row formulas' VUs */
    uint64_t pass_len;        /* requests per iteration: 1, or one pass of the sequence */
    uint32_t max_bound;
    uint32_t n_vars;
    const uint32_t* var_max;     /* per variable: the most bytes it holds */
    const uint32_t* var_default; /* per variable: (offset, length) into lit; length Z6_VAR_UNSET: none */
} z6_tmpl_t;

/* One variable of one VU: its value, grown on demand up to its var_max. */
typedef struct {
    char* p;
    uint32_t len;             /* Z6_VAR_UNSET: no value */
    uint32_t cap;
} z6_tvar_t;

/* Per-VU render state, beside the VU table. */
typedef struct {
    uint64_t rng;             /* the value stream (stream 1) */
    uint64_t digest;          /* FNV-1a 64 over every rendered request, in order */
    uint64_t rows_iter;       /* the iteration rows[] were assigned for; UINT64_MAX: none yet */
    char* buf;                /* the rendered request being sent */
    uint32_t len, cap;
    z6_tvar_t* vars;          /* n_vars of them (NULL: none, or a replay, where none is ever set) */
} z6_tvu_t;

#define Z6_FNV_OFFSET 0xcbf29ce484222325ULL
#define Z6_FNV_PRIME 0x100000001b3ULL

static inline uint64_t z6_fnv1a(uint64_t h, const char* p, size_t n) {
    for (size_t i = 0; i < n; i++) {
        h ^= (unsigned char)p[i];
        h *= Z6_FNV_PRIME;
    }
    return h;
}

/* xorshift64* and Lemire's bounded draw, as _prng.pxd (kept bit-identical). */
static inline uint64_t z6_tmpl_next(uint64_t* s) {
    uint64_t x = *s;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *s = x;
    return x * 0x2545F4914F6CDD1DULL;
}

#if !defined(__SIZEOF_INT128__)
/* 64x64 -> 128-bit product where the compiler has no 128-bit integer: the same
   bits as _prng.pxd's z6_mul128. */
static inline uint64_t z6_tmpl_mul128(uint64_t a, uint64_t b, uint64_t *lo) {
    uint64_t a_lo = (uint32_t)a, a_hi = a >> 32, b_lo = (uint32_t)b, b_hi = b >> 32;
    uint64_t ll = a_lo * b_lo, lh = a_lo * b_hi, hl = a_hi * b_lo, hh = a_hi * b_hi;
    uint64_t mid = (ll >> 32) + (uint32_t)lh + (uint32_t)hl;
    *lo = (mid << 32) | (uint32_t)ll;
    return hh + (lh >> 32) + (hl >> 32) + (mid >> 32);
}
#endif

static inline uint64_t z6_tmpl_below(uint64_t* s, uint64_t n) {
    uint64_t lo, hi;
#if defined(__SIZEOF_INT128__)
    unsigned __int128 p = (unsigned __int128)z6_tmpl_next(s) * n;
    lo = (uint64_t)p; hi = (uint64_t)(p >> 64);
    if (lo < n) {
        uint64_t threshold = (0 - n) % n;
        while (lo < threshold) {
            p = (unsigned __int128)z6_tmpl_next(s) * n;
            lo = (uint64_t)p; hi = (uint64_t)(p >> 64);
        }
    }
#else
    hi = z6_tmpl_mul128(z6_tmpl_next(s), n, &lo);
    if (lo < n) {
        uint64_t threshold = (0 - n) % n;
        while (lo < threshold) hi = z6_tmpl_mul128(z6_tmpl_next(s), n, &lo);
    }
#endif
    return hi;
}

static inline uint64_t z6_splitmix64(uint64_t seed, uint64_t index) {
    uint64_t z = seed + index * 0x9E3779B97F4A7C15ULL;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

/* Stream s of VU i: splitmix64(splitmix64(seed, i), s) (stream 0 stays
 * splitmix64(seed, i), _prng.pxd's vu_stream_state); 0 maps to the zero-seed
 * constant as there. */
static inline uint64_t z6_tmpl_stream_seed(uint64_t seed, uint64_t vu_id, uint64_t stream) {
    uint64_t s = z6_splitmix64(z6_splitmix64(seed, vu_id), stream);
    return s ? s : 0x853c49e6748fea9bULL;
}

static inline void z6_tmpl_vu_init(z6_tvu_t* st, uint64_t seed, uint32_t vu_id) {
    st->rng = z6_tmpl_stream_seed(seed, vu_id, 1);
    st->digest = Z6_FNV_OFFSET;
    st->rows_iter = UINT64_MAX;
    st->buf = NULL;
    st->len = 0;
    st->cap = 0;
    st->vars = NULL;
}

/* Forget every variable of a VU (its values' memory freed): a VU that completes,
 * or one whose run ends. */
static inline void z6_tmpl_vars_clear(z6_tvar_t* vars, uint32_t n) {
    uint32_t i;
    if (vars == NULL) return;
    for (i = 0; i < n; i++) {
        free(vars[i].p);
        vars[i].p = NULL;
        vars[i].len = Z6_VAR_UNSET;
        vars[i].cap = 0;
    }
}

/* Room for a value of `n` bytes in variable v (its length left unset until
 * written); NULL when out of memory. */
static inline char* z6_tmpl_var_room(z6_tvar_t* v, size_t n) {
    if (v->cap < n || v->p == NULL) {
        size_t want = n ? n : 1;
        char* grown = (char*)realloc(v->p, want);
        if (grown == NULL) return NULL;
        v->p = grown;
        v->cap = (uint32_t)want;
    }
    v->len = Z6_VAR_UNSET;
    return v->p;
}

/* A send buffer of at least `need` bytes; 0 when out of memory. */
static inline int z6_tmpl_reserve(z6_tvu_t* st, uint32_t need) {
    if (st->cap >= need) return 1;
    char* grown = (char*)realloc(st->buf, need);
    if (grown == NULL) return 0;
    st->buf = grown;
    st->cap = need;
    return 1;
}

/* The row of data file `d` for VU `vu_id` in iteration `k` (random: one draw). */
static inline uint64_t z6_tmpl_row(const z6_tmpl_t* t, const z6_data_t* d, uint32_t vu_id, uint64_t k,
                                   uint64_t* rng) {
    uint64_t n = d->n_rows, i = (uint64_t)(vu_id - 1);
    switch (d->pick) {
    case Z6_PICK_PER_VU:
        return i % n;
    case Z6_PICK_RANDOM:
        return z6_tmpl_below(rng, n);
    default:
        /* ((i - 1) + k * VUs) mod n without overflow: each factor reduced first.
         * unique never wraps: the plan caps the VU's iterations so that it
         * stays below n (z6core.unique_iterations). */
        return (i % n + ((k % n) * (t->total_vus % n)) % n) % n;
    }
}

static inline char* z6_put_u64(char* o, uint64_t v) {
    char tmp[20];
    int n = 0;
    do { tmp[n++] = (char)('0' + v % 10); v /= 10; } while (v);
    while (n) *o++ = tmp[--n];
    return o;
}

static const char z6_hex_digits[] = "0123456789abcdef";
static const char z6_hex_upper[] = "0123456789ABCDEF";

/* RFC 3986 unreserved and sub-delims: kept as they are in a path. */
static inline int z6_path_safe(unsigned char c) {
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return 1;
    switch (c) {
    case '-': case '.': case '_': case '~':
    case '!': case '$': case '&': case '\'': case '(': case ')': case '*': case '+': case ',': case ';': case '=':
        return 1;
    default:
        return 0;
    }
}

/* A value's bytes in its context; *bad is set when a header value holds CR/LF/NUL. */
static inline char* z6_put_value(char* o, const char* v, size_t n, uint32_t ctx, int* bad) {
    size_t i;
    if (ctx == Z6_CTX_PATH) {
        for (i = 0; i < n; i++) {
            unsigned char c = (unsigned char)v[i];
            if (z6_path_safe(c)) {
                *o++ = (char)c;
            } else {
                *o++ = '%';
                *o++ = z6_hex_upper[c >> 4];
                *o++ = z6_hex_upper[c & 15];
            }
        }
        return o;
    }
    if (ctx == Z6_CTX_HEADER) {
        for (i = 0; i < n; i++) {
            char c = v[i];
            if (c == '\r' || c == '\n' || c == '\0') *bad = 1;
        }
    }
    memcpy(o, v, n);
    return o + n;
}

/* `placeholder`: a ${var.NAME} renders as "${var.<index>}" (the digest's view,
 * which replays reproduce without the server's answers); else as the VU's
 * value, its default, or *bad |= 2 when it has neither. */
static inline char* z6_render_segs(const z6_tmpl_t* t, const z6_seg_t* s, uint32_t count, uint32_t vu_id,
                                   uint64_t k, z6_tvu_t* st, const uint64_t* rows, char* o, int* bad,
                                   int placeholder) {
    for (uint32_t j = 0; j < count; j++, s++) {
        switch (s->kind) {
        case Z6_SEG_LITERAL:
            memcpy(o, t->lit + s->a, (size_t)s->b);
            o += s->b;
            break;
        case Z6_SEG_VU:
            o = z6_put_u64(o, vu_id);
            break;
        case Z6_SEG_ITERATION:
            o = z6_put_u64(o, k);
            break;
        case Z6_SEG_DATA: {
            const z6_data_t* d = &t->data[s->a];
            uint64_t cell = rows[s->a] * d->n_cols + s->b;
            o = z6_put_value(o, d->bytes + d->cell[cell], d->cell[cell + 1] - d->cell[cell], s->ctx, bad);
            break;
        }
        case Z6_SEG_RANDOM_INT: {
            /* a + uniform [0, b - a] in two's complement; a span of 2**64 takes a raw draw */
            uint64_t span = s->b - s->a + 1;
            uint64_t v = s->a + (span ? z6_tmpl_below(&st->rng, span) : z6_tmpl_next(&st->rng));
            if ((int64_t)v < 0) {
                *o++ = '-';
                v = 0 - v;
            }
            o = z6_put_u64(o, v);
            break;
        }
        case Z6_SEG_CHOICE: {
            uint64_t e = s->a + z6_tmpl_below(&st->rng, s->b);
            o = z6_put_value(o, t->lit + t->choice[2 * e], t->choice[2 * e + 1], s->ctx, bad);
            break;
        }
        case Z6_SEG_UUID: {
            /* 128 bits from two draws, version 4 and variant 10 set (RFC 9562) */
            uint64_t hi = z6_tmpl_next(&st->rng), lo = z6_tmpl_next(&st->rng);
            unsigned char b[16];
            int i, n = 0;
            hi = (hi & 0xFFFFFFFFFFFF0FFFULL) | 0x0000000000004000ULL;
            lo = (lo & 0x3FFFFFFFFFFFFFFFULL) | 0x8000000000000000ULL;
            for (i = 0; i < 8; i++) b[i] = (unsigned char)(hi >> (56 - 8 * i));
            for (i = 0; i < 8; i++) b[8 + i] = (unsigned char)(lo >> (56 - 8 * i));
            for (i = 0; i < 16; i++) {
                if (i == 4 || i == 6 || i == 8 || i == 10) o[n++] = '-';
                o[n++] = z6_hex_digits[b[i] >> 4];
                o[n++] = z6_hex_digits[b[i] & 15];
            }
            o += n;
            break;
        }
        case Z6_SEG_HEX: {
            /* 16 digits per draw, most significant first */
            uint64_t left = s->a, v = 0;
            int have = 0;
            while (left) {
                if (!have) { v = z6_tmpl_next(&st->rng); have = 16; }
                *o++ = z6_hex_digits[v >> 60];
                v <<= 4;
                have--;
                left--;
            }
            break;
        }
        case Z6_SEG_VAR: {
            const z6_tvar_t* v = st->vars != NULL ? &st->vars[s->a] : NULL;
            if (placeholder) {
                memcpy(o, "${var.", 6);
                o = z6_put_u64(o + 6, s->a);
                *o++ = '}';
            } else if (v != NULL && v->len != Z6_VAR_UNSET) {
                o = z6_put_value(o, v->p, v->len, s->ctx, bad);
            } else if (t->var_default[2 * s->a + 1] != Z6_VAR_UNSET) {
                o = z6_put_value(o, t->lit + t->var_default[2 * s->a], t->var_default[2 * s->a + 1], s->ctx, bad);
            } else {
                *bad |= 2;
            }
            break;
        }
        default:
            *bad = 1;   /* refused by the loader; never reached */
            break;
        }
    }
    return o;
}

/* Assign VU `vu_id`'s rows for the iteration of request number `seq` (once per
 * iteration: the first templated request of it draws the random ones). */
static inline void z6_tmpl_rows(const z6_tmpl_t* t, uint32_t vu_id, uint64_t seq, z6_tvu_t* st, uint64_t* rows) {
    uint64_t k = seq / t->pass_len;
    uint32_t d;
    if (st->rows_iter != k) {
        for (d = 0; d < t->n_data; d++) rows[d] = z6_tmpl_row(t, &t->data[d], vu_id, k, &st->rng);
        st->rows_iter = k;
    }
}

/* One rendering of request `r` into st->buf (rows assigned); its length.
 * *bad: 1 a header value with CR/LF/NUL, 2 an unset variable. */
static inline uint32_t z6_tmpl__pass(const z6_tmpl_t* t, const z6_treq_t* r, uint32_t vu_id, uint64_t k,
                                     z6_tvu_t* st, const uint64_t* rows, int placeholder, int* bad) {
    char* o = st->buf;
    char* body;
    char* end;
    o = z6_render_segs(t, t->segs + r->head_first, r->head_count, vu_id, k, st, rows, o, bad, placeholder);
    /* The body goes after room for the Content-Length line, then moves up to it. */
    body = o + Z6_TMPL_CL_MAX;
    end = z6_render_segs(t, t->segs + r->body_first, r->body_count, vu_id, k, st, rows, body, bad, placeholder);
    if (r->content_length) {
        memcpy(o, "Content-Length: ", 16);
        o = z6_put_u64(o + 16, (uint64_t)(end - body));
        *o++ = '\r';
        *o++ = '\n';
    }
    *o++ = '\r';
    *o++ = '\n';
    memmove(o, body, (size_t)(end - body));
    o += end - body;
    return (uint32_t)(o - st->buf);
}

/* Request `req` as the digest sees it, into st->buf: each variable as its
 * placeholder. The value stream is left as it was (the real rendering makes
 * the same draws). Returns the length, or Z6_RENDER_BAD_HEADER. */
static inline int64_t z6_tmpl_render_placeholder(const z6_tmpl_t* t, uint32_t req, uint32_t vu_id, uint64_t seq,
                                                 z6_tvu_t* st, uint64_t* rows) {
    uint64_t rng;
    uint32_t n;
    int bad = 0;
    z6_tmpl_rows(t, vu_id, seq, st, rows);
    rng = st->rng;
    n = z6_tmpl__pass(t, &t->reqs[req], vu_id, seq / t->pass_len, st, rows, 1, &bad);
    st->rng = rng;
    return bad ? Z6_RENDER_BAD_HEADER : (int64_t)n;
}

/* Render request `req` of VU `vu_id` at its request number `seq` into st->buf
 * (at least t->reqs[req].bound bytes, z6_tmpl_reserve). rows: the VU's
 * n_data row slots. Returns the length, Z6_RENDER_BAD_HEADER when a header
 * value would carry CR, LF or NUL, or Z6_RENDER_UNSET when a variable it reads
 * has no value and no default (every draw is made either way, so the stream
 * stays in step). The digest covers the bytes of every successful rendering;
 * for a request reading variables, those of its placeholder rendering
 * (z6_tmpl_render_placeholder) whenever that succeeds, whatever the values:
 * a replay, which has no server's answers, computes the same digest. */
static inline int64_t z6_tmpl_render(const z6_tmpl_t* t, uint32_t req, uint32_t vu_id, uint64_t seq,
                                     z6_tvu_t* st, uint64_t* rows) {
    const z6_treq_t* r = &t->reqs[req];
    int64_t shown;
    uint32_t n;
    int bad = 0;
    z6_tmpl_rows(t, vu_id, seq, st, rows);
    if (r->has_var) {
        shown = z6_tmpl_render_placeholder(t, req, vu_id, seq, st, rows);
        if (shown >= 0) st->digest = z6_fnv1a(st->digest, st->buf, (size_t)shown);
    }
    n = z6_tmpl__pass(t, r, vu_id, seq / t->pass_len, st, rows, 0, &bad);
    if (bad) {
        st->len = 0;
        return (bad & 2) ? Z6_RENDER_UNSET : Z6_RENDER_BAD_HEADER;
    }
    st->len = n;
    if (!r->has_var) st->digest = z6_fnv1a(st->digest, st->buf, st->len);
    return st->len;
}

#endif
