/*
 * matmul.c -- op family 'matmul': Gemm and MatMul (see cam-op.h).
 *
 * Both run on OpenBLAS: one sgemm (kernels/gemm.c) per matrix product of one instance, with
 * the shapes fixed by the typing, so an image's numbers never depend on the batch
 * it came in. The classifier head (Gemm with A 1 x K and constant weights) goes
 * through the tested matrix-vector kernel cam_gemm_forward/backward.
 *
 * Gemm    Y (M x N) = alpha * op(A) * op(B) + beta * C. A and B may each be a
 *         runtime value or a constant; C is optional from opset 11 (required
 *         before), unidirectionally broadcast to M x N (scalar, [N], [1, N],
 *         [M, 1], [M, N], ...). Gradients for A, B and C where they are runtime.
 * MatMul  numpy matmul: a 1-D A is a 1 x K row, a 1-D B a K x 1 column (the added
 *         dimension is dropped from the output); leading (batch) dimensions
 *         broadcast. Both operands may be runtime values (attention: q @ k^T,
 *         attn @ v). When B is a single matrix (a weight), A's batch is folded
 *         into the rows of one product. The gradient of a broadcast operand is
 *         summed over the batch matrices that used it, in batch order.
 *         The fusion pass lets MatMul absorb a following Add of a constant bias
 *         over the output's last dimension (torch's Linear: MatMul(x, W^T) + b):
 *         the node then has the bias as a third input; a file's MatMul with three
 *         inputs is still refused.
 * Only float32 is implemented (no shape computation multiplies matrices).
 */
#include "ops/cam-op.h"
#include "kernels/cam-kernels.h"

#include <stdlib.h>
#include <string.h>

/* Stores a parsed parameter block in node->params (reusing a previous one). */
static cam_status set_params(const cam_graph *g, cam_node *node, const void *params, size_t size,
                             cam_error *err)
{
    if (!node->params && !(node->params = malloc(size)))
        return cam_op_fail(g, node, err, CAM_ERROR_NO_MEMORY, "out of memory");
    memcpy(node->params, params, size);
    return CAM_OK;
}

/* C (m x n, row-major, leading dimension n) = alpha * op(A) * op(B) + beta * C,
 * where A is stored m x k (ta = 0) or k x m (ta = 1) and B is stored k x n (tb = 0)
 * or n x k (tb = 1), both densely. beta 0 ignores what C held (NaN included).
 * Empty products are handled here: cblas refuses leading dimensions of 0. */
static void sgemm(int ta, int tb, size_t m, size_t n, size_t k, float alpha, const float *a,
                  const float *b, float beta, float *c)
{
    if (m == 0 || n == 0)
        return;
    if (k == 0) { /* the product is empty: C = beta * C */
        for (size_t i = 0; i < m * n; i++)
            c[i] = beta == 0.0f ? 0.0f : beta * c[i];
        return;
    }
    const size_t lda = ta ? m : k, ldb = tb ? k : n;
    cam_sgemm(ta, tb, (int)m, (int)n, (int)k, alpha, a, (int)lda, b, (int)ldb, beta, c, (int)n);
}

/* ---- Gemm --------------------------------------------------------------------- */

typedef struct gemm_params {
    size_t m, n, k;
    float alpha, beta;
    int trans_a, trans_b;
    int has_c;
    size_t c_rows, c_cols; /* C's shape as broadcast to M x N: 1 or M, 1 or N */
    int head;              /* M == 1, B constant: the matrix-vector kernel */
} gemm_params;

static cam_status gemm_type(cam_graph *g, cam_node *node, cam_error *err)
{
    gemm_params p = {0};
    int64_t trans_a, trans_b;
    cam_status st;
    if ((st = cam_op_attr_float(g, node, "alpha", 1.0f, &p.alpha, err)) ||
        (st = cam_op_attr_float(g, node, "beta", 1.0f, &p.beta, err)) ||
        (st = cam_op_attr_int(g, node, "transA", 0, &trans_a, err)) ||
        (st = cam_op_attr_int(g, node, "transB", 0, &trans_b, err)))
        return st;
    p.trans_a = trans_a != 0; /* "transposed if non-zero" (the ONNX text) */
    p.trans_b = trans_b != 0;

    const cam_tensor *a = cam_op_input(g, node, 0), *b = cam_op_input(g, node, 1);
    const cam_tensor *c = cam_op_input(g, node, 2);
    if (!a || !b)
        return cam_op_fail(g, node, err, CAM_ERROR_INVALID_MODEL, "input %s is missing",
                           a ? "1 (B)" : "0 (A)");
    if ((st = cam_op_need_float(g, node, 0, err)) || (st = cam_op_need_float(g, node, 1, err)) ||
        (c && (st = cam_op_need_float(g, node, 2, err))))
        return st;
    if (!c && g->opset < 11)
        return cam_op_fail(g, node, err, CAM_ERROR_INVALID_MODEL,
                           "input 2 (C) is required before opset 11 (the file's opset is %lld)",
                           g->opset);
    char sa[96], sb[96], sc[96];
    cam_tensor_shape_string(a, sa, sizeof sa);
    cam_tensor_shape_string(b, sb, sizeof sb);
    if (a->rank != 2 || b->rank != 2)
        return cam_op_fail(g, node, err, CAM_ERROR_INVALID_MODEL,
                           "inputs A (%s) and B (%s) must be matrices (rank 2)", sa, sb);
    p.m = (size_t)a->dims[p.trans_a ? 1 : 0];
    p.k = (size_t)a->dims[p.trans_a ? 0 : 1];
    p.n = (size_t)b->dims[p.trans_b ? 0 : 1];
    if ((size_t)b->dims[p.trans_b ? 1 : 0] != p.k)
        return cam_op_fail(g, node, err, CAM_ERROR_INVALID_MODEL,
                           "inner dimensions differ: A %s%s and B %s%s", sa,
                           p.trans_a ? " transposed" : "", sb, p.trans_b ? " transposed" : "");
    if (c) {
        /* Unidirectional broadcast of C to M x N: right-aligned, each dim 1 or equal. */
        cam_tensor_shape_string(c, sc, sizeof sc);
        int64_t cr = c->rank >= 2 ? c->dims[c->rank - 2] : 1;
        int64_t cc = c->rank >= 1 ? c->dims[c->rank - 1] : 1;
        if (c->rank > 2 || (cr != 1 && (size_t)cr != p.m) || (cc != 1 && (size_t)cc != p.n))
            return cam_op_fail(g, node, err, CAM_ERROR_INVALID_MODEL,
                               "input C (%s) does not broadcast to the output %zux%zu", sc, p.m,
                               p.n);
        p.has_c = 1;
        p.c_rows = (size_t)cr;
        p.c_cols = (size_t)cc;
    }
    p.head = p.m == 1 && p.k > 0 && p.n > 0 && b->kind == CAM_TENSOR_CONSTANT;
    int64_t dims[2] = {(int64_t)p.m, (int64_t)p.n};
    if ((st = cam_op_set_output(g, node, 0, CAM_DTYPE_FLOAT, 2, dims, err)))
        return st;
    node->scratch = 0;
    return set_params(g, node, &p, sizeof p, err);
}

static void gemm_forward(const cam_exec *x)
{
    const gemm_params *p = x->node->params;
    const float *a = x->in[0], *b = x->in[1];
    const float *c = p->has_c ? x->in[2] : NULL;
    float *y = x->out[0];
    if (p->head) { /* one row: the matrix-vector kernel (C is 1, or N values) */
        cam_gemm_forward(1, (int)p->k, (int)p->n, p->alpha, p->beta, p->trans_b, a, b, c,
                         (int)p->c_cols, y);
        return;
    }
    float beta = 0.0f;
    if (c && p->beta != 0.0f) { /* Y = beta * C broadcast, then Y += alpha op(A) op(B) */
        for (size_t i = 0; i < p->m; i++) {
            const float *ci = c + (p->c_rows == 1 ? 0 : i * p->c_cols);
            float *yi = y + i * p->n;
            if (p->c_cols == 1)
                for (size_t j = 0; j < p->n; j++)
                    yi[j] = p->beta * ci[0];
            else
                for (size_t j = 0; j < p->n; j++)
                    yi[j] = p->beta * ci[j];
        }
        beta = 1.0f;
    }
    sgemm(p->trans_a, p->trans_b, p->m, p->n, p->k, p->alpha, a, b, beta, y);
}

static void gemm_backward(const cam_exec *x, const float *const *gout, float *const *gin)
{
    const gemm_params *p = x->node->params;
    const float *a = x->in[0], *b = x->in[1], *gy = gout[0];
    float *ga = gin[0], *gb = gin[1], *gc = p->has_c ? gin[2] : NULL;
    if (!gy) {
        if (ga)
            memset(ga, 0, p->m * p->k * sizeof *ga);
        if (gb)
            memset(gb, 0, p->k * p->n * sizeof *gb);
        if (gc)
            memset(gc, 0, p->c_rows * p->c_cols * sizeof *gc);
        return;
    }
    if (ga) {
        if (p->head) /* d A (K) = alpha op(B) gY */
            cam_gemm_backward(1, (int)p->k, (int)p->n, p->alpha, p->trans_b, b, gy, ga);
        else if (!p->trans_a) /* d A (M x K) = alpha gY op(B)^T */
            sgemm(0, !p->trans_b, p->m, p->k, p->n, p->alpha, gy, b, 0.0f, ga);
        else /* d A (K x M) = alpha op(B) gY^T */
            sgemm(p->trans_b, 1, p->k, p->m, p->n, p->alpha, b, gy, 0.0f, ga);
    }
    if (gb) {
        if (!p->trans_b) /* d B (K x N) = alpha op(A)^T gY */
            sgemm(!p->trans_a, 0, p->k, p->n, p->m, p->alpha, a, gy, 0.0f, gb);
        else /* d B (N x K) = alpha gY^T op(A) */
            sgemm(1, p->trans_a, p->n, p->k, p->m, p->alpha, gy, a, 0.0f, gb);
    }
    if (gc) {
        /* d C = beta * gY summed over the broadcast rows and columns, row-major order. */
        for (size_t r = 0; r < p->c_rows; r++)
            for (size_t s = 0; s < p->c_cols; s++) {
                size_t i0 = p->c_rows == 1 ? 0 : r, i1 = p->c_rows == 1 ? p->m : r + 1;
                size_t j0 = p->c_cols == 1 ? 0 : s, j1 = p->c_cols == 1 ? p->n : s + 1;
                double sum = 0.0;
                for (size_t i = i0; i < i1; i++)
                    for (size_t j = j0; j < j1; j++)
                        sum += gy[i * p->n + j];
                gc[r * p->c_cols + s] = (float)(p->beta * sum);
            }
    }
}

/* Opsets 7-10: C is required. */
static const cam_op_def gemm_7 = {
    .name = "Gemm",
    .since = 7,
    .until = 10,
    .min_inputs = 3,
    .max_inputs = 3,
    .min_outputs = 1,
    .max_outputs = 1,
    .type = gemm_type,
    .forward = gemm_forward,
    .backward = gemm_backward,
};

/* Opset 11 on: C is optional. */
static const cam_op_def gemm_11 = {
    .name = "Gemm",
    .since = 11,
    .until = 22,
    .min_inputs = 2,
    .max_inputs = 3,
    .min_outputs = 1,
    .max_outputs = 1,
    .type = gemm_type,
    .forward = gemm_forward,
    .backward = gemm_backward,
};

/* ---- MatMul ------------------------------------------------------------------- */

typedef struct matmul_params {
    size_t m, n, k;                   /* one product: (M x K) . (K x N) */
    size_t batch;                     /* matrices in the output */
    size_t a_count, b_count;          /* matrices in A and in B */
    int single_b;                     /* b_count == 1: one product of batch*M rows */
    int nb;                           /* output batch rank */
    int64_t bdims[CAM_MAX_RANK];      /* output batch dimensions */
    size_t a_step[CAM_MAX_RANK];      /* matrices of A to skip per step of each batch */
    size_t b_step[CAM_MAX_RANK];      /*   dimension (0 where broadcast); likewise B */
    int fused_bias;                   /* an absorbed Add: input 2 is the bias */
    size_t bias_len;                  /* the bias, added along the output's last dim */
    float *packed;                    /* B^T (N x K) when finish packed a constant B */
} matmul_params;

static void matmul_free(void *params)
{
    matmul_params *p = params;
    if (p)
        free(p->packed);
    free(p);
}

/* Fills the steps of one operand's batch dimensions (dims[0..nd), right-aligned
 * against the output's nb batch dimensions). Returns its count of matrices. */
static size_t matmul_steps(const int64_t *dims, int nd, const int64_t *bdims, int nb,
                           size_t *step)
{
    size_t stride = 1;
    for (int d = nb - 1; d >= 0; d--) {
        int od = d - (nb - nd); /* the operand's dimension aligned with d, or < 0 */
        int64_t extent = od >= 0 ? dims[od] : 1;
        step[d] = extent == bdims[d] && extent != 1 ? stride : 0;
        stride *= (size_t)extent;
    }
    return stride;
}

static cam_status matmul_type(cam_graph *g, cam_node *node, cam_error *err)
{
    matmul_params p = {0};
    const matmul_params *old = node->params;
    cam_status st;
    /* Three inputs only after the fusion pass merged an Add into this node. */
    int fused = old && old->fused_bias;
    if (node->n_inputs != 2 && !(fused && node->n_inputs == 3))
        return cam_op_fail(g, node, err, CAM_ERROR_INVALID_MODEL,
                           "MatMul takes 2 inputs, the node has %d", node->n_inputs);
    const cam_tensor *a = cam_op_input(g, node, 0), *b = cam_op_input(g, node, 1);
    if (!a || !b)
        return cam_op_fail(g, node, err, CAM_ERROR_INVALID_MODEL, "input %s is missing",
                           a ? "1 (B)" : "0 (A)");
    if ((st = cam_op_need_float(g, node, 0, err)) || (st = cam_op_need_float(g, node, 1, err)))
        return st;
    char sa[96], sb[96];
    cam_tensor_shape_string(a, sa, sizeof sa);
    cam_tensor_shape_string(b, sb, sizeof sb);
    if (a->rank < 1 || b->rank < 1)
        return cam_op_fail(g, node, err, CAM_ERROR_INVALID_MODEL,
                           "inputs A (%s) and B (%s) must have rank 1 or more", sa, sb);
    /* numpy promotion: a vector A is a 1 x K row, a vector B a K x 1 column. */
    const int na = a->rank >= 2 ? a->rank - 2 : 0, nbb = b->rank >= 2 ? b->rank - 2 : 0;
    p.m = a->rank >= 2 ? (size_t)a->dims[a->rank - 2] : 1;
    p.k = (size_t)a->dims[a->rank - 1];
    size_t kb = (size_t)b->dims[b->rank >= 2 ? b->rank - 2 : 0];
    p.n = b->rank >= 2 ? (size_t)b->dims[b->rank - 1] : 1;
    if (kb != p.k)
        return cam_op_fail(g, node, err, CAM_ERROR_INVALID_MODEL,
                           "inner dimensions differ: A %s and B %s", sa, sb);
    /* Broadcast the batch dimensions (right-aligned, equal or 1). */
    p.nb = na > nbb ? na : nbb;
    for (int d = 0; d < p.nb; d++) {
        int da = d - (p.nb - na), db = d - (p.nb - nbb);
        int64_t ea = da >= 0 ? a->dims[da] : 1, eb = db >= 0 ? b->dims[db] : 1;
        if (ea != eb && ea != 1 && eb != 1)
            return cam_op_fail(g, node, err, CAM_ERROR_INVALID_MODEL,
                               "batch dimensions of A %s and B %s do not broadcast", sa, sb);
        p.bdims[d] = ea == 1 ? eb : ea;
    }
    p.a_count = matmul_steps(a->dims, na, p.bdims, p.nb, p.a_step);
    p.b_count = matmul_steps(b->dims, nbb, p.bdims, p.nb, p.b_step);
    p.batch = cam_dims_product(p.bdims, 0, p.nb);
    p.single_b = p.b_count == 1;

    /* Output: batch dims, then M unless A was a vector, then N unless B was one. */
    int64_t dims[CAM_MAX_RANK + 2];
    int rank = 0;
    for (int d = 0; d < p.nb; d++)
        dims[rank++] = p.bdims[d];
    if (a->rank >= 2)
        dims[rank++] = (int64_t)p.m;
    if (b->rank >= 2)
        dims[rank++] = (int64_t)p.n;
    if (rank > CAM_MAX_RANK)
        return cam_op_fail(g, node, err, CAM_ERROR_UNSUPPORTED,
                           "the output of A %s times B %s has rank %d (at most %d is supported)",
                           sa, sb, rank, CAM_MAX_RANK);
    if (fused) {
        p.fused_bias = 1;
        p.bias_len = old->bias_len;
    }
    if ((st = cam_op_set_output(g, node, 0, CAM_DTYPE_FLOAT, rank, dims, err)))
        return st;
    node->scratch = 0;
    return set_params(g, node, &p, sizeof p, err);
}

/* Advances the batch odometer idx of p by one matrix, moving the matrix indices
 * *ia of A and *ib of B along. */
static inline void matmul_next(const matmul_params *p, int64_t *idx, size_t *ia, size_t *ib)
{
    for (int d = p->nb - 1; d >= 0; d--) {
        *ia += p->a_step[d];
        *ib += p->b_step[d];
        if (++idx[d] < p->bdims[d])
            return;
        *ia -= p->a_step[d] * (size_t)p->bdims[d];
        *ib -= p->b_step[d] * (size_t)p->bdims[d];
        idx[d] = 0;
    }
}

static void matmul_forward(const cam_exec *x)
{
    const matmul_params *p = x->node->params;
    const float *a = x->in[0], *b = x->in[1];
    float *y = x->out[0];
    const size_t mk = p->m * p->k, kn = p->k * p->n, mn = p->m * p->n;
    float beta = 0.0f;
    if (p->fused_bias) { /* Y = bias along the last dim, then Y += A B */
        const float *bias = x->in[2];
        const size_t total = p->batch * mn, len = p->bias_len;
        for (size_t i = 0; i < total; i += len)
            memcpy(y + i, bias, len * sizeof *y);
        beta = 1.0f;
    }
    if (p->packed) { /* the weight, stored transposed: OpenBLAS's faster form */
        sgemm(0, 1, p->batch * p->m, p->n, p->k, 1.0f, a, p->packed, beta, y);
        return;
    }
    if (p->single_b) { /* one weight matrix: A's matrices are the rows of one product */
        sgemm(0, 0, p->batch * p->m, p->n, p->k, 1.0f, a, b, beta, y);
        return;
    }
    int64_t idx[CAM_MAX_RANK] = {0};
    size_t ia = 0, ib = 0;
    for (size_t t = 0; t < p->batch; t++) {
        sgemm(0, 0, p->m, p->n, p->k, 1.0f, a + ia * mk, b + ib * kn, beta, y + t * mn);
        matmul_next(p, idx, &ia, &ib);
    }
}

/* The bias is a constant: its gradient is never wanted, and Y's gradient flows
 * through the addition unchanged. */
static void matmul_backward(const cam_exec *x, const float *const *gout, float *const *gin)
{
    const matmul_params *p = x->node->params;
    const float *a = x->in[0], *b = x->in[1], *gy = gout[0];
    float *ga = gin[0], *gb = gin[1];
    const size_t mk = p->m * p->k, kn = p->k * p->n, mn = p->m * p->n;
    if (!gy) {
        if (ga)
            memset(ga, 0, p->a_count * mk * sizeof *ga);
        if (gb)
            memset(gb, 0, p->b_count * kn * sizeof *gb);
        return;
    }
    if (p->single_b) { /* (batch*M rows) d A = gY B^T, d B = A^T gY */
        const size_t rows = p->batch * p->m;
        if (ga && p->packed) /* B^T is what finish kept */
            sgemm(0, 0, rows, p->k, p->n, 1.0f, gy, p->packed, 0.0f, ga);
        else if (ga)
            sgemm(0, 1, rows, p->k, p->n, 1.0f, gy, b, 0.0f, ga);
        if (gb)
            sgemm(1, 0, p->k, p->n, rows, 1.0f, a, gy, 0.0f, gb);
        return;
    }
    /* An operand used by several output matrices sums their gradients, in batch order. */
    const float beta_a = p->a_count < p->batch ? 1.0f : 0.0f;
    const float beta_b = p->b_count < p->batch ? 1.0f : 0.0f;
    if (ga && beta_a != 0.0f)
        memset(ga, 0, p->a_count * mk * sizeof *ga);
    if (gb && beta_b != 0.0f)
        memset(gb, 0, p->b_count * kn * sizeof *gb);
    int64_t idx[CAM_MAX_RANK] = {0};
    size_t ia = 0, ib = 0;
    for (size_t t = 0; t < p->batch; t++) {
        const float *gyt = gy + t * mn;
        if (ga) /* d A_t (M x K) = gY_t B_t^T */
            sgemm(0, 1, p->m, p->k, p->n, 1.0f, gyt, b + ib * kn, beta_a, ga + ia * mk);
        if (gb) /* d B_t (K x N) = A_t^T gY_t */
            sgemm(1, 0, p->k, p->n, p->m, 1.0f, a + ia * mk, gyt, beta_b, gb + ib * kn);
        matmul_next(p, idx, &ia, &ib);
    }
}

/* Is tensor t a graph output? */
static int is_graph_output(const cam_graph *g, int t)
{
    for (int i = 0; i < g->n_outputs; i++)
        if (g->outputs[i] == t)
            return 1;
    return 0;
}

/* MatMul + Add(constant bias of shape [N] or [1, ..., 1, N], N the output's last
 * dim): the node takes the Add's output as its output 0 and the bias as input 2. */
static int matmul_absorb(cam_graph *g, cam_node *node, cam_node *next)
{
    matmul_params *p = node->params;
    if (!p || p->fused_bias || node->n_inputs != 2 || node->n_outputs < 1 ||
        strcmp(next->op_type, "Add") != 0 || next->n_inputs != 2 || next->n_outputs != 1 ||
        next->n_attrs != 0)
        return 0;
    const int y = node->outputs[0], z = next->outputs[0];
    int other;
    if (next->inputs[0] == y && next->inputs[1] != y)
        other = next->inputs[1];
    else if (next->inputs[1] == y && next->inputs[0] != y)
        other = next->inputs[0];
    else
        return 0;
    if (y < 0 || z < 0 || other < 0 || is_graph_output(g, y))
        return 0;
    const cam_tensor *out = &g->tensors[y], *bias = &g->tensors[other], *sum = &g->tensors[z];
    if (bias->kind != CAM_TENSOR_CONSTANT || bias->dtype != CAM_DTYPE_FLOAT || !bias->data ||
        out->rank < 1 || bias->rank < 1 || bias->rank > out->rank)
        return 0;
    const int64_t last = out->dims[out->rank - 1];
    if (last < 1 || bias->dims[bias->rank - 1] != last)
        return 0;
    for (int d = 0; d < bias->rank - 1; d++)
        if (bias->dims[d] != 1)
            return 0;
    /* The sum has the product's shape (the bias does not widen it). */
    if (!sum->typed || sum->dtype != CAM_DTYPE_FLOAT || sum->rank != out->rank)
        return 0;
    for (int d = 0; d < out->rank; d++)
        if (sum->dims[d] != out->dims[d])
            return 0;
    int *inputs = realloc(node->inputs, 3 * sizeof *inputs);
    if (!inputs)
        return -1;
    node->inputs = inputs;
    node->inputs[2] = other;
    node->n_inputs = 3;
    node->outputs[0] = z;
    p->fused_bias = 1;
    p->bias_len = (size_t)last;
    return 1;
}

/* A constant weight B (K x N, one matrix) read by this node only, with enough
 * rows in A for a matrix product (a classifier head's single row is left alone,
 * and so stays readable by the CAM head): stored transposed, N x K, which
 * OpenBLAS multiplies about 15 % faster (sgemm NT against NN on ViT-B/16's
 * 197 x 768 x 3072 products); the unpacked copy is freed, so the weights are held
 * once. Both the forward and the backward (d A = gY B^T) read the packed copy. */
static int matmul_finish(cam_graph *g, cam_node *node)
{
    matmul_params *p = node->params;
    if (!p || p->packed || !p->single_b || p->batch * p->m < 8 || p->k == 0 || p->n == 0)
        return 0;
    const cam_tensor *b = cam_op_input(g, node, 1);
    if (!b || b->kind != CAM_TENSOR_CONSTANT || b->dtype != CAM_DTYPE_FLOAT || !b->data ||
        b->rank < 2 || b->n_consumers != 1 || b->numel != p->k * p->n)
        return 0;
    if (!(p->packed = malloc(p->k * p->n * sizeof *p->packed)))
        return -1;
    const float *w = b->data;
    for (size_t j = 0; j < p->n; j++)
        for (size_t i = 0; i < p->k; i++)
            p->packed[j * p->k + i] = w[i * p->n + j];
    cam_tensor *owned = &g->tensors[node->inputs[1]];
    free(owned->data);
    owned->data = NULL;
    return 0;
}

static const cam_op_def matmul = {
    .name = "MatMul",
    .since = 7,
    .until = 22,
    .min_inputs = 2,
    .max_inputs = 3, /* 3 only after absorbing an Add (the typing refuses it in a file) */
    .min_outputs = 1,
    .max_outputs = 1,
    .type = matmul_type,
    .forward = matmul_forward,
    .backward = matmul_backward,
    .absorb = matmul_absorb,
    .finish = matmul_finish,
    .free = matmul_free,
};

const cam_op_def *const cam_ops_matmul[] = {&gemm_7, &gemm_11, &matmul, NULL};
