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

static size_t put_varint(uint8_t *p, uint64_t v)
{
    size_t n = 0;
    do {
        uint8_t b = v & 0x7f;
        v >>= 7;
        p[n++] = b | (v ? 0x80 : 0);
    } while (v);
    return n;
}

static size_t varint_size(uint64_t v)
{
    size_t n = 1;
    while (v >>= 7)
        n++;
    return n;
}

/* The key of a StringStringEntryProto (the last key field, as protobuf reads it):
 * its bytes and length; 0 if it has none. The bytes passed the wire check. */
static int entry_key(const uint8_t *p, size_t len, const uint8_t **key, size_t *key_len)
{
    size_t pos = 0;
    int found = 0;
    while (pos < len) {
        uint64_t tag, n;
        if (!read_varint(p, len, &pos, &tag))
            return found;
        switch (tag & 7) {
        case 0:
            if (!read_varint(p, len, &pos, &n))
                return found;
            break;
        case 1: pos += 8; break;
        case 5: pos += 4; break;
        case 2:
            if (!read_varint(p, len, &pos, &n) || n > len - pos)
                return found;
            if ((tag >> 3) == 1) {
                *key = p + pos;
                *key_len = (size_t)n;
                found = 1;
            }
            pos += (size_t)n;
            break;
        default: return found;
        }
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
    size_t body = 1 + varint_size(k) + k + 1 + varint_size(v) + v;
    return 1 + varint_size(body) + body;
}

static size_t put_entry(uint8_t *p, const char *key, const char *value)
{
    size_t k = strlen(key), v = strlen(value);
    size_t body = 1 + varint_size(k) + k + 1 + varint_size(v) + v;
    size_t n = 0;
    p[n++] = (METADATA_PROPS_FIELD << 3) | 2;
    n += put_varint(p + n, body);
    p[n++] = (1 << 3) | 2;
    n += put_varint(p + n, k);
    memcpy(p + n, key, k);
    n += k;
    p[n++] = (2 << 3) | 2;
    n += put_varint(p + n, v);
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
    while (pos < size) {
        const size_t start = pos;
        uint64_t tag = 0, len = 0;
        read_varint(p, size, &pos, &tag); /* cannot fail: the wire check passed */
        switch (tag & 7) {
        case 0: read_varint(p, size, &pos, &len); break;
        case 1: pos += 8; break;
        case 5: pos += 4; break;
        default: /* 2 */
            read_varint(p, size, &pos, &len);
            pos += (size_t)len;
            break;
        }
        if ((tag >> 3) == METADATA_PROPS_FIELD && (tag & 7) == 2) {
            const uint8_t *key;
            size_t key_len, body = (size_t)len;
            int e = entry_key(p + pos - body, body, &key, &key_len)
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
        memcpy(o + w, p + start, pos - start);
        w += pos - start;
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
