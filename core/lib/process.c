/* core/lib/process.c — mv_process_run: an external command in its own process group under a
 * keeper process that kills the whole group when the command ends, on timeout, on Ctrl-C,
 * and when we die (PR_SET_PDEATHSIG), so no orphan survives a kill -9 of the runner.
 * The keeper is forked from a possibly multi-threaded process: it only makes
 * async-signal-safe calls (no malloc, no stdio). Building argv/env is command.c. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <mergeval/context.h>
#include <mergeval/process.h>

#define DEFAULT_STDOUT_MAX (64u << 20)
#define DEFAULT_TAIL 4000
#define DEFAULT_GRACE 5.0
#define ERROR_TAIL 1200   /* stderr bytes quoted in an error message */

/* Keeper → caller messages on the status pipe (8 bytes: atomic on a pipe). */
enum { MSG_PID = 1, MSG_STATUS = 2, MSG_EXEC_ERRNO = 3 };
typedef struct keeper_msg { int type, value; } keeper_msg;

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static void send_msg(int fd, int type, int value)
{
    keeper_msg m = { type, value };
    while (write(fd, &m, sizeof m) < 0 && errno == EINTR) {}
}

static void close_from(int lowfd)
{
#ifdef SYS_close_range
    if (syscall(SYS_close_range, (unsigned)lowfd, ~0u, 0) == 0) return;
#endif
    long max = sysconf(_SC_OPEN_MAX);
    if (max < 0 || max > 65536) max = 65536;
    for (int fd = lowfd; fd < max; fd++) close(fd);
}

/* The command: new group leader, dies if the keeper dies, default signal handling. */
static void exec_command(const mv_command *cmd, const char *cwd, int out_fd, int err_fd,
                         int exec_err_fd, pid_t keeper)
{
    extern char **environ;
    setpgid(0, 0);
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != keeper) _exit(127);
    static const int reset[] = { SIGPIPE, SIGINT, SIGQUIT, SIGTERM, SIGHUP, SIGCHLD, SIGUSR1, SIGUSR2 };
    for (size_t i = 0; i < sizeof reset / sizeof reset[0]; i++) signal(reset[i], SIG_DFL);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    int devnull = open("/dev/null", O_RDONLY);
    if (devnull >= 0) { dup2(devnull, 0); if (devnull != 0) close(devnull); }
    dup2(out_fd, 1);
    dup2(err_fd, 2);
    /* keep the exec-error pipe (close-on-exec) above 2; close everything else we inherited */
    int xfd = fcntl(exec_err_fd, F_DUPFD_CLOEXEC, 3);
    close_from(xfd >= 0 ? xfd + 1 : 3);
    if (xfd >= 0) { for (int fd = 3; fd < xfd; fd++) close(fd); }
    int e = 0;
    if (cwd && chdir(cwd) != 0) e = errno;
    if (!e) {
        environ = cmd->envp;   /* so execvp searches the child's PATH */
        execvp(cmd->argv[0], cmd->argv);
        e = errno;
    }
    if (xfd >= 0) while (write(xfd, &e, sizeof e) < 0 && errno == EINTR) {}
    _exit(127);
}

/* The keeper: our child, the command's parent. Signals arrive blocked (set by the caller
 * before fork) and are taken with sigtimedwait. Never returns. */
static void keeper_main(const mv_command *cmd, const mv_process_options *opt, int out_fd,
                        int err_fd, int status_fd, pid_t parent, const sigset_t *waitset)
{
    /* Our own group: whoever kills the caller's group at once (the runner's stage_timeout
     * kills an isolated stage's whole group with SIGKILL) must not kill us with it, or the
     * command's group would outlive us; we learn of the caller's death by PDEATHSIG. */
    setpgid(0, 0);
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (getppid() != parent) _exit(0);   /* the caller died before we armed the signal */
    signal(SIGCHLD, SIG_DFL);            /* SIG_IGN would reap the command behind our back */
    signal(SIGPIPE, SIG_IGN);            /* a dead caller must not stop the clean-up midway */
    double grace = opt && opt->kill_grace > 0 ? opt->kill_grace : DEFAULT_GRACE;
    int xp[2];
    if (pipe2(xp, O_CLOEXEC) != 0) { send_msg(status_fd, MSG_EXEC_ERRNO, errno); _exit(0); }
    pid_t me = getpid();
    pid_t c = fork();
    if (c < 0) { send_msg(status_fd, MSG_EXEC_ERRNO, errno); _exit(0); }
    if (c == 0) {
        close(status_fd);
        close(xp[0]);
        exec_command(cmd, opt ? opt->cwd : NULL, out_fd, err_fd, xp[1], me);
    }
    setpgid(c, c);  /* both sides set it, so kill(-c) works whoever runs first */
    close(xp[1]);
    close(out_fd);
    close(err_fd);
    send_msg(status_fd, MSG_PID, (int)c);
    int exec_errno = 0;
    ssize_t r;
    while ((r = read(xp[0], &exec_errno, sizeof exec_errno)) < 0 && errno == EINTR) {}
    close(xp[0]);
    if (r == (ssize_t)sizeof exec_errno && exec_errno) {
        int ws;
        while (waitpid(c, &ws, 0) < 0 && errno == EINTR) {}
        send_msg(status_fd, MSG_EXEC_ERRNO, exec_errno);
        _exit(0);
    }
    int ws = 0, stopping = 0;
    double kill_at = 0;
    for (;;) {
        pid_t w = waitpid(c, &ws, WNOHANG);
        if (w == c) break;
        if (w < 0 && errno != EINTR) { ws = 0; break; }
        struct timespec tick = { 0, 250000000 };
        int sig = sigtimedwait(waitset, NULL, &tick);
        int stop_sig = 0;
        if (sig == SIGTERM || sig == SIGINT || sig == SIGHUP || sig == SIGQUIT) stop_sig = sig;
        else if (getppid() != parent) stop_sig = SIGTERM;  /* belt and braces for PDEATHSIG */
        if (stop_sig && !stopping) {
            stopping = 1;
            kill(-c, stop_sig);
            kill_at = now_s() + grace;
        }
        if (stopping && now_s() >= kill_at) kill(-c, SIGKILL);
    }
    kill(-c, SIGKILL);  /* whatever the command left behind in its group */
    send_msg(status_fd, MSG_STATUS, ws);
    _exit(0);
}

/* Append to a buffer that keeps at most `max` bytes: the head (stdout) or the tail (stderr). */
typedef struct capture { char *d; size_t n, cap, max; int keep_tail; } capture;

static void capture_add(capture *b, const char *s, size_t n)
{
    if (!b->keep_tail) {
        if (b->n >= b->max) return;
        if (n > b->max - b->n) n = b->max - b->n;
    }
    if (b->n + n + 1 > b->cap) {
        size_t c = b->cap ? b->cap : 4096;
        while (c < b->n + n + 1) c *= 2;
        char *d = realloc(b->d, c);
        if (!d) return;  /* keep what we have: this is diagnostic output */
        b->d = d;
        b->cap = c;
    }
    memcpy(b->d + b->n, s, n);
    b->n += n;
    if (b->keep_tail && b->n > 4 * b->max) {
        memmove(b->d, b->d + b->n - b->max, b->max);
        b->n = b->max;
    }
    b->d[b->n] = 0;
}

static char *capture_take(capture *b, size_t last, size_t *len)
{
    size_t off = b->n > last ? b->n - last : 0;
    size_t n = b->n - off;
    char *s = mv_malloc(n + 1);
    if (s) {
        if (n) memcpy(s, b->d + off, n);
        s[n] = 0;
    }
    if (len) *len = s ? n : 0;
    free(b->d);
    memset(b, 0, sizeof *b);
    return s;
}

mv_status mv_process_run(const mv_command *cmd, const mv_process_options *opt,
                         mv_process_result *res, mv_error *err)
{
    memset(res, 0, sizeof *res);
    if (!cmd || !cmd->argv || !cmd->argv[0] || !cmd->envp)
        return mv_errorf(err, MV_E_INPUT, "mv_process_run: empty command");
    double timeout = opt ? opt->timeout : 0;
    double grace = opt && opt->kill_grace > 0 ? opt->kill_grace : DEFAULT_GRACE;
    capture out = { .max = opt && opt->stdout_max ? opt->stdout_max : DEFAULT_STDOUT_MAX };
    capture tail = { .max = opt && opt->tail_max ? opt->tail_max : DEFAULT_TAIL, .keep_tail = 1 };
    int po[2] = {-1, -1}, pe[2] = {-1, -1}, ps[2] = {-1, -1}, log_fd = -1;
    if (pipe2(po, O_CLOEXEC) || pipe2(pe, O_CLOEXEC) || pipe2(ps, O_CLOEXEC)) {
        int e = errno;
        for (int i = 0; i < 2; i++) { if (po[i] >= 0) close(po[i]); if (pe[i] >= 0) close(pe[i]); if (ps[i] >= 0) close(ps[i]); }
        return mv_errorf(err, MV_E_IO, "pipe: %s", strerror(e));
    }
    if (opt && opt->log_path) {
        log_fd = open(opt->log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
        if (log_fd < 0) {
            int e = errno;
            close(po[0]); close(po[1]); close(pe[0]); close(pe[1]); close(ps[0]); close(ps[1]);
            return mv_errorf(err, MV_E_IO, "cannot open the command log %s: %s", opt->log_path,
                             strerror(e));
        }
    }
    sigset_t waitset, old;
    sigemptyset(&waitset);
    int sigs[] = { SIGCHLD, SIGTERM, SIGINT, SIGHUP, SIGQUIT };
    for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++) sigaddset(&waitset, sigs[i]);
    fflush(stdout);
    fflush(stderr);
    pid_t parent = getpid();
    double t0 = now_s();
    pthread_sigmask(SIG_BLOCK, &waitset, &old);
    pid_t k = fork();
    if (k == 0) {
        close(po[0]); close(pe[0]); close(ps[0]);
        if (log_fd >= 0) close(log_fd);
        keeper_main(cmd, opt, po[1], pe[1], ps[1], parent, &waitset);
    }
    int fork_errno = errno;
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    close(po[1]); close(pe[1]); close(ps[1]);
    if (k < 0) {
        close(po[0]); close(pe[0]); close(ps[0]);
        if (log_fd >= 0) close(log_fd);
        return mv_errorf(err, MV_E_IO, "fork: %s", strerror(fork_errno));
    }

    struct pollfd fds[3] = { { po[0], POLLIN, 0 }, { pe[0], POLLIN, 0 }, { ps[0], POLLIN, 0 } };
    char buf[65536], msgbuf[sizeof(keeper_msg) * 4];
    size_t msg_have = 0;
    pid_t group = 0;
    int got_status = 0, asked_stop = 0, hard_killed = 0;
    double keeper_gone_at = 0;
    for (;;) {
        int open_pipes = (fds[0].fd >= 0) + (fds[1].fd >= 0);
        if (fds[2].fd < 0) {
            /* the keeper is gone and has killed the group: stop once the pipes are drained,
             * or soon after if something that escaped the group still holds them */
            if (!open_pipes || now_s() - keeper_gone_at > 2.0) break;
        }
        double t = now_s();
        if (timeout > 0 && !asked_stop && t - t0 >= timeout) {
            res->timed_out = 1;
            asked_stop = 1;
            kill(k, SIGTERM);
        }
        if (asked_stop && !hard_killed && t - t0 >= timeout + grace + 10.0) {
            /* the keeper did not finish its own SIGKILL round: do it ourselves */
            hard_killed = 1;
            kill(k, SIGKILL);
            if (group > 0) kill(-group, SIGKILL);
        }
        int ms = 1000;
        if (timeout > 0 && !asked_stop) {
            double left = timeout - (t - t0);
            ms = left < 1.0 ? (int)(left * 1000) + 1 : 1000;
        }
        if (fds[2].fd < 0) ms = 100;
        int r = poll(fds, 3, ms);
        if (r < 0) {
            if (errno == EINTR) continue;
            break;
        }
        for (int i = 0; i < 3; i++) {
            if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
            ssize_t n = i == 2 ? read(fds[i].fd, msgbuf + msg_have, sizeof msgbuf - msg_have)
                               : read(fds[i].fd, buf, sizeof buf);
            if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
            if (n <= 0) {
                close(fds[i].fd);
                fds[i].fd = -1;
                if (i == 2) keeper_gone_at = now_s();
                continue;
            }
            if (i == 2) {
                msg_have += (size_t)n;
                size_t used = 0;
                for (; msg_have - used >= sizeof(keeper_msg); used += sizeof(keeper_msg)) {
                    keeper_msg m;
                    memcpy(&m, msgbuf + used, sizeof m);
                    if (m.type == MSG_PID) group = (pid_t)m.value;
                    else if (m.type == MSG_EXEC_ERRNO) { res->exec_errno = m.value ? m.value : EIO; got_status = 1; }
                    else if (m.type == MSG_STATUS) {
                        got_status = 1;
                        if (WIFEXITED(m.value)) { res->exited = 1; res->exit_code = WEXITSTATUS(m.value); }
                        else if (WIFSIGNALED(m.value)) res->signal = WTERMSIG(m.value);
                    }
                }
                memmove(msgbuf, msgbuf + used, msg_have - used);
                msg_have -= used;
                continue;
            }
            if (log_fd >= 0) {
                for (ssize_t off = 0; off < n;) {
                    ssize_t w = write(log_fd, buf + off, (size_t)(n - off));
                    if (w <= 0) { if (w < 0 && errno == EINTR) continue; break; }
                    off += w;
                }
            }
            capture_add(i == 0 ? &out : &tail, buf, (size_t)n);
        }
    }
    for (int i = 0; i < 3; i++) if (fds[i].fd >= 0) close(fds[i].fd);
    if (log_fd >= 0) close(log_fd);
    int ks;
    while (waitpid(k, &ks, 0) < 0 && errno == EINTR) {}
    if (group > 0) kill(-group, SIGKILL);  /* the keeper did this already unless it was killed */
    if (!got_status && !res->timed_out) res->signal = SIGKILL;  /* the keeper was killed */
    res->seconds = now_s() - t0;
    res->out = capture_take(&out, (size_t)-1, &res->out_len);
    res->err_tail = capture_take(&tail, tail.max, NULL);
    if (!res->out || !res->err_tail) {
        mv_process_result_free(res);
        return mv_errorf(err, MV_E_NOMEM, "out of memory");
    }
    return MV_OK;
}

void mv_process_result_free(mv_process_result *res)
{
    if (!res) return;
    mv_free(res->out);
    mv_free(res->err_tail);
    res->out = res->err_tail = NULL;
}

mv_status mv_process_check(const mv_process_result *res, const char *what,
                           const mv_process_options *opt, mv_error *err)
{
    /* the end of stderr is what explains a failure: keep it inside MV_ERROR_MAX */
    const char *tail = res->err_tail && *res->err_tail ? res->err_tail : "(empty)";
    size_t tl = strlen(tail);
    if (tl > ERROR_TAIL) tail += tl - ERROR_TAIL;
    if (res->exec_errno)
        return mv_errorf(err, MV_E_RUNTIME, "%s: cannot run the program: %s (is it installed, and "
                         "on the PATH the \"env\" allow-list passes?)", what, strerror(res->exec_errno));
    if (res->timed_out)
        return mv_errorf(err, MV_E_RUNTIME, "%s timed out after %.1f s (timeout: %g s; its process "
                         "group was killed); stderr tail:\n%s", what, res->seconds,
                         opt ? opt->timeout : 0.0, tail);
    if (res->signal)
        return mv_errorf(err, MV_E_RUNTIME, "%s was killed by signal %d (%s); stderr tail:\n%s",
                         what, res->signal, strsignal(res->signal), tail);
    if (!res->exited || res->exit_code != 0)
        return mv_errorf(err, MV_E_RUNTIME, "%s exited with status %d; stderr tail:\n%s", what,
                         res->exit_code, tail);
    return MV_OK;
}
