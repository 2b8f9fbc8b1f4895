/*
 * camengine.h -- class activation maps for image classifiers, in plain C.
 *
 * libcamengine loads an image classifier from an ONNX file (a convolutional
 * network or a vision transformer: ResNet, MobileNet, EfficientNet, DenseNet,
 * VGG, ViT, ...), runs it on an image, and explains the prediction with a class
 * activation map: which parts of the image made the network choose a class. It has no GIMP, GTK or Python
 * dependency (only OpenBLAS and protobuf-c) and is used by the GIMP plug-in, by
 * the cam-heatmap tool and by any C program (pkg-config camengine).
 *
 * THE FLOW
 *
 *     cam_model *model;
 *     cam_error err;
 *     if (cam_model_load("cifar10", &model, &err) != CAM_OK)        // name or path
 *         fprintf(stderr, "%s\n", err.message);
 *     cam_workspace *ws;
 *     cam_workspace_new(model, 1, &ws, &err);                        // one per thread
 *     float *input = malloc(cam_model_input_size(model) * sizeof *input);
 *     cam_preprocess(model, &image, NULL, input, NULL, &err);        // see camengine-render.h
 *     cam_explain_options opt = cam_explain_options_default(model);  // then set fields
 *     cam_explanation *ex;
 *     cam_explain(ws, input, &opt, &ex, &err);                       // forward + map
 *     ... ex->class_index, ex->probability, ex->layer,
 *         ex->map (ex->map_height x ex->map_width) ...
 *     cam_renderer_new(ex->map, ...), cam_render_*(...)              // see camengine-render.h
 *     cam_explanation_free(ex);
 *     cam_workspace_free(ws);
 *     cam_model_free(model);
 *
 * CONVENTIONS
 *  - Every symbol starts with cam_ / CAM_. Types are opaque unless documented.
 *  - Tensors are float32, NCHW, row-major. An "image" given to the network is its
 *    preprocessed input tensor (C x H x W per image).
 *  - Errors are values. Functions that can fail return cam_status and take a
 *    cam_error * (may be NULL) that receives a message naming the file, node,
 *    tensor or argument at fault. The library never prints, exits or aborts on bad
 *    input; out-of-memory is reported as CAM_ERROR_NO_MEMORY.
 *  - Objects: every function that makes one returns cam_status and stores it
 *    through its `T **out` argument (set to NULL on failure): cam_model_load,
 *    cam_workspace_new, cam_explain, cam_renderer_new. Each has a free function
 *    (cam_model_free, ...) that accepts NULL.
 *  - Options structs (cam_explain_options, cam_preprocess_options,
 *    cam_render_options) start with `size_t size`. Get one from its initialiser
 *    (cam_explain_options_default(), ...), which sets size and every default,
 *    then set the fields you need; never build one with `= {0}` or positional
 *    initialisers. A function given a struct whose size is below the sizeof this
 *    library was built with refuses it with CAM_ERROR_INVALID_ARGUMENT naming the
 *    struct and its initialiser; a larger size (a newer header) is accepted and
 *    the fields this library does not know are ignored. Fields are only ever
 *    added at the end. NULL options always means the defaults.
 *  - Results the library allocates (cam_explanation) are read through the pointer
 *    it returns and freed with their free function. They may grow at the end in
 *    later versions: never allocate, copy or embed one yourself.
 *  - Enum names: cam_X_name(value) returns the canonical lower-case name (a
 *    static string), or NULL for a value out of range. cam_X_from_name(name,
 *    &value, err) ignores ASCII case; a NULL argument is
 *    CAM_ERROR_INVALID_ARGUMENT, an unknown name CAM_ERROR_NOT_FOUND with a
 *    message listing the known names (value is then left unchanged).
 *  - Threads: a loaded cam_model is read-only and may be shared by any number of
 *    threads; each thread uses its own cam_workspace. Results are bit-identical
 *    whatever the number of threads or the composition of a batch.
 *    OpenBLAS thread policy: see cam_set_blas_threads().
 *
 * MODEL METADATA (ONNX metadata_props; every key optional; a value that cannot be
 * used, e.g. an alpha of 1.5 or a label count that differs from the classes, makes
 * the load fail with CAM_ERROR_INVALID_MODEL naming the key)
 *  cam.name                short model name                       "fashion-mnist"
 *  cam.description         one line shown to users
 *  cam.labels              class labels, one per line ('\n')       "T-shirt/top\nTrouser\n..."
 *  cam.input.scale         factor from 0..255 pixels to input     "0.00392156862745098" (1/255)
 *  cam.input.mean          per-channel mean after scaling         "0.0" or "0.49,0.48,0.45"
 *                          (one value for all channels, or one per channel)
 *  cam.input.std           per-channel std after mean             "1.0"
 *  cam.input.background    training background: none|black|white  "black"
 *  cam.input.description   free text ("28x28 grayscale, light object on black")
 *  cam.input.channel-order rgb|bgr: the order of the input's 3 channels (Caffe-   "bgr"
 *                          converted models want BGR); mean and std are given
 *                          in this order too (default rgb)
 *  cam.input.resize-policy how an image is fitted to the input:           "crop"
 *                          stretch|crop|pad (default stretch; see
 *                          cam_preprocess in camengine-render.h)
 *  cam.input.resize        for crop: the shorter side the image is resized to  "256"
 *                          before the centre crop to the input size, as
 *                          torchvision's Resize(256) + CenterCrop(224); at least
 *                          the input's height and width; needs resize-policy
 *                          crop (default: none, the largest centred rectangle
 *                          of the input's aspect)
 *  cam.input.crop          the centre crop, "224" or "HxW": only checked      "224"
 *                          against the input size (torchvision's crop_size)
 *  cam.input.interpolation area|bilinear|bicubic (default area; see          "bilinear"
 *                          cam_resample)
 *  cam.input.layout        nchw|nhwc. An N x H x W x C input read only by a
 *                          Transpose to NCHW is recognised without it (see
 *                          cam_model_load); nhwc also takes an NHWC input that
 *                          other nodes read first (TensorFlow models normalising
 *                          in NHWC): a Transpose NCHW -> NHWC is put in front,
 *                          so images are still given as NCHW. nhwc on an input
 *                          whose last dimension is not 1 or 3, or nchw on an
 *                          input recognised as NHWC, fails the load
 *  cam.default.method      cam|grad-cam|grad-cam-tutorial
 *  cam.default.layer       tensor name of the default explanation layer
 *  cam.display.alpha       heatmap opacity 0..1                    "0.5"
 *  cam.display.colormap    colormap name, or "greens-reds"         "jet"
 *  cam.display.threshold   probability threshold of greens-reds   "0.95"
 *  cam.provenance.*        free text (dataset checksum, epochs, accuracy, command)
 *  Without cam.input.scale, mean and std the input is assumed to be pixels / 255,
 *  RGB, stretched (cam_model_info.input_assumed and .input_notice say so). The
 *  cam-model tool writes these keys into a copy of any ONNX file
 *  (cam_model_file_set_metadata); weights/import-torchvision.py writes them for
 *  torchvision's classifiers.
 *  Unknown keys are kept and readable with cam_model_get_metadata().
 */
#ifndef CAMENGINE_H
#define CAMENGINE_H

#include <stddef.h>
#include <stdint.h>

#include "camengine-version.h"

#ifdef __cplusplus
extern "C" {
#endif

#if defined(CAM_STATIC)
#define CAM_API
#elif defined(CAM_BUILDING_LIBRARY)
#define CAM_API __attribute__((visibility("default")))
#else
#define CAM_API
#endif

/* ------------------------------------------------------------------------ */
/* Errors                                                                   */
/* ------------------------------------------------------------------------ */

typedef enum cam_status {
    CAM_OK = 0,
    CAM_ERROR_IO,               /* a file could not be opened or read */
    CAM_ERROR_PARSE,            /* a file is not valid ONNX / protobuf */
    CAM_ERROR_INVALID_MODEL,    /* the graph is inconsistent (shapes, missing tensors, cycles, NaN weights) */
    CAM_ERROR_UNSUPPORTED,      /* an op, attribute or data type the engine does not implement */
    CAM_ERROR_INVALID_ARGUMENT, /* a bad argument from the caller (names the argument) */
    CAM_ERROR_NOT_FOUND,        /* a model, class label or layer name that does not exist */
    CAM_ERROR_NO_MEMORY,        /* an allocation failed */
    CAM_ERROR_NUMERIC,          /* NaN or Inf where a finite value is required */
    CAM_STATUS_COUNT
} cam_status;

#define CAM_ERROR_MESSAGE_SIZE 512

typedef struct cam_error {
    cam_status status;
    /* One line of valid UTF-8, no trailing newline. Names and values quoted from a
     * model file are shown as they are when they are valid UTF-8; a byte that is not
     * part of a valid UTF-8 sequence, or a control character, appears as \xNN. */
    char message[CAM_ERROR_MESSAGE_SIZE];
} cam_error;

/* A short lower-case name for a status (CAM_ERROR_PARSE -> "parse error"),
 * NULL for a value out of range. */
CAM_API const char *cam_status_name(cam_status status);

/* Library version at run time (compare with CAM_VERSION_* from the header). */
CAM_API const char *cam_version_string(void);

/* ------------------------------------------------------------------------ */
/* Models                                                                   */
/* ------------------------------------------------------------------------ */

typedef struct cam_model cam_model; /* opaque, read-only once loaded */

/* Where the input came from when the network was trained: what a missing
 * (transparent) part of an image should be composited onto. */
typedef enum cam_background {
    CAM_BACKGROUND_NONE = 0, /* natural images; alpha composited onto black */
    CAM_BACKGROUND_BLACK,    /* light objects on black (Fashion-MNIST) */
    CAM_BACKGROUND_WHITE,    /* dark objects on white */
    CAM_BACKGROUND_COUNT
} cam_background;

/* The order of the 3 channels of an RGB model's input. */
typedef enum cam_channel_order {
    CAM_CHANNEL_ORDER_RGB = 0,
    CAM_CHANNEL_ORDER_BGR,       /* Caffe-converted models */
    CAM_CHANNEL_ORDER_COUNT
} cam_channel_order;

/* Names: "rgb", "bgr" (see CONVENTIONS). */
CAM_API const char *cam_channel_order_name(cam_channel_order order);
CAM_API cam_status cam_channel_order_from_name(const char *name, cam_channel_order *out,
                                               cam_error *err);

/* How an image is fitted to the model's input (cam_preprocess, camengine-render.h). */
typedef enum cam_aspect {
    CAM_ASPECT_STRETCH = 0, /* resize the whole image to the input, ignoring aspect (tutorials) */
    CAM_ASPECT_CROP,        /* centre crop to the input's aspect (after resizing the shorter side
                               to cam_model_info.resize_size when the model sets one), then resize */
    CAM_ASPECT_PAD,         /* fit inside the input, fill the rest with the background (letterbox) */
    CAM_ASPECT_COUNT
} cam_aspect;

/* The resampling filter of preprocessing (image -> input size). */
typedef enum cam_resample {
    CAM_RESAMPLE_AREA = 0,  /* area averaging when an axis shrinks (OpenCV INTER_AREA, PIL BOX),
                               bilinear when it grows (the bundled models' training pipeline) */
    CAM_RESAMPLE_BILINEAR,  /* torchvision.transforms.v2.functional.resize of a float tensor,
                               InterpolationMode.BILINEAR, antialias=True (triangle filter
                               widened by the scale when shrinking, as PIL's bilinear) */
    CAM_RESAMPLE_BICUBIC,   /* the same with InterpolationMode.BICUBIC (cubic a = -0.5) */
    CAM_RESAMPLE_COUNT
} cam_resample;

/* Names: "area", "bilinear", "bicubic" (see CONVENTIONS). */
CAM_API const char *cam_resample_name(cam_resample resample);
CAM_API cam_status cam_resample_from_name(const char *name, cam_resample *out, cam_error *err);

/* Bits of cam_model_info.input_assumed: what the metadata did not say. */
enum {
    CAM_ASSUMED_SCALE = 1 << 0,         /* no cam.input.scale: 1/255 */
    CAM_ASSUMED_MEAN_STD = 1 << 1,      /* no cam.input.mean nor cam.input.std: 0 and 1 */
    CAM_ASSUMED_CHANNEL_ORDER = 1 << 2, /* no cam.input.channel-order (3-channel input): rgb */
    CAM_ASSUMED_RESIZE_POLICY = 1 << 3, /* no cam.input.resize-policy: stretch */
};

typedef enum cam_method {
    CAM_METHOD_CAM = 0,          /* Zhou et al. 2016: sum_k W[k,c] A_k (needs conv -> GAP -> dense) */
    CAM_METHOD_GRAD_CAM,         /* Selvaraju et al. 2017: ReLU(sum_k mean(dy_c/dA_k) A_k), y_c = logit */
    CAM_METHOD_GRAD_CAM_TUTORIAL,/* the Keras tutorial: y_c = softmax probability, starts from ones, no ReLU
                                    (the ReLU is applied after upsampling by the renderer; see cam_explain) */
    CAM_METHOD_COUNT
} cam_method;

/* Names: "cam", "grad-cam", "grad-cam-tutorial" (see CONVENTIONS: NULL out of
 * range; from_name ignores case). */
CAM_API const char *cam_method_name(cam_method method);
CAM_API cam_status cam_method_from_name(const char *name, cam_method *out, cam_error *err);

/* Load a model by short name ("fashion-mnist", "cifar10") or by path to an .onnx
 * file (anything containing '/' or ending in ".onnx" is a path, used as is).
 * A name is looked up as "<dir>/<name>.onnx" in these folders, in this order:
 *   1. the installed data dir, <prefix>/share/gimp-cam/models;
 *   2. when the library runs uninstalled (from its build tree): the build tree's
 *      weights/, then the source tree's weights/;
 *   3. the per-user data dir, ($XDG_DATA_HOME or ~/.local/share)/gimp-cam/models;
 *   4. every folder of $CAM_MODEL_PATH (':'-separated), left to right.
 * The first match wins; CAM_ERROR_NOT_FOUND lists every folder searched.
 *
 * WHAT LOADS. Any ONNX graph (opsets 7 to 22, float32 weights stored in the file)
 * with one image input N x C x H x W (N = 1 or symbolic; C, H, W fixed; an
 * N x H x W x C input read through a Transpose to NCHW, as TensorFlow converters
 * write it, is taken in its NCHW form) whose
 * first output is the class scores, N x classes (the logits, or the probabilities
 * of a final Softmax, whose input is then taken as the logits). Branches, residual
 * connections, concatenations, attention and shape computations are fine: at load
 * the graph is typed for the input size, shape subgraphs of dynamic-batch exports
 * (Shape, Gather, Concat, ...) are computed once and folded to constants, and
 * BatchNormalization is folded into the Conv before it. The ops (each with its
 * forward pass and its gradient with respect to its inputs; ONNX's own node tests
 * are the reference, docs/CONFORMANCE.md):
 *   Conv (groups, depthwise, dilations, strides, pads, auto_pad), MaxPool,
 *   AveragePool, GlobalAveragePool, GlobalMaxPool, LRN, BatchNormalization,
 *   LayerNormalization, Relu, LeakyRelu, PRelu, Clip, Sigmoid, HardSigmoid,
 *   HardSwish, Tanh, Erf, Sqrt, Exp, Log, Neg, Abs, Reciprocal, Add, Sub, Mul,
 *   Div, Pow, Mod (numpy broadcasting), Softmax, LogSoftmax, ReduceMean, ReduceSum,
 *   ReduceMax, ReduceMin, ReduceL1, ReduceL2, ReduceSumSquare, Gemm, MatMul
 *   (batched), Concat, Split, Slice, Gather, Expand, Pad (constant), Transpose,
 *   Reshape, Flatten, Squeeze, Unsqueeze, Identity, Dropout (inference), Constant,
 *   Shape, Size, ConstantOfShape, Range, Cast, Equal, Where, Not.
 * Refused at load, with a message naming the file and the node, op, attribute or
 * tensor at fault: any other op (or an op of another domain), an attribute value
 * that is not implemented (Pad's reflect mode, training-mode BatchNormalization,
 * ...), weights that are not finite float32, external data files, values other
 * than float32 computed from the image at run time, inconsistent shapes, cycles,
 * several image inputs. */
CAM_API cam_status cam_model_load(const char *name_or_path, cam_model **out, cam_error *err);
/* Load from bytes already in memory; `origin` names them in error messages. */
CAM_API cam_status cam_model_load_memory(const void *data, size_t size, const char *origin,
                                         cam_model **out, cam_error *err);
/* Load with metadata overridden, as if the file's metadata_props said so (the
 * file is not touched): for each i < n, key keys[i] set to values[i], or removed
 * when values[i] is NULL. Command-line flags use it (cam-heatmap --labels, --mean,
 * ...). Values are checked as at any load (CAM_ERROR_INVALID_MODEL naming the key). */
CAM_API cam_status cam_model_load_with_metadata(const char *name_or_path,
                                                const char *const *keys,
                                                const char *const *values, int n,
                                                cam_model **out, cam_error *err);
/* Resolve a name to the path cam_model_load would open (malloc'ed; free()). */
CAM_API cam_status cam_model_find(const char *name_or_path, char **path_out, cam_error *err);
CAM_API void cam_model_free(cam_model *model);

/* Input tensor shape for one image: channels x height x width. */
CAM_API int cam_model_input_channels(const cam_model *model);
CAM_API int cam_model_input_height(const cam_model *model);
CAM_API int cam_model_input_width(const cam_model *model);
/* channels * height * width */
CAM_API size_t cam_model_input_size(const cam_model *model);

/* Classes: labels from metadata ("cam.labels": exactly one non-empty label per
 * class, else the load fails), else "class N". NULL for an index out of range. */
CAM_API int cam_model_n_classes(const cam_model *model);
CAM_API const char *cam_model_class_label(const cam_model *model, int class_index);
/* Class index from a canonical label ("Sneaker", exact match first), an index
 * string ("3"), or a label ignoring ASCII case ("sneaker"); CAM_ERROR_NOT_FOUND
 * names the label (or the index that is out of range). */
CAM_API cam_status cam_model_find_class(const cam_model *model, const char *index_or_label,
                                        int *class_index, cam_error *err);

/* Class labels for a model's metadata (cam.labels) from `name_or_path`: a text
 * file with one label per line (UTF-8; \n or \r\n line ends, a final newline
 * allowed, no empty line), or the name of a set shipped with gimp-cam:
 * "imagenet", the 1000 ImageNet-1k classes in torchvision's order
 * (<datadir>/gimp-cam/labels/imagenet.txt). A name without '/' that is not an
 * existing file is taken as a set's name. Stores the labels joined by '\n'
 * (malloc'ed; free()) and their count. Errors name the file and the line. */
CAM_API cam_status cam_labels_read(const char *name_or_path, char **labels_out, int *count_out,
                                   cam_error *err);

/* Everything the metadata says (or the defaults). Strings live as long as the model. */
typedef struct cam_model_info {
    const char *name;            /* "fashion-mnist"; metadata "cam.name", else file name stem */
    const char *description;     /* "cam.description", else "" */
    const char *origin;          /* path or origin given at load time */
    /* input description */
    float input_scale;           /* pixel in [0,255] -> pixel * input_scale; "cam.input.scale" (default 1/255) */
    float input_mean[4];         /* per channel, subtracted after scaling; "cam.input.mean" (default 0) */
    float input_std[4];          /* per channel, divided after mean; "cam.input.std" (default 1) */
    cam_background background;   /* "cam.input.background": "none" | "black" | "white" */
    /* explanation defaults */
    cam_method default_method;   /* "cam.default.method" (default: cam when the model has the
                                    CAM structure, else grad-cam) */
    const char *default_layer;   /* "cam.default.layer" (any C x H x W activation of the graph;
                                    default: cam_model_auto_layer, or "" if the model has none) */
    float default_alpha;         /* "cam.display.alpha" (default 0.5) */
    const char *default_colormap;/* "cam.display.colormap": a colormap name or "greens-reds" (default "jet") */
    float colormap_threshold;    /* "cam.display.threshold" for greens-reds (default 0.95) */
    /* input description, continued (fields are only ever added here, at the end) */
    cam_channel_order channel_order; /* "cam.input.channel-order" (default rgb) */
    cam_aspect resize_policy;    /* "cam.input.resize-policy" (default stretch) */
    int resize_size;             /* "cam.input.resize": the shorter side before a centre crop,
                                    0 = none (crop the largest centred rectangle) */
    cam_resample interpolation;  /* "cam.input.interpolation" (default area) */
    unsigned input_assumed;      /* CAM_ASSUMED_* bits: 0 when the metadata describes the
                                    input (scale, mean/std, channel order, resize policy) */
    const char *input_notice;    /* "" when the metadata has any cam.input.scale, mean or std
                                    key, else one line saying what was assumed ("no
                                    preprocessing metadata: assumed ..."), for programs to
                                    show once */
    int input_nhwc;              /* 1 when the graph's input is N x H x W x C, read through
                                    its Transpose ("cam.input.layout" may say nhwc) */
    const char *input_name;      /* the graph's image input, as named in the file */
    const char *output_name;     /* the graph output used (its first): the class scores */
    const char *logits_name;     /* the logits (the Softmax's input when the graph ends
                                    with one, else output_name) */
} cam_model_info;

CAM_API const cam_model_info *cam_model_get_info(const cam_model *model);
/* Any metadata_props value by key, or NULL (the first entry when a key repeats). */
CAM_API const char *cam_model_get_metadata(const cam_model *model, const char *key);
/* The metadata_props entries in file order: their number, and the key of entry
 * `index` (NULL out of range). */
CAM_API int cam_model_n_metadata(const cam_model *model);
CAM_API const char *cam_model_metadata_key(const cam_model *model, int index);

/* Explanation layers: the tensors a map can be computed on, in run order: every
 * tensor computed from the image from which a gradient reaches the logits and
 * that is 1 x C x H x W with H * W > 1 (conv activations, pooling and
 * normalisation outputs, residual sums, ...), or 1 x (1 + g*g) x C, the tokens of
 * a vision transformer, explained as a g x g grid after dropping the class token
 * (as pytorch-grad-cam's vit_reshape_transform). A Conv's output whose Relu is
 * computed in the same pass is not listed (its Relu's output is, as Keras shows
 * conv layers with their activation), but may still be named explicitly. */
typedef struct cam_layer_info {
    const char *name;  /* tensor name as in the ONNX graph */
    const char *op;    /* op that produces it ("Relu", "Conv", ...) */
    int channels, height, width;
} cam_layer_info;

CAM_API int cam_model_n_layers(const cam_model *model);
CAM_API cam_status cam_model_get_layer(const cam_model *model, int index, cam_layer_info *out,
                                       cam_error *err);
/* The automatic layer: the last layer that every path from the input to the
 * logits passes through (for a ResNet the output of the last block, not a tensor
 * inside a residual branch) and on which Grad-CAM is not identically zero (for a
 * vision transformer the tokens after the last attention carry no gradient to
 * the patches, which leaves the last block's first LayerNorm output, as
 * pytorch-grad-cam recommends; checked with one forward and backward pass at load
 * for token tensors). NULL when the model has no layer. */
CAM_API const char *cam_model_auto_layer(const cam_model *model);
/* Does the model have the CAM structure: a 1 x K x H x W tensor A ->
 * GlobalAveragePool / ReduceMean over H,W -> (reshapes) -> Gemm / MatMul(+Add) with
 * constant weights -> logits (-> Softmax)? Then the map of class c is
 * sum_k W[k,c] A_k over A's channels k. */
CAM_API int cam_model_supports_cam(const cam_model *model);

/* ------------------------------------------------------------------------ */
/* Model files: writing gimp-cam's metadata into any ONNX file              */
/* ------------------------------------------------------------------------ */

/* The ONNX bytes `data` with ModelProto.metadata_props edited at the protobuf
 * wire level: for each i < n, the entry with key keys[i] gets values[i] (NULL:
 * the entry is removed; the last edit of a key wins). Every other byte of the
 * file is kept as it is and in its order (graph, weights, opsets, unknown
 * fields); the entries of other keys are kept too; an edited key's entry takes
 * the place of its first old entry (later duplicates are dropped), a new key is
 * appended at the end. Stores a malloc'ed buffer in *out (free() it) and its
 * size in *out_size. Errors: bytes that are not well-formed protobuf
 * (CAM_ERROR_PARSE, naming `origin`), a NULL or empty key
 * (CAM_ERROR_INVALID_ARGUMENT). Values are not checked here (see below). */
CAM_API cam_status cam_model_edit_metadata(const void *data, size_t size, const char *origin,
                                           const char *const *keys,
                                           const char *const *values, int n, void **out,
                                           size_t *out_size, cam_error *err);

/* Writes the ONNX file `path` to `out_path` (which may be `path`) with its
 * metadata edited as cam_model_edit_metadata. The result is loaded first, so a
 * value the loader refuses (an unknown colormap, a layer one cannot explain, a
 * mean with the wrong number of channels, labels that do not match the classes:
 * CAM_ERROR_INVALID_MODEL naming the key) leaves out_path untouched. The file is
 * written to a temporary file in out_path's folder and renamed over out_path
 * only when complete (mode: out_path's if it exists, else path's): never half a
 * file. I/O errors name the file. */
CAM_API cam_status cam_model_file_set_metadata(const char *path, const char *out_path,
                                               const char *const *keys,
                                               const char *const *values, int n,
                                               cam_error *err);

/* ------------------------------------------------------------------------ */
/* Inference                                                                */
/* ------------------------------------------------------------------------ */

typedef struct cam_workspace cam_workspace; /* per-thread scratch memory */

/* A workspace for batches of up to max_batch images: the activations of the
 * network for max_batch images (the outputs of reshaping ops share their input's
 * memory), one image's gradients and the ops' scratch, allocated once here
 * (cam_forward, cam_backward and cam_explain then allocate nothing but the
 * explanation they return, and the gradient memory, sized by the first
 * backward pass to each tensor). It keeps EVERY activation of the last
 * cam_forward, so cam_backward and cam_get_tensor work on any tensor: about
 * max_batch x (sum of the activation sizes) floats: 1.3 MB per image for
 * CIFAR-10, 0.2 MB for Fashion-MNIST, 24 MB for ResNet-18 and 106 MB for
 * ResNet-50 at 224x224. Gradients reuse memory by liveness: a tensor's gradient
 * is freed for others once the node that computed the tensor has used it.
 * The model must outlive the workspace. Stores it in *out (NULL on failure:
 * a NULL model or out, max_batch outside 1..1<<20, CAM_ERROR_INVALID_ARGUMENT;
 * out of memory, CAM_ERROR_NO_MEMORY); free it with cam_workspace_free. */
CAM_API cam_status cam_workspace_new(const cam_model *model, int max_batch, cam_workspace **out,
                                     cam_error *err);

/* A workspace that keeps only what explaining some layers needs, and reuses the
 * memory of every other activation as soon as the forward pass has no further
 * use for it (activations planned by liveness). Kept after cam_forward: the
 * logits and probabilities, the layers listed (a NULL-terminated list of tensor
 * names; NULL = none), the model's default layer (cam_model_info.default_layer)
 * and the CAM feature tensor, and every activation a backward pass from the
 * logits to one of those needs. So cam_explain works with its default layer,
 * with CAM, and with any listed layer; cam_backward works on those layers and on
 * the tensors between them and the logits; cam_get_tensor on the kept tensors.
 * Results are bit-identical to those of cam_workspace_new. A backward pass (or
 * Grad-CAM) to a tensor that is not kept is refused with
 * CAM_ERROR_INVALID_ARGUMENT naming it; an unknown name in layers is
 * CAM_ERROR_NOT_FOUND. cam_get_tensor of a tensor that is not kept
 * (cam_workspace_keeps_tensor) is CAM_ERROR_INVALID_ARGUMENT too: its memory
 * holds other values after the forward. For ResNet-50 at 224x224 the activations of one image take
 * about 10 MB instead of 106 MB (ResNet-18: 7 MB instead of 24 MB).
 * Stores it in *out (NULL on failure, as cam_workspace_new). */
CAM_API cam_status cam_workspace_new_for_layers(const cam_model *model, int max_batch,
                                                const char *const *layers, cam_workspace **out,
                                                cam_error *err);
CAM_API void cam_workspace_free(cam_workspace *ws);
/* 1 when the workspace keeps the tensor's values of the last cam_forward, so
 * that cam_get_tensor may read it (every run-time tensor, for a workspace from
 * cam_workspace_new), 0 otherwise (also for NULL arguments and unknown names). */
CAM_API int cam_workspace_keeps_tensor(const cam_workspace *ws, const char *tensor_name);

/* OpenBLAS thread policy. The library never changes OpenBLAS's thread count by
 * itself: until this is called, OpenBLAS's own default applies
 * (OPENBLAS_NUM_THREADS, else one thread per core). The setting is process-wide.
 *  - One image at a time (the plug-in, cam-heatmap on one file): leave the default
 *    or pass 0, so each convolution's GEMM uses every core.
 *  - Several threads each running its own workspace (batch processing): call
 *    cam_set_blas_threads(1) first, so that T caller threads use T cores and not
 *    T x cores (oversubscription).
 * Call it before starting worker threads, not while another thread is inside the
 * engine. Results do not depend on this setting (OpenBLAS splits a GEMM over its
 * output rows/columns, never over the summed dimension); the test suite checks it
 * on the bundled networks. The engine never merges the images of a batch into one
 * GEMM: OpenBLAS does not give bit-identical columns for different matrix widths,
 * so every image gets GEMMs of its own, with the same shapes whatever the batch.
 * n <= 0 means all cores. Returns the previous value.
 *
 * Kernels: convolutions whose output has at most 256 pixels (and C*kh*kw >= 64,
 * output channels a multiple of 16, one group) run a direct AVX-512 kernel, single-
 * threaded per image, with weights packed when the model is loaded; the others run
 * im2col + OpenBLAS sgemm. CPUs without AVX-512F, or a process started with the
 * environment variable CAM_NO_AVX512=1, use im2col + OpenBLAS everywhere. The two
 * paths agree to float rounding, not bit for bit; on one machine and path, results
 * are bit-identical whatever the thread count or batch. */
CAM_API int cam_set_blas_threads(int n);

/* Forward pass on n images (input: n x C x H x W, 1 <= n <= max_batch). Writes
 * n x n_classes probabilities (the graph's softmax, or a softmax of the logits if
 * the graph does not end with one) to probs and, if logits != NULL, the
 * pre-softmax scores (probs may also be NULL). The workspace keeps every
 * activation of the last call for cam_backward and cam_get_tensor.
 * Each image is computed with the same operations whatever n is, so an image's
 * outputs are bit-identical whether it is run alone or inside any batch.
 * A non-finite input value is CAM_ERROR_NUMERIC. */
CAM_API cam_status cam_forward(cam_workspace *ws, const float *input, int n, float *probs,
                               float *logits, cam_error *err);

/* What is differentiated. */
typedef enum cam_score {
    CAM_SCORE_LOGIT = 0,   /* the class score before softmax (the Grad-CAM paper) */
    CAM_SCORE_PROBABILITY, /* the softmax probability (the Keras tutorial) */
    CAM_SCORE_COUNT
} cam_score;

/* After cam_forward: d score[class_index] / d tensor, for image `image` of the
 * last batch, written to grad (the tensor's size for one image: the product of
 * its dimensions). tensor_name is any tensor computed from the image (or the
 * input) from which a gradient reaches the logits; only the nodes between it and
 * the logits are run backward, in reverse order, and gradients are summed where
 * a tensor feeds several nodes (residual connections). Weights are frozen: no weight gradients are computed. A tensor
 * after the logits (the softmax output) is CAM_ERROR_INVALID_ARGUMENT; an unknown
 * name CAM_ERROR_NOT_FOUND. Does not change the forward activations, so it may be
 * called many times (classes, tensors, images) after one cam_forward. */
CAM_API cam_status cam_backward(cam_workspace *ws, int image, int class_index, cam_score score,
                                const char *tensor_name, float *grad, cam_error *err);
/* After cam_forward: copy a tensor computed from the image (or the input) of one
 * image (its size for one image, in floats; out_size is the room in out). */
CAM_API cam_status cam_get_tensor(cam_workspace *ws, int image, const char *tensor_name,
                                  float *out, size_t out_size, cam_error *err);

/* ------------------------------------------------------------------------ */
/* Explanations                                                             */
/* ------------------------------------------------------------------------ */

typedef struct cam_explain_options {
    size_t size;            /* sizeof (cam_explain_options), set by cam_explain_options_default */
    cam_method method;
    int class_index;        /* -1 = the top prediction (the first on ties) */
    const char *layer;      /* tensor name; NULL or "" = the model's default layer
                               (cam_model_info.default_layer). CAM always uses the
                               tensor that feeds the global average pool: naming
                               another layer with CAM is CAM_ERROR_INVALID_ARGUMENT. */
} cam_explain_options;

/* The only way to make options (see CONVENTIONS): size set, and the defaults
 * from the model's metadata: its default method, class -1 (top-1), layer NULL
 * (the model's default layer). model NULL: method grad-cam. */
CAM_API cam_explain_options cam_explain_options_default(const cam_model *model);

/* The maps, for class c and the feature tensor A (K x H x W) of the layer (for
 * transformer tokens: K = channels, H x W = the patch grid, class token dropped):
 *   CAM                  map = sum_k W[k,c] A_k, W the dense layer after the global
 *                        average pool. Signed, no ReLU.
 *   GRAD_CAM             alpha_k = spatial mean of d z_c / d A_k (z_c: the logit);
 *                        map = ReLU(sum_k alpha_k A_k). The ReLU is part of the
 *                        method (the paper) and is applied here: map >= 0.
 *   GRAD_CAM_TUTORIAL    alpha_k = spatial mean of d p_c / d A_k (p_c: the softmax
 *                        probability); map = 1 + sum_k alpha_k A_k. Signed: the
 *                        tutorial's ReLU comes after the bilinear resize to the
 *                        image, and a ReLU does not commute with resizing, so it is
 *                        the renderer's job (camengine-render.h), not applied here.
 * Sums over k are accumulated in double. No normalisation is applied to any map
 * (see cam_map_normalize).
 *
 * Made by cam_explain, freed by cam_explanation_free. The fields are public and
 * may be read; the struct may grow at the end in later versions, so never
 * allocate, copy or embed one yourself. */
typedef struct cam_explanation {
    int class_index;        /* the explained class */
    float probability;      /* its softmax probability */
    int n_classes;
    float *probabilities;   /* n_classes values (owned) */
    char *layer;            /* the layer used: its tensor name, whole (owned) */
    int map_height, map_width;
    float *map;             /* the raw, un-normalised map at feature resolution (owned),
                               map_height x map_width, row-major; see above */
    cam_method method;      /* the method that made the map (the renderer needs it:
                               GRAD_CAM_TUTORIAL wants a ReLU after upsampling) */
} cam_explanation;

/* The smallest workspace in which cam_explain with these options (NULL: the
 * model's defaults) works, for batches of up to max_batch images: the
 * workspace of cam_workspace_new_for_layers with the options' layer (when it
 * names an activation; any other name is left for cam_explain to report). This
 * is what a program that explains images should use: for ResNet-50 at 224x224
 * one Grad-CAM then peaks at about 135 MB of process memory (its file is 97 MB)
 * instead of about 230 MB with cam_workspace_new. Errors as
 * cam_workspace_new_for_layers, and options not made by
 * cam_explain_options_default (CAM_ERROR_INVALID_ARGUMENT). */
CAM_API cam_status cam_workspace_new_for_explain(const cam_model *model, int max_batch,
                                                 const cam_explain_options *options,
                                                 cam_workspace **out, cam_error *err);

/* One image (input: C x H x W): forward, then the map for the chosen class.
 * Uses image 0 of the workspace (the previous batch's activations are replaced).
 * options NULL = cam_explain_options_default(model). Stores a new explanation
 * in *out (free it with cam_explanation_free); on error *out is NULL. Errors:
 * options not made by cam_explain_options_default (size too small,
 * CAM_ERROR_INVALID_ARGUMENT), unknown method/class/layer
 * (CAM_ERROR_INVALID_ARGUMENT or CAM_ERROR_NOT_FOUND, naming it), CAM on a model
 * without the CAM structure (CAM_ERROR_UNSUPPORTED, suggesting grad-cam). */
CAM_API cam_status cam_explain(cam_workspace *ws, const float *input,
                               const cam_explain_options *options, cam_explanation **out,
                               cam_error *err);
/* Frees an explanation and everything in it (NULL is fine). */
CAM_API void cam_explanation_free(cam_explanation *ex);

/* Min-max normalisation into [0,1] (out may equal map): (v - min) / (max - min),
 * computed in double. Never yields NaN: a constant map (or all zeros, or n = 0)
 * becomes all zeros; a map holding NaN or Inf is CAM_ERROR_NUMERIC and out is
 * set to all zeros. */
CAM_API cam_status cam_map_normalize(const float *map, size_t n, float *out, cam_error *err);

#ifdef __cplusplus
}
#endif

#include "camengine-render.h"

#endif /* CAMENGINE_H */
