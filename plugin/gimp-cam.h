/*
 * gimp-cam.h -- what the parts of the gimp-cam plug-in share.
 *
 * gimp-cam.c         the GimpPlugIn, the PDB procedure and its arguments, run()
 * plugin-settings.c  the procedure's arguments read into PluginSettings, defaults resolved
 * heatmap-job.c      the work: read pixels through GEGL, explain, render, add the layer
 * heatmap-dialog.c   the dialog: model, class and layer lists, predictions, a live
 *                    preview computed in a worker thread (progress, Cancel)
 * class-labels.c     translated display names: the bundled models' classes, the engine's methods
 *
 * Copyright (C) 2026 the gimp-cam authors. GPL-3.0-or-later.
 */
#ifndef GIMP_CAM_H
#define GIMP_CAM_H

#include <libgimp/gimp.h>

#include <camengine.h>

#define PLUG_IN_PROC   "plug-in-cam-heatmap"
#define PLUG_IN_METHODS_PROC "plug-in-cam-methods"
#define PLUG_IN_BINARY "gimp-cam"
#define PLUG_IN_ROLE   "gimp-cam-heatmap"

/* What the procedure makes (the "output" argument; values are the choice's ids). */
typedef enum {
  PLUGIN_OUTPUT_HEATMAP = 0,   /* a heatmap layer with opacity alpha */
  PLUGIN_OUTPUT_BLEND,         /* a layer holding the baked blend */
  PLUGIN_OUTPUT_SELECTION,     /* the selection: the map at or above the threshold */
  PLUGIN_OUTPUT_MASK,          /* a copy of the source layer whose layer mask is the map */
  PLUGIN_OUTPUT_BOUNDING_BOX,  /* a path: the box of the largest region above the threshold */
  PLUGIN_OUTPUT_COMPARE,       /* a layer group: heatmap layers of the top-k classes */
  PLUGIN_N_OUTPUTS
} PluginOutput;

/* The procedure's arguments after reading the config (nothing resolved yet). */
typedef struct PluginSettings {
  gchar   *model;          /* a model name (bundled or from the catalog), or a path to an .onnx file */
  gchar   *method;         /* "default" or a cam_method_name() */
  gint     class_index;    /* -1 = the top prediction */
  gchar   *layer;          /* "" = the model's default layer */
  gdouble  alpha;          /* -1 = the model's default */
  gchar   *colormap;       /* "default" or a colormap name */
  PluginOutput output;
  gboolean sample_merged;  /* classify what is visible instead of the layer alone */
  gdouble  threshold;      /* selection and bounding box: fraction of the map's range */
  gint     top_k;          /* compare: how many classes */
  gboolean eigen_smooth;   /* cam_explain_options.eigen_smooth */
  gboolean aug_smooth;     /* cam_explain_options.aug_smooth: TRUE = CAM_AUG_SMOOTH_SCALES */
} PluginSettings;

/* The choice arguments (string arguments checked by plugin_settings_read; the dialog
 * shows them as GimpChoice auxiliary arguments "<name>-choice"). The model argument
 * is a string too, checked against plugin_model_names(); the dialog has its own
 * model chooser. */
typedef enum {
  PLUGIN_CHOICE_METHOD,
  PLUGIN_CHOICE_COLORMAP,
  PLUGIN_CHOICE_OUTPUT,
  PLUGIN_N_CHOICES
} PluginChoice;

extern const gchar *const plugin_choice_names[PLUGIN_N_CHOICES]; /* "method", ... */
GimpChoice *plugin_choice_new (PluginChoice which);

/* Reads the arguments from config. Returns FALSE with a calling error in *error
 * naming the argument (and listing the valid values) when a choice is unknown, alpha
 * is neither -1 nor in 0..1, or the model argument cannot be used (a custom model
 * without a file). The model argument takes the bundled models, "file", and any
 * model name of the engine's catalog (cam_model_catalog_new: the installed and
 * per-user models). */
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

/* The models the "model" argument takes besides "file", in order: the catalog's
 * names (bundled models first). Free with g_strfreev. */
gchar  **plugin_model_names (void);

/* Display names, translated: a class's label; a method's name ("Grad-CAM++") and
 * its one-line summary (what it does, what it costs), from the engine's table
 * (cam_method_display_name, cam_method_summary). "" out of range. */
const gchar *class_label_display    (const cam_model *model, gint class_index);
const gchar *method_display_name    (cam_method method);
const gchar *method_summary_display (cam_method method);

#endif /* GIMP_CAM_H */
