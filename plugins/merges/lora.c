/* plugins/merges/lora.c — the "lora" method: W' = W + Σ_k w_k·s_k·(B_k·A_k) per target
 * tensor in fp32 (one sgemm with beta = 1 per row block), DoRA rescaling, fan_in_fan_out
 * and embedding transposes, lora_bias (b' = b + Σ_k w_k·s_k·bias_B_k), modules_to_save
 * replacement, delta-only output, non-finite check; one rounding to the stored dtype.
 * Only modules the adapter's target_modules select are merged (as PEFT). Matching and
 * diagnosis come from libmergeval. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "merge.h"


typedef struct contrib {
    const mv_lora_module *m;
    double weight;
    mv_checkpoint *file;                 /* the adapter's tensor file (m's data lives there) */
} contrib;
typedef struct lora_plan {
    size_t n;
    contrib *c;
    const mv_adapter_tensor *replace;    /* modules_to_save tensor, or NULL */
    mv_checkpoint *replace_file;         /* the adapter file holding it */
    int bias;                            /* a base bias: add the contributions' lora_B.bias */
} lora_plan;

typedef struct lora_state {
    size_t n_adapters;
    mv_adapter **adapters;
    lora_plan *plans;                    /* one per base tensor */
} lora_state;

static int transposed(const mv_lora_module *m) { return m->kind == MV_LORA_EMBEDDING || m->fan_in_fan_out; }

static mv_status to_f32(float *dst, const void *src, const mv_tensor_info *ti, mv_error *err)
{
    size_t n = (size_t)mv_shape_numel(ti->ndim, ti->shape, NULL);
    mv_status st = mv_convert_to_f32(dst, src, ti->dtype, n, err);
    return st ? mv_error_prefix(err, "adapter tensor %s", ti->name) : MV_OK;
}

/* Drop the adapter tensor `ti`'s pages once converted: a module is read once, and an 8B
 * model's rank-16 adapter in fp32 is 168 MB that would otherwise stay resident. */
static void release_adapter(mv_checkpoint *file, const mv_tensor_info *ti)
{
    if (ti && file && ti >= file->tensors && ti < file->tensors + file->n_tensors)
        mv_checkpoint_release(file, (size_t)(ti - file->tensors));
}

static mv_status lora_compute(mg_job *job, mg_worker *wk, size_t oi, mv_error *err)
{
    lora_state *S = job->state;
    mg_out *o = &job->out[oi];
    size_t bi = (size_t)o->base_index;
    const mv_tensor_info *bt = &job->base->tensors[bi];
    lora_plan *p = &S->plans[bi];
    size_t n = (size_t)mv_shape_numel(bt->ndim, bt->shape, NULL);
    mv_status st;
    if (n == 0) return MV_OK;
    if (p->bias) {   /* PEFT: base_layer.bias + lora_B.bias * scaling, per adapter in order */
        float *buf = mg_slot(wk, 0, n), *orig = NULL, *bb = mg_slot(wk, 2, n);
        if (!buf || !bb) return mv_errorf(err, MV_E_NOMEM, "out of memory");
        if ((st = mg_read_f32(job->base, bi, 0, n, buf, err))) return st;
        if (job->req->delta_only) {
            if (!(orig = mg_slot(wk, 1, n))) return mv_errorf(err, MV_E_NOMEM, "out of memory");
            memcpy(orig, buf, n * sizeof *buf);
        }
        for (size_t k = 0; k < p->n; k++) {
            const mv_lora_module *m = p->c[k].m;
            if ((st = to_f32(bb, m->b_bias_data, m->b_bias, err))) return st;
            release_adapter(p->c[k].file, m->b_bias);
            float s = (float)(m->scaling * p->c[k].weight);
            for (size_t e = 0; e < n; e++) buf[e] += s * bb[e];
        }
        if (orig)
            for (size_t e = 0; e < n; e++) buf[e] -= orig[e];
        if ((st = mg_check_finite(job, oi, 0, buf, n, err))) return st;
        if ((st = mg_write_f32(job, wk, oi, 0, buf, n, err))) return st;
        mg_drop(job->base, bi, 0, n);
        return MV_OK;
    }
    int64_t rows = bt->ndim >= 2 ? bt->shape[0] : 1, cols = (int64_t)n / rows;
    int full = 0;
    const float *A[MG_SLOTS], *B[MG_SLOTS], *M[MG_SLOTS];
    /* scratch slots: 0 values, 1 delta-only base, then A/B/magnitude per adapter */
    if (p->n > (MG_SLOTS - 2) / 3)
        return mv_errorf(err, MV_E_UNSUPPORTED, "tensor %s: more than %d adapters change it; merge them "
                         "in several steps", bt->name, (MG_SLOTS - 2) / 3);
    for (size_t k = 0; k < p->n; k++) {
        const mv_lora_module *m = p->c[k].m;
        float *a = mg_slot(wk, 2 + 3 * (int)k, (size_t)(m->a->nbytes / mv_dtype_size(m->a->dtype)));
        float *b = mg_slot(wk, 3 + 3 * (int)k, (size_t)(m->b->nbytes / mv_dtype_size(m->b->dtype)));
        if (!a || !b) return mv_errorf(err, MV_E_NOMEM, "out of memory");
        if ((st = to_f32(a, m->a_data, m->a, err)) || (st = to_f32(b, m->b_data, m->b, err))) return st;
        release_adapter(p->c[k].file, m->a);
        release_adapter(p->c[k].file, m->b);
        A[k] = a; B[k] = b; M[k] = NULL;
        if (m->magnitude) {
            float *mg = mg_slot(wk, 4 + 3 * (int)k, (size_t)(m->magnitude->nbytes / mv_dtype_size(m->magnitude->dtype)));
            if (!mg) return mv_errorf(err, MV_E_NOMEM, "out of memory");
            if ((st = to_f32(mg, m->magnitude_data, m->magnitude, err))) return st;
            release_adapter(p->c[k].file, m->magnitude);
            M[k] = mg;
            if (transposed(m)) full = 1;   /* norms over columns need the whole tensor */
        }
    }
    int64_t rows_per = full ? rows : (int64_t)(MG_CHUNK / (size_t)cols);
    if (rows_per < 1) rows_per = 1;
    for (int64_t r0 = 0; r0 < rows; r0 += rows_per) {
        int64_t nrow = rows - r0 < rows_per ? rows - r0 : rows_per;
        size_t cnt = (size_t)(nrow * cols), off = (size_t)(r0 * cols);
        float *buf = mg_slot(wk, 0, cnt), *orig = NULL;
        if (!buf) return mv_errorf(err, MV_E_NOMEM, "out of memory");
        if (p->replace) {
            const mv_tensor_info *rt = p->replace->info;
            st = mv_convert_to_f32(buf, (const unsigned char *)p->replace->data + off * mv_dtype_size(rt->dtype),
                                   rt->dtype, cnt, err);
            if (!st && rt >= p->replace_file->tensors && rt < p->replace_file->tensors + p->replace_file->n_tensors)
                mg_drop(p->replace_file, (size_t)(rt - p->replace_file->tensors), off, cnt);
        } else {
            st = mg_read_f32(job->base, bi, off, cnt, buf, err);
        }
        if (st) return st;
        if (job->req->delta_only) {
            if (!(orig = mg_slot(wk, 1, cnt))) return mv_errorf(err, MV_E_NOMEM, "out of memory");
            if ((st = mg_read_f32(job->base, bi, off, cnt, orig, err))) return st;
        }
        for (size_t k = 0; k < p->n; k++) {
            const mv_lora_module *m = p->c[k].m;
            mk_lora_accumulate_rows(buf, r0, nrow, rows, cols, A[k], B[k], m->r,
                                    (float)(m->scaling * p->c[k].weight), transposed(m));
            if (M[k]) {
                int64_t z = transposed(m) ? mk_dora_rescale(buf, rows, cols, M[k], 1)
                                          : mk_dora_rescale(buf, nrow, cols, M[k] + r0, 0);
                if (z == -2) return mv_errorf(err, MV_E_NOMEM, "out of memory");
                if (z >= 0)
                    mv_log(job->ctx, MV_LOG_WARN, "tensor %s: DoRA output feature %lld has zero norm; left unscaled",
                           bt->name, (long long)(transposed(m) ? z : z + r0));
            }
        }
        if (orig)
            for (size_t e = 0; e < cnt; e++) buf[e] -= orig[e];
        if ((st = mg_check_finite(job, oi, off, buf, cnt, err))) return st;
        if ((st = mg_write_f32(job, wk, oi, off, buf, cnt, err))) return st;
        mg_drop(job->base, bi, off, cnt);
    }
    return MV_OK;
}

static mv_status add_contrib(lora_plan *p, const mv_lora_module *m, double weight, mv_checkpoint *file,
                             mv_error *err)
{
    contrib *c = mv_realloc(p->c, (p->n + 1) * sizeof *c);
    if (!c) return mv_errorf(err, MV_E_NOMEM, "out of memory");
    p->c = c;
    p->c[p->n].m = m;
    p->c[p->n].weight = weight;
    p->c[p->n].file = file;
    p->n++;
    return MV_OK;
}

static void state_free(lora_state *S, size_t n_base)
{
    if (!S) return;
    for (size_t i = 0; S->plans && i < n_base; i++) mv_free(S->plans[i].c);
    mv_free(S->plans);
    for (size_t i = 0; i < S->n_adapters; i++) mv_adapter_close(S->adapters[i]);
    mv_free(S->adapters);
}

mv_status mg_lora_run(mv_context *ctx, const mv_merge_request *req, const mv_params *params, mv_error *err)
{
    mv_status st;
    mg_job job;
    lora_state S;
    memset(&job, 0, sizeof job);
    memset(&S, 0, sizeof S);
    job.ctx = ctx; job.req = req; job.params = params; job.method = "lora";
    job.compute = lora_compute; job.state = &S;
    int allow_partial = mv_params_bool(params, "allow_partial");
    if (!req->base_path) return mv_errorf(err, MV_E_INPUT, "lora merge: no base model given (base_model / --base)");
    if (req->n_inputs == 0) return mv_errorf(err, MV_E_INPUT, "lora merge: no adapters given (adapters / --adapter)");
    if ((st = mg_out_dtype(req, &job.out_dtype, err))) return st;
    if ((st = mv_checkpoint_open(ctx, req->base_path, NULL, &job.base, err)))
        return mv_error_prefix(err, "lora merge: base model");
    job.layout = job.base;
    size_t nb = job.base->n_tensors;
    S.plans = mv_calloc(nb + 1, sizeof *S.plans);
    S.adapters = mv_calloc(req->n_inputs, sizeof *S.adapters);
    if (!S.plans || !S.adapters) { st = mv_errorf(err, MV_E_NOMEM, "out of memory"); goto fail; }
    for (size_t i = 0; i < req->n_inputs; i++) {
        char where[64];
        mv_params *ip = NULL;
        mv_key_map *km = NULL;
        mv_adapter_match *mt = NULL;
        snprintf(where, sizeof where, "$.adapters[%zu]", i);
        if ((st = mv_params_parse(&ip, mg_lora_inputs, req->inputs[i].params_json, where, err))) goto fail;
        double weight = mv_params_float(ip, "weight");
        mv_params_free(ip);
        snprintf(where, sizeof where, "$.adapters[%zu].key_map", i);
        if ((st = mv_key_map_parse(req->inputs[i].key_map_json, where, &km, err))) goto fail;
        st = mv_adapter_open(ctx, req->inputs[i].path, NULL, &S.adapters[i], err);
        if (st) { mv_key_map_free(km); goto fail; }
        S.n_adapters++;
        mv_adapter *a = S.adapters[i];
        st = mv_adapter_match_base(a, job.base->tensors, nb, km, &mt, err);
        mv_key_map_free(km);
        if (st) goto fail;
        if (!mt->all_mapped) {
            mv_error diag = { 0 };
            mv_adapter_match_error(a, mt, job.base->tensors, nb, &diag);
            if (!allow_partial || mt->n_unmatched + mt->n_bad_shape == a->n_modules + a->n_tensors) {
                *err = diag;
                if (allow_partial) mv_error_prefix(err, "nothing to merge even with allow_partial");
                mv_adapter_match_free(mt);
                st = err->code;
                goto fail;
            }
            mv_log(ctx, MV_LOG_WARN, "allow_partial: merging what maps; %s", diag.msg);
        }
        if (mt->n_untargeted) {
            char *why = mv_adapter_match_untargeted_summary(a, mt);
            mv_log(ctx, MV_LOG_WARN, "%s", why ? why : "untargeted LoRA modules are not merged");
            mv_free(why);
            if (mt->n_untargeted == mt->n_bindings && mt->n_saved == 0) {
                st = mv_errorf(err, MV_E_INPUT, "adapter %s: its target_modules select none of "
                               "its %zu LoRA modules, so PEFT would merge nothing; check "
                               "target_modules / exclude_modules / layers_to_transform in "
                               "adapter_config.json", a->path, mt->n_bindings);
                mv_adapter_match_free(mt);
                goto fail;
            }
        }
        for (size_t k = 0; k < mt->n_bindings; k++) {
            const mv_adapter_binding *b = &mt->bindings[k];
            if (b->base_index < 0 || !b->shape_ok || !b->targeted) continue;
            const mv_lora_module *m = &a->modules[b->module];
            if ((st = add_contrib(&S.plans[b->base_index], m, weight, a->weights, err))) { mv_adapter_match_free(mt); goto fail; }
            if (!m->b_bias) continue;
            char *bname = mv_malloc(strlen(b->target) + 8);
            if (!bname) { mv_adapter_match_free(mt); st = mv_errorf(err, MV_E_NOMEM, "out of memory"); goto fail; }
            sprintf(bname, "%s.bias", b->target);
            long bb = mv_checkpoint_find(job.base, bname);
            const mv_tensor_info *bt = bb >= 0 ? &job.base->tensors[bb] : NULL;
            if (!bt || mv_shape_numel(bt->ndim, bt->shape, NULL) != (uint64_t)m->b_bias->shape[0]) {
                if (!bt)
                    st = mv_errorf(err, MV_E_INPUT, "adapter %s: module %s has a lora_B.bias "
                                   "(lora_bias: true) but the base model has no tensor %s; PEFT "
                                   "refuses this merge too (the base layer has no bias)",
                                   a->path, m->name, bname);
                else
                    st = mv_errorf(err, MV_E_INPUT, "adapter %s: module %s: lora_B.bias has %lld "
                                   "values but the base's %s has %llu", a->path, m->name,
                                   (long long)m->b_bias->shape[0], bname,
                                   (unsigned long long)mv_shape_numel(bt->ndim, bt->shape, NULL));
                mv_free(bname);
                mv_adapter_match_free(mt);
                goto fail;
            }
            mv_free(bname);
            S.plans[bb].bias = 1;
            if ((st = add_contrib(&S.plans[bb], m, weight, a->weights, err))) { mv_adapter_match_free(mt); goto fail; }
        }
        for (size_t k = 0; k < mt->n_saved; k++) {
            const mv_adapter_saved_binding *s = &mt->saved[k];
            if (s->base_index < 0 || !s->shape_ok) continue;
            S.plans[s->base_index].replace = &a->tensors[s->tensor];
            S.plans[s->base_index].replace_file = a->weights;
        }
        mv_adapter_match_free(mt);
    }
    job.out = mv_calloc(nb + 1, sizeof *job.out);
    if (!job.out) { st = mv_errorf(err, MV_E_NOMEM, "out of memory"); goto fail; }
    for (size_t i = 0; i < nb; i++) {
        const mv_tensor_info *bt = &job.base->tensors[i];
        const lora_plan *p = &S.plans[i];
        int touched = p->n > 0 || p->replace;
        if (req->delta_only && !touched) continue;
        int is_float = mv_dtype_is_float_math(bt->dtype);
        if (touched && !is_float) {
            st = mv_errorf(err, MV_E_FORMAT, "tensor %s has dtype %s; LoRA merges need a float tensor",
                           bt->name, mv_dtype_name(bt->dtype));
            goto fail;
        }
        mg_out *o = &job.out[job.n_out++];
        o->info = *bt;
        o->base_index = (long)i;
        if (is_float && job.out_dtype != MV_DTYPE_INVALID) o->info.dtype = job.out_dtype;
        if ((st = mv_tensor_info_compute_nbytes(&o->info, err))) goto fail;
        o->action = touched || o->info.dtype != bt->dtype ? MG_COMPUTE : MG_RAW;
    }
    st = mg_run(&job, err);
fail:
    state_free(&S, nb);
    mv_free(job.out);
    mv_checkpoint_close(job.base);
    return st;
}
