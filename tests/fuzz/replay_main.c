/* tests/fuzz/replay_main.c — a standalone driver for a fuzz harness, built with the normal
 * compiler (and in the ASan build) so `make check` replays the seed corpora and every past
 * crash input without clang or libFuzzer. Each file given on the command line is fed to
 * LLVMFuzzerTestOneInput in a forked child, so one crash, sanitizer report, leak or hang
 * (bounded by an alarm) fails that input only; prints "NAME: N passed, N failed". */
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv) __attribute__((weak));

/* Generous: a replayed input normally takes milliseconds; this only turns a hang into a
 * failure instead of a stuck test run. */
#define REPLAY_ALARM_SECONDS 300

static int run_one(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) { perror(path); return 1; }
    struct stat sb;
    if (fstat(fileno(f), &sb) != 0 || !S_ISREG(sb.st_mode)) { fclose(f); return 1; }
    size_t size = (size_t)sb.st_size;
    /* Exactly `size` bytes on the heap, like libFuzzer, so ASan sees any overread. */
    uint8_t *data = malloc(size ? size : 1);
    if (!data || fread(data, 1, size, f) != size) { perror(path); fclose(f); free(data); return 1; }
    fclose(f);
    LLVMFuzzerTestOneInput(data, size);
    free(data);
    return 0;
}

int main(int argc, char **argv)
{
    const char *name = strrchr(argv[0], '/') ? strrchr(argv[0], '/') + 1 : argv[0];
    if (LLVMFuzzerInitialize) LLVMFuzzerInitialize(&argc, &argv);
    fflush(NULL);
    int passed = 0, failed = 0;
    for (int i = 1; i < argc; i++) {
        pid_t pid = fork();
        if (pid < 0) { perror("fork"); return 2; }
        if (pid == 0) {
            alarm(REPLAY_ALARM_SECONDS);
            /* Silence the code under test: bad inputs make it print error lines. */
            if (!getenv("FUZZ_REPLAY_VERBOSE") && !freopen("/dev/null", "w", stdout)) _exit(1);
            int rc = run_one(argv[i]);
            fflush(NULL);
            exit(rc);   /* exit, not _exit: LeakSanitizer checks at exit in the ASan build */
        }
        int status = 0;
        while (waitpid(pid, &status, 0) < 0) {}
        if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
            passed++;
        } else {
            failed++;
            if (WIFSIGNALED(status))
                fprintf(stderr, "%s: FAILED %s (signal %d%s)\n", name, argv[i], WTERMSIG(status),
                        WTERMSIG(status) == SIGALRM ? ": hang" : "");
            else
                fprintf(stderr, "%s: FAILED %s (exit %d)\n", name, argv[i], WEXITSTATUS(status));
        }
    }
    printf("%s: %d passed, %d failed\n", name, passed, failed);
    return failed ? 1 : 0;
}
