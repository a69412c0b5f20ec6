/* tests/test_gen.c — the dataset generators: byte-identical output under a seed, different
 * output under another seed, the test split's (colour, shape) pairs never in train, valid
 * PNGs of the requested size, and the text corpora. */
#include <check.h>
#include "suite_run.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stb/stb_image.h>
#include <mergeval/mergeval.h>
#include "mv_gen.h"

static char *slurp(const char *dir, const char *name, size_t *len)
{
    char *p = mv_path_join(dir, name), *text = NULL;
    mv_error err = {0};
    ck_assert_msg(mv_read_file(p, 0, &text, len, &err) == MV_OK, "%s", err.msg);
    mv_free(p);
    return text;
}

static void same_file(const char *a, const char *b, const char *name, int want_same)
{
    size_t la, lb;
    char *x = slurp(a, name, &la), *y = slurp(b, name, &lb);
    int same = la == lb && memcmp(x, y, la) == 0;
    ck_assert_msg(same == want_same, "%s: expected %s", name, want_same ? "identical" : "different");
    mv_free(x);
    mv_free(y);
}

static const char *COLOURS[] = {"red", "green", "blue", "yellow", "purple", "orange"};
static const char *SHAPES[] = {"circle", "square", "triangle", "diamond", "cross"};

/* (colour, shape) pairs mentioned in captions of a jsonl file → seen[c*5+s] */
static void pairs_in(const char *text, int *seen)
{
    for (const char *line = text; line && *line;) {
        const char *e = strchr(line, '\n');
        char buf[512];
        size_t l = e ? (size_t)(e - line) : strlen(line);
        snprintf(buf, sizeof buf, "%.*s", (int)l, line);
        int c = -1, s = -1;
        for (int k = 0; k < 6; k++) if (strstr(buf, COLOURS[k])) c = k;
        for (int k = 0; k < 5; k++) if (strstr(strstr(buf, "\"text\""), SHAPES[k])) s = k;
        ck_assert_msg(c >= 0 && s >= 0, "caption without colour/shape: %s", buf);
        seen[c * 5 + s]++;
        line = e ? e + 1 : NULL;
    }
}

START_TEST(shapes_deterministic_and_held_out)
{
    char base[] = "/tmp/mv_test_gen_XXXXXX";
    ck_assert_ptr_nonnull(mkdtemp(base));
    char a[128], b[128], c[128];
    snprintf(a, sizeof a, "%s/a", base);
    snprintf(b, sizeof b, "%s/b", base);
    snprintf(c, sizeof c, "%s/c", base);
    mv_gen_shapes_options o;
    mv_gen_shapes_defaults(&o);
    o.n_train = 300;
    o.n_test = 60;
    o.seed = 7;
    mv_error err = {0};
    o.out_dir = a;
    ck_assert_msg(mv_gen_shapes(&o, &err) == MV_OK, "%s", err.msg);
    o.out_dir = b;
    ck_assert_int_eq(mv_gen_shapes(&o, &err), MV_OK);
    o.out_dir = c;
    o.seed = 8;
    ck_assert_int_eq(mv_gen_shapes(&o, &err), MV_OK);
    same_file(a, b, "train.jsonl", 1);
    same_file(a, b, "test.jsonl", 1);
    same_file(a, b, "train.json", 1);
    same_file(a, b, "images/train-00017.png", 1);
    same_file(a, b, "images/test-00059.png", 1);
    same_file(a, c, "train.jsonl", 0);
    same_file(a, c, "images/train-00017.png", 0);
    /* re-running over an existing output replaces it */
    o.out_dir = a;
    o.seed = 7;
    ck_assert_int_eq(mv_gen_shapes(&o, &err), MV_OK);
    same_file(a, b, "train.jsonl", 1);

    size_t l1, l2;
    char *train = slurp(a, "train.jsonl", &l1), *test = slurp(a, "test.jsonl", &l2);
    int in_train[30] = {0}, in_test[30] = {0}, in_seen[30] = {0};
    pairs_in(train, in_train);
    pairs_in(test, in_test);
    char *seen = slurp(a, "test_seen.jsonl", &l2);
    pairs_in(seen, in_seen);
    for (int k = 0; k < 30; k++) ck_assert_msg(!in_seen[k] || in_train[k], "seen split has an unseen pair");
    mv_free(seen);
    int held = 0, seen_train = 0;
    for (int k = 0; k < 30; k++) {
        ck_assert_msg(!(in_train[k] && in_test[k]), "pair %s %s in both splits", COLOURS[k / 5],
                      SHAPES[k % 5]);
        held += in_test[k] > 0;
        seen_train += in_train[k] > 0;
    }
    ck_assert_int_eq(held, 5);
    ck_assert_int_eq(seen_train, 25);
    ck_assert_ptr_nonnull(strstr(train, "\"a small "));
    mv_free(train);
    mv_free(test);

    /* --seen 0: no test_seen pairs, and train/test exactly as with them (generated last) */
    snprintf(c, sizeof c, "%s/noseen", base);
    o.out_dir = c;
    o.n_seen = 0;
    ck_assert_int_eq(mv_gen_shapes(&o, &err), MV_OK);
    same_file(a, c, "train.jsonl", 1);
    same_file(a, c, "test.jsonl", 1);
    same_file(a, c, "images/test-00059.png", 1);
    size_t l3;
    char *none = slurp(c, "test_seen.jsonl", &l3);
    ck_assert_uint_eq(l3, 0);
    mv_free(none);
    char *meta = slurp(c, "meta.json", &l3);
    ck_assert_ptr_nonnull(strstr(meta, "\"test_seen\": 0"));
    mv_free(meta);
    o.n_seen = -1;

    /* a PNG of the requested size */
    char *png = mv_path_join(a, "images/test-00003.png");
    int w, h, n;
    unsigned char *px = stbi_load(png, &w, &h, &n, 3);
    ck_assert_ptr_nonnull(px);
    ck_assert_int_eq(w, 32);
    ck_assert_int_eq(h, 32);
    stbi_image_free(px);
    mv_free(png);
    mv_remove_tree(base, &err);
}
END_TEST

START_TEST(text_corpora)
{
    char base[] = "/tmp/mv_test_gen_XXXXXX";
    ck_assert_ptr_nonnull(mkdtemp(base));
    char a[128], b[128], c[128];
    snprintf(a, sizeof a, "%s/a", base);
    snprintf(b, sizeof b, "%s/b", base);
    snprintf(c, sizeof c, "%s/c", base);
    mv_gen_text_options o;
    mv_gen_text_defaults(&o);
    o.n_docs = 200;
    mv_error err = {0};
    o.kind = "clinical";
    o.out_dir = a;
    ck_assert_int_eq(mv_gen_text(&o, &err), MV_OK);
    o.out_dir = b;
    ck_assert_int_eq(mv_gen_text(&o, &err), MV_OK);
    o.kind = "general";
    o.out_dir = c;
    ck_assert_int_eq(mv_gen_text(&o, &err), MV_OK);
    same_file(a, b, "train.jsonl", 1);
    same_file(a, c, "train.jsonl", 0);
    size_t l;
    char *t = slurp(a, "test.jsonl", &l);
    int lines = 0;
    for (size_t i = 0; i < l; i++) lines += t[i] == '\n';
    ck_assert_int_eq(lines, 20);
    ck_assert_ptr_nonnull(strstr(t, "IMPRESSION:"));
    mv_free(t);
    t = slurp(c, "train.jsonl", &l);
    ck_assert_ptr_null(strstr(t, "IMPRESSION"));
    mv_free(t);
    o.kind = "legal";
    ck_assert_int_eq(mv_gen_text(&o, &err), MV_E_INPUT);
    mv_remove_tree(base, &err);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("gen");
    TCase *tc = tcase_create("gen");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, shapes_deterministic_and_held_out);
    tcase_add_test(tc, text_corpora);
    suite_add_tcase(s, tc);
    return mv_suite_run(s);
}
