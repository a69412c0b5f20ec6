/* tests/fuzz/fuzz_image.c — libFuzzer harness for the image loader's decoding path
 * (plugins/datasets/image_decode.c: header checks, libpng, libjpeg-turbo, stb GIF/BMP/TGA)
 * on bytes in memory. Build with the datasets plugin's sources (image_*.c) and
 * -lpng16 -ljpeg. Limits are lowered so the fuzzer explores decoders, not allocation. */
#include <stdint.h>
#include <stdlib.h>
#include "../../plugins/datasets/ds_internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const ds_image_limits lim = { 1u << 20, 4096 };
    static const uint8_t bg[3] = { 10, 200, 30 };
    uint8_t *rgb = NULL;
    int w = 0, h = 0;
    mv_error err = { 0 };
    if (ds_decode_image_data(data, size, &lim, bg, &rgb, &w, &h, &err) == MV_OK) {
        volatile unsigned sum = 0;   /* touch every output byte (ASan checks the size) */
        for (size_t i = 0; i < (size_t)w * h * 3; i++) sum += rgb[i];
        free(rgb);
    }
    return 0;
}
