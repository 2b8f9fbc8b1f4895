/*
 * class-labels.c -- display names of classes and methods, translated.
 *
 * Models carry canonical English class labels in their metadata (cam.labels).
 * Return values, JSON and scripts use those; the dialog and layer names show
 * them translated. The bundled models' labels are listed here so that xgettext
 * puts them in po/gimp-cam.pot; any other model's labels are shown as they are.
 *
 * Copyright (C) 2026 the gimp-cam authors. GPL-3.0-or-later.
 */
#include "config.h"

#include <glib/gi18n.h>

#include "gimp-cam.h"

/* The bundled models' canonical labels, for the translation catalog only. */
static const gchar *const bundled_labels[] G_GNUC_UNUSED = {
  /* Fashion-MNIST */
  N_("T-shirt/top"), N_("Trouser"), N_("Pullover"), N_("Dress"), N_("Coat"),
  N_("Sandal"), N_("Shirt"), N_("Sneaker"), N_("Bag"), N_("Ankle boot"),
  /* CIFAR-10 */
  N_("airplane"), N_("automobile"), N_("bird"), N_("cat"), N_("deer"),
  N_("dog"), N_("frog"), N_("horse"), N_("ship"), N_("truck"),
};

const gchar *
class_label_display (const cam_model *model, gint class_index)
{
  const char *label = cam_model_class_label (model, class_index);

  if (label == NULL || *label == '\0')
    return "";
  return _(label);
}

/* The engine's method table has an English display name and summary for every
 * method, marked for xgettext (po/POTFILES.in lists engine/src/methods/registry.c):
 * translated here in the plug-in's domain. */
const gchar *
method_display_name (cam_method method)
{
  const char *name = cam_method_display_name (method);

  if (name == NULL || *name == '\0')
    name = cam_method_name (method); /* NULL out of range */
  return name ? _(name) : "";
}

const gchar *
method_summary_display (cam_method method)
{
  const char *summary = cam_method_summary (method);

  return summary && *summary ? _(summary) : "";
}
