/*
 * cam-labels.c -- class labels from a text file or a set shipped with gimp-cam
 * ("imagenet"), in the form of the cam.labels metadata value.
 */
#include "cam-model.h"
#include "cam-error.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#ifndef CAM_LABELDIR
#define CAM_LABELDIR "/usr/local/share/gimp-cam/labels"
#endif
#ifndef CAM_SOURCE_LABELDIR
#define CAM_SOURCE_LABELDIR ""
#endif

/* Is `name` a known set's name (letters, digits, '-', '_'; no path)? */
static int is_set_name(const char *name)
{
    if (!*name || strlen(name) > 64)
        return 0;
    for (const char *p = name; *p; p++)
        if (!isalnum((unsigned char)*p) && *p != '-' && *p != '_')
            return 0;
    return 1;
}

static int is_regular_file(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/* The file of a known set, or NULL (malloc'ed). */
static char *set_path(const char *name)
{
    const char *dirs[2] = {CAM_LABELDIR, cam_running_uninstalled() ? CAM_SOURCE_LABELDIR : ""};
    for (int i = 0; i < 2; i++) {
        if (!*dirs[i])
            continue;
        size_t n = strlen(dirs[i]) + strlen(name) + 6;
        char *path = malloc(n);
        if (!path)
            return NULL;
        snprintf(path, n, "%s/%s.txt", dirs[i], name);
        if (is_regular_file(path))
            return path;
        free(path);
    }
    return NULL;
}

cam_status cam_labels_read(const char *name_or_path, char **labels_out, int *count_out,
                           cam_error *err)
{
    if (!labels_out || !count_out)
        return cam_set_error(err, CAM_ERROR_INVALID_ARGUMENT,
                             "cam_labels_read: labels_out or count_out is NULL");
    *labels_out = NULL;
    *count_out = 0;
    if (!name_or_path || !*name_or_path)
        return cam_set_error(err, CAM_ERROR_INVALID_ARGUMENT, "the labels file name is empty");
    char *path = NULL;
    if (!strchr(name_or_path, '/') && !is_regular_file(name_or_path) &&
        is_set_name(name_or_path)) {
        path = set_path(name_or_path);
        if (!path)
            return cam_set_error(err, CAM_ERROR_NOT_FOUND,
                                 "labels '%.64s': no such file, and no such label set in %s "
                                 "(known: imagenet)", name_or_path, CAM_LABELDIR);
    }
    unsigned char *data = NULL;
    size_t size = 0;
    cam_status s = cam_model_read_file(path ? path : name_or_path, &data, &size, err);
    char *shown = path ? path : (char *)name_or_path;
    if (s != CAM_OK) {
        free(path);
        return s;
    }
    /* one label per line: \r\n or \n, one final newline allowed; no empty label */
    char *text = malloc(size + 1);
    if (!text) {
        free(data);
        free(path);
        return cam_set_error(err, CAM_ERROR_NO_MEMORY, "out of memory");
    }
    size_t w = 0;
    int count = 0, line = 1;
    size_t start = 0;
    for (size_t i = 0; i <= size; i++) {
        if (i < size && data[i] != '\n')
            continue;
        size_t end = i;
        if (end > start && data[end - 1] == '\r')
            end--;
        if (i == size && end == start && i == start) /* after a final newline (or empty file) */
            break;
        if (end == start) {
            s = cam_set_error(err, CAM_ERROR_INVALID_ARGUMENT,
                              "%s: line %d is empty (one label per line)", shown, line);
            break;
        }
        if (memchr(data + start, '\0', end - start)) {
            s = cam_set_error(err, CAM_ERROR_INVALID_ARGUMENT,
                              "%s: line %d holds a NUL byte; not a text file", shown, line);
            break;
        }
        if (count > 0)
            text[w++] = '\n';
        memcpy(text + w, data + start, end - start);
        w += end - start;
        count++;
        line++;
        start = i + 1;
    }
    free(data);
    if (s == CAM_OK && count == 0)
        s = cam_set_error(err, CAM_ERROR_INVALID_ARGUMENT, "%s: no labels (the file is empty)",
                          shown);
    free(path);
    if (s != CAM_OK) {
        free(text);
        return s;
    }
    text[w] = '\0';
    *labels_out = text;
    *count_out = count;
    return CAM_OK;
}
