/* plugins/sft/state.c — resumable training state: one file per checkpoint
 * ("MVSFTST1", u64 header length, JSON header, then for each trainable parameter in model
 * order its values, AdamW first and second moments as raw little-endian floats). The
 * header holds step, sampler position, RNG state and loss-window sums, so a resumed run
 * continues bit-identically. Written atomically; not meant to be read by other tools. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <inttypes.h>
#include <cjson/cJSON.h>
#include "sft.h"

#define MAGIC "MVSFTST1"

static void add_u64(cJSON *o, const char *k, uint64_t v)
{
    char buf[32];
    snprintf(buf, sizeof buf, "%016" PRIx64, v);
    cJSON_AddStringToObject(o, k, buf);
}

static int get_u64(const cJSON *o, const char *k, uint64_t *v)
{
    const cJSON *e = cJSON_GetObjectItemCaseSensitive(o, k);
    if (!cJSON_IsString(e))
        return -1;
    *v = strtoull(e->valuestring, NULL, 16);
    return 0;
}

static void add_f64(cJSON *o, const char *k, double v)
{
    /* doubles as hex bit patterns: exact, and NaN survives */
    uint64_t u;
    memcpy(&u, &v, sizeof u);
    add_u64(o, k, u);
}

static int get_f64(const cJSON *o, const char *k, double *v)
{
    uint64_t u;
    if (get_u64(o, k, &u))
        return -1;
    memcpy(v, &u, sizeof u);
    return 0;
}

mv_status sft_state_save(const char *path, mv_model *m, float **mom1, float **mom2,
                         const sft_state *st, mv_error *err)
{
    mv_status rc = MV_OK;
    char *hdr = NULL;
    unsigned char *buf = NULL;
    cJSON *o = cJSON_CreateObject();
    cJSON *params = cJSON_AddArrayToObject(o, "params");
    cJSON *cur = cJSON_AddArrayToObject(o, "cursor");
    cJSON *pass = cJSON_AddArrayToObject(o, "pass");
    cJSON *rng = cJSON_AddArrayToObject(o, "rng");
    size_t np = m->ops->n_params(m), n_floats = 0;
    add_u64(o, "step", (uint64_t)st->step);
    add_u64(o, "drawn", st->drawn);
    add_u64(o, "tokens_seen", (uint64_t)st->tokens_seen);
    add_u64(o, "window_tokens", (uint64_t)st->window_tokens);
    add_u64(o, "window_steps", (uint64_t)st->window_steps);
    add_f64(o, "first_loss", st->first_loss);
    add_f64(o, "window_loss", st->window_loss);
    add_f64(o, "last_loss", st->last_loss);
    add_f64(o, "elapsed", st->elapsed);
    for (int i = 0; i < 4; i++) {
        char b[32];
        snprintf(b, sizeof b, "%016" PRIx64, st->sampler_rng.s[i]);
        cJSON_AddItemToArray(rng, cJSON_CreateString(b));
    }
    for (size_t i = 0; i < st->n_sources; i++) {
        char b[32];
        snprintf(b, sizeof b, "%016" PRIx64, (uint64_t)st->cursor[i]);
        cJSON_AddItemToArray(cur, cJSON_CreateString(b));
        snprintf(b, sizeof b, "%016" PRIx64, st->pass[i]);
        cJSON_AddItemToArray(pass, cJSON_CreateString(b));
    }
    for (size_t i = 0; i < np; i++) {
        mv_param_ref *p = m->ops->param(m, i);
        if (!p->trainable)
            continue;
        cJSON *e = cJSON_CreateObject();
        cJSON_AddStringToObject(e, "name", p->name);
        cJSON_AddNumberToObject(e, "numel", (double)p->numel);
        cJSON_AddItemToArray(params, e);
        n_floats += 3 * p->numel;
    }
    hdr = cJSON_PrintUnformatted(o);
    if (!hdr) {
        rc = mv_errorf(err, MV_E_NOMEM, "checkpoint: out of memory");
        goto fail;
    }
    uint64_t hlen = strlen(hdr);
    uint64_t padded = (hlen + 7) & ~(uint64_t)7;
    size_t total = 16 + padded + n_floats * sizeof(float);
    buf = calloc(1, total);
    if (!buf) {
        rc = mv_errorf(err, MV_E_NOMEM, "checkpoint: out of memory (%zu bytes)", total);
        goto fail;
    }
    memcpy(buf, MAGIC, 8);
    memcpy(buf + 8, &padded, 8);
    memcpy(buf + 16, hdr, hlen);
    memset(buf + 16 + hlen, ' ', padded - hlen);
    unsigned char *q = buf + 16 + padded;
    size_t k = 0;
    for (size_t i = 0; i < np; i++) {
        mv_param_ref *p = m->ops->param(m, i);
        if (!p->trainable)
            continue;
        size_t nb = p->numel * sizeof(float);
        memcpy(q, p->data, nb);
        q += nb;
        memcpy(q, mom1[k], nb);
        q += nb;
        memcpy(q, mom2[k], nb);
        q += nb;
        k++;
    }
    rc = mv_write_file_atomic(path, buf, total, err);
fail:
    free(buf);
    free(hdr);
    cJSON_Delete(o);
    return rc;
}

mv_status sft_state_load(const char *path, mv_model *m, float **mom1, float **mom2,
                         sft_state *st, mv_error *err)
{
    mv_status rc = MV_OK;
    char *data = NULL;
    size_t len = 0;
    cJSON *o = NULL;
    memset(st, 0, sizeof *st);
    rc = mv_read_file(path, (size_t)1 << 40, &data, &len, err);
    if (rc != MV_OK)
        return rc;
    uint64_t hlen = 0;
    if (len < 16 || memcmp(data, MAGIC, 8) != 0) {
        rc = mv_errorf(err, MV_E_FORMAT, "%s: not a mergeval training checkpoint", path);
        goto fail;
    }
    memcpy(&hlen, data + 8, 8);
    if (hlen > len - 16) {
        rc = mv_errorf(err, MV_E_FORMAT, "%s: header length %" PRIu64 " beyond the file",
                       path, hlen);
        goto fail;
    }
    o = cJSON_ParseWithLength(data + 16, hlen);
    const cJSON *params = cJSON_GetObjectItemCaseSensitive(o, "params");
    const cJSON *cur = cJSON_GetObjectItemCaseSensitive(o, "cursor");
    const cJSON *pass = cJSON_GetObjectItemCaseSensitive(o, "pass");
    const cJSON *rng = cJSON_GetObjectItemCaseSensitive(o, "rng");
    uint64_t step = 0, wt = 0, ws = 0, ts = 0;
    if (!cJSON_IsArray(params) || !cJSON_IsArray(cur) || !cJSON_IsArray(pass) ||
        cJSON_GetArraySize(rng) != 4 || get_u64(o, "step", &step) ||
        get_u64(o, "drawn", &st->drawn) || get_u64(o, "tokens_seen", &ts) ||
        get_u64(o, "window_tokens", &wt) || get_u64(o, "window_steps", &ws) ||
        get_f64(o, "first_loss", &st->first_loss) || get_f64(o, "window_loss", &st->window_loss) ||
        get_f64(o, "last_loss", &st->last_loss) || get_f64(o, "elapsed", &st->elapsed)) {
        rc = mv_errorf(err, MV_E_FORMAT, "%s: malformed checkpoint header", path);
        goto fail;
    }
    st->step = (int64_t)step;
    st->tokens_seen = (int64_t)ts;
    st->window_tokens = (int64_t)wt;
    st->window_steps = (int64_t)ws;
    for (int i = 0; i < 4; i++) {
        const cJSON *e = cJSON_GetArrayItem(rng, i);
        st->sampler_rng.s[i] = cJSON_IsString(e) ? strtoull(e->valuestring, NULL, 16) : 0;
    }
    st->n_sources = (size_t)cJSON_GetArraySize(cur);
    st->cursor = calloc(st->n_sources + 1, sizeof *st->cursor);
    st->pass = calloc(st->n_sources + 1, sizeof *st->pass);
    if (!st->cursor || !st->pass || cJSON_GetArraySize(pass) != (int)st->n_sources) {
        rc = mv_errorf(err, MV_E_FORMAT, "%s: malformed sampler state", path);
        goto fail;
    }
    for (size_t i = 0; i < st->n_sources; i++) {
        const cJSON *a = cJSON_GetArrayItem(cur, (int)i), *b = cJSON_GetArrayItem(pass, (int)i);
        if (!cJSON_IsString(a) || !cJSON_IsString(b)) {
            rc = mv_errorf(err, MV_E_FORMAT, "%s: malformed sampler state", path);
            goto fail;
        }
        st->cursor[i] = (size_t)strtoull(a->valuestring, NULL, 16);
        st->pass[i] = strtoull(b->valuestring, NULL, 16);
    }
    const unsigned char *q = (const unsigned char *)data + 16 + hlen;
    const unsigned char *end = (const unsigned char *)data + len;
    size_t np = m->ops->n_params(m), k = 0;
    const cJSON *e = params->child;
    for (size_t i = 0; i < np; i++) {
        mv_param_ref *p = m->ops->param(m, i);
        if (!p->trainable)
            continue;
        const cJSON *name = cJSON_GetObjectItemCaseSensitive(e, "name");
        const cJSON *numel = cJSON_GetObjectItemCaseSensitive(e, "numel");
        if (!e || !cJSON_IsString(name) || strcmp(name->valuestring, p->name) != 0 ||
            !cJSON_IsNumber(numel) || (size_t)numel->valuedouble != p->numel) {
            rc = mv_errorf(err, MV_E_INPUT, "%s: trainable parameter %zu is %s (%zu values) "
                           "in the checkpoint but %s (%zu values) now; resume with the same "
                           "model and freeze/LoRA parameters, or start without --resume",
                           path, k, cJSON_IsString(name) ? name->valuestring : "(none)",
                           cJSON_IsNumber(numel) ? (size_t)numel->valuedouble : 0,
                           p->name, p->numel);
            goto fail;
        }
        size_t nb = p->numel * sizeof(float);
        if ((size_t)(end - q) < 3 * nb) {
            rc = mv_errorf(err, MV_E_FORMAT, "%s: truncated at parameter %s", path, p->name);
            goto fail;
        }
        memcpy(p->data, q, nb);
        q += nb;
        memcpy(mom1[k], q, nb);
        q += nb;
        memcpy(mom2[k], q, nb);
        q += nb;
        k++;
        e = e->next;
    }
    if (e != NULL) {
        rc = mv_errorf(err, MV_E_INPUT, "%s: the checkpoint has more trainable parameters "
                       "(next: %s) than the model now; resume with the same parameters", path,
                       cJSON_GetObjectItemCaseSensitive(e, "name") ?
                       cJSON_GetObjectItemCaseSensitive(e, "name")->valuestring : "?");
        goto fail;
    }
fail:
    cJSON_Delete(o);
    mv_free(data);
    if (rc != MV_OK)
        sft_state_free(st);
    return rc;
}

void sft_state_free(sft_state *st)
{
    free(st->cursor);
    free(st->pass);
    st->cursor = NULL;
    st->pass = NULL;
}
