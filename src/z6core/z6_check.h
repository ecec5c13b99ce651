/* Response checks on a captured response (docs/scenario.md "Checks"): the raw
 * bytes the driver kept (heads and body as they came off the wire, up to a
 * limit) split into the final head and the body, a chunked body decoded in
 * place, a header looked up by name, a text looked for in the body. No
 * allocation; nothing read past the captured length. */
#ifndef Z6_CHECK_H
#define Z6_CHECK_H

#include <regex.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Check kinds, numbered as z6.scenario.CHECK_KINDS. The extractions (issue 15)
 * are judged as checks: each passes when it found its value. */
enum { Z6_CHECK_STATUS = 0, Z6_CHECK_BODY_CONTAINS = 1, Z6_CHECK_BODY_NOT_CONTAINS = 2, Z6_CHECK_HEADER = 3,
       Z6_CHECK_JSON = 4, Z6_CHECK_EXTRACT_JSON = 5, Z6_CHECK_EXTRACT_HEADER = 6, Z6_CHECK_EXTRACT_REGEX = 7,
       Z6_CHECK_KINDS = 8 };

/* The most groups a regex extraction may name (\0 the whole match .. \9). */
#define Z6_REGEX_MAX_GROUP 9

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

/* The next line of header `name` (lower-case) in the head from *pos on (the
 * status line skipped when *pos is 0): 1 with its value's span without the
 * surrounding whitespace, *pos past the line; 0 when there is none. */
static inline int z6_check__next_header(const char* head, size_t n, const char* name, size_t nn, size_t* pos,
                                        size_t* at, size_t* len) {
    size_t line = *pos, eol, i, v0, v1;
    if (line == 0) {
        while (line < n && head[line] != '\n') line++;
        line++;
    }
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
                *at = v0;
                *len = v1 - v0;
                *pos = eol + 1;
                return 1;
            }
        }
        line = eol + 1;
    }
    *pos = n;
    return 0;
}

/* Does the head hold a header `name` (lower-case) whose value, without its
 * surrounding whitespace, is exactly `value`? Any of several such lines counts. */
static inline int z6_check_header(const char* head, size_t n, const char* name, size_t nn, const char* value,
                                  size_t vn) {
    size_t pos = 0, at, len;
    while (z6_check__next_header(head, n, name, nn, &pos, &at, &len))
        if (len == vn && memcmp(head + at, value, vn) == 0) return 1;
    return 0;
}

/* The value of the first header `name` (lower-case) in the head, without its
 * surrounding whitespace: 1 and its span, or 0 when the head has no such line. */
static inline int z6_check_header_value(const char* head, size_t n, const char* name, size_t nn, size_t* at,
                                        size_t* len) {
    size_t pos = 0;
    return z6_check__next_header(head, n, name, nn, &pos, at, len);
}

/* Compiled POSIX extended regexes, one slot per check (only the regex
 * extractions' slots compiled): regex_t is opaque to Cython, so the array lives here. */
static inline void* z6_regex_alloc(size_t n) { return calloc(n ? n : 1, sizeof(regex_t)); }

/* Compile `pattern` (NUL-terminated) into slot k; 0 ok, else the error's text in err. */
static inline int z6_regex_compile(void* res, size_t k, const char* pattern, char* err, size_t err_len,
                                   size_t* groups) {
    regex_t* re = (regex_t*)res + k;
    int rc = regcomp(re, pattern, REG_EXTENDED);
    if (rc != 0) {
        regerror(rc, re, err, err_len);
        return rc;
    }
    *groups = re->re_nsub;
    return 0;
}

static inline void z6_regex_free_slot(void* res, size_t k) { regfree((regex_t*)res + k); }

/* Match slot k's regex against s[0..n) (s[n] must be writable: the text is
 * NUL-terminated for the call, which a C library without REG_STARTEND needs and
 * which keeps any library's string scan, and AddressSanitizer's, within the
 * buffer); 1 and the span of `group` when it matched and the group took part. */
static inline int z6_check_regex(const void* res, size_t k, char* s, size_t n, unsigned group, size_t* at,
                                 size_t* len) {
    const regex_t* re = (const regex_t*)res + k;
    regmatch_t m[Z6_REGEX_MAX_GROUP + 1];
    char saved;
    int rc;
    if (group > Z6_REGEX_MAX_GROUP) return 0;
    saved = s[n];
    s[n] = '\0';
#ifdef REG_STARTEND
    m[0].rm_so = 0;
    m[0].rm_eo = (regoff_t)n;
    rc = regexec(re, s, group + 1, m, REG_STARTEND);   /* the whole body, NUL bytes included */
#else
    rc = regexec(re, s, group + 1, m, 0);              /* the body up to its first NUL */
#endif
    s[n] = saved;
    if (rc != 0 || m[group].rm_so < 0) return 0;
    *at = (size_t)m[group].rm_so;
    *len = (size_t)(m[group].rm_eo - m[group].rm_so);
    return 1;
}

static inline int z6_check_contains(const char* body, size_t n, const char* text, size_t m) {
    return z6_check__find(body, n, text, m) != NULL;
}

#endif
