/* mergeval/params.h — declared parameters of a component and the validated values a
 * component receives. The core validates a pipeline or CLI config against the declared
 * specs (types, ranges, choices, unknown keys) and fills in defaults before any plugin runs,
 * so plugins read values without re-checking types. */
#ifndef MERGEVAL_PARAMS_H
#define MERGEVAL_PARAMS_H

#include <stddef.h>
#include <stdint.h>
#include "status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum mv_param_type {
    MV_PARAM_BOOL = 1,
    MV_PARAM_INT,       /* JSON integer (int64) */
    MV_PARAM_FLOAT,     /* JSON number */
    MV_PARAM_STRING,
    MV_PARAM_ENUM,      /* a string from `choices` */
    MV_PARAM_JSON       /* any JSON value (objects, arrays, per-layer lists, ...) */
} mv_param_type;

/* One declared parameter. Arrays of these end with an entry whose name is NULL. */
typedef struct mv_param_spec {
    const char *name;
    mv_param_type type;
    const char *default_json; /* JSON text of the default, or NULL when required/absent */
    const char *doc;          /* one sentence for `mergeval plugins` and the README */
    const char *choices;      /* MV_PARAM_ENUM: "a|b|c"; otherwise NULL */
    double min, max;          /* numeric bounds, inclusive; ignored when min > max */
    int required;             /* non-zero: must be given, default_json ignored */
} mv_param_spec;

/* Validated parameter values (opaque). Owned by the core; valid for the duration of the
 * call that received it unless copied with mv_params_dup. */
typedef struct mv_params mv_params;

/* Validate a JSON object (text) against specs and build the values, defaults filled in.
 * where names the JSON path of the object for messages ("$.train.params"). Errors name the
 * full path: "$.train.params.lr: expected number, got string \"1e-4\"". Unknown keys are
 * errors that list the known ones. json may be NULL or "" for "no parameters given". */
mv_status mv_params_parse(mv_params **out, const mv_param_spec *specs, const char *json,
                          const char *where, mv_error *err);
mv_params *mv_params_dup(const mv_params *p);
void mv_params_free(mv_params *p);

/* Whether the user gave the parameter explicitly (not just its default). */
int mv_params_given(const mv_params *p, const char *name);
/* Typed getters. Asking for an undeclared name or the wrong type is a programming error:
 * they return the fallback (false/0/NaN/NULL) and log a warning. Strings are owned by p. */
int mv_params_bool(const mv_params *p, const char *name);
int64_t mv_params_int(const mv_params *p, const char *name);
double mv_params_float(const mv_params *p, const char *name);
const char *mv_params_string(const mv_params *p, const char *name); /* also ENUM */
/* JSON text of any parameter (always available, owned by p); NULL if absent with no
 * default. Parse it with cJSON when the value is structured. */
const char *mv_params_json(const mv_params *p, const char *name);
/* The whole validated object as JSON text (owned by p), e.g. to record in metadata. */
const char *mv_params_to_json(const mv_params *p);

#ifdef __cplusplus
}
#endif
#endif
