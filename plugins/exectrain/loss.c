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

static double num(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsNumber(v) ? v->valuedouble : NAN;
}

static void add_line(cJSON *out_lines, double step, double loss, double lr, double gnorm,
                     double epoch)
{
    cJSON *l = cJSON_CreateObject();
    cJSON_AddNumberToObject(l, "step", step);
    if (isfinite(loss)) cJSON_AddNumberToObject(l, "loss", loss); else cJSON_AddNullToObject(l, "loss");
    if (isfinite(lr)) cJSON_AddNumberToObject(l, "lr", lr);
    if (isfinite(gnorm)) cJSON_AddNumberToObject(l, "grad_norm", gnorm);
    if (isfinite(epoch)) cJSON_AddNumberToObject(l, "epoch", epoch);
    cJSON_AddItemToArray(out_lines, l);
}

/* trainer_state.json text → lines. Returns 0 when it is not a TrainerState. */
static int from_trainer_state(const char *text, cJSON *lines, int64_t *global_step, char *why,
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
    *global_step = isfinite(gs) ? (int64_t)gs : 0;
    cJSON_Delete(st);
    return 1;
}

/* a train_log.jsonl the command wrote itself: {"step", "loss", "lr"|"learning_rate", ...} */
static int from_jsonl(char *text, cJSON *lines, char *why, size_t why_cap, const char *path)
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

mv_status xt_import_loss(const char *out_dir, mv_train_result *res, int *found, char *why,
                         size_t why_cap, mv_error *err)
{
    mv_status st = MV_OK;
    char *state = mv_path_join(out_dir, "trainer_state.json");
    char *log = mv_path_join(out_dir, "train_log.jsonl");
    char *ckpt = xt_latest_checkpoint(out_dir), *text = NULL;
    cJSON *lines = cJSON_CreateArray();
    int64_t global_step = 0;
    size_t len;
    *found = 0;
    why[0] = 0;
    if (!state || !log || !ckpt || !lines) { st = mv_errorf(err, MV_E_NOMEM, "out of memory"); goto out; }
    if (!mv_path_exists(state) && *ckpt) {
        /* killed after its last checkpoint but before save_state: the checkpoint has it */
        mv_free(state);
        state = mv_path_join(ckpt, "trainer_state.json");
    }
    if (state && mv_path_exists(state)) {
        if (mv_read_file(state, 0, &text, &len, NULL) != MV_OK)
            snprintf(why, why_cap, "cannot read %s", state);
        else
            *found = from_trainer_state(text, lines, &global_step, why, why_cap, state);
    } else if (mv_path_exists(log)) {
        if (mv_read_file(log, 0, &text, &len, NULL) != MV_OK)
            snprintf(why, why_cap, "cannot read %s", log);
        else
            *found = from_jsonl(text, lines, why, why_cap, log);
    } else {
        snprintf(why, why_cap, "neither trainer_state.json nor train_log.jsonl in %s", out_dir);
    }
    if (*found && cJSON_GetArraySize(lines) == 0) {
        snprintf(why, why_cap, "the training log in %s has no entry with a \"loss\"", out_dir);
        *found = 0;
    }
    if (!*found) goto out;
    /* write the native format: one object per line */
    size_t cap = 256, n = 0;
    char *buf = malloc(cap);
    const cJSON *l;
    cJSON_ArrayForEach(l, lines) {
        char *s = cJSON_PrintUnformatted(l);
        size_t sl = s ? strlen(s) : 0;
        if (buf && n + sl + 2 > cap) {
            while (n + sl + 2 > cap) cap *= 2;
            char *b2 = realloc(buf, cap);
            if (!b2) { free(buf); buf = NULL; }
            else buf = b2;
        }
        if (buf && s) { memcpy(buf + n, s, sl); n += sl; buf[n++] = '\n'; buf[n] = 0; }
        cJSON_free(s);
    }
    if (!buf) { st = mv_errorf(err, MV_E_NOMEM, "out of memory"); goto out; }
    st = mv_write_file_atomic(log, buf, n, err);
    free(buf);
    const cJSON *first = cJSON_GetArrayItem(lines, 0);
    const cJSON *last = cJSON_GetArrayItem(lines, cJSON_GetArraySize(lines) - 1);
    res->first_loss = num(first, "loss");
    res->final_loss = num(last, "loss");
    double last_step = num(last, "step");
    res->steps = global_step > 0 ? global_step : isfinite(last_step) ? (int64_t)last_step : 0;
out:
    cJSON_Delete(lines);
    mv_free(text);
    mv_free(state);
    mv_free(log);
    mv_free(ckpt);
    return st;
}
