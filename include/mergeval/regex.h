/* mergeval/regex.h — Python-`re` regular expressions as PEFT uses them (target_modules,
 * exclude_modules, rank/alpha_pattern keys, the sft trainer's lora_target_modules), run by
 * PCRE2 with hard limits so a hostile pattern cannot exhaust time or memory. */
#ifndef MERGEVAL_REGEX_H
#define MERGEVAL_REGEX_H

#include <stddef.h>
#include "status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* A compiled pattern; immutable after mv_regex_compile, so one may be matched from several
 * threads at once (each match uses its own scratch data). */
typedef struct mv_regex mv_regex;

/* Limits (documented in docs/merging.md). A pattern longer than MV_REGEX_MAX_PATTERN bytes
 * is refused; compilation may use at most MV_REGEX_MAX_COMPILE_BYTES of memory; one match
 * at most MV_REGEX_MATCH_LIMIT backtracking steps and MV_REGEX_HEAP_LIMIT_KB of heap. */
#define MV_REGEX_MAX_PATTERN 4096
#define MV_REGEX_MAX_COMPILE_BYTES (8u << 20)
#define MV_REGEX_MATCH_LIMIT 1000000u
#define MV_REGEX_HEAP_LIMIT_KB 16384u

/* Compile a Python regex for whole-string matching (Python's re.fullmatch): Unicode
 * (str-pattern) semantics, `.` does not match "\n", `\Z` means end of string, lookarounds,
 * non-greedy quantifiers, (?P<name>...) and inline flags work as in Python.
 * Errors: MV_E_FORMAT for a pattern PCRE2 rejects (message quotes the pattern and the
 * offset), MV_E_INPUT for one over a limit. *out freed with mv_regex_free. */
mv_status mv_regex_compile(const char *python_re, mv_regex **out, mv_error *err);
/* Whole-string match of s: *matched = 1/0. Errors: MV_E_INPUT when the pattern needs more
 * than the match limits on this string (names both). */
mv_status mv_regex_match(const mv_regex *re, const char *s, int *matched, mv_error *err);
void mv_regex_free(mv_regex *re);
/* The pattern as given to mv_regex_compile. */
const char *mv_regex_pattern(const mv_regex *re);

/* Compile, match once, free: for one-off tests. Errors as above. */
mv_status mv_regex_fullmatch(const char *python_re, const char *s, int *matched,
                             mv_error *err);

#ifdef __cplusplus
}
#endif
#endif
