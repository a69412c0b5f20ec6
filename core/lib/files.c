/* core/lib/files.c — atomic file writes (temp, fsync, rename, fsync dir), whole-file reads,
 * mkdir -p, recursive removal and atomic publication of output directories. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <mergeval/files.h>
#include <mergeval/context.h>
#include "mv_out.h"

static void fsync_parent_dir(const char *path)
{
    char *copy = mv_strdup(path);
    if (!copy) return;
    int fd = open(dirname(copy), O_RDONLY | O_DIRECTORY);
    if (fd >= 0) { fsync(fd); close(fd); }
    mv_free(copy);
}

mv_status mv_write_file_atomic(const char *path, const void *data, size_t len, mv_error *err)
{
    static unsigned counter;
    size_t n = strlen(path) + 64;
    char *tmp = mv_malloc(n);
    if (!tmp) return mv_errorf(err, MV_E_NOMEM, "out of memory writing %s", path);
    snprintf(tmp, n, "%s.tmp.%ld.%u", path, (long)getpid(), __atomic_fetch_add(&counter, 1, __ATOMIC_RELAXED));
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        mv_status st = mv_errorf(err, MV_E_IO, "cannot create %s: %s", tmp, strerror(errno));
        mv_free(tmp);
        return st;
    }
    const char *p = data;
    size_t left = len;
    while (left > 0) {
        ssize_t w = write(fd, p, left);
        if (w < 0) {
            if (errno == EINTR) continue;
            goto io_fail;
        }
        p += w;
        left -= (size_t)w;
    }
    if (fsync(fd) != 0) goto io_fail;
    if (close(fd) != 0) { fd = -1; goto io_fail; }
    fd = -1;
    if (rename(tmp, path) != 0) goto io_fail;
    fsync_parent_dir(path);
    mv_free(tmp);
    return MV_OK;
io_fail:;
    mv_status st = mv_errorf(err, MV_E_IO, "cannot write %s: %s", path, strerror(errno));
    if (fd >= 0) close(fd);
    unlink(tmp);
    mv_free(tmp);
    return st;
}

mv_status mv_write_text_atomic(const char *path, const char *text, mv_error *err)
{
    return mv_write_file_atomic(path, text, strlen(text), err);
}

mv_status mv_read_file(const char *path, size_t max_bytes, char **out, size_t *len, mv_error *err)
{
    *out = NULL;
    if (max_bytes == 0) max_bytes = (size_t)1 << 30;
    int fd;
    mv_status st0 = mv_open_regular(path, &fd, err);
    if (st0) return st0;
    struct stat sb;
    if (fstat(fd, &sb) != 0) {
        close(fd);
        return mv_errorf(err, MV_E_IO, "cannot stat %s: %s", path, strerror(errno));
    }
    if ((uint64_t)sb.st_size > max_bytes) {
        close(fd);
        return mv_errorf(err, MV_E_INPUT, "%s is %lld bytes, more than the %zu allowed here", path,
                         (long long)sb.st_size, max_bytes);
    }
    size_t cap = (size_t)sb.st_size, used = 0;
    char *buf = mv_malloc(cap + 1);
    if (!buf) { close(fd); return mv_errorf(err, MV_E_NOMEM, "out of memory reading %s", path); }
    for (;;) {
        if (used == cap) { /* file grew (or is a pseudo-file): extend within the limit */
            if (cap >= max_bytes) break;
            size_t ncap = cap ? cap * 2 : 4096;
            if (ncap > max_bytes) ncap = max_bytes;
            char *nb = mv_realloc(buf, ncap + 1);
            if (!nb) { mv_free(buf); close(fd); return mv_errorf(err, MV_E_NOMEM, "out of memory reading %s", path); }
            buf = nb;
            cap = ncap;
        }
        ssize_t r = read(fd, buf + used, cap - used);
        if (r < 0) {
            if (errno == EINTR) continue;
            mv_status st = mv_errorf(err, MV_E_IO, "cannot read %s: %s", path, strerror(errno));
            mv_free(buf);
            close(fd);
            return st;
        }
        if (r == 0) break;
        used += (size_t)r;
    }
    close(fd);
    buf[used] = '\0';
    *out = buf;
    if (len) *len = used;
    return MV_OK;
}

mv_status mv_mkdirs(const char *path, mv_error *err)
{
    if (!path || !*path) return mv_errorf(err, MV_E_INPUT, "empty directory path");
    char *p = mv_strdup(path);
    if (!p) return mv_errorf(err, MV_E_NOMEM, "out of memory");
    for (char *s = p + 1; ; s++) {
        if (*s == '/' || *s == '\0') {
            char c = *s;
            *s = '\0';
            if (mkdir(p, 0755) != 0 && errno != EEXIST) {
                mv_status st = mv_errorf(err, MV_E_IO, "cannot create directory %s: %s", p, strerror(errno));
                mv_free(p);
                return st;
            }
            *s = c;
            if (c == '\0') break;
        }
    }
    mv_free(p);
    if (!mv_is_dir(path)) return mv_errorf(err, MV_E_IO, "%s exists and is not a directory", path);
    return MV_OK;
}

mv_status mv_remove_tree(const char *path, mv_error *err)
{
    if (!path || !*path || strcmp(path, "/") == 0)
        return mv_errorf(err, MV_E_INPUT, "refusing to remove '%s'", path ? path : "");
    struct stat sb;
    if (lstat(path, &sb) != 0) return errno == ENOENT ? MV_OK : mv_errorf(err, MV_E_IO, "cannot stat %s: %s", path, strerror(errno));
    if (!S_ISDIR(sb.st_mode)) {
        if (unlink(path) != 0) return mv_errorf(err, MV_E_IO, "cannot remove %s: %s", path, strerror(errno));
        return MV_OK;
    }
    DIR *d = opendir(path);
    if (!d) return mv_errorf(err, MV_E_IO, "cannot open directory %s: %s", path, strerror(errno));
    struct dirent *e;
    mv_status st = MV_OK;
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
        char *child = mv_path_join(path, e->d_name);
        if (!child) { st = mv_errorf(err, MV_E_NOMEM, "out of memory"); break; }
        st = mv_remove_tree(child, err);
        mv_free(child);
        if (st != MV_OK) break;
    }
    closedir(d);
    if (st == MV_OK && rmdir(path) != 0)
        st = mv_errorf(err, MV_E_IO, "cannot remove directory %s: %s", path, strerror(errno));
    return st;
}

/* A process killed while writing `dst` leaves "<dst>.tmp-<pid>-<n>" (or "<dst>.old-<pid>")
 * behind. Remove such siblings whose writer no longer runs, so repeated crashes do not pile
 * up gigabytes of half-written checkpoints; a live writer's temp directory is left alone. */
static void remove_stale_siblings(const char *dst)
{
    char *copy = mv_strdup(dst), *copy2 = mv_strdup(dst);
    if (!copy || !copy2) { mv_free(copy); mv_free(copy2); return; }
    const char *dir = dirname(copy), *base = basename(copy2);
    size_t blen = strlen(base);
    DIR *d = opendir(dir);
    struct dirent *e;
    while (d && (e = readdir(d)) != NULL) {
        const char *n = e->d_name;
        if (strncmp(n, base, blen) != 0) continue;
        const char *rest = n + blen;
        long pid = 0;
        char *end = NULL;
        if (strncmp(rest, ".tmp-", 5) == 0) {
            pid = strtol(rest + 5, &end, 10);
            if (!end || *end != '-') continue;
            char *end2 = NULL;
            strtoul(end + 1, &end2, 10);
            if (!end2 || *end2 != '\0' || end2 == end + 1) continue;
        } else if (strncmp(rest, ".old-", 5) == 0) {
            pid = strtol(rest + 5, &end, 10);
            if (!end || *end != '\0') continue;
        } else {
            continue;
        }
        if (pid <= 0 || pid == (long)getpid()) continue;
        if (kill((pid_t)pid, 0) == 0 || errno != ESRCH) continue; /* still running (or not ours to judge) */
        char *victim = mv_path_join(dir, n);
        if (victim) mv_remove_tree(victim, NULL);
        mv_free(victim);
    }
    if (d) closedir(d);
    mv_free(copy);
    mv_free(copy2);
}

mv_status mv_make_temp_sibling_dir(const char *dst, char **out, mv_error *err)
{
    remove_stale_siblings(dst);
    static unsigned counter;
    *out = NULL;
    /* Make sure the parent exists so the rename at publication stays within one fs. */
    char *copy = mv_strdup(dst);
    if (!copy) return mv_errorf(err, MV_E_NOMEM, "out of memory");
    mv_status st = mv_mkdirs(dirname(copy), err);
    mv_free(copy);
    if (st != MV_OK) return st;
    size_t n = strlen(dst) + 64;
    for (int attempt = 0; attempt < 100; attempt++) {
        char *tmp = mv_malloc(n);
        if (!tmp) return mv_errorf(err, MV_E_NOMEM, "out of memory");
        snprintf(tmp, n, "%s.tmp-%ld-%u", dst, (long)getpid(), __atomic_fetch_add(&counter, 1, __ATOMIC_RELAXED));
        if (mkdir(tmp, 0755) == 0) { *out = tmp; return MV_OK; }
        int e = errno;
        mv_free(tmp);
        if (e != EEXIST) return mv_errorf(err, MV_E_IO, "cannot create a temporary directory next to %s: %s", dst, strerror(e));
    }
    return mv_errorf(err, MV_E_IO, "cannot create a temporary directory next to %s", dst);
}

mv_status mv_replace_dir(const char *src, const char *dst, mv_error *err)
{
    mv_status st = MV_OK;
    char *old = NULL;
    struct stat sb;
    if (lstat(dst, &sb) == 0) {
        size_t n = strlen(dst) + 64;
        old = mv_malloc(n);
        if (!old) return mv_errorf(err, MV_E_NOMEM, "out of memory");
        snprintf(old, n, "%s.old-%ld", dst, (long)getpid());
        mv_remove_tree(old, NULL);
        if (rename(dst, old) != 0) {
            st = mv_errorf(err, MV_E_IO, "cannot move the previous %s aside: %s", dst, strerror(errno));
            goto out;
        }
    }
    if (rename(src, dst) != 0) {
        st = mv_errorf(err, MV_E_IO, "cannot move %s into place at %s: %s", src, dst, strerror(errno));
        if (old) rename(old, dst); /* put the previous output back */
        goto out;
    }
    fsync_parent_dir(dst);
    if (old) mv_remove_tree(old, NULL);
out:
    mv_free(old);
    return st;
}

mv_status mv_publish_dir(const char *src, const char *dst, mv_error *err)
{
    /* Only a folder mergeval wrote (or an empty one) is replaced: a plugin handed a user's
     * folder as its output must not delete it. The published folder is marked as ours. */
    mv_status st;
    if (mv_is_dir(dst) && (st = mv_out_check(dst, NULL, 0, 0, NULL, err)) != MV_OK) {
        mv_error_prefix(err, "cannot publish %s", src);
        return st;
    }
    if ((st = mv_out_mark(src, err)) != MV_OK) return st;
    return mv_replace_dir(src, dst, err);
}

int mv_path_exists(const char *path)
{
    struct stat sb;
    return path && stat(path, &sb) == 0;
}

int mv_is_dir(const char *path)
{
    struct stat sb;
    return path && stat(path, &sb) == 0 && S_ISDIR(sb.st_mode);
}

char *mv_path_join(const char *a, const char *b)
{
    if (!a || !*a) return mv_strdup(b);
    if (b && b[0] == '/') return mv_strdup(b);
    size_t la = strlen(a), lb = b ? strlen(b) : 0;
    char *s = mv_malloc(la + lb + 2);
    if (!s) return NULL;
    memcpy(s, a, la);
    size_t k = la;
    if (la && a[la - 1] != '/') s[k++] = '/';
    if (lb) memcpy(s + k, b, lb);
    s[k + lb] = '\0';
    return s;
}
