/*
 * heatmap-job.c -- read the region through GEGL, explain it, render the heatmap,
 * and add it to the image as one undo step.
 *
 * Memory: the region is read once into one full-size copy for the model's
 * preprocessing (8-bit, or 16-bit for images of higher precision), freed before
 * rendering; the result is then rendered in strips into a buffer of the plug-in's
 * own (GEGL tiles, 8-bit), so at most one extra full-size 8-bit copy exists at a
 * time. The image is touched only after everything has succeeded.
 *
 * Copyright (C) 2026 the gimp-cam authors. GPL-3.0-or-later.
 */
#include "config.h"

#include <math.h>
#include <string.h>

#include <glib/gi18n.h>

#include "heatmap-job.h"

#define STRIP_ROWS 64

struct HeatmapJob {
  PluginSettings      settings_copy; /* only the strings the resolved settings point into */
  HeatmapSource       source;
  cam_model          *model;
  ResolvedSettings    resolved;
  cam_explanation    *explanation;   /* NULL until computed */
  cam_preprocess_info info;
  GeglBuffer         *result;        /* the new layer's pixels, at result_rect */
  const Babl         *result_format;
  cam_rect            result_rect;   /* in image coordinates */
  gchar              *layer_name;
  gdouble             opacity;       /* 0..100 */
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
heatmap_source_preprocess (const HeatmapSource *source, const cam_model *model, float *input,
                           cam_preprocess_info *info, GError **error)
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
  cam_image   image;
  cam_error   err = { 0 };
  cam_status  status;

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

  image.pixels   = pixels;
  image.width    = source->width;
  image.height   = source->height;
  image.channels = channels;
  image.type     = source->high_precision ? CAM_SAMPLE_U16 : CAM_SAMPLE_U8;
  image.stride   = stride;

  status = cam_preprocess (model, &image, NULL, input, info, &err);
  g_free (pixels);
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
  job->settings_copy.blend_output  = settings->blend_output;
  job->settings_copy.sample_merged = settings->sample_merged;

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

gboolean
heatmap_job_compute (HeatmapJob *job, gboolean show_progress, GError **error)
{
  HeatmapSource     *source = &job->source;
  const cam_model   *model  = job->model;
  cam_workspace     *workspace;
  cam_renderer      *renderer;
  cam_render_options options;
  cam_error          err = { 0 };
  float             *input;
  gboolean           wide, blend = job->settings_copy.blend_output;
  gint               out_w, out_h;
  gsize              pixel_size, row_size;
  guchar            *strip, *selection_strip = NULL;
  GeglBuffer        *selection = NULL;
  const Babl        *source_format = NULL, *selection_format = NULL;
  gboolean           ok = FALSE;

  if (show_progress)
    gimp_progress_init (_("Class activation map"));

  input = g_try_new (float, cam_model_input_size (model));
  if (input == NULL)
    {
      g_set_error (error, PLUGIN_ERROR, PLUGIN_ERROR_EXECUTION, _("Not enough memory."));
      return FALSE;
    }
  if (! heatmap_source_preprocess (source, model, input, &job->info, error))
    {
      g_free (input);
      return FALSE;
    }
  if (show_progress)
    gimp_progress_update (0.05);

  if (cam_workspace_new_for_explain (model, 1, &job->resolved.explain, &workspace, &err) != CAM_OK)
    {
      g_free (input);
      return engine_error (error, &err, _("Preparing the model failed"));
    }
  if (cam_explain (workspace, input, &job->resolved.explain, &job->explanation, &err) != CAM_OK)
    {
      cam_workspace_free (workspace);
      g_free (input);
      return engine_error (error, &err, _("Explaining the prediction failed"));
    }
  cam_workspace_free (workspace);
  g_free (input);
  if (show_progress)
    gimp_progress_update (0.1);

  options = heatmap_render_options (model, &job->resolved, job->resolved.explain.method,
                                    job->explanation->probability, blend);
  if (cam_preprocess_info_map_window (&job->info, job->explanation->map_width,
                                      job->explanation->map_height, &options.window,
                                      &err) != CAM_OK)
    return engine_error (error, &err, _("Placing the map failed"));

  out_w = job->info.source_rect.width;
  out_h = job->info.source_rect.height;
  if (cam_renderer_new (job->explanation->map, job->explanation->map_width,
                        job->explanation->map_height, out_w, out_h, &options, &renderer,
                        &err) != CAM_OK)
    return engine_error (error, &err, _("Rendering the heatmap failed"));

  job->result_rect.x      = source->x + job->info.source_rect.x;
  job->result_rect.y      = source->y + job->info.source_rect.y;
  job->result_rect.width  = out_w;
  job->result_rect.height = out_h;
  job->opacity            = blend ? 100.0 : 100.0 * options.alpha;
  job->layer_name         = heatmap_layer_name (model, job->resolved.explain.method,
                                                job->explanation->class_index,
                                                job->explanation->probability);

  /* The blend of a high-precision image keeps 16 bits; a heatmap is 8-bit colours. */
  wide               = blend && source->high_precision;
  job->result_format = babl_format (wide ? "R'G'B'A u16" : "R'G'B'A u8");
  pixel_size         = wide ? 8 : 4;
  row_size           = (gsize) out_w * pixel_size;
  strip              = g_try_malloc (row_size * STRIP_ROWS);
  job->result        = gegl_buffer_new (GEGL_RECTANGLE (0, 0, out_w, out_h), job->result_format);
  if (strip == NULL || job->result == NULL)
    {
      g_set_error (error, PLUGIN_ERROR, PLUGIN_ERROR_EXECUTION, _("Not enough memory."));
      goto out;
    }
  source_format = job->result_format;
  if (source->has_selection)
    {
      selection        = gimp_drawable_get_buffer (GIMP_DRAWABLE (gimp_image_get_selection (source->image)));
      selection_format = babl_format (wide ? "Y u16" : "Y u8");
      selection_strip  = g_try_malloc ((gsize) out_w * (wide ? 2 : 1) * STRIP_ROWS);
      if (selection_strip == NULL)
        {
          g_set_error (error, PLUGIN_ERROR, PLUGIN_ERROR_EXECUTION, _("Not enough memory."));
          goto out;
        }
    }

  for (gint y0 = 0; y0 < out_h; y0 += STRIP_ROWS)
    {
      gint      rows = MIN (STRIP_ROWS, out_h - y0);
      cam_image dst  = { strip, out_w, rows, 4, wide ? CAM_SAMPLE_U16 : CAM_SAMPLE_U8, row_size };

      if (blend)
        /* The image's pixels of this strip, blended in place. */
        gegl_buffer_get (source->buffer,
                         GEGL_RECTANGLE (source->buffer_x + job->info.source_rect.x,
                                         source->buffer_y + job->info.source_rect.y + y0,
                                         out_w, rows),
                         1.0, source_format, strip, row_size, GEGL_ABYSS_NONE);

      if (cam_renderer_render_rows (renderer, y0, rows, blend ? &dst : NULL, &dst, &err) != CAM_OK)
        {
          engine_error (error, &err, _("Rendering the heatmap failed"));
          goto out;
        }
      if (selection)
        {
          gegl_buffer_get (selection,
                           GEGL_RECTANGLE (job->result_rect.x, job->result_rect.y + y0, out_w, rows),
                           1.0, selection_format, selection_strip, GEGL_AUTO_ROWSTRIDE,
                           GEGL_ABYSS_NONE);
          mask_strip (strip, selection_strip, out_w * rows, wide);
        }
      gegl_buffer_set (job->result, GEGL_RECTANGLE (0, y0, out_w, rows), 0, job->result_format,
                       strip, row_size);
      if (show_progress)
        gimp_progress_update (0.1 + 0.85 * (y0 + rows) / out_h);
    }
  ok = TRUE;

out:
  cam_renderer_free (renderer);
  g_clear_object (&selection);
  g_free (selection_strip);
  g_free (strip);
  return ok;
}

GimpLayer *
heatmap_job_apply (HeatmapJob *job, GError **error)
{
  GimpImage  *image = job->source.image;
  GimpItem   *source_item = GIMP_ITEM (job->source.drawable);
  GimpItem   *parent;
  GimpLayer  *layer;
  GeglBuffer *buffer;
  gint        position;

  g_return_val_if_fail (job->result != NULL, NULL);

  /* Everything that can fail because of the user's input has been checked;
   * from here on the image changes, in one undo group. */
  gimp_image_undo_group_start (image);

  if (gimp_image_get_base_type (image) != GIMP_RGB && ! gimp_image_convert_rgb (image))
    {
      gimp_image_undo_group_end (image);
      g_set_error (error, PLUGIN_ERROR, PLUGIN_ERROR_EXECUTION,
                   _("Could not convert the image to RGB."));
      return NULL;
    }

  layer = gimp_layer_new (image, job->layer_name, job->result_rect.width, job->result_rect.height,
                          GIMP_RGBA_IMAGE, job->opacity, GIMP_LAYER_MODE_NORMAL);
  if (layer == NULL)
    {
      gimp_image_undo_group_end (image);
      g_set_error (error, PLUGIN_ERROR, PLUGIN_ERROR_EXECUTION, _("Could not create the layer."));
      return NULL;
    }
  /* Composite in non-linear sRGB: what the user sees is the engine's blend. */
  gimp_layer_set_composite_space (layer, GIMP_LAYER_COLOR_SPACE_RGB_PERCEPTUAL);
  gimp_layer_set_blend_space (layer, GIMP_LAYER_COLOR_SPACE_RGB_PERCEPTUAL);

  parent   = gimp_item_get_parent (source_item);
  position = gimp_image_get_item_position (image, source_item);
  gimp_image_insert_layer (image, layer, parent ? GIMP_LAYER (parent) : NULL, position);
  gimp_layer_set_offsets (layer, job->result_rect.x, job->result_rect.y);

  buffer = gimp_drawable_get_buffer (GIMP_DRAWABLE (layer));
  gegl_buffer_copy (job->result, NULL, GEGL_ABYSS_NONE, buffer, NULL);
  g_object_unref (buffer);
  gimp_drawable_update (GIMP_DRAWABLE (layer), 0, 0,
                        job->result_rect.width, job->result_rect.height);

  gimp_image_undo_group_end (image);
  gimp_progress_update (1.0);
  return layer;
}

void
heatmap_job_free (HeatmapJob *job)
{
  if (job == NULL)
    return;
  heatmap_source_close (&job->source);
  cam_explanation_free (job->explanation);
  g_clear_object (&job->result);
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
