/*
 * cam-onnx.h -- reading ONNX files into an untyped cam_graph (onnx/).
 *
 *   cam-onnx-wire.c    the protobuf wire-format check (before protobuf-c unpacks)
 *   cam-onnx-tensor.c  TensorProto decoding (raw_data, typed fields, external data refused)
 *   cam-onnx-graph.c   nodes, attributes, initializers, Constant nodes -> cam_graph
 *   cam-onnx-metadata.c  metadata_props edited at the wire level (cam-model set)
 * No op knowledge lives here: attributes are copied as they are and checked by
 * each op's typing (ops/).
 */
#ifndef CAM_ONNX_H
#define CAM_ONNX_H

#include "graph/cam-graph.h"

typedef struct cam_metadata_entry {
    char *key;
    char *value;
} cam_metadata_entry;

/* Parses ONNX bytes into an untyped graph (nodes in file order, initializers
 * and Constant nodes as CONSTANT tensors, graph inputs with their declared
 * shapes: symbolic or unknown dimensions are set to 1) and its metadata_props.
 * origin names the bytes in messages. */
cam_status cam_onnx_read(const void *data, size_t size, const char *origin, cam_graph **graph_out,
                         cam_metadata_entry **metadata_out, int *n_metadata_out, cam_error *err);

/* cam_onnx_read that calls release(release_data, bytes, n) on the bytes of
 * each initializer's raw_data once they are decoded and no longer read (a
 * file mapped in memory can drop those pages: the load then never holds the
 * file and the decoded weights whole at once). */
typedef void (*cam_onnx_release_fn)(void *release_data, const void *bytes, size_t n);
cam_status cam_onnx_read_release(const void *data, size_t size, const char *origin,
                                 cam_onnx_release_fn release, void *release_data,
                                 cam_graph **graph_out, cam_metadata_entry **metadata_out,
                                 int *n_metadata_out, cam_error *err);

/* Decodes a TensorProto (an Onnx__TensorProto *) into dtype, dims and a malloc'ed
 * copy of its values (float32, int64 and bool; the other integer types become
 * int64; double and float16 are refused). what names it in messages. */
cam_status cam_onnx_decode_tensor(const void *tensor_proto, const char *what, cam_dtype *dtype,
                                  int *rank, int64_t *dims, void **data, size_t *numel,
                                  cam_error *err);
/* Unpacks a serialized TensorProto (a .pb file of the ONNX test data) and decodes
 * it, converting double and float16 to float32. */
cam_status cam_onnx_read_tensor(const void *bytes, size_t size, const char *what, cam_dtype *dtype,
                                int *rank, int64_t *dims, void **data, size_t *numel,
                                cam_error *err);

void cam_metadata_free(cam_metadata_entry *entries, int n);

/* ONNX bytes with metadata_props edited (cam-onnx-metadata.c): for each i < n,
 * the entry with key keys[i] set to values[i] (NULL: removed); the last edit of a
 * key wins. Every other field keeps its bytes and order; an edited key's entry
 * takes the place of its first old entry, a new key is appended. *out is
 * malloc'ed. CAM_ERROR_PARSE when the bytes are not well-formed protobuf. */
cam_status cam_onnx_edit_metadata(const void *data, size_t size, const char *const *keys,
                                  const char *const *values, int n, unsigned char **out,
                                  size_t *out_size, cam_error *err);

#endif /* CAM_ONNX_H */
