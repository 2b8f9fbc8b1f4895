/*
 * gimp-cam.c -- the GIMP 3 plug-in: Filters > Analyze > Class Activation Map...
 *
 * Registers the PDB procedure plug-in-cam-heatmap (one drawable, any image type),
 * and plug-in-cam-methods (the method argument's values, display names and
 * descriptions: the dialog's Method list, for scripts),
 * shows the dialog in interactive runs, and hands the work to heatmap-job.c.
 * Non-interactive and last-values runs use the arguments exactly as documented
 * below; every failure returns an error and leaves the image as it was.
 *
 * Copyright (C) 2026 the gimp-cam authors.
 * This program is free software: you can redistribute it and/or modify it under
 * the terms of the GNU General Public License as published by the Free Software
 * Foundation, either version 3 of the License, or (at your option) any later version.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <glib/gstdio.h>

#include <libgimp/gimp.h>
#include <libgimp/gimpui.h>
#include <glib/gi18n.h>

#include "gimp-cam.h"
#include "heatmap-dialog.h"
#include "heatmap-job.h"

typedef struct _CamPlugIn      CamPlugIn;
typedef struct _CamPlugInClass CamPlugInClass;

struct _CamPlugIn      { GimpPlugIn parent_instance; };
struct _CamPlugInClass { GimpPlugInClass parent_class; };

#define CAM_TYPE_PLUG_IN (cam_plug_in_get_type ())
GType cam_plug_in_get_type (void) G_GNUC_CONST;

G_DEFINE_TYPE (CamPlugIn, cam_plug_in, GIMP_TYPE_PLUG_IN)

static GList         *cam_plug_in_query_procedures (GimpPlugIn *plug_in);
static GimpProcedure *cam_plug_in_create_procedure (GimpPlugIn *plug_in, const gchar *name);
static GimpValueArray *cam_heatmap_run (GimpProcedure *procedure, GimpRunMode run_mode,
                                        GimpImage *image, GimpDrawable **drawables,
                                        GimpProcedureConfig *config, gpointer run_data);
static GimpValueArray *cam_methods_run (GimpProcedure *procedure, GimpProcedureConfig *config,
                                        gpointer run_data);

GIMP_MAIN (CAM_TYPE_PLUG_IN)

static void
cam_plug_in_class_init (CamPlugInClass *klass)
{
  GimpPlugInClass *plug_in_class = GIMP_PLUG_IN_CLASS (klass);

  plug_in_class->query_procedures = cam_plug_in_query_procedures;
  plug_in_class->create_procedure = cam_plug_in_create_procedure;
  /* set_i18n: GIMP's default, the "gimp-cam" domain in <plug-in folder>/locale. */
}

static void
cam_plug_in_init (CamPlugIn *plug_in)
{
}

static GList *
cam_plug_in_query_procedures (GimpPlugIn *plug_in)
{
  return g_list_append (g_list_append (NULL, g_strdup (PLUG_IN_PROC)),
                        g_strdup (PLUG_IN_METHODS_PROC));
}

static GimpProcedure *
cam_plug_in_create_procedure (GimpPlugIn *plug_in, const gchar *name)
{
  GimpProcedure *procedure;

  if (g_strcmp0 (name, PLUG_IN_METHODS_PROC) == 0)
    {
      procedure = gimp_procedure_new (plug_in, name, GIMP_PDB_PROC_TYPE_PLUGIN,
                                      cam_methods_run, NULL, NULL);
      gimp_procedure_set_documentation
        (procedure,
         _("The explanation methods plug-in-cam-heatmap takes"),
         _("Returns the values of plug-in-cam-heatmap's method argument, in the order of "
           "the dialog's Method list (\"default\" first, then every method of the "
           "engine), with their display names and one-line descriptions (what each "
           "computes and costs), translated: the dialog's entries and tooltips."),
         name);
      gimp_procedure_set_attribution (procedure, "gimp-cam authors", "gimp-cam authors", "2026");
      gimp_procedure_add_string_array_return_value
        (procedure, "names", "Names", "The values of the method argument",
         G_PARAM_READWRITE);
      gimp_procedure_add_string_array_return_value
        (procedure, "labels", "Labels", "The display names (translated)", G_PARAM_READWRITE);
      gimp_procedure_add_string_array_return_value
        (procedure, "descriptions", "Descriptions",
         "What each method computes and costs (translated)", G_PARAM_READWRITE);
      return procedure;
    }
  if (g_strcmp0 (name, PLUG_IN_PROC) != 0)
    return NULL;

  procedure = gimp_image_procedure_new (plug_in, name, GIMP_PDB_PROC_TYPE_PLUGIN,
                                        cam_heatmap_run, NULL, NULL);

  gimp_procedure_set_image_types (procedure, "*");
  gimp_procedure_set_sensitivity_mask (procedure, GIMP_PROCEDURE_SENSITIVE_DRAWABLE);
  gimp_procedure_set_menu_label (procedure, _("Class _Activation Map..."));
  gimp_procedure_add_menu_path (procedure, "<Image>/Filters/Analyze");

  gimp_procedure_set_documentation
    (procedure,
     _("Show which parts of a layer made a neural network choose a class"),
     _("Classifies the layer (or, with a selection, the selection's bounding box) "
       "with a convolutional network and adds a new layer above it that shows the "
       "class activation map: a heatmap of the regions the network used for its "
       "decision. The new layer has the region's position and size and is masked to "
       "the selection. The source layer is never modified. Grayscale and indexed "
       "images are converted to RGB first; the conversion and the new layer are one "
       "undo step. Alpha -1, colormap \"default\" and method \"default\" take the "
       "model's own defaults, stored in its ONNX metadata. The heatmap layer is "
       "composited in perceptual (non-linear sRGB) space, so what you see equals "
       "(1 - alpha) * image + alpha * heatmap, the blend the 'blend' output bakes. "
       "Other outputs give GIMP's own objects: a selection of the region above a "
       "threshold, a layer mask holding the map, a bounding box path, or the heatmaps "
       "of several classes side by side in a layer group; each is one undo step."),
     PLUG_IN_PROC);
  gimp_procedure_set_attribution (procedure, "gimp-cam authors", "gimp-cam authors", "2026");

  /* The four choices are string arguments, validated by the plug-in: GIMP replaces an
   * unknown value of a choice argument by its default with only a warning, and a caller
   * must get an error instead (PLUGIN_CHOICE_* in plugin-settings.c). The dialog shows
   * them as choices through the auxiliary "*-choice" arguments, kept in step with these. */
  gimp_procedure_add_string_argument
    (procedure, "model", _("_Model"),
     _("The network: \"fashion-mnist\", \"cifar10\", the name of an installed or per-user "
       "model (<name>.onnx in gimp-cam's model folders, e.g. ~/.local/share/gimp-cam/models), "
       "or \"file\" to use the ONNX file given in model-file"),
     "cifar10", G_PARAM_READWRITE);
  gimp_procedure_add_file_argument
    (procedure, "model-file", _("Model _file"),
     _("Your own convolutional classifier as an .onnx file; used when model is \"file\""),
     GIMP_FILE_CHOOSER_ACTION_OPEN, TRUE, NULL, G_PARAM_READWRITE);
  {
    /* every method of the engine's table, by name */
    GString *names = g_string_new (NULL);
    gchar   *blurb;

    for (gint m = 0; m < CAM_METHOD_COUNT; m++)
      g_string_append_printf (names, "%s\"%s\"", m ? ", " : "", cam_method_name ((cam_method) m));
    /* TRANSLATORS: %s is the list of method names ("cam", "grad-cam", ...) */
    blurb = g_strdup_printf (_("How the map is computed: \"default\" (the model's default: CAM "
                               "when the network ends with global average pooling and a dense "
                               "layer, else Grad-CAM) or one of %s (the dialog's Method list "
                               "says what each computes and costs)"), names->str);
    gimp_procedure_add_string_argument (procedure, "method", _("M_ethod"), blurb, "default",
                                        G_PARAM_READWRITE);
    g_free (blurb);
    g_string_free (names, TRUE);
  }
  gimp_procedure_add_int_argument
    (procedure, "class", _("_Class"),
     _("The class to explain: -1 = the top prediction, else the class index (0 = first class)"),
     -1, 9999, -1, G_PARAM_READWRITE);
  gimp_procedure_add_string_argument
    (procedure, "target-layer", _("_Target layer"),
     _("Name of the network tensor the map is computed on; empty = automatic "
       "(the model's default: the last convolution whose output is larger than 1x1)"),
     "", G_PARAM_READWRITE);
  gimp_procedure_add_double_argument
    (procedure, "alpha", _("_Alpha"),
     _("Heatmap opacity 0..1 (out = (1 - alpha) * image + alpha * heatmap); -1 = the model's default"),
     -1.0, 1.0, -1.0, G_PARAM_READWRITE);
  gimp_procedure_add_string_argument
    (procedure, "colormap", _("C_olormap"),
     _("Colors of the heatmap: \"default\" (the model's), \"jet\", \"turbo\", \"viridis\", "
       "\"inferno\", \"magma\", \"plasma\", \"cividis\", \"gray\", \"greens\", \"reds\", "
       "\"greens-reds\""),
     "default", G_PARAM_READWRITE);
  gimp_procedure_add_string_argument
    (procedure, "output", _("O_utput"),
     _("\"heatmap\": a heatmap layer with opacity alpha above the source (non-destructive); "
       "\"blend\": a new layer holding the baked blend; "
       "\"selection\": the selection becomes the part of the map at or above the threshold; "
       "\"mask\": a copy of the source layer whose layer mask is the map (gray colormap); "
       "\"bounding-box\": a path, the bounding box of the largest connected region at or above "
       "the threshold; \"compare\": a layer group with the heatmaps of the top-k classes, "
       "named by class and probability. The source layer never changes."),
     "heatmap", G_PARAM_READWRITE);
  /* No longer shown (the dialog lists the models itself), kept so that settings saved
   * by older versions, which hold it, still load. */
  gimp_procedure_add_choice_aux_argument
    (procedure, "model-choice", _("_Model"), _("The network"),
     gimp_choice_new_with_values ("fashion-mnist", 0, _("Fashion-MNIST (clothing, 28x28 gray)"), NULL,
                                  "cifar10",       1, _("CIFAR-10 (objects, 32x32 color)"), NULL,
                                  "file",          2, _("Other file..."), NULL,
                                  NULL),
     "cifar10", G_PARAM_READWRITE);
  gimp_procedure_add_choice_aux_argument
    (procedure, "method-choice", _("M_ethod"), _("How the map is computed"),
     plugin_choice_new (PLUGIN_CHOICE_METHOD), "default", G_PARAM_READWRITE);
  gimp_procedure_add_choice_aux_argument
    (procedure, "colormap-choice", _("C_olormap"), _("Colors of the heatmap"),
     plugin_choice_new (PLUGIN_CHOICE_COLORMAP), "default", G_PARAM_READWRITE);
  gimp_procedure_add_choice_aux_argument
    (procedure, "output-choice", _("O_utput"), _("What the new layer holds"),
     plugin_choice_new (PLUGIN_CHOICE_OUTPUT), "heatmap", G_PARAM_READWRITE);
  gimp_procedure_add_boolean_argument
    (procedure, "sample-merged", _("_Sample merged"),
     _("Classify what is visible in the image instead of the layer alone"),
     FALSE, G_PARAM_READWRITE);

  /* Not in the dialog, and used only by non-interactive calls (the batch helpers):
   * an interactive run never writes a file, whatever the last values hold. */
  gimp_procedure_add_file_argument
    (procedure, "export-file", _("_Export file"),
     _("Non-interactive calls only: when set, the image with the new layer, its visible "
       "layers merged (on a copy; the image itself is unchanged), is exported to this file, "
       "in the format its extension names. The export goes to a temporary file in the same "
       "folder that replaces the file only when the export succeeded, so a failed export "
       "(a full disk) leaves no partial file and keeps a previous file unchanged."),
     GIMP_FILE_CHOOSER_ACTION_SAVE, TRUE, NULL, G_PARAM_READWRITE);

  /* Added in issue 15, at the end so that older callers keep working. */
  gimp_procedure_add_double_argument
    (procedure, "threshold", _("_Threshold"),
     _("Outputs \"selection\" and \"bounding-box\": the part of the map kept, as a fraction "
       "of its range: 0.2 keeps the values at or above min + 0.2 x (max - min), the CAM "
       "paper's localisation rule"),
     0.0, 1.0, 0.2, G_PARAM_READWRITE);
  gimp_procedure_add_int_argument
    (procedure, "top-k", _("Co_mpared classes"),
     _("Output \"compare\": how many of the most probable classes get a heatmap layer"),
     1, 20, 3, G_PARAM_READWRITE);

  /* Added in issue 13 (the method family), at the end for the same reason. */
  gimp_procedure_add_boolean_argument
    (procedure, "eigen-smooth", _("Ei_gen smoothing"),
     _("Replace the sum over channels by the first principal component of the weighted "
       "activations (less noise; the methods that are a principal component already, and the "
       "random baseline, ignore it)"),
     FALSE, G_PARAM_READWRITE);
  gimp_procedure_add_boolean_argument
    (procedure, "aug-smooth", _("Augme_ntation smoothing"),
     _("Average the map over 6 augmented inputs (left-right flip x zoom 0.9, 1, 1.1, each "
       "map mapped back): smoother maps, 6 times the cost"),
     FALSE, G_PARAM_READWRITE);

  gimp_procedure_add_int_return_value
    (procedure, "class-index", "Class index", "The explained class (0-based)",
     -1, G_MAXINT, -1, G_PARAM_READWRITE);
  gimp_procedure_add_string_return_value
    (procedure, "label", "Label", "The class's canonical (untranslated) label from the model",
     "", G_PARAM_READWRITE);
  gimp_procedure_add_double_return_value
    (procedure, "probability", "Probability", "The class's softmax probability 0..1",
     0.0, 1.0, 0.0, G_PARAM_READWRITE);
  gimp_procedure_add_layer_return_value
    (procedure, "layer", "Layer",
     "The new layer (heatmap, blend), the layer copy holding the mask (mask) or the layer "
     "group (compare); none for selection and bounding-box",
     TRUE, G_PARAM_READWRITE);
  gimp_procedure_add_path_return_value
    (procedure, "path", "Path", "The bounding box path (bounding-box); none for the other outputs",
     TRUE, G_PARAM_READWRITE);

  return procedure;
}

/* plug-in-cam-methods: the method choice's entries (plugin_choice_new), as three lists. */
static GimpValueArray *
cam_methods_run (GimpProcedure *procedure, GimpProcedureConfig *config, gpointer run_data)
{
  GimpChoice     *choice = plugin_choice_new (PLUGIN_CHOICE_METHOD);
  GList          *nicks  = gimp_choice_list_nicks (choice);
  guint           n      = g_list_length (nicks), i = 0;
  gchar         **names  = g_new0 (gchar *, n + 1);
  gchar         **labels = g_new0 (gchar *, n + 1);
  gchar         **descriptions = g_new0 (gchar *, n + 1);
  GimpValueArray *values;

  for (GList *l = nicks; l; l = l->next, i++)
    {
      const gchar *help = gimp_choice_get_help (choice, l->data);

      names[i]        = g_strdup (l->data);
      labels[i]       = g_strdup (gimp_choice_get_label (choice, l->data));
      descriptions[i] = g_strdup (help ? help : "");
    }
  g_object_unref (choice);
  values = gimp_procedure_new_return_values (procedure, GIMP_PDB_SUCCESS, NULL);
  GIMP_VALUES_TAKE_STRV (values, 1, names);
  GIMP_VALUES_TAKE_STRV (values, 2, labels);
  GIMP_VALUES_TAKE_STRV (values, 3, descriptions);
  return values;
}

static GimpValueArray *
cam_heatmap_error (GimpProcedure *procedure, GError *error)
{
  GimpPDBStatusType status = GIMP_PDB_EXECUTION_ERROR;

  if (error && error->domain == PLUGIN_ERROR && error->code == PLUGIN_ERROR_ARGUMENT)
    status = GIMP_PDB_CALLING_ERROR;
  return gimp_procedure_new_return_values (procedure, status, error);
}

/* Exports the visible layers of (a copy of) image to file: written under a temporary
 * name in the file's folder (".<name>.XXXXXX.<ext>", the extension choosing the format)
 * and renamed over the file only once the export succeeded; the temporary file is
 * removed on any failure. */
static gboolean
cam_export_merged (GimpImage *image, GFile *file, GError **error)
{
  gchar       *path = g_file_get_path (file);
  gchar       *dir, *base, *tmpl;
  const gchar *dot;
  GimpImage   *copy;
  GFile       *tmp;
  gboolean     ok;
  gint         fd;

  if (! path)
    {
      g_set_error (error, PLUGIN_ERROR, PLUGIN_ERROR_ARGUMENT,
                   _("Argument \"export-file\": the file must be a local file."));
      return FALSE;
    }
  if (g_file_test (path, G_FILE_TEST_IS_DIR))
    {
      g_set_error (error, PLUGIN_ERROR, PLUGIN_ERROR_ARGUMENT,
                   _("Argument \"export-file\": %s is a folder."), path);
      g_free (path);
      return FALSE;
    }
  dir  = g_path_get_dirname (path);
  base = g_path_get_basename (path);
  dot  = strrchr (base, '.');
  if (! dot || dot == base || ! dot[1])
    {
      g_set_error (error, PLUGIN_ERROR, PLUGIN_ERROR_ARGUMENT,
                   _("Argument \"export-file\": %s has no extension to choose the format "
                     "(for example .png)."), path);
      g_free (dir);
      g_free (base);
      g_free (path);
      return FALSE;
    }
  tmpl = g_strdup_printf ("%s/.%.*s.XXXXXX%s", dir, (int) (dot - base), base, dot);
  fd = g_mkstemp_full (tmpl, O_RDWR | O_CLOEXEC, 0666);
  if (fd < 0)
    {
      int e = errno;

      g_set_error (error, PLUGIN_ERROR, PLUGIN_ERROR_EXECUTION,
                   _("Cannot export to %s: cannot create a temporary file in %s: %s"),
                   path, dir, g_strerror (e));
      g_free (tmpl);
      g_free (dir);
      g_free (base);
      g_free (path);
      return FALSE;
    }
  close (fd);

  tmp  = g_file_new_for_path (tmpl);
  copy = gimp_image_duplicate (image);
  ok   = copy && gimp_image_merge_visible_layers (copy, GIMP_CLIP_TO_IMAGE) != NULL &&
         gimp_file_save (GIMP_RUN_NONINTERACTIVE, copy, tmp, NULL);
  if (! ok)
    {
      const gchar *why = gimp_pdb_get_last_error (gimp_get_pdb ());

      g_set_error (error, PLUGIN_ERROR, PLUGIN_ERROR_EXECUTION,
                   _("Cannot export to %s: %s (nothing was written there)"), path,
                   why && *why ? why : _("the export failed"));
    }
  if (copy)
    gimp_image_delete (copy);
  if (ok && g_rename (tmpl, path) != 0)
    {
      int e = errno;

      g_set_error (error, PLUGIN_ERROR, PLUGIN_ERROR_EXECUTION,
                   _("Cannot export to %s: %s (nothing was written there)"), path,
                   g_strerror (e));
      ok = FALSE;
    }
  if (! ok)
    g_unlink (tmpl);

  g_object_unref (tmp);
  g_free (tmpl);
  g_free (dir);
  g_free (base);
  g_free (path);
  return ok;
}

static GimpValueArray *
cam_heatmap_run (GimpProcedure *procedure, GimpRunMode run_mode, GimpImage *image,
                 GimpDrawable **drawables, GimpProcedureConfig *config, gpointer run_data)
{
  PluginSettings  settings = { 0 };
  HeatmapJob     *job      = NULL;
  GimpLayer      *layer    = NULL;
  GimpPath       *path     = NULL;
  GimpValueArray *values;
  GError         *error    = NULL;

  gegl_init (NULL, NULL);

  if (gimp_core_object_array_get_length ((GObject **) drawables) != 1)
    {
      g_set_error (&error, PLUGIN_ERROR, PLUGIN_ERROR_ARGUMENT,
                   _("Class Activation Map works on exactly one layer; select one layer."));
      return cam_heatmap_error (procedure, error);
    }
  if (! heatmap_check_drawable (image, drawables[0], &error))
    return cam_heatmap_error (procedure, error);

  if (run_mode == GIMP_RUN_INTERACTIVE)
    {
      gimp_ui_init (PLUG_IN_BINARY);
      if (! heatmap_dialog_run (procedure, config, image, drawables[0]))
        return gimp_procedure_new_return_values (procedure, GIMP_PDB_CANCEL, NULL);
    }

  if (! plugin_settings_read (config, &settings, &error) ||
      ! (job = heatmap_job_new (image, drawables[0], &settings, &error)) ||
      ! heatmap_job_compute (job, TRUE, &error) ||
      ! heatmap_job_apply (job, &layer, &path, &error))
    {
      heatmap_job_free (job);
      plugin_settings_clear (&settings);
      return cam_heatmap_error (procedure, error);
    }

  if (run_mode == GIMP_RUN_NONINTERACTIVE)
    {
      GFile *export_file = NULL;

      g_object_get (config, "export-file", &export_file, NULL);
      if (export_file && ! cam_export_merged (image, export_file, &error))
        {
          g_object_unref (export_file);
          heatmap_job_free (job);
          plugin_settings_clear (&settings);
          return cam_heatmap_error (procedure, error);
        }
      g_clear_object (&export_file);
    }
  else
    {
      gimp_displays_flush ();
    }

  values = gimp_procedure_new_return_values (procedure, GIMP_PDB_SUCCESS, NULL);
  GIMP_VALUES_SET_INT (values, 1, heatmap_job_class_index (job));
  GIMP_VALUES_SET_STRING (values, 2, heatmap_job_label (job));
  GIMP_VALUES_SET_DOUBLE (values, 3, heatmap_job_probability (job));
  GIMP_VALUES_SET_LAYER (values, 4, layer);
  GIMP_VALUES_SET_PATH (values, 5, path);

  heatmap_job_free (job);
  plugin_settings_clear (&settings);
  return values;
}
