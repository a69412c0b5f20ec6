/* core/lib/regex.c — Python re.fullmatch semantics on PCRE2 (8-bit, UTF + UCP), with a
 * pattern-length cap, a compile-memory cap (a counting allocator) and match/depth/heap
 * limits. The Python/PCRE2 syntax differences that change a result for module names
 * (`\Z`, `{,n}`) are rewritten; everything else is passed through unchanged. */
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <stdlib.h>
#include <string.h>
#include <mergeval/regex.h>
#include <mergeval/context.h>

struct mv_regex {
    pcre2_code *code;
    char *pattern;
};

/* Compile-time allocator: a running total per compilation, refusing past the cap, so a
 * pattern like ((a{255}){255}){255} fails at once instead of taking gigabytes. */
typedef struct budget { size_t used, cap; } budget;

static void *budget_malloc(size_t n, void *data)
{
    budget *b = data;
    if (n > b->cap - b->used) return NULL;
    size_t *p = malloc(sizeof(size_t) * 2 + n);   /* header keeps 16-byte alignment */
    if (!p) return NULL;
    p[0] = n;
    b->used += n;
    return p + 2;
}

static void budget_free(void *q, void *data)
{
    budget *b = data;
    if (!q) return;
    size_t *p = (size_t *)q - 2;
    b->used -= p[0];
    free(p);
}

/* The two Python/PCRE2 syntax differences that change results for module names:
 * Python's \Z (end of string) is PCRE2's \z (PCRE2's \Z also accepts a final newline),
 * and Python's {,n} is a quantifier {0,n} (PCRE2 before 10.43 reads it literally).
 * Escapes are walked pairwise so "\\Z" (a backslash then Z) is left alone; classes are
 * skipped so "[{,2}]" stays a class. Returns a malloc'd copy or NULL. */
static char *python_to_pcre2(const char *re)
{
    size_t n = strlen(re);
    char *o = malloc(2 * n + 1), *p = o;   /* each "{," may gain a '0' */
    int in_class = 0;
    size_t open = 0;                       /* index of the '[' of the current class */
    if (!o) return NULL;
    for (size_t i = 0; i < n; i++) {
        char c = re[i];
        if (c == '\\' && i + 1 < n) {
            *p++ = c;
            *p++ = !in_class && re[i + 1] == 'Z' ? 'z' : re[i + 1];
            i++;
            continue;
        }
        if (in_class) {
            /* a ']' first in the class (after an optional '^') is a literal */
            if (c == ']' && i > open + 1 && !(i == open + 2 && re[open + 1] == '^'))
                in_class = 0;
        } else if (c == '[') {
            in_class = 1;
            open = i;
        } else if (c == '{' && re[i + 1] == ',') {
            size_t j = i + 2;
            while (re[j] >= '0' && re[j] <= '9') j++;
            if (j > i + 2 && re[j] == '}') { *p++ = '{'; *p++ = '0'; continue; }
        }
        *p++ = c;
    }
    *p = 0;
    return o;
}

mv_status mv_regex_compile(const char *python_re, mv_regex **out, mv_error *err)
{
    *out = NULL;
    size_t len = strlen(python_re);
    if (len > MV_REGEX_MAX_PATTERN)
        return mv_errorf(err, MV_E_INPUT, "regex of %zu bytes (\"%.40s...\") is longer than the "
                         "limit of %d bytes", len, python_re, MV_REGEX_MAX_PATTERN);
    mv_regex *r = mv_calloc(1, sizeof *r);
    char *pat = python_to_pcre2(python_re);
    budget b = { 0, MV_REGEX_MAX_COMPILE_BYTES };
    pcre2_general_context *gc = pcre2_general_context_create(budget_malloc, budget_free, &b);
    pcre2_compile_context *cc = gc ? pcre2_compile_context_create(gc) : NULL;
    mv_status st = MV_OK;
    if (!r || !pat || !cc || !(r->pattern = mv_strdup(python_re))) {
        st = mv_errorf(err, MV_E_NOMEM, "regex \"%s\": out of memory", python_re);
        goto done;
    }
    pcre2_set_max_pattern_length(cc, MV_REGEX_MAX_PATTERN);
    pcre2_set_newline(cc, PCRE2_NEWLINE_LF);     /* `.` and `$` treat only \n as a newline */
    pcre2_set_parens_nest_limit(cc, 100);        /* Python caps nesting too (recursion) */
    int ec = 0;
    PCRE2_SIZE eoff = 0;
    /* UTF + UCP: a Python str pattern is Unicode (\d, \w, \s, case folding); invalid UTF-8
     * in a subject simply does not match instead of being an error. */
    r->code = pcre2_compile((PCRE2_SPTR)pat, PCRE2_ZERO_TERMINATED,
                            PCRE2_UTF | PCRE2_UCP | PCRE2_MATCH_INVALID_UTF, &ec, &eoff, cc);
    if (!r->code) {
        PCRE2_UCHAR msg[160];
        pcre2_get_error_message(ec, msg, sizeof msg);
        int heavy = ec == PCRE2_ERROR_NOMEMORY || ec == PCRE2_ERROR_PATTERN_TOO_LARGE ||
                    ec == PCRE2_ERROR_PATTERN_TOO_COMPLICATED;
        st = mv_errorf(err, heavy ? MV_E_INPUT : MV_E_FORMAT,
                       "regex \"%s\" %s at offset %zu: %s%s", python_re,
                       heavy ? "exceeds the compile limits" : "is invalid", (size_t)eoff,
                       (const char *)msg, heavy ? " (simplify the pattern: nested counted "
                       "repeats expand to a huge program)" : "");
    }
done:
    pcre2_compile_context_free(cc);
    pcre2_general_context_free(gc);
    free(pat);
    if (st) { mv_regex_free(r); return st; }
    *out = r;
    return MV_OK;
}

mv_status mv_regex_match(const mv_regex *r, const char *s, int *matched, mv_error *err)
{
    *matched = 0;
    pcre2_match_data *md = pcre2_match_data_create(1, NULL);
    pcre2_match_context *mc = pcre2_match_context_create(NULL);
    if (!md || !mc) {
        pcre2_match_data_free(md);
        pcre2_match_context_free(mc);
        return mv_errorf(err, MV_E_NOMEM, "regex \"%s\": out of memory", r->pattern);
    }
    pcre2_set_match_limit(mc, MV_REGEX_MATCH_LIMIT);
    pcre2_set_depth_limit(mc, MV_REGEX_MATCH_LIMIT);
    pcre2_set_heap_limit(mc, MV_REGEX_HEAP_LIMIT_KB);
    int rc = pcre2_match(r->code, (PCRE2_SPTR)s, PCRE2_ZERO_TERMINATED, 0,
                         PCRE2_ANCHORED | PCRE2_ENDANCHORED, md, mc);
    pcre2_match_data_free(md);
    pcre2_match_context_free(mc);
    if (rc >= 0) { *matched = 1; return MV_OK; }
    if (rc == PCRE2_ERROR_NOMATCH || rc == PCRE2_ERROR_PARTIAL) return MV_OK;
    PCRE2_UCHAR msg[160];
    pcre2_get_error_message(rc, msg, sizeof msg);
    int limit = rc == PCRE2_ERROR_MATCHLIMIT || rc == PCRE2_ERROR_DEPTHLIMIT ||
                rc == PCRE2_ERROR_HEAPLIMIT || rc == PCRE2_ERROR_NOMEMORY;
    return mv_errorf(err, limit ? MV_E_INPUT : MV_E_RUNTIME, "regex \"%s\" on \"%.80s\": %s%s",
                     r->pattern, s, (const char *)msg,
                     limit ? " (the pattern backtracks too much; simplify it)" : "");
}

void mv_regex_free(mv_regex *r)
{
    if (!r) return;
    pcre2_code_free(r->code);
    mv_free(r->pattern);
    mv_free(r);
}

const char *mv_regex_pattern(const mv_regex *r) { return r->pattern; }

mv_status mv_regex_fullmatch(const char *python_re, const char *s, int *matched, mv_error *err)
{
    mv_regex *r = NULL;
    *matched = 0;
    mv_status st = mv_regex_compile(python_re, &r, err);
    if (st) return st;
    st = mv_regex_match(r, s, matched, err);
    mv_regex_free(r);
    return st;
}
