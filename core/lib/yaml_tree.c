/* core/lib/yaml_tree.c — YAML text to a cJSON tree through libyaml's document API, keeping
 * each node's line:column so later validation can point into the file. Scalars resolve as
 * PyYAML + pydantic would read a mergekit config; anchors/aliases are expanded (bounded). */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <yaml.h>
#include "mv_yaml_tree.h"

#define MAX_DEPTH 64
#define MAX_NODES 200000   /* aliases can multiply nodes ("billion laughs"): bound the tree */

static int mark_add(mv_yaml_tree *t, const cJSON *j, const yaml_node_t *n)
{
    if (t->n_marks == t->cap_marks) {
        size_t cap = t->cap_marks ? 2 * t->cap_marks : 64;
        mv_yaml_mark *m = realloc(t->marks, cap * sizeof *m);
        if (!m) return -1;
        t->marks = m;
        t->cap_marks = cap;
    }
    t->marks[t->n_marks].node = j;
    t->marks[t->n_marks].line = (int)n->start_mark.line + 1;
    t->marks[t->n_marks].column = (int)n->start_mark.column + 1;
    t->n_marks++;
    return 0;
}

int mv_yaml_mark_of(const mv_yaml_tree *t, const cJSON *j, int *line, int *column)
{
    for (size_t i = 0; t && i < t->n_marks; i++)
        if (t->marks[i].node == j) { *line = t->marks[i].line; *column = t->marks[i].column; return 1; }
    return 0;
}

static cJSON *scalar(const yaml_node_t *n)
{
    const char *s = (const char *)n->data.scalar.value;
    size_t len = n->data.scalar.length;
    if (strlen(s) != len) return NULL;            /* an embedded NUL: not a config value */
    if (n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE) return cJSON_CreateString(s);
    if (!*s || !strcmp(s, "~") || !strcasecmp(s, "null")) return cJSON_CreateNull();
    static const char *yes[] = { "true", "yes", "on", NULL }, *no[] = { "false", "no", "off", NULL };
    for (int i = 0; yes[i]; i++) if (!strcasecmp(s, yes[i])) return cJSON_CreateTrue();
    for (int i = 0; no[i]; i++) if (!strcasecmp(s, no[i])) return cJSON_CreateFalse();
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (end != s && !*end && errno == 0 && isfinite(v) && strncasecmp(s, "0x", 2) &&
        strncasecmp(s, "nan", 3) && strncasecmp(s, "inf", 3))
        return cJSON_CreateNumber(v);
    return cJSON_CreateString(s);
}

static cJSON *build(mv_yaml_tree *t, yaml_document_t *doc, yaml_node_t *n, int depth, size_t *count,
                    mv_diag *diag)
{
    if (!n) return NULL;
    if (depth > MAX_DEPTH || ++*count > MAX_NODES) {
        if (!t->too_big++)
            mv_diag_add(diag, "(line %d, column %d): the YAML nests deeper than %d levels or expands to more "
                        "than %d nodes (aliases); a merge config is far smaller", (int)n->start_mark.line + 1,
                        (int)n->start_mark.column + 1, MAX_DEPTH, MAX_NODES);
        return NULL;
    }
    cJSON *j = NULL;
    switch (n->type) {
    case YAML_SCALAR_NODE:
        j = scalar(n);
        break;
    case YAML_SEQUENCE_NODE:
        j = cJSON_CreateArray();
        for (yaml_node_item_t *it = n->data.sequence.items.start; j && it < n->data.sequence.items.top; it++) {
            cJSON *c = build(t, doc, yaml_document_get_node(doc, *it), depth + 1, count, diag);
            if (!c) { cJSON_Delete(j); return NULL; }
            cJSON_AddItemToArray(j, c);
        }
        break;
    case YAML_MAPPING_NODE:
        j = cJSON_CreateObject();
        for (yaml_node_pair_t *p = n->data.mapping.pairs.start; j && p < n->data.mapping.pairs.top; p++) {
            yaml_node_t *k = yaml_document_get_node(doc, p->key);
            if (!k || k->type != YAML_SCALAR_NODE || strlen((char *)k->data.scalar.value) != k->data.scalar.length) {
                mv_diag_add(diag, "(line %d, column %d): a mapping key must be a plain name",
                            k ? (int)k->start_mark.line + 1 : 0, k ? (int)k->start_mark.column + 1 : 0);
                cJSON_Delete(j);
                return NULL;
            }
            const char *key = (const char *)k->data.scalar.value;
            if (cJSON_GetObjectItemCaseSensitive(j, key)) {
                mv_diag_add(diag, "%s (line %d, column %d): duplicate key", key, (int)k->start_mark.line + 1,
                            (int)k->start_mark.column + 1);
                continue;
            }
            cJSON *c = build(t, doc, yaml_document_get_node(doc, p->value), depth + 1, count, diag);
            if (!c) { cJSON_Delete(j); return NULL; }
            cJSON_AddItemToObject(j, key, c);
        }
        break;
    default:
        return NULL;
    }
    if (j && mark_add(t, j, n)) { cJSON_Delete(j); return NULL; }
    return j;
}

static void forget_marks(mv_yaml_tree *t, size_t from) { t->n_marks = from; }

cJSON *mv_yaml_tree_parse(mv_yaml_tree *t, const char *text, size_t len, mv_diag *diag)
{
    yaml_parser_t parser;
    yaml_document_t doc;
    cJSON *root = NULL;
    memset(t, 0, sizeof *t);
    if (!yaml_parser_initialize(&parser)) { mv_diag_add(diag, "out of memory"); return NULL; }
    yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
    if (!yaml_parser_load(&parser, &doc)) {
        mv_diag_add(diag, "(line %zu, column %zu): not valid YAML: %s%s%s", parser.problem_mark.line + 1,
                    parser.problem_mark.column + 1, parser.problem ? parser.problem : "syntax error",
                    parser.context ? " " : "", parser.context ? parser.context : "");
        yaml_parser_delete(&parser);
        return NULL;
    }
    yaml_node_t *top = yaml_document_get_root_node(&doc);
    size_t count = 0;
    if (!top) mv_diag_add(diag, "the file is empty: expected a mergekit configuration (merge_method, models, ...)");
    else if (top->type != YAML_MAPPING_NODE)
        mv_diag_add(diag, "(line %d, column %d): expected a mapping at the top (merge_method: ..., models: ...)",
                    (int)top->start_mark.line + 1, (int)top->start_mark.column + 1);
    else root = build(t, &doc, top, 0, &count, diag);
    if (!root) forget_marks(t, 0);
    /* a second document is not a config this tool can use */
    yaml_document_t extra;
    if (root && yaml_parser_load(&parser, &extra)) {
        if (yaml_document_get_root_node(&extra)) {
            mv_diag_add(diag, "(line %zu): a second YAML document; a merge config is one document",
                        parser.mark.line + 1);
            cJSON_Delete(root);
            root = NULL;
        }
        yaml_document_delete(&extra);
    }
    yaml_document_delete(&doc);
    yaml_parser_delete(&parser);
    return root;
}

void mv_yaml_tree_free(mv_yaml_tree *t)
{
    free(t->marks);
    memset(t, 0, sizeof *t);
}
