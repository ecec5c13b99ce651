/* z6_tls.h: TLS for the live driver, over OpenSSL (libssl 3.x, 1.1.1 works too).
 *
 * One client context per run (z6_tls_t): trust store or ca_file, hostname
 * check, optional client certificate, minimum version, ALPN "http/1.1", and
 * one saved session per VU for resumption. Each connection is an SSL object
 * on the VU's non-blocking socket (a socket BIO): the driver's poller decides
 * when to call again, from the WANT_READ / WANT_WRITE these calls report.
 *
 * Nothing here allocates per request; a handshake allocates what OpenSSL
 * needs per connection. No call blocks. Failures come back as the driver's
 * error codes (Z6_TLS_E_*), mapped from the verification result and
 * OpenSSL's reason codes; see docs/live.md "TLS".
 *
 * SIGPIPE: the socket BIO writes with write(2); Python ignores SIGPIPE, so a
 * peer that closed gives EPIPE (a reset), never a signal.
 */
#ifndef Z6_TLS_H
#define Z6_TLS_H

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <sys/socket.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

/* What a TLS call asks of the driver next. */
#define Z6_TLS_DONE 0        /* handshake complete / bytes moved */
#define Z6_TLS_WANT_READ 1   /* call again when the socket is readable */
#define Z6_TLS_WANT_WRITE 2  /* call again when the socket is writable */
#define Z6_TLS_EOF 3         /* the peer closed (close_notify or a bare EOF) */
#define Z6_TLS_SYSCALL 4     /* a socket error: errno says which */
#define Z6_TLS_FAILED 5      /* a TLS failure: *code says which (Z6_TLS_E_*) */

/* Error codes, equal to _defs.pxd error_code_t and z6.events.ErrorCode. */
#define Z6_TLS_E_GENERIC 9          /* ERR_TLS: any other TLS failure */
#define Z6_TLS_E_SELF_SIGNED 12     /* certificate verification: self-signed certificate */
#define Z6_TLS_E_UNKNOWN_CA 13      /* certificate verification: issuer not trusted / unknown */
#define Z6_TLS_E_HOSTNAME 14        /* certificate verification: hostname (or IP) mismatch */
#define Z6_TLS_E_EXPIRED 15         /* certificate verification: expired or not yet valid */
#define Z6_TLS_E_CERT_INVALID 16    /* certificate verification: any other reason */
#define Z6_TLS_E_HANDSHAKE 17       /* handshake failure or alert received from the server */
#define Z6_TLS_E_VERSION 18         /* no protocol version both sides accept */
#define Z6_TLS_E_NOT_TLS 19         /* the server did not answer in TLS (plain HTTP, garbage) */

typedef struct {
    SSL_CTX* ctx;
    SSL_SESSION** sessions;   /* per VU: the last session the server gave it, or NULL */
    uint32_t n_sessions;
    int resume;
    int verify;
    int host_is_ip;
    char host[256];
} z6_tls_t;

static int z6_tls_ex_index = -1;

static inline void z6_tls_error_text(char* out, size_t n, const char* what) {
    unsigned long e = ERR_peek_last_error();
    char reason[256];
    if (e) {
        ERR_error_string_n(e, reason, sizeof(reason));
        snprintf(out, n, "%s: %s", what, reason);
    } else {
        snprintf(out, n, "%s", what);
    }
    ERR_clear_error();
}

/* TLS 1.3 session tickets arrive after the handshake, TLS 1.2 sessions at its
 * end: either way OpenSSL hands each new session here. Keep the VU's latest. */
static int z6_tls_new_session(SSL* ssl, SSL_SESSION* sess) {
    z6_tls_t* t = (z6_tls_t*)SSL_CTX_get_ex_data(SSL_get_SSL_CTX(ssl), z6_tls_ex_index);
    uintptr_t idx = (uintptr_t)SSL_get_app_data(ssl);
    if (t == NULL || !t->resume || idx >= t->n_sessions) return 0;
    if (t->sessions[idx] != NULL) SSL_SESSION_free(t->sessions[idx]);
    t->sessions[idx] = sess;
    return 1;   /* we hold the reference now */
}

/* Build the run's client context. min_version: 0 (OpenSSL's floor, at least
 * TLS 1.2 here), 12 or 13. Returns NULL with a message in `err` on failure. */
static inline z6_tls_t* z6_tls_new(const char* host, int verify, const char* ca_file, const char* client_cert,
                                   const char* client_key, int min_version, int resume, uint32_t n_vus,
                                   char* err, size_t err_len) {
    static const unsigned char alpn[] = {8, 'h', 't', 't', 'p', '/', '1', '.', '1'};
    unsigned char ipbuf[16];
    z6_tls_t* t = (z6_tls_t*)calloc(1, sizeof(z6_tls_t));
    if (t == NULL) { snprintf(err, err_len, "out of memory"); return NULL; }
    if (strlen(host) >= sizeof(t->host)) { snprintf(err, err_len, "host name too long"); free(t); return NULL; }
    strcpy(t->host, host);
    t->host_is_ip = inet_pton(AF_INET, host, ipbuf) == 1 || inet_pton(AF_INET6, host, ipbuf) == 1;
    t->verify = verify;
    t->resume = resume;
    t->n_sessions = n_vus;
    t->sessions = (SSL_SESSION**)calloc(n_vus ? n_vus : 1, sizeof(SSL_SESSION*));
    if (z6_tls_ex_index < 0) z6_tls_ex_index = SSL_CTX_get_ex_new_index(0, NULL, NULL, NULL, NULL);
    t->ctx = SSL_CTX_new(TLS_client_method());
    if (t->sessions == NULL || t->ctx == NULL || z6_tls_ex_index < 0) {
        z6_tls_error_text(err, err_len, "cannot create the TLS context");
        goto fail;
    }
    SSL_CTX_set_ex_data(t->ctx, z6_tls_ex_index, t);
    if (!SSL_CTX_set_min_proto_version(t->ctx, min_version == 13 ? TLS1_3_VERSION : TLS1_2_VERSION)) {
        z6_tls_error_text(err, err_len, "cannot set the minimum TLS version");
        goto fail;
    }
    /* A write may complete in parts and be retried from a later offset of the
     * same request bytes; an EOF without close_notify is reported as an EOF
     * and judged by the HTTP framing (a complete response is complete). */
    SSL_CTX_set_mode(t->ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
#ifdef SSL_OP_IGNORE_UNEXPECTED_EOF
    SSL_CTX_set_options(t->ctx, SSL_OP_IGNORE_UNEXPECTED_EOF);
#endif
    SSL_CTX_set_alpn_protos(t->ctx, alpn, sizeof(alpn));
    /* Read ahead: a whole socket's worth per read(2) rather than a record header
     * and then its body, one read fewer per response. Bytes OpenSSL holds are
     * invisible to the poller, so the driver asks z6_tls_pending before it
     * stops reading a connection (see _live.pyx _read). */
    SSL_CTX_set_read_ahead(t->ctx, 1);
    if (verify) {
        SSL_CTX_set_verify(t->ctx, SSL_VERIFY_PEER, NULL);
        if (ca_file != NULL && ca_file[0]) {
            if (!SSL_CTX_load_verify_locations(t->ctx, ca_file, NULL)) {
                z6_tls_error_text(err, err_len, "cannot load ca_file");
                goto fail;
            }
        } else if (!SSL_CTX_set_default_verify_paths(t->ctx)) {
            z6_tls_error_text(err, err_len, "cannot load the system trust store");
            goto fail;
        }
    } else {
        SSL_CTX_set_verify(t->ctx, SSL_VERIFY_NONE, NULL);
    }
    if (client_cert != NULL && client_cert[0]) {
        if (SSL_CTX_use_certificate_chain_file(t->ctx, client_cert) != 1) {
            z6_tls_error_text(err, err_len, "cannot load client_cert");
            goto fail;
        }
        if (SSL_CTX_use_PrivateKey_file(t->ctx, client_key && client_key[0] ? client_key : client_cert,
                                        SSL_FILETYPE_PEM) != 1 || SSL_CTX_check_private_key(t->ctx) != 1) {
            z6_tls_error_text(err, err_len, "cannot load client_key (or it does not match client_cert)");
            goto fail;
        }
    }
    if (resume) {
        /* Sessions live in our per-VU table, not in OpenSSL's cache. */
        SSL_CTX_set_session_cache_mode(t->ctx, SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
        SSL_CTX_sess_set_new_cb(t->ctx, z6_tls_new_session);
    } else {
        SSL_CTX_set_session_cache_mode(t->ctx, SSL_SESS_CACHE_OFF);
        SSL_CTX_set_options(t->ctx, SSL_OP_NO_TICKET);
    }
    ERR_clear_error();
    return t;
fail:
    if (t->ctx) SSL_CTX_free(t->ctx);
    free(t->sessions);
    free(t);
    return NULL;
}

static inline void z6_tls_free(z6_tls_t* t) {
    uint32_t i;
    if (t == NULL) return;
    for (i = 0; i < t->n_sessions; i++)
        if (t->sessions[i]) SSL_SESSION_free(t->sessions[i]);
    free(t->sessions);
    SSL_CTX_free(t->ctx);
    free(t);
}

/* A client connection for VU `idx` on connected socket `fd`: SNI and the
 * hostname (or IP) check from the URL's host, the VU's saved session. NULL
 * when OpenSSL is out of memory. */
static inline SSL* z6_tls_conn(z6_tls_t* t, int fd, uint32_t idx) {
    SSL* s = SSL_new(t->ctx);
    if (s == NULL) { ERR_clear_error(); return NULL; }
    SSL_set_app_data(s, (void*)(uintptr_t)idx);
    if (SSL_set_fd(s, fd) != 1) goto fail;
    if (!t->host_is_ip) {
        if (SSL_set_tlsext_host_name(s, t->host) != 1) goto fail;
        if (t->verify && SSL_set1_host(s, t->host) != 1) goto fail;
    } else if (t->verify) {
        if (X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(s), t->host) != 1) goto fail;
    }
    if (t->resume && idx < t->n_sessions && t->sessions[idx] != NULL) SSL_set_session(s, t->sessions[idx]);
    SSL_set_connect_state(s);
    return s;
fail:
    SSL_free(s);
    ERR_clear_error();
    return NULL;
}

/* Free a connection's SSL (before the socket is closed). `clean`: the
 * connection ended without a TLS failure, so its session stays resumable
 * (OpenSSL otherwise marks a session not shut down as unusable). No
 * close_notify is sent: the socket is closed at once. */
static inline void z6_tls_conn_free(SSL* s, int clean) {
    if (s == NULL) return;
    if (clean) SSL_set_shutdown(s, SSL_SENT_SHUTDOWN | SSL_RECEIVED_SHUTDOWN);
    SSL_free(s);
    ERR_clear_error();
}

/* Forget VU idx's session (after a TLS failure: start afresh). */
static inline void z6_tls_forget(z6_tls_t* t, uint32_t idx) {
    if (t != NULL && idx < t->n_sessions && t->sessions[idx] != NULL) {
        SSL_SESSION_free(t->sessions[idx]);
        t->sessions[idx] = NULL;
    }
}

/* Does OpenSSL hold bytes read from the socket but not yet returned? */
static inline int z6_tls_pending(SSL* s) { return SSL_has_pending(s); }

/* Was the handshake an abbreviated one (a resumed session)? */
static inline int z6_tls_resumed(SSL* s) { return SSL_session_reused(s); }

/* Map a failed handshake or I/O call to a driver error code. */
static inline int z6_tls_classify(SSL* s) {
    long v = SSL_get_verify_result(s);
    unsigned long e = ERR_peek_last_error();
    int reason = ERR_GET_REASON(e);
    if (e && ERR_GET_LIB(e) == ERR_LIB_SSL && reason == SSL_R_CERTIFICATE_VERIFY_FAILED && v != X509_V_OK) {
        switch (v) {
        case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
        case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
            return Z6_TLS_E_SELF_SIGNED;
        case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
        case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
        case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
            return Z6_TLS_E_UNKNOWN_CA;
        case X509_V_ERR_HOSTNAME_MISMATCH:
        case X509_V_ERR_IP_ADDRESS_MISMATCH:
            return Z6_TLS_E_HOSTNAME;
        case X509_V_ERR_CERT_HAS_EXPIRED:
        case X509_V_ERR_CERT_NOT_YET_VALID:
            return Z6_TLS_E_EXPIRED;
        default:
            return Z6_TLS_E_CERT_INVALID;
        }
    }
    if (e && ERR_GET_LIB(e) == ERR_LIB_SSL) {
        switch (reason) {
        case SSL_R_WRONG_VERSION_NUMBER:
        case SSL_R_PACKET_LENGTH_TOO_LONG:
        case SSL_R_UNKNOWN_PROTOCOL:
        case SSL_R_HTTP_REQUEST:
        case SSL_R_HTTPS_PROXY_REQUEST:
        case SSL_R_UNEXPECTED_MESSAGE:
        case SSL_R_UNEXPECTED_RECORD:
        case SSL_R_LENGTH_MISMATCH:
        case SSL_R_BAD_PACKET_LENGTH:
        case SSL_R_RECORD_LENGTH_MISMATCH:
            return SSL_is_init_finished(s) ? Z6_TLS_E_GENERIC : Z6_TLS_E_NOT_TLS;
        case SSL_R_UNSUPPORTED_PROTOCOL:
        case SSL_R_NO_PROTOCOLS_AVAILABLE:
        case SSL_R_TLSV1_ALERT_PROTOCOL_VERSION:
        case SSL_R_VERSION_TOO_LOW:
        case SSL_R_VERSION_TOO_HIGH:
            return Z6_TLS_E_VERSION;
        default:
            return SSL_is_init_finished(s) ? Z6_TLS_E_GENERIC : Z6_TLS_E_HANDSHAKE;
        }
    }
    return SSL_is_init_finished(s) ? Z6_TLS_E_GENERIC : Z6_TLS_E_HANDSHAKE;
}

static inline int z6_tls_status(SSL* s, int r, int* code) {
    int e = SSL_get_error(s, r);
    switch (e) {
    case SSL_ERROR_WANT_READ:
        return Z6_TLS_WANT_READ;
    case SSL_ERROR_WANT_WRITE:
        return Z6_TLS_WANT_WRITE;
    case SSL_ERROR_ZERO_RETURN:
        ERR_clear_error();
        return Z6_TLS_EOF;
    case SSL_ERROR_SYSCALL:
        if (ERR_peek_error() == 0) {
            ERR_clear_error();
            if (errno == 0) return Z6_TLS_EOF;
            return Z6_TLS_SYSCALL;
        }
        /* fall through: a TLS error after all */
    default:
        *code = z6_tls_classify(s);
        ERR_clear_error();
        return Z6_TLS_FAILED;
    }
}

/* Drive the handshake on. */
static inline int z6_tls_handshake(SSL* s, int* code) {
    int r;
    errno = 0;
    r = SSL_do_handshake(s);
    if (r == 1) return Z6_TLS_DONE;
    return z6_tls_status(s, r, code);
}

/* Read up to n decrypted bytes: > 0 bytes read; otherwise -(status). */
static inline long z6_tls_read(SSL* s, char* buf, size_t n, int* code) {
    size_t got = 0;
    errno = 0;
    if (SSL_read_ex(s, buf, n, &got) == 1) return (long)got;
    return -(long)z6_tls_status(s, 0, code);
}

/* Write up to n bytes: > 0 bytes written; otherwise -(status). */
static inline long z6_tls_write(SSL* s, const char* buf, size_t n, int* code) {
    size_t put = 0;
    errno = 0;
    if (SSL_write_ex(s, buf, n, &put) == 1) return (long)put;
    return -(long)z6_tls_status(s, 0, code);
}

#endif /* Z6_TLS_H */
