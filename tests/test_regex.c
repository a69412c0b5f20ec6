/* tests/test_regex.c — mv_regex (PCRE2 with Python re.fullmatch semantics) against Python's
 * own `re` (golden from tests/golden/make_regex_golden.py), the rewrites (\Z, {,n}), errors,
 * and the limits: hostile patterns fail fast with an error instead of eating memory/time. */
#include <check.h>
#include "suite_run.h"
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <cjson/cJSON.h>
#include <mergeval/mergeval.h>

#define D "tests/data/regex/"

static int full(const char *re, const char *s)
{
    int m = -1;
    mv_error err = { 0 };
    ck_assert_msg(mv_regex_fullmatch(re, s, &m, &err) == MV_OK, "%s: %s", re, err.msg);
    return m;
}

START_TEST(agrees_with_python_re)
{
    char *text = NULL;
    size_t len;
    mv_error err = { 0 };
    ck_assert_int_eq(mv_read_file(D "fullmatch.json", 0, &text, &len, &err), MV_OK);
    cJSON *j = cJSON_Parse(text), *names = cJSON_GetObjectItem(j, "names"), *c;
    mv_free(text);
    ck_assert_ptr_nonnull(names);
    int n_pairs = 0, n_true = 0;
    cJSON_ArrayForEach(c, cJSON_GetObjectItem(j, "cases")) {
        const char *pat = cJSON_GetObjectItem(c, "pattern")->valuestring;
        mv_regex *rx = NULL;
        ck_assert_msg(mv_regex_compile(pat, &rx, &err) == MV_OK, "%s: %s", pat, err.msg);
        cJSON *want = cJSON_GetObjectItem(c, "matches");
        ck_assert_int_eq(cJSON_GetArraySize(want), cJSON_GetArraySize(names));
        for (int i = 0; i < cJSON_GetArraySize(names); i++) {
            const char *name = cJSON_GetArrayItem(names, i)->valuestring;
            int m = -1, w = cJSON_IsTrue(cJSON_GetArrayItem(want, i));
            ck_assert_int_eq(mv_regex_match(rx, name, &m, &err), MV_OK);
            ck_assert_msg(m == w, "re.fullmatch(r'%s', %s) is %d in Python, %d here", pat, name, w, m);
            n_pairs++;
            n_true += w;
        }
        mv_regex_free(rx);
    }
    ck_assert_int_ge(n_pairs, 500);
    ck_assert_int_gt(n_true, 30);   /* the table exercises both outcomes */
    cJSON_Delete(j);
}
END_TEST

START_TEST(python_semantics)
{
    ck_assert_int_eq(full("^(?!.*vpm).*\\.(q_proj|v_proj)$", "llm.layers.0.q_proj"), 1);
    ck_assert_int_eq(full("^(?!.*vpm).*\\.(q_proj|v_proj)$", "vpm.layers.0.q_proj"), 0);
    ck_assert_int_eq(full("a.b", "a\nb"), 0);            /* . does not match a newline */
    ck_assert_int_eq(full("q\\Z", "q\n"), 0);            /* Python \Z: end only */
    ck_assert_int_eq(full("q$", "q\n"), 0);              /* fullmatch must span the "\n" */
    ck_assert_int_eq(full("q$\n", "q\n"), 1);
    ck_assert_int_eq(full("x{,2}", "xx"), 1);            /* {,n} quantifier */
    ck_assert_int_eq(full("[{,2}]+", "{,2}"), 1);        /* ...but not inside a class */
    ck_assert_int_eq(full("\\\\Z", "\\Z"), 1);           /* escaped backslash then Z */
    ck_assert_int_eq(full("[]a]+", "]a"), 1);            /* ']' first in a class is literal */
    ck_assert_int_eq(full("fo", "foo"), 0);              /* whole string */
    ck_assert_int_eq(full("q", "\xff\xfe"), 0);          /* invalid UTF-8 subject: no match */
}
END_TEST

START_TEST(invalid_patterns)
{
    int m = 0;
    mv_error err = { 0 };
    ck_assert_int_eq(mv_regex_fullmatch("(", "q", &m, &err), MV_E_FORMAT);
    ck_assert_ptr_nonnull(strstr(err.msg, "\"(\""));
    ck_assert_int_eq(mv_regex_fullmatch("a**", "q", &m, &err), MV_E_FORMAT);
    ck_assert_int_eq(mv_regex_fullmatch("[z-a]", "q", &m, &err), MV_E_FORMAT);
}
END_TEST

/* Hostile patterns: each must end in an error (or an answer) within the limits. The suite
 * lowers RLIMIT_AS to 1 GiB first, so a pattern that expanded to gigabytes (glibc regcomp
 * took seconds and GBs on these) would fail this test instead of passing. */
START_TEST(hostile_patterns_are_bounded)
{
    struct rlimit rl = { 1ul << 30, 1ul << 30 };
    if (!getenv("ASAN_OPTIONS")) setrlimit(RLIMIT_AS, &rl);   /* ASan reserves terabytes */
    int m = 0;
    mv_error err = { 0 };
    mv_status st = mv_regex_fullmatch("((a{255}){255}){255}", "aaaa", &m, &err);
    ck_assert_msg(st == MV_E_INPUT, "%d %s", st, err.msg);
    ck_assert_ptr_nonnull(strstr(err.msg, "limit"));
    char q[64] = "q";
    for (int i = 0; i < 24; i++) strcat(q, "+");
    st = mv_regex_fullmatch(q, "qqqq", &m, &err);        /* PCRE2: "q++...+" is possessive */
    ck_assert(st == MV_OK || st == MV_E_FORMAT);
    /* catastrophic backtracking on a non-matching subject hits the match limit */
    char subject[64];
    memset(subject, 'a', 40);
    strcpy(subject + 40, "!");
    st = mv_regex_fullmatch("(a+)+(b|!!)", subject, &m, &err);
    ck_assert_msg(st == MV_E_INPUT && strstr(err.msg, "backtracks"), "%d %s", st, err.msg);
    /* too long */
    char *big = malloc(MV_REGEX_MAX_PATTERN + 2);
    memset(big, 'a', MV_REGEX_MAX_PATTERN + 1);
    big[MV_REGEX_MAX_PATTERN + 1] = 0;
    ck_assert_int_eq(mv_regex_fullmatch(big, "a", &m, &err), MV_E_INPUT);
    ck_assert_ptr_nonnull(strstr(err.msg, "longer than"));
    free(big);
    /* deep nesting */
    char nest[512] = "";
    for (int i = 0; i < 200; i++) strcat(nest, "(");
    strcat(nest, "a");
    for (int i = 0; i < 200; i++) strcat(nest, ")");
    ck_assert_int_ne(mv_regex_fullmatch(nest, "a", &m, &err), MV_OK);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("regex");
    TCase *tc = tcase_create("regex");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, agrees_with_python_re);
    tcase_add_test(tc, python_semantics);
    tcase_add_test(tc, invalid_patterns);
    tcase_add_test(tc, hostile_patterns_are_bounded);
    suite_add_tcase(s, tc);
    return mv_suite_run(s);
}
