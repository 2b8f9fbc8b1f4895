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
    CAM_STATUS_CANCELLED,       /* the progress callback asked to stop (not an error of the
                                   input: see cam_workspace_set_progress) */
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

/* The explanation methods. Each is one formula, written out with its paper
 * above cam_explain; cam_method_summary() gives one line (with its cost) for
 * tooltips and --help. Values are never renumbered: new methods are appended. */
typedef enum cam_method {
    CAM_METHOD_CAM = 0,          /* Zhou et al. 2016: sum_k W[k,c] A_k (needs conv -> GAP -> dense) */
    CAM_METHOD_GRAD_CAM,         /* Selvaraju et al. 2017: ReLU(sum_k mean(dy_c/dA_k) A_k), y_c = logit */
    CAM_METHOD_GRAD_CAM_TUTORIAL,/* the Keras tutorial: y_c = softmax probability, starts from ones, no ReLU
                                    (the ReLU is applied after upsampling by the renderer; see cam_explain) */
    CAM_METHOD_HIRES_CAM,        /* Draelos & Carin 2020: ReLU(sum_k dy_c/dA_k * A_k), element-wise */
    CAM_METHOD_GRAD_CAM_PLUS_PLUS, /* Chattopadhyay et al. 2018: pixel-weighted positive gradients */
    CAM_METHOD_XGRAD_CAM,        /* Fu et al. 2020: weights sum(g A) / sum(A) */
    CAM_METHOD_GRAD_CAM_ELEMENTWISE, /* pytorch-grad-cam: ReLU(sum_k ReLU(g_k * A_k)) */
    CAM_METHOD_LAYER_CAM,        /* Jiang et al. 2021: ReLU(sum_k ReLU(g_k) * A_k) */
    CAM_METHOD_EIGEN_CAM,        /* Muhammad & Yeasin 2020: first principal component of A */
    CAM_METHOD_EIGEN_GRAD_CAM,   /* pytorch-grad-cam: first principal component of g * A */
    CAM_METHOD_KPCA_CAM,         /* Karmani et al. 2024: first kernel principal component of A */
    CAM_METHOD_FINER_CAM,        /* Zhang et al. 2025: Grad-CAM of y_c minus its most similar classes */
    CAM_METHOD_SMOOTH_GRAD_CAM_PLUS_PLUS, /* Omeiza et al. 2019: Grad-CAM++ on noisy copies */
    CAM_METHOD_RANDOM,           /* a seeded uniform random map: the baseline of the metrics */
    CAM_METHOD_SCORE_CAM,        /* Wang et al. 2020: weights from masked-input scores */
    CAM_METHOD_SS_CAM,           /* Wang et al. 2020: Score-CAM with noisy masks */
    CAM_METHOD_IS_CAM,           /* Naidu et al. 2020: Score-CAM with integrated masks */
    CAM_METHOD_ABLATION_CAM,     /* Desai & Ramaswamy 2020: score drop when channel k is zeroed */
    CAM_METHOD_RECIPRO_CAM,      /* Byun & Lee 2022: scores of spatially masked feature maps */
    CAM_METHOD_FULL_GRAD,        /* Srinivas & Fleuret 2019: input-gradient and bias-gradient
                                    terms of every layer, at the input's resolution */
    CAM_METHOD_COUNT
} cam_method;

/* Names: "cam", "grad-cam", "grad-cam-tutorial", "hires-cam", "grad-cam++",
 * "xgrad-cam", "grad-cam-elementwise", "layer-cam", "eigen-cam", "eigen-grad-cam",
 * "kpca-cam", "finer-cam", "smooth-grad-cam++", "random", "score-cam", "ss-cam",
 * "is-cam", "ablation-cam", "recipro-cam", "fullgrad" (see CONVENTIONS: NULL out of range;
 * from_name ignores case). */
CAM_API const char *cam_method_name(cam_method method);
CAM_API cam_status cam_method_from_name(const char *name, cam_method *out, cam_error *err);
/* One line in English for a tooltip or --help: what the method computes and what
 * it costs in forward/backward passes ("Grad-CAM (Selvaraju et al. 2017): ...;
 * 1 forward + 1 backward"). NULL for a value out of range. */
CAM_API const char *cam_method_summary(cam_method method);
/* The method's name for people, in English, for menus and layer names: "CAM",
 * "Grad-CAM", "Grad-CAM (tutorial)", "HiResCAM", "Grad-CAM++", "XGrad-CAM",
 * "Grad-CAM element-wise", "LayerCAM", "Eigen-CAM", "EigenGrad-CAM", "KPCA-CAM",
 * "Finer-CAM", "Smooth Grad-CAM++", "Random baseline", "Score-CAM", "SS-CAM",
 * "IS-CAM", "Ablation-CAM", "Recipro-CAM". NULL for a value out of range.
 * The engine has no translations: display names and summaries are marked for
 * xgettext in src/methods/registry.c (keyword N_), so a front end lists that file
 * in its POTFILES and translates them in its own domain, gettext(display_name). */
CAM_API const char *cam_method_display_name(cam_method method);
/* Can the method explain this model at all (1) or not (0)? CAM needs the CAM
 * structure (cam_model_supports_cam), FINER_CAM two classes or more; every other
 * method runs on any model that has a layer to explain (a particular layer may
 * still be refused by cam_explain with a message: KPCA_CAM on a layer with too
 * many positions). 0 for a value out of range or a NULL model. For menus that
 * mark what cannot run; cam_explain refuses such a model with a message. */
CAM_API int cam_method_supports_model(cam_method method, const cam_model *model);

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
 *   HardSwish, Tanh, Erf, Sqrt, Exp, Log, Neg, Abs, Reciprocal, Elu, Selu, Celu,
 *   Softplus, Softsign, Mish, Gelu (exact and tanh), ThresholdedRelu, Shrink,
 *   Floor, Ceil, Round, Sign, Sin, Cos, Tan, Asin, Acos, Atan, Sinh, Cosh, Asinh,
 *   Acosh, Atanh, Add, Sub, Mul,
 *   Div, Pow, Mod, Max, Min, Sum, Mean (numpy broadcasting; Max to Mean with one
 *   or two inputs), Softmax, LogSoftmax, ReduceMean, ReduceSum,
 *   ReduceMax, ReduceMin, ReduceL1, ReduceL2, ReduceSumSquare, Gemm, MatMul
 *   (batched), Concat, Split, Slice, Gather, Expand, Pad (constant), Transpose,
 *   Reshape, Flatten, Squeeze, Unsqueeze, Identity, Dropout (inference), Constant,
 *   Shape, Size, ConstantOfShape, Range, Cast, Equal, Less, Greater, LessOrEqual,
 *   GreaterOrEqual, Where, Not.
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

/* The models that can be loaded by name: every <name>.onnx (a regular file whose
 * name does not start with '.') in the folders cam_model_load searches, in its
 * order, each folder's sorted by name; a name found in an earlier folder hides
 * the same name later, as for cam_model_load. Folders that do not exist are
 * skipped. Only each file's metadata is read (not its graph or weights), so a
 * catalog is cheap to make; a file that is not valid ONNX is listed all the same
 * (loading it says what is wrong). Entries' strings live as long as the catalog
 * and are the bytes of the file's metadata (not checked for UTF-8). Stores the
 * catalog in *out (NULL on failure: out NULL, CAM_ERROR_INVALID_ARGUMENT; out of
 * memory, CAM_ERROR_NO_MEMORY); free it with cam_model_catalog_free. */
typedef struct cam_model_catalog cam_model_catalog; /* opaque */
typedef struct cam_model_entry {
    const char *name;        /* what cam_model_load takes: the file name without ".onnx" */
    const char *path;        /* the file */
    const char *title;       /* metadata "cam.name", else name */
    const char *description; /* metadata "cam.description", else "" */
} cam_model_entry;

CAM_API cam_status cam_model_catalog_new(cam_model_catalog **out, cam_error *err);
CAM_API int cam_model_catalog_size(const cam_model_catalog *catalog); /* 0 for NULL */
/* Entry `index` (0 .. size - 1; else CAM_ERROR_INVALID_ARGUMENT). */
CAM_API cam_status cam_model_catalog_get(const cam_model_catalog *catalog, int index,
                                         cam_model_entry *out, cam_error *err);
CAM_API void cam_model_catalog_free(cam_model_catalog *catalog);

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
 * (cam_forward and cam_backward then allocate nothing but the gradient memory,
 * sized by the first backward pass to each tensor; cam_explain also allocates
 * the explanation it returns and, per call, its scratch: a few copies of the
 * layer). It keeps EVERY activation of the last
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

/* PROGRESS AND CANCELLING. A function called by cam_forward, cam_backward and
 * cam_explain on a workspace while they compute, with the fraction of the call's
 * work done so far (in [0, 1]) and the user data given here:
 *  - it is called after every node of the network that a pass runs (not per
 *    element: the cost is one call per node), from the thread running the call;
 *    when the perturbation methods run their passes on several threads, only the
 *    nodes that the calling thread runs bring a call (with the fraction of all
 *    the threads' work), so the number of calls varies from run to run;
 *  - within one call the fraction never decreases, and the last call before a
 *    successful return has the fraction 1 (a call that returns CAM_OK has made
 *    at least that one call). cam_explain's fraction runs over its whole work:
 *    the forward pass, the method's backward passes, the perturbation family's
 *    passes (Score-CAM's one per channel advance it pass by pass), every layer of
 *    a layer list and every augmented input, in shares of the fraction fixed by
 *    the method's kind and the number of layers and augmentations (not measured
 *    times: the bar moves steadily within a pass, by steps between passes);
 *  - a non-zero return cancels the call: it stops at once (after that node) and
 *    returns CAM_STATUS_CANCELLED with a message naming the function and how far
 *    it got; nothing is returned (cam_explain's *out is NULL), nothing is leaked,
 *    and the function is not called again in that call. Returning non-zero from
 *    the last call (fraction 1) cancels too. After a cancelled cam_forward or
 *    cam_explain the workspace holds no forward pass (cam_backward and
 *    cam_get_tensor refuse until the next cam_forward), after a cancelled
 *    cam_backward it still holds its forward pass; either way it is fully
 *    usable, and the next call gives bit-identical results to a call on a
 *    workspace that was never cancelled.
 * The callback must not call the engine on the same workspace. To cancel from
 * another thread (a Cancel button), set a flag there that the callback reads
 * (atomically) and returns. fn NULL (the default) turns reports off; the setting
 * stays with the workspace until changed. ws NULL is ignored. */
typedef int (*cam_progress_fn)(double fraction, void *user_data);
CAM_API void cam_workspace_set_progress(cam_workspace *ws, cam_progress_fn fn, void *user_data);

/* OpenBLAS thread policy. The library does not choose OpenBLAS's thread count by
 * itself (one exception, below): until this is called, OpenBLAS's own default applies
 * (OPENBLAS_NUM_THREADS, else one thread per core). The setting is process-wide.
 *  - One image at a time (the plug-in, cam-heatmap on one file): leave the default
 *    or pass 0, so each convolution's GEMM uses every core.
 *  - Several threads each running its own workspace (batch processing): call
 *    cam_set_blas_threads(1) first, so that T caller threads use T cores and not
 *    T x cores (oversubscription).
 * Call it before starting worker threads, not while another thread is inside the
 * engine. Results do not depend on this setting: every matrix product of the
 * engine is cut into pieces that depend on its shape only (at most 8, of rows or
 * columns, never of the summed dimension), and each piece is one single-threaded
 * OpenBLAS sgemm, computed by whichever thread of the engine's pool takes it (a
 * multi-threaded OpenBLAS GEMM may block its sum differently from a
 * single-threaded one, which changes the last bits); the test suite checks it on
 * the bundled networks. The engine never merges the images of a batch into one
 * GEMM: OpenBLAS does not give bit-identical columns for different matrix widths,
 * so every image gets GEMMs of its own, with the same shapes whatever the batch.
 * n <= 0 means all cores. Returns the previous value.
 *
 * Threads: the engine runs its parallel work on an intra-op thread pool of n
 * threads (1: none; its idle threads sleep): the pieces of each matrix product
 * (a convolution's im2col, bias and ReLU done per piece too), the direct and the
 * depthwise convolutions. While the pieces run, OpenBLAS is set to one thread
 * (restored afterwards; another thread calling OpenBLAS meanwhile gets one too),
 * so OpenBLAS's own threads, which would spin for about 0.1 s after a threaded
 * GEMM and hold a core the pool wants, stay asleep. The perturbation methods run
 * their passes side by side instead (one per pool thread, OpenBLAS on one thread).
 * When several caller threads run at once, one of them gets the pool and the
 * others run their work on their own thread. CAM_POOL_THREADS=n in the
 * environment fixes the pool's size whatever is set here (for measurements).
 *
 * Kernels: convolutions of one group with output channels a multiple of 16 and
 * C*kh*kw >= 64, whose output has at most 256 pixels (1x1 kernels) or 65536 (larger
 * kernels), run a direct AVX-512 kernel, threaded over blocks of output channels
 * and pixels, with weights packed when the model is loaded, and with a following
 * residual Add, Relu or Clip(0, hi) (ReLU6) computed in the same pass;
 * depthwise convolutions (group == channels) a kernel of their own (AVX-512 where
 * available, else AVX2 + FMA, with the same results), threaded over channels; the
 * others run im2col + OpenBLAS sgemm. Sigmoid (with a SiLU's Mul fused), erf and
 * the softmax use AVX-512 polynomials. CPUs without AVX-512F, or a process started
 * with the environment variable CAM_NO_AVX512=1, use im2col + OpenBLAS for every
 * other convolution and libm for the functions (CAM_NO_AVX2=1 also turns the AVX2
 * depthwise path off). The two paths agree to float rounding, not bit for bit; on
 * one machine and path, results are bit-identical whatever the thread count or
 * batch. */
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

/* cam_explain_options.aug_smooth: which augmented inputs the map is averaged over
 * (see AUGMENTATION SMOOTHING below). */
typedef enum cam_aug_smooth {
    CAM_AUG_SMOOTH_NONE = 0,       /* the input alone */
    CAM_AUG_SMOOTH_SCALES = 1,     /* flip x zoom 0.9, 1, 1.1, maps mapped back */
    CAM_AUG_SMOOTH_BRIGHTNESS = 2, /* flip x brightness 0.9, 1, 1.1 (pytorch-grad-cam) */
    CAM_AUG_SMOOTH_COUNT
} cam_aug_smooth;

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
                               another layer with CAM is CAM_ERROR_INVALID_ARGUMENT.
                               FULL_GRAD uses every layer and ignores `layer` and
                               `layers` (see FULL_GRAD below). */
    int eigen_smooth;       /* 0 (default) or 1: replace the sum over channels of the
                               method's per-channel terms by their first principal
                               component (see EIGEN SMOOTHING below) */
    int aug_smooth;         /* a cam_aug_smooth: CAM_AUG_SMOOTH_NONE (0, default),
                               CAM_AUG_SMOOTH_SCALES (1) or CAM_AUG_SMOOTH_BRIGHTNESS
                               (2): average the map over 6 augmented inputs (see
                               AUGMENTATION SMOOTHING below); 6x the cost. Other
                               values: CAM_ERROR_INVALID_ARGUMENT */
    cam_score target_score; /* what "the class score y_c" is for the methods that
                               differentiate or compare it: CAM_SCORE_LOGIT (default,
                               the papers) or CAM_SCORE_PROBABILITY (the softmax
                               probability). GRAD_CAM_TUTORIAL always uses the
                               probability; CAM, EIGEN_CAM, KPCA_CAM and RANDOM use no
                               score and ignore it; FINER_CAM compares logits and refuses
                               the probability (CAM_ERROR_INVALID_ARGUMENT). */
    const char *const *layers; /* NULL-terminated list of tensor names to fuse (see
                               SEVERAL LAYERS below); NULL or an empty list = `layer`
                               alone. When it names a layer, `layer` is ignored. */
    uint64_t seed;          /* the random stream of RANDOM, SMOOTH_GRAD_CAM_PLUS_PLUS and SS_CAM
                               (default 0); see RANDOM NUMBERS below */
} cam_explain_options;

/* The only way to make options (see CONVENTIONS): size set, and the defaults
 * from the model's metadata: its default method, class -1 (top-1), layer NULL
 * (the model's default layer), no smoothing, the logit as score, no layer list,
 * seed 0. model NULL: method grad-cam. */
CAM_API cam_explain_options cam_explain_options_default(const cam_model *model);

/* THE MAPS, for class c and the feature tensor A (K x H x W) of the layer (for
 * transformer tokens: K = channels, H x W = the patch grid, class token dropped).
 * y_c is the class score (options.target_score: the logit z_c unless said
 * otherwise), g = dy_c/dA (K x H x W, one backward pass), sums over h,w run over
 * the H x W positions, ReLU(x) = max(x, 0). Every method but CAM and
 * GRAD_CAM_TUTORIAL ends with a ReLU, as pytorch-grad-cam applies it to every map
 * (jacobgil/pytorch-grad-cam, BaseCAM.compute_cam_per_layer): map >= 0.
 *
 *   CAM                  Zhou et al., "Learning Deep Features for Discriminative
 *                        Localization", CVPR 2016. map = sum_k W[k,c] A_k, W the
 *                        dense layer after the global average pool. Signed, no
 *                        ReLU. 1 forward pass.
 *   GRAD_CAM             Selvaraju et al., "Grad-CAM", ICCV 2017. alpha_k = mean_hw
 *                        g_k; map = ReLU(sum_k alpha_k A_k). The ReLU is part of the
 *                        method (the paper) and is applied here. 1 forward + 1 backward.
 *   GRAD_CAM_TUTORIAL    the Keras Grad-CAM tutorial: alpha_k = spatial mean of
 *                        d p_c / d A_k (p_c: the softmax probability, whatever
 *                        target_score says); map = 1 + sum_k alpha_k A_k. Signed: the
 *                        tutorial's ReLU comes after the bilinear resize to the
 *                        image, and a ReLU does not commute with resizing, so it is
 *                        the renderer's job (camengine-render.h), not applied here.
 *   HIRES_CAM            Draelos & Carin, "Use HiResCAM instead of Grad-CAM for
 *                        faithful explanations", 2020. map = ReLU(sum_k g_k * A_k)
 *                        (element-wise products, no spatial averaging of g).
 *   GRAD_CAM_PLUS_PLUS   Chattopadhyay et al., "Grad-CAM++", WACV 2018, eq. 19, the
 *                        closed form for the exponential score Y = exp(y_c), whose
 *                        higher derivatives are powers of g:
 *                          a_k(i,j) = g_k(i,j)^2 / (2 g_k(i,j)^2 + S_k g_k(i,j)^3),
 *                          S_k = sum_hw A_k (the paper's sum_ab A_k(a,b)),
 *                        a_k(i,j) = 0 where the denominator is 0 (g = 0: the paper's
 *                        ReLU(g) then zeroes the term anyway);
 *                        w_k = sum_ij a_k(i,j) ReLU(g_k(i,j)); map = ReLU(sum_k w_k A_k).
 *                        pytorch-grad-cam adds 1e-6 to the denominator, which makes
 *                        a depend on the gradient's scale wherever g^2 is near 1e-6
 *                        (logit gradients of deep layers often are); the paper has
 *                        no such term, so none is added here.
 *   XGRAD_CAM            Fu et al., "Axiom-based Grad-CAM", BMVC 2020.
 *                        w_k = sum_hw g_k A_k / sum_hw A_k (w_k = 0 where sum_hw A_k
 *                        = 0; pytorch-grad-cam adds 1e-7 to it instead);
 *                        map = ReLU(sum_k w_k A_k).
 *   GRAD_CAM_ELEMENTWISE pytorch-grad-cam's GradCAMElementWise:
 *                        map = ReLU(sum_k ReLU(g_k * A_k)).
 *   LAYER_CAM            Jiang et al., "LayerCAM", IEEE TIP 2021.
 *                        map = ReLU(sum_k ReLU(g_k) * A_k).
 *   EIGEN_CAM            Muhammad & Yeasin, "Eigen-CAM", IJCNN 2020: the projection
 *                        of A on its first principal component (PRINCIPAL COMPONENT
 *                        below), then ReLU. Class-independent; no backward pass.
 *   EIGEN_GRAD_CAM       pytorch-grad-cam's EigenGradCAM: the same on g * A.
 *   KPCA_CAM             Karmani et al., "KPCA-CAM", 2024, with pytorch-grad-cam's
 *                        defaults (KPCA_CAM(kernel='sigmoid', gamma=None), i.e.
 *                        scikit-learn's KernelPCA(n_components=1, kernel='sigmoid')):
 *                        x_p = the K features at position p minus their mean over
 *                        positions; kernel k(p,q) = tanh(x_p . x_q / K + 1); the
 *                        HW x HW kernel matrix is double-centred, its top eigenvector
 *                        u (eigenvalue l) gives map = ReLU(sqrt(l) u), with the sign of
 *                        PRINCIPAL COMPONENT below (scikit-learn's svd_flip). l <= 0
 *                        gives the all-zero map. Class-independent; no backward pass;
 *                        H*W above 4096 is refused (the kernel matrix takes
 *                        (H*W)^2 doubles; pick a later layer).
 *   FINER_CAM            Zhang et al., "Finer-CAM: Spotting the Difference Reveals
 *                        Finer Details for Visual Explanation", CVPR 2025, as
 *                        pytorch-grad-cam's FinerCAM with its defaults (base method
 *                        Grad-CAM, alpha 1, comparison categories [1, 2, 3]): J = the 3
 *                        classes j != c whose logits are closest to z_c (|z_j - z_c|
 *                        ascending, the lower index first on ties; fewer when the model
 *                        has fewer classes), p = softmax(z), and
 *                          y = sum_{j in J} p_j (z_c - z_j) / (sum_{j in J} p_j + 1e-9),
 *                        differentiated as a whole (p_j included); then GRAD_CAM's
 *                        formula with this y. At least 2 classes.
 *   SMOOTH_GRAD_CAM_PLUS_PLUS Omeiza et al., "Smooth Grad-CAM++", 2019, with
 *                        torch-cam's defaults (4 samples, noise standard deviation 0.3
 *                        on the preprocessed input): g_m = dy_c/dA for the input plus
 *                        Gaussian noise n_m (m = 1..4, RANDOM NUMBERS below), D1, D2,
 *                        D3 = the means over m of g_m, g_m^2, g_m^3; then
 *                        GRAD_CAM_PLUS_PLUS with a_k = D2 / (2 D2 + S_k D3), S_k from
 *                        the clean input's A, w_k = sum_ij a_k ReLU(D1) (the paper's
 *                        smoothed first derivative; torch-cam uses the last sample's
 *                        gradient there), map = ReLU(sum_k w_k A_k), A of the clean
 *                        input. 5 forward + 4 backward passes.
 *   RANDOM               a baseline: map = H x W uniform numbers (float) in [0, 1] from the
 *                        seeded stream (RANDOM NUMBERS), row-major. No gradient, no
 *                        dependence on the image or the class.
 *   FULL_GRAD            Srinivas & Fleuret, "Full-Gradient Representation for Neural
 *                        Network Visualization", NeurIPS 2019, with pytorch-grad-cam's
 *                        post-processing (FullGrad): the map is at the INPUT's
 *                        resolution (ex->map_height x map_width = the model input's H x
 *                        W, ex->layer = the input tensor's name), not a layer's; the
 *                        options' layer and layers are ignored (as pytorch-grad-cam
 *                        ignores target_layers), every layer is used:
 *                          map = R(sum_c psi(dy_c/dx_c * x_c)
 *                                  + sum_l sum_c U(psi(dy_c/dO_l,c * b_l,c))),
 *                        x the preprocessed input (channel c), l every layer with a
 *                        per-channel bias b_l whose output O_l is 1 x C x h x w (Conv,
 *                        BatchNormalization), psi(v) = (|v| - min |v|) / (max |v| -
 *                        min |v| + 1e-7) over the h x w positions of one channel (a
 *                        channel without gradient gives 0), U the bilinear resize to
 *                        the input's H x W (as OpenCV's INTER_LINEAR and torch's
 *                        interpolate with align_corners=False), R the min-max rescale
 *                        to [0, 1] (a constant sum gives 0). Choices: psi rescales
 *                        each channel on its own, before the resize, with 1e-7 in the
 *                        denominator, as pytorch-grad-cam (the map users compare
 *                        with); the paper's code rescales a layer's whole C x h x w
 *                        tensor at once and resizes after. The 1e-7 keeps channels
 *                        whose terms are all (nearly) zero -- float rounding, not
 *                        signal -- from being stretched to [0, 1]. Biases are those of
 *                        the graph the engine runs: a BatchNormalization right after a
 *                        Conv is folded into it at load, and the pair counts once with
 *                        the folded bias s (B_conv - mean) + beta, s = scale / sqrt(var
 *                        + epsilon), and the gradient at the BatchNormalization's
 *                        output; a BatchNormalization that is not folded (after a
 *                        Concat, as in DenseNet) counts with its implicit bias beta -
 *                        mean s. This is pytorch-grad-cam's sum whenever the Conv has
 *                        no bias of its own (ResNet, MobileNet, DenseNet: BN makes it
 *                        redundant); otherwise pytorch-grad-cam counts the two
 *                        separately. Either is a full-gradient decomposition (the
 *                        folded network is the same function). Dense (Gemm/MatMul)
 *                        biases have no positions and are not counted, as in the paper
 *                        and pytorch-grad-cam; eigen_smooth is ignored. 1 forward + 1
 *                        backward pass from the logits to the input, so the workspace
 *                        must keep every activation on the way: cam_workspace_new and
 *                        cam_workspace_new_for_explain with this method do; in any
 *                        other workspace cam_explain makes such a workspace for the
 *                        call (slower).
 *   The perturbation family: forward passes only, on copies of the input or of
 *   the layer changed on purpose; y_c(...) is the class score of such a pass.
 *   U_k = A_k upsampled to the input's H x W (bilinear, as torch's interpolate
 *   with align_corners=False), M_k = (U_k - min U_k) / (max U_k - min U_k) (each
 *   channel on its own), x * M_k the input times M_k on every input channel.
 *   A channel whose U_k is constant has no mask (0/0): w_k = 0, no pass.
 *   SCORE_CAM            Wang et al., "Score-CAM", CVPR-W 2020. w_k = y_c(x * M_k);
 *                        map = ReLU(sum_k w_k A_k). The paper's form without its
 *                        baseline (C(A_k) = f(x * M_k) - f(x_b) with x_b = 0 shifts
 *                        every w_k alike); its official code uses the softmax
 *                        probability (target_score = CAM_SCORE_PROBABILITY).
 *                        pytorch-grad-cam and torch-cam take a softmax of the logits
 *                        over the channels instead; not done here. One forward pass
 *                        per channel.
 *   SS_CAM               Wang et al., "SS-CAM: Smoothed Score-CAM", 2020, the noise
 *                        on the masks as torch-cam adds it, with its defaults (35
 *                        samples, standard deviation 2): w_k = (1/35) sum_i
 *                        y_c(x * (M_k + d_ki)), d_ki(y, x) = 2 * the normal number
 *                        ((k 35 + i) H + y) W + x of the seeded stream (RANDOM
 *                        NUMBERS), one value per pixel for every input channel;
 *                        map = ReLU(sum_k w_k A_k). 35 forward passes per channel.
 *   IS_CAM               Naidu et al., "IS-CAM: Integrated Score-CAM", 2020, as
 *                        torch-cam implements it (10 steps): w_k = (1/10) sum_{i=1..10}
 *                        y_c(c_i x * M_k), c_i = i (i + 1) / 20 (the running sum of
 *                        j/10); map = ReLU(sum_k w_k A_k). 10 forward passes per channel.
 *   ABLATION_CAM         Desai & Ramaswamy, "Ablation-CAM", WACV 2020: y_k = y_c with
 *                        A_k set to zero; w_k = (y_c - y_k) / y_c (y_c - y_k when y_c
 *                        is exactly 0); map = ReLU(sum_k w_k A_k). (pytorch-grad-cam
 *                        ablates with a very negative value when the layer has negative
 *                        values; here always zero, as the paper.) One pass of the
 *                        layers after A per channel.
 *   RECIPRO_CAM          Byun & Lee, "Recipro-CAM", 2022, with OpenVINO XAI's
 *                        defaults: map(p) = y_c of the layers after A on A masked
 *                        around position p. C x H x W layers (ReciproCAM): the one-hot
 *                        mask, A at p and zeros elsewhere. Transformer tokens
 *                        (ViTReciproCAM, use_gaussian and cls_token on): the patches
 *                        times the 3 x 3 kernel [1 2 1; 2 4 2; 1 2 1] / 16 centred on p
 *                        (cut at the grid's border, not renormalised), zeros
 *                        elsewhere, the class token kept; only the explained tensor is
 *                        masked (OpenVINO XAI also masks the next block's LayerNorm
 *                        output). The raw scores, no ReLU. One pass of the layers after
 *                        A per position.
 *   Their passes run side by side, one per thread of the engine's pool (one per
 *   core, or the count given to cam_set_blas_threads; each pass on one core, with
 *   OpenBLAS set to one thread meanwhile and restored afterwards): the workspace's
 *   first image and, for the other threads, image arenas the workspace adds on
 *   first use and keeps (each the size of one image's planned activations). A
 *   pass is never merged with others into a batch GEMM, so maps are bit-identical
 *   whatever the thread count and max_batch. For ABLATION_CAM and RECIPRO_CAM only
 *   the nodes after the layer run (reading
 *   what the forward of x left, when the workspace keeps it: always with
 *   cam_workspace_new, and with cam_workspace_new_for_layers for the layers it was
 *   made for; else the whole network runs each time).
 * Sums over k are accumulated in double. No normalisation is applied to the map
 * of one layer without augmentation (see cam_map_normalize), except FULL_GRAD's R.
 *
 * PRINCIPAL COMPONENT (EIGEN_CAM, EIGEN_GRAD_CAM, eigen_smooth), as
 * pytorch-grad-cam's get_2d_projection: the H*W x K matrix X of the tensor (one
 * row per position) is centred (each column minus its mean), v is the unit
 * eigenvector of X^T X with the largest eigenvalue (the first right singular
 * vector of X), and the projection is X v (H x W). An eigenvector's sign is
 * arbitrary (numpy leaves it to LAPACK); here it is fixed so that the projection's
 * value of largest magnitude is positive (the first such position on ties):
 * scikit-learn's svd_flip, the sign correction of Seg-Eigen-CAM (Chung & Ying
 * 2025, eq. 13, pytorch-grad-cam's get_2d_projection_with_sign_correction).
 * Computed in double (restarted Lanczos iteration to a relative residual of 1e-12).
 * When the two largest eigenvalues are (nearly) equal the component is not
 * defined by the data, and neither is the map.
 *
 * EIGEN SMOOTHING (eigen_smooth = 1), pytorch-grad-cam's eigen_smooth: the methods
 * that sum per-channel terms T_k over k (CAM: W[k,c] A_k; GRAD_CAM and its family:
 * w_k A_k; HIRES_CAM: g_k A_k; GRAD_CAM_ELEMENTWISE: ReLU(g_k A_k); LAYER_CAM:
 * ReLU(g_k) A_k; FINER_CAM and SMOOTH_GRAD_CAM_PLUS_PLUS likewise) take the
 * projection of T on its first principal component instead of sum_k T_k (the
 * tutorial's "1 +" and the ReLUs stay). EIGEN_CAM, EIGEN_GRAD_CAM and KPCA_CAM are
 * projections already, and RANDOM has no channels: they ignore it.
 *
 * SEVERAL LAYERS (layers with two or more names), as pytorch-grad-cam's
 * aggregate_multi_layers: the map of every layer (same method, class and score) is
 * min-max normalised to [0, 1] (cam_map_normalize: a constant map becomes 0),
 * upsampled to the size of the layer with the most positions (the first of them on
 * ties; bilinear, as torch's interpolate with align_corners=False), the maps
 * averaged, and the average min-max normalised again. ex->layer is then the names joined by ','; ex->map is in [0, 1].
 * CAM has one layer only.
 *
 * AUGMENTATION SMOOTHING (aug_smooth = CAM_AUG_SMOOTH_SCALES or _BRIGHTNESS): the
 * map is averaged over 6 views of the input (preprocessed, C x H x W), for f in
 * {no flip, flip} and s in {0.9, 1, 1.1}. Each view is explained as the input would
 * be (one layer or several; each view's map min-max normalised to [0, 1] as for
 * several layers, even with one layer), always for the class c chosen on the
 * unaugmented input; probability and class are the unaugmented input's. ex->map
 * is in [0, 1] and is not normalised again.
 *
 * CAM_AUG_SMOOTH_SCALES (1): the view is the input zoomed by s about the image
 * centre at the same resolution (the model's input size is fixed), flipped
 * left-right if f. With pixel centres at p = (y + 0.5, x + 0.5) and the centre
 * c = (H / 2, W / 2), view(p) = input(c + (p' - c) / s), p' = p with x mirrored
 * (x' = W - 1 - x) when f, sampled bilinearly between pixel centres, pixels outside
 * the image counting as 0 (torch's grid_sample with align_corners=False and
 * padding_mode="zeros"). s = 0.9 shrinks the image and leaves a border of zeros,
 * s = 1.1 enlarges it and cuts its border off. Zero padding because 0 in the
 * preprocessed space is the dataset mean for a model normalised by mean and std
 * (black for one that only scales, such as the bundled networks): the least
 * informative value such a network knows, where replicating the edge pixels would
 * invent structure; and one rule for every model, whatever its preprocessing.
 * The view's map (h x w, the largest layer's grid) is mapped back through the
 * inverse transform at the map's resolution, its cells taken to cover the image
 * uniformly: cell (y, x) of the result reads the view's
 * map at (h/2 + s (y + 0.5 - h/2) - 0.5, w/2 + s (x' + 0.5 - w/2) - 0.5) in cell
 * units, x' mirrored as above when f, bilinearly between cell centres with the
 * coordinates clamped to the outer cells' centres (as upsampling does), and only
 * when that place lies in the view's image (-0.5 .. h - 0.5 and -0.5 .. w - 0.5,
 * with 1e-9 of slack for rounding): with s = 1.1 the original's border is outside
 * the zoomed view, and a view that does not see a cell does not count for it. The
 * result at each cell is the sum of the mapped-back maps over the views that see
 * it divided by their number (the two s = 1 views see every cell, so it is never
 * 0). FULL_GRAD's map is the input's, mapped back likewise.
 *
 * CAM_AUG_SMOOTH_BRIGHTNESS (2), pytorch-grad-cam's forward_augmentation_smoothing
 * with its default ttach transforms (HorizontalFlip x Multiply(0.9, 1, 1.1)): the
 * view is the input flipped left-right if f and multiplied by s (every value, the
 * preprocessed input); the map is flipped back, nothing else is mapped, and the
 * six maps are averaged everywhere. Kept to match pytorch-grad-cam; it varies the
 * contrast around the mean, not the geometry.
 *
 * RANDOM NUMBERS: splitmix64 (Steele et al. 2014) started from options.seed:
 * state += 0x9E3779B97F4A7C15; z = state; z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9;
 * z = (z ^ (z >> 27)) * 0x94D049BB133111EB; next = z ^ (z >> 31). A uniform number
 * is (next >> 11) * 2^-53; a normal one is sqrt(-2 ln(1 - u1)) cos(2 pi u2) from two
 * uniforms u1, u2 drawn in that order. SMOOTH_GRAD_CAM_PLUS_PLUS draws its 4 noise
 * images one after another, C x H x W in order each, and the noisy input is
 * (float)(x + 0.3 * normal). SS_CAM reads the stream at any place (splitmix64's
 * n-th output is the mix of seed + (n + 1) 0x9E3779B97F4A7C15; the normal number
 * m is made of outputs 2m and 2m + 1). The same seed gives the same map on every
 * machine and thread count.
 *
 * Made by cam_explain, freed by cam_explanation_free. The fields are public and
 * may be read; the struct may grow at the end in later versions, so never
 * allocate, copy or embed one yourself. */
typedef struct cam_explanation {
    int class_index;        /* the explained class */
    float probability;      /* its softmax probability */
    int n_classes;
    float *probabilities;   /* n_classes values (owned) */
    char *layer;            /* the layer used: its tensor name, whole (owned); with
                               several layers, their names joined by ',' */
    int map_height, map_width;
    float *map;             /* the raw map at feature resolution (owned), map_height x
                               map_width, row-major; see above (un-normalised, except
                               with several layers or aug_smooth; FULL_GRAD: at the
                               input's resolution, in [0, 1]) */
    cam_method method;      /* the method that made the map (the renderer needs it:
                               GRAD_CAM_TUTORIAL wants a ReLU after upsampling) */
    int constant_map;       /* 1 when every value of map is the same (an all-zero
                               map after the ReLU, say): there is nothing to show, and
                               cam_map_normalize makes it all zeros */
    int n_layers;           /* the layers fused (1 without a layer list) */
    char **layers;          /* their tensor names (owned), n_layers entries */
} cam_explanation;

/* The smallest workspace in which cam_explain with these options (NULL: the
 * model's defaults) works, for batches of up to max_batch images: the
 * workspace of cam_workspace_new_for_layers with the options' layer and layer
 * list (the names that are activations; any other name is left for
 * cam_explain to report; with method FULL_GRAD, the model input too, so that
 * its backward pass to the input runs). This
 * is what a program that explains images should use: for ResNet-50 at 224x224
 * one Grad-CAM then peaks at about 135 MB of process memory (its file is 97 MB)
 * instead of about 230 MB with cam_workspace_new. Errors as
 * cam_workspace_new_for_layers, and options not made by
 * cam_explain_options_default (CAM_ERROR_INVALID_ARGUMENT). */
CAM_API cam_status cam_workspace_new_for_explain(const cam_model *model, int max_batch,
                                                 const cam_explain_options *options,
                                                 cam_workspace **out, cam_error *err);

/* One image (input: C x H x W): forward, then the map for the chosen class.
 * Uses image 0 of the workspace (the previous batch's activations are replaced;
 * methods that run more passes leave the workspace holding their last one, and
 * the perturbation family leaves it holding no forward pass: cam_backward and
 * cam_get_tensor refuse until the next cam_forward).
 * options NULL = cam_explain_options_default(model). Stores a new explanation
 * in *out (free it with cam_explanation_free); on error *out is NULL. Besides
 * the explanation, every call allocates (and frees) its scratch: a few copies of
 * the layer, the H*W x H*W kernel matrix for KPCA_CAM; the perturbation family
 * keeps its scratch in the workspace instead (allocated by the first call that
 * needs more). Errors:
 * options not made by cam_explain_options_default (size too small,
 * CAM_ERROR_INVALID_ARGUMENT), unknown method/class/layer/score, a layer list
 * with an unknown or unusable name (CAM_ERROR_INVALID_ARGUMENT or
 * CAM_ERROR_NOT_FOUND, naming it), CAM on a model without the CAM structure
 * (CAM_ERROR_UNSUPPORTED, suggesting grad-cam), a map that is not finite (CAM_ERROR_NUMERIC, naming
 * the method and layer; no method divides by zero, so this means the network's
 * values overflowed). */
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
