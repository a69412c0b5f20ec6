/* core/cli/cmd_match.c — `mergeval match ADAPTER BASE [--key-map FROM=TO]... [--json]`:
 * which base tensor each adapter module changes (rank, scaling, shapes), or the diagnosis
 * with the key_map that fixes it. Exit 0 when everything maps, 2 otherwise. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "mv_cli.h"

static void usage(void)
{
    printf("usage: mergeval match ADAPTER BASE [--key-map FROM=TO]... [--json]\n"
           "  Match a PEFT adapter's modules to the tensors of a base checkpoint.\n"
           "  --key-map FROM=TO  rewrite adapter module names starting with FROM (ordered; first match wins)\n"
           "  --json             print the full mapping and diagnosis as JSON\n"
           "Exit status: 0 every module maps, 2 something does not (the diagnosis says how to fix it).\n");
}

int mv_cmd_match(mv_cli *cli, int argc, char **argv)
{
    static const struct option opts[] = { { "key-map", required_argument, 0, 'k' }, { "json", no_argument, 0, 'j' },
                                           { "help", no_argument, 0, 'h' }, { 0, 0, 0, 0 } };
    char **pairs = calloc((size_t)argc + 1, sizeof *pairs);
    int npairs = 0, json = 0, c, rc = 2;
    char *km_json = NULL, *report = NULL;
    mv_error err = { 0 };
    mv_adapter *a = NULL;
    mv_checkpoint *ck = NULL;
    mv_key_map *km = NULL;
    mv_adapter_match *m = NULL;
    optind = 0;   /* glibc: 0 fully re-initialises getopt after main's own parsing */
    while ((c = getopt_long(argc, argv, "k:jh", opts, NULL)) != -1) {
        if (c == 'k') pairs[npairs++] = optarg;
        else if (c == 'j') json = 1;
        else if (c == 'h') { usage(); free(pairs); return 0; }
        else { free(pairs); return mv_cli_bad_option("match", argv); }
    }
    if (argc - optind != 2) { free(pairs); return mv_cli_usage_error("match", "expected ADAPTER and BASE"); }
    const char *adapter = argv[optind], *base = argv[optind + 1];
    if (mv_cli_key_map_json(pairs, npairs, &km_json, &err) ||
        mv_key_map_parse(km_json, "--key-map", &km, &err) ||
        mv_adapter_open(cli->ctx, adapter, NULL, &a, &err) ||
        mv_checkpoint_open(cli->ctx, base, NULL, &ck, &err) ||
        mv_adapter_match_base(a, ck->tensors, ck->n_tensors, km, &m, &err)) {
        rc = mv_cli_fail(&err);
        goto done;
    }
    if (json) {
        report = mv_adapter_match_json(a, m, ck->tensors, ck->n_tensors);
        printf("%s\n", report ? report : "{}");
    } else {
        printf("%-52s %-52s %4s %8s  %s\n", "adapter module", "base tensor", "rank", "scaling", "status");
        for (size_t i = 0; i < m->n_bindings; i++) {
            const mv_adapter_binding *b = &m->bindings[i];
            const mv_lora_module *lm = &a->modules[b->module];
            char sa[48], sb[48], sw[48] = "-";
            mv_shape_str(lm->a->ndim, lm->a->shape, sa, sizeof sa);
            mv_shape_str(lm->b->ndim, lm->b->shape, sb, sizeof sb);
            if (b->base_index >= 0) mv_shape_str(ck->tensors[b->base_index].ndim, ck->tensors[b->base_index].shape, sw, sizeof sw);
            char en[512], et[512];   /* names come from the files: escape controls */
            printf("%-52s %-52s %4d %8.4g  %s A%s B%s W%s%s\n", mv_escape_name(lm->name, en, sizeof en),
                   mv_escape_name(b->tensor, et, sizeof et), lm->r, lm->scaling,
                   !b->targeted ? "untargeted (ignored)" : b->base_index < 0 ? "NOT FOUND"
                   : b->shape_ok ? "ok" : "SHAPE MISMATCH", sa, sb, sw,
                   lm->magnitude ? " dora" : lm->b_bias ? " +bias" : "");
        }
        for (size_t i = 0; i < m->n_saved; i++) {
            char en[512], et[512];
            printf("%-52s %-52s %4s %8s  %s (modules_to_save: replaces the tensor)\n",
                   mv_escape_name(a->tensors[m->saved[i].tensor].name, en, sizeof en),
                   mv_escape_name(m->saved[i].target, et, sizeof et), "-", "-", m->saved[i].base_index < 0 ? "NOT FOUND" : m->saved[i].shape_ok ? "ok" : "SHAPE MISMATCH");
        }
        printf("%zu modules, %zu mapped, %zu not found, %zu shape mismatches, %zu untargeted (ignored)\n",
               m->n_bindings + m->n_saved,
               m->n_bindings + m->n_saved - m->n_unmatched - m->n_bad_shape - m->n_untargeted,
               m->n_unmatched, m->n_bad_shape, m->n_untargeted);
        if (m->suggested_key_map_json && !strcmp(m->suggested_key_map_json, "{}"))
            printf("suggestion: drop the key_map (the adapter's own names match the base)\n");
        else if (m->suggested_key_map_json)
            printf("suggested key_map: %s\n  CLI: %s\n", m->suggested_key_map_json, m->suggested_key_map_flags);
    }
    char *untargeted = mv_adapter_match_untargeted_summary(a, m);
    if (untargeted) {
        char *safe = mv_escape_name_dup(untargeted);
        fprintf(stderr, "mergeval: warning: %s\n", safe ? safe : "");
        mv_free(safe);
    }
    mv_free(untargeted);
    if (m->n_bindings && m->n_untargeted == m->n_bindings && m->n_saved == 0) {
        /* merge refuses this too: nothing would change */
        fprintf(stderr, "mergeval: error: the adapter's target_modules select none of its %zu "
                "LoRA modules, so nothing would be merged\n", m->n_bindings);
        rc = 2;
    } else if (!m->all_mapped) {
        mv_adapter_match_error(a, m, ck->tensors, ck->n_tensors, &err);
        fprintf(stderr, "mergeval: error: %s\n", err.msg);
        rc = 2;
    } else {
        rc = 0;
    }
done:
    mv_free(report);
    mv_adapter_match_free(m);
    mv_key_map_free(km);
    mv_checkpoint_close(ck);
    mv_adapter_close(a);
    mv_free(km_json);
    free(pairs);
    return rc;
}
