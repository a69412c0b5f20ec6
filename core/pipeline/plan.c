/* core/pipeline/plan.c — the ordered list of stages a pipeline runs. Iteration 0 evaluates
 * the base; iteration k >= 1: merge (only in iteration 1 unless "at": "every", so the same
 * adapter is not applied twice), evaluate the merged model, retrain, apply the trained LoRA
 * ("apply"), evaluate. Stage ids double as output directories inside the run directory. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "runner_internal.h"

const char *mv_stage_kind_name(stage_kind k)
{
    switch (k) {
    case STAGE_EVAL: return "eval";
    case STAGE_MERGE: return "merge";
    case STAGE_TRAIN: return "train";
    default: return "apply";
    }
}

static stage *push(stage **v, size_t *n, size_t *cap)
{
    if (*n == *cap) {
        *cap = *cap ? *cap * 2 : 16;
        *v = realloc(*v, *cap * sizeof **v);
    }
    stage *s = &(*v)[(*n)++];
    memset(s, 0, sizeof *s);
    return s;
}

static void add_evals(const mv_pipeline *p, stage **v, size_t *n, size_t *cap, int iter,
                      const char *group, const char *label)
{
    for (size_t i = 0; i < p->n_evals; i++) {
        stage *s = push(v, n, cap);
        s->kind = STAGE_EVAL;
        s->iteration = iter;
        s->eval_index = i;
        s->plugin = p->evals[i].plugin;
        s->launcher_json = p->evals[i].launcher_json;
        s->shards = p->evals[i].shards ? p->evals[i].shards : 1;
        snprintf(s->group, sizeof s->group, "%s", group);
        snprintf(s->label, sizeof s->label, "%s", label);
        snprintf(s->id, sizeof s->id, "%s/%s", group, p->evals[i].name);
    }
}

stage *mv_runner_plan(const mv_pipeline *p, size_t *n_out)
{
    stage *v = NULL;
    size_t n = 0, cap = 0;
    add_evals(p, &v, &n, &cap, 0, "iter-0/eval", "baseline");
    for (int k = 1; k <= p->iterations; k++) {
        char group[96], label[64];
        if (p->has_merge && (k == 1 || p->merge_every)) {
            stage *s = push(&v, &n, &cap);
            s->kind = STAGE_MERGE;
            s->iteration = k;
            s->plugin = p->merge_strategy;
            s->launcher_json = p->merge_launcher_json;
            snprintf(s->id, sizeof s->id, "iter-%d/merge", k);
            snprintf(group, sizeof group, "iter-%d/eval-merged", k);
            snprintf(label, sizeof label, "iter %d merged", k);
            add_evals(p, &v, &n, &cap, k, group, label);
        }
        if (p->has_train) {
            stage *s = push(&v, &n, &cap);
            s->kind = STAGE_TRAIN;
            s->iteration = k;
            s->plugin = p->trainer;
            s->launcher_json = p->train_launcher_json;
            snprintf(s->id, sizeof s->id, "iter-%d/train", k);
            s = push(&v, &n, &cap);
            s->kind = STAGE_APPLY;
            s->iteration = k;
            s->plugin = p->adapter_merge;
            snprintf(s->id, sizeof s->id, "iter-%d/model", k);
            snprintf(group, sizeof group, "iter-%d/eval-retrained", k);
            snprintf(label, sizeof label, "iter %d retrained", k);
            add_evals(p, &v, &n, &cap, k, group, label);
        }
    }
    /* Stages without their own launcher (and apply, a quick merge) use the pipeline's. */
    for (size_t i = 0; i < n; i++) {
        if (!v[i].launcher_json) v[i].launcher_json = p->launcher_json;
        if (!v[i].shards) v[i].shards = 1;
    }
    /* Seeds: a fixed function of the pipeline seed and the stage's position, so a resumed
     * run gives every stage the same seed as an uninterrupted one. */
    for (size_t i = 0; i < n; i++) v[i].seed = p->seed * 1000003ull + (uint64_t)i * 7919ull + 1;
    /* An evaluator uses the same seed at every point (same distractors, same sampled
     * items), otherwise item-by-item comparison across points would not be paired. */
    for (size_t i = 0; i < n; i++)
        if (v[i].kind == STAGE_EVAL) v[i].seed = p->seed * 1000003ull + v[i].eval_index + 17;
    *n_out = n;
    return v;
}
