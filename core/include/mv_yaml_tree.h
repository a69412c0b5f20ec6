/* core/include/mv_yaml_tree.h — a YAML document as a cJSON tree plus each node's position
 * in the file (core/lib/yaml_tree.c). Core-internal. */
#ifndef MV_YAML_TREE_H
#define MV_YAML_TREE_H
#include <stddef.h>
#include <cjson/cJSON.h>
#include "mv_pipeline.h"

typedef struct mv_yaml_mark { const cJSON *node; int line, column; } mv_yaml_mark;
typedef struct mv_yaml_tree {
    mv_yaml_mark *marks;
    size_t n_marks, cap_marks;
    int too_big;
} mv_yaml_tree;

/* Parse one YAML document whose top is a mapping; NULL (problems in diag) otherwise.
 * The caller owns the cJSON tree and frees t with mv_yaml_tree_free. */
cJSON *mv_yaml_tree_parse(mv_yaml_tree *t, const char *text, size_t len, mv_diag *diag);
/* The 1-based line and column of a node of the tree; 0 when unknown. */
int mv_yaml_mark_of(const mv_yaml_tree *t, const cJSON *j, int *line, int *column);
void mv_yaml_tree_free(mv_yaml_tree *t);

#endif
