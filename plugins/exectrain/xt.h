/* plugins/exectrain/xt.h — internals of the `exec` trainer: checking what the external
 * command wrote (PEFT adapter or full weights, against the model it will be merged into)
 * and turning HF Trainer's trainer_state.json into mergeval's train_log.jsonl. Plugin-local. */
#ifndef XT_H
#define XT_H

#include <mergeval/mergeval.h>

/* The latest "checkpoint-N" folder in out_dir (HF Trainer's layout), as an mv_malloc'd
 * path, or an empty string when there is none. NULL only when out of memory. */
char *xt_latest_checkpoint(const char *out_dir);

/* Remove the previous attempt's top-level outputs from out_dir (adapter, weights, states,
 * logs) so that an exit 0 that writes nothing cannot pass on stale files; checkpoint-N/
 * folders stay for {resume_from}. */
void xt_remove_outputs(const char *out_dir);

/* Validate out_dir as the adapter ("adapter": adapter_config.json + adapter_model.safetensors,
 * matched like `mergeval match` against model_path with key_map_json) or as full weights
 * ("full": config.json + safetensors with every tensor of model_path, same shapes). `who`
 * names the command for messages. Errors name the missing or wrong file. */
mv_status xt_check_adapter(mv_context *ctx, const char *out_dir, const char *model_path,
                           const char *key_map_json, const char *who, mv_error *err);
mv_status xt_check_full(mv_context *ctx, const char *out_dir, const char *model_path,
                        const char *who, mv_error *err);

/* Read the loss curve the command left in out_dir — trainer_state.json (out_dir, else the
 * latest checkpoint-N/) or its own train_log.jsonl — and write out_dir/train_log.jsonl in
 * the native trainer's format ({"step","loss","lr",...} per logged step). Fills steps,
 * first_loss, final_loss. *found = 0 (and a warning in *why) when there is no readable log:
 * the stage is still judged by its output. */
mv_status xt_import_loss(const char *out_dir, mv_train_result *res, int *found, char *why,
                         size_t why_cap, mv_error *err);

/* The converted log: native train_log.jsonl text and what the result needs. */
typedef struct xt_log {
    char *s;               /* malloc'd text (NULL when nothing was added) */
    size_t n, cap;
    int oom;
    size_t n_lines;
    double first_loss, last_loss, last_step;
} xt_log;

/* Convert a trainer_state.json text (jsonl = 0) or a train_log.jsonl text (jsonl = 1,
 * modified in place) into *out (zeroed by the caller; free out->s). Returns 1 when the text
 * is such a log, else 0 with the reason in why (path names it). NaN/Infinity (Python's
 * json.dumps of a diverged loss) read as null. Never fails on any input. */
int xt_convert_log(char *text, int jsonl, const char *path, xt_log *out, int64_t *global_step,
                   char *why, size_t why_cap);

#endif
