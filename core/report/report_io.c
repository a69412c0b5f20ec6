/* core/report/report_io.c — write the four report files of a summary atomically, build the
 * whole report of a run directory, history over runs, and thumbnails of dataset items
 * (opened through the registry from the run's config snapshot). */
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "mv_report.h"

static mv_status write_file(const char *dir, const char *name, const char *text, mv_error *err)
{
    char *p = mv_path_join(dir, name);
    mv_status st = text ? mv_write_text_atomic(p, text, err)
                        : mv_errorf(err, MV_E_NOMEM, "out of memory rendering %s", name);
    mv_free(p);
    return st;
}

/* Thumbnail / text for each listed item of evaluation ev not collected yet. */
static void collect_thumbs(cJSON *thumbs, const mv_report_options *o, const char *ev, const cJSON *items)
{
    for (const cJSON *it = cJSON_IsArray(items) ? items->child : NULL; it; it = it->next) {
        const cJSON *jid = cJSON_GetObjectItem(it, "id");
        if (!cJSON_IsString(jid)) continue;
        const char *id = jid->valuestring;
        cJSON *te = cJSON_GetObjectItem(thumbs, ev);
        if (!te) te = cJSON_AddObjectToObject(thumbs, ev);
        if (cJSON_GetObjectItem(te, id)) continue;
        cJSON *entry = cJSON_AddObjectToObject(te, id);
        char *uri = o->thumb ? o->thumb(o->thumb_user, ev, id) : NULL;
        if (uri) cJSON_AddStringToObject(entry, "src", uri);
        mv_free(uri);
        char *text = o->item_text ? o->item_text(o->thumb_user, ev, id) : NULL;
        if (text) cJSON_AddStringToObject(entry, "text", text);
        mv_free(text);
    }
}

mv_status mv_report_write_all(const char *dir, const cJSON *summary, const mv_report_options *o,
                              int *gates_failed, mv_error *err)
{
    cJSON *thumbs = cJSON_CreateObject();
    const cJSON *metrics = cJSON_GetObjectItem(summary, "metrics");
    if (o && (o->thumb || o->item_text))
        for (const cJSON *m = metrics ? metrics->child : NULL; m; m = m->next) {
            const char *ev = cJSON_GetObjectItem(m, "evaluation")->valuestring;
            collect_thumbs(thumbs, o, ev, cJSON_GetObjectItem(m, "worst_items"));
            const cJSON *bp = cJSON_GetObjectItem(m, "worst_items_by_point");
            for (const cJSON *w = bp ? bp->child : NULL; w; w = w->next) collect_thumbs(thumbs, o, ev, w);
        }
    char *json = cJSON_Print(summary);
    char *junit = mv_report_junit(summary), *md = mv_report_markdown(summary);
    char *html = mv_report_html(summary, thumbs);
    mv_status st = write_file(dir, "summary.json", json, err);
    if (st == MV_OK) st = write_file(dir, "junit.xml", junit, err);
    if (st == MV_OK) st = write_file(dir, "report.md", md, err);
    if (st == MV_OK) st = write_file(dir, "report.html", html, err);
    cJSON_free(json);
    free(junit); free(md); free(html);
    cJSON_Delete(thumbs);
    if (gates_failed) {
        const cJSON *gf = cJSON_GetObjectItem(summary, "gates_failed");
        int64_t n = 0;
        if (cJSON_IsNumber(gf)) mv_json_int(gf->valuedouble, 0, INT32_MAX, &n);
        *gates_failed = (int)n;
    }
    return st;
}

mv_status mv_report_run(const char *run_dir, const mv_report_options *o, int *gates_failed,
                        mv_error *err)
{
    cJSON *sum = NULL;
    mv_status st = mv_report_build_run(run_dir, o, &sum, err);
    if (st == MV_OK) st = mv_report_write_all(run_dir, sum, o, gates_failed, err);
    cJSON_Delete(sum);
    return st;
}

/* ---------------------------------------------------------------- thumbnails */
struct mv_thumb_source {
    mv_context *ctx;
    cJSON *config;
    struct { char *eval; mv_dataset *ds; int failed; } open[16];
    int n_open;
};

mv_thumb_source *mv_thumb_source_new(mv_context *ctx, const char *run_dir)
{
    if (!ctx || !mv_context_registry(ctx)) return NULL;
    char *rj = mv_path_join(run_dir, "run.json"), *text = NULL;
    size_t len;
    mv_thumb_source *t = NULL;
    if (mv_read_file(rj, 0, &text, &len, NULL) == MV_OK) {
        cJSON *state = cJSON_Parse(text);
        cJSON *cfg = state ? cJSON_DetachItemFromObject(state, "config") : NULL;
        if (cfg) {
            t = calloc(1, sizeof *t);
            t->ctx = ctx;
            t->config = cfg;
        }
        cJSON_Delete(state);
    }
    mv_free(text);
    mv_free(rj);
    return t;
}

void mv_thumb_source_free(mv_thumb_source *t)
{
    if (!t) return;
    for (int i = 0; i < t->n_open; i++) {
        free(t->open[i].eval);
        if (t->open[i].ds) mv_dataset_close(t->open[i].ds);
    }
    cJSON_Delete(t->config);
    free(t);
}

static mv_dataset *dataset_for(mv_thumb_source *t, const char *evaluation)
{
    for (int i = 0; i < t->n_open; i++)
        if (strcmp(t->open[i].eval, evaluation) == 0) return t->open[i].ds;
    if (t->n_open == 16) return NULL;
    mv_dataset *ds = NULL;
    const cJSON *ev = cJSON_GetObjectItem(t->config, "evaluate");
    for (const cJSON *e = ev ? ev->child : NULL; e; e = e->next) {
        const cJSON *n = cJSON_GetObjectItem(e, "name");
        if (!cJSON_IsString(n)) n = cJSON_GetObjectItem(e, "plugin");
        if (!cJSON_IsString(n) || strcmp(n->valuestring, evaluation) != 0) continue;
        const cJSON *dn = cJSON_GetObjectItem(e, "dataset");
        const cJSON *d = cJSON_IsString(dn) ? cJSON_GetObjectItem(cJSON_GetObjectItem(t->config, "datasets"), dn->valuestring) : NULL;
        if (!d) break;
        const cJSON *path = cJSON_IsString(d) ? d : cJSON_GetObjectItem(d, "path");
        const cJSON *loader = cJSON_IsObject(d) ? cJSON_GetObjectItem(d, "loader") : NULL;
        const cJSON *params = cJSON_IsObject(d) ? cJSON_GetObjectItem(d, "params") : NULL;
        char *ptext = params ? cJSON_PrintUnformatted(params) : NULL;
        mv_error err;
        if (cJSON_IsString(path) &&
            mv_dataset_open(t->ctx, path->valuestring, cJSON_IsString(loader) ? loader->valuestring : NULL,
                            ptext, &ds, &err) != MV_OK)
            ds = NULL;
        cJSON_free(ptext);
        break;
    }
    t->open[t->n_open].eval = strdup(evaluation);
    t->open[t->n_open].ds = ds;
    t->n_open++;
    return ds;
}

/* The item with this id (linear scan: reports look up a handful of items). */
static int find_item(void *user, const char *evaluation, const char *item_id, mv_item *it)
{
    mv_thumb_source *t = user;
    mv_dataset *ds = t ? dataset_for(t, evaluation) : NULL;
    for (size_t i = 0; ds && i < ds->n_items; i++) {
        mv_error err;
        if (mv_dataset_get(ds, i, it, &err) != MV_OK) continue;
        if (it->id && strcmp(it->id, item_id) == 0) return 1;
    }
    return 0;
}

char *mv_thumb_lookup(void *user, const char *evaluation, const char *item_id)
{
    mv_item it;
    if (!find_item(user, evaluation, item_id, &it) || !it.has_image) return NULL;
    int scale = it.image.width <= 48 ? 2 : 1;
    return mv_png_data_uri(it.image.rgb, it.image.width, it.image.height, scale);
}

char *mv_thumb_text(void *user, const char *evaluation, const char *item_id)
{
    mv_item it;
    if (!find_item(user, evaluation, item_id, &it) || !it.text) return NULL;
    /* A line of context, not the whole document. */
    size_t n = strlen(it.text), max = 140;
    char *out = mv_malloc((n < max ? n : max) + 4);
    if (!out) return NULL;
    memcpy(out, it.text, n < max ? n : max);
    strcpy(out + (n < max ? n : max), n < max ? "" : "...");
    return out;
}

/* ---------------------------------------------------------------- history */
mv_status mv_report_history(const char *const *run_dirs, size_t n, cJSON **out, mv_error *err)
{
    mv_status st = MV_OK;
    mv_report_point *pts = calloc(n + 1, sizeof *pts);
    char **dirs = calloc(n + 1, sizeof *dirs), **labels = calloc(n + 1, sizeof *labels);
    size_t np = 0;
    *out = NULL;
    for (size_t i = 0; i < n; i++) {
        char *rj = mv_path_join(run_dirs[i], "run.json"), *text = NULL;
        size_t len;
        st = mv_read_file(rj, 0, &text, &len, err);
        mv_free(rj);
        if (st != MV_OK) { mv_error_prefix(err, "%s is not a run directory", run_dirs[i]); goto fail; }
        cJSON *state = cJSON_Parse(text);
        mv_free(text);
        cJSON *p = state ? cJSON_GetObjectItem(state, "points") : NULL;
        int cnt = cJSON_GetArraySize(p);
        if (cnt == 0) {
            cJSON_Delete(state);
            st = mv_errorf(err, MV_E_NOT_FOUND, "%s has no completed evaluation yet", run_dirs[i]);
            goto fail;
        }
        cJSON *last = cJSON_GetArrayItem(p, cnt - 1);
        dirs[np] = mv_path_join(run_dirs[i], cJSON_GetObjectItem(last, "dir")->valuestring);
        char *copy = strdup(run_dirs[i]);
        size_t cl = strlen(copy);
        while (cl > 1 && copy[cl - 1] == '/') copy[--cl] = 0;
        const cJSON *created = cJSON_GetObjectItem(state, "created");
        if (asprintf(&labels[np], "%s%s%.10s", basename(copy), cJSON_IsString(created) ? " " : "",
                     cJSON_IsString(created) ? created->valuestring : "") < 0) labels[np] = NULL;
        free(copy);
        pts[np].label = labels[np] ? labels[np] : run_dirs[i];
        pts[np].dir = dirs[np];
        pts[np].run = run_dirs[i];
        np++;
        cJSON_Delete(state);
    }
    mv_report_options o;
    mv_report_options_default(&o);
    cJSON *info = cJSON_CreateObject();
    cJSON_AddStringToObject(info, "name", "history");
    cJSON_AddStringToObject(info, "kind", "history of final evaluations");
    st = mv_report_build(pts, np, NULL, 0, NULL, info, &o, out, err);
    cJSON_Delete(info);
fail:
    for (size_t i = 0; i < np; i++) { mv_free(dirs[i]); free(labels[i]); }
    free(dirs); free(labels); free(pts);
    return st;
}

char *mv_report_history_html(const cJSON *history) { return mv_report_html(history, NULL); }
void mv_report_history_print(FILE *f, const cJSON *history) { mv_report_print(f, history); }
