/* mergeval/adapter.h — fine-tuning adapters (PEFT LoRA) as merge plugins and the CLI see
 * them: the parsed adapter_config.json, the LoRA modules with their tensors and effective
 * rank/alpha/scaling, PEFT's target-module matching, key_map prefix rewrites, and the
 * match/diagnosis of an adapter against a base model's tensor names.
 * Reading a file format is a loader plugin's job (e.g. "peft"); everything here is
 * format-neutral and lives in libmergeval. No merge math here (see the merge plugins). */
#ifndef MERGEVAL_ADAPTER_H
#define MERGEVAL_ADAPTER_H

#include <stddef.h>
#include <stdint.h>
#include "status.h"
#include "context.h"
#include "tensor.h"
#include "checkpoint.h"
#include "regex.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct mv_adapter mv_adapter;

/* ------------------------------------------------------------------ PEFT config */
/* A parsed LoraConfig (adapter_config.json). Absent fields take PEFT's defaults:
 * r 8, lora_alpha 8, use_rslora/fan_in_fan_out/use_dora false, everything else empty.
 * All strings and arrays are owned by the struct (mv_malloc), freed by mv_lora_config_free. */
typedef struct mv_lora_config {
    char *peft_type;              /* "LORA" (anything else is refused by the parser) */
    int r;                        /* default rank */
    double lora_alpha;            /* default alpha */
    int use_rslora;               /* scaling = alpha / sqrt(r) instead of alpha / r */
    int fan_in_fan_out;           /* base weights stored (in, out) (GPT-2 Conv1D) */
    int use_dora;
    /* target_modules: either a regex (target_regex != NULL) that must match the whole
     * module name, or a list (n_targets entries). Both empty = "not given" (PEFT would take
     * a per-architecture default; we then accept every module the adapter has weights for). */
    char *target_regex;
    char **targets;
    size_t n_targets;
    int target_all_linear;        /* target_modules == "all-linear" (matched by the loader's
                                     weights: every module that has LoRA tensors) */
    char *exclude_regex;          /* exclude_modules as a string (full-match regex) */
    char **excludes;              /* exclude_modules as a list */
    size_t n_excludes;
    int64_t *layers_to_transform; /* NULL/0 = all layers */
    size_t n_layers_to_transform;
    char **layers_pattern;        /* regexes naming the layer list ("layers", "h") */
    size_t n_layers_pattern;
    char **rank_pattern_keys;     /* rank_pattern: key regex -> r, in file order */
    int *rank_pattern_values;
    size_t n_rank_pattern;
    char **alpha_pattern_keys;    /* alpha_pattern: key regex -> alpha, in file order */
    double *alpha_pattern_values;
    size_t n_alpha_pattern;
    char **modules_to_save;       /* modules whose full weights the adapter carries */
    size_t n_modules_to_save;
    char *base_model_name_or_path; /* informational, may be NULL */
    char *json;                   /* the config text as read (for metadata and reports) */
    int lora_bias;                /* PEFT >= 0.14: lora_B has a bias, added (times the
                                     scaling) to the base layer's bias at merge time */
} mv_lora_config;

/* Parse adapter_config.json text into *out (zeroed first). `where` names the file for
 * messages. Errors: MV_E_FORMAT (not JSON, wrong field types — the message names the
 * field), MV_E_UNSUPPORTED (peft_type other than LORA: names the type and says only LoRA
 * adapters can be merged). On error *out is left empty (safe to free). */
mv_status mv_lora_config_parse(const char *json, const char *where, mv_lora_config *out,
                               mv_error *err);
void mv_lora_config_free(mv_lora_config *cfg);

/* Effective rank, alpha and scaling of a module after rank_pattern / alpha_pattern, as
 * PEFT resolves them: the first pattern key K (in file order) that equals the module name
 * or for which the regex ^(.*\.)?(K)$ matches it wins; otherwise r / lora_alpha.
 * scaling = alpha / r, or alpha / sqrt(r) with use_rslora. r <= 0 gives MV_E_FORMAT. */
mv_status mv_lora_config_module_scaling(const mv_lora_config *cfg, const char *module,
                                        int *r, double *alpha, double *scaling,
                                        mv_error *err);

/* PEFT's check_target_module_exists for one module name (in the adapter's namespace):
 * exclude_modules first (regex full match, or equal / ends with "." + entry), then
 * modules_to_save never targeted, then target_modules (regex full match, or list: equal /
 * ends with "." + entry, plus layers_to_transform/layers_pattern for the list form only,
 * the layer index being the first ".<pattern>.<digits>." segment). Sets *targeted to 1/0.
 * Regexes are Python `re` patterns matched with re.fullmatch semantics through PCRE2
 * (see regex.h: lookarounds, non-greedy quantifiers, `.` not matching "\n", limits).
 * Errors: MV_E_FORMAT for an invalid pattern, MV_E_INPUT for one over the limits. */
mv_status mv_lora_config_targets(const mv_lora_config *cfg, const char *module,
                                 int *targeted, mv_error *err);

/* ------------------------------------------------------------------ the adapter */
typedef enum mv_lora_kind {
    MV_LORA_LINEAR = 1,    /* A: (r, in)  B: (out, r)   base W: (out, in) ((in, out) with fan_in_fan_out) */
    MV_LORA_EMBEDDING = 2  /* A: (r, num_embeddings)  B: (embedding_dim, r)  base W: (num_embeddings, embedding_dim) */
} mv_lora_kind;

/* One LoRA module. Tensor infos and data point into the adapter's weights checkpoint
 * (mmap-backed, valid until mv_adapter_close). Data is raw bytes in info->dtype. */
typedef struct mv_lora_module {
    char *name;                    /* module name as the adapter spells it, without
                                      "base_model.model." (e.g. "model.layers.0.self_attn.q_proj") */
    mv_lora_kind kind;
    const mv_tensor_info *a;       /* lora_A / lora_embedding_A */
    const mv_tensor_info *b;       /* lora_B / lora_embedding_B */
    const void *a_data, *b_data;
    const mv_tensor_info *magnitude; /* DoRA lora_magnitude_vector (out,), or NULL */
    const void *magnitude_data;
    int r;                         /* effective rank (after rank_pattern; = A's rows) */
    double alpha;                  /* effective alpha (after alpha_pattern) */
    double scaling;                /* alpha/r or alpha/sqrt(r) */
    int fan_in_fan_out;            /* from the config (linear modules only) */
    const mv_tensor_info *b_bias;  /* lora_B.bias (out,) with lora_bias, or NULL (= zero) */
    const void *b_bias_data;
} mv_lora_module;

/* A full tensor carried by the adapter (modules_to_save): replaces the base's tensor. */
typedef struct mv_adapter_tensor {
    char *name;                    /* tensor name without "base_model.model." ("lm_head.weight") */
    const mv_tensor_info *info;
    const void *data;
} mv_adapter_tensor;

/* An open adapter. Filled by a loader plugin; read-only for everyone else. */
struct mv_adapter {
    void (*close)(mv_adapter *a);  /* MUST: free everything including a (loader's code) */
    void *impl;                    /* loader-private */
    char *path;                    /* the adapter directory */
    const char *format;            /* loader name ("peft") */
    mv_lora_config config;
    size_t n_modules;
    mv_lora_module *modules;       /* sorted by name */
    size_t n_tensors;
    mv_adapter_tensor *tensors;    /* modules_to_save tensors, sorted by name */
    mv_checkpoint *weights;        /* the adapter's tensor file, kept open for the data */
};

/* Open an adapter through the registry: `format` names an adapter loader ("peft") or is
 * NULL to pick the MV_LOADS_ADAPTER loader whose probe claims the path. *out is closed with
 * mv_adapter_close. Errors: MV_E_NOT_FOUND (path missing, no loader), MV_E_FORMAT (bad
 * config or tensors — names the file and the key), MV_E_UNSUPPORTED (not a LoRA adapter). */
mv_status mv_adapter_open(mv_context *ctx, const char *path, const char *format,
                          mv_adapter **out, mv_error *err);
/* Close (NULL is ignored). */
void mv_adapter_close(mv_adapter *a);
/* Index of the module named `name` (adapter spelling), or -1. */
long mv_adapter_find_module(const mv_adapter *a, const char *name);

/* ------------------------------------------------------------------ key_map */
/* Ordered prefix rewrites applied to adapter module names before matching: the FIRST
 * entry whose FROM is a prefix of the name applies (once); names no entry matches stay. */
typedef struct mv_key_map mv_key_map;

/* Parse a JSON object text {"FROM": "TO", ...} (order kept). NULL or "" or "{}" gives an
 * empty map. Errors: MV_E_INPUT naming `where` when not an object of strings. Free with
 * mv_key_map_free. */
mv_status mv_key_map_parse(const char *json, const char *where, mv_key_map **out,
                           mv_error *err);
void mv_key_map_free(mv_key_map *m);
size_t mv_key_map_count(const mv_key_map *m);
const char *mv_key_map_from(const mv_key_map *m, size_t i);
const char *mv_key_map_to(const mv_key_map *m, size_t i);
/* Rewrite name (mv_malloc'd result; NULL only on allocation failure). */
char *mv_key_map_apply(const mv_key_map *m, const char *name);
/* The inverse rewrite (first entry whose TO prefixes name: TO -> FROM), used to test a
 * base-model name against the adapter's own target_modules. mv_malloc'd. */
char *mv_key_map_unapply(const mv_key_map *m, const char *name);

/* ------------------------------------------------------------------ match + diagnosis */
typedef struct mv_adapter_binding {
    size_t module;          /* index into adapter->modules */
    char *target;           /* module name after key_map */
    char *tensor;           /* base tensor it changes: target + ".weight" */
    long base_index;        /* index into the base tensor list, -1 = not found */
    int shape_ok;           /* 1 when A/B/magnitude shapes fit the base tensor */
    int targeted;           /* 1 when target_modules selects it (checked in the adapter's
                               namespace); 0 = PEFT ignores these weights: not merged, and
                               not counted as unmatched / bad shape */
    char *problem;          /* NULL, or one line: why it does not fit (shapes named) */
    char *nearest[3];       /* unmatched only: closest base module names, or NULL */
} mv_adapter_binding;

typedef struct mv_adapter_saved_binding {
    size_t tensor;          /* index into adapter->tensors */
    char *target;           /* base tensor name after key_map */
    long base_index;        /* -1 = not found */
    int shape_ok;
} mv_adapter_saved_binding;

typedef struct mv_adapter_match {
    size_t n_bindings;
    mv_adapter_binding *bindings;          /* one per adapter module, same order */
    size_t n_saved;
    mv_adapter_saved_binding *saved;       /* one per modules_to_save tensor */
    size_t n_unmatched;                    /* targeted bindings with base_index < 0 (+ saved) */
    size_t n_bad_shape;                    /* targeted bindings found but with wrong shapes */
    size_t n_untargeted;                   /* bindings target_modules does not select */
    size_t n_config_targets_in_base;       /* base modules target_modules selects */
    /* Diagnosis (when something is unmatched): prefix rewrites that make the most modules
     * map, as a JSON object text ({"model.": "llm.model."}) and as CLI flags
     * ("--key-map model.=llm.model."), or NULL when no systematic difference was found.
     * suggestion_fixes = how many unmatched modules it maps. */
    char *suggested_key_map_json;
    char *suggested_key_map_flags;
    size_t suggestion_fixes;
    int all_mapped;                        /* 1 when everything maps with good shapes */
} mv_adapter_match;

/* Match every adapter module (after key_map) to the base tensor <module>.weight among
 * base[0..n_base), check shapes (linear A (r,in) / B (out,r) vs W (out,in), transposed
 * with fan_in_fan_out; embedding; DoRA magnitude (out,)), check target_modules against
 * the base's module names, and diagnose what does not fit. key_map may be NULL.
 * Returns MV_OK even when modules do not map (look at all_mapped); errors are only
 * allocation/regex failures. Free with mv_adapter_match_free. */
mv_status mv_adapter_match_base(const mv_adapter *a, const mv_tensor_info *base,
                                size_t n_base, const mv_key_map *key_map,
                                mv_adapter_match **out, mv_error *err);
void mv_adapter_match_free(mv_adapter_match *m);

/* The match as JSON (mv_malloc'd): {"adapter", "all_mapped", "modules": [{"module",
 * "target", "tensor", "rank", "alpha", "scaling", "a_shape", "b_shape", "base_shape",
 * "status"}...], "modules_to_save": [...], "unmatched": [{"module", "nearest": [...]}],
 * "suggested_key_map": {...} | null, "suggested_flags": "..."}. NULL on allocation failure. */
char *mv_adapter_match_json(const mv_adapter *a, const mv_adapter_match *m,
                            const mv_tensor_info *base, size_t n_base);
/* One line for a warning when the adapter file holds LoRA modules its target_modules
 * (after exclude_modules / layers_to_transform) do not select — PEFT never creates those
 * layers, so they are not merged: "N LoRA module(s) ... not merged: a, b, c (+K more)".
 * mv_malloc'd; NULL when there are none (or on allocation failure). */
char *mv_adapter_match_untargeted_summary(const mv_adapter *a, const mv_adapter_match *m);

/* Fill err with the "target modules not found" diagnosis when !all_mapped (MV_E_INPUT):
 * counts, the first unmatched modules with their nearest base names, and the key_map that
 * fixes it ("add \"key_map\": {\"model.\": \"llm.model.\"} (CLI: --key-map model.=llm.model.)").
 * Returns MV_OK and leaves err alone when everything maps. */
mv_status mv_adapter_match_error(const mv_adapter *a, const mv_adapter_match *m,
                                 const mv_tensor_info *base, size_t n_base, mv_error *err);

#ifdef __cplusplus
}
#endif
#endif
