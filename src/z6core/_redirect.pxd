# cython: language_level=3
"""Following redirects in the live driver (declarations only; `z6_redirect.h`
resolves a Location against the run's origin and writes the next request)."""

cdef extern from "z6_redirect.h" nogil:
    const int Z6_REDIR_SAME
    const int Z6_REDIR_OFFSITE
    const int Z6_REDIR_BAD
    int z6_redirect_resolve(const char* loc, size_t n, int tls, const char* host, size_t hn, unsigned port,
                            const char* cur, size_t cn, char* out, size_t cap, size_t* out_len)
    int z6_redirect_to_get(unsigned status, const char* m, size_t mn)
    int z6_redirect_is_status(unsigned status)
    size_t z6_redirect_method_len(const char* req, size_t n)
    size_t z6_redirect_request(const char* req, size_t n, const char* path, size_t pn, int to_get, char* out)
