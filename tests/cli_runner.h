/* tests/cli_runner.h — run the `mergeval` binary built next to a test suite and capture its
 * output, for suites that check a command end to end. Header-only: included by each test. */
#ifndef MV_TEST_CLI_RUNNER_H
#define MV_TEST_CLI_RUNNER_H

#include <check.h>
#include <stdio.h>
#include <sys/wait.h>
#include "mv_registry_host.h"

/* Run `<build>/bin/mergeval --no-progress ARGS` (found from this binary's built-in plugin
 * directory, <build>/lib/mergeval/plugins), put stdout+stderr (truncated to cap) in out and
 * return the exit code (-1 if it died from a signal). */
static inline int mv_test_run_cli(const char *args, char *out, size_t cap)
{
    char *plugdir = mv_registry_builtin_dir();
    char cmd[4096];
    snprintf(cmd, sizeof cmd, "%s/../../../bin/mergeval --no-progress %s 2>&1", plugdir, args);
    mv_free(plugdir);
    FILE *f = popen(cmd, "r");
    ck_assert_ptr_nonnull(f);
    size_t n = fread(out, 1, cap - 1, f);
    out[n] = '\0';
    int st = pclose(f);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

#endif
