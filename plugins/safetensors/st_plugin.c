/* plugins/safetensors/st_plugin.c — the "safetensors" loader component: checkpoint reading
 * (single files, directories, sharded indexes) and writing. The plugin's only exported
 * symbol is the ABI entry point; the work is in st_reader.c / st_writer.c / st_header.c. */
#include "st_internal.h"

static const mv_param_spec ST_PARAMS[] = {
    { "strict_total_size", MV_PARAM_BOOL, "false",
      "Reject a sharded index whose metadata.total_size differs from the tensors' byte total "
      "(by default a warning, as some published checkpoints get it wrong).",
      NULL, 1, 0, 0 },
    { NULL, 0, NULL, NULL, NULL, 1, 0, 0 }
};

static const mv_loader_vtable ST_VTABLE = {
    .size = sizeof(mv_loader_vtable),
    .target = MV_LOADS_CHECKPOINT,
    .probe = st_probe,
    .open_checkpoint = st_open,
    .create_writer = st_create_writer,
};

static const mv_component ST_COMPONENT = MV_COMPONENT_INIT(
    MV_KIND_LOADER, "safetensors", "1.0.0",
    "safetensors checkpoints: single files, directories and sharded indexes (read via mmap, "
    "strictly validated; streaming writer)",
    ST_PARAMS, &ST_VTABLE);

const mv_component *st_component(void)
{
    return &ST_COMPONENT;
}

MV_EXPORT const mv_component *mergeval_plugin_component(uint32_t i)
{
    return i == 0 ? &ST_COMPONENT : NULL;
}
