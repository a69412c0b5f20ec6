/* tests/test_safety.c — the safety pieces below the CLI (issue 12.1-3): the --out guard
 * (mv_out_check/begin/commit/abort), mv_publish_dir refusing a user's folder, the folder lock
 * (held across processes, taken over after kill -9), and isolated stages: exit()/_exit() from
 * the stage is a failure, and stage_timeout kills the stage's whole process group.
 * CLI behaviour end to end: tests/test_safety.sh. */
#include <check.h>
#include "suite_run.h"
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <mergeval/mergeval.h>
#include "mv_out.h"
#include "../core/pipeline/runner_internal.h"

static char tmp[256];

static void setup(void)
{
    snprintf(tmp, sizeof tmp, "/tmp/mv-test-safety-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(tmp));
}
static void teardown(void) { mv_remove_tree(tmp, NULL); }

static char *in_tmp(const char *name) { return mv_path_join(tmp, name); }

static void put(const char *dir, const char *name, const char *text)
{
    mv_error err = {0};
    ck_assert_int_eq(mv_mkdirs(dir, &err), MV_OK);
    char *p = mv_path_join(dir, name);
    ck_assert_int_eq(mv_write_text_atomic(p, text, &err), MV_OK);
    mv_free(p);
}

static int has(const char *dir, const char *name)
{
    char *p = mv_path_join(dir, name);
    int r = mv_path_exists(p);
    mv_free(p);
    return r;
}

START_TEST(check_cases)
{
    mv_error err = {0};
    int foreign = -1;
    char *out = in_tmp("out");
    /* absent, then empty: fine */
    ck_assert_int_eq(mv_out_check(out, NULL, 0, 0, &foreign, &err), MV_OK);
    ck_assert_int_eq(foreign, 0);
    ck_assert_int_eq(mv_mkdirs(out, &err), MV_OK);
    ck_assert_int_eq(mv_out_check(out, NULL, 0, 0, &foreign, &err), MV_OK);
    /* a user's file: refused without force, flagged foreign with it */
    put(out, "notes.txt", "mine");
    ck_assert_int_eq(mv_out_check(out, NULL, 0, 0, &foreign, &err), MV_E_INPUT);
    ck_assert_ptr_nonnull(strstr(err.msg, out));
    ck_assert_ptr_nonnull(strstr(err.msg, "--force"));
    ck_assert_ptr_nonnull(strstr(err.msg, "notes.txt"));
    ck_assert_int_eq(mv_out_check(out, NULL, 0, 1, &foreign, &err), MV_OK);
    ck_assert_int_eq(foreign, 1);
    /* a run.json of another tool is not ours; one of a mergeval run is */
    put(out, "run.json", "{\"schema\": \"other\"}");
    ck_assert_int_eq(mv_out_check(out, NULL, 0, 0, NULL, &err), MV_E_INPUT);
    put(out, "run.json", "{\"schema\": \"mergeval.run\"}");
    ck_assert_int_eq(mv_out_check(out, NULL, 0, 0, &foreign, &err), MV_OK);
    ck_assert_int_eq(foreign, 0);
    /* the marker makes any folder ours */
    char *other = in_tmp("other");
    put(other, "x.bin", "x");
    ck_assert(!mv_out_is_ours(other));
    ck_assert_int_eq(mv_out_mark(other, &err), MV_OK);
    ck_assert(mv_out_is_ours(other));
    /* a regular file as --out */
    char *file = in_tmp("file.txt");
    ck_assert_int_eq(mv_write_text_atomic(file, "f", &err), MV_OK);
    ck_assert_int_eq(mv_out_check(file, NULL, 0, 0, NULL, &err), MV_E_INPUT);
    mv_free(file);
    mv_free(other);
    mv_free(out);
}
END_TEST

START_TEST(inputs_are_never_outputs)
{
    mv_error err = {0};
    char *model = in_tmp("model"), *inside = in_tmp("model/sub/out"), *up = in_tmp("nope/../model");
    char *link = in_tmp("link"), *beside = in_tmp("model-merged");
    put(model, "w.bin", "weights");
    ck_assert_int_eq(symlink(model, link), 0);
    const char *inputs[] = { NULL, "/nonexistent/input", model };
    int foreign;
    /* is, lies inside, contains — with or without force; also via .. and a symlink */
    ck_assert_int_eq(mv_out_check(model, inputs, 3, 1, &foreign, &err), MV_E_INPUT);
    ck_assert_ptr_nonnull(strstr(err.msg, "is the input"));
    ck_assert_int_eq(mv_out_check(inside, inputs, 3, 1, &foreign, &err), MV_E_INPUT);
    ck_assert_ptr_nonnull(strstr(err.msg, "lies inside the input"));
    ck_assert_int_eq(mv_out_check(tmp, inputs, 3, 1, &foreign, &err), MV_E_INPUT);
    ck_assert_ptr_nonnull(strstr(err.msg, "contains the input"));
    ck_assert_int_eq(mv_out_check(up, inputs, 3, 1, &foreign, &err), MV_E_INPUT);
    ck_assert_int_eq(mv_out_check(link, inputs, 3, 1, &foreign, &err), MV_E_INPUT);
    /* a sibling whose name merely starts the same is fine */
    ck_assert_int_eq(mv_out_check(beside, inputs, 3, 0, &foreign, &err), MV_OK);
    ck_assert(!mv_path_exists(inside));
    ck_assert(has(model, "w.bin"));
    mv_free(model); mv_free(inside); mv_free(up); mv_free(link); mv_free(beside);
}
END_TEST

START_TEST(force_replaces_atomically)
{
    mv_error err = {0};
    char *out = in_tmp("out");
    put(out, "keep.txt", "mine");
    mv_out o;
    ck_assert_int_eq(mv_out_begin(&o, out, NULL, 0, 0, &err), MV_E_INPUT);
    ck_assert_int_eq(mv_out_begin(&o, out, NULL, 0, 1, &err), MV_OK);
    ck_assert(o.replacing);
    ck_assert_str_ne(o.build, out);
    put(o.build, "new.txt", "new");
    /* until commit, the old content is in place */
    ck_assert(has(out, "keep.txt"));
    ck_assert(!has(out, "new.txt"));
    ck_assert_int_eq(mv_out_commit(&o, &err), MV_OK);
    ck_assert(!has(out, "keep.txt"));
    ck_assert(has(out, "new.txt"));
    ck_assert(mv_out_is_ours(out));
    /* "dir/" too (the temporary folder must be a sibling, not inside) */
    char *u0 = in_tmp("u0"), *u0slash = in_tmp("u0/");
    put(u0, "keep.txt", "mine");
    ck_assert_int_eq(mv_out_begin(&o, u0slash, NULL, 0, 1, &err), MV_OK);
    ck_assert(strncmp(o.build, u0slash, strlen(u0slash)) != 0);
    put(o.build, "new.txt", "new");
    ck_assert_int_eq(mv_out_commit(&o, &err), MV_OK);
    ck_assert(has(u0, "new.txt") && !has(u0, "keep.txt"));
    mv_free(u0); mv_free(u0slash);
    /* a failed forced command leaves the old folder and no temporary one */
    char *u = in_tmp("u");
    put(u, "keep.txt", "mine");
    ck_assert_int_eq(mv_out_begin(&o, u, NULL, 0, 1, &err), MV_OK);
    char *build = mv_strdup(o.build);
    put(o.build, "half.txt", "half");
    mv_out_abort(&o);
    ck_assert(has(u, "keep.txt"));
    ck_assert(!mv_path_exists(build));
    /* ours: written in place, no force needed; a created folder left empty is removed */
    ck_assert_int_eq(mv_out_begin(&o, out, NULL, 0, 0, &err), MV_OK);
    ck_assert(!o.replacing);
    ck_assert_str_eq(o.build, out);
    mv_out_abort(&o);
    ck_assert(has(out, "new.txt"));
    char *fresh = in_tmp("fresh");
    ck_assert_int_eq(mv_out_begin(&o, fresh, NULL, 0, 0, &err), MV_OK);
    ck_assert(o.created);
    mv_out_abort(&o);
    ck_assert(!mv_path_exists(fresh));
    mv_free(fresh); mv_free(build); mv_free(u); mv_free(out);
}
END_TEST

START_TEST(publish_refuses_user_folder)
{
    mv_error err = {0};
    char *dst = in_tmp("dst"), *src = NULL;
    put(dst, "keep.txt", "mine");
    ck_assert_int_eq(mv_make_temp_sibling_dir(dst, &src, &err), MV_OK);
    put(src, "model.bin", "m");
    ck_assert_int_eq(mv_publish_dir(src, dst, &err), MV_E_INPUT);
    ck_assert(has(dst, "keep.txt"));
    /* once it is a mergeval output, publishing replaces it (and marks the new one) */
    ck_assert_int_eq(mv_out_mark(dst, &err), MV_OK);
    ck_assert_int_eq(mv_publish_dir(src, dst, &err), MV_OK);
    ck_assert(!has(dst, "keep.txt"));
    ck_assert(has(dst, "model.bin"));
    ck_assert(mv_out_is_ours(dst));
    mv_free(src);
    mv_free(dst);
}
END_TEST

/* 1 while pid runs (a zombie or a vanished process is not running). */
static int running(pid_t pid)
{
    char path[64], buf[512];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    FILE *f = fopen(path, "r");
    if (!f) return 0;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = 0;
    const char *rp = strrchr(buf, ')');
    return rp && rp[1] == ' ' && rp[2] != 'Z' && rp[2] != 'X';
}

static int wait_gone(pid_t pid)
{
    for (int i = 0; i < 6000 && running(pid); i++) {
        struct timespec ts = { 0, 10000000 };
        nanosleep(&ts, NULL);
    }
    return !running(pid);
}

START_TEST(lock_across_processes)
{
    mv_error err = {0};
    char *dir = in_tmp("run");
    int ready[2];
    ck_assert_int_eq(pipe(ready), 0);
    pid_t child = fork();
    ck_assert_int_ge(child, 0);
    if (child == 0) {
        mv_dir_lock l;
        if (mv_dir_lock_take(&l, dir, "run", NULL) != MV_OK) _exit(1);
        char c = 1;
        if (write(ready[1], &c, 1) != 1) _exit(1);
        for (;;) pause();
    }
    char c;
    ck_assert_int_eq(read(ready[0], &c, 1), 1);
    mv_dir_lock l;
    ck_assert_int_eq(mv_dir_lock_take(&l, dir, "run", &err), MV_E_INPUT);
    char want[64];
    snprintf(want, sizeof want, "(pid %d", (int)child);
    ck_assert_msg(strstr(err.msg, want) != NULL, "%s", err.msg);
    ck_assert_ptr_nonnull(strstr(err.msg, dir));
    /* the holder is killed: its lock goes with it */
    kill(child, SIGKILL);
    waitpid(child, NULL, 0);
    ck_assert_int_eq(mv_dir_lock_take(&l, dir, "run", &err), MV_OK);
    char *lf = mv_path_join(dir, MV_LOCK_FILE), *text = NULL;
    size_t len;
    ck_assert_int_eq(mv_read_file(lf, 0, &text, &len, &err), MV_OK);
    ck_assert_int_eq(atoi(text), (int)getpid());
    mv_dir_lock_release(&l);
    ck_assert(!mv_path_exists(lf));
    mv_free(text);
    mv_free(lf);
    close(ready[0]);
    close(ready[1]);
    mv_free(dir);
}
END_TEST

static mv_status stage_exit(void *arg, mv_error *err) { (void)arg; (void)err; exit(0); }
static mv_status stage_underscore_exit(void *arg, mv_error *err) { (void)arg; (void)err; _exit(0); }
static mv_status stage_ok(void *arg, mv_error *err) { (void)arg; (void)err; return MV_OK; }
static mv_status stage_fails(void *arg, mv_error *err)
{
    (void)arg;
    return mv_errorf(err, MV_E_FORMAT, "bad header in x.safetensors");
}

START_TEST(isolated_exit_is_failure)
{
    mv_error err = {0};
    ck_assert_int_eq(mv_run_isolated(stage_ok, NULL, 0, "ok", &err), MV_OK);
    ck_assert_int_eq(mv_run_isolated(stage_fails, NULL, 0, "fails", &err), MV_E_FORMAT);
    ck_assert_str_eq(err.msg, "bad header in x.safetensors");
    ck_assert_int_eq(mv_run_isolated(stage_exit, NULL, 0, "exit", &err), MV_E_RUNTIME);
    ck_assert_ptr_nonnull(strstr(err.msg, "without reporting completion"));
    ck_assert_int_eq(mv_run_isolated(stage_underscore_exit, NULL, 0, "_exit", &err), MV_E_RUNTIME);
    ck_assert_ptr_nonnull(strstr(err.msg, "without reporting completion"));
}
END_TEST

/* A stage that starts a process (left in the stage's group) and hangs. */
static mv_status stage_spawns_and_hangs(void *arg, mv_error *err)
{
    (void)err;
    int *fd = arg;
    pid_t g = fork();
    if (g == 0) { for (;;) pause(); }
    if (write(*fd, &g, sizeof g) != (ssize_t)sizeof g) _exit(9);
    for (;;) pause();
}

START_TEST(timeout_kills_the_stage_group)
{
    mv_error err = {0};
    int fds[2];
    ck_assert_int_eq(pipe(fds), 0);
    /* The stage never finishes, so the timeout always fires however slow the machine. */
    ck_assert_int_eq(mv_run_isolated(stage_spawns_and_hangs, &fds[1], 0.5, "hang", &err), MV_E_RUNTIME);
    ck_assert_ptr_nonnull(strstr(err.msg, "timed out"));
    pid_t g = 0;
    ck_assert_int_eq(read(fds[0], &g, sizeof g), (ssize_t)sizeof g);
    ck_assert_int_gt(g, 0);
    ck_assert_msg(wait_gone(g), "process %d started by the stage survived its timeout", (int)g);
    close(fds[0]);
    close(fds[1]);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("safety");
    TCase *tc = tcase_create("core");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, check_cases);
    tcase_add_test(tc, inputs_are_never_outputs);
    tcase_add_test(tc, force_replaces_atomically);
    tcase_add_test(tc, publish_refuses_user_folder);
    tcase_add_test(tc, lock_across_processes);
    tcase_add_test(tc, isolated_exit_is_failure);
    tcase_add_test(tc, timeout_kills_the_stage_group);
    suite_add_tcase(s, tc);
    return mv_suite_run(s);
}
