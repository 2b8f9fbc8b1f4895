/*
 * cam-model.h -- what a loaded cam_model holds (internal).
 *
 * A cam_model is a validated cam_graph (cam-graph.h) plus what the metadata
 * says about it. It is immutable once cam_model_load* returns, so it may be
 * shared by threads.
 */
#ifndef CAM_MODEL_H
#define CAM_MODEL_H

#include "camengine.h"
#include "cam-graph.h"

typedef struct cam_metadata_entry {
    char *key;
    char *value;
} cam_metadata_entry;

struct cam_model {
    cam_graph *graph;
    cam_model_info info;           /* strings point into the fields below */
    char *name;
    char *origin;
    cam_metadata_entry *metadata;  /* metadata_props, in file order */
    int n_metadata;
    char **labels;                 /* n_classes labels */
    int n_classes;
    int *layers;                   /* candidate explanation layers: tensor indices, graph order */
    int n_layers;
    int auto_layer;                /* tensor index, or -1 when there is no candidate */
};

/* The graph of a loaded model (never NULL for a loaded model). */
const cam_graph *cam_model_graph(const cam_model *model);

/* Build a model around a graph (takes ownership of graph and metadata, also on failure).
 * Computes labels, info, layers. */
cam_status cam_model_create(cam_graph *graph, cam_metadata_entry *metadata, int n_metadata,
                            const char *origin, cam_model **out, cam_error *err);

/* cam-layers.c: fill model->layers, model->auto_layer (graph and metadata must be set). */
cam_status cam_model_init_layers(cam_model *model, cam_error *err);
/* cam-layers.c: find the CAM head in a graph (fills graph->cam_head). */
void cam_graph_find_cam_head(cam_graph *graph);

/* cam-onnx.c: parse and validate ONNX bytes into a graph and its metadata_props. */
cam_status cam_onnx_load(const void *data, size_t size, const char *origin, cam_graph **graph_out,
                         cam_metadata_entry **metadata_out, int *n_metadata_out, cam_error *err);

#endif /* CAM_MODEL_H */
