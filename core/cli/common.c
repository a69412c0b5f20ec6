/* core/cli/common.c — helpers shared by subcommands: error printing with the right exit
 * code, usage errors, and FROM=TO key-map arguments. */
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <cjson/cJSON.h>
#include "mv_cli.h"

int mv_cli_fail(const mv_error *err)
{
    fprintf(stderr, "mergeval: error: %s\n", err->msg[0] ? err->msg : mv_status_name(err->code));
    int rc = mv_status_exit_code(err->code);
    return rc ? rc : 3;
}

int mv_cli_usage_error(const char *cmd, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "mergeval %s: ", cmd);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\nTry 'mergeval %s --help'.\n", cmd);
    return 2;
}

/* getopt's own message is off (opterr = 0 in main), so a bad option is reported once, here,
 * naming the option as the user typed it. For a long option getopt cannot tell "unknown"
 * from "missing value" apart without the table, so the message covers both. */
int mv_cli_bad_option(const char *cmd, char **argv)
{
    const char *typed = optind > 0 ? argv[optind - 1] : "?";
    if (optopt && typed[0] == '-' && typed[1] != '-' && typed[1] != optopt)
        return mv_cli_usage_error(cmd, "unknown option '-%c'", optopt); /* inside a -abc group */
    if (!optopt) return mv_cli_usage_error(cmd, "unknown option '%s'", typed);
    return mv_cli_usage_error(cmd, "option '%s' is unknown or is missing its value", typed);
}

mv_status mv_cli_key_map_json(char **pairs, int n, char **out_json, mv_error *err)
{
    *out_json = NULL;
    cJSON *obj = cJSON_CreateObject();
    if (!obj) return mv_errorf(err, MV_E_NOMEM, "out of memory");
    for (int i = 0; i < n; i++) {
        const char *eq = strchr(pairs[i], '=');
        if (!eq || eq == pairs[i]) {
            cJSON_Delete(obj);
            return mv_errorf(err, MV_E_INPUT, "--key-map '%s': expected FROM=TO, e.g. --key-map model.=llm.model.", pairs[i]);
        }
        char from[1024];
        snprintf(from, sizeof from, "%.*s", (int)(eq - pairs[i]), pairs[i]);
        if (cJSON_GetObjectItemCaseSensitive(obj, from)) {
            cJSON_Delete(obj);
            return mv_errorf(err, MV_E_INPUT, "--key-map '%s': prefix '%s' is mapped twice", pairs[i], from);
        }
        cJSON_AddStringToObject(obj, from, eq + 1);
    }
    char *s = cJSON_PrintUnformatted(obj);
    cJSON_Delete(obj);
    if (!s) return mv_errorf(err, MV_E_NOMEM, "out of memory");
    *out_json = mv_strdup(s);
    cJSON_free(s);
    return *out_json ? MV_OK : mv_errorf(err, MV_E_NOMEM, "out of memory");
}
