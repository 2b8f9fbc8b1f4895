/*
 * cam-onnx-wire.c -- the protobuf wire-format check, run before protobuf-c
 * unpacks a file, so that a hostile file cannot exhaust the stack or make the
 * decoder read past the end: every length is checked against what is left and
 * nesting of known message fields is bounded.
 *
 * Also the skeleton of a model (cam_onnx_skeleton): the same bytes with the
 * raw_data of the main graph's initializers left out (nested lengths
 * re-encoded), so that protobuf-c, which copies every bytes field it unpacks,
 * unpacks kilobytes instead of a second copy of the weights; the weights are
 * then decoded straight from the file's bytes.
 */
#include "onnx/cam-onnx-private.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define MAX_PROTO_DEPTH 32 /* Model > Graph > Node > Attribute > Tensor ... */

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


const char *cam_onnx_wire_check(const void *data, size_t size, const ProtobufCMessageDescriptor *desc)
{
    return wire_check(data, size, desc, 0);
}

/* ------------------------------------------------------------------------ */
/* The skeleton: a model without its weights' bytes                        */
/* ------------------------------------------------------------------------ */

/* Field numbers (onnx.proto): ModelProto.graph = 7, GraphProto.initializer = 5,
 * TensorProto.raw_data = 9. */
enum { MODEL_GRAPH = 7, GRAPH_INITIALIZER = 5, TENSOR_RAW_DATA = 9 };
enum { LEVEL_MODEL, LEVEL_GRAPH, LEVEL_TENSOR };

typedef struct skeleton {
    uint8_t *out;          /* NULL: only count */
    cam_onnx_raw *raws;    /* one per initializer of the main graph */
    size_t n_raws;
} skeleton;

size_t cam_wire_varint_size(uint64_t v)
{
    size_t n = 1;
    while (v >= 0x80) {
        v >>= 7;
        n++;
    }
    return n;
}

size_t cam_wire_put_varint(uint8_t *out, uint64_t v)
{
    size_t n = 0;
    while (v >= 0x80) {
        out[n++] = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    out[n++] = (uint8_t)v;
    return n;
}

int cam_wire_next(const uint8_t *p, size_t len, size_t *pos, cam_wire_field *f)
{
    if (*pos >= len)
        return 0;
    f->start = *pos;
    f->value = 0;
    f->body = NULL;
    if (!read_varint(p, len, pos, &f->tag))
        return 0;
    f->number = f->tag >> 3;
    f->type = (int)(f->tag & 7);
    switch (f->type) {
    case 0: read_varint(p, len, pos, &f->value); break;
    case 1: *pos += 8; break;
    case 5: *pos += 4; break;
    default:
        read_varint(p, len, pos, &f->value);
        f->body = p + *pos;
        *pos += (size_t)f->value;
    }
    return 1;
}

/* How many times field `number` (length-delimited) occurs in a message. */
static int count_field(const uint8_t *p, size_t len, uint64_t number)
{
    size_t pos = 0;
    int count = 0;
    cam_wire_field f;
    while (cam_wire_next(p, len, &pos, &f))
        count += f.type == 2 && f.number == number;
    return count;
}

/* Writes (or, with s->out NULL, counts) the skeleton of a message at `level`
 * to s->out + at; returns the bytes it takes. The bytes were checked by
 * wire_check, so every length is within bounds. */
static size_t emit(skeleton *s, int level, const uint8_t *p, size_t len, size_t at)
{
    size_t pos = 0, wrote = 0;
    int strip = level == LEVEL_TENSOR && count_field(p, len, TENSOR_RAW_DATA) == 1;
    cam_wire_field f;
    while (cam_wire_next(p, len, &pos, &f)) {
        int child = -1;
        if (f.type == 2) {
            if (level == LEVEL_MODEL && f.number == MODEL_GRAPH)
                child = LEVEL_GRAPH;
            else if (level == LEVEL_GRAPH && f.number == GRAPH_INITIALIZER)
                child = LEVEL_TENSOR;
            else if (level == LEVEL_TENSOR && f.number == TENSOR_RAW_DATA && strip) {
                if (s->out) { /* left out: the caller decodes it from here */
                    s->raws[s->n_raws - 1].data = f.body;
                    s->raws[s->n_raws - 1].size = (size_t)f.value;
                }
                continue;
            }
        }
        if (child < 0) { /* copied as it is */
            if (s->out)
                memcpy(s->out + at + wrote, p + f.start, pos - f.start);
            wrote += pos - f.start;
            continue;
        }
        /* a nested message: its new length, then its skeleton */
        const uint8_t *body = f.body;
        const size_t n = (size_t)f.value;
        if (child == LEVEL_TENSOR && s->out) {
            s->raws[s->n_raws].data = NULL;
            s->raws[s->n_raws].size = 0;
            s->n_raws++;
        }
        uint8_t *saved = s->out;
        s->out = NULL;
        size_t inner = emit(s, child, body, n, 0);
        s->out = saved;
        size_t head = cam_wire_varint_size(f.tag) + cam_wire_varint_size(inner);
        if (s->out) {
            size_t h = cam_wire_put_varint(s->out + at + wrote, f.tag);
            cam_wire_put_varint(s->out + at + wrote + h, inner);
            emit(s, child, body, n, at + wrote + head);
        }
        wrote += head + inner;
    }
    return wrote;
}

/* Initializers of the main graph (entries of every GraphProto field 7: one
 * graph is the normal case; with several, protobuf-c's merge order is not
 * relied on and the skeleton is not made). */
static size_t count_initializers(const uint8_t *p, size_t len)
{
    size_t pos = 0, count = 0;
    cam_wire_field f;
    while (cam_wire_next(p, len, &pos, &f))
        if (f.type == 2 && f.number == MODEL_GRAPH)
            count += (size_t)count_field(f.body, (size_t)f.value, GRAPH_INITIALIZER);
    return count;
}

int cam_onnx_skeleton(const void *data, size_t size, void **skeleton_out, size_t *skeleton_size,
                      cam_onnx_raw **raws_out, size_t *n_raws)
{
    const uint8_t *p = data;
    *skeleton_out = NULL;
    *raws_out = NULL;
    *skeleton_size = *n_raws = 0;
    if (count_field(p, size, MODEL_GRAPH) != 1)
        return 1; /* no skeleton: the caller unpacks the whole file */
    size_t n_init = count_initializers(p, size);
    skeleton s = {NULL, NULL, 0};
    size_t need = emit(&s, LEVEL_MODEL, p, size, 0);
    s.out = malloc(need ? need : 1);
    s.raws = malloc((n_init ? n_init : 1) * sizeof *s.raws);
    if (!s.out || !s.raws) {
        free(s.out);
        free(s.raws);
        return 0;
    }
    emit(&s, LEVEL_MODEL, p, size, 0);
    *skeleton_out = s.out;
    *skeleton_size = need;
    *raws_out = s.raws;
    *n_raws = s.n_raws;
    return 1;
}
