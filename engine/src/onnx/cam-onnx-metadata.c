/*
 * cam-onnx-metadata.c -- editing ModelProto.metadata_props at the protobuf wire
 * level, leaving every other byte of the file as it is.
 *
 * A ModelProto is a sequence of fields; metadata_props is field 14, each entry a
 * StringStringEntryProto {key = 1, value = 2}. The edit copies every field's bytes
 * unchanged, in order, except the entries whose key is edited: the first of those
 * becomes the new entry (or disappears when the key is removed), later duplicates
 * disappear; keys that were not there are appended at the end.
 */
#include "onnx/cam-onnx-private.h"
#include "cam-error.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define METADATA_PROPS_FIELD 14

/* The key of a StringStringEntryProto (the last key field, as protobuf reads it):
 * its bytes and length; 0 if it has none. The bytes passed the wire check. */
static int entry_key(const uint8_t *p, size_t len, const uint8_t **key, size_t *key_len)
{
    size_t pos = 0;
    int found = 0;
    cam_wire_field f;
    while (cam_wire_next(p, len, &pos, &f))
        if (f.type == 2 && f.number == 1) {
            *key = f.body;
            *key_len = (size_t)f.value;
            found = 1;
        }
    return found;
}

static int edit_index(const uint8_t *key, size_t key_len, const char *const *keys, int n)
{
    for (int i = n - 1; i >= 0; i--) /* the last edit of a key wins */
        if (strlen(keys[i]) == key_len && memcmp(keys[i], key, key_len) == 0)
            return i;
    return -1;
}

static size_t entry_size(const char *key, const char *value)
{
    size_t k = strlen(key), v = strlen(value);
    size_t body = 1 + cam_wire_varint_size(k) + k + 1 + cam_wire_varint_size(v) + v;
    return 1 + cam_wire_varint_size(body) + body;
}

static size_t put_entry(uint8_t *p, const char *key, const char *value)
{
    size_t k = strlen(key), v = strlen(value);
    size_t body = 1 + cam_wire_varint_size(k) + k + 1 + cam_wire_varint_size(v) + v;
    size_t n = 0;
    p[n++] = (METADATA_PROPS_FIELD << 3) | 2;
    n += cam_wire_put_varint(p + n, body);
    p[n++] = (1 << 3) | 2;
    n += cam_wire_put_varint(p + n, k);
    memcpy(p + n, key, k);
    n += k;
    p[n++] = (2 << 3) | 2;
    n += cam_wire_put_varint(p + n, v);
    memcpy(p + n, value, v);
    return n + v;
}

cam_status cam_onnx_edit_metadata(const void *data, size_t size, const char *const *keys,
                                  const char *const *values, int n, unsigned char **out,
                                  size_t *out_size, cam_error *err)
{
    *out = NULL;
    *out_size = 0;
    const char *why = cam_onnx_wire_check(data, size, &onnx__model_proto__descriptor);
    if (why)
        return cam_set_error(err, CAM_ERROR_PARSE, "not a valid ONNX file: %s", why);
    /* the output is at most the input plus every new entry */
    size_t room = size;
    for (int i = 0; i < n; i++)
        if (values[i])
            room += entry_size(keys[i], values[i]);
    uint8_t *o = malloc(room ? room : 1);
    char *done = calloc((size_t)n + 1, 1);
    if (!o || !done) {
        free(o);
        free(done);
        return cam_set_error(err, CAM_ERROR_NO_MEMORY, "out of memory");
    }
    const uint8_t *p = data;
    size_t pos = 0, w = 0;
    cam_wire_field f;
    while (cam_wire_next(p, size, &pos, &f)) {
        if (f.number == METADATA_PROPS_FIELD && f.type == 2) {
            const uint8_t *key;
            size_t key_len;
            int e = entry_key(f.body, (size_t)f.value, &key, &key_len)
                        ? edit_index(key, key_len, keys, n)
                        : -1;
            if (e >= 0) {
                /* an edited key: the new entry takes the place of the first one */
                if (!done[e] && values[e])
                    w += put_entry(o + w, keys[e], values[e]);
                done[e] = 1;
                continue;
            }
        }
        memcpy(o + w, p + f.start, pos - f.start);
        w += pos - f.start;
    }
    for (int i = 0; i < n; i++) {
        if (!values[i] || done[i] || edit_index((const uint8_t *)keys[i], strlen(keys[i]), keys, n) != i)
            continue;
        w += put_entry(o + w, keys[i], values[i]);
    }
    free(done);
    *out = o;
    *out_size = w;
    return CAM_OK;
}
