/* Following redirects in the live driver (docs/scenario.md "Redirects"): where
 * a Location header points, against the run's single origin, and the request
 * that goes there. Plain C over byte spans, no allocation: the driver gives the
 * buffers. */
#ifndef Z6_REDIRECT_H
#define Z6_REDIRECT_H

#include <stddef.h>
#include <string.h>

enum {
    Z6_REDIR_SAME = 0,      /* same origin: the request target is in out */
    Z6_REDIR_OFFSITE = 1,   /* another scheme, host or port (or user info): not followed */
    Z6_REDIR_BAD = 2        /* not a usable URL (control bytes, no host, bad port, too long) */
};

static inline int z6_redir__lower(int c) { return c >= 'A' && c <= 'Z' ? c + 32 : c; }

static inline int z6_redir__ieq(const char* a, size_t an, const char* b, size_t bn) {
    size_t i;
    if (an != bn) return 0;
    for (i = 0; i < an; i++)
        if (z6_redir__lower((unsigned char)a[i]) != z6_redir__lower((unsigned char)b[i])) return 0;
    return 1;
}

static inline int z6_redir__is_alpha(int c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }

/* The length of loc's scheme (the part before ":" of an absolute URL), or 0
 * when loc is a relative reference (RFC 3986 section 3.1 and 4.2). */
static inline size_t z6_redir__scheme(const char* loc, size_t n) {
    size_t i;
    if (n == 0 || !z6_redir__is_alpha((unsigned char)loc[0])) return 0;
    for (i = 1; i < n; i++) {
        int c = (unsigned char)loc[i];
        if (c == ':') return i;
        if (!(z6_redir__is_alpha(c) || (c >= '0' && c <= '9') || c == '+' || c == '-' || c == '.')) return 0;
    }
    return 0;
}

static inline int z6_redir__put(char* out, size_t cap, size_t* o, const char* s, size_t n) {
    if (n > cap - *o) return 0;
    memcpy(out + *o, s, n);
    *o += n;
    return 1;
}

/* Resolve a Location value (loc, n bytes, surrounding whitespace already off)
 * against the request it answers: its origin (tls, host in lower case without
 * brackets, port) and its request target cur (path and query). On
 * Z6_REDIR_SAME, out[0..*out_len) is the request target to ask for next (the
 * fragment dropped); a relative reference is taken against cur's directory,
 * a query-only one against cur's path (dot segments are left to the server). */
static inline int z6_redirect_resolve(const char* loc, size_t n, int tls, const char* host, size_t hn, unsigned port,
                                      const char* cur, size_t cn, char* out, size_t cap, size_t* out_len) {
    size_t i, s, a0, a1, h0, h1, p, o = 0, dir;
    unsigned long their_port;
    int their_tls;
    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char)loc[i];
        if (c == '#') break;
        if (c <= 0x20 || c == 0x7f) return Z6_REDIR_BAD;   /* nothing a request line can carry */
    }
    n = i;
    if (n == 0) return Z6_REDIR_BAD;
    s = z6_redir__scheme(loc, n);
    if (s || (n >= 2 && loc[0] == '/' && loc[1] == '/')) {
        if (s) {
            if (z6_redir__ieq(loc, s, "http", 4)) their_tls = 0;
            else if (z6_redir__ieq(loc, s, "https", 5)) their_tls = 1;
            else return Z6_REDIR_OFFSITE;
            if (n - s - 1 < 2 || loc[s + 1] != '/' || loc[s + 2] != '/') return Z6_REDIR_BAD;
            a0 = s + 3;
        } else {
            their_tls = tls;    /* scheme-relative: the scheme of the request it answers */
            a0 = 2;
        }
        for (a1 = a0; a1 < n && loc[a1] != '/' && loc[a1] != '?'; a1++) {}
        for (i = a0; i < a1; i++)
            if (loc[i] == '@') return Z6_REDIR_OFFSITE;     /* user info: not the run's origin as it knows it */
        if (a1 > a0 && loc[a0] == '[') {
            for (h1 = a0 + 1; h1 < a1 && loc[h1] != ']'; h1++) {}
            if (h1 == a1) return Z6_REDIR_BAD;
            h0 = a0 + 1;
            p = h1 + 1;
            if (p < a1 && loc[p] != ':') return Z6_REDIR_BAD;
        } else {
            h0 = a0;
            for (h1 = a0; h1 < a1 && loc[h1] != ':'; h1++) {}
            p = h1;
        }
        if (h1 == h0) return Z6_REDIR_BAD;
        their_port = their_tls ? 443 : 80;
        if (p < a1) {                       /* ":port", possibly empty (the default) */
            if (a1 - p - 1 > 5) return Z6_REDIR_BAD;
            if (a1 - p - 1 > 0) their_port = 0;
            for (i = p + 1; i < a1; i++) {
                if (loc[i] < '0' || loc[i] > '9') return Z6_REDIR_BAD;
                their_port = their_port * 10 + (unsigned long)(loc[i] - '0');
            }
            if (their_port == 0 || their_port > 65535) return Z6_REDIR_BAD;
        }
        /* A host name ending in a dot names the same host; DNS is case-blind. */
        if (h1 - h0 > 1 && loc[h1 - 1] == '.' && !(hn > 0 && host[hn - 1] == '.')) h1--;
        if (their_tls != tls || their_port != port || !z6_redir__ieq(loc + h0, h1 - h0, host, hn))
            return Z6_REDIR_OFFSITE;
        if (a1 == n || loc[a1] == '?') {
            if (!z6_redir__put(out, cap, &o, "/", 1)) return Z6_REDIR_BAD;
        }
        if (!z6_redir__put(out, cap, &o, loc + a1, n - a1)) return Z6_REDIR_BAD;
    } else if (loc[0] == '/') {
        if (!z6_redir__put(out, cap, &o, loc, n)) return Z6_REDIR_BAD;
    } else {
        /* relative: against the current target's path (up to its query) */
        for (p = 0; p < cn && cur[p] != '?'; p++) {}
        if (loc[0] == '?') {
            dir = p;
        } else {
            for (dir = p; dir > 0 && cur[dir - 1] != '/'; dir--) {}
        }
        if (cn == 0 || cur[0] != '/') {     /* no path to go by: from the root */
            if (!z6_redir__put(out, cap, &o, "/", 1)) return Z6_REDIR_BAD;
            dir = 0;
        }
        if (!z6_redir__put(out, cap, &o, cur, dir) || !z6_redir__put(out, cap, &o, loc, n)) return Z6_REDIR_BAD;
    }
    *out_len = o;
    return Z6_REDIR_SAME;
}

/* Does the redirect with this status turn the request (method m, mn bytes)
 * into a GET, as browsers and k6 do: a 303 for anything but GET or HEAD, a 301
 * or 302 after a POST. 307 and 308 keep the method and body. */
static inline int z6_redirect_to_get(unsigned status, const char* m, size_t mn) {
    if (status == 303) return !(mn == 3 && memcmp(m, "GET", 3) == 0) && !(mn == 4 && memcmp(m, "HEAD", 4) == 0);
    if (status == 301 || status == 302) return mn == 4 && memcmp(m, "POST", 4) == 0;
    return 0;
}

static inline int z6_redirect_is_status(unsigned status) {
    return status == 301 || status == 302 || status == 303 || status == 307 || status == 308;
}

/* The length of the method of a serialised request (its bytes up to the first
 * space), 0 when it has no request line. */
static inline size_t z6_redirect_method_len(const char* req, size_t n) {
    size_t i;
    for (i = 0; i < n && req[i] != ' '; i++) {}
    return i < n ? i : 0;
}

/* Is this header line (from its start, len bytes without CRLF) one of a body's:
 * Content-Length, Content-Type, Transfer-Encoding? A request turned into a GET
 * drops them with its body. */
static inline int z6_redir__body_header(const char* line, size_t len) {
    static const char* const names[3] = {"content-length", "content-type", "transfer-encoding"};
    static const size_t sizes[3] = {14, 12, 17};
    size_t k;
    for (k = 0; k < 3; k++)
        if (len > sizes[k] && line[sizes[k]] == ':' && z6_redir__ieq(line, sizes[k], names[k], sizes[k])) return 1;
    return 0;
}

/* The serialised request req (n bytes: head and body) asked again for the
 * request target path: its method, or GET when to_get (then without its body
 * and body headers); every other header line as it was. out holds at least
 * n + pn + 8 bytes. Returns the bytes written, 0 when req is not a whole
 * request head. */
static inline size_t z6_redirect_request(const char* req, size_t n, const char* path, size_t pn, int to_get,
                                         char* out) {
    size_t m = z6_redirect_method_len(req, n), v, eol, pos, head_end = 0, o = 0, i;
    if (m == 0) return 0;
    for (v = m + 1; v < n && req[v] != ' '; v++) {}         /* the space before the version */
    for (eol = v; eol + 1 < n && !(req[eol] == '\r' && req[eol + 1] == '\n'); eol++) {}
    if (v >= n || eol + 1 >= n) return 0;
    for (i = eol; i + 3 < n; i++)
        if (req[i] == '\r' && req[i + 1] == '\n' && req[i + 2] == '\r' && req[i + 3] == '\n') {
            head_end = i + 2;   /* the blank line's CRLF */
            break;
        }
    if (head_end == 0) return 0;
    if (to_get) {
        memcpy(out, "GET", 3);
        o = 3;
    } else {
        memcpy(out, req, m);
        o = m;
    }
    out[o++] = ' ';
    memcpy(out + o, path, pn);
    o += pn;
    memcpy(out + o, req + v, eol + 2 - v);      /* " HTTP/1.1\r\n" */
    o += eol + 2 - v;
    for (pos = eol + 2; pos < head_end;) {
        size_t end = pos;
        while (end + 1 < head_end + 2 && !(req[end] == '\r' && req[end + 1] == '\n')) end++;
        if (!(to_get && z6_redir__body_header(req + pos, end - pos))) {
            memcpy(out + o, req + pos, end + 2 - pos);
            o += end + 2 - pos;
        }
        pos = end + 2;
    }
    out[o++] = '\r';
    out[o++] = '\n';
    if (!to_get) {
        memcpy(out + o, req + head_end + 2, n - head_end - 2);
        o += n - head_end - 2;
    }
    return o;
}

#endif
