/* mergeval/jsonnum.h — the one way an integer is taken from a JSON number (cJSON keeps
 * numbers as doubles): finite, integral and inside a range, so a huge value in a config or
 * a data file is an error naming its key instead of wrapping (r = 1e10 used to become
 * -2147483648). */
#ifndef MERGEVAL_JSONNUM_H
#define MERGEVAL_JSONNUM_H

#include <stdint.h>
#include "status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Doubles hold every integer up to 2^53; ranges are clamped to ±2^53. */
#define MV_JSON_INT_MAX 9007199254740992LL

/* 1 and *out = v when v is finite, integral and lo <= v <= hi; else 0 (*out untouched). */
int mv_json_int(double v, int64_t lo, int64_t hi, int64_t *out);
/* The same as a status: MV_E_FORMAT "WHAT: expected an integer from LO to HI, got V"
 * (what names the file and key, e.g. "adapter_config.json: \"r\""). */
mv_status mv_json_int_checked(double v, int64_t lo, int64_t hi, const char *what, int64_t *out,
                              mv_error *err);

#ifdef __cplusplus
}
#endif
#endif
