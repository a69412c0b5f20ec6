/* core/pipeline/config.c — parse a pipeline file and validate it completely before anything
 * runs: structure, types, ranges, unknown keys (listing the valid ones), references between
 * sections, plugin names against the registry and plugin parameters against each
 * component's declared specs. Every message starts with the JSON path. Running is in
 * runner.c; the schema is documented in docs/pipeline.md. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cjson/cJSON.h>
#include "mv_pipeline.h"
#include "mv_suggest.h"
#include "mv_mergekit.h"
#include "launcher.h"

#define MAXP 256

static void describe(const cJSON *v, char *buf, size_t n)
{
    if (!v) snprintf(buf, n, "nothing");
    else if (cJSON_IsString(v)) snprintf(buf, n, "string \"%.60s%s\"", v->valuestring,
                                         strlen(v->valuestring) > 60 ? "..." : "");
    else if (cJSON_IsNumber(v)) snprintf(buf, n, "number %.17g", v->valuedouble);
    else if (cJSON_IsBool(v)) snprintf(buf, n, "%s", cJSON_IsTrue(v) ? "true" : "false");
    else if (cJSON_IsNull(v)) snprintf(buf, n, "null");
    else if (cJSON_IsArray(v)) snprintf(buf, n, "an array");
    else snprintf(buf, n, "an object");
}

static void expected(mv_diag *d, const char *path, const char *what, const cJSON *v)
{
    char got[128];
    describe(v, got, sizeof got);
    mv_diag_add(d, "%s: expected %s, got %s", path, what, got);
}

/* Unknown and duplicate keys of an object. valid is NULL-terminated. */
static void check_keys(mv_diag *d, const cJSON *obj, const char *path, const char *const *valid)
{
    size_t nvalid = 0;
    while (valid[nvalid]) nvalid++;
    for (const cJSON *c = obj->child; c; c = c->next) {
        int ok = 0;
        for (size_t i = 0; valid[i]; i++) if (strcmp(c->string, valid[i]) == 0) ok = 1;
        if (!ok) {
            char list[512] = "";
            for (size_t i = 0; valid[i]; i++) {
                strncat(list, i ? ", " : "", sizeof list - strlen(list) - 1);
                strncat(list, valid[i], sizeof list - strlen(list) - 1);
            }
            const char *best = mv_suggest(c->string, (const char *const *)valid, nvalid);
            mv_diag_add(d, "%s.%s: unknown key%s%s%s; valid keys here: %s", path, c->string,
                        best ? " (did you mean \"" : "", best ? best : "", best ? "\"?)" : "", list);
        }
        for (const cJSON *e = obj->child; e != c; e = e->next)
            if (strcmp(e->string, c->string) == 0) {
                mv_diag_add(d, "%s.%s: duplicate key", path, c->string);
                break;
            }
    }
}

static cJSON *get(const cJSON *obj, const char *key)
{
    return cJSON_GetObjectItemCaseSensitive(obj, key);
}

/* A string member: returns a strdup or NULL (absent, or wrong type → diag). */
static char *get_string(mv_diag *d, const cJSON *obj, const char *path, const char *key,
                        int required)
{
    char p[MAXP];
    snprintf(p, sizeof p, "%s.%s", path, key);
    const cJSON *v = get(obj, key);
    if (!v) {
        if (required) mv_diag_add(d, "%s: required key is missing (expected a string)", p);
        return NULL;
    }
    if (!cJSON_IsString(v) || v->valuestring[0] == 0) {
        expected(d, p, "a non-empty string", v);
        return NULL;
    }
    return strdup(v->valuestring);
}

/* An optional object member serialised to JSON text (NULL when absent). */
static char *get_object_json(mv_diag *d, const cJSON *obj, const char *path, const char *key)
{
    char p[MAXP];
    snprintf(p, sizeof p, "%s.%s", path, key);
    const cJSON *v = get(obj, key);
    if (!v) return NULL;
    if (!cJSON_IsObject(v)) { expected(d, p, "an object", v); return NULL; }
    return cJSON_PrintUnformatted(v);
}

/* ----------------------------------------------------------- registry look-ups */
static int kind_matches(const mv_component *c, mv_kind kind, int loader_target)
{
    if (c->kind != kind) return 0;
    if (kind == MV_KIND_LOADER && loader_target) {
        const mv_loader_vtable *vt = c->vtable;
        return vt && (int)vt->target == loader_target;
    }
    return 1;
}

static const mv_component *find_plugin(mv_diag *d, const mv_registry *reg, mv_kind kind,
                                       int loader_target, const char *name, const char *path,
                                       const char *what)
{
    if (!reg || !name) return NULL;
    const mv_component *c = mv_registry_find(reg, kind, name);
    if (c && kind_matches(c, kind, loader_target)) return c;
    char list[600] = "";
    const char *names[256];
    size_t n = mv_registry_count(reg), k = 0;
    for (size_t i = 0; i < n && k < 256; i++) {
        const mv_component *o = mv_registry_get(reg, i);
        if (!kind_matches(o, kind, loader_target)) continue;
        strncat(list, k ? ", " : "", sizeof list - strlen(list) - 1);
        strncat(list, o->name, sizeof list - strlen(list) - 1);
        names[k++] = o->name;
    }
    const char *best = mv_suggest(name, names, k);
    mv_diag_add(d, "%s: unknown %s \"%s\"%s%s%s; available: %s; plugins outside the built-in "
                "directory are loaded with --plugin-path DIR or MERGEVAL_PLUGIN_PATH", path, what,
                name, best ? " (did you mean \"" : "", best ? best : "", best ? "\"?)" : "",
                k ? list : "none");
    return NULL;
}

static void check_params(mv_diag *d, const mv_param_spec *specs, const char *json,
                         const char *where)
{
    mv_params *p = NULL;
    mv_error e;
    static const mv_param_spec none[] = { { NULL, 0, NULL, NULL, NULL, 0, 0, 0 } };
    mv_error_clear(&e);
    if (mv_params_parse(&p, specs ? specs : none, json, where, &e) != MV_OK)
        mv_diag_add(d, "%s", e.msg);
    mv_params_free(p);
}

static void check_path(mv_diag *d, int check_paths, const char *path, const char *jpath)
{
    if (check_paths && path && !mv_path_exists(path))
        mv_diag_add(d, "%s: \"%s\" does not exist (paths are relative to the working directory)",
                    jpath, path);
}

/* A "launcher" object (where stages run): its kind's own keys are checked by the
 * launcher (launcher.c). Returns the JSON text, or NULL when absent or invalid. */
static char *get_launcher(mv_diag *d, const cJSON *obj, const char *path)
{
    char p[MAXP];
    snprintf(p, sizeof p, "%s.launcher", path);
    const cJSON *v = get(obj, "launcher");
    if (!v) return NULL;
    size_t before = d->n;
    mv_launcher_validate(v, p, d);
    return d->n > before ? NULL : cJSON_PrintUnformatted(v);
}

/* ----------------------------------------------------------- sections */
static void parse_base(mv_pipeline *p, mv_diag *d, const cJSON *v, const mv_registry *reg,
                       int check_paths)
{
    static const char *const keys[] = { "loader", "path", "params", NULL };
    if (!v) { mv_diag_add(d, "$.base: required key is missing (expected {\"path\": ...})"); return; }
    if (cJSON_IsString(v)) { p->base_path = strdup(v->valuestring); }
    else if (!cJSON_IsObject(v)) { expected(d, "$.base", "an object {\"loader\", \"path\"} or a path string", v); return; }
    else {
        check_keys(d, v, "$.base", keys);
        p->base_loader = get_string(d, v, "$.base", "loader", 0);
        p->base_path = get_string(d, v, "$.base", "path", 1);
        p->base_params_json = get_object_json(d, v, "$.base", "params");
    }
    if (!p->base_loader) p->base_loader = strdup("safetensors");
    const mv_component *c = find_plugin(d, reg, MV_KIND_LOADER, MV_LOADS_CHECKPOINT,
                                        p->base_loader, "$.base.loader", "checkpoint loader");
    if (c) check_params(d, c->params, p->base_params_json, "$.base.params");
    check_path(d, check_paths, p->base_path, "$.base.path");
}

static void parse_datasets(mv_pipeline *p, mv_diag *d, const cJSON *v, const mv_registry *reg,
                           int check_paths)
{
    static const char *const keys[] = { "loader", "path", "params", NULL };
    if (!v) { mv_diag_add(d, "$.datasets: required key is missing (expected an object of name → {\"loader\", \"path\"})"); return; }
    if (!cJSON_IsObject(v)) { expected(d, "$.datasets", "an object of name → {\"loader\", \"path\"}", v); return; }
    size_t n = (size_t)cJSON_GetArraySize(v);
    if (n == 0) { mv_diag_add(d, "$.datasets: expected at least one dataset, got an empty object"); return; }
    p->datasets = calloc(n, sizeof *p->datasets);
    for (const cJSON *c = v->child; c; c = c->next) {
        char path[MAXP];
        snprintf(path, sizeof path, "$.datasets.%s", c->string);
        for (const cJSON *e = v->child; e != c; e = e->next)
            if (strcmp(e->string, c->string) == 0) mv_diag_add(d, "%s: duplicate dataset name", path);
        mv_pl_dataset *ds = &p->datasets[p->n_datasets++];
        ds->name = strdup(c->string);
        if (cJSON_IsString(c)) { ds->path = strdup(c->valuestring); }
        else if (!cJSON_IsObject(c)) { expected(d, path, "an object {\"loader\", \"path\", \"params\"}", c); continue; }
        else {
            check_keys(d, c, path, keys);
            ds->loader = get_string(d, c, path, "loader", 0);
            ds->path = get_string(d, c, path, "path", 1);
            ds->params_json = get_object_json(d, c, path, "params");
        }
        char lp[MAXP + 32];
        snprintf(lp, sizeof lp, "%s.loader", path);
        if (ds->loader) {
            const mv_component *comp = find_plugin(d, reg, MV_KIND_LOADER, MV_LOADS_DATASET,
                                                   ds->loader, lp, "dataset loader");
            char pp[MAXP + 32];
            snprintf(pp, sizeof pp, "%s.params", path);
            if (comp) check_params(d, comp->params, ds->params_json, pp);
        }
        snprintf(lp, sizeof lp, "%s.path", path);
        check_path(d, check_paths, ds->path, lp);
    }
}

/* "merge": {"config": "merge.yml"}: a mergekit YAML read like `mergeval merge` reads it
 * (paths relative to the YAML); the pipeline's current model replaces its base_model. */
static cJSON *merge_from_yaml(mv_diag *d, const cJSON *v)
{
    const cJSON *c = get(v, "config");
    if (!cJSON_IsString(c)) { expected(d, "$.merge.config", "the path of a mergekit YAML config", c); return NULL; }
    if (cJSON_GetArraySize((cJSON *)v) > 3 || get(v, "models") || get(v, "adapters") || get(v, "method") || get(v, "strategy")) {
        mv_diag_add(d, "$.merge.config: give the method and models in the YAML, not beside it (only \"at\" and \"out_dtype\" may accompany it)");
        return NULL;
    }
    char *text = NULL, *dir = strdup(c->valuestring), *slash = dir ? strrchr(dir, '/') : NULL;
    size_t len;
    mv_error e = { 0 };
    cJSON *out = NULL;
    if (slash) *slash = 0; else { free(dir); dir = NULL; }
    if (mv_read_file(c->valuestring, 1u << 20, &text, &len, &e) != MV_OK) {
        mv_diag_add(d, "$.merge.config: %s", e.msg);
    } else {
        mv_diag sub = { 0 };
        if (mv_mergekit_to_json(text, len, dir, MV_MK_BASE_IMPLICIT, &out, &sub, &e) != MV_OK)
            for (size_t i = 0; i < sub.n; i++) mv_diag_add(d, "$.merge.config (%s): %s", c->valuestring, sub.msgs[i]);
        else if (get(out, "slices")) {
            mv_diag_add(d, "$.merge.config (%s): slices are not supported in a pipeline merge (use models)", c->valuestring);
            cJSON_Delete(out);
            out = NULL;
        }
        mv_diag_free(&sub);
    }
    mv_free(text);
    free(dir);
    return out;
}

static void parse_merge(mv_pipeline *p, mv_diag *d, const cJSON *v, const mv_registry *reg,
                        int check_paths)
{
    static const char *const keys[] = { "strategy", "method", "adapters", "models", "config", "params", "parameters",
                                        "at", "out_dtype", "launcher", NULL };
    static const char *const akeys[] = { "path", "key_map", "params", "parameters", "model", NULL };
    cJSON *from_yaml = NULL;
    const cJSON *orig = v;
    if (!v) return;
    if (!cJSON_IsObject(v)) { expected(d, "$.merge", "an object {\"strategy\", \"adapters\"}", v); return; }
    p->has_merge = 1;
    check_keys(d, v, "$.merge", keys);
    if (get(v, "config")) {   /* a mergekit YAML: its method, models and parameters */
        v = from_yaml = merge_from_yaml(d, v);
        if (!v) return;
    }
    /* a full-model merge names its method like mergekit ("method") and its models ("models") */
    int full = get(v, "models") != NULL;
    p->merge_strategy = get_string(d, v, "$.merge", get(v, "method") ? "method" : "strategy", 1);
    p->merge_params_json = get_object_json(d, v, "$.merge", get(v, "parameters") ? "parameters" : "params");
    p->merge_out_dtype = get_string(d, get(orig, "out_dtype") ? orig : v, "$.merge", "out_dtype", 0);
    /* Checked here, not at the merge stage: a typo must not surface after an hour of runs. */
    if (p->merge_out_dtype && !mv_dtype_is_float_math(mv_dtype_parse(p->merge_out_dtype, 1)))
        mv_diag_add(d, "$.merge.out_dtype: \"%s\" is not a dtype merges write; expected float32, "
                    "float16 or bfloat16 (or fp32, fp16, bf16, float64)", p->merge_out_dtype);
    p->merge_launcher_json = get_launcher(d, orig, "$.merge");
    char *at = get_string(d, orig, "$.merge", "at", 0);
    if (at) {
        if (strcmp(at, "every") == 0) p->merge_every = 1;
        else if (strcmp(at, "first") != 0)
            mv_diag_add(d, "$.merge.at: expected \"first\" or \"every\", got string \"%s\"", at);
        free(at);
    }
    const mv_component *comp = find_plugin(d, reg, MV_KIND_MERGE, 0, p->merge_strategy,
                                           "$.merge.strategy", "merge strategy");
    const mv_merge_vtable *vt = comp ? comp->vtable : NULL;
    if (comp) {
        check_params(d, comp->params, p->merge_params_json, "$.merge.params");
        if (vt && !vt->takes_adapters && !full)
            mv_diag_add(d, "$.merge.models: \"%s\" merges full models: list them in \"models\" "
                        "([{\"path\": ..., \"parameters\": {...}}]); the current model is the base", p->merge_strategy);
        if (vt && vt->takes_adapters && full)
            mv_diag_add(d, "$.merge.models: \"%s\" merges adapters: list them in \"adapters\"", p->merge_strategy);
    }
    p->merge_full = full;
    const char *list = full ? "models" : "adapters";
    const cJSON *ad = get(v, list);
    if (!ad) { mv_diag_add(d, "$.merge.adapters: required key is missing (expected an array of {\"path\", \"key_map\"})"); goto out; }
    if (!cJSON_IsArray(ad) || cJSON_GetArraySize(ad) == 0) {
        expected(d, full ? "$.merge.models" : "$.merge.adapters", "a non-empty array of {\"path\", ...}", ad);
        goto out;
    }
    size_t n = (size_t)cJSON_GetArraySize(ad);
    p->adapters = calloc(n, sizeof *p->adapters);
    size_t i = 0;
    for (const cJSON *c = ad->child; c; c = c->next, i++) {
        char path[MAXP];
        snprintf(path, sizeof path, "$.merge.%s[%zu]", list, i);
        mv_pl_adapter *a = &p->adapters[p->n_adapters++];
        if (cJSON_IsString(c)) { a->path = strdup(c->valuestring); }
        else if (!cJSON_IsObject(c)) { expected(d, path, "an object {\"path\", \"key_map\", \"params\"}", c); continue; }
        else {
            check_keys(d, c, path, akeys);
            a->path = get_string(d, c, path, get(c, "model") ? "model" : "path", 1);
            a->params_json = get_object_json(d, c, path, get(c, "parameters") ? "parameters" : "params");
            const cJSON *km = get(c, "key_map");
            if (km) {
                char kp[MAXP + 32];
                snprintf(kp, sizeof kp, "%s.key_map", path);
                if (!cJSON_IsObject(km)) expected(d, kp, "an object of prefix rewrites {\"model.\": \"llm.model.\"}", km);
                else {
                    for (const cJSON *e = km->child; e; e = e->next)
                        if (!cJSON_IsString(e)) {
                            char ep[MAXP + 64];
                            snprintf(ep, sizeof ep, "%s.%s", kp, e->string);
                            expected(d, ep, "a string (the replacement prefix)", e);
                        }
                    a->key_map_json = cJSON_PrintUnformatted(km);
                }
            }
        }
        char pp[MAXP + 32];
        if (vt && vt->size > offsetof(mv_merge_vtable, input_params)) {
            snprintf(pp, sizeof pp, "%s.params", path);
            if (vt->input_params || a->params_json) check_params(d, vt->input_params, a->params_json, pp);
        }
        snprintf(pp, sizeof pp, "%s.path", path);
        check_path(d, check_paths, a->path, pp);
    }
out:
    cJSON_Delete(from_yaml);
}

static void parse_train(mv_pipeline *p, mv_diag *d, const cJSON *v, const mv_registry *reg)
{
    static const char *const keys[] = { "trainer", "mix", "params", "adapter_merge", "launcher", NULL };
    if (!v) return;
    if (!cJSON_IsObject(v)) { expected(d, "$.train", "an object {\"trainer\", \"mix\", \"params\"}", v); return; }
    p->has_train = 1;
    check_keys(d, v, "$.train", keys);
    p->trainer = get_string(d, v, "$.train", "trainer", 0);
    if (!p->trainer) p->trainer = strdup("sft");
    p->adapter_merge = get_string(d, v, "$.train", "adapter_merge", 0);
    if (!p->adapter_merge) p->adapter_merge = strdup("lora");
    p->train_params_json = get_object_json(d, v, "$.train", "params");
    p->train_launcher_json = get_launcher(d, v, "$.train");
    const mv_component *comp = find_plugin(d, reg, MV_KIND_TRAINER, 0, p->trainer,
                                           "$.train.trainer", "trainer");
    if (comp) check_params(d, comp->params, p->train_params_json, "$.train.params");
    const mv_component *am = find_plugin(d, reg, MV_KIND_MERGE, 0, p->adapter_merge,
                                         "$.train.adapter_merge", "merge strategy");
    if (am && am->vtable && !((const mv_merge_vtable *)am->vtable)->takes_adapters)
        mv_diag_add(d, "$.train.adapter_merge: \"%s\" does not take adapters", p->adapter_merge);
    const cJSON *mix = get(v, "mix");
    if (!mix) { mv_diag_add(d, "$.train.mix: required key is missing (expected an object of dataset name → weight)"); return; }
    if (!cJSON_IsObject(mix) || cJSON_GetArraySize(mix) == 0) {
        expected(d, "$.train.mix", "a non-empty object of dataset name → weight", mix);
        return;
    }
    p->mix = calloc((size_t)cJSON_GetArraySize(mix), sizeof *p->mix);
    for (const cJSON *c = mix->child; c; c = c->next) {
        char path[MAXP];
        snprintf(path, sizeof path, "$.train.mix.%s", c->string);
        if (!cJSON_IsNumber(c) || !(c->valuedouble > 0) || !isfinite(c->valuedouble)) {
            expected(d, path, "a positive number (mixing weight)", c);
            continue;
        }
        if (p->datasets && mv_pipeline_dataset(p, c->string) < 0) {
            char list[400] = "";
            for (size_t i = 0; i < p->n_datasets; i++) {
                strncat(list, i ? ", " : "", sizeof list - strlen(list) - 1);
                strncat(list, p->datasets[i].name, sizeof list - strlen(list) - 1);
            }
            mv_diag_add(d, "%s: no dataset named \"%s\" in $.datasets (defined: %s)", path,
                        c->string, list);
        }
        p->mix[p->n_mix].dataset = strdup(c->string);
        p->mix[p->n_mix++].weight = c->valuedouble;
    }
}

static int valid_name(const char *s)
{
    if (!*s) return 0;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '_' || *s == '-'))
            return 0;
    return 1;
}

static void parse_evaluate(mv_pipeline *p, mv_diag *d, const cJSON *v, const mv_registry *reg)
{
    static const char *const keys[] = { "name", "plugin", "dataset", "params", "launcher", "shards", NULL };
    if (!v) { mv_diag_add(d, "$.evaluate: required key is missing (expected an array of {\"name\", \"plugin\", \"dataset\"})"); return; }
    if (!cJSON_IsArray(v) || cJSON_GetArraySize(v) == 0) {
        expected(d, "$.evaluate", "a non-empty array of {\"name\", \"plugin\", \"dataset\"}", v);
        return;
    }
    p->evals = calloc((size_t)cJSON_GetArraySize(v), sizeof *p->evals);
    size_t i = 0;
    for (const cJSON *c = v->child; c; c = c->next, i++) {
        char path[MAXP], sub[MAXP + 16];
        snprintf(path, sizeof path, "$.evaluate[%zu]", i);
        if (!cJSON_IsObject(c)) { expected(d, path, "an object {\"name\", \"plugin\", \"dataset\"}", c); continue; }
        mv_pl_eval *e = &p->evals[p->n_evals++];
        check_keys(d, c, path, keys);
        e->plugin = get_string(d, c, path, "plugin", 1);
        e->name = get_string(d, c, path, "name", 0);
        if (!e->name && e->plugin) e->name = strdup(e->plugin);
        e->dataset = get_string(d, c, path, "dataset", 0);
        e->params_json = get_object_json(d, c, path, "params");
        e->launcher_json = get_launcher(d, c, path);
        e->shards = 1;
        const cJSON *sh = get(c, "shards");
        if (sh) {
            snprintf(sub, sizeof sub, "%s.shards", path);
            int64_t n = 0;
            if (!cJSON_IsNumber(sh) || !mv_json_int(sh->valuedouble, 1, 1000, &n))
                expected(d, sub, "an integer from 1 to 1000 (tasks whose outputs are combined)", sh);
            else e->shards = (unsigned)n;
        }
        if (e->name) {
            snprintf(sub, sizeof sub, "%s.name", path);
            if (!valid_name(e->name))
                mv_diag_add(d, "%s: \"%s\" must use only a-z, 0-9, '_' and '-' (it prefixes metric names)",
                            sub, e->name);
            for (size_t j = 0; j + 1 < p->n_evals; j++)
                if (p->evals[j].name && strcmp(p->evals[j].name, e->name) == 0)
                    mv_diag_add(d, "%s: duplicate evaluation name \"%s\" (also $.evaluate[%zu]); give each a distinct \"name\"",
                                sub, e->name, j);
        }
        if (e->dataset && p->datasets && mv_pipeline_dataset(p, e->dataset) < 0) {
            snprintf(sub, sizeof sub, "%s.dataset", path);
            mv_diag_add(d, "%s: no dataset named \"%s\" in $.datasets", sub, e->dataset);
        }
        snprintf(sub, sizeof sub, "%s.plugin", path);
        const mv_component *comp = find_plugin(d, reg, MV_KIND_EVALUATOR, 0, e->plugin, sub, "evaluator");
        if (comp) {
            snprintf(sub, sizeof sub, "%s.params", path);
            check_params(d, comp->params, e->params_json, sub);
            const mv_evaluator_vtable *vt = comp->vtable;
            if (vt && vt->needs_dataset && !e->dataset)
                mv_diag_add(d, "%s.dataset: required: evaluator \"%s\" needs a dataset", path, e->plugin);
        }
    }
}

/* A gate's metric must be one its evaluator can define (when the evaluator declares its
 * names): a typo is reported before the run, not after it. */
static void check_gate_metric(mv_diag *d, const char *path, const mv_pl_eval *e, const char *metric,
                              const mv_registry *reg)
{
    const char *const *names = mv_evaluator_metrics(reg && e->plugin ?
                                                    mv_registry_find(reg, MV_KIND_EVALUATOR, e->plugin) : NULL);
    if (!names) return;
    size_t n = 0;
    char list[512] = "";
    for (; names[n]; n++) {
        if (strcmp(names[n], metric) == 0) return;
        strncat(list, n ? ", " : "", sizeof list - strlen(list) - 1);
        strncat(list, names[n], sizeof list - strlen(list) - 1);
    }
    const char *best = mv_suggest(metric, names, n);
    mv_diag_add(d, "%s: evaluator \"%s\" (evaluate \"%s\") defines no metric \"%s\"%s%s%s; it "
                "defines: %s", path, e->plugin, e->name, metric, best ? " (did you mean \"" : "",
                best ? best : "", best ? "\"?)" : "", list);
}

static void parse_gates(mv_pipeline *p, mv_diag *d, const cJSON *v, const mv_registry *reg)
{
    static const char *const keys[] = { "metric", "vs", "max_drop", "max_drop_rel",
                                        "require_significance", "at", "on_inconclusive", NULL };
    if (!v) return;
    if (!cJSON_IsArray(v)) { expected(d, "$.gates", "an array of {\"metric\", \"vs\", \"max_drop\"}", v); return; }
    p->gates = calloc((size_t)cJSON_GetArraySize(v) + 1, sizeof *p->gates);
    size_t i = 0;
    for (const cJSON *c = v->child; c; c = c->next, i++) {
        char path[MAXP], sub[MAXP + 32];
        snprintf(path, sizeof path, "$.gates[%zu]", i);
        if (!cJSON_IsObject(c)) { expected(d, path, "an object {\"metric\", \"vs\", \"max_drop\"}", c); continue; }
        mv_pl_gate *g = &p->gates[p->n_gates++];
        check_keys(d, c, path, keys);
        g->metric = get_string(d, c, path, "metric", 1);
        if (g->metric) {
            const char *dot = strchr(g->metric, '.');
            snprintf(sub, sizeof sub, "%s.metric", path);
            if (!dot || dot == g->metric || !dot[1])
                mv_diag_add(d, "%s: expected \"<evaluate name>.<metric>\" (e.g. \"alignment.i2t_r1\"), got string \"%s\"",
                            sub, g->metric);
            else if (p->evals) {
                const mv_pl_eval *found = NULL;
                for (size_t j = 0; j < p->n_evals; j++)
                    if (p->evals[j].name && strlen(p->evals[j].name) == (size_t)(dot - g->metric) &&
                        strncmp(p->evals[j].name, g->metric, (size_t)(dot - g->metric)) == 0)
                        found = &p->evals[j];
                if (!found)
                    mv_diag_add(d, "%s: \"%.*s\" is not the name of an entry in $.evaluate", sub,
                                (int)(dot - g->metric), g->metric);
                else
                    check_gate_metric(d, sub, found, dot + 1, reg);
            }
        }
        char *vs = get_string(d, c, path, "vs", 0);
        if (vs) {
            if (strcmp(vs, "previous") == 0) g->vs_previous = 1;
            else if (strcmp(vs, "baseline") != 0)
                mv_diag_add(d, "%s.vs: expected \"baseline\" or \"previous\", got string \"%s\"", path, vs);
            free(vs);
        }
        char *oi = get_string(d, c, path, "on_inconclusive", 0);
        if (oi) {
            if (strcmp(oi, "fail") != 0 && strcmp(oi, "warn") != 0 && strcmp(oi, "pass") != 0)
                mv_diag_add(d, "%s.on_inconclusive: expected \"fail\" (default), \"warn\" or \"pass\", got string \"%s\"",
                            path, oi);
            free(oi);
        }
        char *at = get_string(d, c, path, "at", 0);
        if (at) {
            if (strcmp(at, "every") != 0 && strcmp(at, "final") != 0)
                mv_diag_add(d, "%s.at: expected \"every\" (every evaluation point) or \"final\" (the last one), got string \"%s\"",
                            path, at);
            free(at);
        }
        const cJSON *md = get(c, "max_drop"), *mr = get(c, "max_drop_rel"), *rs = get(c, "require_significance");
        if (md) {
            snprintf(sub, sizeof sub, "%s.max_drop", path);
            if (!cJSON_IsNumber(md) || !(md->valuedouble >= 0)) expected(d, sub, "a number >= 0", md);
            else { g->has_max_drop = 1; g->max_drop = md->valuedouble; }
        }
        if (mr) {
            snprintf(sub, sizeof sub, "%s.max_drop_rel", path);
            if (!cJSON_IsNumber(mr) || !(mr->valuedouble >= 0)) expected(d, sub, "a number >= 0 (a fraction: 0.05 = 5%)", mr);
            else { g->has_max_drop_rel = 1; g->max_drop_rel = mr->valuedouble; }
        }
        if (!md && !mr)
            mv_diag_add(d, "%s: needs \"max_drop\" (absolute) or \"max_drop_rel\" (relative) — the largest acceptable drop", path);
        if (rs) {
            snprintf(sub, sizeof sub, "%s.require_significance", path);
            if (!cJSON_IsBool(rs)) expected(d, sub, "true or false", rs);
            else g->require_significance = cJSON_IsTrue(rs);
        }
    }
}

/* "primary": metrics declared primary for the report's multiplicity families. */
static void parse_primary(mv_diag *d, const cJSON *v)
{
    if (!v) return;
    if (!cJSON_IsArray(v)) { expected(d, "$.primary", "an array of \"<evaluate name>.<metric>\" strings", v); return; }
    int i = 0;
    for (const cJSON *c = v->child; c; c = c->next, i++) {
        char path[MAXP];
        snprintf(path, sizeof path, "$.primary[%d]", i);
        const char *dot = cJSON_IsString(c) ? strchr(c->valuestring, '.') : NULL;
        if (!dot || dot == c->valuestring || !dot[1])
            expected(d, path, "\"<evaluate name>.<metric>\" (e.g. \"alignment.i2t_r1\")", c);
    }
}

static void parse_scalars(mv_pipeline *p, mv_diag *d, const cJSON *root)
{
    const cJSON *v = get(root, "name");
    if (v) {
        if (!cJSON_IsString(v) || !v->valuestring[0]) expected(d, "$.name", "a non-empty string", v);
        else p->name = strdup(v->valuestring);
    }
    if (!p->name) p->name = strdup("pipeline");
    v = get(root, "iterations");
    p->iterations = 1;
    if (v) {
        int64_t n;
        if (!cJSON_IsNumber(v) || !mv_json_int(v->valuedouble, 0, 1000, &n))
            expected(d, "$.iterations", "an integer from 0 to 1000", v);
        else p->iterations = (int)n;
    }
    v = get(root, "seed");
    if (v) {
        int64_t n;
        if (!cJSON_IsNumber(v) || !mv_json_int(v->valuedouble, 0, MV_JSON_INT_MAX, &n))
            expected(d, "$.seed", "an integer >= 0", v);
        else p->seed = (uint64_t)n;
    }
    v = get(root, "stage_timeout");
    if (v) {
        if (!cJSON_IsNumber(v) || !(v->valuedouble >= 0))
            expected(d, "$.stage_timeout", "a number of seconds >= 0 (0 = no limit)", v);
        else p->stage_timeout = v->valuedouble;
    }
    p->resamples = 2000;
    v = get(root, "bootstrap_resamples");
    if (v) {
        int64_t n;
        if (!cJSON_IsNumber(v) || !mv_json_int(v->valuedouble, 1000, 1000000, &n))
            expected(d, "$.bootstrap_resamples", "an integer from 1000 to 1000000", v);
        else p->resamples = (int)n;
    }
    v = get(root, "description");
    if (v && !cJSON_IsString(v)) expected(d, "$.description", "a string", v);
}

static void free_fields(mv_pipeline *p);
static mv_status validate_root(mv_pipeline *p, cJSON *root, const mv_registry *reg,
                               int check_paths, mv_diag *d);

/* The sweep: {"train.params.lr": [1e-4, 3e-4], ...}; every grid point must validate. */
static void parse_sweep(mv_pipeline *p, mv_diag *d, const cJSON *root, const mv_registry *reg,
                        int check_paths)
{
    const cJSON *v = get(root, "sweep");
    if (!v) return;
    if (!cJSON_IsObject(v) || cJSON_GetArraySize(v) == 0) {
        expected(d, "$.sweep", "a non-empty object of parameter path → array of values", v);
        return;
    }
    size_t points = 1;
    for (const cJSON *c = v->child; c; c = c->next) {
        char path[MAXP];
        snprintf(path, sizeof path, "$.sweep[\"%s\"]", c->string);
        if (strncmp(c->string, "sweep", 5) == 0 || strncmp(c->string, "$.sweep", 7) == 0) {
            mv_diag_add(d, "%s: a sweep cannot change the sweep itself", path);
            return;
        }
        if (!cJSON_IsArray(c) || cJSON_GetArraySize(c) == 0) {
            expected(d, path, "a non-empty array of values", c);
            return;
        }
        points *= (size_t)cJSON_GetArraySize(c);
    }
    if (points > 64) { mv_diag_add(d, "$.sweep: %zu grid points; at most 64 are allowed", points); return; }
    /* Validate every point as its own pipeline. */
    for (size_t k = 0; k < points; k++) {
        cJSON *copy = cJSON_Duplicate(root, 1);
        cJSON_DeleteItemFromObjectCaseSensitive(copy, "sweep");
        size_t rem = k;
        char label[MAXP] = "";
        int ok = 1;
        for (const cJSON *c = v->child; c && ok; c = c->next) {
            size_t n = (size_t)cJSON_GetArraySize(c), idx = rem % n;
            rem /= n;
            char *val = cJSON_PrintUnformatted(cJSON_GetArrayItem(c, (int)idx));
            char *as = NULL;
            if (asprintf(&as, "%s=%s", c->string, val) < 0) as = NULL;
            mv_error e;
            if (as && mv_json_set_path(copy, as, &e) != MV_OK) {
                mv_diag_add(d, "$.sweep[\"%s\"]: %s", c->string, e.msg);
                ok = 0;
            }
            strncat(label, label[0] ? ", " : "", sizeof label - strlen(label) - 1);
            strncat(label, as ? as : "?", sizeof label - strlen(label) - 1);
            free(as);
            cJSON_free(val);
        }
        if (ok) {
            mv_pipeline tmp;
            mv_diag sub = { 0 };
            memset(&tmp, 0, sizeof tmp);
            validate_root(&tmp, copy, reg, check_paths, &sub);
            for (size_t i = 0; i < sub.n; i++) mv_diag_add(d, "sweep point %zu (%s): %s", k, label, sub.msgs[i]);
            mv_diag_free(&sub);
            free_fields(&tmp);
        }
        cJSON_Delete(copy);
        if (d && d->n > 50) break;
    }
    p->sweep_json = cJSON_PrintUnformatted(v);
}

static mv_status validate_root(mv_pipeline *p, cJSON *root, const mv_registry *reg,
                               int check_paths, mv_diag *d)
{
    static const char *const keys[] = { "name", "description", "base", "datasets", "iterations",
                                        "merge", "train", "evaluate", "gates", "sweep", "seed",
                                        "stage_timeout", "bootstrap_resamples", "primary", "launcher", NULL };
    size_t before = d->n;
    if (!cJSON_IsObject(root)) { expected(d, "$", "a JSON object (the pipeline)", root); return MV_E_INPUT; }
    check_keys(d, root, "$", keys);
    parse_scalars(p, d, root);
    p->launcher_json = get_launcher(d, root, "$");
    parse_base(p, d, get(root, "base"), reg, check_paths);
    parse_datasets(p, d, get(root, "datasets"), reg, check_paths);
    parse_merge(p, d, get(root, "merge"), reg, check_paths);
    parse_train(p, d, get(root, "train"), reg);
    parse_evaluate(p, d, get(root, "evaluate"), reg);
    parse_gates(p, d, get(root, "gates"), reg);
    parse_primary(d, get(root, "primary"));
    if (p->iterations > 0 && !p->has_merge && !p->has_train)
        mv_diag_add(d, "$.iterations: %d iteration(s) but neither $.merge nor $.train is given; "
                    "set \"iterations\": 0 to evaluate the base only", p->iterations);
    return d->n > before ? MV_E_INPUT : MV_OK;
}

long mv_pipeline_dataset(const mv_pipeline *p, const char *name)
{
    for (size_t i = 0; i < p->n_datasets; i++)
        if (p->datasets[i].name && strcmp(p->datasets[i].name, name) == 0) return (long)i;
    return -1;
}

mv_status mv_pipeline_parse(const char *json_text, const char *const *sets, size_t n_sets,
                            const mv_registry *reg, int check_paths, mv_pipeline **out,
                            mv_diag *diag, mv_error *err)
{
    mv_diag local = { 0 };
    mv_diag *d = diag ? diag : &local;
    size_t before = d->n;
    mv_status st = MV_OK;
    mv_pipeline *p = calloc(1, sizeof *p);
    cJSON *root = NULL;
    *out = NULL;
    if (!p) return mv_errorf(err, MV_E_NOMEM, "out of memory");
    const char *end = NULL;
    root = cJSON_ParseWithOpts(json_text, &end, 1);
    if (!root) {
        /* Report line and column of the syntax error. */
        const char *at = cJSON_GetErrorPtr();
        int line = 1, col = 1;
        for (const char *s = json_text; at && s < at && *s; s++) {
            if (*s == '\n') { line++; col = 1; } else col++;
        }
        mv_diag_add(d, "$: not valid JSON: syntax error at line %d, column %d (near \"%.20s\")",
                    line, col, at ? at : "");
        st = mv_diag_to_error(d, MV_E_INPUT, err);
        goto fail;
    }
    for (size_t i = 0; i < n_sets; i++) {
        mv_error e;
        if (mv_json_set_path(root, sets[i], &e) != MV_OK) mv_diag_add(d, "%s", e.msg);
    }
    validate_root(p, root, reg, check_paths, d);
    parse_sweep(p, d, root, reg, check_paths);
    if (d->n > before) {
        mv_diag tail = { .msgs = d->msgs + before, .n = d->n - before };
        st = mv_diag_to_error(&tail, MV_E_INPUT, err);
        goto fail;
    }
    p->config_json = cJSON_PrintUnformatted(root);
    mv_sha256(p->config_json, strlen(p->config_json), p->config_sha256);
    {
        static const char *const report_only[] = { "name", "description", "gates", "stage_timeout",
                                                   "bootstrap_resamples", "primary", NULL };
        cJSON *copy = cJSON_Duplicate(root, 1);
        for (size_t i = 0; report_only[i]; i++) cJSON_DeleteItemFromObjectCaseSensitive(copy, report_only[i]);
        /* Where stages run (and in how many shards) does not change what they compute: a
         * run may resume on another launcher, or with a longer Slurm time limit. */
        cJSON_DeleteItemFromObjectCaseSensitive(copy, "launcher");
        cJSON_DeleteItemFromObjectCaseSensitive(get(copy, "merge"), "launcher");
        cJSON_DeleteItemFromObjectCaseSensitive(get(copy, "train"), "launcher");
        cJSON *e;
        cJSON_ArrayForEach(e, get(copy, "evaluate")) {
            cJSON_DeleteItemFromObjectCaseSensitive(e, "launcher");
            cJSON_DeleteItemFromObjectCaseSensitive(e, "shards");
        }
        char *t = cJSON_PrintUnformatted(copy);
        mv_sha256(t, strlen(t), p->run_sha256);
        cJSON_free(t);
        cJSON_Delete(copy);
    }
    *out = p;
    p = NULL;
fail:
    cJSON_Delete(root);
    mv_pipeline_free(p);
    mv_diag_free(&local);
    return st;
}

mv_status mv_pipeline_load(const char *path, const char *const *sets, size_t n_sets,
                           const mv_registry *reg, int check_paths, mv_pipeline **out,
                           mv_diag *diag, mv_error *err)
{
    char *text = NULL;
    size_t len = 0;
    *out = NULL;
    mv_status st = mv_read_file(path, 16u << 20, &text, &len, err);
    if (st != MV_OK) return mv_error_prefix(err, "pipeline %s", path);
    st = mv_pipeline_parse(text, sets, n_sets, reg, check_paths, out, diag, err);
    mv_free(text);
    if (st != MV_OK) mv_error_prefix(err, "pipeline %s", path);
    return st;
}

static void free_fields(mv_pipeline *p)
{
    free(p->name); free(p->base_loader); free(p->base_path); free(p->base_params_json);
    for (size_t i = 0; i < p->n_datasets; i++) {
        free(p->datasets[i].name); free(p->datasets[i].loader);
        free(p->datasets[i].path); free(p->datasets[i].params_json);
    }
    free(p->datasets);
    free(p->merge_strategy); free(p->merge_params_json); free(p->merge_out_dtype);
    for (size_t i = 0; i < p->n_adapters; i++) {
        free(p->adapters[i].path); free(p->adapters[i].key_map_json); free(p->adapters[i].params_json);
    }
    free(p->adapters);
    free(p->trainer); free(p->train_params_json); free(p->adapter_merge);
    for (size_t i = 0; i < p->n_mix; i++) free(p->mix[i].dataset);
    free(p->mix);
    for (size_t i = 0; i < p->n_evals; i++) {
        free(p->evals[i].name); free(p->evals[i].plugin);
        free(p->evals[i].dataset); free(p->evals[i].params_json); free(p->evals[i].launcher_json);
    }
    free(p->evals);
    for (size_t i = 0; i < p->n_gates; i++) free(p->gates[i].metric);
    free(p->gates);
    free(p->sweep_json);
    free(p->config_json);
    free(p->launcher_json); free(p->merge_launcher_json); free(p->train_launcher_json);
}

void mv_pipeline_free(mv_pipeline *p)
{
    if (!p) return;
    free_fields(p);
    free(p);
}
