/* core/cli/cmd_plugins.c — `mergeval plugins [--json] [--kind K]`: every loaded component
 * with its kind, version, file and declared parameters (the reference for pipeline files). */
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <cjson/cJSON.h>
#include "mv_cli.h"

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
        printf("%s%-24s %-6s %-14s %s%s%s\n", indent, p[i].name, param_type_name(p[i].type), def,
               p[i].doc ? p[i].doc : "", p[i].choices ? " {" : "", p[i].choices ? p[i].choices : "");
        if (p[i].choices) printf("%s%*s\n", indent, 0, "}");
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
            printf("usage: mergeval plugins [--json] [--kind loader|model|merge|trainer|evaluator]\n\n"
                   "List every loaded plugin component: name, kind, version, summary, the file it came\n"
                   "from and its declared parameters (name, type, default, doc). --json prints an array\n"
                   "of objects {name, kind, version, summary, file, params[, input_params, target]}.\n");
            return 0;
        default: return mv_cli_usage_error("plugins", "unknown option");
        }
    }
    if (optind < argc) return mv_cli_usage_error("plugins", "unexpected argument '%s'", argv[optind]);
    size_t n = mv_registry_count(cli->reg);
    cJSON *arr = json ? cJSON_CreateArray() : NULL;
    for (size_t i = 0; i < n; i++) {
        const mv_component *comp = mv_registry_get(cli->reg, i);
        if (kind && strcmp(kind, mv_kind_name(comp->kind)) != 0) continue;
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
            if (cli->verbose) {
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
    } else if (n == 0) {
        fprintf(stderr, "mergeval plugins: no plugins loaded (looked in the built-in directory, MERGEVAL_PLUGIN_PATH and --plugin-path)\n");
    }
    return 0;
}
