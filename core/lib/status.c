/* core/lib/status.c — mv_error helpers: formatting, prefixing, status names and the
 * status → exit-code mapping the CLI uses. No I/O. */
#include <stdio.h>
#include <string.h>
#include <mergeval/status.h>
#include <mergeval/escape.h>

mv_status mv_verrorf(mv_error *err, mv_status code, const char *fmt, va_list ap)
{
    if (err) {
        err->code = code;
        char raw[MV_ERROR_MAX];
        vsnprintf(raw, sizeof raw, fmt, ap);
        /* Messages are one line (a stray newline would break CI log parsing) without
         * control characters: names from files (tensor names, dataset ids) may hold
         * terminal escapes; those show as \xNN. */
        for (char *p = raw; *p; p++)
            if (*p == '\n' || *p == '\r') *p = ' ';
        mv_escape_name(raw, err->msg, sizeof err->msg);
    }
    return code;
}

mv_status mv_errorf(mv_error *err, mv_status code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    mv_verrorf(err, code, fmt, ap);
    va_end(ap);
    return code;
}

mv_status mv_error_prefix(mv_error *err, const char *fmt, ...)
{
    if (!err) return MV_E_RUNTIME;
    char raw[512], prefix[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(raw, sizeof raw, fmt, ap);
    va_end(ap);
    if (n < 0) return err->code;
    mv_escape_name(raw, prefix, sizeof prefix - 2);
    size_t plen = strlen(prefix);
    memcpy(prefix + plen, ": ", 3);
    plen += 2;
    /* Shift the old message right to make room (truncating its tail if needed). */
    size_t old = strnlen(err->msg, sizeof err->msg - 1);
    if (plen + old > sizeof err->msg - 1) old = sizeof err->msg - 1 - plen;
    memmove(err->msg + plen, err->msg, old);
    memcpy(err->msg, prefix, plen);
    err->msg[plen + old] = '\0';
    if (err->code == MV_OK) err->code = MV_E_RUNTIME;
    return err->code;
}

void mv_error_clear(mv_error *err)
{
    if (!err) return;
    err->code = MV_OK;
    err->msg[0] = '\0';
}

const char *mv_status_name(mv_status s)
{
    switch (s) {
    case MV_OK: return "ok";
    case MV_E_INPUT: return "input";
    case MV_E_FORMAT: return "format";
    case MV_E_NOT_FOUND: return "not-found";
    case MV_E_UNSUPPORTED: return "unsupported";
    case MV_E_IO: return "io";
    case MV_E_NOMEM: return "nomem";
    case MV_E_NUMERIC: return "numeric";
    case MV_E_RUNTIME: return "runtime";
    case MV_E_ABI: return "abi";
    }
    return "unknown";
}

int mv_status_exit_code(mv_status s)
{
    switch (s) {
    case MV_OK: return 0;
    case MV_E_INPUT: case MV_E_FORMAT: case MV_E_NOT_FOUND: case MV_E_ABI:
    case MV_E_UNSUPPORTED:
        return 2;
    default:
        return 3;
    }
}
