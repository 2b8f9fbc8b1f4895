/*
 * heatmap-dialog.c -- the dialog: arguments, top-5 predictions, live preview.
 *
 * The widgets for the arguments come from GimpProcedureDialog (so the last
 * values are remembered by GimpProcedureConfig). Below them: the five most
 * probable classes for the current layer (recomputed when the model changes)
 * and a small preview of the result (the image blended with the heatmap, as
 * the new layer will look), recomputed when method, class or target layer
 * change and re-rendered when colormap, alpha or output change. Work is done
 * in an idle callback so that several changes at once cost one update.
 *
 * Copyright (C) 2026 the gimp-cam authors. GPL-3.0-or-later.
 */
#include "config.h"

#include <string.h>

#include <libgimp/gimpui.h>
#include <glib/gi18n.h>

#include "heatmap-dialog.h"
#include "heatmap-job.h"

#define PREVIEW_SIZE 240
#define TOP_N        5

enum { UPDATE_NONE = 0, UPDATE_RENDER, UPDATE_EXPLAIN, UPDATE_MODEL };

typedef struct DialogState {
  GimpProcedureConfig *config;
  GimpImage           *image;
  GimpDrawable        *drawable;
  GtkWidget           *predictions;   /* GtkLabel */
  GtkWidget           *preview;       /* GtkImage */

  PluginSettings       settings;
  HeatmapSource        source;
  gboolean             source_open;
  gboolean             sample_merged;
  cam_model           *model;
  gchar               *model_key;     /* settings.model of the loaded model */
  float               *input;
  cam_preprocess_info  info;
  float               *probabilities;
  gint                 n_classes;
  ResolvedSettings     resolved;
  cam_explanation     *explanation;   /* NULL until explained */

  guchar              *thumbnail;     /* the region scaled to the preview size, RGBA u8 */
  gint                 thumb_w, thumb_h;

  gint                 pending;
  guint                idle_id;
} DialogState;

static void
show_message (DialogState *state, const gchar *message)
{
  gtk_label_set_text (GTK_LABEL (state->predictions), message);
  gtk_image_clear (GTK_IMAGE (state->preview));
}

static void
release_model (DialogState *state)
{
  g_clear_pointer (&state->explanation, cam_explanation_free);
  g_clear_pointer (&state->input, g_free);
  g_clear_pointer (&state->probabilities, g_free);
  if (state->model)
    cam_model_free (state->model);
  state->model = NULL;
  g_clear_pointer (&state->model_key, g_free);
}

static gboolean
read_thumbnail (DialogState *state, GError **error)
{
  HeatmapSource *source = &state->source;
  gdouble        scale  = MIN (1.0, (gdouble) PREVIEW_SIZE / MAX (source->width, source->height));

  g_clear_pointer (&state->thumbnail, g_free);
  state->thumb_w   = MAX (1, (gint) (source->width * scale));
  state->thumb_h   = MAX (1, (gint) (source->height * scale));
  state->thumbnail = g_malloc ((gsize) state->thumb_w * state->thumb_h * 4);
  gegl_buffer_get (source->buffer,
                   GEGL_RECTANGLE ((gint) (source->buffer_x * scale), (gint) (source->buffer_y * scale),
                                   state->thumb_w, state->thumb_h),
                   scale, babl_format ("R'G'B'A u8"), state->thumbnail, GEGL_AUTO_ROWSTRIDE,
                   GEGL_ABYSS_NONE);
  return TRUE;
}

/* Loads the model and classifies the region: the top-5 list. */
static gboolean
update_model (DialogState *state, GError **error)
{
  cam_workspace *workspace;
  cam_error      err = { 0 };
  gint           order[TOP_N];
  GString       *text;

  if (state->source_open && state->sample_merged != state->settings.sample_merged)
    {
      heatmap_source_close (&state->source);
      state->source_open = FALSE;
    }
  if (! state->source_open)
    {
      if (! heatmap_source_open (state->image, state->drawable, state->settings.sample_merged,
                                 &state->source, error))
        return FALSE;
      state->source_open   = TRUE;
      state->sample_merged = state->settings.sample_merged;
      release_model (state);
      read_thumbnail (state, error);
    }
  if (state->model && g_strcmp0 (state->model_key, state->settings.model) == 0)
    return TRUE;

  release_model (state);
  if (! plugin_settings_load_model (&state->settings, &state->model, error))
    return FALSE;
  state->model_key     = g_strdup (state->settings.model);
  state->n_classes     = cam_model_n_classes (state->model);
  state->input         = g_new (float, cam_model_input_size (state->model));
  state->probabilities = g_new (float, state->n_classes);
  if (! heatmap_source_preprocess (&state->source, state->model, state->input, &state->info, error))
    {
      release_model (state);
      return FALSE;
    }
  if (cam_workspace_new (state->model, 1, &workspace, &err) != CAM_OK ||
      cam_forward (workspace, state->input, 1, state->probabilities, NULL, &err) != CAM_OK)
    {
      cam_workspace_free (workspace);
      g_set_error (error, PLUGIN_ERROR, PLUGIN_ERROR_EXECUTION, "%s", err.message);
      release_model (state);
      return FALSE;
    }
  cam_workspace_free (workspace);

  /* The five most probable classes, highest first (ties: lower index first). */
  text = g_string_new (NULL);
  for (gint n = 0; n < MIN (TOP_N, state->n_classes); n++)
    {
      gint best = -1;

      for (gint c = 0; c < state->n_classes; c++)
        {
          gboolean taken = FALSE;

          for (gint k = 0; k < n; k++)
            taken |= order[k] == c;
          if (! taken && (best < 0 || state->probabilities[c] > state->probabilities[best]))
            best = c;
        }
      order[n] = best;
      {
        gchar *label = g_markup_escape_text (class_label_display (state->model, best), -1);

        g_string_append_printf (text, n ? "\n<tt>%5.1f%%</tt>  %s  (%d)"
                                        : "<tt>%5.1f%%</tt>  <b>%s</b>  (%d)",
                                100.0 * state->probabilities[best], label, best);
        g_free (label);
      }
    }
  gtk_label_set_markup (GTK_LABEL (state->predictions), text->str);
  g_string_free (text, TRUE);
  return TRUE;
}

static gboolean
update_explanation (DialogState *state, GError **error)
{
  cam_workspace *workspace;
  cam_error      err = { 0 };

  g_clear_pointer (&state->explanation, cam_explanation_free);
  if (! plugin_settings_resolve (&state->settings, state->model, &state->resolved, error))
    return FALSE;
  if (cam_workspace_new (state->model, 1, &workspace, &err) != CAM_OK ||
      cam_explain (workspace, state->input, &state->resolved.explain, &state->explanation,
                   &err) != CAM_OK)
    {
      cam_workspace_free (workspace);
      g_set_error (error, PLUGIN_ERROR, PLUGIN_ERROR_EXECUTION, "%s", err.message);
      return FALSE;
    }
  cam_workspace_free (workspace);
  return TRUE;
}

static void
free_pixels (guchar *pixels, gpointer data)
{
  g_free (pixels);
}

static gboolean
update_preview (DialogState *state, GError **error)
{
  cam_render_options options;
  cam_error          err = { 0 };
  cam_image          src, dst;
  guchar            *pixels;
  GdkPixbuf         *pixbuf;
  gchar             *name;

  if (! plugin_settings_resolve (&state->settings, state->model, &state->resolved, error))
    return FALSE;
  /* The preview shows how the result looks: the blend, for both outputs. */
  options = heatmap_render_options (state->model, &state->resolved, state->resolved.explain.method,
                                    state->explanation->probability, TRUE);
  if (cam_preprocess_info_map_window (&state->info, state->explanation->map_width,
                                      state->explanation->map_height, &options.window,
                                      &err) != CAM_OK)
    goto engine_failed;

  pixels = g_malloc ((gsize) state->thumb_w * state->thumb_h * 4);
  src = (cam_image) { state->thumbnail, state->thumb_w, state->thumb_h, 4, CAM_SAMPLE_U8,
                      (size_t) state->thumb_w * 4 };
  dst = (cam_image) { pixels, state->thumb_w, state->thumb_h, 4, CAM_SAMPLE_U8,
                      (size_t) state->thumb_w * 4 };
  if (cam_render_image (state->explanation->map, state->explanation->map_width,
                        state->explanation->map_height, &options, &src, &dst, &err) != CAM_OK)
    {
      g_free (pixels);
      goto engine_failed;
    }
  pixbuf = gdk_pixbuf_new_from_data (pixels, GDK_COLORSPACE_RGB, TRUE, 8, state->thumb_w,
                                     state->thumb_h, state->thumb_w * 4,
                                     free_pixels, NULL);
  gtk_image_set_from_pixbuf (GTK_IMAGE (state->preview), pixbuf);
  g_object_unref (pixbuf);

  name = heatmap_layer_name (state->model, state->resolved.explain.method,
                             state->explanation->class_index, state->explanation->probability);
  gtk_widget_set_tooltip_text (state->preview, name);
  g_free (name);
  return TRUE;

engine_failed:
  g_set_error (error, PLUGIN_ERROR, PLUGIN_ERROR_EXECUTION, "%s", err.message);
  return FALSE;
}

static gboolean
update_idle (gpointer data)
{
  DialogState *state   = data;
  gint         pending = state->pending;
  GError      *error   = NULL;
  gboolean     ok      = TRUE;

  state->idle_id = 0;
  state->pending = UPDATE_NONE;

  plugin_settings_clear (&state->settings);
  if (! plugin_settings_read (state->config, &state->settings, &error))
    ok = FALSE;
  if (ok && (pending >= UPDATE_MODEL || state->model == NULL))
    ok = update_model (state, &error);
  if (ok && (pending >= UPDATE_EXPLAIN || state->explanation == NULL))
    ok = update_explanation (state, &error);
  if (ok)
    ok = update_preview (state, &error);

  if (! ok)
    {
      show_message (state, error ? error->message : _("Cannot show a preview."));
      g_clear_error (&error);
      if (pending >= UPDATE_MODEL)
        release_model (state);
    }
  return G_SOURCE_REMOVE;
}

static void
schedule_update (DialogState *state, gint level)
{
  state->pending = MAX (state->pending, level);
  if (state->idle_id == 0)
    state->idle_id = g_idle_add (update_idle, state);
}

/* The dialog shows the choice arguments through their "<name>-choice" auxiliary
 * arguments; copies one to the other (to_strings: choice -> string argument). */
static void
sync_choice (GObject *config, PluginChoice which, gboolean to_strings)
{
  gchar       *aux = g_strdup_printf ("%s-choice", plugin_choice_names[which]);
  const gchar *from = to_strings ? aux : plugin_choice_names[which];
  const gchar *to   = to_strings ? plugin_choice_names[which] : aux;
  gchar       *value = NULL, *current = NULL;
  GimpChoice  *choice = plugin_choice_new (which);

  g_object_get (config, from, &value, to, &current, NULL);
  if (value && gimp_choice_is_valid (choice, value) && g_strcmp0 (value, current) != 0)
    g_object_set (config, to, value, NULL);
  g_object_unref (choice);
  g_free (value);
  g_free (current);
  g_free (aux);
}

static void
config_notify (GObject *config, GParamSpec *pspec, DialogState *state)
{
  const gchar *name = g_param_spec_get_name (pspec);

  if (g_str_has_suffix (name, "-choice"))
    {
      for (gint i = 0; i < PLUGIN_N_CHOICES; i++)
        if (g_str_has_prefix (name, plugin_choice_names[i]) &&
            strlen (name) == strlen (plugin_choice_names[i]) + strlen ("-choice"))
          sync_choice (config, (PluginChoice) i, TRUE); /* notifies the string argument */
      return;
    }

  if (! strcmp (name, "model") || ! strcmp (name, "model-file") || ! strcmp (name, "sample-merged"))
    schedule_update (state, UPDATE_MODEL);
  else if (! strcmp (name, "method") || ! strcmp (name, "class") || ! strcmp (name, "target-layer"))
    schedule_update (state, UPDATE_EXPLAIN);
  else
    schedule_update (state, UPDATE_RENDER);
}

gboolean
heatmap_dialog_run (GimpProcedure *procedure, GimpProcedureConfig *config, GimpImage *image,
                    GimpDrawable *drawable)
{
  DialogState state = { 0 };
  GtkWidget  *dialog, *content, *frame, *box;
  gboolean    run;
  gulong      handler;

  state.config   = config;
  state.image    = image;
  state.drawable = drawable;

  for (gint i = 0; i < PLUGIN_N_CHOICES; i++)
    sync_choice (G_OBJECT (config), (PluginChoice) i, FALSE);
  dialog = gimp_procedure_dialog_new (procedure, config, _("Class Activation Map"));
  gimp_procedure_dialog_get_scale_entry (GIMP_PROCEDURE_DIALOG (dialog), "alpha", 1.0);
  gimp_procedure_dialog_fill (GIMP_PROCEDURE_DIALOG (dialog),
                              "model", "model-file", "method-choice", "class",
                              "target-layer", "alpha", "colormap-choice", "output-choice",
                              "sample-merged", "threshold", "top-k", NULL);

  content = gtk_dialog_get_content_area (GTK_DIALOG (dialog));
  frame = gimp_frame_new (_("Predictions and preview"));
  gtk_box_pack_start (GTK_BOX (content), frame, FALSE, FALSE, 0);
  box = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 12);
  gtk_container_add (GTK_CONTAINER (frame), box);

  state.preview = gtk_image_new ();
  gtk_widget_set_size_request (state.preview, PREVIEW_SIZE, PREVIEW_SIZE);
  gtk_box_pack_start (GTK_BOX (box), state.preview, FALSE, FALSE, 0);

  state.predictions = gtk_label_new (_("Classifying..."));
  gtk_label_set_xalign (GTK_LABEL (state.predictions), 0.0);
  gtk_label_set_yalign (GTK_LABEL (state.predictions), 0.0);
  gtk_label_set_selectable (GTK_LABEL (state.predictions), TRUE);
  gtk_box_pack_start (GTK_BOX (box), state.predictions, TRUE, TRUE, 0);
  gtk_widget_show_all (frame);

  handler = g_signal_connect (config, "notify", G_CALLBACK (config_notify), &state);
  schedule_update (&state, UPDATE_MODEL);

  run = gimp_procedure_dialog_run (GIMP_PROCEDURE_DIALOG (dialog));

  g_signal_handler_disconnect (config, handler);
  if (state.idle_id)
    g_source_remove (state.idle_id);
  gtk_widget_destroy (dialog);

  release_model (&state);
  if (state.source_open)
    heatmap_source_close (&state.source);
  g_free (state.thumbnail);
  plugin_settings_clear (&state.settings);
  return run;
}
