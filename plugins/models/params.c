/* plugins/models/params.c — the parameter table: registration by HF name and shape, one
 * weight block and one gradient block for all base parameters, deterministic initialisation
 * (normal 0.02, norms 1, biases 0, like HF's _init_weights) and clean-up. */
#include "mdl.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

uint64_t mdl_mix64(uint64_t x) {
    x += 0x9E3779B97F4A7C15ull;
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
    return x ^ (x >> 31);
}

int mdl_param_add(mdl *m, const char *name, int ndim, const int64_t *shape) {
    if (m->nP == m->capP) {
        size_t cap = m->capP ? m->capP * 2 : 64;
        mv_param_ref *p = realloc(m->P, cap * sizeof *p);
        if (!p) return -1;
        m->P = p;
        m->capP = cap;
    }
    mv_param_ref *r = &m->P[m->nP];
    memset(r, 0, sizeof *r);
    r->name = strdup(name);
    if (!r->name) return -1;
    r->ndim = ndim;
    r->numel = 1;
    for (int i = 0; i < ndim; i++) {
        r->shape[i] = shape[i];
        r->numel *= (size_t)shape[i];
    }
    r->trainable = 1;
    return (int)m->nP++;
}

int mdl_param_find(const mdl *m, const char *name) {
    for (size_t i = 0; i < m->nP; i++)
        if (strcmp(m->P[i].name, name) == 0) return (int)i;
    return -1;
}

mv_status mdl_params_alloc(mdl *m, mv_error *err) {
    size_t total = 0;
    for (size_t i = 0; i < m->nP; i++) total += m->P[i].numel;
    m->wblock = calloc(total ? total : 1, sizeof(float));
    m->gblock = calloc(total ? total : 1, sizeof(float));
    if (!m->wblock || !m->gblock)
        return mv_errorf(err, MV_E_NOMEM, "model: cannot allocate %zu parameters", total);
    size_t off = 0;
    for (size_t i = 0; i < m->nP; i++) {
        m->P[i].data = m->wblock + off;
        m->P[i].grad = m->gblock + off;
        off += m->P[i].numel;
    }
    m->base_numel = total;
    return MV_OK;
}

static int ends_with(const char *s, const char *suf) {
    size_t a = strlen(s), b = strlen(suf);
    return a >= b && strcmp(s + a - b, suf) == 0;
}

/* Gaussian from a counter-based generator: deterministic per (seed, element). */
static float randn_at(uint64_t seed, uint64_t i) {
    uint64_t a = mdl_mix64(seed ^ mdl_mix64(2 * i)), b = mdl_mix64(seed ^ mdl_mix64(2 * i + 1));
    double u1 = ((double)(a >> 11) + 0.5) * (1.0 / 9007199254740992.0);
    double u2 = (double)(b >> 11) * (1.0 / 9007199254740992.0);
    return (float)(sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2));
}

void mdl_params_init(mdl *m, uint64_t seed) {
    for (size_t p = 0; p < m->nP; p++) {
        mv_param_ref *r = &m->P[p];
        const char *n = r->name;
        uint64_t s = mdl_mix64(seed + 0x1000 * (p + 1));
        if (ends_with(n, "bias")) {
            memset(r->data, 0, r->numel * sizeof(float));
        } else if (strstr(n, "norm") || strstr(n, ".ln_")) {
            for (size_t i = 0; i < r->numel; i++) r->data[i] = 1.0f;
        } else if (ends_with(n, "resampler.proj")) {
            float sd = 1.0f / sqrtf((float)r->shape[0]);
            for (size_t i = 0; i < r->numel; i++) r->data[i] = sd * randn_at(s, i);
        } else {
            for (size_t i = 0; i < r->numel; i++) r->data[i] = 0.02f * randn_at(s, i);
        }
    }
}

void mdl_free(mdl *m) {
    if (!m) return;
    for (size_t i = 0; i < m->nP; i++) free((char *)m->P[i].name);
    free(m->P);
    free(m->wblock);
    free(m->gblock);
    for (size_t i = 0; i < m->n_extra; i++) free(m->extra_blocks[i]);
    free(m->extra_blocks);
    free(m->goff);
    for (int t = 0; t < MDL_MAX_THREADS; t++) {
        free(m->arena[t]);
        free(m->shadow[t]);
    }
    free(m->dec.layers);
    free(m->dec.cos_t);
    free(m->dec.sin_t);
    free(m->vit.layers);
    free(m->pub.config_json);
    free(m);
}
