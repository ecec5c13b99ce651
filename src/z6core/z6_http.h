/* z6_http.h: an incremental HTTP/1.1 response parser for the live driver.
 *
 * One z6_http_resp_t per connection (there is one per VU, so it stays small: no
 * copy of the data is kept, only counters and a few bytes of state). The driver
 * calls z6_http_reset() before each response, z6_http_feed() with whatever each
 * read() returned, and z6_http_eof() when read() returns 0. Bodies are counted and
 * discarded. Plain C99, no allocation; the rules and limits are in
 * docs/http-parser.md and every one of them is tested in tests/test_http_parser.py.
 *
 * Results: Z6_HTTP_MORE (all bytes consumed, response not complete), Z6_HTTP_DONE
 * (response complete; *used = the bytes it took, the rest belong to the caller),
 * or an error. Errors and DONE are sticky until the next reset. On an error *used
 * is the offset of the byte that was refused (the bytes before it were accepted),
 * so the outcome and the totals do not depend on how the bytes were split.
 */
#ifndef Z6_HTTP_H
#define Z6_HTTP_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* Status line plus header section, summed over any interim (1xx) heads; the
   trailer section after a chunked body has the same budget of its own. */
#define Z6_HTTP_MAX_HEADER_BYTES (64 * 1024)
/* A status line or a chunk-size line (with its extensions) longer than this is not
   a response we can read: a protocol error, not a resource limit. */
#define Z6_HTTP_MAX_LINE_BYTES (8 * 1024)
/* Declared (Content-Length, chunk sizes) or accumulated body bytes. */
#define Z6_HTTP_MAX_BODY_BYTES ((uint64_t)1 << 40)

enum {
    Z6_HTTP_MORE = 0,
    Z6_HTTP_DONE = 1,
    Z6_HTTP_ERR_PROTOCOL = -1,
    Z6_HTTP_ERR_LIMIT = -2,
    Z6_HTTP_ERR_CLOSED = -3
};

typedef struct {
    uint64_t body_bytes;     /* decoded body bytes of the final response */
    uint64_t wire_bytes;     /* bytes consumed for this response, interim heads included */
    uint64_t remaining;      /* body or chunk bytes still due; the number being read in a
                                Content-Length value or a chunk-size line */
    uint64_t content_length; /* the first Content-Length value, to compare duplicates with */
    uint32_t header_bytes;   /* head bytes so far (or trailer bytes, after the last chunk) */
    uint16_t status;
    uint16_t line_len;       /* bytes of the current status line or chunk-size line */
    uint16_t flags;          /* Z6_HTTP_F_* */
    uint8_t keep_alive;      /* set when the final head is complete */
    uint8_t http_minor;
    uint8_t state;           /* Z6_HTTP_S_* */
    int8_t result;           /* the sticky result in the DONE and ERROR states */
    uint8_t field;           /* which header's value is being read (Z6_HTTP_FIELD_*) */
    uint8_t sub;             /* position inside that value (Z6_HTTP_V_*) */
    uint8_t match_pos;       /* characters of the current name or token seen (saturating) */
    uint8_t match_set;       /* bit i: still equal to word i of the current word list */
} z6_http_resp_t;

/* Parser states. The head states come first so one comparison tells them apart. */
enum {
    Z6_HTTP_S_STATUS = 0,      /* "HTTP/1.x NNN", by position (line_len) */
    Z6_HTTP_S_AFTER_CODE,      /* SP before the reason, or the end of the line */
    Z6_HTTP_S_REASON,
    Z6_HTTP_S_LINE_START,      /* a header (or trailer) line, or the empty line ending the section */
    Z6_HTTP_S_NAME,
    Z6_HTTP_S_VALUE,
    Z6_HTTP_S_CHUNK_SIZE_START,
    Z6_HTTP_S_CHUNK_SIZE,
    Z6_HTTP_S_CHUNK_BWS,       /* whitespace after the size, before ';' or the line end */
    Z6_HTTP_S_CHUNK_EXT,
    Z6_HTTP_S_CHUNK_DATA,
    Z6_HTTP_S_CHUNK_DATA_END,  /* the CRLF after a chunk's data */
    Z6_HTTP_S_BODY_LENGTH,     /* Content-Length body */
    Z6_HTTP_S_BODY_CLOSE,      /* body delimited by the peer closing */
    Z6_HTTP_S_DONE,
    Z6_HTTP_S_ERROR
};

enum {
    Z6_HTTP_F_HEAD = 1 << 0,        /* the request was HEAD: no body whatever the headers say */
    Z6_HTTP_F_CR = 1 << 1,          /* a CR was read; only LF may follow */
    Z6_HTTP_F_TRAILER = 1 << 2,     /* the header-line states are reading trailers */
    Z6_HTTP_F_HAVE_CL = 1 << 3,
    Z6_HTTP_F_HAVE_TE = 1 << 4,
    Z6_HTTP_F_TE_CHUNKED = 1 << 5,  /* the last transfer coding seen so far is chunked */
    Z6_HTTP_F_CONN_CLOSE = 1 << 6,
    Z6_HTTP_F_CONN_KEEP_ALIVE = 1 << 7
};

enum {
    Z6_HTTP_FIELD_OTHER = 0,
    Z6_HTTP_FIELD_CONTENT_LENGTH,
    Z6_HTTP_FIELD_TRANSFER_ENCODING,
    Z6_HTTP_FIELD_CONNECTION
};

/* Positions inside a value: Content-Length uses LEAD, DIGITS, TAIL; the token lists
   (Transfer-Encoding, Connection) use LEAD (between tokens), TOKEN, PARAMS. */
enum { Z6_HTTP_V_LEAD = 0, Z6_HTTP_V_DIGITS, Z6_HTTP_V_TAIL, Z6_HTTP_V_TOKEN, Z6_HTTP_V_PARAMS };

/* Word lists matched case-insensitively, one character at a time. */
enum { Z6_HTTP_WORDS_NAMES = 0, Z6_HTTP_WORDS_CODINGS, Z6_HTTP_WORDS_CONNECTION };

static inline const char* z6_http__word(int list, int i) {
    static const char* const names[3] = {"content-length", "transfer-encoding", "connection"};
    static const char* const codings[1] = {"chunked"};
    static const char* const options[2] = {"close", "keep-alive"};
    if (list == Z6_HTTP_WORDS_NAMES) return names[i];
    if (list == Z6_HTTP_WORDS_CODINGS) return codings[i];
    return options[i];
}

static inline int z6_http__word_count(int list) {
    return list == Z6_HTTP_WORDS_NAMES ? 3 : list == Z6_HTTP_WORDS_CODINGS ? 1 : 2;
}

static inline void z6_http__match_start(z6_http_resp_t* p, int list) {
    p->match_pos = 0;
    p->match_set = (uint8_t)((1u << z6_http__word_count(list)) - 1u);
}

static inline void z6_http__match_step(z6_http_resp_t* p, int list, unsigned char c) {
    int i, n = z6_http__word_count(list);
    if (c >= 'A' && c <= 'Z') c = (unsigned char)(c + ('a' - 'A'));
    /* A word still in the set has matched every earlier position, so match_pos is at
       most its length and w[match_pos] is in bounds (its NUL at worst). */
    for (i = 0; i < n; i++) {
        if ((p->match_set >> i) & 1u) {
            const char* w = z6_http__word(list, i);
            if ((unsigned char)w[p->match_pos] != c) p->match_set &= (uint8_t)~(1u << i);
        }
    }
    if (p->match_pos < 255) p->match_pos++;
}

/* Index of the word matched exactly, or -1. */
static inline int z6_http__match_end(const z6_http_resp_t* p, int list) {
    int i, n = z6_http__word_count(list);
    for (i = 0; i < n; i++) {
        if (((p->match_set >> i) & 1u) && z6_http__word(list, i)[p->match_pos] == '\0') return i;
    }
    return -1;
}

/* RFC 9110 tchar: the characters of a token (header names, codings, options):
   ALPHA, DIGIT and !#$%&'*+-.^_`|~, as a bitmap of the 128 ASCII codes. */
static inline int z6_http__is_tchar(unsigned char c) {
    static const uint32_t tchar[4] = {0x00000000u, 0x03ff6cfau, 0xc7fffffeu, 0x57ffffffu};
    return c < 128 && ((tchar[c >> 5] >> (c & 31)) & 1u);
}

/* A byte allowed inside a field value, reason phrase or chunk extension: HTAB, SP,
   visible ASCII and obs-text; never NUL, CR, LF, other controls or DEL. */
static inline int z6_http__is_text(unsigned char c) {
    return c == '\t' || (c >= 0x20 && c != 0x7f);
}

static inline int z6_http__hex(unsigned char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

static inline void z6_http_reset(z6_http_resp_t* p, int head_request) {
    memset(p, 0, sizeof(*p));
    p->state = Z6_HTTP_S_STATUS;
    if (head_request) p->flags = Z6_HTTP_F_HEAD;
}

/* The end of a token in a Transfer-Encoding or Connection value. */
static inline void z6_http__token_end(z6_http_resp_t* p) {
    if (p->field == Z6_HTTP_FIELD_TRANSFER_ENCODING) {
        /* Only the last coding decides the framing (RFC 9112 6.3). */
        if (z6_http__match_end(p, Z6_HTTP_WORDS_CODINGS) == 0) p->flags |= Z6_HTTP_F_TE_CHUNKED;
        else p->flags &= (uint16_t)~Z6_HTTP_F_TE_CHUNKED;
    } else {
        int option = z6_http__match_end(p, Z6_HTTP_WORDS_CONNECTION);
        if (option == 0) p->flags |= Z6_HTTP_F_CONN_CLOSE;
        else if (option == 1) p->flags |= Z6_HTTP_F_CONN_KEEP_ALIVE;
    }
}

/* One byte of a Transfer-Encoding or Connection value: comma- or space-separated
   tokens; ';' starts parameters, skipped up to the next comma. */
static inline void z6_http__list_byte(z6_http_resp_t* p, unsigned char c) {
    int list = p->field == Z6_HTTP_FIELD_TRANSFER_ENCODING ? Z6_HTTP_WORDS_CODINGS
                                                          : Z6_HTTP_WORDS_CONNECTION;
    int separator = c == ' ' || c == '\t' || c == ',' || c == ';';
    if (p->sub == Z6_HTTP_V_TOKEN && separator) {
        z6_http__token_end(p);
        p->sub = Z6_HTTP_V_LEAD;
    }
    if (p->sub == Z6_HTTP_V_PARAMS) {
        if (c == ',') p->sub = Z6_HTTP_V_LEAD;
    } else if (c == ';') {
        p->sub = Z6_HTTP_V_PARAMS;
    } else if (!separator) {
        if (p->sub == Z6_HTTP_V_LEAD) {
            z6_http__match_start(p, list);
            p->sub = Z6_HTTP_V_TOKEN;
        }
        z6_http__match_step(p, list, c);
    }
}

/* The end of a header or trailer line's value; 0, or an error code. */
static inline int z6_http__value_end(z6_http_resp_t* p) {
    switch (p->field) {
    case Z6_HTTP_FIELD_CONTENT_LENGTH:
        if (p->sub == Z6_HTTP_V_LEAD) return Z6_HTTP_ERR_PROTOCOL;     /* empty value */
        if ((p->flags & Z6_HTTP_F_HAVE_CL) && p->content_length != p->remaining)
            return Z6_HTTP_ERR_PROTOCOL;                               /* conflicting lengths */
        p->content_length = p->remaining;
        p->remaining = 0;
        p->flags |= Z6_HTTP_F_HAVE_CL;
        return 0;
    case Z6_HTTP_FIELD_TRANSFER_ENCODING:
        if (p->sub == Z6_HTTP_V_TOKEN) z6_http__token_end(p);
        p->flags |= Z6_HTTP_F_HAVE_TE;
        return 0;
    case Z6_HTTP_FIELD_CONNECTION:
        if (p->sub == Z6_HTTP_V_TOKEN) z6_http__token_end(p);
        return 0;
    default:
        return 0;
    }
}

/* The empty line ending a head: skip an interim response, or choose the framing of
   the final one. Returns MORE to read on, DONE, or an error. */
static inline int z6_http__head_end(z6_http_resp_t* p) {
    uint16_t f = p->flags;
    int keep_alive;
    if (p->status < 200) {
        /* 1xx (never 101, refused on its status line): an interim response with no
           body; the final response follows on the same connection. */
        p->flags = (uint16_t)(f & Z6_HTTP_F_HEAD);
        p->status = 0;
        p->http_minor = 0;
        p->content_length = 0;
        p->line_len = 0;
        p->state = Z6_HTTP_S_STATUS;
        return Z6_HTTP_MORE;
    }
    if (p->http_minor >= 1) keep_alive = !(f & Z6_HTTP_F_CONN_CLOSE);
    else keep_alive = (f & Z6_HTTP_F_CONN_KEEP_ALIVE) && !(f & Z6_HTTP_F_CONN_CLOSE);
    /* RFC 9112 6.1: Transfer-Encoding in an HTTP/1.0 message means faulty framing;
       read it as sent, then close. */
    if ((f & Z6_HTTP_F_HAVE_TE) && p->http_minor == 0) keep_alive = 0;
    p->keep_alive = (uint8_t)keep_alive;
    if ((f & Z6_HTTP_F_HEAD) || p->status == 204 || p->status == 304) return Z6_HTTP_DONE;
    if (f & Z6_HTTP_F_HAVE_TE) {
        /* Transfer-Encoding overrides Content-Length (RFC 9112 6.3). */
        if (f & Z6_HTTP_F_TE_CHUNKED) {
            p->line_len = 0;
            p->remaining = 0;
            p->state = Z6_HTTP_S_CHUNK_SIZE_START;
            return Z6_HTTP_MORE;
        }
        p->keep_alive = 0;
        p->state = Z6_HTTP_S_BODY_CLOSE;
        return Z6_HTTP_MORE;
    }
    if (f & Z6_HTTP_F_HAVE_CL) {
        if (p->content_length > Z6_HTTP_MAX_BODY_BYTES) return Z6_HTTP_ERR_LIMIT;
        if (p->content_length == 0) return Z6_HTTP_DONE;
        p->remaining = p->content_length;
        p->state = Z6_HTTP_S_BODY_LENGTH;
        return Z6_HTTP_MORE;
    }
    p->keep_alive = 0;
    p->state = Z6_HTTP_S_BODY_CLOSE;
    return Z6_HTTP_MORE;
}

/* The end of a chunk-size line. */
static inline int z6_http__chunk_line_end(z6_http_resp_t* p) {
    p->line_len = 0;
    if (p->remaining == 0) {
        p->flags |= Z6_HTTP_F_TRAILER;
        p->header_bytes = 0;
        p->state = Z6_HTTP_S_LINE_START;
        return Z6_HTTP_MORE;
    }
    if (p->remaining > Z6_HTTP_MAX_BODY_BYTES - p->body_bytes) return Z6_HTTP_ERR_LIMIT;
    p->state = Z6_HTTP_S_CHUNK_DATA;
    return Z6_HTTP_MORE;
}

static inline int z6_http__finish(z6_http_resp_t* p, int code, size_t consumed, size_t* used) {
    p->state = code == Z6_HTTP_DONE ? Z6_HTTP_S_DONE : Z6_HTTP_S_ERROR;
    p->result = (int8_t)code;
    p->wire_bytes += consumed;
    *used = consumed;
    return code;
}

static inline int z6_http_feed(z6_http_resp_t* p, const char* data, size_t n, size_t* used) {
    const unsigned char* d = (const unsigned char*)data;
    size_t i = 0;
    int rc;

    if (p->state == Z6_HTTP_S_DONE || p->state == Z6_HTTP_S_ERROR) {
        *used = 0;
        return p->result;
    }
    while (i < n) {
        unsigned char c;
        /* Bodies: counted in bulk, never read. */
        if (p->state == Z6_HTTP_S_BODY_LENGTH || p->state == Z6_HTTP_S_CHUNK_DATA) {
            uint64_t take = n - i;
            if (take > p->remaining) take = p->remaining;
            p->remaining -= take;
            p->body_bytes += take;
            i += (size_t)take;
            if (p->remaining == 0) {
                if (p->state == Z6_HTTP_S_BODY_LENGTH) return z6_http__finish(p, Z6_HTTP_DONE, i, used);
                p->state = Z6_HTTP_S_CHUNK_DATA_END;
            }
            continue;
        }
        if (p->state == Z6_HTTP_S_BODY_CLOSE) {
            uint64_t room = Z6_HTTP_MAX_BODY_BYTES - p->body_bytes;
            uint64_t take = n - i;
            if (take > room) {
                p->body_bytes += room;
                return z6_http__finish(p, Z6_HTTP_ERR_LIMIT, i + (size_t)room, used);
            }
            p->body_bytes += take;
            i = n;
            continue;
        }

        /* Everything else is read a byte at a time. */
        c = d[i];
        if (p->state <= Z6_HTTP_S_VALUE) {
            if (p->header_bytes >= Z6_HTTP_MAX_HEADER_BYTES)
                return z6_http__finish(p, Z6_HTTP_ERR_LIMIT, i, used);
            p->header_bytes++;
        }
        if (p->state <= Z6_HTTP_S_REASON ||
            (p->state >= Z6_HTTP_S_CHUNK_SIZE_START && p->state <= Z6_HTTP_S_CHUNK_EXT)) {
            if (p->line_len >= Z6_HTTP_MAX_LINE_BYTES)
                return z6_http__finish(p, Z6_HTTP_ERR_PROTOCOL, i, used);
            p->line_len++;
        }
        if (p->flags & Z6_HTTP_F_CR) {
            /* Only the states that end lines set F_CR; they handle the LF below. */
            if (c != '\n') return z6_http__finish(p, Z6_HTTP_ERR_PROTOCOL, i, used);
            p->flags &= (uint16_t)~Z6_HTTP_F_CR;
        }

        switch (p->state) {
        case Z6_HTTP_S_STATUS: {
            /* line_len already counts this byte: position = line_len - 1. */
            unsigned pos = (unsigned)p->line_len - 1u;
            if (pos < 7) {
                if (c != (unsigned char)"HTTP/1."[pos]) goto protocol;
            } else if (pos == 7) {
                if (c < '0' || c > '9') goto protocol;
                p->http_minor = (uint8_t)(c - '0');
            } else if (pos == 8) {
                if (c != ' ') goto protocol;
            } else {
                /* 3DIGIT, 100 to 999: a leading 0 is no status class. */
                if (c < (pos == 9 ? '1' : '0') || c > '9') goto protocol;
                p->status = (uint16_t)(p->status * 10 + (c - '0'));
                if (pos == 11) {
                    /* 101 Switching Protocols answers an Upgrade we never send. */
                    if (p->status == 101) goto protocol;
                    p->state = Z6_HTTP_S_AFTER_CODE;
                }
            }
            break;
        }
        case Z6_HTTP_S_AFTER_CODE:
        case Z6_HTTP_S_REASON:
            if (c == '\r') {
                p->flags |= Z6_HTTP_F_CR;
            } else if (c == '\n') {
                p->line_len = 0;
                p->state = Z6_HTTP_S_LINE_START;
            } else if (p->state == Z6_HTTP_S_AFTER_CODE) {
                if (c != ' ') goto protocol;
                p->state = Z6_HTTP_S_REASON;
            } else if (!z6_http__is_text(c)) {
                goto protocol;
            }
            break;
        case Z6_HTTP_S_LINE_START:
            if (c == '\r') {
                p->flags |= Z6_HTTP_F_CR;
            } else if (c == '\n') {
                if (p->flags & Z6_HTTP_F_TRAILER) return z6_http__finish(p, Z6_HTTP_DONE, i + 1, used);
                rc = z6_http__head_end(p);
                if (rc != Z6_HTTP_MORE) return z6_http__finish(p, rc, rc == Z6_HTTP_DONE ? i + 1 : i, used);
            } else if (z6_http__is_tchar(c)) {
                /* (A line starting with SP or HTAB, obsolete line folding, fails here.) */
                z6_http__match_start(p, Z6_HTTP_WORDS_NAMES);
                z6_http__match_step(p, Z6_HTTP_WORDS_NAMES, c);
                p->state = Z6_HTTP_S_NAME;
            } else {
                goto protocol;
            }
            break;
        case Z6_HTTP_S_NAME:
            if (z6_http__is_tchar(c)) {
                if (p->match_set) {
                    z6_http__match_step(p, Z6_HTTP_WORDS_NAMES, c);
                } else {
                    /* A name we do not care about: skip the rest of it at once, within
                       what the header budget still allows. */
                    size_t end = n, room = Z6_HTTP_MAX_HEADER_BYTES - p->header_bytes;
                    if (end - (i + 1) > room) end = i + 1 + room;
                    while (i + 1 < end && z6_http__is_tchar(d[i + 1])) {
                        i++;
                        p->header_bytes++;
                    }
                }
            } else if (c == ':') {
                /* Trailers and the headers of interim (1xx) responses are checked for
                   their syntax only; their meaning is ignored. */
                int name = ((p->flags & Z6_HTTP_F_TRAILER) || p->status < 200)
                               ? -1 : z6_http__match_end(p, Z6_HTTP_WORDS_NAMES);
                p->field = (uint8_t)(name + 1);   /* -1 -> OTHER, 0.. -> CONTENT_LENGTH.. */
                p->sub = Z6_HTTP_V_LEAD;
                p->remaining = 0;
                p->state = Z6_HTTP_S_VALUE;
            } else {
                /* No colon on the line, or whitespace before it (RFC 9112 5.1). */
                goto protocol;
            }
            break;
        case Z6_HTTP_S_VALUE:
            if (c == '\r') {
                p->flags |= Z6_HTTP_F_CR;
                break;
            }
            if (c == '\n') {
                rc = z6_http__value_end(p);
                if (rc != 0) return z6_http__finish(p, rc, i, used);
                p->state = Z6_HTTP_S_LINE_START;
                break;
            }
            if (!z6_http__is_text(c)) goto protocol;
            if (p->field == Z6_HTTP_FIELD_OTHER) {
                /* Most header bytes: skip the rest of the value's plain text at once,
                   within what the header budget still allows. */
                size_t end = n, room = Z6_HTTP_MAX_HEADER_BYTES - p->header_bytes;
                if (end - (i + 1) > room) end = i + 1 + room;
                while (i + 1 < end && z6_http__is_text(d[i + 1])) {   /* stops at CR and LF */
                    i++;
                    p->header_bytes++;
                }
            } else if (p->field == Z6_HTTP_FIELD_CONTENT_LENGTH) {
                int ws = c == ' ' || c == '\t';
                if (c >= '0' && c <= '9') {
                    uint64_t digit = (uint64_t)(c - '0');
                    if (p->sub == Z6_HTTP_V_TAIL) goto protocol;   /* "5 5" */
                    if (p->remaining > (UINT64_MAX - digit) / 10) goto protocol;   /* overflow */
                    p->remaining = p->remaining * 10 + digit;
                    p->sub = Z6_HTTP_V_DIGITS;
                } else if (ws) {
                    if (p->sub == Z6_HTTP_V_DIGITS) p->sub = Z6_HTTP_V_TAIL;
                } else {
                    goto protocol;   /* digits only: no sign, no list, no hex */
                }
            } else {
                z6_http__list_byte(p, c);
            }
            break;
        case Z6_HTTP_S_CHUNK_SIZE_START:
        case Z6_HTTP_S_CHUNK_SIZE: {
            int v = z6_http__hex(c);
            if (v >= 0) {
                if (p->remaining > (UINT64_MAX >> 4)) goto protocol;   /* overflow */
                p->remaining = (p->remaining << 4) | (uint64_t)v;
                p->state = Z6_HTTP_S_CHUNK_SIZE;
                break;
            }
            if (p->state == Z6_HTTP_S_CHUNK_SIZE_START) goto protocol;   /* no digit */
            if (c == ' ' || c == '\t') p->state = Z6_HTTP_S_CHUNK_BWS;
            else if (c == ';') p->state = Z6_HTTP_S_CHUNK_EXT;
            else if (c == '\r') p->flags |= Z6_HTTP_F_CR;
            else if (c == '\n') {
                rc = z6_http__chunk_line_end(p);
                if (rc != Z6_HTTP_MORE) return z6_http__finish(p, rc, i, used);
            } else goto protocol;
            break;
        }
        case Z6_HTTP_S_CHUNK_BWS:
            if (c == ' ' || c == '\t') break;
            if (c == ';') p->state = Z6_HTTP_S_CHUNK_EXT;
            else if (c == '\r') p->flags |= Z6_HTTP_F_CR;
            else if (c == '\n') {
                rc = z6_http__chunk_line_end(p);
                if (rc != Z6_HTTP_MORE) return z6_http__finish(p, rc, i, used);
            } else goto protocol;
            break;
        case Z6_HTTP_S_CHUNK_EXT:
            /* Extensions are ignored; only their bytes are checked. */
            if (c == '\r') p->flags |= Z6_HTTP_F_CR;
            else if (c == '\n') {
                rc = z6_http__chunk_line_end(p);
                if (rc != Z6_HTTP_MORE) return z6_http__finish(p, rc, i, used);
            } else if (!z6_http__is_text(c)) goto protocol;
            break;
        case Z6_HTTP_S_CHUNK_DATA_END:
            if (c == '\r') p->flags |= Z6_HTTP_F_CR;
            else if (c == '\n') {
                p->line_len = 0;
                p->state = Z6_HTTP_S_CHUNK_SIZE_START;
            } else goto protocol;
            break;
        default:
            goto protocol;   /* unreachable: every other state is handled above */
        }
        i++;
    }
    p->wire_bytes += n;
    *used = n;
    return Z6_HTTP_MORE;

protocol:
    return z6_http__finish(p, Z6_HTTP_ERR_PROTOCOL, i, used);
}

/* The final response's body is chunked (for a check decoding a captured body). */
static inline int z6_http_chunked(const z6_http_resp_t* p) {
    return (p->flags & Z6_HTTP_F_TE_CHUNKED) != 0;
}

static inline int z6_http_eof(z6_http_resp_t* p) {
    if (p->state == Z6_HTTP_S_BODY_CLOSE) {
        p->state = Z6_HTTP_S_DONE;
        p->result = Z6_HTTP_DONE;
    } else if (p->state != Z6_HTTP_S_DONE && p->state != Z6_HTTP_S_ERROR) {
        p->state = Z6_HTTP_S_ERROR;
        p->result = Z6_HTTP_ERR_CLOSED;
    }
    return p->result;
}

#endif /* Z6_HTTP_H */
