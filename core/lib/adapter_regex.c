/* core/lib/adapter_regex.c — Python-regex → POSIX ERE translation for PEFT's
 * target_modules / exclude_modules / rank_pattern keys, and whole-string matching.
 * Supports the subset PEFT configs use in practice (see adapter.h); refuses the rest
 * with a message instead of silently matching something else. */
#include <regex.h>
#include <stdlib.h>
#include <string.h>
#include <mergeval/adapter.h>

typedef struct sbuf { char *p; size_t n, cap; int oom; } sbuf;

static void sb_put(sbuf *b, const char *s)
{
    size_t k = strlen(s);
    if (b->oom) return;
    if (b->n + k + 1 > b->cap) {
        size_t cap = (b->cap ? b->cap * 2 : 64) + k;
        char *np = mv_realloc(b->p, cap);
        if (!np) { b->oom = 1; return; }
        b->p = np; b->cap = cap;
    }
    memcpy(b->p + b->n, s, k + 1);
    b->n += k;
}

static void sb_putc(sbuf *b, char c) { char s[2] = { c, 0 }; sb_put(b, s); }

static mv_status unsupported(sbuf *b, const char *re, const char *what, mv_error *err)
{
    mv_free(b->p);
    return mv_errorf(err, MV_E_UNSUPPORTED, "regex \"%s\": %s is not supported (mergeval "
                     "translates Python regexes to POSIX ERE: use plain groups, classes, "
                     "\\d \\w \\s, alternation and quantifiers)", re, what);
}

mv_status mv_regex_python_to_posix(const char *re, char **out, mv_error *err)
{
    sbuf b = { 0 };
    int in_class = 0, class_start = 0;
    *out = NULL;
    sb_put(&b, "^(");
    for (size_t i = 0; re[i]; i++) {
        char c = re[i];
        if (in_class) {
            if (c == ']' && !class_start) { in_class = 0; sb_putc(&b, c); continue; }
            if (c == '^' && class_start == 2) { sb_putc(&b, c); class_start = 1; continue; }
            class_start = 0;
            if (c == '\\') {
                char e = re[++i];
                if (!e) return unsupported(&b, re, "a trailing backslash", err);
                if (e == 'd') sb_put(&b, "0-9");
                else if (e == 'w') sb_put(&b, "A-Za-z0-9_");
                else if (e == 's') sb_put(&b, "[:space:]");
                else if (e == 'n') sb_putc(&b, '\n');
                else if (e == 't') sb_putc(&b, '\t');
                else if (e == ']' || e == '-' || e == '^' || e == 'D' || e == 'W' || e == 'S')
                    return unsupported(&b, re, "this escape inside [...]", err);
                else sb_putc(&b, e);   /* POSIX brackets take punctuation literally */
                continue;
            }
            sb_putc(&b, c);
            continue;
        }
        switch (c) {
        case '\\': {
            char e = re[++i];
            if (!e) return unsupported(&b, re, "a trailing backslash", err);
            switch (e) {
            case 'd': sb_put(&b, "[0-9]"); break;
            case 'D': sb_put(&b, "[^0-9]"); break;
            case 'w': sb_put(&b, "[A-Za-z0-9_]"); break;
            case 'W': sb_put(&b, "[^A-Za-z0-9_]"); break;
            case 's': sb_put(&b, "[[:space:]]"); break;
            case 'S': sb_put(&b, "[^[:space:]]"); break;
            case 'n': sb_putc(&b, '\n'); break;
            case 't': sb_putc(&b, '\t'); break;
            default:
                if ((e >= 'a' && e <= 'z') || (e >= 'A' && e <= 'Z') || (e >= '0' && e <= '9'))
                    return unsupported(&b, re, "this backslash escape (\\b, \\A, \\Z, back-references ...)", err);
                sb_putc(&b, '\\'); sb_putc(&b, e);   /* escaped punctuation: same in ERE */
            }
            break;
        }
        case '(':
            if (re[i + 1] == '?') {
                if (re[i + 2] == ':') { sb_putc(&b, '('); i += 2; break; }
                return unsupported(&b, re, "(?...) groups other than (?:...) (lookaround, "
                                   "named groups, inline flags)", err);
            }
            sb_putc(&b, '(');
            break;
        case '[':
            in_class = 1; class_start = 2;
            sb_putc(&b, '[');
            break;
        case '*': case '+': case '?': case '}':
            sb_putc(&b, c);
            /* A lazy quantifier changes which match is found, never whether the whole
             * string matches; ERE has none, so drop the '?'. */
            if (re[i + 1] == '?') i++;
            break;
        default:
            sb_putc(&b, c);
        }
    }
    if (in_class) return unsupported(&b, re, "an unterminated [...]", err);
    sb_put(&b, ")$");
    if (b.oom) { mv_free(b.p); return mv_errorf(err, MV_E_NOMEM, "regex \"%s\": out of memory", re); }
    *out = b.p;
    return MV_OK;
}

mv_status mv_regex_fullmatch(const char *python_re, const char *s, int *matched, mv_error *err)
{
    char *ere = NULL;
    regex_t rx;
    mv_status st = mv_regex_python_to_posix(python_re, &ere, err);
    *matched = 0;
    if (st) return st;
    int rc = regcomp(&rx, ere, REG_EXTENDED | REG_NOSUB);
    if (rc) {
        char msg[256];
        regerror(rc, &rx, msg, sizeof msg);
        mv_free(ere);
        return mv_errorf(err, MV_E_FORMAT, "regex \"%s\" is invalid: %s", python_re, msg);
    }
    *matched = regexec(&rx, s, 0, NULL, 0) == 0;
    regfree(&rx);
    mv_free(ere);
    return MV_OK;
}
