/*
 * test-datasets.h -- the official Fashion-MNIST and CIFAR-10 test sets, for the
 * weights tests and the benchmark (tests only; not part of the engine).
 *
 * Accepted under a data folder, gzipped or not (zlib reads both):
 *   fashion-mnist/t10k-images-idx3-ubyte[.gz], fashion-mnist/t10k-labels-idx1-ubyte[.gz]
 *   cifar-10/test_batch.bin[.gz], cifar-10-batches-bin/test_batch.bin,
 *   cifar-10/cifar-10-batches-bin/test_batch.bin   (also directly in the folder)
 */
#ifndef TEST_DATASETS_H
#define TEST_DATASETS_H

#include <stddef.h>

typedef struct test_dataset {
    int n, channels, height, width;
    unsigned char *pixels; /* n x channels x height x width, planar */
    unsigned char *labels; /* n */
} test_dataset;

/* $CAM_DATA_DIR, else $CAM_DATA_DIR_DEFAULT, if it is a folder; else NULL. */
const char *test_data_dir(void);

/* network: "fashion-mnist" or "cifar10". Returns 1 when loaded, 0 when the files are
 * not there, -1 when they are malformed; `why` (may be NULL) says what happened. */
int test_dataset_load_test_set(const char *network, const char *data_dir, test_dataset *out,
                               char *why, size_t why_size);
void test_dataset_free(test_dataset *d);

#endif
