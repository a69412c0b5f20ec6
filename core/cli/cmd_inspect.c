/* core/cli/cmd_inspect.c — `mergeval inspect PATH [--json] [--format NAME]`: what a
 * checkpoint holds (every tensor's dtype, shape and size; metadata; config.json; shards) as
 * JSON or as a table that collapses per-layer tensors (`layers.*.q_proj.weight ×32`).
 * Opening and validation are the loader plugin's; nothing is read beyond the headers. */
#include <ctype.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cjson/cJSON.h>
#include "mv_cli.h"

static uint64_t numel_of(const mv_tensor_info *t)
{
    size_t es = mv_dtype_size(t->dtype);
    return es ? t->nbytes / es : 0;
}

static void human_bytes(uint64_t n, char *buf, size_t len)
{
    static const char *units[] = { "B", "KiB", "MiB", "GiB", "TiB" };
    double v = (double)n;
    int u = 0;
    while (v >= 1024 && u < 4) {
        v /= 1024;
        u++;
    }
    if (u == 0)
        snprintf(buf, len, "%llu B", (unsigned long long)n);
    else
        snprintf(buf, len, "%.2f %s", v, units[u]);
}

static void human_count(uint64_t n, char *buf, size_t len)
{
    if (n >= 1000000000ull)
        snprintf(buf, len, "%.2fB", n / 1e9);
    else if (n >= 1000000ull)
        snprintf(buf, len, "%.2fM", n / 1e6);
    else if (n >= 1000ull)
        snprintf(buf, len, "%.1fK", n / 1e3);
    else
        snprintf(buf, len, "%llu", (unsigned long long)n);
}

/* ------------------------------------------------------------------ JSON */
static int print_json(const mv_checkpoint *ck)
{
    cJSON *root = cJSON_CreateObject();
    cJSON_AddStringToObject(root, "path", ck->path);
    cJSON_AddStringToObject(root, "format", ck->format ? ck->format : "");
    cJSON *arr = cJSON_AddArrayToObject(root, "tensors");
    uint64_t params = 0, bytes = 0;
    for (size_t i = 0; i < ck->n_tensors; i++) {
        const mv_tensor_info *t = &ck->tensors[i];
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "name", t->name);
        cJSON_AddStringToObject(o, "dtype", mv_dtype_name(t->dtype));
        cJSON *shape = cJSON_AddArrayToObject(o, "shape");
        for (int d = 0; d < t->ndim; d++)
            cJSON_AddItemToArray(shape, cJSON_CreateNumber((double)t->shape[d]));
        cJSON_AddNumberToObject(o, "bytes", (double)t->nbytes);
        cJSON_AddItemToArray(arr, o);
        params += numel_of(t);
        bytes += t->nbytes;
    }
    cJSON *meta = cJSON_AddObjectToObject(root, "metadata");
    for (size_t i = 0; i < ck->n_metadata; i++)
        cJSON_AddStringToObject(meta, ck->metadata_keys[i], ck->metadata_values[i]);
    cJSON_AddNumberToObject(root, "total_params", (double)params);
    cJSON_AddNumberToObject(root, "total_bytes", (double)bytes);
    cJSON_AddNumberToObject(root, "shards", ck->n_shards);
    if (ck->config_json) {
        /* config.json is carried as parsed JSON; a broken one as its text */
        cJSON *cfg = cJSON_Parse(ck->config_json);
        cJSON_AddItemToObject(root, "config", cfg ? cfg : cJSON_CreateString(ck->config_json));
    }
    char *s = cJSON_Print(root);
    cJSON_Delete(root);
    if (!s) {
        fprintf(stderr, "mergeval: error: out of memory printing JSON\n");
        return 3;
    }
    printf("%s\n", s);
    cJSON_free(s);
    return 0;
}

/* ------------------------------------------------------------------ table */
typedef struct group {
    char *pattern;        /* name with numeric path components replaced by '*' */
    mv_dtype dtype;
    int ndim;
    const int64_t *shape;
    size_t count;
    uint64_t params, bytes;
} group;

/* "llm.model.layers.12.mlp.0.weight" -> "llm.model.layers.*.mlp.*.weight" */
static char *collapse(const char *name)
{
    size_t n = strlen(name);
    char *out = malloc(n + 1);
    if (!out)
        return NULL;
    size_t o = 0;
    const char *p = name;
    while (*p) {
        const char *end = strchr(p, '.');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        int digits = len > 0;
        for (size_t i = 0; i < len; i++)
            if (!isdigit((unsigned char)p[i]))
                digits = 0;
        if (digits) {
            out[o++] = '*';
        } else {
            memcpy(out + o, p, len);
            o += len;
        }
        if (!end)
            break;
        out[o++] = '.';
        p = end + 1;
    }
    out[o] = '\0';
    return out;
}

static int print_table(const mv_checkpoint *ck)
{
    group *g = calloc(ck->n_tensors ? ck->n_tensors : 1, sizeof *g);
    size_t ng = 0;
    int rc = 0;
    if (!g)
        goto nomem;
    uint64_t params = 0, bytes = 0;
    size_t width = 4;
    for (size_t i = 0; i < ck->n_tensors; i++) {
        const mv_tensor_info *t = &ck->tensors[i];
        char *pat = collapse(t->name);
        if (!pat)
            goto nomem;
        size_t k;
        /* linear look-up over groups: checkpoints have a few hundred distinct patterns */
        for (k = 0; k < ng; k++)
            if (g[k].dtype == t->dtype && g[k].ndim == t->ndim &&
                memcmp(g[k].shape, t->shape, sizeof(int64_t) * (size_t)t->ndim) == 0 &&
                strcmp(g[k].pattern, pat) == 0)
                break;
        if (k == ng) {
            g[ng].pattern = pat;
            g[ng].dtype = t->dtype;
            g[ng].ndim = t->ndim;
            g[ng].shape = t->shape;
            ng++;
            if (strlen(pat) > width)
                width = strlen(pat);
        } else {
            free(pat);
        }
        g[k].count++;
        g[k].params += numel_of(t);
        g[k].bytes += t->nbytes;
        params += numel_of(t);
        bytes += t->nbytes;
    }
    if (width > 72)
        width = 72;
    char hb[32], hp[32], shape[160];
    human_bytes(bytes, hb, sizeof hb);
    human_count(params, hp, sizeof hp);
    printf("%s  (%s, %d shard%s, %zu tensors, %s params, %s)\n", ck->path, ck->format,
           ck->n_shards, ck->n_shards == 1 ? "" : "s", ck->n_tensors, hp, hb);
    for (size_t i = 0; i < ck->n_metadata; i++) {
        char ek[256], ev[1024];   /* keys and values come from the file: escape controls */
        printf("metadata  %s = %s\n", mv_escape_name(ck->metadata_keys[i], ek, sizeof ek),
               mv_escape_name(ck->metadata_values[i], ev, sizeof ev));
    }
    if (ck->config_json) {
        cJSON *cfg = cJSON_Parse(ck->config_json);
        const cJSON *arch = cfg ? cJSON_GetObjectItemCaseSensitive(cfg, "architectures") : NULL;
        const cJSON *mt = cfg ? cJSON_GetObjectItemCaseSensitive(cfg, "model_type") : NULL;
        printf("config    config.json (%zu bytes%s%s%s%s)\n", strlen(ck->config_json),
               cJSON_IsArray(arch) && cJSON_IsString(arch->child) ? ", " : "",
               cJSON_IsArray(arch) && cJSON_IsString(arch->child) ? arch->child->valuestring : "",
               cJSON_IsString(mt) ? ", model_type " : "",
               cJSON_IsString(mt) ? mt->valuestring : "");
        cJSON_Delete(cfg);
    }
    printf("\n%-*s  %5s  %-7s  %-20s  %10s  %12s\n", (int)width, "TENSOR", "COUNT", "DTYPE",
           "SHAPE", "PARAMS", "BYTES");
    for (size_t k = 0; k < ng; k++) {
        char cnt[24] = "";
        if (g[k].count > 1)
            snprintf(cnt, sizeof cnt, "\xc3\x97%zu", g[k].count); /* U+00D7 multiplication sign */
        human_count(g[k].params, hp, sizeof hp);
        human_bytes(g[k].bytes, hb, sizeof hb);
        /* width counts bytes; the × is two bytes for one column */
        char name[1024];   /* tensor names come from the file: escape controls */
        printf("%-*s  %*s  %-7s  %-20s  %10s  %12s\n", (int)width,
               mv_escape_name(g[k].pattern, name, sizeof name),
               g[k].count > 1 ? 6 : 5, cnt, mv_dtype_name(g[k].dtype),
               mv_shape_str(g[k].ndim, g[k].shape, shape, sizeof shape), hp, hb);
    }
    human_count(params, hp, sizeof hp);
    human_bytes(bytes, hb, sizeof hb);
    printf("\ntotal: %zu tensors in %zu groups, %llu params (%s), %llu bytes (%s)\n",
           ck->n_tensors, ng, (unsigned long long)params, hp, (unsigned long long)bytes, hb);
    goto out;
nomem:
    fprintf(stderr, "mergeval: error: out of memory\n");
    rc = 3;
out:
    for (size_t k = 0; k < ng; k++)
        free(g[k].pattern);
    free(g);
    return rc;
}

static void usage(void)
{
    printf("usage: mergeval inspect PATH [--json] [--format NAME]\n\n"
           "Show what a checkpoint holds without loading its weights: every tensor's dtype,\n"
           "shape and size, the safetensors __metadata__, config.json beside the weights and\n"
           "the number of shards. PATH is a .safetensors file, a directory holding\n"
           "model.safetensors or a sharded checkpoint (model.safetensors.index.json + shards),\n"
           "or the index file itself. The file is validated strictly; a malformed one is\n"
           "reported in one line naming the file, the tensor and the rule broken (exit 2).\n\n"
           "  --json         print {\"tensors\":[{\"name\",\"dtype\",\"shape\",\"bytes\"}...],\n"
           "                 \"metadata\":{...}, \"total_params\", \"total_bytes\", \"shards\",\n"
           "                 \"config\" (when config.json exists), \"path\", \"format\"}\n"
           "  --format NAME  use this checkpoint loader instead of probing (e.g. safetensors)\n"
           "  -h, --help     this help\n\n"
           "The default table groups tensors that differ only in numeric path components\n"
           "(layer indices): llm.model.layers.*.self_attn.q_proj.weight  \xc3\x97" "32  BF16  [4096, 4096]\n");
}

int mv_cmd_inspect(mv_cli *cli, int argc, char **argv)
{
    static const struct option opts[] = { { "json", no_argument, 0, 'j' },
                                          { "format", required_argument, 0, 'f' },
                                          { "help", no_argument, 0, 'h' },
                                          { 0, 0, 0, 0 } };
    int json = 0, c;
    const char *format = NULL;
    while ((c = getopt_long(argc, argv, "jf:h", opts, NULL)) != -1) {
        switch (c) {
        case 'j': json = 1; break;
        case 'f': format = optarg; break;
        case 'h': usage(); return 0;
        default: return mv_cli_bad_option("inspect", argv);
        }
    }
    if (optind >= argc)
        return mv_cli_usage_error("inspect", "missing PATH (a .safetensors file or a checkpoint "
                                  "directory)");
    if (optind + 1 < argc)
        return mv_cli_usage_error("inspect", "unexpected argument '%s'", argv[optind + 1]);
    mv_checkpoint *ck = NULL;
    mv_error err;
    mv_error_clear(&err);
    if (mv_checkpoint_open(cli->ctx, argv[optind], format, &ck, &err) != MV_OK)
        return mv_cli_fail(&err);
    int rc = json ? print_json(ck) : print_table(ck);
    mv_checkpoint_close(ck);
    return rc;
}
