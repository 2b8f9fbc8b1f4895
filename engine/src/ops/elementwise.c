/*
 * elementwise.c -- op family 'elementwise' (see cam-op.h): element-by-element ops.
 *
 *  unary      Relu, LeakyRelu, PRelu, Clip, Sigmoid, HardSigmoid, HardSwish, Tanh,
 *             Erf, Sqrt, Exp, Log, Neg, Abs, Reciprocal; Elu, Selu, Celu, Softplus,
 *             Softsign, Mish, Gelu, ThresholdedRelu, Shrink; Floor, Ceil, Round,
 *             Sign; Sin, Cos, Tan, Asin, Acos, Atan, Sinh, Cosh, Asinh, Acosh, Atanh
 *  binary     Add, Sub, Mul, Div, Pow, Mod with numpy (multidirectional)
 *             broadcasting of any rank; PRelu's slope broadcasts to X only; Max,
 *             Min, Sum, Mean with one or two inputs (more are refused by name)
 *  folding    Equal, Less, Greater, LessOrEqual, GreaterOrEqual, Where, Not, and
 *             Add/Sub/Mul/Div/Mod/Neg/Abs on int64
 *             constants: the shape arithmetic of dynamic-batch exports, run once
 *             at load
 *
 * BROADCASTING
 *  `type` turns the operands' shapes into an ew_layout (in node->params): the
 *  output's axes of size 1 are dropped, then neighbouring axes merged wherever
 *  every operand walks them as one (same-shape operands become one axis; a
 *  per-channel 1xCx1x1 against 1xCxHxW becomes C x HW with the channel operand's
 *  inner stride 0; a scalar becomes stride 0 throughout). Forward walks the
 *  output one innermost row at a time (ew_iter); in a row every operand's
 *  stride is 0 or 1, so each op has four plain loops the compiler vectorises.
 *
 * GRADIENTS
 *  As PyTorch's autograd formulas (Relu masks on y > 0, LeakyRelu and PRelu on
 *  x > 0, Clip passes where min <= x <= max, Pow's exponent gets y * ln(a) except
 *  where a == 0 and b >= 0). The gradient of a broadcast operand is the sum of
 *  the contributions over the axes it was broadcast along, accumulated in the
 *  output's row-major order (a row reduced to one element is summed in double),
 *  so the result does not depend on threads or batch. Equal, Not and the int64
 *  paths fold at load and have no gradient.
 *
 * Choices beyond the ONNX text:
 *  - integer Div truncates toward zero (as ONNX Runtime); Mod with fmod = 0
 *    takes the sign of the divisor (Python), fmod = 1 the sign of the dividend
 *    (C); a zero int64 divisor is refused at load; INT64_MIN / -1 wraps.
 *  - Clip's min and max (opset 11+), PRelu's slope and Where's X, Y may be
 *    constants or run-time values; Clip with min > max gives max everywhere.
 *  - Pow: a float32 base with a float32 exponent or an int64 constant one; an
 *    int64 base (constants only) gives int64 (by squaring for int64 exponents
 *    >= 0, else pow() in double truncated toward zero).
 */
#include "ops/cam-op.h"

#include "kernels/cam-kernels.h"

/* See kernels/basic.c: let GCC -O2 vectorise loops of arbitrary length (no
 * reduction is reordered by it). */
#if defined(__GNUC__) && !defined(__clang__) && !defined(__OPTIMIZE_SIZE__)
#pragma GCC optimize("vect-cost-model=cheap")
#endif

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---- broadcast layout ------------------------------------------------------- */

/* Where has three operands, every other op one or two. */
#define EW_MAX_OPERANDS 3

typedef struct ew_layout {
    int n;                            /* operands */
    int rank;                         /* >= 1 after merging */
    int64_t dims[CAM_MAX_RANK];       /* output axes after dropping and merging */
    /* per operand, in its elements; 0 along an axis it is broadcast over */
    int64_t strides[EW_MAX_OPERANDS][CAM_MAX_RANK];
    size_t numel;                     /* output elements (may be 0) */
    size_t in_numel[EW_MAX_OPERANDS]; /* elements of each operand */
} ew_layout;

/* numpy broadcast of n shapes into rank/dims; the error names every shape. */
static cam_status ew_broadcast(const cam_graph *g, const cam_node *node,
                               const cam_tensor *const *t, int n, int *rank, int64_t *dims,
                               cam_error *err)
{
    int r = 0;
    for (int k = 0; k < n; k++)
        if (t[k]->rank > r)
            r = t[k]->rank;
    for (int i = 0; i < r; i++) {
        int64_t d = 1;
        for (int k = 0; k < n; k++) {
            int j = i - (r - t[k]->rank);
            int64_t od = j < 0 ? 1 : t[k]->dims[j];
            if (od == 1 || od == d)
                continue;
            if (d != 1) {
                char shapes[EW_MAX_OPERANDS][96];
                for (int m = 0; m < n; m++)
                    cam_tensor_shape_string(t[m], shapes[m], sizeof shapes[m]);
                return cam_op_fail(g, node, err, CAM_ERROR_INVALID_MODEL,
                                   "input shapes %s, %s%s%s do not broadcast "
                                   "(output axis %d: %lld vs %lld)",
                                   shapes[0], shapes[1], n > 2 ? ", " : "",
                                   n > 2 ? shapes[2] : "", i, (long long)d, (long long)od);
            }
            d = od;
        }
        dims[i] = d;
    }
    *rank = r;
    return CAM_OK;
}

/* The layout of n operands t[] broadcast to the output shape (rank, dims). */
static void ew_layout_init(ew_layout *L, const cam_tensor *const *t, int n, int rank,
                           const int64_t *dims)
{
    int64_t st[EW_MAX_OPERANDS][CAM_MAX_RANK];
    memset(L, 0, sizeof *L);
    L->n = n;
    L->numel = cam_dims_product(dims, 0, rank);
    for (int k = 0; k < n; k++) {
        L->in_numel[k] = t[k]->numel;
        /* Contiguous strides of operand k, right-aligned to the output's axes. */
        int64_t s = 1;
        for (int i = rank - 1; i >= 0; i--) {
            int j = i - (rank - t[k]->rank);
            int64_t od = j < 0 ? 1 : t[k]->dims[j];
            st[k][i] = od == 1 ? 0 : s;
            s *= od;
        }
    }
    /* Drop the output's axes of size 1, merge axes every operand walks as one. */
    int r = 0;
    for (int i = 0; i < rank; i++) {
        if (dims[i] == 1)
            continue;
        int merge = r > 0;
        for (int k = 0; k < n && merge; k++)
            merge = L->strides[k][r - 1] == st[k][i] * dims[i];
        if (merge) {
            L->dims[r - 1] *= dims[i];
            for (int k = 0; k < n; k++)
                L->strides[k][r - 1] = st[k][i];
        } else {
            L->dims[r] = dims[i];
            for (int k = 0; k < n; k++)
                L->strides[k][r] = st[k][i];
            r++;
        }
    }
    if (r == 0) { /* a single element: one row of length 1 */
        L->dims[0] = 1;
        r = 1;
    }
    L->rank = r;
}

/* Walks the output of a layout one innermost row at a time: row start `out` in
 * the output, `off[k]` in operand k, `len` elements. Within a row operand k
 * advances by strides[k][rank - 1], which is 0 or 1. */
typedef struct ew_iter {
    const ew_layout *L;
    int64_t idx[CAM_MAX_RANK];
    int64_t off[EW_MAX_OPERANDS];
    size_t out, len;
} ew_iter;

/* Starts at row `row` (row < the number of rows; the output is not empty). */
static void ew_seek(ew_iter *it, const ew_layout *L, size_t row)
{
    memset(it, 0, sizeof *it);
    it->L = L;
    it->len = (size_t)L->dims[L->rank - 1];
    it->out = row * it->len;
    for (int d = L->rank - 2; d >= 0; d--) {
        it->idx[d] = (int64_t)(row % (size_t)L->dims[d]);
        row /= (size_t)L->dims[d];
        for (int k = 0; k < L->n; k++)
            it->off[k] += it->idx[d] * L->strides[k][d];
    }
}

/* Starts at the first row; 0 when the output is empty. */
static int ew_begin(ew_iter *it, const ew_layout *L)
{
    if (L->numel == 0)
        return 0;
    ew_seek(it, L, 0);
    return 1;
}

/* Moves to the next row; 0 after the last. */
static int ew_next(ew_iter *it)
{
    const ew_layout *L = it->L;
    it->out += it->len;
    for (int d = L->rank - 2; d >= 0; d--) {
        for (int k = 0; k < L->n; k++)
            it->off[k] += L->strides[k][d];
        if (++it->idx[d] < L->dims[d])
            return 1;
        for (int k = 0; k < L->n; k++)
            it->off[k] -= L->strides[k][d] * L->dims[d];
        it->idx[d] = 0;
    }
    return 0;
}

/* Inner (row) stride of operand k: 0 or 1. */
static inline int ew_step(const ew_layout *L, int k)
{
    return (int)L->strides[k][L->rank - 1];
}

/* ---- parameters and typing helpers ------------------------------------------ */

typedef struct ew_params {
    ew_layout layout;         /* binary ops and Where */
    size_t numel;             /* output elements */
    cam_dtype dtype;          /* data inputs' dtype (Pow: the base's; Where: X's and Y's) */
    float alpha, beta;        /* LeakyRelu, HardSigmoid, Elu, Celu, ThresholdedRelu;
                               * Selu: alpha, gamma; Shrink: lambd, bias */
    int tanh_form;            /* Gelu: approximate = "tanh" */
    int kind;                 /* Max/Min/Sum/Mean: an ew_variadic; comparisons: an ew_compare */
    float lo, hi;             /* Clip before opset 11 */
    int fmod;                 /* Mod */
    int square;               /* Pow by a constant 2: a * a */
    cam_dtype exponent_dtype; /* Pow */
    const float *exponent;    /* Pow of a float base by an int64 constant: its values as
                               * floats (stored after this struct) */
} ew_params;

/* Allocates the node's params (with `extra` bytes after the struct) and hands them
 * to the node. */
static cam_status ew_params_new(const cam_graph *g, cam_node *node, size_t extra,
                                ew_params **out, cam_error *err)
{
    ew_params *p = calloc(1, sizeof *p + extra);
    if (!p)
        return cam_op_fail(g, node, err, CAM_ERROR_NO_MEMORY, "out of memory");
    free(node->params);
    node->params = p;
    *out = p;
    return CAM_OK;
}

/* Input i, which must be present. */
static cam_status ew_input(const cam_graph *g, const cam_node *node, int i, const char *what,
                           const cam_tensor **out, cam_error *err)
{
    *out = cam_op_input(g, node, i);
    if (!*out)
        return cam_op_fail(g, node, err, CAM_ERROR_INVALID_MODEL, "input %d (%s) is missing", i,
                           what);
    return CAM_OK;
}

/* dtype bits for the `folds` masks: which dtypes an op accepts on constants. */
enum { EW_INT64 = 1 << 0, EW_BOOL = 1 << 1 };

static unsigned ew_dtype_bit(cam_dtype d)
{
    return d == CAM_DTYPE_INT64 ? EW_INT64 : d == CAM_DTYPE_BOOL ? EW_BOOL : 0;
}

/* Input t (named what): float32, or (constant only) a dtype in `folds`. */
static cam_status ew_check_dtype(const cam_graph *g, const cam_node *node, const cam_tensor *t,
                                 const char *what, unsigned folds, cam_error *err)
{
    if (t->dtype == CAM_DTYPE_FLOAT)
        return CAM_OK;
    if (!(folds & ew_dtype_bit(t->dtype)))
        return cam_op_fail(g, node, err, CAM_ERROR_UNSUPPORTED,
                           "input %s has dtype %s, which %s does not support (float32%s%s)", what,
                           cam_dtype_name(t->dtype), node->op_type,
                           folds & EW_INT64 ? "; int64 constants" : "",
                           folds & EW_BOOL ? "; bool constants" : "");
    if (t->kind != CAM_TENSOR_CONSTANT)
        return cam_op_fail(g, node, err, CAM_ERROR_UNSUPPORTED,
                           "input %s is a run-time %s value; only float32 values are computed "
                           "at run time (%s is supported on %s constants only)",
                           what, cam_dtype_name(t->dtype), node->op_type,
                           cam_dtype_name(t->dtype));
    return CAM_OK;
}

/* ---- unary ops -------------------------------------------------------------- */

/* Checks input 0 (float32, or a constant of a dtype in `folds`), gives output 0
 * its shape and dtype and the node its params. */
static cam_status unary_type(cam_graph *g, cam_node *node, unsigned folds, ew_params **out,
                             cam_error *err)
{
    const cam_tensor *t;
    cam_status st;
    if ((st = ew_input(g, node, 0, "X", &t, err)) != CAM_OK ||
        (st = ew_check_dtype(g, node, t, "X", folds, err)) != CAM_OK ||
        (st = cam_op_set_output(g, node, 0, t->dtype, t->rank, t->dims, err)) != CAM_OK ||
        (st = ew_params_new(g, node, 0, out, err)) != CAM_OK)
        return st;
    (*out)->numel = t->numel;
    (*out)->dtype = t->dtype;
    return CAM_OK;
}

static cam_status plain_type(cam_graph *g, cam_node *node, cam_error *err)
{
    ew_params *p = NULL;
    return unary_type(g, node, 0, &p, err);
}

static cam_status int64_type(cam_graph *g, cam_node *node, cam_error *err)
{
    ew_params *p = NULL;
    return unary_type(g, node, EW_INT64, &p, err);
}

/* The gradient buffer of a unary op's input, or NULL when there is nothing more to
 * do: none wanted, or no gradient on the output (then the input's is zeroed). */
static float *unary_grad_target(const cam_exec *x, const float *const *gout, float *const *gin)
{
    const ew_params *p = x->node->params;
    if (!gin[0])
        return NULL;
    if (!gout[0]) {
        memset(gin[0], 0, p->numel * sizeof *gin[0]);
        return NULL;
    }
    return gin[0];
}

/* UNARY(name, y = FORWARD(v), dx = BACKWARD(v, y, g)): the forward and backward
 * of a float op with parameters p. In BACKWARD, v is x, y the output, g d/dy. */
#define UNARY(NAME, FORWARD, BACKWARD)                                                          \
    static void NAME##_forward(const cam_exec *x)                                               \
    {                                                                                           \
        const ew_params *p = x->node->params;                                                   \
        const float *in = x->in[0];                                                             \
        float *out = x->out[0];                                                                 \
        (void)p;                                                                                \
        for (size_t i = 0; i < p->numel; i++) {                                                 \
            const float v = in[i];                                                              \
            out[i] = (FORWARD);                                                                 \
        }                                                                                       \
    }                                                                                           \
    static void NAME##_backward(const cam_exec *x, const float *const *gout, float *const *gin) \
    {                                                                                           \
        const ew_params *p = x->node->params;                                                   \
        const float *in = x->in[0], *out = x->out[0], *gy = gout[0];                            \
        float *gx = unary_grad_target(x, gout, gin);                                            \
        if (!gx)                                                                                \
            return;                                                                             \
        for (size_t i = 0; i < p->numel; i++) {                                                 \
            const float v = in[i], y = out[i], g = gy[i];                                       \
            (void)v;                                                                            \
            (void)y;                                                                            \
            gx[i] = (BACKWARD);                                                                 \
        }                                                                                       \
    }

/* Relu: y = max(x, 0); a NaN propagates; the gradient passes where y > 0. The
 * kernels' loops (cam_relu_*). */
static void relu_forward(const cam_exec *x)
{
    const ew_params *p = x->node->params;
    cam_relu_forward(p->numel, x->in[0], x->out[0]);
}

static void relu_backward(const cam_exec *x, const float *const *gout, float *const *gin)
{
    const ew_params *p = x->node->params;
    if (!gin[0])
        return;
    if (!gout[0])
        memset(gin[0], 0, p->numel * sizeof *gin[0]);
    else
        cam_relu_backward(p->numel, x->out[0], gout[0], gin[0]);
}

/* LeakyRelu: y = x >= 0 ? x : alpha * x (ONNX); gradient alpha where x <= 0. */
UNARY(leakyrelu, v < 0.0f ? v * p->alpha : v, v > 0.0f ? g : g * p->alpha)

static cam_status leakyrelu_type(cam_graph *g, cam_node *node, cam_error *err)
{
    ew_params *p = NULL;
    cam_status st = unary_type(g, node, 0, &p, err);
    if (st == CAM_OK)
        st = cam_op_attr_float(g, node, "alpha", 0.01f, &p->alpha, err);
    return st;
}

/* Sigmoid: y = 1 / (1 + e^-x); dx = g (1 - y) y. The values come from the vector
 * kernel (cam_sigmoid_forward, on the pool). SiLU, the activation of EfficientNet
 * and its kin, is exported as Mul(x, Sigmoid(x)): the Sigmoid absorbs that Mul
 * (sigmoid_absorb) and writes its output as a second output in the same pass over
 * x. The Mul stays fused_into the Sigmoid (its forward skipped, its backward run),
 * so the backward here only sees output 0's gradient. */
static void sigmoid_forward(const cam_exec *x)
{
    const ew_params *p = x->node->params;
    float *silu = x->node->n_outputs == 2 ? x->out[1] : NULL;
    cam_sigmoid_forward(p->numel, x->in[0], x->out[0], silu);
}

static void sigmoid_backward(const cam_exec *x, const float *const *gout, float *const *gin)
{
    const ew_params *p = x->node->params;
    const float *y = x->out[0], *gy = gout[0];
    float *gx = unary_grad_target(x, gout, gin);
    if (!gx)
        return;
    for (size_t i = 0; i < p->numel; i++)
        gx[i] = gy[i] * (1.0f - y[i]) * y[i];
}

static cam_status sigmoid_type(cam_graph *g, cam_node *node, cam_error *err)
{
    if (node->n_outputs != 1) /* a second only through sigmoid_absorb */
        return cam_op_fail(g, node, err, CAM_ERROR_INVALID_MODEL,
                           "Sigmoid has one output, the node lists %d", node->n_outputs);
    return plain_type(g, node, err);
}

/* Sigmoid(x) read by Mul(x, Sigmoid(x)) alone (either order): the Mul's output
 * becomes output 1 (x sigmoid(x), the same float product as the Mul's). */
static int sigmoid_absorb(cam_graph *g, cam_node *node, cam_node *mul)
{
    (void)g;
    if (node->n_outputs != 1 || node->n_inputs != 1 || !mul->def ||
        strcmp(mul->def->name, "Mul") != 0 || mul->n_inputs != 2 || mul->n_outputs != 1 ||
        mul->outputs[0] < 0)
        return 0;
    const int xin = node->inputs[0], s = node->outputs[0];
    if (!((mul->inputs[0] == xin && mul->inputs[1] == s) ||
          (mul->inputs[0] == s && mul->inputs[1] == xin)))
        return 0;
    int *outputs = realloc(node->outputs, 2 * sizeof *outputs);
    if (!outputs)
        return -1;
    outputs[1] = mul->outputs[0];
    node->outputs = outputs;
    node->n_outputs = 2;
    return 1;
}

/* HardSigmoid: y = max(0, min(1, alpha x + beta)); the gradient alpha g where
 * the line is strictly inside (0, 1) (PyTorch's -3 < x < 3). */
static inline float hardsigmoid_value(float alpha, float beta, float v)
{
    float t = alpha * v + beta; /* a NaN stays NaN */
    return t < 0.0f ? 0.0f : t > 1.0f ? 1.0f : t;
}

UNARY(hardsigmoid, hardsigmoid_value(p->alpha, p->beta, v),
      (p->alpha * v + p->beta > 0.0f && p->alpha * v + p->beta < 1.0f) ? g * p->alpha : 0.0f)

static cam_status hardsigmoid_type(cam_graph *g, cam_node *node, cam_error *err)
{
    ew_params *p = NULL;
    cam_status st = unary_type(g, node, 0, &p, err);
    if (st == CAM_OK)
        st = cam_op_attr_float(g, node, "alpha", 0.2f, &p->alpha, err);
    if (st == CAM_OK)
        st = cam_op_attr_float(g, node, "beta", 0.5f, &p->beta, err);
    return st;
}

/* HardSwish: y = x * min(max(x + 3, 0), 6) / 6 (PyTorch's form of ONNX's
 * x * max(0, min(1, x / 6 + 1 / 2))); gradient as PyTorch's hardswish_backward. */
UNARY(hardswish, v * fminf(fmaxf(v + 3.0f, 0.0f), 6.0f) / 6.0f,
      v < -3.0f ? 0.0f : v <= 3.0f ? g * (v / 3.0f + 0.5f) : g)

/* Tanh: dx = g (1 - y^2). */
UNARY(tanh, tanhf(v), g * (1.0f - y * y))

/* Erf: the vectorised kernel cam_erf_forward (GELU's erf is a large share of a
 * vision transformer); dx = 2 / sqrt(pi) e^(-x^2) g. */
static void erf_forward(const cam_exec *x)
{
    const ew_params *p = x->node->params;
    cam_erf_forward(p->numel, x->in[0], x->out[0]);
}

static void erf_backward(const cam_exec *x, const float *const *gout, float *const *gin)
{
    const ew_params *p = x->node->params;
    const float *in = x->in[0], *gy = gout[0];
    float *gx = unary_grad_target(x, gout, gin);
    if (!gx)
        return;
    for (size_t i = 0; i < p->numel; i++)
        gx[i] = 1.1283791670955126f * expf(-(in[i] * in[i])) * gy[i];
}

/* Sqrt: dx = g / (2 y). */
UNARY(sqrt, sqrtf(v), g / (2.0f * y))

/* Exp: dx = g y. */
UNARY(exp, expf(v), g * y)

/* Log: dx = g / x. */
UNARY(log, logf(v), g / v)

/* Reciprocal: dx = -g y^2. */
UNARY(reciprocal, 1.0f / v, -g * (y * y))

/* Activations of other exporters (Keras, timm, TensorFlow converters); gradients
 * as PyTorch's autograd formulas. */

/* Elu: y = x > 0 ? x : alpha (e^x - 1); dx = g where x > 0, else g (y + alpha). */
UNARY(elu, v > 0.0f ? v : p->alpha * expm1f(v), v > 0.0f ? g : g * (y + p->alpha))

/* Selu (alpha, gamma in p->alpha, p->beta): y = gamma (x > 0 ? x : alpha (e^x - 1)). */
UNARY(selu, p->beta * (v > 0.0f ? v : p->alpha * expm1f(v)),
      v > 0.0f ? g * p->beta : g * p->beta * p->alpha * expf(v))

/* Celu: y = max(0, x) + min(0, alpha (e^(x / alpha) - 1)); dx = g e^(x / alpha) where x <= 0. */
UNARY(celu, v > 0.0f ? v : p->alpha * expm1f(v / p->alpha), v > 0.0f ? g : g * expf(v / p->alpha))

/* Softplus: y = ln(1 + e^x), computed as max(x, 0) + ln(1 + e^-|x|) (no overflow);
 * dx = g sigmoid(x). */
static inline float softplus_value(float v)
{
    return fmaxf(v, 0.0f) + log1pf(expf(-fabsf(v)));
}
UNARY(softplus, softplus_value(v), g / (1.0f + expf(-v)))

/* Softsign: y = x / (1 + |x|); dx = g / (1 + |x|)^2. */
UNARY(softsign, v / (1.0f + fabsf(v)), g / ((1.0f + fabsf(v)) * (1.0f + fabsf(v))))

/* Mish: y = x tanh(softplus(x)); dx = g (t + x sigmoid(x) (1 - t^2)), t = tanh(softplus(x)). */
static inline float mish_grad(float v, float g)
{
    const float t = tanhf(softplus_value(v));
    return g * (t + v / (1.0f + expf(-v)) * (1.0f - t * t));
}
UNARY(mish, v * tanhf(softplus_value(v)), mish_grad(v, g))

/* Gelu: y = x Phi(x) = x (1 + erf(x / sqrt 2)) / 2; with approximate = "tanh",
 * x (1 + tanh(u)) / 2, u = sqrt(2 / pi) (x + 0.044715 x^3). */
#define GELU_K 0.7978845608028654f /* sqrt(2 / pi) */
static inline float gelu_value(int tanh_form, float v)
{
    if (tanh_form)
        return 0.5f * v * (1.0f + tanhf(GELU_K * (v + 0.044715f * v * v * v)));
    return 0.5f * v * (1.0f + erff(v * 0.70710678118654752f));
}
static inline float gelu_grad(int tanh_form, float v, float g)
{
    if (tanh_form) {
        const float t = tanhf(GELU_K * (v + 0.044715f * v * v * v));
        return g * (0.5f * (1.0f + t) +
                    0.5f * v * (1.0f - t * t) * GELU_K * (1.0f + 3.0f * 0.044715f * v * v));
    }
    return g * (0.5f * (1.0f + erff(v * 0.70710678118654752f)) +
                v * 0.3989422804014327f * expf(-0.5f * v * v));
}
UNARY(gelu, gelu_value(p->tanh_form, v), gelu_grad(p->tanh_form, v, g))

/* ThresholdedRelu: y = x > alpha ? x : 0. */
UNARY(thresholdedrelu, v > p->alpha ? v : 0.0f, v > p->alpha ? g : 0.0f)

/* Shrink (lambd, bias in p->alpha, p->beta): y = x < -lambd ? x + bias : x > lambd ?
 * x - bias : 0; the gradient passes where |x| > lambd. */
UNARY(shrink, v < -p->alpha ? v + p->beta : v > p->alpha ? v - p->beta : 0.0f,
      (v < -p->alpha || v > p->alpha) ? g : 0.0f)

/* Rounding and sign: piecewise constant, gradient 0 (as PyTorch). Round halves to
 * even (rintf in the default rounding mode), as ONNX specifies. */
UNARY(floor, floorf(v), 0.0f * g)
UNARY(ceil, ceilf(v), 0.0f * g)
UNARY(round, rintf(v), 0.0f * g)
UNARY(sign, v > 0.0f ? 1.0f : v < 0.0f ? -1.0f : v, 0.0f * g)

/* Trigonometric and hyperbolic functions. */
UNARY(sin, sinf(v), g * cosf(v))
UNARY(cos, cosf(v), -g * sinf(v))
UNARY(tan, tanf(v), g * (1.0f + y * y))
UNARY(asin, asinf(v), g / sqrtf(1.0f - v * v))
UNARY(acos, acosf(v), -g / sqrtf(1.0f - v * v))
UNARY(atan, atanf(v), g / (1.0f + v * v))
UNARY(sinh, sinhf(v), g * coshf(v))
UNARY(cosh, coshf(v), g * sinhf(v))
UNARY(asinh, asinhf(v), g / sqrtf(v * v + 1.0f))
UNARY(acosh, acoshf(v), g / sqrtf(v * v - 1.0f))
UNARY(atanh, atanhf(v), g / (1.0f - v * v))

/* The float attributes of the activations above: name and default of p->alpha and
 * p->beta (NULL: not used). */
static cam_status unary_attrs_type(cam_graph *g, cam_node *node, const char *a, float a_default,
                                   const char *b, float b_default, cam_error *err)
{
    ew_params *p = NULL;
    cam_status st = unary_type(g, node, 0, &p, err);
    if (st == CAM_OK && a)
        st = cam_op_attr_float(g, node, a, a_default, &p->alpha, err);
    if (st == CAM_OK && b)
        st = cam_op_attr_float(g, node, b, b_default, &p->beta, err);
    return st;
}

static cam_status alpha1_type(cam_graph *g, cam_node *node, cam_error *err)
{
    return unary_attrs_type(g, node, "alpha", 1.0f, NULL, 0.0f, err);
}

static cam_status celu_type(cam_graph *g, cam_node *node, cam_error *err)
{
    cam_status st = alpha1_type(g, node, err);
    if (st == CAM_OK && !(((ew_params *)node->params)->alpha != 0.0f))
        return cam_op_fail(g, node, err, CAM_ERROR_INVALID_MODEL, "alpha must not be 0");
    return st;
}

static cam_status selu_type(cam_graph *g, cam_node *node, cam_error *err)
{
    return unary_attrs_type(g, node, "alpha", 1.67326319217681884765625f, "gamma",
                            1.05070102214813232421875f, err);
}

static cam_status shrink_type(cam_graph *g, cam_node *node, cam_error *err)
{
    return unary_attrs_type(g, node, "lambd", 0.5f, "bias", 0.0f, err);
}

static cam_status gelu_type(cam_graph *g, cam_node *node, cam_error *err)
{
    ew_params *p = NULL;
    const char *approximate = NULL;
    cam_status st = unary_type(g, node, 0, &p, err);
    if (st == CAM_OK)
        st = cam_op_attr_string(g, node, "approximate", "none", &approximate, err);
    if (st != CAM_OK)
        return st;
    if (strcmp(approximate, "none") != 0 && strcmp(approximate, "tanh") != 0)
        return cam_op_fail(g, node, err, CAM_ERROR_UNSUPPORTED,
                           "approximate = \"%s\" (only \"none\" and \"tanh\" exist)",
                           approximate);
    p->tanh_form = strcmp(approximate, "tanh") == 0;
    return CAM_OK;
}

/* Neg and Abs, also on int64 constants (folding). Abs's gradient is sign(x) g. */
UNARY(neg_float, -v, -g)
UNARY(abs_float, fabsf(v), v > 0.0f ? g : v < 0.0f ? -g : 0.0f)

static void neg_forward(const cam_exec *x)
{
    const ew_params *p = x->node->params;
    if (p->dtype != CAM_DTYPE_INT64) {
        neg_float_forward(x);
        return;
    }
    const int64_t *in = x->in[0];
    int64_t *out = x->out[0];
    for (size_t i = 0; i < p->numel; i++) /* wraps on INT64_MIN */
        out[i] = (int64_t)(0u - (uint64_t)in[i]);
}

static void abs_forward(const cam_exec *x)
{
    const ew_params *p = x->node->params;
    if (p->dtype != CAM_DTYPE_INT64) {
        abs_float_forward(x);
        return;
    }
    const int64_t *in = x->in[0];
    int64_t *out = x->out[0];
    for (size_t i = 0; i < p->numel; i++)
        out[i] = in[i] < 0 ? (int64_t)(0u - (uint64_t)in[i]) : in[i];
}

/* Not: bool constants only (folding). */
static void not_forward(const cam_exec *x)
{
    const ew_params *p = x->node->params;
    const uint8_t *in = x->in[0];
    uint8_t *out = x->out[0];
    for (size_t i = 0; i < p->numel; i++)
        out[i] = !in[i];
}

static cam_status not_type(cam_graph *g, cam_node *node, cam_error *err)
{
    const cam_tensor *t;
    ew_params *p = NULL;
    cam_status st = ew_input(g, node, 0, "X", &t, err);
    if (st != CAM_OK)
        return st;
    if (t->dtype != CAM_DTYPE_BOOL || t->kind != CAM_TENSOR_CONSTANT)
        return cam_op_fail(g, node, err, CAM_ERROR_UNSUPPORTED,
                           "input X is a %s %s; Not is supported on bool constants only",
                           t->kind == CAM_TENSOR_CONSTANT ? "constant" : "run-time value",
                           cam_dtype_name(t->dtype));
    if ((st = cam_op_set_output(g, node, 0, CAM_DTYPE_BOOL, t->rank, t->dims, err)) != CAM_OK ||
        (st = ew_params_new(g, node, 0, &p, err)) != CAM_OK)
        return st;
    p->numel = t->numel;
    p->dtype = CAM_DTYPE_BOOL;
    return CAM_OK;
}

/* ---- Clip ------------------------------------------------------------------- */

/* y = min(max(x, lo), hi): hi everywhere when lo > hi (ONNX 13's rule), a NaN
 * stays NaN. Gradient as PyTorch's clamp: to x where lo <= x <= hi, to the bound
 * that was taken otherwise. */
static inline float clip_value(float v, float lo, float hi)
{
    float t = v < lo ? lo : v;
    return t > hi ? hi : t;
}

/* The bounds of one call: the attributes (opset < 11), or inputs 1 and 2 when
 * present (scalars; constants or run-time values), else +-infinity. */
static void clip_bounds(const cam_exec *x, float *lo, float *hi)
{
    const ew_params *p = x->node->params;
    *lo = p->lo;
    *hi = p->hi;
    if (x->node->n_inputs > 1 && x->in[1])
        *lo = *(const float *)x->in[1];
    if (x->node->n_inputs > 2 && x->in[2])
        *hi = *(const float *)x->in[2];
}

static void clip_forward(const cam_exec *x)
{
    const ew_params *p = x->node->params;
    const float *in = x->in[0];
    float *out = x->out[0];
    float lo, hi;
    clip_bounds(x, &lo, &hi);
    /* 4 at a time with clip_value's two selects as bit masks (GCC does not
     * vectorise the scalar selects: MobileNet's ReLU6 took 13% of its forward) */
    typedef float v4 __attribute__((vector_size(16)));
    typedef int v4i __attribute__((vector_size(16)));
    const v4 lo4 = {lo, lo, lo, lo}, hi4 = {hi, hi, hi, hi};
    const size_t numel = p->numel;
    size_t i = 0;
    for (; i + 4 <= numel; i += 4) {
        v4 v;
        memcpy(&v, in + i, sizeof v);
        const v4i below = v < lo4; /* false for NaN: it stays */
        const v4 t = (v4)((below & (v4i)lo4) | (~below & (v4i)v));
        const v4i above = t > hi4;
        const v4 r = (v4)((above & (v4i)hi4) | (~above & (v4i)t));
        memcpy(out + i, &r, sizeof r);
    }
    for (; i < numel; i++)
        out[i] = clip_value(in[i], lo, hi);
}

static void clip_backward(const cam_exec *x, const float *const *gout, float *const *gin)
{
    const ew_params *p = x->node->params;
    const float *in = x->in[0], *gy = gout[0];
    float lo, hi;
    clip_bounds(x, &lo, &hi);
    if (gin[0]) {
        float *gx = gin[0];
        if (!gy)
            memset(gx, 0, p->numel * sizeof *gx);
        else
            for (size_t i = 0; i < p->numel; i++)
                gx[i] = in[i] >= lo && in[i] <= hi ? gy[i] : 0.0f;
    }
    /* Run-time bounds: each receives the gradient of the elements it replaced. */
    for (int b = 1; b <= 2; b++) {
        if (x->node->n_inputs <= b || !gin[b])
            continue;
        double acc = 0.0;
        if (gy)
            for (size_t i = 0; i < p->numel; i++) {
                float v = in[i];
                int taken = b == 1 ? (v < lo && lo <= hi) : (lo > hi || v > hi);
                if (taken)
                    acc += gy[i];
            }
        gin[b][0] = (float)acc;
    }
}

static cam_status clip6_type(cam_graph *g, cam_node *node, cam_error *err)
{
    ew_params *p = NULL;
    cam_status st = unary_type(g, node, 0, &p, err);
    if (st == CAM_OK)
        st = cam_op_attr_float(g, node, "min", -FLT_MAX, &p->lo, err);
    if (st == CAM_OK)
        st = cam_op_attr_float(g, node, "max", FLT_MAX, &p->hi, err);
    return st;
}

static cam_status clip11_type(cam_graph *g, cam_node *node, cam_error *err)
{
    static const char *const names[] = {"input", "min", "max"};
    ew_params *p = NULL;
    cam_status st = unary_type(g, node, 0, &p, err);
    if (st != CAM_OK)
        return st;
    p->lo = -INFINITY;
    p->hi = INFINITY;
    for (int i = 1; i < node->n_inputs && i <= 2; i++) {
        const cam_tensor *b = cam_op_input(g, node, i);
        if (!b)
            continue; /* "": absent */
        if (b->dtype != CAM_DTYPE_FLOAT)
            return cam_op_fail(g, node, err, CAM_ERROR_UNSUPPORTED,
                               "input %s has dtype %s; Clip supports float32", names[i],
                               cam_dtype_name(b->dtype));
        if (b->numel != 1) {
            char shape[96];
            cam_tensor_shape_string(b, shape, sizeof shape);
            return cam_op_fail(g, node, err, CAM_ERROR_INVALID_MODEL,
                               "input %s must be a scalar, not %s", names[i], shape);
        }
    }
    return CAM_OK;
}

/* ---- binary float ops --------------------------------------------------------- */

/* A binary op's elements [e0, e1) of the output (ew_span_fn), and the driver that
 * cuts the output into fixed spans of EW_SPAN elements and runs them on the pool
 * (each element is computed alone, so the cut changes no bit). */
typedef void (*ew_span_fn)(const ew_layout *L, const float *A, const float *B, float *Y,
                           size_t e0, size_t e1);
#define EW_SPAN 16384

typedef struct ew_span_job {
    ew_span_fn fn;
    const ew_layout *L;
    const float *A, *B;
    float *Y;
} ew_span_job;

static void ew_span_item(void *arg, int item)
{
    const ew_span_job *j = arg;
    const size_t e0 = (size_t)item * EW_SPAN;
    const size_t e1 = e0 + EW_SPAN < j->L->numel ? e0 + EW_SPAN : j->L->numel;
    j->fn(j->L, j->A, j->B, j->Y, e0, e1);
}

static void ew_spans(ew_span_fn fn, const ew_layout *L, const float *A, const float *B, float *Y)
{
    ew_span_job j = {fn, L, A, B, Y};
    cam_parallel_for((int)((L->numel + EW_SPAN - 1) / EW_SPAN), ew_span_item, &j);
}

/* BINARY_ROWS(name, EXPR): name_rows(L, A, B, Y) computes Y = EXPR(a, b) over the
 * layout (name_span: elements [e0, e1), row piece by row piece), with a plain loop
 * for each combination of the operands' row strides. */
#define BINARY_ROWS(NAME, EXPR)                                                                 \
    static void NAME##_span(const ew_layout *L, const float *A, const float *B, float *Y,      \
                            size_t e0, size_t e1)                                               \
    {                                                                                           \
        ew_iter it;                                                                             \
        const size_t len = (size_t)L->dims[L->rank - 1];                                        \
        ew_seek(&it, L, e0 / len);                                                              \
        size_t j0 = e0 % len;                                                                   \
        const int sa = ew_step(L, 0), sb = ew_step(L, 1);                                       \
        for (;;) {                                                                              \
            const size_t j1 = e1 - it.out < len ? e1 - it.out : len;                            \
            const float *pa = A + it.off[0] + (sa ? j0 : 0);                                    \
            const float *pb = B + it.off[1] + (sb ? j0 : 0);                                    \
            float *py = Y + it.out + j0;                                                        \
            const size_t n = j1 - j0;                                                           \
            if (sa && sb) {                                                                     \
                for (size_t j = 0; j < n; j++) {                                                \
                    const float a = pa[j], b = pb[j];                                           \
                    (void)b;                                                                    \
                    py[j] = (EXPR);                                                             \
                }                                                                               \
            } else if (sa) {                                                                    \
                const float b = pb[0];                                                          \
                (void)b;                                                                        \
                for (size_t j = 0; j < n; j++) {                                                \
                    const float a = pa[j];                                                      \
                    py[j] = (EXPR);                                                             \
                }                                                                               \
            } else if (sb) {                                                                    \
                const float a = pa[0];                                                          \
                for (size_t j = 0; j < n; j++) {                                                \
                    const float b = pb[j];                                                      \
                    (void)b;                                                                    \
                    py[j] = (EXPR);                                                             \
                }                                                                               \
            } else {                                                                            \
                const float a = pa[0], b = pb[0];                                               \
                for (size_t j = 0; j < n; j++)                                                  \
                    py[j] = (EXPR);                                                             \
                (void)b;                                                                        \
            }                                                                                   \
            if (it.out + j1 >= e1 || !ew_next(&it))                                             \
                break;                                                                          \
            j0 = 0;                                                                             \
        }                                                                                       \
    }                                                                                           \
    static void NAME##_rows(const ew_layout *L, const float *A, const float *B, float *Y)       \
    {                                                                                           \
        ew_spans(NAME##_span, L, A, B, Y);                                                      \
    }

/* BINARY_GRAD(name, K, EXPR): name_grad(L, A, B, Y, G, D) writes D = d/d operand K
 * (in operand K's layout) from the contributions EXPR(a, b, y, g) of each output
 * element. An operand of the output's size gets them element by element; a
 * broadcast one their sum, in the output's row-major order (double within a row
 * reduced to one element). G NULL: zeros. */
#define BINARY_GRAD(NAME, K, EXPR)                                                              \
    static void NAME##_grad##K(const ew_layout *L, const float *A, const float *B,              \
                               const float *Y, const float *G, float *D)                        \
    {                                                                                           \
        const int reduce = L->in_numel[K] != L->numel;                                          \
        ew_iter it;                                                                             \
        if (reduce || !G)                                                                       \
            memset(D, 0, L->in_numel[K] * sizeof *D);                                           \
        if (!G || !ew_begin(&it, L))                                                            \
            return;                                                                             \
        const int sa = ew_step(L, 0), sb = ew_step(L, 1), sk = ew_step(L, K);                   \
        do {                                                                                    \
            const float *pa = A + it.off[0], *pb = B + it.off[1];                               \
            const float *py = Y + it.out, *pg = G + it.out;                                     \
            float *pd = D + it.off[K];                                                          \
            const size_t n = it.len;                                                            \
            if (!reduce && sa && sb) {                                                          \
                for (size_t j = 0; j < n; j++) {                                                \
                    const float a = pa[j], b = pb[j], y = py[j], g = pg[j];                     \
                    (void)a, (void)b, (void)y;                                                  \
                    pd[j] = (EXPR);                                                             \
                }                                                                               \
            } else if (!reduce) {                                                               \
                for (size_t j = 0; j < n; j++) {                                                \
                    const float a = pa[j * sa], b = pb[j * sb], y = py[j], g = pg[j];           \
                    (void)a, (void)b, (void)y;                                                  \
                    pd[j] = (EXPR);                                                             \
                }                                                                               \
            } else if (sk) {                                                                    \
                for (size_t j = 0; j < n; j++) {                                                \
                    const float a = pa[j * sa], b = pb[j * sb], y = py[j], g = pg[j];           \
                    (void)a, (void)b, (void)y;                                                  \
                    pd[j] += (EXPR);                                                            \
                }                                                                               \
            } else {                                                                            \
                double acc = 0.0;                                                               \
                for (size_t j = 0; j < n; j++) {                                                \
                    const float a = pa[j * sa], b = pb[j * sb], y = py[j], g = pg[j];           \
                    (void)a, (void)b, (void)y;                                                  \
                    acc += (EXPR);                                                              \
                }                                                                               \
                pd[0] += (float)acc;                                                            \
            }                                                                                   \
        } while (ew_next(&it));                                                                 \
    }

BINARY_ROWS(add, a + b)
BINARY_ROWS(sub, a - b)
BINARY_ROWS(mul, a * b)
BINARY_ROWS(div, a / b)
BINARY_ROWS(pow, powf(a, b))
BINARY_ROWS(square, a * a)
BINARY_ROWS(fmod, fmodf(a, b))
BINARY_ROWS(prelu, a < 0.0f ? a * b : a)

BINARY_GRAD(add, 0, g)
BINARY_GRAD(add, 1, g)
BINARY_GRAD(sub, 0, g)
BINARY_GRAD(sub, 1, -g)
BINARY_GRAD(mul, 0, g * b)
BINARY_GRAD(mul, 1, g * a)
BINARY_GRAD(div, 0, g / b)
BINARY_GRAD(div, 1, -g * (y / b))
BINARY_GRAD(pow, 0, b == 0.0f ? 0.0f : g * (b * powf(a, b - 1.0f)))
BINARY_GRAD(pow, 1, a == 0.0f && b >= 0.0f ? 0.0f : g * (y * logf(a)))
BINARY_GRAD(square, 0, g * (2.0f * a))
BINARY_GRAD(fmod, 0, g)
BINARY_GRAD(fmod, 1, -g * truncf(a / b))
BINARY_GRAD(prelu, 0, a > 0.0f ? g : b * g)
BINARY_GRAD(prelu, 1, a > 0.0f ? 0.0f : a * g)

/* Max and Min propagate a NaN of either operand (as numpy); at a tie each operand
 * gets half the gradient (as PyTorch's maximum and minimum). */
BINARY_ROWS(max, (a >= b || a != a) ? a : b)
BINARY_ROWS(min, (a <= b || a != a) ? a : b)
BINARY_ROWS(mean, (a + b) * 0.5f)
BINARY_GRAD(max, 0, a > b ? g : a == b ? 0.5f * g : 0.0f)
BINARY_GRAD(max, 1, b > a ? g : a == b ? 0.5f * g : 0.0f)
BINARY_GRAD(min, 0, a < b ? g : a == b ? 0.5f * g : 0.0f)
BINARY_GRAD(min, 1, b < a ? g : a == b ? 0.5f * g : 0.0f)
BINARY_GRAD(mean, 0, 0.5f * g)
BINARY_GRAD(mean, 1, 0.5f * g)

typedef void (*ew_grad_fn)(const ew_layout *, const float *, const float *, const float *,
                           const float *, float *);

/* The backward of a binary float op: d/dA and d/dB where wanted. */
static void binary_backward(const cam_exec *x, const float *const *gout, float *const *gin,
                            const float *b, ew_grad_fn grad0, ew_grad_fn grad1)
{
    const ew_params *p = x->node->params;
    if (gin[0])
        grad0(&p->layout, x->in[0], b, x->out[0], gout[0], gin[0]);
    if (gin[1] && grad1)
        grad1(&p->layout, x->in[0], b, x->out[0], gout[0], gin[1]);
}

/* ---- int64 folding ------------------------------------------------------------ */

typedef enum ew_int_op {
    INT_ADD, INT_SUB, INT_MUL, INT_DIV, INT_MOD, INT_LARGER, INT_SMALLER
} ew_int_op;

/* a op b on int64, wrapping on overflow; the divisor is never 0 (checked at typing). */
static int64_t ew_int(ew_int_op op, int fmod, int64_t a, int64_t b)
{
    switch (op) {
    case INT_ADD:
        return (int64_t)((uint64_t)a + (uint64_t)b);
    case INT_SUB:
        return (int64_t)((uint64_t)a - (uint64_t)b);
    case INT_MUL:
        return (int64_t)((uint64_t)a * (uint64_t)b);
    case INT_DIV: /* truncates toward zero */
        return b == -1 ? (int64_t)(0u - (uint64_t)a) : a / b;
    case INT_LARGER:
        return a > b ? a : b;
    case INT_SMALLER:
        return a < b ? a : b;
    case INT_MOD: {
        if (b == -1)
            return 0;
        int64_t r = a % b; /* sign of the dividend (fmod = 1) */
        if (!fmod && r != 0 && ((r < 0) != (b < 0)))
            r += b; /* sign of the divisor, as Python */
        return r;
    }
    }
    return 0;
}

/* Y = A op B over the layout, int64. */
static void ew_int_rows(const ew_params *p, ew_int_op op, const int64_t *A, const int64_t *B,
                        int64_t *Y)
{
    const ew_layout *L = &p->layout;
    ew_iter it;
    if (!ew_begin(&it, L))
        return;
    const int sa = ew_step(L, 0), sb = ew_step(L, 1);
    do {
        for (size_t j = 0; j < it.len; j++)
            Y[it.out + j] = ew_int(op, p->fmod, A[it.off[0] + (int64_t)j * sa],
                                   B[it.off[1] + (int64_t)j * sb]);
    } while (ew_next(&it));
}

/* ---- binary typing ------------------------------------------------------------ */

/* Inputs 0 and 1 (named n0, n1): same dtype, float32 or (constants) one in `folds`;
 * broadcast; output 0 of dtype out_dtype (0: the inputs' dtype). */
static cam_status binary_type(cam_graph *g, cam_node *node, const char *n0, const char *n1,
                              unsigned folds, cam_dtype out_dtype, ew_params **out,
                              cam_error *err)
{
    const cam_tensor *t[2];
    int64_t dims[CAM_MAX_RANK];
    int rank;
    cam_status st;
    if ((st = ew_input(g, node, 0, n0, &t[0], err)) != CAM_OK ||
        (st = ew_input(g, node, 1, n1, &t[1], err)) != CAM_OK ||
        (st = ew_check_dtype(g, node, t[0], n0, folds, err)) != CAM_OK ||
        (st = ew_check_dtype(g, node, t[1], n1, folds, err)) != CAM_OK)
        return st;
    if (t[0]->dtype != t[1]->dtype)
        return cam_op_fail(g, node, err, CAM_ERROR_INVALID_MODEL,
                           "inputs %s (%s) and %s (%s) have different dtypes", n0,
                           cam_dtype_name(t[0]->dtype), n1, cam_dtype_name(t[1]->dtype));
    if ((st = ew_broadcast(g, node, t, 2, &rank, dims, err)) != CAM_OK ||
        (st = cam_op_set_output(g, node, 0, out_dtype ? out_dtype : t[0]->dtype, rank, dims,
                                err)) != CAM_OK ||
        (st = ew_params_new(g, node, 0, out, err)) != CAM_OK)
        return st;
    ew_layout_init(&(*out)->layout, t, 2, rank, dims);
    (*out)->numel = (*out)->layout.numel;
    (*out)->dtype = t[0]->dtype;
    return CAM_OK;
}

/* A zero int64 divisor would trap when the node is folded: refused here. */
static cam_status check_int_divisor(const cam_graph *g, const cam_node *node, cam_error *err)
{
    const cam_tensor *b = cam_op_input(g, node, 1);
    if (!b || b->dtype != CAM_DTYPE_INT64)
        return CAM_OK;
    const int64_t *v = b->data;
    for (size_t i = 0; i < b->numel; i++)
        if (v[i] == 0)
            return cam_op_fail(g, node, err, CAM_ERROR_INVALID_MODEL,
                               "input B holds an integer division by zero (element %zu)", i);
    return CAM_OK;
}

static cam_status arith_type(cam_graph *g, cam_node *node, cam_error *err)
{
    ew_params *p = NULL;
    return binary_type(g, node, "A", "B", EW_INT64, 0, &p, err);
}

static cam_status div_type(cam_graph *g, cam_node *node, cam_error *err)
{
    ew_params *p = NULL;
    cam_status st = binary_type(g, node, "A", "B", EW_INT64, 0, &p, err);
    return st == CAM_OK ? check_int_divisor(g, node, err) : st;
}

/* ---- Add, Sub, Mul, Div -------------------------------------------------------- */

static void add_forward(const cam_exec *x)
{
    const ew_params *p = x->node->params;
    if (p->dtype == CAM_DTYPE_INT64)
        ew_int_rows(p, INT_ADD, x->in[0], x->in[1], x->out[0]);
    else
        add_rows(&p->layout, x->in[0], x->in[1], x->out[0]);
}

/* The gradient of a same-shape addend is gout itself: a copy (the residual
 * connection's hot path); a broadcast one goes through add_grad*. */
static void add_backward(const cam_exec *x, const float *const *gout, float *const *gin)
{
    const ew_params *p = x->node->params;
    for (int k = 0; k < 2; k++) {
        if (!gin[k])
            continue;
        if (gout[0] && p->layout.in_numel[k] == p->numel)
            memcpy(gin[k], gout[0], p->numel * sizeof *gin[k]);
        else
            (k == 0 ? add_grad0 : add_grad1)(&p->layout, x->in[0], x->in[1], x->out[0], gout[0],
                                             gin[k]);
    }
}

static void sub_forward(const cam_exec *x)
{
    const ew_params *p = x->node->params;
    if (p->dtype == CAM_DTYPE_INT64)
        ew_int_rows(p, INT_SUB, x->in[0], x->in[1], x->out[0]);
    else
        sub_rows(&p->layout, x->in[0], x->in[1], x->out[0]);
}

static void sub_backward(const cam_exec *x, const float *const *gout, float *const *gin)
{
    binary_backward(x, gout, gin, x->in[1], sub_grad0, sub_grad1);
}

static void mul_forward(const cam_exec *x)
{
    const ew_params *p = x->node->params;
    if (p->dtype == CAM_DTYPE_INT64)
        ew_int_rows(p, INT_MUL, x->in[0], x->in[1], x->out[0]);
    else
        mul_rows(&p->layout, x->in[0], x->in[1], x->out[0]);
}

static void mul_backward(const cam_exec *x, const float *const *gout, float *const *gin)
{
    binary_backward(x, gout, gin, x->in[1], mul_grad0, mul_grad1);
}

static void div_forward(const cam_exec *x)
{
    const ew_params *p = x->node->params;
    if (p->dtype == CAM_DTYPE_INT64)
        ew_int_rows(p, INT_DIV, x->in[0], x->in[1], x->out[0]);
    else
        div_rows(&p->layout, x->in[0], x->in[1], x->out[0]);
}

static void div_backward(const cam_exec *x, const float *const *gout, float *const *gin)
{
    binary_backward(x, gout, gin, x->in[1], div_grad0, div_grad1);
}

/* ---- Mod ------------------------------------------------------------------------ */

/* int64 constants (either fmod), or float32 with fmod = 1 (C's fmodf; gradients
 * g and -g trunc(a / b), as PyTorch's fmod). */
static cam_status mod_type(cam_graph *g, cam_node *node, cam_error *err)
{
    ew_params *p = NULL;
    int64_t fmod;
    cam_status st = cam_op_attr_int(g, node, "fmod", 0, &fmod, err);
    if (st != CAM_OK)
        return st;
    if (fmod != 0 && fmod != 1)
        return cam_op_fail(g, node, err, CAM_ERROR_INVALID_MODEL,
                           "attribute 'fmod' = %lld is not 0 or 1", (long long)fmod);
    if ((st = binary_type(g, node, "A", "B", EW_INT64, 0, &p, err)) != CAM_OK)
        return st;
    p->fmod = (int)fmod;
    if (p->dtype == CAM_DTYPE_FLOAT && !fmod)
        return cam_op_fail(g, node, err, CAM_ERROR_INVALID_MODEL,
                           "attribute 'fmod' = 0 on float32 inputs (ONNX requires fmod = 1 "
                           "for floating-point types)");
    return check_int_divisor(g, node, err);
}

static void mod_forward(const cam_exec *x)
{
    const ew_params *p = x->node->params;
    if (p->dtype == CAM_DTYPE_INT64)
        ew_int_rows(p, INT_MOD, x->in[0], x->in[1], x->out[0]);
    else
        fmod_rows(&p->layout, x->in[0], x->in[1], x->out[0]);
}

static void mod_backward(const cam_exec *x, const float *const *gout, float *const *gin)
{
    binary_backward(x, gout, gin, x->in[1], fmod_grad0, fmod_grad1);
}

/* ---- Pow ------------------------------------------------------------------------ */

/* Base X float32 (run time or constant); exponent Y float32, or an int64
 * constant (opset 12+) converted to floats once here. A constant scalar
 * exponent 2 becomes X * X (what powf gives, faster). An int64 base (a constant,
 * folded at load) gives int64, as ONNX's output type follows the base. */
static cam_status pow_type(cam_graph *g, cam_node *node, cam_error *err)
{
    const cam_tensor *t[2];
    int64_t dims[CAM_MAX_RANK];
    int rank;
    ew_params *p = NULL;
    cam_status st;
    if ((st = ew_input(g, node, 0, "X", &t[0], err)) != CAM_OK ||
        (st = ew_input(g, node, 1, "Y", &t[1], err)) != CAM_OK ||
        (st = ew_check_dtype(g, node, t[0], "X", EW_INT64, err)) != CAM_OK ||
        (st = ew_check_dtype(g, node, t[1], "Y", EW_INT64, err)) != CAM_OK ||
        (st = ew_broadcast(g, node, t, 2, &rank, dims, err)) != CAM_OK)
        return st;
    const int int_base = t[0]->dtype == CAM_DTYPE_INT64;
    const int int_exponent = t[1]->dtype == CAM_DTYPE_INT64;
    if (int_base && t[1]->kind != CAM_TENSOR_CONSTANT)
        return cam_op_fail(g, node, err, CAM_ERROR_UNSUPPORTED,
                           "input Y is a run-time value while the base X is int64; an int64 "
                           "Pow is supported on constants only");
    if ((st = cam_op_set_output(g, node, 0, t[0]->dtype, rank, dims, err)) != CAM_OK ||
        (st = ew_params_new(g, node,
                            int_exponent && !int_base ? t[1]->numel * sizeof(float) : 0, &p,
                            err)) != CAM_OK)
        return st;
    ew_layout_init(&p->layout, t, 2, rank, dims);
    p->numel = p->layout.numel;
    p->dtype = t[0]->dtype;
    p->exponent_dtype = t[1]->dtype;
    if (int_base)
        return CAM_OK;
    if (int_exponent) {
        float *e = (float *)(p + 1);
        const int64_t *v = t[1]->data;
        for (size_t i = 0; i < t[1]->numel; i++)
            e[i] = (float)v[i];
        p->exponent = e;
    }
    if (t[1]->kind == CAM_TENSOR_CONSTANT && t[1]->numel == 1)
        p->square = int_exponent ? p->exponent[0] == 2.0f : *(const float *)t[1]->data == 2.0f;
    return CAM_OK;
}

/* a ^ b for an int64 base: by squaring (wrapping) for an int64 b >= 0, else
 * pow() in double truncated toward zero (clamped to the int64 range; NaN -> 0). */
static int64_t pow_int(int64_t a, int64_t ib, double fb, int int_exponent)
{
    if (int_exponent && ib >= 0) {
        uint64_t r = 1, base = (uint64_t)a;
        for (uint64_t e = (uint64_t)ib; e; e >>= 1) {
            if (e & 1)
                r *= base;
            base *= base;
        }
        return (int64_t)r;
    }
    double v = pow((double)a, int_exponent ? (double)ib : fb);
    if (!(v == v))
        return 0;
    if (v >= 9223372036854775807.0)
        return INT64_MAX;
    if (v <= -9223372036854775808.0)
        return INT64_MIN;
    return (int64_t)v;
}

static void pow_int_rows(const ew_params *p, const int64_t *A, const void *B, int64_t *Y)
{
    const ew_layout *L = &p->layout;
    const int int_exponent = p->exponent_dtype == CAM_DTYPE_INT64;
    ew_iter it;
    if (!ew_begin(&it, L))
        return;
    const int sa = ew_step(L, 0), sb = ew_step(L, 1);
    do {
        for (size_t j = 0; j < it.len; j++) {
            const int64_t ia = it.off[0] + (int64_t)j * sa, ib = it.off[1] + (int64_t)j * sb;
            Y[it.out + j] = pow_int(A[ia], int_exponent ? ((const int64_t *)B)[ib] : 0,
                                    int_exponent ? 0.0 : ((const float *)B)[ib], int_exponent);
        }
    } while (ew_next(&it));
}

static const float *pow_exponent(const cam_exec *x)
{
    const ew_params *p = x->node->params;
    return p->exponent ? p->exponent : x->in[1];
}

static void pow_forward(const cam_exec *x)
{
    const ew_params *p = x->node->params;
    if (p->dtype == CAM_DTYPE_INT64)
        pow_int_rows(p, x->in[0], x->in[1], x->out[0]);
    else if (p->square)
        square_rows(&p->layout, x->in[0], x->in[0], x->out[0]);
    else
        pow_rows(&p->layout, x->in[0], pow_exponent(x), x->out[0]);
}

static void pow_backward(const cam_exec *x, const float *const *gout, float *const *gin)
{
    const ew_params *p = x->node->params;
    if (p->square) {
        binary_backward(x, gout, gin, pow_exponent(x), square_grad0, NULL);
        return;
    }
    binary_backward(x, gout, gin, pow_exponent(x), pow_grad0, p->exponent ? NULL : pow_grad1);
}

/* ---- PRelu ---------------------------------------------------------------------- */

/* y = x < 0 ? slope x : x, the slope broadcast to X (unidirectionally). */
static cam_status prelu_type(cam_graph *g, cam_node *node, cam_error *err)
{
    ew_params *p = NULL;
    cam_status st = binary_type(g, node, "X", "slope", 0, 0, &p, err);
    if (st != CAM_OK)
        return st;
    const cam_tensor *x = cam_op_input(g, node, 0), *slope = cam_op_input(g, node, 1);
    const cam_tensor *y = cam_op_output(g, node, 0);
    int same = slope->rank <= x->rank;
    for (int i = 0; i < x->rank && same && y; i++)
        same = y->dims[i] == x->dims[i];
    if (!same) {
        char xs[96], ss[96];
        cam_tensor_shape_string(x, xs, sizeof xs);
        cam_tensor_shape_string(slope, ss, sizeof ss);
        return cam_op_fail(g, node, err, CAM_ERROR_INVALID_MODEL,
                           "slope shape %s does not broadcast to X's shape %s", ss, xs);
    }
    return CAM_OK;
}

static void prelu_forward(const cam_exec *x)
{
    const ew_params *p = x->node->params;
    prelu_rows(&p->layout, x->in[0], x->in[1], x->out[0]);
}

static void prelu_backward(const cam_exec *x, const float *const *gout, float *const *gin)
{
    binary_backward(x, gout, gin, x->in[1], prelu_grad0, prelu_grad1);
}

/* ---- Equal ---------------------------------------------------------------------- */

/* Constants only (the bool output can only feed shape computations); float32,
 * int64 or bool inputs. */
typedef enum ew_compare {
    CMP_EQUAL, CMP_LESS, CMP_GREATER, CMP_LESS_EQUAL, CMP_GREATER_EQUAL
} ew_compare;

/* Comparisons give bool: folded at load, on constants only. Equal also compares
 * bools; the others numbers (float32, int64). */
static cam_status compare_type(cam_graph *g, cam_node *node, ew_compare kind, cam_error *err)
{
    ew_params *p = NULL;
    unsigned folds = EW_INT64 | (kind == CMP_EQUAL ? EW_BOOL : 0);
    cam_status st = binary_type(g, node, "A", "B", folds, CAM_DTYPE_BOOL, &p, err);
    if (st != CAM_OK)
        return st;
    p->kind = (int)kind;
    for (int i = 0; i < 2; i++)
        if (cam_op_input(g, node, i)->kind != CAM_TENSOR_CONSTANT)
            return cam_op_fail(g, node, err, CAM_ERROR_UNSUPPORTED,
                               "input %s is a run-time value; %s is supported on constants "
                               "only (its bool output is not a float32 value)",
                               i ? "B" : "A", node->op_type);
    return CAM_OK;
}

static cam_status equal_type(cam_graph *g, cam_node *node, cam_error *err)
{
    return compare_type(g, node, CMP_EQUAL, err);
}
static cam_status less_type(cam_graph *g, cam_node *node, cam_error *err)
{
    return compare_type(g, node, CMP_LESS, err);
}
static cam_status greater_type(cam_graph *g, cam_node *node, cam_error *err)
{
    return compare_type(g, node, CMP_GREATER, err);
}
static cam_status less_equal_type(cam_graph *g, cam_node *node, cam_error *err)
{
    return compare_type(g, node, CMP_LESS_EQUAL, err);
}
static cam_status greater_equal_type(cam_graph *g, cam_node *node, cam_error *err)
{
    return compare_type(g, node, CMP_GREATER_EQUAL, err);
}

/* -1, 0, 1 as a < b, a == b, a > b; 2 when unordered (a NaN: every comparison false). */
static int compare_values(cam_dtype dtype, const void *A, int64_t ia, const void *B, int64_t ib)
{
    if (dtype == CAM_DTYPE_FLOAT) {
        float a = ((const float *)A)[ia], b = ((const float *)B)[ib];
        return a < b ? -1 : a > b ? 1 : a == b ? 0 : 2;
    }
    if (dtype == CAM_DTYPE_INT64) {
        int64_t a = ((const int64_t *)A)[ia], b = ((const int64_t *)B)[ib];
        return a < b ? -1 : a > b;
    }
    int a = !!((const uint8_t *)A)[ia], b = !!((const uint8_t *)B)[ib];
    return a < b ? -1 : a > b;
}

static void compare_forward(const cam_exec *x)
{
    const ew_params *p = x->node->params;
    const ew_layout *L = &p->layout;
    uint8_t *Y = x->out[0];
    ew_iter it;
    if (!ew_begin(&it, L))
        return;
    const int sa = ew_step(L, 0), sb = ew_step(L, 1);
    do {
        for (size_t j = 0; j < it.len; j++) {
            int c = compare_values(p->dtype, x->in[0], it.off[0] + (int64_t)j * sa, x->in[1],
                                   it.off[1] + (int64_t)j * sb);
            int v = 0;
            switch ((ew_compare)p->kind) {
            case CMP_EQUAL: v = c == 0; break;
            case CMP_LESS: v = c == -1; break;
            case CMP_GREATER: v = c == 1; break;
            case CMP_LESS_EQUAL: v = c == -1 || c == 0; break;
            case CMP_GREATER_EQUAL: v = c == 1 || c == 0; break;
            }
            Y[it.out + j] = (uint8_t)v;
        }
    } while (ew_next(&it));
}

/* ---- Where ---------------------------------------------------------------------- */

/* y = condition ? X : Y over the three-way broadcast. The condition is a bool
 * constant; X and Y float32 (run time or constant) or constants of any dtype. */
static cam_status where_type(cam_graph *g, cam_node *node, cam_error *err)
{
    static const char *const names[] = {"condition", "X", "Y"};
    const cam_tensor *t[3];
    int64_t dims[CAM_MAX_RANK];
    int rank;
    ew_params *p = NULL;
    cam_status st;
    for (int i = 0; i < 3; i++)
        if ((st = ew_input(g, node, i, names[i], &t[i], err)) != CAM_OK)
            return st;
    if (t[0]->dtype != CAM_DTYPE_BOOL || t[0]->kind != CAM_TENSOR_CONSTANT)
        return cam_op_fail(g, node, err, CAM_ERROR_UNSUPPORTED,
                           "input condition is a %s %s; Where needs a bool constant",
                           t[0]->kind == CAM_TENSOR_CONSTANT ? "constant" : "run-time value",
                           cam_dtype_name(t[0]->dtype));
    if ((st = ew_check_dtype(g, node, t[1], "X", EW_INT64 | EW_BOOL, err)) != CAM_OK ||
        (st = ew_check_dtype(g, node, t[2], "Y", EW_INT64 | EW_BOOL, err)) != CAM_OK)
        return st;
    if (t[1]->dtype != t[2]->dtype)
        return cam_op_fail(g, node, err, CAM_ERROR_INVALID_MODEL,
                           "inputs X (%s) and Y (%s) have different dtypes",
                           cam_dtype_name(t[1]->dtype), cam_dtype_name(t[2]->dtype));
    if ((st = ew_broadcast(g, node, t, 3, &rank, dims, err)) != CAM_OK ||
        (st = cam_op_set_output(g, node, 0, t[1]->dtype, rank, dims, err)) != CAM_OK ||
        (st = ew_params_new(g, node, 0, &p, err)) != CAM_OK)
        return st;
    ew_layout_init(&p->layout, t, 3, rank, dims);
    p->numel = p->layout.numel;
    p->dtype = t[1]->dtype;
    return CAM_OK;
}

static void where_forward(const cam_exec *x)
{
    const ew_params *p = x->node->params;
    const ew_layout *L = &p->layout;
    const uint8_t *C = x->in[0];
    const size_t size = cam_dtype_size(p->dtype);
    const char *X = x->in[1], *Y = x->in[2];
    char *out = x->out[0];
    ew_iter it;
    if (!ew_begin(&it, L))
        return;
    const int sc = ew_step(L, 0), sx = ew_step(L, 1), sy = ew_step(L, 2);
    do {
        const uint8_t *pc = C + it.off[0];
        if (p->dtype == CAM_DTYPE_FLOAT) {
            const float *px = (const float *)X + it.off[1], *py = (const float *)Y + it.off[2];
            float *po = (float *)out + it.out;
            for (size_t j = 0; j < it.len; j++)
                po[j] = pc[j * sc] ? px[j * sx] : py[j * sy];
        } else {
            for (size_t j = 0; j < it.len; j++) {
                const char *src = pc[j * sc] ? X + (it.off[1] + (int64_t)j * sx) * size
                                             : Y + (it.off[2] + (int64_t)j * sy) * size;
                memcpy(out + (it.out + j) * size, src, size);
            }
        }
    } while (ew_next(&it));
}

/* d/dX gets gout where the condition holds, d/dY where it does not; each summed
 * over its broadcast axes in the output's row-major order. */
static void where_backward(const cam_exec *x, const float *const *gout, float *const *gin)
{
    const ew_params *p = x->node->params;
    const ew_layout *L = &p->layout;
    const uint8_t *C = x->in[0];
    const float *G = gout[0];
    for (int k = 1; k <= 2; k++) {
        float *D = gin[k];
        if (!D)
            continue;
        const uint8_t want = k == 1;
        ew_iter it;
        memset(D, 0, L->in_numel[k] * sizeof *D);
        if (!G || !ew_begin(&it, L))
            continue;
        const int sc = ew_step(L, 0), sk = ew_step(L, k);
        do {
            const uint8_t *pc = C + it.off[0];
            const float *pg = G + it.out;
            float *pd = D + it.off[k];
            if (sk) {
                for (size_t j = 0; j < it.len; j++)
                    if ((pc[j * sc] != 0) == want)
                        pd[j] += pg[j];
            } else {
                double acc = 0.0;
                for (size_t j = 0; j < it.len; j++)
                    if ((pc[j * sc] != 0) == want)
                        acc += pg[j];
                pd[0] += (float)acc;
            }
        } while (ew_next(&it));
    }
}

/* ---- Max, Min, Sum, Mean ---------------------------------------------------------- */

typedef enum ew_variadic { VAR_MAX, VAR_MIN, VAR_SUM, VAR_MEAN } ew_variadic;

/* One input: a copy (its gradient passes); two: broadcast as the binary ops. ONNX
 * allows any number; more than two are refused with the count. */
static cam_status variadic_type(cam_graph *g, cam_node *node, ew_variadic kind, cam_error *err)
{
    ew_params *p = NULL;
    cam_status st;
    if (node->n_inputs > 2)
        return cam_op_fail(g, node, err, CAM_ERROR_UNSUPPORTED,
                           "%d inputs; %s is supported with one or two", node->n_inputs,
                           node->op_type);
    unsigned folds = kind == VAR_MEAN ? 0 : EW_INT64; /* int64 constants: shape arithmetic */
    if (node->n_inputs == 1)
        st = unary_type(g, node, folds, &p, err);
    else
        st = binary_type(g, node, "data_0", "data_1", folds, 0, &p, err);
    if (st == CAM_OK)
        p->kind = (int)kind;
    return st;
}

static cam_status max_type(cam_graph *g, cam_node *node, cam_error *err)
{
    return variadic_type(g, node, VAR_MAX, err);
}
static cam_status min_type(cam_graph *g, cam_node *node, cam_error *err)
{
    return variadic_type(g, node, VAR_MIN, err);
}
static cam_status sum_type(cam_graph *g, cam_node *node, cam_error *err)
{
    return variadic_type(g, node, VAR_SUM, err);
}
static cam_status mean_type(cam_graph *g, cam_node *node, cam_error *err)
{
    return variadic_type(g, node, VAR_MEAN, err);
}

static void variadic_forward(const cam_exec *x)
{
    const ew_params *p = x->node->params;
    if (x->node->n_inputs == 1) {
        memcpy(x->out[0], x->in[0], p->numel * cam_dtype_size(p->dtype));
        return;
    }
    if (p->dtype == CAM_DTYPE_INT64) {
        static const ew_int_op ops[] = {[VAR_MAX] = INT_LARGER, [VAR_MIN] = INT_SMALLER,
                                         [VAR_SUM] = INT_ADD};
        ew_int_rows(p, ops[p->kind], x->in[0], x->in[1], x->out[0]);
        return;
    }
    static void (*const rows[])(const ew_layout *, const float *, const float *, float *) = {
        [VAR_MAX] = max_rows, [VAR_MIN] = min_rows, [VAR_SUM] = add_rows, [VAR_MEAN] = mean_rows};
    rows[p->kind](&p->layout, x->in[0], x->in[1], x->out[0]);
}

static void variadic_backward(const cam_exec *x, const float *const *gout, float *const *gin)
{
    const ew_params *p = x->node->params;
    if (x->node->n_inputs == 1) {
        if (!gin[0])
            return;
        if (gout[0])
            memcpy(gin[0], gout[0], p->numel * sizeof *gin[0]);
        else
            memset(gin[0], 0, p->numel * sizeof *gin[0]);
        return;
    }
    static const ew_grad_fn grads[][2] = {[VAR_MAX] = {max_grad0, max_grad1},
                                          [VAR_MIN] = {min_grad0, min_grad1},
                                          [VAR_SUM] = {add_grad0, add_grad1},
                                          [VAR_MEAN] = {mean_grad0, mean_grad1}};
    binary_backward(x, gout, gin, x->in[1], grads[p->kind][0], grads[p->kind][1]);
}

/* ---- the family ------------------------------------------------------------------ */

#define OP(VAR, NAME, SINCE, UNTIL, MIN_IN, MAX_IN, TYPE, FORWARD, BACKWARD)                   \
    static const cam_op_def VAR = {                                                            \
        .name = NAME,                                                                          \
        .since = SINCE,                                                                        \
        .until = UNTIL,                                                                        \
        .min_inputs = MIN_IN,                                                                  \
        .max_inputs = MAX_IN,                                                                  \
        .min_outputs = 1,                                                                      \
        .max_outputs = 1,                                                                      \
        .type = TYPE,                                                                          \
        .forward = FORWARD,                                                                    \
        .backward = BACKWARD,                                                                  \
    };

OP(op_relu, "Relu", 7, 22, 1, 1, plain_type, relu_forward, relu_backward)
OP(op_leakyrelu, "LeakyRelu", 7, 22, 1, 1, leakyrelu_type, leakyrelu_forward, leakyrelu_backward)
OP(op_prelu, "PRelu", 7, 22, 2, 2, prelu_type, prelu_forward, prelu_backward)
OP(op_clip6, "Clip", 7, 10, 1, 1, clip6_type, clip_forward, clip_backward)
OP(op_clip11, "Clip", 11, 22, 1, 3, clip11_type, clip_forward, clip_backward)
static const cam_op_def op_sigmoid = {
    .name = "Sigmoid",
    .since = 7,
    .until = 22,
    .min_inputs = 1,
    .max_inputs = 1,
    .min_outputs = 1,
    .max_outputs = 2, /* the second only through absorb (a fused SiLU's Mul) */
    .type = sigmoid_type,
    .forward = sigmoid_forward,
    .backward = sigmoid_backward,
    .absorb = sigmoid_absorb,
};
OP(op_hardsigmoid, "HardSigmoid", 7, 22, 1, 1, hardsigmoid_type, hardsigmoid_forward,
   hardsigmoid_backward)
OP(op_hardswish, "HardSwish", 14, 22, 1, 1, plain_type, hardswish_forward, hardswish_backward)
OP(op_tanh, "Tanh", 7, 22, 1, 1, plain_type, tanh_forward, tanh_backward)
OP(op_erf, "Erf", 9, 22, 1, 1, plain_type, erf_forward, erf_backward)
OP(op_sqrt, "Sqrt", 7, 22, 1, 1, plain_type, sqrt_forward, sqrt_backward)
OP(op_exp, "Exp", 7, 22, 1, 1, plain_type, exp_forward, exp_backward)
OP(op_log, "Log", 7, 22, 1, 1, plain_type, log_forward, log_backward)
OP(op_neg, "Neg", 7, 22, 1, 1, int64_type, neg_forward, neg_float_backward)
OP(op_abs, "Abs", 7, 22, 1, 1, int64_type, abs_forward, abs_float_backward)
OP(op_reciprocal, "Reciprocal", 7, 22, 1, 1, plain_type, reciprocal_forward, reciprocal_backward)
OP(op_elu, "Elu", 6, 22, 1, 1, alpha1_type, elu_forward, elu_backward)
OP(op_selu, "Selu", 6, 22, 1, 1, selu_type, selu_forward, selu_backward)
OP(op_celu, "Celu", 12, 22, 1, 1, celu_type, celu_forward, celu_backward)
OP(op_softplus, "Softplus", 1, 22, 1, 1, plain_type, softplus_forward, softplus_backward)
OP(op_softsign, "Softsign", 1, 22, 1, 1, plain_type, softsign_forward, softsign_backward)
OP(op_mish, "Mish", 18, 22, 1, 1, plain_type, mish_forward, mish_backward)
OP(op_gelu, "Gelu", 20, 22, 1, 1, gelu_type, gelu_forward, gelu_backward)
OP(op_thresholdedrelu, "ThresholdedRelu", 10, 22, 1, 1, alpha1_type, thresholdedrelu_forward,
   thresholdedrelu_backward)
OP(op_shrink, "Shrink", 9, 22, 1, 1, shrink_type, shrink_forward, shrink_backward)
OP(op_floor, "Floor", 6, 22, 1, 1, plain_type, floor_forward, floor_backward)
OP(op_ceil, "Ceil", 6, 22, 1, 1, plain_type, ceil_forward, ceil_backward)
OP(op_round, "Round", 11, 22, 1, 1, plain_type, round_forward, round_backward)
OP(op_sign, "Sign", 9, 22, 1, 1, plain_type, sign_forward, sign_backward)
OP(op_sin, "Sin", 7, 22, 1, 1, plain_type, sin_forward, sin_backward)
OP(op_cos, "Cos", 7, 22, 1, 1, plain_type, cos_forward, cos_backward)
OP(op_tan, "Tan", 7, 22, 1, 1, plain_type, tan_forward, tan_backward)
OP(op_asin, "Asin", 7, 22, 1, 1, plain_type, asin_forward, asin_backward)
OP(op_acos, "Acos", 7, 22, 1, 1, plain_type, acos_forward, acos_backward)
OP(op_atan, "Atan", 7, 22, 1, 1, plain_type, atan_forward, atan_backward)
OP(op_sinh, "Sinh", 9, 22, 1, 1, plain_type, sinh_forward, sinh_backward)
OP(op_cosh, "Cosh", 9, 22, 1, 1, plain_type, cosh_forward, cosh_backward)
OP(op_asinh, "Asinh", 9, 22, 1, 1, plain_type, asinh_forward, asinh_backward)
OP(op_acosh, "Acosh", 9, 22, 1, 1, plain_type, acosh_forward, acosh_backward)
OP(op_atanh, "Atanh", 9, 22, 1, 1, plain_type, atanh_forward, atanh_backward)
OP(op_not, "Not", 7, 22, 1, 1, not_type, not_forward, NULL)
OP(op_add, "Add", 7, 22, 2, 2, arith_type, add_forward, add_backward)
OP(op_sub, "Sub", 7, 22, 2, 2, arith_type, sub_forward, sub_backward)
OP(op_mul, "Mul", 7, 22, 2, 2, arith_type, mul_forward, mul_backward)
OP(op_div, "Div", 7, 22, 2, 2, div_type, div_forward, div_backward)
OP(op_pow, "Pow", 7, 22, 2, 2, pow_type, pow_forward, pow_backward)
OP(op_mod, "Mod", 10, 22, 2, 2, mod_type, mod_forward, mod_backward)
OP(op_equal, "Equal", 7, 22, 2, 2, equal_type, compare_forward, NULL)
OP(op_less, "Less", 7, 22, 2, 2, less_type, compare_forward, NULL)
OP(op_greater, "Greater", 7, 22, 2, 2, greater_type, compare_forward, NULL)
OP(op_less_equal, "LessOrEqual", 12, 22, 2, 2, less_equal_type, compare_forward, NULL)
OP(op_greater_equal, "GreaterOrEqual", 12, 22, 2, 2, greater_equal_type, compare_forward, NULL)
OP(op_max, "Max", 8, 22, 1, 64, max_type, variadic_forward, variadic_backward)
OP(op_min, "Min", 8, 22, 1, 64, min_type, variadic_forward, variadic_backward)
OP(op_sum, "Sum", 8, 22, 1, 64, sum_type, variadic_forward, variadic_backward)
OP(op_mean, "Mean", 8, 22, 1, 64, mean_type, variadic_forward, variadic_backward)
OP(op_where, "Where", 9, 22, 3, 3, where_type, where_forward, where_backward)

const cam_op_def *const cam_ops_elementwise[] = {
    &op_relu, &op_leakyrelu, &op_prelu, &op_clip6, &op_clip11, &op_sigmoid, &op_hardsigmoid,
    &op_hardswish, &op_tanh, &op_erf, &op_sqrt, &op_exp, &op_log, &op_neg, &op_abs,
    &op_reciprocal, &op_not, &op_add, &op_sub, &op_mul, &op_div, &op_pow, &op_mod, &op_equal,
    &op_where, &op_elu, &op_selu, &op_celu, &op_softplus, &op_softsign, &op_mish, &op_gelu,
    &op_thresholdedrelu, &op_shrink, &op_floor, &op_ceil, &op_round, &op_sign, &op_sin,
    &op_cos, &op_tan, &op_asin, &op_acos, &op_atan, &op_sinh, &op_cosh, &op_asinh, &op_acosh,
    &op_atanh, &op_less, &op_greater, &op_less_equal, &op_greater_equal, &op_max, &op_min,
    &op_sum, &op_mean, NULL,
};
