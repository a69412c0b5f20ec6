/* core/report/verdict_text.c — the words a report uses for one comparison, shared by the
 * markdown, HTML and terminal renderings: "regressed" / "improved" only when significant
 * after the Holm adjustment, "non-inferior (margin m)" only when a gate's non-inferiority
 * test passed, otherwise "no significant change (CI …)" — never "recovered". */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include "mv_report.h"

static double num(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItem(o, k);
    return cJSON_IsNumber(v) ? v->valuedouble : NAN;
}

const char *mv_report_verdict_text(const cJSON *c, int icons, char *buf, size_t n)
{
    const cJSON *jv = cJSON_GetObjectItem(c, "verdict"), *ci = cJSON_GetObjectItem(c, "ci95");
    const char *v = cJSON_IsString(jv) ? jv->valuestring : "";
    char cis[80] = "", unm[48] = "";
    if (cJSON_IsArray(ci))
        snprintf(cis, sizeof cis, "CI [%+.3g, %+.3g]", cJSON_GetArrayItem(ci, 0)->valuedouble,
                 cJSON_GetArrayItem(ci, 1)->valuedouble);
    double un = num(c, "n_unpaired");
    if (un > 0) snprintf(unm, sizeof unm, "; %.0f unmatched", un);
    double margin = num(c, "noninferior_margin");
    if (strcmp(v, "regressed") == 0 || strcmp(v, "improved") == 0)
        snprintf(buf, n, "%s%s (%s, p_adj %.2g%s)", icons ? (v[0] == 'r' ? "🔻 " : "🟢 ") : "", v, cis,
                 num(c, "p_adjusted"), unm);
    else if (strcmp(v, "no significant change") == 0 && isfinite(margin))
        snprintf(buf, n, "non-inferior (margin %.3g; %s%s)", margin, cis, unm);
    else if (strcmp(v, "no significant change") == 0)
        snprintf(buf, n, "no significant change (%s%s)", cis[0] ? cis : "no interval", unm);
    else if (strcmp(v, "not comparable") == 0)
        snprintf(buf, n, "%snot comparable (%.0f unmatched)", icons ? "⚠️ " : "", un);
    else snprintf(buf, n, "%s", v);
    return buf;
}

/* "p 0.012 → 0.048" (raw → Holm-adjusted), "–" without a test. */
const char *mv_report_p_text(const cJSON *c, char *buf, size_t n)
{
    double p = num(c, "p_value"), q = num(c, "p_adjusted");
    if (!isfinite(p)) snprintf(buf, n, "–");
    else snprintf(buf, n, "%.2g → %.2g", p, q);
    return buf;
}
