/* cam-error.c -- errors as values: status names, messages, the version string. */
#include "cam-error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

const char *cam_status_name(cam_status status)
{
    switch (status) {
    case CAM_OK: return "ok";
    case CAM_ERROR_IO: return "i/o error";
    case CAM_ERROR_PARSE: return "parse error";
    case CAM_ERROR_INVALID_MODEL: return "invalid model";
    case CAM_ERROR_UNSUPPORTED: return "unsupported";
    case CAM_ERROR_INVALID_ARGUMENT: return "invalid argument";
    case CAM_ERROR_NOT_FOUND: return "not found";
    case CAM_ERROR_NO_MEMORY: return "out of memory";
    case CAM_ERROR_NUMERIC: return "numeric error";
    case CAM_STATUS_COUNT: break;
    }
    return NULL;
}

const char *cam_version_string(void)
{
    return CAM_VERSION_STRING;
}

static void one_line(char *message)
{
    for (char *p = message; *p; p++)
        if (*p == '\n' || *p == '\r')
            *p = ' ';
}

cam_status cam_set_error(cam_error *err, cam_status status, const char *format, ...)
{
    if (!err)
        return status;
    err->status = status;
    va_list ap;
    va_start(ap, format);
    int n = vsnprintf(err->message, sizeof err->message, format, ap);
    va_end(ap);
    if (n < 0)
        err->message[0] = '\0';
    one_line(err->message);
    return status;
}

void cam_clear_error(cam_error *err)
{
    if (!err)
        return;
    err->status = CAM_OK;
    err->message[0] = '\0';
}

void cam_error_prefix(cam_error *err, const char *format, ...)
{
    if (!err)
        return;
    char prefix[CAM_ERROR_MESSAGE_SIZE];
    char old[CAM_ERROR_MESSAGE_SIZE];
    va_list ap;
    va_start(ap, format);
    int n = vsnprintf(prefix, sizeof prefix, format, ap);
    va_end(ap);
    if (n < 0)
        return;
    memcpy(old, err->message, sizeof old);
    old[sizeof old - 1] = '\0';
    size_t size = sizeof err->message, at = 0;
    for (const char *parts[3] = {prefix, ": ", old}, **p = parts; p < parts + 3; p++)
        for (const char *c = *p; *c && at + 1 < size; c++)
            err->message[at++] = *c;
    err->message[at] = '\0';
    one_line(err->message);
}

cam_status cam_enum_from_name(const char *function, const char *what, const char *const *names,
                              int n, const char *name, int *out, cam_error *err)
{
    if (!name || !out)
        return cam_set_error(err, CAM_ERROR_INVALID_ARGUMENT, "%s: %s is NULL", function,
                             name ? "out" : "name");
    for (int i = 0; i < n; i++) {
        if (strcasecmp(name, names[i]) == 0) {
            *out = i;
            return CAM_OK;
        }
    }
    char known[CAM_ERROR_MESSAGE_SIZE] = "";
    size_t len = 0;
    for (int i = 0; i < n && len < sizeof known; i++) {
        int w = snprintf(known + len, sizeof known - len, "%s%s", i ? ", " : "", names[i]);
        if (w < 0)
            break;
        len += (size_t)w;
    }
    return cam_set_error(err, CAM_ERROR_NOT_FOUND, "%s: unknown %s \"%s\" (known: %s)", function,
                         what, name, known);
}

cam_status cam_check_options_size(const char *function, const char *type, const char *initialiser,
                                  size_t size, size_t known, cam_error *err)
{
    if (size >= known)
        return CAM_OK;
    return cam_set_error(err, CAM_ERROR_INVALID_ARGUMENT,
                         "%s: %s.size is %zu, expected at least %zu: initialise the options with "
                         "%s() and then set their fields",
                         function, type, size, known, initialiser);
}
