/* tests/fuzz/fuzz_safetensors.c — the safetensors reader on arbitrary bytes: the header
 * parser on the buffer itself, then the loader on the same bytes as a file (validation,
 * mmap, metadata, name look-up, raw access and F32 conversion of every tensor). An input
 * starting with '{' is also tried as a sharded index (model.safetensors.index.json) beside
 * two fixed valid shards, so the index rules (paths, weight_map, shard checks) are covered.
 * The plugin's sources are compiled into this binary (tests/fuzz/fuzz_safetensors.mk). */
#include <stdint.h>
#include <string.h>
#include "fuzz_util.h"
#include "../../plugins/safetensors/st_internal.h"

static mv_context *ctx;
static mv_params *params;

/* A valid single-tensor safetensors file: header JSON, padded with spaces to a multiple of
 * 8 bytes as the writer does, then `nbytes` of data. */
static void write_shard(const char *name, const char *header, size_t nbytes)
{
    unsigned char buf[512];
    size_t h = strlen(header), pad = (8 - h % 8) % 8;
    uint64_t n = h + pad;
    for (int i = 0; i < 8; i++) buf[i] = (unsigned char)(n >> (8 * i));
    memcpy(buf + 8, header, h);
    memset(buf + 8 + h, ' ', pad);
    for (size_t i = 0; i < nbytes; i++) buf[8 + n + i] = (unsigned char)(0x3c + i);
    char path[512];
    fz_write(fz_path(path, sizeof path, name), buf, 8 + n + nbytes);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc; (void)argv;
    ctx = fz_context(NULL);
    mv_error err = { 0 };
    if (mv_params_parse(&params, st_component()->params, NULL, "$", &err) != MV_OK) abort();
    write_shard("model-00001-of-00002.safetensors",
                "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", 8);
    write_shard("model-00002-of-00002.safetensors",
                "{\"__metadata__\":{\"k\":\"v\"},\"b\":{\"dtype\":\"BF16\",\"shape\":[1,2],\"data_offsets\":[0,4]}}", 4);
    return 0;
}

static void open_and_read(const char *path)
{
    mv_checkpoint *ck = NULL;
    mv_error err = { 0 };
    if (st_open(ctx, path, params, &ck, &err) != MV_OK) return;
    for (size_t i = 0; i < ck->n_tensors; i++) {
        const mv_tensor_info *t = &ck->tensors[i];
        if (mv_checkpoint_find(ck, t->name) < 0) abort();   /* every listed name is found */
        const unsigned char *p = mv_checkpoint_data(ck, i, &err);
        if (!p) continue;
        unsigned sum = 0;
        for (uint64_t b = 0; b < t->nbytes; b++) sum += p[b];   /* touch every byte */
        (void)sum;
        if (mv_dtype_is_float_math(t->dtype) && t->nbytes <= ((uint64_t)64 << 20)) {
            size_t numel = (size_t)(t->nbytes / mv_dtype_size(t->dtype));
            float *f = mv_malloc(numel ? numel * sizeof *f : 1);
            if (f) mv_checkpoint_read_f32(ck, i, f, &err);
            mv_free(f);
        }
        mv_checkpoint_release(ck, i);
    }
    for (size_t i = 0; i < ck->n_metadata; i++) (void)mv_checkpoint_metadata(ck, ck->metadata_keys[i]);
    mv_checkpoint_close(ck);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    st_header h = { 0 };
    mv_error err = { 0 };
    if (st_parse("fuzz.safetensors", data, size, &h, &err) == MV_OK) st_header_free(&h);

    char path[512];
    int is_index = size > 0 && data[0] == '{';
    /* Only one of the two names exists at a time, so no run depends on an earlier input. */
    unlink(fz_path(path, sizeof path, is_index ? "model.safetensors" : "model.safetensors.index.json"));
    fz_path(path, sizeof path, is_index ? "model.safetensors.index.json" : "model.safetensors");
    fz_write(path, data, size);
    open_and_read(path);
    return 0;
}
