/* tests/test_evaluators.c — the evaluators on known answers with a stub model whose
 * log-probabilities are set by hand (alignment R@k/MRR/margins with pessimistic ties,
 * caption NLL, greedy captions, perplexity incl. rolling windows), shard + combine == one run
 * (library and CLI), the exec evaluator (JSON on stdout, items, timeout, bad JSON, non-zero
 * exit, environment allow-list), and a smoke run of every evaluator on a real tinyvlm. */
#include <check.h>
#include "suite_run.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <stb/stb_image_write.h>
#include <mergeval/mergeval.h>
#include "mv_eval.h"
#include "mv_metrics_io.h"
#include "mv_registry_host.h"

/* ------------------------------------------------------------------ stub model
 * Vocabulary: bytes 0..255, BOS 256, EOS 257. An image's "class" is its first red value / 40.
 * score: caption letter 'A'+j after image class c scores S[c][j]; EOS scores 0; any other
 * token (and every token of a text-only sequence) scores -0.5.
 * next_logits: after image class c, emit 'A'+c (class 3 emits 'X'), then EOS. */
static const double S[4][4] = {
    {-1, -2, -3, -4},
    {-1, -1.5, -3, -4},
    {-1, -1, -1, -4},
    {-0.5, -0.6, -0.7, -5},
};

struct mv_image_embeds { size_t n; int cls[64]; };

static mv_status stub_tokenize(mv_model *m, const char *text, int32_t *tokens, int max, int *n_out,
                               mv_error *err)
{
    int n = (int)strlen(text);
    for (int i = 0; i < n && i < max; i++) tokens[i] = (unsigned char)text[i];
    *n_out = n;
    return MV_OK;
}

static mv_status stub_detokenize(mv_model *m, const int32_t *tokens, int n, char *buf, size_t len,
                                 mv_error *err)
{
    size_t k = 0;
    for (int i = 0; i < n && k + 1 < len; i++)
        if (tokens[i] < 256) buf[k++] = (char)tokens[i];
    buf[k] = 0;
    return MV_OK;
}

static mv_status stub_encode(mv_model *m, const mv_image *images, size_t n, mv_image_embeds **out,
                             mv_error *err)
{
    mv_image_embeds *e = mv_calloc(1, sizeof *e);
    e->n = n;
    for (size_t i = 0; i < n; i++) e->cls[i] = images[i].rgb[0] / 40;
    *out = e;
    return MV_OK;
}

static void stub_free_embeds(mv_model *m, mv_image_embeds *e) { mv_free(e); }

static int n_score_calls;
static mv_status stub_score(mv_model *m, const mv_sequence *seqs, size_t n, float **lp,
                            mv_error *err)
{
    n_score_calls++;
    for (size_t s = 0; s < n; s++) {
        const mv_sequence *q = &seqs[s];
        ck_assert_int_le(q->n_tokens, m->max_seq);
        int c = q->image ? q->image->cls[q->image_index] : -1;
        for (int t = q->n_context; t < q->n_tokens; t++) {
            int tok = q->tokens[t];
            float v = -0.5f;
            if (c >= 0 && tok >= 'A' && tok <= 'D') v = (float)S[c][tok - 'A'];
            else if (c >= 0 && tok == 257) v = 0;
            lp[s][t - q->n_context] = v;
        }
    }
    return MV_OK;
}

static mv_status stub_next(mv_model *m, const mv_sequence *seqs, size_t n, float *out, mv_error *err)
{
    for (size_t s = 0; s < n; s++) {
        float *o = out + s * (size_t)m->vocab_size;
        for (int v = 0; v < m->vocab_size; v++) o[v] = 0;
        int c = seqs[s].image ? seqs[s].image->cls[seqs[s].image_index] : 0;
        int want = seqs[s].n_tokens == 0 ? (c == 3 ? 'X' : 'A' + c) : 257;
        o[want] = 5;
    }
    return MV_OK;
}

static void stub_free(mv_model *m) { free(m); }

static const mv_model_ops stub_ops = {
    .tokenize = stub_tokenize, .detokenize = stub_detokenize, .encode_images = stub_encode,
    .free_image_embeds = stub_free_embeds, .score = stub_score, .next_logits = stub_next,
    .free = stub_free,
};

static mv_model *stub_model(void)
{
    mv_model *m = calloc(1, sizeof *m);
    m->ops = &stub_ops;
    m->arch = "stub";
    m->vocab_size = 258;
    m->bos_id = 256;
    m->eos_id = 257;
    m->max_seq = 64;
    m->has_vision = 1;
    m->image_size = 4;
    m->n_image_tokens = 1;
    return m;
}

/* ------------------------------------------------------------------ fixtures */
static mv_registry *reg;
static mv_context *ctx;
static char dir[64];

static void write_text(const char *name, const char *text)
{
    char p[256];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    FILE *f = fopen(p, "w");
    ck_assert_ptr_nonnull(f);
    fputs(text, f);
    fclose(f);
}

static void setup(void)
{
    mv_error err = {0};
    ck_assert_int_eq(mv_registry_new(&reg, &err), MV_OK);
    char *bd = mv_registry_builtin_dir();
    mv_registry_load_dir(reg, bd, NULL, NULL);
    mv_free(bd);
    ck_assert_msg(mv_registry_find(reg, MV_KIND_EVALUATOR, "alignment") != NULL,
                  "evaluators plugin not built");
    ck_assert_int_eq(mv_context_new(&ctx, reg, &err), MV_OK);
    mv_context_set_log_level(ctx, MV_LOG_ERROR);
    mv_context_set_progress(ctx, 0);
    snprintf(dir, sizeof dir, "/tmp/mv_test_eval_XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(dir));
    for (int c = 0; c < 4; c++) {
        uint8_t px[4 * 4 * 3];
        memset(px, 200, sizeof px);
        px[0] = (uint8_t)(c * 40 + 5);
        char p[256];
        snprintf(p, sizeof p, "%s/img%d.png", dir, c);
        ck_assert(stbi_write_png(p, 4, 4, 3, px, 12));
    }
    write_text("pairs.jsonl",
               "{\"id\":\"p0\",\"image\":\"img0.png\",\"text\":\"A\"}\n"
               "{\"id\":\"p1\",\"image\":\"img1.png\",\"text\":\"B\"}\n"
               "{\"id\":\"p2\",\"image\":\"img2.png\",\"text\":\"C\"}\n"
               "{\"id\":\"t0\",\"text\":\"a text-only record\"}\n"
               "{\"id\":\"p3\",\"image\":\"img3.png\",\"text\":\"D\"}\n");
    write_text("docs.jsonl",
               "{\"id\":\"d0\",\"text\":\"hello world\"}\n"
               "{\"id\":\"d1\",\"text\":\"a much longer document that needs several windows of four tokens\"}\n"
               "{\"id\":\"d2\",\"text\":\"x\"}\n");
}

static void teardown(void)
{
    mv_error err = {0};
    mv_remove_tree(dir, &err);
    mv_context_free(ctx);
    mv_registry_free(reg);
}

static uint64_t g_eval_seed = 3; /* the evaluation seed run() passes */

static mv_metrics *run(mv_model *m, const char *evaluator, const char *dataset,
                       const char *params, uint32_t si, uint32_t sn, const char *outname)
{
    char ds[256], out[256];
    snprintf(ds, sizeof ds, "%s/%s", dir, dataset);
    snprintf(out, sizeof out, "%s/%s", dir, outname);
    mv_eval_spec spec = {0};
    spec.evaluator = evaluator;
    spec.model = m;
    spec.dataset_path = ds;
    spec.params_json = params;
    spec.shard_index = si;
    spec.shard_count = sn;
    spec.seed = g_eval_seed;
    spec.out_dir = out;
    mv_metrics *res = NULL;
    mv_error err = {0};
    mv_status st = mv_eval_run(ctx, &spec, &res, &err);
    ck_assert_msg(st == MV_OK, "%s: %s", evaluator, err.msg);
    return res;
}

#define TOL 1e-9

START_TEST(alignment_known_answers)
{
    mv_model *m = stub_model();
    mv_metrics *r = run(m, "alignment", "pairs.jsonl",
                        "{\"distractors\":\"all\",\"score\":\"sum\"}", 0, 1, "align");
    ck_assert_uint_eq(mv_metrics_n_items(r), 4);
    ck_assert_double_eq_tol(mv_metrics_get(r, "i2t_r1"), 0.25, TOL);
    ck_assert_double_eq_tol(mv_metrics_get(r, "i2t_r5"), 1.0, TOL);
    ck_assert_double_eq_tol(mv_metrics_get(r, "i2t_mrr"), (1 + 1.0 / 2 + 1.0 / 3 + 1.0 / 4) / 4, TOL);
    double mg = (2 + (-1.5 + 8.0 / 3) + 1 + (-5 + 0.6)) / 4;
    ck_assert_double_eq_tol(mv_metrics_get(r, "i2t_margin"), mg, 1e-6);
    ck_assert_double_eq_tol(mv_metrics_get(r, "t2i_r1"), 0.0, TOL);
    ck_assert_double_eq_tol(mv_metrics_get(r, "t2i_mrr"), (0.25 + 1.0 / 3 + 0.5 + 0.25) / 4, TOL);
    ck_assert_int_eq(mv_metrics_count_value(r, "text_only"), 1);
    /* per item: its true pair + 3 distractor captions + 3 distractor images = 7; 4 items */
    ck_assert_int_eq(mv_metrics_count_value(r, "scored_pairs"), 28);
    ck_assert_int_eq(mv_metrics_is_binary(r, 0), 1);
    /* per-item ranks are kept */
    int seen = 0;
    for (size_t i = 0; i < mv_metrics_n_items(r); i++)
        if (!strcmp(mv_metrics_item_id(r, i), "p2")) {
            ck_assert_ptr_nonnull(strstr(mv_metrics_item_extra(r, i), "\"i2t_rank\":3"));
            seen = 1;
        }
    ck_assert(seen);
    mv_metrics_free(r);
    /* K=1 distractor: each query has 2 candidates */
    r = run(m, "alignment", "pairs.jsonl", "{\"distractors\":1}", 0, 1, "align1");
    for (size_t i = 0; i < mv_metrics_n_items(r); i++)
        ck_assert_ptr_nonnull(strstr(mv_metrics_item_extra(r, i), "\"i2t_candidates\":2"));
    mv_metrics_free(r);
    mv_model_free(m);
}
END_TEST

/* Retrieval candidates depend on the item id only: two evaluations of the same model with
 * different seeds score every item against the same distractors, so they agree item by
 * item (a comparison of two models is paired by construction). */
START_TEST(alignment_candidates_independent_of_seed)
{
    mv_model *m = stub_model();
    g_eval_seed = 3;
    mv_metrics *a = run(m, "alignment", "pairs.jsonl", "{\"distractors\":1}", 0, 1, "seed-a");
    g_eval_seed = 987654321;
    mv_metrics *b = run(m, "alignment", "pairs.jsonl", "{\"distractors\":1}", 0, 1, "seed-b");
    g_eval_seed = 3;
    ck_assert_uint_eq(mv_metrics_n_items(a), mv_metrics_n_items(b));
    for (size_t i = 0; i < mv_metrics_n_items(a); i++) {
        ck_assert_str_eq(mv_metrics_item_id(a, i), mv_metrics_item_id(b, i));
        /* the extra JSON holds both ranks and the score of the true pair */
        ck_assert_str_eq(mv_metrics_item_extra(a, i), mv_metrics_item_extra(b, i));
        for (size_t k = 0; k < mv_metrics_count(a); k++) {
            double na, da, nb, db;
            ck_assert_int_eq(mv_metrics_item_terms(a, k, i, &na, &da), mv_metrics_item_terms(b, k, i, &nb, &db));
            ck_assert(na == nb && da == db);
        }
    }
    mv_metrics_free(a);
    mv_metrics_free(b);
    mv_model_free(m);
}
END_TEST

/* Galleries of 2 (one distractor): the 4 pairs form 2 galleries, and inside a gallery
 * both directions rank over the same scores — item i's partner j is its distractor caption
 * and its distractor image, j's partner is i, and only 4 x 2 pairs are scored (the
 * independent design scores up to 4 x 3). */
START_TEST(alignment_galleries_share_scores)
{
    mv_model *m = stub_model();
    int calls0 = n_score_calls;
    mv_metrics *r = run(m, "alignment", "pairs.jsonl",
                        "{\"distractors\":1,\"candidates\":\"galleries\",\"score\":\"sum\",\"batch_size\":1}",
                        0, 1, "gal");
    ck_assert_int_eq(n_score_calls - calls0, 8);
    int r_i2t[4], r_t2i[4];
    for (size_t i = 0; i < mv_metrics_n_items(r); i++) {
        int c = mv_metrics_item_id(r, i)[1] - '0';
        const char *x = mv_metrics_item_extra(r, i);
        ck_assert_ptr_nonnull(strstr(x, "\"i2t_candidates\":2"));
        ck_assert_ptr_nonnull(strstr(x, "\"t2i_candidates\":2"));
        ck_assert_int_eq(sscanf(strstr(x, "\"i2t_rank\":"), "\"i2t_rank\":%d,\"t2i_rank\":%d", &r_i2t[c], &r_t2i[c]), 2);
    }
    /* some pairing of {0,1,2,3} into 2 galleries explains every rank (S[image][caption]) */
    int pairings[3][4] = {{1, 0, 3, 2}, {2, 3, 0, 1}, {3, 2, 1, 0}}, explained = 0;
    for (int k = 0; k < 3; k++) {
        int ok = 1;
        for (int i = 0; i < 4; i++) {
            int j = pairings[k][i];
            ok &= r_i2t[i] == 1 + (S[i][j] >= S[i][i]);
            ok &= r_t2i[i] == 1 + (S[j][i] >= S[i][i]);
        }
        explained += ok;
    }
    ck_assert_int_ge(explained, 1);
    mv_metrics_free(r);
    mv_model_free(m);
}
END_TEST

static long metric_index(const mv_metrics *m, const char *name)
{
    for (size_t i = 0; i < mv_metrics_count(m); i++)
        if (strcmp(mv_metrics_name(m, i), name) == 0) return (long)i;
    return -1;
}

/* caption_metrics: alignment's true-pair NLL equals caption-nll's, item by item and in the
 * pooled metrics, without scoring a pair more than retrieval needs. */
START_TEST(alignment_caption_metrics_equal_caption_nll)
{
    mv_model *m = stub_model();
    int calls0 = n_score_calls;
    mv_metrics *a = run(m, "alignment", "pairs.jsonl",
                        "{\"distractors\":1,\"candidates\":\"galleries\",\"caption_metrics\":true,\"batch_size\":1}",
                        0, 1, "capm");
    ck_assert_int_eq(n_score_calls - calls0, 8);            /* as without caption_metrics */
    mv_metrics *c = run(m, "caption-nll", "pairs.jsonl", NULL, 0, 1, "capn");
    const char *names[][2] = {{"caption_nll_per_token", "nll_per_token"}, {"caption_perplexity", "perplexity"},
                              {"caption_nll_per_caption", "nll_per_caption"}};
    for (int k = 0; k < 3; k++) {
        ck_assert(mv_metrics_get(a, names[k][0]) == mv_metrics_get(c, names[k][1]));
        ck_assert(isfinite(mv_metrics_get(c, names[k][1])));
        long ma = metric_index(a, names[k][0]), mc = metric_index(c, names[k][1]);
        ck_assert(ma >= 0 && mc >= 0);
        for (size_t i = 0; i < mv_metrics_n_items(a); i++) {
            double na, da, nc, dc;
            ck_assert(mv_metrics_item_terms(a, (size_t)ma, i, &na, &da));
            ck_assert(mv_metrics_item_terms(c, (size_t)mc, i, &nc, &dc));
            ck_assert_str_eq(mv_metrics_item_id(a, i), mv_metrics_item_id(c, i));
            ck_assert(na == nc && da == dc);
        }
    }
    mv_metrics_free(a);
    mv_metrics_free(c);
    /* off by default: no caption metrics */
    a = run(m, "alignment", "pairs.jsonl", "{\"distractors\":1}", 0, 1, "nocap");
    ck_assert_int_lt(metric_index(a, "caption_nll_per_token"), 0);
    mv_metrics_free(a);
    mv_model_free(m);
}
END_TEST

START_TEST(alignment_bad_params)
{
    mv_model *m = stub_model();
    char ds[256], out[256];
    snprintf(ds, sizeof ds, "%s/pairs.jsonl", dir);
    snprintf(out, sizeof out, "%s/bad", dir);
    mv_eval_spec spec = {.evaluator = "alignment", .model = m, .dataset_path = ds,
                         .params_json = "{\"distractors\":\"some\"}", .shard_count = 1,
                         .out_dir = out};
    mv_error err = {0};
    ck_assert_int_eq(mv_eval_run(ctx, &spec, NULL, &err), MV_E_INPUT);
    ck_assert_ptr_nonnull(strstr(err.msg, "distractors"));
    spec.params_json = "{\"distracters\":3}";
    ck_assert_int_eq(mv_eval_run(ctx, &spec, NULL, &err), MV_E_INPUT);
    ck_assert_ptr_nonnull(strstr(err.msg, "distracters"));
    spec.params_json = NULL;
    spec.evaluator = "nope";
    ck_assert_int_eq(mv_eval_run(ctx, &spec, NULL, &err), MV_E_NOT_FOUND);
    ck_assert_ptr_nonnull(strstr(err.msg, "alignment"));
    spec.evaluator = "alignment";
    spec.shard_index = 2;
    spec.shard_count = 2;
    ck_assert_int_eq(mv_eval_run(ctx, &spec, NULL, &err), MV_E_INPUT);
    mv_model_free(m);
}
END_TEST

START_TEST(caption_nll_known_answers)
{
    mv_model *m = stub_model();
    mv_metrics *r = run(m, "caption-nll", "pairs.jsonl", NULL, 0, 1, "nll");
    /* nll = -S[i][i] (EOS scores 0): 1 + 1.5 + 1 + 5 = 8.5 over 8 tokens (letter + EOS) */
    ck_assert_double_eq_tol(mv_metrics_get(r, "nll_per_token"), 8.5 / 8, TOL);
    ck_assert_double_eq_tol(mv_metrics_get(r, "perplexity"), exp(8.5 / 8), 1e-6);
    ck_assert_double_eq_tol(mv_metrics_get(r, "nll_per_caption"), 8.5 / 4, TOL);
    mv_metrics_free(r);
    r = run(m, "caption-nll", "pairs.jsonl", "{\"append_eos\":false}", 0, 1, "nll2");
    ck_assert_double_eq_tol(mv_metrics_get(r, "nll_per_token"), 8.5 / 4, TOL);
    mv_metrics_free(r);
    mv_model_free(m);
}
END_TEST

START_TEST(caption_gen_known_answers)
{
    mv_model *m = stub_model();
    mv_metrics *r = run(m, "caption-gen", "pairs.jsonl", NULL, 0, 1, "gen");
    ck_assert_double_eq_tol(mv_metrics_get(r, "exact_match"), 0.75, TOL);
    ck_assert_double_eq_tol(mv_metrics_get(r, "token_f1"), 0.75, TOL);
    char p[256], *text = NULL;
    size_t len;
    mv_error err = {0};
    snprintf(p, sizeof p, "%s/gen/items.jsonl", dir);
    ck_assert_int_eq(mv_read_file(p, 0, &text, &len, &err), MV_OK);
    ck_assert_ptr_nonnull(strstr(text, "\"generated\":\"X\",\"reference\":\"D\""));
    ck_assert_ptr_nonnull(strstr(text, "\"generated\":\"A\",\"reference\":\"A\""));
    mv_free(text);
    mv_metrics_free(r);
    mv_model_free(m);
}
END_TEST

START_TEST(perplexity_known_answers_and_windows)
{
    mv_model *m = stub_model();
    /* every text token scores -0.5 → nll = 0.5 per byte-token */
    const char *docs[] = {"hello world",
                          "a much longer document that needs several windows of four tokens", "x"};
    double tok = 0, words = 0;
    for (int i = 0; i < 3; i++) tok += strlen(docs[i]);
    words = 2 + 11 + 1;
    for (int pass = 0; pass < 2; pass++) {
        mv_metrics *r = run(m, "perplexity", "docs.jsonl", pass ? "{\"window\":4}" : NULL, 0, 1,
                            pass ? "ppl4" : "ppl");
        double nll = 0.5 * tok;
        ck_assert_double_eq_tol(mv_metrics_get(r, "perplexity"), exp(0.5), 1e-9);
        ck_assert_double_eq_tol(mv_metrics_get(r, "byte_perplexity"), exp(nll / tok), 1e-9);
        ck_assert_double_eq_tol(mv_metrics_get(r, "word_perplexity"), exp(nll / words), 1e-6);
        ck_assert_double_eq_tol(mv_metrics_get(r, "bits_per_byte"), 0.5 / log(2.0), 1e-9);
        ck_assert_int_eq(mv_metrics_n_items(r), 3);
        mv_metrics_free(r);
    }
    /* a pairs file used as text: captions and the text-only record are documents */
    mv_metrics *r = run(m, "perplexity", "pairs.jsonl", NULL, 0, 1, "pplpairs");
    ck_assert_int_eq(mv_metrics_n_items(r), 5);
    mv_metrics_free(r);
    mv_model_free(m);
}
END_TEST

static void assert_same_metrics(mv_metrics *a, mv_metrics *b)
{
    ck_assert_uint_eq(mv_metrics_count(a), mv_metrics_count(b));
    ck_assert_uint_eq(mv_metrics_n_items(a), mv_metrics_n_items(b));
    for (size_t i = 0; i < mv_metrics_count(a); i++) {
        ck_assert_str_eq(mv_metrics_name(a, i), mv_metrics_name(b, i));
        ck_assert_msg(mv_metrics_value(a, i) == mv_metrics_value(b, i), "%s: %.17g != %.17g",
                      mv_metrics_name(a, i), mv_metrics_value(a, i), mv_metrics_value(b, i));
    }
}

START_TEST(shards_combine_to_unsharded)
{
    mv_model *m = stub_model();
    const char *cases[][3] = {{"alignment", "pairs.jsonl", "{\"distractors\":2}"},
                              {"alignment", "pairs.jsonl", "{\"distractors\":1,\"candidates\":\"galleries\"}"},
                              {"caption-nll", "pairs.jsonl", NULL},
                              {"caption-gen", "pairs.jsonl", NULL},
                              {"perplexity", "docs.jsonl", "{\"window\":4}"}};
    for (int c = 0; c < 5; c++) {
        mv_metrics *whole = run(m, cases[c][0], cases[c][1], cases[c][2], 0, 1, "whole");
        mv_metrics *all = NULL;
        mv_error err = {0};
        ck_assert_int_eq(mv_metrics_new(&all, &err), MV_OK);
        for (uint32_t s = 0; s < 3; s++) {
            char name[32];
            snprintf(name, sizeof name, "shard%u", s);
            mv_metrics_free(run(m, cases[c][0], cases[c][1], cases[c][2], s, 3, name));
            /* read back from disk, as `combine` does */
            char p[256];
            snprintf(p, sizeof p, "%s/%s", dir, name);
            mv_metrics *rd = NULL;
            ck_assert_msg(mv_metrics_read(&rd, p, &err) == MV_OK, "%s", err.msg);
            ck_assert_msg(mv_metrics_merge(all, rd, &err) == MV_OK, "%s", err.msg);
            mv_metrics_free(rd);
        }
        ck_assert_int_eq(mv_metrics_finalize(all, &err), MV_OK);
        assert_same_metrics(whole, all);
        mv_metrics_free(all);
        mv_metrics_free(whole);
    }

    /* the CLI: mergeval combine shard0 shard1 shard2 --out combined (alignment again) */
    mv_metrics *whole = run(m, "alignment", "pairs.jsonl", "{\"distractors\":2}", 0, 1, "whole");
    for (uint32_t s = 0; s < 3; s++) {
        char name[32];
        snprintf(name, sizeof name, "shard%u", s);
        mv_metrics_free(run(m, "alignment", "pairs.jsonl", "{\"distractors\":2}", s, 3, name));
    }
    char exe[512], cmd[2048];
    ssize_t l = readlink("/proc/self/exe", exe, sizeof exe - 1);
    ck_assert_int_gt(l, 0);
    exe[l] = 0;
    *strrchr(exe, '/') = 0;   /* .../tests */
    snprintf(cmd, sizeof cmd, "%s/../bin/mergeval -q combine %s/shard2 %s/shard0 %s/shard1 --out %s/combined",
             exe, dir, dir, dir, dir);
    ck_assert_int_eq(system(cmd), 0);
    char p[256];
    snprintf(p, sizeof p, "%s/combined", dir);
    mv_metrics *comb = NULL;
    mv_error err = {0};
    ck_assert_int_eq(mv_metrics_read(&comb, p, &err), MV_OK);
    assert_same_metrics(whole, comb);
    /* the counts add up too (scored_pairs is per item, not per shard's unique pairs) */
    const char *counts[] = {"items", "text_only", "truncated", "scored_pairs"};
    for (int k = 0; k < 4; k++)
        ck_assert_msg(mv_metrics_count_value(whole, counts[k]) == mv_metrics_count_value(comb, counts[k]),
                      "count %s: unsharded %lld, combined %lld", counts[k],
                      (long long)mv_metrics_count_value(whole, counts[k]),
                      (long long)mv_metrics_count_value(comb, counts[k]));
    ck_assert_int_gt(mv_metrics_count_value(whole, "scored_pairs"), 0);
    ck_assert_str_eq(mv_metrics_evaluator_name(comb), "alignment");
    mv_metrics_free(comb);
    /* an incomplete set is refused */
    snprintf(cmd, sizeof cmd, "%s/../bin/mergeval -q combine %s/shard0 %s/shard1 --out %s/c2 2>/dev/null",
             exe, dir, dir, dir);
    ck_assert_int_ne(system(cmd), 0);
    mv_metrics_free(whole);
    mv_model_free(m);
}
END_TEST

/* ------------------------------------------------------------------ exec */

static mv_status run_exec(const char *params, mv_metrics **res, mv_error *err)
{
    char out[256];
    snprintf(out, sizeof out, "%s/exec", dir);
    mv_eval_spec spec = {.evaluator = "exec", .model_path = "/models/m", .dataset_path = "/data/d",
                         .params_json = params, .shard_count = 1, .seed = 42, .out_dir = out};
    return mv_eval_run(ctx, &spec, res, err);
}

START_TEST(exec_reads_metrics_and_items)
{
    char params[1024];
    snprintf(params, sizeof params,
             "{\"command\":[\"sh\",\"%s/ok.sh\",\"{model}\",\"{out}\"],"
             "\"items_file\":\"{out}/ext_items.jsonl\",\"set_env\":{\"FOO\":\"{seed}\"},"
             "\"directions\":{\"loss\":\"lower\"}}", dir);
    /* sh gets $1={model} $2={out} */
    write_text("ok.sh",
               "echo \"log line before the JSON\"\n"
               "printf '{\"id\":\"a\",\"correct\":1}\\n{\"id\":\"b\",\"correct\":0}\\n"
               "{\"id\":\"c\",\"scores\":{\"correct\":1}}\\n' > \"$2/ext_items.jsonl\"\n"
               "echo \"{\\\"accuracy\\\": {\\\"num\\\": \\\"correct\\\", \\\"binary\\\": true}, "
               "\\\"loss\\\": 1.25, \\\"model_arg\\\": {\\\"value\\\": ${#1}}, \\\"seed\\\": $FOO}\"\n");
    mv_metrics *r = NULL;
    mv_error err = {0};
    ck_assert_msg(run_exec(params, &r, &err) == MV_OK, "%s", err.msg);
    ck_assert_double_eq_tol(mv_metrics_get(r, "accuracy"), 2.0 / 3, TOL);
    ck_assert_double_eq_tol(mv_metrics_get(r, "loss"), 1.25, TOL);
    ck_assert_double_eq_tol(mv_metrics_get(r, "model_arg"), 9, TOL);   /* strlen("/models/m") */
    ck_assert_double_eq_tol(mv_metrics_get(r, "seed"), 42, TOL);
    for (size_t i = 0; i < mv_metrics_count(r); i++)
        if (!strcmp(mv_metrics_name(r, i), "loss"))
            ck_assert_int_eq(mv_metrics_direction(r, i), MV_LOWER_IS_BETTER);
    ck_assert_uint_eq(mv_metrics_n_items(r), 3);
    mv_metrics_free(r);
}
END_TEST

START_TEST(exec_failures)
{
    mv_error err = {0};
    char params[1024];
    double t0 = mv_now();
    write_text("slow.sh", "echo starting >&2\nsleep 30\necho '{\"x\":1}'\n");
    snprintf(params, sizeof params, "{\"command\":[\"sh\",\"%s/slow.sh\"],\"timeout\":0.5}", dir);
    ck_assert_int_eq(run_exec(params, NULL, &err), MV_E_RUNTIME);
    ck_assert_msg(strstr(err.msg, "timed out") && strstr(err.msg, "starting"), "%s", err.msg);
    ck_assert_double_lt(mv_now() - t0, 5.0);

    write_text("bad.sh", "echo 'this is not json'\necho 'something odd' >&2\n");
    snprintf(params, sizeof params, "{\"command\":[\"sh\",\"%s/bad.sh\"]}", dir);
    ck_assert_int_eq(run_exec(params, NULL, &err), MV_E_FORMAT);
    ck_assert_msg(strstr(err.msg, "no JSON object") && strstr(err.msg, "something odd"), "%s", err.msg);

    write_text("fail.sh", "echo 'boom: out of GPUs' >&2\nexit 3\n");
    snprintf(params, sizeof params, "{\"command\":[\"sh\",\"%s/fail.sh\"]}", dir);
    ck_assert_int_eq(run_exec(params, NULL, &err), MV_E_RUNTIME);
    ck_assert_msg(strstr(err.msg, "status 3") && strstr(err.msg, "out of GPUs"), "%s", err.msg);

    snprintf(params, sizeof params, "{\"command\":[\"/nonexistent/harness\"]}");
    ck_assert_int_eq(run_exec(params, NULL, &err), MV_E_RUNTIME);
    ck_assert_msg(strstr(err.msg, "cannot run") && strstr(err.msg, "No such file"), "%s", err.msg);

    snprintf(params, sizeof params, "{\"command\":[\"sh\",\"{modle}\"]}");
    ck_assert_int_eq(run_exec(params, NULL, &err), MV_E_INPUT);
    ck_assert_ptr_nonnull(strstr(err.msg, "{modle}"));

    ck_assert_int_eq(run_exec("{}", NULL, &err), MV_E_INPUT);   /* command is required */
    ck_assert_ptr_nonnull(strstr(err.msg, "command"));
}
END_TEST

START_TEST(exec_env_allow_list)
{
    setenv("MV_TEST_SECRET", "hunter2", 1);
    write_text("env.sh", "if [ -n \"$MV_TEST_SECRET\" ]; then echo '{\"secret\":1}'; "
                         "else echo '{\"secret\":0}'; fi\n");
    char params[1024];
    mv_metrics *r = NULL;
    mv_error err = {0};
    snprintf(params, sizeof params, "{\"command\":[\"sh\",\"%s/env.sh\"]}", dir);
    ck_assert_int_eq(run_exec(params, &r, &err), MV_OK);
    ck_assert_double_eq_tol(mv_metrics_get(r, "secret"), 0, TOL);
    mv_metrics_free(r);
    snprintf(params, sizeof params,
             "{\"command\":[\"sh\",\"%s/env.sh\"],\"env\":[\"PATH\",\"MV_TEST_SECRET\"]}", dir);
    ck_assert_int_eq(run_exec(params, &r, &err), MV_OK);
    ck_assert_double_eq_tol(mv_metrics_get(r, "secret"), 1, TOL);
    mv_metrics_free(r);
}
END_TEST

/* ------------------------------------------------------------------ real model smoke test */

START_TEST(every_evaluator_runs_on_tinyvlm)
{
    mv_error err = {0};
    if (!mv_registry_find(reg, MV_KIND_MODEL, "tinyvlm")) {
        fprintf(stderr, "tinyvlm not available; skipping\n");
        return;
    }
    mv_model *m = NULL;
    ck_assert_msg(mv_model_create(ctx, "tinyvlm", "{}", 1, NULL, &m, &err) == MV_OK, "%s", err.msg);
    char mdir[256];
    snprintf(mdir, sizeof mdir, "%s/vlm", dir);
    ck_assert_msg(m->ops->save(m, ctx, mdir, 0, &err) == MV_OK, "%s", err.msg);
    mv_model_free(m);
    const char *cases[][3] = {{"alignment", "pairs.jsonl", "{\"distractors\":\"all\",\"caption_metrics\":true}"},
                              {"caption-nll", "pairs.jsonl", NULL},
                              {"caption-gen", "pairs.jsonl", "{\"max_tokens\":6}"},
                              {"perplexity", "docs.jsonl", NULL}};
    for (int c = 0; c < 4; c++) {
        char ds[256], out[256];
        snprintf(ds, sizeof ds, "%s/%s", dir, cases[c][1]);
        snprintf(out, sizeof out, "%s/real-%s", dir, cases[c][0]);
        mv_eval_spec spec = {.evaluator = cases[c][0], .model_path = mdir, .dataset_path = ds,
                             .params_json = cases[c][2], .shard_count = 1, .out_dir = out};
        mv_metrics *r = NULL;
        ck_assert_msg(mv_eval_run(ctx, &spec, &r, &err) == MV_OK, "%s: %s", cases[c][0], err.msg);
        ck_assert_uint_gt(mv_metrics_n_items(r), 0);
        /* Every metric it defined is in its declared list (what run --check validates gates
         * against), and every declared name was defined (all directions and options run here). */
        const char *const *declared = mv_evaluator_metrics(mv_registry_find(reg, MV_KIND_EVALUATOR, cases[c][0]));
        ck_assert_msg(declared != NULL, "%s declares no metric names", cases[c][0]);
        size_t n_declared = 0;
        while (declared[n_declared]) n_declared++;
        ck_assert_uint_eq(mv_metrics_count(r), n_declared);
        for (size_t i = 0; i < mv_metrics_count(r); i++) {
            ck_assert_msg(isfinite(mv_metrics_value(r, i)), "%s.%s not finite", cases[c][0],
                          mv_metrics_name(r, i));
            int listed = 0;
            for (size_t k = 0; k < n_declared; k++) listed |= strcmp(declared[k], mv_metrics_name(r, i)) == 0;
            ck_assert_msg(listed, "%s defines %s, which its vtable's metrics list lacks", cases[c][0],
                          mv_metrics_name(r, i));
        }
        mv_metrics_free(r);
    }
}
END_TEST

int main(void)
{
    Suite *s = suite_create("evaluators");
    TCase *tc = tcase_create("stub");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, alignment_known_answers);
    tcase_add_test(tc, alignment_bad_params);
    tcase_add_test(tc, alignment_candidates_independent_of_seed);
    tcase_add_test(tc, alignment_galleries_share_scores);
    tcase_add_test(tc, alignment_caption_metrics_equal_caption_nll);
    tcase_add_test(tc, caption_nll_known_answers);
    tcase_add_test(tc, caption_gen_known_answers);
    tcase_add_test(tc, perplexity_known_answers_and_windows);
    tcase_add_test(tc, shards_combine_to_unsharded);
    tcase_add_test(tc, exec_reads_metrics_and_items);
    tcase_add_test(tc, exec_failures);
    tcase_add_test(tc, exec_env_allow_list);
    tcase_add_test(tc, every_evaluator_runs_on_tinyvlm);
    suite_add_tcase(s, tc);
    return mv_suite_run(s);
}
