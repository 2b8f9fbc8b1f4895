/*
 * heatmap-job.c -- read the region through GEGL, explain it, render the heatmap
 * (or the map, thresholded map, several classes' heatmaps), and add the result to
 * the image as one undo step.
 *
 * Memory: the region is read once into one full-size copy for the model's
 * preprocessing (8-bit, or 16-bit for images of higher precision), freed before
 * rendering; the result is then rendered in strips into a buffer of the plug-in's
 * own (GEGL tiles, 8-bit), so at most one extra full-size 8-bit copy exists at a
 * time (the bounding box also keeps one byte per pixel of the thresholded map for
 * cam_mask_largest_region; "compare" one layer buffer per class). The image is
 * touched only after everything has succeeded.
 *
 * Outputs: heatmap and blend (render_colours), compare (render_colours per class),
 * mask, selection and bounding box (render_map: the gray map, or the map thresholded
 * by the engine), each applied in one undo group by heatmap_job_apply.
 *
 * Copyright (C) 2026 the gimp-cam authors. GPL-3.0-or-later.
 */
#include "config.h"

#include <math.h>
#include <string.h>

#include <glib/gi18n.h>

#include "heatmap-job.h"

#define STRIP_ROWS 64

/* GIMP's progress bar: the image prepared, explained (the engine's fraction), rendered. */
#define PROGRESS_EXPLAIN 0.05
#define PROGRESS_RENDER  0.5

struct HeatmapJob {
  PluginSettings      settings_copy; /* only the strings the resolved settings point into */
  HeatmapSource       source;
  cam_model          *model;
  ResolvedSettings    resolved;
  cam_explanation    *explanation;   /* NULL until computed */
  cam_preprocess_info info;
  GeglBuffer         *result;        /* heatmap, blend: the new layer's pixels; mask,
                                        selection, bounding box: the map, "Y u8" */
  cam_rect            result_rect;   /* in image coordinates */
  gchar              *layer_name;
  gdouble             opacity;       /* 0..100 */
  cam_region          region;        /* bounding box: in result_rect's coordinates */
  /* compare: one heatmap per class, most probable first */
  gint                n_compare;
  cam_explanation   **compare;
  GeglBuffer        **compare_results;
  gchar             **compare_names;
  gchar              *group_name;
};

static gboolean
engine_error (GError **error, const cam_error *err, const gchar *what)
{
  g_set_error (error, PLUGIN_ERROR,
               err->status == CAM_ERROR_INVALID_ARGUMENT ? PLUGIN_ERROR_ARGUMENT
                                                         : PLUGIN_ERROR_EXECUTION,
               "%s: %s", what, err->message);
  return FALSE;
}

gboolean
heatmap_check_drawable (GimpImage *image, GimpDrawable *drawable, GError **error)
{
  GimpItem *item = GIMP_ITEM (drawable);

  if (gimp_item_is_layer_mask (item))
    {
      g_set_error (error, PLUGIN_ERROR, PLUGIN_ERROR_ARGUMENT,
                   _("A layer mask is selected; Class Activation Map works on the layer's "
                     "pixels. Click the layer's thumbnail to select the layer itself."));
      return FALSE;
    }
  if (! gimp_item_is_layer (item))
    {
      g_set_error (error, PLUGIN_ERROR, PLUGIN_ERROR_ARGUMENT,
                   _("\"%s\" is a channel or path; Class Activation Map works on layers. "
                     "Select a layer."), gimp_item_get_name (item));
      return FALSE;
    }
  if (gimp_item_is_group (item))
    {
      g_set_error (error, PLUGIN_ERROR, PLUGIN_ERROR_ARGUMENT,
                   _("\"%s\" is a layer group; select a layer inside it, or select any layer "
                     "and turn on \"Sample merged\" to classify what is visible."),
                   gimp_item_get_name (item));
      return FALSE;
    }
  return TRUE;
}

gboolean
heatmap_source_open (GimpImage *image, GimpDrawable *drawable, gboolean sample_merged,
                     HeatmapSource *source, GError **error)
{
  gint x, y, width, height, off_x, off_y;

  memset (source, 0, sizeof *source);
  if (! gimp_drawable_mask_intersect (drawable, &x, &y, &width, &height) ||
      width < 1 || height < 1)
    {
      g_set_error (error, PLUGIN_ERROR, PLUGIN_ERROR_ARGUMENT,
                   _("The selection does not overlap the layer \"%s\"; select a part of "
                     "the layer, or nothing (Select > None) to use the whole layer."),
                   gimp_item_get_name (GIMP_ITEM (drawable)));
      return FALSE;
    }
  gimp_drawable_get_offsets (drawable, &off_x, &off_y);

  source->image         = image;
  source->drawable      = drawable;
  source->x             = off_x + x;
  source->y             = off_y + y;
  source->width         = width;
  source->height        = height;
  source->has_selection = ! gimp_selection_is_empty (image);

  switch (gimp_image_get_precision (image))
    {
    case GIMP_PRECISION_U8_LINEAR:
    case GIMP_PRECISION_U8_NON_LINEAR:
    case GIMP_PRECISION_U8_PERCEPTUAL:
      source->high_precision = FALSE;
      break;
    default:
      source->high_precision = TRUE;
      break;
    }

  if (sample_merged)
    {
      source->visible = gimp_layer_new_from_visible (image, image, "gimp-cam: visible");
      if (source->visible == NULL)
        {
          g_set_error (error, PLUGIN_ERROR, PLUGIN_ERROR_EXECUTION,
                       _("Could not read the visible image (Sample merged)."));
          return FALSE;
        }
      source->buffer   = gimp_drawable_get_buffer (GIMP_DRAWABLE (source->visible));
      source->buffer_x = source->x;
      source->buffer_y = source->y;
    }
  else
    {
      source->buffer   = gimp_drawable_get_buffer (drawable);
      source->buffer_x = x;
      source->buffer_y = y;
    }
  return TRUE;
}

void
heatmap_source_close (HeatmapSource *source)
{
  g_clear_object (&source->buffer);
  if (source->visible)
    {
      gimp_item_delete (GIMP_ITEM (source->visible));
      source->visible = NULL;
    }
}

static gboolean
source_has_alpha (const HeatmapSource *source)
{
  return source->visible != NULL || gimp_drawable_has_alpha (source->drawable);
}

gboolean
heatmap_source_read (const HeatmapSource *source, cam_image *image, GError **error)
{
  /* The same samples cam-heatmap gets from an 8-bit file: RGB, or RGBA when
   * there is alpha, non-linear sRGB. */
  gboolean    alpha    = source_has_alpha (source);
  gint        channels = alpha ? 4 : 3;
  gsize       sample   = source->high_precision ? 2 : 1;
  const char *format   = source->high_precision ? (alpha ? "R'G'B'A u16" : "R'G'B' u16")
                                                : (alpha ? "R'G'B'A u8" : "R'G'B' u8");
  gsize       stride   = (gsize) source->width * channels * sample;
  guchar     *pixels;

  pixels = g_try_malloc (stride * source->height);
  if (pixels == NULL)
    {
      g_set_error (error, PLUGIN_ERROR, PLUGIN_ERROR_EXECUTION,
                   _("Not enough memory to read a %d x %d region."),
                   source->width, source->height);
      return FALSE;
    }
  gegl_buffer_get (source->buffer,
                   GEGL_RECTANGLE (source->buffer_x, source->buffer_y,
                                   source->width, source->height),
                   1.0, babl_format (format), pixels, stride, GEGL_ABYSS_NONE);

  image->pixels   = pixels;
  image->width    = source->width;
  image->height   = source->height;
  image->channels = channels;
  image->type     = source->high_precision ? CAM_SAMPLE_U16 : CAM_SAMPLE_U8;
  image->stride   = stride;
  return TRUE;
}

gboolean
heatmap_source_preprocess (const HeatmapSource *source, const cam_model *model, float *input,
                           cam_preprocess_info *info, GError **error)
{
  cam_image   image;
  cam_error   err = { 0 };
  cam_status  status;

  if (! heatmap_source_read (source, &image, error))
    return FALSE;
  status = cam_preprocess (model, &image, NULL, input, info, &err);
  g_free (image.pixels);
  if (status != CAM_OK)
    return engine_error (error, &err, _("Preparing the image for the model failed"));
  return TRUE;
}

cam_render_options
heatmap_render_options (const cam_model *model, const ResolvedSettings *resolved,
                        cam_method method, float probability, gboolean blend_output)
{
  cam_render_options options = cam_render_options_for_model (model, method, probability);

  options.alpha     = resolved->alpha;
  options.colormap  = resolved->colormap;
  options.threshold = resolved->threshold;
  options.output    = blend_output ? CAM_OUTPUT_BLEND : CAM_OUTPUT_HEATMAP;
  return options;
}

void
heatmap_top_classes (const float *probabilities, gint n_classes, gint *order, gint n)
{
  for (gint k = 0; k < n; k++)
    {
      gint best = -1;

      for (gint c = 0; c < n_classes; c++)
        {
          gboolean taken = FALSE;

          for (gint j = 0; j < k && ! taken; j++)
            taken = order[j] == c;
          if (! taken && (best < 0 || probabilities[c] > probabilities[best]))
            best = c;
        }
      order[k] = best;
    }
}

gchar *
heatmap_layer_name (const cam_model *model, cam_method method, gint class_index,
                    gfloat probability)
{
  /* TRANSLATORS: the new layer's name: method, class and probability,
   * for example "Grad-CAM: Sneaker 99.4%". */
  return g_strdup_printf (_("%s: %s %.1f%%"), method_display_name (method),
                          class_label_display (model, class_index),
                          100.0 * probability);
}

HeatmapJob *
heatmap_job_new (GimpImage *image, GimpDrawable *drawable, const PluginSettings *settings,
                 GError **error)
{
  HeatmapJob *job = g_new0 (HeatmapJob, 1);

  job->settings_copy.model    = g_strdup (settings->model);
  job->settings_copy.method   = g_strdup (settings->method);
  job->settings_copy.layer    = g_strdup (settings->layer);
  job->settings_copy.colormap = g_strdup (settings->colormap);
  job->settings_copy.class_index   = settings->class_index;
  job->settings_copy.alpha         = settings->alpha;
  job->settings_copy.output        = settings->output;
  job->settings_copy.sample_merged = settings->sample_merged;
  job->settings_copy.threshold     = settings->threshold;
  job->settings_copy.top_k         = settings->top_k;
  job->settings_copy.eigen_smooth  = settings->eigen_smooth;
  job->settings_copy.aug_smooth    = settings->aug_smooth;

  if (! heatmap_check_drawable (image, drawable, error) ||
      ! plugin_settings_load_model (&job->settings_copy, &job->model, error) ||
      ! plugin_settings_resolve (&job->settings_copy, job->model, &job->resolved, error) ||
      ! heatmap_source_open (image, drawable, settings->sample_merged, &job->source, error))
    {
      heatmap_job_free (job);
      return NULL;
    }
  return job;
}

/* result alpha *= selection / max, for one strip of RGBA pixels. */
static void
mask_strip (guchar *rgba, const guchar *selection, gint n_pixels, gboolean wide)
{
  if (wide)
    {
      guint16       *p = (guint16 *) rgba;
      const guint16 *s = (const guint16 *) selection;

      for (gint i = 0; i < n_pixels; i++)
        p[4 * i + 3] = (guint16) ((p[4 * i + 3] * (guint32) s[i] + 32767u) / 65535u);
    }
  else
    {
      for (gint i = 0; i < n_pixels; i++)
        rgba[4 * i + 3] = (guchar) ((rgba[4 * i + 3] * (guint32) selection[i] + 127u) / 255u);
    }
}

/* The selection's pixels of a strip of result_rect (8-bit), or NULL without a selection. */
typedef struct SelectionReader {
  GeglBuffer *buffer;
  guchar     *strip;
  const Babl *format;
} SelectionReader;

static gboolean
selection_reader_open (SelectionReader *reader, const HeatmapSource *source, gint width,
                       gboolean wide, GError **error)
{
  memset (reader, 0, sizeof *reader);
  if (! source->has_selection)
    return TRUE;
  reader->buffer = gimp_drawable_get_buffer (GIMP_DRAWABLE (gimp_image_get_selection (source->image)));
  reader->format = babl_format (wide ? "Y u16" : "Y u8");
  reader->strip  = g_try_malloc ((gsize) width * (wide ? 2 : 1) * STRIP_ROWS);
  if (reader->strip == NULL)
    {
      g_set_error (error, PLUGIN_ERROR, PLUGIN_ERROR_EXECUTION, _("Not enough memory."));
      return FALSE;
    }
  return TRUE;
}

static const guchar *
selection_reader_get (SelectionReader *reader, const cam_rect *rect, gint y0, gint rows)
{
  if (reader->buffer == NULL)
    return NULL;
  gegl_buffer_get (reader->buffer, GEGL_RECTANGLE (rect->x, rect->y + y0, rect->width, rows),
                   1.0, reader->format, reader->strip, GEGL_AUTO_ROWSTRIDE, GEGL_ABYSS_NONE);
  return reader->strip;
}

static void
selection_reader_close (SelectionReader *reader)
{
  g_clear_object (&reader->buffer);
  g_clear_pointer (&reader->strip, g_free);
}

static gboolean
new_renderer (HeatmapJob *job, const cam_explanation *ex, cam_render_options *options,
              cam_renderer **renderer, GError **error)
{
  cam_error err = { 0 };

  if (cam_preprocess_info_map_window (&job->info, ex->map_width, ex->map_height,
                                      &options->window, &err) != CAM_OK)
    return engine_error (error, &err, _("Placing the map failed"));
  if (cam_renderer_new (ex->map, ex->map_width, ex->map_height, job->result_rect.width,
                        job->result_rect.height, options, renderer, &err) != CAM_OK)
    return engine_error (error, &err, _("Rendering the heatmap failed"));
  return TRUE;
}

/* A layer of colours (heatmap, or the blend with the image) for one explanation,
 * masked to the selection, into *out (a new buffer of result_rect's size). */
static gboolean
render_colours (HeatmapJob *job, const cam_explanation *ex, gboolean blend, GeglBuffer **out,
                gboolean show_progress, gdouble progress_from, gdouble progress_to,
                GError **error)
{
  HeatmapSource     *source = &job->source;
  cam_render_options options;
  cam_renderer      *renderer = NULL;
  cam_error          err = { 0 };
  SelectionReader    selection = { 0 };
  gint               out_w = job->result_rect.width, out_h = job->result_rect.height;
  /* The blend of a high-precision image keeps 16 bits; a heatmap is 8-bit colours. */
  gboolean           wide = blend && source->high_precision;
  const Babl        *format = babl_format (wide ? "R'G'B'A u16" : "R'G'B'A u8");
  gsize              row_size = (gsize) out_w * (wide ? 8 : 4);
  guchar            *strip;
  gboolean           ok = FALSE;

  options = heatmap_render_options (job->model, &job->resolved, ex->method, ex->probability,
                                    blend);
  if (! new_renderer (job, ex, &options, &renderer, error))
    return FALSE;
  strip = g_try_malloc (row_size * STRIP_ROWS);
  *out  = gegl_buffer_new (GEGL_RECTANGLE (0, 0, out_w, out_h), format);
  if (strip == NULL || *out == NULL)
    {
      g_set_error (error, PLUGIN_ERROR, PLUGIN_ERROR_EXECUTION, _("Not enough memory."));
      cam_renderer_free (renderer);
      g_free (strip);
      return FALSE;
    }
  if (! selection_reader_open (&selection, source, out_w, wide, error))
    goto out;

  for (gint y0 = 0; y0 < out_h; y0 += STRIP_ROWS)
    {
      gint          rows = MIN (STRIP_ROWS, out_h - y0);
      cam_image     dst  = { strip, out_w, rows, 4, wide ? CAM_SAMPLE_U16 : CAM_SAMPLE_U8, row_size };
      const guchar *sel;

      if (blend)
        /* The image's pixels of this strip, blended in place. */
        gegl_buffer_get (source->buffer,
                         GEGL_RECTANGLE (source->buffer_x + job->info.source_rect.x,
                                         source->buffer_y + job->info.source_rect.y + y0,
                                         out_w, rows),
                         1.0, format, strip, row_size, GEGL_ABYSS_NONE);

      if (cam_renderer_render_rows (renderer, y0, rows, blend ? &dst : NULL, &dst, &err) != CAM_OK)
        {
          engine_error (error, &err, _("Rendering the heatmap failed"));
          goto out;
        }
      if ((sel = selection_reader_get (&selection, &job->result_rect, y0, rows)))
        mask_strip (strip, sel, out_w * rows, wide);
      gegl_buffer_set (*out, GEGL_RECTANGLE (0, y0, out_w, rows), 0, format, strip, row_size);
      if (show_progress)
        gimp_progress_update (progress_from + (progress_to - progress_from) * (y0 + rows) / out_h);
    }
  ok = TRUE;

out:
  selection_reader_close (&selection);
  cam_renderer_free (renderer);
  g_free (strip);
  return ok;
}

/* The map as 8-bit gray (mask: the gray colormap of the heatmap, 0 = coldest, 255 =
 * hottest; selection and bounding box: 255 where the normalised map is at or above the
 * threshold, cam_mask_threshold), times the selection, into job->result. For the
 * bounding box also the largest region (cam_mask_largest_region) of the pixels that
 * are above the threshold and at least half selected. */
static gboolean
render_map (HeatmapJob *job, gboolean show_progress, GError **error)
{
  PluginOutput       output = job->settings_copy.output;
  const cam_explanation *ex = job->explanation;
  cam_render_options options;
  cam_renderer      *renderer = NULL;
  cam_error          err = { 0 };
  SelectionReader    selection = { 0 };
  gint               out_w = job->result_rect.width, out_h = job->result_rect.height;
  guchar            *strip = NULL, *whole = NULL;
  gfloat            *values = NULL;
  guint64            n_set = 0;
  gboolean           ok = FALSE;

  options = heatmap_render_options (job->model, &job->resolved, ex->method, ex->probability,
                                    FALSE);
  options.colormap = CAM_COLORMAP_GRAY;
  options.alpha    = 1.0f;
  if (! new_renderer (job, ex, &options, &renderer, error))
    return FALSE;
  strip  = g_try_malloc ((gsize) out_w * 4 * STRIP_ROWS);
  values = output == PLUGIN_OUTPUT_MASK ? NULL : g_try_new (gfloat, (gsize) out_w * STRIP_ROWS);
  whole  = output == PLUGIN_OUTPUT_BOUNDING_BOX ? g_try_malloc ((gsize) out_w * out_h) : NULL;
  job->result = gegl_buffer_new (GEGL_RECTANGLE (0, 0, out_w, out_h), babl_format ("Y u8"));
  if (strip == NULL || job->result == NULL ||
      (output != PLUGIN_OUTPUT_MASK && values == NULL) ||
      (output == PLUGIN_OUTPUT_BOUNDING_BOX && whole == NULL))
    {
      g_set_error (error, PLUGIN_ERROR, PLUGIN_ERROR_EXECUTION, _("Not enough memory."));
      goto out;
    }
  if (! selection_reader_open (&selection, &job->source, out_w, FALSE, error))
    goto out;

  for (gint y0 = 0; y0 < out_h; y0 += STRIP_ROWS)
    {
      gint          rows = MIN (STRIP_ROWS, out_h - y0);
      gint          n    = out_w * rows;
      const guchar *sel;
      cam_status    status;

      if (output == PLUGIN_OUTPUT_MASK)
        {
          cam_image dst = { strip, out_w, rows, 4, CAM_SAMPLE_U8, (gsize) out_w * 4 };

          status = cam_renderer_render_rows (renderer, y0, rows, NULL, &dst, &err);
          for (gint i = 0; i < n; i++)
            strip[i] = strip[4 * i]; /* gray: R = G = B */
        }
      else
        {
          status = cam_renderer_values_rect (renderer, (cam_rect) { 0, y0, out_w, rows },
                                             CAM_VALUES_NORMALIZED, values, out_w, &err);
          if (status == CAM_OK)
            status = cam_mask_threshold (values, out_w, rows, out_w,
                                         (float) job->settings_copy.threshold, strip, out_w,
                                         &err);
        }
      if (status != CAM_OK)
        {
          engine_error (error, &err, _("Rendering the heatmap failed"));
          goto out;
        }
      if ((sel = selection_reader_get (&selection, &job->result_rect, y0, rows)))
        for (gint i = 0; i < n; i++)
          strip[i] = (guchar) ((strip[i] * (guint32) sel[i] + 127u) / 255u);
      for (gint i = 0; i < n && output != PLUGIN_OUTPUT_MASK; i++)
        n_set += strip[i] >= 128;
      if (whole)
        for (gint i = 0; i < n; i++)
          whole[(gsize) y0 * out_w + i] = strip[i] >= 128 ? 255 : 0;
      gegl_buffer_set (job->result, GEGL_RECTANGLE (0, y0, out_w, rows), 0,
                       babl_format ("Y u8"), strip, out_w);
      if (show_progress)
        gimp_progress_update (PROGRESS_RENDER + (0.95 - PROGRESS_RENDER) * (y0 + rows) / out_h);
    }

  if (output != PLUGIN_OUTPUT_MASK && n_set == 0)
    {
      g_set_error (error, PLUGIN_ERROR, PLUGIN_ERROR_EXECUTION,
                   _("No part of the map is at or above the threshold %.0f%% (a constant map, "
                     "or a threshold too high); lower the threshold."),
                   100.0 * job->settings_copy.threshold);
      goto out;
    }
  if (whole && cam_mask_largest_region (whole, out_w, out_h, out_w, &job->region, &err) != CAM_OK)
    {
      engine_error (error, &err, _("Finding the largest region failed"));
      goto out;
    }
  ok = TRUE;

out:
  selection_reader_close (&selection);
  cam_renderer_free (renderer);
  g_free (strip);
  g_free (values);
  g_free (whole);
  return ok;
}

/* The engine's progress callback: its fraction of the explanation on GIMP's bar,
 * in steps of 1 % (each update is a call to GIMP). */
static int
job_progress (double fraction, void *user_data)
{
  gdouble *shown = user_data;
  gdouble  value = PROGRESS_EXPLAIN + (PROGRESS_RENDER - PROGRESS_EXPLAIN) * fraction;

  if (value >= *shown + 0.01 || (fraction >= 1.0 && value > *shown))
    {
      *shown = value;
      gimp_progress_update (value);
    }
  return 0;
}

gboolean
heatmap_job_compute (HeatmapJob *job, gboolean show_progress, GError **error)
{
  const cam_model   *model  = job->model;
  PluginOutput       output = job->settings_copy.output;
  cam_workspace     *workspace = NULL;
  cam_error          err = { 0 };
  float             *input;
  gboolean           ok = FALSE;
  gdouble            shown = PROGRESS_EXPLAIN;

  if (show_progress)
    gimp_progress_init (_("Class activation map"));

  input = g_try_new (float, cam_model_input_size (model));
  if (input == NULL)
    {
      g_set_error (error, PLUGIN_ERROR, PLUGIN_ERROR_EXECUTION, _("Not enough memory."));
      return FALSE;
    }
  if (! heatmap_source_preprocess (&job->source, model, input, &job->info, error))
    goto out;
  if (show_progress)
    gimp_progress_update (PROGRESS_EXPLAIN);

  if (cam_workspace_new_for_explain (model, 1, &job->resolved.explain, &workspace, &err) != CAM_OK)
    {
      engine_error (error, &err, _("Preparing the model failed"));
      goto out;
    }
  if (show_progress)
    cam_workspace_set_progress (workspace, job_progress, &shown);
  if (cam_explain (workspace, input, &job->resolved.explain, &job->explanation, &err) != CAM_OK)
    {
      engine_error (error, &err, _("Explaining the prediction failed"));
      goto out;
    }
  cam_workspace_set_progress (workspace, NULL, NULL); /* the compared classes: per class */
  if (show_progress)
    gimp_progress_update (PROGRESS_RENDER);

  job->result_rect.x      = job->source.x + job->info.source_rect.x;
  job->result_rect.y      = job->source.y + job->info.source_rect.y;
  job->result_rect.width  = job->info.source_rect.width;
  job->result_rect.height = job->info.source_rect.height;
  job->opacity            = output == PLUGIN_OUTPUT_BLEND ? 100.0 : 100.0 * job->resolved.alpha;
  job->layer_name         = heatmap_layer_name (model, job->resolved.explain.method,
                                                job->explanation->class_index,
                                                job->explanation->probability);

  switch (output)
    {
    case PLUGIN_OUTPUT_HEATMAP:
    case PLUGIN_OUTPUT_BLEND:
      ok = render_colours (job, job->explanation, output == PLUGIN_OUTPUT_BLEND, &job->result,
                           show_progress, PROGRESS_RENDER, 0.95, error);
      break;

    case PLUGIN_OUTPUT_COMPARE:
      {
        gint                n = MIN (job->settings_copy.top_k, job->explanation->n_classes);
        gint               *order = g_new (gint, n);
        cam_explain_options options = job->resolved.explain;

        heatmap_top_classes (job->explanation->probabilities, job->explanation->n_classes,
                             order, n);
        job->compare         = g_new0 (cam_explanation *, n);
        job->compare_results = g_new0 (GeglBuffer *, n);
        job->compare_names   = g_new0 (gchar *, n + 1);
        job->n_compare       = n;
        /* TRANSLATORS: the layer group of the "compare" output: method and the number
         * of classes, for example "Grad-CAM: top 3 classes". */
        job->group_name      = g_strdup_printf (_("%s: top %d classes"),
                                                method_display_name (options.method), n);
        ok = TRUE;
        for (gint i = 0; i < n && ok; i++)
          {
            options.class_index = order[i];
            if (cam_explain (workspace, input, &options, &job->compare[i], &err) != CAM_OK)
              {
                ok = engine_error (error, &err, _("Explaining the prediction failed"));
                break;
              }
            job->compare_names[i] = heatmap_layer_name (model, options.method, order[i],
                                                        job->compare[i]->probability);
            ok = render_colours (job, job->compare[i], FALSE, &job->compare_results[i],
                                 show_progress, PROGRESS_RENDER + (0.95 - PROGRESS_RENDER) * i / n,
                                 PROGRESS_RENDER + (0.95 - PROGRESS_RENDER) * (i + 1) / n,
                                 error);
          }
        g_free (order);
      }
      break;

    case PLUGIN_OUTPUT_SELECTION:
    case PLUGIN_OUTPUT_MASK:
    case PLUGIN_OUTPUT_BOUNDING_BOX:
    default:
      ok = render_map (job, show_progress, error);
      break;
    }

out:
  cam_workspace_free (workspace);
  g_free (input);
  return ok;
}

static GimpLayer *
add_colour_layer (HeatmapJob *job, const gchar *name, GeglBuffer *pixels, GimpLayer *parent,
                  gint position, GError **error)
{
  GimpImage  *image = job->source.image;
  GimpLayer  *layer;
  GeglBuffer *buffer;

  layer = gimp_layer_new (image, name, job->result_rect.width, job->result_rect.height,
                          GIMP_RGBA_IMAGE, job->opacity, GIMP_LAYER_MODE_NORMAL);
  if (layer == NULL)
    {
      g_set_error (error, PLUGIN_ERROR, PLUGIN_ERROR_EXECUTION, _("Could not create the layer."));
      return NULL;
    }
  /* Composite in non-linear sRGB: what the user sees is the engine's blend. */
  gimp_layer_set_composite_space (layer, GIMP_LAYER_COLOR_SPACE_RGB_PERCEPTUAL);
  gimp_layer_set_blend_space (layer, GIMP_LAYER_COLOR_SPACE_RGB_PERCEPTUAL);
  gimp_image_insert_layer (image, layer, parent, position);
  gimp_layer_set_offsets (layer, job->result_rect.x, job->result_rect.y);

  buffer = gimp_drawable_get_buffer (GIMP_DRAWABLE (layer));
  gegl_buffer_copy (pixels, NULL, GEGL_ABYSS_NONE, buffer, NULL);
  g_object_unref (buffer);
  gimp_drawable_update (GIMP_DRAWABLE (layer), 0, 0,
                        job->result_rect.width, job->result_rect.height);
  return layer;
}

/* Writes job->result (result_rect) into a drawable at image offset (off_x, off_y),
 * the rest of the drawable cleared. */
static void
write_map (HeatmapJob *job, GimpDrawable *drawable, gint off_x, gint off_y)
{
  GeglBuffer *buffer = gimp_drawable_get_buffer (drawable);

  gegl_buffer_clear (buffer, NULL);
  gegl_buffer_copy (job->result, NULL, GEGL_ABYSS_NONE, buffer,
                    GEGL_RECTANGLE (job->result_rect.x - off_x, job->result_rect.y - off_y,
                                    job->result_rect.width, job->result_rect.height));
  g_object_unref (buffer);
  gimp_drawable_update (drawable, 0, 0, gimp_drawable_get_width (drawable),
                        gimp_drawable_get_height (drawable));
}

static gboolean
apply_selection (HeatmapJob *job, GError **error)
{
  GimpImage   *image = job->source.image;
  GeglColor   *black = gegl_color_new ("black");
  GimpChannel *channel;
  gboolean     ok;

  channel = gimp_channel_new (image, job->layer_name, gimp_image_get_width (image),
                              gimp_image_get_height (image), 50.0, black);
  g_object_unref (black);
  if (channel == NULL || ! gimp_image_insert_channel (image, channel, NULL, 0))
    {
      g_set_error (error, PLUGIN_ERROR, PLUGIN_ERROR_EXECUTION, _("Could not make the selection."));
      return FALSE;
    }
  write_map (job, GIMP_DRAWABLE (channel), 0, 0);
  ok = gimp_image_select_item (image, GIMP_CHANNEL_OP_REPLACE, GIMP_ITEM (channel));
  gimp_image_remove_channel (image, channel);
  if (! ok)
    g_set_error (error, PLUGIN_ERROR, PLUGIN_ERROR_EXECUTION, _("Could not make the selection."));
  return ok;
}

static GimpLayer *
apply_mask (HeatmapJob *job, GimpLayer *parent, gint position, GError **error)
{
  GimpImage     *image  = job->source.image;
  GimpLayer     *source = GIMP_LAYER (job->source.drawable);
  GimpLayer     *copy   = gimp_layer_copy (source);
  GimpLayerMask *mask;
  gint           off_x, off_y;

  if (copy == NULL)
    {
      g_set_error (error, PLUGIN_ERROR, PLUGIN_ERROR_EXECUTION, _("Could not copy the layer."));
      return NULL;
    }
  gimp_item_set_name (GIMP_ITEM (copy), job->layer_name);
  gimp_image_insert_layer (image, copy, parent, position);
  /* A mask the source already had is applied to the copy's alpha first. */
  if (gimp_layer_get_mask (copy))
    gimp_layer_remove_mask (copy, GIMP_MASK_APPLY);
  if (! gimp_drawable_has_alpha (GIMP_DRAWABLE (copy)))
    gimp_layer_add_alpha (copy);
  mask = gimp_layer_create_mask (copy, GIMP_ADD_MASK_BLACK);
  if (mask == NULL || ! gimp_layer_add_mask (copy, mask))
    {
      g_set_error (error, PLUGIN_ERROR, PLUGIN_ERROR_EXECUTION, _("Could not add the layer mask."));
      return NULL;
    }
  gimp_drawable_get_offsets (GIMP_DRAWABLE (copy), &off_x, &off_y);
  write_map (job, GIMP_DRAWABLE (mask), off_x, off_y);
  return copy;
}

static GimpPath *
apply_bounding_box (HeatmapJob *job, GError **error)
{
  GimpImage *image = job->source.image;
  GimpPath  *path  = gimp_path_new (image, job->layer_name);
  gdouble    x0    = job->result_rect.x + job->region.bounds.x;
  gdouble    y0    = job->result_rect.y + job->region.bounds.y;
  gdouble    x1    = x0 + job->region.bounds.width;
  gdouble    y1    = y0 + job->region.bounds.height;
  /* Four corners, each anchor with its two control points on it (straight sides). */
  const gdouble corners[4][2] = { { x0, y0 }, { x1, y0 }, { x1, y1 }, { x0, y1 } };
  gdouble       points[24];

  for (gint i = 0; i < 4; i++)
    for (gint k = 0; k < 3; k++)
      {
        points[6 * i + 2 * k]     = corners[i][0];
        points[6 * i + 2 * k + 1] = corners[i][1];
      }
  if (path == NULL || ! gimp_image_insert_path (image, path, NULL, 0) ||
      gimp_path_stroke_new_from_points (path, GIMP_PATH_STROKE_TYPE_BEZIER, 24, points, TRUE) <= 0)
    {
      g_set_error (error, PLUGIN_ERROR, PLUGIN_ERROR_EXECUTION, _("Could not make the path."));
      return NULL;
    }
  gimp_item_set_visible (GIMP_ITEM (path), TRUE);
  return path;
}

gboolean
heatmap_job_apply (HeatmapJob *job, GimpLayer **layer_out, GimpPath **path_out, GError **error)
{
  GimpImage   *image = job->source.image;
  GimpItem    *source_item = GIMP_ITEM (job->source.drawable);
  PluginOutput output = job->settings_copy.output;
  GimpItem    *parent_item;
  GimpLayer   *parent, *layer = NULL;
  GimpPath    *path = NULL;
  gint         position;
  gboolean     ok = TRUE;

  *layer_out = NULL;
  *path_out  = NULL;

  /* Everything that can fail because of the user's input has been checked;
   * from here on the image changes, in one undo group. */
  gimp_image_undo_group_start (image);

  parent_item = gimp_item_get_parent (source_item);
  parent      = parent_item ? GIMP_LAYER (parent_item) : NULL;
  position    = gimp_image_get_item_position (image, source_item);

  if ((output == PLUGIN_OUTPUT_HEATMAP || output == PLUGIN_OUTPUT_BLEND ||
       output == PLUGIN_OUTPUT_COMPARE) &&
      gimp_image_get_base_type (image) != GIMP_RGB && ! gimp_image_convert_rgb (image))
    {
      gimp_image_undo_group_end (image);
      g_set_error (error, PLUGIN_ERROR, PLUGIN_ERROR_EXECUTION,
                   _("Could not convert the image to RGB."));
      return FALSE;
    }

  switch (output)
    {
    case PLUGIN_OUTPUT_HEATMAP:
    case PLUGIN_OUTPUT_BLEND:
      layer = add_colour_layer (job, job->layer_name, job->result, parent, position, error);
      ok    = layer != NULL;
      break;

    case PLUGIN_OUTPUT_COMPARE:
      {
        GimpGroupLayer *group = gimp_group_layer_new (image, job->group_name);

        if (group == NULL || ! gimp_image_insert_layer (image, GIMP_LAYER (group), parent, position))
          {
            g_set_error (error, PLUGIN_ERROR, PLUGIN_ERROR_EXECUTION,
                         _("Could not create the layer group."));
            ok = FALSE;
            break;
          }
        /* the most probable class on top */
        for (gint i = job->n_compare - 1; i >= 0 && ok; i--)
          ok = add_colour_layer (job, job->compare_names[i], job->compare_results[i],
                                 GIMP_LAYER (group), 0, error) != NULL;
        layer = GIMP_LAYER (group);
      }
      break;

    case PLUGIN_OUTPUT_SELECTION:
      ok = apply_selection (job, error);
      break;

    case PLUGIN_OUTPUT_MASK:
      layer = apply_mask (job, parent, position, error);
      ok    = layer != NULL;
      break;

    case PLUGIN_OUTPUT_BOUNDING_BOX:
    default:
      path = apply_bounding_box (job, error);
      ok   = path != NULL;
      break;
    }

  gimp_image_undo_group_end (image);
  gimp_progress_update (1.0);
  if (ok)
    {
      *layer_out = layer;
      *path_out  = path;
    }
  return ok;
}

void
heatmap_job_free (HeatmapJob *job)
{
  if (job == NULL)
    return;
  heatmap_source_close (&job->source);
  cam_explanation_free (job->explanation);
  g_clear_object (&job->result);
  for (gint i = 0; i < job->n_compare; i++)
    {
      cam_explanation_free (job->compare[i]);
      g_clear_object (&job->compare_results[i]);
    }
  g_free (job->compare);
  g_free (job->compare_results);
  g_strfreev (job->compare_names);
  g_free (job->group_name);
  if (job->model)
    cam_model_free (job->model);
  g_free (job->layer_name);
  plugin_settings_clear (&job->settings_copy);
  g_free (job);
}

gint
heatmap_job_class_index (const HeatmapJob *job)
{
  return job->explanation->class_index;
}

const gchar *
heatmap_job_label (const HeatmapJob *job)
{
  return cam_model_class_label (job->model, job->explanation->class_index);
}

gdouble
heatmap_job_probability (const HeatmapJob *job)
{
  return job->explanation->probability;
}
