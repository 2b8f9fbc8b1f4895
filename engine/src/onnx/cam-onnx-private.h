/* cam-onnx-private.h -- shared between the files of onnx/ (internal). */
#ifndef CAM_ONNX_PRIVATE_H
#define CAM_ONNX_PRIVATE_H

#include "onnx/cam-onnx.h"
#include "onnx.pb-c.h"

#include <stddef.h>

#define CAM_ONNX_STR(s) ((s) ? (s) : "")

/* NULL when `size` bytes are well-formed protobuf for desc (lengths, nesting), else a reason. */
const char *cam_onnx_wire_check(const void *data, size_t size, const ProtobufCMessageDescriptor *desc);
/* "FLOAT", "INT64", ... for a TensorProto.DataType. */
const char *cam_onnx_data_type_name(int32_t type);

#endif /* CAM_ONNX_PRIVATE_H */
