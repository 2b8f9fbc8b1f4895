/*
 * cam-model-search.c -- from a model name ("cifar10") to a file.
 *
 * A name is looked up as <dir>/<name>.onnx in, in this order (issue 6, item 7):
 *   1. the install prefix's data dir, <prefix>/share/gimp-cam/models (CAM_MODELDIR);
 *   2. when the library runs uninstalled (from its build tree): the build tree's
 *      weights/ and the source tree's weights/ (CAM_SOURCE_MODELDIR);
 *   3. the per-user data dir, $XDG_DATA_HOME/gimp-cam/models (default
 *      ~/.local/share/gimp-cam/models);
 *   4. every folder of $CAM_MODEL_PATH (':'-separated), left to right.
 * Anything containing '/' or ending in ".onnx" is a path and is used as is.
 * cam_model_search_dirs gives the same folders to the catalog (cam-model-catalog.c).
 */
#define _GNU_SOURCE /* dladdr */
#include "cam-model.h"
#include "cam-error.h"
#include "cam-config.h"

#include <dlfcn.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#ifndef CAM_MODELDIR
#define CAM_MODELDIR "/usr/local/share/gimp-cam/models"
#endif
#ifndef CAM_SOURCE_MODELDIR
#define CAM_SOURCE_MODELDIR ""
#endif

#define MAX_DIRS 64

static int is_regular_file(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

static int has_prefix_dir(const char *path, const char *dir)
{
    size_t n = strlen(dir);
    return n > 0 && strncmp(path, dir, n) == 0 && (path[n] == '/' || path[n] == '\0');
}

/* Is this code running from the build tree (library or executable inside it)? */
int cam_running_uninstalled(void)
{
    char real_build[PATH_MAX], real[PATH_MAX];
    if (!*CAM_BUILD_ROOT || !realpath(CAM_BUILD_ROOT, real_build))
        return 0;
    Dl_info info;
    if (dladdr((void *)&cam_running_uninstalled, &info) && info.dli_fname && *info.dli_fname &&
        realpath(info.dli_fname, real) && has_prefix_dir(real, real_build))
        return 1;
    ssize_t n = readlink("/proc/self/exe", real, sizeof real - 1);
    if (n > 0) {
        real[n] = '\0';
        if (has_prefix_dir(real, real_build))
            return 1;
    }
    return 0;
}

typedef struct search_dirs {
    char *dirs[MAX_DIRS];
    int n;
} search_dirs;

static int add_dir(search_dirs *s, const char *a, const char *b)
{
    if (s->n >= MAX_DIRS || !a || !*a)
        return 1;
    size_t n = strlen(a) + (b ? strlen(b) + 1 : 0) + 1;
    char *dir = malloc(n);
    if (!dir)
        return 0;
    snprintf(dir, n, "%s%s%s", a, b ? "/" : "", b ? b : "");
    s->dirs[s->n++] = dir;
    return 1;
}

static int collect_dirs(search_dirs *s)
{
    int ok = add_dir(s, CAM_MODELDIR, NULL);
    if (cam_running_uninstalled()) {
        ok = ok && add_dir(s, CAM_BUILD_ROOT, "weights");
        ok = ok && add_dir(s, CAM_SOURCE_MODELDIR, NULL);
    }
    const char *xdg = getenv("XDG_DATA_HOME");
    if (xdg && xdg[0] == '/')
        ok = ok && add_dir(s, xdg, "gimp-cam/models");
    else {
        const char *home = getenv("HOME");
        if (home && home[0] == '/')
            ok = ok && add_dir(s, home, ".local/share/gimp-cam/models");
    }
    const char *env = getenv("CAM_MODEL_PATH");
    if (env) {
        const char *p = env;
        while (ok) {
            const char *colon = strchr(p, ':');
            size_t n = colon ? (size_t)(colon - p) : strlen(p);
            if (n > 0 && n < PATH_MAX) {
                char dir[PATH_MAX];
                memcpy(dir, p, n);
                dir[n] = '\0';
                ok = add_dir(s, dir, NULL);
            }
            if (!colon)
                break;
            p = colon + 1;
        }
    }
    return ok;
}

static void free_dirs(search_dirs *s)
{
    for (int i = 0; i < s->n; i++)
        free(s->dirs[i]);
    s->n = 0;
}

cam_status cam_model_find(const char *name_or_path, char **path_out, cam_error *err)
{
    if (!path_out)
        return cam_set_error(err, CAM_ERROR_INVALID_ARGUMENT, "path_out is NULL");
    *path_out = NULL;
    if (!name_or_path || !*name_or_path)
        return cam_set_error(err, CAM_ERROR_INVALID_ARGUMENT, "the model name or path is empty");
    size_t len = strlen(name_or_path);
    if (strchr(name_or_path, '/') || (len >= 5 && strcmp(name_or_path + len - 5, ".onnx") == 0)) {
        if (!is_regular_file(name_or_path))
            return cam_set_error(err, CAM_ERROR_NOT_FOUND, "model file '%s' does not exist (or is not a file)",
                                 name_or_path);
        char *copy = malloc(len + 1);
        if (!copy)
            return cam_set_error(err, CAM_ERROR_NO_MEMORY, "out of memory");
        memcpy(copy, name_or_path, len + 1);
        *path_out = copy;
        return CAM_OK;
    }
    if (strcmp(name_or_path, ".") == 0 || strcmp(name_or_path, "..") == 0 || len > 200)
        return cam_set_error(err, CAM_ERROR_INVALID_ARGUMENT, "'%.200s' is not a model name",
                             name_or_path);
    search_dirs s = {0};
    if (!collect_dirs(&s)) {
        free_dirs(&s);
        return cam_set_error(err, CAM_ERROR_NO_MEMORY, "out of memory");
    }
    for (int i = 0; i < s.n; i++) {
        size_t n = strlen(s.dirs[i]) + len + 7;
        char *path = malloc(n);
        if (!path) {
            free_dirs(&s);
            return cam_set_error(err, CAM_ERROR_NO_MEMORY, "out of memory");
        }
        snprintf(path, n, "%s/%s.onnx", s.dirs[i], name_or_path);
        if (is_regular_file(path)) {
            free_dirs(&s);
            *path_out = path;
            return CAM_OK;
        }
        free(path);
    }
    /* the message lists every folder searched */
    char list[CAM_ERROR_MESSAGE_SIZE];
    size_t at = 0;
    list[0] = '\0';
    for (int i = 0; i < s.n && at + 1 < sizeof list; i++) {
        int w = snprintf(list + at, sizeof list - at, "%s%s", i ? ", " : "", s.dirs[i]);
        if (w < 0)
            break;
        at += (size_t)w;
    }
    if (at >= sizeof list)
        at = sizeof list - 1;
    free_dirs(&s);
    if (err) {
        /* "model 'x' not found; looked for x.onnx in: a, b, c (set CAM_MODEL_PATH to add folders)" */
        char head[CAM_ERROR_MESSAGE_SIZE];
        snprintf(head, sizeof head, "model '%.100s' not found; looked for %.100s.onnx in", name_or_path,
                 name_or_path);
        cam_set_error(err, CAM_ERROR_NOT_FOUND, "%s", list[0] ? list : "(no folders)");
        cam_error_prefix(err, "%s", head);
        size_t m = strlen(err->message);
        const char *tail = " (CAM_MODEL_PATH adds folders)";
        if (m + strlen(tail) < sizeof err->message)
            memcpy(err->message + m, tail, strlen(tail) + 1);
    }
    return CAM_ERROR_NOT_FOUND;
}

cam_status cam_model_search_dirs(char ***dirs_out, int *n_out, cam_error *err)
{
    *dirs_out = NULL;
    *n_out = 0;
    search_dirs s = {0};
    if (!collect_dirs(&s)) {
        free_dirs(&s);
        return cam_set_error(err, CAM_ERROR_NO_MEMORY, "out of memory");
    }
    char **dirs = malloc((s.n ? (size_t)s.n : 1) * sizeof *dirs);
    if (!dirs) {
        free_dirs(&s);
        return cam_set_error(err, CAM_ERROR_NO_MEMORY, "out of memory");
    }
    for (int i = 0; i < s.n; i++)
        dirs[i] = s.dirs[i]; /* ownership moves to the caller */
    *dirs_out = dirs;
    *n_out = s.n;
    return CAM_OK;
}

void cam_model_search_dirs_free(char **dirs, int n)
{
    for (int i = 0; i < n; i++)
        free(dirs[i]);
    free(dirs);
}
