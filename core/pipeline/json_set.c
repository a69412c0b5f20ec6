/* core/pipeline/json_set.c — apply "path=value" overrides (`mergeval run --set`) to a
 * parsed JSON document: "train.params.lr=3e-4", "$.evaluate[0].params.k=8",
 * "iterations=2". Values are JSON when they parse, otherwise strings. Creates missing
 * object levels; never creates array elements. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <cjson/cJSON.h>
#include "mv_pipeline.h"

mv_status mv_json_set_path(void *root_v, const char *assignment, mv_error *err)
{
    cJSON *root = root_v;
    const char *eq = strchr(assignment, '=');
    if (!eq || eq == assignment)
        return mv_errorf(err, MV_E_INPUT, "--set %s: expected PATH=VALUE (e.g. train.params.lr=3e-4)",
                         assignment);
    size_t plen = (size_t)(eq - assignment);
    char *path = strndup(assignment, plen);
    const char *vtext = eq + 1;
    cJSON *val = cJSON_Parse(vtext);
    if (!val) val = cJSON_CreateString(vtext);
    mv_status st = MV_OK;
    char *p = path;
    if (p[0] == '$') p++;
    if (p[0] == '.') p++;
    cJSON *cur = root;
    for (;;) {
        /* Next segment: a key up to '.' or '[', or an index "[N]". */
        if (*p == '[') {
            char *end;
            long idx = strtol(p + 1, &end, 10);
            if (*end != ']' || !cJSON_IsArray(cur) || idx < 0 || idx >= cJSON_GetArraySize(cur)) {
                st = mv_errorf(err, MV_E_INPUT, "--set %.*s: index [%ld] does not exist",
                               (int)plen, assignment, idx);
                goto fail;
            }
            p = end + 1;
            if (*p == '.') p++;
            if (*p == 0) {
                cJSON_ReplaceItemInArray(cur, (int)idx, val);
                val = NULL;
                break;
            }
            cur = cJSON_GetArrayItem(cur, (int)idx);
            continue;
        }
        size_t n = strcspn(p, ".[");
        if (n == 0) {
            st = mv_errorf(err, MV_E_INPUT, "--set %.*s: empty path segment", (int)plen, assignment);
            goto fail;
        }
        char *key = strndup(p, n);
        p += n;
        if (*p == '.') p++;
        if (!cJSON_IsObject(cur)) {
            st = mv_errorf(err, MV_E_INPUT, "--set %.*s: \"%s\" is inside a value that is not an object",
                           (int)plen, assignment, key);
            free(key);
            goto fail;
        }
        if (*p == 0) {
            if (cJSON_GetObjectItemCaseSensitive(cur, key))
                cJSON_ReplaceItemInObjectCaseSensitive(cur, key, val);
            else
                cJSON_AddItemToObject(cur, key, val);
            val = NULL;
            free(key);
            break;
        }
        cJSON *next = cJSON_GetObjectItemCaseSensitive(cur, key);
        if (!next) next = cJSON_AddObjectToObject(cur, key);
        free(key);
        cur = next;
    }
fail:
    cJSON_Delete(val);
    free(path);
    return st;
}
