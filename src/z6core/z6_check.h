/* Response checks on a captured response (docs/scenario.md "Checks"): the raw
 * bytes the driver kept (heads and body as they came off the wire, up to a
 * limit) split into the final head and the body, a chunked body decoded in
 * place, a header looked up by name, a text looked for in the body. No
 * allocation; nothing read past the captured length. */
#ifndef Z6_CHECK_H
#define Z6_CHECK_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* Check kinds, numbered as z6.scenario.CHECK_KINDS. */
enum { Z6_CHECK_STATUS = 0, Z6_CHECK_BODY_CONTAINS = 1, Z6_CHECK_BODY_NOT_CONTAINS = 2, Z6_CHECK_HEADER = 3,
       Z6_CHECK_JSON = 4 };

static inline const char* z6_check__find(const char* hay, size_t n, const char* needle, size_t m) {
    size_t i;
    if (m == 0) return hay;
    if (m > n) return NULL;
    for (i = 0; i + m <= n; i++) {
        const char* hit = (const char*)memchr(hay + i, needle[0], n - m - i + 1);
        if (hit == NULL) return NULL;
        i = (size_t)(hit - hay);
        if (memcmp(hit, needle, m) == 0) return hit;
    }
    return NULL;
}

/* The final head (interim 1xx heads skipped) and what follows it, moved to the
 * start of buf: *n becomes the bytes kept from there on; 0 when no complete head
 * was captured (buf and *n untouched). */
static inline int z6_check_split(char* buf, size_t* n_io, size_t* head_len, size_t* body_at) {
    size_t n = *n_io;
    size_t at = 0;
    char* end;
    for (;;) {
        end = (char*)z6_check__find(buf + at, n - at, "\r\n\r\n", 4);
        if (end == NULL) return 0;
        if (n - at >= 10 && buf[at + 9] == '1') {   /* "HTTP/1.x 1xx": an interim head */
            at = (size_t)(end - buf) + 4;
            continue;
        }
        *head_len = (size_t)(end - buf) + 4 - at;
        *body_at = *head_len;
        memmove(buf, buf + at, n - at);     /* the final head at the start */
        *n_io = n - at;
        return 1;
    }
}

static inline int z6_check__hex(char ch) {
    if (ch >= '0' && ch <= '9') return ch - '0';
    if (ch >= 'a' && ch <= 'f') return ch - 'a' + 10;
    if (ch >= 'A' && ch <= 'F') return ch - 'A' + 10;
    return -1;
}

/* Decode a chunked body in place; returns the decoded length (what was captured
 * of it, when the capture was cut). */
static inline size_t z6_check_dechunk(char* body, size_t n) {
    size_t in = 0, out = 0, size, take;
    int h;
    for (;;) {
        size = 0;
        while (in < n && (h = z6_check__hex(body[in])) >= 0) { size = size * 16 + (size_t)h; in++; }
        while (in < n && body[in] != '\n') in++;      /* extensions, CR */
        if (in >= n) return out;
        in++;
        if (size == 0) return out;
        take = size < n - in ? size : n - in;
        memmove(body + out, body + in, take);
        out += take;
        in += take;
        if (take < size) return out;
        while (in < n && body[in] != '\n') in++;      /* the CRLF after the data */
        if (in >= n) return out;
        in++;
    }
}

static inline int z6_check__lower(int c) { return c >= 'A' && c <= 'Z' ? c + 32 : c; }

/* Does the head hold a header `name` (lower-case) whose value, without its
 * surrounding whitespace, is exactly `value`? Any of several such lines counts. */
static inline int z6_check_header(const char* head, size_t n, const char* name, size_t nn, const char* value,
                                  size_t vn) {
    size_t line = 0, eol, i, v0, v1;
    /* Skip the status line. */
    while (line < n && head[line] != '\n') line++;
    line++;
    while (line < n) {
        eol = line;
        while (eol < n && head[eol] != '\n') eol++;
        if (eol - line > nn && head[line + nn] == ':') {
            for (i = 0; i < nn && z6_check__lower((unsigned char)head[line + i]) == (unsigned char)name[i]; i++) {}
            if (i == nn) {
                v0 = line + nn + 1;
                v1 = eol;
                if (v1 > v0 && head[v1 - 1] == '\r') v1--;
                while (v0 < v1 && (head[v0] == ' ' || head[v0] == '\t')) v0++;
                while (v1 > v0 && (head[v1 - 1] == ' ' || head[v1 - 1] == '\t')) v1--;
                if (v1 - v0 == vn && memcmp(head + v0, value, vn) == 0) return 1;
            }
        }
        line = eol + 1;
    }
    return 0;
}

static inline int z6_check_contains(const char* body, size_t n, const char* text, size_t m) {
    return z6_check__find(body, n, text, m) != NULL;
}

#endif
