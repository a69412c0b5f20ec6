/* plugins/evaluators/plugin.c — the evaluators plugin's entry point: alignment, caption-nll,
 * caption-gen, perplexity, exec and lm-eval, with their declared parameters. The evaluators themselves
 * are one file each. */
#include <mergeval/mergeval.h>
#include "ev_internal.h"

#define END_PARAMS {NULL, 0, NULL, NULL, NULL, 0, 0, 0}
#define BATCH(def) {"batch_size", MV_PARAM_INT, def, "Sequences per model call", NULL, 1, 4096, 0}

static const mv_param_spec alignment_params[] = {
    {"distractors", MV_PARAM_JSON, "15",
     "Distractors per query: a positive integer K (seeded per item) or \"all\" (full matrix)",
     NULL, 0, -1, 0},
    {"score", MV_PARAM_ENUM, "\"mean\"",
     "How a caption is scored given an image: mean or sum of its token log-probabilities",
     "mean|sum", 0, -1, 0},
    {"append_eos", MV_PARAM_BOOL, "true",
     "Score the end-of-sequence token after the caption (so a caption's prefix does not win)",
     NULL, 0, -1, 0},
    {"directions", MV_PARAM_ENUM, "\"both\"", "Which retrieval directions to run",
     "both|i2t|t2i", 0, -1, 0},
    {"candidates", MV_PARAM_ENUM, "\"independent\"",
     "How the distractors are chosen: independent draws per item and direction, or galleries "
     "of distractors + 1 pairs with different captions in which both directions rank over the "
     "same scores (about half the pairs to score)", "independent|galleries", 0, -1, 0},
    {"caption_metrics", MV_PARAM_BOOL, "false",
     "Also report the true captions' NLL (caption_nll_per_token, caption_perplexity, "
     "caption_nll_per_caption: caption-nll's metrics, from scores retrieval computes anyway)",
     NULL, 0, -1, 0},
    BATCH("32"),
    END_PARAMS
};

static const mv_param_spec caption_nll_params[] = {
    {"append_eos", MV_PARAM_BOOL, "true", "Include the end-of-sequence token in the NLL",
     NULL, 0, -1, 0},
    BATCH("32"),
    END_PARAMS
};

static const mv_param_spec caption_gen_params[] = {
    {"max_tokens", MV_PARAM_INT, "48", "Longest caption generated (tokens)", NULL, 1, 4096, 0},
    BATCH("16"),
    END_PARAMS
};

static const mv_param_spec perplexity_params[] = {
    {"append_eos", MV_PARAM_BOOL, "false",
     "Also score an end-of-sequence token after each document (lm-eval does not)", NULL, 0, -1, 0},
    {"window", MV_PARAM_INT, "0",
     "Tokens per scoring window for long documents (0 = the model's max_seq); later windows "
     "carry half a window of context", NULL, 0, 1000000, 0},
    BATCH("16"),
    END_PARAMS
};

static const mv_param_spec exec_params[] = {
    {"command", MV_PARAM_JSON, NULL,
     "argv list (no shell); {model} {dataset} {out} {shard_index} {shard_count} {seed} are "
     "substituted", NULL, 0, -1, 1},
    {"timeout", MV_PARAM_FLOAT, "3600", "Seconds before the process group is killed", NULL,
     0.001, 1e9, 0},
    {"env", MV_PARAM_JSON, "[\"PATH\",\"HOME\",\"LANG\",\"LC_ALL\",\"TMPDIR\",\"USER\","
     "\"CUDA_VISIBLE_DEVICES\",\"SLURM_JOB_ID\",\"PYTHONPATH\"]",
     "Environment variables passed through (everything else is dropped)", NULL, 0, -1, 0},
    {"set_env", MV_PARAM_JSON, "{}", "Extra environment variables {NAME: value} (substituted)",
     NULL, 0, -1, 0},
    {"metrics_file", MV_PARAM_STRING, "\"\"",
     "Read the metrics JSON object from this file instead of stdout (substituted)", NULL, 0, -1, 0},
    {"items_file", MV_PARAM_STRING, "\"\"",
     "Per-item JSONL written by the command ({\"id\", numeric fields or \"scores\"})", NULL, 0,
     -1, 0},
    {"directions", MV_PARAM_JSON, "{}",
     "Direction per metric name, {\"loss\": \"lower\"} (default higher)", NULL, 0, -1, 0},
    END_PARAMS
};

static const mv_param_spec lmeval_params[] = {
    {"path", MV_PARAM_STRING, "\"\"",
     "The folder given to lm_eval --output_path (with --log_samples), its model subfolder, or "
     "a results_*.json file; {out} = this evaluation's output folder. Default with a command: "
     "{out}", NULL, 0, -1, 0},
    {"timestamp", MV_PARAM_STRING, "\"latest\"",
     "Which results_<timestamp>.json to import when there are several: latest or the exact "
     "timestamp (e.g. 2024-05-01T12-00-00.123456)", NULL, 0, -1, 0},
    {"command", MV_PARAM_JSON, "[]",
     "Run the harness first: argv list (no shell), {model} {out} {seed} substituted, e.g. "
     "[\"lm_eval\",\"--model\",\"hf\",\"--model_args\",\"pretrained={model}\",\"--tasks\","
     "\"gsm8k\",\"--log_samples\",\"--output_path\",\"{out}\"]; [] = import only", NULL, 0, -1, 0},
    {"timeout", MV_PARAM_FLOAT, "86400", "Seconds before the harness's process group is killed",
     NULL, 0.001, 1e9, 0},
    {"env", MV_PARAM_JSON, "[\"PATH\",\"HOME\",\"LANG\",\"LC_ALL\",\"TMPDIR\",\"USER\","
     "\"CUDA_VISIBLE_DEVICES\",\"SLURM_JOB_ID\",\"PYTHONPATH\",\"HF_HOME\",\"HF_DATASETS_CACHE\","
     "\"HF_HUB_OFFLINE\",\"HF_DATASETS_OFFLINE\"]",
     "Environment variables passed through to the harness (everything else is dropped)", NULL,
     0, -1, 0},
    {"set_env", MV_PARAM_JSON, "{}", "Extra environment variables {NAME: value} (substituted)",
     NULL, 0, -1, 0},
    END_PARAMS
};

/* The metric names each run() can define (checked against gates before a run starts;
 * tests/test_evaluators.c asserts a real evaluation defines nothing outside its list). */
static const char *const alignment_metrics[] = {"i2t_r1", "i2t_r5", "i2t_mrr", "i2t_margin",
    "t2i_r1", "t2i_r5", "t2i_mrr", "t2i_margin", "caption_nll_per_token", "caption_perplexity",
    "caption_nll_per_caption", NULL}; /* the last three with caption_metrics */
static const char *const caption_nll_metrics[] = {"nll_per_token", "perplexity", "nll_per_caption", NULL};
static const char *const caption_gen_metrics[] = {"exact_match", "token_f1", NULL};
static const char *const perplexity_metrics[] = {"perplexity", "word_perplexity", "byte_perplexity",
    "bits_per_byte", NULL};
static const mv_evaluator_vtable alignment_vt = {sizeof(mv_evaluator_vtable), 1, 1, ev_alignment_run, alignment_metrics};
static const mv_evaluator_vtable caption_nll_vt = {sizeof(mv_evaluator_vtable), 1, 1, ev_caption_nll_run, caption_nll_metrics};
static const mv_evaluator_vtable caption_gen_vt = {sizeof(mv_evaluator_vtable), 1, 1, ev_caption_gen_run, caption_gen_metrics};
static const mv_evaluator_vtable perplexity_vt = {sizeof(mv_evaluator_vtable), 1, 1, ev_perplexity_run, perplexity_metrics};
/* exec and lm-eval: the names come from the command's / harness's output. */
static const mv_evaluator_vtable exec_vt = {sizeof(mv_evaluator_vtable), 0, 0, ev_exec_run, NULL};
static const mv_evaluator_vtable lmeval_vt = {sizeof(mv_evaluator_vtable), 0, 0, ev_lmeval_run, NULL};

static const mv_component components[] = {
    MV_COMPONENT_INIT(MV_KIND_EVALUATOR, "alignment", "1.0.0",
                      "Image-text retrieval by caption log-likelihood: R@1, R@5, MRR, margin "
                      "(image->text and text->image)", alignment_params, &alignment_vt),
    MV_COMPONENT_INIT(MV_KIND_EVALUATOR, "caption-nll", "1.0.0",
                      "Negative log-likelihood per token of the reference caption given its image",
                      caption_nll_params, &caption_nll_vt),
    MV_COMPONENT_INIT(MV_KIND_EVALUATOR, "caption-gen", "1.0.0",
                      "Greedy captioning scored by exact match and token F1 (texts in items.jsonl)",
                      caption_gen_params, &caption_gen_vt),
    MV_COMPONENT_INIT(MV_KIND_EVALUATOR, "perplexity", "1.0.0",
                      "Token/word/byte perplexity and bits per byte (lm-eval-harness definitions)",
                      perplexity_params, &perplexity_vt),
    MV_COMPONENT_INIT(MV_KIND_EVALUATOR, "exec", "1.0.0",
                      "Run an external command (argv, timeout, env allow-list) and read its JSON "
                      "metrics", exec_params, &exec_vt),
    MV_COMPONENT_INIT(MV_KIND_EVALUATOR, "lm-eval", "1.0.0",
                      "Import lm-evaluation-harness results + --log_samples per-sample records "
                      "(paired statistics per item)", lmeval_params, &lmeval_vt),
};

MV_EXPORT const mv_component *mergeval_plugin_component(uint32_t i)
{
    return i < sizeof components / sizeof components[0] ? &components[i] : NULL;
}
