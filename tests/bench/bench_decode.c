/* tests/bench/bench_decode.c — image decode + resize rate of the imagetext loader: open a
 * dataset with verify "decode" (every PNG decoded and alpha-composited) and turn every image
 * into the model's normalised 32x32 tensor with mv_image_to_tensor. Prints one JSON line.
 * Usage: bench_decode DATASET.jsonl [SIZE] */
#include <stdio.h>
#include <stdlib.h>
#include <mergeval/mergeval.h>
#include "mv_registry_host.h"

int main(int argc, char **argv)
{
    if (argc < 2) { fprintf(stderr, "usage: bench_decode DATASET.jsonl [SIZE]\n"); return 2; }
    int size = argc > 2 ? atoi(argv[2]) : 32;
    mv_error err = {0};
    mv_registry *reg;
    mv_context *ctx;
    mv_registry_new(&reg, &err);
    mv_registry_discover(reg, NULL, 0, stderr, NULL);
    mv_context_new(&ctx, reg, &err);
    mv_context_set_log_level(ctx, MV_LOG_ERROR);
    double t0 = mv_now();
    mv_dataset *ds = NULL;
    if (mv_dataset_open(ctx, argv[1], "imagetext", "{\"verify\":\"decode\"}", &ds, &err)) {
        fprintf(stderr, "%s\n", err.msg);
        return 3;
    }
    double t1 = mv_now();
    static const float mean[3] = {0.5f, 0.5f, 0.5f}, std[3] = {0.5f, 0.5f, 0.5f};
    float *dst = malloc(sizeof(float) * 3 * size * size);
    double checksum = 0;
    size_t n = 0;
    int w = 0;
    for (size_t i = 0; i < ds->n_items; i++) {
        mv_item it;
        if (mv_dataset_get(ds, i, &it, &err) || !it.has_image) continue;
        mv_image_to_tensor(&it.image, size, mean, std, dst);
        checksum += dst[0];
        w = it.image.width;
        n++;
    }
    double t2 = mv_now();
    printf("{\"images\": %zu, \"source_px\": %d, \"seconds\": %.4f, \"decode_s\": %.4f, "
           "\"resize_s\": %.4f, \"checksum\": %.3f}\n", n, w, t2 - t0, t1 - t0, t2 - t1, checksum);
    mv_dataset_close(ds);
    free(dst);
    mv_context_free(ctx);
    mv_registry_free(reg);
    return 0;
}
