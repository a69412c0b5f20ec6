/* plugins/exectrain/loss.c — the loss curve of an external trainer: HF Trainer's
 * trainer_state.json (log_history entries with "loss"; evaluation and summary entries have
 * none and are skipped) or a train_log.jsonl the command wrote, converted to the native
 * trainer's train_log.jsonl so reports treat both alike. */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cjson/cJSON.h>
#include "xt.h"

/* Python's json.dumps writes NaN / Infinity / -Infinity (a diverged loss); cJSON does not
 * read them. Rewrite such bare tokens (outside strings) as null. malloc'd. */
static char *nonfinite_to_null(const char *t)
{
    size_t n = strlen(t);
    char *o = malloc(n + n / 2 + 8), *w = o;
    if (!o) return NULL;
    int in_str = 0, esc = 0;
    for (const char *s = t; *s;) {
        if (in_str) {
            if (esc) esc = 0;
            else if (*s == '\\') esc = 1;
            else if (*s == '"') in_str = 0;
            *w++ = *s++;
            continue;
        }
        const char *tok[] = {"-Infinity", "Infinity", "NaN"};
        int hit = 0;
        for (int k = 0; k < 3 && !hit; k++) {
            size_t l = strlen(tok[k]);
            if (!strncmp(s, tok[k], l)) { memcpy(w, "null", 4); w += 4; s += l; hit = 1; }
        }
        if (hit) continue;
        if (*s == '"') in_str = 1;
        *w++ = *s++;
    }
    *w = 0;
    return o;
}

static void sbl_add(xt_log *b, const char *t)
{
    size_t l = strlen(t);
    if (b->oom) return;
    if (b->n + l + 1 > b->cap) {
        size_t c = b->cap ? b->cap * 2 : 4096;
        while (c < b->n + l + 1) c *= 2;
        char *s = realloc(b->s, c);
        if (!s) { b->oom = 1; return; }
        b->s = s;
        b->cap = c;
    }
    memcpy(b->s + b->n, t, l + 1);
    b->n += l;
}

static double num(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsNumber(v) ? v->valuedouble : NAN;
}

/* One line of the native train_log.jsonl. Numbers are printed exactly (%.17g; cJSON's own
 * printer rounds), so the curve equals the trainer's to the last bit. */
static void add_line(xt_log *out, double step, double loss, double lr, double gnorm,
                     double epoch)
{
    if (!isfinite(step)) return;  /* an entry without a step is no point of the curve */
    char line[512];
    int n = snprintf(line, sizeof line, "{\"step\":%.17g", step);
    if (isfinite(loss)) n += snprintf(line + n, sizeof line - (size_t)n, ",\"loss\":%.17g", loss);
    else n += snprintf(line + n, sizeof line - (size_t)n, ",\"loss\":null");
    if (isfinite(lr)) n += snprintf(line + n, sizeof line - (size_t)n, ",\"lr\":%.17g", lr);
    if (isfinite(gnorm)) n += snprintf(line + n, sizeof line - (size_t)n, ",\"grad_norm\":%.17g", gnorm);
    if (isfinite(epoch)) n += snprintf(line + n, sizeof line - (size_t)n, ",\"epoch\":%.17g", epoch);
    snprintf(line + n, sizeof line - (size_t)n, "}\n");
    sbl_add(out, line);
    if (out->n_lines++ == 0) out->first_loss = loss;
    out->last_loss = loss;
    out->last_step = step;
}

/* trainer_state.json text → lines. Returns 0 when it is not a TrainerState. */
static int from_trainer_state(const char *text, xt_log *lines, int64_t *global_step, char *why,
                              size_t why_cap, const char *path)
{
    char *clean = nonfinite_to_null(text);
    cJSON *st = clean ? cJSON_Parse(clean) : NULL;
    free(clean);
    const cJSON *hist = cJSON_GetObjectItemCaseSensitive(st, "log_history");
    if (!cJSON_IsArray(hist)) {
        snprintf(why, why_cap, "%s is %s", path, st ? "not a TrainerState (no \"log_history\" list)"
                                                    : "not valid JSON");
        cJSON_Delete(st);
        return 0;
    }
    const cJSON *e;
    cJSON_ArrayForEach(e, hist) {
        /* eval entries carry eval_loss, the final summary train_loss: neither is a step's loss */
        if (!cJSON_IsObject(e) || !cJSON_GetObjectItemCaseSensitive(e, "loss")) continue;
        add_line(lines, num(e, "step"), num(e, "loss"), num(e, "learning_rate"), num(e, "grad_norm"),
                 num(e, "epoch"));
    }
    double gs = num(st, "global_step");
    *global_step = gs >= 0 && gs < 9e18 ? (int64_t)gs : 0;
    cJSON_Delete(st);
    return 1;
}

/* a train_log.jsonl the command wrote itself: {"step", "loss", "lr"|"learning_rate", ...} */
static int from_jsonl(char *text, xt_log *lines, char *why, size_t why_cap, const char *path)
{
    int lineno = 0;
    for (char *p = text; p && *p;) {
        char *nl = strchr(p, '\n');
        if (nl) *nl = 0;
        lineno++;
        if (strspn(p, " \t\r") != strlen(p)) {
            char *clean = nonfinite_to_null(p);
            cJSON *o = clean ? cJSON_Parse(clean) : NULL;
            free(clean);
            if (!cJSON_IsObject(o) || !cJSON_IsNumber(cJSON_GetObjectItemCaseSensitive(o, "step"))) {
                snprintf(why, why_cap, "%s:%d is not a {\"step\", \"loss\", ...} object", path, lineno);
                cJSON_Delete(o);
                return 0;
            }
            if (cJSON_GetObjectItemCaseSensitive(o, "loss")) {
                double lr = num(o, "lr");
                if (!isfinite(lr)) lr = num(o, "learning_rate");
                add_line(lines, num(o, "step"), num(o, "loss"), lr, num(o, "grad_norm"), num(o, "epoch"));
            }
            cJSON_Delete(o);
        }
        p = nl ? nl + 1 : NULL;
    }
    return 1;
}

int xt_convert_log(char *text, int jsonl, const char *path, xt_log *out, int64_t *global_step,
                   char *why, size_t why_cap)
{
    *global_step = 0;
    return jsonl ? from_jsonl(text, out, why, why_cap, path)
                 : from_trainer_state(text, out, global_step, why, why_cap, path);
}

mv_status xt_import_loss(const char *out_dir, mv_train_result *res, int *found, char *why,
                         size_t why_cap, mv_error *err)
{
    mv_status st = MV_OK;
    char *state = mv_path_join(out_dir, "trainer_state.json");
    char *log = mv_path_join(out_dir, "train_log.jsonl");
    char *ckpt = xt_latest_checkpoint(out_dir), *text = NULL;
    xt_log lines = {0};
    int64_t global_step = 0;
    size_t len;
    *found = 0;
    why[0] = 0;
    if (!state || !log || !ckpt) { st = mv_errorf(err, MV_E_NOMEM, "out of memory"); goto out; }
    if (!mv_path_exists(state) && *ckpt) {
        /* killed after its last checkpoint but before save_state: the checkpoint has it */
        mv_free(state);
        state = mv_path_join(ckpt, "trainer_state.json");
    }
    const char *from = state && mv_path_exists(state) ? state : mv_path_exists(log) ? log : NULL;
    if (from) {
        if (mv_read_file(from, 0, &text, &len, NULL) != MV_OK)
            snprintf(why, why_cap, "cannot read %s", from);
        else
            *found = xt_convert_log(text, from == log, from, &lines, &global_step, why, why_cap);
    } else {
        snprintf(why, why_cap, "neither trainer_state.json nor train_log.jsonl in %s", out_dir);
    }
    if (lines.oom) { st = mv_errorf(err, MV_E_NOMEM, "out of memory"); goto out; }
    if (*found && lines.n_lines == 0) {
        snprintf(why, why_cap, "the training log in %s has no entry with a \"loss\"", out_dir);
        *found = 0;
    }
    if (!*found) goto out;
    if ((st = mv_write_file_atomic(log, lines.s, lines.n, err)) != MV_OK) goto out;
    res->first_loss = lines.first_loss;
    res->final_loss = lines.last_loss;
    res->steps = global_step > 0 ? global_step
               : lines.last_step >= 0 && lines.last_step < 9e18 ? (int64_t)lines.last_step : 0;
out:
    free(lines.s);
    mv_free(text);
    mv_free(state);
    mv_free(log);
    mv_free(ckpt);
    return st;
}
