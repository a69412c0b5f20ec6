/* core/cli/supervise.c — run a subcommand that executes plugin code (run, merge, train, eval)
 * in a supervised child process, so plugin code can never turn a failure into a pass.
 *
 * Why: a plugin that calls exit(0) or _exit(0) in the middle of a stage would otherwise end
 * `mergeval run` with status 0 — no metrics, no reports, gates never evaluated, and CI reads
 * it as a pass. Here the parent (which runs no plugin code after discovery) forks; the child
 * runs the command and, only when the command returned normally, writes an explicit
 * completion record ("MVDONE <exit code>") through a close-on-exec pipe. The parent exits
 * with that code only if the record arrived and the child then exited with the same code;
 * anything else (exit/_exit from plugin code, a crash, a kill) is exit 3 with a message.
 * SIGINT/SIGTERM/SIGHUP/SIGQUIT sent to the parent are forwarded to the child, and the child
 * dies with the parent (PR_SET_PDEATHSIG), so a kill -9 of mergeval leaves no orphan. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>
#include "mv_cli.h"

#define RECORD_MAGIC "MVDONE "

static volatile sig_atomic_t g_child;
static volatile sig_atomic_t g_forwarded;
static int g_record_fd = -1;

static void forward(int sig)
{
    if (g_child > 0) {
        g_forwarded = sig;
        kill((pid_t)g_child, sig);
    }
}

int mv_cli_supervise(const char *cmd, int *code)
{
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0) {
        fprintf(stderr, "mergeval: error: pipe: %s\n", strerror(errno));
        *code = 3;
        return 1;
    }
    fflush(stdout);
    fflush(stderr);
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid < 0) {
        fprintf(stderr, "mergeval: error: fork: %s\n", strerror(errno));
        close(fds[0]);
        close(fds[1]);
        *code = 3;
        return 1;
    }
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent) _exit(3);
        close(fds[0]);
        g_record_fd = fds[1];
        return 0;
    }
    close(fds[1]);
    g_child = pid;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = forward;
    sigemptyset(&sa.sa_mask);
    int sigs[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT };
    for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++) sigaction(sigs[i], &sa, NULL);
    int status = 0;
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR) { status = -1; break; }
    g_child = 0;
    /* The record is written before the child exits; a stage grandchild may still hold the
     * write end for a moment, so never block here. */
    fcntl(fds[0], F_SETFL, O_NONBLOCK);
    char rec[64];
    ssize_t n = read(fds[0], rec, sizeof rec - 1);
    close(fds[0]);
    rec[n > 0 ? n : 0] = 0;
    int recorded = n > (ssize_t)strlen(RECORD_MAGIC) && !strncmp(rec, RECORD_MAGIC, strlen(RECORD_MAGIC));
    int rc = recorded ? atoi(rec + strlen(RECORD_MAGIC)) : -1;
    if (recorded && status != -1 && WIFEXITED(status) && WEXITSTATUS(status) == rc) {
        *code = rc;
        return 1;
    }
    if (status != -1 && WIFSIGNALED(status)) {
        int sig = WTERMSIG(status);
        if (g_forwarded)
            fprintf(stderr, "mergeval: error: %s interrupted (signal %d, %s)%s\n", cmd, sig,
                    strsignal(sig), !strcmp(cmd, "run") ? "; rerun the same command to resume" : "");
        else
            fprintf(stderr, "mergeval: error: %s: the worker process died from signal %d (%s) "
                    "without reporting completion; its output is not complete%s\n", cmd, sig,
                    strsignal(sig), !strcmp(cmd, "run") ? " (completed stages are kept; rerun "
                    "to resume)" : "");
        *code = 3;
    } else if (recorded) {
        /* Finished, then failed while shutting down (e.g. a sanitizer's leak report). */
        fprintf(stderr, "mergeval: error: %s finished with exit code %d but its process then "
                "exited with status %d\n", cmd, rc, WIFEXITED(status) ? WEXITSTATUS(status) : -1);
        *code = WIFEXITED(status) && WEXITSTATUS(status) ? WEXITSTATUS(status) : 3;
    } else {
        fprintf(stderr, "mergeval: error: %s: the worker process exited with status %d without "
                "reporting completion: plugin code called exit() or _exit() (or it crashed); this "
                "is a failure, not a pass%s\n", cmd, WIFEXITED(status) ? WEXITSTATUS(status) : -1,
                !strcmp(cmd, "run") ? " (the stage is not marked done; completed stages are kept; "
                "rerun to resume)" : "");
        *code = 3;
    }
    return 1;
}

void mv_cli_supervise_done(int code)
{
    if (g_record_fd < 0) return;
    fflush(stdout);
    fflush(stderr);
    char rec[32];
    int n = snprintf(rec, sizeof rec, RECORD_MAGIC "%d\n", code);
    while (write(g_record_fd, rec, (size_t)n) < 0 && errno == EINTR) {}
    close(g_record_fd);
    g_record_fd = -1;
}
