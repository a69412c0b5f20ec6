/* tests/test_metrics.c — metrics.h: known answers for mean / ratio / exp / bits metrics,
 * write → read round trip (exact), merge of shards == one set, weighted recomputation,
 * and the error cases (duplicate ids, conflicting definitions, non-finite values). */
#include <check.h>
#include "suite_run.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <mergeval/mergeval.h>
#include "mv_metrics_io.h"

static const char *COLS[] = {"hit", "nll", "tok", "bytes"};

static void tmpdir(char *buf, size_t n)
{
    snprintf(buf, n, "/tmp/mv_test_metrics_XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(buf));
}

/* Items 0..n-1 where id i has hit = i%2, nll = i+1, tok = 2, bytes = 3. */
static mv_metrics *make_set(size_t from, size_t to, size_t step)
{
    mv_metrics *m = NULL;
    mv_error err = {0};
    ck_assert_int_eq(mv_metrics_new(&m, &err), MV_OK);
    ck_assert_int_eq(mv_metrics_define(m, "r1", MV_HIGHER_IS_BETTER, "hit", NULL,
                                       MV_TRANSFORM_NONE, 1, "mean hit", &err), MV_OK);
    ck_assert_int_eq(mv_metrics_define(m, "nll_per_token", MV_LOWER_IS_BETTER, "nll", "tok",
                                       MV_TRANSFORM_NONE, 0, "nll/token", &err), MV_OK);
    ck_assert_int_eq(mv_metrics_define(m, "perplexity", MV_LOWER_IS_BETTER, "nll", "tok",
                                       MV_TRANSFORM_EXP, 0, "ppl", &err), MV_OK);
    ck_assert_int_eq(mv_metrics_define(m, "bpb", MV_LOWER_IS_BETTER, "nll", "bytes",
                                       MV_TRANSFORM_BITS, 0, "bits per byte", &err), MV_OK);
    for (size_t i = from; i < to; i += step) {
        char id[32];
        snprintf(id, sizeof id, "item%03zu", i);
        double v[4] = {(double)(i % 2), (double)(i + 1) * 0.1, 2, 3};
        char extra[64];
        snprintf(extra, sizeof extra, "{\"generated\":\"text %zu\"}", i);
        ck_assert_int_eq(mv_metrics_add_item(m, id, 4, COLS, v, extra, &err), MV_OK);
    }
    return m;
}

START_TEST(known_answers)
{
    mv_error err = {0};
    mv_metrics *m = make_set(0, 10, 1);
    ck_assert_int_eq(mv_metrics_finalize(m, &err), MV_OK);
    ck_assert_uint_eq(mv_metrics_count(m), 4);
    ck_assert_double_eq_tol(mv_metrics_get(m, "r1"), 0.5, 1e-12);
    /* sum nll = 0.1*(1+..+10) = 5.5, tokens = 20, bytes = 30 */
    ck_assert_double_eq_tol(mv_metrics_get(m, "nll_per_token"), 5.5 / 20, 1e-12);
    ck_assert_double_eq_tol(mv_metrics_get(m, "perplexity"), exp(5.5 / 20), 1e-12);
    ck_assert_double_eq_tol(mv_metrics_get(m, "bpb"), 5.5 / 30 / log(2.0), 1e-12);
    ck_assert(isnan(mv_metrics_get(m, "nope")));
    ck_assert_int_eq(mv_metrics_direction(m, 0), MV_HIGHER_IS_BETTER);
    ck_assert_int_eq(mv_metrics_direction(m, 2), MV_LOWER_IS_BETTER);
    ck_assert_int_eq(mv_metrics_is_binary(m, 0), 1);
    ck_assert_int_eq(mv_metrics_is_binary(m, 1), 0);
    ck_assert_uint_eq(mv_metrics_n_items(m), 10);
    double num, den;
    ck_assert_int_eq(mv_metrics_item_terms(m, 1, 3, &num, &den), 1);
    ck_assert_str_eq(mv_metrics_item_id(m, 3), "item003");
    ck_assert_double_eq_tol(num, 0.4, 1e-12);
    ck_assert_double_eq_tol(den, 2, 1e-12);
    mv_metrics_free(m);
}
END_TEST

START_TEST(metric_without_items_is_nan_and_partial_columns)
{
    mv_error err = {0};
    mv_metrics *m = NULL;
    ck_assert_int_eq(mv_metrics_new(&m, &err), MV_OK);
    ck_assert_int_eq(mv_metrics_define(m, "a", MV_HIGHER_IS_BETTER, "x", NULL, 0, 0, "", &err),
                     MV_OK);
    ck_assert_int_eq(mv_metrics_define(m, "b", MV_HIGHER_IS_BETTER, "y", NULL, 0, 0, "", &err),
                     MV_OK);
    const char *cx[] = {"x"};
    double v1[] = {4.0}, v2[] = {2.0};
    ck_assert_int_eq(mv_metrics_add_item(m, "i1", 1, cx, v1, NULL, &err), MV_OK);
    ck_assert_int_eq(mv_metrics_add_item(m, "i2", 1, cx, v2, NULL, &err), MV_OK);
    const char *cxy[] = {"x", "y"};
    double v3[] = {0.0, 7.0};
    ck_assert_int_eq(mv_metrics_add_item(m, "i3", 2, cxy, v3, NULL, &err), MV_OK);
    ck_assert_int_eq(mv_metrics_finalize(m, &err), MV_OK);
    ck_assert_double_eq_tol(mv_metrics_get(m, "a"), 2.0, 1e-12);   /* (4+2+0)/3 */
    ck_assert_double_eq_tol(mv_metrics_get(m, "b"), 7.0, 1e-12);   /* only i3 has y */
    ck_assert_int_eq(mv_metrics_item_terms(m, 1, 0, NULL, NULL), 0);
    mv_metrics_free(m);

    ck_assert_int_eq(mv_metrics_new(&m, &err), MV_OK);
    ck_assert_int_eq(mv_metrics_define(m, "a", MV_HIGHER_IS_BETTER, "x", NULL, 0, 0, "", &err),
                     MV_OK);
    ck_assert_int_eq(mv_metrics_finalize(m, &err), MV_OK);
    ck_assert(isnan(mv_metrics_get(m, "a")));
    mv_metrics_free(m);
}
END_TEST

START_TEST(errors)
{
    mv_error err = {0};
    mv_metrics *m = make_set(0, 3, 1);
    const char *c[] = {"hit"};
    double v[] = {1};
    ck_assert_int_eq(mv_metrics_add_item(m, "item001", 1, c, v, NULL, &err), MV_E_INPUT);
    ck_assert_ptr_nonnull(strstr(err.msg, "item001"));
    double bad[] = {NAN};
    ck_assert_int_eq(mv_metrics_add_item(m, "x", 1, c, bad, NULL, &err), MV_E_NUMERIC);
    ck_assert_int_eq(mv_metrics_add_item(m, "y", 1, c, v, "[1]", &err), MV_E_INPUT);
    /* same definition again is fine; a different one is not */
    ck_assert_int_eq(mv_metrics_define(m, "r1", MV_HIGHER_IS_BETTER, "hit", NULL,
                                       MV_TRANSFORM_NONE, 1, "mean hit", &err), MV_OK);
    ck_assert_int_eq(mv_metrics_define(m, "r1", MV_LOWER_IS_BETTER, "hit", NULL,
                                       MV_TRANSFORM_NONE, 1, "mean hit", &err), MV_E_INPUT);
    ck_assert_int_eq(mv_metrics_define(m, "bad name!", MV_LOWER_IS_BETTER, "hit", NULL,
                                       MV_TRANSFORM_NONE, 1, "", &err), MV_E_INPUT);
    char dir[64];
    tmpdir(dir, sizeof dir);
    /* writing before finalize is a usage error */
    ck_assert_int_eq(mv_metrics_write(m, dir, "x", NULL, &err), MV_E_INPUT);
    mv_metrics_free(m);
    mv_remove_tree(dir, &err);
}
END_TEST

START_TEST(round_trip)
{
    mv_error err = {0};
    mv_metrics *m = make_set(0, 25, 1);
    ck_assert_int_eq(mv_metrics_scalar(m, "external_score", 0.123456789012345678,
                                       MV_HIGHER_IS_BETTER, "from a harness", &err), MV_OK);
    mv_metrics_set_count(m, "skipped", 2);
    mv_metrics_set_count(m, "items", 25);
    ck_assert_int_eq(mv_metrics_finalize(m, &err), MV_OK);
    char dir[64];
    tmpdir(dir, sizeof dir);
    ck_assert_int_eq(mv_metrics_write(m, dir, "unit", "{\"shard\":\"0/1\"}", &err), MV_OK);
    mv_metrics *r = NULL;
    ck_assert_msg(mv_metrics_read(&r, dir, &err) == MV_OK, "%s", err.msg);
    ck_assert_uint_eq(mv_metrics_count(r), mv_metrics_count(m));
    for (size_t i = 0; i < mv_metrics_count(m); i++) {
        ck_assert_str_eq(mv_metrics_name(r, i), mv_metrics_name(m, i));
        /* exact: numbers are written with round-trip precision */
        ck_assert(mv_metrics_value(r, i) == mv_metrics_value(m, i));
        ck_assert_int_eq(mv_metrics_direction(r, i), mv_metrics_direction(m, i));
        ck_assert_int_eq(mv_metrics_is_binary(r, i), mv_metrics_is_binary(m, i));
    }
    ck_assert_uint_eq(mv_metrics_n_items(r), 25);
    ck_assert_str_eq(mv_metrics_evaluator_name(r), "unit");
    ck_assert_int_eq(mv_metrics_count_value(r, "skipped"), 2);
    ck_assert_ptr_nonnull(strstr(mv_metrics_extra(r), "0/1"));
    ck_assert_ptr_nonnull(strstr(mv_metrics_item_extra(r, 4), "text 4"));
    /* file contents: schema_version present, items.jsonl has 25 lines */
    char *path = mv_path_join(dir, "metrics.json"), *text = NULL;
    size_t len;
    ck_assert_int_eq(mv_read_file(path, 0, &text, &len, &err), MV_OK);
    ck_assert_ptr_nonnull(strstr(text, "\"schema_version\""));
    mv_free(text);
    mv_free(path);
    path = mv_path_join(dir, "items.jsonl");
    ck_assert_int_eq(mv_read_file(path, 0, &text, &len, &err), MV_OK);
    int lines = 0;
    for (size_t i = 0; i < len; i++) lines += text[i] == '\n';
    ck_assert_int_eq(lines, 25);
    ck_assert(strncmp(text, "{\"id\":\"item000\",\"scores\":{", 26) == 0);
    mv_free(text);
    mv_free(path);
    mv_metrics_free(r);
    mv_metrics_free(m);
    mv_remove_tree(dir, &err);
}
END_TEST

START_TEST(merge_equals_whole)
{
    mv_error err = {0};
    mv_metrics *whole = make_set(0, 37, 1);
    mv_metrics_set_count(whole, "items", 37);
    ck_assert_int_eq(mv_metrics_finalize(whole, &err), MV_OK);
    /* three interleaved shards, merged in a scrambled order */
    mv_metrics *s0 = make_set(0, 37, 3), *s1 = make_set(1, 37, 3), *s2 = make_set(2, 37, 3);
    mv_metrics_set_count(s0, "items", 13);
    mv_metrics_set_count(s1, "items", 12);
    mv_metrics_set_count(s2, "items", 12);
    mv_metrics *all = NULL;
    ck_assert_int_eq(mv_metrics_new(&all, &err), MV_OK);
    ck_assert_int_eq(mv_metrics_merge(all, s2, &err), MV_OK);
    ck_assert_int_eq(mv_metrics_merge(all, s0, &err), MV_OK);
    ck_assert_int_eq(mv_metrics_merge(all, s1, &err), MV_OK);
    ck_assert_int_eq(mv_metrics_finalize(all, &err), MV_OK);
    ck_assert_uint_eq(mv_metrics_n_items(all), 37);
    ck_assert_int_eq(mv_metrics_count_value(all, "items"), 37);
    for (size_t i = 0; i < mv_metrics_count(whole); i++)
        ck_assert_msg(mv_metrics_value(all, i) == mv_metrics_value(whole, i), "%s: %.17g vs %.17g",
                      mv_metrics_name(whole, i), mv_metrics_value(all, i),
                      mv_metrics_value(whole, i));
    /* merging a shard twice: duplicate ids */
    ck_assert_int_eq(mv_metrics_merge(all, s1, &err), MV_E_INPUT);
    ck_assert_ptr_nonnull(strstr(err.msg, "item"));
    /* conflicting definitions */
    mv_metrics *bad = NULL;
    ck_assert_int_eq(mv_metrics_new(&bad, &err), MV_OK);
    ck_assert_int_eq(mv_metrics_define(bad, "r1", MV_HIGHER_IS_BETTER, "other", NULL, 0, 1, "",
                                       &err), MV_OK);
    ck_assert_int_eq(mv_metrics_merge(all, bad, &err), MV_E_INPUT);
    mv_metrics_free(bad);
    mv_metrics_free(s0); mv_metrics_free(s1); mv_metrics_free(s2);
    mv_metrics_free(all); mv_metrics_free(whole);
}
END_TEST

START_TEST(weighted_recompute)
{
    mv_error err = {0};
    mv_metrics *m = make_set(0, 4, 1);   /* hits 0 1 0 1, nll .1 .2 .3 .4 */
    ck_assert_int_eq(mv_metrics_finalize(m, &err), MV_OK);
    uint32_t ones[4] = {1, 1, 1, 1};
    for (size_t k = 0; k < mv_metrics_count(m); k++)
        ck_assert_double_eq_tol(mv_metrics_value_weighted(m, k, ones), mv_metrics_value(m, k),
                                1e-12);
    uint32_t w[4] = {0, 3, 1, 0};  /* hits: 3×1 + 0 → 3/4; nll: (0.6+0.3)/(8) */
    ck_assert_double_eq_tol(mv_metrics_value_weighted(m, 0, w), 0.75, 1e-12);
    ck_assert_double_eq_tol(mv_metrics_value_weighted(m, 1, w), 0.9 / 8, 1e-12);
    ck_assert_double_eq_tol(mv_metrics_value_weighted(m, 2, w), exp(0.9 / 8), 1e-12);
    uint32_t none[4] = {0, 0, 0, 0};
    ck_assert(isnan(mv_metrics_value_weighted(m, 0, none)));
    mv_metrics_free(m);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("metrics");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, known_answers);
    tcase_add_test(tc, metric_without_items_is_nan_and_partial_columns);
    tcase_add_test(tc, errors);
    tcase_add_test(tc, round_trip);
    tcase_add_test(tc, merge_equals_whole);
    tcase_add_test(tc, weighted_recompute);
    suite_add_tcase(s, tc);
    return mv_suite_run(s);
}
