/*
 * cam-cli-metadata.h -- command-line flags that describe a model (preprocessing,
 * labels, defaults), turned into cam.* metadata edits. Shared by cam-model set
 * (written into a copy of the file) and cam-heatmap (applied at load only).
 */
#ifndef CAM_CLI_METADATA_H
#define CAM_CLI_METADATA_H

#include <glib.h>

#include <camengine.h>

/* The flags as given (NULL: not given). */
typedef struct cli_model_flags {
    char *labels, *mean, *std, *scale, *channel_order, *resize, *crop, *resize_policy,
        *interpolation, *background, *layout, *layer, *method, *colormap, *alpha, *threshold,
        *name, *description;
    char **set;    /* KEY=VALUE */
    char **remove; /* KEY */
} cli_model_flags;

/* metadata edits, each with the flag it came from */
typedef struct cli_edits {
    GPtrArray *keys, *values, *flags; /* values may hold NULL (remove) */
} cli_edits;

void cli_edits_init(cli_edits *e);
void cli_edits_clear(cli_edits *e);
int cli_edits_count(const cli_edits *e);

/* GOptionEntry rows for the flags (NULL-terminated, static). with_display adds
 * --layer, --method, --colormap, --alpha, --threshold, --name, --description,
 * --set, --remove (cam-model set); without, only what describes the input and the
 * labels (cam-heatmap has its own --layer, --method, ...). */
GOptionEntry *cli_model_flag_entries(cli_model_flags *f, gboolean with_display);

/* Checks the flags against the model (label count, mean/std count, names of
 * methods, colormaps, ...) and turns them into edits. The error names the flag. */
gboolean cli_model_flags_to_edits(const cli_model_flags *f, const cam_model *model,
                                  cli_edits *edits, GError **error);

/* A message of the engine about edited metadata, with the flag that set the key
 * named in it ("--mean 1,2: metadata 'cam.input.mean' is ..."), g_free it. */
char *cli_edits_describe_error(const cli_edits *edits, const char *message);

#endif /* CAM_CLI_METADATA_H */
