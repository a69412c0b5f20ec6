/* tests/fuzz/fuzz_datasets.c — the dataset loaders on arbitrary files: image-text JSONL,
 * MiniCPM-V finetune JSON and text (JSONL, plain lines, paragraphs), each with several
 * parameter sets (on_error fail/skip, verify decode/header/none, require_image, format).
 * The first input byte picks the variant; the rest is the file. Every item is then read
 * back (images decoded lazily when verify is none) and converted to a model tensor.
 * Beside the file: img.bmp (a valid 2×2 image) and a dangling symlink "gone.png"; any other
 * referenced image is absent. allow_outside_root is never set, so no input can make the
 * harness read files outside its temporary directory (e.g. /dev/zero).
 * The plugin's sources are compiled into this binary (tests/fuzz/fuzz_datasets.mk). */
#include <stdint.h>
#include <string.h>
#include "fuzz_util.h"

/* The plugin's entry point, compiled into this binary: only the public loader vtables are
 * used, so the harness does not depend on the plugin's internals. */
const mv_component *mergeval_plugin_component(uint32_t i);

typedef struct variant {
    int text_loader;      /* 0 imagetext, 1 text */
    const char *file;     /* file name (the probe and "auto" formats look at the extension) */
    const char *params;
} variant;

static const variant VARIANTS[] = {
    { 0, "data.jsonl", NULL },
    { 0, "data.jsonl", "{\"on_error\":\"skip\",\"verify\":\"header\"}" },
    { 0, "data.json", "{\"format\":\"minicpm\",\"on_error\":\"skip\",\"verify\":\"none\",\"require_image\":true}" },
    { 0, "data.json", "{\"format\":\"auto\",\"verify\":\"none\",\"background\":\"#102030\"}" },
    { 0, "data.txt", "{\"format\":\"jsonl\",\"on_error\":\"skip\",\"verify\":\"decode\",\"background\":[0,0,0]}" },
    { 1, "data.jsonl", NULL },
    { 1, "data.txt", "{\"format\":\"plain\",\"split\":\"paragraph\",\"on_error\":\"skip\"}" },
    { 1, "data.txt", "{\"format\":\"plain\"}" },
    { 1, "data.txt", "{\"on_error\":\"skip\"}" },
    { 1, "data.json", "{\"format\":\"jsonl\"}" },
};
#define N_VARIANTS (sizeof VARIANTS / sizeof VARIANTS[0])

static mv_context *ctx;
static const mv_component *comp[2];
static mv_params *params[N_VARIANTS];

/* A 2×2 24-bit BMP (bottom-up rows padded to 4 bytes). */
static void write_bmp(const char *path)
{
    unsigned char b[70] = { 'B', 'M', 70, 0, 0, 0, 0, 0, 0, 0, 54, 0, 0, 0, 40, 0, 0, 0,
                            2, 0, 0, 0, 2, 0, 0, 0, 1, 0, 24, 0, 0, 0, 0, 0, 16, 0, 0, 0 };
    for (int i = 54; i < 70; i++) b[i] = (unsigned char)(i * 37);
    fz_write(path, b, sizeof b);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc; (void)argv;
    ctx = fz_context(NULL);
    comp[0] = mergeval_plugin_component(0);
    comp[1] = mergeval_plugin_component(1);
    if (!comp[0] || !comp[1] || strcmp(comp[0]->name, "imagetext") || strcmp(comp[1]->name, "text"))
        abort();
    for (size_t i = 0; i < N_VARIANTS; i++) {
        mv_error err = { 0 };
        if (mv_params_parse(&params[i], comp[VARIANTS[i].text_loader]->params, VARIANTS[i].params,
                            "$", &err) != MV_OK) {
            fprintf(stderr, "fuzz_datasets: variant %zu: %s\n", i, err.msg);
            abort();
        }
    }
    char path[512];
    write_bmp(fz_path(path, sizeof path, "img.bmp"));
    if (symlink("../nowhere/gone.png", fz_path(path, sizeof path, "gone.png")) != 0) abort();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || size > 65536) return 0;
    const variant *v = &VARIANTS[data[0] % N_VARIANTS];
    char path[512];
    fz_path(path, sizeof path, v->file);
    fz_write(path, data + 1, size - 1);
    const mv_loader_vtable *vt = comp[v->text_loader]->vtable;
    (void)vt->probe(path);
    mv_dataset *ds = NULL;
    mv_error err = { 0 };
    if (vt->open_dataset(ctx, path, params[data[0] % N_VARIANTS], &ds, &err) == MV_OK) {
        for (size_t i = 0; i < ds->n_items; i++) {
            mv_item it;
            if (mv_dataset_get(ds, i, &it, &err) != MV_OK) continue;
            size_t n = strlen(it.id) + (it.text ? strlen(it.text) : 0) +
                       (it.prompt ? strlen(it.prompt) : 0) + strlen(it.source);
            (void)n;
            if (it.has_image) {
                static const float mean[3] = { 0.5f, 0.5f, 0.5f }, std[3] = { 0.5f, 0.5f, 0.5f };
                float t[3 * 4 * 4];
                mv_image_to_tensor(&it.image, 4, mean, std, t);
            }
        }
        mv_dataset_close(ds);
    }
    unlink(path);
    return 0;
}
