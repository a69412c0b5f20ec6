/* tests/fuzz/fuzz_util.h — small helpers shared by the fuzz harnesses (tests/fuzz/fuzz_*.c):
 * a private temporary directory per process (removed at exit), writing the fuzz input to a
 * file in it, and a quiet single-threaded context. Header-only so a harness stays one file. */
#ifndef MV_FUZZ_UTIL_H
#define MV_FUZZ_UTIL_H

#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <mergeval/mergeval.h>

static char fz_dir_[256];
static pid_t fz_dir_owner_;

static inline void fz_cleanup_(void)
{
    /* Only the process that made it: forked children (the replay driver runs each input
     * in one) exit through atexit handlers too, and the parent still needs the files. */
    if (!fz_dir_[0] || getpid() != fz_dir_owner_) return;
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", fz_dir_);
    if (system(cmd) != 0) { /* best effort: a leftover temp dir is harmless */ }
}

/* The process's private temporary directory, created on first use under $FUZZ_TMPDIR, else
 * /dev/shm (memory: ~10x the executions per second of a disk-backed /tmp, as harnesses
 * write every input to a file), else $TMPDIR or /tmp; removed at exit. Aborts if it
 * cannot be made: a harness without it tests nothing. */
static inline const char *fz_dir(void)
{
    if (fz_dir_[0]) return fz_dir_;
    const char *t = getenv("FUZZ_TMPDIR");
    if (!t || !*t) t = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : getenv("TMPDIR");
    snprintf(fz_dir_, sizeof fz_dir_, "%s/mvfuzz-XXXXXX", t && *t ? t : "/tmp");
    if (!mkdtemp(fz_dir_)) { perror("fuzz: mkdtemp"); abort(); }
    fz_dir_owner_ = getpid();
    atexit(fz_cleanup_);
    return fz_dir_;
}

/* fz_dir()/name into buf (static storage per call site is the caller's). */
static inline const char *fz_path(char *buf, size_t cap, const char *name)
{
    snprintf(buf, cap, "%s/%s", fz_dir(), name);
    return buf;
}

/* Replace file `path` with exactly `size` bytes of `data`. Aborts on I/O failure (a disk
 * problem, not a finding). */
static inline void fz_write(const char *path, const void *data, size_t size)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (fd < 0) { perror(path); abort(); }
    const char *p = data;
    while (size > 0) {
        ssize_t n = write(fd, p, size);
        if (n <= 0) { perror(path); abort(); }
        p += n;
        size -= (size_t)n;
    }
    close(fd);
}

/* The input as a NUL-terminated string (mv_malloc'd; embedded NULs end it early, which is
 * what every text reader here sees of such a file anyway). */
static inline char *fz_text(const uint8_t *data, size_t size)
{
    char *s = mv_malloc(size + 1);
    if (!s) abort();
    memcpy(s, data, size);
    s[size] = '\0';
    return s;
}

/* A context with errors-only logging, no progress display and one thread (deterministic,
 * and cheap per execution). reg may be NULL. */
static inline mv_context *fz_context(mv_registry *reg)
{
    mv_context *ctx = NULL;
    mv_error err = { 0 };
    if (mv_context_new(&ctx, reg, &err) != MV_OK) { fprintf(stderr, "fuzz: %s\n", err.msg); abort(); }
    mv_context_set_log_level(ctx, MV_LOG_ERROR);
    mv_context_set_progress(ctx, 0);
    mv_context_set_threads(ctx, 1);
    return ctx;
}

#endif
