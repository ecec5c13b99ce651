/* z6_net.h: the live driver's view of the OS: a monotonic clock, non-blocking
 * TCP sockets and a readiness poller (epoll on Linux, poll(2) elsewhere).
 *
 * Plain C, static inline, no allocation outside z6_poller_init/free. Every
 * function reports failure through its return value and errno; none blocks
 * except z6_poller_wait, for at most its timeout.
 */
#ifndef Z6_NET_H
#define Z6_NET_H

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <fcntl.h>
#include <unistd.h>
#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
/* Z6_FORCE_POLL builds the poll(2) fallback on Linux too, so the portable
 * branch is compiled and tested where CI runs (see docs/live.md). */
#if defined(__linux__) && !defined(Z6_FORCE_POLL)
#include <sys/epoll.h>
#include <sys/syscall.h>
#define Z6_POLLER_KIND "epoll"
#else
#include <poll.h>
#define Z6_POLLER_KIND "poll"
#endif

/* Readiness flags reported by z6_poller_wait. */
#define Z6_READABLE 1u
#define Z6_WRITABLE 2u
#define Z6_HANGUP 4u   /* error or hang-up: the next read/write or SO_ERROR says which */

static inline uint64_t z6_mono_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Open a non-blocking TCP socket and start connecting to `addr`. Returns the
 * fd (connect in progress or done) or -1 with errno set. TCP_NODELAY because a
 * request is written in one go and waiting for Nagle only adds latency. */
static inline int z6_tcp_connect(const void* addr, uint32_t addr_len) {
    const struct sockaddr* sa = (const struct sockaddr*)addr;
    int fd, one = 1, saved;
#if defined(SOCK_NONBLOCK) && defined(SOCK_CLOEXEC)
    fd = socket(sa->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) return -1;
#else
    fd = socket(sa->sa_family, SOCK_STREAM, 0);
    if (fd < 0) return -1;
    if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL, 0) | O_NONBLOCK) < 0 ||
        fcntl(fd, F_SETFD, FD_CLOEXEC) < 0) {
        saved = errno; close(fd); errno = saved; return -1;
    }
#endif
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    if (connect(fd, sa, (socklen_t)addr_len) < 0 && errno != EINPROGRESS && errno != EINTR) {
        saved = errno; close(fd); errno = saved; return -1;
    }
    return fd;
}

/* The pending error of a socket (0 when none): how a finished non-blocking
 * connect reports refusal. */
static inline int z6_socket_error(int fd) {
    int err = 0;
    socklen_t len = sizeof(err);
    if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0) return errno;
    return err;
}

/* Fill `out` (a sockaddr_storage) from a family, raw address bytes (4 for IPv4,
 * 16 for IPv6) and a port; returns the address length, 0 for a bad family. Built
 * here because the struct's layout differs between platforms. */
static inline uint32_t z6_make_sockaddr(void* out, int family, const unsigned char* addr, uint16_t port) {
    memset(out, 0, sizeof(struct sockaddr_storage));
    if (family == AF_INET) {
        struct sockaddr_in* a = (struct sockaddr_in*)out;
        a->sin_family = AF_INET;
        a->sin_port = htons(port);
        memcpy(&a->sin_addr, addr, 4);
        return (uint32_t)sizeof(*a);
    }
    if (family == AF_INET6) {
        struct sockaddr_in6* a = (struct sockaddr_in6*)out;
        a->sin6_family = AF_INET6;
        a->sin6_port = htons(port);
        memcpy(&a->sin6_addr, addr, 16);
        return (uint32_t)sizeof(*a);
    }
    return 0;
}

static inline int z6_errno(void) { return errno; }
static inline int z6_would_block(int err) { return err == EAGAIN || err == EWOULDBLOCK || err == EINTR; }
static inline int z6_is_reset(int err) { return err == ECONNRESET || err == EPIPE || err == ECONNABORTED; }
static inline int z6_is_refused(int err) { return err == ECONNREFUSED; }
/* Out of something on our side: descriptors, buffers, or local ports
 * (EADDRNOTAVAIL from connect: no free ephemeral port), not the target's fault. */
static inline int z6_is_fd_exhaustion(int err) {
    return err == EMFILE || err == ENFILE || err == ENOBUFS || err == ENOMEM || err == EADDRNOTAVAIL || err == EADDRINUSE;
}
static inline int z6_is_unreachable(int err) { return err == ENETUNREACH || err == EHOSTUNREACH; }
static inline int z6_is_timed_out(int err) { return err == ETIMEDOUT; }

/* Has the peer closed (or sent something on) an idle connection? 1 = closed
 * or bytes waiting (either way it cannot carry a new request), 0 = usable.
 * One non-blocking peek: used only on connections idle long enough for a
 * server's idle timeout to have closed them. */
static inline int z6_idle_connection_dead(int fd) {
    char b;
    long n = (long)recv(fd, &b, 1, MSG_PEEK | MSG_DONTWAIT);
    if (n < 0) return !(errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR);
    return 1;
}

/* Write without SIGPIPE: a peer that closed must give EPIPE, not kill us. */
static inline long z6_send(int fd, const char* buf, size_t n) {
#if defined(MSG_NOSIGNAL)
    return (long)send(fd, buf, n, MSG_NOSIGNAL);
#else
    return (long)write(fd, buf, n);
#endif
}

static inline long z6_recv(int fd, char* buf, size_t n) { return (long)read(fd, buf, n); }
static inline void z6_close(int fd) { close(fd); }

typedef struct {
    uint32_t token;   /* the caller's tag for the fd (a VU index) */
    uint32_t flags;   /* Z6_READABLE | Z6_WRITABLE | Z6_HANGUP */
} z6_ready_t;

#if defined(__linux__) && !defined(Z6_FORCE_POLL)
/* ------------------------------------------------------------ epoll */
typedef struct {
    int epfd;
    int cap;
    int has_pwait2;   /* epoll_pwait2 (Linux 5.11) takes a nanosecond timeout */
    struct epoll_event* events;
} z6_poller_t;

static inline int z6_poller_init(z6_poller_t* p, int max_fds, int batch) {
    (void)max_fds;
    p->epfd = epoll_create1(EPOLL_CLOEXEC);
    p->cap = batch;
    p->has_pwait2 = 1;
    p->events = (struct epoll_event*)malloc(sizeof(struct epoll_event) * (size_t)batch);
    if (p->epfd < 0 || p->events == NULL) {
        if (p->epfd >= 0) close(p->epfd);
        free(p->events);
        p->epfd = -1;
        p->events = NULL;
        return -1;
    }
    return 0;
}

static inline void z6_poller_free(z6_poller_t* p) {
    if (p->epfd >= 0) close(p->epfd);
    free(p->events);
    p->epfd = -1;
    p->events = NULL;
}

static inline int z6_poller_ctl(z6_poller_t* p, int op, int fd, uint32_t token, int want_write) {
    struct epoll_event ev;
    memset(&ev, 0, sizeof(ev));
    ev.events = EPOLLIN | EPOLLRDHUP | (want_write ? EPOLLOUT : 0);
    ev.data.u32 = token;
    return epoll_ctl(p->epfd, op, fd, &ev);
}

/* Watch `fd` for reading, and for writing too when `want_write`. */
static inline int z6_poller_add(z6_poller_t* p, int fd, uint32_t token, int want_write) {
    return z6_poller_ctl(p, EPOLL_CTL_ADD, fd, token, want_write);
}
static inline int z6_poller_mod(z6_poller_t* p, int fd, uint32_t token, int want_write) {
    return z6_poller_ctl(p, EPOLL_CTL_MOD, fd, token, want_write);
}
/* Closing an fd removes it from epoll; the explicit delete keeps poll() symmetric. */
static inline int z6_poller_del(z6_poller_t* p, int fd) {
    struct epoll_event ev;
    return epoll_ctl(p->epfd, EPOLL_CTL_DEL, fd, &ev);
}

/* Wait up to timeout_ns. epoll_wait counts milliseconds, which would make every
 * think time up to 1 ms late; epoll_pwait2 is used where the kernel has it. */
static inline int z6_poller_wait(z6_poller_t* p, z6_ready_t* out, uint64_t timeout_ns) {
    int n = -1, i;
    uint32_t e, f;
#if defined(SYS_epoll_pwait2)
    if (p->has_pwait2) {
        struct timespec ts;
        ts.tv_sec = (time_t)(timeout_ns / 1000000000ull);
        ts.tv_nsec = (long)(timeout_ns % 1000000000ull);
        n = (int)syscall(SYS_epoll_pwait2, p->epfd, p->events, p->cap, &ts, NULL, 0);
        /* ENOSYS: an older kernel; EPERM: a seccomp filter (some container
           runtimes) that refuses system calls it does not know. */
        if (n < 0 && (errno == ENOSYS || errno == EPERM)) p->has_pwait2 = 0;
    }
    if (!p->has_pwait2)
#endif
        n = epoll_wait(p->epfd, p->events, p->cap, timeout_ns > 2000000000000ull ? 2000000 : (int)((timeout_ns + 999999) / 1000000));
    if (n < 0) return errno == EINTR ? 0 : -1;
    for (i = 0; i < n; i++) {
        e = p->events[i].events;
        f = 0;
        if (e & (EPOLLIN | EPOLLRDHUP)) f |= Z6_READABLE;
        if (e & EPOLLOUT) f |= Z6_WRITABLE;
        if (e & (EPOLLERR | EPOLLHUP)) f |= Z6_HANGUP;
        out[i].token = p->events[i].data.u32;
        out[i].flags = f;
    }
    return n;
}
#else
/* ------------------------------------------------------------ poll(2) fallback:
 * a dense pollfd array; slot_of[token] finds an fd's entry in O(1). */
typedef struct {
    struct pollfd* fds;
    uint32_t* token_of;   /* token of each pollfd entry */
    int32_t* slot_of;     /* pollfd entry of each token, -1 when none */
    int n, cap, max_tokens;
} z6_poller_t;

static inline int z6_poller_init(z6_poller_t* p, int max_fds, int batch) {
    int i;
    (void)batch;
    p->n = 0;
    p->cap = max_fds;
    p->max_tokens = max_fds;
    p->fds = (struct pollfd*)malloc(sizeof(struct pollfd) * (size_t)max_fds);
    p->token_of = (uint32_t*)malloc(sizeof(uint32_t) * (size_t)max_fds);
    p->slot_of = (int32_t*)malloc(sizeof(int32_t) * (size_t)max_fds);
    if (!p->fds || !p->token_of || !p->slot_of) {
        free(p->fds); free(p->token_of); free(p->slot_of);
        p->fds = NULL; p->token_of = NULL; p->slot_of = NULL;
        return -1;
    }
    for (i = 0; i < max_fds; i++) p->slot_of[i] = -1;
    return 0;
}

static inline void z6_poller_free(z6_poller_t* p) {
    free(p->fds); free(p->token_of); free(p->slot_of);
    p->fds = NULL; p->token_of = NULL; p->slot_of = NULL;
}

static inline int z6_poller_add(z6_poller_t* p, int fd, uint32_t token, int want_write) {
    if (p->n >= p->cap || (int)token >= p->max_tokens) { errno = ENOMEM; return -1; }
    p->fds[p->n].fd = fd;
    p->fds[p->n].events = (short)(POLLIN | (want_write ? POLLOUT : 0));
    p->fds[p->n].revents = 0;
    p->token_of[p->n] = token;
    p->slot_of[token] = p->n;
    p->n++;
    return 0;
}

static inline int z6_poller_mod(z6_poller_t* p, int fd, uint32_t token, int want_write) {
    int32_t s = p->slot_of[token];
    (void)fd;
    if (s < 0) { errno = ENOENT; return -1; }
    p->fds[s].events = (short)(POLLIN | (want_write ? POLLOUT : 0));
    return 0;
}

static inline int z6_poller_del(z6_poller_t* p, int fd) {
    int i;
    for (i = 0; i < p->n; i++) {
        if (p->fds[i].fd == fd) {
            p->slot_of[p->token_of[i]] = -1;
            p->n--;
            if (i != p->n) {
                p->fds[i] = p->fds[p->n];
                p->token_of[i] = p->token_of[p->n];
                p->slot_of[p->token_of[i]] = i;
            }
            return 0;
        }
    }
    errno = ENOENT;
    return -1;
}

static inline int z6_poller_wait(z6_poller_t* p, z6_ready_t* out, uint64_t timeout_ns) {
    int timeout_ms = timeout_ns > 2000000000000ull ? 2000000 : (int)((timeout_ns + 999999) / 1000000);
    int n = poll(p->fds, (nfds_t)p->n, timeout_ms), i, k = 0;
    uint32_t f;
    short r;
    if (n < 0) return errno == EINTR ? 0 : -1;
    for (i = 0; i < p->n && k < n; i++) {
        r = p->fds[i].revents;
        if (!r) continue;
        f = 0;
        if (r & POLLIN) f |= Z6_READABLE;
        if (r & POLLOUT) f |= Z6_WRITABLE;
        if (r & (POLLERR | POLLHUP | POLLNVAL)) f |= Z6_HANGUP;
        out[k].token = p->token_of[i];
        out[k].flags = f;
        k++;
    }
    return k;
}
#endif

#endif /* Z6_NET_H */
