/* core/lib/files_regular.c — the one gate every reader of a user-named file goes through:
 * only regular files are opened for reading. A FIFO would block forever (mergeval inspect
 * on a FIFO hung), a device may never end, a socket cannot be opened at all. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <mergeval/files.h>

static const char *kind_name(mode_t m)
{
    if (S_ISDIR(m)) return "a directory";
    if (S_ISFIFO(m)) return "a FIFO (named pipe)";
    if (S_ISCHR(m)) return "a character device";
    if (S_ISBLK(m)) return "a block device";
    if (S_ISSOCK(m)) return "a socket";
    return "not a regular file";
}

static mv_status refuse(const char *path, mode_t m, mv_error *err)
{
    return mv_errorf(err, MV_E_INPUT, "%s is %s; only regular files (or symlinks to them) are "
                     "read", path, kind_name(m));
}

mv_status mv_check_regular(const char *path, mv_error *err)
{
    struct stat sb;
    if (stat(path, &sb) != 0)
        return mv_errorf(err, errno == ENOENT ? MV_E_NOT_FOUND : MV_E_IO, "cannot open %s: %s",
                         path, strerror(errno));
    return S_ISREG(sb.st_mode) ? MV_OK : refuse(path, sb.st_mode, err);
}

mv_status mv_check_input_path(const char *path, mv_error *err)
{
    struct stat sb;
    if (stat(path, &sb) != 0)
        return mv_errorf(err, errno == ENOENT ? MV_E_NOT_FOUND : MV_E_IO, "%s: %s", path,
                         strerror(errno));
    if (S_ISREG(sb.st_mode) || S_ISDIR(sb.st_mode)) return MV_OK;
    return mv_errorf(err, MV_E_INPUT, "%s is %s; only regular files and directories (or "
                     "symlinks to them) are read", path, kind_name(sb.st_mode));
}

mv_status mv_open_regular(const char *path, int *out, mv_error *err)
{
    mv_status st;
    *out = -1;
    /* stat first so a device is never even opened (opening some has side effects); then
     * open non-blocking (a FIFO swapped in meanwhile cannot block) and check the opened
     * file itself, which is what will be read. */
    if ((st = mv_check_regular(path, err))) return st;
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
    if (fd < 0)
        return mv_errorf(err, errno == ENOENT ? MV_E_NOT_FOUND : MV_E_IO, "cannot open %s: %s",
                         path, strerror(errno));
    struct stat sb;
    if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
        close(fd);
        return refuse(path, sb.st_mode, err);
    }
    int fl = fcntl(fd, F_GETFL);
    if (fl >= 0) fcntl(fd, F_SETFL, fl & ~O_NONBLOCK);
    *out = fd;
    return MV_OK;
}
