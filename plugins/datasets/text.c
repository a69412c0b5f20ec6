/* plugins/datasets/text.c — the "text" loader: JSONL ({"id"?, "text"}) and plain UTF-8 text
 * with one document per line or per blank-line-separated paragraph (`split`). Text-only
 * items; images are the imagetext loader's. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cjson/cJSON.h>
#include "ds_internal.h"

static mv_status bad(ds_store *s, int skip, const char *id, const char *source, const char *what,
                     mv_error *err)
{
    if (!skip)
        return mv_errorf(err, MV_E_FORMAT, "item %s (%s): %s (set on_error: \"skip\" to skip bad "
                         "records and count them)", id, source, what);
    char reason[2600];
    snprintf(reason, sizeof reason, "item %s (%s): %s", id, source, what);
    return ds_store_skip(s, reason, err);
}

static mv_status jsonl_record(ds_store *s, char *q, int line, const char *source, char *id,
                              size_t id_cap, void *user, mv_error *err)
{
    (void)line;
    int skip = *(const int *)user;
    cJSON *rec = cJSON_Parse(q);
    const cJSON *tx = cJSON_GetObjectItemCaseSensitive(rec, "text");
    const cJSON *jd = cJSON_GetObjectItemCaseSensitive(rec, "id");
    if (cJSON_IsString(jd) && *jd->valuestring) snprintf(id, id_cap, "%s", jd->valuestring);
    else if (cJSON_IsNumber(jd)) snprintf(id, id_cap, "%.17g", jd->valuedouble);
    const char *problem = NULL;
    if (!rec) problem = "malformed JSON line";
    else if (!cJSON_IsObject(rec)) problem = "record is not a JSON object";
    else if (!cJSON_IsString(tx)) problem = "record has no \"text\" string";
    else if (!ds_utf8_valid(tx->valuestring, strlen(tx->valuestring)))
        problem = "text is not valid UTF-8";
    mv_status st = problem ? bad(s, skip, id, source, problem, err)
                           : ds_store_add(s, id, tx->valuestring, NULL, NULL, source, err);
    cJSON_Delete(rec);
    return st;
}

/* Plain text: documents are non-blank lines (split "line") or runs of non-blank lines
 * separated by blank lines (split "paragraph", joined with '\n'). Leading/trailing spaces of
 * a document are trimmed. */
static mv_status flush_doc(ds_store *s, char *doc, int doc_line, const char *path, int skip,
                           mv_error *err)
{
    char id[512], source[1024];
    snprintf(id, sizeof id, "%s:%d", s->file_base, doc_line);
    snprintf(source, sizeof source, "%s:%d", path, doc_line);
    char *t = doc;
    while (*t && isspace((unsigned char)*t)) t++;
    size_t tl = strlen(t);
    while (tl && isspace((unsigned char)t[tl - 1])) t[--tl] = 0;
    if (!ds_utf8_valid(t, tl)) return bad(s, skip, id, source, "text is not valid UTF-8", err);
    return ds_store_add(s, id, t, NULL, NULL, source, err);
}

/* Plain text: documents are non-blank lines (split "line") or runs of non-blank lines
 * separated by blank lines (split "paragraph", joined with '\n'). Leading/trailing spaces of
 * a document are trimmed. */
static mv_status load_plain(ds_store *s, char *text, size_t len, const char *path, int paragraph,
                            int skip, mv_error *err)
{
    int line = 0, doc_line = 0;
    size_t n = 0;
    char *doc = malloc(len + 2);
    mv_status st = MV_OK;
    if (!doc) return mv_errorf(err, MV_E_NOMEM, "out of memory");
    char *p = text, *end = text + len;
    while (p < end) {
        char *e = strchr(p, '\n');
        if (!e) e = end;
        *e = 0;
        line++;
        size_t l = (size_t)(e - p);
        if (l && p[l - 1] == '\r') p[--l] = 0;
        int blank = 1;
        for (size_t i = 0; i < l; i++) if (!isspace((unsigned char)p[i])) { blank = 0; break; }
        if (!blank) {
            if (!n) doc_line = line;
            if (n) doc[n++] = '\n';
            memcpy(doc + n, p, l);
            n += l;
            doc[n] = 0;
        }
        if (n && (blank || !paragraph)) {
            if ((st = flush_doc(s, doc, doc_line, path, skip, err)) != MV_OK) goto out;
            n = 0;
        }
        p = e + 1;
    }
    if (n) st = flush_doc(s, doc, doc_line, path, skip, err);
out:
    free(doc);
    return st;
}

static int ends_with(const char *s, const char *suf)
{
    size_t a = strlen(s), b = strlen(suf);
    return a >= b && strcmp(s + a - b, suf) == 0;
}

mv_status ds_open_text(mv_context *ctx, const char *path, const mv_params *params,
                       mv_dataset **out, mv_error *err)
{
    ds_store *s = NULL;
    char *text = NULL;
    size_t len = 0;
    *out = NULL;
    mv_status st = ds_store_new(path, "text", &s, err);
    if (st != MV_OK) return st;
    int skip = strcmp(mv_params_string(params, "on_error"), "skip") == 0;
    const char *format = mv_params_string(params, "format");
    int paragraph = strcmp(mv_params_string(params, "split"), "paragraph") == 0;
    if ((st = ds_read_all(path, &text, &len, err)) != MV_OK) goto fail;
    if (strlen(text) != len) {
        st = mv_errorf(err, MV_E_FORMAT, "dataset %s: contains NUL bytes (not a text file)", path);
        goto fail;
    }
    int jsonl;
    if (strcmp(format, "auto") == 0) {
        const char *q = text;
        while (*q && isspace((unsigned char)*q)) q++;
        jsonl = ends_with(path, ".jsonl") || ends_with(path, ".json") || *q == '{';
    } else {
        jsonl = strcmp(format, "jsonl") == 0;
    }
    st = jsonl ? ds_each_jsonl_line(s, text, path, jsonl_record, &skip, err)
               : load_plain(s, text, len, path, paragraph, skip, err);
    if (st != MV_OK) goto fail;
    if ((st = ds_store_check_ids(s, skip, err)) != MV_OK) goto fail;
    if (s->ds.n_items == 0) {
        st = mv_errorf(err, MV_E_FORMAT, "dataset %s: no documents (%zu skipped)", path,
                       s->ds.n_skipped);
        goto fail;
    }
    if (s->ds.n_skipped)
        mv_log(ctx, MV_LOG_WARN, "dataset %s: skipped %zu bad record(s); first: %s", path,
               s->ds.n_skipped, s->ds.skipped[0]);
    mv_free(text);
    *out = &s->ds;
    return MV_OK;
fail:
    mv_free(text);
    ds_store_free(s);
    return st;
}

int ds_probe_text(const char *path)
{
    char buf[8192];
    long n = ds_peek(path, buf, sizeof buf);
    if (n <= 0) return 0;
    const char *q = buf;
    while (*q && isspace((unsigned char)*q)) q++;
    if (*q == '{') return (strstr(buf, "\"text\"") && !strstr(buf, "\"image\"")) ? 80 : 0;
    if ((size_t)n != strlen(buf)) return 0; /* binary */
    if (ends_with(path, ".txt") || ends_with(path, ".md")) return 60;
    return 10;
}
