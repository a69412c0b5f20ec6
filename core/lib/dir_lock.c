/* core/lib/dir_lock.c — an exclusive lock on a run or training folder (mv_out.h): flock on
 * DIR/mergeval.lock, holder pid written into it. flock belongs to the open file, so the
 * kernel drops it when the holder dies (kill -9 included): a stale lock is just taken over. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>
#include <mergeval/context.h>
#include <mergeval/files.h>
#include "mv_out.h"

mv_status mv_dir_lock_take(mv_dir_lock *l, const char *dir, const char *what, mv_error *err)
{
    l->fd = -1;
    l->path = NULL;
    mv_status st = mv_mkdirs(dir, err);
    if (st != MV_OK) return st;
    char *path = mv_path_join(dir, MV_LOCK_FILE);
    if (!path) return mv_errorf(err, MV_E_NOMEM, "out of memory");
    /* The file is unlinked on release; a locker that opened it just before could then hold a
     * lock on a deleted file while a third creates a new one. Re-check after locking that
     * the path still names the file we locked, and retry if not. */
    for (int attempt = 0; attempt < 100; attempt++) {
        int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
        if (fd < 0) {
            st = mv_errorf(err, MV_E_IO, "cannot open the lock file %s: %s", path, strerror(errno));
            break;
        }
        if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
            int e = errno;
            char buf[32] = "";
            ssize_t n = pread(fd, buf, sizeof buf - 1, 0);
            close(fd);
            if (e != EWOULDBLOCK) {
                st = mv_errorf(err, MV_E_IO, "cannot lock %s: %s", path, strerror(e));
                break;
            }
            long pid = n > 0 ? strtol(buf, NULL, 10) : 0;
            if (pid > 0)
                st = mv_errorf(err, MV_E_INPUT, "%s is in use by another mergeval %s (pid %ld, lock "
                               "%s); wait for it to finish or stop it (kill %ld), or use another --out",
                               dir, what, pid, path, pid);
            else
                st = mv_errorf(err, MV_E_INPUT, "%s is in use by another mergeval %s (lock %s); wait "
                               "for it to finish, or use another --out", dir, what, path);
            break;
        }
        struct stat a, b;
        if (fstat(fd, &a) != 0 || stat(path, &b) != 0 || a.st_ino != b.st_ino || a.st_dev != b.st_dev) {
            close(fd);
            continue;
        }
        char pid[32];
        int n = snprintf(pid, sizeof pid, "%ld\n", (long)getpid());
        if (ftruncate(fd, 0) != 0 || pwrite(fd, pid, (size_t)n, 0) != n) {
            st = mv_errorf(err, MV_E_IO, "cannot write %s: %s", path, strerror(errno));
            close(fd);
            break;
        }
        l->fd = fd;
        l->path = path;
        return MV_OK;
    }
    if (st == MV_OK) st = mv_errorf(err, MV_E_IO, "cannot lock %s: it keeps being replaced", path);
    mv_free(path);
    return st;
}

void mv_dir_lock_release(mv_dir_lock *l)
{
    if (!l || l->fd < 0 || !l->path) return;
    unlink(l->path);  /* while still holding it, so no one locks the file being removed */
    close(l->fd);
    mv_free(l->path);
    l->fd = -1;
    l->path = NULL;
}
