/*
 * cam-heatmap-output.c -- writing output files without losing anything that was there.
 *
 * What is at the output path decides how it is written:
 *   - nothing, or a regular file: the data goes to a temporary file beside it
 *     (".<name>.XXXXXX"), which is renamed over the path only once complete, so a failed or
 *     interrupted write never leaves a half-written file and the old one stays until then;
 *     a replaced file keeps its permission bits;
 *   - a symbolic link: followed (chains too); its final target is written as above, the link
 *     itself is kept;
 *   - a FIFO or a character device (/dev/null, a terminal, ...): opened and written directly,
 *     never renamed over;
 *   - "-": standard output;
 *   - a folder, a socket or a block device: an error, nothing is written.
 * Temporary files are registered while they exist; SIGINT, SIGTERM and SIGHUP remove them
 * before the process ends with that signal.
 *
 * Identities (cli_file_identity) let the tool compare planned outputs with inputs before
 * any work starts: device and inode for existing files (so links and different spellings
 * of one file compare equal), else the canonical path with symbolic links resolved.
 */
#include "cam-heatmap.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib/gstdio.h>

#define CLI_OUTPUT_ERROR (g_quark_from_static_string("cam-heatmap-output"))

/* ---- temporary files removed on signals ---------------------------------- */

enum { TMP_SLOTS = 64 };

typedef struct tmp_slot {
    gint state; /* 0 free, 1 taken (path being set or valid) */
    char path[PATH_MAX];
} tmp_slot;

static tmp_slot tmp_slots[TMP_SLOTS];

static tmp_slot *tmp_slot_take(void)
{
    for (;;) {
        for (int i = 0; i < TMP_SLOTS; i++)
            if (g_atomic_int_compare_and_exchange(&tmp_slots[i].state, 0, 1))
                return &tmp_slots[i];
        g_thread_yield(); /* more writers than slots: wait for one to finish */
    }
}

static void tmp_slot_release(tmp_slot *slot)
{
    slot->path[0] = '\0';
    g_atomic_int_set(&slot->state, 0);
}

static void on_fatal_signal(int sig)
{
    /* async-signal-safe: unlink, signal, raise */
    for (int i = 0; i < TMP_SLOTS; i++)
        if (g_atomic_int_get(&tmp_slots[i].state) == 1 && tmp_slots[i].path[0])
            unlink(tmp_slots[i].path);
    signal(sig, SIG_DFL);
    raise(sig);
}

void cli_output_install_signal_handlers(void)
{
    static const int sigs[] = {SIGINT, SIGTERM, SIGHUP};
    for (size_t i = 0; i < G_N_ELEMENTS(sigs); i++) {
        struct sigaction old;
        if (sigaction(sigs[i], NULL, &old) == 0 && old.sa_handler == SIG_IGN)
            continue; /* e.g. nohup: keep ignoring */
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_handler = on_fatal_signal;
        sigemptyset(&sa.sa_mask);
        sigaction(sigs[i], &sa, NULL);
    }
}

/* ---- paths ---------------------------------------------------------------- */

/* Follows symbolic links (path itself and chains) to the final name, which need not exist.
 * Returns a newly allocated path, or NULL with an error (a loop). */
static char *resolve_links(const char *path, GError **error)
{
    char *cur = g_strdup(path);
    for (int hops = 0; hops < 40; hops++) {
        GStatBuf st;
        if (g_lstat(cur, &st) != 0 || !S_ISLNK(st.st_mode)) return cur;
        GError *local = NULL;
        char *target = g_file_read_link(cur, &local);
        if (!target) {
            g_set_error(error, CLI_OUTPUT_ERROR, 1, "%s: %s", path, local->message);
            g_error_free(local);
            g_free(cur);
            return NULL;
        }
        char *next;
        if (g_path_is_absolute(target)) {
            next = target;
        } else {
            char *dir = g_path_get_dirname(cur);
            next = g_build_filename(dir, target, NULL);
            g_free(dir);
            g_free(target);
        }
        g_free(cur);
        cur = next;
    }
    g_set_error(error, CLI_OUTPUT_ERROR, 1, "%s: too many levels of symbolic links", path);
    g_free(cur);
    return NULL;
}

char *cli_file_identity(const char *path)
{
    GStatBuf st;
    if (g_stat(path, &st) == 0)
        return g_strdup_printf("inode %ju:%ju", (uintmax_t) st.st_dev, (uintmax_t) st.st_ino);
    char *resolved = resolve_links(path, NULL);
    if (!resolved) resolved = g_strdup(path);
    /* a name that does not exist yet: its folder's identity and its base name */
    char *dir = g_path_get_dirname(resolved), *base = g_path_get_basename(resolved);
    char *id;
    if (g_stat(dir, &st) == 0)
        id = g_strdup_printf("inode %ju:%ju/%s", (uintmax_t) st.st_dev, (uintmax_t) st.st_ino,
                             base);
    else
        id = g_canonicalize_filename(resolved, NULL);
    g_free(dir);
    g_free(base);
    g_free(resolved);
    return id;
}

gboolean cli_output_check(const char *path, GError **error)
{
    if (!strcmp(path, "-")) return TRUE;
    char *target = resolve_links(path, error);
    if (!target) return FALSE;
    GStatBuf st;
    gboolean ok = TRUE;
    if (g_stat(target, &st) == 0) {
        if (S_ISDIR(st.st_mode)) {
            g_set_error(error, CLI_OUTPUT_ERROR, 1, "%s is a folder, not a file", path);
            ok = FALSE;
        } else if (!S_ISREG(st.st_mode) && !S_ISFIFO(st.st_mode) && !S_ISCHR(st.st_mode)) {
            g_set_error(error, CLI_OUTPUT_ERROR, 1,
                        "%s is not a regular file, a FIFO or a character device; not written",
                        path);
            ok = FALSE;
        }
    }
    g_free(target);
    return ok;
}

/* ---- writing -------------------------------------------------------------- */

gboolean cli_write_fd(int fd, const void *data, size_t length, const char *name, GError **error)
{
    const char *p = data;
    while (length > 0) {
        ssize_t n = write(fd, p, length);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            int e = n < 0 ? errno : EIO;
            g_set_error(error, G_FILE_ERROR, g_file_error_from_errno(e), "%s: %s", name,
                        g_strerror(e));
            return FALSE;
        }
        p += n;
        length -= (size_t) n;
    }
    return TRUE;
}

static gboolean write_direct(const char *path, const char *shown, cli_writer writer,
                             gpointer data, GError **error)
{
    int fd = g_open(path, O_WRONLY | O_CLOEXEC, 0);
    if (fd < 0) {
        int e = errno;
        g_set_error(error, G_FILE_ERROR, g_file_error_from_errno(e), "%s: %s", shown,
                    g_strerror(e));
        return FALSE;
    }
    gboolean ok = writer(fd, data, shown, error);
    if (close(fd) != 0 && ok) {
        int e = errno;
        g_set_error(error, G_FILE_ERROR, g_file_error_from_errno(e), "%s: %s", shown,
                    g_strerror(e));
        ok = FALSE;
    }
    return ok;
}

static gboolean write_replace(const char *target, const char *shown, cli_writer writer,
                              gpointer data, GError **error)
{
    GStatBuf old;
    gboolean had_old = g_stat(target, &old) == 0;
    char *dir = g_path_get_dirname(target), *base = g_path_get_basename(target);
    char *tmp = g_strdup_printf("%s/.%s.XXXXXX", dir, base);
    g_free(dir);
    g_free(base);
    if (strlen(tmp) >= PATH_MAX) {
        g_set_error(error, G_FILE_ERROR, G_FILE_ERROR_NAMETOOLONG, "%s: name too long", shown);
        g_free(tmp);
        return FALSE;
    }
    tmp_slot *slot = tmp_slot_take();
    /* g_mkstemp_full writes the final name into the slot before it creates the file, so a
     * signal handler that runs at any point sees the name of any file that exists */
    memcpy(slot->path, tmp, strlen(tmp) + 1);
    g_free(tmp);
    int fd = g_mkstemp_full(slot->path, O_RDWR | O_CLOEXEC, 0666); /* 0666 & ~umask */
    if (fd < 0) {
        int e = errno;
        g_set_error(error, G_FILE_ERROR, g_file_error_from_errno(e),
                    "%s: cannot create a temporary file beside it: %s", shown, g_strerror(e));
        tmp_slot_release(slot);
        return FALSE;
    }
    gboolean ok = TRUE;
    if (had_old && fchmod(fd, old.st_mode & 07777) != 0) {
        /* not fatal: the file keeps 0666 & ~umask */
    }
    ok = writer(fd, data, shown, error);
    if (ok && fsync(fd) != 0 && errno != EINVAL && errno != EROFS) {
        int e = errno;
        g_set_error(error, G_FILE_ERROR, g_file_error_from_errno(e), "%s: %s", shown,
                    g_strerror(e));
        ok = FALSE;
    }
    if (close(fd) != 0 && ok) {
        int e = errno;
        g_set_error(error, G_FILE_ERROR, g_file_error_from_errno(e), "%s: %s", shown,
                    g_strerror(e));
        ok = FALSE;
    }
    if (ok && g_rename(slot->path, target) != 0) {
        int e = errno;
        g_set_error(error, G_FILE_ERROR, g_file_error_from_errno(e), "%s: %s", shown,
                    g_strerror(e));
        ok = FALSE;
    }
    if (!ok) g_unlink(slot->path);
    tmp_slot_release(slot);
    return ok;
}

gboolean cli_write_file(const char *path, cli_writer writer, gpointer data, GError **error)
{
    if (!strcmp(path, "-")) {
        fflush(stdout);
        return writer(STDOUT_FILENO, data, "standard output", error);
    }
    if (!cli_output_check(path, error)) return FALSE;
    char *target = resolve_links(path, error);
    if (!target) return FALSE;
    GStatBuf st;
    gboolean ok;
    if (g_stat(target, &st) == 0 && (S_ISFIFO(st.st_mode) || S_ISCHR(st.st_mode)))
        ok = write_direct(target, path, writer, data, error);
    else
        ok = write_replace(target, path, writer, data, error);
    g_free(target);
    return ok;
}

typedef struct text_data {
    const char *text;
    size_t length;
} text_data;

static gboolean write_text(int fd, gpointer data, const char *name, GError **error)
{
    const text_data *t = data;
    return cli_write_fd(fd, t->text, t->length, name, error);
}

gboolean cli_write_text(const char *path, const char *text, size_t length, GError **error)
{
    text_data t = {text, length};
    return cli_write_file(path, write_text, &t, error);
}
