/*
 * cam-onnx.c -- from ONNX bytes to a validated cam_graph (see cam-graph.h).
 *
 * The steps, each refusing bad input with an error that names the node, tensor
 * or attribute at fault (prefixed with the file name by the caller):
 *   1. check the protobuf wire format (lengths, nesting depth) before protobuf-c
 *      unpacks it, so that a hostile file cannot exhaust the stack;
 *   2. unpack with protobuf-c (code generated at build time from Debian's onnx.proto);
 *   3. check IR version and opset; index every value (graph input, initializer,
 *      Constant node output, node output) by name; refuse dangling inputs and
 *      values produced twice;
 *   4. sort the nodes topologically (a cycle is an error naming a node on it)
 *      and keep only the nodes that lead to the first graph output;
 *   5. map each kept node to an IR op, checking every attribute's type and
 *      value and inferring the output shape per image;
 *   6. copy every constant into one float allocation (weights must be FLOAT,
 *      finite, with exactly as many values as their shape says) and find the
 *      logits, the softmax and the CAM head.
 * Every length and count from the file is checked before use; nothing prints
 * or aborts.
 */
#include "cam-model.h"
#include "cam-error.h"
#include "onnx.pb-c.h"

#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_PROTO_DEPTH 32        /* Model > Graph > Node > Attribute > Tensor ... */
#define MIN_OPSET 7
#define MAX_OPSET 22              /* ONNX 1.17 */
#define MIN_IR_VERSION 3
#define MAX_IR_VERSION 11

/* ------------------------------------------------------------------------ */
/* 1. Wire-format check                                                     */
/* ------------------------------------------------------------------------ */

static int read_varint(const uint8_t *p, size_t len, size_t *pos, uint64_t *out)
{
    uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
        if (*pos >= len)
            return 0;
        uint8_t b = p[(*pos)++];
        v |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) {
            *out = v;
            return 1;
        }
    }
    return 0;
}

/* Returns NULL when the bytes are well-formed protobuf for `desc` (as far as
 * nesting and lengths go), else a reason. */
static const char *wire_check(const uint8_t *p, size_t len, const ProtobufCMessageDescriptor *desc,
                              int depth)
{
    if (depth > MAX_PROTO_DEPTH)
        return "messages nested too deeply";
    size_t pos = 0;
    while (pos < len) {
        uint64_t tag, n;
        if (!read_varint(p, len, &pos, &tag))
            return "truncated field tag";
        uint64_t field_number = tag >> 3;
        if (field_number == 0 || field_number > 536870911u)
            return "invalid field number";
        switch (tag & 7) {
        case 0:
            if (!read_varint(p, len, &pos, &n))
                return "truncated varint";
            break;
        case 1:
            if (len - pos < 8)
                return "truncated 64-bit field";
            pos += 8;
            break;
        case 5:
            if (len - pos < 4)
                return "truncated 32-bit field";
            pos += 4;
            break;
        case 2: {
            if (!read_varint(p, len, &pos, &n))
                return "truncated length";
            if (n > len - pos)
                return "a field's length runs past the end of the data (truncated file?)";
            const ProtobufCFieldDescriptor *field =
                desc ? protobuf_c_message_descriptor_get_field(desc, (unsigned)field_number) : NULL;
            if (field && field->type == PROTOBUF_C_TYPE_MESSAGE) {
                const char *why = wire_check(p + pos, (size_t)n,
                                             (const ProtobufCMessageDescriptor *)field->descriptor,
                                             depth + 1);
                if (why)
                    return why;
            }
            pos += (size_t)n;
            break;
        }
        default:
            return "unsupported wire type (groups or garbage)";
        }
    }
    return NULL;
}

/* ------------------------------------------------------------------------ */
/* Loader state                                                             */
/* ------------------------------------------------------------------------ */

typedef enum value_kind { VALUE_INPUT, VALUE_CONST, VALUE_NODE } value_kind;

typedef struct value {
    const char *name;
    value_kind kind;
    const Onnx__TensorProto *tensor; /* VALUE_CONST */
    int node;                        /* VALUE_NODE: ONNX node index (also for Constant nodes) */
    int slot;                        /* VALUE_NODE: which output of that node */
    int ir;                          /* IR tensor index, or -1 */
    int fused;                       /* eaten by a fusion (MatMul+Add) */
} value;

/* A Constant node's value_float(s)/value_int(s) as a TensorProto. */
typedef struct synthetic_tensor {
    Onnx__TensorProto tensor;
    int64_t dim;
} synthetic_tensor;

typedef struct loader {
    cam_error *err;
    Onnx__ModelProto *model;
    Onnx__GraphProto *graph;
    long long opset;

    value *values;
    int n_values;
    int *hash;          /* open addressing over values, -1 = empty */
    size_t hash_mask;

    int n_onnx_nodes;
    int **node_inputs;  /* per ONNX node: value index per input, -1 for "" */
    int *node_is_constant;
    int *order;         /* topological order of non-Constant nodes */
    int n_order;
    int *needed;

    synthetic_tensor **synthetic;
    int n_synthetic;

    int batch_fixed;    /* fixed batch dim of the input, or -1 */

    /* IR under construction */
    cam_tensor *tensors;
    float **tensor_data;  /* temporary copy per IR weight tensor */
    int n_tensors, cap_tensors;
    cam_node *nodes;
    float **node_weight;  /* derived (owned) weight per node, or NULL */
    float **node_bias;
    size_t *node_weight_n, *node_bias_n;
    int *node_weight_src; /* IR tensor whose data is the weight, or -1 */
    int *node_bias_src;
    int n_nodes, cap_nodes;
    int input_tensor;
    size_t n_weight_floats; /* reserved so far (reserve_weights) */

    /* the node being mapped, for messages */
    const char *cur_name;
    const char *cur_type;
    char cur_name_buf[96];
} loader;

#define STR(s) ((s) ? (s) : "")

static cam_status vfail(loader *L, cam_status status, const char *format, va_list ap)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 0)))
#endif
    ;

static cam_status vfail(loader *L, cam_status status, const char *format, va_list ap)
{
    char message[CAM_ERROR_MESSAGE_SIZE];
    if (vsnprintf(message, sizeof message, format, ap) < 0)
        message[0] = '\0';
    cam_set_error(L->err, status, "%s", message);
    return status;
}

static cam_status fail(loader *L, cam_status status, const char *format, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

static cam_status fail(loader *L, cam_status status, const char *format, ...)
{
    va_list ap;
    va_start(ap, format);
    vfail(L, status, format, ap);
    va_end(ap);
    return status;
}

/* An error about the node being mapped: "node 'conv1' (Conv): ...". */
static cam_status node_fail(loader *L, cam_status status, const char *format, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

static cam_status node_fail(loader *L, cam_status status, const char *format, ...)
{
    va_list ap;
    va_start(ap, format);
    vfail(L, status, format, ap);
    va_end(ap);
    cam_error_prefix(L->err, "node '%s' (%s)", STR(L->cur_name), STR(L->cur_type));
    return status;
}

#define CHECK(expr)                                                                                \
    do {                                                                                           \
        cam_status check_status_ = (expr);                                                         \
        if (check_status_ != CAM_OK)                                                               \
            return check_status_;                                                                  \
    } while (0)

static cam_status no_memory(loader *L)
{
    return fail(L, CAM_ERROR_NO_MEMORY, "out of memory while loading the model");
}

/* Every float of the weight allocation is counted against CAM_GRAPH_MAX_WEIGHTS. */
static cam_status reserve_weights(loader *L, size_t n)
{
    if (n > CAM_GRAPH_MAX_WEIGHTS || L->n_weight_floats > CAM_GRAPH_MAX_WEIGHTS - n)
        return fail(L, CAM_ERROR_UNSUPPORTED,
                    "the model's weights (with derived copies) exceed %zu MiB",
                    (size_t)CAM_GRAPH_MAX_WEIGHTS * sizeof(float) >> 20);
    L->n_weight_floats += n;
    return CAM_OK;
}

static char *dup_string(const char *s)
{
    size_t n = strlen(s) + 1;
    char *copy = malloc(n);
    if (copy)
        memcpy(copy, s, n);
    return copy;
}

static const char *data_type_name(int32_t type)
{
    static const char *const names[] = {
        "UNDEFINED", "FLOAT", "UINT8", "INT8", "UINT16", "INT16", "INT32", "INT64",
        "STRING", "BOOL", "FLOAT16", "DOUBLE", "UINT32", "UINT64", "COMPLEX64",
        "COMPLEX128", "BFLOAT16", "FLOAT8E4M3FN", "FLOAT8E4M3FNUZ", "FLOAT8E5M2",
        "FLOAT8E5M2FNUZ", "UINT4", "INT4",
    };
    if (type >= 0 && (size_t)type < sizeof names / sizeof names[0])
        return names[type];
    return "unknown";
}

/* ------------------------------------------------------------------------ */
/* Value table                                                              */
/* ------------------------------------------------------------------------ */

static size_t hash_name(const char *s)
{
    uint64_t h = 1469598103934665603ull;
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 1099511628211ull;
    }
    return (size_t)h;
}

static int find_value(const loader *L, const char *name)
{
    size_t i = hash_name(name) & L->hash_mask;
    while (L->hash[i] >= 0) {
        if (strcmp(L->values[L->hash[i]].name, name) == 0)
            return L->hash[i];
        i = (i + 1) & L->hash_mask;
    }
    return -1;
}

/* Adds a value (capacity was reserved). Returns its index, or -1 if the name exists. */
static int add_value(loader *L, const char *name, value_kind kind)
{
    size_t i = hash_name(name) & L->hash_mask;
    while (L->hash[i] >= 0) {
        if (strcmp(L->values[L->hash[i]].name, name) == 0)
            return -1;
        i = (i + 1) & L->hash_mask;
    }
    int index = L->n_values++;
    L->hash[i] = index;
    value *v = &L->values[index];
    memset(v, 0, sizeof *v);
    v->name = name;
    v->kind = kind;
    v->node = -1;
    v->ir = -1;
    return index;
}

/* ------------------------------------------------------------------------ */
/* Tensors in the file                                                      */
/* ------------------------------------------------------------------------ */

/* Shape of a constant: rank <= 4, every dim in 1..CAM_GRAPH_MAX_DIM. */
static cam_status const_shape(loader *L, const value *v, int *rank, int dims[4], size_t *numel)
{
    const Onnx__TensorProto *t = v->tensor;
    if (t->n_dims > 4)
        return fail(L, CAM_ERROR_UNSUPPORTED, "tensor '%s' has rank %zu; at most 4 is supported",
                    v->name, t->n_dims);
    size_t count = 1;
    for (size_t i = 0; i < t->n_dims; i++) {
        int64_t d = t->dims[i];
        if (d < 0)
            return fail(L, CAM_ERROR_INVALID_MODEL, "tensor '%s' has a negative dimension (%lld)",
                        v->name, (long long)d);
        if (d == 0)
            return fail(L, CAM_ERROR_INVALID_MODEL, "tensor '%s' has a zero dimension (it is empty)",
                        v->name);
        if (d > CAM_GRAPH_MAX_DIM)
            return fail(L, CAM_ERROR_INVALID_MODEL,
                        "tensor '%s' has a dimension of %lld, more than the limit of %d",
                        v->name, (long long)d, CAM_GRAPH_MAX_DIM);
        count *= (size_t)d;
        if (count > CAM_GRAPH_MAX_NUMEL)
            return fail(L, CAM_ERROR_INVALID_MODEL,
                        "tensor '%s' has more than %zu elements", v->name,
                        (size_t)CAM_GRAPH_MAX_NUMEL);
        dims[i] = (int)d;
    }
    for (size_t i = t->n_dims; i < 4; i++)
        dims[i] = 1;
    *rank = (int)t->n_dims;
    *numel = count;
    return CAM_OK;
}

static cam_status check_storage(loader *L, const value *v)
{
    const Onnx__TensorProto *t = v->tensor;
    if ((t->has_data_location && t->data_location == ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL) ||
        t->n_external_data > 0)
        return fail(L, CAM_ERROR_UNSUPPORTED,
                    "tensor '%s' is stored in an external data file; save the model with its "
                    "weights inside the .onnx file", v->name);
    if (t->segment)
        return fail(L, CAM_ERROR_UNSUPPORTED, "tensor '%s' is segmented", v->name);
    return CAM_OK;
}

/* Reads a FLOAT constant of exactly `numel` values into dst, refusing NaN/Inf. */
static cam_status read_floats(loader *L, const value *v, size_t numel, float *dst)
{
    const Onnx__TensorProto *t = v->tensor;
    CHECK(check_storage(L, v));
    if (!t->has_data_type || t->data_type != ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT)
        return fail(L, CAM_ERROR_UNSUPPORTED,
                    "tensor '%s' has element type %s; weights must be FLOAT (float32)", v->name,
                    t->has_data_type ? data_type_name(t->data_type) : "UNDEFINED");
    if (t->has_raw_data && t->raw_data.len > 0) {
        if (t->n_float_data > 0)
            return fail(L, CAM_ERROR_INVALID_MODEL, "tensor '%s' has both raw_data and float_data",
                        v->name);
        if (t->raw_data.len / 4 != numel || t->raw_data.len % 4 != 0)
            return fail(L, CAM_ERROR_INVALID_MODEL,
                        "tensor '%s' has %zu bytes of data; its shape needs %zu floats (%zu bytes)",
                        v->name, t->raw_data.len, numel, numel * 4);
        if (!dst)
            return fail(L, CAM_ERROR_INVALID_MODEL, "tensor '%s' has the wrong amount of data", v->name);
        const uint8_t *b = t->raw_data.data;
        for (size_t i = 0; i < numel; i++) {
            uint32_t u = (uint32_t)b[4 * i] | (uint32_t)b[4 * i + 1] << 8 |
                         (uint32_t)b[4 * i + 2] << 16 | (uint32_t)b[4 * i + 3] << 24;
            memcpy(&dst[i], &u, sizeof u);
        }
    } else if (t->n_float_data > 0) {
        if (t->n_float_data != numel)
            return fail(L, CAM_ERROR_INVALID_MODEL,
                        "tensor '%s' has %zu values; its shape needs %zu", v->name,
                        t->n_float_data, numel);
        if (!dst)
            return fail(L, CAM_ERROR_INVALID_MODEL, "tensor '%s' has the wrong amount of data", v->name);
        memcpy(dst, t->float_data, numel * sizeof *dst);
    } else {
        return fail(L, CAM_ERROR_INVALID_MODEL, "tensor '%s' has no data (its shape needs %zu floats)",
                    v->name, numel);
    }
    for (size_t i = 0; i < numel; i++)
        if (!isfinite(dst[i]))
            return fail(L, CAM_ERROR_INVALID_MODEL, "tensor '%s' has %s at element %zu",
                        v->name, isnan(dst[i]) ? "a NaN" : "an infinite value", i);
    return CAM_OK;
}

/* Reads a small INT64 (or INT32) constant vector of rank <= 1: count <= max. */
static cam_status read_ints(loader *L, const value *v, int64_t *dst, size_t max, size_t *count)
{
    const Onnx__TensorProto *t = v->tensor;
    int rank, dims[4];
    size_t numel;
    CHECK(check_storage(L, v));
    CHECK(const_shape(L, v, &rank, dims, &numel));
    if (rank > 1 || numel > max)
        return fail(L, CAM_ERROR_UNSUPPORTED, "tensor '%s' must be a vector of at most %zu integers",
                    v->name, max);
    int32_t type = t->has_data_type ? t->data_type : 0;
    size_t width = type == ONNX__TENSOR_PROTO__DATA_TYPE__INT64   ? 8
                   : type == ONNX__TENSOR_PROTO__DATA_TYPE__INT32 ? 4
                                                                  : 0;
    if (!width)
        return fail(L, CAM_ERROR_INVALID_MODEL, "tensor '%s' has element type %s; INT64 expected",
                    v->name, data_type_name(type));
    if (t->has_raw_data && t->raw_data.len > 0) {
        if (t->raw_data.len != numel * width)
            return fail(L, CAM_ERROR_INVALID_MODEL, "tensor '%s' has %zu bytes of data, expected %zu",
                        v->name, t->raw_data.len, numel * width);
        const uint8_t *b = t->raw_data.data;
        for (size_t i = 0; i < numel; i++) {
            uint64_t u = 0;
            for (size_t k = 0; k < width; k++)
                u |= (uint64_t)b[i * width + k] << (8 * k);
            if (width == 4)
                dst[i] = (int32_t)(uint32_t)u;
            else
                dst[i] = (int64_t)u;
        }
    } else if (width == 8 && t->n_int64_data == numel) {
        memcpy(dst, t->int64_data, numel * sizeof *dst);
    } else if (width == 4 && t->n_int32_data == numel) {
        for (size_t i = 0; i < numel; i++)
            dst[i] = t->int32_data[i];
    } else {
        return fail(L, CAM_ERROR_INVALID_MODEL, "tensor '%s' does not hold %zu integers", v->name,
                    numel);
    }
    *count = numel;
    return CAM_OK;
}

/* A BOOL scalar constant (Dropout's training_mode). */
static cam_status read_bool(loader *L, const value *v, int *out)
{
    const Onnx__TensorProto *t = v->tensor;
    int rank, dims[4];
    size_t numel;
    CHECK(check_storage(L, v));
    CHECK(const_shape(L, v, &rank, dims, &numel));
    if (numel != 1 || !t->has_data_type || t->data_type != ONNX__TENSOR_PROTO__DATA_TYPE__BOOL)
        return fail(L, CAM_ERROR_INVALID_MODEL, "tensor '%s' must be one BOOL", v->name);
    if (t->has_raw_data && t->raw_data.len == 1)
        *out = t->raw_data.data[0] != 0;
    else if (t->n_int32_data == 1)
        *out = t->int32_data[0] != 0;
    else
        return fail(L, CAM_ERROR_INVALID_MODEL, "tensor '%s' has no BOOL value", v->name);
    return CAM_OK;
}

/* ------------------------------------------------------------------------ */
/* Attributes                                                               */
/* ------------------------------------------------------------------------ */

static const Onnx__AttributeProto *find_attr(const Onnx__NodeProto *node, const char *name)
{
    for (size_t i = 0; i < node->n_attribute; i++)
        if (node->attribute[i] && strcmp(STR(node->attribute[i]->name), name) == 0)
            return node->attribute[i];
    return NULL;
}

/* Every attribute must be known for the op, typed, and given once. */
static cam_status check_attrs(loader *L, const Onnx__NodeProto *node, const char *const *allowed)
{
    if (node->n_attribute > 32)
        return node_fail(L, CAM_ERROR_INVALID_MODEL, "has %zu attributes", node->n_attribute);
    for (size_t i = 0; i < node->n_attribute; i++) {
        const Onnx__AttributeProto *a = node->attribute[i];
        const char *name = a ? STR(a->name) : "";
        if (!a || !*name)
            return node_fail(L, CAM_ERROR_INVALID_MODEL, "attribute %zu has no name", i);
        if (a->ref_attr_name && *a->ref_attr_name)
            return node_fail(L, CAM_ERROR_INVALID_MODEL,
                             "attribute '%s' refers to a function attribute", name);
        if (!a->has_type || a->type == ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__UNDEFINED)
            return node_fail(L, CAM_ERROR_INVALID_MODEL, "attribute '%s' has no type", name);
        int known = 0;
        for (const char *const *k = allowed; *k; k++)
            if (strcmp(*k, name) == 0)
                known = 1;
        if (!known)
            return node_fail(L, CAM_ERROR_UNSUPPORTED, "attribute '%s' is not supported", name);
        for (size_t j = 0; j < i; j++)
            if (node->attribute[j] && strcmp(STR(node->attribute[j]->name), name) == 0)
                return node_fail(L, CAM_ERROR_INVALID_MODEL, "attribute '%s' is given twice", name);
    }
    return CAM_OK;
}

static cam_status attr_int(loader *L, const Onnx__NodeProto *node, const char *name, int64_t fallback,
                           int64_t *out)
{
    const Onnx__AttributeProto *a = find_attr(node, name);
    *out = fallback;
    if (!a)
        return CAM_OK;
    if (a->type != ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT)
        return node_fail(L, CAM_ERROR_INVALID_MODEL, "attribute '%s' must be an INT", name);
    *out = a->i;
    return CAM_OK;
}

static cam_status attr_float(loader *L, const Onnx__NodeProto *node, const char *name, float fallback,
                             float *out)
{
    const Onnx__AttributeProto *a = find_attr(node, name);
    *out = fallback;
    if (!a)
        return CAM_OK;
    if (a->type != ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT)
        return node_fail(L, CAM_ERROR_INVALID_MODEL, "attribute '%s' must be a FLOAT", name);
    if (!isfinite(a->f))
        return node_fail(L, CAM_ERROR_INVALID_MODEL, "attribute '%s' is not finite", name);
    *out = a->f;
    return CAM_OK;
}

/* INTS attribute of exactly `count` values, each in [lo, hi]; *present = 0 if absent. */
static cam_status attr_ints(loader *L, const Onnx__NodeProto *node, const char *name, size_t count,
                            int64_t lo, int64_t hi, int64_t *out, int *present)
{
    const Onnx__AttributeProto *a = find_attr(node, name);
    *present = 0;
    if (!a)
        return CAM_OK;
    if (a->type != ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS)
        return node_fail(L, CAM_ERROR_INVALID_MODEL, "attribute '%s' must be INTS", name);
    if (a->n_ints != count)
        return node_fail(L, CAM_ERROR_UNSUPPORTED,
                         "attribute '%s' has %zu values; %zu expected (2-D only)", name, a->n_ints,
                         count);
    for (size_t i = 0; i < count; i++) {
        if (a->ints[i] < lo || a->ints[i] > hi)
            return node_fail(L, CAM_ERROR_INVALID_MODEL,
                             "attribute '%s' value %lld is out of range [%lld, %lld]", name,
                             (long long)a->ints[i], (long long)lo, (long long)hi);
        out[i] = a->ints[i];
    }
    *present = 1;
    return CAM_OK;
}

/* STRING attribute as a C string in buf (absent: fallback). */
static cam_status attr_string(loader *L, const Onnx__NodeProto *node, const char *name,
                              const char *fallback, char *buf, size_t size)
{
    const Onnx__AttributeProto *a = find_attr(node, name);
    if (!a) {
        snprintf(buf, size, "%s", fallback);
        return CAM_OK;
    }
    if (a->type != ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRING)
        return node_fail(L, CAM_ERROR_INVALID_MODEL, "attribute '%s' must be a STRING", name);
    size_t n = a->s.len;
    if (n >= size || (n > 0 && memchr(a->s.data, 0, n)))
        return node_fail(L, CAM_ERROR_INVALID_MODEL, "attribute '%s' has an invalid value", name);
    if (n)
        memcpy(buf, a->s.data, n);
    buf[n] = '\0';
    return CAM_OK;
}

/* ------------------------------------------------------------------------ */
/* IR construction                                                          */
/* ------------------------------------------------------------------------ */

static int new_tensor(loader *L, const char *name, cam_tensor_kind kind)
{
    if (L->n_tensors >= L->cap_tensors)
        return -1;
    char *copy = dup_string(name);
    if (!copy)
        return -1;
    int index = L->n_tensors++;
    cam_tensor *t = &L->tensors[index];
    memset(t, 0, sizeof *t);
    t->name = copy;
    t->kind = kind;
    t->producer = -1;
    t->consumer = -1;
    L->tensor_data[index] = NULL;
    return index;
}

/* An activation tensor (per-image shape rank 3 or 1) for value v. */
static cam_status new_activation(loader *L, int vi, int rank, const int64_t *dims, int *out)
{
    value *v = &L->values[vi];
    size_t numel = 1;
    for (int i = 0; i < rank; i++) {
        if (dims[i] < 1 || dims[i] > CAM_GRAPH_MAX_DIM)
            return node_fail(L, CAM_ERROR_INVALID_MODEL,
                             "output '%s' would have dimension %lld (allowed 1..%d)", v->name,
                             (long long)dims[i], CAM_GRAPH_MAX_DIM);
        numel *= (size_t)dims[i];
        if (numel > CAM_GRAPH_MAX_NUMEL)
            return node_fail(L, CAM_ERROR_INVALID_MODEL, "output '%s' would be too large",
                             v->name);
    }
    int ti = new_tensor(L, v->name, CAM_TENSOR_ACTIVATION);
    if (ti < 0)
        return no_memory(L);
    cam_tensor *t = &L->tensors[ti];
    t->rank = rank;
    for (int i = 0; i < rank; i++)
        t->dims[i] = (int)dims[i];
    t->channels = (int)dims[0];
    t->height = rank == 3 ? (int)dims[1] : 1;
    t->width = rank == 3 ? (int)dims[2] : 1;
    t->numel = numel;
    v->ir = ti;
    *out = ti;
    return CAM_OK;
}

/* The IR weight tensor for constant value vi (created on first use). */
static cam_status weight_tensor(loader *L, int vi, int *out)
{
    value *v = &L->values[vi];
    if (v->kind != VALUE_CONST)
        return node_fail(L, CAM_ERROR_UNSUPPORTED,
                         "input '%s' must be a constant (an initializer or a Constant node)",
                         v->name);
    if (v->ir >= 0) {
        *out = v->ir;
        return CAM_OK;
    }
    int rank, dims[4];
    size_t numel;
    cam_status shape_status = const_shape(L, v, &rank, dims, &numel);
    if (shape_status != CAM_OK) {
        cam_error_prefix(L->err, "node '%s' (%s)", STR(L->cur_name), STR(L->cur_type));
        return shape_status;
    }
    /* the file must hold that many floats before anything is allocated for them */
    const Onnx__TensorProto *tp = v->tensor;
    size_t stored = tp->has_raw_data && tp->raw_data.len > 0 ? tp->raw_data.len / 4 : tp->n_float_data;
    if (stored != numel) {
        cam_status bad = read_floats(L, v, numel, NULL); /* names the precise fault */
        cam_error_prefix(L->err, "node '%s' (%s)", STR(L->cur_name), STR(L->cur_type));
        return bad;
    }
    CHECK(reserve_weights(L, numel));
    float *data = malloc(numel * sizeof *data);
    if (!data)
        return no_memory(L);
    cam_status status = read_floats(L, v, numel, data);
    if (status != CAM_OK) {
        free(data);
        cam_error_prefix(L->err, "node '%s' (%s)", STR(L->cur_name), STR(L->cur_type));
        return status;
    }
    int ti = new_tensor(L, v->name, CAM_TENSOR_WEIGHT);
    if (ti < 0) {
        free(data);
        return no_memory(L);
    }
    cam_tensor *t = &L->tensors[ti];
    t->rank = rank;
    memcpy(t->dims, dims, sizeof t->dims);
    t->numel = numel;
    L->tensor_data[ti] = data;
    v->ir = ti;
    *out = ti;
    return CAM_OK;
}

static cam_node *new_node(loader *L, cam_op op, const char *op_type, int input)
{
    if (L->n_nodes >= L->cap_nodes)
        return NULL;
    char *name = dup_string(L->cur_name);
    char *type = dup_string(op_type);
    if (!name || !type) {
        free(name);
        free(type);
        return NULL;
    }
    int index = L->n_nodes++;
    cam_node *n = &L->nodes[index];
    memset(n, 0, sizeof *n);
    n->op = op;
    n->name = name;
    n->op_type = type;
    n->input = input;
    n->output = -1;
    n->params[0] = n->params[1] = n->params[2] = -1;
    n->kernel_h = n->kernel_w = 1;
    n->stride_h = n->stride_w = 1;
    n->dilation_h = n->dilation_w = 1;
    n->group = 1;
    L->node_weight[index] = L->node_bias[index] = NULL;
    L->node_weight_n[index] = L->node_bias_n[index] = 0;
    L->node_weight_src[index] = L->node_bias_src[index] = -1;
    return n;
}

/* ------------------------------------------------------------------------ */
/* 5. Ops                                                                   */
/* ------------------------------------------------------------------------ */

typedef struct op_context {
    int onnx_index;
    const Onnx__NodeProto *node;
    int x;        /* activation input: IR tensor */
    int out_value;/* value index of output 0 */
} op_context;

static const cam_tensor *X(loader *L, const op_context *c)
{
    return &L->tensors[c->x];
}

/* Value index of input i, or -1 when absent/empty. */
static int input_value(loader *L, const op_context *c, size_t i)
{
    if (i >= c->node->n_input)
        return -1;
    return L->node_inputs[c->onnx_index][i];
}

static cam_status need_inputs(loader *L, const op_context *c, size_t lo, size_t hi)
{
    size_t n = c->node->n_input;
    if (n < lo || n > hi)
        return node_fail(L, CAM_ERROR_INVALID_MODEL, "has %zu inputs; %zu to %zu expected", n, lo,
                         hi);
    for (size_t i = 0; i < lo; i++)
        if (input_value(L, c, i) < 0)
            return node_fail(L, CAM_ERROR_INVALID_MODEL, "required input %zu is empty", i);
    return CAM_OK;
}

static void shape_string(const cam_tensor *t, char *buf, size_t size)
{
    if (t->rank == 3)
        snprintf(buf, size, "%dx%dx%d", t->dims[0], t->dims[1], t->dims[2]);
    else
        snprintf(buf, size, "%d", t->dims[0]);
}

static cam_status need_rank(loader *L, const op_context *c, int rank, const char *what)
{
    if (X(L, c)->rank != rank) {
        char shape[48];
        shape_string(X(L, c), shape, sizeof shape);
        return node_fail(L, CAM_ERROR_UNSUPPORTED, "input '%s' has per-image shape %s; %s", X(L, c)->name,
                         shape, what);
    }
    return CAM_OK;
}

static cam_status finish_node(loader *L, const op_context *c, cam_node *n, int rank, const int64_t *dims)
{
    int out;
    CHECK(new_activation(L, c->out_value, rank, dims, &out));
    n->output = out;
    int index = (int)(n - L->nodes);
    L->tensors[out].producer = index;
    L->tensors[c->x].consumer = index;
    return CAM_OK;
}

static cam_status simple_op(loader *L, const op_context *c, cam_op op, const char *const *attrs)
{
    CHECK(check_attrs(L, c->node, attrs));
    cam_node *n = new_node(L, op, STR(c->node->op_type), c->x);
    if (!n)
        return no_memory(L);
    const cam_tensor *x = X(L, c);
    int64_t dims[3] = {x->dims[0], x->dims[1], x->dims[2]};
    return finish_node(L, c, n, x->rank, dims);
}

/* Window geometry shared by Conv and MaxPool: resolves auto_pad, checks sizes. */
typedef struct window {
    int64_t kernel[2], stride[2], dilation[2], pads[4];
    int64_t out[2];
} window;

static cam_status window_geometry(loader *L, const op_context *c, window *w, int ceil_mode,
                                  int is_pool)
{
    const cam_tensor *x = X(L, c);
    int64_t in[2] = {x->dims[1], x->dims[2]};
    int present;
    char auto_pad[32];
    CHECK(attr_ints(L, c->node, "strides", 2, 1, CAM_GRAPH_MAX_DIM, w->stride, &present));
    if (!present)
        w->stride[0] = w->stride[1] = 1;
    CHECK(attr_ints(L, c->node, "dilations", 2, 1, CAM_GRAPH_MAX_DIM, w->dilation, &present));
    if (!present)
        w->dilation[0] = w->dilation[1] = 1;
    CHECK(attr_ints(L, c->node, "pads", 4, 0, CAM_GRAPH_MAX_DIM, w->pads, &present));
    if (!present)
        memset(w->pads, 0, sizeof w->pads);
    CHECK(attr_string(L, c->node, "auto_pad", "NOTSET", auto_pad, sizeof auto_pad));
    int64_t effective[2];
    for (int i = 0; i < 2; i++)
        effective[i] = w->dilation[i] * (w->kernel[i] - 1) + 1;
    if (strcmp(auto_pad, "NOTSET") == 0) {
        /* explicit pads (or none) */
    } else if (strcmp(auto_pad, "VALID") == 0) {
        memset(w->pads, 0, sizeof w->pads);
    } else if (strcmp(auto_pad, "SAME_UPPER") == 0 || strcmp(auto_pad, "SAME_LOWER") == 0) {
        for (int i = 0; i < 2; i++) {
            int64_t out = (in[i] + w->stride[i] - 1) / w->stride[i];
            int64_t total = (out - 1) * w->stride[i] + effective[i] - in[i];
            if (total < 0)
                total = 0;
            int64_t small = total / 2, large = total - small;
            int upper = auto_pad[5] == 'U';
            w->pads[i] = upper ? small : large;
            w->pads[i + 2] = upper ? large : small;
        }
        ceil_mode = 0;
    } else {
        return node_fail(L, CAM_ERROR_INVALID_MODEL, "auto_pad '%s' is not a valid value", auto_pad);
    }
    for (int i = 0; i < 2; i++) {
        int64_t padded = in[i] + w->pads[i] + w->pads[i + 2];
        if (padded < effective[i])
            return node_fail(L, CAM_ERROR_INVALID_MODEL,
                             "window %lldx%lld (dilated %lldx%lld) is larger than the padded input "
                             "%lldx%lld", (long long)w->kernel[0], (long long)w->kernel[1],
                             (long long)effective[0], (long long)effective[1],
                             (long long)(in[0] + w->pads[0] + w->pads[2]),
                             (long long)(in[1] + w->pads[1] + w->pads[3]));
        int64_t span = padded - effective[i];
        int64_t out;
        if (ceil_mode) {
            out = (span + w->stride[i] - 1) / w->stride[i] + 1;
            if ((out - 1) * w->stride[i] >= in[i] + w->pads[i])
                out--;
        } else {
            out = span / w->stride[i] + 1;
        }
        w->out[i] = out;
        if (is_pool) {
            /* every window must see at least one real pixel (padding is -inf) */
            for (int64_t o = 0; o < out; o++) {
                int64_t start = o * w->stride[i] - w->pads[i];
                int64_t k0 = start >= 0 ? 0 : (-start + w->dilation[i] - 1) / w->dilation[i];
                int seen = k0 < w->kernel[i] && start + k0 * w->dilation[i] < in[i];
                if (!seen)
                    return node_fail(L, CAM_ERROR_INVALID_MODEL,
                                     "pooling window %lld covers only padding", (long long)o);
            }
        }
    }
    return CAM_OK;
}

static void set_window(cam_node *n, const window *w)
{
    n->kernel_h = (int)w->kernel[0];
    n->kernel_w = (int)w->kernel[1];
    n->stride_h = (int)w->stride[0];
    n->stride_w = (int)w->stride[1];
    n->dilation_h = (int)w->dilation[0];
    n->dilation_w = (int)w->dilation[1];
    n->pad_top = (int)w->pads[0];
    n->pad_left = (int)w->pads[1];
    n->pad_bottom = (int)w->pads[2];
    n->pad_right = (int)w->pads[3];
}

static cam_status op_conv(loader *L, const op_context *c)
{
    static const char *const attrs[] = {"auto_pad", "dilations", "group", "kernel_shape", "pads",
                                        "strides", NULL};
    CHECK(check_attrs(L, c->node, attrs));
    CHECK(need_inputs(L, c, 2, 3));
    CHECK(need_rank(L, c, 3, "Conv needs C x H x W"));
    const cam_tensor *x = X(L, c);
    int wt, bt = -1;
    CHECK(weight_tensor(L, input_value(L, c, 1), &wt));
    if (input_value(L, c, 2) >= 0)
        CHECK(weight_tensor(L, input_value(L, c, 2), &bt));
    const cam_tensor *W = &L->tensors[wt];
    int64_t group;
    CHECK(attr_int(L, c->node, "group", 1, &group));
    if (group < 1 || group > x->dims[0])
        return node_fail(L, CAM_ERROR_INVALID_MODEL, "group %lld is out of range", (long long)group);
    if (W->rank != 4)
        return node_fail(L, CAM_ERROR_UNSUPPORTED, "weight '%s' has rank %d; only 2-D convolutions "
                         "(rank-4 weights) are supported", W->name, W->rank);
    int64_t out_channels = W->dims[0];
    if (x->dims[0] % group != 0 || out_channels % group != 0 || W->dims[1] * group != x->dims[0])
        return node_fail(L, CAM_ERROR_INVALID_MODEL,
                         "weight '%s' (%dx%dx%dx%d, group %lld) does not fit the input's %d channels",
                         W->name, W->dims[0], W->dims[1], W->dims[2], W->dims[3], (long long)group,
                         x->dims[0]);
    window w;
    w.kernel[0] = W->dims[2];
    w.kernel[1] = W->dims[3];
    int64_t kernel_shape[2];
    int present;
    CHECK(attr_ints(L, c->node, "kernel_shape", 2, 1, CAM_GRAPH_MAX_DIM, kernel_shape, &present));
    if (present && (kernel_shape[0] != w.kernel[0] || kernel_shape[1] != w.kernel[1]))
        return node_fail(L, CAM_ERROR_INVALID_MODEL,
                         "kernel_shape %lldx%lld does not match weight '%s' (%dx%d)",
                         (long long)kernel_shape[0], (long long)kernel_shape[1], W->name,
                         W->dims[2], W->dims[3]);
    CHECK(window_geometry(L, c, &w, 0, 0));
    if (bt >= 0) {
        const cam_tensor *B = &L->tensors[bt];
        if (B->rank != 1 || B->dims[0] != out_channels)
            return node_fail(L, CAM_ERROR_INVALID_MODEL, "bias '%s' must have %lld values",
                             B->name, (long long)out_channels);
    }
    /* im2col of one image */
    uint64_t cols = (uint64_t)(x->dims[0] / group) * (uint64_t)w.kernel[0] * (uint64_t)w.kernel[1];
    uint64_t rows = (uint64_t)w.out[0] * (uint64_t)w.out[1];
    if (cols > CAM_GRAPH_MAX_NUMEL || rows > CAM_GRAPH_MAX_NUMEL ||
        cols * rows > CAM_GRAPH_MAX_NUMEL)
        return node_fail(L, CAM_ERROR_UNSUPPORTED, "the convolution is too large");
    cam_node *n = new_node(L, CAM_OP_CONV, "Conv", c->x);
    if (!n)
        return no_memory(L);
    set_window(n, &w);
    n->group = (int)group;
    n->in_channels = x->dims[0];
    n->out_channels = (int)out_channels;
    n->params[0] = wt;
    n->params[1] = bt;
    int index = (int)(n - L->nodes);
    L->node_weight_src[index] = wt;
    L->node_bias_src[index] = bt;
    int64_t dims[3] = {out_channels, w.out[0], w.out[1]};
    return finish_node(L, c, n, 3, dims);
}

static cam_status op_maxpool(loader *L, const op_context *c)
{
    static const char *const attrs[] = {"auto_pad", "ceil_mode", "dilations", "kernel_shape",
                                        "pads", "storage_order", "strides", NULL};
    CHECK(check_attrs(L, c->node, attrs));
    CHECK(need_inputs(L, c, 1, 1));
    CHECK(need_rank(L, c, 3, "MaxPool needs C x H x W"));
    window w;
    int present;
    CHECK(attr_ints(L, c->node, "kernel_shape", 2, 1, CAM_GRAPH_MAX_DIM, w.kernel, &present));
    if (!present)
        return node_fail(L, CAM_ERROR_INVALID_MODEL, "attribute 'kernel_shape' is missing");
    int64_t ceil_mode, storage_order;
    CHECK(attr_int(L, c->node, "ceil_mode", 0, &ceil_mode));
    CHECK(attr_int(L, c->node, "storage_order", 0, &storage_order));
    if (ceil_mode != 0 && ceil_mode != 1)
        return node_fail(L, CAM_ERROR_INVALID_MODEL, "ceil_mode must be 0 or 1");
    if (storage_order != 0)
        return node_fail(L, CAM_ERROR_UNSUPPORTED, "storage_order %lld is not supported",
                         (long long)storage_order);
    CHECK(window_geometry(L, c, &w, (int)ceil_mode, 1));
    cam_node *n = new_node(L, CAM_OP_MAXPOOL, "MaxPool", c->x);
    if (!n)
        return no_memory(L);
    set_window(n, &w);
    n->ceil_mode = (int)ceil_mode;
    int64_t dims[3] = {X(L, c)->dims[0], w.out[0], w.out[1]};
    return finish_node(L, c, n, 3, dims);
}

static cam_status op_global_average_pool(loader *L, const op_context *c)
{
    static const char *const attrs[] = {NULL};
    CHECK(check_attrs(L, c->node, attrs));
    CHECK(need_inputs(L, c, 1, 1));
    CHECK(need_rank(L, c, 3, "GlobalAveragePool needs C x H x W"));
    cam_node *n = new_node(L, CAM_OP_GLOBAL_AVERAGE_POOL, "GlobalAveragePool", c->x);
    if (!n)
        return no_memory(L);
    int64_t dims[3] = {X(L, c)->dims[0], 1, 1};
    return finish_node(L, c, n, 3, dims);
}

static cam_status op_reduce_mean(loader *L, const op_context *c)
{
    static const char *const attrs[] = {"axes", "keepdims", "noop_with_empty_axes", NULL};
    CHECK(check_attrs(L, c->node, attrs));
    CHECK(need_inputs(L, c, 1, 2));
    CHECK(need_rank(L, c, 3, "ReduceMean is supported over H and W of N x C x H x W"));
    int64_t axes[8];
    size_t n_axes = 0;
    const Onnx__AttributeProto *a = find_attr(c->node, "axes");
    if (a) {
        if (a->type != ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS || a->n_ints > 8)
            return node_fail(L, CAM_ERROR_INVALID_MODEL, "attribute 'axes' must be INTS");
        n_axes = a->n_ints;
        memcpy(axes, a->ints, n_axes * sizeof *axes);
    } else if (input_value(L, c, 1) >= 0) {
        const value *v = &L->values[input_value(L, c, 1)];
        if (v->kind != VALUE_CONST)
            return node_fail(L, CAM_ERROR_UNSUPPORTED, "input 'axes' must be a constant");
        CHECK(read_ints(L, v, axes, 8, &n_axes));
    }
    int seen[4] = {0, 0, 0, 0};
    for (size_t i = 0; i < n_axes; i++) {
        int64_t axis = axes[i] < 0 ? axes[i] + 4 : axes[i];
        if (axis < 0 || axis > 3 || seen[axis])
            return node_fail(L, CAM_ERROR_INVALID_MODEL, "axis %lld is invalid", (long long)axes[i]);
        seen[axis] = 1;
    }
    if (n_axes != 2 || !seen[2] || !seen[3])
        return node_fail(L, CAM_ERROR_UNSUPPORTED,
                         "only the mean over axes 2 and 3 (H and W) is supported");
    int64_t keepdims;
    CHECK(attr_int(L, c->node, "keepdims", 1, &keepdims));
    cam_node *n = new_node(L, CAM_OP_GLOBAL_AVERAGE_POOL, "ReduceMean", c->x);
    if (!n)
        return no_memory(L);
    int64_t dims[3] = {X(L, c)->dims[0], 1, 1};
    return finish_node(L, c, n, keepdims ? 3 : 1, dims);
}

static cam_status op_flatten(loader *L, const op_context *c)
{
    static const char *const attrs[] = {"axis", NULL};
    CHECK(check_attrs(L, c->node, attrs));
    CHECK(need_inputs(L, c, 1, 1));
    int64_t axis, full_rank = X(L, c)->rank + 1;
    CHECK(attr_int(L, c->node, "axis", 1, &axis));
    if (axis < 0)
        axis += full_rank;
    if (axis != 1)
        return node_fail(L, CAM_ERROR_UNSUPPORTED, "only Flatten with axis 1 is supported");
    cam_node *n = new_node(L, CAM_OP_FLATTEN, "Flatten", c->x);
    if (!n)
        return no_memory(L);
    int64_t dims[1] = {(int64_t)X(L, c)->numel};
    return finish_node(L, c, n, 1, dims);
}

static cam_status op_reshape(loader *L, const op_context *c)
{
    static const char *const attrs[] = {"allowzero", NULL};
    CHECK(check_attrs(L, c->node, attrs));
    CHECK(need_inputs(L, c, 2, 2));
    const value *v = &L->values[input_value(L, c, 1)];
    if (v->kind != VALUE_CONST)
        return node_fail(L, CAM_ERROR_UNSUPPORTED,
                         "its shape '%s' must be a constant (export with constant folding)",
                         v->name);
    int64_t shape[8], allowzero;
    size_t n_shape;
    CHECK(attr_int(L, c->node, "allowzero", 0, &allowzero));
    CHECK(read_ints(L, v, shape, 8, &n_shape));
    int64_t numel = (int64_t)X(L, c)->numel;
    int batch_ok = n_shape == 2 && ((shape[0] == 0 && !allowzero) || shape[0] == -1 ||
                                    (L->batch_fixed > 0 && shape[0] == L->batch_fixed));
    int rest_ok = n_shape == 2 && (shape[1] == numel || (shape[1] == -1 && shape[0] != -1));
    if (!batch_ok || !rest_ok) {
        char text[96] = "";
        size_t at = 0;
        for (size_t i = 0; i < n_shape && at < sizeof text - 24; i++)
            at += (size_t)snprintf(text + at, sizeof text - at, "%s%lld", i ? ", " : "",
                                   (long long)shape[i]);
        return node_fail(L, CAM_ERROR_UNSUPPORTED,
                         "Reshape to [%s] is not supported; only flattening to [N, %lld] is", text,
                         (long long)numel);
    }
    cam_node *n = new_node(L, CAM_OP_FLATTEN, "Reshape", c->x);
    if (!n)
        return no_memory(L);
    int64_t dims[1] = {numel};
    return finish_node(L, c, n, 1, dims);
}

static cam_status check_derived(loader *L, const float *weight, size_t n_weight, const float *bias,
                                size_t n_bias)
{
    for (size_t i = 0; i < n_weight; i++)
        if (!isfinite(weight[i]))
            return node_fail(L, CAM_ERROR_INVALID_MODEL, "folded weights overflow");
    for (size_t i = 0; i < n_bias; i++)
        if (!isfinite(bias[i]))
            return node_fail(L, CAM_ERROR_INVALID_MODEL, "folded bias overflows");
    return CAM_OK;
}

/* Gemm and MatMul: x (K) -> y (M) with a constant weight. */
static cam_status dense(loader *L, const op_context *c, const char *op_type, int wt, int bt,
                        int trans_b, float alpha, float beta)
{
    const cam_tensor *x = X(L, c), *W = &L->tensors[wt];
    if (W->rank != 2)
        return node_fail(L, CAM_ERROR_UNSUPPORTED, "weight '%s' must be a matrix (rank 2)", W->name);
    int64_t K = trans_b ? W->dims[1] : W->dims[0];
    int64_t M = trans_b ? W->dims[0] : W->dims[1];
    if (K != (int64_t)x->numel)
        return node_fail(L, CAM_ERROR_INVALID_MODEL,
                         "weight '%s' is %dx%d; it does not fit the input's %zu features", W->name,
                         W->dims[0], W->dims[1], x->numel);
    if (bt >= 0) {
        const cam_tensor *B = &L->tensors[bt];
        int ok = B->numel == 1 || (B->numel == (size_t)M && B->dims[B->rank - 1] == M && B->rank <= 2);
        if (!ok)
            return node_fail(L, CAM_ERROR_UNSUPPORTED, "bias '%s' must have 1 or %lld values",
                             B->name, (long long)M);
    }
    cam_node *n = new_node(L, CAM_OP_GEMM, op_type, c->x);
    if (!n)
        return no_memory(L);
    int index = (int)(n - L->nodes);
    n->in_features = (int)K;
    n->out_features = (int)M;
    n->params[0] = wt;
    n->params[1] = bt;
    size_t nw = (size_t)K * (size_t)M;
    CHECK(reserve_weights(L, nw + (bt >= 0 ? (size_t)M : 0)));
    float *weight = malloc(nw * sizeof *weight);
    float *bias = bt >= 0 ? malloc((size_t)M * sizeof *bias) : NULL;
    L->node_weight[index] = weight;
    L->node_bias[index] = bias;
    L->node_weight_n[index] = weight ? nw : 0;
    L->node_bias_n[index] = bias ? (size_t)M : 0;
    if (!weight || (bt >= 0 && !bias))
        return no_memory(L);
    const float *w = L->tensor_data[wt];
    for (int64_t m = 0; m < M; m++)
        for (int64_t k = 0; k < K; k++)
            weight[m * K + k] = alpha * (trans_b ? w[m * K + k] : w[k * M + m]);
    if (bias) {
        const float *b = L->tensor_data[bt];
        size_t nb = L->tensors[bt].numel;
        for (int64_t m = 0; m < M; m++)
            bias[m] = beta * b[nb == 1 ? 0 : m];
    }
    CHECK(check_derived(L, weight, nw, bias, bias ? (size_t)M : 0));
    int64_t dims[1] = {M};
    return finish_node(L, c, n, 1, dims);
}

static cam_status op_gemm(loader *L, const op_context *c)
{
    static const char *const attrs[] = {"alpha", "beta", "transA", "transB", NULL};
    CHECK(check_attrs(L, c->node, attrs));
    CHECK(need_inputs(L, c, 2, 3));
    CHECK(need_rank(L, c, 1, "Gemm needs N x features (add a Flatten)"));
    int64_t trans_a, trans_b;
    float alpha, beta;
    CHECK(attr_int(L, c->node, "transA", 0, &trans_a));
    CHECK(attr_int(L, c->node, "transB", 0, &trans_b));
    CHECK(attr_float(L, c->node, "alpha", 1.0f, &alpha));
    CHECK(attr_float(L, c->node, "beta", 1.0f, &beta));
    if (trans_a != 0)
        return node_fail(L, CAM_ERROR_UNSUPPORTED, "transA=%lld is not supported",
                         (long long)trans_a);
    if (trans_b != 0 && trans_b != 1)
        return node_fail(L, CAM_ERROR_INVALID_MODEL, "transB must be 0 or 1");
    int wt, bt = -1;
    CHECK(weight_tensor(L, input_value(L, c, 1), &wt));
    if (input_value(L, c, 2) >= 0)
        CHECK(weight_tensor(L, input_value(L, c, 2), &bt));
    return dense(L, c, "Gemm", wt, bt, (int)trans_b, alpha, beta);
}

static cam_status op_matmul(loader *L, const op_context *c)
{
    static const char *const attrs[] = {NULL};
    CHECK(check_attrs(L, c->node, attrs));
    CHECK(need_inputs(L, c, 2, 2));
    CHECK(need_rank(L, c, 1, "MatMul needs N x features (add a Flatten)"));
    int wt;
    CHECK(weight_tensor(L, input_value(L, c, 1), &wt));
    return dense(L, c, "MatMul", wt, -1, 0, 1.0f, 1.0f);
}

/* Add with one constant operand, broadcast to the activation's per-image shape;
 * fused into a preceding bias-less GEMM. */
static cam_status op_add(loader *L, const op_context *c)
{
    static const char *const attrs[] = {NULL};
    CHECK(check_attrs(L, c->node, attrs));
    CHECK(need_inputs(L, c, 2, 2));
    int a = input_value(L, c, 0), b = input_value(L, c, 1);
    int constant = L->values[a].kind == VALUE_CONST ? a : b;
    if (L->values[a].kind != VALUE_CONST && L->values[b].kind != VALUE_CONST)
        return node_fail(L, CAM_ERROR_UNSUPPORTED,
                         "Add of two activations ('%s' + '%s') is not supported",
                         L->values[a].name, L->values[b].name);
    int bt;
    CHECK(weight_tensor(L, constant, &bt));
    const cam_tensor *x = X(L, c), *B = &L->tensors[bt];
    /* numpy broadcasting, right-aligned against N x (per-image dims) */
    int full = x->rank + 1;
    int64_t xdims[4] = {1, 0, 0, 0};
    for (int i = 0; i < x->rank; i++)
        xdims[i + 1] = x->dims[i];
    if (B->rank > full)
        return node_fail(L, CAM_ERROR_UNSUPPORTED, "constant '%s' has a higher rank than the input",
                         B->name);
    int64_t bdims[4] = {1, 1, 1, 1};
    for (int i = 0; i < B->rank; i++)
        bdims[full - B->rank + i] = B->dims[i];
    for (int i = 0; i < full; i++)
        if (bdims[i] != 1 && bdims[i] != xdims[i])
            return node_fail(L, CAM_ERROR_UNSUPPORTED,
                             "constant '%s' does not broadcast to the input's shape", B->name);
    size_t numel = x->numel;
    CHECK(reserve_weights(L, numel));
    float *bias = malloc(numel * sizeof *bias);
    if (!bias)
        return no_memory(L);
    const float *src = L->tensor_data[bt];
    /* strides of the constant over the per-image dims (0 where broadcast) */
    size_t stride[3] = {0, 0, 0}, s = 1;
    for (int i = full - 1; i >= 1; i--) {
        stride[i - 1] = bdims[i] == 1 ? 0 : s;
        s *= (size_t)bdims[i];
    }
    int64_t d0 = xdims[1], d1 = full > 2 ? xdims[2] : 1, d2 = full > 3 ? xdims[3] : 1;
    size_t at = 0;
    for (int64_t i = 0; i < d0; i++)
        for (int64_t j = 0; j < d1; j++)
            for (int64_t k = 0; k < d2; k++)
                bias[at++] = src[(size_t)i * stride[0] + (size_t)j * stride[1] + (size_t)k * stride[2]];

    /* Fuse into the GEMM that produced x (MatMul + Add = Gemm). */
    int producer = L->tensors[c->x].producer;
    if (producer >= 0 && producer == L->n_nodes - 1 && L->nodes[producer].op == CAM_OP_GEMM &&
        !L->node_bias[producer] && L->tensors[c->x].rank == 1) {
        cam_node *g = &L->nodes[producer];
        size_t nn = strlen(g->name) + strlen(L->cur_name) + 2;
        size_t nt = strlen(g->op_type) + 5;
        char *name = malloc(nn), *type = malloc(nt);
        if (!name || !type) {
            free(name);
            free(type);
            free(bias);
            return no_memory(L);
        }
        snprintf(name, nn, "%s+%s", g->name, L->cur_name);
        snprintf(type, nt, "%s+Add", g->op_type);
        free(g->name);
        free(g->op_type);
        g->name = name;
        g->op_type = type;
        g->params[2] = bt;
        L->node_bias[producer] = bias;
        L->node_bias_n[producer] = numel;
        /* the intermediate tensor becomes the Add's output (same shape) */
        char *renamed = dup_string(L->values[c->out_value].name);
        if (!renamed)
            return no_memory(L);
        int vi = find_value(L, L->tensors[c->x].name);
        if (vi >= 0) {
            L->values[vi].ir = -1;
            L->values[vi].fused = 1;
        }
        free(L->tensors[c->x].name);
        L->tensors[c->x].name = renamed;
        L->values[c->out_value].ir = c->x;
        return CAM_OK;
    }
    cam_node *n = new_node(L, CAM_OP_ADD, "Add", c->x);
    if (!n) {
        free(bias);
        return no_memory(L);
    }
    int index = (int)(n - L->nodes);
    n->params[0] = bt;
    L->node_bias[index] = bias;
    L->node_bias_n[index] = numel;
    int64_t dims[3] = {x->dims[0], x->dims[1], x->dims[2]};
    return finish_node(L, c, n, x->rank, dims);
}

static cam_status op_batchnorm(loader *L, const op_context *c)
{
    static const char *const attrs[] = {"epsilon", "momentum", "training_mode", "spatial", NULL};
    CHECK(check_attrs(L, c->node, attrs));
    CHECK(need_inputs(L, c, 5, 5));
    float epsilon, momentum;
    int64_t training_mode, spatial;
    CHECK(attr_float(L, c->node, "epsilon", 1e-5f, &epsilon));
    CHECK(attr_float(L, c->node, "momentum", 0.9f, &momentum));
    CHECK(attr_int(L, c->node, "training_mode", 0, &training_mode));
    CHECK(attr_int(L, c->node, "spatial", 1, &spatial));
    if (training_mode != 0)
        return node_fail(L, CAM_ERROR_UNSUPPORTED, "training_mode=1 is not supported (export in eval mode)");
    if (spatial != 1)
        return node_fail(L, CAM_ERROR_UNSUPPORTED, "spatial=0 is not supported");
    if (epsilon < 0)
        return node_fail(L, CAM_ERROR_INVALID_MODEL, "epsilon is negative");
    const cam_tensor *x = X(L, c);
    int64_t C = x->dims[0];
    int t[4];
    static const char *const roles[4] = {"scale", "B", "mean", "var"};
    for (int i = 0; i < 4; i++) {
        CHECK(weight_tensor(L, input_value(L, c, (size_t)i + 1), &t[i]));
        const cam_tensor *p = &L->tensors[t[i]];
        if (p->rank != 1 || p->dims[0] != C)
            return node_fail(L, CAM_ERROR_INVALID_MODEL, "%s '%s' must have %lld values (one per channel)",
                             roles[i], p->name, (long long)C);
    }
    cam_node *n = new_node(L, CAM_OP_BATCHNORM, "BatchNormalization", c->x);
    if (!n)
        return no_memory(L);
    int index = (int)(n - L->nodes);
    n->params[0] = t[0];
    n->params[1] = t[1];
    CHECK(reserve_weights(L, 2 * (size_t)C));
    float *weight = malloc((size_t)C * sizeof *weight), *bias = malloc((size_t)C * sizeof *bias);
    L->node_weight[index] = weight;
    L->node_bias[index] = bias;
    L->node_weight_n[index] = weight ? (size_t)C : 0;
    L->node_bias_n[index] = bias ? (size_t)C : 0;
    if (!weight || !bias)
        return no_memory(L);
    const float *scale = L->tensor_data[t[0]], *shift = L->tensor_data[t[1]];
    const float *mean = L->tensor_data[t[2]], *var = L->tensor_data[t[3]];
    for (int64_t i = 0; i < C; i++) {
        double denominator = (double)var[i] + (double)epsilon;
        if (!(denominator > 0))
            return node_fail(L, CAM_ERROR_INVALID_MODEL,
                             "variance '%s' + epsilon is not positive for channel %lld",
                             L->tensors[t[3]].name, (long long)i);
        double a = (double)scale[i] / sqrt(denominator);
        weight[i] = (float)a;
        bias[i] = (float)((double)shift[i] - (double)mean[i] * a);
    }
    CHECK(check_derived(L, weight, (size_t)C, bias, (size_t)C));
    int64_t dims[3] = {x->dims[0], x->dims[1], x->dims[2]};
    return finish_node(L, c, n, x->rank, dims);
}

static cam_status op_softmax(loader *L, const op_context *c)
{
    static const char *const attrs[] = {"axis", NULL};
    CHECK(check_attrs(L, c->node, attrs));
    CHECK(need_inputs(L, c, 1, 1));
    CHECK(need_rank(L, c, 1, "Softmax is supported over the features of N x features"));
    int64_t axis;
    CHECK(attr_int(L, c->node, "axis", L->opset < 13 ? 1 : -1, &axis));
    if (axis != 1 && axis != -1)
        return node_fail(L, CAM_ERROR_UNSUPPORTED, "axis %lld is not supported (only 1 or -1)",
                         (long long)axis);
    return simple_op(L, c, CAM_OP_SOFTMAX, attrs);
}

static cam_status op_dropout(loader *L, const op_context *c)
{
    static const char *const attrs[] = {"ratio", "seed", "is_test", NULL};
    CHECK(check_attrs(L, c->node, attrs));
    CHECK(need_inputs(L, c, 1, 3));
    int64_t is_test;
    CHECK(attr_int(L, c->node, "is_test", 1, &is_test));
    if (!is_test)
        return node_fail(L, CAM_ERROR_UNSUPPORTED, "Dropout in training mode is not supported");
    int tm = input_value(L, c, 2);
    if (tm >= 0) {
        const value *v = &L->values[tm];
        int training = 1;
        if (v->kind != VALUE_CONST)
            return node_fail(L, CAM_ERROR_UNSUPPORTED, "training_mode '%s' must be a constant", v->name);
        CHECK(read_bool(L, v, &training));
        if (training)
            return node_fail(L, CAM_ERROR_UNSUPPORTED, "Dropout in training mode is not supported");
    }
    return simple_op(L, c, CAM_OP_IDENTITY, attrs);
}

typedef cam_status (*op_mapper)(loader *L, const op_context *c);

static cam_status op_relu(loader *L, const op_context *c)
{
    static const char *const attrs[] = {NULL};
    CHECK(need_inputs(L, c, 1, 1));
    return simple_op(L, c, CAM_OP_RELU, attrs);
}

static cam_status op_identity(loader *L, const op_context *c)
{
    static const char *const attrs[] = {NULL};
    CHECK(need_inputs(L, c, 1, 1));
    return simple_op(L, c, CAM_OP_IDENTITY, attrs);
}

static const struct {
    const char *op_type;
    op_mapper map;
} op_table[] = {
    {"Conv", op_conv},
    {"Relu", op_relu},
    {"MaxPool", op_maxpool},
    {"GlobalAveragePool", op_global_average_pool},
    {"ReduceMean", op_reduce_mean},
    {"Flatten", op_flatten},
    {"Reshape", op_reshape},
    {"Gemm", op_gemm},
    {"MatMul", op_matmul},
    {"Add", op_add},
    {"BatchNormalization", op_batchnorm},
    {"Softmax", op_softmax},
    {"Dropout", op_dropout},
    {"Identity", op_identity},
};

#define SUPPORTED_OPS                                                                              \
    "Conv, Relu, MaxPool, GlobalAveragePool, ReduceMean, Flatten, Reshape, Gemm, MatMul, Add, "   \
    "BatchNormalization, Softmax, Dropout, Identity, Constant"

static void set_current_node(loader *L, int i)
{
    const Onnx__NodeProto *node = L->graph->node[i];
    L->cur_type = STR(node->op_type);
    if (node->name && *node->name) {
        L->cur_name = node->name;
    } else {
        snprintf(L->cur_name_buf, sizeof L->cur_name_buf, "%.60s#%d", L->cur_type, i);
        L->cur_name = L->cur_name_buf;
    }
}

static int default_domain(const char *domain)
{
    return !domain || !*domain || strcmp(domain, "ai.onnx") == 0;
}

static cam_status map_node(loader *L, int i)
{
    const Onnx__NodeProto *node = L->graph->node[i];
    set_current_node(L, i);
    op_mapper map = NULL;
    if (default_domain(node->domain))
        for (size_t k = 0; k < sizeof op_table / sizeof op_table[0]; k++)
            if (strcmp(op_table[k].op_type, L->cur_type) == 0)
                map = op_table[k].map;
    if (!map) {
        if (!default_domain(node->domain))
            return node_fail(L, CAM_ERROR_UNSUPPORTED, "op '%s' from domain '%s' is not supported",
                             L->cur_type, node->domain);
        return node_fail(L, CAM_ERROR_UNSUPPORTED,
                         "op '%s' is not supported (supported: " SUPPORTED_OPS ")", L->cur_type);
    }
    if (node->n_output < 1 || !node->output[0] || !*node->output[0])
        return node_fail(L, CAM_ERROR_INVALID_MODEL, "has no output");
    /* the activation input: input 0, or for Add the non-constant operand */
    int vi = node->n_input > 0 ? L->node_inputs[i][0] : -1;
    if (strcmp(L->cur_type, "Add") == 0 && vi >= 0 && L->values[vi].kind == VALUE_CONST &&
        node->n_input > 1)
        vi = L->node_inputs[i][1];
    if (vi < 0)
        return node_fail(L, CAM_ERROR_INVALID_MODEL, "has no data input");
    value *in = &L->values[vi];
    if (in->kind == VALUE_CONST)
        return node_fail(L, CAM_ERROR_UNSUPPORTED,
                         "its data input '%s' is a constant; export with constant folding", in->name);
    if (in->kind == VALUE_NODE && in->slot != 0) {
        int p = in->node;
        return node_fail(L, CAM_ERROR_UNSUPPORTED,
                         "it uses output %d ('%s') of node '%s' (%s); only first outputs are supported",
                         in->slot + 1, in->name, STR(L->graph->node[p]->name),
                         STR(L->graph->node[p]->op_type));
    }
    if (in->ir < 0)
        return node_fail(L, CAM_ERROR_INVALID_MODEL, "input '%s' is not available", in->name);
    cam_tensor *x = &L->tensors[in->ir];
    if (x->consumer >= 0)
        return node_fail(L, CAM_ERROR_UNSUPPORTED,
                         "tensor '%s' feeds several nodes; only chains of layers are supported",
                         x->name);
    op_context c = {.onnx_index = i, .node = node, .x = in->ir, .out_value = find_value(L, node->output[0])};
    if (c.out_value < 0)
        return node_fail(L, CAM_ERROR_INVALID_MODEL, "output '%s' is unknown", node->output[0]);
    return map(L, &c);
}

/* ------------------------------------------------------------------------ */
/* 3. Values, 4. order                                                      */
/* ------------------------------------------------------------------------ */

static cam_status check_model_header(loader *L)
{
    const Onnx__ModelProto *m = L->model;
    if (!m->graph)
        return fail(L, CAM_ERROR_PARSE, "no graph in the file; it is not an ONNX model");
    if (!m->has_ir_version)
        return fail(L, CAM_ERROR_PARSE, "no ir_version; it is not an ONNX model");
    if (m->ir_version < MIN_IR_VERSION || m->ir_version > MAX_IR_VERSION)
        return fail(L, CAM_ERROR_UNSUPPORTED, "ONNX IR version %lld is not supported (%d to %d)",
                    (long long)m->ir_version, MIN_IR_VERSION, MAX_IR_VERSION);
    L->opset = -1;
    for (size_t i = 0; i < m->n_opset_import; i++) {
        const Onnx__OperatorSetIdProto *o = m->opset_import[i];
        if (o && default_domain(o->domain) && o->has_version)
            L->opset = o->version > L->opset ? o->version : L->opset;
    }
    if (L->opset < 0)
        return fail(L, CAM_ERROR_INVALID_MODEL, "the model imports no default-domain opset");
    if (L->opset < MIN_OPSET || L->opset > MAX_OPSET)
        return fail(L, CAM_ERROR_UNSUPPORTED, "opset %lld is not supported (%d to %d)",
                    L->opset, MIN_OPSET, MAX_OPSET);
    return CAM_OK;
}

/* A Constant node's value as a TensorProto (synthesised for value_float(s)/value_int(s)). */
static cam_status constant_tensor(loader *L, int i, const Onnx__TensorProto **out)
{
    const Onnx__NodeProto *node = L->graph->node[i];
    set_current_node(L, i);
    static const char *const attrs[] = {"value", "value_float", "value_floats", "value_int",
                                        "value_ints", NULL};
    CHECK(check_attrs(L, node, attrs));
    if (node->n_attribute != 1 || node->n_input != 0 || node->n_output != 1)
        return node_fail(L, CAM_ERROR_INVALID_MODEL,
                         "a Constant needs no inputs, one output and exactly one value attribute");
    const Onnx__AttributeProto *a = node->attribute[0];
    if (strcmp(a->name, "value") == 0) {
        if (a->type != ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__TENSOR || !a->t)
            return node_fail(L, CAM_ERROR_INVALID_MODEL, "attribute 'value' must be a TENSOR");
        *out = a->t;
        return CAM_OK;
    }
    synthetic_tensor *s = calloc(1, sizeof *s);
    if (!s)
        return no_memory(L);
    L->synthetic[L->n_synthetic++] = s;
    Onnx__TensorProto init = ONNX__TENSOR_PROTO__INIT;
    s->tensor = init;
    s->tensor.has_data_type = 1;
    int is_float = a->name[6] == 'f';
    int is_list = a->name[strlen(a->name) - 1] == 's';
    Onnx__AttributeProto__AttributeType want =
        is_float ? (is_list ? ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOATS : ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT)
                 : (is_list ? ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS : ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT);
    if (a->type != want)
        return node_fail(L, CAM_ERROR_INVALID_MODEL, "attribute '%s' has the wrong type", a->name);
    if (is_float) {
        s->tensor.data_type = ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT;
        s->tensor.n_float_data = is_list ? a->n_floats : 1;
        s->tensor.float_data = is_list ? a->floats : (float *)&a->f;
    } else {
        s->tensor.data_type = ONNX__TENSOR_PROTO__DATA_TYPE__INT64;
        s->tensor.n_int64_data = is_list ? a->n_ints : 1;
        s->tensor.int64_data = is_list ? a->ints : (int64_t *)&a->i;
    }
    if (is_list) {
        size_t count = is_float ? a->n_floats : a->n_ints;
        if (count == 0)
            return node_fail(L, CAM_ERROR_INVALID_MODEL, "attribute '%s' is empty", a->name);
        s->dim = (int64_t)count;
        s->tensor.n_dims = 1;
        s->tensor.dims = &s->dim;
    }
    *out = &s->tensor;
    return CAM_OK;
}

static cam_status index_values(loader *L)
{
    const Onnx__GraphProto *g = L->graph;
    if (g->n_node > (size_t)(INT32_MAX / 4))
        return fail(L, CAM_ERROR_INVALID_MODEL, "too many nodes");
    L->n_onnx_nodes = (int)g->n_node;
    size_t capacity = g->n_input + g->n_initializer + 1;
    for (size_t i = 0; i < g->n_node; i++) {
        if (!g->node[i])
            return fail(L, CAM_ERROR_PARSE, "node %zu is empty", i);
        capacity += g->node[i]->n_output;
    }
    if (capacity > (size_t)(INT32_MAX / 4))
        return fail(L, CAM_ERROR_INVALID_MODEL, "too many tensors");
    size_t hash_size = 16;
    while (hash_size < 2 * capacity)
        hash_size *= 2;
    L->values = calloc(capacity, sizeof *L->values);
    L->hash = malloc(hash_size * sizeof *L->hash);
    L->node_inputs = calloc(g->n_node + 1, sizeof *L->node_inputs);
    L->node_is_constant = calloc(g->n_node + 1, sizeof *L->node_is_constant);
    L->synthetic = calloc(g->n_node + 1, sizeof *L->synthetic);
    if (!L->values || !L->hash || !L->node_inputs || !L->node_is_constant || !L->synthetic)
        return no_memory(L);
    memset(L->hash, 0xff, hash_size * sizeof *L->hash);
    L->hash_mask = hash_size - 1;

    for (size_t i = 0; i < g->n_initializer; i++) {
        const Onnx__TensorProto *t = g->initializer[i];
        if (!t || !t->name || !*t->name)
            return fail(L, CAM_ERROR_INVALID_MODEL, "initializer %zu has no name", i);
        int vi = add_value(L, t->name, VALUE_CONST);
        if (vi < 0)
            return fail(L, CAM_ERROR_INVALID_MODEL, "initializer '%s' is given twice", t->name);
        L->values[vi].tensor = t;
    }
    if (g->n_sparse_initializer > 0)
        return fail(L, CAM_ERROR_UNSUPPORTED, "sparse initializers are not supported");
    for (size_t i = 0; i < g->n_input; i++) {
        const Onnx__ValueInfoProto *in = g->input[i];
        if (!in || !in->name || !*in->name)
            return fail(L, CAM_ERROR_INVALID_MODEL, "graph input %zu has no name", i);
        if (find_value(L, in->name) >= 0) {
            if (L->values[find_value(L, in->name)].kind == VALUE_CONST)
                continue; /* an initializer listed as input (keep_initializers_as_inputs) */
            return fail(L, CAM_ERROR_INVALID_MODEL, "graph input '%s' is listed twice", in->name);
        }
        add_value(L, in->name, VALUE_INPUT);
    }
    for (size_t i = 0; i < g->n_node; i++) {
        const Onnx__NodeProto *node = g->node[i];
        if (!node->op_type || !*node->op_type)
            return fail(L, CAM_ERROR_INVALID_MODEL, "node %zu ('%s') has no op_type", i,
                        STR(node->name));
        int is_constant = default_domain(node->domain) && strcmp(node->op_type, "Constant") == 0;
        const Onnx__TensorProto *constant = NULL;
        if (is_constant)
            CHECK(constant_tensor(L, (int)i, &constant));
        /* Identity of a constant is that constant (torch.onnx.export writes one initializer
         * for equal weights and Identity nodes for the copies) */
        if (!is_constant && default_domain(node->domain) && strcmp(node->op_type, "Identity") == 0 &&
            node->n_input == 1 && node->n_output == 1 && node->input[0]) {
            int source = find_value(L, node->input[0]);
            if (source >= 0 && L->values[source].kind == VALUE_CONST) {
                is_constant = 1;
                constant = L->values[source].tensor;
            }
        }
        L->node_is_constant[i] = is_constant;
        for (size_t k = 0; k < node->n_output; k++) {
            const char *name = node->output[k];
            if (!name || !*name)
                continue; /* an unused optional output */
            int vi = add_value(L, name, is_constant ? VALUE_CONST : VALUE_NODE);
            if (vi < 0) {
                set_current_node(L, (int)i);
                return node_fail(L, CAM_ERROR_INVALID_MODEL,
                                 "output '%s' is already produced elsewhere (an input, initializer "
                                 "or another node)", name);
            }
            L->values[vi].node = (int)i;
            L->values[vi].slot = (int)k;
            L->values[vi].tensor = constant;
        }
    }
    for (size_t i = 0; i < g->n_node; i++) {
        const Onnx__NodeProto *node = g->node[i];
        L->node_inputs[i] = malloc((node->n_input + 1) * sizeof **L->node_inputs);
        if (!L->node_inputs[i])
            return no_memory(L);
        for (size_t k = 0; k < node->n_input; k++) {
            const char *name = node->input[k];
            int vi = -1;
            if (name && *name) {
                vi = find_value(L, name);
                if (vi < 0) {
                    set_current_node(L, (int)i);
                    return node_fail(L, CAM_ERROR_INVALID_MODEL,
                                     "input '%s' is not a graph input, an initializer or the output "
                                     "of any node (missing initializer?)", name);
                }
            }
            L->node_inputs[i][k] = vi;
        }
    }
    return CAM_OK;
}

/* Kahn's algorithm over the non-Constant nodes; refuses cycles. */
static cam_status sort_nodes(loader *L)
{
    int n = L->n_onnx_nodes;
    int *indegree = calloc((size_t)n + 1, sizeof *indegree);
    int *first = calloc((size_t)n + 2, sizeof *first);
    L->order = malloc(((size_t)n + 1) * sizeof *L->order);
    L->needed = calloc((size_t)n + 1, sizeof *L->needed);
    size_t n_edges = 0;
    for (int i = 0; i < n; i++)
        n_edges += L->graph->node[i]->n_input;
    int *edges = malloc((n_edges + 1) * sizeof *edges);
    int *fill = calloc((size_t)n + 1, sizeof *fill);
    cam_status status = CAM_OK;
    if (!indegree || !first || !L->order || !L->needed || !edges || !fill) {
        status = no_memory(L);
        goto done;
    }
    /* edges producer -> consumer, CSR by producer */
    for (int i = 0; i < n; i++) {
        const Onnx__NodeProto *node = L->graph->node[i];
        for (size_t k = 0; k < node->n_input; k++) {
            int vi = L->node_inputs[i][k];
            if (vi >= 0 && L->values[vi].kind == VALUE_NODE) {
                first[L->values[vi].node + 1]++;
                indegree[i]++;
            }
        }
    }
    for (int i = 0; i < n; i++)
        first[i + 1] += first[i];
    for (int i = 0; i < n; i++) {
        const Onnx__NodeProto *node = L->graph->node[i];
        for (size_t k = 0; k < node->n_input; k++) {
            int vi = L->node_inputs[i][k];
            if (vi >= 0 && L->values[vi].kind == VALUE_NODE) {
                int p = L->values[vi].node;
                edges[first[p] + fill[p]++] = i;
            }
        }
    }
    int head = 0, tail = 0;
    for (int i = 0; i < n; i++)
        if (!L->node_is_constant[i] && indegree[i] == 0)
            L->order[tail++] = i;
    while (head < tail) {
        int p = L->order[head++];
        for (int e = first[p]; e < first[p + 1]; e++)
            if (--indegree[edges[e]] == 0)
                L->order[tail++] = edges[e];
    }
    int total = 0;
    for (int i = 0; i < n; i++)
        total += !L->node_is_constant[i];
    if (tail != total) {
        for (int i = 0; i < n; i++)
            if (!L->node_is_constant[i] && indegree[i] > 0) {
                set_current_node(L, i);
                status = node_fail(L, CAM_ERROR_INVALID_MODEL,
                                   "the graph has a cycle through this node (or a node feeding it)");
                break;
            }
        goto done;
    }
    L->n_order = tail;
done:
    free(indegree);
    free(first);
    free(edges);
    free(fill);
    return status;
}

/* The one image input: N x C x H x W float32. */
static cam_status map_input(loader *L, int vi)
{
    const Onnx__ValueInfoProto *info = NULL;
    for (size_t i = 0; i < L->graph->n_input; i++)
        if (L->graph->input[i] && strcmp(STR(L->graph->input[i]->name), L->values[vi].name) == 0)
            info = L->graph->input[i];
    const char *name = L->values[vi].name;
    if (!info || !info->type || info->type->value_case != ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE ||
        !info->type->tensor_type)
        return fail(L, CAM_ERROR_UNSUPPORTED, "graph input '%s' is not a tensor", name);
    const Onnx__TypeProto__Tensor *tt = info->type->tensor_type;
    if (!tt->has_elem_type || tt->elem_type != ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT)
        return fail(L, CAM_ERROR_UNSUPPORTED, "graph input '%s' has element type %s; FLOAT is needed",
                    name, data_type_name(tt->has_elem_type ? tt->elem_type : 0));
    if (!tt->shape || tt->shape->n_dim != 4)
        return fail(L, CAM_ERROR_UNSUPPORTED,
                    "graph input '%s' must have shape N x C x H x W (it has %s%zu dimensions)", name,
                    tt->shape ? "" : "no shape, ", tt->shape ? tt->shape->n_dim : (size_t)0);
    int64_t dims[3];
    L->batch_fixed = -1;
    for (int i = 0; i < 4; i++) {
        const Onnx__TensorShapeProto__Dimension *d = tt->shape->dim[i];
        int fixed = d && d->value_case == ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE;
        if (i == 0) {
            if (fixed && d->dim_value < 1)
                return fail(L, CAM_ERROR_INVALID_MODEL, "graph input '%s' has batch size %lld", name,
                            (long long)d->dim_value);
            L->batch_fixed = fixed ? (int)(d->dim_value > INT32_MAX ? INT32_MAX : d->dim_value) : -1;
            continue;
        }
        if (!fixed)
            return fail(L, CAM_ERROR_UNSUPPORTED,
                        "graph input '%s' dimension %d is not fixed; C, H and W must be numbers",
                        name, i);
        if (d->dim_value < 1 || d->dim_value > CAM_GRAPH_MAX_DIM)
            return fail(L, CAM_ERROR_INVALID_MODEL,
                        "graph input '%s' dimension %d is %lld (allowed 1..%d)", name, i,
                        (long long)d->dim_value, CAM_GRAPH_MAX_DIM);
        dims[i - 1] = d->dim_value;
    }
    if ((uint64_t)dims[0] * (uint64_t)dims[1] * (uint64_t)dims[2] > CAM_GRAPH_MAX_NUMEL)
        return fail(L, CAM_ERROR_INVALID_MODEL, "graph input '%s' is too large", name);
    L->cur_name = name;
    L->cur_type = "input";
    int ti;
    CHECK(new_activation(L, vi, 3, dims, &ti));
    L->tensors[ti].kind = CAM_TENSOR_INPUT;
    L->input_tensor = ti;
    return CAM_OK;
}

/* Which nodes lead to the output, and which input they start from. */
static cam_status mark_needed(loader *L, int output_value, int *input_value_out)
{
    const value *out = &L->values[output_value];
    if (out->kind != VALUE_NODE)
        return fail(L, CAM_ERROR_INVALID_MODEL, "graph output '%s' is not computed by any node",
                    out->name);
    L->needed[out->node] = 1;
    int input = -1;
    for (int k = L->n_order - 1; k >= 0; k--) {
        int i = L->order[k];
        if (!L->needed[i])
            continue;
        const Onnx__NodeProto *node = L->graph->node[i];
        for (size_t j = 0; j < node->n_input; j++) {
            int vi = L->node_inputs[i][j];
            if (vi < 0)
                continue;
            if (L->values[vi].kind == VALUE_NODE)
                L->needed[L->values[vi].node] = 1;
            else if (L->values[vi].kind == VALUE_INPUT) {
                if (input >= 0 && input != vi)
                    return fail(L, CAM_ERROR_UNSUPPORTED,
                                "the network has several inputs ('%s' and '%s'); one image input "
                                "is supported", L->values[input].name, L->values[vi].name);
                input = vi;
            }
        }
    }
    if (input < 0)
        return fail(L, CAM_ERROR_INVALID_MODEL, "graph output '%s' does not depend on any graph input",
                    out->name);
    *input_value_out = input;
    return CAM_OK;
}

/* ------------------------------------------------------------------------ */
/* 6. Finish                                                                */
/* ------------------------------------------------------------------------ */

static cam_status finish_graph(loader *L, int output_value, cam_graph *graph)
{
    /* chain */
    if (L->n_nodes < 1)
        return fail(L, CAM_ERROR_INVALID_MODEL, "the graph has no nodes");
    for (int i = 0; i < L->n_nodes; i++) {
        int expected = i == 0 ? L->input_tensor : L->nodes[i - 1].output;
        if (L->nodes[i].input != expected)
            return fail(L, CAM_ERROR_UNSUPPORTED,
                        "node '%s' does not follow node '%s'; only chains of layers are supported",
                        L->nodes[i].name, i ? L->nodes[i - 1].name : "(input)");
    }
    int output = L->values[output_value].ir;
    if (output < 0 || output != L->nodes[L->n_nodes - 1].output)
        return fail(L, CAM_ERROR_INVALID_MODEL, "the graph output '%s' is not the last node's output",
                    L->values[output_value].name);
    /* weights into one allocation */
    size_t total = 0;
    for (int i = 0; i < L->n_tensors; i++)
        if (L->tensor_data[i])
            total += L->tensors[i].numel;
    for (int i = 0; i < L->n_nodes; i++)
        total += L->node_weight_n[i] + L->node_bias_n[i];
    float *arena = malloc((total ? total : 1) * sizeof *arena);
    if (!arena)
        return no_memory(L);
    size_t at = 0;
    for (int i = 0; i < L->n_tensors; i++)
        if (L->tensor_data[i]) {
            memcpy(arena + at, L->tensor_data[i], L->tensors[i].numel * sizeof *arena);
            L->tensors[i].data = arena + at;
            at += L->tensors[i].numel;
        }
    for (int i = 0; i < L->n_nodes; i++) {
        cam_node *n = &L->nodes[i];
        if (L->node_weight[i]) {
            memcpy(arena + at, L->node_weight[i], L->node_weight_n[i] * sizeof *arena);
            n->weight = arena + at;
            at += L->node_weight_n[i];
        } else if (L->node_weight_src[i] >= 0) {
            n->weight = L->tensors[L->node_weight_src[i]].data;
        }
        if (L->node_bias[i]) {
            memcpy(arena + at, L->node_bias[i], L->node_bias_n[i] * sizeof *arena);
            n->bias = arena + at;
            at += L->node_bias_n[i];
        } else if (L->node_bias_src[i] >= 0) {
            n->bias = L->tensors[L->node_bias_src[i]].data;
        }
    }
    graph->weights = arena;
    graph->n_weights = total;
    graph->tensors = L->tensors;
    graph->n_tensors = L->n_tensors;
    graph->nodes = L->nodes;
    graph->n_nodes = L->n_nodes;
    L->tensors = NULL;
    L->nodes = NULL;
    L->n_tensors = L->n_nodes = 0;
    graph->input = L->input_tensor;
    graph->output = output;
    graph->opset = L->opset;

    /* logits and probabilities: the last Softmax, if only reshaping follows it */
    graph->probabilities = -1;
    graph->softmax_node = -1;
    graph->logits = output;
    for (int i = graph->n_nodes - 1; i >= 0; i--) {
        cam_op op = graph->nodes[i].op;
        if (op == CAM_OP_SOFTMAX) {
            graph->softmax_node = i;
            graph->probabilities = graph->nodes[i].output;
            graph->logits = graph->nodes[i].input;
            break;
        }
        if (op != CAM_OP_IDENTITY && op != CAM_OP_FLATTEN)
            break;
    }
    const cam_tensor *logits = &graph->tensors[graph->logits];
    if (logits->rank == 3 && (logits->height != 1 || logits->width != 1))
        return fail(L, CAM_ERROR_UNSUPPORTED,
                    "the output '%s' is %dx%dx%d per image; a classifier's output must be N x classes",
                    logits->name, logits->dims[0], logits->dims[1], logits->dims[2]);
    graph->n_classes = (int)logits->numel;
    cam_graph_find_cam_head(graph);
    return CAM_OK;
}

static void loader_free(loader *L)
{
    if (L->node_inputs)
        for (int i = 0; i < L->n_onnx_nodes; i++)
            free(L->node_inputs[i]);
    free(L->node_inputs);
    free(L->node_is_constant);
    if (L->synthetic)
        for (int i = 0; i < L->n_synthetic; i++)
            free(L->synthetic[i]);
    free(L->synthetic);
    free(L->values);
    free(L->hash);
    free(L->order);
    free(L->needed);
    for (int i = 0; i < L->n_tensors; i++)
        free(L->tensors[i].name);
    if (L->tensor_data)
        for (int i = 0; i < L->cap_tensors; i++)
            free(L->tensor_data[i]);
    free(L->tensor_data);
    free(L->tensors);
    for (int i = 0; i < L->n_nodes; i++) {
        free(L->nodes[i].name);
        free(L->nodes[i].op_type);
    }
    if (L->node_weight)
        for (int i = 0; i < L->cap_nodes; i++) {
            free(L->node_weight[i]);
            free(L->node_bias[i]);
        }
    free(L->nodes);
    free(L->node_weight);
    free(L->node_bias);
    free(L->node_weight_n);
    free(L->node_bias_n);
    free(L->node_weight_src);
    free(L->node_bias_src);
    if (L->model)
        onnx__model_proto__free_unpacked(L->model, NULL);
}

static cam_status load(loader *L, const void *data, size_t size, cam_graph **graph_out,
                       cam_metadata_entry **metadata_out, int *n_metadata_out)
{
    if (!data || size == 0)
        return fail(L, CAM_ERROR_PARSE, "the file is empty");
    if (size > (size_t)INT32_MAX)
        return fail(L, CAM_ERROR_PARSE, "the file is larger than 2 GiB, the protobuf limit");
    const char *why = wire_check(data, size, &onnx__model_proto__descriptor, 0);
    if (why)
        return fail(L, CAM_ERROR_PARSE, "not a valid ONNX file: %s", why);
    L->model = onnx__model_proto__unpack(NULL, size, data);
    if (!L->model)
        return fail(L, CAM_ERROR_PARSE, "not a valid ONNX file (protobuf decoding failed; truncated "
                    "or corrupt?)");
    CHECK(check_model_header(L));
    L->graph = L->model->graph;
    CHECK(index_values(L));
    CHECK(sort_nodes(L));
    if (L->graph->n_output < 1 || !L->graph->output[0] || !L->graph->output[0]->name)
        return fail(L, CAM_ERROR_INVALID_MODEL, "the graph has no output");
    int output_value = find_value(L, L->graph->output[0]->name);
    if (output_value < 0)
        return fail(L, CAM_ERROR_INVALID_MODEL, "graph output '%s' is not computed by any node",
                    L->graph->output[0]->name);
    int input_value;
    CHECK(mark_needed(L, output_value, &input_value));

    L->cap_tensors = L->n_values + 1;
    L->cap_nodes = L->n_order + 1;
    L->tensors = calloc((size_t)L->cap_tensors, sizeof *L->tensors);
    L->tensor_data = calloc((size_t)L->cap_tensors, sizeof *L->tensor_data);
    L->nodes = calloc((size_t)L->cap_nodes, sizeof *L->nodes);
    L->node_weight = calloc((size_t)L->cap_nodes, sizeof *L->node_weight);
    L->node_bias = calloc((size_t)L->cap_nodes, sizeof *L->node_bias);
    L->node_weight_n = calloc((size_t)L->cap_nodes, sizeof *L->node_weight_n);
    L->node_bias_n = calloc((size_t)L->cap_nodes, sizeof *L->node_bias_n);
    L->node_weight_src = calloc((size_t)L->cap_nodes, sizeof *L->node_weight_src);
    L->node_bias_src = calloc((size_t)L->cap_nodes, sizeof *L->node_bias_src);
    if (!L->tensors || !L->tensor_data || !L->nodes || !L->node_weight || !L->node_bias ||
        !L->node_weight_n || !L->node_bias_n || !L->node_weight_src || !L->node_bias_src)
        return no_memory(L);

    CHECK(map_input(L, input_value));
    for (int k = 0; k < L->n_order; k++)
        if (L->needed[L->order[k]])
            CHECK(map_node(L, L->order[k]));

    cam_graph *graph = calloc(1, sizeof *graph);
    if (!graph)
        return no_memory(L);
    cam_status status = finish_graph(L, output_value, graph);
    if (status != CAM_OK) {
        cam_graph_free(graph);
        return status;
    }

    /* metadata */
    size_t n = L->model->n_metadata_props;
    cam_metadata_entry *metadata = calloc(n + 1, sizeof *metadata);
    if (!metadata) {
        cam_graph_free(graph);
        return no_memory(L);
    }
    int count = 0;
    for (size_t i = 0; i < n; i++) {
        const Onnx__StringStringEntryProto *e = L->model->metadata_props[i];
        if (!e || !e->key)
            continue;
        metadata[count].key = dup_string(e->key);
        metadata[count].value = dup_string(STR(e->value));
        count++;
        if (!metadata[count - 1].key || !metadata[count - 1].value) {
            for (int k = 0; k < count; k++) {
                free(metadata[k].key);
                free(metadata[k].value);
            }
            free(metadata);
            cam_graph_free(graph);
            return no_memory(L);
        }
    }
    *graph_out = graph;
    *metadata_out = metadata;
    *n_metadata_out = count;
    return CAM_OK;
}

cam_status cam_onnx_load(const void *data, size_t size, const char *origin, cam_graph **graph_out,
                         cam_metadata_entry **metadata_out, int *n_metadata_out, cam_error *err)
{
    loader L;
    memset(&L, 0, sizeof L);
    cam_error local;
    L.err = err ? err : &local;
    L.input_tensor = -1;
    *graph_out = NULL;
    *metadata_out = NULL;
    *n_metadata_out = 0;
    cam_status status = load(&L, data, size, graph_out, metadata_out, n_metadata_out);
    if (status != CAM_OK)
        cam_error_prefix(L.err, "%s", origin ? origin : "(memory)");
    loader_free(&L);
    return status;
}
