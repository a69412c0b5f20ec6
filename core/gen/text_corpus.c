/* core/gen/text_corpus.c — `mergeval gen text`: a general English corpus (everyday sentences
 * from templates) and a clinical-report-style domain corpus (FINDINGS with sizes and
 * locations, IMPRESSION consistent with them). Writes train.jsonl / test.jsonl
 * ({"id","text"}) and meta.json. Not real medical language; a learnable synthetic domain. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "mv_gen.h"

#define PICK(r, arr) (arr[mv_gen_below((r), (int)(sizeof(arr) / sizeof(arr[0])))])

void mv_gen_text_defaults(mv_gen_text_options *o)
{
    memset(o, 0, sizeof *o);
    o->kind = "general";
    o->seed = 1;
    o->n_docs = 2000;
    o->test_fraction = 0.1;
}

/* ------------------------------------------------------------------ general */
static const char *ANIMALS[] = {"cat", "dog", "horse", "fox", "bird", "rabbit", "goat", "duck"};
static const char *ADJS[] = {"small", "old", "happy", "quiet", "brown", "young", "lazy", "quick"};
static const char *VERBS_PAST[] = {"walked", "ran", "slept", "waited", "played", "jumped"};
static const char *PLACES[] = {"river", "garden", "market", "station", "park", "kitchen",
                               "library", "beach", "village", "bridge"};
static const char *PEOPLE[] = {"children", "farmers", "students", "neighbours", "tourists",
                               "workers"};
static const char *ACTIVITIES[] = {"walk", "read", "swim", "cook", "sing", "paint", "fish"};
static const char *SEASONS[] = {"spring", "summer", "autumn", "winter"};
static const char *NAMES[] = {"Anna", "Ben", "Clara", "David", "Elena", "Felix", "Grace", "Hugo"};
static const char *FRUITS[] = {"apples", "pears", "oranges", "lemons", "plums", "bananas"};
static const char *NUMBERS[] = {"two", "three", "four", "five", "six", "ten"};
static const char *TIMES[] = {"this morning", "yesterday", "on Monday", "last week", "today"};
static const char *WEATHER[] = {"sunny", "cold", "rainy", "windy", "warm", "cloudy"};
static const char *PAST_ACTS[] = {"stayed inside", "went for a walk", "visited friends",
                                  "cleaned the house", "baked bread", "read a book"};
static const char *INGREDIENTS[] = {"flour", "sugar", "butter", "milk", "rice", "beans"};

static void general_sentence(mv_gen_buf *b, mv_gen_rng *r)
{
    switch (mv_gen_below(r, 6)) {
    case 0:
        mv_gen_buf_printf(b, "The %s %s %s to the %s.", PICK(r, ADJS), PICK(r, ANIMALS),
                          PICK(r, VERBS_PAST), PICK(r, PLACES));
        break;
    case 1:
        mv_gen_buf_printf(b, "In %s the %s like to %s near the %s.", PICK(r, SEASONS),
                          PICK(r, PEOPLE), PICK(r, ACTIVITIES), PICK(r, PLACES));
        break;
    case 2:
        mv_gen_buf_printf(b, "%s bought %s %s at the market %s.", PICK(r, NAMES),
                          PICK(r, NUMBERS), PICK(r, FRUITS), PICK(r, TIMES));
        break;
    case 3:
        mv_gen_buf_printf(b, "The weather %s was %s, so we %s.", PICK(r, TIMES), PICK(r, WEATHER),
                          PICK(r, PAST_ACTS));
        break;
    case 4:
        mv_gen_buf_printf(b, "Mix the %s with the %s and cook it for %d minutes.",
                          PICK(r, INGREDIENTS), PICK(r, INGREDIENTS), 5 * (1 + mv_gen_below(r, 8)));
        break;
    default:
        mv_gen_buf_printf(b, "%s met the %s by the %s and they talked for a while.",
                          PICK(r, NAMES), PICK(r, PEOPLE), PICK(r, PLACES));
        break;
    }
}

/* ------------------------------------------------------------------ clinical */
static const char *LUNG_LOC[] = {"right upper lobe", "right middle lobe", "right lower lobe",
                                 "left upper lobe", "left lower lobe", "lingula"};
static const char *ABD_LOC[] = {"liver segment IV", "liver segment VII", "left kidney",
                                "right kidney", "pancreatic head", "spleen"};
static const char *LUNG_FINDINGS[] = {"nodule", "ground-glass opacity", "mass", "consolidation"};
static const char *ABD_FINDINGS[] = {"cyst", "lesion", "hypodense lesion", "mass"};
static const char *NEGATIVES[] = {"No pleural effusion.", "No pneumothorax.",
                                  "The heart size is normal.", "No lymphadenopathy.",
                                  "No free fluid.", "The bones are unremarkable.",
                                  "Mild degenerative changes of the spine."};

static void clinical_report(mv_gen_buf *b, mv_gen_rng *r)
{
    int chest = mv_gen_below(r, 2) == 0;
    if (mv_gen_uniform(r) < 0.2) {
        /* normal study */
        mv_gen_buf_printf(b, "FINDINGS: %s %s %s IMPRESSION: No acute abnormality.",
                          chest ? "The lungs are clear." : "The liver, kidneys and pancreas are normal.",
                          PICK(r, NEGATIVES), PICK(r, NEGATIVES));
        return;
    }
    const char *loc = chest ? PICK(r, LUNG_LOC) : PICK(r, ABD_LOC);
    const char *find = chest ? PICK(r, LUNG_FINDINGS) : PICK(r, ABD_FINDINGS);
    int mm = 2 + mv_gen_below(r, 4) * (1 + mv_gen_below(r, 8));  /* 2..30 mm, skewed small */
    mv_gen_buf_printf(b, "FINDINGS: There is a %d mm %s in the %s. %s ", mm, find, loc,
                      PICK(r, NEGATIVES));
    if (mm < 6)
        mv_gen_buf_printf(b, "IMPRESSION: Small %d mm %s in the %s, likely benign. No follow-up "
                          "needed.", mm, find, loc);
    else if (mm <= 15)
        mv_gen_buf_printf(b, "IMPRESSION: Indeterminate %d mm %s in the %s. Follow-up CT in "
                          "%d months is recommended.", mm, find, loc, mm <= 10 ? 6 : 3);
    else
        mv_gen_buf_printf(b, "IMPRESSION: %d mm %s in the %s, suspicious for malignancy. Tissue "
                          "sampling is recommended.", mm, find, loc);
}

mv_status mv_gen_text(const mv_gen_text_options *o, mv_error *err)
{
    char *tmp = NULL;
    mv_gen_buf train = {0}, test = {0}, doc = {0}, meta = {0};
    mv_status st;
    if (!o->out_dir || !*o->out_dir) return mv_errorf(err, MV_E_INPUT, "gen text: --out is required");
    int clinical;
    if (o->kind && strcmp(o->kind, "clinical") == 0) clinical = 1;
    else if (o->kind && strcmp(o->kind, "general") == 0) clinical = 0;
    else return mv_errorf(err, MV_E_INPUT, "gen text: --kind must be general or clinical, got \"%s\"",
                          o->kind ? o->kind : "");
    if (o->n_docs <= 0) return mv_errorf(err, MV_E_INPUT, "gen text: --docs must be positive");
    if (!(o->test_fraction >= 0 && o->test_fraction < 1))
        return mv_errorf(err, MV_E_INPUT, "gen text: test fraction must be in [0, 1)");
    mv_gen_rng r = {o->seed * 0x9E3779B97F4A7C15ULL + (clinical ? 1001 : 2002)};
    int n_test = (int)(o->n_docs * o->test_fraction + 0.5), n_train = o->n_docs - n_test;
    for (int i = 0; i < o->n_docs; i++) {
        doc.len = 0;
        if (clinical) clinical_report(&doc, &r);
        else {
            int k = 2 + mv_gen_below(&r, 2);
            for (int s = 0; s < k; s++) {
                if (s) mv_gen_buf_printf(&doc, " ");
                general_sentence(&doc, &r);
            }
        }
        int is_test = i >= n_train;
        mv_gen_buf *out = is_test ? &test : &train;
        mv_gen_buf_printf(out, "{\"id\":\"%s-%s-%05d\",\"text\":", clinical ? "clinical" : "general",
                          is_test ? "test" : "train", is_test ? i - n_train : i);
        mv_gen_buf_json_string(out, doc.data ? doc.data : "");
        mv_gen_buf_printf(out, "}\n");
    }
    mv_gen_buf_printf(&meta, "{\n  \"generator\": \"mergeval gen text\",\n  \"kind\": \"%s\",\n"
                      "  \"seed\": %llu,\n  \"train\": %d,\n  \"test\": %d\n}\n",
                      clinical ? "clinical" : "general", (unsigned long long)o->seed, n_train, n_test);
    if (train.failed || test.failed || doc.failed || meta.failed) {
        st = mv_errorf(err, MV_E_NOMEM, "out of memory");
        goto done;
    }
    if ((st = mv_make_temp_sibling_dir(o->out_dir, &tmp, err)) != MV_OK) goto done;
    if ((st = mv_gen_write(tmp, "train.jsonl", train.data ? train.data : "", train.len, err)) ||
        (st = mv_gen_write(tmp, "test.jsonl", test.data ? test.data : "", test.len, err)) ||
        (st = mv_gen_write(tmp, "meta.json", meta.data, meta.len, err)))
        goto fail;
    int fd = open(tmp, O_RDONLY | O_DIRECTORY);
    if (fd >= 0) { syncfs(fd); close(fd); }
    if ((st = mv_publish_dir(tmp, o->out_dir, err)) != MV_OK) goto fail;
    goto done;
fail:
    mv_remove_tree(tmp, NULL);
done:
    mv_free(tmp);
    mv_gen_buf_free(&train);
    mv_gen_buf_free(&test);
    mv_gen_buf_free(&doc);
    mv_gen_buf_free(&meta);
    return st;
}
