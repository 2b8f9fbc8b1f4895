/*
 * registry.c -- the table of op families (see cam-op.h). A new family file adds
 * one line here; a new op in an existing family touches only that family's file.
 */
#include "ops/cam-op.h"

#include <string.h>

static const cam_op_def *const *const families[] = {
    cam_ops_conv,   cam_ops_pool,   cam_ops_elementwise, cam_ops_norm,
    cam_ops_shape,  cam_ops_matmul, cam_ops_softmax,     cam_ops_reduce,
};

#define N_FAMILIES (sizeof families / sizeof families[0])
#define MAX_OPS 256

const cam_op_def *cam_op_find(const char *op_type, long long opset, int *other_version)
{
    if (other_version)
        *other_version = 0;
    for (size_t f = 0; f < N_FAMILIES; f++)
        for (const cam_op_def *const *d = families[f]; *d; d++) {
            if (strcmp((*d)->name, op_type) != 0)
                continue;
            if (opset >= (*d)->since && opset <= (*d)->until)
                return *d;
            if (other_version)
                *other_version = 1;
        }
    return NULL;
}

const cam_op_def *const *cam_op_all(void)
{
    static const cam_op_def *all[MAX_OPS + 1];
    static int filled;
    if (!__atomic_load_n(&filled, __ATOMIC_ACQUIRE)) {
        size_t n = 0;
        for (size_t f = 0; f < N_FAMILIES; f++)
            for (const cam_op_def *const *d = families[f]; *d && n < MAX_OPS; d++)
                all[n++] = *d;
        all[n] = NULL;
        __atomic_store_n(&filled, 1, __ATOMIC_RELEASE);
    }
    return all;
}
