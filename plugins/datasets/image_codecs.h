/* plugins/datasets/image_codecs.h — the image decoders behind ds_decode_image: header
 * sniffing with size/frame limits (image_header.c), libpng, libjpeg-turbo (image_decode.c)
 * and the trimmed stb_image for GIF/BMP/TGA (image_stb.c). Plugin-local. */
#ifndef DS_IMAGE_CODECS_H
#define DS_IMAGE_CODECS_H

#include <stddef.h>
#include <stdint.h>
#include <mergeval/status.h>

/* Hard ceiling on a side whatever max_image_side says (stb and libpng are built with it). */
#define DS_IMAGE_MAX_SIDE_CAP 65535

typedef enum ds_image_format { DS_IMG_PNG = 1, DS_IMG_JPEG, DS_IMG_GIF, DS_IMG_BMP, DS_IMG_TGA } ds_image_format;

/* What the header says, read without decoding any pixel. */
typedef struct ds_image_header {
    ds_image_format format;
    uint32_t width, height;
    uint32_t frames;          /* GIF image descriptors / APNG num_frames; 1 otherwise */
} ds_image_header;

/* Sniff the format and read width, height and frame count from data[0..len): PNG IHDR and
 * an acTL chunk before IDAT (APNG), the JPEG SOF marker, the GIF screen descriptor and its
 * image descriptors, the BMP info header, the TGA header. Never allocates. Errors:
 * MV_E_FORMAT (not a supported image / header truncated or inconsistent). */
mv_status ds_image_read_header(const uint8_t *data, size_t len, ds_image_header *h,
                               mv_error *err);
const char *ds_image_format_name(ds_image_format f);

/* GIF/BMP/TGA through stb: 8-bit pixels with *n native channels (1-4), or NULL and *why. */
uint8_t *ds_stb_decode(const uint8_t *data, size_t len, int *w, int *h, int *n, const char **why);
void ds_stb_free(uint8_t *px);

#endif
