/* core/lib/mergekit_config.c — a mergekit YAML config read with mergekit's semantics
 * (mergekit/config.py, plan.py, merge_methods/registry.py) and rewritten as mergeval's merge
 * config JSON. Only the schema and its meaning are here; the math is the merges plugin's. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <mergeval/files.h>
#include <mergeval/context.h>
#include "mv_mergekit.h"
#include "mv_yaml_tree.h"

/* base: 0 = the method ignores a base, 1 = the base is apart from the merged models (mergekit
 * drops it from the task list), 2 = the base is one more model (linear). */
typedef struct mk_method { const char *name; int base; const char *tensor_params, *global_params; } mk_method;
#define GTA_GLOBAL "normalize,rescale,rescale_mode,int8_mask,lambda"
static const mk_method METHODS[] = {
    { "linear", 2, "weight", "normalize" },
    { "task_arithmetic", 1, "weight", GTA_GLOBAL },
    { "ties", 1, "weight,density", GTA_GLOBAL },
    { "dare_ties", 1, "weight,density", GTA_GLOBAL },
    { "dare_linear", 1, "weight,density", GTA_GLOBAL },
    { "breadcrumbs", 1, "weight,density,gamma", GTA_GLOBAL },
    { "breadcrumbs_ties", 1, "weight,density,gamma", GTA_GLOBAL },
    { "della", 1, "weight,density,epsilon", GTA_GLOBAL },
    { "della_linear", 1, "weight,density,epsilon", GTA_GLOBAL },
    { "slerp", 1, "", "t" },
    { "nuslerp", 1, "weight", "nuslerp_row_wise,nuslerp_flatten" },
    { "model_stock", 1, "", "filter_wise" },
    { "passthrough", 0, "scale", "" },
    { "nearswap", 1, "", "t" },
    { NULL, 0, NULL, NULL } };
static const char *NOT_SUPPORTED = "sce, karcher, arcee_fusion, multislerp, ram";

typedef struct mk_ctx {
    mv_yaml_tree tree;
    mv_diag *diag;
    const char *dir;
    const mk_method *m;
    int base_implicit;
} mk_ctx;

static void problem(mk_ctx *c, const cJSON *at, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void problem(mk_ctx *c, const cJSON *at, const char *path, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    int line = 0, col = 0;
    if (at && mv_yaml_mark_of(&c->tree, at, &line, &col))
        mv_diag_add(c->diag, "%s (line %d, column %d): %s", path, line, col, msg);
    else
        mv_diag_add(c->diag, "%s: %s", path, msg);
}

static int in_list(const char *list, const char *name)
{
    size_t n = strlen(name);
    for (const char *p = list; p && *p;) {
        const char *e = strchr(p, ',');
        size_t l = e ? (size_t)(e - p) : strlen(p);
        if (l == n && !strncmp(p, name, n)) return 1;
        p = e ? e + 1 : NULL;
    }
    return 0;
}

static int is_numbers(const cJSON *j)
{
    if (!cJSON_IsArray(j) || !cJSON_GetArraySize(j)) return 0;
    const cJSON *e;
    cJSON_ArrayForEach(e, j) if (!cJSON_IsNumber(e)) return 0;
    return 1;
}

static int is_cond_list(const cJSON *j)
{
    return cJSON_IsArray(j) && cJSON_IsObject(cJSON_GetArrayItem(j, 0));
}

/* every key of obj must be in the comma-separated list `known` */
static void unknown_keys(mk_ctx *c, const cJSON *obj, const char *path, const char *known)
{
    const cJSON *k;
    cJSON_ArrayForEach(k, obj)
        if (!in_list(known, k->string)) problem(c, k, path, "unknown key \"%s\" (known: %s)", k->string, known);
}

/* A ParameterSetting: number, bool, list of numbers, or list of {filter, value}. */
static void check_setting(mk_ctx *c, const cJSON *v, const char *path)
{
    char p[600];
    if (cJSON_IsNumber(v) || cJSON_IsBool(v) || is_numbers(v)) return;
    if (is_cond_list(v)) {
        int i = 0;
        const cJSON *e;
        cJSON_ArrayForEach(e, v) {
            snprintf(p, sizeof p, "%s[%d]", path, i++);
            if (!cJSON_IsObject(e)) { problem(c, e, p, "expected {filter: ..., value: ...}"); continue; }
            unknown_keys(c, e, p, "filter,value");
            const cJSON *f = cJSON_GetObjectItemCaseSensitive(e, "filter");
            const cJSON *val = cJSON_GetObjectItemCaseSensitive(e, "value");
            if (f && !cJSON_IsString(f) && !cJSON_IsNull(f))
                problem(c, f, p, "filter: expected a string matched inside tensor names (e.g. self_attn, mlp)");
            if (!val) problem(c, e, p, "missing value");
            else if (!cJSON_IsNumber(val) && !cJSON_IsBool(val) && !is_numbers(val))
                problem(c, val, p, "value: expected a number or a list of numbers (a gradient)");
        }
        return;
    }
    problem(c, v, path, "expected a number, a list of numbers (a gradient over the layers) or a list of "
            "{filter, value} conditions");
}

/* mergekit looks a parameter up per level (source, slice, global) and falls through when a
 * level's filter list matches nothing: fold the levels into one list the engine evaluates. */
static cJSON *fold(const cJSON *primary, cJSON *fallback)
{
    if (!primary) return fallback;
    if (!is_cond_list(primary) || !fallback) { cJSON_Delete(fallback); return cJSON_Duplicate(primary, 1); }
    cJSON *l = cJSON_Duplicate(primary, 1);
    if (is_cond_list(fallback)) {
        while (cJSON_GetArraySize(fallback)) cJSON_AddItemToArray(l, cJSON_DetachItemFromArray(fallback, 0));
        cJSON_Delete(fallback);
    } else {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddItemToObject(o, "value", fallback);
        cJSON_AddItemToArray(l, o);
    }
    return l;
}

/* Check a parameters mapping; `allowed` names what this level may set. */
static void check_params(mk_ctx *c, const cJSON *params, const char *path, const char *allowed, const char *level)
{
    if (!params || cJSON_IsNull(params)) return;
    char p[512];
    if (!cJSON_IsObject(params)) { problem(c, params, path, "expected a mapping of parameter names to values"); return; }
    const cJSON *k;
    cJSON_ArrayForEach(k, params) {
        snprintf(p, sizeof p, "%s.%s", path, k->string);
        if (!in_list(allowed, k->string)) {
            problem(c, k, p, "unknown %s parameter for merge_method %s (known here: %s)", level, c->m->name,
                    *allowed ? allowed : "none");
            continue;
        }
        check_setting(c, k, p);
    }
}

/* The tensor parameters of one merged model: source level, then slice, then global. */
static cJSON *model_params(mk_ctx *c, const cJSON *src_params, const cJSON *slice_params, const cJSON *global)
{
    cJSON *o = cJSON_CreateObject();
    for (const char *p = c->m->tensor_params; p && *p;) {
        const char *e = strchr(p, ',');
        char name[32];
        size_t l = e ? (size_t)(e - p) : strlen(p);
        snprintf(name, sizeof name, "%.*s", (int)l, p);
        p = e ? e + 1 : NULL;
        const cJSON *g = cJSON_GetObjectItemCaseSensitive(global, name);
        cJSON *v = fold(cJSON_GetObjectItemCaseSensitive(src_params, name),
                        fold(cJSON_GetObjectItemCaseSensitive(slice_params, name), g ? cJSON_Duplicate(g, 1) : NULL));
        if (v) cJSON_AddItemToObject(o, name, v);
    }
    return o;
}

/* A model reference → an existing local folder/file path (malloc'd), or NULL with a problem. */
static char *model_path(mk_ctx *c, const cJSON *ref, const char *path)
{
    if (!cJSON_IsString(ref) || !*ref->valuestring) {
        problem(c, ref, path, "expected a model folder (a path)");
        return NULL;
    }
    const char *s = ref->valuestring;
    char *p = (s[0] == '/' || !c->dir) ? mv_strdup(s) : mv_path_join(c->dir, s);
    if (p && mv_path_exists(p)) return p;
    if (p && s[0] != '/' && mv_path_exists(s)) { mv_free(p); return mv_strdup(s); }
    mv_free(p);
    const char *slash = strchr(s, '/');
    if (strchr(s, '+'))
        problem(c, ref, path, "\"%s\": model+LoRA references are not supported; merge the LoRA first "
                "(`mergeval merge --base MODEL --adapter LORA --out DIR`) and reference DIR", s);
    else if (s[0] != '.' && s[0] != '~' && slash && !strchr(slash + 1, '/'))
        problem(c, ref, path, "\"%s\" is not a local folder (it looks like a Hugging Face hub id); mergeval "
                "does not download models: run `huggingface-cli download %s --local-dir models/%s` and "
                "put that folder in the config", s, s, slash + 1);
    else
        problem(c, ref, path, "\"%s\": no such file or folder (relative paths are taken from the "
                "config's folder%s%s)", s, c->dir ? " " : "", c->dir ? c->dir : "");
    return NULL;
}

static const char *dtype_name(const char *s)
{
    static const char *map[][2] = { { "float16", "float16" }, { "fp16", "float16" }, { "half", "float16" },
                                    { "bfloat16", "bfloat16" }, { "bf16", "bfloat16" },
                                    { "float32", "float32" }, { "fp32", "float32" }, { "float", "float32" },
                                    { NULL, NULL } };
    if (!strncmp(s, "torch.", 6)) s += 6;
    for (int i = 0; map[i][0]; i++) if (!strcasecmp(s, map[i][0])) return map[i][1];
    return NULL;
}

static int same_model(const char *a, const char *b)
{
    if (!a || !b) return 0;
    if (!strcmp(a, b)) return 1;
    char *ra = realpath(a, NULL), *rb = realpath(b, NULL);
    int same = ra && rb && !strcmp(ra, rb);
    free(ra);
    free(rb);
    return same;
}

static void add_model(cJSON *models, const char *path, cJSON *params)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "path", path);
    cJSON_AddItemToObject(o, "parameters", params);
    cJSON_AddItemToArray(models, o);
}

static void convert(mk_ctx *c, const cJSON *root, cJSON *out)
{
    static const char *known = "merge_method,base_model,models,slices,modules,dtype,out_dtype,tokenizer_source,"
                               "tokenizer,chat_template,parameters,seed,shard_size,name";
    const cJSON *k;
    cJSON_ArrayForEach(k, root)
        if (!in_list(known, k->string))
            problem(c, k, k->string, "unknown key (mergekit's keys: merge_method, base_model, models, slices, "
                    "dtype, out_dtype, tokenizer_source, parameters; mergeval adds seed, shard_size)");
    const cJSON *mm = cJSON_GetObjectItemCaseSensitive(root, "merge_method");
    if (!cJSON_IsString(mm)) {
        problem(c, mm, "merge_method", mm ? "expected a method name" : "missing (e.g. merge_method: ties)");
        return;
    }
    for (int i = 0; METHODS[i].name; i++) if (!strcmp(METHODS[i].name, mm->valuestring)) c->m = &METHODS[i];
    if (!c->m) {
        problem(c, mm, "merge_method", "\"%s\" is not supported by mergeval (supported: linear, task_arithmetic, "
                "ties, dare_ties, dare_linear, breadcrumbs, breadcrumbs_ties, della, della_linear, slerp, nuslerp, "
                "model_stock, passthrough, nearswap; not yet: %s)", mm->valuestring, NOT_SUPPORTED);
        return;
    }
    cJSON_AddStringToObject(out, "method", c->m->name);
    for (const char *un = "modules,tokenizer,chat_template"; un;) {
        const char *e = strchr(un, ',');
        char name[32];
        snprintf(name, sizeof name, "%.*s", e ? (int)(e - un) : (int)strlen(un), un);
        un = e ? e + 1 : NULL;
        const cJSON *x = cJSON_GetObjectItemCaseSensitive(root, name);
        if (x) problem(c, x, name, "not supported by mergeval yet (the output carries the base model's "
                       "tokenizer and chat template unchanged)");
    }
    const cJSON *ts = cJSON_GetObjectItemCaseSensitive(root, "tokenizer_source");
    if (ts && !cJSON_IsNull(ts) && !(cJSON_IsString(ts) && !strcmp(ts->valuestring, "base")))
        problem(c, ts, "tokenizer_source", "only \"base\" is supported (the output carries the base model's "
                "tokenizer files)");
    /* dtype: mergekit loads in dtype and writes out_dtype or dtype; mergeval computes in fp32
     * and rounds once to that output dtype */
    const char *out_dtype = NULL;
    for (int pass = 0; pass < 2; pass++) {
        const char *key = pass ? "out_dtype" : "dtype";
        const cJSON *d = cJSON_GetObjectItemCaseSensitive(root, key);
        if (!d || cJSON_IsNull(d)) continue;
        const char *n = cJSON_IsString(d) ? dtype_name(d->valuestring) : NULL;
        if (!n) problem(c, d, key, "expected float16, bfloat16 or float32 (also fp16, bf16, fp32, torch.float16 ...)");
        else out_dtype = n;
    }
    if (out_dtype) cJSON_AddStringToObject(out, "out_dtype", out_dtype);
    const cJSON *seed = cJSON_GetObjectItemCaseSensitive(root, "seed");
    if (seed) cJSON_AddItemToObject(out, "seed", cJSON_Duplicate(seed, 1));
    const cJSON *shard = cJSON_GetObjectItemCaseSensitive(root, "shard_size");
    if (shard) cJSON_AddItemToObject(out, "shard_size", cJSON_Duplicate(shard, 1));

    /* global parameters: the method's own, plus tensor parameters as every model's default */
    const cJSON *global = cJSON_GetObjectItemCaseSensitive(root, "parameters");
    char allowed[256];
    snprintf(allowed, sizeof allowed, "%s%s%s", c->m->global_params,
             *c->m->global_params && *c->m->tensor_params ? "," : "", c->m->tensor_params);
    check_params(c, global, "parameters", allowed, "global");
    cJSON *gp = cJSON_CreateObject();
    const cJSON *g;
    if (cJSON_IsObject(global))
        cJSON_ArrayForEach(g, global)
            if (in_list(c->m->global_params, g->string)) cJSON_AddItemToObject(gp, g->string, cJSON_Duplicate(g, 1));
    cJSON_AddItemToObject(out, "parameters", gp);

    const cJSON *bm = cJSON_GetObjectItemCaseSensitive(root, "base_model");
    char *base = NULL;
    if (bm && !cJSON_IsNull(bm)) base = model_path(c, bm, "base_model");
    if (c->m->base == 1 && !bm && strcmp(c->m->name, "nuslerp") && !c->base_implicit)
        problem(c, NULL, "base_model", "missing: merge_method %s works on differences from a base model", c->m->name);

    const cJSON *models = cJSON_GetObjectItemCaseSensitive(root, "models");
    const cJSON *slices = cJSON_GetObjectItemCaseSensitive(root, "slices");
    if (!!models == !!slices) {
        problem(c, models ? models : slices, "models", "give exactly one of models or slices");
    }
    cJSON *out_models = cJSON_AddArrayToObject(out, "models");
    if (models) {
        if (!cJSON_IsArray(models)) problem(c, models, "models", "expected a list of {model: PATH, parameters: {...}}");
        int i = 0;
        const cJSON *e;
        cJSON_ArrayForEach(e, models) {
            char p[64], pp[96];
            snprintf(p, sizeof p, "models[%d]", i++);
            if (!cJSON_IsObject(e)) { problem(c, e, p, "expected {model: PATH, parameters: {...}}"); continue; }
            unknown_keys(c, e, p, "model,parameters");
            snprintf(pp, sizeof pp, "%s.model", p);
            char *mp = model_path(c, cJSON_GetObjectItemCaseSensitive(e, "model"), pp);
            const cJSON *params = cJSON_GetObjectItemCaseSensitive(e, "parameters");
            snprintf(pp, sizeof pp, "%s.parameters", p);
            check_params(c, params, pp, c->m->tensor_params, "per-model");
            if (mp && c->m->base == 1 && same_model(mp, base)) { mv_free(mp); continue; }   /* the base */
            if (mp) add_model(out_models, mp, model_params(c, params, NULL, global));
            mv_free(mp);
        }
    }
    if (slices) {
        cJSON *out_slices = cJSON_AddArrayToObject(out, "slices");
        if (!cJSON_IsArray(slices)) problem(c, slices, "slices", "expected a list of {sources: [...]}");
        int si = 0;
        const cJSON *s;
        cJSON_ArrayForEach(s, slices) {
            char p[64], pp[160];
            snprintf(p, sizeof p, "slices[%d]", si++);
            const cJSON *sources = cJSON_GetObjectItemCaseSensitive(s, "sources");
            if (!cJSON_IsObject(s) || !cJSON_IsArray(sources) || !cJSON_GetArraySize(sources)) {
                problem(c, s, p, "expected {sources: [{model: PATH, layer_range: [FROM, TO]}, ...]}");
                continue;
            }
            cJSON_ArrayForEach(k, s)
                if (strcmp(k->string, "sources") && strcmp(k->string, "parameters")) {
                    snprintf(pp, sizeof pp, "%s.%s", p, k->string);
                    problem(c, k, pp, !strcmp(k->string, "base_model") || !strcmp(k->string, "residual_weight")
                            ? "not supported by mergeval yet (set base_model at the top)" : "unknown key (known: sources, parameters)");
                }
            const cJSON *sparams = cJSON_GetObjectItemCaseSensitive(s, "parameters");
            snprintf(pp, sizeof pp, "%s.parameters", p);
            check_params(c, sparams, pp, allowed, "slice");
            cJSON *os = cJSON_CreateObject(), *osrc = cJSON_AddArrayToObject(os, "sources");
            cJSON_AddItemToArray(out_slices, os);
            int len0 = -1, j = 0;
            const cJSON *src;
            cJSON_ArrayForEach(src, sources) {
                char q[96];
                snprintf(q, sizeof q, "%s.sources[%d]", p, j++);
                if (!cJSON_IsObject(src)) { problem(c, src, q, "expected {model: PATH, layer_range: [FROM, TO]}"); continue; }
                unknown_keys(c, src, q, "model,layer_range,parameters");
                snprintf(pp, sizeof pp, "%s.model", q);
                char *mp = model_path(c, cJSON_GetObjectItemCaseSensitive(src, "model"), pp);
                const cJSON *lr = cJSON_GetObjectItemCaseSensitive(src, "layer_range");
                snprintf(pp, sizeof pp, "%s.layer_range", q);
                int a = -1, b = -1;
                if (is_numbers(lr) && cJSON_GetArraySize(lr) == 2) {
                    double da = cJSON_GetArrayItem(lr, 0)->valuedouble, db = cJSON_GetArrayItem(lr, 1)->valuedouble;
                    if (da >= 0 && db > da && db < 1e6 && da == (int)da && db == (int)db) { a = (int)da; b = (int)db; }
                }
                if (a < 0) problem(c, lr, pp, "expected [FROM, TO] with 0 <= FROM < TO (layers FROM..TO-1)");
                else if (len0 >= 0 && b - a != len0)
                    problem(c, lr, pp, "covers %d layers but the slice's first source covers %d; all sources of "
                            "a slice must have the same number of layers", b - a, len0);
                else len0 = b - a;
                const cJSON *params = cJSON_GetObjectItemCaseSensitive(src, "parameters");
                snprintf(pp, sizeof pp, "%s.parameters", q);
                check_params(c, params, pp, c->m->tensor_params, "per-model");
                if (mp && a >= 0) {
                    cJSON *o = cJSON_CreateObject();
                    if (c->m->base == 1 && same_model(mp, base)) {
                        cJSON_AddNumberToObject(o, "input", -1);
                    } else {
                        cJSON_AddNumberToObject(o, "input", cJSON_GetArraySize(out_models));
                        add_model(out_models, mp, model_params(c, params, sparams, global));
                    }
                    cJSON *r = cJSON_AddArrayToObject(o, "layer_range");
                    cJSON_AddItemToArray(r, cJSON_CreateNumber(a));
                    cJSON_AddItemToArray(r, cJSON_CreateNumber(b));
                    cJSON_AddItemToArray(osrc, o);
                }
                mv_free(mp);
            }
        }
    }
    if (base && c->m->base) cJSON_AddStringToObject(out, "base_model", base);
    mv_free(base);
}

mv_status mv_mergekit_to_json(const char *text, size_t len, const char *cfg_dir, int flags, cJSON **out,
                              mv_diag *diag, mv_error *err)
{
    mk_ctx c;
    memset(&c, 0, sizeof c);
    c.diag = diag;
    c.dir = cfg_dir;
    c.base_implicit = flags & MV_MK_BASE_IMPLICIT;
    *out = NULL;
    size_t before = diag->n;
    cJSON *root = mv_yaml_tree_parse(&c.tree, text, len, diag);
    cJSON *res = root ? cJSON_CreateObject() : NULL;
    if (root && !res) { mv_diag_add(diag, "out of memory"); }
    if (res) convert(&c, root, res);
    cJSON_Delete(root);
    mv_yaml_tree_free(&c.tree);
    if (diag->n > before || !res) {
        cJSON_Delete(res);
        return mv_diag_to_error(diag, MV_E_INPUT, err);
    }
    *out = res;
    return MV_OK;
}

int mv_is_yaml_name(const char *path)
{
    size_t n = strlen(path);
    return (n > 4 && !strcasecmp(path + n - 4, ".yml")) || (n > 5 && !strcasecmp(path + n - 5, ".yaml"));
}
