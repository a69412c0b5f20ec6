/* sgdtext.c — a complete out-of-tree trainer plugin: plain SGD on the texts of the training
 * sources, through the model interface only (tokenize, forward_backward, the parameter
 * table, save), so it trains any model plugin. It shows the trainer contract: start from
 * req->model_path (or create req->arch from req->config_json), read req->sources, write the
 * weights and train_log.jsonl into req->out_dir, and fill the result the pipeline records.
 * It is deliberately minimal: no batching, no mixing weights, no resume (see the built-in
 * `sft` trainer for those).
 *
 * Build:  cc -shared -fPIC -fvisibility=hidden -Wl,-z,defs -o sgdtext.so sgdtext.c \
 *            $(pkg-config --cflags --libs mergeval)
 * Use:    mergeval --plugin-path . train config.json --out trained/
 *         with config.json = {"trainer": "sgdtext", "model": {"path": "base/"},
 *                             "datasets": {"t": {"path": "notes.jsonl", "loader": "text"}},
 *                             "params": {"lr": 0.01, "steps": 20}}
 */
#include <stdio.h>
#include <string.h>
#include <mergeval/mergeval.h>

static const mv_param_spec params[] = {
    {"lr", MV_PARAM_FLOAT, "0.01", "learning rate", NULL, 0, 10, 0},
    {"steps", MV_PARAM_INT, "20", "optimisation steps (one text each)", NULL, 1, 1e9, 0},
    {NULL, 0, NULL, NULL, NULL, 0, 0, 0}};

/* One step on one text: zero gradients, forward + backward, p -= lr * grad. */
static mv_status step(mv_model *m, const char *text, double lr, double *loss, mv_error *err)
{
    int32_t *tokens = NULL;
    int n = 0;
    mv_status st = mv_model_tokenize(m, text, &tokens, &n, err);
    if (st != MV_OK) return st;
    if (n > m->max_seq) n = m->max_seq;
    size_t np = m->ops->n_params(m);
    for (size_t i = 0; i < np; i++) {
        mv_param_ref *p = m->ops->param(m, i);
        if (p->trainable) memset(p->grad, 0, p->numel * sizeof *p->grad);
    }
    mv_sequence seq = { NULL, 0, NULL, tokens, n, 0 };
    mv_train_options opt = { 0, 1.0f, 0 };
    double sum = 0;
    int64_t count = 0;
    st = n > 0 ? m->ops->forward_backward(m, &seq, 1, &opt, &sum, &count, err) : MV_OK;
    for (size_t i = 0; st == MV_OK && count > 0 && i < np; i++) {
        mv_param_ref *p = m->ops->param(m, i);
        if (!p->trainable) continue;
        for (size_t k = 0; k < p->numel; k++) p->data[k] -= (float)(lr * p->grad[k] / (double)count);
    }
    *loss = count > 0 ? sum / (double)count : 0;
    mv_free(tokens);
    return st;
}

static mv_status run(mv_context *ctx, const mv_train_request *req, const mv_params *prm,
                     mv_train_result *result, mv_error *err)
{
    mv_model *m = NULL;
    mv_dataset *ds = NULL;
    char *log_path = NULL;
    size_t log_len = 0;
    char log[1 << 16] = "";
    if (req->n_sources < 1) return mv_errorf(err, MV_E_INPUT, "sgdtext: no training data");
    mv_status st = req->model_path
        ? mv_model_load(ctx, req->model_path, req->arch, NULL, &m, err)
        : mv_model_create(ctx, req->arch, req->config_json, 1, NULL, &m, err);
    if (st == MV_OK)
        st = mv_dataset_open(ctx, req->sources[0].path, req->sources[0].format,
                             req->sources[0].params_json, &ds, err);
    if (st == MV_OK && ds->n_items == 0)
        st = mv_errorf(err, MV_E_INPUT, "sgdtext: %s has no items", req->sources[0].path);
    int64_t steps = mv_params_int(prm, "steps");
    for (int64_t s = 0; st == MV_OK && s < steps; s++) {
        mv_item item;
        double loss = 0;
        if ((st = mv_dataset_get(ds, (size_t)s % ds->n_items, &item, err)) != MV_OK) break;
        if ((st = step(m, item.text ? item.text : "", mv_params_float(prm, "lr"), &loss, err)) != MV_OK) break;
        if (s == 0) result->first_loss = loss;
        result->final_loss = loss;
        result->steps = s + 1;
        /* Same line format as the built-in trainer, so reports show the curve alike. */
        if (log_len < sizeof log - 64)
            log_len += (size_t)snprintf(log + log_len, sizeof log - log_len,
                                        "{\"step\":%lld,\"loss\":%.9g}\n", (long long)s + 1, loss);
    }
    if (st == MV_OK) st = mv_mkdirs(req->out_dir, err);
    if (st == MV_OK) st = m->ops->save(m, ctx, req->out_dir, 1, err);  /* full weights */
    if (st == MV_OK && !(log_path = mv_path_join(req->out_dir, "train_log.jsonl")))
        st = mv_errorf(err, MV_E_NOMEM, "out of memory");
    if (st == MV_OK) st = mv_write_text_atomic(log_path, log, err);
    result->wrote_adapter = 0;
    mv_free(log_path);
    mv_dataset_close(ds);
    mv_model_free(m);
    return st;
}

static const mv_trainer_vtable vtable = { sizeof(mv_trainer_vtable), run };

static const mv_component component = MV_COMPONENT_INIT(
    MV_KIND_TRAINER, "sgdtext", "1.0.0", "Plain SGD on texts through the model interface",
    params, &vtable);

MV_EXPORT const mv_component *mergeval_plugin_component(uint32_t index)
{
    return index == 0 ? &component : NULL;
}
