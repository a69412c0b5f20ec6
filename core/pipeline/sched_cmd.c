/* core/pipeline/sched_cmd.c — what launchers need from the operating system: run a scheduler
 * command (argv, no shell) and capture its output, find a program in PATH, and a keeper: a
 * small process that runs a cancel command (scancel ID) if the runner dies — even by
 * kill -9 — before saying its job is finished. Internal to core/pipeline. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include "sched_cmd.h"

int mv_sched_capture(char *const argv[], char **out)
{
    int fds[2];
    *out = NULL;
    if (pipe2(fds, O_CLOEXEC) != 0) return -1;
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    if (pid < 0) { close(fds[0]); close(fds[1]); return -1; }
    if (pid == 0) {
        int null = open("/dev/null", O_RDONLY);
        if (null >= 0) dup2(null, 0);
        dup2(fds[1], 1);
        dup2(fds[1], 2);
        execvp(argv[0], argv);
        _exit(127);
    }
    close(fds[1]);
    size_t len = 0, cap = 4096;
    char *buf = malloc(cap);
    for (;;) {
        if (buf && len + 1024 > cap) {
            char *nb = realloc(buf, cap * 2);
            if (!nb) { free(buf); buf = NULL; }
            else { buf = nb; cap *= 2; }
        }
        char sink[1024];
        ssize_t r = read(fds[0], buf ? buf + len : sink, buf ? cap - len - 1 : sizeof sink);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) break;
        if (buf) len += (size_t)r;
    }
    close(fds[0]);
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {}
    if (buf) buf[len] = 0;
    *out = buf;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
}

char *mv_sched_which(const char *name)
{
    const char *path = getenv("PATH");
    if (!path || strchr(name, '/')) return access(name, X_OK) == 0 ? strdup(name) : NULL;
    char *copy = strdup(path), *save = NULL, *found = NULL;
    for (char *dir = strtok_r(copy, ":", &save); copy && dir && !found; dir = strtok_r(NULL, ":", &save)) {
        char full[4096];
        snprintf(full, sizeof full, "%s/%s", *dir ? dir : ".", name);
        if (access(full, X_OK) == 0) found = strdup(full);
    }
    free(copy);
    return found;
}

/* The keeper holds the read end of a pipe whose write end only the runner has: end of file
 * without "done" first means the runner is gone. Everything it needs is prepared before
 * fork (the runner may have threads), and it closes every other descriptor so it holds no
 * lock or pipe of the runner's. setsid: a signal to the runner's process group (Ctrl-C)
 * does not stop it. */
mv_status mv_keeper_start(const char *log_path, char *const cancel_argv[], mv_keeper *k, mv_error *err)
{
    int fds[2];
    k->pid = -1;
    k->fd = -1;
    char *prog = mv_sched_which(cancel_argv[0]);
    if (!prog) return mv_errorf(err, MV_E_NOT_FOUND, "%s is not in PATH", cancel_argv[0]);
    int log = open(log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (pipe2(fds, O_CLOEXEC) != 0) {
        free(prog);
        if (log >= 0) close(log);
        return mv_errorf(err, MV_E_IO, "pipe: %s", strerror(errno));
    }
    char note[512];
    int note_len = snprintf(note, sizeof note, "mergeval keeper: the runner went away before its "
                            "job finished; running %s %s\n", cancel_argv[0], cancel_argv[1] ? cancel_argv[1] : "");
    if (note_len < 0 || note_len >= (int)sizeof note) note_len = (int)sizeof note - 1;
    pid_t pid = fork();
    if (pid == 0) {
        setsid();
        signal(SIGINT, SIG_IGN);
        signal(SIGTERM, SIG_IGN);
        signal(SIGHUP, SIG_IGN);
        signal(SIGPIPE, SIG_IGN);
        dup2(fds[0], 0);
        if (log >= 0) { dup2(log, 1); dup2(log, 2); }
        close_range(3, ~0u, 0);
        char buf[16];
        size_t got = 0;
        for (;;) {
            ssize_t r = read(0, buf + (got < 8 ? got : 8), 8);
            if (r < 0 && errno == EINTR) continue;
            if (r <= 0) break;
            got += (size_t)r;
        }
        if (got >= 4 && memcmp(buf, "done", 4) == 0) _exit(0);
        if (write(1, note, (size_t)note_len) < 0) { /* nothing to do: we are cancelling anyway */ }
        execv(prog, cancel_argv);
        _exit(127);
    }
    close(fds[0]);
    if (log >= 0 && pid > 0)   /* who to look for (tests, an admin cleaning up) */
        dprintf(log, "mergeval keeper %d: runs %s %s if the runner (%d) dies first\n", (int)pid,
                cancel_argv[0], cancel_argv[1] ? cancel_argv[1] : "", (int)getpid());
    if (log >= 0) close(log);
    free(prog);
    if (pid < 0) {
        close(fds[1]);
        return mv_errorf(err, MV_E_IO, "fork: %s", strerror(errno));
    }
    k->pid = pid;
    k->fd = fds[1];
    return MV_OK;
}

void mv_keeper_stop(mv_keeper *k)
{
    if (k->fd >= 0) {
        if (write(k->fd, "done", 4) != 4) { /* the keeper then cancels a finished job: harmless */ }
        close(k->fd);
    }
    if (k->pid > 0) while (waitpid(k->pid, NULL, 0) < 0 && errno == EINTR) {}
    k->pid = -1;
    k->fd = -1;
}
