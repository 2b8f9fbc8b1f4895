/*
 * cam-onnx-wire.c -- the protobuf wire-format check, run before protobuf-c
 * unpacks a file, so that a hostile file cannot exhaust the stack or make the
 * decoder read past the end: every length is checked against what is left and
 * nesting of known message fields is bounded.
 */
#include "onnx/cam-onnx-private.h"

#include <stdint.h>

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
