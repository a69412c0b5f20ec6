/* plugins/datasets/image_stb.c — the plugin's own, trimmed stb_image: GIF (first frame),
 * BMP and TGA only (PNG and JPEG go to libpng / libjpeg-turbo, see image_decode.c), all
 * functions static, dimensions capped. Callers check the header limits before decoding. */
#include <stdint.h>
#include <stdlib.h>
#include "image_codecs.h"

#define STB_IMAGE_IMPLEMENTATION
#define STB_IMAGE_STATIC
#define STBI_ONLY_GIF
#define STBI_ONLY_BMP
#define STBI_ONLY_TGA
#define STBI_NO_STDIO
#define STBI_NO_LINEAR
#define STBI_NO_HDR
#define STBI_MAX_DIMENSIONS DS_IMAGE_MAX_SIDE_CAP
/* stb declares every public function; the ones not used here stay undefined (static) */
#pragma GCC diagnostic ignored "-Wunused-function"
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wshadow"
#pragma GCC diagnostic ignored "-Wsign-compare"
#pragma GCC diagnostic ignored "-Wimplicit-fallthrough"
#pragma GCC diagnostic ignored "-Wstrict-prototypes"
#include <stb/stb_image.h>
#pragma GCC diagnostic pop

uint8_t *ds_stb_decode(const uint8_t *data, size_t len, int *w, int *h, int *n, const char **why)
{
    if (len > INT32_MAX) { *why = "file too large"; return NULL; }
    unsigned char *px = stbi_load_from_memory(data, (int)len, w, h, n, 0);
    if (!px) *why = stbi_failure_reason();
    return px;
}

void ds_stb_free(uint8_t *px) { stbi_image_free(px); }
