/* core/report/svg.c — inline SVG line charts for report.html: one series over evaluation
 * points with a shaded confidence band, points coloured by verdict. No scripts, no fonts
 * to fetch: the output is plain SVG markup embedded in the page. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "mv_report.h"
#include "mv_strbuf.h"



char *mv_svg_chart(const char *title, const char *const *labels, const double *ys,
                   const double *lo, const double *hi, size_t n, const char *const *colors)
{
    const double W = 380, H = 190, L = 52, R = 12, T = 24, B = 44;
    mv_strbuf b = { 0 };
    double ymin = INFINITY, ymax = -INFINITY;
    for (size_t i = 0; i < n; i++) {
        double v[3] = { ys[i], lo ? lo[i] : NAN, hi ? hi[i] : NAN };
        for (int k = 0; k < 3; k++)
            if (isfinite(v[k])) { if (v[k] < ymin) ymin = v[k]; if (v[k] > ymax) ymax = v[k]; }
    }
    if (!isfinite(ymin)) { ymin = 0; ymax = 1; }
    if (ymax - ymin < 1e-12) { double c = ymin; ymin = c - (fabs(c) * 0.05 + 1e-3); ymax = c + (fabs(c) * 0.05 + 1e-3); }
    double pad = (ymax - ymin) * 0.08;
    ymin -= pad; ymax += pad;
#define X(i) (n > 1 ? L + (W - L - R) * (double)(i) / (double)(n - 1) : L + (W - L - R) / 2)
#define Y(v) (T + (H - T - B) * (1.0 - ((v) - ymin) / (ymax - ymin)))
    mv_sb_add(&b, "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 %.0f %.0f\" width=\"%.0f\" height=\"%.0f\" role=\"img\">",
           W, H, W, H);
    mv_sb_add(&b, "<title>");
    mv_sb_xml(&b, title);
    mv_sb_add(&b, "</title><rect x=\"0\" y=\"0\" width=\"%.0f\" height=\"%.0f\" fill=\"#fff\"/>", W, H);
    mv_sb_add(&b, "<text x=\"%.0f\" y=\"15\" font-size=\"12\" font-family=\"sans-serif\" font-weight=\"bold\">", L);
    mv_sb_xml(&b, title);
    mv_sb_add(&b, "</text>");
    /* Grid: 4 horizontal lines with values. */
    for (int k = 0; k <= 3; k++) {
        double v = ymin + (ymax - ymin) * k / 3.0;
        mv_sb_add(&b, "<line x1=\"%.1f\" x2=\"%.1f\" y1=\"%.1f\" y2=\"%.1f\" stroke=\"#e3e3e3\"/>", L, W - R, Y(v), Y(v));
        mv_sb_add(&b, "<text x=\"%.1f\" y=\"%.1f\" font-size=\"9\" text-anchor=\"end\" font-family=\"sans-serif\" fill=\"#555\">%.4g</text>",
               L - 4, Y(v) + 3, v);
    }
    /* Band: polygon over points that have both bounds. */
    if (lo && hi) {
        mv_strbuf poly = { 0 };
        size_t cnt = 0;
        for (size_t i = 0; i < n; i++)
            if (isfinite(lo[i]) && isfinite(hi[i])) { mv_sb_add(&poly, "%.1f,%.1f ", X(i), Y(hi[i])); cnt++; }
        for (size_t i = n; i-- > 0;)
            if (isfinite(lo[i]) && isfinite(hi[i])) mv_sb_add(&poly, "%.1f,%.1f ", X(i), Y(lo[i]));
        char *points = mv_sb_take(&poly);
        if (points && cnt >= 2)
            mv_sb_add(&b, "<polygon points=\"%s\" fill=\"#9ec5fe\" fill-opacity=\"0.45\" stroke=\"none\"/>", points);
        free(points);
        for (size_t i = 0; i < n; i++)
            if (isfinite(lo[i]) && isfinite(hi[i]) && hi[i] > lo[i])
                mv_sb_add(&b, "<line x1=\"%.1f\" x2=\"%.1f\" y1=\"%.1f\" y2=\"%.1f\" stroke=\"#6ea8fe\" stroke-width=\"2\"/>",
                       X(i), X(i), Y(lo[i]), Y(hi[i]));
    }
    mv_strbuf line = { 0 };
    for (size_t i = 0; i < n; i++)
        if (isfinite(ys[i])) mv_sb_add(&line, "%.1f,%.1f ", X(i), Y(ys[i]));
    char *points = mv_sb_take(&line);
    if (points && *points)
        mv_sb_add(&b, "<polyline points=\"%s\" fill=\"none\" stroke=\"#1f4e99\" stroke-width=\"2\"/>", points);
    free(points);
    for (size_t i = 0; i < n; i++) {
        if (isfinite(ys[i])) {
            mv_sb_add(&b, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"4.5\" fill=\"%s\" stroke=\"#1f4e99\"><title>",
                   X(i), Y(ys[i]), colors && colors[i] ? colors[i] : "#1f4e99");
            mv_sb_xml(&b, labels[i]);
            mv_sb_add(&b, ": %.5g</title></circle>", ys[i]);
        }
        /* End labels anchored inwards so they are not clipped at the chart's edges. */
        const char *anchor = n > 1 && i == 0 ? "start" : n > 1 && i == n - 1 ? "end" : "middle";
        mv_sb_add(&b, "<text x=\"%.1f\" y=\"%.1f\" font-size=\"9\" text-anchor=\"%s\" font-family=\"sans-serif\" fill=\"#333\">",
               X(i) + (n > 1 && i == 0 ? -6.0 : n > 1 && i == n - 1 ? 6.0 : 0.0), H - B + 14 + (double)(i % 2) * 11, anchor);
        mv_sb_xml(&b, labels[i]);
        mv_sb_add(&b, "</text>");
    }
    mv_sb_add(&b, "</svg>");
#undef X
#undef Y
    return mv_sb_take(&b);
}
