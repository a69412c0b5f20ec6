/* tests/test_runner.c — the pipeline runner with stub stages (no real plugins): stage order
 * and model hand-over, run.json, kill -9 mid-run then resume → identical metrics without
 * redoing completed stages, a changed config or input refused (and --restart), --isolate
 * reporting a crashing and a hanging stage, reports written at the end. */
#include <check.h>
#include "suite_run.h"
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cjson/cJSON.h>
#include "mv_pipeline.h"

static char g_tmp[256];
static int g_slow_ms;       /* eval stages sleep this long (to kill mid-run) */

static char *slurp(const char *path)
{
    char *t = NULL;
    size_t n;
    if (mv_read_file(path, 0, &t, &n, NULL) != MV_OK) return NULL;
    return t;
}

static void append_log(const char *line)
{
    char p[512];
    snprintf(p, sizeof p, "%s/calls.log", g_tmp);
    FILE *f = fopen(p, "a");
    fprintf(f, "%s\n", line);
    fclose(f);
}

/* A "model" is a directory with model.txt describing how it was made. */
static char *model_desc(const char *dir)
{
    char p[1024];
    snprintf(p, sizeof p, "%s/model.txt", dir);
    char *t = slurp(p);
    return t ? t : mv_strdup("?");
}

static mv_status write_model(const char *dir, const char *desc, mv_error *err)
{
    mv_status st = mv_mkdirs(dir, err);
    if (st != MV_OK) return st;
    char p[1024];
    snprintf(p, sizeof p, "%s/model.txt", dir);
    return mv_write_text_atomic(p, desc, err);
}

static mv_status stub_merge(void *user, mv_context *ctx, const mv_pipeline *p, const char *strategy,
                            const char *params_json, const char *base_path,
                            const mv_merge_input *inputs, size_t n, const char *out_dir,
                            uint64_t seed, mv_error *err)
{
    if (strcmp(strategy, "crash") == 0) abort();   /* SIGABRT: not intercepted by ASan */
    if (strcmp(strategy, "refuse") == 0)
        return mv_errorf(err, MV_E_NOT_FOUND, "target modules not found: adapter module "
                         "model.layers.0.self_attn.q_proj has no match; use key_map {\"model.\": \"llm.model.\"}");
    char *b = model_desc(base_path), *in = n ? model_desc(inputs[0].path) : mv_strdup("");
    char desc[4096];
    snprintf(desc, sizeof desc, "%s(%s+[%s%s])", strategy, b, in,
             inputs[0].key_map_json ? inputs[0].key_map_json : "");
    append_log(out_dir);
    mv_free(b);
    mv_free(in);
    return write_model(out_dir, desc, err);
}

static mv_status stub_train(void *user, mv_context *ctx, const mv_pipeline *p, const char *model_path,
                            const char *out_dir, uint64_t seed, mv_train_result *r, mv_error *err)
{
    if (p->stage_timeout > 0) sleep(30);   /* the "hang" case */
    char *b = model_desc(model_path);
    char desc[4096];
    snprintf(desc, sizeof desc, "lora-of(%s,seed=%llu)", b, (unsigned long long)seed);
    mv_free(b);
    append_log(out_dir);
    mv_status st = write_model(out_dir, desc, err);
    char ac[1024];
    snprintf(ac, sizeof ac, "%s/adapter_config.json", out_dir);
    if (st == MV_OK) st = mv_write_text_atomic(ac, "{\"r\":4}", err);
    r->steps = 10;
    r->first_loss = 2;
    r->final_loss = 1;
    r->wrote_adapter = 1;
    return st;
}

static uint64_t hash_str(const char *s)
{
    uint64_t h = 1469598103934665603ull;
    for (; *s; s++) h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

static mv_status stub_eval(void *user, mv_context *ctx, const mv_pipeline *p, size_t i,
                           const char *model_path, const char *out_dir, uint64_t seed,
                           unsigned shard, unsigned shards, mv_error *err)
{
    if (g_slow_ms) usleep((useconds_t)g_slow_ms * 1000);
    char *desc = model_desc(model_path);
    mv_metrics *m = NULL;
    mv_status st = mv_metrics_new(&m, err);
    if (st == MV_OK) st = mv_metrics_define(m, "acc", MV_HIGHER_IS_BETTER, "hit", NULL, MV_TRANSFORM_NONE, 1, "accuracy", err);
    if (st == MV_OK) st = mv_metrics_define(m, "ppl", MV_LOWER_IS_BETTER, "nll", "tokens", MV_TRANSFORM_EXP, 0, "perplexity", err);
    /* Scores depend on the model's description: each stage changes them, deterministically. */
    uint64_t h = hash_str(desc);
    for (int k = 0; st == MV_OK && k < 60; k++) {
        if ((unsigned)k % shards != shard) continue;   /* a shard scores its share of items */
        char id[32];
        snprintf(id, sizeof id, "doc-%02d", k);
        uint64_t x = h ^ (uint64_t)k * 0x9E3779B97F4A7C15ull;
        x ^= x >> 29; x *= 0xBF58476D1CE4E5B9ull; x ^= x >> 32;
        const char *cols[] = { "hit", "nll", "tokens" };
        double vals[] = { (double)((x & 3) != 0), 10.0 + (double)(x % 7), 8.0 + (double)(k % 3) };
        st = mv_metrics_add_item(m, id, 3, cols, vals, NULL, err);
    }
    if (st == MV_OK) st = mv_metrics_finalize(m, err);
    char extra[64];
    snprintf(extra, sizeof extra, "{\"shard\":\"%u/%u\"}", shard, shards);
    if (st == MV_OK) st = mv_metrics_write(m, out_dir, p->evals[i].plugin, extra, err);
    mv_metrics_free(m);
    mv_free(desc);
    append_log(out_dir);
    return st;
}

static const mv_runner_ops stub_ops = { stub_merge, stub_train, stub_eval, NULL };

static const char *g_extra = "";   /* extra top-level keys (e.g. a sweep) */

static char *pipeline_json(const char *strategy, double timeout)
{
    char *s = NULL;
    if (asprintf(&s,
        "{%s\"name\":\"stub\",\"base\":{\"path\":\"%s/base\"},"
        "\"datasets\":{\"d\":{\"loader\":\"text\",\"path\":\"%s/data.jsonl\"}},"
        "\"iterations\":2,\"seed\":5,%s"
        "\"merge\":{\"strategy\":\"%s\",\"adapters\":[{\"path\":\"%s/adapter\",\"key_map\":{\"model.\":\"llm.model.\"}}]},"
        "\"train\":{\"trainer\":\"sft\",\"mix\":{\"d\":1}},"
        "\"evaluate\":[{\"name\":\"quality\",\"plugin\":\"stub\",\"dataset\":\"d\"},{\"name\":\"other\",\"plugin\":\"stub\"}],"
        "\"gates\":[{\"metric\":\"quality.acc\",\"vs\":\"baseline\",\"max_drop\":0.5},"
        "{\"metric\":\"quality.ppl\",\"vs\":\"previous\",\"max_drop_rel\":0.0}]}",
        g_extra, g_tmp, g_tmp, timeout > 0 ? "\"stage_timeout\":0.5," : "", strategy, g_tmp) < 0) return NULL;
    return s;
}

static void setup(void)
{
    snprintf(g_tmp, sizeof g_tmp, "/tmp/mv-runner-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(g_tmp));
    char p[512];
    mv_error err;
    snprintf(p, sizeof p, "%s/base", g_tmp);
    ck_assert_int_eq(write_model(p, "base", &err), MV_OK);
    snprintf(p, sizeof p, "%s/adapter", g_tmp);
    ck_assert_int_eq(write_model(p, "clinical", &err), MV_OK);
    snprintf(p, sizeof p, "%s/data.jsonl", g_tmp);
    ck_assert_int_eq(mv_write_text_atomic(p, "{\"text\":\"a\"}\n", &err), MV_OK);
    g_slow_ms = 0;
    g_extra = "";
}

static void teardown(void)
{
    mv_remove_tree(g_tmp, NULL);
}

static mv_status run_into(const char *out, const char *strategy, double timeout, int restart,
                          int isolate, const char *const *sets, size_t n_sets, int *gf, mv_error *err)
{
    char *json = pipeline_json(strategy, timeout);
    mv_pipeline *p = NULL;
    mv_status st = mv_pipeline_parse(json, sets, n_sets, NULL, 1, &p, NULL, err);
    free(json);
    if (st != MV_OK) return st;
    mv_context *ctx = NULL;
    st = mv_context_new(&ctx, NULL, err);
    if (st == MV_OK) {
        mv_context_set_log_level(ctx, MV_LOG_WARN);
        mv_run_options o = { out, "test.json", restart, isolate, &stub_ops, 1 };
        st = mv_pipeline_run(ctx, p, &o, gf, err);
    }
    mv_context_free(ctx);
    mv_pipeline_free(p);
    return st;
}

static void path_in(char *buf, size_t n, const char *a, const char *b)
{
    snprintf(buf, n, "%s/%s", a, b);
}

static cJSON *read_json(const char *path)
{
    char *t = slurp(path);
    ck_assert_msg(t != NULL, "cannot read %s", path);
    cJSON *j = cJSON_Parse(t);
    mv_free(t);
    ck_assert_ptr_nonnull(j);
    return j;
}

static const char *POINTS[] = { "iter-0/eval", "iter-1/eval-merged", "iter-1/eval-retrained",
                                "iter-2/eval-retrained" };

START_TEST(test_full_run)
{
    char out[512], p[600];
    path_in(out, sizeof out, g_tmp, "runA");
    int gf = -1;
    mv_error err;
    mv_status st = run_into(out, "lora", 0, 0, 0, NULL, 0, &gf, &err);
    ck_assert_msg(st == MV_OK, "%s", err.msg);
    /* Stage order and model hand-over. */
    path_in(p, sizeof p, out, "iter-1/merge/model.txt");
    char *m1 = slurp(p);
    ck_assert_msg(strstr(m1, "lora(base+[") && strstr(m1, "{\"model.\":\"llm.model.\"}"), "%s", m1);
    path_in(p, sizeof p, out, "iter-2/model/model.txt");
    char *m2 = slurp(p);
    /* Iteration 2 does not merge the domain adapter again; it applies its own LoRA. */
    /* apply-2(apply-1(merge-1(base + clinical))): exactly three merges on the model chain. */
    ck_assert_msg(strncmp(m2, "lora(lora(lora(base+[clinical{", 30) == 0, "%s", m2);
    path_in(p, sizeof p, out, "iter-2/merge");
    ck_assert(!mv_path_exists(p));
    mv_free(m1); mv_free(m2);
    for (size_t i = 0; i < 4; i++) {
        snprintf(p, sizeof p, "%s/%s/quality/metrics.json", out, POINTS[i]);
        ck_assert_msg(mv_path_exists(p), "missing %s", p);
    }
    /* run.json */
    path_in(p, sizeof p, out, "run.json");
    cJSON *rj = read_json(p);
    ck_assert_str_eq(cJSON_GetObjectItem(rj, "status")->valuestring, "done");
    ck_assert_int_eq(cJSON_GetArraySize(cJSON_GetObjectItem(rj, "points")), 4);
    ck_assert_int_eq(cJSON_GetArraySize(cJSON_GetObjectItem(rj, "inputs")), 3);
    ck_assert_uint_eq(strlen(cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(rj, "inputs"), 0), "sha256")->valuestring), 64);
    cJSON *stages = cJSON_GetObjectItem(rj, "stages");
    ck_assert_str_eq(cJSON_GetObjectItem(cJSON_GetObjectItem(stages, "iter-1/train"), "status")->valuestring, "done");
    /* Consumes/produces: the retrain starts from the merged model. */
    cJSON *tr = cJSON_GetObjectItem(stages, "iter-1/train");
    ck_assert(strstr(cJSON_GetArrayItem(cJSON_GetObjectItem(tr, "consumes"), 0)->valuestring, "iter-1/merge") != NULL);
    ck_assert(strstr(cJSON_GetObjectItem(tr, "produces")->valuestring, "iter-1/train") != NULL);
    ck_assert_int_eq((int)cJSON_GetNumberValue(cJSON_GetObjectItem(cJSON_GetObjectItem(tr, "result"), "steps")), 10);
    cJSON *ap = cJSON_GetObjectItem(stages, "iter-2/model");
    ck_assert(strstr(cJSON_GetArrayItem(cJSON_GetObjectItem(ap, "consumes"), 0)->valuestring, "iter-1/model") != NULL);
    ck_assert(strstr(cJSON_GetArrayItem(cJSON_GetObjectItem(ap, "consumes"), 1)->valuestring, "iter-2/train") != NULL);
    ck_assert(cJSON_IsObject(cJSON_GetObjectItem(rj, "host")));
    ck_assert(cJSON_IsObject(cJSON_GetObjectItem(rj, "config")));
    cJSON_Delete(rj);
    /* Reports. */
    const char *files[] = { "summary.json", "junit.xml", "report.md", "report.html" };
    for (size_t i = 0; i < 4; i++) {
        path_in(p, sizeof p, out, files[i]);
        ck_assert_msg(mv_path_exists(p), "missing %s", p);
    }
    path_in(p, sizeof p, out, "summary.json");
    cJSON *s = read_json(p);
    ck_assert_int_eq((int)cJSON_GetObjectItem(s, "gates_failed")->valuedouble, gf);
    ck_assert_int_eq(cJSON_GetArraySize(cJSON_GetObjectItem(s, "metrics")), 4);
    cJSON_Delete(s);
    /* Running again resumes a finished run: nothing is executed. */
    path_in(p, sizeof p, g_tmp, "calls.log");
    char *before = slurp(p);
    st = run_into(out, "lora", 0, 0, 0, NULL, 0, &gf, &err);
    ck_assert_msg(st == MV_OK, "%s", err.msg);
    char *after = slurp(p);
    ck_assert_str_eq(before, after);
    mv_free(before); mv_free(after);
}
END_TEST

static int count_done(const char *out)
{
    char p[600];
    path_in(p, sizeof p, out, "run.json");
    char *t = slurp(p);
    if (!t) return 0;
    cJSON *j = cJSON_Parse(t);
    mv_free(t);
    int n = 0;
    cJSON *stages = j ? cJSON_GetObjectItem(j, "stages") : NULL;
    for (cJSON *s = stages ? stages->child : NULL; s; s = s->next)
        if (strcmp(cJSON_GetObjectItem(s, "status")->valuestring, "done") == 0) n++;
    cJSON_Delete(j);
    return n;
}

/* "shards": the local launcher runs each shard and the runner combines them: same metrics
 * and items as unsharded, in process and isolated; where stages run (launcher, shards) is
 * not part of the run's identity, so changing it on resume is accepted. */
START_TEST(test_sharded_local)
{
    char one[512], three[512], a[700], b[700];
    mv_error err;
    int gf;
    path_in(one, sizeof one, g_tmp, "one");
    path_in(three, sizeof three, g_tmp, "three");
    ck_assert_msg(run_into(one, "lora", 0, 0, 0, NULL, 0, &gf, &err) == MV_OK, "%s", err.msg);
    const char *sets[] = { "evaluate[0].shards=3", "launcher={\"kind\":\"local\"}" };
    for (int isolate = 0; isolate < 2; isolate++) {
        mv_remove_tree(three, NULL);
        ck_assert_msg(run_into(three, "lora", 0, 0, isolate, sets, 2, &gf, &err) == MV_OK, "%s", err.msg);
        for (size_t i = 0; i < 4; i++) {
            for (int f = 0; f < 2; f++) {
                const char *file = f ? "items.jsonl" : "metrics.json";
                snprintf(a, sizeof a, "%s/%s/quality/%s", one, POINTS[i], file);
                snprintf(b, sizeof b, "%s/%s/quality/%s", three, POINTS[i], file);
                cJSON *ja = f ? NULL : read_json(a), *jb = f ? NULL : read_json(b);
                if (f) {
                    char *ta = slurp(a), *tb = slurp(b);
                    ck_assert_msg(ta && tb && strcmp(ta, tb) == 0, "%s differs from %s", b, a);
                    mv_free(ta); mv_free(tb);
                    continue;
                }
                cJSON *ma = cJSON_GetObjectItem(ja, "metrics"), *mb = cJSON_GetObjectItem(jb, "metrics");
                ck_assert_int_eq(cJSON_GetObjectItem(jb, "n_items")->valueint, 60);
                for (cJSON *m = ma->child; m; m = m->next)
                    ck_assert_double_eq(cJSON_GetNumberValue(cJSON_GetObjectItem(m, "value")),
                        cJSON_GetNumberValue(cJSON_GetObjectItem(cJSON_GetObjectItem(mb, m->string), "value")));
                cJSON_Delete(ja); cJSON_Delete(jb);
            }
        }
        snprintf(b, sizeof b, "%s/jobs/iter-2/eval-retrained/quality/shard-2/items.jsonl", three);
        char *t = slurp(b);
        ck_assert_msg(t && strstr(t, "doc-05") && !strstr(t, "doc-04"), "shard 2 of 3 holds items 2, 5, ...");
        mv_free(t);
    }
    /* The unsharded run resumes (nothing to do) with shards and a launcher set. */
    ck_assert_msg(run_into(one, "lora", 0, 0, 0, sets, 2, &gf, &err) == MV_OK, "%s", err.msg);
}
END_TEST

START_TEST(test_kill_and_resume)
{
    char a[512], b[512], p[700], q[700];
    mv_error err;
    int gf;
    path_in(a, sizeof a, g_tmp, "runA");
    path_in(b, sizeof b, g_tmp, "runB");
    ck_assert_int_eq(run_into(a, "lora", 0, 0, 0, NULL, 0, &gf, &err), MV_OK);
    path_in(p, sizeof p, g_tmp, "calls.log");
    unlink(p);
    g_slow_ms = 150;
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        run_into(b, "lora", 0, 0, 0, NULL, 0, &gf, &err);
        _exit(0);
    }
    /* Kill once 5 stages are done (the baseline pair, the merge, and two evaluations). */
    for (int i = 0; i < 400 && count_done(b) < 5; i++) usleep(10000);
    kill(pid, SIGKILL);
    int status;
    waitpid(pid, &status, 0);
    ck_assert(WIFSIGNALED(status));
    int done_at_kill = count_done(b);
    ck_assert_int_ge(done_at_kill, 5);
    ck_assert_int_lt(done_at_kill, 13);
    char *log1 = slurp(p);
    g_slow_ms = 0;
    mv_status st = run_into(b, "lora", 0, 0, 0, NULL, 0, &gf, &err);
    ck_assert_msg(st == MV_OK, "%s", err.msg);
    /* Completed stages were not executed again: every output appears once in the log,
     * except possibly the one stage that was interrupted. */
    char *log2 = slurp(p);
    ck_assert(strncmp(log1, log2, strlen(log1)) == 0);
    int repeated = 0;
    for (char *line = log1; *line;) {
        char *nl = strchr(line, '\n');
        *nl = 0;
        char *first = strstr(log2, line), *second = first ? strstr(first + strlen(line), line) : NULL;
        if (second && second[strlen(line)] == '\n') repeated++;
        line = nl + 1;
    }
    ck_assert_msg(repeated <= 1, "%d completed stages ran again after resume", repeated);
    mv_free(log1); mv_free(log2);
    /* Identical metrics and items to the uninterrupted run. */
    for (size_t i = 0; i < 4; i++)
        for (int f = 0; f < 2; f++) {
            const char *file = f ? "items.jsonl" : "metrics.json";
            snprintf(p, sizeof p, "%s/%s/quality/%s", a, POINTS[i], file);
            snprintf(q, sizeof q, "%s/%s/quality/%s", b, POINTS[i], file);
            char *x = slurp(p), *y = slurp(q);
            ck_assert_msg(x && y && strcmp(x, y) == 0, "%s differs after resume", q);
            mv_free(x); mv_free(y);
        }
    snprintf(p, sizeof p, "%s/summary.json", a);
    snprintf(q, sizeof q, "%s/summary.json", b);
    cJSON *sa = read_json(p), *sb = read_json(q);
    char *ma = cJSON_PrintUnformatted(cJSON_GetObjectItem(sa, "metrics"));
    char *mb = cJSON_PrintUnformatted(cJSON_GetObjectItem(sb, "metrics"));
    /* dirs differ; compare the metric blocks (values, intervals, verdicts). */
    ck_assert_str_eq(ma, mb);
    cJSON_free(ma); cJSON_free(mb);
    cJSON_Delete(sa); cJSON_Delete(sb);
    path_in(p, sizeof p, b, "run.json");
    cJSON *rj = read_json(p);
    ck_assert_int_eq((int)cJSON_GetObjectItem(rj, "resumes")->valuedouble, 1);
    cJSON_Delete(rj);
}
END_TEST

START_TEST(test_changed_config_or_input_refused)
{
    char out[512], p[600];
    mv_error err;
    int gf;
    path_in(out, sizeof out, g_tmp, "run");
    ck_assert_int_eq(run_into(out, "lora", 0, 0, 0, NULL, 0, &gf, &err), MV_OK);
    /* Changing a gate only re-reports: no stage runs again. */
    const char *gate_set[] = { "gates[0].max_drop=0.9" };
    path_in(p, sizeof p, g_tmp, "calls.log");
    char *before = slurp(p);
    mv_status st = run_into(out, "lora", 0, 0, 0, gate_set, 1, &gf, &err);
    ck_assert_msg(st == MV_OK, "%s", err.msg);
    char *after = slurp(p);
    ck_assert_str_eq(before, after);
    mv_free(before); mv_free(after);
    path_in(p, sizeof p, out, "summary.json");
    cJSON *s = read_json(p);
    ck_assert_double_eq_tol(cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(s, "gates"), 0), "max_drop")->valuedouble, 0.9, 1e-12);
    cJSON_Delete(s);
    const char *sets[] = { "iterations=1" };
    st = run_into(out, "lora", 0, 0, 0, sets, 1, &gf, &err);
    ck_assert_int_eq(st, MV_E_INPUT);
    ck_assert_msg(strstr(err.msg, "different pipeline config") && strstr(err.msg, "--restart"), "%s", err.msg);
    st = run_into(out, "lora", 0, 1, 0, sets, 1, &gf, &err);
    ck_assert_msg(st == MV_OK, "%s", err.msg);
    path_in(p, sizeof p, out, "iter-2");
    ck_assert(!mv_path_exists(p));   /* restart wiped the old iteration 2 */
    /* A changed input file. */
    path_in(p, sizeof p, g_tmp, "adapter");
    ck_assert_int_eq(write_model(p, "clinical v2", &err), MV_OK);
    st = run_into(out, "lora", 0, 0, 0, sets, 1, &gf, &err);
    ck_assert_int_eq(st, MV_E_INPUT);
    ck_assert_msg(strstr(err.msg, "$.merge.adapters[0].path") && strstr(err.msg, "changed"), "%s", err.msg);
    /* Not a run directory: refused rather than overwritten. */
    path_in(p, sizeof p, g_tmp, "adapter");
    st = run_into(p, "lora", 0, 1, 0, NULL, 0, &gf, &err);
    ck_assert_int_eq(st, MV_E_INPUT);
    ck_assert_msg(strstr(err.msg, "was not written by mergeval") != NULL, "%s", err.msg);
}
END_TEST

START_TEST(test_isolate_crash_and_timeout)
{
    char out[512], p[600];
    mv_error err;
    int gf;
    path_in(out, sizeof out, g_tmp, "crash");
    mv_status st = run_into(out, "crash", 0, 0, 1, NULL, 0, &gf, &err);
    ck_assert_int_eq(st, MV_E_RUNTIME);
    ck_assert_msg(strstr(err.msg, "stage iter-1/merge (merge plugin crash)") &&
                  strstr(err.msg, "crashed with signal 6"), "%s", err.msg);
    path_in(p, sizeof p, out, "run.json");
    cJSON *rj = read_json(p);
    cJSON *stages = cJSON_GetObjectItem(rj, "stages");
    ck_assert_str_eq(cJSON_GetObjectItem(cJSON_GetObjectItem(stages, "iter-1/merge"), "status")->valuestring, "failed");
    ck_assert_str_eq(cJSON_GetObjectItem(cJSON_GetObjectItem(stages, "iter-0/eval/quality"), "status")->valuestring, "done");
    cJSON_Delete(rj);
    /* The merge's own diagnosis is passed through with its status (exit 2 in the CLI). */
    path_in(out, sizeof out, g_tmp, "refuse");
    st = run_into(out, "refuse", 0, 0, 1, NULL, 0, &gf, &err);
    ck_assert_int_eq(st, MV_E_NOT_FOUND);
    ck_assert_msg(strstr(err.msg, "target modules not found") && strstr(err.msg, "key_map"), "%s", err.msg);
    /* A successful isolated run records the same things (training result via its file). */
    path_in(out, sizeof out, g_tmp, "isolated-ok");
    st = run_into(out, "lora", 0, 0, 1, NULL, 0, &gf, &err);
    ck_assert_msg(st == MV_OK, "%s", err.msg);
    path_in(p, sizeof p, out, "run.json");
    rj = read_json(p);
    cJSON *tr = cJSON_GetObjectItem(cJSON_GetObjectItem(rj, "stages"), "iter-2/train");
    ck_assert_int_eq((int)cJSON_GetNumberValue(cJSON_GetObjectItem(cJSON_GetObjectItem(tr, "result"), "steps")), 10);
    ck_assert_str_eq(cJSON_GetObjectItem(rj, "isolation")->valuestring, "fork");
    cJSON_Delete(rj);
    /* A hanging stage is killed after stage_timeout. */
    path_in(out, sizeof out, g_tmp, "hang");
    double t0 = mv_now();
    st = run_into(out, "lora", 0.5, 0, 1, NULL, 0, &gf, &err);
    ck_assert_int_eq(st, MV_E_RUNTIME);
    ck_assert_msg(strstr(err.msg, "stage iter-1/train (trainer plugin sft)") && strstr(err.msg, "timed out"), "%s", err.msg);
    ck_assert(mv_now() - t0 < 10);
    /* stage_timeout is enforced without --isolate too (it implies isolation). */
    path_in(out, sizeof out, g_tmp, "hang-no-isolate");
    t0 = mv_now();
    st = run_into(out, "lora", 0.5, 0, 0, NULL, 0, &gf, &err);
    ck_assert_int_eq(st, MV_E_RUNTIME);
    ck_assert_msg(strstr(err.msg, "timed out"), "%s", err.msg);
    ck_assert(mv_now() - t0 < 10);
}
END_TEST

START_TEST(test_sweep)
{
    char out[512], p[700];
    mv_error err;
    int gf = -1;
    path_in(out, sizeof out, g_tmp, "sweep");
    g_extra = "\"sweep\":{\"seed\":[1,2],\"iterations\":[1]},";
    mv_status st = run_into(out, "lora", 0, 0, 0, NULL, 0, &gf, &err);
    ck_assert_msg(st == MV_OK, "%s", err.msg);
    for (int k = 0; k < 2; k++) {
        snprintf(p, sizeof p, "%s/sweep-%d/iter-1/eval-retrained/quality/metrics.json", out, k);
        ck_assert_msg(mv_path_exists(p), "missing %s", p);
        snprintf(p, sizeof p, "%s/sweep-%d/iter-2", out, k);
        ck_assert(!mv_path_exists(p));   /* iterations=1 from the sweep */
    }
    path_in(p, sizeof p, out, "sweep.json");
    cJSON *idx = read_json(p);
    ck_assert_int_eq(cJSON_GetArraySize(idx), 2);
    ck_assert_str_eq(cJSON_GetObjectItem(cJSON_GetArrayItem(idx, 1), "label")->valuestring, "seed=2, iterations=1");
    cJSON_Delete(idx);
    /* Top-level report: point 0's baseline, then each point's final model. */
    path_in(p, sizeof p, out, "summary.json");
    cJSON *s = read_json(p);
    ck_assert_int_eq(cJSON_GetArraySize(cJSON_GetObjectItem(s, "points")), 3);
    cJSON_Delete(s);
    /* Different seeds give different trained models. */
    char a[800], b[800];
    snprintf(a, sizeof a, "%s/sweep-0/iter-1/model/model.txt", out);
    snprintf(b, sizeof b, "%s/sweep-1/iter-1/model/model.txt", out);
    char *x = slurp(a), *y = slurp(b);
    ck_assert_str_ne(x, y);
    mv_free(x); mv_free(y);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("runner");
    TCase *tc = tcase_create("runner");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_full_run);
    tcase_add_test(tc, test_sharded_local);
    tcase_add_test(tc, test_kill_and_resume);
    tcase_add_test(tc, test_changed_config_or_input_refused);
    tcase_add_test(tc, test_isolate_crash_and_timeout);
    tcase_add_test(tc, test_sweep);
    suite_add_tcase(s, tc);
    return mv_suite_run(s);
}
