/*
 * gimp-cam.h -- what the parts of the gimp-cam plug-in share.
 *
 * gimp-cam.c         the GimpPlugIn, the PDB procedure and its arguments, run()
 * plugin-settings.c  the procedure's arguments read into PluginSettings, defaults resolved
 * heatmap-job.c      the work: read pixels through GEGL, explain, render, add the layer
 * heatmap-dialog.c   the dialog: top-5 predictions and a live preview
 * class-labels.c     translated display names of the bundled models' classes
 *
 * Copyright (C) 2026 the gimp-cam authors. GPL-3.0-or-later.
 */
#ifndef GIMP_CAM_H
#define GIMP_CAM_H

#include <libgimp/gimp.h>

#include <camengine.h>

#define PLUG_IN_PROC   "plug-in-cam-heatmap"
#define PLUG_IN_BINARY "gimp-cam"
#define PLUG_IN_ROLE   "gimp-cam-heatmap"

/* The procedure's arguments after reading the config (nothing resolved yet). */
typedef struct PluginSettings {
  gchar   *model;          /* "fashion-mnist", "cifar10", or a path to an .onnx file */
  gchar   *method;         /* "default" or a cam_method_name() */
  gint     class_index;    /* -1 = the top prediction */
  gchar   *layer;          /* "" = the model's default layer */
  gdouble  alpha;          /* -1 = the model's default */
  gchar   *colormap;       /* "default" or a colormap name */
  gboolean blend_output;   /* TRUE: a layer holding the baked blend */
  gboolean sample_merged;  /* classify what is visible instead of the layer alone */
} PluginSettings;

/* The choice arguments (string arguments checked by plugin_settings_read; the dialog
 * shows them as GimpChoice auxiliary arguments "<name>-choice"). */
typedef enum {
  PLUGIN_CHOICE_MODEL,
  PLUGIN_CHOICE_METHOD,
  PLUGIN_CHOICE_COLORMAP,
  PLUGIN_CHOICE_OUTPUT,
  PLUGIN_N_CHOICES
} PluginChoice;

extern const gchar *const plugin_choice_names[PLUGIN_N_CHOICES]; /* "model", ... */
GimpChoice *plugin_choice_new (PluginChoice which);

/* Reads the arguments from config. Returns FALSE with a calling error in *error
 * naming the argument (and listing the valid values) when a choice is unknown, alpha
 * is neither -1 nor in 0..1, or the model argument cannot be used (a custom model
 * without a file). */
gboolean plugin_settings_read (GimpProcedureConfig *config,
                               PluginSettings      *settings,
                               GError             **error);
void     plugin_settings_clear (PluginSettings *settings);

/* Loads the model the settings name. */
gboolean plugin_settings_load_model (const PluginSettings *settings,
                                     cam_model           **model,
                                     GError              **error);

/* The explanation options and display values with the model's defaults filled in.
 * Fails with a message when the method, layer or colormap is unknown. */
typedef struct ResolvedSettings {
  cam_explain_options explain;  /* explain.layer points into PluginSettings or the model */
  float               alpha;
  cam_colormap        colormap;  /* may be CAM_COLORMAP_GREENS_REDS */
  float               threshold;
} ResolvedSettings;

gboolean plugin_settings_resolve (const PluginSettings *settings,
                                  const cam_model      *model,
                                  ResolvedSettings     *resolved,
                                  GError              **error);

/* Errors the plug-in reports to GIMP. */
#define PLUGIN_ERROR (plugin_error_quark ())
GQuark plugin_error_quark (void);
typedef enum {
  PLUGIN_ERROR_ARGUMENT,   /* reported as GIMP_PDB_CALLING_ERROR */
  PLUGIN_ERROR_EXECUTION   /* reported as GIMP_PDB_EXECUTION_ERROR */
} PluginErrorCode;

/* Display names. */
const gchar *class_label_display   (const cam_model *model, gint class_index);
const gchar *method_display_name   (cam_method method);

#endif /* GIMP_CAM_H */
