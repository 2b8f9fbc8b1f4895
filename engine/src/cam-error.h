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

#endif /* CAM_ERROR_H */
