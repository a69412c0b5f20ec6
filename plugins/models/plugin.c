/* plugins/models/plugin.c — the models.so entry point: components "llama" (Llama-3-style
 * decoder, HF naming) and "tinyvlm" (MiniCPM-V in miniature: SigLIP ViT + resampler +
 * llama under llm.*). The architectures themselves live in the other files. */
#include "mdl.h"
#include "defaults.h"

int mdl_probe(const char *config_json, int is_vlm);
mv_status mdl_create(const char *config_json, uint64_t seed, int is_vlm, mv_model **out,
                     mv_error *err);
mv_status mdl_load(mv_checkpoint *ck, int is_vlm, mv_model **out, mv_error *err);

static int llama_probe(const char *cfg) { return mdl_probe(cfg, 0); }
static int vlm_probe(const char *cfg) { return mdl_probe(cfg, 1); }

static mv_status llama_load(mv_context *ctx, mv_checkpoint *ck, const mv_params *params,
                            mv_model **out, mv_error *err) {
    (void)ctx; (void)params;
    return mdl_load(ck, 0, out, err);
}
static mv_status vlm_load(mv_context *ctx, mv_checkpoint *ck, const mv_params *params,
                          mv_model **out, mv_error *err) {
    (void)ctx; (void)params;
    return mdl_load(ck, 1, out, err);
}
static mv_status llama_create(mv_context *ctx, const char *cfg, uint64_t seed,
                              const mv_params *params, mv_model **out, mv_error *err) {
    (void)ctx; (void)params;
    return mdl_create(cfg, seed, 0, out, err);
}
static mv_status vlm_create(mv_context *ctx, const char *cfg, uint64_t seed,
                            const mv_params *params, mv_model **out, mv_error *err) {
    (void)ctx; (void)params;
    return mdl_create(cfg, seed, 1, out, err);
}

static const mv_model_vtable llama_vt = {sizeof(mv_model_vtable), llama_probe, llama_load,
                                         llama_create, MDL_LLAMA_DEFAULTS};
static const mv_model_vtable vlm_vt = {sizeof(mv_model_vtable), vlm_probe, vlm_load,
                                       vlm_create, MDL_TINYVLM_DEFAULTS};

static mv_component llama_comp = MV_COMPONENT_INIT(MV_KIND_MODEL, "llama", "1.0.0",
    "Llama-3-style decoder (RMSNorm, RoPE, GQA, SwiGLU), HF naming, byte-level vocabulary",
    NULL, &llama_vt);
static mv_component vlm_comp = MV_COMPONENT_INIT(MV_KIND_MODEL, "tinyvlm", "1.0.0",
    "MiniCPM-V in miniature: SigLIP ViT (vpm.*) + resampler + llama decoder (llm.*)",
    NULL, &vlm_vt);

MV_EXPORT const mv_component *mergeval_plugin_component(uint32_t i) {
    if (i == 0) return &llama_comp;
    if (i == 1) return &vlm_comp;
    return NULL;
}
