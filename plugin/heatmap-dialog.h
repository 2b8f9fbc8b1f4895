/*
 * heatmap-dialog.h -- the interactive dialog: the procedure's arguments
 * (GimpProcedureDialog), the top-5 predictions for the current layer, and a live
 * preview of the result that follows model, method, class, colormap and alpha.
 *
 * Copyright (C) 2026 the gimp-cam authors. GPL-3.0-or-later.
 */
#ifndef HEATMAP_DIALOG_H
#define HEATMAP_DIALOG_H

#include "gimp-cam.h"

/* TRUE when the user pressed OK (config then holds the chosen values). */
gboolean heatmap_dialog_run (GimpProcedure *procedure, GimpProcedureConfig *config,
                             GimpImage *image, GimpDrawable *drawable);

#endif /* HEATMAP_DIALOG_H */
