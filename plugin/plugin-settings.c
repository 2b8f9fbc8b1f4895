/*
 * plugin-settings.c -- the procedure's arguments, read and resolved.
 *
 * The sentinel values of the arguments (method "default", alpha -1, colormap
 * "default", target layer "") take the model's defaults from its metadata
 * (cam_model_get_info), the same defaults cam-heatmap uses, so the plug-in and
 * the command-line tool give the same pixels for the same inputs.
 *
 * Copyright (C) 2026 the gimp-cam authors. GPL-3.0-or-later.
 */
#include "config.h"

#include <string.h>

#include <glib/gi18n.h>

#include "gimp-cam.h"

G_DEFINE_QUARK (gimp-cam-error-quark, plugin_error)

const gchar *const plugin_choice_names[PLUGIN_N_CHOICES] = { "method", "colormap", "output" };

GimpChoice *
plugin_choice_new (PluginChoice which)
{
  switch (which)
    {
    case PLUGIN_CHOICE_METHOD:
      {
        /* Every method of the engine, in its table's order (id = cam_method + 1): a
         * method added to the engine appears here by itself. */
        GimpChoice *choice = gimp_choice_new ();

        gimp_choice_add (choice, "default", 0, _("Model default"),
                         _("The method stored in the model: CAM when the network ends with "
                           "global average pooling and a dense layer, else Grad-CAM"));
        for (gint m = 0; m < CAM_METHOD_COUNT; m++)
          gimp_choice_add (choice, cam_method_name ((cam_method) m), m + 1,
                           method_display_name ((cam_method) m),
                           method_summary_display ((cam_method) m));
        return choice;
      }
    case PLUGIN_CHOICE_COLORMAP:
      return gimp_choice_new_with_values ("default",     0,  _("Model default"), NULL,
                                          "jet",         1,  _("Jet"), NULL,
                                          "turbo",       2,  _("Turbo"), NULL,
                                          "viridis",     3,  _("Viridis"), NULL,
                                          "inferno",     4,  _("Inferno"), NULL,
                                          "magma",       5,  _("Magma"), NULL,
                                          "plasma",      6,  _("Plasma"), NULL,
                                          "cividis",     7,  _("Cividis"), NULL,
                                          "gray",        8,  _("Gray"), NULL,
                                          "greens",      9,  _("Greens"), NULL,
                                          "reds",        10, _("Reds"), NULL,
                                          "greens-reds", 11, _("Greens if confident, else reds"), NULL,
                                          NULL);
    case PLUGIN_CHOICE_OUTPUT:
    default:
      return gimp_choice_new_with_values ("heatmap",      PLUGIN_OUTPUT_HEATMAP,
                                          _("Heatmap layer (opacity alpha)"), NULL,
                                          "blend",        PLUGIN_OUTPUT_BLEND,
                                          _("Blended layer"), NULL,
                                          "selection",    PLUGIN_OUTPUT_SELECTION,
                                          _("Selection (map above the threshold)"), NULL,
                                          "mask",         PLUGIN_OUTPUT_MASK,
                                          _("Layer copy with the map as its mask"), NULL,
                                          "bounding-box", PLUGIN_OUTPUT_BOUNDING_BOX,
                                          _("Bounding box path (largest region above the threshold)"), NULL,
                                          "compare",      PLUGIN_OUTPUT_COMPARE,
                                          _("Compare classes (top-k heatmaps in a layer group)"), NULL,
                                          NULL);
    }
}

gchar **
plugin_model_names (void)
{
  GPtrArray         *names   = g_ptr_array_new ();
  cam_model_catalog *catalog = NULL;

  g_ptr_array_add (names, g_strdup ("fashion-mnist"));
  g_ptr_array_add (names, g_strdup ("cifar10"));
  if (cam_model_catalog_new (&catalog, NULL) == CAM_OK)
    {
      for (gint i = 0; i < cam_model_catalog_size (catalog); i++)
        {
          cam_model_entry entry;

          if (cam_model_catalog_get (catalog, i, &entry, NULL) == CAM_OK &&
              g_strcmp0 (entry.name, "fashion-mnist") != 0 &&
              g_strcmp0 (entry.name, "cifar10") != 0 &&
              g_strcmp0 (entry.name, "file") != 0 &&
              g_utf8_validate (entry.name, -1, NULL))
            g_ptr_array_add (names, g_strdup (entry.name));
        }
      cam_model_catalog_free (catalog);
    }
  g_ptr_array_add (names, NULL);
  return (gchar **) g_ptr_array_free (names, FALSE);
}

/* The model argument: a bundled or catalog model name, or "file". */
static gboolean
check_model (const gchar *value, GError **error)
{
  gchar  **names = plugin_model_names ();
  gboolean ok    = value != NULL && (g_strcmp0 (value, "file") == 0 ||
                                     g_strv_contains ((const gchar *const *) names, value));

  if (! ok)
    {
      GString *valid = g_string_new (NULL);

      for (gint i = 0; names[i]; i++)
        g_string_append_printf (valid, "\"%s\", ", names[i]);
      g_string_append (valid, "\"file\"");
      g_set_error (error, PLUGIN_ERROR, PLUGIN_ERROR_ARGUMENT,
                   _("Argument \"%s\": unknown value \"%s\"; the valid values are %s."),
                   "model", value ? value : "", valid->str);
      g_string_free (valid, TRUE);
    }
  g_strfreev (names);
  return ok;
}

/* Is value one of the choice's values? Else a calling error naming the argument and
 * listing the valid values. */
static gboolean
check_choice (PluginChoice which, const gchar *value, GError **error)
{
  GimpChoice *choice = plugin_choice_new (which);
  gboolean    ok     = value != NULL && gimp_choice_is_valid (choice, value);

  if (! ok)
    {
      GString *valid = g_string_new (NULL);
      GList   *nicks = gimp_choice_list_nicks (choice);

      for (GList *l = nicks; l; l = l->next)
        g_string_append_printf (valid, "%s\"%s\"", valid->len ? ", " : "", (const gchar *) l->data);
      g_set_error (error, PLUGIN_ERROR, PLUGIN_ERROR_ARGUMENT,
                   _("Argument \"%s\": unknown value \"%s\"; the valid values are %s."),
                   plugin_choice_names[which], value ? value : "", valid->str);
      g_string_free (valid, TRUE);
    }
  g_object_unref (choice);
  return ok;
}

gboolean
plugin_settings_read (GimpProcedureConfig *config, PluginSettings *settings, GError **error)
{
  gchar *model  = NULL;
  gchar *output = NULL;
  GFile *file   = NULL;

  memset (settings, 0, sizeof *settings);
  g_object_get (config,
                "model",         &model,
                "model-file",    &file,
                "method",        &settings->method,
                "class",         &settings->class_index,
                "target-layer",  &settings->layer,
                "alpha",         &settings->alpha,
                "colormap",      &settings->colormap,
                "output",        &output,
                "sample-merged", &settings->sample_merged,
                "threshold",     &settings->threshold,
                "top-k",         &settings->top_k,
                "eigen-smooth",  &settings->eigen_smooth,
                "aug-smooth",    &settings->aug_smooth,
                NULL);

  if (! check_model (model, error) ||
      ! check_choice (PLUGIN_CHOICE_METHOD, settings->method, error) ||
      ! check_choice (PLUGIN_CHOICE_COLORMAP, settings->colormap, error) ||
      ! check_choice (PLUGIN_CHOICE_OUTPUT, output, error))
    {
      g_free (model);
      g_free (output);
      g_clear_object (&file);
      plugin_settings_clear (settings);
      return FALSE;
    }
  /* only -1 means the model's default; the range -1..1 of the argument admits the rest */
  if (settings->alpha != -1.0 && ! (settings->alpha >= 0.0 && settings->alpha <= 1.0))
    {
      g_set_error (error, PLUGIN_ERROR, PLUGIN_ERROR_ARGUMENT,
                   _("Argument \"alpha\": %g is not an opacity; use 0 to 1, or -1 for the "
                     "model's default."), settings->alpha);
      g_free (model);
      g_free (output);
      g_clear_object (&file);
      plugin_settings_clear (settings);
      return FALSE;
    }
  {
    GimpChoice *choice = plugin_choice_new (PLUGIN_CHOICE_OUTPUT);

    settings->output = (PluginOutput) gimp_choice_get_id (choice, output);
    g_object_unref (choice);
  }
  g_free (output);
  if (settings->layer == NULL)
    settings->layer = g_strdup ("");

  if (g_strcmp0 (model, "file") == 0)
    {
      g_free (model);
      model = file ? g_file_get_path (file) : NULL;
      if (model == NULL)
        {
          g_set_error (error, PLUGIN_ERROR, PLUGIN_ERROR_ARGUMENT,
                       file ? _("The model file must be a local file (model-file).")
                            : _("Model \"file\" needs an ONNX file in the model-file argument."));
          g_clear_object (&file);
          plugin_settings_clear (settings);
          return FALSE;
        }
    }
  g_clear_object (&file);
  settings->model = model;
  return TRUE;
}

void
plugin_settings_clear (PluginSettings *settings)
{
  g_clear_pointer (&settings->model, g_free);
  g_clear_pointer (&settings->method, g_free);
  g_clear_pointer (&settings->layer, g_free);
  g_clear_pointer (&settings->colormap, g_free);
}

static gboolean
is_model_path (const gchar *model)
{
  return strchr (model, '/') != NULL || g_str_has_suffix (model, ".onnx");
}

gboolean
plugin_settings_load_model (const PluginSettings *settings, cam_model **model, GError **error)
{
  cam_error err = { 0 };

  if (cam_model_load (settings->model, model, &err) != CAM_OK)
    {
      /* A user's file that does not load is a bad argument; a bundled model
       * that does not load is a broken installation. */
      g_set_error (error, PLUGIN_ERROR,
                   is_model_path (settings->model) ? PLUGIN_ERROR_ARGUMENT : PLUGIN_ERROR_EXECUTION,
                   _("Could not load the model \"%s\": %s"), settings->model, err.message);
      *model = NULL;
      return FALSE;
    }
  return TRUE;
}

static gboolean
model_has_layer (const cam_model *model, const gchar *name, GString *names)
{
  gboolean found = FALSE;

  for (int i = 0; i < cam_model_n_layers (model); i++)
    {
      cam_layer_info info;

      if (cam_model_get_layer (model, i, &info, NULL) != CAM_OK)
        continue;
      if (strcmp (info.name, name) == 0)
        found = TRUE;
      g_string_append_printf (names, "%s%s", names->len ? ", " : "", info.name);
    }
  return found;
}

gboolean
plugin_settings_resolve (const PluginSettings *settings, const cam_model *model,
                         ResolvedSettings *resolved, GError **error)
{
  const cam_model_info *info = cam_model_get_info (model);
  int                   n_classes = cam_model_n_classes (model);
  cam_error             err = { 0 };

  memset (resolved, 0, sizeof *resolved);
  resolved->explain = cam_explain_options_default (model);

  if (g_strcmp0 (settings->method, "default") == 0 || settings->method == NULL)
    resolved->explain.method = info->default_method;
  else if (cam_method_from_name (settings->method, &resolved->explain.method, &err) != CAM_OK)
    {
      g_set_error (error, PLUGIN_ERROR, PLUGIN_ERROR_ARGUMENT, "%s", err.message);
      return FALSE;
    }
  if (! cam_method_supports_model (resolved->explain.method, model))
    {
      /* TRANSLATORS: method name, model name, the method's one-line summary (which says
       * what it needs) */
      g_set_error (error, PLUGIN_ERROR, PLUGIN_ERROR_ARGUMENT,
                   _("%s cannot explain the model \"%s\" (%s); choose another method, for "
                     "example Grad-CAM."),
                   method_display_name (resolved->explain.method), info->name,
                   method_summary_display (resolved->explain.method));
      return FALSE;
    }
  resolved->explain.eigen_smooth = settings->eigen_smooth ? 1 : 0;
  resolved->explain.aug_smooth   = settings->aug_smooth ? CAM_AUG_SMOOTH_SCALES
                                                         : CAM_AUG_SMOOTH_NONE;

  if (settings->class_index < -1 || settings->class_index >= n_classes)
    {
      g_set_error (error, PLUGIN_ERROR, PLUGIN_ERROR_ARGUMENT,
                   _("Class %d does not exist: the model \"%s\" has classes 0 to %d "
                     "(or use -1 for the top prediction)."),
                   settings->class_index, info->name, n_classes - 1);
      return FALSE;
    }
  resolved->explain.class_index = settings->class_index;

  if (settings->layer && settings->layer[0])
    {
      GString *names = g_string_new (NULL);

      if (! model_has_layer (model, settings->layer, names))
        {
          g_set_error (error, PLUGIN_ERROR, PLUGIN_ERROR_ARGUMENT,
                       _("The model \"%s\" has no layer \"%s\"; its layers are: %s "
                         "(or leave the target layer empty for the automatic choice)."),
                       info->name, settings->layer, names->str);
          g_string_free (names, TRUE);
          return FALSE;
        }
      g_string_free (names, TRUE);
      resolved->explain.layer = settings->layer;
    }
  else
    {
      resolved->explain.layer = NULL; /* the model's default layer */
    }

  resolved->alpha = settings->alpha < 0.0 ? info->default_alpha : (float) settings->alpha;
  {
    const char *name = (settings->colormap == NULL || g_strcmp0 (settings->colormap, "default") == 0)
                       ? info->default_colormap : settings->colormap;

    if (cam_colormap_from_name (name, &resolved->colormap, &err) != CAM_OK)
      {
        g_set_error (error, PLUGIN_ERROR, PLUGIN_ERROR_ARGUMENT, "%s", err.message);
        return FALSE;
      }
  }
  resolved->threshold = info->colormap_threshold;
  return TRUE;
}
