/*
 * cam-onnx-tensor.c -- decoding TensorProto values into the engine's dtypes.
 *
 * float32 stays float32; every integer type becomes int64; bool stays bool (one
 * byte each). double and float16 are refused in models (a model of those types
 * needs ops of those types) and converted to float32 in test data files. Values come from raw_data
 * (little-endian) or from the typed repeated fields. External and segmented
 * data are refused; the element count must match the shape exactly.
 */
#include "onnx/cam-onnx-private.h"

#include "cam-error.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

const char *cam_onnx_data_type_name(int32_t type)
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

static uint64_t read_le(const uint8_t *b, size_t width)
{
    uint64_t u = 0;
    for (size_t k = 0; k < width; k++)
        u |= (uint64_t)b[k] << (8 * k);
    return u;
}

static float half_to_float(uint16_t h)
{
    int sign = h >> 15, exp = (h >> 10) & 31, frac = h & 1023;
    float v;
    if (exp == 0)
        v = ldexpf((float)frac, -24);
    else if (exp == 31)
        v = frac ? NAN : INFINITY;
    else
        v = ldexpf((float)(frac | 1024), exp - 25);
    return sign ? -v : v;
}

static cam_status decode(const void *proto, const cam_onnx_raw *raw, const char *what,
                         int allow_wide, cam_dtype *dtype, int *rank, int64_t *dims, void **data,
                         size_t *numel, cam_error *err)
{
    const Onnx__TensorProto *t = proto;
    const uint8_t *raw_bytes = raw && raw->data ? raw->data : t->has_raw_data ? t->raw_data.data : NULL;
    const size_t raw_size = raw && raw->data ? raw->size : t->has_raw_data ? t->raw_data.len : 0;
    *data = NULL;
    if ((t->has_data_location && t->data_location == ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL) ||
        t->n_external_data > 0)
        return cam_set_error(err, CAM_ERROR_UNSUPPORTED,
                             "tensor '%s' is stored in an external data file; save the model with "
                             "its weights inside the .onnx file", what);
    if (t->segment)
        return cam_set_error(err, CAM_ERROR_UNSUPPORTED, "tensor '%s' is segmented", what);
    if (t->n_dims > CAM_MAX_RANK)
        return cam_set_error(err, CAM_ERROR_UNSUPPORTED,
                             "tensor '%s' has rank %zu; at most %d is supported", what, t->n_dims,
                             CAM_MAX_RANK);
    size_t count = 1;
    for (size_t i = 0; i < t->n_dims; i++) {
        int64_t d = t->dims[i];
        if (d < 0)
            return cam_set_error(err, CAM_ERROR_INVALID_MODEL,
                                 "tensor '%s' has a negative dimension (%lld)", what, (long long)d);
        if (d > CAM_GRAPH_MAX_DIM)
            return cam_set_error(err, CAM_ERROR_INVALID_MODEL,
                                 "tensor '%s' has a dimension of %lld, more than the limit of %lld",
                                 what, (long long)d, (long long)CAM_GRAPH_MAX_DIM);
        count *= (size_t)d;
        if (count > CAM_GRAPH_MAX_NUMEL)
            return cam_set_error(err, CAM_ERROR_UNSUPPORTED,
                                 "tensor '%s' has more than %zu elements", what,
                                 (size_t)CAM_GRAPH_MAX_NUMEL);
        dims[i] = d;
    }
    *rank = (int)t->n_dims;
    *numel = count;

    int32_t type = t->has_data_type ? t->data_type : 0;
    size_t width; /* bytes per element in raw_data */
    switch (type) {
    case ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT: *dtype = CAM_DTYPE_FLOAT; width = 4; break;
    case ONNX__TENSOR_PROTO__DATA_TYPE__DOUBLE:
    case ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT16:
        if (!allow_wide) /* a double or half model: its ops would need those types */
            return cam_set_error(err, CAM_ERROR_UNSUPPORTED,
                                 "tensor '%s' has element type %s; float32 models are supported",
                                 what, cam_onnx_data_type_name(type));
        *dtype = CAM_DTYPE_FLOAT;
        width = type == ONNX__TENSOR_PROTO__DATA_TYPE__DOUBLE ? 8 : 2;
        break;
    case ONNX__TENSOR_PROTO__DATA_TYPE__INT64:
    case ONNX__TENSOR_PROTO__DATA_TYPE__UINT64: *dtype = CAM_DTYPE_INT64; width = 8; break;
    case ONNX__TENSOR_PROTO__DATA_TYPE__INT32:
    case ONNX__TENSOR_PROTO__DATA_TYPE__UINT32: *dtype = CAM_DTYPE_INT64; width = 4; break;
    case ONNX__TENSOR_PROTO__DATA_TYPE__INT16:
    case ONNX__TENSOR_PROTO__DATA_TYPE__UINT16: *dtype = CAM_DTYPE_INT64; width = 2; break;
    case ONNX__TENSOR_PROTO__DATA_TYPE__INT8:
    case ONNX__TENSOR_PROTO__DATA_TYPE__UINT8: *dtype = CAM_DTYPE_INT64; width = 1; break;
    case ONNX__TENSOR_PROTO__DATA_TYPE__BOOL: *dtype = CAM_DTYPE_BOOL; width = 1; break;
    default:
        return cam_set_error(err, CAM_ERROR_UNSUPPORTED,
                             "tensor '%s' has element type %s, which is not supported", what,
                             cam_onnx_data_type_name(type));
    }
    int is_signed = type == ONNX__TENSOR_PROTO__DATA_TYPE__INT32 ||
                    type == ONNX__TENSOR_PROTO__DATA_TYPE__INT16 ||
                    type == ONNX__TENSOR_PROTO__DATA_TYPE__INT8;
    size_t size = cam_dtype_size(*dtype);
    void *out = malloc(count ? count * size : 1);
    if (!out)
        return cam_set_error(err, CAM_ERROR_NO_MEMORY, "out of memory for tensor '%s'", what);

    if (raw_bytes && raw_size > 0) {
        if (raw_size != count * width) {
            free(out);
            return cam_set_error(err, CAM_ERROR_INVALID_MODEL,
                                 "tensor '%s' has %zu bytes of data; its shape needs %zu", what,
                                 raw_size, count * width);
        }
        const uint8_t *b = raw_bytes;
        const uint16_t probe = 1;
        uint8_t first;
        memcpy(&first, &probe, 1);
        const int copy = *dtype == CAM_DTYPE_FLOAT && width == 4 && first == 1; /* little-endian host */
        if (copy)
            memcpy(out, b, count * 4);
        for (size_t i = copy ? count : 0; i < count; i++) {
            uint64_t u = read_le(b + i * width, width);
            if (*dtype == CAM_DTYPE_FLOAT) {
                float f;
                if (width == 4) {
                    uint32_t u32 = (uint32_t)u;
                    memcpy(&f, &u32, 4);
                } else if (width == 8) {
                    double d;
                    memcpy(&d, &u, 8);
                    f = (float)d;
                } else {
                    f = half_to_float((uint16_t)u);
                }
                ((float *)out)[i] = f;
            } else if (*dtype == CAM_DTYPE_INT64) {
                int64_t v = (int64_t)u;
                if (is_signed && width < 8 && (u >> (8 * width - 1)) & 1)
                    v = (int64_t)(u | (~(uint64_t)0 << (8 * width)));
                ((int64_t *)out)[i] = v;
            } else {
                ((uint8_t *)out)[i] = u != 0;
            }
        }
    } else {
        size_t have;
        switch (type) {
        case ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT: have = t->n_float_data; break;
        case ONNX__TENSOR_PROTO__DATA_TYPE__DOUBLE: have = t->n_double_data; break;
        case ONNX__TENSOR_PROTO__DATA_TYPE__INT64: have = t->n_int64_data; break;
        case ONNX__TENSOR_PROTO__DATA_TYPE__UINT64:
        case ONNX__TENSOR_PROTO__DATA_TYPE__UINT32: have = t->n_uint64_data; break;
        default: have = t->n_int32_data; break; /* int32, int16, int8, uint16, uint8, bool, float16 */
        }
        if (have != count) {
            free(out);
            return cam_set_error(err, CAM_ERROR_INVALID_MODEL,
                                 "tensor '%s' has %zu values; its shape needs %zu", what, have,
                                 count);
        }
        for (size_t i = 0; i < count; i++) {
            switch (type) {
            case ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT: ((float *)out)[i] = t->float_data[i]; break;
            case ONNX__TENSOR_PROTO__DATA_TYPE__DOUBLE:
                ((float *)out)[i] = (float)t->double_data[i];
                break;
            case ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT16:
                ((float *)out)[i] = half_to_float((uint16_t)t->int32_data[i]);
                break;
            case ONNX__TENSOR_PROTO__DATA_TYPE__INT64: ((int64_t *)out)[i] = t->int64_data[i]; break;
            case ONNX__TENSOR_PROTO__DATA_TYPE__UINT64:
            case ONNX__TENSOR_PROTO__DATA_TYPE__UINT32:
                ((int64_t *)out)[i] = (int64_t)t->uint64_data[i];
                break;
            case ONNX__TENSOR_PROTO__DATA_TYPE__BOOL:
                ((uint8_t *)out)[i] = t->int32_data[i] != 0;
                break;
            default: ((int64_t *)out)[i] = t->int32_data[i]; break;
            }
        }
    }
    *data = out;
    return CAM_OK;
}

cam_status cam_onnx_decode_tensor(const void *proto, const char *what, cam_dtype *dtype, int *rank,
                                  int64_t *dims, void **data, size_t *numel, cam_error *err)
{
    return decode(proto, NULL, what, 0, dtype, rank, dims, data, numel, err);
}

cam_status cam_onnx_decode_tensor_raw(const void *proto, const cam_onnx_raw *raw, const char *what,
                                      cam_dtype *dtype, int *rank, int64_t *dims, void **data,
                                      size_t *numel, cam_error *err)
{
    return decode(proto, raw, what, 0, dtype, rank, dims, data, numel, err);
}

cam_status cam_onnx_read_tensor(const void *bytes, size_t size, const char *what, cam_dtype *dtype,
                                int *rank, int64_t *dims, void **data, size_t *numel,
                                cam_error *err)
{
    *data = NULL;
    const char *why = cam_onnx_wire_check(bytes, size, &onnx__tensor_proto__descriptor);
    if (why)
        return cam_set_error(err, CAM_ERROR_PARSE, "%s: not a valid TensorProto: %s", what, why);
    Onnx__TensorProto *t = onnx__tensor_proto__unpack(NULL, size, bytes);
    if (!t)
        return cam_set_error(err, CAM_ERROR_PARSE, "%s: not a valid TensorProto", what);
    cam_status s = decode(t, NULL, what, 1, dtype, rank, dims, data, numel, err);
    onnx__tensor_proto__free_unpacked(t, NULL);
    return s;
}
