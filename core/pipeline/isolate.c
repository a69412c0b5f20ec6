/* core/pipeline/isolate.c — run one stage in a forked child (`mergeval run --isolate`): a
 * plugin that crashes or hangs takes down only the child. The child's status and message
 * come back through a pipe as a completion record (no record = failure, whatever the exit
 * code); a signal or a timeout is reported with the stage description (the caller prefixes
 * stage id and plugin); a timeout kills the stage's whole process group. No retries here: the run stays resumable and the user reruns. */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <sys/prctl.h>
#include <unistd.h>
#include "runner_internal.h"

/* "MVSTAGE" + 3-digit status, then the error message (if any). */
#define RECORD_MAGIC "MVSTAGE"
#define RECORD_HEAD (sizeof RECORD_MAGIC - 1 + 3)

/* The stage child leads its own process group: kill the group (commands the stage started
 * and left in it die too), and the child itself in case it had not set up the group yet. */
static void kill_stage(pid_t pid)
{
    kill(-pid, SIGKILL);
    kill(pid, SIGKILL);
}

mv_status mv_run_isolated(mv_stage_fn fn, void *arg, double timeout, const char *desc,
                          mv_error *err)
{
    int fds[2];
    if (pipe(fds) != 0) return mv_errorf(err, MV_E_IO, "pipe: %s", strerror(errno));
    fflush(stdout);
    fflush(stderr);
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid < 0) {
        close(fds[0]); close(fds[1]);
        return mv_errorf(err, MV_E_IO, "fork: %s", strerror(errno));
    }
    if (pid == 0) {
        /* Die with the runner: after a kill -9 of `mergeval run`, an orphaned stage must not
         * go on writing into the run directory while the resumed run redoes that stage. */
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent) _exit(MV_E_RUNTIME);
        /* Own process group, so a timeout kills whatever the stage started along with it. */
        setpgid(0, 0);
        close(fds[0]);
        mv_error e;
        mv_error_clear(&e);
        mv_status st = fn(arg, &e);
        /* The completion record: only a stage that returned through here reports at all, so
         * a plugin calling exit()/_exit() (even with 0) is a failure, never a pass. */
        char rec[RECORD_HEAD + MV_ERROR_MAX];
        int len = snprintf(rec, sizeof rec, "%s%03d", RECORD_MAGIC, (int)st);
        if (st != MV_OK) len += snprintf(rec + len, sizeof rec - (size_t)len, "%s", e.msg);
        for (int off = 0; off < len;) {
            ssize_t w = write(fds[1], rec + off, (size_t)(len - off));
            if (w < 0 && errno == EINTR) continue;
            if (w <= 0) break;
            off += (int)w;
        }
        close(fds[1]);
        _exit(0);
    }
    setpgid(pid, pid);  /* also here: the group exists before any kill below */
    close(fds[1]);
    char msg[RECORD_HEAD + MV_ERROR_MAX];
    size_t got = 0;
    double start = mv_now();
    int status = 0, timed_out = 0, reaped = 0;
    for (;;) {
        struct pollfd pfd = { fds[0], POLLIN, 0 };
        int r = poll(&pfd, 1, 100);
        if (r > 0) {
            ssize_t n = read(fds[0], msg + got, sizeof msg - 1 - got);
            if (n > 0) { got += (size_t)n; if (got < sizeof msg - 1) continue; }
            if (n == 0 || got >= sizeof msg - 1) break; /* EOF: child closed or exited */
        }
        if (r < 0 && errno != EINTR) break;
        if (waitpid(pid, &status, WNOHANG) == pid) { reaped = 1; break; }
        if (timeout > 0 && mv_now() - start > timeout) {
            kill_stage(pid);
            timed_out = 1;
            break;
        }
    }
    /* The child may still be running after closing its end (or we stopped reading): wait,
     * still honouring the timeout. */
    while (!reaped) {
        pid_t w = waitpid(pid, &status, timed_out ? 0 : WNOHANG);
        if (w == pid) break;
        if (w < 0 && errno != EINTR) break;
        if (!timed_out && timeout > 0 && mv_now() - start > timeout) {
            kill_stage(pid);
            timed_out = 1;
            continue;
        }
        if (!timed_out) { struct timespec ts = { 0, 50000000 }; nanosleep(&ts, NULL); }
    }
    close(fds[0]);
    msg[got] = 0;
    if (timed_out)
        return mv_errorf(err, MV_E_RUNTIME, "timed out after %.0f s (stage_timeout) and was "
                         "killed; rerun the same command to retry it (completed stages are kept)",
                         timeout);
    if (WIFSIGNALED(status))
        return mv_errorf(err, MV_E_RUNTIME, "the stage process crashed with signal %d (%s); "
                         "completed stages are kept, rerun the same command to resume",
                         WTERMSIG(status), strsignal(WTERMSIG(status)));
    /* Anything but a whole record is a stage that did not return through the runner:
     * something called exit() or _exit() (or a sanitizer aborted it). */
    int code = -1;
    if (got >= RECORD_HEAD && memcmp(msg, RECORD_MAGIC, sizeof RECORD_MAGIC - 1) == 0)
        code = atoi(msg + sizeof RECORD_MAGIC - 1);
    if (code < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
        return mv_errorf(err, MV_E_RUNTIME, "the stage process exited with status %d without "
                         "reporting completion (a plugin called exit() or _exit()?); the stage "
                         "is not done; completed stages are kept",
                         WIFEXITED(status) ? WEXITSTATUS(status) : -1);
    if (code == 0) return MV_OK;
    if (code > (int)MV_E_ABI) code = MV_E_RUNTIME;
    return mv_errorf(err, (mv_status)code, "%s", msg + RECORD_HEAD);
}
