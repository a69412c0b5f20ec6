/* core/lib/adapter_keymap.c — key_map: ordered prefix rewrites of adapter module names
 * ({"model.": "llm.model."}); the first matching entry applies, once. Also the inverse
 * rewrite used to test base names against the adapter's own target_modules. */
#include <stdlib.h>
#include <string.h>
#include <cjson/cJSON.h>
#include <mergeval/adapter.h>

struct mv_key_map {
    size_t n;
    char **from, **to;
};

void mv_key_map_free(mv_key_map *m)
{
    if (!m) return;
    for (size_t i = 0; i < m->n; i++) { mv_free(m->from[i]); mv_free(m->to[i]); }
    mv_free(m->from);
    mv_free(m->to);
    mv_free(m);
}

mv_status mv_key_map_parse(const char *json, const char *where, mv_key_map **out, mv_error *err)
{
    mv_status st = MV_OK;
    cJSON *root = NULL;
    mv_key_map *m = mv_calloc(1, sizeof *m);
    *out = NULL;
    if (!where) where = "key_map";
    if (!m) return mv_errorf(err, MV_E_NOMEM, "out of memory");
    if (!json || !*json) { *out = m; return MV_OK; }
    root = cJSON_Parse(json);
    if (!root || !cJSON_IsObject(root)) {
        st = mv_errorf(err, MV_E_INPUT, "%s: expected an object of prefix rewrites like "
                       "{\"model.\": \"llm.model.\"}, got %s", where, json);
        goto fail;
    }
    size_t k = (size_t)cJSON_GetArraySize(root) + 1;
    m->from = mv_calloc(k, sizeof *m->from);
    m->to = mv_calloc(k, sizeof *m->to);
    if (!m->from || !m->to) { st = mv_errorf(err, MV_E_NOMEM, "out of memory"); goto fail; }
    const cJSON *e;
    cJSON_ArrayForEach(e, root) {
        if (!cJSON_IsString(e)) {
            st = mv_errorf(err, MV_E_INPUT, "%s.\"%s\": expected a string (the replacement prefix)", where, e->string);
            goto fail;
        }
        m->from[m->n] = mv_strdup(e->string);
        m->to[m->n] = mv_strdup(e->valuestring);
        m->n++;
        if (!m->from[m->n - 1] || !m->to[m->n - 1]) { st = mv_errorf(err, MV_E_NOMEM, "out of memory"); goto fail; }
    }
    cJSON_Delete(root);
    *out = m;
    return MV_OK;
fail:
    cJSON_Delete(root);
    mv_key_map_free(m);
    return st;
}

size_t mv_key_map_count(const mv_key_map *m) { return m ? m->n : 0; }
const char *mv_key_map_from(const mv_key_map *m, size_t i) { return m && i < m->n ? m->from[i] : NULL; }
const char *mv_key_map_to(const mv_key_map *m, size_t i) { return m && i < m->n ? m->to[i] : NULL; }

static char *rewrite(char **from, char **to, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++) {
        size_t fl = strlen(from[i]);
        if (strncmp(name, from[i], fl) == 0) {
            size_t tl = strlen(to[i]), rl = strlen(name + fl);
            char *s = mv_malloc(tl + rl + 1);
            if (!s) return NULL;
            memcpy(s, to[i], tl);
            memcpy(s + tl, name + fl, rl + 1);
            return s;
        }
    }
    return mv_strdup(name);
}

char *mv_key_map_apply(const mv_key_map *m, const char *name)
{
    return m ? rewrite(m->from, m->to, m->n, name) : mv_strdup(name);
}

char *mv_key_map_unapply(const mv_key_map *m, const char *name)
{
    return m ? rewrite(m->to, m->from, m->n, name) : mv_strdup(name);
}
