/* plugins/sft/state.c — resumable training state: one file per checkpoint
 * ("MVSFTST1", u64 header length, JSON header, then for each trainable parameter in model
 * order its values, AdamW first and second moments as raw little-endian floats). The
 * header holds step, sampler position, RNG state and loss-window sums, so a resumed run
 * continues bit-identically. Streamed to a temporary file, fsynced and renamed (atomic,
 * without holding a copy of the parameters); not meant to be read by other tools. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
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
    char *hdr = NULL, *tmp = NULL;
    FILE *f = NULL;
    cJSON *o = cJSON_CreateObject();
    cJSON *params = cJSON_AddArrayToObject(o, "params");
    cJSON *cur = cJSON_AddArrayToObject(o, "cursor");
    cJSON *pass = cJSON_AddArrayToObject(o, "pass");
    cJSON *rng = cJSON_AddArrayToObject(o, "rng");
    size_t np = m->ops->n_params(m);
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
    }
    hdr = cJSON_PrintUnformatted(o);
    if (!hdr) {
        rc = mv_errorf(err, MV_E_NOMEM, "checkpoint: out of memory");
        goto fail;
    }
    /* streamed to a temporary sibling, fsynced, renamed: never three copies of the
     * parameters in memory, never a half-written checkpoint under the final name */
    uint64_t hlen = strlen(hdr);
    uint64_t padded = (hlen + 7) & ~(uint64_t)7;
    static const char spaces[8] = "        ";
    size_t plen = strlen(path);
    tmp = malloc(plen + 32);
    if (!tmp) {
        rc = mv_errorf(err, MV_E_NOMEM, "checkpoint: out of memory");
        goto fail;
    }
    snprintf(tmp, plen + 32, "%s.tmp.%ld", path, (long)getpid());
    f = fopen(tmp, "wb");
    if (!f) {
        rc = mv_errorf(err, MV_E_IO, "cannot create %s: %s", tmp, strerror(errno));
        goto fail;
    }
    int bad = fwrite(MAGIC, 1, 8, f) != 8 || fwrite(&padded, 8, 1, f) != 1 ||
              fwrite(hdr, 1, hlen, f) != hlen ||
              fwrite(spaces, 1, padded - hlen, f) != padded - hlen;
    size_t k = 0;
    for (size_t i = 0; i < np && !bad; i++) {
        mv_param_ref *p = m->ops->param(m, i);
        if (!p->trainable)
            continue;
        bad = fwrite(p->data, sizeof(float), p->numel, f) != p->numel ||
              fwrite(mom1[k], sizeof(float), p->numel, f) != p->numel ||
              fwrite(mom2[k], sizeof(float), p->numel, f) != p->numel;
        k++;
    }
    bad |= fflush(f) != 0;
    bad |= fsync(fileno(f)) != 0;
    bad |= fclose(f) != 0;
    f = NULL;
    if (bad || rename(tmp, path) != 0) {
        rc = mv_errorf(err, MV_E_IO, "cannot write checkpoint %s: %s", path, strerror(errno));
        remove(tmp);
        goto fail;
    }
fail:
    if (f) {
        fclose(f);
        remove(tmp);
    }
    free(tmp);
    free(hdr);
    cJSON_Delete(o);
    return rc;
}

mv_status sft_state_load(const char *path, mv_model *m, float **mom1, float **mom2,
                         sft_state *st, mv_error *err)
{
    mv_status rc = MV_OK;
    char *data = NULL; /* the header */
    cJSON *o = NULL;
    memset(st, 0, sizeof *st);
    if ((rc = mv_check_regular(path, err))) return rc;
    FILE *f = fopen(path, "rb");
    if (!f)
        return mv_errorf(err, MV_E_IO, "cannot open %s: %s", path, strerror(errno));
    char magic[8];
    uint64_t hlen = 0;
    if (fread(magic, 1, 8, f) != 8 || memcmp(magic, MAGIC, 8) != 0 || fread(&hlen, 8, 1, f) != 1) {
        rc = mv_errorf(err, MV_E_FORMAT, "%s: not a mergeval training checkpoint", path);
        goto fail;
    }
    if (hlen > ((uint64_t)1 << 30) || !(data = malloc(hlen + 1)) || fread(data, 1, hlen, f) != hlen) {
        rc = mv_errorf(err, MV_E_FORMAT, "%s: header of %" PRIu64 " bytes cannot be read",
                       path, hlen);
        goto fail;
    }
    o = cJSON_ParseWithLength(data, hlen);
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
    size_t np = m->ops->n_params(m), k = 0;
    const cJSON *e = params->child;
    for (size_t i = 0; i < np; i++) {
        mv_param_ref *p = m->ops->param(m, i);
        if (!p->trainable)
            continue;
        const cJSON *name = cJSON_GetObjectItemCaseSensitive(e, "name");
        const cJSON *numel = cJSON_GetObjectItemCaseSensitive(e, "numel");
        int64_t n_saved = -1;
        if (cJSON_IsNumber(numel)) mv_json_int(numel->valuedouble, 0, MV_JSON_INT_MAX, &n_saved);
        if (!e || !cJSON_IsString(name) || strcmp(name->valuestring, p->name) != 0 ||
            n_saved < 0 || (size_t)n_saved != p->numel) {
            rc = mv_errorf(err, MV_E_INPUT, "%s: trainable parameter %zu is %s (%zu values) "
                           "in the checkpoint but %s (%zu values) now; resume with the same "
                           "model and freeze/LoRA parameters, or start without --resume",
                           path, k, cJSON_IsString(name) ? name->valuestring : "(none)",
                           n_saved < 0 ? (size_t)0 : (size_t)n_saved,
                           p->name, p->numel);
            goto fail;
        }
        if (fread(p->data, sizeof(float), p->numel, f) != p->numel ||
            fread(mom1[k], sizeof(float), p->numel, f) != p->numel ||
            fread(mom2[k], sizeof(float), p->numel, f) != p->numel) {
            rc = mv_errorf(err, MV_E_FORMAT, "%s: truncated at parameter %s", path, p->name);
            goto fail;
        }
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
    free(data);
    fclose(f);
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
