/*
 * cam-heatmap-report.c -- --evaluate DATASET --report DIR: the evaluation as one static
 * HTML page that any browser shows without a network or scripts.
 *
 *   DIR/index.html     summary, per-class accuracy, the confusion matrix as a coloured grid,
 *                      the faithfulness table, the mean deletion and insertion curves of
 *                      every method as inline SVG charts (drawn here, as text), and the
 *                      galleries below
 *   DIR/class-NN.png   per class NN: the first images of the slice predicted as that class
 *                      (the lab's show_maps), with their maps (cli_sheet_compose)
 *   DIR/mistakes.png   the most confident wrong predictions with their maps
 *
 * Every number on the page is the JSON's (the same values, written by the same
 * cli_json_float into a data-value attribute beside the rounded text), so a reader of the
 * page and a program reading --json see one result. Each file is written to a temporary
 * name and renamed (cli_write_file); index.html comes last, so a page never refers to an
 * image that is not there.
 */
#include "cam-heatmap.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define REPORT_ERROR (g_quark_from_static_string("cam-heatmap-report"))

enum {
    GALLERY_PER_CLASS = 8, /* images shown per class */
    MISTAKES_SHOWN = 12,   /* most confident mistakes shown */
    REPORT_TILE_SIZE = 96,
};

/* ---- HTML helpers ---------------------------------------------------------- */

static void html_text(GString *out, const char *text)
{
    for (const char *p = text ? text : ""; *p; p++) {
        switch (*p) {
        case '&': g_string_append(out, "&amp;"); break;
        case '<': g_string_append(out, "&lt;"); break;
        case '>': g_string_append(out, "&gt;"); break;
        case '"': g_string_append(out, "&quot;"); break;
        case '\'': g_string_append(out, "&#39;"); break;
        default: g_string_append_c(out, *p);
        }
    }
}

/* The JSON's spelling of a value (cli_json_float), for data-value attributes. */
static char *json_number(double v)
{
    GString *s = g_string_new(NULL);
    cli_json_float(s, v);
    return g_string_free(s, FALSE);
}

/* <td data-key=KEY data-value=JSON>TEXT</td> */
static void td_number(GString *out, const char *key, double value, const char *text,
                      const char *style)
{
    char *v = json_number(value);
    g_string_append(out, "<td class=\"num\" data-key=\"");
    html_text(out, key);
    g_string_append_printf(out, "\" data-value=\"%s\"", v);
    if (style) g_string_append_printf(out, " style=\"%s\"", style);
    g_string_append_c(out, '>');
    html_text(out, text);
    g_string_append(out, "</td>");
    g_free(v);
}

static void td_int(GString *out, const char *key, int value)
{
    g_string_append(out, "<td class=\"num\" data-key=\"");
    html_text(out, key);
    g_string_append_printf(out, "\" data-value=\"%d\">%d</td>", value, value);
}

static void td_ratio(GString *out, const char *key, int num, int den)
{
    if (den <= 0) {
        g_string_append(out, "<td class=\"num\" data-key=\"");
        html_text(out, key);
        g_string_append(out, "\" data-value=\"null\">-</td>");
        return;
    }
    double r = (double) num / den;
    char *text = g_strdup_printf("%.2f%%", 100.0 * r);
    td_number(out, key, r, text, NULL);
    g_free(text);
}

static void hex_colour(char out[8], cam_colormap cmap, float t)
{
    uint8_t rgb[3];
    cam_colormap_lookup(cmap, t, rgb);
    g_snprintf(out, 8, "#%02x%02x%02x", rgb[0], rgb[1], rgb[2]);
}

/* ---- sections -------------------------------------------------------------- */

static const char style[] =
    "body{font-family:'DejaVu Sans',Verdana,sans-serif;margin:24px auto;max-width:1180px;"
    "color:#222;padding:0 16px}"
    "h1{font-size:1.6em;margin-bottom:4px}h2{margin-top:36px;border-bottom:1px solid #ccc;"
    "padding-bottom:4px}h3{margin:18px 0 6px}"
    ".sub{color:#666;margin-top:0}"
    "table{border-collapse:collapse;margin:8px 0}"
    "td,th{padding:3px 9px;border:1px solid #ddd}th{background:#f3f3f3;text-align:left}"
    "td.num{text-align:right;font-variant-numeric:tabular-nums}"
    "table.confusion td{width:44px;height:30px;text-align:center;border:1px solid #fff}"
    "table.confusion th{font-weight:normal;font-size:.85em}"
    ".bar{display:inline-block;height:10px;background:#4a8f4a}"
    ".note{color:#555;font-size:.92em;max-width:900px}"
    ".charts{display:flex;flex-wrap:wrap;gap:24px}"
    "img.sheet{max-width:100%;border:1px solid #ddd}"
    "nav a{margin-right:14px}";

static void section_summary(GString *h, const cli_report *r)
{
    const cam_model_info *info = cam_model_get_info(r->model);
    g_string_append(h, "<h2 id=\"summary\">Summary</h2>\n<table class=\"summary\">\n");
    g_string_append(h, "<tr><th>model</th><td>");
    html_text(h, info->name);
    g_string_append(h, " (");
    html_text(h, info->origin);
    g_string_append(h, ")</td></tr>\n<tr><th>data set</th><td>");
    html_text(h, cli_dataset_describe(r->dataset));
    g_string_append(h, ", split ");
    html_text(h, r->split);
    g_string_append(h, "</td></tr>\n<tr><th>images</th><td>");
    g_string_append_printf(h, "#%d to #%d (", r->offset, r->offset + r->images - 1);
    g_string_append_printf(h, "<span data-key=\"dataset.images\" data-value=\"%d\">%d</span> "
                              "images)</td></tr>\n",
                           r->images, r->images);
    g_string_append(h, "<tr><th>evaluated</th>");
    td_int(h, "dataset.evaluated", r->evaluated);
    g_string_append(h, "</tr>\n<tr><th>failed</th>");
    td_int(h, "dataset.failed", r->failed);
    g_string_append(h, "</tr>\n<tr><th>correct</th>");
    td_int(h, "correct", r->correct);
    g_string_append(h, "</tr>\n<tr><th>accuracy</th>");
    td_ratio(h, "accuracy", r->correct, r->evaluated);
    g_string_append(h, "</tr>\n</table>\n");
}

static void section_classes(GString *h, const cli_report *r)
{
    int nc = cam_model_n_classes(r->model);
    g_string_append(h, "<h2 id=\"classes\">Per-class accuracy</h2>\n<table class=\"classes\">\n"
                       "<tr><th>#</th><th>class</th><th>images</th><th>correct</th>"
                       "<th>accuracy</th><th></th></tr>\n");
    for (int c = 0; c < nc; c++) {
        char key[64];
        g_string_append_printf(h, "<tr><td class=\"num\">%d</td><td>", c);
        html_text(h, cam_model_class_label(r->model, c));
        g_string_append(h, "</td>");
        g_snprintf(key, sizeof key, "classes.%d.images", c);
        td_int(h, key, r->class_images[c]);
        g_snprintf(key, sizeof key, "classes.%d.correct", c);
        td_int(h, key, r->class_correct[c]);
        g_snprintf(key, sizeof key, "classes.%d.accuracy", c);
        td_ratio(h, key, r->class_correct[c], r->class_images[c]);
        int width = r->class_images[c] ? (int) lround(160.0 * r->class_correct[c] /
                                                      r->class_images[c])
                                       : 0;
        g_string_append_printf(h, "<td><span class=\"bar\" style=\"width:%dpx\"></span></td>"
                                  "</tr>\n",
                               width);
    }
    g_string_append(h, "</table>\n");
}

static void section_confusion(GString *h, const cli_report *r)
{
    int nc = cam_model_n_classes(r->model);
    g_string_append(h, "<h2 id=\"confusion\">Confusion matrix</h2>\n"
                       "<p class=\"note\">Rows: true class; columns: predicted class. The "
                       "colour is the share of the row (square-root scale): green on the "
                       "diagonal (correct), red elsewhere (mistakes).</p>\n"
                       "<table class=\"confusion\">\n<tr><th></th>");
    for (int c = 0; c < nc; c++) {
        g_string_append(h, "<th title=\"");
        html_text(h, cam_model_class_label(r->model, c));
        g_string_append_printf(h, "\">%d</th>", c);
    }
    g_string_append(h, "</tr>\n");
    for (int t = 0; t < nc; t++) {
        g_string_append_printf(h, "<tr><th>%d ", t);
        html_text(h, cam_model_class_label(r->model, t));
        g_string_append(h, "</th>");
        int row = 0;
        for (int c = 0; c < nc; c++) row += r->confusion[(size_t) t * nc + c];
        for (int c = 0; c < nc; c++) {
            int v = r->confusion[(size_t) t * nc + c];
            float share = row ? (float) sqrt((double) v / row) : 0.0f;
            char bg[8], key[64], text[32], css[64];
            hex_colour(bg, t == c ? CAM_COLORMAP_GREENS : CAM_COLORMAP_REDS, share);
            g_snprintf(css, sizeof css, "background:%s;color:%s", bg,
                       share > 0.6f ? "#fff" : "#222");
            g_snprintf(key, sizeof key, "confusion_matrix.%d.%d", t, c);
            g_snprintf(text, sizeof text, "%d", v);
            td_number(h, key, v, text, css);
        }
        g_string_append(h, "</tr>\n");
    }
    g_string_append(h, "</table>\n");
}

static void section_faithfulness(GString *h, const cli_report *r)
{
    g_string_append(h, "<h2 id=\"faithfulness\">Faithfulness of the explanations</h2>\n");
    if (!r->faithfulness) {
        g_string_append(h, "<p class=\"note\">Not computed (--no-faithfulness).</p>\n");
        return;
    }
    g_string_append_printf(h,
                           "<p class=\"note\">On the predicted class, %d steps, black "
                           "baseline, random-map seed %" G_GUINT64_FORMAT
                           ". Average drop and deletion AUC: lower is better; increase in "
                           "confidence and insertion AUC: higher is better. ROAD (remove and "
                           "debias, noisy linear imputation): mean probability over the removed "
                           "shares, most relevant first (MoRF, lower is better) and least "
                           "relevant first (LeRF, higher is better). Map CPU ms: the method's "
                           "map per image (thread CPU time).</p>\n",
                           r->steps, r->seed);
    g_string_append(h, "<table class=\"faithfulness\">\n<tr><th>method</th><th>layer</th>"
                       "<th>images</th><th>average drop</th><th>increase in confidence</th>"
                       "<th>deletion AUC</th><th>insertion AUC</th><th>ROAD MoRF</th>"
                       "<th>ROAD LeRF</th><th>map CPU ms</th></tr>\n");
    for (int m = 0; m < r->n_methods; m++) {
        const cli_report_method *me = &r->methods[m];
        char key[96], text[32];
        g_string_append(h, "<tr><td>");
        html_text(h, me->name);
        g_string_append(h, "</td><td>");
        html_text(h, me->layer ? me->layer : "-");
        g_string_append(h, "</td>");
        g_snprintf(key, sizeof key, "methods.%s.images", me->name);
        td_int(h, key, me->images);
        g_snprintf(key, sizeof key, "methods.%s.average_drop", me->name);
        g_snprintf(text, sizeof text, "%.2f%%", 100.0 * me->average_drop);
        td_number(h, key, me->average_drop, text, NULL);
        g_snprintf(key, sizeof key, "methods.%s.increase_in_confidence", me->name);
        g_snprintf(text, sizeof text, "%.2f%%", 100.0 * me->increase);
        td_number(h, key, me->increase, text, NULL);
        g_snprintf(key, sizeof key, "methods.%s.deletion_auc", me->name);
        g_snprintf(text, sizeof text, "%.4f", me->deletion);
        td_number(h, key, me->deletion, text, NULL);
        g_snprintf(key, sizeof key, "methods.%s.insertion_auc", me->name);
        g_snprintf(text, sizeof text, "%.4f", me->insertion);
        td_number(h, key, me->insertion, text, NULL);
        if (me->road) {
            g_snprintf(key, sizeof key, "methods.%s.road_morf", me->name);
            g_snprintf(text, sizeof text, "%.4f", me->road_morf);
            td_number(h, key, me->road_morf, text, NULL);
            g_snprintf(key, sizeof key, "methods.%s.road_lerf", me->name);
            g_snprintf(text, sizeof text, "%.4f", me->road_lerf);
            td_number(h, key, me->road_lerf, text, NULL);
        } else {
            g_string_append(h, "<td class=\"num\">-</td><td class=\"num\">-</td>");
        }
        g_snprintf(key, sizeof key, "methods.%s.map_cpu_ms", me->name);
        g_snprintf(text, sizeof text, "%.3f", me->map_cpu_ms);
        td_number(h, key, me->map_cpu_ms, text, NULL);
        g_string_append(h, "</tr>\n");
    }
    g_string_append(h, "</table>\n");
}

static const char *const method_colours[] = {"#1f77b4", "#e6550d", "#2ca02c", "#9467bd",
                                             "#8c564b", "#e377c2"};

/* One chart: the mean probability of the predicted class over the fraction of pixels
 * deleted (or inserted), one line per method. */
static void svg_chart(GString *h, const cli_report *r, gboolean insertion)
{
    /* the plot, then the legend below it (one line per method) */
    enum { W = 540, L = 52, R = 16, T = 18, PH = 238, B = 44, LEGEND_LINE = 18 };
    const int pw = W - L - R, ph = PH;
    const int H = T + PH + B + LEGEND_LINE * r->n_methods + 6;
    const char *what = insertion ? "insertion" : "deletion";
    g_string_append_printf(h,
                           "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" "
                           "height=\"%d\" viewBox=\"0 0 %d %d\" role=\"img\" "
                           "id=\"%s-chart\" font-family=\"DejaVu Sans, sans-serif\" "
                           "font-size=\"11\">\n<title>Mean %s curve per method</title>\n",
                           W, H, W, H, what, what);
    g_string_append_printf(h, "<rect x=\"0\" y=\"0\" width=\"%d\" height=\"%d\" "
                              "fill=\"#fff\"/>\n",
                           W, H);
    for (int i = 0; i <= 4; i++) {
        double gx = L + pw * i / 4.0, gy = T + ph * (4 - i) / 4.0;
        g_string_append_printf(h,
                               "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" "
                               "stroke=\"#e4e4e4\"/>\n<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" "
                               "y2=\"%.1f\" stroke=\"#e4e4e4\"/>\n",
                               gx, T, gx, T + ph, L, gy, L + pw, gy);
        g_string_append_printf(h,
                               "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">%.2f</text>\n"
                               "<text x=\"%d\" y=\"%.1f\" text-anchor=\"end\">%.2f</text>\n",
                               gx, T + ph + 16, i / 4.0, L - 6, gy + 4, i / 4.0);
    }
    g_string_append_printf(h,
                           "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"none\" "
                           "stroke=\"#888\"/>\n",
                           L, T, pw, ph);
    g_string_append_printf(h,
                           "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\">fraction of pixels "
                           "%s</text>\n",
                           L + pw / 2, T + ph + 34, insertion ? "restored" : "deleted");
    g_string_append_printf(h,
                           "<text x=\"14\" y=\"%d\" text-anchor=\"middle\" "
                           "transform=\"rotate(-90 14 %d)\">probability of the predicted "
                           "class</text>\n",
                           T + ph / 2, T + ph / 2);
    for (int m = 0; m < r->n_methods; m++) {
        const cli_report_method *me = &r->methods[m];
        const double *v = insertion ? me->insertion_curve : me->deletion_curve;
        const char *colour = me->layer ? method_colours[m % G_N_ELEMENTS(method_colours)]
                                       : "#777";
        g_string_append(h, "<polyline fill=\"none\" stroke-width=\"2\" data-key=\"methods.");
        html_text(h, me->name);
        g_string_append_printf(h, ".%s_curve\" data-values=\"", what);
        for (int k = 0; k <= r->steps; k++) {
            char *s = json_number(v[k]);
            g_string_append_printf(h, "%s%s", k ? " " : "", s);
            g_free(s);
        }
        g_string_append_printf(h, "\" stroke=\"%s\"%s points=\"", colour,
                               me->layer ? "" : " stroke-dasharray=\"5 4\"");
        for (int k = 0; k <= r->steps; k++) {
            double px = L + pw * (double) k / r->steps;
            double py = T + ph * (1.0 - CLAMP(v[k], 0.0, 1.0));
            g_string_append_printf(h, "%s%.2f,%.2f", k ? " " : "", px, py);
        }
        g_string_append(h, "\"/>\n");
        int ly = T + PH + B + LEGEND_LINE * m + 6;
        g_string_append_printf(h,
                               "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"%s\" "
                               "stroke-width=\"2\"%s/>\n<text x=\"%d\" y=\"%d\">",
                               L, ly, L + 22, ly, colour,
                               me->layer ? "" : " stroke-dasharray=\"5 4\"", L + 28,
                               ly + 4);
        html_text(h, me->name);
        char *auc = g_strdup_printf(" (%s AUC %.4f)", what,
                                    insertion ? me->insertion : me->deletion);
        g_string_append_printf(h, "%s</text>\n", auc);
        g_free(auc);
    }
    g_string_append(h, "</svg>\n");
}

static void section_curves(GString *h, const cli_report *r)
{
    if (!r->faithfulness) return;
    g_string_append(h, "<h2 id=\"curves\">Deletion and insertion curves</h2>\n"
                       "<p class=\"note\">The mean probability of the predicted class while "
                       "pixels are set to black (deletion) or restored onto black "
                       "(insertion) in order of decreasing map value; the area under each "
                       "curve (in brackets) is the AUC of the table above. A faithful map "
                       "makes the deletion curve fall fast and the insertion curve rise "
                       "fast; the dashed line is the random map.</p>\n<div class=\"charts\">\n");
    svg_chart(h, r, FALSE);
    svg_chart(h, r, TRUE);
    g_string_append(h, "</div>\n");
}

/* ---- galleries -------------------------------------------------------------- */

typedef struct mistake {
    float probability;
    int index; /* in the data set */
    int sample;
} mistake;

/* Most probable first; ties by data set order. */
static int compare_mistakes(const void *a, const void *b)
{
    const mistake *x = a, *y = b;
    if (x->probability != y->probability) return x->probability > y->probability ? -1 : 1;
    return x->index - y->index;
}

/* Composes and writes one sheet; appends its <img> (or a note) to the page. */
static gboolean write_sheet(const char *dir, const char *file, const cli_report *r,
                            const cli_tile *tiles, int n, int columns, const char *title,
                            const char *alt, GString *h, GError **error)
{
    cli_sheet_options so = {columns, REPORT_TILE_SIZE, title};
    cli_image sheet;
    if (!cli_sheet_compose(r->model, tiles, n, &so, &sheet, NULL, error)) return FALSE;
    char *path = g_build_filename(dir, file, NULL);
    gboolean ok = cli_image_save(&sheet, path, error);
    cli_image_clear(&sheet);
    g_free(path);
    if (!ok) return FALSE;
    g_string_append_printf(h, "<p><img class=\"sheet\" src=\"%s\" alt=\"", file);
    html_text(h, alt);
    g_string_append(h, "\"></p>\n");
    return TRUE;
}

static gboolean section_galleries(GString *h, const char *dir, const cli_report *r,
                                  GError **error)
{
    int nc = cam_model_n_classes(r->model);
    /* the samples to show: per class the first predicted as it, then the mistakes */
    int *chosen = g_new(int, (size_t) nc * GALLERY_PER_CLASS + MISTAKES_SHOWN);
    int *class_count = g_new0(int, nc);
    int n_chosen = 0;
    for (int c = 0; c < nc; c++) {
        for (int i = 0; i < r->images && class_count[c] < GALLERY_PER_CLASS; i++) {
            const cli_report_image *s = &r->samples[i];
            if (s->ok && s->predicted == c) {
                chosen[n_chosen++] = i;
                class_count[c]++;
            }
        }
    }
    mistake *wrong = g_new(mistake, MAX(r->images, 1));
    int n_wrong = 0;
    for (int i = 0; i < r->images; i++) {
        const cli_report_image *s = &r->samples[i];
        if (s->ok && s->predicted != s->label)
            wrong[n_wrong++] = (mistake){s->probability, s->index, i};
    }
    qsort(wrong, (size_t) n_wrong, sizeof *wrong, compare_mistakes);
    int n_mistakes = MIN(n_wrong, MISTAKES_SHOWN);
    for (int k = 0; k < n_mistakes; k++) chosen[n_chosen++] = wrong[k].sample;
    g_free(wrong);

    int *indices = g_new(int, MAX(n_chosen, 1));
    for (int k = 0; k < n_chosen; k++) indices[k] = r->samples[chosen[k]].index;
    cli_tile *tiles = g_new0(cli_tile, MAX(n_chosen, 1));
    char **errors = g_new0(char *, MAX(n_chosen, 1));
    cli_tiles_from_dataset(r->model, r->dataset, indices, n_chosen, &r->tiles, r->jobs, tiles,
                           errors);
    gboolean ok = TRUE;
    for (int k = 0; k < n_chosen && ok; k++) {
        if (errors[k]) {
            g_set_error(error, REPORT_ERROR, 1, "gallery image %s", errors[k]);
            ok = FALSE;
        }
    }
    const char *method = cam_method_name(r->tiles.explain.method);
    g_string_append_printf(h,
                           "<h2 id=\"galleries\">Gallery per class</h2>\n<p class=\"note\">For "
                           "each class, the first %d images of the slice predicted as that "
                           "class, each with the %s map of its prediction, coloured as the "
                           "model's colormap rule says; the caption gives the true label, "
                           "marked in red when the prediction is wrong.</p>\n",
                           GALLERY_PER_CLASS, method);
    int at = 0;
    for (int c = 0; c < nc && ok; c++) {
        g_string_append_printf(h, "<h3 id=\"class-%02d\">%d ", c, c);
        html_text(h, cam_model_class_label(r->model, c));
        g_string_append(h, "</h3>\n");
        if (class_count[c] == 0) {
            g_string_append(h, "<p class=\"note\">No image of the slice was predicted as this "
                               "class.</p>\n");
            continue;
        }
        char *file = g_strdup_printf("class-%02d.png", c);
        char *alt = g_strdup_printf("images predicted as %s with their maps",
                                    cam_model_class_label(r->model, c));
        ok = write_sheet(dir, file, r, tiles + at, class_count[c], GALLERY_PER_CLASS, NULL, alt,
                         h, error);
        g_free(file);
        g_free(alt);
        at += class_count[c];
    }
    if (ok) {
        g_string_append_printf(h,
                               "<h2 id=\"mistakes\">Most confident mistakes</h2>\n<p "
                               "class=\"note\">The %d wrong predictions with the highest "
                               "probability, with the %s map of the (wrong) prediction.</p>\n",
                               n_mistakes, method);
        if (n_mistakes == 0)
            g_string_append(h, "<p class=\"note\">No mistakes in this slice.</p>\n");
        else
            ok = write_sheet(dir, "mistakes.png", r, tiles + at, n_mistakes, 6, NULL,
                             "the most confident mistakes with their maps", h, error);
    }
    for (int k = 0; k < n_chosen; k++) {
        cli_tile_clear(&tiles[k]);
        g_free(errors[k]);
    }
    g_free(tiles);
    g_free(errors);
    g_free(indices);
    g_free(chosen);
    g_free(class_count);
    return ok;
}

gboolean cli_report_write(const char *dir, const cli_report *r, GError **error)
{
    if (g_mkdir_with_parents(dir, 0777) != 0) {
        int e = errno;
        g_set_error(error, G_FILE_ERROR, g_file_error_from_errno(e),
                    "%s: cannot create the folder: %s", dir, g_strerror(e));
        return FALSE;
    }
    const cam_model_info *info = cam_model_get_info(r->model);
    GString *h = g_string_new("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n"
                              "<meta charset=\"utf-8\">\n<title>Evaluation of ");
    html_text(h, info->name);
    g_string_append(h, "</title>\n<style>");
    g_string_append(h, style);
    g_string_append(h, "</style>\n</head>\n<body>\n<h1>Evaluation of ");
    html_text(h, info->name);
    g_string_append(h, "</h1>\n<p class=\"sub\">");
    html_text(h, cli_dataset_describe(r->dataset));
    g_string_append(h, " &middot; written by cam-heatmap " CAM_VERSION_STRING
                       " &middot; the numbers are those of the JSON (--json)</p>\n"
                       "<nav><a href=\"#summary\">summary</a><a href=\"#classes\">classes</a>"
                       "<a href=\"#confusion\">confusion matrix</a>");
    if (r->faithfulness)
        g_string_append(h, "<a href=\"#faithfulness\">faithfulness</a>"
                           "<a href=\"#curves\">curves</a>");
    g_string_append(h, "<a href=\"#galleries\">galleries</a><a href=\"#mistakes\">mistakes</a>"
                       "</nav>\n");
    section_summary(h, r);
    section_classes(h, r);
    section_confusion(h, r);
    section_faithfulness(h, r);
    section_curves(h, r);
    gboolean ok = section_galleries(h, dir, r, error);
    cli_text_shutdown();
    if (ok) {
        g_string_append(h, "</body>\n</html>\n");
        char *index = g_build_filename(dir, "index.html", NULL);
        ok = cli_write_text(index, h->str, h->len, error);
        g_free(index);
    }
    g_string_free(h, TRUE);
    return ok;
}
