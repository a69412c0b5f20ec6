/* core/cli/cmd_plugins.c — `mergeval plugins [NAME] [--json] [--kind K]`: every loaded
 * component with its kind, version and summary; with a NAME (or -v) also its file and its
 * declared parameters (the reference for pipeline files). */
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <cjson/cJSON.h>
#include "mv_cli.h"
#include "mv_suggest.h"

static const char *param_type_name(mv_param_type t)
{
    switch (t) {
    case MV_PARAM_BOOL: return "bool";
    case MV_PARAM_INT: return "int";
    case MV_PARAM_FLOAT: return "float";
    case MV_PARAM_STRING: return "string";
    case MV_PARAM_ENUM: return "enum";
    case MV_PARAM_JSON: return "json";
    }
    return "?";
}

static cJSON *params_json(const mv_param_spec *p)
{
    cJSON *arr = cJSON_CreateArray();
    for (size_t i = 0; p && p[i].name; i++) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "name", p[i].name);
        cJSON_AddStringToObject(o, "type", param_type_name(p[i].type));
        cJSON *def = p[i].default_json && !p[i].required ? cJSON_Parse(p[i].default_json) : NULL;
        cJSON_AddItemToObject(o, "default", def ? def : cJSON_CreateNull());
        cJSON_AddBoolToObject(o, "required", p[i].required != 0);
        if (p[i].choices) {
            cJSON *ch = cJSON_CreateArray();
            const char *s = p[i].choices;
            while (s && *s) {
                const char *bar = strchr(s, '|');
                size_t n = bar ? (size_t)(bar - s) : strlen(s);
                char buf[128];
                snprintf(buf, sizeof buf, "%.*s", (int)n, s);
                cJSON_AddItemToArray(ch, cJSON_CreateString(buf));
                s = bar ? bar + 1 : NULL;
            }
            cJSON_AddItemToObject(o, "choices", ch);
        }
        if (p[i].min <= p[i].max && (p[i].type == MV_PARAM_INT || p[i].type == MV_PARAM_FLOAT)) {
            cJSON_AddNumberToObject(o, "min", p[i].min);
            cJSON_AddNumberToObject(o, "max", p[i].max);
        }
        cJSON_AddStringToObject(o, "doc", p[i].doc ? p[i].doc : "");
        cJSON_AddItemToArray(arr, o);
    }
    return arr;
}

static void print_params_text(const mv_param_spec *p, const char *indent)
{
    for (size_t i = 0; p && p[i].name; i++) {
        char def[64];
        snprintf(def, sizeof def, "%s", p[i].required ? "required" : p[i].default_json ? p[i].default_json : "-");
        printf("%s%-24s %-6s %-14s %s%s%s%s\n", indent, p[i].name, param_type_name(p[i].type), def,
               p[i].doc ? p[i].doc : "", p[i].choices ? " {" : "", p[i].choices ? p[i].choices : "",
               p[i].choices ? "}" : "");
    }
}

int mv_cmd_plugins(mv_cli *cli, int argc, char **argv)
{
    static const struct option opts[] = {{"json", no_argument, 0, 'j'}, {"kind", required_argument, 0, 'k'},
                                         {"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
    int json = 0, c;
    const char *kind = NULL;
    while ((c = getopt_long(argc, argv, "jk:h", opts, NULL)) != -1) {
        switch (c) {
        case 'j': json = 1; break;
        case 'k': kind = optarg; break;
        case 'h':
            printf("usage: mergeval plugins [NAME] [--json] [--kind loader|model|merge|trainer|evaluator]\n\n"
                   "List every loaded plugin component: name, kind, version and summary. With NAME,\n"
                   "show that component in full: the file it came from and its declared parameters\n"
                   "(name, type, default, doc; merges also their per-input parameters). -v shows every\n"
                   "component in full. --json prints an array of objects {name, kind, version,\n"
                   "summary, file, params[, input_params, target]}.\n");
            return 0;
        default: return mv_cli_bad_option("plugins", argv);
        }
    }
    const char *only = optind < argc ? argv[optind++] : NULL;
    if (optind < argc) return mv_cli_usage_error("plugins", "unexpected argument '%s'", argv[optind]);
    static const char *const kinds[] = {"loader", "model", "merge", "trainer", "evaluator"};
    if (kind) {
        int known = 0;
        for (size_t i = 0; i < 5; i++) known |= strcmp(kind, kinds[i]) == 0;
        const char *best = known ? NULL : mv_suggest(kind, kinds, 5);
        if (!known)
            return mv_cli_usage_error("plugins", "unknown kind '%s'%s%s%s; kinds: loader, model, "
                                      "merge, trainer, evaluator", kind, best ? " (did you mean '" : "",
                                      best ? best : "", best ? "'?)" : "");
    }
    size_t n = mv_registry_count(cli->reg);
    if (only) {
        int found = 0;
        const char *names[256];
        size_t k = 0;
        for (size_t i = 0; i < n; i++) {
            const mv_component *comp = mv_registry_get(cli->reg, i);
            found |= strcmp(comp->name, only) == 0;
            if (k < 256) names[k++] = comp->name;
        }
        if (!found) {
            const char *best = mv_suggest(only, names, k);
            fprintf(stderr, "mergeval plugins: no plugin component named '%s'%s%s%s; plugins outside "
                    "the built-in directory are loaded with --plugin-path DIR or MERGEVAL_PLUGIN_PATH\n",
                    only, best ? " (did you mean '" : "", best ? best : "", best ? "'?)" : "");
            return 2;
        }
    }
    cJSON *arr = json ? cJSON_CreateArray() : NULL;
    for (size_t i = 0; i < n; i++) {
        const mv_component *comp = mv_registry_get(cli->reg, i);
        if (kind && strcmp(kind, mv_kind_name(comp->kind)) != 0) continue;
        if (only && strcmp(only, comp->name) != 0) continue;
        const mv_param_spec *input_params = NULL;
        const char *target = NULL;
        if (comp->kind == MV_KIND_MERGE) input_params = ((const mv_merge_vtable *)comp->vtable)->input_params;
        if (comp->kind == MV_KIND_LOADER) {
            mv_loader_target t = ((const mv_loader_vtable *)comp->vtable)->target;
            target = t == MV_LOADS_CHECKPOINT ? "checkpoint" : t == MV_LOADS_ADAPTER ? "adapter" : "dataset";
        }
        if (json) {
            cJSON *o = cJSON_CreateObject();
            cJSON_AddStringToObject(o, "name", comp->name);
            cJSON_AddStringToObject(o, "kind", mv_kind_name(comp->kind));
            cJSON_AddStringToObject(o, "version", comp->version);
            cJSON_AddStringToObject(o, "summary", comp->summary ? comp->summary : "");
            cJSON_AddStringToObject(o, "file", mv_registry_file(cli->reg, i));
            if (target) cJSON_AddStringToObject(o, "target", target);
            cJSON_AddItemToObject(o, "params", params_json(comp->params));
            if (comp->kind == MV_KIND_MERGE) cJSON_AddItemToObject(o, "input_params", params_json(input_params));
            cJSON_AddItemToArray(arr, o);
        } else {
            printf("%-16s %-9s %-8s %s%s%s%s\n", comp->name, mv_kind_name(comp->kind), comp->version,
                   comp->summary ? comp->summary : "", target ? " [" : "", target ? target : "", target ? "]" : "");
            if (cli->verbose || only) {
                printf("    file: %s\n", mv_registry_file(cli->reg, i));
                print_params_text(comp->params, "    ");
                if (input_params) { printf("    per input:\n"); print_params_text(input_params, "      "); }
            }
        }
    }
    if (json) {
        char *s = cJSON_Print(arr);
        printf("%s\n", s);
        cJSON_free(s);
        cJSON_Delete(arr);
    } else if (n && !only && !cli->verbose) {
        printf("\n'mergeval plugins NAME' shows a component's file and parameters.\n");
    } else if (n == 0) {
        fprintf(stderr, "mergeval plugins: no plugins loaded (looked in the built-in directory, MERGEVAL_PLUGIN_PATH and --plugin-path)\n");
    }
    return 0;
}
