/* tests/test_process.c — mergeval/process.h: {name} substitution, argv/env building, output
 * capture, exit/signal/exec-failure reporting, and the process-group guarantees: a timeout,
 * the command's own exit, and the death (SIGKILL) of the calling process each leave no
 * process of the command's group alive (grandchildren included). */
#include <check.h>
#include "suite_run.h"
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <mergeval/mergeval.h>

static char dir[256];

static void setup(void)
{
    snprintf(dir, sizeof dir, "/tmp/mv_process_%d", (int)getpid());
    mkdir(dir, 0755);
}

static void teardown(void)
{
    mv_remove_tree(dir, NULL);
}

static mv_command make(const char *argv_json, const char *env_json, const char *set_env)
{
    mv_command c;
    mv_error err = {0};
    const mv_subst_var vars[] = {{"dir", dir}, {"none", NULL}, {"empty", ""}};
    ck_assert_msg(mv_command_build(argv_json, env_json, set_env, vars, 3, "$.params", &c, &err) == MV_OK,
                  "%s", err.msg);
    return c;
}

/* Wait (bounded, generously) until process pid is gone (or a zombie of someone else). */
static int gone(pid_t pid)
{
    for (int i = 0; i < 600; i++) {
        if (kill(pid, 0) != 0 && errno == ESRCH) return 1;
        char p[64], st[512] = "";
        snprintf(p, sizeof p, "/proc/%d/stat", (int)pid);
        FILE *f = fopen(p, "r");
        if (f) { if (!fgets(st, sizeof st, f)) st[0] = 0; fclose(f); }
        char *rp = strrchr(st, ')');
        if (rp && rp[1] == ' ' && rp[2] == 'Z') return 1;  /* dead, waiting for its reaper */
        usleep(50000);
    }
    return 0;
}

static pid_t read_pid(const char *name)
{
    char p[512];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    for (int i = 0; i < 600; i++) {
        FILE *f = fopen(p, "r");
        long v = 0;
        if (f) {
            int ok = fscanf(f, "%ld", &v) == 1;
            fclose(f);
            if (ok && v > 0) return (pid_t)v;
        }
        usleep(50000);
    }
    return 0;
}

START_TEST(substitution)
{
    const mv_subst_var vars[] = {{"model", "/m"}, {"out", "/o"}, {"resume_from", ""}, {"data", NULL}};
    char *s = NULL;
    mv_error err = {0};
    ck_assert_int_eq(mv_subst_expand("--m={model} {out}/x{resume_from}", vars, 4, "$.a", &s, &err), MV_OK);
    ck_assert_str_eq(s, "--m=/m /o/x");
    mv_free(s);
    /* braces that are not placeholders stay: regexes, JSON, empty */
    ck_assert_int_eq(mv_subst_expand("layers\\.\\d{2}\\.{} {\"a\": 1} {Model}", vars, 4, "$.a", &s, &err), MV_OK);
    ck_assert_str_eq(s, "layers\\.\\d{2}\\.{} {\"a\": 1} {Model}");
    mv_free(s);
    ck_assert_int_eq(mv_subst_expand("{modle}", vars, 4, "$.params.command[1]", &s, &err), MV_E_INPUT);
    ck_assert_msg(strstr(err.msg, "$.params.command[1]") && strstr(err.msg, "{modle}") &&
                  strstr(err.msg, "{model} {out} {resume_from} {data}"), "%s", err.msg);
    ck_assert_ptr_null(s);
    ck_assert_int_eq(mv_subst_expand("x {data}", vars, 4, "$.a", &s, &err), MV_E_INPUT);
    ck_assert_msg(strstr(err.msg, "{data}") && strstr(err.msg, "no value"), "%s", err.msg);
}
END_TEST

START_TEST(build_errors)
{
    mv_command c;
    mv_error err = {0};
    ck_assert_int_eq(mv_command_build("[]", NULL, NULL, NULL, 0, "$.train.params", &c, &err), MV_E_INPUT);
    ck_assert_msg(strstr(err.msg, "$.train.params.command") != NULL, "%s", err.msg);
    ck_assert_int_eq(mv_command_build("\"python3 x.py\"", NULL, NULL, NULL, 0, "$.p", &c, &err), MV_E_INPUT);
    ck_assert_int_eq(mv_command_build("[\"a\", 3]", NULL, NULL, NULL, 0, "$.p", &c, &err), MV_E_INPUT);
    ck_assert_msg(strstr(err.msg, "$.p.command[1]") != NULL, "%s", err.msg);
    ck_assert_int_eq(mv_command_build("[\"a\"]", "[\"BAD NAME\"]", NULL, NULL, 0, "$.p", &c, &err), MV_E_INPUT);
    ck_assert_int_eq(mv_command_build("[\"a\"]", NULL, "{\"X\": 1}", NULL, 0, "$.p", &c, &err), MV_E_INPUT);
    ck_assert_msg(strstr(err.msg, "$.p.set_env.X") != NULL, "%s", err.msg);
}
END_TEST

START_TEST(capture_and_env)
{
    setenv("MV_PROC_SECRET", "hunter2", 1);
    setenv("MV_PROC_OK", "visible", 1);
    mv_command c = make("[\"sh\", \"-c\", \"echo out:$MV_PROC_OK:$MV_PROC_SECRET:$EXTRA; "
                        "echo err-line >&2; pwd\"]",
                        "[\"PATH\", \"MV_PROC_OK\", \"NOT_SET_ANYWHERE\"]", "{\"EXTRA\": \"{dir}\", \"MV_PROC_OK\": \"over\"}");
    mv_process_options opt = { .timeout = 60, .cwd = "/" };
    char log[512];
    snprintf(log, sizeof log, "%s/cmd.log", dir);
    opt.log_path = log;
    mv_process_result r;
    mv_error err = {0};
    ck_assert_int_eq(mv_process_run(&c, &opt, &r, &err), MV_OK);
    ck_assert_int_eq(mv_process_check(&r, "t", &opt, &err), MV_OK);
    char want[512];
    snprintf(want, sizeof want, "out:over::%s\n/\n", dir);
    ck_assert_str_eq(r.out, want);
    ck_assert_str_eq(r.err_tail, "err-line\n");
    /* the log has both streams */
    char *text = NULL;
    size_t len;
    ck_assert_int_eq(mv_read_file(log, 0, &text, &len, &err), MV_OK);
    ck_assert_ptr_nonnull(strstr(text, "err-line"));
    ck_assert_ptr_nonnull(strstr(text, "out:over"));
    mv_free(text);
    mv_process_result_free(&r);
    mv_command_free(&c);
}
END_TEST

START_TEST(failures_are_described)
{
    mv_error err = {0};
    mv_process_result r;
    mv_process_options opt = { .timeout = 60, .tail_max = 100 };
    mv_command c = make("[\"sh\", \"-c\", \"i=0; while [ $i -lt 300 ]; do echo line$i >&2; i=$((i+1)); done; exit 3\"]",
                        "[\"PATH\"]", NULL);
    ck_assert_int_eq(mv_process_run(&c, &opt, &r, &err), MV_OK);
    ck_assert_int_eq(r.exited, 1);
    ck_assert_int_eq(r.exit_code, 3);
    ck_assert_uint_le(strlen(r.err_tail), 100);
    ck_assert_ptr_nonnull(strstr(r.err_tail, "line299\n"));
    ck_assert_ptr_null(strstr(r.err_tail, "line200\n"));
    ck_assert_int_eq(mv_process_check(&r, "exec trainer: sh", &opt, &err), MV_E_RUNTIME);
    ck_assert_msg(strstr(err.msg, "exec trainer: sh exited with status 3") && strstr(err.msg, "line299"), "%s", err.msg);
    mv_process_result_free(&r);
    mv_command_free(&c);

    c = make("[\"sh\", \"-c\", \"kill -9 $$\"]", "[\"PATH\"]", NULL);
    ck_assert_int_eq(mv_process_run(&c, &opt, &r, &err), MV_OK);
    ck_assert_int_eq(r.signal, SIGKILL);
    ck_assert_int_eq(mv_process_check(&r, "x", &opt, &err), MV_E_RUNTIME);
    ck_assert_msg(strstr(err.msg, "signal 9") != NULL, "%s", err.msg);
    mv_process_result_free(&r);
    mv_command_free(&c);

    c = make("[\"/nonexistent/torchrun\"]", "[\"PATH\"]", NULL);
    ck_assert_int_eq(mv_process_run(&c, &opt, &r, &err), MV_OK);
    ck_assert_int_eq(r.exec_errno, ENOENT);
    ck_assert_int_eq(mv_process_check(&r, "exec trainer: /nonexistent/torchrun", &opt, &err), MV_E_RUNTIME);
    ck_assert_msg(strstr(err.msg, "cannot run") && strstr(err.msg, "No such file"), "%s", err.msg);
    mv_process_result_free(&r);
    mv_command_free(&c);
    /* PATH comes from the child's environment: without PATH, "sh" is still found through
     * the default search path, but a program only on our PATH is not */
    c = make("[\"mv-no-such-program-anywhere\"]", "[]", NULL);
    ck_assert_int_eq(mv_process_run(&c, &opt, &r, &err), MV_OK);
    ck_assert_int_eq(r.exec_errno, ENOENT);
    mv_process_result_free(&r);
    mv_command_free(&c);
}
END_TEST

/* A command that starts a grandchild (the same group) and records both pids. */
#define TREE_CMD "[\"sh\", \"-c\", \"sleep 300 & echo $! > {dir}/grandchild; echo $$ > {dir}/child; " \
                 "echo started >&2; wait\"]"

START_TEST(timeout_kills_the_group)
{
    mv_command c = make(TREE_CMD, "[\"PATH\"]", NULL);
    mv_process_options opt = { .timeout = 1.0, .kill_grace = 1.0 };
    mv_process_result r;
    mv_error err = {0};
    ck_assert_int_eq(mv_process_run(&c, &opt, &r, &err), MV_OK);
    ck_assert_int_eq(r.timed_out, 1);
    ck_assert_int_eq(mv_process_check(&r, "slow", &opt, &err), MV_E_RUNTIME);
    ck_assert_msg(strstr(err.msg, "slow timed out") && strstr(err.msg, "started"), "%s", err.msg);
    pid_t gc = read_pid("grandchild"), ch = read_pid("child");
    ck_assert_int_gt(gc, 0);
    ck_assert_msg(gone(gc) && gone(ch), "a process of the timed-out group survived");
    mv_process_result_free(&r);
    mv_command_free(&c);
}
END_TEST

START_TEST(leftovers_killed_when_command_exits)
{
    /* the command exits at once, leaving a background grandchild holding no pipe */
    mv_command c = make("[\"sh\", \"-c\", \"sleep 300 >/dev/null 2>&1 & echo $! > {dir}/grandchild; exit 0\"]",
                        "[\"PATH\"]", NULL);
    mv_process_options opt = { .timeout = 60 };
    mv_process_result r;
    mv_error err = {0};
    ck_assert_int_eq(mv_process_run(&c, &opt, &r, &err), MV_OK);
    ck_assert_int_eq(mv_process_check(&r, "x", &opt, &err), MV_OK);
    pid_t gc = read_pid("grandchild");
    ck_assert_int_gt(gc, 0);
    ck_assert_msg(gone(gc), "the background grandchild survived its command");
    mv_process_result_free(&r);
    mv_command_free(&c);
}
END_TEST

START_TEST(caller_death_kills_the_group)
{
    /* a caller process (like an isolated stage or `mergeval run`) runs the command and is
     * killed with SIGKILL: nothing of the command's group may survive */
    pid_t caller = fork();
    ck_assert_int_ge(caller, 0);
    if (caller == 0) {
        mv_command c = make(TREE_CMD, "[\"PATH\"]", NULL);
        mv_process_options opt = { .timeout = 600 };
        mv_process_result r;
        mv_process_run(&c, &opt, &r, NULL);
        _exit(0);
    }
    pid_t gc = read_pid("grandchild"), ch = read_pid("child");
    ck_assert_int_gt(gc, 0);
    ck_assert_int_gt(ch, 0);
    ck_assert_int_eq(kill(caller, SIGKILL), 0);
    int st;
    waitpid(caller, &st, 0);
    ck_assert_msg(gone(ch) && gone(gc), "the command (%d) or its child (%d) outlived its caller",
                  (int)ch, (int)gc);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("process");
    TCase *tc = tcase_create("core");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, substitution);
    tcase_add_test(tc, build_errors);
    tcase_add_test(tc, capture_and_env);
    tcase_add_test(tc, failures_are_described);
    tcase_add_test(tc, timeout_kills_the_group);
    tcase_add_test(tc, leftovers_killed_when_command_exits);
    tcase_add_test(tc, caller_death_kills_the_group);
    suite_add_tcase(s, tc);
    return mv_suite_run(s);
}
