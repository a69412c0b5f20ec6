/* core/merge/plan.c — which output tensors a whole-model merge writes and where each
 * comes from: every tensor of the layout model (mergekit's models form), or mergekit's
 * slices (layer ranges of several models stacked and renumbered, e.g. passthrough
 * frankenmerges). Also checks shapes and that integer/bool tensors agree across inputs. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cjson/cJSON.h>
#include "mv_merge_engine.h"

int mg_mergeable(mv_dtype d)
{
    return mv_dtype_is_float_math(d) || d == MV_DTYPE_F8_E4M3 || d == MV_DTYPE_F8_E5M2;
}

static const char *ck_label(const mg_job *job, mv_checkpoint *ck)
{
    return ck ? ck->path : job->req->base_path;
}

/* input tensor ti of ck against the output's reference tensor rt (from ref) */
static mv_status check_pair(mg_job *job, const char *out_name, mv_checkpoint *ref, const mv_tensor_info *rt,
                            size_t ri, mv_checkpoint *ck, size_t ti, mv_error *err)
{
    const mv_tensor_info *mt = &ck->tensors[ti];
    int same = mt->ndim == rt->ndim;
    for (int d = 0; same && d < rt->ndim; d++) same = mt->shape[d] == rt->shape[d];
    if (!same) {
        char a[64], b[64];
        mv_shape_str(rt->ndim, rt->shape, a, sizeof a);
        mv_shape_str(mt->ndim, mt->shape, b, sizeof b);
        return mv_errorf(err, MV_E_FORMAT, "%s merge: tensor %s is %s in %s but %s (%s) in %s", job->method,
                         out_name, a, ck_label(job, ref), b, mt->name, ck_label(job, ck));
    }
    if (mg_mergeable(rt->dtype) != mg_mergeable(mt->dtype))
        return mv_errorf(err, MV_E_FORMAT, "%s merge: tensor %s is %s in %s but %s in %s (a float tensor cannot "
                         "be merged with an integer/bool one)", job->method, out_name, mv_dtype_name(rt->dtype),
                         ck_label(job, ref), mv_dtype_name(mt->dtype), ck_label(job, ck));
    if (mg_mergeable(rt->dtype)) return MV_OK;
    /* integer/bool tensors (position ids, masks, counters) are not averaged: they must agree */
    const void *pa = mv_checkpoint_data(ref, ri, err), *pb = pa ? mv_checkpoint_data(ck, ti, err) : NULL;
    if (!pa || !pb) return err->code ? err->code : MV_E_IO;
    int differ = mt->dtype != rt->dtype || mt->nbytes != rt->nbytes || memcmp(pa, pb, rt->nbytes);
    mv_checkpoint_release(ck, ti);
    if (differ)
        return mv_errorf(err, MV_E_INPUT, "%s merge: tensor %s (%s) differs between %s and %s; integer and bool "
                         "tensors are not merged, they must be identical in every input", job->method, out_name,
                         mv_dtype_name(rt->dtype), ck_label(job, ref), ck_label(job, ck));
    return MV_OK;
}

static mv_status add_out(mg_job *job, const char *name, const mv_tensor_info *rt, mv_checkpoint *src, long si,
                         mg_plan *P, mv_error *err)
{
    char **names = P->names;
    if (job->n_out >= P->cap_names) return mv_errorf(err, MV_E_INPUT, "%s merge: the slices make more tensors "
                                                     "than planned (%zu)", job->method, P->cap_names);
    mg_out *o = &job->out[job->n_out];
    o->info = *rt;
    if (name != rt->name) {
        names[job->n_out] = mv_strdup(name);
        if (!names[job->n_out]) return mv_errorf(err, MV_E_NOMEM, "out of memory");
        o->info.name = names[job->n_out];
    }
    if (mv_dtype_is_float_math(rt->dtype) && job->out_dtype != MV_DTYPE_INVALID) o->info.dtype = job->out_dtype;
    o->src = src;
    o->src_index = si;
    o->base_index = -1;
    job->n_out++;
    return mv_tensor_info_compute_nbytes(&o->info, err);
}

/* models form: every tensor of the layout, from every input that has it */
static mv_status plan_models(mg_job *job, mg_plan *P, mv_error *err)
{
    mv_status st;
    mv_checkpoint *lay = job->layout;
    for (size_t t = 0; t < lay->n_tensors; t++) {
        const mv_tensor_info *lt = &lay->tensors[t];
        size_t oi = job->n_out;
        if ((st = add_out(job, lt->name, lt, lay, (long)t, P, err))) return st;
        job->out[oi].base_index = job->base ? (long)t : -1;
        if (job->base) job->out[oi].src = NULL;   /* RAW copies read the layout at base_index */
        size_t have = 0;
        for (size_t i = 0; i < P->n_in; i++) {
            long ti = P->ck[i] == lay ? (long)t : mv_checkpoint_find(P->ck[i], lt->name);
            if (ti >= 0 && P->ck[i] != lay && (st = check_pair(job, lt->name, lay, lt, t, P->ck[i], (size_t)ti, err)))
                return st;
            if (ti >= 0 && !mg_mergeable(lt->dtype)) ti = -1;
            P->idx[oi * P->n_in + i] = ti;
            have += ti >= 0;
        }
        if (have < P->n_in && mg_mergeable(lt->dtype)) P->n_missing++;
        mg_out *o = &job->out[oi];
        o->action = mg_mergeable(lt->dtype) && (have > 0 || o->info.dtype != lt->dtype) ? MG_COMPUTE : MG_RAW;
        if (!job->base && !mg_mergeable(lt->dtype)) o->action = MG_RAW;
    }
    return MV_OK;
}

static mv_checkpoint *src_ck(mg_job *job, mg_plan *P, long input)
{
    return input < 0 ? job->base : P->ck[input];
}

/* one output tensor of a slice: template name `tname` (a tensor of the slice's first source,
 * at that source's layer) → output `oname`; every source contributes its own layer */
static mv_status plan_slice_tensor(mg_job *job, mg_plan *P, const mg_slice_src *ss, size_t ns, int offset,
                                   const char *tname, const char *oname, double t, mv_error *err)
{
    mv_status st;
    char nm[1024];
    mv_checkpoint *ref = NULL;
    long ri = -1;
    size_t oi = job->n_out;
    for (size_t k = 0; k < ns; k++) {
        mv_checkpoint *ck = src_ck(job, P, ss[k].input);
        const char *want = tname;
        size_t pl, rest;
        if (offset >= 0 && mg_layer_split(tname, &pl, &rest) >= 0) {
            snprintf(nm, sizeof nm, "%.*s%d%s", (int)pl, tname, ss[k].from + offset, tname + rest);
            want = nm;
        }
        long ti = mv_checkpoint_find(ck, want);
        if (ti < 0)
            return mv_errorf(err, MV_E_FORMAT, "%s merge: tensor %s (for output %s) is missing from %s", job->method,
                             want, oname, ck_label(job, ck));
        if (!ref) {
            ref = ck;
            ri = ti;
            if ((st = add_out(job, oname, &ck->tensors[ti], ck, ti, P, err))) return st;
        } else if ((st = check_pair(job, oname, ref, &ref->tensors[ri], (size_t)ri, ck, (size_t)ti, err))) {
            return st;
        }
        if (ss[k].input < 0) job->out[oi].base_index = ti;
        else P->idx[oi * P->n_in + (size_t)ss[k].input] = mg_mergeable(ck->tensors[ti].dtype) ? ti : -1;
    }
    mg_out *o = &job->out[oi];
    o->t = t;
    o->t_set = 1;
    o->action = mg_mergeable(ref->tensors[ri].dtype) ? MG_COMPUTE : MG_RAW;
    return MV_OK;
}

static mv_status parse_slices(mg_job *job, mg_plan *P, cJSON *j, mv_error *err)
{
    if (!cJSON_IsArray(j) || !cJSON_GetArraySize(j))
        return mv_errorf(err, MV_E_INPUT, "$.slices: expected a list of {\"sources\": [...]}");
    int si = 0;
    const cJSON *s;
    cJSON_ArrayForEach(s, j) {
        const cJSON *srcs = cJSON_GetObjectItemCaseSensitive(s, "sources"), *e;
        if (!cJSON_IsArray(srcs) || !cJSON_GetArraySize(srcs))
            return mv_errorf(err, MV_E_INPUT, "$.slices[%d].sources: expected a non-empty list", si);
        int k = 0, len = -1;
        cJSON_ArrayForEach(e, srcs) {
            const cJSON *in = cJSON_GetObjectItemCaseSensitive(e, "input"), *lr = cJSON_GetObjectItemCaseSensitive(e, "layer_range");
            const cJSON *a = cJSON_GetArrayItem(lr, 0), *b = cJSON_GetArrayItem(lr, 1);
            if (!cJSON_IsNumber(in) || in->valuedouble < -1 || in->valuedouble >= (double)P->n_in ||
                !cJSON_IsNumber(a) || !cJSON_IsNumber(b) || a->valuedouble < 0 || b->valuedouble <= a->valuedouble ||
                b->valuedouble > 1e6)
                return mv_errorf(err, MV_E_INPUT, "$.slices[%d].sources[%d]: expected {\"input\": INDEX of models (-1: "
                                 "base_model), \"layer_range\": [FROM, TO]}", si, k);
            if (in->valuedouble < 0 && !job->base)
                return mv_errorf(err, MV_E_INPUT, "$.slices[%d].sources[%d]: the base model is a source but no "
                                 "base_model is given", si, k);
            if (k >= MG_SLOTS - 5)
                return mv_errorf(err, MV_E_UNSUPPORTED, "$.slices[%d].sources: at most %d sources per slice", si, MG_SLOTS - 5);
            mg_slice_src *x = &P->src[P->n_src++];
            x->input = (long)in->valuedouble;
            x->from = (int)a->valuedouble;
            x->to = (int)b->valuedouble;
            if (len >= 0 && x->to - x->from != len)
                return mv_errorf(err, MV_E_INPUT, "$.slices[%d].sources[%d].layer_range: %d layers, but the slice's "
                                 "first source has %d", si, k, x->to - x->from, len);
            len = x->to - x->from;
            k++;
        }
        P->slice_end[P->n_slices++] = P->n_src;
        si++;
    }
    return MV_OK;
}

/* slices form: non-layer tensors from the first slice's sources (embeddings) or the last
 * one's (norm, head), then each slice's layers renumbered from 0 */
static mv_status plan_slices(mg_job *job, mg_plan *P, mv_error *err)
{
    mv_status st;
    cJSON *j = cJSON_Parse(job->req->slices_json);
    size_t cap = (size_t)cJSON_GetArraySize(j) * (P->n_in + 2) + 4;
    P->src = mv_calloc(cap * 4, sizeof *P->src);
    P->slice_end = mv_calloc(cap, sizeof *P->slice_end);
    if (!P->src || !P->slice_end) { cJSON_Delete(j); return mv_errorf(err, MV_E_NOMEM, "out of memory"); }
    st = parse_slices(job, P, j, err);
    cJSON_Delete(j);
    if (st) return st;
    mv_checkpoint *first = src_ck(job, P, P->src[0].input);
    /* the main stack of layers: the prefix with the most numbered layers in the first model */
    size_t best_pl = 0;
    const char *best = NULL;
    int best_n = -1;
    for (size_t t = 0; t < first->n_tensors; t++) {
        size_t pl;
        int l = mg_layer_split(first->tensors[t].name, &pl, NULL);
        if (l > best_n) { best_n = l; best = first->tensors[t].name; best_pl = pl; }
    }
    if (!best) return mv_errorf(err, MV_E_INPUT, "slices: %s has no numbered layers (model.layers.N...)", first->path);
    int out_layer = 0;
    for (int pass = 0; pass < 3; pass++) {
        for (size_t s = 0; s < P->n_slices; s++) {
            size_t s0 = s ? P->slice_end[s - 1] : 0, ns = P->slice_end[s] - s0;
            const mg_slice_src *ss = &P->src[s0];
            mv_checkpoint *tpl = src_ck(job, P, ss[0].input);
            if (pass != 1 && s != (pass == 0 ? 0 : P->n_slices - 1)) continue;
            int len = ss[0].to - ss[0].from;
            for (int off = 0; pass == 1 && off < len; off++, out_layer++) {
                for (size_t t = 0; t < tpl->n_tensors; t++) {
                    const char *nm = tpl->tensors[t].name;
                    size_t pl, rest;
                    int l = mg_layer_split(nm, &pl, &rest);
                    if (l != ss[0].from + off || pl != best_pl || strncmp(nm, best, pl)) continue;
                    char on[1024];
                    snprintf(on, sizeof on, "%.*s%d%s", (int)pl, nm, out_layer, nm + rest);
                    if ((st = plan_slice_tensor(job, P, ss, ns, off, nm, on, len > 1 ? (double)off / (len - 1) : 1.0, err)))
                        return st;
                }
            }
            for (size_t t = 0; pass != 1 && t < tpl->n_tensors; t++) {
                const char *nm = tpl->tensors[t].name;
                size_t pl;
                int l = mg_layer_split(nm, &pl, NULL);
                if (l >= 0 && pl == best_pl && !strncmp(nm, best, pl)) continue;   /* a layer */
                int pre = strstr(nm, "embed") || strstr(nm, "wte") || strstr(nm, "wpe");
                if (pre != (pass == 0)) continue;
                if ((st = plan_slice_tensor(job, P, ss, ns, -1, nm, nm, 0.0, err))) return st;
            }
        }
    }
    P->out_layers = out_layer;
    return MV_OK;
}

mv_status mg_plan_run(mg_job *job, mg_plan *P, mv_error *err)
{
    size_t cap = 0;
    if (job->req->slices_json) {
        cJSON *j = cJSON_Parse(job->req->slices_json);
        const cJSON *s, *e;
        cJSON_ArrayForEach(s, j) {
            const cJSON *srcs = cJSON_GetObjectItemCaseSensitive(s, "sources");
            cJSON_ArrayForEach(e, srcs) {
                const cJSON *in = cJSON_GetObjectItemCaseSensitive(e, "input"), *lr = cJSON_GetObjectItemCaseSensitive(e, "layer_range");
                mv_checkpoint *ck = cJSON_IsNumber(in) && in->valuedouble >= 0 && in->valuedouble < (double)P->n_in
                                    ? P->ck[(size_t)in->valuedouble] : job->base;
                double a = cJSON_GetArrayItem(lr, 0) ? cJSON_GetArrayItem(lr, 0)->valuedouble : 0;
                double b = cJSON_GetArrayItem(lr, 1) ? cJSON_GetArrayItem(lr, 1)->valuedouble : 0;
                if (ck && b > a && b - a < 1e6) cap += ck->n_tensors;   /* a slice never has more layers' tensors */
                break;
            }
        }
        cJSON_Delete(j);
        cap *= 2;
    }
    if (job->layout && job->layout->n_tensors > cap) cap = job->layout->n_tensors;
    cap += 1;
    job->out = mv_calloc(cap, sizeof *job->out);
    P->names = mv_calloc(cap, sizeof *P->names);
    P->idx = mv_calloc(cap * (P->n_in ? P->n_in : 1), sizeof *P->idx);
    if (!job->out || !P->names || !P->idx) return mv_errorf(err, MV_E_NOMEM, "out of memory");
    P->cap_names = cap;
    for (size_t i = 0; i < cap * (P->n_in ? P->n_in : 1); i++) P->idx[i] = -1;
    mv_status st = job->req->slices_json ? plan_slices(job, P, err) : plan_models(job, P, err);
    if (!st) mg_assign_t(job);
    return st;
}

void mg_plan_free(mg_plan *P)
{
    for (size_t i = 0; P->names && i < P->cap_names; i++) mv_free(P->names[i]);
    mv_free(P->names);
    mv_free(P->idx);
    mv_free(P->src);
    mv_free(P->slice_end);
}
