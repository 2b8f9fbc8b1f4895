/* test-datasets.c -- readers of the official test sets (see test-datasets.h). */
#include "test-datasets.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zlib.h>

const char *
test_data_dir(void)
{
    const char *vars[2] = {"CAM_DATA_DIR", "CAM_DATA_DIR_DEFAULT"};
    for (int i = 0; i < 2; i++) {
        const char *d = getenv(vars[i]);
        struct stat st;
        if (d && *d && stat(d, &st) == 0 && S_ISDIR(st.st_mode))
            return d;
    }
    return NULL;
}

/* Reads the first of dir/<candidate>[.gz] that exists; malloc'ed bytes or NULL. */
static unsigned char *
read_first(const char *dir, const char *const *candidates, size_t *size, char *found, size_t found_size)
{
    for (int i = 0; candidates[i]; i++) {
        for (int gz = 1; gz >= 0; gz--) {
            char path[4096];
            struct stat st;
            gzFile f;
            unsigned char *data = NULL;
            size_t len = 0, cap = 0;
            int got;
            snprintf(path, sizeof path, "%s/%s%s", dir, candidates[i], gz ? ".gz" : "");
            if (stat(path, &st) != 0 || !S_ISREG(st.st_mode))
                continue;
            snprintf(found, found_size, "%s", path);
            f = gzopen(path, "rb");
            if (!f)
                return NULL;
            do {
                if (cap - len < 1 << 20) {
                    unsigned char *bigger = realloc(data, cap + (8 << 20));
                    if (!bigger) {
                        free(data);
                        gzclose(f);
                        return NULL;
                    }
                    data = bigger;
                    cap += 8 << 20;
                }
                got = gzread(f, data + len, (unsigned) (cap - len));
                if (got > 0)
                    len += (size_t) got;
            } while (got > 0);
            if (got < 0) {
                free(data);
                gzclose(f);
                return NULL;
            }
            gzclose(f);
            *size = len;
            return data;
        }
    }
    found[0] = '\0';
    return NULL;
}

static unsigned
be32(const unsigned char *p)
{
    return (unsigned) p[0] << 24 | (unsigned) p[1] << 16 | (unsigned) p[2] << 8 | p[3];
}

int
test_dataset_load_test_set(const char *network, const char *data_dir, test_dataset *out,
                           char *why, size_t why_size)
{
    char found[4096];
    char dummy[8];
    size_t size = 0;
    memset(out, 0, sizeof *out);
    if (!why) {
        why = dummy;
        why_size = sizeof dummy;
    }
    if (strcmp(network, "fashion-mnist") == 0) {
        static const char *const images[] = {"fashion-mnist/t10k-images-idx3-ubyte",
                                             "t10k-images-idx3-ubyte", NULL};
        static const char *const labels[] = {"fashion-mnist/t10k-labels-idx1-ubyte",
                                             "t10k-labels-idx1-ubyte", NULL};
        size_t lsize = 0;
        unsigned char *img = read_first(data_dir, images, &size, found, sizeof found), *lab;
        if (!img) {
            snprintf(why, why_size, "%s: %s", data_dir,
                     found[0] ? "cannot read t10k-images-idx3-ubyte" : "no fashion-mnist/t10k-images-idx3-ubyte[.gz]");
            return found[0] ? -1 : 0;
        }
        lab = read_first(data_dir, labels, &lsize, found, sizeof found);
        if (!lab) {
            free(img);
            snprintf(why, why_size, "%s: %s", data_dir,
                     found[0] ? "cannot read t10k-labels-idx1-ubyte" : "no fashion-mnist/t10k-labels-idx1-ubyte[.gz]");
            return found[0] ? -1 : 0;
        }
        if (size < 16 || lsize < 8 || be32(img) != 0x803 || be32(lab) != 0x801
            || be32(img + 4) != be32(lab + 4) || be32(img + 8) != 28 || be32(img + 12) != 28
            || size != 16 + (size_t) be32(img + 4) * 784 || lsize != 8 + (size_t) be32(lab + 4)) {
            free(img);
            free(lab);
            snprintf(why, why_size, "%s: Fashion-MNIST test files are not official IDX files", data_dir);
            return -1;
        }
        out->n = (int) be32(img + 4);
        out->channels = 1;
        out->height = out->width = 28;
        out->pixels = malloc((size_t) out->n * 784);
        out->labels = malloc((size_t) out->n);
        if (out->pixels && out->labels) {
            memcpy(out->pixels, img + 16, (size_t) out->n * 784);
            memcpy(out->labels, lab + 8, (size_t) out->n);
        }
        free(img);
        free(lab);
    } else if (strcmp(network, "cifar10") == 0) {
        static const char *const batch[] = {"cifar-10/test_batch.bin", "cifar-10-batches-bin/test_batch.bin",
                                            "cifar-10/cifar-10-batches-bin/test_batch.bin",
                                            "test_batch.bin", NULL};
        unsigned char *raw = read_first(data_dir, batch, &size, found, sizeof found);
        if (!raw) {
            snprintf(why, why_size, "%s: %s", data_dir,
                     found[0] ? "cannot read test_batch.bin" : "no cifar-10/test_batch.bin[.gz]");
            return found[0] ? -1 : 0;
        }
        if (size == 0 || size % 3073 != 0) {
            free(raw);
            snprintf(why, why_size, "%s: %zu bytes, not a whole number of 3073-byte records", found, size);
            return -1;
        }
        out->n = (int) (size / 3073);
        out->channels = 3;
        out->height = out->width = 32;
        out->pixels = malloc((size_t) out->n * 3072);
        out->labels = malloc((size_t) out->n);
        for (int i = 0; out->pixels && out->labels && i < out->n; i++) {
            out->labels[i] = raw[(size_t) i * 3073];
            memcpy(out->pixels + (size_t) i * 3072, raw + (size_t) i * 3073 + 1, 3072);
        }
        free(raw);
    } else {
        snprintf(why, why_size, "unknown network %s", network);
        return -1;
    }
    if (!out->pixels || !out->labels) {
        test_dataset_free(out);
        snprintf(why, why_size, "out of memory");
        return -1;
    }
    snprintf(why, why_size, "%d test images from %s", out->n, data_dir);
    return 1;
}

void
test_dataset_free(test_dataset *d)
{
    free(d->pixels);
    free(d->labels);
    memset(d, 0, sizeof *d);
}
