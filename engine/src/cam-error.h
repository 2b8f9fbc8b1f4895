/* cam-error.h -- filling a cam_error (internal). */
#ifndef CAM_ERROR_H
#define CAM_ERROR_H

#include "camengine.h"

/* Sets err->status and a printf-formatted one-line message; returns status.
 * err may be NULL (then only the status is returned). The message is truncated
 * to CAM_ERROR_MESSAGE_SIZE - 1 bytes (never inside a character); newlines become
 * spaces, control characters and bytes that are not valid UTF-8 become \xNN. */
#if defined(__GNUC__)
__attribute__((format(printf, 3, 4)))
#endif
cam_status cam_set_error(cam_error *err, cam_status status, const char *format, ...);

/* Clears err to CAM_OK / "" (NULL-safe). */
void cam_clear_error(cam_error *err);

/* Prefix an existing message: "<prefix>: <old message>" (NULL-safe). */
#if defined(__GNUC__)
__attribute__((format(printf, 2, 3)))
#endif
void cam_error_prefix(cam_error *err, const char *format, ...);

/* The one implementation of every public cam_X_from_name(): finds `name` among
 * names[0 .. n-1] ignoring ASCII case and stores its index in *out. NULL name or
 * out: CAM_ERROR_INVALID_ARGUMENT ("<function>: name is NULL"); no match:
 * CAM_ERROR_NOT_FOUND ("<function>: unknown <what> "<name>" (known: a, b, c)").
 * *out is left unchanged on error. */
cam_status cam_enum_from_name(const char *function, const char *what, const char *const *names,
                              int n, const char *name, int *out, cam_error *err);

/* The one check of an options struct's `size` member (its first member, set by
 * its initialiser): refuses, with CAM_ERROR_INVALID_ARGUMENT, a size below
 * `known` (the sizeof this library was built with), naming the function, the
 * type and the initialiser to use. `size` is read only when options != NULL. */
cam_status cam_check_options_size(const char *function, const char *type, const char *initialiser,
                                  size_t size, size_t known, cam_error *err);

#endif /* CAM_ERROR_H */
