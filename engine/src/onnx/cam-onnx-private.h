/* cam-onnx-private.h -- shared between the files of onnx/ (internal). */
#ifndef CAM_ONNX_PRIVATE_H
#define CAM_ONNX_PRIVATE_H

#include "onnx/cam-onnx.h"
#include "onnx.pb-c.h"

#include <stddef.h>
#include <stdint.h>

#define CAM_ONNX_STR(s) ((s) ? (s) : "")

/* NULL when `size` bytes are well-formed protobuf for desc (lengths, nesting), else a reason. */
const char *cam_onnx_wire_check(const void *data, size_t size, const ProtobufCMessageDescriptor *desc);
/* Where the raw_data of initializer i of the main graph lies in the file
 * (data NULL: it has none, or it was left in the skeleton). */
typedef struct cam_onnx_raw {
    const uint8_t *data;
    size_t size;
} cam_onnx_raw;

/* For bytes that passed cam_onnx_wire_check as a ModelProto: a malloc'ed copy
 * without the raw_data of the main graph's initializers (*skeleton, NULL when
 * the file has no single graph field: then unpack the whole file), and where
 * each initializer's raw_data lies in `data` (*raws, *n_raws in initializer
 * order; a TensorProto with raw_data twice keeps it in the skeleton). Returns
 * 0 when out of memory. */
int cam_onnx_skeleton(const void *data, size_t size, void **skeleton, size_t *skeleton_size,
                      cam_onnx_raw **raws, size_t *n_raws);
/* cam_onnx_decode_tensor with the raw_data taken from `raw` when raw->data is set. */
cam_status cam_onnx_decode_tensor_raw(const void *tensor_proto, const cam_onnx_raw *raw,
                                      const char *what, cam_dtype *dtype, int *rank, int64_t *dims,
                                      void **data, size_t *numel, cam_error *err);
/* Protobuf wire primitives (cam-onnx-wire.c), for bytes that passed
 * cam_onnx_wire_check (every length within bounds). One field of a message: */
typedef struct cam_wire_field {
    uint64_t tag;         /* field number << 3 | wire type */
    uint64_t number;      /* the field number */
    int type;             /* the wire type: 0 varint, 1 64-bit, 2 bytes, 5 32-bit */
    uint64_t value;       /* type 0: the value; type 2: the length of `body` */
    const uint8_t *body;  /* type 2: the field's bytes (a nested message, a string) */
    size_t start;         /* where the field (its tag) starts in the message */
} cam_wire_field;
/* Reads the field at *pos into *f and moves *pos past it; 0 at the end. */
int cam_wire_next(const uint8_t *p, size_t len, size_t *pos, cam_wire_field *f);
size_t cam_wire_varint_size(uint64_t v);
/* Writes v as a varint at out; returns the bytes written (cam_wire_varint_size). */
size_t cam_wire_put_varint(uint8_t *out, uint64_t v);

/* "FLOAT", "INT64", ... for a TensorProto.DataType. */
const char *cam_onnx_data_type_name(int32_t type);

#endif /* CAM_ONNX_PRIVATE_H */
