/* plugins/models/lora.c — add_lora: attach PEFT-style LoRA pairs to every linear layer
 * whose module name fully matches a Python regex (mv_regex: PEFT's re.fullmatch), with B = 0
 * and A Kaiming-uniform(a=√5) as PEFT initialises them. Parameters get their own block. */
#include "mdl.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Every linear layer of the model, in parameter order. Returns the count. */
size_t mdl_all_lins(mdl *m, mdl_lin **out, size_t cap) {
    size_t n = 0;
#define PUSH(l) do { if (n < cap) out[n] = (l); n++; } while (0)
    if (m->is_vlm) {
        for (int l = 0; l < m->vit.c.L; l++)
            for (int i = 0; i < VIT_NLIN; i++) PUSH(&m->vit.layers[l].lin[i]);
        PUSH(&m->rs.kv);
        PUSH(&m->rs.out);
    }
    for (int l = 0; l < m->dec.c.L; l++)
        for (int i = 0; i < DEC_NLIN; i++) PUSH(&m->dec.layers[l].lin[i]);
    if (!m->dec.c.tied) PUSH(&m->dec.head);
#undef PUSH
    return n;
}

static void module_name(const mdl *m, const mdl_lin *l, char *buf, size_t len) {
    snprintf(buf, len, "%s", m->P[l->iw].name);
    size_t k = strlen(buf);
    if (k > 7 && strcmp(buf + k - 7, ".weight") == 0) buf[k - 7] = '\0';
}

mv_status mdl_add_lora(mv_model *pm, const mv_lora_spec *spec, int *n_modules, mv_error *err) {
    mdl *m = (mdl *)pm;
    mv_status st = MV_OK;
    if (n_modules) *n_modules = 0;
    if (!spec || !spec->target_regex || spec->r <= 0 || spec->dropout < 0 || spec->dropout >= 1)
        return mv_errorf(err, MV_E_INPUT, "add_lora: need a target regex, r > 0 and 0 <= "
                         "dropout < 1");
    mv_regex *rx = NULL;
    if ((st = mv_regex_compile(spec->target_regex, &rx, err)))
        return mv_error_prefix(err, "add_lora: target regex");
    size_t nl = mdl_all_lins(m, NULL, 0);
    mdl_lin **lins = calloc(nl + 1, sizeof *lins), **hit = calloc(nl + 1, sizeof *hit);
    if (!lins || !hit) {
        free(lins);
        free(hit);
        mv_regex_free(rx);
        return mv_errorf(err, MV_E_NOMEM, "add_lora: out of memory");
    }
    mdl_all_lins(m, lins, nl);
    size_t nh = 0, numel = 0;
    char name[320];
    for (size_t i = 0; i < nl; i++) {
        if (!lins[i]->loraable || lins[i]->iA >= 0) continue;
        module_name(m, lins[i], name, sizeof name);
        int hit_it = 0;
        if ((st = mv_regex_match(rx, name, &hit_it, err))) break;
        if (hit_it) {
            hit[nh++] = lins[i];
            numel += (size_t)spec->r * (lins[i]->in + lins[i]->out);
        }
    }
    mv_regex_free(rx);
    if (st) goto done;
    if (nh == 0) {
        char ex[320] = "";
        for (size_t i = 0; i < nl; i++)
            if (lins[i]->loraable) { module_name(m, lins[i], ex, sizeof ex); break; }
        st = mv_errorf(err, MV_E_INPUT, "add_lora: target regex \"%s\" matches no linear "
                       "module of this %s model (module names look like \"%s\"; the regex "
                       "must match the whole name)", spec->target_regex, pm->arch, ex);
        goto done;
    }
    float **blocks = realloc(m->extra_blocks, (m->n_extra + 2) * sizeof(float *));
    if (!blocks) {
        st = mv_errorf(err, MV_E_NOMEM, "add_lora: out of memory");
        goto done;
    }
    m->extra_blocks = blocks;
    float *w = calloc(numel, sizeof(float)), *g = calloc(numel, sizeof(float));
    if (!w || !g) {
        free(w);
        free(g);
        st = mv_errorf(err, MV_E_NOMEM, "add_lora: out of memory");
        goto done;
    }
    m->extra_blocks[m->n_extra++] = w;
    m->extra_blocks[m->n_extra++] = g;
    float scale = (float)(spec->use_rslora ? spec->alpha / sqrt((double)spec->r)
                                           : spec->alpha / spec->r);
    size_t off = 0;
    for (size_t h = 0; h < nh; h++) {
        mdl_lin *l = hit[h];
        char mod[300];
        module_name(m, l, mod, sizeof mod);
        int64_t sa[2] = {spec->r, l->in}, sb[2] = {l->out, spec->r};
        snprintf(name, sizeof name, "%s.lora_A.weight", mod);
        int ia = mdl_param_add(m, name, 2, sa);
        snprintf(name, sizeof name, "%s.lora_B.weight", mod);
        int ib = ia < 0 ? -1 : mdl_param_add(m, name, 2, sb);
        if (ib < 0) {
            st = mv_errorf(err, MV_E_NOMEM, "add_lora: out of memory");
            break;
        }
        mv_param_ref *A = &m->P[ia], *B = &m->P[ib];
        A->is_lora = B->is_lora = 1;
        A->data = w + off; A->grad = g + off; off += A->numel;
        B->data = w + off; B->grad = g + off; off += B->numel;
        /* PEFT: kaiming_uniform_(a=sqrt(5)) → U(-1/sqrt(in), 1/sqrt(in)); B stays zero */
        float bound = 1.0f / sqrtf((float)l->in);
        uint64_t s = mdl_mix64(spec->seed ^ mdl_mix64((uint64_t)ia * 7919u));
        for (size_t i = 0; i < A->numel; i++) {
            uint64_t x = mdl_mix64(s + i);
            double u = (double)(x >> 11) * (1.0 / 9007199254740992.0);
            A->data[i] = (float)((2.0 * u - 1.0) * bound);
        }
        l->iA = ia;
        l->iB = ib;
        l->r = spec->r;
        l->scale = scale;
        l->dropout = (float)spec->dropout;
        if (n_modules) (*n_modules)++;
    }
done:
    free(lins);
    free(hit);
    return st;
}
