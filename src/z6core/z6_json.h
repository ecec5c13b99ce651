/* A JSON path lookup without a document tree: one pass over the captured body,
 * skipping every value the path does not lead into, never reading past the
 * buffer, never allocating (docs/scenario.md "Checks", "JSON paths").
 *
 * Compiled path: segments, each a 4-byte little-endian length then that many
 * UTF-8 key bytes (z6.scenario._json_path). A segment matches an object member
 * whose decoded key equals it byte for byte (the first such member: the scan
 * does not look further), or, in an array, the element at its index when it is
 * a canonical non-negative decimal (0, 1, 17; not 01 or -1).
 *
 * `complete`: the buffer is the whole body (0: only its first part, cut at the
 * capture limit, so a number running to the very end is not known to be whole).
 * Results: FOUND (out = the value's span: a string's inside the quotes, still
 * escaped; a container's from bracket to bracket), MISSING (the path leads
 * nowhere in a well-formed part), MALFORMED (not JSON, too deep, or cut before
 * the answer was known). Nesting beyond Z6_JSON_MAX_DEPTH is malformed.
 */
#ifndef Z6_JSON_H
#define Z6_JSON_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define Z6_JSON_MAX_DEPTH 512

enum { Z6_JSON_FOUND = 0, Z6_JSON_MISSING = 1, Z6_JSON_MALFORMED = 2 };
enum { Z6_JSON_STRING = 1, Z6_JSON_NUMBER = 2, Z6_JSON_TRUE = 3, Z6_JSON_FALSE = 4, Z6_JSON_NULL = 5,
       Z6_JSON_OBJECT = 6, Z6_JSON_ARRAY = 7 };

typedef struct { int type; size_t start; size_t len; } z6_json_value_t;

typedef struct {
    const unsigned char* p;
    const unsigned char* end;
    int complete;
} z6_json_cur_t;

static inline void z6_json__ws(z6_json_cur_t* c) {
    while (c->p < c->end && (*c->p == ' ' || *c->p == '\t' || *c->p == '\n' || *c->p == '\r')) c->p++;
}

static inline int z6_json__hex(unsigned char ch) {
    if (ch >= '0' && ch <= '9') return ch - '0';
    if (ch >= 'a' && ch <= 'f') return ch - 'a' + 10;
    if (ch >= 'A' && ch <= 'F') return ch - 'A' + 10;
    return -1;
}

/* Decode one character of a string body at *pp (before `end`) into out[0..4);
 * returns the byte count (1..4), 0 at the closing quote, -1 when malformed or cut. */
static inline int z6_json__char(const unsigned char** pp, const unsigned char* end, unsigned char* out) {
    const unsigned char* p = *pp;
    uint32_t cp;
    int i, h;
    if (p >= end) return -1;
    if (*p == '"') return 0;
    if (*p < 0x20) return -1;
    if (*p != '\\') { out[0] = *p; *pp = p + 1; return 1; }
    if (p + 1 >= end) return -1;
    switch (p[1]) {
    case '"': out[0] = '"'; break;
    case '\\': out[0] = '\\'; break;
    case '/': out[0] = '/'; break;
    case 'b': out[0] = '\b'; break;
    case 'f': out[0] = '\f'; break;
    case 'n': out[0] = '\n'; break;
    case 'r': out[0] = '\r'; break;
    case 't': out[0] = '\t'; break;
    case 'u':
        if (p + 6 > end) return -1;
        cp = 0;
        for (i = 2; i < 6; i++) { h = z6_json__hex(p[i]); if (h < 0) return -1; cp = (cp << 4) | (uint32_t)h; }
        p += 6;
        if (cp >= 0xD800 && cp <= 0xDBFF) {
            /* A high surrogate: with a low one after it, one code point; alone,
             * U+FFFD (as a decoder that must produce UTF-8 does). */
            uint32_t lo = 0;
            if (p + 6 <= end && p[0] == '\\' && p[1] == 'u') {
                for (i = 2; i < 6; i++) { h = z6_json__hex(p[i]); if (h < 0) { lo = 0; break; } lo = (lo << 4) | (uint32_t)h; }
                if (lo >= 0xDC00 && lo <= 0xDFFF) { cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00); p += 6; }
                else cp = 0xFFFD;
            } else if (p + 6 > end && p < end && p[0] == '\\') {
                return -1;   /* cut inside what may be the low half */
            } else cp = 0xFFFD;
        } else if (cp >= 0xDC00 && cp <= 0xDFFF) cp = 0xFFFD;
        *pp = p;
        if (cp < 0x80) { out[0] = (unsigned char)cp; return 1; }
        if (cp < 0x800) { out[0] = (unsigned char)(0xC0 | (cp >> 6)); out[1] = (unsigned char)(0x80 | (cp & 0x3F)); return 2; }
        if (cp < 0x10000) {
            out[0] = (unsigned char)(0xE0 | (cp >> 12)); out[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
            out[2] = (unsigned char)(0x80 | (cp & 0x3F)); return 3;
        }
        out[0] = (unsigned char)(0xF0 | (cp >> 18)); out[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3F));
        out[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F)); out[3] = (unsigned char)(0x80 | (cp & 0x3F));
        return 4;
    default: return -1;
    }
    *pp = p + 2;
    return 1;
}

/* Skip a string whose opening quote is at c->p; 0 ok (c->p after the closing quote). */
static inline int z6_json__skip_string(z6_json_cur_t* c) {
    const unsigned char* p = c->p + 1;
    unsigned char tmp[4];
    int n;
    for (;;) {
        /* Plain bytes in bulk; escapes one at a time. */
        while (p < c->end && *p != '"' && *p != '\\' && *p >= 0x20) p++;
        n = z6_json__char(&p, c->end, tmp);
        if (n < 0) return -1;
        if (n == 0) { c->p = p + 1; return 0; }
    }
}

/* What may follow a number or a literal: the end, whitespace or a structural character. */
static inline int z6_json__delimited(const unsigned char* p, const unsigned char* e) {
    return p == e || *p == ' ' || *p == '\t' || *p == '\n' || *p == '\r' || *p == ',' || *p == ']' || *p == '}';
}

/* Skip a number at c->p (RFC 8259 grammar); 0 ok. `nested`: inside a container. */
static inline int z6_json__skip_number(z6_json_cur_t* c, int nested) {
    const unsigned char* p = c->p;
    const unsigned char* e = c->end;
    if (p < e && *p == '-') p++;
    if (p >= e) return -1;
    if (*p == '0') p++;
    else if (*p >= '1' && *p <= '9') { while (p < e && *p >= '0' && *p <= '9') p++; }
    else return -1;
    if (p < e && *p == '.') {
        p++;
        if (p >= e || *p < '0' || *p > '9') return -1;
        while (p < e && *p >= '0' && *p <= '9') p++;
    }
    if (p < e && (*p == 'e' || *p == 'E')) {
        p++;
        if (p < e && (*p == '+' || *p == '-')) p++;
        if (p >= e || *p < '0' || *p > '9') return -1;
        while (p < e && *p >= '0' && *p <= '9') p++;
    }
    /* Running to the end of the buffer: more digits may have followed in a cut
       one, and inside a container the document is cut whatever the caller says
       (its closing bracket is missing), so the number is not known to be whole. */
    if (p == e && (!c->complete || nested)) return -1;
    if (!z6_json__delimited(p, e)) return -1;     /* "01", "1x": not a number */
    c->p = p;
    return 0;
}

static inline int z6_json__skip_literal(z6_json_cur_t* c, const char* word, size_t n) {
    if ((size_t)(c->end - c->p) < n || memcmp(c->p, word, n) != 0) return -1;
    if (!z6_json__delimited(c->p + n, c->end)) return -1;     /* "truex" */
    c->p += n;
    return 0;
}

/* Skip one value at c->p (after whitespace), enclosed by `depth` containers; sets
 * *type; 0 ok, -1 malformed or cut. */
static inline int z6_json__skip_value(z6_json_cur_t* c, int depth, int* type) {
    int t;
    z6_json__ws(c);
    if (c->p >= c->end) return -1;
    switch (*c->p) {
    case '"': *type = Z6_JSON_STRING; return z6_json__skip_string(c);
    case 't': *type = Z6_JSON_TRUE; return z6_json__skip_literal(c, "true", 4);
    case 'f': *type = Z6_JSON_FALSE; return z6_json__skip_literal(c, "false", 5);
    case 'n': *type = Z6_JSON_NULL; return z6_json__skip_literal(c, "null", 4);
    case '{':
        *type = Z6_JSON_OBJECT;
        if (depth >= Z6_JSON_MAX_DEPTH) return -1;
        c->p++;
        z6_json__ws(c);
        if (c->p < c->end && *c->p == '}') { c->p++; return 0; }
        for (;;) {
            z6_json__ws(c);
            if (c->p >= c->end || *c->p != '"' || z6_json__skip_string(c) < 0) return -1;
            z6_json__ws(c);
            if (c->p >= c->end || *c->p != ':') return -1;
            c->p++;
            if (z6_json__skip_value(c, depth + 1, &t) < 0) return -1;
            z6_json__ws(c);
            if (c->p >= c->end) return -1;
            if (*c->p == '}') { c->p++; return 0; }
            if (*c->p != ',') return -1;
            c->p++;
        }
    case '[':
        *type = Z6_JSON_ARRAY;
        if (depth >= Z6_JSON_MAX_DEPTH) return -1;
        c->p++;
        z6_json__ws(c);
        if (c->p < c->end && *c->p == ']') { c->p++; return 0; }
        for (;;) {
            if (z6_json__skip_value(c, depth + 1, &t) < 0) return -1;
            z6_json__ws(c);
            if (c->p >= c->end) return -1;
            if (*c->p == ']') { c->p++; return 0; }
            if (*c->p != ',') return -1;
            c->p++;
        }
    default:
        if (*c->p == '-' || (*c->p >= '0' && *c->p <= '9')) {
            *type = Z6_JSON_NUMBER;
            return z6_json__skip_number(c, depth > 0);
        }
        return -1;
    }
}

/* Compare the key string at c->p (opening quote) with seg[0..n), moving past it;
 * 1 equal, 0 not, -1 malformed or cut. */
static inline int z6_json__key_equals(z6_json_cur_t* c, const unsigned char* seg, size_t n) {
    const unsigned char* p = c->p + 1;
    unsigned char tmp[4];
    size_t at = 0;
    int k, equal = 1;
    for (;;) {
        k = z6_json__char(&p, c->end, tmp);
        if (k < 0) return -1;
        if (k == 0) break;
        if (equal && (at + (size_t)k > n || memcmp(seg + at, tmp, (size_t)k) != 0)) equal = 0;
        at += (size_t)k;
    }
    c->p = p + 1;
    return equal && at == n;
}

/* A canonical non-negative decimal index, or -1. */
static inline int64_t z6_json__index(const unsigned char* seg, size_t n) {
    int64_t v = 0;
    size_t i;
    if (n == 0 || n > 18 || (n > 1 && seg[0] == '0')) return -1;
    for (i = 0; i < n; i++) {
        if (seg[i] < '0' || seg[i] > '9') return -1;
        v = v * 10 + (seg[i] - '0');
    }
    return v;
}

static inline int z6_json_find(const char* doc, size_t n, int complete, const unsigned char* path, size_t path_len,
                               z6_json_value_t* out) {
    z6_json_cur_t c;
    size_t at = 0;
    uint32_t len;
    int depth = 0, type, eq;
    int64_t index, i;
    const unsigned char* start;
    c.p = (const unsigned char*)doc;
    c.end = c.p + n;
    c.complete = complete;
    while (at < path_len) {
        if (path_len - at < 4) return Z6_JSON_MALFORMED;
        len = (uint32_t)path[at] | ((uint32_t)path[at + 1] << 8) | ((uint32_t)path[at + 2] << 16)
              | ((uint32_t)path[at + 3] << 24);
        at += 4;
        if (len > path_len - at) return Z6_JSON_MALFORMED;
        z6_json__ws(&c);
        if (c.p >= c.end) return Z6_JSON_MALFORMED;
        if (++depth > Z6_JSON_MAX_DEPTH) return Z6_JSON_MALFORMED;
        if (*c.p == '{') {
            c.p++;
            z6_json__ws(&c);
            if (c.p < c.end && *c.p == '}') return Z6_JSON_MISSING;
            for (;;) {
                z6_json__ws(&c);
                if (c.p >= c.end || *c.p != '"') return Z6_JSON_MALFORMED;
                eq = z6_json__key_equals(&c, path + at, len);
                if (eq < 0) return Z6_JSON_MALFORMED;
                z6_json__ws(&c);
                if (c.p >= c.end || *c.p != ':') return Z6_JSON_MALFORMED;
                c.p++;
                if (eq) break;                       /* on to the next segment, inside this value */
                if (z6_json__skip_value(&c, depth, &type) < 0) return Z6_JSON_MALFORMED;
                z6_json__ws(&c);
                if (c.p >= c.end) return Z6_JSON_MALFORMED;
                if (*c.p == '}') return Z6_JSON_MISSING;
                if (*c.p != ',') return Z6_JSON_MALFORMED;
                c.p++;
            }
        } else if (*c.p == '[') {
            index = z6_json__index(path + at, len);
            c.p++;
            z6_json__ws(&c);
            if (c.p < c.end && *c.p == ']') return Z6_JSON_MISSING;
            for (i = 0;; i++) {
                if (i == index) break;
                if (z6_json__skip_value(&c, depth, &type) < 0) return Z6_JSON_MALFORMED;
                z6_json__ws(&c);
                if (c.p >= c.end) return Z6_JSON_MALFORMED;
                if (*c.p == ']') return Z6_JSON_MISSING;
                if (*c.p != ',') return Z6_JSON_MALFORMED;
                c.p++;
            }
        } else {
            /* A scalar has no members; it must still be one (enclosed by the
               containers entered so far: this segment's is not one). */
            if (z6_json__skip_value(&c, depth - 1, &type) < 0) return Z6_JSON_MALFORMED;
            return Z6_JSON_MISSING;
        }
        at += len;
    }
    z6_json__ws(&c);
    start = c.p;
    if (z6_json__skip_value(&c, depth, &type) < 0) return Z6_JSON_MALFORMED;
    out->type = type;
    if (type == Z6_JSON_STRING) {
        out->start = (size_t)(start + 1 - (const unsigned char*)doc);
        out->len = (size_t)(c.p - start) - 2;
    } else {
        out->start = (size_t)(start - (const unsigned char*)doc);
        out->len = (size_t)(c.p - start);
    }
    return Z6_JSON_FOUND;
}

/* Is the number text s[0..n) exactly the integer v? */
static inline int z6_json__number_is(const char* s, size_t n, int64_t v, double dv, int as_int) {
    char buf[512];
    size_t i;
    int plain = 1, neg = 0;
    uint64_t mag = 0, lim;
    double d;
    for (i = 0; i < n; i++) if (s[i] == '.' || s[i] == 'e' || s[i] == 'E') plain = 0;
    if (as_int && plain) {
        /* Exactly, whatever its size: digits against the value, with overflow seen. */
        i = 0;
        if (s[0] == '-') { neg = 1; i = 1; }
        lim = neg ? (uint64_t)1 << 63 : ((uint64_t)1 << 63) - 1;
        for (; i < n; i++) {
            if (mag > (lim - (uint64_t)(s[i] - '0')) / 10) return 0;
            mag = mag * 10 + (uint64_t)(s[i] - '0');
        }
        if (neg) return (mag == 0 && v == 0) || (v < 0 && (uint64_t)0 - (uint64_t)v == mag);
        return v >= 0 && (uint64_t)v == mag;
    }
    if (n >= sizeof buf) return 0;
    memcpy(buf, s, n);
    buf[n] = 0;
    d = strtod(buf, NULL);
    return as_int ? d == (double)v && (double)v == dv : d == dv;
}

static inline int z6_json_equals(const char* doc, const z6_json_value_t* v, const unsigned char* expected,
                                 size_t expected_len) {
    const unsigned char* p;
    const unsigned char* end;
    const unsigned char* want;
    unsigned char tmp[4];
    size_t at = 0, wn;
    int k;
    int64_t iv;
    double dv;
    if (expected_len < 1) return 0;
    switch (expected[0]) {
    case 'b':
        return expected_len == 2 && v->type == (expected[1] ? Z6_JSON_TRUE : Z6_JSON_FALSE);
    case 'z':
        return v->type == Z6_JSON_NULL;
    case 'i':
        if (expected_len != 9 || v->type != Z6_JSON_NUMBER) return 0;
        memcpy(&iv, expected + 1, 8);   /* little-endian on every platform we build for */
        return z6_json__number_is(doc + v->start, v->len, iv, (double)iv, 1);
    case 'f':
        if (expected_len != 9 || v->type != Z6_JSON_NUMBER) return 0;
        memcpy(&dv, expected + 1, 8);
        return z6_json__number_is(doc + v->start, v->len, 0, dv, 0);
    case 's':
        if (v->type != Z6_JSON_STRING) return 0;
        want = expected + 1;
        wn = expected_len - 1;
        p = (const unsigned char*)doc + v->start;
        end = p + v->len + 1;          /* the closing quote ends the decoding */
        for (;;) {
            k = z6_json__char(&p, end, tmp);
            if (k < 0) return 0;
            if (k == 0) return at == wn;
            if (at + (size_t)k > wn || memcmp(want + at, tmp, (size_t)k) != 0) return 0;
            at += (size_t)k;
        }
    default:
        return 0;
    }
}

/* A found value as a variable holds it: a STRING's text with its escapes decoded
 * to UTF-8, any other value's JSON text. Written to out (NULL: only measured),
 * at most `max` bytes (a decoded string is never longer than its escaped form,
 * so min(v->len, max) bytes of out suffice). Returns the length, -1 when it is
 * longer than max, -2 when the string is malformed. */
static inline int64_t z6_json_value_text(const char* doc, const z6_json_value_t* v, char* out, size_t max) {
    const unsigned char* p = (const unsigned char*)doc + v->start;
    const unsigned char* end = p + v->len;
    unsigned char ch[4];
    size_t n = 0;
    int r;
    if (v->type != Z6_JSON_STRING) {
        if (v->len > max) return -1;
        if (out != NULL) memcpy(out, doc + v->start, v->len);
        return (int64_t)v->len;
    }
    while (p < end) {
        r = z6_json__char(&p, end, ch);
        if (r <= 0) return -2;
        if (n + (size_t)r > max) return -1;
        if (out != NULL) memcpy(out + n, ch, (size_t)r);
        n += (size_t)r;
    }
    return (int64_t)n;
}

#endif
