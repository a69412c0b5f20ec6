/* plugins/sft/train.c — the training loop: LoRA and freeze set-up, mixed-source batches with
 * gradient accumulation (mean token NLL over the accumulated batch), clipping, AdamW with a
 * warmup schedule, the JSONL log and progress bar, periodic resumable checkpoints and the
 * final output (PEFT adapter or full weights). Model and data are reached only through
 * their public interfaces; loading them is plugin.c's job. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <inttypes.h>
#include "sft.h"

#define CKPT_KEEP 2

static void zero_grads(mv_model *m)
{
    size_t np = m->ops->n_params(m);
    for (size_t i = 0; i < np; i++) {
        mv_param_ref *p = m->ops->param(m, i);
        if (p->trainable)
            memset(p->grad, 0, p->numel * sizeof(float));
    }
}

typedef struct loop {
    mv_context *ctx;
    mv_model *m;
    const sft_config *c;
    const sft_source *sources;
    size_t n_sources;
    sft_sampler sampler;
    sft_batch *micro;            /* grad_accum micro-batches */
    float **mom1, **mom2;        /* per trainable param */
    size_t n_train;              /* trainable param tensors */
    char *ckpt_dir, *log_path;
    int64_t total_steps;
} loop;

/* Fill the micro-batches of one optimizer step from the sampler. */
static mv_status fill_batches(loop *L, mv_error *err)
{
    const sft_config *c = L->c;
    for (int a = 0; a < c->grad_accum; a++) {
        sft_batch_clear(&L->micro[a]);
        for (int b = 0; b < c->batch_size; b++) {
            size_t src, idx;
            sft_sampler_next(&L->sampler, &src, &idx);
            mv_item item;
            memset(&item, 0, sizeof item);
            mv_status st = mv_dataset_get(L->sources[src].ds, idx, &item, err);
            if (st != MV_OK)
                return mv_error_prefix(err, "dataset %s", L->sources[src].name);
            st = sft_batch_add(&L->micro[a], L->m, &item, L->sources[src].name, c->max_len, err);
            if (st != MV_OK)
                return st;
        }
    }
    return MV_OK;
}

static mv_status save_checkpoint(loop *L, sft_state *st, mv_error *err)
{
    char *path = sft_checkpoint_path(L->ckpt_dir, st->step);
    if (!path)
        return mv_errorf(err, MV_E_NOMEM, "out of memory");
    sft_state snap = *st; /* the sampler's live arrays, not st's (resume) copies */
    snap.sampler_rng = L->sampler.rng;
    snap.drawn = L->sampler.drawn;
    snap.n_sources = L->n_sources;
    snap.cursor = L->sampler.cursor;
    snap.pass = L->sampler.pass;
    mv_status rc = sft_state_save(path, L->m, L->mom1, L->mom2, &snap, err);
    mv_free(path);
    if (rc != MV_OK)
        return rc;
    /* keep the newest CKPT_KEEP checkpoints */
    size_t n = 0;
    int64_t *steps = sft_list_checkpoints(L->ckpt_dir, &n);
    for (size_t i = 0; i + CKPT_KEEP < n; i++) {
        char *old = sft_checkpoint_path(L->ckpt_dir, steps[i]);
        if (old)
            remove(old);
        mv_free(old);
    }
    free(steps);
    return MV_OK;
}

static mv_status write_output(loop *L, const char *target, const char *base_model_path,
                              const char *out_dir, mv_error *err)
{
    mv_status st;
    char *tmp = mv_path_join(out_dir, ".output.tmp");
    if (!tmp)
        return mv_errorf(err, MV_E_NOMEM, "out of memory");
    if (mv_path_exists(tmp))
        mv_remove_tree(tmp, NULL);
    if (L->c->output_full) {
        st = mv_mkdirs(tmp, err);
        if (st == MV_OK)
            st = L->m->ops->save(L->m, L->ctx, tmp, 1, err);
    } else {
        st = sft_write_adapter(L->ctx, L->m, L->c, target, base_model_path, tmp, err);
    }
    if (st == MV_OK) {
        sft_remove_outputs(out_dir);
        st = sft_move_files(tmp, out_dir, err);
    }
    if (st != MV_OK && mv_path_exists(tmp))
        mv_remove_tree(tmp, NULL);
    mv_free(tmp);
    return st;
}

mv_status sft_train(mv_context *ctx, mv_model *m, const sft_source *sources, size_t n_sources,
                    const sft_config *c, const char *base_model_path, const char *out_dir,
                    int resume, mv_train_result *result, mv_error *err)
{
    mv_status rc;
    loop L;
    memset(&L, 0, sizeof L);
    L.ctx = ctx;
    L.m = m;
    L.c = c;
    L.sources = sources;
    L.n_sources = n_sources;
    sft_state st;
    memset(&st, 0, sizeof st);
    st.first_loss = NAN;
    st.last_loss = NAN;
    double *weights = NULL;
    size_t *n_items = NULL;
    char *resume_path = NULL;
    mv_progress *prog = NULL;
    const char *target = c->lora_target ? c->lora_target : sft_default_lora_target(m);
    memset(result, 0, sizeof *result);

    if ((rc = sft_check_flags(c, err)) != MV_OK)
        goto fail;
    if (c->batch_size < 1 || c->grad_accum < 1) {
        rc = mv_errorf(err, MV_E_INPUT, "params: batch_size and grad_accum must be >= 1");
        goto fail;
    }
    if (!m->ops->forward_backward || !m->ops->n_params || !m->ops->param) {
        rc = mv_errorf(err, MV_E_UNSUPPORTED, "model '%s' cannot be trained (no "
                       "forward_backward)", m->arch ? m->arch : "?");
        goto fail;
    }
    if (c->use_lora) {
        if (!m->ops->add_lora) {
            rc = mv_errorf(err, MV_E_UNSUPPORTED, "model '%s' has no LoRA support; set "
                           "use_lora=false", m->arch ? m->arch : "?");
            goto fail;
        }
        mv_lora_spec spec = {target, c->lora_r, c->lora_alpha, c->lora_dropout, 0,
                             sft_mix64(c->seed ^ 0x4c6f5241ULL)};
        int n_mod = 0;
        rc = m->ops->add_lora(m, &spec, &n_mod, err);
        if (rc != MV_OK) {
            mv_error_prefix(err, "params.lora_target_modules \"%s\"", target);
            goto fail;
        }
        mv_log(ctx, MV_LOG_INFO, "LoRA r=%d alpha=%g on %d modules matching %s", c->lora_r,
               c->lora_alpha, n_mod, target);
    }
    size_t n_trainable = 0, np = m->ops->n_params(m), n_total = 0;
    if ((rc = sft_apply_freeze(m, c, &n_trainable, err)) != MV_OK)
        goto fail;
    for (size_t i = 0; i < np; i++)
        n_total += m->ops->param(m, i)->numel;
    L.mom1 = calloc(np, sizeof *L.mom1);
    L.mom2 = calloc(np, sizeof *L.mom2);
    if (!L.mom1 || !L.mom2)
        goto nomem;
    for (size_t i = 0; i < np; i++) {
        mv_param_ref *p = m->ops->param(m, i);
        if (!p->trainable)
            continue;
        L.mom1[L.n_train] = calloc(p->numel, sizeof(float));
        L.mom2[L.n_train] = calloc(p->numel, sizeof(float));
        L.n_train++;
        if (!L.mom1[L.n_train - 1] || !L.mom2[L.n_train - 1])
            goto nomem;
    }
    mv_log(ctx, MV_LOG_INFO, "training %zu of %zu parameters (%zu tensors)", n_trainable,
           n_total, L.n_train);

    /* data */
    weights = calloc(n_sources + 1, sizeof *weights);
    n_items = calloc(n_sources + 1, sizeof *n_items);
    if (!weights || !n_items)
        goto nomem;
    double items_per_epoch = 0;
    for (size_t i = 0; i < n_sources; i++) {
        weights[i] = sources[i].weight;
        n_items[i] = sources[i].ds->n_items;
        if (weights[i] > 0 && n_items[i] == 0) {
            rc = mv_errorf(err, MV_E_INPUT, "dataset %s (%s) has no items but mixing weight %g; "
                           "check the file or give it weight 0", sources[i].name,
                           sources[i].ds->path ? sources[i].ds->path : "?", weights[i]);
            goto fail;
        }
        if (sources[i].ds->n_skipped > 0)
            mv_log(ctx, MV_LOG_WARN, "dataset %s: %zu records skipped (first: %s)",
                   sources[i].name, sources[i].ds->n_skipped,
                   sources[i].ds->skipped ? sources[i].ds->skipped[0] : "?");
        if (weights[i] > 0)
            items_per_epoch += (double)n_items[i];
    }
    if ((rc = sft_sampler_init(&L.sampler, weights, n_items, n_sources, c->seed, err)) != MV_OK)
        goto fail;
    int64_t per_step = (int64_t)c->batch_size * c->grad_accum;
    L.total_steps = c->max_steps > 0 ? c->max_steps
                  : (int64_t)ceil(c->epochs * items_per_epoch / (double)per_step);
    if (L.total_steps < 1)
        L.total_steps = 1;
    L.micro = calloc((size_t)c->grad_accum, sizeof *L.micro);
    if (!L.micro)
        goto nomem;

    /* output dir, log, resume */
    L.ckpt_dir = mv_path_join(out_dir, "checkpoints");
    L.log_path = mv_path_join(out_dir, "train_log.jsonl");
    if (!L.ckpt_dir || !L.log_path)
        goto nomem;
    if ((rc = mv_mkdirs(L.ckpt_dir, err)) != MV_OK)
        goto fail;
    int64_t found = -1;
    if (resume) {
        size_t n_ck = 0;
        int64_t *steps = sft_list_checkpoints(L.ckpt_dir, &n_ck);
        if (n_ck > 0) {
            found = steps[n_ck - 1];
            resume_path = sft_checkpoint_path(L.ckpt_dir, found);
        }
        free(steps);
    }
    if (found >= 0) {
        if ((rc = sft_state_load(resume_path, m, L.mom1, L.mom2, &st, err)) != MV_OK)
            goto fail;
        if (st.n_sources != n_sources) {
            rc = mv_errorf(err, MV_E_INPUT, "%s: checkpoint has %zu data sources, the config "
                           "%zu; resume with the same data", resume_path, st.n_sources, n_sources);
            goto fail;
        }
        sft_sampler_restore(&L.sampler, &st.sampler_rng, st.cursor, st.pass, st.drawn);
        if ((rc = sft_truncate_log(L.log_path, st.step, err)) != MV_OK)
            goto fail;
        mv_log(ctx, MV_LOG_INFO, "resuming from %s (step %" PRId64 " of %" PRId64 ")",
               resume_path, st.step, L.total_steps);
    } else {
        if (resume)
            mv_log(ctx, MV_LOG_INFO, "--resume: no checkpoint in %s, starting fresh", L.ckpt_dir);
        /* a fresh run must not leave an older run's checkpoints to be resumed later */
        mv_remove_tree(L.ckpt_dir, NULL);
        if ((rc = mv_mkdirs(L.ckpt_dir, err)) != MV_OK)
            goto fail;
        remove(L.log_path);
    }

    if (!c->quiet_progress)
        prog = mv_progress_begin(ctx, "train", (uint64_t)L.total_steps, "step");
    double t_start = mv_now(), t_window = t_start, elapsed0 = st.elapsed;
    int64_t window_all_tokens = 0;
    double lr = 0, gnorm = 0;
    char status[96] = "";
    int warned_count = 0;
    while (st.step < L.total_steps) {
        if ((rc = fill_batches(&L, err)) != MV_OK)
            goto fail;
        int64_t expect = 0;
        for (int a = 0; a < c->grad_accum; a++)
            expect += L.micro[a].n_loss_tokens;
        zero_grads(m);
        double loss_sum = 0;
        int64_t got = 0;
        for (int a = 0; a < c->grad_accum; a++) {
            mv_train_options opt;
            memset(&opt, 0, sizeof opt);
            opt.gradient_checkpointing = c->gradient_checkpointing;
            opt.loss_scale = expect > 0 ? (float)(1.0 / (double)expect) : 0.0f;
            opt.dropout_seed = sft_mix64(c->seed ^ sft_mix64((uint64_t)st.step * 1024 + a));
            double ls = 0;
            int64_t nt = 0;
            rc = m->ops->forward_backward(m, L.micro[a].seqs, L.micro[a].n, &opt, &ls, &nt, err);
            if (rc != MV_OK) {
                mv_error_prefix(err, "step %" PRId64, st.step + 1);
                goto fail;
            }
            loss_sum += ls;
            got += nt;
            window_all_tokens += L.micro[a].n_tokens;
        }
        if (got > 0 && got != expect) { /* the model scored a different count: renormalise */
            if (!warned_count)
                mv_log(ctx, MV_LOG_WARN, "step %" PRId64 ": model '%s' scored %" PRId64 " tokens, "
                       "the trainer expected %" PRId64 "; gradients renormalised",
                       st.step + 1, m->arch ? m->arch : "?", got, expect);
            warned_count = 1;
            sft_grad_scale(m, (float)((double)expect / (double)got));
        }
        double loss = got > 0 ? loss_sum / (double)got : 0.0;
        if (!isfinite(loss)) {
            rc = mv_errorf(err, MV_E_NUMERIC, "step %" PRId64 ": loss is %g; lower lr (now "
                           "%g) or set max_grad_norm", st.step + 1, loss, c->lr);
            goto fail;
        }
        gnorm = sft_grad_norm(m);
        if (!isfinite(gnorm)) {
            rc = mv_errorf(err, MV_E_NUMERIC, "step %" PRId64 ": gradient norm is %g",
                           st.step + 1, gnorm);
            goto fail;
        }
        double coef = sft_clip_coef(gnorm, c->max_grad_norm);
        if (coef < 1.0)
            sft_grad_scale(m, (float)coef);
        lr = sft_lr_at(c->scheduler, c->lr, st.step, c->warmup_steps, L.total_steps);
        size_t k = 0;
        for (size_t i = 0; i < np; i++) {
            mv_param_ref *p = m->ops->param(m, i);
            if (!p->trainable)
                continue;
            sft_adamw_update(p->data, p->grad, L.mom1[k], L.mom2[k], p->numel, lr, c->beta1,
                             c->beta2, c->eps, c->weight_decay, sft_param_decays(p), st.step + 1);
            k++;
        }
        st.step++;
        st.window_loss += loss_sum;
        st.window_tokens += got;
        st.window_steps++;
        st.tokens_seen += got;
        double now = mv_now();
        if (st.step % c->log_every == 0 || st.step == L.total_steps) {
            double wl = st.window_tokens > 0 ? st.window_loss / (double)st.window_tokens : 0;
            double tps = now > t_window ? (double)window_all_tokens / (now - t_window) : 0;
            if (isnan(st.first_loss))
                st.first_loss = wl;
            st.last_loss = wl;
            rc = sft_append_log(L.log_path, st.step, wl, lr, gnorm, tps,
                            elapsed0 + (now - t_start), st.tokens_seen, err);
            if (rc != MV_OK)
                goto fail;
            snprintf(status, sizeof status, "loss %.4f lr %.2e %.0f tok/s", wl, lr, tps);
            if (prog)
                mv_progress_update(prog, (uint64_t)st.step, status);
            st.window_loss = 0;
            st.window_tokens = 0;
            st.window_steps = 0;
            window_all_tokens = 0;
            t_window = now;
        } else if (prog) {
            /* the bar shows the last window's numbers until the next one closes */
            mv_progress_update(prog, (uint64_t)st.step, status[0] ? status : NULL);
        }
        if (c->save_every > 0 && st.step % c->save_every == 0 && st.step < L.total_steps) {
            st.elapsed = elapsed0 + (now - t_start);
            if ((rc = save_checkpoint(&L, &st, err)) != MV_OK)
                goto fail;
        }
        if (c->stop_after > 0 && st.step >= c->stop_after) {
            rc = mv_errorf(err, MV_E_RUNTIME, "stopped after step %" PRId64 " (test hook)",
                           st.step);
            goto fail;
        }
    }
    mv_progress_end(prog);
    prog = NULL;

    if ((rc = write_output(&L, target, base_model_path, out_dir, err)) != MV_OK)
        goto fail;
    result->steps = st.step;
    result->first_loss = st.first_loss;
    result->final_loss = st.last_loss;
    result->wrote_adapter = !c->output_full;
    rc = MV_OK;
    goto done;
nomem:
    rc = mv_errorf(err, MV_E_NOMEM, "trainer: out of memory");
fail:
done:
    mv_progress_end(prog);
    if (L.micro)
        for (int a = 0; a < c->grad_accum; a++)
            sft_batch_free(&L.micro[a]);
    free(L.micro);
    if (L.mom1)
        for (size_t i = 0; i < L.n_train; i++)
            free(L.mom1[i]);
    if (L.mom2)
        for (size_t i = 0; i < L.n_train; i++)
            free(L.mom2[i]);
    free(L.mom1);
    free(L.mom2);
    sft_sampler_free(&L.sampler);
    sft_state_free(&st);
    free(weights);
    free(n_items);
    mv_free(resume_path);
    mv_free(L.ckpt_dir);
    mv_free(L.log_path);
    return rc;
}
