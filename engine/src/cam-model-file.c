/*
 * cam-model-file.c -- gimp-cam's metadata in a copy of an ONNX file, and models
 * loaded with metadata overridden (command-line flags), without touching the file.
 *
 * The edit itself is onnx/cam-onnx-metadata.c (wire level: every byte outside
 * metadata_props stays as it was). Writing checks the result by loading it, so
 * a value the loader would refuse (an unknown colormap, a layer that cannot be
 * explained, a label count that differs from the classes) is refused before
 * anything is written, and the file appears only complete (temporary file in the
 * same folder, renamed over the target).
 */
#include "cam-model.h"
#include "cam-error.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static cam_status check_edits(const char *const *keys, const char *const *values, int n,
                              cam_error *err)
{
    if (n < 0 || (n > 0 && (!keys || !values)))
        return cam_set_error(err, CAM_ERROR_INVALID_ARGUMENT,
                             "metadata edits: keys or values is NULL (n = %d)", n);
    for (int i = 0; i < n; i++)
        if (!keys[i] || !*keys[i])
            return cam_set_error(err, CAM_ERROR_INVALID_ARGUMENT,
                                 "metadata edit %d: the key is NULL or empty", i);
    return CAM_OK;
}

cam_status cam_model_edit_metadata(const void *data, size_t size, const char *origin,
                                   const char *const *keys, const char *const *values, int n,
                                   void **out, size_t *out_size, cam_error *err)
{
    if (!out || !out_size)
        return cam_set_error(err, CAM_ERROR_INVALID_ARGUMENT,
                             "cam_model_edit_metadata: out or out_size is NULL");
    *out = NULL;
    *out_size = 0;
    if (!data || size == 0)
        return cam_set_error(err, CAM_ERROR_PARSE, "%s: the file is empty",
                             origin ? origin : "(memory)");
    cam_status s = check_edits(keys, values, n, err);
    if (s != CAM_OK)
        return s;
    unsigned char *bytes = NULL;
    s = cam_onnx_edit_metadata(data, size, keys, values, n, &bytes, out_size, err);
    if (s != CAM_OK) {
        cam_error_prefix(err, "%s", origin ? origin : "(memory)");
        return s;
    }
    *out = bytes;
    return CAM_OK;
}

cam_status cam_model_load_with_metadata(const char *name_or_path, const char *const *keys,
                                        const char *const *values, int n, cam_model **out,
                                        cam_error *err)
{
    if (!out)
        return cam_set_error(err, CAM_ERROR_INVALID_ARGUMENT, "out is NULL");
    *out = NULL;
    cam_status s = check_edits(keys, values, n, err);
    if (s != CAM_OK)
        return s;
    char *path = NULL;
    if ((s = cam_model_find(name_or_path, &path, err)) != CAM_OK)
        return s;
    unsigned char *data = NULL;
    size_t size = 0;
    void *edited = NULL;
    size_t edited_size = 0;
    s = cam_model_read_file(path, &data, &size, err);
    if (s == CAM_OK)
        s = cam_model_edit_metadata(data, size, path, keys, values, n, &edited, &edited_size, err);
    if (s == CAM_OK)
        s = cam_model_load_memory(edited, edited_size, path, out, err);
    free(edited);
    free(data);
    free(path);
    return s;
}

/* Writes all of data to path through a temporary file in its folder, renamed over
 * it; mode: the target's if it exists, else `mode`. */
static cam_status write_atomically(const char *path, const void *data, size_t size, mode_t mode,
                                   cam_error *err)
{
    size_t n = strlen(path);
    char *tmp = malloc(n + 16);
    if (!tmp)
        return cam_set_error(err, CAM_ERROR_NO_MEMORY, "out of memory");
    memcpy(tmp, path, n);
    memcpy(tmp + n, ".tmp-XXXXXX", 12);
    struct stat st;
    if (stat(path, &st) == 0) {
        if (!S_ISREG(st.st_mode)) {
            free(tmp);
            return cam_set_error(err, CAM_ERROR_IO, "cannot write '%s': not a regular file", path);
        }
        mode = st.st_mode & 07777;
    }
    int fd = mkstemp(tmp);
    if (fd < 0) {
        int e = errno;
        free(tmp);
        return cam_set_error(err, CAM_ERROR_IO, "cannot write '%s': %s", path, strerror(e));
    }
    const unsigned char *p = data;
    size_t left = size;
    int e = 0;
    while (left > 0) {
        ssize_t w = write(fd, p, left);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            e = errno;
            break;
        }
        p += w;
        left -= (size_t)w;
    }
    if (!e && fchmod(fd, mode) != 0)
        e = errno;
    if (!e && fsync(fd) != 0)
        e = errno;
    if (close(fd) != 0 && !e)
        e = errno;
    if (!e && rename(tmp, path) != 0)
        e = errno;
    if (e) {
        unlink(tmp);
        free(tmp);
        return cam_set_error(err, CAM_ERROR_IO, "cannot write '%s': %s", path, strerror(e));
    }
    free(tmp);
    return CAM_OK;
}

cam_status cam_model_file_set_metadata(const char *path, const char *out_path,
                                       const char *const *keys, const char *const *values, int n,
                                       cam_error *err)
{
    if (!path || !out_path)
        return cam_set_error(err, CAM_ERROR_INVALID_ARGUMENT,
                             "cam_model_file_set_metadata: path or out_path is NULL");
    cam_status s = check_edits(keys, values, n, err);
    if (s != CAM_OK)
        return s;
    unsigned char *data = NULL;
    size_t size = 0;
    void *edited = NULL;
    size_t edited_size = 0;
    cam_model *model = NULL;
    struct stat st;
    mode_t mode = stat(path, &st) == 0 ? (st.st_mode & 0777) : 0644;
    s = cam_model_read_file(path, &data, &size, err);
    if (s == CAM_OK)
        s = cam_model_edit_metadata(data, size, path, keys, values, n, &edited, &edited_size, err);
    if (s == CAM_OK) /* the result must load: checks every cam.* value against the model */
        s = cam_model_load_memory(edited, edited_size, path, &model, err);
    cam_model_free(model);
    if (s == CAM_OK)
        s = write_atomically(out_path, edited, edited_size, mode, err);
    free(edited);
    free(data);
    return s;
}
