/* tests/test_files.c — atomic writes, whole-file reads, directory publication and SHA-256
 * against the FIPS 180-4 test vectors. */
#include <check.h>
#include "suite_run.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <mergeval/mergeval.h>

static char tmpdir[256];

static void setup(void)
{
    snprintf(tmpdir, sizeof tmpdir, "/tmp/mv-test-files-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(tmpdir));
}
static void teardown(void) { mv_remove_tree(tmpdir, NULL); }

START_TEST(sha256_vectors)
{
    char hex[65];
    mv_sha256("", 0, hex);
    ck_assert_str_eq(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    mv_sha256("abc", 3, hex);
    ck_assert_str_eq(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    const char *two = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
    mv_sha256(two, strlen(two), hex);
    ck_assert_str_eq(hex, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
    char *million = malloc(1000000);
    memset(million, 'a', 1000000);
    mv_sha256(million, 1000000, hex);
    ck_assert_str_eq(hex, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
    /* The same bytes through the file path (streamed in blocks). */
    char *path = mv_path_join(tmpdir, "million");
    mv_error err = {0};
    ck_assert_int_eq(mv_write_file_atomic(path, million, 1000000, &err), MV_OK);
    char hex2[65];
    ck_assert_int_eq(mv_sha256_path(path, hex2, &err), MV_OK);
    ck_assert_str_eq(hex2, hex);
    free(million);
    mv_free(path);
}
END_TEST

START_TEST(atomic_write_and_read)
{
    mv_error err = {0};
    char *path = mv_path_join(tmpdir, "a.json");
    ck_assert_int_eq(mv_write_text_atomic(path, "{\"v\":1}", &err), MV_OK);
    ck_assert_int_eq(mv_write_text_atomic(path, "{\"v\":2}", &err), MV_OK);
    char *text = NULL;
    size_t len = 0;
    ck_assert_int_eq(mv_read_file(path, 0, &text, &len, &err), MV_OK);
    ck_assert_str_eq(text, "{\"v\":2}");
    ck_assert_uint_eq(len, 7);
    mv_free(text);
    /* No temp files left behind. */
    char cmd[512];
    snprintf(cmd, sizeof cmd, "test $(ls -A %s | wc -l) -eq 1", tmpdir);
    ck_assert_int_eq(system(cmd), 0);
    /* Failure leaves the old file: writing into a missing directory fails cleanly. */
    char *bad = mv_path_join(tmpdir, "missing/dir/x");
    ck_assert_int_eq(mv_write_text_atomic(bad, "x", &err), MV_E_IO);
    ck_assert_ptr_nonnull(strstr(err.msg, "missing/dir/x"));
    ck_assert_int_eq(mv_read_file(bad, 0, &text, NULL, &err), MV_E_NOT_FOUND);
    ck_assert_int_eq(mv_read_file(path, 3, &text, NULL, &err), MV_E_INPUT);
    mv_free(bad);
    mv_free(path);
}
END_TEST

START_TEST(publish_replaces_directory)
{
    mv_error err = {0};
    char *dst = mv_path_join(tmpdir, "out/model");
    char *tmp = NULL;
    ck_assert_int_eq(mv_make_temp_sibling_dir(dst, &tmp, &err), MV_OK);
    char *f = mv_path_join(tmp, "w");
    ck_assert_int_eq(mv_write_text_atomic(f, "first", &err), MV_OK);
    ck_assert_int_eq(mv_publish_dir(tmp, dst, &err), MV_OK);
    mv_free(f);
    mv_free(tmp);
    ck_assert_int_eq(mv_make_temp_sibling_dir(dst, &tmp, &err), MV_OK);
    f = mv_path_join(tmp, "w");
    ck_assert_int_eq(mv_write_text_atomic(f, "second", &err), MV_OK);
    ck_assert_int_eq(mv_publish_dir(tmp, dst, &err), MV_OK);
    char *g = mv_path_join(dst, "w"), *text = NULL;
    ck_assert_int_eq(mv_read_file(g, 0, &text, NULL, &err), MV_OK);
    ck_assert_str_eq(text, "second");
    char hex1[65], hex2[65];
    ck_assert_int_eq(mv_sha256_path(dst, hex1, &err), MV_OK);
    ck_assert_int_eq(mv_write_text_atomic(g, "third", &err), MV_OK);
    ck_assert_int_eq(mv_sha256_path(dst, hex2, &err), MV_OK);
    ck_assert_str_ne(hex1, hex2); /* a directory hash sees content changes */
    mv_free(text);
    mv_free(g);
    mv_free(f);
    mv_free(tmp);
    mv_free(dst);
}
END_TEST

/* Leftovers of a killed writer of the same destination are removed; a live writer's temp
 * directory and unrelated names are not. */
START_TEST(stale_temp_siblings_removed)
{
    mv_error err = {0};
    pid_t child = fork();
    if (child == 0) _exit(0);
    waitpid(child, NULL, 0); /* now a pid that no longer runs */
    char *dst = mv_path_join(tmpdir, "model"), path[1024];
    char names[5][64];
    snprintf(names[0], 64, "model.tmp-%d-3", (int)child);   /* dead writer: removed */
    snprintf(names[1], 64, "model.old-%d", (int)child);     /* dead publisher: removed */
    snprintf(names[2], 64, "model.tmp-%d-1", (int)getppid()); /* live process: kept */
    snprintf(names[3], 64, "model.tmp-x-1");                 /* not our pattern: kept */
    snprintf(names[4], 64, "modelX.tmp-%d-1", (int)child);  /* another destination: kept */
    for (int i = 0; i < 5; i++) {
        const char *name = names[i];
        snprintf(path, sizeof path, "%s/%s", tmpdir, name);
        ck_assert_int_eq(mv_mkdirs(path, &err), MV_OK);
    }
    char *tmp = NULL;
    ck_assert_int_eq(mv_make_temp_sibling_dir(dst, &tmp, &err), MV_OK);
    int expect_exists[] = {0, 0, 1, 1, 1};
    for (int i = 0; i < 5; i++) {
        const char *name = names[i];
        snprintf(path, sizeof path, "%s/%s", tmpdir, name);
        ck_assert_msg(mv_is_dir(path) == expect_exists[i], "%s: exists=%d", name, mv_is_dir(path));
    }
    ck_assert(mv_is_dir(tmp));
    mv_free(tmp);
    mv_free(dst);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("files");
    TCase *tc = tcase_create("core");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, sha256_vectors);
    tcase_add_test(tc, atomic_write_and_read);
    tcase_add_test(tc, publish_replaces_directory);
    tcase_add_test(tc, stale_temp_siblings_removed);
    suite_add_tcase(s, tc);
    return mv_suite_run(s);
}
