/* core/lib/command.c — turning a pipeline's "command"/"env"/"set_env" parameters into an
 * argv and a child environment: {name} substitution (unknown names are errors, so a typo
 * never reaches the command) and the environment allow-list. Running is process.c. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cjson/cJSON.h>
#include <mergeval/context.h>
#include <mergeval/process.h>
#include "mv_strbuf.h"

static int is_name_char(char c) { return (c >= 'a' && c <= 'z') || c == '_'; }

mv_status mv_subst_expand(const char *text, const mv_subst_var *vars, size_t n_vars,
                          const char *where, char **out, mv_error *err)
{
    mv_strbuf b = {0};
    *out = NULL;
    mv_sb_raw(&b, "");
    for (const char *s = text; *s;) {
        const char *e = s + 1;
        while (*s == '{' && is_name_char(*e)) e++;
        if (*s != '{' || *e != '}' || e == s + 1) {
            /* not a placeholder: a literal brace or ordinary text */
            char one[2] = { *s, 0 };
            mv_sb_raw(&b, one);
            s++;
            continue;
        }
        size_t l = (size_t)(e - s - 1);
        const mv_subst_var *v = NULL;
        for (size_t i = 0; i < n_vars && !v; i++)
            if (strlen(vars[i].name) == l && strncmp(vars[i].name, s + 1, l) == 0) v = &vars[i];
        if (!v) {
            mv_strbuf known = {0};
            for (size_t i = 0; i < n_vars; i++) mv_sb_add(&known, "%s{%s}", i ? " " : "", vars[i].name);
            char *k = mv_sb_take(&known);
            mv_errorf(err, MV_E_INPUT, "%s: unknown placeholder \"%.*s\" in \"%s\" (known: %s)",
                      where, (int)l + 2, s, text, k && *k ? k : "none");
            free(k);
            free(mv_sb_take(&b));
            return MV_E_INPUT;
        }
        if (!v->value) {
            free(mv_sb_take(&b));
            return mv_errorf(err, MV_E_INPUT, "%s: \"%s\" uses {%s}, which has no value here",
                             where, text, v->name);
        }
        mv_sb_raw(&b, v->value);
        s = e + 1;
    }
    char *r = mv_sb_take(&b);
    if (!r) return mv_errorf(err, MV_E_NOMEM, "out of memory");
    *out = mv_strdup(r);
    free(r);
    return *out ? MV_OK : mv_errorf(err, MV_E_NOMEM, "out of memory");
}

void mv_command_free(mv_command *c)
{
    if (!c) return;
    for (size_t i = 0; c->argv && i < c->argc; i++) mv_free(c->argv[i]);
    for (size_t i = 0; c->envp && i < c->n_env; i++) mv_free(c->envp[i]);
    mv_free(c->argv);
    mv_free(c->envp);
    memset(c, 0, sizeof *c);
}

static char *name_value(const char *name, const char *value)
{
    size_t l = strlen(name) + strlen(value) + 2;
    char *s = mv_malloc(l);
    if (s) snprintf(s, l, "%s=%s", name, value);
    return s;
}

static int valid_env_name(const char *s)
{
    if (!*s || (*s >= '0' && *s <= '9')) return 0;
    for (; *s; s++)
        if (!((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '_'))
            return 0;
    return 1;
}

mv_status mv_command_build(const char *argv_json, const char *env_json,
                           const char *set_env_json, const mv_subst_var *vars, size_t n_vars,
                           const char *where, mv_command *out, mv_error *err)
{
    mv_status st = MV_OK;
    char path[256];
    memset(out, 0, sizeof *out);
    if (!where) where = "$.params";
    cJSON *cmd = argv_json ? cJSON_Parse(argv_json) : NULL;
    cJSON *env = env_json ? cJSON_Parse(env_json) : NULL;
    cJSON *set = set_env_json ? cJSON_Parse(set_env_json) : NULL;
    if (!cJSON_IsArray(cmd) || cJSON_GetArraySize(cmd) == 0) {
        st = mv_errorf(err, MV_E_INPUT, "%s.command: expected a non-empty list of strings (argv; "
                       "no shell), e.g. [\"python3\", \"train.py\", \"{model}\"]", where);
        goto out;
    }
    if (env_json && !cJSON_IsArray(env)) {
        st = mv_errorf(err, MV_E_INPUT, "%s.env: expected a list of variable names to pass "
                       "through, e.g. [\"PATH\", \"HOME\"]", where);
        goto out;
    }
    if (set_env_json && !cJSON_IsObject(set)) {
        st = mv_errorf(err, MV_E_INPUT, "%s.set_env: expected an object {\"NAME\": \"value\"}", where);
        goto out;
    }
    size_t argc = (size_t)cJSON_GetArraySize(cmd);
    size_t max_env = (size_t)cJSON_GetArraySize(env) + (size_t)cJSON_GetArraySize(set);
    out->argv = mv_calloc(argc + 1, sizeof *out->argv);
    out->envp = mv_calloc(max_env + 1, sizeof *out->envp);
    if (!out->argv || !out->envp) goto nomem;
    for (size_t i = 0; i < argc; i++) {
        const cJSON *a = cJSON_GetArrayItem(cmd, (int)i);
        snprintf(path, sizeof path, "%s.command[%zu]", where, i);
        if (!cJSON_IsString(a)) {
            st = mv_errorf(err, MV_E_INPUT, "%s: expected a string", path);
            goto out;
        }
        if ((st = mv_subst_expand(a->valuestring, vars, n_vars, path, &out->argv[i], err)) != MV_OK)
            goto out;
        out->argc++;
    }
    const cJSON *e;
    cJSON_ArrayForEach(e, env) {
        if (!cJSON_IsString(e) || !valid_env_name(e->valuestring)) {
            st = mv_errorf(err, MV_E_INPUT, "%s.env: expected variable names, got %s", where,
                           cJSON_IsString(e) ? e->valuestring : "a non-string");
            goto out;
        }
        const char *v = getenv(e->valuestring);
        if (!v) continue;
        if (!(out->envp[out->n_env] = name_value(e->valuestring, v))) goto nomem;
        out->n_env++;
    }
    cJSON_ArrayForEach(e, set) {
        snprintf(path, sizeof path, "%s.set_env.%s", where, e->string);
        if (!cJSON_IsString(e) || !valid_env_name(e->string)) {
            st = mv_errorf(err, MV_E_INPUT, "%s: expected a string value and a name of "
                           "[A-Za-z0-9_]", path);
            goto out;
        }
        char *v = NULL;
        if ((st = mv_subst_expand(e->valuestring, vars, n_vars, path, &v, err)) != MV_OK) goto out;
        /* set_env overrides a passed-through variable of the same name */
        size_t nl = strlen(e->string);
        size_t k = 0;
        while (k < out->n_env && !(strncmp(out->envp[k], e->string, nl) == 0 && out->envp[k][nl] == '='))
            k++;
        char *nv = name_value(e->string, v);
        mv_free(v);
        if (!nv) goto nomem;
        if (k < out->n_env) mv_free(out->envp[k]);
        else out->n_env++;
        out->envp[k] = nv;
    }
    goto out;
nomem:
    st = mv_errorf(err, MV_E_NOMEM, "out of memory");
out:
    if (st != MV_OK) mv_command_free(out);
    cJSON_Delete(cmd);
    cJSON_Delete(env);
    cJSON_Delete(set);
    return st;
}
