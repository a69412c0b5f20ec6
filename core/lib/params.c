/* core/lib/params.c — validate a JSON object against declared parameter specs (types,
 * ranges, choices, required, unknown keys) and serve typed values with defaults filled in.
 * Messages carry the JSON path so a user can find the mistake in a pipeline file. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cjson/cJSON.h>
#include <mergeval/jsonnum.h>
#include <mergeval/params.h>
#include <mergeval/context.h>
#include "mv_suggest.h"

struct mv_params {
    const mv_param_spec *specs;
    cJSON *values;      /* object: every declared parameter that has a value */
    cJSON *given;       /* object: name -> true for parameters the user set */
    char *whole_json;   /* cached mv_params_to_json */
    char **value_json;  /* cached mv_params_json per spec index */
    size_t n_specs;
};

static size_t count_specs(const mv_param_spec *s)
{
    size_t n = 0;
    while (s && s[n].name) n++;
    return n;
}

static const char *type_name(mv_param_type t)
{
    switch (t) {
    case MV_PARAM_BOOL: return "boolean";
    case MV_PARAM_INT: return "integer";
    case MV_PARAM_FLOAT: return "number";
    case MV_PARAM_STRING: return "string";
    case MV_PARAM_ENUM: return "string";
    case MV_PARAM_JSON: return "any JSON value";
    }
    return "?";
}

/* "string \"1e-4\"", "number 3", "true", "object", ... for "got ..." in messages. */
static void describe(const cJSON *v, char *buf, size_t n)
{
    if (cJSON_IsString(v)) {
        const char *s = v->valuestring;
        if (strlen(s) > 60) snprintf(buf, n, "string \"%.57s...\"", s);
        else snprintf(buf, n, "string \"%s\"", s);
    } else if (cJSON_IsNumber(v)) snprintf(buf, n, "number %.17g", v->valuedouble);
    else if (cJSON_IsTrue(v)) snprintf(buf, n, "true");
    else if (cJSON_IsFalse(v)) snprintf(buf, n, "false");
    else if (cJSON_IsNull(v)) snprintf(buf, n, "null");
    else if (cJSON_IsArray(v)) snprintf(buf, n, "an array");
    else if (cJSON_IsObject(v)) snprintf(buf, n, "an object");
    else snprintf(buf, n, "an invalid value");
}

static int choice_ok(const char *choices, const char *s)
{
    size_t len = strlen(s);
    const char *p = choices;
    while (p && *p) {
        const char *bar = strchr(p, '|');
        size_t n = bar ? (size_t)(bar - p) : strlen(p);
        if (n == len && strncmp(p, s, n) == 0) return 1;
        p = bar ? bar + 1 : NULL;
    }
    return 0;
}

static mv_status check_value(const mv_param_spec *s, const cJSON *v, const char *where,
                             mv_error *err)
{
    char got[128];
    describe(v, got, sizeof got);
    int ok = 1;
    switch (s->type) {
    case MV_PARAM_BOOL: ok = cJSON_IsBool(v); break;
    case MV_PARAM_INT:
    {
        int64_t t;
        ok = cJSON_IsNumber(v) && mv_json_int(v->valuedouble, INT64_MIN, INT64_MAX, &t);
        break;
    }
    case MV_PARAM_FLOAT: ok = cJSON_IsNumber(v) && isfinite(v->valuedouble); break;
    case MV_PARAM_STRING: ok = cJSON_IsString(v); break;
    case MV_PARAM_ENUM:
        if (!cJSON_IsString(v)) { ok = 0; break; }
        if (s->choices && !choice_ok(s->choices, v->valuestring))
            return mv_errorf(err, MV_E_INPUT, "%s.%s: expected one of %s, got %s", where,
                             s->name, s->choices, got);
        break;
    case MV_PARAM_JSON: break;
    }
    if (!ok)
        return mv_errorf(err, MV_E_INPUT, "%s.%s: expected %s, got %s", where, s->name,
                         type_name(s->type), got);
    if ((s->type == MV_PARAM_INT || s->type == MV_PARAM_FLOAT) && s->min <= s->max &&
        (v->valuedouble < s->min || v->valuedouble > s->max))
        return mv_errorf(err, MV_E_INPUT, "%s.%s: %.17g is out of range [%.17g, %.17g]", where,
                         s->name, v->valuedouble, s->min, s->max);
    return MV_OK;
}

static const mv_param_spec *find_spec(const mv_param_spec *specs, const char *name, size_t *idx)
{
    for (size_t i = 0; specs && specs[i].name; i++)
        if (strcmp(specs[i].name, name) == 0) {
            if (idx) *idx = i;
            return &specs[i];
        }
    return NULL;
}

static void note_problem(mv_error *acc, int *n, const char *msg)
{
    size_t used = strlen(acc->msg);
    if (*n > 0 && used + 2 < sizeof acc->msg) {
        memcpy(acc->msg + used, "; ", 3);
        used += 2;
    }
    snprintf(acc->msg + used, sizeof acc->msg - used, "%s", msg);
    (*n)++;
}

mv_status mv_params_parse(mv_params **out, const mv_param_spec *specs, const char *json,
                          const char *where, mv_error *err)
{
    *out = NULL;
    if (!where) where = "$";
    mv_status st = MV_OK;
    cJSON *in = NULL;
    /* Every problem of the object is reported at once ("a; b; c"), so a user fixes a config
     * in one pass instead of one error per run. */
    mv_error problems = {0};
    int n_problems = 0;
    mv_params *p = mv_calloc(1, sizeof *p);
    if (!p) return mv_errorf(err, MV_E_NOMEM, "out of memory");
    p->specs = specs;
    p->n_specs = count_specs(specs);
    p->values = cJSON_CreateObject();
    p->given = cJSON_CreateObject();
    p->value_json = mv_calloc(p->n_specs + 1, sizeof *p->value_json);
    if (!p->values || !p->given || !p->value_json) { st = mv_errorf(err, MV_E_NOMEM, "out of memory"); goto fail; }

    if (json && *json) {
        in = cJSON_Parse(json);
        if (!in) { st = mv_errorf(err, MV_E_INPUT, "%s: parameters are not valid JSON", where); goto fail; }
        if (!cJSON_IsObject(in)) {
            char got[128];
            describe(in, got, sizeof got);
            st = mv_errorf(err, MV_E_INPUT, "%s: expected an object of parameters, got %s", where, got);
            goto fail;
        }
        for (cJSON *v = in->child; v; v = v->next) {
            const mv_param_spec *s = find_spec(specs, v->string, NULL);
            mv_error one = {0};
            if (!s) {
                char known[1024] = "";
                size_t used = 0;
                for (size_t i = 0; i < p->n_specs && used + 2 < sizeof known; i++)
                    used += (size_t)snprintf(known + used, sizeof known - used, "%s%s",
                                             i ? ", " : "", specs[i].name);
                const char *names[128];
                size_t k = 0;
                for (size_t i = 0; i < p->n_specs && k < 128; i++) names[k++] = specs[i].name;
                const char *best = mv_suggest(v->string, names, k);
                mv_errorf(&one, MV_E_INPUT, "%s.%s: unknown parameter%s%s%s (known: %s)", where,
                          v->string, best ? " (did you mean \"" : "", best ? best : "",
                          best ? "\"?)" : "", p->n_specs ? known : "none");
                note_problem(&problems, &n_problems, one.msg);
                continue;
            }
            if (cJSON_GetObjectItemCaseSensitive(p->given, v->string)) {
                mv_errorf(&one, MV_E_INPUT, "%s.%s: given twice", where, v->string);
                note_problem(&problems, &n_problems, one.msg);
                continue;
            }
            /* Marked as given even when invalid, so it is not also reported as missing. */
            cJSON_AddTrueToObject(p->given, s->name);
            if (check_value(s, v, where, &one) != MV_OK) {
                note_problem(&problems, &n_problems, one.msg);
                continue;
            }
            cJSON_AddItemToObject(p->values, s->name, cJSON_Duplicate(v, 1));
        }
    }
    for (size_t i = 0; i < p->n_specs; i++) {
        const mv_param_spec *s = &specs[i];
        if (cJSON_GetObjectItemCaseSensitive(p->given, s->name)) continue;
        if (s->required) {
            mv_error one = {0};
            mv_errorf(&one, MV_E_INPUT, "%s.%s: required parameter missing (%s)", where,
                      s->name, s->doc ? s->doc : type_name(s->type));
            note_problem(&problems, &n_problems, one.msg);
            continue;
        }
        if (!s->default_json) continue;
        cJSON *d = cJSON_Parse(s->default_json);
        if (!d) {
            st = mv_errorf(err, MV_E_RUNTIME, "plugin bug: default of parameter '%s' is not valid JSON: %s",
                           s->name, s->default_json);
            goto fail;
        }
        if (!cJSON_IsNull(d) && (st = check_value(s, d, "default", err)) != MV_OK) {
            cJSON_Delete(d);
            goto fail;
        }
        cJSON_AddItemToObject(p->values, s->name, d);
    }
    if (n_problems) {
        st = mv_errorf(err, MV_E_INPUT, "%s", problems.msg);
        goto fail;
    }
    cJSON_Delete(in);
    *out = p;
    return MV_OK;
fail:
    cJSON_Delete(in);
    mv_params_free(p);
    return st;
}

mv_params *mv_params_dup(const mv_params *src)
{
    if (!src) return NULL;
    mv_params *p = mv_calloc(1, sizeof *p);
    if (!p) return NULL;
    p->specs = src->specs;
    p->n_specs = src->n_specs;
    p->values = cJSON_Duplicate(src->values, 1);
    p->given = cJSON_Duplicate(src->given, 1);
    p->value_json = mv_calloc(p->n_specs + 1, sizeof *p->value_json);
    if (!p->values || !p->given || !p->value_json) { mv_params_free(p); return NULL; }
    return p;
}

void mv_params_free(mv_params *p)
{
    if (!p) return;
    cJSON_Delete(p->values);
    cJSON_Delete(p->given);
    if (p->value_json)
        for (size_t i = 0; i < p->n_specs; i++) free(p->value_json[i]);
    mv_free(p->value_json);
    free(p->whole_json);
    mv_free(p);
}

int mv_params_given(const mv_params *p, const char *name)
{
    return p && cJSON_GetObjectItemCaseSensitive(p->given, name) != NULL;
}

/* Look up a value, warning (once per call) when the plugin asks for something it did not
 * declare or with the wrong type — a plugin bug, never a user error. */
static const cJSON *get(const mv_params *p, const char *name, mv_param_type want, int strict)
{
    if (!p) return NULL;
    const mv_param_spec *s = find_spec(p->specs, name, NULL);
    if (!s) {
        mv_log(NULL, MV_LOG_WARN, "plugin bug: parameter '%s' was not declared", name);
        return NULL;
    }
    int ok = s->type == want || (want == MV_PARAM_STRING && s->type == MV_PARAM_ENUM) ||
             (want == MV_PARAM_FLOAT && s->type == MV_PARAM_INT) || !strict;
    if (!ok) {
        mv_log(NULL, MV_LOG_WARN, "plugin bug: parameter '%s' read as %s but declared %s", name,
               type_name(want), type_name(s->type));
        return NULL;
    }
    return cJSON_GetObjectItemCaseSensitive(p->values, name);
}

int mv_params_bool(const mv_params *p, const char *name)
{
    const cJSON *v = get(p, name, MV_PARAM_BOOL, 1);
    return v && cJSON_IsTrue(v);
}

int64_t mv_params_int(const mv_params *p, const char *name)
{
    const cJSON *v = get(p, name, MV_PARAM_INT, 1);
    return v && cJSON_IsNumber(v) ? (int64_t)v->valuedouble : 0;
}

double mv_params_float(const mv_params *p, const char *name)
{
    const cJSON *v = get(p, name, MV_PARAM_FLOAT, 1);
    return v && cJSON_IsNumber(v) ? v->valuedouble : NAN;
}

const char *mv_params_string(const mv_params *p, const char *name)
{
    const cJSON *v = get(p, name, MV_PARAM_STRING, 1);
    return v && cJSON_IsString(v) ? v->valuestring : NULL;
}

const char *mv_params_json(const mv_params *p, const char *name)
{
    size_t idx = 0;
    if (!p || !find_spec(p->specs, name, &idx)) return NULL;
    const cJSON *v = get(p, name, MV_PARAM_JSON, 0);
    if (!v) return NULL;
    if (!p->value_json[idx]) p->value_json[idx] = cJSON_PrintUnformatted(v);
    return p->value_json[idx];
}

const char *mv_params_to_json(const mv_params *p)
{
    if (!p) return "{}";
    mv_params *mp = (mv_params *)p; /* the cache is logically const */
    if (!mp->whole_json) mp->whole_json = cJSON_PrintUnformatted(p->values);
    return mp->whole_json ? mp->whole_json : "{}";
}
