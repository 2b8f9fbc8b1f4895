/*
 * heatmap-job.h -- the plug-in's work, in the order it happens:
 *
 *   heatmap_check_drawable   is the drawable a usable layer?
 *   heatmap_job_new          open the region, load the model, resolve the settings
 *   heatmap_job_compute      read pixels, preprocess, explain, render the whole
 *                            result into buffers of the plug-in's own (the image
 *                            is not touched yet, so any failure leaves it as it was):
 *                            RGBA layers (heatmap, blend, compare), an 8-bit map
 *                            (mask), a thresholded map (selection, bounding box)
 *   heatmap_job_apply        one undo group: convert to RGB if a layer of colours is
 *                            added, then add the layer(s), the masked copy, the
 *                            selection or the path
 *
 * HeatmapSource is the region being explained (the layer, or the selection's
 * bounding box in it); the dialog uses it too.
 *
 * Copyright (C) 2026 the gimp-cam authors. GPL-3.0-or-later.
 */
#ifndef HEATMAP_JOB_H
#define HEATMAP_JOB_H

#include "gimp-cam.h"

typedef struct HeatmapSource {
  GimpImage    *image;
  GimpDrawable *drawable;
  GimpLayer    *visible;        /* sample merged: a copy of the visible image (not in the image) */
  GeglBuffer   *buffer;         /* the pixels the model sees (the layer's or the visible copy's) */
  gint          buffer_x;       /* the region inside buffer */
  gint          buffer_y;
  gint          x, y;           /* the region in image coordinates */
  gint          width, height;
  gboolean      has_selection;  /* mask the result to the selection */
  gboolean      high_precision; /* more than 8 bits per sample */
} HeatmapSource;

gboolean heatmap_check_drawable (GimpImage *image, GimpDrawable *drawable, GError **error);

gboolean heatmap_source_open  (GimpImage *image, GimpDrawable *drawable, gboolean sample_merged,
                               HeatmapSource *source, GError **error);
void     heatmap_source_close (HeatmapSource *source);

/* Reads the region into one full-size copy (image->pixels, g_free it): 8-bit, or
 * 16-bit for images of higher precision; RGB or RGBA, non-linear sRGB. */
gboolean heatmap_source_read (const HeatmapSource *source, cam_image *image, GError **error);

/* Reads the region (one full-size copy, freed before returning) and preprocesses
 * it for the model into input (cam_model_input_size floats). */
gboolean heatmap_source_preprocess (const HeatmapSource *source, const cam_model *model,
                                    float *input, cam_preprocess_info *info, GError **error);

/* Render options from the model's defaults and the resolved settings. */
cam_render_options heatmap_render_options (const cam_model *model, const ResolvedSettings *resolved,
                                           cam_method method, float probability,
                                           gboolean blend_output);

typedef struct HeatmapJob HeatmapJob;

HeatmapJob  *heatmap_job_new          (GimpImage *image, GimpDrawable *drawable,
                                       const PluginSettings *settings, GError **error);
gboolean     heatmap_job_compute      (HeatmapJob *job, gboolean show_progress, GError **error);
/* *layer: the new layer, the masked copy or the group (else NULL); *path: the
 * bounding box (else NULL). */
gboolean     heatmap_job_apply        (HeatmapJob *job, GimpLayer **layer, GimpPath **path,
                                       GError **error);
void         heatmap_job_free         (HeatmapJob *job);

gint         heatmap_job_class_index  (const HeatmapJob *job);
const gchar *heatmap_job_label        (const HeatmapJob *job); /* canonical */
gdouble      heatmap_job_probability  (const HeatmapJob *job);

/* The indices of the n most probable classes, highest first (ties: lower index
 * first); n <= n_classes. */
void         heatmap_top_classes      (const float *probabilities, gint n_classes, gint *order,
                                       gint n);

/* "Grad-CAM: Sneaker 99.4%" (translated method and class names). */
gchar       *heatmap_layer_name       (const cam_model *model, cam_method method,
                                       gint class_index, gfloat probability);

#endif /* HEATMAP_JOB_H */
