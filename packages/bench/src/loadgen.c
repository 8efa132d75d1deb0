/*
 * loadgen — tcpserv's echo load generator: one thread, nonblocking sockets, level-triggered
 * epoll. Prints one JSON line on stdout; diagnostics go to stderr.
 *
 *   loadgen -c CONNS -s SIZE -d SECONDS -w WARMUP [options] HOST PORT
 *
 * Times in the output are CLOCK_MONOTONIC microseconds (window_start_us, window_end_us):
 * the clock V8 stamps .cpuprofile samples with, so a profile can be cut to the window.
 *
 * One thread on purpose: the bench pins the load generator to one CPU (the server gets the
 * other), and more threads on one CPU only add switches. Its own CPU share is reported so a
 * reader can see when it, not the server, was the limit.
 *
 * A run has four phases:
 *
 *   connect ──▶ traffic: warm-up │ measured window │ ──▶ drain ──▶ close
 *   all sockets   every conn has K         stop issuing,   FIN, wait for the
 *   up first      messages in flight       wait for every  server's FIN
 *   (+ TLS        (or one per 1/R s)       echo
 *   handshake)
 *
 * - connect: every connection is set up (and with --tls its TLS 1.3 handshake done) before
 *   any byte is sent (paced by --connect-rate, failed attempts retried until
 *   --connect-budget), so accept speed never mixes with echo speed.
 * - traffic: each connection keeps K = --pipeline messages in flight (K = 1: ping-pong).
 *   Without --rate the next message is issued as soon as an echo completes; with --rate R
 *   each connection issues at most R messages per second, spread evenly (connection i at
 *   t0 + (i/C + n)/R); a tick that finds K messages still out is skipped (counted, never
 *   caught up). The measured window opens after the warm-up, but not before every
 *   connection has had one echo (at most --echo-wait more seconds), so it measures C live
 *   clients.
 * - drain: nothing new is issued; messages half written are finished; every echo is
 *   awaited. Only then are the byte totals exact: bytes_sent is what the server must have
 *   read, bytes_recv what it must have written (cleartext bytes with --tls).
 * - close: shutdown(SHUT_WR) on every socket (after a TLS close_notify with --tls), then
 *   wait for the server's FIN. A byte that arrives now is an error (the server sent more
 *   than it got).
 *
 * Messages: raw (default) SIZE bytes of a pseudo-random pattern; --line SIZE − 1 printable
 * bytes and a '\n'; --length-prefix a 4-byte big-endian length (SIZE − 4) and that many
 * payload bytes. A line or length-prefix echo that cuts frames and writes each back (with
 * its '\n' or header) returns exactly the bytes sent, so one check covers all three.
 *
 * Data integrity: message n of connection c is SIZE bytes of one pattern, at an offset
 * hashed from (c, n) (in framed modes the pattern is a run of whole frames and messages
 * start on frame boundaries). Every echoed byte is compared (memcmp) with the bytes it must
 * equal, so corruption, loss, duplication, reordering and mixing up two clients all show
 * up: as a mismatch, as excess bytes, or as a missing echo.
 *
 * Exit status: 0 clean; 1 errors, mismatches, failed connects, missing or undrained
 * echoes; 2 bad usage (or --tls in a build without OpenSSL).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>
#ifdef LOADGEN_TLS
#include <openssl/err.h>
#include <openssl/ssl.h>
#endif

/* ── Pattern ──────────────────────────────────────────────────────────────────────────
 * Raw: PATTERN_SPAN possible start offsets; the buffer is longer by the largest message so
 * every window [off, off + size) lies inside it. Framed: `frames` whole frames back to back,
 * a message is one of them. */
#define PATTERN_SPAN 65536u
#define MAX_SIZE (1u << 20)
#define MAX_PIPELINE 4096u
#define MAX_PIDS 64
enum framing { F_RAW, F_LINE, F_LENGTH };
static uint8_t *pattern;
static uint32_t frames; /* framed modes: frames in the pattern */

static uint32_t hash2(uint32_t conn, uint32_t seq) {
  /* A 32-bit mix (lowbias32) of (conn, seq): neighbours land far apart. */
  uint32_t x = conn * 0x9E3779B1u ^ (seq + 0x7F4A7C15u) * 0x85EBCA77u;
  x ^= x >> 16; x *= 0x7FEB352Du; x ^= x >> 15; x *= 0x846CA68Bu; x ^= x >> 16;
  return x;
}

/* ── Latency histogram ─────────────────────────────────────────────────────────────────
 * Log-linear over nanoseconds: values below 128 have a bucket each; above, every power of
 * two is split into 64 buckets, so a bucket is at most 1/64 of its value wide (reported at
 * its midpoint: error < 0.8 %).
 *
 *   idx 0..127            value itself
 *   idx 128 + 64k + j     [ (64 + j) << (k + 1), (65 + j) << (k + 1) )   k = msb - 7 */
#define H_SUB 64
#define H_BUCKETS (128 + 57 * H_SUB)
static uint64_t hist[H_BUCKETS];
static uint64_t hist_n, hist_max;
static double hist_sum;

static int h_index(uint64_t v) {
  if (v < 128) return (int)v;
  int msb = 63 - __builtin_clzll(v);
  int shift = msb - 6; /* top 7 bits kept: v >> shift in [64, 128) */
  return 128 + (shift - 1) * H_SUB + (int)((v >> shift) - 64);
}

static double h_value(int idx) {
  if (idx < 128) return idx;
  int shift = (idx - 128) / H_SUB + 1;
  uint64_t top = 64 + (uint64_t)((idx - 128) % H_SUB);
  return (double)(top << shift) + (double)(1ULL << shift) / 2.0;
}

static void h_record(uint64_t ns) {
  hist[h_index(ns)]++;
  hist_n++;
  hist_sum += (double)ns;
  if (ns > hist_max) hist_max = ns;
}

static double h_quantile_us(double q) {
  if (hist_n == 0) return 0;
  uint64_t rank = (uint64_t)(q * (double)hist_n + 0.999999);
  if (rank < 1) rank = 1;
  uint64_t seen = 0;
  for (int i = 0; i < H_BUCKETS; i++) {
    seen += hist[i];
    if (seen >= rank) return h_value(i) / 1000.0;
  }
  return (double)hist_max / 1000.0;
}

/* ── Clock, CPU ────────────────────────────────────────────────────────────────────── */
static uint64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static double self_cpu_s(void) {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) + (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

/* utime + stime of every thread of PID in seconds (/proc/PID/stat fields 14 and 15), or -1. */
static double proc_cpu_s(int pid) {
  if (pid <= 0) return -1;
  char path[64], buf[1024];
  snprintf(path, sizeof path, "/proc/%d/stat", pid);
  int fd = open(path, O_RDONLY);
  if (fd < 0) return -1;
  ssize_t n = read(fd, buf, sizeof buf - 1);
  close(fd);
  if (n <= 0) return -1;
  buf[n] = 0;
  char *p = strrchr(buf, ')'); /* the command name may hold spaces: skip past it */
  if (!p) return -1;
  unsigned long long ut = 0, st = 0;
  /* after ")": state(3) ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime(14) stime(15) */
  if (sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) != 2) return -1;
  return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

/* Busy and stolen CPU seconds of the whole machine, all CPUs (/proc/stat "cpu" line):
 * busy = user + nice + system + irq + softirq; idle, iowait and steal are not busy. */
static void machine_cpu_s(double *busy, double *steal) {
  *busy = *steal = -1;
  FILE *f = fopen("/proc/stat", "r");
  if (!f) return;
  unsigned long long us, ni, sy, id, io, irq, sirq, st = 0;
  if (fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &us, &ni, &sy, &id, &io, &irq, &sirq, &st) >= 7) {
    double hz = (double)sysconf(_SC_CLK_TCK);
    *busy = (double)(us + ni + sy + irq + sirq) / hz;
    *steal = (double)st / hz;
  }
  fclose(f);
}

/* ── Connections ───────────────────────────────────────────────────────────────────── */
enum state {
  C_NEW,        /* not yet attempted, or waiting for a retry */
  C_CONNECTING, /* connect() in progress */
  C_HANDSHAKE,  /* --tls: TCP up, TLS handshake in progress */
  C_LIVE,       /* connected (and handshaken): traffic */
  C_SHUT,       /* we sent FIN, waiting for the server's */
  C_DONE,       /* closed cleanly */
  C_DEAD,       /* failed: counted in errors or connect_failures */
};

/* Messages of one connection: [recv_seq, issued) are in flight; of those, send_seq is being
 * written (send_pos bytes of it so far) and recv_seq is being echoed (recv_pos bytes). */
struct conn {
  int fd;
  uint8_t state;
  uint8_t want_out;  /* EPOLLOUT registered */
  uint8_t bad;       /* message recv_seq had a wrong byte */
  uint8_t echoed;    /* at least one complete echo */
  uint8_t again;     /* --tls: decrypted bytes may be left in OpenSSL: read again */
  uint32_t send_pos, recv_pos;
  uint64_t issued, send_seq, recv_seq;
  uint32_t attempts;
  uint64_t t_retry;
  uint64_t t_attempt;
  void *ssl;         /* SSL * with --tls */
};

static struct {
  const char *host;
  int port;
  uint32_t conns, size, pipeline;
  int framing, tls;
  double duration, warmup, rate, connect_rate, connect_budget, echo_wait, drain_timeout, close_timeout;
  int server_pids[MAX_PIDS];
  int n_pids;
} opt = {
  .conns = 1, .size = 64, .pipeline = 1, .duration = 5, .warmup = 1, .rate = 0, .connect_rate = 5000,
  .connect_budget = 60, .echo_wait = 10, .drain_timeout = 10, .close_timeout = 5,
};

static struct conn *conns;
static uint64_t *stamps;      /* issue time of each message in flight: conn i, ring of ring_mask + 1 */
static uint32_t ring_mask;
static uint32_t *again_list, *again_next; /* --tls: connections to read again without waiting */
static uint32_t again_n;      /* entries in again_list; a connection is in it iff its `again` is set */
static int ep;
static struct sockaddr_storage addr;
static socklen_t addr_len;

/* Counters. "win_" ones cover the measured window only; the rest the whole run. */
static uint64_t bytes_sent, bytes_recv, msgs_done, win_msgs, mismatches, errors, excess_bytes;
static uint64_t connect_attempts, connect_retries, connect_failures, rate_skipped, echoed_conns;
static uint64_t undrained, close_timeouts, live;
static uint64_t settled;      /* connect phase: connections up or given up */
static uint64_t retry_waits;  /* connect phase: connections waiting for a retry */
static char first_error[400]; /* the first failure that counts against the run */
static char connect_note[200]; /* the last failed connect attempt (retried) */
static char tls_version[32] = "", tls_cipher[64] = "";

enum phase { P_CONNECT, P_WARMUP, P_WINDOW, P_DRAIN, P_CLOSE } phase;
static uint64_t t_start, t_traffic, t_win_start, t_win_end, t_all_echoed;

/* Where message `seq` of connection `conn` starts in the pattern. */
static uint32_t msg_off(uint32_t conn, uint64_t seq) {
  uint32_t h = hash2(conn, (uint32_t)seq);
  return opt.framing == F_RAW ? (h & (PATTERN_SPAN - 1)) : (h % frames) * opt.size;
}

static void fill_pattern(void) {
  size_t len;
  if (opt.framing == F_RAW) {
    len = PATTERN_SPAN + opt.size;
  } else {
    frames = PATTERN_SPAN / opt.size < 16 ? 16 : PATTERN_SPAN / opt.size;
    len = (size_t)frames * opt.size;
  }
  pattern = malloc(len);
  if (!pattern) { perror("loadgen: malloc"); exit(1); }
  uint64_t s = 0x2545F4914F6CDD1DULL; /* xorshift64* */
  for (size_t i = 0; i < len; i++) {
    s ^= s >> 12; s ^= s << 25; s ^= s >> 27;
    uint8_t b = (uint8_t)((s * 0x2545F4914F6CDD1DULL) >> 56);
    /* lines: printable ASCII only, so neither '\n' nor '\r' occurs inside a line */
    pattern[i] = opt.framing == F_LINE ? (uint8_t)(0x20 + b % 95) : b;
  }
  for (uint32_t f = 0; opt.framing != F_RAW && f < frames; f++) {
    uint8_t *p = pattern + (size_t)f * opt.size;
    if (opt.framing == F_LINE) {
      p[opt.size - 1] = '\n';
    } else {
      uint32_t n = opt.size - 4;
      p[0] = (uint8_t)(n >> 24); p[1] = (uint8_t)(n >> 16); p[2] = (uint8_t)(n >> 8); p[3] = (uint8_t)n;
    }
  }
}

/* ── TLS (OpenSSL libssl): client side, TLS 1.3 only, no certificate check ─────────── */
#ifdef LOADGEN_TLS
static SSL_CTX *tls_ctx;

static void tls_setup(void) {
  tls_ctx = SSL_CTX_new(TLS_client_method());
  if (!tls_ctx) { fprintf(stderr, "loadgen: SSL_CTX_new failed\n"); exit(1); }
  SSL_CTX_set_min_proto_version(tls_ctx, TLS1_3_VERSION);
  SSL_CTX_set_max_proto_version(tls_ctx, TLS1_3_VERSION);
  /* the bench's certificate is self-signed, made for the run: its identity is not the point */
  SSL_CTX_set_verify(tls_ctx, SSL_VERIFY_NONE, NULL);
  /* a peer that closes without close_notify reads as end of stream, not as an error */
  SSL_CTX_set_options(tls_ctx, SSL_OP_IGNORE_UNEXPECTED_EOF);
  /* a partial write is retried with the same bytes at the same place in the pattern */
  SSL_CTX_set_mode(tls_ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
}

static void tls_error_text(char *buf, size_t len) {
  unsigned long e = ERR_get_error();
  if (e) ERR_error_string_n(e, buf, len);
  else snprintf(buf, len, "%s", strerror(errno ? errno : EPROTO));
  ERR_clear_error();
}
#endif

static void free_tls(struct conn *c) {
#ifdef LOADGEN_TLS
  if (c->ssl) SSL_free((SSL *)c->ssl);
#endif
  c->ssl = NULL;
}

static void note_error(uint32_t i, const char *what, int err) {
  if (!first_error[0]) {
    snprintf(first_error, sizeof first_error, "conn %u: %s%s%s", i, what, err ? ": " : "", err ? strerror(err) : "");
  }
}

/* A failed attempt: closed now, retried after a jittered 50-250 ms while the budget lasts. */
static void retry_later(uint32_t i, uint64_t now, const char *what, const char *why) {
  struct conn *c = &conns[i];
  free_tls(c);
  if (c->fd >= 0) {
    epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
    close(c->fd);
  }
  c->fd = -1;
  c->state = C_NEW;
  c->t_retry = now + 50000000ULL + (uint64_t)(rand() % 200) * 1000000ULL;
  retry_waits++;
  snprintf(connect_note, sizeof connect_note, "conn %u: %s: %s", i, what, why);
}

static void set_events(uint32_t i, int want_out) {
  struct conn *c = &conns[i];
  struct epoll_event ev = { .events = EPOLLIN | EPOLLRDHUP | (want_out ? EPOLLOUT : 0), .data.u32 = i };
  if (epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev) < 0) perror("loadgen: epoll_ctl");
  c->want_out = (uint8_t)want_out;
}

static void kill_conn(uint32_t i, const char *why, int err) {
  struct conn *c = &conns[i];
  if (c->state == C_DEAD || c->state == C_DONE) return;
  if (phase == P_CONNECT) { /* closed by the server before traffic: try again */
    if (c->state == C_LIVE) { live--; settled--; }
    retry_later(i, now_ns(), why, err ? strerror(err) : "closed");
    return;
  }
  if (c->state == C_LIVE || c->state == C_SHUT) live--;
  note_error(i, why, err);
  errors++;
  free_tls(c);
  if (c->fd >= 0) close(c->fd);
  c->fd = -1;
  c->state = C_DEAD;
}

/* ── Connect phase ─────────────────────────────────────────────────────────────────── */
static void start_connect(uint32_t i, uint64_t now) {
  struct conn *c = &conns[i];
  int fd = socket(addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) { /* EMFILE/ENFILE: retrying will not help */
    note_error(i, "socket", errno);
    connect_failures++;
    settled++;
    c->state = C_DEAD;
    return;
  }
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  connect_attempts++;
  if (c->attempts++) connect_retries++;
  c->fd = fd;
  c->t_attempt = now;
  c->state = C_CONNECTING;
  struct epoll_event ev = { .events = EPOLLOUT, .data.u32 = i };
  epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
  c->want_out = 1;
  /* Most failures are reported later through EPOLLOUT + SO_ERROR; EAGAIN (no free local
   * port for the moment) and the like come back at once. */
  if (connect(fd, (struct sockaddr *)&addr, addr_len) < 0 && errno != EINPROGRESS) retry_later(i, now, "connect", strerror(errno));
}

static void go_live(uint32_t i) {
  struct conn *c = &conns[i];
  c->state = C_LIVE;
  live++;
  settled++;
  set_events(i, 0);
}

#ifdef LOADGEN_TLS
/* One step of the TLS handshake; it goes live when done, waits for the socket otherwise. */
static void do_handshake(uint32_t i, uint64_t now) {
  struct conn *c = &conns[i];
  ERR_clear_error();
  int r = SSL_connect((SSL *)c->ssl);
  if (r == 1) {
    if (!tls_version[0]) {
      snprintf(tls_version, sizeof tls_version, "%s", SSL_get_version((SSL *)c->ssl));
      snprintf(tls_cipher, sizeof tls_cipher, "%s", SSL_get_cipher_name((SSL *)c->ssl));
    }
    go_live(i);
    return;
  }
  int e = SSL_get_error((SSL *)c->ssl, r);
  if (e == SSL_ERROR_WANT_READ) { if (c->want_out) set_events(i, 0); return; }
  if (e == SSL_ERROR_WANT_WRITE) { if (!c->want_out) set_events(i, 1); return; }
  char why[160];
  tls_error_text(why, sizeof why);
  retry_later(i, now, "TLS handshake", why);
}
#endif

static void on_connected(uint32_t i, uint64_t now) {
  struct conn *c = &conns[i];
  int err = 0;
  socklen_t len = sizeof err;
  getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len);
  if (err) {
    retry_later(i, now, "connect", strerror(err));
    return;
  }
#ifdef LOADGEN_TLS
  if (opt.tls) {
    SSL *ssl = SSL_new(tls_ctx);
    if (!ssl || !SSL_set_fd(ssl, c->fd)) { fprintf(stderr, "loadgen: SSL_new failed\n"); exit(1); }
    SSL_set_connect_state(ssl);
    c->ssl = ssl;
    c->state = C_HANDSHAKE;
    set_events(i, 0);
    do_handshake(i, now);
    return;
  }
#endif
  go_live(i);
}

/* ── Socket I/O: plain or through OpenSSL. >0 bytes; 0 = would block; -1 = failed
 * (errno set, or EPROTO with the OpenSSL reason in tls_why); read: -2 = end of stream. */
static char tls_why[160];

static ssize_t conn_write(struct conn *c, const uint8_t *p, size_t n, int *want_read) {
  *want_read = 0;
#ifdef LOADGEN_TLS
  if (c->ssl) {
    ERR_clear_error();
    int r = SSL_write((SSL *)c->ssl, p, (int)n);
    if (r > 0) return r;
    int e = SSL_get_error((SSL *)c->ssl, r);
    if (e == SSL_ERROR_WANT_WRITE) return 0;
    if (e == SSL_ERROR_WANT_READ) { *want_read = 1; return 0; }
    tls_error_text(tls_why, sizeof tls_why);
    errno = EPROTO;
    return -1;
  }
#endif
  for (;;) {
    ssize_t r = write(c->fd, p, n);
    if (r >= 0) return r;
    if (errno == EINTR) continue;
    return errno == EAGAIN ? 0 : -1;
  }
}

static ssize_t conn_read(struct conn *c, uint8_t *p, size_t n) {
#ifdef LOADGEN_TLS
  if (c->ssl) {
    ERR_clear_error();
    int r = SSL_read((SSL *)c->ssl, p, (int)n);
    if (r > 0) return r;
    int e = SSL_get_error((SSL *)c->ssl, r);
    if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) return 0;
    if (e == SSL_ERROR_ZERO_RETURN) return -2;
    if (e == SSL_ERROR_SYSCALL && errno == 0) return -2;
    tls_error_text(tls_why, sizeof tls_why);
    errno = EPROTO;
    return -1;
  }
#endif
  for (;;) {
    ssize_t r = read(c->fd, p, n);
    if (r > 0) return r;
    if (r == 0) return -2;
    if (errno == EINTR) continue;
    return errno == EAGAIN ? 0 : -1;
  }
}

/* ── Traffic ───────────────────────────────────────────────────────────────────────── */
static void fail_io(uint32_t i, const char *what) {
  if (errno == EPROTO && conns[i].ssl) {
    char msg[240];
    snprintf(msg, sizeof msg, "%s: TLS: %s", what, tls_why);
    kill_conn(i, msg, 0);
  } else {
    kill_conn(i, what, errno);
  }
}

/* Writes what is issued and not yet written: plain sockets gather up to 64 messages into
 * one writev; TLS writes one message per SSL_write (one record each). */
static void pump_send(uint32_t i) {
  struct conn *c = &conns[i];
  const uint32_t S = opt.size;
  int want_read = 0;
  for (int round = 0; round < 64 && c->send_seq < c->issued; round++) {
    ssize_t n;
    size_t total;
    if (c->ssl) {
      total = S - c->send_pos;
      n = conn_write(c, pattern + msg_off(i, c->send_seq) + c->send_pos, total, &want_read);
    } else {
      struct iovec iov[64];
      int k = 0;
      total = 0;
      for (uint64_t seq = c->send_seq; seq < c->issued && k < 64; seq++, k++) {
        uint32_t from = seq == c->send_seq ? c->send_pos : 0;
        iov[k].iov_base = pattern + msg_off(i, seq) + from;
        iov[k].iov_len = S - from;
        total += S - from;
      }
      for (;;) {
        n = writev(c->fd, iov, k);
        if (n >= 0 || errno != EINTR) break;
      }
      if (n < 0 && errno == EAGAIN) n = 0;
    }
    if (n < 0) { fail_io(i, "write"); return; }
    bytes_sent += (uint64_t)n;
    for (size_t rem = (size_t)n; rem > 0;) {
      size_t need = S - c->send_pos;
      if (rem >= need) { rem -= need; c->send_seq++; c->send_pos = 0; }
      else { c->send_pos += (uint32_t)rem; rem = 0; }
    }
    if ((size_t)n < total) break; /* the socket is full: wait for EPOLLOUT */
  }
  /* TLS wanting to read before it can write resumes from the read side, not EPOLLOUT */
  int want = c->send_seq < c->issued && !want_read;
  if (want != c->want_out) set_events(i, want);
}

static void issue(uint32_t i, uint64_t now) {
  struct conn *c = &conns[i];
  stamps[(uint64_t)i * (ring_mask + 1) + (c->issued & ring_mask)] = now;
  c->issued++;
}

/* Flat out: keep K messages in flight while issuing. */
static void top_up(uint32_t i, uint64_t now) {
  struct conn *c = &conns[i];
  if (opt.rate != 0 || (phase != P_WARMUP && phase != P_WINDOW) || c->state != C_LIVE) return;
  while (c->issued - c->recv_seq < opt.pipeline) issue(i, now);
}

static void on_echo_complete(uint32_t i, uint64_t now) {
  struct conn *c = &conns[i];
  msgs_done++;
  if (c->bad) mismatches++;
  if (!c->echoed) {
    c->echoed = 1;
    if (++echoed_conns >= live && !t_all_echoed) t_all_echoed = now;
  }
  if (phase == P_WINDOW && now < t_win_end) {
    win_msgs++;
    h_record(now - stamps[(uint64_t)i * (ring_mask + 1) + (c->recv_seq & ring_mask)]);
  }
  c->recv_seq++;
  c->recv_pos = 0;
  c->bad = 0;
}

/* Checks echoed bytes against the messages they must belong to; 0 if the conn was killed. */
static int consume(uint32_t i, const uint8_t *p, size_t n, uint64_t now) {
  struct conn *c = &conns[i];
  const uint32_t S = opt.size;
  uint64_t written = c->send_seq * S + c->send_pos; /* only what was written can come back */
  uint64_t got = c->recv_seq * S + c->recv_pos;
  if (got + n > written) {
    excess_bytes += got + n - written;
    kill_conn(i, "server sent more bytes than it was sent", 0);
    return 0;
  }
  while (n > 0) {
    uint32_t need = S - c->recv_pos;
    uint32_t take = n < need ? (uint32_t)n : need;
    if (!c->bad && memcmp(p, pattern + msg_off(i, c->recv_seq) + c->recv_pos, take) != 0) c->bad = 1;
    p += take;
    n -= take;
    c->recv_pos += take;
    if (c->recv_pos == S) on_echo_complete(i, now);
  }
  return 1;
}

static uint8_t rbuf[1 << 16];

static void on_readable(uint32_t i, uint64_t now) {
  struct conn *c = &conns[i];
  for (int round = 0; round < 64; round++) {
    ssize_t n = conn_read(c, rbuf, sizeof rbuf);
    if (n == 0) break;
    if (n == -1) { fail_io(i, "read"); return; }
    if (n == -2) {
      if (c->state == C_SHUT) { /* the server's FIN after ours: clean */
        free_tls(c);
        close(c->fd);
        c->fd = -1;
        c->state = C_DONE;
        live--;
      } else {
        kill_conn(i, c->issued > c->recv_seq ? "server closed with an echo outstanding" : "server closed the connection", 0);
      }
      return;
    }
    bytes_recv += (uint64_t)n;
    if (!consume(i, rbuf, (size_t)n, now)) return;
    if (!c->ssl && (size_t)n < sizeof rbuf) break; /* socket drained for now (level-triggered anyway) */
  }
#ifdef LOADGEN_TLS
  /* bytes OpenSSL already decrypted are not seen by epoll: come back without waiting */
  if (c->ssl && SSL_pending((SSL *)c->ssl) > 0 && !c->again) {
    c->again = 1;
    again_list[again_n++] = i;
  }
#endif
  if (c->state == C_LIVE) {
    top_up(i, now);
    pump_send(i);
  }
}

/* ── Output ────────────────────────────────────────────────────────────────────────── */
static double machine_busy = -1, machine_steal = -1; /* over the window */
static double pid_cpu0[MAX_PIDS], pid_cpu[MAX_PIDS];

static const char *framing_name(void) {
  return opt.framing == F_LINE ? "line" : opt.framing == F_LENGTH ? "length-prefix" : "raw";
}

static void print_json(double connect_s, double win_s, double lg_cpu, double srv_cpu) {
  char pids[MAX_PIDS * 40 + 8] = "";
  size_t at = 0;
  for (int k = 0; k < opt.n_pids; k++) {
    at += (size_t)snprintf(pids + at, sizeof pids - at, "%s{\"pid\":%d,\"cpu_s\":%.4f}", k ? "," : "", opt.server_pids[k], pid_cpu[k]);
  }
  printf("{\"conns\":%u,\"size\":%u,\"pipeline\":%u,\"framing\":\"%s\",\"tls\":%s,\"tls_version\":\"%s\",\"tls_cipher\":\"%s\","
         "\"rate\":%g,\"seconds\":%.6f,\"warmup_s\":%.3f,"
         "\"msgs\":%llu,\"msgs_per_s\":%.1f,\"MB_per_s\":%.3f,"
         "\"p50_us\":%.1f,\"p90_us\":%.1f,\"p99_us\":%.1f,\"p999_us\":%.1f,\"max_us\":%.1f,\"mean_us\":%.1f,"
         "\"msgs_total\":%llu,\"bytes_sent\":%llu,\"bytes_recv\":%llu,"
         "\"errors\":%llu,\"mismatches\":%llu,\"excess_bytes\":%llu,\"undrained\":%llu,\"close_timeouts\":%llu,"
         "\"connect_failures\":%llu,\"connect_attempts\":%llu,\"connect_retries\":%llu,\"connect_s\":%.3f,"
         "\"echoed_conns\":%llu,\"all_echoed_s\":%.3f,\"rate_skipped\":%llu,"
         "\"loadgen_cpu_s\":%.4f,\"loadgen_cpu_pct\":%.1f,\"server_cpu_s\":%.4f,\"server_cpu_pct\":%.1f,"
         "\"server_pids\":[%s],"
         "\"machine_busy_s\":%.3f,\"machine_steal_s\":%.3f,"
         "\"window_start_us\":%.0f,\"window_end_us\":%.0f,"
         "\"first_error\":\"%s\"}\n",
         opt.conns, opt.size, opt.pipeline, framing_name(), opt.tls ? "true" : "false", tls_version, tls_cipher,
         opt.rate, win_s, (double)(t_win_start - t_traffic) / 1e9,
         (unsigned long long)win_msgs, win_s > 0 ? (double)win_msgs / win_s : 0.0,
         win_s > 0 ? (double)win_msgs * opt.size / win_s / 1e6 : 0.0,
         h_quantile_us(0.50), h_quantile_us(0.90), h_quantile_us(0.99), h_quantile_us(0.999),
         (double)hist_max / 1000.0, hist_n ? hist_sum / (double)hist_n / 1000.0 : 0.0,
         (unsigned long long)msgs_done, (unsigned long long)bytes_sent, (unsigned long long)bytes_recv,
         (unsigned long long)errors, (unsigned long long)mismatches, (unsigned long long)excess_bytes,
         (unsigned long long)undrained, (unsigned long long)close_timeouts,
         (unsigned long long)connect_failures, (unsigned long long)connect_attempts,
         (unsigned long long)connect_retries, connect_s,
         (unsigned long long)echoed_conns, t_all_echoed ? (double)(t_all_echoed - t_traffic) / 1e9 : -1.0,
         (unsigned long long)rate_skipped,
         lg_cpu, win_s > 0 ? lg_cpu / win_s * 100 : 0.0,
         srv_cpu, srv_cpu >= 0 && win_s > 0 ? srv_cpu / win_s * 100 : -1.0,
         pids, machine_busy, machine_steal, (double)t_win_start / 1e3, (double)t_win_end / 1e3, first_error);
  fflush(stdout);
}

static void usage(void) {
  fprintf(stderr,
    "usage: loadgen [options] HOST PORT\n"
    "  -c N                 connections (1)\n"
    "  -s BYTES             message size, 1..%u (64); --line: including the '\\n';\n"
    "                       --length-prefix: including the 4-byte header (5..)\n"
    "  -d SEC               measured seconds (5)\n"
    "  -w SEC               warm-up seconds (1)\n"
    "  --pipeline K         messages in flight per connection, 1..%u (1 = ping-pong)\n"
    "  --line               newline-terminated messages (SIZE - 1 printable bytes + '\\n')\n"
    "  --length-prefix      4-byte big-endian length (SIZE - 4) + payload\n"
    "  --tls                TLS 1.3 through OpenSSL (server certificate not checked)%s\n"
    "  --rate R             messages per second per connection; 0 = flat out (0)\n"
    "  --server-pid PID     also report that process's CPU time over the window;\n"
    "                       repeat for a server of several processes (summed, and per pid)\n"
    "  --connect-rate N     connect attempts per second (5000)\n"
    "  --connect-budget SEC time allowed for all connections to come up (60)\n"
    "  --echo-wait SEC      extra warm-up allowed for every connection to get one echo (10)\n"
    "  --drain-timeout SEC  time allowed for outstanding echoes at the end (10)\n"
    "  --close-timeout SEC  time allowed for the server's FINs (5)\n", MAX_SIZE, MAX_PIPELINE,
#ifdef LOADGEN_TLS
    ""
#else
    " [not in this build]"
#endif
  );
  exit(2);
}

static double num_arg(int *i, int argc, char **argv) {
  if (*i + 1 >= argc) usage();
  char *end;
  double v = strtod(argv[++*i], &end);
  if (*end || v < 0) usage();
  return v;
}

static double sum_pids(double *each) {
  double total = 0;
  for (int k = 0; k < opt.n_pids; k++) {
    each[k] = proc_cpu_s(opt.server_pids[k]);
    if (each[k] < 0) return -1;
    total += each[k];
  }
  return opt.n_pids ? total : -1;
}

int main(int argc, char **argv) {
  const char *pos[2];
  int npos = 0;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (!strcmp(a, "-c")) opt.conns = (uint32_t)num_arg(&i, argc, argv);
    else if (!strcmp(a, "-s")) opt.size = (uint32_t)num_arg(&i, argc, argv);
    else if (!strcmp(a, "-d")) opt.duration = num_arg(&i, argc, argv);
    else if (!strcmp(a, "-w")) opt.warmup = num_arg(&i, argc, argv);
    else if (!strcmp(a, "--pipeline")) opt.pipeline = (uint32_t)num_arg(&i, argc, argv);
    else if (!strcmp(a, "--line")) opt.framing = F_LINE;
    else if (!strcmp(a, "--length-prefix")) opt.framing = F_LENGTH;
    else if (!strcmp(a, "--tls")) opt.tls = 1;
    else if (!strcmp(a, "--rate")) opt.rate = num_arg(&i, argc, argv);
    else if (!strcmp(a, "--server-pid")) {
      if (opt.n_pids == MAX_PIDS) usage();
      opt.server_pids[opt.n_pids++] = (int)num_arg(&i, argc, argv);
    }
    else if (!strcmp(a, "--connect-rate")) opt.connect_rate = num_arg(&i, argc, argv);
    else if (!strcmp(a, "--connect-budget")) opt.connect_budget = num_arg(&i, argc, argv);
    else if (!strcmp(a, "--echo-wait")) opt.echo_wait = num_arg(&i, argc, argv);
    else if (!strcmp(a, "--drain-timeout")) opt.drain_timeout = num_arg(&i, argc, argv);
    else if (!strcmp(a, "--close-timeout")) opt.close_timeout = num_arg(&i, argc, argv);
    else if (a[0] == '-' && a[1]) usage();
    else if (npos < 2) pos[npos++] = a;
    else usage();
  }
  if (npos != 2 || opt.conns < 1 || opt.size < 1 || opt.size > MAX_SIZE || opt.duration <= 0 || opt.connect_rate <= 0
      || opt.pipeline < 1 || opt.pipeline > MAX_PIPELINE || (opt.framing == F_LENGTH && opt.size < 5)) usage();
#ifndef LOADGEN_TLS
  if (opt.tls) {
    fprintf(stderr, "loadgen: --tls: this build has no TLS (rebuild with -DLOADGEN_TLS -lssl -lcrypto; Debian: libssl-dev)\n");
    return 2;
  }
#else
  if (opt.tls) tls_setup();
#endif
  opt.host = pos[0];
  opt.port = atoi(pos[1]);

  memset(&addr, 0, sizeof addr);
  struct sockaddr_in *a4 = (struct sockaddr_in *)&addr;
  struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&addr;
  if (inet_pton(AF_INET, opt.host, &a4->sin_addr) == 1) {
    a4->sin_family = AF_INET;
    a4->sin_port = htons((uint16_t)opt.port);
    addr_len = sizeof *a4;
  } else if (inet_pton(AF_INET6, opt.host, &a6->sin6_addr) == 1) {
    a6->sin6_family = AF_INET6;
    a6->sin6_port = htons((uint16_t)opt.port);
    addr_len = sizeof *a6;
  } else {
    fprintf(stderr, "loadgen: HOST must be an IP address: %s\n", opt.host);
    return 2;
  }

  signal(SIGPIPE, SIG_IGN);
  srand(12345);
  fill_pattern();
  uint32_t ring = 1;
  while (ring < opt.pipeline) ring <<= 1;
  ring_mask = ring - 1;
  conns = calloc(opt.conns, sizeof *conns);
  stamps = calloc((size_t)opt.conns * ring, sizeof *stamps);
  again_list = calloc(opt.conns, sizeof *again_list);
  again_next = calloc(opt.conns, sizeof *again_next);
  ep = epoll_create1(EPOLL_CLOEXEC);
  if (!conns || !stamps || !again_list || !again_next || ep < 0) { perror("loadgen: setup"); return 1; }
  for (uint32_t i = 0; i < opt.conns; i++) conns[i].fd = -1;

  enum { MAX_EVENTS = 1024 };
  struct epoll_event evs[MAX_EVENTS];
  t_start = now_ns();
  const uint64_t connect_deadline = t_start + (uint64_t)(opt.connect_budget * 1e9);
  const double connect_gap_ns = 1e9 / opt.connect_rate;
  uint32_t next_new = 0;        /* connections never attempted: 0 .. next_new-1 have been */
  double lg_cpu0 = 0, srv_cpu0 = 0, lg_cpu = 0, srv_cpu = -1, busy0 = -1, steal0 = -1;
  uint64_t phase_deadline = 0;  /* end of the current drain/close phase */
  uint32_t rr = 0;              /* --rate: next connection due */
  uint64_t round = 0;           /* --rate: its period number */
  double connect_s = 0;

  phase = P_CONNECT;
  for (;;) {
    uint64_t now = now_ns();
    int64_t wait_ns = 100000000; /* wake at least every 100 ms */

    /* ── advance the phase machine ── */
    if (phase == P_CONNECT) {
      /* pace new attempts and retries: attempt k is due at t_start + k / connect_rate */
      uint64_t allowed = (uint64_t)((double)(now - t_start) / connect_gap_ns) + 1;
      while (next_new < opt.conns && connect_attempts < allowed) start_connect(next_new++, now);
      if (retry_waits) {
        for (uint32_t i = 0; i < next_new && connect_attempts < allowed; i++) {
          if (conns[i].state == C_NEW && conns[i].t_retry <= now) {
            retry_waits--;
            start_connect(i, now);
          }
        }
      }
      if (settled == opt.conns || now >= connect_deadline) {
        for (uint32_t i = 0; i < opt.conns; i++) {
          struct conn *c = &conns[i];
          if (c->state == C_NEW || c->state == C_CONNECTING || c->state == C_HANDSHAKE) {
            free_tls(c);
            if (c->fd >= 0) close(c->fd);
            c->fd = -1;
            c->state = C_DEAD;
            connect_failures++;
            if (!first_error[0]) {
              snprintf(first_error, sizeof first_error, "conn %u never came up in the connect budget (last failed attempt: %s)",
                       i, connect_note[0] ? connect_note : "-");
            }
          }
        }
        connect_s = (double)(now - t_start) / 1e9;
        if (live == 0) {
          fprintf(stderr, "loadgen: no connection came up (%s)\n", first_error);
          print_json(connect_s, 0, 0, -1);
          return 1;
        }
        phase = P_WARMUP;
        t_traffic = now;
        for (uint32_t i = 0; i < opt.conns; i++) {
          if (conns[i].state != C_LIVE) continue;
          top_up(i, now);
          pump_send(i);
        }
        continue;
      }
      wait_ns = retry_waits || next_new < opt.conns ? (int64_t)connect_gap_ns : 10000000;
    } else if (phase == P_WARMUP) {
      uint64_t warm_end = t_traffic + (uint64_t)(opt.warmup * 1e9);
      uint64_t give_up = warm_end + (uint64_t)(opt.echo_wait * 1e9);
      if (now >= warm_end && (echoed_conns >= live || now >= give_up)) {
        phase = P_WINDOW;
        t_win_start = now;
        t_win_end = now + (uint64_t)(opt.duration * 1e9);
        lg_cpu0 = self_cpu_s();
        srv_cpu0 = sum_pids(pid_cpu0);
        machine_cpu_s(&busy0, &steal0);
        continue;
      }
      wait_ns = now < warm_end ? (int64_t)(warm_end - now) : 10000000;
    } else if (phase == P_WINDOW) {
      if (now >= t_win_end) {
        lg_cpu = self_cpu_s() - lg_cpu0;
        double s1 = sum_pids(pid_cpu);
        srv_cpu = srv_cpu0 >= 0 && s1 >= 0 ? s1 - srv_cpu0 : -1;
        for (int k = 0; k < opt.n_pids; k++) pid_cpu[k] = srv_cpu >= 0 ? pid_cpu[k] - pid_cpu0[k] : -1;
        double busy1, steal1;
        machine_cpu_s(&busy1, &steal1);
        if (busy0 >= 0 && busy1 >= 0) {
          machine_busy = busy1 - busy0;
          machine_steal = steal1 - steal0;
        }
        phase = P_DRAIN;
        phase_deadline = now + (uint64_t)(opt.drain_timeout * 1e9);
        continue;
      }
      wait_ns = (int64_t)(t_win_end - now);
    } else if (phase == P_DRAIN) {
      uint64_t busy = 0;
      uint32_t first_busy = 0;
      for (uint32_t i = 0; i < opt.conns; i++) {
        if (conns[i].state == C_LIVE && conns[i].issued > conns[i].recv_seq && !busy++) first_busy = i;
      }
      if (busy == 0 || now >= phase_deadline) {
        undrained = busy;
        if (busy) note_error(first_busy, "echo still outstanding after the drain timeout", 0);
        for (uint32_t i = 0; i < opt.conns; i++) {
          struct conn *c = &conns[i];
          if (c->state != C_LIVE) continue;
          if (c->issued > c->recv_seq) {
            kill_conn(i, "echo outstanding after the drain timeout", 0);
            continue;
          }
#ifdef LOADGEN_TLS
          if (c->ssl) SSL_shutdown((SSL *)c->ssl); /* close_notify; its reply is read as end of stream */
#endif
          shutdown(c->fd, SHUT_WR);
          c->state = C_SHUT;
          if (c->want_out) set_events(i, 0);
        }
        phase = P_CLOSE;
        phase_deadline = now + (uint64_t)(opt.close_timeout * 1e9);
        continue;
      }
      wait_ns = 10000000;
    } else { /* P_CLOSE */
      if (live == 0 || now >= phase_deadline) {
        for (uint32_t i = 0; i < opt.conns; i++) {
          if (conns[i].state == C_SHUT) {
            free_tls(&conns[i]);
            close(conns[i].fd);
            conns[i].state = C_DONE;
            if (!close_timeouts++) note_error(i, "the server did not close its side within the close timeout", 0);
          }
        }
        break;
      }
      wait_ns = (int64_t)(phase_deadline - now);
    }

    /* ── --rate: issue every message that has fallen due ── */
    if (opt.rate > 0 && (phase == P_WARMUP || phase == P_WINDOW)) {
      const double period_ns = 1e9 / opt.rate;
      for (;;) {
        uint64_t due = t_traffic + (uint64_t)(((double)rr / opt.conns + (double)round) * period_ns);
        if (due > now) {
          if ((int64_t)(due - now) < wait_ns) wait_ns = (int64_t)(due - now);
          break;
        }
        struct conn *c = &conns[rr];
        if (c->state == C_LIVE) {
          if (c->issued - c->recv_seq < opt.pipeline) {
            issue(rr, now);
            pump_send(rr);
          } else {
            rate_skipped++;
          }
        }
        if (++rr == opt.conns) { rr = 0; round++; }
      }
    }

    /* ── wait for sockets ── epoll_wait counts in ms: round up, so we never spin */
    int timeout_ms = again_n ? 0 : wait_ns <= 0 ? 0 : (int)((wait_ns + 999999) / 1000000);
    int n = epoll_wait(ep, evs, MAX_EVENTS, timeout_ms);
    if (n < 0) {
      if (errno == EINTR) continue;
      perror("loadgen: epoll_wait");
      return 1;
    }
    now = now_ns();
    for (int k = 0; k < n; k++) {
      uint32_t i = evs[k].data.u32;
      struct conn *c = &conns[i];
      uint32_t e = evs[k].events;
      if (c->state == C_CONNECTING) {
        if (e & (EPOLLOUT | EPOLLERR | EPOLLHUP)) on_connected(i, now);
        continue;
      }
#ifdef LOADGEN_TLS
      if (c->state == C_HANDSHAKE) {
        do_handshake(i, now);
        continue;
      }
#endif
      if (c->state != C_LIVE && c->state != C_SHUT) continue;
      if (e & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) on_readable(i, now);
      if (c->state == C_LIVE && (e & EPOLLOUT)) pump_send(i);
    }
    /* --tls: connections with decrypted bytes still inside OpenSSL (bounded: each is read once) */
    uint32_t pending = again_n;
    uint32_t *todo = again_list;
    again_list = again_next; /* new entries go to the other list while this one is read */
    again_next = todo;
    again_n = 0;
    for (uint32_t k = 0; k < pending; k++) {
      uint32_t i = todo[k];
      conns[i].again = 0;
      if (conns[i].state == C_LIVE || conns[i].state == C_SHUT) on_readable(i, now);
    }
  }

  double win_s = (double)(t_win_end - t_win_start) / 1e9;
  print_json(connect_s, win_s, lg_cpu, srv_cpu);
  if (errors || mismatches || connect_failures || undrained || close_timeouts) {
    fprintf(stderr, "loadgen: FAILED: errors=%llu mismatches=%llu connect_failures=%llu undrained=%llu close_timeouts=%llu (%s)\n",
            (unsigned long long)errors, (unsigned long long)mismatches, (unsigned long long)connect_failures,
            (unsigned long long)undrained, (unsigned long long)close_timeouts, first_error[0] ? first_error : "-");
    return 1;
  }
  if (echoed_conns < opt.conns) {
    fprintf(stderr, "loadgen: FAILED: only %llu of %u connections ever got an echo\n",
            (unsigned long long)echoed_conns, opt.conns);
    return 1;
  }
  return 0;
}
