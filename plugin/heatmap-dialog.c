/*
 * heatmap-dialog.c -- the dialog: model, class and layer lists, a live preview.
 *
 * Left, the arguments: the model as a list of the installed and per-user models
 * (the engine's catalog: name and description) plus "Other file..."; the method as
 * the list of every method of the engine's table (display name; its one-line summary,
 * what it computes and costs, as the entry's tooltip; the methods that cannot explain
 * the loaded model greyed out), with the eigen and augmentation smoothing check boxes;
 * the class as a searchable list of the model's labels with "Top prediction" first
 * (a GtkTreeView with a search entry: fine with 1000 classes); the target layer as
 * a list of the model's explainable layers with their shapes, "Automatic" first;
 * alpha as a 0-100 % slider with a "model's default" check box (the argument's -1);
 * colormap, output, threshold, compared classes, sample merged. The choice, file and
 * number widgets come from GimpProcedureDialog (bound to the config, so the last
 * values are remembered); the lists write the same config properties.
 *
 * Right, the five most probable classes and a preview of the result (the image
 * blended with the heatmap). Loading a model and explaining run in a worker thread
 * (a GTask): the dialog stays responsive. The progress bar pulses while a model
 * loads and then shows the engine's fraction of the explanation (the engine's
 * progress callback, cam_workspace_set_progress, stores it for the bar's timer);
 * Cancel, closing the dialog, or a change that needs a new explanation stop the
 * running one through the same callback, after the network node it is in (a
 * model that is loading finishes loading first). The preview never makes a layer:
 * the image changes only when the dialog's OK runs the plug-in's job. Only the
 * thread touches what it was given (a reference to the model, copies of the pixels
 * and settings); GIMP and GTK are used from the main thread only. Errors are shown
 * in the dialog, in place of the predictions.
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
#define OTHER_FILE   "file"

enum { UPDATE_NONE = 0, UPDATE_RENDER, UPDATE_EXPLAIN, UPDATE_MODEL };
enum { CLASS_COLUMN_INDEX, CLASS_COLUMN_LABEL, CLASS_COLUMN_PROBABILITY, CLASS_N_COLUMNS };
enum { METHOD_COLUMN_ID, METHOD_COLUMN_LABEL, METHOD_COLUMN_TOOLTIP, METHOD_COLUMN_SENSITIVE,
       METHOD_N_COLUMNS };

/* A loaded model shared by the dialog and a worker thread (atomic reference count). */
typedef struct ModelRef {
  cam_model *model;
} ModelRef;

static void
model_ref_clear (gpointer data)
{
  cam_model_free (((ModelRef *) data)->model);
}

static void
model_ref_release (ModelRef *ref)
{
  if (ref)
    g_atomic_rc_box_release_full (ref, model_ref_clear);
}

/* What the worker thread gets (owned) and gives back. */
typedef struct PreviewTask {
  gint                 generation;
  PluginSettings       settings;      /* a copy */
  ModelRef            *model;         /* a reference; NULL = load settings.model */
  cam_image            image;         /* pixels to preprocess (owned), or pixels NULL: */
  float               *input;         /* the preprocessed input (owned) */
  cam_preprocess_info  info;
  /* results */
  ResolvedSettings     resolved;
  cam_explanation     *explanation;
  GError              *error;
  gboolean             cancelled;     /* stopped on request: nothing to show */
  /* shared with the main thread while the task runs (atomic) */
  gint                 stop;          /* set by the main thread: stop at the next report */
  gint                 progress;      /* the engine's fraction in 1/1000, -1 before it reports */
} PreviewTask;

static void
preview_task_free (gpointer data)
{
  PreviewTask *task = data;

  plugin_settings_clear (&task->settings);
  model_ref_release (task->model);
  g_free (task->image.pixels);
  g_free (task->input);
  cam_explanation_free (task->explanation);
  g_clear_error (&task->error);
  g_free (task);
}

typedef struct DialogState DialogState;

/* The callback's link to the dialog: the dialog may close while a thread runs. */
typedef struct DialogLink {
  DialogState *state;   /* NULL once the dialog is gone */
} DialogLink;

struct DialogState {
  GimpProcedureConfig *config;
  GimpImage           *image;
  GimpDrawable        *drawable;
  GtkWidget           *dialog;
  GtkWidget           *model_combo;
  GtkWidget           *model_file;
  GtkWidget           *method_combo;
  GtkListStore        *method_store;
  GtkWidget           *class_search;
  GtkWidget           *class_view;
  GtkListStore        *class_store;
  GtkTreeModel        *class_filter;
  GtkWidget           *layer_combo;
  GtkWidget           *alpha_scale;
  GtkWidget           *alpha_default;
  GtkWidget           *predictions;   /* GtkLabel */
  GtkWidget           *preview;       /* GtkImage */
  GtkWidget           *progress;
  GtkWidget           *status;        /* what the thread does, above the progress bar */
  GtkWidget           *cancel;
  gboolean             updating;      /* widgets being filled: their signals are ours */

  PluginSettings       settings;
  HeatmapSource        source;
  gboolean             source_open;
  gboolean             sample_merged;
  cam_image            pixels;        /* the region, read once per source */
  ModelRef            *model;
  gchar               *model_key;     /* settings.model of the loaded model */
  float               *input;
  cam_preprocess_info  info;
  ResolvedSettings     resolved;
  cam_explanation     *explanation;   /* NULL until explained */

  guchar              *thumbnail;     /* the region scaled to the preview size, RGBA u8 */
  gint                 thumb_w, thumb_h;

  gint                 pending;
  guint                idle_id;
  gboolean             busy;          /* a worker thread runs */
  gint                 generation;    /* of the newest task; older results are dropped */
  guint                pulse_id;
  PreviewTask         *running;       /* the worker thread's task (owned by its GTask) */
  DialogLink          *link;
};

static const cam_model *
state_model (DialogState *state)
{
  return state->model ? state->model->model : NULL;
}

static void
show_message (DialogState *state, const gchar *message, gboolean is_error)
{
  if (is_error)
    {
      gchar *escaped = g_markup_escape_text (message, -1);
      gchar *markup  = g_strdup_printf ("<span foreground=\"#c01c28\"><b>%s</b>\n%s</span>",
                                        _("Error"), escaped);

      gtk_label_set_markup (GTK_LABEL (state->predictions), markup);
      g_free (markup);
      g_free (escaped);
    }
  else
    {
      gtk_label_set_text (GTK_LABEL (state->predictions), message);
    }
  gtk_image_clear (GTK_IMAGE (state->preview));
}

static void
release_model (DialogState *state)
{
  g_clear_pointer (&state->explanation, cam_explanation_free);
  g_clear_pointer (&state->input, g_free);
  model_ref_release (state->model);
  state->model = NULL;
  g_clear_pointer (&state->model_key, g_free);
}

static void
read_thumbnail (DialogState *state)
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
}

/* Opens the region (again when sample merged changed) and reads its pixels. */
static gboolean
open_source (DialogState *state, GError **error)
{
  if (state->source_open && state->sample_merged != state->settings.sample_merged)
    {
      heatmap_source_close (&state->source);
      state->source_open = FALSE;
      g_clear_pointer (&state->pixels.pixels, g_free);
    }
  if (state->source_open)
    return TRUE;
  if (! heatmap_source_open (state->image, state->drawable, state->settings.sample_merged,
                             &state->source, error))
    return FALSE;
  state->source_open   = TRUE;
  state->sample_merged = state->settings.sample_merged;
  read_thumbnail (state);
  if (! heatmap_source_read (&state->source, &state->pixels, error))
    return FALSE;
  /* new pixels: the input must be prepared again */
  g_clear_pointer (&state->input, g_free);
  return TRUE;
}

/* ------------------------------------------------------------------------ */
/* The worker thread                                                        */
/* ------------------------------------------------------------------------ */

/* The engine's progress callback, in the worker thread. */
static int
preview_task_progress (double fraction, void *user_data)
{
  PreviewTask *task = user_data;

  g_atomic_int_set (&task->progress, (gint) (fraction * 1000.0));
  return g_atomic_int_get (&task->stop);
}

static void
preview_task_run (GTask *gtask, gpointer source_object, gpointer data, GCancellable *cancellable)
{
  PreviewTask     *task = data;
  cam_workspace   *workspace = NULL;
  cam_error        err = { 0 };
  const cam_model *model;

  if (task->model == NULL)
    {
      task->model = g_atomic_rc_box_new0 (ModelRef);
      if (! plugin_settings_load_model (&task->settings, &task->model->model, &task->error))
        {
          model_ref_release (task->model);
          task->model = NULL;
          return;
        }
    }
  model = task->model->model;
  if (task->image.pixels)
    {
      task->input = g_try_new (float, cam_model_input_size (model));
      if (task->input == NULL)
        {
          g_set_error (&task->error, PLUGIN_ERROR, PLUGIN_ERROR_EXECUTION, _("Not enough memory."));
          return;
        }
      if (cam_preprocess (model, &task->image, NULL, task->input, &task->info, &err) != CAM_OK)
        {
          g_set_error (&task->error, PLUGIN_ERROR, PLUGIN_ERROR_EXECUTION, "%s: %s",
                       _("Preparing the image for the model failed"), err.message);
          g_clear_pointer (&task->input, g_free);
          return;
        }
      g_clear_pointer (&task->image.pixels, g_free);
    }
  if (! plugin_settings_resolve (&task->settings, model, &task->resolved, &task->error))
    return;
  if (g_atomic_int_get (&task->stop))
    {
      task->cancelled = TRUE;
      return;
    }
  if (cam_workspace_new (model, 1, &workspace, &err) == CAM_OK)
    {
      cam_workspace_set_progress (workspace, preview_task_progress, task);
      cam_explain (workspace, task->input, &task->resolved.explain, &task->explanation, &err);
    }
  if (err.status == CAM_STATUS_CANCELLED)
    task->cancelled = TRUE;
  else if (err.status != CAM_OK)
    g_set_error (&task->error, PLUGIN_ERROR, PLUGIN_ERROR_EXECUTION, "%s", err.message);
  cam_workspace_free (workspace);
}

static void schedule_update (DialogState *state, gint level);
static void fill_model_lists (DialogState *state);
static void method_list_for_model (DialogState *state, const cam_model *model);
static void show_predictions (DialogState *state);
static gboolean update_preview (DialogState *state, GError **error);

static void
set_busy (DialogState *state, gboolean busy, const gchar *text)
{
  /* The progress row stays in place (no layout change while computing). */
  state->busy = busy;
  gtk_widget_set_sensitive (state->cancel, busy);
  gtk_label_set_text (GTK_LABEL (state->status), busy ? text : "");
  if (! busy)
    gtk_progress_bar_set_fraction (GTK_PROGRESS_BAR (state->progress), 0.0);
  if (! busy && state->pulse_id)
    {
      g_source_remove (state->pulse_id);
      state->pulse_id = 0;
    }
}

/* The bar's timer: the engine's fraction once it reports, a pulse before (loading
 * the model, preparing the image). */
static gboolean
pulse (gpointer data)
{
  DialogState *state    = data;
  gint         progress = state->running ? g_atomic_int_get (&state->running->progress) : -1;

  if (progress >= 0)
    gtk_progress_bar_set_fraction (GTK_PROGRESS_BAR (state->progress), progress / 1000.0);
  else
    gtk_progress_bar_pulse (GTK_PROGRESS_BAR (state->progress));
  return G_SOURCE_CONTINUE;
}

/* Asks the running task to stop (its result will not be shown): the engine returns
 * at its next progress report. */
static void
stop_running_task (DialogState *state)
{
  if (state->running)
    g_atomic_int_set (&state->running->stop, 1);
}

/* The model a task loaded becomes the dialog's. */
static void
adopt_model (DialogState *state, PreviewTask *task)
{
  release_model (state);
  state->model     = g_atomic_rc_box_acquire (task->model);
  state->model_key = g_strdup (task->settings.model);
  fill_model_lists (state);
}

/* The input a task prepared (for the dialog's model) becomes the dialog's. */
static void
adopt_input (DialogState *state, PreviewTask *task)
{
  if (task->input && task->input != state->input)
    {
      g_free (state->input);
      state->input = task->input;
      state->info  = task->info;
      task->input  = NULL;
    }
}

static void
preview_task_done (GObject *source_object, GAsyncResult *result, gpointer data)
{
  DialogLink  *link  = data;
  DialogState *state = link->state;
  PreviewTask *task  = g_task_get_task_data (G_TASK (result));
  GError      *error = NULL;

  if (state == NULL)
    {
      g_free (link); /* the dialog is gone: the task frees its results */
      return;
    }
  state->running = NULL;
  set_busy (state, FALSE, NULL);
  if (task->generation != state->generation || task->cancelled)
    {
      /* cancelled or superseded: nothing is shown, but a model it loaded and the input
       * it prepared are kept (loading cannot be stopped half-way, and the next task
       * would only do it again) */
      if (task->model && task->model != state->model && task->error == NULL)
        adopt_model (state, task);
      if (task->model && task->model == state->model)
        adopt_input (state, task);
      if (state->pending)
        schedule_update (state, state->pending);
      return;
    }

  /* Adopt what the thread made. */
  if (task->model == NULL)
    {
      /* the model did not load: no lists for it */
      release_model (state);
      state->updating = TRUE;
      gtk_list_store_clear (state->class_store);
      gtk_combo_box_text_remove_all (GTK_COMBO_BOX_TEXT (state->layer_combo));
      method_list_for_model (state, NULL);
      state->updating = FALSE;
    }
  else if (task->model != state->model)
    {
      adopt_model (state, task);
    }
  adopt_input (state, task);
  g_clear_pointer (&state->explanation, cam_explanation_free);
  state->explanation = task->explanation;
  task->explanation  = NULL;
  state->resolved    = task->resolved;
  state->resolved.explain.layer = NULL; /* pointed into the task's settings */

  if (task->error)
    show_message (state, task->error->message, TRUE);
  else
    {
      show_predictions (state);
      if (! update_preview (state, &error))
        {
          show_message (state, error->message, TRUE);
          g_clear_error (&error);
        }
    }
  if (state->pending)
    schedule_update (state, state->pending);
}

static void
start_task (DialogState *state)
{
  PreviewTask *task = g_new0 (PreviewTask, 1);
  GTask       *gtask;
  gboolean     load = state->model == NULL ||
                      g_strcmp0 (state->model_key, state->settings.model) != 0;

  task->generation        = ++state->generation;
  task->progress          = -1;
  task->settings.model    = g_strdup (state->settings.model);
  task->settings.method   = g_strdup (state->settings.method);
  task->settings.layer    = g_strdup (state->settings.layer);
  task->settings.colormap = g_strdup (state->settings.colormap);
  task->settings.class_index = state->settings.class_index;
  task->settings.alpha       = state->settings.alpha;
  task->settings.output      = state->settings.output;
  task->settings.threshold   = state->settings.threshold;
  task->settings.top_k       = state->settings.top_k;
  task->settings.eigen_smooth = state->settings.eigen_smooth;
  task->settings.aug_smooth   = state->settings.aug_smooth;
  if (! load)
    task->model = g_atomic_rc_box_acquire (state->model);
  if (load || state->input == NULL)
    {
      task->image        = state->pixels;
      task->image.pixels = g_memdup2 (state->pixels.pixels,
                                      state->pixels.stride * (gsize) state->pixels.height);
    }
  else
    {
      task->input = g_memdup2 (state->input, cam_model_input_size (state_model (state)) * sizeof (float));
      task->info  = state->info;
    }

  gtask = g_task_new (NULL, NULL, preview_task_done, state->link);
  g_task_set_task_data (gtask, task, preview_task_free);
  state->running = task; /* freed with the GTask, after preview_task_done */
  set_busy (state, TRUE, load ? _("Loading the model and classifying...") : _("Explaining..."));
  if (state->pulse_id == 0)
    state->pulse_id = g_timeout_add (100, pulse, state);
  g_task_run_in_thread (gtask, preview_task_run);
  g_object_unref (gtask);
}

static void
cancel_clicked (GtkButton *button, DialogState *state)
{
  /* The running task stops at its next progress report and its result is dropped
   * (state->busy stays TRUE until the thread has returned: a change made meanwhile
   * waits for it). */
  stop_running_task (state);
  state->generation++;
  state->pending = UPDATE_NONE;
  gtk_label_set_text (GTK_LABEL (state->status), "");
  gtk_progress_bar_set_fraction (GTK_PROGRESS_BAR (state->progress), 0.0);
  gtk_widget_set_sensitive (state->cancel, FALSE);
  if (state->pulse_id)
    {
      g_source_remove (state->pulse_id);
      state->pulse_id = 0;
    }
  show_message (state, _("Cancelled. Change a setting to compute the preview again."), FALSE);
}

/* ------------------------------------------------------------------------ */
/* Predictions, lists and preview                                           */
/* ------------------------------------------------------------------------ */

static void
show_predictions (DialogState *state)
{
  const cam_model *model = state_model (state);
  gint             n, order[TOP_N];
  GString         *text;
  GtkTreeIter      iter;
  gboolean         valid;

  if (state->explanation == NULL || model == NULL)
    return;
  n = MIN (TOP_N, state->explanation->n_classes);
  heatmap_top_classes (state->explanation->probabilities, state->explanation->n_classes, order, n);
  text = g_string_new (NULL);
  for (gint k = 0; k < n; k++)
    {
      gchar *label = g_markup_escape_text (class_label_display (model, order[k]), -1);

      g_string_append_printf (text, k ? "\n<tt>%5.1f%%</tt>  %s  (%d)"
                                      : "<tt>%5.1f%%</tt>  <b>%s</b>  (%d)",
                              100.0 * state->explanation->probabilities[order[k]], label,
                              order[k]);
      g_free (label);
    }
  gtk_label_set_markup (GTK_LABEL (state->predictions), text->str);
  g_string_free (text, TRUE);

  /* the probabilities in the class list */
  for (valid = gtk_tree_model_get_iter_first (GTK_TREE_MODEL (state->class_store), &iter);
       valid; valid = gtk_tree_model_iter_next (GTK_TREE_MODEL (state->class_store), &iter))
    {
      gint   index;
      gchar *p;

      gtk_tree_model_get (GTK_TREE_MODEL (state->class_store), &iter, CLASS_COLUMN_INDEX, &index, -1);
      if (index < 0)
        {
          gint top = state->explanation->class_index;

          if (state->settings.class_index >= 0)
            heatmap_top_classes (state->explanation->probabilities,
                                 state->explanation->n_classes, &top, 1);
          p = g_strdup_printf ("%s (%.1f%%)", class_label_display (model, top),
                               100.0 * state->explanation->probabilities[top]);
        }
      else if (index < state->explanation->n_classes)
        p = g_strdup_printf ("%.1f%%", 100.0 * state->explanation->probabilities[index]);
      else
        continue;
      gtk_list_store_set (state->class_store, &iter, CLASS_COLUMN_PROBABILITY, p, -1);
      g_free (p);
    }
}

static void
select_class_row (DialogState *state, gint class_index)
{
  GtkTreeSelection *selection = gtk_tree_view_get_selection (GTK_TREE_VIEW (state->class_view));
  GtkTreeIter       iter;
  gboolean          valid;

  for (valid = gtk_tree_model_get_iter_first (state->class_filter, &iter); valid;
       valid = gtk_tree_model_iter_next (state->class_filter, &iter))
    {
      gint index;

      gtk_tree_model_get (state->class_filter, &iter, CLASS_COLUMN_INDEX, &index, -1);
      if (index == class_index)
        {
          GtkTreePath *path = gtk_tree_model_get_path (state->class_filter, &iter);

          gtk_tree_selection_select_iter (selection, &iter);
          gtk_tree_view_scroll_to_cell (GTK_TREE_VIEW (state->class_view), path, NULL, FALSE, 0, 0);
          gtk_tree_path_free (path);
          return;
        }
    }
  gtk_tree_selection_unselect_all (selection);
}

/* The method list for a model (NULL: none loaded): the methods that cannot explain it
 * greyed out (cam_method_supports_model), "Model default" naming the model's method. */
static void
method_list_for_model (DialogState *state, const cam_model *model)
{
  GtkTreeModel *tree = GTK_TREE_MODEL (state->method_store);
  GtkTreeIter   iter;
  gboolean      valid;

  for (valid = gtk_tree_model_get_iter_first (tree, &iter); valid;
       valid = gtk_tree_model_iter_next (tree, &iter))
    {
      gchar     *id = NULL;
      cam_method method;

      gtk_tree_model_get (tree, &iter, METHOD_COLUMN_ID, &id, -1);
      if (g_strcmp0 (id, "default") == 0)
        {
          gchar *label = model
            /* TRANSLATORS: the first entry of the method list, with the model's method */
            ? g_strdup_printf (_("Model default (%s)"),
                               method_display_name (cam_model_get_info (model)->default_method))
            : g_strdup (_("Model default"));

          gtk_list_store_set (state->method_store, &iter, METHOD_COLUMN_LABEL, label, -1);
          g_free (label);
        }
      else if (cam_method_from_name (id, &method, NULL) == CAM_OK)
        {
          gtk_list_store_set (state->method_store, &iter, METHOD_COLUMN_SENSITIVE,
                              model == NULL || cam_method_supports_model (method, model), -1);
        }
      g_free (id);
    }
}

/* The class list and the layer list of a newly loaded model. */
static void
fill_model_lists (DialogState *state)
{
  const cam_model      *model = state_model (state);
  const cam_model_info *info  = cam_model_get_info (model);
  const char           *automatic = info->default_layer;
  gint                  n_classes = cam_model_n_classes (model);
  gint                  class_index;
  gchar                *layer = NULL, *text;
  gboolean              layer_found = FALSE;
  gdouble               alpha;

  state->updating = TRUE;
  g_object_get (state->config, "class", &class_index, "target-layer", &layer, "alpha", &alpha, NULL);

  gtk_list_store_clear (state->class_store);
  gtk_list_store_insert_with_values (state->class_store, NULL, -1,
                                     CLASS_COLUMN_INDEX, -1,
                                     CLASS_COLUMN_LABEL, _("Top prediction"),
                                     CLASS_COLUMN_PROBABILITY, "", -1);
  for (gint c = 0; c < n_classes; c++)
    {
      gchar *label = g_strdup_printf ("%d  %s", c, class_label_display (model, c));
      gchar *valid = g_utf8_make_valid (label, -1);

      gtk_list_store_insert_with_values (state->class_store, NULL, -1,
                                         CLASS_COLUMN_INDEX, c,
                                         CLASS_COLUMN_LABEL, valid,
                                         CLASS_COLUMN_PROBABILITY, "", -1);
      g_free (valid);
      g_free (label);
    }
  if (class_index >= n_classes)
    {
      class_index = -1;
      g_object_set (state->config, "class", -1, NULL);
    }
  gtk_tree_model_filter_refilter (GTK_TREE_MODEL_FILTER (state->class_filter));
  select_class_row (state, class_index);

  gtk_combo_box_text_remove_all (GTK_COMBO_BOX_TEXT (state->layer_combo));
  /* TRANSLATORS: the first entry of the target layer list, with the layer it picks. */
  text = g_strdup_printf (_("Automatic (%s)"), automatic && *automatic ? automatic : _("none"));
  gtk_combo_box_text_append (GTK_COMBO_BOX_TEXT (state->layer_combo), "", text);
  g_free (text);
  for (gint i = 0; i < cam_model_n_layers (model); i++)
    {
      cam_layer_info li;
      gchar         *valid;

      if (cam_model_get_layer (model, i, &li, NULL) != CAM_OK)
        continue;
      valid = g_utf8_make_valid (li.name, -1);
      /* TRANSLATORS: a target layer: tensor name, op, channels x height x width */
      text = g_strdup_printf (_("%s (%s, %d x %d x %d)"), valid, li.op, li.channels, li.height,
                              li.width);
      gtk_combo_box_text_append (GTK_COMBO_BOX_TEXT (state->layer_combo), li.name, text);
      layer_found |= g_strcmp0 (layer, li.name) == 0;
      g_free (text);
      g_free (valid);
    }
  if (! layer_found && layer && *layer)
    g_object_set (state->config, "target-layer", "", NULL);
  gtk_combo_box_set_active_id (GTK_COMBO_BOX (state->layer_combo),
                               layer_found ? layer : "");
  g_free (layer);

  method_list_for_model (state, model);

  /* TRANSLATORS: the check box beside the alpha slider, with the model's value */
  text = g_strdup_printf (_("Model's default (%.0f%%)"), 100.0 * info->default_alpha);
  gtk_button_set_label (GTK_BUTTON (state->alpha_default), text);
  g_free (text);
  if (alpha < 0.0)
    gtk_range_set_value (GTK_RANGE (state->alpha_scale), 100.0 * info->default_alpha);
  state->updating = FALSE;
}

static void
free_pixels (guchar *pixels, gpointer data)
{
  g_free (pixels);
}

static gboolean
update_preview (DialogState *state, GError **error)
{
  const cam_model   *model = state_model (state);
  cam_render_options options;
  cam_error          err = { 0 };
  cam_image          src, dst;
  guchar            *pixels;
  GdkPixbuf         *pixbuf;
  gchar             *name;

  if (model == NULL || state->explanation == NULL)
    return TRUE;
  if (! plugin_settings_resolve (&state->settings, model, &state->resolved, error))
    return FALSE;
  /* The preview shows how the result looks: the blend, for every output. */
  options = heatmap_render_options (model, &state->resolved, state->explanation->method,
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

  name = heatmap_layer_name (model, state->explanation->method,
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

  state->idle_id = 0;
  if (state->busy)
    return G_SOURCE_REMOVE; /* runs again when the thread is done */
  state->pending = UPDATE_NONE;

  plugin_settings_clear (&state->settings);
  if (! plugin_settings_read (state->config, &state->settings, &error) ||
      ! open_source (state, &error))
    {
      show_message (state, error->message, TRUE);
      g_clear_error (&error);
      return G_SOURCE_REMOVE;
    }
  if (pending >= UPDATE_EXPLAIN || state->explanation == NULL || state->input == NULL)
    {
      start_task (state);
      return G_SOURCE_REMOVE;
    }
  if (! update_preview (state, &error))
    {
      show_message (state, error->message, TRUE);
      g_clear_error (&error);
    }
  else
    show_predictions (state);
  return G_SOURCE_REMOVE;
}

static void
schedule_update (DialogState *state, gint level)
{
  state->pending = MAX (state->pending, level);
  if (state->busy && level >= UPDATE_EXPLAIN)
    {
      /* the running explanation is out of date: stop it, compute the new one after */
      stop_running_task (state);
      state->generation++;
    }
  if (state->idle_id == 0 && ! state->busy)
    state->idle_id = g_idle_add (update_idle, state);
}

/* ------------------------------------------------------------------------ */
/* Widgets -> config                                                        */
/* ------------------------------------------------------------------------ */

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

/* The lists and the alpha widgets follow the config when something else changes it
 * (Reset, Load Saved Settings). */
static void
widgets_from_config (DialogState *state, const gchar *name)
{
  if (state->updating)
    return;
  state->updating = TRUE;
  if (! strcmp (name, "model"))
    {
      gchar *model = NULL;

      g_object_get (state->config, "model", &model, NULL);
      if (model && ! gtk_combo_box_set_active_id (GTK_COMBO_BOX (state->model_combo), model))
        {
          gtk_combo_box_text_prepend (GTK_COMBO_BOX_TEXT (state->model_combo), model, model);
          gtk_combo_box_set_active_id (GTK_COMBO_BOX (state->model_combo), model);
        }
      gtk_widget_set_visible (state->model_file, g_strcmp0 (model, OTHER_FILE) == 0);
      g_free (model);
    }
  else if (! strcmp (name, "class"))
    {
      gint class_index;

      g_object_get (state->config, "class", &class_index, NULL);
      select_class_row (state, class_index);
    }
  else if (! strcmp (name, "target-layer"))
    {
      gchar *layer = NULL;

      g_object_get (state->config, "target-layer", &layer, NULL);
      if (! gtk_combo_box_set_active_id (GTK_COMBO_BOX (state->layer_combo), layer ? layer : ""))
        gtk_combo_box_set_active_id (GTK_COMBO_BOX (state->layer_combo), "");
      g_free (layer);
    }
  else if (! strcmp (name, "method"))
    {
      gchar *method = NULL;

      g_object_get (state->config, "method", &method, NULL);
      if (method)
        gtk_combo_box_set_active_id (GTK_COMBO_BOX (state->method_combo), method);
      g_free (method);
    }
  else if (! strcmp (name, "alpha"))
    {
      gdouble alpha;

      g_object_get (state->config, "alpha", &alpha, NULL);
      gtk_toggle_button_set_active (GTK_TOGGLE_BUTTON (state->alpha_default), alpha < 0.0);
      gtk_widget_set_sensitive (state->alpha_scale, alpha >= 0.0);
      if (alpha >= 0.0)
        gtk_range_set_value (GTK_RANGE (state->alpha_scale), 100.0 * alpha);
    }
  state->updating = FALSE;
}

static void
config_notify (GObject *config, GParamSpec *pspec, DialogState *state)
{
  const gchar *name = g_param_spec_get_name (pspec);

  widgets_from_config (state, name);

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
  else if (! strcmp (name, "method") || ! strcmp (name, "class") || ! strcmp (name, "target-layer") ||
           ! strcmp (name, "eigen-smooth") || ! strcmp (name, "aug-smooth"))
    schedule_update (state, UPDATE_EXPLAIN);
  else
    schedule_update (state, UPDATE_RENDER);
}

static void
model_changed (GtkComboBox *combo, DialogState *state)
{
  const gchar *id = gtk_combo_box_get_active_id (combo);

  gtk_widget_set_visible (state->model_file, g_strcmp0 (id, OTHER_FILE) == 0);
  if (state->updating || id == NULL)
    return;
  /* another model: its own classes and layers */
  g_object_set (state->config, "class", -1, "target-layer", "", "model", id, NULL);
}

static void
class_selection_changed (GtkTreeSelection *selection, DialogState *state)
{
  GtkTreeModel *model;
  GtkTreeIter   iter;
  gint          index, current;

  if (state->updating || ! gtk_tree_selection_get_selected (selection, &model, &iter))
    return;
  gtk_tree_model_get (model, &iter, CLASS_COLUMN_INDEX, &index, -1);
  g_object_get (state->config, "class", &current, NULL);
  if (index != current)
    g_object_set (state->config, "class", index, NULL);
}

/* A row is shown when the search text is part of its label (ignoring case) or is its
 * index; "Top prediction" always. */
static gboolean
class_visible (GtkTreeModel *model, GtkTreeIter *iter, gpointer data)
{
  DialogState *state = data;
  const gchar *search = gtk_entry_get_text (GTK_ENTRY (state->class_search));
  gchar       *label = NULL, *folded_label, *folded_search;
  gint         index;
  gboolean     visible;

  gtk_tree_model_get (model, iter, CLASS_COLUMN_INDEX, &index, CLASS_COLUMN_LABEL, &label, -1);
  if (index < 0 || search == NULL || *search == '\0' || label == NULL)
    {
      g_free (label);
      return TRUE;
    }
  folded_label  = g_utf8_casefold (label, -1);
  folded_search = g_utf8_casefold (search, -1);
  visible = strstr (folded_label, folded_search) != NULL;
  g_free (folded_label);
  g_free (folded_search);
  g_free (label);
  return visible;
}

static void
class_search_changed (GtkSearchEntry *entry, DialogState *state)
{
  gint class_index;

  state->updating = TRUE;
  gtk_tree_model_filter_refilter (GTK_TREE_MODEL_FILTER (state->class_filter));
  g_object_get (state->config, "class", &class_index, NULL);
  select_class_row (state, class_index);
  state->updating = FALSE;
}

static void
layer_changed (GtkComboBox *combo, DialogState *state)
{
  const gchar *id = gtk_combo_box_get_active_id (combo);

  if (! state->updating && id)
    g_object_set (state->config, "target-layer", id, NULL);
}

static void
alpha_changed (GtkWidget *widget, DialogState *state)
{
  gboolean model_default = gtk_toggle_button_get_active (GTK_TOGGLE_BUTTON (state->alpha_default));

  gtk_widget_set_sensitive (state->alpha_scale, ! model_default);
  if (state->updating)
    return;
  g_object_set (state->config, "alpha",
                model_default ? -1.0 : gtk_range_get_value (GTK_RANGE (state->alpha_scale)) / 100.0,
                NULL);
}

static void
method_changed (GtkComboBox *combo, DialogState *state)
{
  const gchar *id = gtk_combo_box_get_active_id (combo);
  GtkTreeIter  iter;
  gchar       *tooltip = NULL;

  if (gtk_combo_box_get_active_iter (combo, &iter))
    gtk_tree_model_get (gtk_combo_box_get_model (combo), &iter, METHOD_COLUMN_TOOLTIP, &tooltip, -1);
  gtk_widget_set_tooltip_text (GTK_WIDGET (combo), tooltip);
  g_free (tooltip);
  if (! state->updating && id)
    g_object_set (state->config, "method-choice", id, "method", id, NULL);
}

/* GtkComboBox has no tooltips for its entries: when the list opens, each menu item
 * (one per row, in order) gets its row's summary. */
static void
method_popup_shown (GObject *combo, GParamSpec *pspec, DialogState *state)
{
  GtkTreeModel *tree = gtk_combo_box_get_model (GTK_COMBO_BOX (combo));
  AtkObject    *accessible;
  GtkWidget    *popup = NULL;
  GtkTreeIter   iter;
  gboolean      shown = FALSE, valid;
  GList        *items;

  g_object_get (combo, "popup-shown", &shown, NULL);
  accessible = shown ? gtk_combo_box_get_popup_accessible (GTK_COMBO_BOX (combo)) : NULL;
  if (GTK_IS_ACCESSIBLE (accessible))
    popup = gtk_accessible_get_widget (GTK_ACCESSIBLE (accessible));
  if (! GTK_IS_MENU (popup))
    return;
  items = gtk_container_get_children (GTK_CONTAINER (popup));
  valid = gtk_tree_model_get_iter_first (tree, &iter);
  for (GList *l = items; l && valid; l = l->next)
    {
      gchar *tooltip = NULL;

      if (! GTK_IS_MENU_ITEM (l->data) || GTK_IS_SEPARATOR_MENU_ITEM (l->data))
        continue;
      gtk_tree_model_get (tree, &iter, METHOD_COLUMN_TOOLTIP, &tooltip, -1);
      gtk_widget_set_tooltip_text (GTK_WIDGET (l->data), tooltip);
      g_free (tooltip);
      valid = gtk_tree_model_iter_next (tree, &iter);
    }
  g_list_free (items);
}

/* The method list: the entries of the "method-choice" argument (plugin_choice_new:
 * "Model default" and every method of the engine's table), label and tooltip. */
static GtkWidget *
method_combo_new (DialogState *state)
{
  GimpChoice      *choice = plugin_choice_new (PLUGIN_CHOICE_METHOD);
  GtkWidget       *combo;
  GtkCellRenderer *cell;
  gchar           *current = NULL;

  state->method_store = gtk_list_store_new (METHOD_N_COLUMNS, G_TYPE_STRING, G_TYPE_STRING,
                                            G_TYPE_STRING, G_TYPE_BOOLEAN);
  for (GList *l = gimp_choice_list_nicks (choice); l; l = l->next)
    gtk_list_store_insert_with_values (state->method_store, NULL, -1,
                                       METHOD_COLUMN_ID, (const gchar *) l->data,
                                       METHOD_COLUMN_LABEL, gimp_choice_get_label (choice, l->data),
                                       METHOD_COLUMN_TOOLTIP, gimp_choice_get_help (choice, l->data),
                                       METHOD_COLUMN_SENSITIVE, TRUE, -1);
  g_object_unref (choice);

  combo = gtk_combo_box_new_with_model (GTK_TREE_MODEL (state->method_store));
  gtk_combo_box_set_id_column (GTK_COMBO_BOX (combo), METHOD_COLUMN_ID);
  cell = gtk_cell_renderer_text_new ();
  gtk_cell_layout_pack_start (GTK_CELL_LAYOUT (combo), cell, TRUE);
  gtk_cell_layout_set_attributes (GTK_CELL_LAYOUT (combo), cell,
                                  "text", METHOD_COLUMN_LABEL,
                                  "sensitive", METHOD_COLUMN_SENSITIVE, NULL);
  g_object_get (state->config, "method", &current, NULL);
  if (! current || ! gtk_combo_box_set_active_id (GTK_COMBO_BOX (combo), current))
    gtk_combo_box_set_active_id (GTK_COMBO_BOX (combo), "default");
  g_free (current);
  return combo;
}

/* label | widget; the label's mnemonic activates target. */
static GtkWidget *
labelled_row (GtkSizeGroup *group, const gchar *mnemonic, GtkWidget *widget, GtkWidget *target)
{
  GtkWidget *row   = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 6);
  GtkWidget *label = gtk_label_new_with_mnemonic (mnemonic);

  gtk_label_set_xalign (GTK_LABEL (label), 0.0);
  gtk_label_set_mnemonic_widget (GTK_LABEL (label), target);
  gtk_size_group_add_widget (group, label);
  gtk_box_pack_start (GTK_BOX (row), label, FALSE, FALSE, 0);
  gtk_box_pack_start (GTK_BOX (row), widget, TRUE, TRUE, 0);
  return row;
}

/* The model list: the catalog (bundled models first), the current value if it is not
 * in it, and "Other file...". */
static GtkWidget *
model_combo_new (DialogState *state)
{
  GtkWidget         *combo   = gtk_combo_box_text_new ();
  cam_model_catalog *catalog = NULL;
  gchar             *current = NULL;
  gboolean           found   = FALSE;
  const gchar *const first[] = { "fashion-mnist", "cifar10" };

  g_object_get (state->config, "model", &current, NULL);
  if (cam_model_catalog_new (&catalog, NULL) == CAM_OK)
    {
      /* two passes: the bundled models, then the others in the catalog's order */
      for (gint pass = 0; pass < 2; pass++)
        for (gint i = 0; i < cam_model_catalog_size (catalog); i++)
          {
            cam_model_entry e;
            gboolean        bundled;
            gchar          *text, *title, *description;

            if (cam_model_catalog_get (catalog, i, &e, NULL) != CAM_OK ||
                ! g_utf8_validate (e.name, -1, NULL) || ! strcmp (e.name, OTHER_FILE))
              continue;
            bundled = ! strcmp (e.name, first[0]) || ! strcmp (e.name, first[1]);
            if (bundled != (pass == 0))
              continue;
            title       = g_utf8_make_valid (e.title, -1);
            description = g_utf8_make_valid (e.description, -1);
            /* the bundled models' descriptions are translated */
            if (! strcmp (e.name, "fashion-mnist"))
              text = g_strdup (_("Fashion-MNIST (clothing, 28x28 gray)"));
            else if (! strcmp (e.name, "cifar10"))
              text = g_strdup (_("CIFAR-10 (objects, 32x32 color)"));
            else if (*description)
              text = g_strdup_printf ("%s \342\200\224 %s", title, description);
            else
              text = g_strdup (title);
            gtk_combo_box_text_append (GTK_COMBO_BOX_TEXT (combo), e.name, text);
            found |= g_strcmp0 (current, e.name) == 0;
            g_free (text);
            g_free (title);
            g_free (description);
          }
      cam_model_catalog_free (catalog);
    }
  if (! found && current && *current && strcmp (current, OTHER_FILE) != 0)
    gtk_combo_box_text_append (GTK_COMBO_BOX_TEXT (combo), current, current);
  gtk_combo_box_text_append (GTK_COMBO_BOX_TEXT (combo), OTHER_FILE, _("Other file..."));
  gtk_combo_box_set_active_id (GTK_COMBO_BOX (combo), current);
  g_free (current);
  return combo;
}

gboolean
heatmap_dialog_run (GimpProcedure *procedure, GimpProcedureConfig *config, GimpImage *image,
                    GimpDrawable *drawable)
{
  DialogState       state = { 0 };
  GtkWidget        *dialog, *content, *columns, *left, *right, *frame, *box, *scrolled, *row;
  GtkSizeGroup     *labels;
  GtkCellRenderer  *cell;
  GtkTreeSelection *selection;
  gboolean          run;
  gulong            handler;
  gdouble           alpha;

  state.config   = config;
  state.image    = image;
  state.drawable = drawable;
  state.link     = g_new0 (DialogLink, 1);
  state.link->state = &state;

  for (gint i = 0; i < PLUGIN_N_CHOICES; i++)
    sync_choice (G_OBJECT (config), (PluginChoice) i, FALSE);
  dialog = gimp_procedure_dialog_new (procedure, config, _("Class Activation Map"));
  state.dialog = dialog;
  content = gtk_dialog_get_content_area (GTK_DIALOG (dialog));
  columns = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 12);
  gtk_container_set_border_width (GTK_CONTAINER (columns), 6);
  gtk_box_pack_start (GTK_BOX (content), columns, TRUE, TRUE, 0);
  left  = gtk_box_new (GTK_ORIENTATION_VERTICAL, 6);
  right = gtk_box_new (GTK_ORIENTATION_VERTICAL, 6);
  gtk_box_pack_start (GTK_BOX (columns), left, TRUE, TRUE, 0);
  gtk_box_pack_start (GTK_BOX (columns), right, FALSE, FALSE, 0);
  labels = gtk_size_group_new (GTK_SIZE_GROUP_HORIZONTAL);

  /* model */
  state.model_combo = model_combo_new (&state);
  gtk_box_pack_start (GTK_BOX (left), labelled_row (labels, _("_Model"), state.model_combo,
                                                    state.model_combo),
                      FALSE, FALSE, 0);
  state.model_file = gimp_procedure_dialog_get_widget (GIMP_PROCEDURE_DIALOG (dialog),
                                                       "model-file", G_TYPE_NONE);
  gtk_box_pack_start (GTK_BOX (left), state.model_file, FALSE, FALSE, 0);
  state.method_combo = method_combo_new (&state);
  gtk_box_pack_start (GTK_BOX (left), labelled_row (labels, _("M_ethod"), state.method_combo,
                                                    state.method_combo),
                      FALSE, FALSE, 0);
  row = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 12);
  gtk_box_pack_start (GTK_BOX (row),
                      gimp_procedure_dialog_get_widget (GIMP_PROCEDURE_DIALOG (dialog),
                                                        "eigen-smooth", G_TYPE_NONE),
                      FALSE, FALSE, 0);
  gtk_box_pack_start (GTK_BOX (row),
                      gimp_procedure_dialog_get_widget (GIMP_PROCEDURE_DIALOG (dialog),
                                                        "aug-smooth", G_TYPE_NONE),
                      FALSE, FALSE, 0);
  gtk_box_pack_start (GTK_BOX (left), row, FALSE, FALSE, 0);

  /* class: search entry above a list */
  state.class_store  = gtk_list_store_new (CLASS_N_COLUMNS, G_TYPE_INT, G_TYPE_STRING, G_TYPE_STRING);
  state.class_filter = gtk_tree_model_filter_new (GTK_TREE_MODEL (state.class_store), NULL);
  gtk_tree_model_filter_set_visible_func (GTK_TREE_MODEL_FILTER (state.class_filter),
                                          class_visible, &state, NULL);
  state.class_search = gtk_search_entry_new ();
  gtk_entry_set_placeholder_text (GTK_ENTRY (state.class_search), _("Search classes"));
  gtk_box_pack_start (GTK_BOX (left), labelled_row (labels, _("_Class"), state.class_search,
                                                    state.class_search),
                      FALSE, FALSE, 0);
  state.class_view = gtk_tree_view_new_with_model (state.class_filter);
  gtk_tree_view_set_headers_visible (GTK_TREE_VIEW (state.class_view), FALSE);
  gtk_tree_view_set_enable_search (GTK_TREE_VIEW (state.class_view), FALSE);
  cell = gtk_cell_renderer_text_new ();
  g_object_set (cell, "ellipsize", PANGO_ELLIPSIZE_END, NULL);
  gtk_tree_view_insert_column_with_attributes (GTK_TREE_VIEW (state.class_view), -1, NULL, cell,
                                               "text", CLASS_COLUMN_LABEL, NULL);
  gtk_tree_view_column_set_expand (gtk_tree_view_get_column (GTK_TREE_VIEW (state.class_view), 0),
                                   TRUE);
  cell = gtk_cell_renderer_text_new ();
  g_object_set (cell, "xalign", 1.0, NULL);
  gtk_tree_view_insert_column_with_attributes (GTK_TREE_VIEW (state.class_view), -1, NULL, cell,
                                               "text", CLASS_COLUMN_PROBABILITY, NULL);
  scrolled = gtk_scrolled_window_new (NULL, NULL);
  gtk_scrolled_window_set_policy (GTK_SCROLLED_WINDOW (scrolled), GTK_POLICY_NEVER,
                                  GTK_POLICY_AUTOMATIC);
  gtk_scrolled_window_set_shadow_type (GTK_SCROLLED_WINDOW (scrolled), GTK_SHADOW_IN);
  gtk_widget_set_size_request (scrolled, -1, 150);
  gtk_container_add (GTK_CONTAINER (scrolled), state.class_view);
  gtk_box_pack_start (GTK_BOX (left), scrolled, TRUE, TRUE, 0);
  selection = gtk_tree_view_get_selection (GTK_TREE_VIEW (state.class_view));
  gtk_tree_selection_set_mode (selection, GTK_SELECTION_SINGLE);

  /* target layer */
  state.layer_combo = gtk_combo_box_text_new ();
  gtk_box_pack_start (GTK_BOX (left), labelled_row (labels, _("_Target layer"), state.layer_combo,
                                                    state.layer_combo),
                      FALSE, FALSE, 0);

  /* alpha */
  g_object_get (config, "alpha", &alpha, NULL);
  row = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 6);
  state.alpha_scale = gtk_scale_new_with_range (GTK_ORIENTATION_HORIZONTAL, 0.0, 100.0, 1.0);
  gtk_scale_set_digits (GTK_SCALE (state.alpha_scale), 0);
  gtk_scale_set_value_pos (GTK_SCALE (state.alpha_scale), GTK_POS_RIGHT);
  gtk_range_set_value (GTK_RANGE (state.alpha_scale), alpha >= 0.0 ? 100.0 * alpha : 50.0);
  state.alpha_default = gtk_check_button_new_with_mnemonic (_("Model's _default"));
  gtk_toggle_button_set_active (GTK_TOGGLE_BUTTON (state.alpha_default), alpha < 0.0);
  gtk_widget_set_sensitive (state.alpha_scale, alpha >= 0.0);
  gtk_box_pack_start (GTK_BOX (row), state.alpha_scale, TRUE, TRUE, 0);
  gtk_box_pack_start (GTK_BOX (row), state.alpha_default, FALSE, FALSE, 0);
  gtk_box_pack_start (GTK_BOX (left),
                      labelled_row (labels, _("_Alpha"), row, state.alpha_scale),
                      FALSE, FALSE, 0);

  gtk_box_pack_start (GTK_BOX (left),
                      gimp_procedure_dialog_get_widget (GIMP_PROCEDURE_DIALOG (dialog),
                                                        "colormap-choice", G_TYPE_NONE),
                      FALSE, FALSE, 0);
  gtk_box_pack_start (GTK_BOX (left),
                      gimp_procedure_dialog_get_widget (GIMP_PROCEDURE_DIALOG (dialog),
                                                        "output-choice", G_TYPE_NONE),
                      FALSE, FALSE, 0);
  gtk_box_pack_start (GTK_BOX (left),
                      gimp_procedure_dialog_get_scale_entry (GIMP_PROCEDURE_DIALOG (dialog),
                                                             "threshold", 1.0),
                      FALSE, FALSE, 0);
  gtk_box_pack_start (GTK_BOX (left),
                      gimp_procedure_dialog_get_widget (GIMP_PROCEDURE_DIALOG (dialog),
                                                        "top-k", G_TYPE_NONE),
                      FALSE, FALSE, 0);
  gtk_box_pack_start (GTK_BOX (left),
                      gimp_procedure_dialog_get_widget (GIMP_PROCEDURE_DIALOG (dialog),
                                                        "sample-merged", G_TYPE_NONE),
                      FALSE, FALSE, 0);

  /* predictions and preview */
  frame = gimp_frame_new (_("Predictions and preview"));
  gtk_box_pack_start (GTK_BOX (right), frame, TRUE, TRUE, 0);
  box = gtk_box_new (GTK_ORIENTATION_VERTICAL, 6);
  gtk_container_add (GTK_CONTAINER (frame), box);
  state.preview = gtk_image_new ();
  gtk_widget_set_size_request (state.preview, PREVIEW_SIZE, PREVIEW_SIZE);
  gtk_box_pack_start (GTK_BOX (box), state.preview, FALSE, FALSE, 0);
  state.predictions = gtk_label_new (_("Classifying..."));
  gtk_label_set_xalign (GTK_LABEL (state.predictions), 0.0);
  gtk_label_set_yalign (GTK_LABEL (state.predictions), 0.0);
  gtk_label_set_line_wrap (GTK_LABEL (state.predictions), TRUE);
  gtk_label_set_max_width_chars (GTK_LABEL (state.predictions), 36);
  gtk_label_set_selectable (GTK_LABEL (state.predictions), TRUE);
  gtk_box_pack_start (GTK_BOX (box), state.predictions, TRUE, TRUE, 0);
  row = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 6);
  state.progress = gtk_progress_bar_new ();
  gtk_widget_set_valign (state.progress, GTK_ALIGN_CENTER);
  state.cancel = gtk_button_new_with_mnemonic (_("Cancel _preview"));
  gtk_box_pack_start (GTK_BOX (row), state.progress, TRUE, TRUE, 0);
  gtk_box_pack_start (GTK_BOX (row), state.cancel, FALSE, FALSE, 0);
  gtk_box_pack_end (GTK_BOX (box), row, FALSE, FALSE, 0);
  state.status = gtk_label_new (NULL);
  gtk_label_set_xalign (GTK_LABEL (state.status), 0.0);
  gtk_label_set_ellipsize (GTK_LABEL (state.status), PANGO_ELLIPSIZE_END);
  gtk_label_set_max_width_chars (GTK_LABEL (state.status), 30);
  gtk_box_pack_end (GTK_BOX (box), state.status, FALSE, FALSE, 0);

  /* the procedure dialog's labels in the same column as ours */
  gtk_size_group_add_widget (labels, gimp_labeled_get_label (GIMP_LABELED (
    gimp_procedure_dialog_get_widget (GIMP_PROCEDURE_DIALOG (dialog), "colormap-choice", G_TYPE_NONE))));
  gtk_size_group_add_widget (labels, gimp_labeled_get_label (GIMP_LABELED (
    gimp_procedure_dialog_get_widget (GIMP_PROCEDURE_DIALOG (dialog), "output-choice", G_TYPE_NONE))));
  gtk_size_group_add_widget (labels, gimp_labeled_get_label (GIMP_LABELED (
    gimp_procedure_dialog_get_scale_entry (GIMP_PROCEDURE_DIALOG (dialog), "threshold", 1.0))));
  gtk_size_group_add_widget (labels, gimp_labeled_get_label (GIMP_LABELED (
    gimp_procedure_dialog_get_widget (GIMP_PROCEDURE_DIALOG (dialog), "top-k", G_TYPE_NONE))));

  gtk_widget_show_all (columns);
  gtk_widget_set_sensitive (state.cancel, FALSE);
  state.updating = TRUE; /* only the file row's visibility: the config keeps its values */
  model_changed (GTK_COMBO_BOX (state.model_combo), &state);
  method_changed (GTK_COMBO_BOX (state.method_combo), &state); /* its tooltip */
  state.updating = FALSE;

  g_signal_connect (state.model_combo, "changed", G_CALLBACK (model_changed), &state);
  g_signal_connect (state.method_combo, "changed", G_CALLBACK (method_changed), &state);
  g_signal_connect (state.method_combo, "notify::popup-shown", G_CALLBACK (method_popup_shown),
                    &state);
  g_signal_connect (selection, "changed", G_CALLBACK (class_selection_changed), &state);
  g_signal_connect (state.class_search, "search-changed", G_CALLBACK (class_search_changed), &state);
  g_signal_connect (state.layer_combo, "changed", G_CALLBACK (layer_changed), &state);
  g_signal_connect (state.alpha_scale, "value-changed", G_CALLBACK (alpha_changed), &state);
  g_signal_connect (state.alpha_default, "toggled", G_CALLBACK (alpha_changed), &state);
  g_signal_connect (state.cancel, "clicked", G_CALLBACK (cancel_clicked), &state);
  handler = g_signal_connect (config, "notify", G_CALLBACK (config_notify), &state);
  schedule_update (&state, UPDATE_MODEL);

  run = gimp_procedure_dialog_run (GIMP_PROCEDURE_DIALOG (dialog));

  g_signal_handler_disconnect (config, handler);
  if (state.idle_id)
    g_source_remove (state.idle_id);
  if (state.pulse_id)
    g_source_remove (state.pulse_id);
  /* A running thread is told to stop (it would compete with the OK's computation) and
   * keeps its own references; its callback finds the link cut. */
  stop_running_task (&state);
  if (state.busy)
    state.link->state = NULL;
  else
    g_free (state.link);
  gtk_widget_destroy (dialog);

  release_model (&state);
  if (state.source_open)
    heatmap_source_close (&state.source);
  g_free (state.pixels.pixels);
  g_free (state.thumbnail);
  g_object_unref (state.class_store);
  g_object_unref (state.method_store);
  g_object_unref (state.class_filter);
  g_object_unref (labels);
  plugin_settings_clear (&state.settings);
  return run;
}
