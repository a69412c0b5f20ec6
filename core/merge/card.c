/* core/merge/card.c — what makes a merge output a drop-in model folder besides the
 * weights: config.json with torch_dtype following the output dtype, and a README.md model
 * card (method, base, inputs with the sha256 of their weights, parameters, mergeval version)
 * in the spirit of mergekit's card.py. The files are written by the checkpoint writer. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <cjson/cJSON.h>
#include "mv_merge_engine.h"

char *mg_config_with_dtype(const char *config_json, mv_dtype out)
{
    const char *name = out == MV_DTYPE_F16 ? "float16" : out == MV_DTYPE_BF16 ? "bfloat16"
                     : out == MV_DTYPE_F32 ? "float32" : NULL;
    cJSON *j = name && config_json ? cJSON_Parse(config_json) : NULL;
    if (!cJSON_IsObject(j)) { cJSON_Delete(j); return NULL; }
    cJSON *objs[2] = { j, cJSON_GetObjectItemCaseSensitive(j, "text_config") };
    for (int i = 0; i < 2; i++) {
        if (!cJSON_IsObject(objs[i])) continue;
        for (int k = 0; k < 2; k++) {
            const char *key = k ? "dtype" : "torch_dtype";
            if (!k || cJSON_GetObjectItemCaseSensitive(objs[i], key)) {
                cJSON_DeleteItemFromObjectCaseSensitive(objs[i], key);
                cJSON_AddStringToObject(objs[i], key, name);
            }
        }
    }
    char *s = cJSON_Print(j);
    cJSON_Delete(j);
    return s;
}

#define CARD_HASH_MAX (1LL << 30)

static void header_hash(const char *file, char hex[65], char *what, size_t what_cap)
{
    unsigned char len8[8];
    uint64_t n = 0;
    FILE *f = fopen(file, "rb");
    hex[0] = 0;
    if (!f) return;
    if (fread(len8, 1, 8, f) == 8) {
        for (int i = 7; i >= 0; i--) n = (n << 8) | len8[i];
        unsigned char *buf = n <= (100u << 20) ? malloc(8 + n) : NULL;
        if (buf && fread(buf + 8, 1, n, f) == n) {
            memcpy(buf, len8, 8);
            mv_sha256(buf, 8 + n, hex);
            snprintf(what, what_cap, "sha256 of the safetensors header of `%s` (%llu header bytes; the file is "
                     "over 1 GiB and is not hashed whole)", file, (unsigned long long)(8 + n));
        }
        free(buf);
    }
    fclose(f);
}

/* the file whose hash identifies a model or adapter folder, and what was hashed */
static void weights_hash(const char *path, char *file, size_t cap, char hex[65], char *what, size_t what_cap)
{
    static const char *names[] = { "model.safetensors.index.json", "model.safetensors", "adapter_model.safetensors", NULL };
    mv_error e = { 0 };
    hex[0] = 0;
    snprintf(file, cap, "%s", path);
    if (mv_is_dir(path)) {
        file[0] = 0;
        for (int i = 0; names[i] && !file[0]; i++) {
            char *p = mv_path_join(path, names[i]);
            if (p && mv_path_exists(p)) snprintf(file, cap, "%s", p);
            mv_free(p);
        }
    }
    if (!file[0]) return;
    struct stat sb;
    if (stat(file, &sb) == 0 && sb.st_size > CARD_HASH_MAX) {
        /* hashing a multi-GB single file would cost more than the merge itself (sha256 runs
         * at ~0.4 GB/s here): identify it by its safetensors header (names, dtypes, shapes,
         * offsets, metadata) instead, and say so */
        header_hash(file, hex, what, what_cap);
        return;
    }
    snprintf(what, what_cap, "sha256 of `%s`", file);
    if (mv_sha256_path(file, hex, &e)) hex[0] = 0;
}

static void add(char **buf, size_t *len, size_t *cap, const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static void add(char **buf, size_t *len, size_t *cap, const char *fmt, ...)
{
    va_list ap;
    for (;;) {
        va_start(ap, fmt);
        int k = *buf ? vsnprintf(*buf + *len, *cap - *len, fmt, ap) : -1;
        va_end(ap);
        if (k >= 0 && *len + (size_t)k < *cap) { *len += (size_t)k; return; }
        size_t nc = *cap * 2 + (k > 0 ? (size_t)k : 0) + 4096;
        char *nb = realloc(*buf, nc);
        if (!nb) return;
        *buf = nb;
        *cap = nc;
    }
}

char *mg_model_card(const mg_job *job)
{
    const mv_merge_request *req = job->req;
    char *b = NULL, file[4096], hex[65], what[4400];
    size_t len = 0, cap = 0;
    add(&b, &len, &cap, "---\n");
    if (req->base_path) add(&b, &len, &cap, "base_model:\n- %s\n", req->base_path);
    const char *title = req->out_dir && strrchr(req->out_dir, '/') ? strrchr(req->out_dir, '/') + 1 : req->out_dir;
    add(&b, &len, &cap, "library_name: transformers\ntags:\n- mergeval\n- merge\n---\n# %s\n\n",
        title && *title ? title : "merged model");
    add(&b, &len, &cap, "This is a merge of pre-trained models created with mergeval %s.\n\n"
        "## Merge Details\n### Merge Method\n\nThis model was merged using the `%s` merge method%s%s%s.\n\n",
        mv_version(), job->method, req->base_path ? " with `" : "", req->base_path ? req->base_path : "",
        req->base_path ? "` as the base" : "");
    if (req->base_path) {
        weights_hash(req->base_path, file, sizeof file, hex, what, sizeof what);
        if (hex[0]) add(&b, &len, &cap, "Base: `%s` (%s: `%s`)\n\n", req->base_path, what, hex);
    }
    add(&b, &len, &cap, "### %s Merged\n\nThe following %s included in the merge:\n",
        strcmp(job->method, "lora") ? "Models" : "Adapters", strcmp(job->method, "lora") ? "models were" : "adapters were");
    for (size_t i = 0; i < req->n_inputs; i++) {
        weights_hash(req->inputs[i].path, file, sizeof file, hex, what, sizeof what);
        add(&b, &len, &cap, "* `%s`", req->inputs[i].path);
        if (hex[0]) add(&b, &len, &cap, " (%s: `%s`)", what, hex);
        if (req->inputs[i].params_json) add(&b, &len, &cap, " — parameters `%s`", req->inputs[i].params_json);
        add(&b, &len, &cap, "\n");
    }
    add(&b, &len, &cap, "\n### Configuration\n\n```json\n{\"method\": \"%s\", \"parameters\": %s, \"out_dtype\": \"%s\", "
        "\"seed\": %llu%s%s}\n```\n", job->method, job->params ? mv_params_to_json(job->params) : "{}",
        req->out_dtype ? req->out_dtype : "keep", (unsigned long long)req->seed,
        req->slices_json ? ", \"slices\": " : "", req->slices_json ? req->slices_json : "");
    return b;
}
