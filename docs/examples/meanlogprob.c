/* meanlogprob.c — a complete out-of-tree evaluator that asks the MODEL for scores: the mean
 * log-probability per token of each item's text (given its image, for image-text items).
 * It shows what a model's score() expects:
 *   - tokens come from ops->tokenize (no BOS/EOS: the model prepends BOS and the image's
 *     visual tokens itself); a text longer than model->max_seq is truncated here, because
 *     score() refuses longer sequences;
 *   - images are encoded once with ops->encode_images and referenced by index, so many
 *     texts can share one encoding;
 *   - logprobs[i] must point at (n_tokens - n_context) floats the caller owns;
 *   - per-item columns (sum and count) let the core aggregate Σsum/Σcount exactly, shard,
 *     combine and bootstrap the metric like a built-in one.
 *
 * Build:  cc -shared -fPIC -fvisibility=hidden -Wl,-z,defs -o meanlogprob.so meanlogprob.c \
 *            $(pkg-config --cflags --libs mergeval)
 * Use:    mergeval --plugin-path . eval MODEL --evaluator meanlogprob --dataset data.jsonl --out out/
 */
#include <mergeval/mergeval.h>

static mv_status score_item(mv_model *m, const mv_item *item, double *sum, int *count,
                            mv_error *err)
{
    int32_t *tokens = NULL;
    int n = 0;
    mv_image_embeds *emb = NULL;
    float *lp = NULL;
    mv_status st = mv_model_tokenize(m, item->text ? item->text : "", &tokens, &n, err);
    if (st == MV_OK && n > m->max_seq) n = m->max_seq;       /* score() refuses longer texts */
    if (st == MV_OK && n == 0) st = mv_errorf(err, MV_E_INPUT, "%s: empty text", item->source);
    if (st == MV_OK && item->has_image && m->has_vision)
        st = m->ops->encode_images(m, &item->image, 1, &emb, err);
    if (st == MV_OK && !(lp = mv_malloc((size_t)n * sizeof *lp)))
        st = mv_errorf(err, MV_E_NOMEM, "out of memory");
    if (st == MV_OK) {
        mv_sequence seq = { emb, 0, NULL, tokens, n, 0 };  /* n_context 0: score every token */
        st = m->ops->score(m, &seq, 1, &lp, err);
    }
    *sum = 0;
    for (int i = 0; st == MV_OK && i < n; i++) *sum += lp[i];
    *count = n;
    if (emb) m->ops->free_image_embeds(m, emb);
    mv_free(lp);
    mv_free(tokens);
    return st;
}

static mv_status run(mv_context *ctx, const mv_eval_request *req, const mv_params *params,
                     mv_metrics *out, mv_error *err)
{
    (void)ctx; (void)params;
    mv_status st = mv_metrics_define(out, "mean_logprob", MV_HIGHER_IS_BETTER, "logprob_sum",
                                     "tokens", MV_TRANSFORM_NONE, 0,
                                     "mean log-probability per text token", err);
    for (size_t i = 0; st == MV_OK && i < req->dataset->n_items; i++) {
        if (i % req->shard_count != req->shard_index) continue;
        mv_item item;
        double sum;
        int count;
        if ((st = mv_dataset_get(req->dataset, i, &item, err)) != MV_OK) break;
        if ((st = score_item(req->model, &item, &sum, &count, err)) != MV_OK) break;
        const char *cols[] = {"logprob_sum", "tokens"};
        double vals[] = {sum, (double)count};
        st = mv_metrics_add_item(out, item.id, 2, cols, vals, NULL, err);
    }
    return st;
}

/* Every metric run() defines: gates on a name outside this list fail `run --check`. */
static const char *const metrics[] = {"mean_logprob", NULL};

static const mv_evaluator_vtable vtable = {
    sizeof(mv_evaluator_vtable),
    1, /* needs_model: the core loads req->model */
    1, /* needs_dataset */
    run,
    metrics};

static const mv_component component = MV_COMPONENT_INIT(
    MV_KIND_EVALUATOR, "meanlogprob", "1.0.0", "Mean log-probability per token of each text",
    NULL, &vtable);

MV_EXPORT const mv_component *mergeval_plugin_component(uint32_t index)
{
    return index == 0 ? &component : NULL;
}
