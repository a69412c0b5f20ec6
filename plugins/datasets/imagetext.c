/* plugins/datasets/imagetext.c — the "imagetext" loader: JSONL image-text records
 * ({"id"?, "image", "text"}) and MiniCPM-V finetune JSON ([{"id","image","conversations":
 * [{"role"|"from","content"|"value"}]}], single "<image>" placeholder). Records are parsed and
 * checked at open; image pixels are decoded per `verify` (see docs/evaluation.md). */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cjson/cJSON.h>
#include "ds_internal.h"

typedef struct it_opts {
    int skip;
    int allow_outside;
    int require_image;
    const char *root;
} it_opts;

/* Line number (1-based) of byte offset off in text. */
static int line_of(const char *text, size_t off)
{
    int line = 1;
    for (size_t i = 0; i < off && text[i]; i++) line += text[i] == '\n';
    return line;
}

/* Byte offsets of each top-level element of a JSON array (for "file:line" in messages). */
static size_t *element_offsets(const char *t, size_t *count)
{
    size_t cap = 256, n = 0;
    size_t *offs = malloc(cap * sizeof *offs);
    int depth = 0, in_str = 0, esc = 0, want = 0;
    for (size_t i = 0; offs && t[i]; i++) {
        char c = t[i];
        if (in_str) {
            if (esc) esc = 0;
            else if (c == '\\') esc = 1;
            else if (c == '"') in_str = 0;
            continue;
        }
        if (depth == 1 && want && !isspace((unsigned char)c) && c != ']') {
            if (n == cap) {
                size_t *q = realloc(offs, cap * 2 * sizeof *q);
                if (!q) { free(offs); return NULL; }
                offs = q;
                cap *= 2;
            }
            offs[n++] = i;
            want = 0;
        }
        if (c == '"') in_str = 1;
        else if (c == '[' || c == '{') { depth++; if (depth == 1) want = 1; }
        else if (c == ']' || c == '}') depth--;
        else if (c == ',' && depth == 1) want = 1;
    }
    *count = n;
    return offs;
}

static char *trim_dup(const char *s)
{
    while (*s && isspace((unsigned char)*s)) s++;
    size_t l = strlen(s);
    while (l && isspace((unsigned char)s[l - 1])) l--;
    return strndup(s, l);
}

/* Remove the "<image>" placeholder (MiniCPM-V puts it at the start of the user turn). */
static char *strip_placeholder(const char *s, int *count)
{
    *count = 0;
    size_t l = strlen(s);
    char *out = malloc(l + 1), *o = out;
    if (!out) return NULL;
    while (*s) {
        if (strncmp(s, "<image>", 7) == 0) { s += 7; (*count)++; continue; }
        *o++ = *s++;
    }
    *o = 0;
    char *t = trim_dup(out);
    free(out);
    return t;
}

static const char *turn_field(const cJSON *turn, const char *a, const char *b)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(turn, a);
    if (!v) v = cJSON_GetObjectItemCaseSensitive(turn, b);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* Parse one record into an item. Returns MV_OK (added), or an error whose message is the
 * problem without the "item X (file:line)" prefix, which the caller adds. */
static mv_status parse_record(ds_store *s, const cJSON *rec, const char *id, const it_opts *o,
                              const char *source, mv_error *err)
{
    char *prompt = NULL, *text = NULL, *img = NULL;
    mv_status st = MV_OK;
    int placeholders = 0;
    if (!cJSON_IsObject(rec)) return mv_errorf(err, MV_E_FORMAT, "record is not a JSON object");

    const cJSON *image = cJSON_GetObjectItemCaseSensitive(rec, "image");
    if (cJSON_IsObject(image) || cJSON_IsArray(image))
        return mv_errorf(err, MV_E_UNSUPPORTED, "multi-image records (\"image\" as an object/list "
                         "of <image_NN> paths) are not supported; use one image per record");
    if (image && !cJSON_IsString(image) && !cJSON_IsNull(image))
        return mv_errorf(err, MV_E_FORMAT, "\"image\" must be a string path");

    const cJSON *conv = cJSON_GetObjectItemCaseSensitive(rec, "conversations");
    if (conv) {
        if (!cJSON_IsArray(conv))
            return mv_errorf(err, MV_E_FORMAT, "\"conversations\" must be a list of turns");
        const cJSON *t;
        int k = 0;
        cJSON_ArrayForEach(t, conv) {
            const char *role = turn_field(t, "role", "from");
            const char *content = turn_field(t, "content", "value");
            if (!role || !content) {
                st = mv_errorf(err, MV_E_FORMAT, "conversations[%d]: needs \"role\" (or \"from\") "
                               "and \"content\" (or \"value\") strings", k);
                goto out;
            }
            int is_user = !strcmp(role, "user") || !strcmp(role, "human");
            int is_asst = !strcmp(role, "assistant") || !strcmp(role, "gpt");
            if (!is_user && !is_asst) {
                st = mv_errorf(err, MV_E_FORMAT, "conversations[%d]: unknown role \"%s\" (expected "
                               "user/human or assistant/gpt)", k, role);
                goto out;
            }
            if (is_user && !prompt && !text) {
                prompt = strip_placeholder(content, &placeholders);
            } else if (is_asst && !text) {
                text = trim_dup(content);
            } else if (is_user && strstr(content, "<image>")) {
                placeholders++;
            }
            k++;
        }
        if (!text) {
            st = mv_errorf(err, MV_E_FORMAT, "conversations has no assistant turn (the text to "
                           "score)");
            goto out;
        }
        if (placeholders > 1) {
            st = mv_errorf(err, MV_E_UNSUPPORTED, "%d <image> placeholders; only single-image "
                           "records are supported", placeholders);
            goto out;
        }
        if (placeholders == 1 && !cJSON_IsString(image)) {
            st = mv_errorf(err, MV_E_FORMAT, "the user turn has an <image> placeholder but the "
                           "record has no \"image\"");
            goto out;
        }
        if (prompt && !*prompt) { free(prompt); prompt = NULL; }
    } else {
        const cJSON *tx = cJSON_GetObjectItemCaseSensitive(rec, "text");
        if (tx && !cJSON_IsString(tx) && !cJSON_IsNull(tx))
            return mv_errorf(err, MV_E_FORMAT, "\"text\" must be a string");
        if (cJSON_IsString(tx)) text = strdup(tx->valuestring);
        const cJSON *pr = cJSON_GetObjectItemCaseSensitive(rec, "prompt");
        if (cJSON_IsString(pr)) prompt = strdup(pr->valuestring);
    }
    if (text && !ds_utf8_valid(text, strlen(text))) {
        st = mv_errorf(err, MV_E_FORMAT, "text is not valid UTF-8");
        goto out;
    }
    if (!cJSON_IsString(image)) {
        if (o->require_image) {
            st = mv_errorf(err, MV_E_FORMAT, "record has no \"image\" (require_image is set)");
            goto out;
        }
        if (!text) {
            st = mv_errorf(err, MV_E_FORMAT, "record has neither \"image\" nor text");
            goto out;
        }
    } else {
        if ((st = ds_resolve_path(o->root, image->valuestring, o->allow_outside, &img, err)) != MV_OK)
            goto out;
    }
    st = ds_store_add(s, id, text, prompt, img, source, err);
out:
    free(prompt);
    free(text);
    free(img);
    return st;
}

static mv_status record_id(const cJSON *rec, const char *base, int line, char *buf, size_t n,
                           mv_error *err)
{
    const cJSON *id = cJSON_IsObject(rec) ? cJSON_GetObjectItemCaseSensitive(rec, "id") : NULL;
    if (cJSON_IsString(id) && *id->valuestring) snprintf(buf, n, "%s", id->valuestring);
    else if (cJSON_IsNumber(id)) snprintf(buf, n, "%.17g", id->valuedouble);
    else if (id && !cJSON_IsNull(id)) {
        snprintf(buf, n, "%s:%d", base, line);
        return mv_errorf(err, MV_E_FORMAT, "\"id\" must be a string or number");
    } else snprintf(buf, n, "%s:%d", base, line);
    return MV_OK;
}

/* A bad record: fail with the full location, or count it as skipped. */
static mv_status bad_record(ds_store *s, const it_opts *o, const char *id, const char *source,
                            mv_error *e, mv_error *err)
{
    if (!o->skip)
        return mv_errorf(err, e->code, "item %s (%s): %s (set on_error: \"skip\" to skip bad "
                         "records and count them)", id, source, e->msg);
    char reason[MV_ERROR_MAX + 256];
    snprintf(reason, sizeof reason, "item %s (%s): %s", id, source, e->msg);
    return ds_store_skip(s, reason, err);
}

static mv_status load_minicpm(ds_store *s, const char *text, const char *path, const it_opts *o,
                              mv_error *err)
{
    const char *end = NULL;
    cJSON *root = cJSON_ParseWithOpts(text, &end, 0);
    mv_status st = MV_OK;
    size_t n_off = 0, *offs = NULL;
    if (!root) {
        size_t off = end ? (size_t)(end - text) : 0;
        return mv_errorf(err, MV_E_FORMAT, "%s:%d: malformed JSON (MiniCPM-V finetune format is a "
                         "list of {\"id\", \"image\", \"conversations\"})", path, line_of(text, off));
    }
    if (!cJSON_IsArray(root)) {
        st = mv_errorf(err, MV_E_FORMAT, "%s: expected a JSON list of records", path);
        goto out;
    }
    offs = element_offsets(text, &n_off);
    int k = 0;
    const cJSON *rec;
    cJSON_ArrayForEach(rec, root) {
        int line = (offs && (size_t)k < n_off) ? line_of(text, offs[k]) : 0;
        char source[1024], id[512];
        snprintf(source, sizeof source, "%s:%d", path, line);
        mv_error e = {0};
        mv_status r = record_id(rec, s->file_base, line, id, sizeof id, &e);
        if (r == MV_OK) r = parse_record(s, rec, id, o, source, &e);
        if (r != MV_OK && r != MV_E_NOMEM) {
            if ((st = bad_record(s, o, id, source, &e, err)) != MV_OK) goto out;
        } else if (r == MV_E_NOMEM) {
            st = mv_errorf(err, r, "%s", e.msg);
            goto out;
        }
        k++;
    }
out:
    free(offs);
    cJSON_Delete(root);
    return st;
}

static mv_status jsonl_record(ds_store *s, char *q, int line, const char *source, char *id,
                              size_t id_cap, void *user, mv_error *err)
{
    const it_opts *o = user;
    mv_error er = {0};
    mv_status r;
    cJSON *rec = cJSON_Parse(q);
    if (!rec) r = mv_errorf(&er, MV_E_FORMAT, "malformed JSON line");
    else {
        r = record_id(rec, s->file_base, line, id, id_cap, &er);
        if (r == MV_OK) r = parse_record(s, rec, id, o, source, &er);
    }
    cJSON_Delete(rec);
    if (r == MV_E_NOMEM) return mv_errorf(err, r, "%s", er.msg);
    if (r != MV_OK) return bad_record(s, o, id, source, &er, err);
    return MV_OK;
}

mv_status ds_open_imagetext(mv_context *ctx, const char *path, const mv_params *params,
                            mv_dataset **out, mv_error *err)
{
    ds_store *s = NULL;
    char *text = NULL, *root = NULL;
    size_t len = 0;
    *out = NULL;
    mv_status st = ds_store_new(path, "imagetext", &s, err);
    if (st != MV_OK) return st;
    it_opts o = {0};
    o.skip = strcmp(mv_params_string(params, "on_error"), "skip") == 0;
    o.allow_outside = mv_params_bool(params, "allow_outside_root");
    o.require_image = mv_params_bool(params, "require_image");
    const char *verify = mv_params_string(params, "verify");
    const char *format = mv_params_string(params, "format");
    if ((st = ds_parse_background(mv_params_json(params, "background"), s->background, err)) != MV_OK)
        goto fail;
    s->limits.max_pixels = (uint64_t)mv_params_int(params, "max_pixels");
    s->limits.max_side = (uint64_t)mv_params_int(params, "max_image_side");
    root = ds_dirname(path);
    o.root = root;
    if ((st = ds_read_all(path, &text, &len, err)) != MV_OK) goto fail;
    if (strlen(text) != len) {
        st = mv_errorf(err, MV_E_FORMAT, "dataset %s: contains NUL bytes (not a text file)", path);
        goto fail;
    }
    const char *q = text;
    while (*q && isspace((unsigned char)*q)) q++;
    int is_array = strcmp(format, "minicpm") == 0 || (strcmp(format, "auto") == 0 && *q == '[');
    if (is_array) st = load_minicpm(s, text, path, &o, err);
    else st = ds_each_jsonl_line(s, text, path, jsonl_record, &o, err);
    if (st != MV_OK) goto fail;
    if ((st = ds_store_check_ids(s, o.skip, err)) != MV_OK) goto fail;
    if (strcmp(verify, "none") != 0 &&
        (st = ds_store_verify(s, strcmp(verify, "decode") == 0, o.skip,
                                   ctx ? mv_context_threads(ctx) : 1, err)) != MV_OK)
        goto fail;
    if (s->ds.n_items == 0) {
        st = mv_errorf(err, MV_E_FORMAT, "dataset %s: no usable records (%zu skipped%s%s)", path,
                       s->ds.n_skipped, s->ds.n_skipped ? "; first: " : "",
                       s->ds.n_skipped ? s->ds.skipped[0] : "");
        goto fail;
    }
    if (s->ds.n_skipped)
        mv_log(ctx, MV_LOG_WARN, "dataset %s: skipped %zu bad record(s); first: %s", path,
               s->ds.n_skipped, s->ds.skipped[0]);
    mv_free(text);
    free(root);
    *out = &s->ds;
    return MV_OK;
fail:
    mv_free(text);
    free(root);
    ds_store_free(s);
    return st;
}

static int ends_with(const char *s, const char *suf)
{
    size_t a = strlen(s), b = strlen(suf);
    return a >= b && strcmp(s + a - b, suf) == 0;
}

int ds_probe_imagetext(const char *path)
{
    char buf[8192];
    if (ds_peek(path, buf, sizeof buf) <= 0) return 0;
    const char *q = buf;
    while (*q && isspace((unsigned char)*q)) q++;
    if (*q == '[' && strstr(buf, "\"conversations\"")) return 90;
    if (*q == '{' && strstr(buf, "\"image\"")) return ends_with(path, ".jsonl") ? 85 : 70;
    if (*q == '{' && strstr(buf, "\"conversations\"")) return 60;
    return 0;
}
