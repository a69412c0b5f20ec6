/* core/cli/cmd_merge.c — `mergeval merge CONFIG.json --out DIR` (method, base_model, models
 * or adapters, parameters, dtype, out_dtype) and the LoRA shorthand `mergeval merge --base
 * PATH --adapter DIR [--key-map FROM=TO]... --out DIR`. Builds an mv_merge_request and
 * hands it to the merge plugin named by the method; the math is in the plugin. */
#include <ctype.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cjson/cJSON.h>
#include "mv_registry_host.h"
#include "mv_cli.h"
#include "mv_mergekit.h"
#include "mv_out.h"

static void usage(void)
{
    printf("usage: mergeval merge CONFIG.json|CONFIG.yml --out DIR [options]\n"
           "       mergeval merge --base PATH --adapter DIR [--adapter DIR2 ...] --out DIR [options]\n"
           "  CONFIG.json: {\"method\": \"lora|linear|task_arithmetic|ties|dare_linear|dare_ties|slerp|breadcrumbs\",\n"
           "                \"base_model\": PATH, \"models\": [{\"path\": P, \"parameters\": {...}}] or\n"
           "                \"adapters\": [{\"path\": P, \"weight\": W, \"key_map\": {FROM: TO}}],\n"
           "                \"parameters\": {...}, \"dtype\": \"float32\", \"out_dtype\": D, \"seed\": N}\n"
           "  CONFIG.yml: a mergekit configuration (merge_method, base_model, models or slices, parameters,\n"
           "              dtype, out_dtype, tokenizer_source: base), read with mergekit's semantics\n"
           "  --key-map FROM=TO   (shorthand) rewrite adapter module names; applies to every --adapter\n"
           "  --weight W          (shorthand) weight of the adapter given just before it (default 1)\n"
           "  --allow-partial     (lora) merge what maps, warn about the rest\n"
           "  --shard-size N      bytes per output shard (K/M/G suffixes); default: like the base\n"
           "  --out-dtype D       float32 | float16 | bfloat16 (default: keep each tensor's dtype)\n"
           "  --delta-only        (lora) write only W' - W of the changed tensors\n"
           "  --seed N            seed for randomised methods (DARE)\n"
           "  --force             replace an existing --out DIR that mergeval did not write\n"
           "                      (atomically, once the merge is complete)\n"
           "Methods and their parameters: mergeval plugins --kind merge\n");
}

static int parse_size(const char *s, uint64_t *out)
{
    char *end;
    double v = strtod(s, &end);
    if (end == s || v < 0) return -1;
    while (*end == ' ') end++;
    double mul = 1;
    switch (toupper((unsigned char)*end)) {
    case 'K': mul = 1e3; break;
    case 'M': mul = 1e6; break;
    case 'G': mul = 1e9; break;
    case 'T': mul = 1e12; break;
    case 0: break;
    default: return -1;
    }
    if (*end && end[1] && toupper((unsigned char)end[1]) == 'I') mul = mul == 1e3 ? 1024.0 : mul == 1e6 ? 1048576.0 : mul == 1e9 ? 1073741824.0 : 1099511627776.0;
    *out = (uint64_t)(v * mul);
    return 0;
}

/* A path from the config: as given when it exists from here, else relative to the config's directory. */
static char *resolve(const char *cfg_dir, const char *p)
{
    if (!p) return NULL;
    if (p[0] == '/' || mv_path_exists(p) || !cfg_dir) return mv_strdup(p);
    char *j = mv_path_join(cfg_dir, p);
    if (j && mv_path_exists(j)) return j;
    mv_free(j);
    return mv_strdup(p);
}

typedef struct req_store {
    mv_merge_request req;
    mv_merge_input *in;
    char **owned;
    size_t n_owned;
    char *method, *params_json;
} req_store;

static char *keep(req_store *s, char *p)
{
    if (p) s->owned[s->n_owned++] = p;
    return p;
}

static void store_free(req_store *s)
{
    for (size_t i = 0; i < s->n_owned; i++) mv_free(s->owned[i]);
    free(s->owned);
    free(s->in);
}

static char *json_text(const cJSON *j)
{
    char *t = cJSON_PrintUnformatted(j);
    char *r = t ? mv_strdup(t) : NULL;
    cJSON_free(t);
    return r;
}

/* CONFIG.yml is mergekit's schema, converted to the JSON form first (all problems listed). */
static mv_status from_config(req_store *s, const char *path, mv_error *err)
{
    char *text = NULL;
    size_t len;
    mv_status st = mv_read_file(path, 64u << 20, &text, &len, err);
    if (st) return st;
    char *dir = mv_strdup(path), *slash = dir ? strrchr(dir, '/') : NULL;
    if (slash) *slash = 0; else { mv_free(dir); dir = NULL; }
    cJSON *root = NULL;
    if (mv_is_yaml_name(path)) {
        mv_diag diag = { 0 };
        st = mv_mergekit_to_json(text, len, dir, 0, &root, &diag, err);
        if (st && diag.n > 1) {
            fprintf(stderr, "mergeval: error: %s has %zu problems:\n", path, diag.n);
            for (size_t i = 0; i < diag.n; i++) fprintf(stderr, "  %s\n", diag.msgs[i]);
            mv_errorf(err, st, "%s: %zu problems (listed above)", path, diag.n);
        } else if (st) {
            mv_error_prefix(err, "%s", path);
        }
        mv_diag_free(&diag);
        mv_free(text);
        if (st) { mv_free(dir); return st; }
        mv_free(dir);
        dir = NULL;   /* paths are resolved already */
    } else {
        root = cJSON_Parse(text);
        mv_free(text);
    }
    if (!cJSON_IsObject(root)) { cJSON_Delete(root); mv_free(dir); return mv_errorf(err, MV_E_INPUT, "%s: not a JSON object", path); }
    const cJSON *j;
    const cJSON *models = cJSON_GetObjectItemCaseSensitive(root, "models");
    const cJSON *adapters = cJSON_GetObjectItemCaseSensitive(root, "adapters");
    size_t n = (size_t)cJSON_GetArraySize(models) + (size_t)cJSON_GetArraySize(adapters);
    s->in = calloc(n + 1, sizeof *s->in);
    s->owned = calloc(4 * n + 16, sizeof *s->owned);
    if (!s->in || !s->owned) { st = mv_errorf(err, MV_E_NOMEM, "out of memory"); goto done; }
    static const char *known[] = { "method", "merge_method", "base_model", "models", "adapters", "parameters",
                                   "dtype", "out_dtype", "seed", "shard_size", "delta_only", "name", "slices", NULL };
    cJSON_ArrayForEach(j, root) {
        int ok = 0;
        for (int k = 0; known[k]; k++) ok |= !strcmp(j->string, known[k]);
        if (!ok) { st = mv_errorf(err, MV_E_INPUT, "%s: $.%s: unknown key (known: method, base_model, models, adapters, "
                                  "parameters, dtype, out_dtype, seed, shard_size, delta_only, slices)", path, j->string); goto done; }
    }
    j = cJSON_GetObjectItemCaseSensitive(root, "method");
    if (!j) j = cJSON_GetObjectItemCaseSensitive(root, "merge_method");
    if (!cJSON_IsString(j)) { st = mv_errorf(err, MV_E_INPUT, "%s: $.method: expected a merge method name (see `mergeval plugins --kind merge`)", path); goto done; }
    s->method = keep(s, mv_strdup(j->valuestring));
    j = cJSON_GetObjectItemCaseSensitive(root, "base_model");
    if (j && !cJSON_IsString(j)) { st = mv_errorf(err, MV_E_INPUT, "%s: $.base_model: expected a path", path); goto done; }
    if (j) s->req.base_path = keep(s, resolve(dir, j->valuestring));
    if (models && adapters) { st = mv_errorf(err, MV_E_INPUT, "%s: give either $.models or $.adapters, not both", path); goto done; }
    const cJSON *list = models ? models : adapters;
    if (list && !cJSON_IsArray(list)) { st = mv_errorf(err, MV_E_INPUT, "%s: $.%s: expected a list", path, models ? "models" : "adapters"); goto done; }
    size_t i = 0;
    const cJSON *e;
    cJSON_ArrayForEach(e, list) {
        const char *what = models ? "models" : "adapters";
        const cJSON *p = cJSON_IsString(e) ? e : cJSON_GetObjectItemCaseSensitive(e, "path");
        if (!p) p = cJSON_GetObjectItemCaseSensitive(e, "model");
        if (!cJSON_IsString(p)) { st = mv_errorf(err, MV_E_INPUT, "%s: $.%s[%zu].path: expected a path", path, what, i); goto done; }
        s->in[i].path = keep(s, resolve(dir, p->valuestring));
        if (models) {
            const cJSON *pa = cJSON_GetObjectItemCaseSensitive(e, "parameters");
            if (pa) s->in[i].params_json = keep(s, json_text(pa));
        } else if (cJSON_IsObject(e)) {
            const cJSON *w = cJSON_GetObjectItemCaseSensitive(e, "weight");
            const cJSON *km = cJSON_GetObjectItemCaseSensitive(e, "key_map");
            const cJSON *x;
            cJSON_ArrayForEach(x, e)
                if (strcmp(x->string, "path") && strcmp(x->string, "weight") && strcmp(x->string, "key_map")) {
                    st = mv_errorf(err, MV_E_INPUT, "%s: $.adapters[%zu].%s: unknown key (known: path, weight, key_map)", path, i, x->string);
                    goto done;
                }
            if (w) {
                cJSON *o = cJSON_CreateObject();
                cJSON_AddItemToObject(o, "weight", cJSON_Duplicate(w, 1));
                s->in[i].params_json = keep(s, json_text(o));
                cJSON_Delete(o);
            }
            if (km) s->in[i].key_map_json = keep(s, json_text(km));
        }
        i++;
    }
    s->req.inputs = s->in;
    s->req.n_inputs = i;
    j = cJSON_GetObjectItemCaseSensitive(root, "parameters");
    if (j) s->params_json = keep(s, json_text(j));
    /* mergekit's meaning: dtype is what it loads and computes in, and the output dtype unless
     * out_dtype is given; mergeval always computes in fp32 and rounds once to that dtype */
    j = cJSON_GetObjectItemCaseSensitive(root, "out_dtype");
    if (!cJSON_IsString(j)) j = cJSON_GetObjectItemCaseSensitive(root, "dtype");
    if (cJSON_IsString(j)) s->req.out_dtype = keep(s, mv_strdup(j->valuestring));
    j = cJSON_GetObjectItemCaseSensitive(root, "seed");
    int64_t iv = 0;
    if (cJSON_IsNumber(j)) {
        if (!mv_json_int(j->valuedouble, 0, MV_JSON_INT_MAX, &iv)) {
            st = mv_errorf(err, MV_E_INPUT, "%s: $.seed: expected an integer from 0 to 2^53, got %.17g",
                           path, j->valuedouble);
            goto done;
        }
        s->req.seed = (uint64_t)iv;
    }
    j = cJSON_GetObjectItemCaseSensitive(root, "shard_size");
    if (cJSON_IsNumber(j)) {
        if (!mv_json_int(j->valuedouble, 1, MV_JSON_INT_MAX, &iv)) {
            st = mv_errorf(err, MV_E_INPUT, "%s: $.shard_size: expected a byte count from 1 to 2^53, "
                           "got %.17g", path, j->valuedouble);
            goto done;
        }
        s->req.shard_size = (uint64_t)iv;
    } else if (cJSON_IsString(j) && parse_size(j->valuestring, &s->req.shard_size)) {
        st = mv_errorf(err, MV_E_INPUT, "%s: $.shard_size: expected bytes like 5000000000 or \"5GB\"", path);
        goto done;
    }
    j = cJSON_GetObjectItemCaseSensitive(root, "slices");
    if (j) s->req.slices_json = keep(s, json_text(j));
    j = cJSON_GetObjectItemCaseSensitive(root, "delta_only");
    if (cJSON_IsBool(j)) s->req.delta_only = cJSON_IsTrue(j);
done:
    mv_free(dir);
    cJSON_Delete(root);
    return st;
}

int mv_cmd_merge(mv_cli *cli, int argc, char **argv)
{
    static const struct option opts[] = {
        { "out", required_argument, 0, 'o' }, { "base", required_argument, 0, 'b' },
        { "adapter", required_argument, 0, 'a' }, { "key-map", required_argument, 0, 'k' },
        { "weight", required_argument, 0, 'w' }, { "shard-size", required_argument, 0, 's' },
        { "out-dtype", required_argument, 0, 'd' }, { "delta-only", no_argument, 0, 'D' },
        { "allow-partial", no_argument, 0, 'P' }, { "seed", required_argument, 0, 'S' },
        { "force", no_argument, 0, 'F' }, { "help", no_argument, 0, 'h' }, { 0, 0, 0, 0 } };
    req_store s;
    memset(&s, 0, sizeof s);
    char **pairs = calloc((size_t)argc + 1, sizeof *pairs), **adapters = calloc((size_t)argc + 1, sizeof *adapters);
    double *weights = calloc((size_t)argc + 1, sizeof *weights);
    int npairs = 0, nad = 0, c, rc = 2, delta_only = 0, allow_partial = 0, have_shard = 0, have_seed = 0;
    int force = 0;
    mv_out o = { 0 };
    const char **inputs = NULL;
    const char *out = NULL, *base = NULL, *out_dtype = NULL;
    uint64_t shard = 0, seed = 0;
    mv_error err = { 0 };
    mv_params *params = NULL;
    char *km_json = NULL;
    optind = 0;   /* glibc: 0 fully re-initialises getopt after main's own parsing */
    while ((c = getopt_long(argc, argv, "o:b:a:k:w:s:d:DPS:h", opts, NULL)) != -1) {
        switch (c) {
        case 'o': out = optarg; break;
        case 'b': base = optarg; break;
        case 'a': adapters[nad] = optarg; weights[nad] = 1.0; nad++; break;
        case 'k': pairs[npairs++] = optarg; break;
        case 'w':
            if (!nad) { rc = mv_cli_usage_error("merge", "--weight must follow the --adapter it applies to"); goto done; }
            weights[nad - 1] = atof(optarg);
            break;
        case 's':
            if (parse_size(optarg, &shard)) { rc = mv_cli_usage_error("merge", "--shard-size '%s': expected bytes, e.g. 2G or 500M", optarg); goto done; }
            have_shard = 1;
            break;
        case 'd': out_dtype = optarg; break;
        case 'D': delta_only = 1; break;
        case 'P': allow_partial = 1; break;
        case 'F': force = 1; break;
        case 'S': seed = strtoull(optarg, NULL, 10); have_seed = 1; break;
        case 'h': usage(); rc = 0; goto done;
        default: rc = mv_cli_bad_option("merge", argv); goto done;
        }
    }
    if (!out) { rc = mv_cli_usage_error("merge", "--out DIR is required"); goto done; }
    if (optind < argc) {
        if (optind + 1 != argc || base || nad) {
            rc = mv_cli_usage_error("merge", "give either CONFIG.json or --base/--adapter, not both");
            goto done;
        }
        if (from_config(&s, argv[optind], &err)) { rc = mv_cli_fail(&err); goto done; }
        if (npairs) { rc = mv_cli_usage_error("merge", "--key-map is for the shorthand; put key_map in the config's adapters"); goto done; }
    } else {
        if (!base || !nad) { rc = mv_cli_usage_error("merge", "expected CONFIG.json, or --base PATH and --adapter DIR"); goto done; }
        if (mv_cli_key_map_json(pairs, npairs, &km_json, &err)) { rc = mv_cli_fail(&err); goto done; }
        s.in = calloc((size_t)nad, sizeof *s.in);
        s.owned = calloc((size_t)nad + 4, sizeof *s.owned);
        if (!s.in || !s.owned) { rc = 3; goto done; }
        for (int i = 0; i < nad; i++) {
            char w[64];
            snprintf(w, sizeof w, "{\"weight\": %.17g}", weights[i]);
            s.in[i].path = adapters[i];
            s.in[i].params_json = keep(&s, mv_strdup(w));
            s.in[i].key_map_json = npairs ? km_json : NULL;
        }
        s.method = keep(&s, mv_strdup("lora"));
        s.req.base_path = base;
        s.req.inputs = s.in;
        s.req.n_inputs = (size_t)nad;
    }
    s.req.out_dir = out;
    if (out_dtype) s.req.out_dtype = out_dtype;
    if (have_shard) s.req.shard_size = shard;
    if (have_seed) s.req.seed = seed;
    if (delta_only) s.req.delta_only = 1;
    const mv_component *comp = mv_registry_find(cli->reg, MV_KIND_MERGE, s.method);
    if (!comp) {
        char why[1024];
        mv_registry_explain_missing(cli->reg, MV_KIND_MERGE, s.method, why, sizeof why);
        mv_errorf(&err, MV_E_NOT_FOUND, "no merge method \"%s\": %s", s.method, why);
        rc = mv_cli_fail(&err);
        goto done;
    }
    const mv_merge_vtable *vt = comp->vtable;
    if (allow_partial) {
        cJSON *p = s.params_json ? cJSON_Parse(s.params_json) : cJSON_CreateObject();
        if (!cJSON_GetObjectItemCaseSensitive(p, "allow_partial")) cJSON_AddTrueToObject(p, "allow_partial");
        s.params_json = keep(&s, json_text(p));
        cJSON_Delete(p);
    }
    if (mv_params_parse(&params, comp->params, s.params_json, "$.parameters", &err)) { rc = mv_cli_fail(&err); goto done; }
    /* Never write over, into or around an input; replace only what mergeval wrote. */
    inputs = calloc(s.req.n_inputs + 2, sizeof *inputs);
    if (!inputs) { rc = 3; goto done; }
    inputs[0] = s.req.base_path;
    inputs[1] = optind < argc ? argv[optind] : NULL;
    for (size_t i = 0; i < s.req.n_inputs; i++) inputs[i + 2] = s.req.inputs[i].path;
    if (mv_out_begin(&o, out, inputs, s.req.n_inputs + 2, force, &err)) { rc = mv_cli_fail(&err); goto done; }
    s.req.out_dir = o.build;
    double t0 = mv_now();
    if (vt->run(cli->ctx, &s.req, params, &err) || mv_out_commit(&o, &err)) { rc = mv_cli_fail(&err); goto done; }
    if (!cli->quiet)
        fprintf(stderr, "mergeval: merged (%s) into %s in %.2f s\n", s.method, out, mv_now() - t0);
    rc = 0;
done:
    mv_out_abort(&o);
    free(inputs);
    mv_params_free(params);
    mv_free(km_json);
    store_free(&s);
    free(pairs);
    free(adapters);
    free(weights);
    return rc;
}
