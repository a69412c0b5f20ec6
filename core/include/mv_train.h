/* core/include/mv_train.h — run a trainer from its JSON config object (the same object
 * `mergeval train CONFIG.json` reads and a pipeline's "train" embeds): parse and validate
 * it with JSON-path messages, build the mv_train_request and call the trainer plugin.
 * Internal to the core; the CLI and the pipeline runner use it. */
#ifndef MV_TRAIN_H
#define MV_TRAIN_H

#include <mergeval/mergeval.h>

/* config_json: {"trainer": "sft", "model": PATH | {"path": P, "arch": A} | {"arch": A,
 *   "config": {...}}, "datasets": {NAME: PATH | {"path", "loader", "params"}},
 *   "mix": {NAME: weight, ...} (default: every dataset, weight 1), "params": {...}}.
 * where: JSON path of the object for messages ("$" for a file, "$.train" in a pipeline).
 * model_path_override: train from this checkpoint instead of "model" (NULL = use config).
 * Errors: MV_E_INPUT with the JSON path for config problems (params validated by the
 * trainer's declared specs: "$.params.lr: expected number, got string \"1e-4\""),
 * MV_E_NOT_FOUND for an unknown trainer, the trainer's own status otherwise. */
mv_status mv_train_run_json(mv_context *ctx, const char *config_json, const char *where,
                            const char *model_path_override, const char *out_dir, int resume,
                            mv_train_result *result, mv_error *err);

#endif
