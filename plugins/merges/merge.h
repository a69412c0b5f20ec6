/* plugins/merges/merge.h — the built-in methods of the merges plugin (lora.c, taskvec.c) on
 * top of the core's streaming engine (mv_merge_engine.h, core/merge/). */
#ifndef MG_MERGE_H
#define MG_MERGE_H
#include "mv_merge_engine.h"

extern const mv_param_spec mg_lora_inputs[];
mv_status mg_lora_run(mv_context *ctx, const mv_merge_request *req, const mv_params *params,
                      mv_error *err);
mv_status mg_taskvec_run(mv_context *ctx, const char *method, const mv_merge_request *req,
                         const mv_params *params, const mv_param_spec *input_specs, mv_error *err);
/* mergekit's nearswap, written on the public element-wise API (merge_sdk.h). */
mv_status mg_nearswap_run(mv_context *ctx, const mv_merge_request *req, const mv_params *params,
                          mv_error *err);

#endif
