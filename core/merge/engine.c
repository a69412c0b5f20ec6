/* core/merge/engine.c — the streaming merge engine every method uses: output plan →
 * writer, a pool of workers pulling tensors one at a time, untouched tensors copied raw
 * (no conversion) in chunks, page release behind the reader, one rounding to the output
 * dtype, __metadata__ and config.json. The math lives in the methods and kernels. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cblas.h>
#include <cjson/cJSON.h>
#include "mv_merge_engine.h"

float *mg_slot(mg_worker *wk, int i, size_t n)
{
    if (wk->cap[i] < n) {
        mv_free(wk->slot[i]);
        size_t cap = n < 1024 ? 1024 : n;
        wk->slot[i] = mv_aligned_alloc(cap * sizeof(float));
        wk->cap[i] = wk->slot[i] ? cap : 0;
    }
    return wk->slot[i];
}

static void worker_free(mg_worker *wk)
{
    for (int i = 0; i < MG_SLOTS; i++) mv_free(wk->slot[i]);
    mv_free(wk->bytes);
    mv_free(wk->stage);
}

mv_status mg_read_f32(mv_checkpoint *ck, size_t index, size_t off, size_t n, float *dst, mv_error *err)
{
    const mv_tensor_info *ti = &ck->tensors[index];
    if (ti->dtype == MV_DTYPE_F32 || ti->dtype == MV_DTYPE_BF16 || ti->dtype == MV_DTYPE_F16) {
        /* Copied (pread), not mapped: faulting pages in and dropping them again cost 4x the
         * copy. 16-bit values land in the upper half of dst and are widened in place, front
         * to back (each conversion step reads its inputs before its store reaches them). */
        size_t es = mv_dtype_size(ti->dtype);
        unsigned char *raw = (unsigned char *)dst + (es == 2 ? 2 * n : 0);
        mv_status st = mv_checkpoint_read_range(ck, index, (uint64_t)off * es, raw, (uint64_t)n * es, err);
        if (!st && es == 2) st = mv_convert_to_f32(dst, raw, ti->dtype, n, err);
        return st ? mv_error_prefix(err, "tensor %s", ti->name) : MV_OK;
    }
    const unsigned char *p = mv_checkpoint_data(ck, index, err);
    if (!p) return err->code ? err->code : MV_E_IO;
    size_t es = mv_dtype_size(ti->dtype);
    mv_status st = mv_convert_to_f32(dst, p + off * es, ti->dtype, n, err);
    return st ? mv_error_prefix(err, "tensor %s", ti->name) : MV_OK;
}

/* Write what worker wk has staged (see MG_STAGE_BYTES). */
static mv_status stage_flush(mg_job *job, mg_worker *wk, mv_error *err)
{
    if (!wk->stage_len) return MV_OK;
    size_t len = wk->stage_len;
    wk->stage_len = 0;
    return mv_writer_write(job->w, wk->stage_oi, wk->stage_off, wk->stage, len, err);
}

mv_status mg_write_f32(mg_job *job, mg_worker *wk, size_t oi, size_t off, const float *src, size_t n,
                       mv_error *err)
{
    const mv_tensor_info *ti = &job->out[oi].info;
    size_t es = mv_dtype_size(ti->dtype), nb = n * es;
    uint64_t at = (uint64_t)off * es;
    mv_status st;
    /* Output chunks are small (MG_CHUNK) so the math stays in L2; a system call per chunk
     * would cost more than the chunk. Sequential chunks of one tensor are gathered in the
     * worker's stage buffer, so writes reach the writer in big pieces (whose writeback it
     * starts at once) while the memory they take stays fixed whatever the disk's pace. */
    if (wk->stage_len && (wk->stage_oi != oi || wk->stage_off + wk->stage_len != at ||
                          wk->stage_len + nb > MG_STAGE_BYTES) && (st = stage_flush(job, wk, err)))
        return st;
    if (!wk->stage && nb <= MG_STAGE_BYTES && !(wk->stage = mv_aligned_alloc(MG_STAGE_BYTES)))
        return mv_errorf(err, MV_E_NOMEM, "out of memory (%zu bytes)", MG_STAGE_BYTES);
    if (nb <= MG_STAGE_BYTES) {
        if ((st = mv_convert_from_f32(wk->stage + wk->stage_len, ti->dtype, src, n, err)))
            return mv_error_prefix(err, "tensor %s", ti->name);
        if (!wk->stage_len) { wk->stage_oi = oi; wk->stage_off = at; }
        wk->stage_len += nb;
        return wk->stage_len == MG_STAGE_BYTES ? stage_flush(job, wk, err) : MV_OK;
    }
    if (wk->bytes_cap < nb) {   /* a chunk larger than the stage: converted and written whole */
        mv_free(wk->bytes);
        wk->bytes = mv_aligned_alloc(nb);
        wk->bytes_cap = wk->bytes ? nb : 0;
        if (!wk->bytes) return mv_errorf(err, MV_E_NOMEM, "out of memory (%zu bytes)", nb);
    }
    if ((st = mv_convert_from_f32(wk->bytes, ti->dtype, src, n, err))) return mv_error_prefix(err, "tensor %s", ti->name);
    return mv_writer_write(job->w, oi, at, wk->bytes, (uint64_t)nb, err);
}

/* Input pages consumed by this thread and not yet released: (checkpoint, tensor, byte
 * range), a few at once because a merge streams several inputs side by side. Per thread,
 * so workers never contend; emptied by drop_flush when a tensor is done. */
typedef struct drop_range { mv_checkpoint *ck; size_t index; uint64_t begin, end; } drop_range;
static _Thread_local drop_range pending[MG_DROP_PENDING];
static _Thread_local unsigned pending_evict;

static void drop_range_release(drop_range *d)
{
    if (d->ck && d->end > d->begin) mv_checkpoint_release_range(d->ck, d->index, d->begin, d->end - d->begin);
    d->begin = d->end;
}

static void drop_flush(void)
{
    for (int i = 0; i < MG_DROP_PENDING; i++) { drop_range_release(&pending[i]); pending[i].ck = NULL; }
}

void mg_drop(mv_checkpoint *ck, size_t index, size_t off, size_t n)
{
    /* Drop the input pages behind the reader so resident memory stays flat on huge
     * tensors; the loader knows whether its memory can be dropped safely. */
    size_t es = mv_dtype_size(ck->tensors[index].dtype);
    uint64_t b = (uint64_t)off * es, e = b + (uint64_t)n * es;
    drop_range *d = NULL;
    for (int i = 0; i < MG_DROP_PENDING && !d; i++)
        if (pending[i].ck == ck && pending[i].index == index) d = &pending[i];
    if (d && d->end != b) drop_range_release(d);   /* another pass over the tensor: restart */
    for (int i = 0; i < MG_DROP_PENDING && !d; i++)
        if (!pending[i].ck) d = &pending[i];
    if (!d) {   /* more ranges than slots: release one (round robin) and reuse its slot */
        d = &pending[pending_evict++ % MG_DROP_PENDING];
        drop_range_release(d);
    }
    if (d->ck != ck || d->index != index || d->end != b) { d->ck = ck; d->index = index; d->begin = b; }
    d->end = e;
    /* One madvise per MG_DROP_BYTES: each is a TLB flush on every core running a worker,
     * which per 128 KB chunk cost a quarter of a LoRA merge's CPU time (perf, 2-core VM). */
    if (d->end - d->begin >= MG_DROP_BYTES) drop_range_release(d);
}

mv_status mg_check_finite(const mg_job *job, size_t oi, size_t off, const float *x, size_t n, mv_error *err)
{
    int64_t bad = mk_first_nonfinite(x, n);
    if (bad < 0) return MV_OK;
    return mv_errorf(err, MV_E_NUMERIC, "tensor %s: the merged value at element %lld is %g "
                     "(not finite); nothing was written. Check the adapter/model weights and the "
                     "weights/scaling (this is PEFT's safe_merge check)", job->out[oi].info.name,
                     (long long)(off + (size_t)bad), (double)x[bad]);
}

int mg_layer_split(const char *name, size_t *prefix_len, size_t *rest_off)
{
    for (const char *p = strchr(name, '.'); p; p = strchr(p + 1, '.')) {
        const char *q = p + 1;
        if (*q < '0' || *q > '9') continue;
        while (*q >= '0' && *q <= '9') q++;
        if (*q == '.' && q - p < 9) {
            if (prefix_len) *prefix_len = (size_t)(p + 1 - name);
            if (rest_off) *rest_off = (size_t)(q - name);
            return atoi(p + 1);
        }
    }
    return -1;
}

int mg_layer_of(const char *name) { return mg_layer_split(name, NULL, NULL); }

void mg_assign_t(mg_job *job)
{
    /* each stack of numbered layers ("llm.model.layers.", "vpm.encoder.layers.") is a module
     * with its own layer count, as mergekit plans modules separately: t = i / (n - 1), 1 when
     * n == 1; tensors outside layers get t = 0 (the first value of a gradient) */
    for (size_t i = 0; i < job->n_out; i++) {
        size_t pl, rest;
        const char *ni = job->out[i].info.name;
        int li = mg_layer_split(ni, &pl, &rest);
        if (job->out[i].t_set) continue;
        if (li < 0) { job->out[i].t = 0; continue; }
        int max = li;
        for (size_t k = 0; k < job->n_out; k++) {
            size_t pk;
            const char *nk = job->out[k].info.name;
            int lk = mg_layer_split(nk, &pk, NULL);
            if (lk > max && pk == pl && !strncmp(nk, ni, pl)) max = lk;
        }
        job->out[i].t = max > 0 ? (double)li / max : 1.0;
    }
}

/* mergekit's evaluate_setting: a number; a gradient list interpolated at t; or a list of
 * {filter, value} where the first whose filter is absent, "*" or a substring of the tensor
 * name gives the value. *found = 0 when no condition matched (the caller's default). */
static int eval_setting(const cJSON *j, const char *name, double t, double *out)
{
    if (cJSON_IsNumber(j)) { *out = j->valuedouble; return 1; }
    if (cJSON_IsBool(j)) { *out = cJSON_IsTrue(j); return 1; }
    if (!cJSON_IsArray(j) || !cJSON_GetArraySize(j)) return -1;
    if (cJSON_IsObject(cJSON_GetArrayItem(j, 0))) {
        const cJSON *c;
        cJSON_ArrayForEach(c, j) {
            const cJSON *f = cJSON_GetObjectItemCaseSensitive(c, "filter");
            if (f && !cJSON_IsNull(f) && !cJSON_IsString(f)) return -1;
            if (cJSON_IsString(f) && strcmp(f->valuestring, "*") && !strstr(name, f->valuestring)) continue;
            const cJSON *v = cJSON_GetObjectItemCaseSensitive(c, "value");
            return v && !cJSON_IsObject(v) && !(cJSON_IsArray(v) && cJSON_IsObject(cJSON_GetArrayItem(v, 0)))
                   ? eval_setting(v, name, t, out) : -1;
        }
        return 0;
    }
    int len = cJSON_GetArraySize(j);
    if (t < 0) t = 0;
    if (t > 1) t = 1;
    double pos = t * (len - 1);
    int i0 = (int)pos, i1 = i0 + 1 < len ? i0 + 1 : len - 1;
    cJSON *a = cJSON_GetArrayItem(j, i0), *b = cJSON_GetArrayItem(j, i1);
    if (!cJSON_IsNumber(a) || !cJSON_IsNumber(b)) return -1;
    double f = pos - i0;
    *out = (1 - f) * a->valuedouble + f * b->valuedouble;
    return 1;
}

mv_status mg_param_at(const char *json, const char *what, const char *name, double t, double dflt,
                      double *out, mv_error *err)
{
    cJSON *j = cJSON_Parse(json ? json : "null");
    mv_status st = MV_OK;
    *out = dflt;
    if (!j || cJSON_IsNull(j)) { cJSON_Delete(j); return MV_OK; }
    int r = eval_setting(j, name, t, out);
    if (r < 0)
        st = mv_errorf(err, MV_E_INPUT, "%s: expected a number, a list of numbers (a per-layer gradient) or a "
                       "list of {\"filter\": TEXT, \"value\": ...}, got %s", what, json);
    if (r == 0) *out = dflt;
    cJSON_Delete(j);
    return st;
}

mv_status mg_out_dtype(const mv_merge_request *req, mv_dtype *out, mv_error *err)
{
    *out = MV_DTYPE_INVALID;
    if (req->compute_dtype && *req->compute_dtype) {
        mv_dtype c = mv_dtype_parse(req->compute_dtype, 1);
        if (c != MV_DTYPE_F32)
            return mv_errorf(err, MV_E_UNSUPPORTED, "dtype \"%s\": merges compute in float32 "
                             "(set \"dtype\": \"float32\" or leave it out)", req->compute_dtype);
    }
    if (!req->out_dtype || !*req->out_dtype) return MV_OK;
    *out = mv_dtype_parse(req->out_dtype, 1);
    if (!mv_dtype_is_float_math(*out))
        return mv_errorf(err, MV_E_INPUT, "out_dtype \"%s\": expected float32, float16 or bfloat16",
                         req->out_dtype);
    return MV_OK;
}

/* ------------------------------------------------------------------ workers */
static mv_status copy_raw(mg_job *job, size_t oi, mv_error *err)
{
    mv_checkpoint *ck = job->out[oi].src ? job->out[oi].src : job->layout;
    size_t bi = (size_t)(job->out[oi].src ? job->out[oi].src_index : job->out[oi].base_index);
    const unsigned char *p = mv_checkpoint_data(ck, bi, err);
    if (!p) return err->code ? err->code : MV_E_IO;
    uint64_t nb = ck->tensors[bi].nbytes, step = MG_DROP_BYTES;   /* pages released per chunk */
    size_t es = mv_dtype_size(ck->tensors[bi].dtype);
    for (uint64_t o = 0; o < nb; o += step) {
        uint64_t len = nb - o < step ? nb - o : step;
        mv_status st = mv_writer_write(job->w, oi, o, p + o, len, err);
        if (st) return st;
        mg_drop(ck, bi, (size_t)(o / es), (size_t)(len / es));
    }
    return MV_OK;
}

static void *worker_main(void *arg)
{
    mg_job *job = arg;
    mg_worker wk;
    memset(&wk, 0, sizeof wk);
    for (;;) {
        if (atomic_load(&job->stop)) break;
        size_t oi = atomic_fetch_add(&job->next, 1);
        if (oi >= job->n_out) break;
        mv_error e = { 0 };
        mv_status st = job->out[oi].info.nbytes == 0 ? MV_OK   /* zero elements: nothing to write */
                     : job->out[oi].action == MG_RAW ? copy_raw(job, oi, &e) : job->compute(job, &wk, oi, &e);
        if (!st) st = stage_flush(job, &wk, &e);
        wk.stage_len = 0;   /* after a failure the staged bytes are dropped with the output */
        drop_flush();
        if (job->out[oi].base_index >= 0 && job->layout)
            mv_checkpoint_release(job->layout, (size_t)job->out[oi].base_index);
        if (job->out[oi].src)
            mv_checkpoint_release(job->out[oi].src, (size_t)job->out[oi].src_index);
        if (st) {
            pthread_mutex_lock(&job->lock);
            if (!job->st) { job->st = st; job->err = e; }
            pthread_mutex_unlock(&job->lock);
            atomic_store(&job->stop, 1);
            break;
        }
        unsigned long long d = atomic_fetch_add(&job->done_bytes, job->out[oi].info.nbytes) + job->out[oi].info.nbytes;
        mv_progress_update(job->prog, d, NULL);
    }
    worker_free(&wk);
    return NULL;
}

static char *metadata_inputs(const mv_merge_request *req)
{
    cJSON *a = cJSON_CreateArray();
    for (size_t i = 0; i < req->n_inputs; i++) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "path", req->inputs[i].path);
        cJSON *p = req->inputs[i].params_json ? cJSON_Parse(req->inputs[i].params_json) : NULL;
        if (p) cJSON_AddItemToObject(o, "parameters", p);
        cJSON *k = req->inputs[i].key_map_json ? cJSON_Parse(req->inputs[i].key_map_json) : NULL;
        if (k) cJSON_AddItemToObject(o, "key_map", k);
        cJSON_AddItemToArray(a, o);
    }
    char *s = cJSON_PrintUnformatted(a);
    cJSON_Delete(a);
    return s;
}

mv_status mg_run(mg_job *job, mv_error *err)
{
    mv_status st;
    const mv_merge_request *req = job->req;
    mv_tensor_info *infos = mv_calloc(job->n_out + 1, sizeof *infos);
    char *cfg_dtype = NULL, *card = NULL, *companion = NULL;
    char *inputs = metadata_inputs(req);
    char seed[32];
    snprintf(seed, sizeof seed, "%llu", (unsigned long long)req->seed);
    const char *keys[] = { "format", "mergeval_method", "mergeval_base", "mergeval_inputs",
                           "mergeval_parameters", "mergeval_seed", "mergeval_delta_only", "mergeval_version" };
    const char *vals[] = { "pt", job->method, req->base_path ? req->base_path : "", inputs ? inputs : "[]",
                           job->params ? mv_params_to_json(job->params) : "{}", seed,
                           req->delta_only ? "true" : "false", mv_version() };
    mv_writer_options opts;
    memset(&opts, 0, sizeof opts);
    if (!infos) { st = mv_errorf(err, MV_E_NOMEM, "out of memory"); goto done; }
    for (size_t i = 0; i < job->n_out; i++) infos[i] = job->out[i].info;
    opts.shard_size = req->shard_size ? req->shard_size
                    : job->layout && job->layout->n_shards > 1 ? job->layout->shard_bytes_hint : 0;
    opts.config_json = job->config_json ? job->config_json : job->layout ? job->layout->config_json : NULL;
    cfg_dtype = job->out_dtype != MV_DTYPE_INVALID ? mg_config_with_dtype(opts.config_json, job->out_dtype) : NULL;
    if (cfg_dtype) opts.config_json = cfg_dtype;
    card = mg_model_card(job);
    if (job->layout && job->layout->path && !req->delta_only) {   /* the layout model's folder */
        companion = mv_strdup(job->layout->path);
        if (companion && !mv_is_dir(companion)) { char *sl = strrchr(companion, '/'); if (sl) *sl = 0; else strcpy(companion, "."); }
    }
    opts.companion_dir = companion;
    opts.readme = card;
    opts.n_metadata = sizeof keys / sizeof keys[0];
    opts.metadata_keys = keys;
    opts.metadata_values = vals;
    if ((st = mv_checkpoint_create(job->ctx, req->out_dir, "safetensors", infos, job->n_out, &opts, &job->w, err)))
        goto done;

    int cores = mv_context_threads(job->ctx), nthreads = cores;
    /* Default: one worker per core, each with single-threaded BLAS — LoRA products are thin
     * (rank r) and the work is conversion and memory traffic; nested threads would
     * oversubscribe. MERGEVAL_MERGE_WORKERS=N overrides (BLAS then gets cores / N threads),
     * which is how the alternative was measured (docs/merging.md). */
    const char *env = getenv("MERGEVAL_MERGE_WORKERS");
    if (env && atoi(env) > 0) nthreads = atoi(env);
    if (cores < 1) cores = 1;
    if (nthreads < 1) nthreads = 1;
    if (nthreads > 16) nthreads = 16;
    int blas_inner = cores / nthreads > 1 ? cores / nthreads : 1;
    if ((size_t)nthreads > job->n_out) nthreads = job->n_out ? (int)job->n_out : 1;
    int blas_threads = openblas_get_num_threads();
    openblas_set_num_threads(blas_inner);
    uint64_t total = 0;
    for (size_t i = 0; i < job->n_out; i++) total += job->out[i].info.nbytes;
    job->prog = mv_progress_begin(job->ctx, job->method, total, "B");
    pthread_mutex_init(&job->lock, NULL);
    atomic_store(&job->next, 0);
    atomic_store(&job->stop, 0);
    atomic_store(&job->done_bytes, 0);
    job->st = MV_OK;
    pthread_t th[16];
    int started = 0;
    for (int t = 1; t < nthreads; t++)
        if (pthread_create(&th[started], NULL, worker_main, job) == 0) started++;
    worker_main(job);
    for (int t = 0; t < started; t++) pthread_join(th[t], NULL);
    drop_flush();   /* nothing pending may outlive this job's checkpoints */
    pthread_mutex_destroy(&job->lock);
    mv_progress_end(job->prog);
    job->prog = NULL;
    openblas_set_num_threads(blas_threads);
    if (job->st) {
        *err = job->err;
        st = job->st;
        mv_writer_abort(job->w);
        job->w = NULL;
        goto done;
    }
    st = mv_writer_finish(job->w, err);
    job->w = NULL;
done:
    cJSON_free(inputs);
    mv_free(infos);
    free(cfg_dtype);
    free(card);
    mv_free(companion);
    return st;
}
