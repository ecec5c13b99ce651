/* A per-VU cookie jar for the live driver (RFC 6265, one target host):
 * Set-Cookie lines of a response's final head stored, a Cookie header built for
 * each request whose path they match (docs/scenario.md "Cookies").
 *
 * Bounds, per VU: at most Z6_JAR_MAX_COOKIES cookies (the oldest is evicted for
 * a new one), each at most Z6_COOKIE_MAX_BYTES of name and value (a longer one
 * is ignored) and Z6_COOKIE_MAX_PATH of path. Expiry is kept on the monotonic
 * clock: Max-Age from the response's arrival, Expires as its distance from the
 * wall clock at arrival. The Domain attribute may only name the target host (a
 * cookie for any other domain is ignored); every cookie is host-only, since
 * there is one host. Secure cookies go over TLS only; HttpOnly and SameSite
 * change nothing for a client that runs no scripts and makes no cross-site
 * requests. One allocation per cookie; nothing is read past a given length. */
#ifndef Z6_COOKIE_H
#define Z6_COOKIE_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "z6_check.h"   /* z6_check__lower, z6_check__next_header: header lines as the checks read them */

#define Z6_JAR_MAX_COOKIES 50
#define Z6_COOKIE_MAX_BYTES 4096
#define Z6_COOKIE_MAX_PATH 1024
#define Z6_COOKIE_SESSION UINT64_MAX

typedef struct {
    char* mem;            /* "name=value" then the path, one allocation */
    uint32_t name_len;
    uint32_t nv_len;      /* name, '=', value */
    uint32_t path_len;
    uint8_t secure;
    uint64_t expires_ns;  /* monotonic deadline; Z6_COOKIE_SESSION: until the VU ends */
    uint64_t created;     /* the jar's counter when first stored (kept on replacement) */
} z6_cookie_t;

typedef struct {
    z6_cookie_t* c;
    uint32_t n, cap;
    uint64_t counter;
} z6_jar_t;

static inline void z6_jar__drop(z6_jar_t* jar, uint32_t i) {
    free(jar->c[i].mem);
    jar->c[i] = jar->c[jar->n - 1];
    jar->n--;
}

static inline void z6_jar_clear(z6_jar_t* jar) {
    uint32_t i;
    for (i = 0; i < jar->n; i++) free(jar->c[i].mem);
    free(jar->c);
    jar->c = NULL;
    jar->n = jar->cap = 0;
}

static inline int z6_cookie__ieq(const char* a, size_t an, const char* b, size_t bn) {
    size_t i;
    if (an != bn) return 0;
    for (i = 0; i < an; i++)
        if (z6_check__lower((unsigned char)a[i]) != z6_check__lower((unsigned char)b[i])) return 0;
    return 1;
}

static inline void z6_cookie__trim(const char** p, size_t* n) {
    while (*n && (**p == ' ' || **p == '\t')) { (*p)++; (*n)--; }
    while (*n && ((*p)[*n - 1] == ' ' || (*p)[*n - 1] == '\t')) (*n)--;
}

/* RFC 6265 5.1.1's date delimiters. */
static inline int z6_cookie__delim(unsigned char c) {
    return c == 0x09 || (c >= 0x20 && c <= 0x2F) || (c >= 0x3B && c <= 0x40) || (c >= 0x5B && c <= 0x60)
           || (c >= 0x7B && c <= 0x7E);
}

static inline int z6_cookie__digits(const char* s, size_t n, size_t lo, size_t hi, int* value, size_t* used) {
    size_t i = 0;
    int v = 0;
    while (i < n && i < hi && s[i] >= '0' && s[i] <= '9') { v = v * 10 + (s[i] - '0'); i++; }
    if (i < lo) return 0;
    *value = v;
    *used = i;
    return 1;
}

/* Days from 1970-01-01 to y-m-d (proleptic Gregorian). */
static inline int64_t z6_cookie__days(int64_t y, int64_t m, int64_t d) {
    int64_t era, yoe, doy, doe;
    y -= m <= 2;
    era = (y >= 0 ? y : y - 399) / 400;
    yoe = y - era * 400;
    doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

/* An Expires value as seconds since the epoch (RFC 6265 5.1.1's lenient
 * algorithm); 0 when it is not a date. */
static inline int z6_cookie_parse_date(const char* s, size_t n, int64_t* out) {
    static const char months[] = "janfebmaraprmayjunjulaugsepoctnovdec";
    int have_time = 0, have_day = 0, have_month = 0, have_year = 0;
    int hh = 0, mm = 0, ss = 0, day = 0, month = 0, year = 0, v;
    size_t i = 0, start, len, used, k;
    while (i < n) {
        while (i < n && z6_cookie__delim((unsigned char)s[i])) i++;
        start = i;
        while (i < n && !z6_cookie__delim((unsigned char)s[i])) i++;
        len = i - start;
        if (len == 0) continue;
        if (!have_time) {
            /* hms-time = time-field ":" time-field ":" time-field, then anything */
            const char* t = s + start;
            size_t rest = len, u;
            int a, b, c;
            if (z6_cookie__digits(t, rest, 1, 2, &a, &u) && u < rest && t[u] == ':') {
                t += u + 1; rest -= u + 1;
                if (z6_cookie__digits(t, rest, 1, 2, &b, &u) && u < rest && t[u] == ':') {
                    t += u + 1; rest -= u + 1;
                    if (z6_cookie__digits(t, rest, 1, 2, &c, &u) && (u == rest || !(t[u] >= '0' && t[u] <= '9'))) {
                        have_time = 1; hh = a; mm = b; ss = c;
                        continue;
                    }
                }
            }
        }
        if (!have_day && z6_cookie__digits(s + start, len, 1, 2, &v, &used)
                && (used == len || !(s[start + used] >= '0' && s[start + used] <= '9'))) {
            have_day = 1; day = v;
            continue;
        }
        if (!have_month && len >= 3) {
            for (k = 0; k < 12; k++) {
                if (z6_check__lower((unsigned char)s[start]) == months[3 * k]
                        && z6_check__lower((unsigned char)s[start + 1]) == months[3 * k + 1]
                        && z6_check__lower((unsigned char)s[start + 2]) == months[3 * k + 2]) {
                    have_month = 1; month = (int)k + 1;
                    break;
                }
            }
            if (have_month) continue;
        }
        if (!have_year && z6_cookie__digits(s + start, len, 2, 4, &v, &used)
                && (used == len || !(s[start + used] >= '0' && s[start + used] <= '9'))) {
            have_year = 1; year = v;
            continue;
        }
    }
    if (have_year && year >= 70 && year <= 99) year += 1900;
    if (have_year && year <= 69) year += 2000;
    if (!have_time || !have_day || !have_month || !have_year) return 0;
    if (day < 1 || day > 31 || year < 1601 || hh > 23 || mm > 59 || ss > 59) return 0;
    *out = z6_cookie__days(year, month, day) * 86400 + hh * 3600 + mm * 60 + ss;
    return 1;
}

/* The default path of a request path (RFC 6265 5.1.4): up to its last "/", or "/". */
static inline size_t z6_cookie_default_path(const char* path, size_t n) {
    size_t i;
    if (n == 0 || path[0] != '/') return 0;     /* the caller uses "/" */
    for (i = n; i > 1; i--)
        if (path[i - 1] == '/') return i - 1 > 0 ? i - 1 : 1;
    return 1;
}

/* Does the target host accept a Domain attribute (the host itself, or a domain
 * the host is in; a leading dot ignored)? */
static inline int z6_cookie__domain_ok(const char* d, size_t dn, const char* host, size_t hn) {
    if (dn && d[0] == '.') { d++; dn--; }
    if (dn == 0) return 1;
    if (z6_cookie__ieq(d, dn, host, hn)) return 1;
    return hn > dn && host[hn - dn - 1] == '.' && z6_cookie__ieq(d, dn, host + hn - dn, dn);
}

/* Store one Set-Cookie value (what follows "Set-Cookie:"). req_path: the path
 * of the request it answers (for the default path). Returns 1 stored, 0 ignored
 * or removed, -1 out of memory. */
static inline int z6_jar_set(z6_jar_t* jar, const char* v, size_t n, const char* host, size_t host_len,
                             const char* req_path, size_t req_path_len, uint64_t now_ns, int64_t now_unix) {
    const char* semi = (const char*)memchr(v, ';', n);
    size_t pair_len = semi ? (size_t)(semi - v) : n;
    const char* eq = (const char*)memchr(v, '=', pair_len);
    const char *name, *value, *path = NULL, *at;
    size_t name_len, value_len, path_len = 0, rest, i;
    int have_max_age = 0, have_expires = 0, expired = 0, secure = 0;
    int64_t max_age = 0, expires = 0;
    uint64_t deadline = Z6_COOKIE_SESSION;
    z6_cookie_t* slot = NULL;
    char* mem;
    if (eq == NULL) return 0;
    name = v;
    name_len = (size_t)(eq - v);
    value = eq + 1;
    value_len = pair_len - name_len - 1;
    z6_cookie__trim(&name, &name_len);
    z6_cookie__trim(&value, &value_len);
    if (name_len == 0 || name_len + 1 + value_len > Z6_COOKIE_MAX_BYTES) return 0;
    at = semi;
    rest = semi ? n - pair_len : 0;
    while (at != NULL && rest > 0) {
        const char *attr = at + 1, *next = (const char*)memchr(at + 1, ';', rest - 1);
        size_t alen = next ? (size_t)(next - attr) : rest - 1, an, avn = 0;
        const char* aeq = (const char*)memchr(attr, '=', alen);
        const char* aname = attr;
        const char* aval = NULL;
        an = aeq ? (size_t)(aeq - attr) : alen;
        if (aeq) { aval = aeq + 1; avn = alen - an - 1; z6_cookie__trim(&aval, &avn); }
        z6_cookie__trim(&aname, &an);
        if (z6_cookie__ieq(aname, an, "max-age", 7) && aval != NULL && avn) {
            int neg = aval[0] == '-';
            int64_t m = 0;
            int ok = 1;
            for (i = (size_t)neg; i < avn; i++) {
                if (aval[i] < '0' || aval[i] > '9') { ok = 0; break; }
                if (m < (int64_t)1 << 40) m = m * 10 + (aval[i] - '0');
            }
            if (ok && avn > (size_t)neg) { have_max_age = 1; max_age = neg ? -m : m; }
        } else if (z6_cookie__ieq(aname, an, "expires", 7) && aval != NULL) {
            int64_t t;
            if (z6_cookie_parse_date(aval, avn, &t)) { have_expires = 1; expires = t; }
        } else if (z6_cookie__ieq(aname, an, "domain", 6) && aval != NULL) {
            if (!z6_cookie__domain_ok(aval, avn, host, host_len)) return 0;
        } else if (z6_cookie__ieq(aname, an, "path", 4) && aval != NULL) {
            if (avn && aval[0] == '/' && avn <= Z6_COOKIE_MAX_PATH) { path = aval; path_len = avn; }
            else { path = NULL; path_len = 0; }
        } else if (z6_cookie__ieq(aname, an, "secure", 6)) {
            secure = 1;
        }
        rest -= alen + 1;
        at = next;
    }
    if (have_max_age) {
        if (max_age <= 0) expired = 1;
        else deadline = now_ns + (uint64_t)max_age * 1000000000ULL;
    } else if (have_expires) {
        if (expires <= now_unix) expired = 1;
        else deadline = now_ns + (uint64_t)(expires - now_unix) * 1000000000ULL;
    }
    if (path == NULL) {
        path_len = z6_cookie_default_path(req_path, req_path_len);
        path = path_len ? req_path : "/";
        if (path_len == 0) path_len = 1;
    }
    /* the same (name, path) replaces, keeping its creation order (RFC 6265 5.3 11) */
    for (i = 0; i < jar->n; i++) {
        z6_cookie_t* c = &jar->c[i];
        if (c->name_len == name_len && memcmp(c->mem, name, name_len) == 0 && c->path_len == path_len
                && memcmp(c->mem + c->nv_len, path, path_len) == 0) {
            slot = c;
            break;
        }
    }
    if (expired) {
        if (slot != NULL) z6_jar__drop(jar, (uint32_t)(slot - jar->c));
        return 0;
    }
    mem = (char*)malloc(name_len + 1 + value_len + path_len);
    if (mem == NULL) return -1;
    memcpy(mem, name, name_len);
    mem[name_len] = '=';
    memcpy(mem + name_len + 1, value, value_len);
    memcpy(mem + name_len + 1 + value_len, path, path_len);
    if (slot == NULL) {
        if (jar->n == Z6_JAR_MAX_COOKIES) {
            uint32_t oldest = 0;
            for (i = 1; i < jar->n; i++)
                if (jar->c[i].created < jar->c[oldest].created) oldest = (uint32_t)i;
            z6_jar__drop(jar, oldest);
        }
        if (jar->n == jar->cap) {
            uint32_t cap = jar->cap ? jar->cap * 2 : 4;
            z6_cookie_t* grown;
            if (cap > Z6_JAR_MAX_COOKIES) cap = Z6_JAR_MAX_COOKIES;
            grown = (z6_cookie_t*)realloc(jar->c, cap * sizeof(z6_cookie_t));
            if (grown == NULL) { free(mem); return -1; }
            jar->c = grown;
            jar->cap = cap;
        }
        slot = &jar->c[jar->n++];
        slot->created = jar->counter++;
    } else {
        free(slot->mem);
    }
    slot->mem = mem;
    slot->name_len = (uint32_t)name_len;
    slot->nv_len = (uint32_t)(name_len + 1 + value_len);
    slot->path_len = (uint32_t)path_len;
    slot->secure = (uint8_t)secure;
    slot->expires_ns = deadline;
    return 1;
}

/* Every Set-Cookie line of a final head (status line first); how many stored,
 * or -1 when out of memory. */
static inline int z6_jar_from_head(z6_jar_t* jar, const char* head, size_t n, const char* host, size_t host_len,
                                   const char* req_path, size_t req_path_len, uint64_t now_ns, int64_t now_unix) {
    size_t pos = 0, at, len;
    int stored = 0, r;
    while (z6_check__next_header(head, n, "set-cookie", 10, &pos, &at, &len)) {
        r = z6_jar_set(jar, head + at, len, host, host_len, req_path, req_path_len, now_ns, now_unix);
        if (r < 0) return -1;
        stored += r;
    }
    return stored;
}

/* Does cookie path cp match request path rp (RFC 6265 5.1.4)? */
static inline int z6_cookie__path_match(const char* cp, size_t cn, const char* rp, size_t rn) {
    if (cn > rn || memcmp(cp, rp, cn) != 0) return 0;
    return cn == rn || cp[cn - 1] == '/' || rp[cn] == '/';
}

/* The "Cookie: a=1; b=2\r\n" line for a request to path rp, written to out when
 * it fits in cap bytes (out NULL: only measured); its length, 0 when no cookie
 * applies. Expired cookies are removed on the way. Order: longer paths first,
 * then the earlier stored (RFC 6265 5.4). */
static inline size_t z6_jar_header(z6_jar_t* jar, const char* rp, size_t rn, int tls, uint64_t now_ns, char* out,
                                   size_t cap) {
    uint8_t chosen[Z6_JAR_MAX_COOKIES];
    uint32_t order[Z6_JAR_MAX_COOKIES];
    uint32_t i, j, m = 0;
    size_t len = 0;
    for (i = 0; i < jar->n;) {
        if (jar->c[i].expires_ns != Z6_COOKIE_SESSION && jar->c[i].expires_ns <= now_ns) {
            z6_jar__drop(jar, i);
            continue;
        }
        i++;
    }
    for (i = 0; i < jar->n; i++) {
        z6_cookie_t* c = &jar->c[i];
        chosen[i] = (!c->secure || tls) && z6_cookie__path_match(c->mem + c->nv_len, c->path_len, rp, rn);
        if (chosen[i]) order[m++] = i;
    }
    if (m == 0) return 0;
    for (i = 1; i < m; i++) {        /* insertion sort: at most 50 */
        uint32_t x = order[i];
        j = i;
        while (j > 0) {
            z6_cookie_t* a = &jar->c[order[j - 1]];
            z6_cookie_t* b = &jar->c[x];
            if (a->path_len > b->path_len || (a->path_len == b->path_len && a->created < b->created)) break;
            order[j] = order[j - 1];
            j--;
        }
        order[j] = x;
    }
    len = 8 + 2;                     /* "Cookie: " and CRLF */
    for (i = 0; i < m; i++) len += jar->c[order[i]].nv_len + (i ? 2 : 0);
    if (out == NULL || len > cap) return len;
    memcpy(out, "Cookie: ", 8);
    out += 8;
    for (i = 0; i < m; i++) {
        if (i) { *out++ = ';'; *out++ = ' '; }
        memcpy(out, jar->c[order[i]].mem, jar->c[order[i]].nv_len);
        out += jar->c[order[i]].nv_len;
    }
    *out++ = '\r';
    *out++ = '\n';
    return len;
}

/* The path of a request's bytes: from its target to "?", "#" or the space
 * before the version; its start and length (0 when the line is not a request line). */
static inline size_t z6_cookie_request_path(const char* req, size_t n, size_t* at) {
    size_t i = 0, start;
    while (i < n && req[i] != ' ') i++;
    start = ++i;
    while (i < n && req[i] != ' ' && req[i] != '?' && req[i] != '#' && req[i] != '\r') i++;
    if (start >= n) return 0;
    *at = start;
    return i - start;
}

/* Where a request's head ends: the offset of the CRLF that ends its blank line's
 * predecessor (the Cookie line goes there), or 0 when there is no blank line. */
static inline size_t z6_cookie_head_end(const char* req, size_t n) {
    size_t i;
    for (i = 0; i + 3 < n; i++)
        if (req[i] == '\r' && req[i + 1] == '\n' && req[i + 2] == '\r' && req[i + 3] == '\n') return i + 2;
    return 0;
}

static inline int64_t z6_cookie_unix_now(void) { return (int64_t)time(NULL); }

#endif
