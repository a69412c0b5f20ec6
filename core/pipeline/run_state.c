/* core/pipeline/run_state.c — what run.json records besides stage status: SHA-256 of every
 * input (base, datasets, adapters), host facts and the plugins used with their versions.
 * The resume check compares these hashes; stage bookkeeping lives in runner.c. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <libgen.h>
#include <sys/utsname.h>
#include "runner_internal.h"

static mv_status add_input(cJSON *arr, const char *jpath, const char *path, mv_error *err)
{
    char hex[65];
    mv_status st = mv_sha256_path(path, hex, err);
    if (st != MV_OK) return mv_error_prefix(err, "hashing input %s (%s)", path, jpath);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "json_path", jpath);
    cJSON_AddStringToObject(o, "path", path);
    cJSON_AddStringToObject(o, "sha256", hex);
    cJSON_AddItemToArray(arr, o);
    return MV_OK;
}

mv_status mv_runner_hash_inputs(const mv_pipeline *p, cJSON **out, mv_error *err)
{
    cJSON *arr = cJSON_CreateArray();
    mv_status st = add_input(arr, "$.base.path", p->base_path, err);
    char jp[300];
    for (size_t i = 0; st == MV_OK && i < p->n_datasets; i++) {
        const mv_pl_dataset *d = &p->datasets[i];
        snprintf(jp, sizeof jp, "$.datasets.%s.path", d->name);
        st = add_input(arr, jp, d->path, err);
        /* Image datasets refer to files beside the list: hash the folder too, so a changed
         * image is noticed as well as a changed caption. */
        if (st == MV_OK && !mv_is_dir(d->path) && (!d->loader || strcmp(d->loader, "text") != 0)) {
            char *copy = strdup(d->path);
            snprintf(jp, sizeof jp, "$.datasets.%s.path (folder)", d->name);
            st = add_input(arr, jp, dirname(copy), err);
            free(copy);
        }
    }
    for (size_t i = 0; st == MV_OK && i < p->n_adapters; i++) {
        snprintf(jp, sizeof jp, "$.merge.adapters[%zu].path", i);
        st = add_input(arr, jp, p->adapters[i].path, err);
    }
    if (st != MV_OK) { cJSON_Delete(arr); arr = NULL; }
    *out = arr;
    return st;
}

cJSON *mv_runner_host_json(void)
{
    cJSON *h = cJSON_CreateObject();
    char name[256] = "";
    gethostname(name, sizeof name - 1);
    cJSON_AddStringToObject(h, "hostname", name);
    struct utsname u;
    if (uname(&u) == 0) {
        char os[600];
        snprintf(os, sizeof os, "%s %s %s", u.sysname, u.release, u.machine);
        cJSON_AddStringToObject(h, "os", os);
    }
    cJSON_AddNumberToObject(h, "cpus", (double)sysconf(_SC_NPROCESSORS_ONLN));
    return h;
}

static void add_plugin(cJSON *arr, const mv_registry *reg, mv_kind kind, const char *name)
{
    if (!reg || !name) return;
    for (cJSON *e = arr->child; e; e = e->next) {
        cJSON *n = cJSON_GetObjectItem(e, "name"), *k = cJSON_GetObjectItem(e, "kind");
        if (strcmp(n->valuestring, name) == 0 && strcmp(k->valuestring, mv_kind_name(kind)) == 0) return;
    }
    size_t cnt = mv_registry_count(reg);
    for (size_t i = 0; i < cnt; i++) {
        const mv_component *c = mv_registry_get(reg, i);
        if (c->kind != kind || strcmp(c->name, name) != 0) continue;
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "kind", mv_kind_name(kind));
        cJSON_AddStringToObject(o, "name", c->name);
        cJSON_AddStringToObject(o, "version", c->version ? c->version : "");
        const char *f = mv_registry_file(reg, i);
        cJSON_AddStringToObject(o, "file", f ? f : "");
        cJSON_AddItemToArray(arr, o);
        return;
    }
}

cJSON *mv_runner_plugins_json(const mv_registry *reg, const mv_pipeline *p)
{
    cJSON *arr = cJSON_CreateArray();
    add_plugin(arr, reg, MV_KIND_LOADER, p->base_loader);
    for (size_t i = 0; i < p->n_datasets; i++) add_plugin(arr, reg, MV_KIND_LOADER, p->datasets[i].loader);
    if (p->has_merge) add_plugin(arr, reg, MV_KIND_MERGE, p->merge_strategy);
    if (p->has_train) {
        add_plugin(arr, reg, MV_KIND_TRAINER, p->trainer);
        add_plugin(arr, reg, MV_KIND_MERGE, p->adapter_merge);
    }
    for (size_t i = 0; i < p->n_evals; i++) add_plugin(arr, reg, MV_KIND_EVALUATOR, p->evals[i].plugin);
    return arr;
}

mv_status mv_runner_save_state(const char *run_dir, const cJSON *state, mv_error *err)
{
    char *text = cJSON_Print(state);
    char *path = mv_path_join(run_dir, "run.json");
    mv_status st = (text && path) ? mv_write_text_atomic(path, text, err)
                                  : mv_errorf(err, MV_E_NOMEM, "out of memory writing run.json");
    cJSON_free(text);
    mv_free(path);
    return st;
}
