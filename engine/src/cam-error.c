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
    case CAM_STATUS_CANCELLED: return "cancelled";
    case CAM_STATUS_COUNT: break;
    }
    return NULL;
}

const char *cam_version_string(void)
{
    return CAM_VERSION_STRING;
}

/* Length of the valid UTF-8 sequence at s (1..4), or 0 if s does not start one
 * (stray continuation byte, overlong form, surrogate, above U+10FFFF, cut short). */
static size_t utf8_sequence(const unsigned char *s)
{
    unsigned c = s[0];
    size_t n;
    unsigned min, code;
    if (c < 0x80)
        return 1;
    else if (c >= 0xc2 && c <= 0xdf)
        n = 2, min = 0x80, code = c & 0x1f;
    else if (c >= 0xe0 && c <= 0xef)
        n = 3, min = 0x800, code = c & 0x0f;
    else if (c >= 0xf0 && c <= 0xf4)
        n = 4, min = 0x10000, code = c & 0x07;
    else
        return 0;
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xc0) != 0x80) /* also stops at the terminating NUL */
            return 0;
        code = (code << 6) | (s[i] & 0x3f);
    }
    if (code < min || code > 0x10ffff || (code >= 0xd800 && code <= 0xdfff))
        return 0;
    return n;
}

/* Makes the message one line of valid UTF-8 without control characters, whatever a
 * model file put in the names and values it quotes: newlines become spaces, other
 * control bytes and bytes that are not part of a valid UTF-8 sequence become \xNN.
 * A multi-byte character cut by the size limit (truncated) is dropped, not escaped. */
static void clean_message(char *message, size_t size, int truncated)
{
    char in[CAM_ERROR_MESSAGE_SIZE];
    size_t len = strlen(message);
    if (len >= sizeof in)
        len = sizeof in - 1;
    memcpy(in, message, len);
    in[len] = '\0';
    const unsigned char *p = (const unsigned char *)in;
    size_t at = 0;
    while (*p) {
        size_t n = utf8_sequence(p);
        char esc[5];
        const char *out = (const char *)p;
        size_t out_n = n;
        if (n == 1 && (*p == '\n' || *p == '\r')) {
            out = " ";
        } else if (n == 0 || (n == 1 && (*p < 0x20 || *p == 0x7f))) {
            if (n == 0 && truncated) {
                /* a sequence cut at the end by truncation: drop the rest */
                size_t rest = strlen((const char *)p);
                if (rest < 4 && *p >= 0xc2 && *p <= 0xf4) {
                    int all_cont = 1;
                    for (size_t i = 1; i < rest; i++)
                        all_cont &= (p[i] & 0xc0) == 0x80;
                    if (all_cont)
                        break;
                }
            }
            snprintf(esc, sizeof esc, "\\x%02x", *p);
            out = esc;
            out_n = 4;
            n = 1;
        }
        if (at + out_n + 1 > size)
            break;
        memcpy(message + at, out, out_n);
        at += out_n;
        p += n;
    }
    message[at] = '\0';
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
    clean_message(err->message, sizeof err->message, n >= (int)sizeof err->message);
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
    size_t size = sizeof err->message, at = 0, total = 0;
    for (const char *parts[3] = {prefix, ": ", old}, **p = parts; p < parts + 3; p++)
        for (const char *c = *p; *c; c++, total++)
            if (at + 1 < size)
                err->message[at++] = *c;
    err->message[at] = '\0';
    clean_message(err->message, size, total > at || n >= (int)sizeof prefix);
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
