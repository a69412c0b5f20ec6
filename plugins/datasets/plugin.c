/* plugins/datasets/plugin.c — the datasets plugin's entry point: two dataset loader
 * components, "imagetext" and "text", with their declared parameters. The formats
 * themselves are in imagetext.c and text.c. */
#include <mergeval/mergeval.h>
#include "ds_internal.h"

static const mv_param_spec imagetext_params[] = {
    {"on_error", MV_PARAM_ENUM, "\"fail\"",
     "What to do with a bad record or image: fail (stop with its id, file and line) or skip "
     "(drop it and count it in the metrics)", "fail|skip", 0, -1, 0},
    {"background", MV_PARAM_JSON, "[255,255,255]",
     "Colour transparent pixels are composited on: [r,g,b], \"#rrggbb\", \"white\" or \"black\"",
     NULL, 0, -1, 0},
    {"allow_outside_root", MV_PARAM_BOOL, "false",
     "Allow absolute image paths and paths leaving the dataset file's folder", NULL, 0, -1, 0},
    {"require_image", MV_PARAM_BOOL, "false",
     "Treat a record without \"image\" as bad (otherwise it is a text-only item)", NULL, 0, -1, 0},
    {"verify", MV_PARAM_ENUM, "\"decode\"",
     "When to read images: decode (all at open, cached: corrupt files are found up front), "
     "header (check headers at open, decode lazily) or none (decode lazily)",
     "decode|header|none", 0, -1, 0},
    {"max_pixels", MV_PARAM_INT, "40000000",
     "Largest image accepted, in pixels (width x height), checked on the header before "
     "decoding; larger images are bad records", NULL, 1, 1e12, 0},
    {"max_image_side", MV_PARAM_INT, "16384",
     "Largest width or height accepted (at most 65535), checked on the header", NULL, 1, 65535, 0},
    {"format", MV_PARAM_ENUM, "\"auto\"",
     "File format: auto (a JSON list = MiniCPM-V finetune JSON, otherwise JSONL), jsonl, minicpm",
     "auto|jsonl|minicpm", 0, -1, 0},
    {NULL, 0, NULL, NULL, NULL, 0, 0, 0}
};

static const mv_param_spec text_params[] = {
    {"on_error", MV_PARAM_ENUM, "\"fail\"",
     "What to do with a bad record: fail (stop with its id, file and line) or skip (count it)",
     "fail|skip", 0, -1, 0},
    {"format", MV_PARAM_ENUM, "\"auto\"",
     "auto (.jsonl/.json or a leading '{' = JSONL with \"text\", otherwise plain text), jsonl, "
     "plain", "auto|jsonl|plain", 0, -1, 0},
    {"split", MV_PARAM_ENUM, "\"line\"",
     "Plain text: one document per non-blank line, or per blank-line-separated paragraph",
     "line|paragraph", 0, -1, 0},
    {NULL, 0, NULL, NULL, NULL, 0, 0, 0}
};

static const mv_loader_vtable imagetext_vt = {
    sizeof(mv_loader_vtable), MV_LOADS_DATASET, ds_probe_imagetext, NULL, NULL,
    ds_open_imagetext, NULL
};
static const mv_loader_vtable text_vt = {
    sizeof(mv_loader_vtable), MV_LOADS_DATASET, ds_probe_text, NULL, NULL, ds_open_text, NULL
};

static const mv_component components[] = {
    MV_COMPONENT_INIT(MV_KIND_LOADER, "imagetext", "1.0.0",
                      "Image-text pairs: JSONL {image, text} or MiniCPM-V finetune JSON",
                      imagetext_params, &imagetext_vt),
    MV_COMPONENT_INIT(MV_KIND_LOADER, "text", "1.0.0",
                      "Text documents: JSONL {text} or plain UTF-8 (per line or paragraph)",
                      text_params, &text_vt),
};

MV_EXPORT const mv_component *mergeval_plugin_component(uint32_t i)
{
    return i < sizeof components / sizeof components[0] ? &components[i] : NULL;
}
