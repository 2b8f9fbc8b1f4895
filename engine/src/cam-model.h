/*
 * cam-model.h -- what a loaded cam_model holds (internal).
 *
 * A cam_model is a typed, optimised graph (graph/cam-graph.h) seen as an image
 * classifier -- one N x C x H x W float input, the logits (and the softmax, if
 * the graph ends with one), the CAM head if there is one, the layers one can
 * explain -- plus what the metadata says. It is immutable once cam_model_load*
 * returns, so it may be shared by threads.
 */
#ifndef CAM_MODEL_H
#define CAM_MODEL_H

#include "camengine.h"
#include "graph/cam-graph.h"
#include "onnx/cam-onnx.h"

/* The Zhou et al. structure: feature map A (1 x K x H x W) -> global average pool
 * -> (reshapes) -> dense -> logits. logit_c = sum_k W[k,c] mean(A_k) + b_c, and the
 * class activation map is cam_c = sum_k W[k,c] A_k. */
typedef struct cam_cam_head {
    int present;
    int feature_tensor;   /* A */
    int n_channels;       /* K */
    float *weight;        /* [n_classes][K] (owned): W[k,c] = weight[c * K + k] */
} cam_cam_head;

/* An explainable tensor: 1 x C x H x W, or the tokens of a vision transformer
 * 1 x (1 + g*g) x C, explained as a g x g grid without the class token. */
typedef struct cam_layer {
    int tensor;
    int tokens;           /* 1 for a token tensor */
    int channels, height, width;
} cam_layer;

struct cam_model {
    cam_graph *graph;
    int input;            /* the image input tensor (1 x C x H x W) */
    int channels, height, width;
    int output;           /* the graph output used (its first) */
    int logits;           /* the pre-softmax scores */
    int probabilities;    /* the softmax output, or -1 */
    cam_cam_head cam_head;

    cam_model_info info;           /* strings point into the fields below */
    char *name;
    char *origin;
    char *input_notice;            /* cam_model_info.input_notice when not "" */
    cam_metadata_entry *metadata;  /* metadata_props, in file order */
    int n_metadata;
    char **labels;                 /* n_classes labels */
    int n_classes;
    cam_layer *layers;             /* explainable tensors, run order */
    int n_layers;
    int auto_layer;                /* index into layers, or -1 */
};

/* Can tensor t be explained (a 1 x C x H x W or token tensor from which a
 * gradient reaches the logits)? Fills *out. Every listed layer can; so can a
 * few tensors the list leaves out (a Conv's output whose Relu is computed with it). */
int cam_model_layer_of(const cam_model *model, int t, cam_layer *out);

/* cam-layers.c: input, logits, softmax, CAM head, layers and the automatic layer
 * of a typed graph (model->graph set). */
cam_status cam_model_init_structure(cam_model *model, cam_error *err);

/* cam-model.c: a model file's bytes (malloc'ed), refusing folders and files over
 * 2 GiB; errors name the path. */
cam_status cam_model_read_file(const char *path, unsigned char **data_out, size_t *size_out,
                               cam_error *err);

/* cam-model-search.c: is this code running from the build tree (the library or the
 * executable inside it)? Then data files are also looked for in the source tree. */
int cam_running_uninstalled(void);

/* cam-model-search.c: the folders a model name is looked up in, in cam_model_find's
 * order (malloc'ed strings; free with cam_model_search_dirs_free). */
cam_status cam_model_search_dirs(char ***dirs_out, int *n_out, cam_error *err);
void cam_model_search_dirs_free(char **dirs, int n);

#endif /* CAM_MODEL_H */
