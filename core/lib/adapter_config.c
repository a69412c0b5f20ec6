/* core/lib/adapter_config.c — adapter_config.json (PEFT LoraConfig) parsing with PEFT's
 * defaults, per-module rank/alpha resolution and PEFT's target-module test.
 * Does not read files or tensors (the loader plugin does). */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <stdio.h>
#include <cjson/cJSON.h>
#include <mergeval/adapter.h>
#include <mergeval/jsonnum.h>

/* Ranks beyond this are not real adapters (a 4096-wide model has rank <= 4096); the bound
 * keeps r * (in + out) and every int computed from r far from overflow. */
#define MAX_RANK 1000000

static char *dup_or_null(const char *s) { return s ? mv_strdup(s) : NULL; }

static void free_strv(char **v, size_t n)
{
    for (size_t i = 0; i < n; i++) mv_free(v[i]);
    mv_free(v);
}

void mv_lora_config_free(mv_lora_config *c)
{
    if (!c) return;
    mv_free(c->peft_type);
    mv_free(c->target_regex);
    free_strv(c->targets, c->n_targets);
    mv_free(c->exclude_regex);
    free_strv(c->excludes, c->n_excludes);
    mv_free(c->layers_to_transform);
    free_strv(c->layers_pattern, c->n_layers_pattern);
    free_strv(c->rank_pattern_keys, c->n_rank_pattern);
    mv_free(c->rank_pattern_values);
    free_strv(c->alpha_pattern_keys, c->n_alpha_pattern);
    mv_free(c->alpha_pattern_values);
    free_strv(c->modules_to_save, c->n_modules_to_save);
    mv_free(c->base_model_name_or_path);
    mv_free(c->json);
    memset(c, 0, sizeof *c);
}

/* A string or a list of strings (or null) into either *regex or (*v, *n). */
static mv_status str_or_list(const cJSON *j, const char *field, const char *where,
                             char **regex, char ***v, size_t *n, mv_error *err)
{
    if (!j || cJSON_IsNull(j)) return MV_OK;
    if (cJSON_IsString(j)) {
        if (!regex)
            return mv_errorf(err, MV_E_FORMAT, "%s: \"%s\" must be a list of strings", where, field);
        *regex = mv_strdup(j->valuestring);
        return *regex ? MV_OK : mv_errorf(err, MV_E_NOMEM, "out of memory");
    }
    if (!cJSON_IsArray(j))
        return mv_errorf(err, MV_E_FORMAT, "%s: \"%s\" must be %s", where, field,
                         regex ? "a string (regex) or a list of strings" : "a list of strings");
    size_t k = (size_t)cJSON_GetArraySize(j);
    *v = mv_calloc(k ? k : 1, sizeof **v);
    if (!*v) return mv_errorf(err, MV_E_NOMEM, "out of memory");
    const cJSON *e;
    cJSON_ArrayForEach(e, j) {
        if (!cJSON_IsString(e))
            return mv_errorf(err, MV_E_FORMAT, "%s: \"%s\"[%zu] must be a string", where, field, *n);
        if (!((*v)[*n] = mv_strdup(e->valuestring)))
            return mv_errorf(err, MV_E_NOMEM, "out of memory");
        (*n)++;
    }
    return MV_OK;
}

static mv_status get_bool(const cJSON *root, const char *f, int def, int *out, const char *where,
                          mv_error *err)
{
    const cJSON *j = cJSON_GetObjectItemCaseSensitive(root, f);
    *out = def;
    if (!j || cJSON_IsNull(j)) return MV_OK;
    if (!cJSON_IsBool(j)) return mv_errorf(err, MV_E_FORMAT, "%s: \"%s\" must be true or false", where, f);
    *out = cJSON_IsTrue(j);
    return MV_OK;
}

static mv_status pattern_map(const cJSON *j, const char *f, const char *where, int as_int,
                             char ***keys, int **ivals, double **dvals, size_t *n, mv_error *err)
{
    if (!j || cJSON_IsNull(j)) return MV_OK;
    if (!cJSON_IsObject(j))
        return mv_errorf(err, MV_E_FORMAT, "%s: \"%s\" must be an object {module pattern: number}", where, f);
    size_t k = (size_t)cJSON_GetArraySize(j) + 1;
    *keys = mv_calloc(k, sizeof **keys);
    if (as_int) *ivals = mv_calloc(k, sizeof **ivals);
    else *dvals = mv_calloc(k, sizeof **dvals);
    if (!*keys || (as_int ? !*ivals : !*dvals)) return mv_errorf(err, MV_E_NOMEM, "out of memory");
    const cJSON *e;
    cJSON_ArrayForEach(e, j) {
        if (!cJSON_IsNumber(e))
            return mv_errorf(err, MV_E_FORMAT, "%s: \"%s\".\"%s\" must be a number", where, f, e->string);
        if (as_int) {
            char what[600];
            int64_t r;
            snprintf(what, sizeof what, "%s: \"%s\".\"%.400s\" (a rank)", where, f, e->string);
            mv_status st = mv_json_int_checked(e->valuedouble, 1, MAX_RANK, what, &r, err);
            if (st) return st;
            (*ivals)[*n] = (int)r;
        } else {
            if (!isfinite(e->valuedouble))
                return mv_errorf(err, MV_E_FORMAT, "%s: \"%s\".\"%s\" must be a finite number", where, f, e->string);
            (*dvals)[*n] = e->valuedouble;
        }
        if (!((*keys)[*n] = mv_strdup(e->string))) return mv_errorf(err, MV_E_NOMEM, "out of memory");
        (*n)++;
    }
    return MV_OK;
}

mv_status mv_lora_config_parse(const char *json, const char *where, mv_lora_config *c,
                               mv_error *err)
{
    mv_status st = MV_OK;
    const cJSON *j;
    memset(c, 0, sizeof *c);
    if (!where) where = "adapter_config.json";
    cJSON *root = cJSON_Parse(json ? json : "");
    if (!root || !cJSON_IsObject(root)) {
        st = mv_errorf(err, MV_E_FORMAT, "%s: not a JSON object", where);
        goto fail;
    }
    c->json = mv_strdup(json);
    j = cJSON_GetObjectItemCaseSensitive(root, "peft_type");
    c->peft_type = mv_strdup(cJSON_IsString(j) ? j->valuestring : "LORA");
    if (!c->json || !c->peft_type) { st = mv_errorf(err, MV_E_NOMEM, "out of memory"); goto fail; }
    if (strcmp(c->peft_type, "LORA") != 0) {
        st = mv_errorf(err, MV_E_UNSUPPORTED, "%s: peft_type is \"%s\"; only LoRA adapters "
                       "(\"peft_type\": \"LORA\") can be merged — %s adapters change the forward "
                       "pass in ways that have no weight delta to add", where, c->peft_type, c->peft_type);
        goto fail;
    }
    c->r = 8;
    c->lora_alpha = 8;
    j = cJSON_GetObjectItemCaseSensitive(root, "r");
    if (j && !cJSON_IsNull(j)) {
        char what[600];
        int64_t r;
        snprintf(what, sizeof what, "%s: \"r\"", where);
        if (!cJSON_IsNumber(j)) {
            st = mv_errorf(err, MV_E_FORMAT, "%s must be a positive integer", what);
            goto fail;
        }
        if ((st = mv_json_int_checked(j->valuedouble, 1, MAX_RANK, what, &r, err))) goto fail;
        c->r = (int)r;
    }
    j = cJSON_GetObjectItemCaseSensitive(root, "lora_alpha");
    if (j && !cJSON_IsNull(j)) {
        if (!cJSON_IsNumber(j) || !isfinite(j->valuedouble)) { st = mv_errorf(err, MV_E_FORMAT, "%s: \"lora_alpha\" must be a finite number", where); goto fail; }
        c->lora_alpha = j->valuedouble;
    }
    if ((st = get_bool(root, "use_rslora", 0, &c->use_rslora, where, err))) goto fail;
    if ((st = get_bool(root, "fan_in_fan_out", 0, &c->fan_in_fan_out, where, err))) goto fail;
    if ((st = get_bool(root, "use_dora", 0, &c->use_dora, where, err))) goto fail;
    if ((st = get_bool(root, "lora_bias", 0, &c->lora_bias, where, err))) goto fail;

    if ((st = str_or_list(cJSON_GetObjectItemCaseSensitive(root, "target_modules"), "target_modules",
                          where, &c->target_regex, &c->targets, &c->n_targets, err))) goto fail;
    if (c->target_regex && strcasecmp(c->target_regex, "all-linear") == 0) {
        c->target_all_linear = 1;
        mv_free(c->target_regex);
        c->target_regex = NULL;
    }
    if ((st = str_or_list(cJSON_GetObjectItemCaseSensitive(root, "exclude_modules"), "exclude_modules",
                          where, &c->exclude_regex, &c->excludes, &c->n_excludes, err))) goto fail;
    if ((st = str_or_list(cJSON_GetObjectItemCaseSensitive(root, "modules_to_save"), "modules_to_save",
                          where, NULL, &c->modules_to_save, &c->n_modules_to_save, err))) goto fail;
    {
        char *one = NULL;
        if ((st = str_or_list(cJSON_GetObjectItemCaseSensitive(root, "layers_pattern"), "layers_pattern",
                              where, &one, &c->layers_pattern, &c->n_layers_pattern, err))) goto fail;
        if (one) {
            c->layers_pattern = mv_calloc(1, sizeof *c->layers_pattern);
            if (!c->layers_pattern) { mv_free(one); st = mv_errorf(err, MV_E_NOMEM, "out of memory"); goto fail; }
            c->layers_pattern[0] = one;
            c->n_layers_pattern = *one ? 1 : 0;   /* "" means "any layer pattern", like None */
            if (!*one) { mv_free(one); c->layers_pattern[0] = NULL; }
        }
    }
    j = cJSON_GetObjectItemCaseSensitive(root, "layers_to_transform");
    if (j && !cJSON_IsNull(j)) {
        size_t k = cJSON_IsArray(j) ? (size_t)cJSON_GetArraySize(j) : 1;
        c->layers_to_transform = mv_calloc(k + 1, sizeof(int64_t));
        if (!c->layers_to_transform) { st = mv_errorf(err, MV_E_NOMEM, "out of memory"); goto fail; }
        char what[600];
        snprintf(what, sizeof what, "%s: \"layers_to_transform\"", where);
        if (cJSON_IsNumber(j)) {
            if ((st = mv_json_int_checked(j->valuedouble, 0, INT32_MAX, what, &c->layers_to_transform[0], err))) goto fail;
            c->n_layers_to_transform = 1;
        } else if (cJSON_IsArray(j)) {
            const cJSON *e;
            cJSON_ArrayForEach(e, j) {
                if (!cJSON_IsNumber(e)) { st = mv_errorf(err, MV_E_FORMAT, "%s: \"layers_to_transform\" must hold integers", where); goto fail; }
                snprintf(what, sizeof what, "%s: \"layers_to_transform\"[%zu]", where, c->n_layers_to_transform);
                if ((st = mv_json_int_checked(e->valuedouble, 0, INT32_MAX, what,
                                              &c->layers_to_transform[c->n_layers_to_transform], err))) goto fail;
                c->n_layers_to_transform++;
            }
        } else {
            st = mv_errorf(err, MV_E_FORMAT, "%s: \"layers_to_transform\" must be an integer or a list of integers", where);
            goto fail;
        }
    }
    if ((st = pattern_map(cJSON_GetObjectItemCaseSensitive(root, "rank_pattern"), "rank_pattern", where, 1,
                          &c->rank_pattern_keys, &c->rank_pattern_values, NULL, &c->n_rank_pattern, err))) goto fail;
    if ((st = pattern_map(cJSON_GetObjectItemCaseSensitive(root, "alpha_pattern"), "alpha_pattern", where, 0,
                          &c->alpha_pattern_keys, NULL, &c->alpha_pattern_values, &c->n_alpha_pattern, err))) goto fail;
    j = cJSON_GetObjectItemCaseSensitive(root, "base_model_name_or_path");
    if (cJSON_IsString(j)) c->base_model_name_or_path = dup_or_null(j->valuestring);
    cJSON_Delete(root);
    return MV_OK;
fail:
    cJSON_Delete(root);
    mv_lora_config_free(c);
    return st;
}

/* PEFT's pattern-key lookup: key equal to the module, or (.*\.)?(KEY) matching the whole. */
static mv_status pattern_find(char **keys, size_t n, const char *module, long *found, mv_error *err)
{
    *found = -1;
    for (size_t i = 0; i < n; i++) {
        if (strcmp(keys[i], module) == 0) { *found = (long)i; return MV_OK; }
        size_t len = strlen(keys[i]) + 16;
        char *re = mv_malloc(len);
        if (!re) return mv_errorf(err, MV_E_NOMEM, "out of memory");
        snprintf(re, len, "(.*\\.)?(%s)", keys[i]);
        int m = 0;
        mv_status st = mv_regex_fullmatch(re, module, &m, err);
        mv_free(re);
        if (st) return mv_error_prefix(err, "rank_pattern/alpha_pattern key \"%s\"", keys[i]);
        if (m) { *found = (long)i; return MV_OK; }
    }
    return MV_OK;
}

mv_status mv_lora_config_module_scaling(const mv_lora_config *c, const char *module, int *r,
                                        double *alpha, double *scaling, mv_error *err)
{
    long k;
    mv_status st;
    *r = c->r;
    *alpha = c->lora_alpha;
    if ((st = pattern_find(c->rank_pattern_keys, c->n_rank_pattern, module, &k, err))) return st;
    if (k >= 0) *r = c->rank_pattern_values[k];
    if ((st = pattern_find(c->alpha_pattern_keys, c->n_alpha_pattern, module, &k, err))) return st;
    if (k >= 0) *alpha = c->alpha_pattern_values[k];
    if (*r <= 0) return mv_errorf(err, MV_E_FORMAT, "module %s: rank %d must be positive", module, *r);
    *scaling = c->use_rslora ? *alpha / sqrt((double)*r) : *alpha / (double)*r;
    return MV_OK;
}

static int list_hit(char **v, size_t n, const char *key)
{
    size_t kl = strlen(key);
    for (size_t i = 0; i < n; i++) {
        size_t el = strlen(v[i]);
        if (strcmp(v[i], key) == 0) return 1;
        if (kl > el && key[kl - el - 1] == '.' && strcmp(key + kl - el, v[i]) == 0) return 1;
    }
    return 0;
}

static int all_digits(const char *s, size_t n)
{
    if (!n) return 0;
    for (size_t i = 0; i < n; i++) if (s[i] < '0' || s[i] > '9') return 0;
    return 1;
}

/* The layer index as PEFT's lazy ".*?\.<pattern>\.(\d+)\." finds it: the first dot
 * followed by <pattern>.<digits>. (any single segment when no pattern). -1 = none. */
static mv_status layer_index(const mv_lora_config *c, const char *key, long *out, mv_error *err)
{
    *out = -1;
    for (const char *dot = strchr(key, '.'); dot; dot = strchr(dot + 1, '.')) {
        const char *rest = dot + 1;
        if (c->n_layers_pattern == 0) {
            const char *d1 = strchr(rest, '.');
            if (!d1) break;
            const char *num = d1 + 1, *d2 = strchr(num, '.');
            if (d2 && all_digits(num, (size_t)(d2 - num))) { *out = strtol(num, NULL, 10); return MV_OK; }
            continue;
        }
        for (size_t p = 0; p < c->n_layers_pattern; p++) {
            /* try every split of rest into "<pattern>.<digits>.<tail>" */
            for (const char *d1 = strchr(rest, '.'); d1; d1 = strchr(d1 + 1, '.')) {
                const char *num = d1 + 1, *d2 = strchr(num, '.');
                if (!d2 || !all_digits(num, (size_t)(d2 - num))) continue;
                char *seg = strndup(rest, (size_t)(d1 - rest));
                int m = 0;
                if (!seg) return mv_errorf(err, MV_E_NOMEM, "out of memory");
                mv_status st = mv_regex_fullmatch(c->layers_pattern[p], seg, &m, err);
                free(seg);
                if (st) return mv_error_prefix(err, "layers_pattern");
                if (m) { *out = strtol(num, NULL, 10); return MV_OK; }
            }
        }
    }
    return MV_OK;
}

mv_status mv_lora_config_targets(const mv_lora_config *c, const char *key, int *targeted,
                                 mv_error *err)
{
    mv_status st;
    int m = 0;
    *targeted = 0;
    if (c->exclude_regex) {
        if ((st = mv_regex_fullmatch(c->exclude_regex, key, &m, err))) return mv_error_prefix(err, "exclude_modules");
        if (m) return MV_OK;
    } else if (list_hit(c->excludes, c->n_excludes, key)) {
        return MV_OK;
    }
    /* modules_to_save are never LoRA targets: (^|.*\.)NAME($|\..*) */
    for (size_t i = 0; i < c->n_modules_to_save; i++) {
        size_t len = strlen(c->modules_to_save[i]) + 32;
        char *re = mv_malloc(len);
        if (!re) return mv_errorf(err, MV_E_NOMEM, "out of memory");
        snprintf(re, len, "(.*\\.)?%s(\\..*)?", c->modules_to_save[i]);
        st = mv_regex_fullmatch(re, key, &m, err);
        mv_free(re);
        if (st) return mv_error_prefix(err, "modules_to_save");
        if (m) return MV_OK;
    }
    if (c->target_regex)
        return mv_regex_fullmatch(c->target_regex, key, targeted, err) ? mv_error_prefix(err, "target_modules") : MV_OK;
    if (c->target_all_linear || (c->n_targets == 0)) { *targeted = 1; return MV_OK; }
    for (size_t i = 0; i < c->n_targets; i++)
        if (strcmp(c->targets[i], key) == 0) { *targeted = 1; return MV_OK; }
    if (!list_hit(c->targets, c->n_targets, key)) return MV_OK;
    if (c->n_layers_to_transform == 0) { *targeted = 1; return MV_OK; }
    long li;
    if ((st = layer_index(c, key, &li, err))) return st;
    if (li < 0) return MV_OK;
    for (size_t i = 0; i < c->n_layers_to_transform; i++)
        if (c->layers_to_transform[i] == li) { *targeted = 1; return MV_OK; }
    return MV_OK;
}
