/* core/include/mv_mergekit.h — mergekit's YAML merge configuration read with mergekit's
 * semantics and turned into mergeval's merge config JSON (the form `mergeval merge
 * CONFIG.json` reads), so there is one consumer of merge semantics. Core-internal. */
#ifndef MV_MERGEKIT_H
#define MV_MERGEKIT_H
#include <stddef.h>
#include <cjson/cJSON.h>
#include <mergeval/status.h>
#include "mv_pipeline.h"

/* Convert a mergekit configuration (YAML text) to mergeval's merge config JSON:
 *   merge_method -> method; base_model; models[].model -> models[].path with each
 *   model's parameters (global tensor parameters folded in as fallbacks, `filter:` lists
 *   kept for the engine); the base listed among models dropped for methods that take it
 *   apart; slices[].sources[].layer_range -> "slices"; dtype/out_dtype -> out_dtype.
 * Model paths are resolved against cfg_dir (the YAML's folder); a reference that is not a
 * local folder (a hub id) is a problem saying how to download it. Every problem is added
 * to diag (with its YAML path and line:column); *out is NULL when there was any. */
#define MV_MK_BASE_IMPLICIT 1   /* flags: the caller supplies the base (a pipeline's current model) */
mv_status mv_mergekit_to_json(const char *text, size_t len, const char *cfg_dir, int flags, cJSON **out,
                              mv_diag *diag, mv_error *err);

/* Non-zero when the file name looks like YAML (.yml / .yaml). */
int mv_is_yaml_name(const char *path);

#endif
