/*
 * cam-heatmap-image.c -- reading and writing image files with GdkPixbuf.
 *
 * Reading: every format GdkPixbuf has a loader for (PNG, JPEG, TIFF, GIF, BMP; WebP with
 * webp-pixbuf-loader), 8-bit RGB or RGBA (GdkPixbuf reduces 16-bit files to 8 bits),
 * EXIF orientation applied (gdk_pixbuf_apply_embedded_orientation) so the image is seen
 * the way viewers show it.
 * Writing: the format follows the output name's extension.
 */
#include "cam-heatmap.h"

#include <errno.h>
#include <fcntl.h>
#include <gdk-pixbuf/gdk-pixbuf.h>
#include <glib/gstdio.h>
#include <unistd.h>
#include <string.h>

#define CLI_IMAGE_ERROR (g_quark_from_static_string("cam-heatmap-image"))

void cli_image_clear(cli_image *image)
{
    g_free(image->pixels);
    memset(image, 0, sizeof *image);
}

cam_image cli_image_as_cam(const cli_image *image)
{
    cam_image c;
    memset(&c, 0, sizeof c);
    c.pixels = image->pixels;
    c.width = image->width;
    c.height = image->height;
    c.channels = image->channels;
    c.type = CAM_SAMPLE_U8;
    c.stride = image->stride;
    return c;
}

/* Does a JPEG file end with its EOI marker after its last scan (SOS)? GdkPixbuf decodes a
 * JPEG cut short without an error, filling the missing rows with gray. */
static gboolean jpeg_is_complete(const char *path)
{
    char *data = NULL;
    gsize n = 0;
    if (!g_file_get_contents(path, &data, &n, NULL)) return TRUE;
    const guint8 *d = (const guint8 *) data;
    gsize last_sos = 0, last_eoi = 0;
    for (gsize i = 0; i + 1 < n; i++) {
        if (d[i] != 0xff) continue;
        if (d[i + 1] == 0xda) last_sos = i + 1;
        else if (d[i + 1] == 0xd9) last_eoi = i + 1;
    }
    g_free(data);
    return last_eoi > last_sos;
}

gboolean cli_image_load(const char *path, cli_image *out, char **warning, GError **error)
{
    memset(out, 0, sizeof *out);
    if (warning) *warning = NULL;
    if (g_file_test(path, G_FILE_TEST_IS_DIR)) {
        g_set_error(error, CLI_IMAGE_ERROR, 1, "%s: is a folder, not an image", path);
        return FALSE;
    }
    /* the size from the header, before anything is decoded */
    int hw = 0, hh = 0;
    GdkPixbufFormat *fmt = gdk_pixbuf_get_file_info(path, &hw, &hh);
    if (fmt && (guint64) MAX(hw, 0) * (guint64) MAX(hh, 0) > CLI_IMAGE_MAX_PIXELS) {
        g_set_error(error, CLI_IMAGE_ERROR, 1,
                    "%s: %dx%d pixels is more than the %" G_GUINT64_FORMAT
                    " megapixels this tool reads",
                    path, hw, hh, (guint64) CLI_IMAGE_MAX_PIXELS / 1000000);
        return FALSE;
    }
    GError *local = NULL;
    GdkPixbuf *raw = gdk_pixbuf_new_from_file(path, &local);
    if (!raw) {
        /* GdkPixbuf's messages usually name the file already; make sure. */
        if (local && strstr(local->message, path))
            g_set_error(error, CLI_IMAGE_ERROR, 1, "%s", local->message);
        else
            g_set_error(error, CLI_IMAGE_ERROR, 1, "%s: %s", path,
                        local ? local->message : "could not be read");
        g_clear_error(&local);
        return FALSE;
    }
    /* Some loaders (GIF with a bad frame) return an image and set an error too. */
    g_clear_error(&local);
    GdkPixbuf *pb = gdk_pixbuf_apply_embedded_orientation(raw);
    g_object_unref(raw);
    if (!pb) {
        g_set_error(error, CLI_IMAGE_ERROR, 1, "%s: out of memory applying its orientation",
                    path);
        return FALSE;
    }
    if (gdk_pixbuf_get_colorspace(pb) != GDK_COLORSPACE_RGB ||
        gdk_pixbuf_get_bits_per_sample(pb) != 8 ||
        gdk_pixbuf_get_n_channels(pb) != (gdk_pixbuf_get_has_alpha(pb) ? 4 : 3)) {
        g_set_error(error, CLI_IMAGE_ERROR, 1, "%s: unsupported pixel layout from the loader",
                    path);
        g_object_unref(pb);
        return FALSE;
    }
    int w = gdk_pixbuf_get_width(pb), h = gdk_pixbuf_get_height(pb);
    int ch = gdk_pixbuf_get_n_channels(pb);
    int src_stride = gdk_pixbuf_get_rowstride(pb);
    const guint8 *src = gdk_pixbuf_read_pixels(pb);
    out->width = w;
    out->height = h;
    out->channels = ch;
    out->stride = (size_t) w * ch;
    out->pixels = g_try_malloc(out->stride * (size_t) h);
    if (!out->pixels) {
        g_set_error(error, CLI_IMAGE_ERROR, 1, "%s: out of memory (%dx%d pixels)", path, w, h);
        g_object_unref(pb);
        memset(out, 0, sizeof *out);
        return FALSE;
    }
    for (int y = 0; y < h; y++)
        memcpy(out->pixels + (size_t) y * out->stride, src + (size_t) y * src_stride,
               out->stride);
    g_object_unref(pb);
    char *format = fmt ? gdk_pixbuf_format_get_name(fmt) : NULL; /* a copy (transfer full) */
    if (warning && !g_strcmp0(format, "jpeg") && !jpeg_is_complete(path))
        *warning = g_strdup_printf("%s: the JPEG data is cut short (no end marker); the "
                                   "missing part was decoded as gray",
                                   path);
    g_free(format);
    return TRUE;
}

static const char *format_of_name(const char *path)
{
    const char *dot = strrchr(path, '.');
    const char *slash = strrchr(path, '/');
    if (!dot || (slash && dot < slash)) return NULL;
    dot++;
    if (!g_ascii_strcasecmp(dot, "png")) return "png";
    if (!g_ascii_strcasecmp(dot, "jpg") || !g_ascii_strcasecmp(dot, "jpeg")) return "jpeg";
    if (!g_ascii_strcasecmp(dot, "tif") || !g_ascii_strcasecmp(dot, "tiff")) return "tiff";
    if (!g_ascii_strcasecmp(dot, "bmp")) return "bmp";
    if (!g_ascii_strcasecmp(dot, "webp")) return "webp";
    return NULL;
}

gboolean cli_image_is_writable_name(const char *path)
{
    return format_of_name(path) != NULL;
}

typedef struct save_data {
    GdkPixbuf *pb;
    const char *format;
} save_data;

typedef struct save_sink {
    int fd;
    const char *name;
} save_sink;

static gboolean save_chunk(const gchar *buf, gsize count, GError **error, gpointer data)
{
    save_sink *sink = data;
    return cli_write_fd(sink->fd, buf, count, sink->name, error);
}

static gboolean save_pixbuf(int fd, gpointer data, const char *name, GError **error)
{
    save_data *sd = data;
    save_sink sink = {fd, name};
    GError *local = NULL;
    gboolean ok;
    if (!strcmp(sd->format, "jpeg"))
        ok = gdk_pixbuf_save_to_callback(sd->pb, save_chunk, &sink, sd->format, &local,
                                         "quality", "95", NULL);
    else
        ok = gdk_pixbuf_save_to_callback(sd->pb, save_chunk, &sink, sd->format, &local, NULL);
    if (!ok) {
        if (local && strstr(local->message, name))
            g_propagate_error(error, local);
        else {
            g_set_error(error, CLI_IMAGE_ERROR, 1, "%s: could not be written: %s", name,
                        local ? local->message : "unknown error");
            g_clear_error(&local);
        }
    }
    return ok;
}

gboolean cli_image_save(const cli_image *image, const char *path, GError **error)
{
    const char *format = format_of_name(path);
    if (!format) {
        g_set_error(error, CLI_IMAGE_ERROR, 1,
                    "%s: unknown output format (use .png, .jpg, .tif, .bmp or .webp)", path);
        return FALSE;
    }
    /* GdkPixbuf holds RGB(A) only: expand gray. */
    int ch = image->channels;
    gboolean alpha = ch == 2 || ch == 4;
    gboolean keep_alpha = alpha && strcmp(format, "jpeg") != 0 && strcmp(format, "bmp") != 0;
    int out_ch = keep_alpha ? 4 : 3;
    size_t stride = (size_t) image->width * out_ch;
    guint8 *buf = g_try_malloc(stride * (size_t) image->height);
    if (!buf) {
        g_set_error(error, CLI_IMAGE_ERROR, 1, "%s: out of memory", path);
        return FALSE;
    }
    for (int y = 0; y < image->height; y++) {
        const guint8 *s = image->pixels + (size_t) y * image->stride;
        guint8 *d = buf + (size_t) y * stride;
        for (int x = 0; x < image->width; x++, s += ch, d += out_ch) {
            if (ch <= 2) {
                d[0] = d[1] = d[2] = s[0];
            } else {
                d[0] = s[0];
                d[1] = s[1];
                d[2] = s[2];
            }
            if (keep_alpha) d[3] = s[ch - 1];
        }
    }
    GdkPixbuf *pb = gdk_pixbuf_new_from_data(buf, GDK_COLORSPACE_RGB, keep_alpha, 8,
                                             image->width, image->height, (int) stride, NULL,
                                             NULL);
    /* cli_write_file: a temporary file renamed over a regular file when complete, a FIFO
     * or device written directly, a symbolic link's target replaced (link kept). */
    GError *local = NULL;
    save_data sd = {pb, format};
    gboolean ok = cli_write_file(path, save_pixbuf, &sd, &local);
    g_object_unref(pb);
    g_free(buf);
    if (!ok) {
        if (local && strstr(local->message, path))
            g_set_error(error, CLI_IMAGE_ERROR, 1, "%s", local->message);
        else
            g_set_error(error, CLI_IMAGE_ERROR, 1, "%s: could not be written: %s", path,
                        local ? local->message : "unknown error");
        g_clear_error(&local);
        return FALSE;
    }
    return TRUE;
}
