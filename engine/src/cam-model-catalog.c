/*
 * cam-model-catalog.c -- the models a user can load by name: every <name>.onnx in
 * the folders cam_model_find searches (cam-model-search.c), in its order, with the
 * name and description from the file's metadata.
 *
 * Only the top level of each file is read (ModelProto field 14, metadata_props):
 * the graph and the weights are skipped by their lengths, so listing a folder of
 * 100 MB models costs a few page reads per file, not a load. A file that is not
 * valid protobuf is still listed (loading it will say what is wrong) with its file
 * name as the title.
 */
#include "cam-model.h"
#include "cam-error.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

typedef struct catalog_entry {
    char *name, *path, *title, *description;
} catalog_entry;

struct cam_model_catalog {
    catalog_entry *entries;
    int n, room;
};

/* Reads a protobuf varint at *p (< end); 0 on a truncated or overlong one. */
static int read_varint(const unsigned char **p, const unsigned char *end, uint64_t *out)
{
    uint64_t v = 0;
    for (int shift = 0; shift < 64 && *p < end; shift += 7) {
        unsigned char b = *(*p)++;
        v |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) {
            *out = v;
            return 1;
        }
    }
    return 0;
}

/* Skips one field of wire type `wire`; 0 when the bytes end first or the type is
 * not one ONNX uses. For a length-delimited field, *sub / *sub_end are its bytes. */
static int skip_field(const unsigned char **p, const unsigned char *end, unsigned wire,
                      const unsigned char **sub, const unsigned char **sub_end)
{
    uint64_t n;
    switch (wire) {
    case 0:
        return read_varint(p, end, &n);
    case 1:
        if (end - *p < 8)
            return 0;
        *p += 8;
        return 1;
    case 2:
        if (!read_varint(p, end, &n) || n > (uint64_t)(end - *p))
            return 0;
        *sub = *p;
        *sub_end = *p + n;
        *p += n;
        return 1;
    case 5:
        if (end - *p < 4)
            return 0;
        *p += 4;
        return 1;
    default:
        return 0;
    }
}

static char *copy_bytes(const unsigned char *p, size_t n)
{
    char *s = malloc(n + 1);
    if (s) {
        memcpy(s, p, n);
        s[n] = '\0';
        if (strlen(s) != n) { /* an embedded NUL: not text */
            free(s);
            s = NULL;
        }
    }
    return s;
}

/* cam.name and cam.description of an ONNX file (NULL where absent or unreadable). */
static void read_names(const char *path, char **title, char **description)
{
    *title = *description = NULL;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return;
    struct stat st;
    if (fstat(fd, &st) != 0 || st.st_size <= 0) {
        close(fd);
        return;
    }
    void *map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
    close(fd);
    if (map == MAP_FAILED)
        return;
    const unsigned char *p = map, *end = p + st.st_size;
    while (p < end) {
        uint64_t key;
        const unsigned char *sub = NULL, *sub_end = NULL;
        if (!read_varint(&p, end, &key) || !skip_field(&p, end, (unsigned)(key & 7), &sub, &sub_end))
            break;
        if (key >> 3 != 14 || (key & 7) != 2)
            continue;
        /* StringStringEntryProto: 1 key, 2 value */
        const unsigned char *k = NULL, *k_end = NULL, *v = NULL, *v_end = NULL;
        while (sub < sub_end) {
            uint64_t ekey;
            const unsigned char *s = NULL, *s_end = NULL;
            if (!read_varint(&sub, sub_end, &ekey) ||
                !skip_field(&sub, sub_end, (unsigned)(ekey & 7), &s, &s_end))
                break;
            if ((ekey & 7) == 2 && ekey >> 3 == 1) {
                k = s;
                k_end = s_end;
            } else if ((ekey & 7) == 2 && ekey >> 3 == 2) {
                v = s;
                v_end = s_end;
            }
        }
        if (!k || !v)
            continue;
        size_t kn = (size_t)(k_end - k);
        char **slot = kn == 8 && memcmp(k, "cam.name", 8) == 0 ? title
                      : kn == 15 && memcmp(k, "cam.description", 15) == 0 ? description
                                                                            : NULL;
        if (slot && !*slot && v_end > v)
            *slot = copy_bytes(v, (size_t)(v_end - v));
    }
    munmap(map, (size_t)st.st_size);
}

static int compare_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int catalog_has(const cam_model_catalog *c, const char *name)
{
    for (int i = 0; i < c->n; i++)
        if (strcmp(c->entries[i].name, name) == 0)
            return 1;
    return 0;
}

static char *join_path(const char *dir, const char *file)
{
    size_t n = strlen(dir) + strlen(file) + 2;
    char *s = malloc(n);
    if (s)
        snprintf(s, n, "%s/%s", dir, file);
    return s;
}

static char *dup_string(const char *s)
{
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    if (d)
        memcpy(d, s, n);
    return d;
}

/* Adds the folder's models (sorted by name) that no earlier folder had. */
static int add_folder(cam_model_catalog *c, const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return 1; /* a folder that does not exist has no models */
    char **names = NULL;
    int n = 0, room = 0, ok = 1;
    struct dirent *e;
    while (ok && (e = readdir(d)) != NULL) {
        size_t len = strlen(e->d_name);
        /* <name>.onnx, name as cam_model_find accepts it; hidden files are skipped */
        if (len <= 5 || len > 205 || e->d_name[0] == '.' ||
            strcmp(e->d_name + len - 5, ".onnx") != 0)
            continue;
        if (n == room) {
            room = room ? room * 2 : 16;
            char **grown = realloc(names, (size_t)room * sizeof *grown);
            if (!grown) {
                ok = 0;
                break;
            }
            names = grown;
        }
        names[n] = copy_bytes((const unsigned char *)e->d_name, len - 5);
        if (!names[n])
            ok = 0;
        else
            n++;
    }
    closedir(d);
    if (ok && n > 1)
        qsort(names, (size_t)n, sizeof *names, compare_names);
    for (int i = 0; ok && i < n; i++) {
        char file[256];
        snprintf(file, sizeof file, "%s.onnx", names[i]);
        char *path = join_path(dir, file);
        struct stat st;
        if (!path) {
            ok = 0;
            break;
        }
        if (stat(path, &st) != 0 || !S_ISREG(st.st_mode) || catalog_has(c, names[i])) {
            free(path);
            continue;
        }
        if (c->n == c->room) {
            int r = c->room ? c->room * 2 : 16;
            catalog_entry *grown = realloc(c->entries, (size_t)r * sizeof *grown);
            if (!grown) {
                free(path);
                ok = 0;
                break;
            }
            c->entries = grown;
            c->room = r;
        }
        catalog_entry *entry = &c->entries[c->n];
        read_names(path, &entry->title, &entry->description);
        entry->name = names[i];
        names[i] = NULL;
        entry->path = path;
        if (!entry->title)
            entry->title = dup_string(entry->name);
        if (!entry->description)
            entry->description = dup_string("");
        c->n++;
        if (!entry->title || !entry->description)
            ok = 0;
    }
    for (int i = 0; i < n; i++)
        free(names[i]);
    free(names);
    return ok;
}

cam_status cam_model_catalog_new(cam_model_catalog **out, cam_error *err)
{
    if (!out)
        return cam_set_error(err, CAM_ERROR_INVALID_ARGUMENT, "cam_model_catalog_new: out is NULL");
    *out = NULL;
    cam_model_catalog *c = calloc(1, sizeof *c);
    char **dirs = NULL;
    int n_dirs = 0;
    if (!c)
        return cam_set_error(err, CAM_ERROR_NO_MEMORY, "out of memory");
    cam_status s = cam_model_search_dirs(&dirs, &n_dirs, err);
    if (s != CAM_OK) {
        free(c);
        return s;
    }
    int ok = 1;
    for (int i = 0; ok && i < n_dirs; i++)
        ok = add_folder(c, dirs[i]);
    cam_model_search_dirs_free(dirs, n_dirs);
    if (!ok) {
        cam_model_catalog_free(c);
        return cam_set_error(err, CAM_ERROR_NO_MEMORY, "out of memory");
    }
    *out = c;
    return CAM_OK;
}

int cam_model_catalog_size(const cam_model_catalog *catalog)
{
    return catalog ? catalog->n : 0;
}

cam_status cam_model_catalog_get(const cam_model_catalog *catalog, int index, cam_model_entry *out,
                                 cam_error *err)
{
    if (!catalog || !out)
        return cam_set_error(err, CAM_ERROR_INVALID_ARGUMENT, "cam_model_catalog_get: %s is NULL",
                             catalog ? "out" : "catalog");
    if (index < 0 || index >= catalog->n)
        return cam_set_error(err, CAM_ERROR_INVALID_ARGUMENT,
                             "cam_model_catalog_get: index %d is outside 0..%d", index,
                             catalog->n - 1);
    const catalog_entry *e = &catalog->entries[index];
    out->name = e->name;
    out->path = e->path;
    out->title = e->title;
    out->description = e->description;
    return CAM_OK;
}

void cam_model_catalog_free(cam_model_catalog *catalog)
{
    if (!catalog)
        return;
    for (int i = 0; i < catalog->n; i++) {
        free(catalog->entries[i].name);
        free(catalog->entries[i].path);
        free(catalog->entries[i].title);
        free(catalog->entries[i].description);
    }
    free(catalog->entries);
    free(catalog);
}
