/*
 * test-conformance.c -- the engine against ONNX's own backend node tests.
 *
 * Debian packages the official ONNX backend node tests as libonnx-testdata:
 * /usr/share/libonnx-testdata/data/node/<test>/model.onnx with
 * test_data_set_0/input_<i>.pb and output_<j>.pb (serialized TensorProtos).
 * For every test directory:
 *
 *  1. The model's nodes are read with a small protobuf scanner of our own (not
 *     the engine's loader, so that a model the loader refuses still has its ops
 *     known). A test whose nodes are not all served by the engine (cam_op_find
 *     at the model's default-domain opset; Constant nodes are the reader's) is
 *     counted "not implemented" and not run. Each test is filed under one op:
 *     the op of its single node, or for an `_expanded` test (the op's function
 *     body written out as a graph) the op of the test it expands.
 *  2. A test that runs is loaded with cam_onnx_read. Graph input shapes are
 *     set from the .pb data; inputs that are not float32 are made CONSTANT
 *     with the test data; in the first attempt every input but the first
 *     float32 one is CONSTANT too (weights are constants in the engine). Then
 *     cam_graph_type, cam_graph_optimize, a cam_executor forward. When the
 *     first attempt is refused, a second one makes every input CONSTANT (the
 *     whole graph then folds at load: what the engine does with shape
 *     subgraphs); a test that passes only that way is counted "folded". When
 *     the first attempt runs and the test has several float32 inputs, a third
 *     one feeds all of them at run time (Add of two activations, MatMul in
 *     attention); its refusal is fine, a wrong answer is not.
 *  3. Outputs are compared with output_<j>.pb with ONNX's tolerances:
 *     |got - want| <= atol + rtol * |want|, rtol 1e-3, atol 1e-7, NaN equal to
 *     NaN; int64 and bool exactly; shapes and dtypes exactly.
 *  4. Backward: when an attempt ran with float32 run-time inputs and has float32
 *     outputs, random seed gradients (a fixed PRNG seeded by the test's name)
 *     are put on the outputs, cam_executor_backward gives the gradient at each
 *     run-time input, and a random subset of at most 64 coordinates is checked
 *     against central finite differences of <seed, outputs> (see fd_check).
 *
 * Verdicts: passed; refused (load or typing returned an error: the message is
 * kept; a clean refusal is allowed, a wrong answer never is); failed (ran but
 * gave wrong values, shapes or types, errored after accepting the graph, or
 * crashed). Backward failures are counted separately. Exit status: 0, or 1
 * when any answer is wrong (forward or backward) or fewer than 95% of the
 * float32 tests of implemented ops pass; 77 when the test data is missing.
 *
 * Each test runs in a child process (fork) so that a crash or a hang in one op
 * is reported as that test's failure; --no-fork runs everything in this
 * process (for a debugger or a leak checker).
 */
#include "graph/cam-executor.h"
#include "graph/cam-graph.h"
#include "onnx/cam-onnx.h"
#include "ops/cam-op.h"

#include <dirent.h>
#include <errno.h>
#include <float.h>
#include <fnmatch.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define DEFAULT_DATA_DIR "/usr/share/libonnx-testdata/data/node"

/* ONNX's tolerances for the backend node tests (onnx/backend/test/runner). */
#define RTOL 1e-3
#define ATOL 1e-7
/* Goal of issue 12: share of the float32 tests of implemented ops that pass. */
#define PASS_GOAL 0.95
/* Finite differences: coordinates per input (default; --fd-coords), step, tolerance
 * (see fd_check). */
#define FD_MAX_COORDS 64
static size_t fd_max_coords = FD_MAX_COORDS;
#define FD_STEP 1e-2
#define FD_TOL 2e-2

#define MSG_SIZE 768

/* ONNX TensorProto.DataType codes the scanner needs. */
enum { ONNX_FLOAT = 1, ONNX_INT64 = 7, ONNX_BOOL = 9 };

/* ------------------------------------------------------------------------ */
/* Small helpers                                                            */
/* ------------------------------------------------------------------------ */

static void *xmalloc(size_t size)
{
    void *p = malloc(size ? size : 1);
    if (!p) {
        fprintf(stderr, "test-conformance: out of memory\n");
        exit(2);
    }
    return p;
}

static void *xrealloc(void *p, size_t size)
{
    p = realloc(p, size ? size : 1);
    if (!p) {
        fprintf(stderr, "test-conformance: out of memory\n");
        exit(2);
    }
    return p;
}

static char *xstrndup(const char *s, size_t n)
{
    char *r = xmalloc(n + 1);
    memcpy(r, s, n);
    r[n] = '\0';
    return r;
}

static char *xstrdup(const char *s)
{
    return xstrndup(s, strlen(s));
}

static void append(char *buf, size_t size, const char *format, ...)
    __attribute__((format(printf, 3, 4)));
static void append(char *buf, size_t size, const char *format, ...)
{
    size_t len = strlen(buf);
    if (len + 1 >= size)
        return;
    va_list ap;
    va_start(ap, format);
    vsnprintf(buf + len, size - len, format, ap);
    va_end(ap);
}

/* snprintf for messages that may be cut short (no truncation warnings). */
static void setf(char *buf, size_t size, const char *format, ...)
    __attribute__((format(printf, 3, 4)));
static void setf(char *buf, size_t size, const char *format, ...)
{
    va_list ap;
    va_start(ap, format);
    vsnprintf(buf, size, format, ap);
    va_end(ap);
}

/* Whole file into memory; NULL (errno set) when it cannot be read. */
static uint8_t *read_file(const char *path, size_t *size)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t cap = 1 << 16, n = 0;
    uint8_t *buf = xmalloc(cap);
    for (;;) {
        if (n == cap) {
            cap *= 2;
            buf = xrealloc(buf, cap);
        }
        size_t got = fread(buf + n, 1, cap - n, f);
        n += got;
        if (got == 0)
            break;
    }
    int bad = ferror(f);
    fclose(f);
    if (bad) {
        free(buf);
        errno = EIO;
        return NULL;
    }
    *size = n;
    return buf;
}

static int file_exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

static void dims_string(int rank, const int64_t *dims, char *buf, size_t size)
{
    if (rank == 0) {
        setf(buf, size, "scalar");
        return;
    }
    buf[0] = '\0';
    for (int i = 0; i < rank; i++)
        append(buf, size, "%s%lld", i ? "x" : "", (long long)dims[i]);
}

/* splitmix64: a fixed PRNG, seeded per test from its name. */
static uint64_t rng_next(uint64_t *state)
{
    uint64_t z = (*state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static double rng_uniform(uint64_t *state) /* [0, 1) */
{
    return (double)(rng_next(state) >> 11) / 9007199254740992.0;
}

static uint64_t hash_string(const char *s)
{
    uint64_t h = 0xcbf29ce484222325ull;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 0x100000001b3ull;
    return h;
}

/* ------------------------------------------------------------------------ */
/* A protobuf scanner: just what is needed to list a model's nodes and I/O  */
/* ------------------------------------------------------------------------ */

typedef struct pb {
    const uint8_t *p, *end;
} pb;

enum { PB_END = -2, PB_BAD = -1 };

static int pb_varint(pb *b, uint64_t *v)
{
    uint64_t r = 0;
    for (int shift = 0; shift < 64; shift += 7) {
        if (b->p >= b->end)
            return -1;
        uint8_t c = *b->p++;
        r |= (uint64_t)(c & 0x7f) << shift;
        if (!(c & 0x80)) {
            *v = r;
            return 0;
        }
    }
    return -1;
}

/* The next field of b: returns its wire type (value in *value for varints,
 * payload in *sub for length-delimited fields), PB_END or PB_BAD. */
static int pb_next(pb *b, uint32_t *field, uint64_t *value, pb *sub)
{
    if (b->p >= b->end)
        return PB_END;
    uint64_t key, len;
    if (pb_varint(b, &key) != 0)
        return PB_BAD;
    *field = (uint32_t)(key >> 3);
    int wire = (int)(key & 7);
    *value = 0;
    switch (wire) {
    case 0:
        return pb_varint(b, value) == 0 ? 0 : PB_BAD;
    case 1:
        if (b->end - b->p < 8)
            return PB_BAD;
        b->p += 8;
        return 1;
    case 2:
        if (pb_varint(b, &len) != 0 || len > (uint64_t)(b->end - b->p))
            return PB_BAD;
        sub->p = b->p;
        sub->end = b->p + len;
        b->p += len;
        return 2;
    case 5:
        if (b->end - b->p < 4)
            return PB_BAD;
        b->p += 4;
        return 5;
    default:
        return PB_BAD;
    }
}

typedef struct io_info {
    char *name;
    int elem_type;      /* TensorProto.DataType; 0 when not a tensor (sequence, map, optional) */
} io_info;

typedef struct model_info {
    long long opset;    /* default-domain opset; -1 when the model imports none */
    char **ops;         /* op_type of each node */
    char **domains;     /* domain of each node ("" for the default one) */
    int n_nodes;
    io_info *inputs;    /* graph inputs that are not initializers, in file order */
    int n_inputs;
    io_info *outputs;
    int n_outputs;
    char **initializers;
    int n_initializers;
} model_info;

static void model_info_free(model_info *m)
{
    for (int i = 0; i < m->n_nodes; i++) {
        free(m->ops[i]);
        free(m->domains[i]);
    }
    for (int i = 0; i < m->n_inputs; i++)
        free(m->inputs[i].name);
    for (int i = 0; i < m->n_outputs; i++)
        free(m->outputs[i].name);
    for (int i = 0; i < m->n_initializers; i++)
        free(m->initializers[i]);
    free(m->ops);
    free(m->domains);
    free(m->inputs);
    free(m->outputs);
    free(m->initializers);
    memset(m, 0, sizeof *m);
}

static int scan_value_info(pb b, io_info *out)
{
    uint32_t field;
    uint64_t v;
    pb sub, sub2, sub3;
    int wire;
    out->name = NULL;
    out->elem_type = 0;
    while ((wire = pb_next(&b, &field, &v, &sub)) >= 0) {
        if (field == 1 && wire == 2) {
            free(out->name);
            out->name = xstrndup((const char *)sub.p, (size_t)(sub.end - sub.p));
        } else if (field == 2 && wire == 2) { /* TypeProto */
            while ((wire = pb_next(&sub, &field, &v, &sub2)) >= 0) {
                if (field == 1 && wire == 2) { /* tensor_type */
                    while ((wire = pb_next(&sub2, &field, &v, &sub3)) >= 0)
                        if (field == 1 && wire == 0)
                            out->elem_type = (int)v;
                    if (wire == PB_BAD)
                        return -1;
                }
            }
            if (wire == PB_BAD)
                return -1;
        }
    }
    if (!out->name)
        out->name = xstrdup("");
    return wire == PB_BAD ? -1 : 0;
}

static int scan_graph(pb b, model_info *m)
{
    uint32_t field, f2;
    uint64_t v;
    pb sub, sub2;
    int wire, w2;
    while ((wire = pb_next(&b, &field, &v, &sub)) >= 0) {
        if (wire != 2)
            continue;
        if (field == 1) { /* NodeProto */
            char *op = NULL, *domain = NULL;
            while ((w2 = pb_next(&sub, &f2, &v, &sub2)) >= 0) {
                if (w2 != 2)
                    continue;
                if (f2 == 4) {
                    free(op);
                    op = xstrndup((const char *)sub2.p, (size_t)(sub2.end - sub2.p));
                } else if (f2 == 7) {
                    free(domain);
                    domain = xstrndup((const char *)sub2.p, (size_t)(sub2.end - sub2.p));
                }
            }
            m->ops = xrealloc(m->ops, sizeof *m->ops * (size_t)(m->n_nodes + 1));
            m->domains = xrealloc(m->domains, sizeof *m->domains * (size_t)(m->n_nodes + 1));
            m->ops[m->n_nodes] = op ? op : xstrdup("");
            m->domains[m->n_nodes] = domain ? domain : xstrdup("");
            m->n_nodes++;
            if (w2 == PB_BAD)
                return -1;
        } else if (field == 5) { /* initializer: only its name (field 8) */
            char *name = NULL;
            while ((w2 = pb_next(&sub, &f2, &v, &sub2)) >= 0)
                if (f2 == 8 && w2 == 2) {
                    free(name);
                    name = xstrndup((const char *)sub2.p, (size_t)(sub2.end - sub2.p));
                }
            m->initializers = xrealloc(m->initializers,
                                       sizeof *m->initializers * (size_t)(m->n_initializers + 1));
            m->initializers[m->n_initializers++] = name ? name : xstrdup("");
            if (w2 == PB_BAD)
                return -1;
        } else if (field == 11 || field == 12) {
            io_info info;
            int bad = scan_value_info(sub, &info);
            if (field == 11) {
                m->inputs = xrealloc(m->inputs, sizeof *m->inputs * (size_t)(m->n_inputs + 1));
                m->inputs[m->n_inputs++] = info;
            } else {
                m->outputs = xrealloc(m->outputs, sizeof *m->outputs * (size_t)(m->n_outputs + 1));
                m->outputs[m->n_outputs++] = info;
            }
            if (bad)
                return -1;
        }
    }
    if (wire == PB_BAD)
        return -1;
    /* Inputs that are initializers (old exporters) get no test data. */
    int kept = 0;
    for (int i = 0; i < m->n_inputs; i++) {
        int init = 0;
        for (int k = 0; k < m->n_initializers && !init; k++)
            init = strcmp(m->inputs[i].name, m->initializers[k]) == 0;
        if (init)
            free(m->inputs[i].name);
        else
            m->inputs[kept++] = m->inputs[i];
    }
    m->n_inputs = kept;
    return 0;
}

static int scan_model(const uint8_t *data, size_t size, model_info *m)
{
    memset(m, 0, sizeof *m);
    m->opset = -1;
    pb b = {data, data + size}, sub, sub2;
    uint32_t field, f2;
    uint64_t v;
    int wire, w2, graphs = 0;
    while ((wire = pb_next(&b, &field, &v, &sub)) >= 0) {
        if (field == 8 && wire == 2) { /* OperatorSetIdProto */
            char *domain = NULL;
            long long version = -1;
            while ((w2 = pb_next(&sub, &f2, &v, &sub2)) >= 0) {
                if (f2 == 1 && w2 == 2) {
                    free(domain);
                    domain = xstrndup((const char *)sub2.p, (size_t)(sub2.end - sub2.p));
                } else if (f2 == 2 && w2 == 0) {
                    version = (long long)v;
                }
            }
            if (!domain || !domain[0] || strcmp(domain, "ai.onnx") == 0)
                m->opset = version;
            free(domain);
            if (w2 == PB_BAD)
                return -1;
        } else if (field == 7 && wire == 2) {
            if (scan_graph(sub, m) != 0)
                return -1;
            graphs++;
        }
    }
    return wire == PB_BAD || graphs != 1 ? -1 : 0;
}

/* ------------------------------------------------------------------------ */
/* Tests and their data                                                     */
/* ------------------------------------------------------------------------ */

enum verdict { V_NOT_RUN = 0, V_PASSED, V_REFUSED, V_FAILED };

/* What a child process sends back (a plain struct through a pipe). */
typedef struct test_result {
    int verdict;
    int folded;            /* passed only with every input CONSTANT */
    int refused_status;    /* cam_status of a refusal */
    char message[MSG_SIZE];
    int bwd_checked;       /* at least one coordinate compared */
    int bwd_failed;        /* at least one coordinate off */
    int bwd_na;            /* a float run-time input and float outputs, but no gradient checked */
    int bwd_coords, bwd_bad, bwd_skipped;
    char bwd_message[MSG_SIZE];
    int complete;          /* set last: the child got to the end */
} test_result;

typedef struct test_case {
    char *name;
    char *dir;
    char *op;              /* the table row it is filed under */
    model_info model;
    int scanned;           /* model_info valid */
    int runnable;          /* every node served */
    char why_not[256];     /* when not runnable */
    int float32;           /* float32 I/O (int64 and bool allowed beside), no other type */
    int selected;
    test_result r;
} test_case;

typedef struct tensor_data {
    cam_dtype dtype;
    int rank;
    int64_t dims[CAM_MAX_RANK];
    void *data;
    size_t numel;
} tensor_data;

typedef struct test_data {
    tensor_data *in;
    int n_in;
    tensor_data *out;
    int n_out;
} test_data;

static void test_data_free(test_data *td)
{
    for (int i = 0; i < td->n_in; i++)
        free(td->in[i].data);
    for (int i = 0; i < td->n_out; i++)
        free(td->out[i].data);
    free(td->in);
    free(td->out);
    memset(td, 0, sizeof *td);
}

/* Reads <dir>/test_data_set_0/<prefix>_<i>.pb for i = 0, 1, ... until one is missing. */
static cam_status read_pb_series(const char *dir, const char *prefix, tensor_data **out, int *n,
                                 cam_error *err)
{
    *out = NULL;
    *n = 0;
    for (int i = 0;; i++) {
        char path[4096];
        setf(path, sizeof path, "%s/test_data_set_0/%s_%d.pb", dir, prefix, i);
        size_t size = 0;
        uint8_t *bytes = read_file(path, &size);
        if (!bytes) {
            if (errno == ENOENT)
                return CAM_OK;
            setf(err->message, sizeof err->message, "cannot read %s: %s", path,
                     strerror(errno));
            err->status = CAM_ERROR_IO;
            return CAM_ERROR_IO;
        }
        *out = xrealloc(*out, sizeof **out * (size_t)(*n + 1));
        tensor_data *t = &(*out)[*n];
        memset(t, 0, sizeof *t);
        char what[64];
        setf(what, sizeof what, "%s_%d.pb", prefix, i);
        cam_status s = cam_onnx_read_tensor(bytes, size, what, &t->dtype, &t->rank, t->dims,
                                            &t->data, &t->numel, err);
        free(bytes);
        if (s != CAM_OK)
            return s;
        (*n)++;
    }
}

static int is_float_input(const test_case *tc, const test_data *td, int i)
{
    return i < tc->model.n_inputs && tc->model.inputs[i].elem_type == ONNX_FLOAT &&
           td->in[i].dtype == CAM_DTYPE_FLOAT;
}

/* ------------------------------------------------------------------------ */
/* One attempt: load, type, optimize, forward, compare, backward            */
/* ------------------------------------------------------------------------ */

typedef enum input_mode {
    MODE_FIRST_FLOAT,   /* the first float32 input at run time, every other input CONSTANT */
    MODE_ALL_CONSTANT,  /* every input CONSTANT: the graph folds at load */
    MODE_ALL_FLOAT,     /* every float32 input at run time */
} input_mode;

static const char *mode_name(input_mode mode)
{
    switch (mode) {
    case MODE_FIRST_FLOAT: return "first float input at run time";
    case MODE_ALL_CONSTANT: return "all inputs constant";
    case MODE_ALL_FLOAT: return "all float inputs at run time";
    }
    return "?";
}

typedef struct attempt {
    int verdict;            /* V_PASSED, V_REFUSED or V_FAILED */
    int refused_status;
    char message[MSG_SIZE];
    int bwd_state;          /* 0 not applicable, 1 checked, 2 not available */
    int bwd_coords, bwd_bad, bwd_skipped;
    char bwd_message[MSG_SIZE];
} attempt;

typedef struct runtime_input {
    int tensor;             /* graph tensor index */
    float *values;          /* numel floats (perturbed by the finite differences) */
    size_t numel;
    const char *name;
} runtime_input;

typedef struct float_output {
    int tensor;
    size_t numel;
    float *seed;            /* random seed gradient */
    float *values[5];       /* at x, x + h e_i, x - h e_i, x + h/2 e_i, x - h/2 e_i */
} float_output;

typedef struct run_state {
    cam_graph *graph;
    cam_executor *exec;
    const float **feed;     /* one pointer per graph input */
    runtime_input *rt;
    int n_rt;
    float_output *fo;
    int n_fo;
} run_state;

static void refuse(attempt *a, const char *stage, cam_status s, const cam_error *err)
{
    a->verdict = V_REFUSED;
    a->refused_status = s;
    setf(a->message, sizeof a->message, "%s: [%s] %s", stage, cam_status_name(s),
             err->message);
}

static void fail(attempt *a, const char *format, ...) __attribute__((format(printf, 2, 3)));
static void fail(attempt *a, const char *format, ...)
{
    a->verdict = V_FAILED;
    va_list ap;
    va_start(ap, format);
    vsnprintf(a->message, sizeof a->message, format, ap);
    va_end(ap);
}

/* Compares one output; 0 when equal within the tolerances, else fills msg. */
static int compare_output(int j, const cam_tensor *t, const void *got, const tensor_data *want,
                          char *msg, size_t size)
{
    char gs[96], ws[96];
    dims_string(t->rank, t->dims, gs, sizeof gs);
    dims_string(want->rank, want->dims, ws, sizeof ws);
    if (t->dtype != want->dtype) {
        setf(msg, size, "output %d '%s' is %s, expected %s", j, t->name,
                 cam_dtype_name(t->dtype), cam_dtype_name(want->dtype));
        return 1;
    }
    int same_shape = t->rank == want->rank;
    for (int k = 0; same_shape && k < t->rank; k++)
        same_shape = t->dims[k] == want->dims[k];
    if (!same_shape || t->numel != want->numel) {
        setf(msg, size, "output %d '%s' has shape %s, expected %s", j, t->name, gs, ws);
        return 1;
    }
    if (want->numel == 0)
        return 0;
    if (!got) {
        setf(msg, size, "output %d '%s': the executor gives no values", j, t->name);
        return 1;
    }
    size_t bad = 0, first = 0, worst = 0;
    double worst_ratio = -1.0;
    for (size_t i = 0; i < want->numel; i++) {
        int ok;
        double g, w, ratio = 0.0;
        if (t->dtype == CAM_DTYPE_FLOAT) {
            g = ((const float *)got)[i];
            w = ((const float *)want->data)[i];
            if (isnan(w) || isnan(g))
                ok = isnan(w) && isnan(g);
            else if (isinf(w) || isinf(g))
                ok = g == w;
            else {
                double tol = ATOL + RTOL * fabs(w);
                ok = fabs(g - w) <= tol;
                ratio = fabs(g - w) / tol;
            }
            if (!ok && (isnan(g) || isnan(w) || isinf(g) || isinf(w)))
                ratio = INFINITY;
        } else if (t->dtype == CAM_DTYPE_INT64) {
            g = (double)((const int64_t *)got)[i];
            w = (double)((const int64_t *)want->data)[i];
            ok = ((const int64_t *)got)[i] == ((const int64_t *)want->data)[i];
            ratio = ok ? 0.0 : INFINITY;
        } else {
            g = ((const uint8_t *)got)[i] != 0;
            w = ((const uint8_t *)want->data)[i] != 0;
            ok = g == w;
            ratio = ok ? 0.0 : INFINITY;
        }
        if (!ok) {
            if (!bad)
                first = i;
            bad++;
            if (ratio > worst_ratio) {
                worst_ratio = ratio;
                worst = i;
            }
        }
    }
    if (!bad)
        return 0;
    char fv[2][64], wv[2][64];
    size_t at[2] = {first, worst};
    for (int k = 0; k < 2; k++) {
        size_t i = at[k];
        if (t->dtype == CAM_DTYPE_FLOAT) {
            setf(fv[k], sizeof fv[k], "%.9g", (double)((const float *)got)[i]);
            setf(wv[k], sizeof wv[k], "%.9g", (double)((const float *)want->data)[i]);
        } else if (t->dtype == CAM_DTYPE_INT64) {
            setf(fv[k], sizeof fv[k], "%lld", (long long)((const int64_t *)got)[i]);
            setf(wv[k], sizeof wv[k], "%lld", (long long)((const int64_t *)want->data)[i]);
        } else {
            setf(fv[k], sizeof fv[k], "%d", ((const uint8_t *)got)[i] != 0);
            setf(wv[k], sizeof wv[k], "%d", ((const uint8_t *)want->data)[i] != 0);
        }
    }
    setf(msg, size,
             "output %d '%s' (%s): %zu of %zu values wrong; first [%zu] got %s want %s; "
             "worst [%zu] got %s want %s",
             j, t->name, gs, bad, want->numel, first, fv[0], wv[0], worst, fv[1], wv[1]);
    return 1;
}

/* Forward at the current run-time input values; <seed, outputs> in double into *f
 * and the outputs copied into values[dest]. */
static cam_status evaluate(run_state *st, int dest, double *f, cam_error *err)
{
    cam_status s = cam_executor_forward(st->exec, st->feed, 1, err);
    if (s != CAM_OK)
        return s;
    double sum = 0.0;
    for (int k = 0; k < st->n_fo; k++) {
        float_output *o = &st->fo[k];
        const float *v = cam_executor_value(st->exec, o->tensor, 0);
        float *to = o->values[dest];
        if (o->numel)
            memcpy(to, v, o->numel * sizeof(float));
        for (size_t i = 0; i < o->numel; i++)
            sum += (double)o->seed[i] * (double)to[i];
    }
    *f = sum;
    return CAM_OK;
}

/* S = sum |seed_j| max |out_j| over the outputs that differ between the
 * evaluations a, b (and the base): the scale of f's float32 rounding. */
static double moved_scale(const run_state *st, int a, int b)
{
    double sum = 0.0;
    for (int k = 0; k < st->n_fo; k++) {
        const float_output *o = &st->fo[k];
        const float *v0 = o->values[0], *va = o->values[a], *vb = o->values[b];
        for (size_t j = 0; j < o->numel; j++)
            if (va[j] != vb[j] || va[j] != v0[j])
                sum += fabs((double)o->seed[j]) *
                       fmax(fabs((double)va[j]), fmax(fabs((double)vb[j]), fabs((double)v0[j])));
    }
    return sum;
}

/*
 * Finite-difference check of the gradient at run-time input r.
 *
 * f(x) = <seed, outputs(x)>, evaluated in double from the float32 outputs. For
 * a coordinate i, h = max(FD_STEP, 32 ulp(x_i)); C(h) = (f(x+h) - f(x-h)) / 2h
 * with the steps actually taken (x_i +- h rounded to float32, so the steps are
 * exact). The step is absolute, not relative to |x_i|: many ops vary on a scale
 * that does not grow with |x_i| (Softmax is shift invariant: at x = 10003 in
 * test_softmax_large_number a step of 1e-2 |x| crosses the whole softmax);
 * 32 ulp keeps it well above float32 resolution for large |x_i|.
 *
 * C(h/2) is compared with the backward's value a_i, within
 *   tol = FD_TOL * max(|a_i|, G / 20)          2% of the gradient's size
 *       + |C(h) - C(h/2)|                      truncation
 *       + 16 eps32 S / h                       float32 rounding
 * where G = max |a| over the whole input.
 *  - 2%: a wrong backward (a missing factor or term, a transposed index, a
 *    gradient sent to the wrong input, a broadcast not summed) is off by far
 *    more than 2% of the gradient somewhere among 64 random coordinates. The
 *    floor G / 20 (instead of an absolute 1) keeps the test meaningful when
 *    every gradient is small (a softmax over many classes), and gives a tiny
 *    a_i beside large ones an allowance of 2% of G / 20.
 *  - Truncation: C(h/2) is off by about h^2 f'''/24 and C(h) by four times
 *    that, so |C(h) - C(h/2)| (3/4 of C(h)'s error) bounds C(h/2)'s error
 *    about three times over, measured rather than guessed.
 *  - Rounding: every output is float32, so each f carries an error of about
 *    eps32 * S, S = sum |seed_j| |out_j| over the outputs that x_i moves (the
 *    others are bit-identical in every evaluation and cancel); a difference
 *    over a step h/2 turns that into 2 eps32 S / h; 16 eps32 S / h leaves room
 *    for ops that round several times inside (reductions, normalisations).
 * Non-differentiable points (x_i within h of a ReLU kink, a Clip bound, a max
 * tie, a Floor step) show as one-sided differences (f(x+h) - f(x)) / h and
 * (f(x) - f(x-h)) / h that disagree by more than the tolerance, or (a jump
 * right at x, as Sign's at 0, whose two sides can agree) as a one-sided
 * difference that changes when the step is halved; then the step
 * is divided by 10 once (strong curvature passes at the smaller step, a kink
 * within h/10 does not) and the coordinate is skipped if they still disagree.
 * Non-finite values skip the coordinate too.
 */
static void fd_check(run_state *st, int r, const float *analytic, uint64_t *rng, attempt *a)
{
    runtime_input *in = &st->rt[r];
    size_t n = in->numel;
    size_t count = n < fd_max_coords ? n : fd_max_coords;
    double grad_size = 0.0;
    for (size_t i = 0; i < n; i++)
        if (isfinite(analytic[i]))
            grad_size = fmax(grad_size, fabs((double)analytic[i]));
    size_t *idx = xmalloc(sizeof *idx * (n ? n : 1));
    for (size_t i = 0; i < n; i++)
        idx[i] = i;
    for (size_t i = 0; i < count; i++) { /* partial Fisher-Yates: a random subset */
        size_t j = i + (size_t)(rng_uniform(rng) * (double)(n - i));
        if (j >= n)
            j = n - 1;
        size_t tmp = idx[i];
        idx[i] = idx[j];
        idx[j] = tmp;
    }
    cam_error err = {0};
    double f0;
    cam_status s = evaluate(st, 0, &f0, &err);
    if (s != CAM_OK) {
        a->bwd_bad++;
        setf(a->bwd_message, sizeof a->bwd_message, "forward failed again: %s", err.message);
        free(idx);
        return;
    }
    double worst = -1.0;
    for (size_t c = 0; c < count; c++) {
        size_t i = idx[c];
        float x0 = in->values[i];
        double ga = analytic[i];
        int decided = 0;
        for (int attempt_step = 0; attempt_step < 2 && !decided; attempt_step++) {
            double h = fmax(FD_STEP * (attempt_step ? 0.1 : 1.0),
                            32.0 * FLT_EPSILON * fabs((double)x0));
            /* x + h, x - h, x + h/2, x - h/2 into values[1..4] */
            float xs[5] = {x0, (float)((double)x0 + h), (float)((double)x0 - h),
                           (float)((double)x0 + h / 2), (float)((double)x0 - h / 2)};
            double f[5] = {f0};
            for (int k = 1; k < 5 && s == CAM_OK; k++) {
                in->values[i] = xs[k];
                s = evaluate(st, k, &f[k], &err);
            }
            in->values[i] = x0;
            if (s != CAM_OK) {
                a->bwd_bad++;
                setf(a->bwd_message, sizeof a->bwd_message,
                     "input '%s': forward failed at a perturbed point: %s", in->name,
                     err.message);
                free(idx);
                return;
            }
            int finite = 1;
            for (int k = 0; k < 5; k++)
                finite &= isfinite(f[k]) != 0;
            if (!finite)
                break; /* skipped */
            double hp = (double)xs[1] - x0, hm = x0 - (double)xs[2];
            double hp2 = (double)xs[3] - x0, hm2 = x0 - (double)xs[4];
            if (!(hp2 > 0.0) || !(hm2 > 0.0))
                break;
            double c1 = (f[1] - f[2]) / (hp + hm), c2 = (f[3] - f[4]) / (hp2 + hm2);
            double dplus = (f[1] - f0) / hp, dminus = (f0 - f[2]) / hm;
            double noise = 16.0 * FLT_EPSILON * moved_scale(st, 1, 2) / fmin(hp, hm);
            double tol = FD_TOL * fmax(fabs(ga), grad_size / 20.0) + noise;
            /* a jump (Sign, Floor at a step) can have equal one-sided slopes at h;
             * at h/2 they double: compare the half steps' too */
            double dplus2 = (f[3] - f0) / hp2, dminus2 = (f0 - f[4]) / hm2;
            double tol2 = tol + 16.0 * FLT_EPSILON * moved_scale(st, 1, 2) / fmin(hp2, hm2);
            if (!(fabs(dplus - dminus) <= tol) || !(fabs(dplus - dplus2) <= tol2) ||
                !(fabs(dminus - dminus2) <= tol2))
                continue; /* a kink or strong curvature within h: smaller step, or skip */
            tol += fabs(c1 - c2);
            decided = 1;
            a->bwd_coords++;
            double off = fabs(c2 - ga);
            if (!(off <= tol)) {
                a->bwd_bad++;
                double ratio = isfinite(off) ? off / tol : INFINITY;
                if (ratio > worst) {
                    worst = ratio;
                    setf(a->bwd_message, sizeof a->bwd_message,
                         "d/d '%s'[%zu] (x = %.6g): backward %.7g, finite difference %.7g "
                         "(tolerance %.2g)",
                         in->name, i, (double)x0, ga, c2, tol);
                }
            }
        }
        if (!decided)
            a->bwd_skipped++;
    }
    free(idx);
}

/* Backward at every run-time input, checked by finite differences. */
static void check_backward(run_state *st, const char *test_name, input_mode mode, attempt *a)
{
    if (st->n_rt == 0 || st->n_fo == 0)
        return;
    uint64_t rng = hash_string(test_name) ^ ((uint64_t)mode << 56);
    for (int k = 0; k < st->n_fo; k++) {
        float_output *o = &st->fo[k];
        for (size_t i = 0; i < o->numel; i++)
            o->seed[i] = (float)(2.0 * rng_uniform(&rng) - 1.0);
    }
    /* Gradients first (backward works on the last forward), then the differences. */
    float **grads = xmalloc(sizeof *grads * (size_t)st->n_rt);
    int *ok = xmalloc(sizeof *ok * (size_t)st->n_rt);
    int *seed_t = xmalloc(sizeof *seed_t * (size_t)st->n_fo);
    const float **seeds = xmalloc(sizeof *seeds * (size_t)st->n_fo);
    int any = 0, eligible = 0;
    for (int r = 0; r < st->n_rt; r++) {
        grads[r] = xmalloc(sizeof(float) * (st->rt[r].numel ? st->rt[r].numel : 1));
        ok[r] = 0;
        int n_seeds = 0, is_output = 0;
        for (int k = 0; k < st->n_fo; k++) {
            if (st->fo[k].tensor == st->rt[r].tensor)
                is_output = 1;
            if (cam_graph_reaches(st->graph, st->rt[r].tensor, st->fo[k].tensor)) {
                seed_t[n_seeds] = st->fo[k].tensor;
                seeds[n_seeds] = st->fo[k].seed;
                n_seeds++;
            }
        }
        if (is_output || st->rt[r].numel == 0)
            continue; /* nothing to differentiate */
        eligible++;
        if (n_seeds == 0) {
            if (!a->bwd_message[0])
                setf(a->bwd_message, sizeof a->bwd_message,
                         "no differentiable path from input '%s' to a float output (%s)",
                         st->rt[r].name, mode_name(mode));
            continue;
        }
        cam_error err = {0};
        cam_status s = cam_executor_backward(st->exec, 0, n_seeds, seed_t, seeds,
                                             st->rt[r].tensor, grads[r], &err);
        if (s != CAM_OK) {
            if (!a->bwd_message[0])
                setf(a->bwd_message, sizeof a->bwd_message, "backward to '%s': [%s] %s",
                         st->rt[r].name, cam_status_name(s), err.message);
            continue;
        }
        ok[r] = 1;
        any = 1;
    }
    if (any) {
        char saved[MSG_SIZE];
        setf(saved, sizeof saved, "%s", a->bwd_message);
        a->bwd_message[0] = '\0';
        for (int r = 0; r < st->n_rt; r++)
            if (ok[r])
                fd_check(st, r, grads[r], &rng, a);
        if (!a->bwd_message[0])
            setf(a->bwd_message, sizeof a->bwd_message, "%s", saved);
        a->bwd_state = a->bwd_coords > 0 || a->bwd_bad > 0 ? 1 : 2;
        if (a->bwd_state == 2 && !a->bwd_message[0])
            setf(a->bwd_message, sizeof a->bwd_message,
                     "every coordinate sat at a non-differentiable point");
    } else if (eligible) {
        a->bwd_state = 2;
        if (!a->bwd_message[0])
            setf(a->bwd_message, sizeof a->bwd_message, "no gradient computed");
    }
    for (int r = 0; r < st->n_rt; r++)
        free(grads[r]);
    free(grads);
    free(ok);
    free(seed_t);
    free(seeds);
}

static void run_attempt(const test_case *tc, const test_data *td, const uint8_t *model,
                        size_t model_size, input_mode mode, attempt *a)
{
    memset(a, 0, sizeof *a);
    run_state st = {0};
    cam_metadata_entry *meta = NULL;
    int n_meta = 0;
    cam_error err = {0};
    cam_status s = cam_onnx_read(model, model_size, tc->name, &st.graph, &meta, &n_meta, &err);
    if (s != CAM_OK) {
        refuse(a, "load", s, &err);
        goto done;
    }
    cam_graph *g = st.graph;
    int first_float = -1;
    for (int i = 0; i < td->n_in && first_float < 0; i++)
        if (is_float_input(tc, td, i))
            first_float = i;

    /* Graph inputs: shapes from the data; CONSTANT or run time. */
    st.rt = xmalloc(sizeof *st.rt * (size_t)(td->n_in ? td->n_in : 1));
    int *rt_pb = xmalloc(sizeof *rt_pb * (size_t)(td->n_in ? td->n_in : 1));
    for (int i = 0; i < td->n_in && i < tc->model.n_inputs; i++) {
        const tensor_data *d = &td->in[i];
        int t = cam_graph_find_tensor(g, tc->model.inputs[i].name);
        if (t < 0)
            continue;
        cam_tensor *ten = &g->tensors[t];
        int runtime = is_float_input(tc, td, i) &&
                      (mode == MODE_ALL_FLOAT || (mode == MODE_FIRST_FLOAT && i == first_float));
        cam_tensor_set_shape(ten, d->dtype, d->rank, d->dims);
        if (runtime) {
            runtime_input *r = &st.rt[st.n_rt];
            r->tensor = t;
            r->numel = d->numel;
            r->values = xmalloc(sizeof(float) * (d->numel ? d->numel : 1));
            if (d->numel)
                memcpy(r->values, d->data, sizeof(float) * d->numel);
            r->name = ten->name;
            rt_pb[st.n_rt] = i;
            st.n_rt++;
        } else {
            size_t bytes = d->numel * cam_dtype_size(d->dtype);
            void *copy = xmalloc(bytes);
            if (bytes)
                memcpy(copy, d->data, bytes);
            cam_tensor_set_constant(ten, copy);
        }
    }
    free(rt_pb);

    s = cam_graph_type(g, &err);
    if (s != CAM_OK) {
        refuse(a, "type", s, &err);
        goto done;
    }
    s = cam_graph_optimize(g, &err);
    if (s != CAM_OK) {
        refuse(a, "optimize", s, &err);
        goto done;
    }
    /* Run-time inputs keep the shape of their data. */
    for (int r = 0; r < st.n_rt; r++) {
        const cam_tensor *t = &g->tensors[st.rt[r].tensor];
        st.rt[r].name = t->name;
        if (t->kind == CAM_TENSOR_INPUT && t->numel != st.rt[r].numel) {
            fail(a, "graph input '%s' has %zu values after typing; its data has %zu", t->name,
                 t->numel, st.rt[r].numel);
            goto done;
        }
    }
    st.feed = xmalloc(sizeof *st.feed * (size_t)(g->n_inputs ? g->n_inputs : 1));
    for (int k = 0; k < g->n_inputs; k++) {
        int t = g->inputs[k];
        st.feed[k] = NULL;
        if (g->tensors[t].kind != CAM_TENSOR_INPUT)
            continue;
        for (int r = 0; r < st.n_rt; r++)
            if (st.rt[r].tensor == t)
                st.feed[k] = st.rt[r].values;
        if (!st.feed[k]) {
            cam_error e = {0};
            setf(e.message, sizeof e.message, "graph input '%s' has no test data",
                     g->tensors[t].name);
            refuse(a, "runner", CAM_ERROR_INVALID_ARGUMENT, &e);
            goto done;
        }
    }
    st.exec = cam_executor_new(g, 1, &err);
    if (!st.exec) {
        fail(a, "cam_executor_new failed on a typed graph: %s", err.message);
        goto done;
    }
    s = cam_executor_forward(st.exec, st.feed, 1, &err);
    if (s != CAM_OK) {
        fail(a, "forward failed after the graph was accepted: [%s] %s", cam_status_name(s),
             err.message);
        goto done;
    }

    /* Outputs. */
    int n_out = td->n_out < tc->model.n_outputs ? td->n_out : tc->model.n_outputs;
    st.fo = xmalloc(sizeof *st.fo * (size_t)(n_out ? n_out : 1));
    for (int j = 0; j < n_out; j++) {
        int t = g->n_outputs == tc->model.n_outputs ? g->outputs[j]
                                                    : cam_graph_find_tensor(g, tc->model.outputs[j].name);
        if (t < 0) {
            fail(a, "output %d '%s' is missing from the typed graph", j,
                 tc->model.outputs[j].name);
            goto done;
        }
        const cam_tensor *ten = &g->tensors[t];
        const void *got = cam_executor_value(st.exec, t, 0);
        char msg[MSG_SIZE];
        if (compare_output(j, ten, got, &td->out[j], msg, sizeof msg)) {
            fail(a, "%s", msg);
            goto done;
        }
        if (ten->dtype == CAM_DTYPE_FLOAT && ten->kind != CAM_TENSOR_CONSTANT && ten->numel) {
            float_output *o = &st.fo[st.n_fo++];
            memset(o, 0, sizeof *o);
            o->tensor = t;
            o->numel = ten->numel;
            o->seed = xmalloc(sizeof(float) * o->numel);
            for (int v = 0; v < 5; v++)
                o->values[v] = xmalloc(sizeof(float) * o->numel);
        }
    }
    a->verdict = V_PASSED;
    if (mode != MODE_ALL_CONSTANT && st.n_rt > 0 && st.n_fo > 0) {
        check_backward(&st, tc->name, mode, a);
    }

done:
    if (st.exec)
        cam_executor_free(st.exec);
    for (int r = 0; r < st.n_rt; r++)
        free(st.rt[r].values);
    free(st.rt);
    for (int k = 0; k < st.n_fo; k++) {
        free(st.fo[k].seed);
        for (int v = 0; v < 5; v++)
            free(st.fo[k].values[v]);
    }
    free(st.fo);
    free((void *)st.feed);
    if (st.graph)
        cam_graph_free(st.graph);
    cam_metadata_free(meta, n_meta);
}

static void merge_backward(test_result *r, const attempt *a, const char *label)
{
    if (a->bwd_state == 0)
        return;
    r->bwd_coords += a->bwd_coords;
    r->bwd_bad += a->bwd_bad;
    r->bwd_skipped += a->bwd_skipped;
    if (a->bwd_state == 1)
        r->bwd_checked = 1;
    if (a->bwd_bad) {
        if (!r->bwd_failed)
            setf(r->bwd_message, sizeof r->bwd_message, "%s (%s; %d of %d coordinates off)",
                     a->bwd_message, label, a->bwd_bad, a->bwd_coords);
        r->bwd_failed = 1;
    } else if (a->bwd_state == 2 && !r->bwd_failed && !r->bwd_message[0]) {
        setf(r->bwd_message, sizeof r->bwd_message, "%s (%s)", a->bwd_message, label);
    }
}

/* The whole test (in the child process). */
static void run_test(const test_case *tc, test_result *r)
{
    memset(r, 0, sizeof *r);
    char path[4096];
    setf(path, sizeof path, "%s/model.onnx", tc->dir);
    size_t model_size = 0;
    uint8_t *model = read_file(path, &model_size);
    if (!model) {
        r->verdict = V_FAILED;
        setf(r->message, sizeof r->message, "runner: cannot read %s: %s", path,
                 strerror(errno));
        r->complete = 1;
        return;
    }
    test_data td = {0};
    cam_error err = {0};
    cam_status s = read_pb_series(tc->dir, "input", &td.in, &td.n_in, &err);
    if (s == CAM_OK)
        s = read_pb_series(tc->dir, "output", &td.out, &td.n_out, &err);
    if (s != CAM_OK) {
        r->verdict = V_REFUSED;
        r->refused_status = s;
        setf(r->message, sizeof r->message, "test data: [%s] %s", cam_status_name(s),
                 err.message);
        goto done;
    }
    if (td.n_out == 0) {
        r->verdict = V_REFUSED;
        r->refused_status = CAM_ERROR_INVALID_ARGUMENT;
        setf(r->message, sizeof r->message, "runner: the test has no output_0.pb");
        goto done;
    }
    int n_float = 0;
    for (int i = 0; i < td.n_in; i++)
        n_float += is_float_input(tc, &td, i);

    attempt first, other;
    run_attempt(tc, &td, model, model_size, n_float ? MODE_FIRST_FLOAT : MODE_ALL_CONSTANT, &first);
    if (first.verdict == V_REFUSED && n_float) {
        run_attempt(tc, &td, model, model_size, MODE_ALL_CONSTANT, &other);
        if (other.verdict == V_PASSED) {
            r->verdict = V_PASSED;
            r->folded = 1;
            setf(r->message, sizeof r->message, "folded at load; at run time %s",
                     first.message);
        } else if (other.verdict == V_FAILED) {
            r->verdict = V_FAILED;
            setf(r->message, sizeof r->message, "(%s) %s", mode_name(MODE_ALL_CONSTANT),
                     other.message);
        } else {
            r->verdict = V_REFUSED;
            r->refused_status = first.refused_status;
            setf(r->message, sizeof r->message, "%s", first.message);
            if (strcmp(strchr(first.message, ':') ? strchr(first.message, ':') : "",
                       strchr(other.message, ':') ? strchr(other.message, ':') : "") != 0)
                append(r->message, sizeof r->message, " | %s: %s", mode_name(MODE_ALL_CONSTANT),
                       other.message);
        }
        goto done;
    }
    r->verdict = first.verdict;
    r->refused_status = first.refused_status;
    if (first.verdict != V_PASSED)
        setf(r->message, sizeof r->message, "%s", first.message);
    merge_backward(r, &first, n_float ? mode_name(MODE_FIRST_FLOAT) : mode_name(MODE_ALL_CONSTANT));
    if (first.verdict != V_REFUSED && n_float >= 2) {
        run_attempt(tc, &td, model, model_size, MODE_ALL_FLOAT, &other);
        if (other.verdict == V_FAILED) {
            if (r->verdict != V_FAILED)
                setf(r->message, sizeof r->message, "(%s) %s", mode_name(MODE_ALL_FLOAT),
                         other.message);
            r->verdict = V_FAILED;
        }
        merge_backward(r, &other, mode_name(MODE_ALL_FLOAT));
    }
    if (r->bwd_checked || r->bwd_failed)
        r->bwd_na = 0;
    else if (r->bwd_message[0])
        r->bwd_na = 1;

done:
    test_data_free(&td);
    free(model);
    r->complete = 1;
}

/* ------------------------------------------------------------------------ */
/* Running the children                                                     */
/* ------------------------------------------------------------------------ */

static void run_in_child(const test_case *tc, test_result *r, int timeout_s)
{
    int fds[2];
    fflush(stdout);
    fflush(stderr);
    if (pipe(fds) != 0) {
        run_test(tc, r);
        return;
    }
    pid_t pid = fork();
    if (pid < 0) {
        close(fds[0]);
        close(fds[1]);
        run_test(tc, r);
        return;
    }
    if (pid == 0) {
        close(fds[0]);
        signal(SIGALRM, SIG_DFL);
        alarm((unsigned)timeout_s);
        test_result *mine = xmalloc(sizeof *mine);
        run_test(tc, mine);
        const char *p = (const char *)mine;
        size_t left = sizeof *mine;
        while (left) {
            ssize_t w = write(fds[1], p, left);
            if (w < 0 && errno == EINTR)
                continue;
            if (w <= 0)
                break;
            p += w;
            left -= (size_t)w;
        }
        close(fds[1]);
        free(mine);
        exit(0); /* exit, not _exit: a leak checker reports this test's leaks */
    }
    close(fds[1]);
    memset(r, 0, sizeof *r);
    char *p = (char *)r;
    size_t got = 0;
    while (got < sizeof *r) {
        ssize_t n = read(fds[0], p + got, sizeof *r - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        got += (size_t)n;
    }
    close(fds[0]);
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    if (got < sizeof *r || !r->complete) {
        memset(r, 0, sizeof *r);
        r->verdict = V_FAILED;
        if (WIFSIGNALED(status) && WTERMSIG(status) == SIGALRM)
            setf(r->message, sizeof r->message, "timed out after %d s", timeout_s);
        else if (WIFSIGNALED(status))
            setf(r->message, sizeof r->message, "crashed: %s", strsignal(WTERMSIG(status)));
        else
            setf(r->message, sizeof r->message,
                     "the test process exited with status %d before reporting (see stderr)",
                     WIFEXITED(status) ? WEXITSTATUS(status) : -1);
    } else if (!(WIFEXITED(status) && WEXITSTATUS(status) == 0)) {
        char note[160];
        if (WIFSIGNALED(status))
            setf(note, sizeof note, "the test process then died: %s",
                     strsignal(WTERMSIG(status)));
        else
            setf(note, sizeof note,
                     "the test process then exited with status %d (a sanitizer or leak "
                     "report on stderr?)",
                     WEXITSTATUS(status));
        if (r->verdict != V_FAILED) {
            r->verdict = V_FAILED;
            setf(r->message, sizeof r->message, "%s", note);
        } else {
            append(r->message, sizeof r->message, "; %s", note);
        }
    }
}

/* ------------------------------------------------------------------------ */
/* Discovery                                                                */
/* ------------------------------------------------------------------------ */

static int cmp_names(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static int cmp_cases(const void *a, const void *b)
{
    return strcmp(((const test_case *)a)->name, ((const test_case *)b)->name);
}

/* The op a single-node model tests (Constant nodes aside), or NULL. */
static const char *single_op(const model_info *m)
{
    const char *op = NULL;
    int count = 0;
    for (int i = 0; i < m->n_nodes; i++)
        if (strcmp(m->ops[i], "Constant") != 0 || m->domains[i][0]) {
            op = m->ops[i];
            count++;
        }
    if (count == 0 && m->n_nodes > 0)
        return "Constant";
    return count == 1 ? op : NULL;
}

static int is_default_domain(const char *domain)
{
    return !domain[0] || strcmp(domain, "ai.onnx") == 0;
}

static int engine_knows(const char *op) /* some version of op is implemented */
{
    for (const cam_op_def *const *d = cam_op_all(); *d; d++)
        if (strcmp((*d)->name, op) == 0)
            return 1;
    return 0;
}

static void classify(test_case *tc)
{
    const model_info *m = &tc->model;
    tc->runnable = 1;
    for (int i = 0; i < m->n_nodes && tc->runnable; i++) {
        if (!is_default_domain(m->domains[i])) {
            tc->runnable = 0;
            setf(tc->why_not, sizeof tc->why_not, "%s (domain %s)", m->ops[i],
                     m->domains[i]);
            break;
        }
        if (strcmp(m->ops[i], "Constant") == 0)
            continue; /* the reader turns Constant nodes into constants */
        int other = 0;
        if (cam_op_find(m->ops[i], m->opset, &other))
            continue;
        tc->runnable = 0;
        if (other)
            setf(tc->why_not, sizeof tc->why_not, "%s not served at opset %lld", m->ops[i],
                     m->opset);
        else
            setf(tc->why_not, sizeof tc->why_not, "%s not implemented", m->ops[i]);
    }
    for (int i = 0; i < m->n_inputs + m->n_outputs && tc->runnable; i++) {
        const io_info *io = i < m->n_inputs ? &m->inputs[i] : &m->outputs[i - m->n_inputs];
        if (io->elem_type == 0) {
            tc->runnable = 0;
            setf(tc->why_not, sizeof tc->why_not,
                 "%s '%s' is a sequence, map or optional, not a tensor",
                 i < m->n_inputs ? "input" : "output", io->name);
        }
    }
    if (m->opset < 0 && tc->runnable) {
        tc->runnable = 0;
        setf(tc->why_not, sizeof tc->why_not, "the model imports no default-domain opset");
    }
    /* float32: some float32 tensor, every input and output float32, int64 or bool. */
    int some_float = 0, other_type = 0;
    for (int i = 0; i < m->n_inputs + m->n_outputs; i++) {
        int e = i < m->n_inputs ? m->inputs[i].elem_type : m->outputs[i - m->n_inputs].elem_type;
        some_float |= e == ONNX_FLOAT;
        other_type |= e != ONNX_FLOAT && e != ONNX_INT64 && e != ONNX_BOOL;
    }
    tc->float32 = some_float && !other_type;
}

static int discover(const char *data_dir, test_case **out, int *n_out)
{
    DIR *d = opendir(data_dir);
    if (!d)
        return -1;
    char **names = NULL;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (strncmp(e->d_name, "test_", 5) != 0)
            continue;
        names = xrealloc(names, sizeof *names * (size_t)(n + 1));
        names[n++] = xstrdup(e->d_name);
    }
    closedir(d);
    qsort(names, (size_t)n, sizeof *names, cmp_names);
    test_case *tests = xmalloc(sizeof *tests * (size_t)(n ? n : 1));
    memset(tests, 0, sizeof *tests * (size_t)(n ? n : 1));
    for (int i = 0; i < n; i++) {
        test_case *tc = &tests[i];
        tc->name = names[i];
        size_t len = strlen(data_dir) + strlen(names[i]) + 2;
        tc->dir = xmalloc(len);
        setf(tc->dir, len, "%s/%s", data_dir, names[i]);
        char path[4096];
        setf(path, sizeof path, "%s/model.onnx", tc->dir);
        size_t size = 0;
        uint8_t *bytes = read_file(path, &size);
        if (bytes && scan_model(bytes, size, &tc->model) == 0) {
            tc->scanned = 1;
            classify(tc);
        } else {
            if (bytes)
                model_info_free(&tc->model);
            tc->runnable = 0;
            setf(tc->why_not, sizeof tc->why_not, "model.onnx unreadable");
        }
        free(bytes);
    }
    free(names);
    /* The row: an _expanded test goes with the test it expands, any other with
     * the op of its single node. */
    for (int i = 0; i < n; i++) {
        const char *x = strstr(tests[i].name, "_expanded");
        const char *op = NULL;
        if (x) {
            test_case key = {0};
            key.name = xstrndup(tests[i].name, (size_t)(x - tests[i].name));
            const test_case *base = bsearch(&key, tests, (size_t)n, sizeof *tests, cmp_cases);
            free(key.name);
            if (base && base->scanned)
                op = single_op(&base->model);
        }
        if (!op && tests[i].scanned)
            op = single_op(&tests[i].model);
        tests[i].op = xstrdup(op ? op : "(graph)");
    }
    *out = tests;
    *n_out = n;
    return 0;
}

/* ------------------------------------------------------------------------ */
/* Reporting                                                                */
/* ------------------------------------------------------------------------ */

typedef struct op_row {
    const char *op;
    int implemented;
    int tests, run, passed, folded, refused, failed, bwd_checked, bwd_failed, bwd_na;
} op_row;

typedef struct totals {
    int tests, not_run, run, passed, folded, refused, refused_unsupported, failed;
    int bwd_checked, bwd_failed, bwd_na, bwd_coords, bwd_skipped;
    int f32_run, f32_passed;
} totals;

static const char *verdict_word(int v)
{
    switch (v) {
    case V_PASSED: return "PASS";
    case V_REFUSED: return "REFUSED";
    case V_FAILED: return "FAIL";
    default: return "n/i";
    }
}

static int cmp_rows(const void *a, const void *b)
{
    return strcmp(((const op_row *)a)->op, ((const op_row *)b)->op);
}

static op_row *build_rows(const test_case *tests, int n, int *n_rows, totals *tot)
{
    op_row *rows = xmalloc(sizeof *rows * (size_t)(n ? n : 1));
    int nr = 0;
    memset(tot, 0, sizeof *tot);
    for (int i = 0; i < n; i++) {
        const test_case *tc = &tests[i];
        if (!tc->selected)
            continue;
        op_row *row = NULL;
        for (int k = 0; k < nr && !row; k++)
            if (strcmp(rows[k].op, tc->op) == 0)
                row = &rows[k];
        if (!row) {
            row = &rows[nr++];
            memset(row, 0, sizeof *row);
            row->op = tc->op;
            row->implemented = engine_knows(tc->op);
        }
        row->tests++;
        tot->tests++;
        if (!tc->runnable) {
            tot->not_run++;
            continue;
        }
        const test_result *r = &tc->r;
        row->run++;
        tot->run++;
        if (tc->float32)
            tot->f32_run++;
        switch (r->verdict) {
        case V_PASSED:
            row->passed++;
            tot->passed++;
            row->folded += r->folded;
            tot->folded += r->folded;
            if (tc->float32)
                tot->f32_passed++;
            break;
        case V_REFUSED:
            row->refused++;
            tot->refused++;
            tot->refused_unsupported += r->refused_status == CAM_ERROR_UNSUPPORTED;
            break;
        default:
            row->failed++;
            tot->failed++;
            break;
        }
        row->bwd_checked += r->bwd_checked;
        row->bwd_failed += r->bwd_failed;
        row->bwd_na += r->bwd_na;
        tot->bwd_checked += r->bwd_checked;
        tot->bwd_failed += r->bwd_failed;
        tot->bwd_na += r->bwd_na;
        tot->bwd_coords += r->bwd_coords;
        tot->bwd_skipped += r->bwd_skipped;
    }
    qsort(rows, (size_t)nr, sizeof *rows, cmp_rows);
    *n_rows = nr;
    return rows;
}

static int row_shown(const op_row *row)
{
    return row->implemented || row->run > 0;
}

static void print_table(FILE *f, const op_row *rows, int nr)
{
    fprintf(f, "%-28s %5s %5s %6s %6s %7s %6s %8s %7s %6s\n", "op", "tests", "run", "passed",
            "folded", "refused", "failed", "bwd-chk", "bwd-bad", "bwd-na");
    for (int k = 0; k < nr; k++) {
        const op_row *r = &rows[k];
        if (!row_shown(r))
            continue;
        fprintf(f, "%-28s %5d %5d %6d %6d %7d %6d %8d %7d %6d%s\n", r->op, r->tests, r->run,
                r->passed, r->folded, r->refused, r->failed, r->bwd_checked, r->bwd_failed,
                r->bwd_na, r->failed || r->bwd_failed ? "  <-- WRONG" : "");
    }
}

static double f32_share(const totals *t)
{
    return t->f32_run ? (double)t->f32_passed / (double)t->f32_run : 1.0;
}

static void print_summary(FILE *f, const totals *t, const char *bullet)
{
    fprintf(f, "%snode tests: %d; not run (an op not implemented, or not at the test's opset): %d\n",
            bullet, t->tests, t->not_run);
    fprintf(f, "%srun: %d = passed %d (of which folded at load only: %d) + refused %d "
               "(UNSUPPORTED: %d) + failed %d\n",
            bullet, t->run, t->passed, t->folded, t->refused, t->refused_unsupported, t->failed);
    fprintf(f, "%sbackward: checked on %d tests (%d coordinates compared, %d skipped at "
               "non-differentiable points), wrong on %d; not checkable on %d\n",
            bullet, t->bwd_checked, t->bwd_coords, t->bwd_skipped, t->bwd_failed, t->bwd_na);
    fprintf(f, "%sfloat32 tests of implemented ops: %d of %d passed (%.1f%%, goal %.0f%%)\n",
            bullet, t->f32_passed, t->f32_run, 100.0 * f32_share(t), 100.0 * PASS_GOAL);
    fprintf(f, "%swrong answers: %d forward, %d backward\n", bullet, t->failed, t->bwd_failed);
}

/* Ops not implemented, with their test counts (wrapped on the console). */
static void print_not_implemented(FILE *f, const op_row *rows, int nr, int markdown)
{
    int col = 0, any = 0;
    for (int k = 0; k < nr; k++) {
        if (row_shown(&rows[k]))
            continue;
        if (!any && !markdown)
            col = fprintf(f, "not implemented:");
        char item[160];
        int w = snprintf(item, sizeof item, "%s (%d)", rows[k].op, rows[k].tests);
        if (any)
            fputc(',', f);
        if (!markdown && col + 1 + w > 96) {
            fprintf(f, "\n ");
            col = 1;
        } else if (any || !markdown) {
            fputc(' ', f);
        }
        col += fprintf(f, "%s", item) + 2;
        any = 1;
    }
    if (any)
        fprintf(f, "\n");
}

/* Lines "  test: message" for each test where pick(tc) gives a message. */
static int print_list(FILE *f, const test_case *tests, int n, const char *title,
                      const char *(*pick)(const test_case *tc), int markdown)
{
    int count = 0;
    for (int i = 0; i < n; i++)
        if (tests[i].selected && tests[i].runnable && pick(&tests[i]))
            count++;
    if (!count)
        return 0;
    fprintf(f, markdown ? "\n## %s (%d)\n\n" : "\n%s (%d):\n", title, count);
    for (int i = 0; i < n; i++) {
        if (!tests[i].selected || !tests[i].runnable)
            continue;
        const char *m = pick(&tests[i]);
        if (!m)
            continue;
        if (markdown)
            fprintf(f, "- `%s` (%s): %s\n", tests[i].name, tests[i].op, m);
        else
            fprintf(f, "  %s [%s]: %s\n", tests[i].name, tests[i].op, m);
    }
    return count;
}

/* Tests of an implemented op that were not run (another op of the graph, or the opset). */
static int print_not_run(FILE *f, const test_case *tests, int n, int markdown)
{
    int count = 0;
    for (int i = 0; i < n; i++)
        if (tests[i].selected && !tests[i].runnable && engine_knows(tests[i].op))
            count++;
    if (!count)
        return 0;
    fprintf(f, markdown ? "\n## Not run although the op is implemented (%d)\n\n"
                        : "\nNot run although the op is implemented (%d):\n",
            count);
    for (int i = 0; i < n; i++)
        if (tests[i].selected && !tests[i].runnable && engine_knows(tests[i].op))
            fprintf(f, markdown ? "- `%s` (%s): %s\n" : "  %s [%s]: %s\n", tests[i].name,
                    tests[i].op, tests[i].why_not);
    return count;
}

static const char *pick_failed(const test_case *tc)
{
    return tc->r.verdict == V_FAILED ? tc->r.message : NULL;
}
static const char *pick_bwd_failed(const test_case *tc)
{
    return tc->r.bwd_failed ? tc->r.bwd_message : NULL;
}
static const char *pick_refused(const test_case *tc)
{
    return tc->r.verdict == V_REFUSED ? tc->r.message : NULL;
}
static const char *pick_bwd_na(const test_case *tc)
{
    return tc->r.bwd_na ? tc->r.bwd_message : NULL;
}

static int write_markdown(const char *path, const test_case *tests, int n, const op_row *rows,
                          int nr, const totals *t)
{
    FILE *f = fopen(path, "w");
    if (!f)
        return -1;
    fprintf(f,
            "# Conformance with ONNX's backend node tests\n\n"
            "Generated by `<build dir>/tests/conformance/test-conformance --markdown docs/CONFORMANCE.md` "
            "(in `build-aux/gimp3-env.sh`); "
            "do not edit by hand.\n\n"
            "The tests are ONNX's own backend node tests as Debian 13 packages them "
            "(`libonnx-testdata`, `/usr/share/libonnx-testdata/data/node/`): per test a "
            "`model.onnx` with its inputs and expected outputs as `.pb` tensors. A test runs "
            "when the engine serves every op of its model at the model's opset (the others "
            "are counted as not run). It is filed under the op of its single node; an "
            "`_expanded` test (the op's function body written out as several nodes) under the "
            "op it expands.\n\n"
            "Method: the model is read with `cam_onnx_read`; graph input shapes come from the "
            "test data; inputs that are not float32, and in a first attempt every input but the "
            "first float32 one, are made constants with the test data (weights are constants in "
            "the engine); then `cam_graph_type`, `cam_graph_optimize` and one forward pass of "
            "the executor. When that is refused, every input is made constant and the whole "
            "graph folds at load (column *folded*: passed only that way). When it runs and the "
            "test has several float32 inputs, they are also all fed at run time. Outputs are "
            "compared with ONNX's tolerances, |got - want| <= 1e-7 + 1e-3 |want| (NaN equal to "
            "NaN), int64 and bool exactly, shapes and types exactly. *Refused*: loading or typing "
            "returned an error with a message (allowed); *failed*: it ran and answered wrong, "
            "or crashed (never allowed).\n\n");
    fprintf(f,
            "Backward: where a float32 input is fed at run time and an output is float32, "
            "random seed gradients on the outputs are propagated back by the executor and up to "
            "%zu random coordinates of each run-time input are compared with central finite "
            "differences of <seed, outputs> (step 1e-2 max(1, |x|), tolerance 2e-2 max(1, "
            "|gradient|) plus float32 rounding noise; points within a step of a kink are "
            "skipped). *bwd-na*: no gradient could be checked (no differentiable path, or the "
            "executor refused the backward pass).\n\n",
            fd_max_coords);
    fprintf(f, "## Summary\n\n");
    print_summary(f, t, "- ");
    fprintf(f, "\n## Per op\n\n");
    fprintf(f, "| Op | Tests | Run | Passed | Folded | Refused | Failed | Backward checked | "
               "Backward failed | Backward n/a |\n");
    fprintf(f, "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
    for (int k = 0; k < nr; k++) {
        const op_row *r = &rows[k];
        if (!row_shown(r))
            continue;
        fprintf(f, "| %s | %d | %d | %d | %d | %d | %d | %d | %d | %d |\n", r->op, r->tests,
                r->run, r->passed, r->folded, r->refused, r->failed, r->bwd_checked,
                r->bwd_failed, r->bwd_na);
    }
    fprintf(f, "\n## Ops without an implementation (number of tests)\n\n");
    print_not_implemented(f, rows, nr, 1);
    print_not_run(f, tests, n, 1);
    print_list(f, tests, n, "Failures (forward)", pick_failed, 1);
    print_list(f, tests, n, "Failures (backward)", pick_bwd_failed, 1);
    print_list(f, tests, n, "Refusals", pick_refused, 1);
    int bad = ferror(f);
    if (fclose(f) != 0 || bad)
        return -1;
    return 0;
}

/* ------------------------------------------------------------------------ */
/* main                                                                     */
/* ------------------------------------------------------------------------ */

static void usage(FILE *f)
{
    fprintf(f,
            "usage: test-conformance [OPTIONS] [FILTER]\n"
            "Runs ONNX's backend node tests (libonnx-testdata) through the engine.\n"
            "  FILTER           only tests whose name contains FILTER (or matches it as a glob\n"
            "                   when it has * ? or [)\n"
            "  --op NAME        only the tests of op NAME (for example Conv)\n"
            "  --list           print the selected test names and exit\n"
            "  --markdown FILE  also write the table as Markdown (docs/CONFORMANCE.md)\n"
            "  --data DIR       the node tests (default $CAM_ONNX_NODE_TESTS or\n"
            "                   " DEFAULT_DATA_DIR ")\n"
            "  -v, --verbose    one line per test\n"
            "  --no-fork        run the tests in this process (debugger, leak checker)\n"
            "  --timeout S      seconds per test in its child process (default 120)\n"
            "  --fd-coords N    random coordinates of each input checked by finite\n"
            "                   differences (default 64; the sanitizer build takes fewer)\n");
}

static int matches(const char *name, const char *filter)
{
    if (!filter)
        return 1;
    if (strpbrk(filter, "*?["))
        return fnmatch(filter, name, 0) == 0;
    return strstr(name, filter) != NULL;
}

int main(int argc, char **argv)
{
    const char *op_filter = NULL, *name_filter = NULL, *markdown = NULL;
    const char *data_dir = getenv("CAM_ONNX_NODE_TESTS");
    int list = 0, verbose = 0, use_fork = 1, timeout_s = 120;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--op") == 0 && i + 1 < argc) {
            op_filter = argv[++i];
        } else if (strcmp(a, "--markdown") == 0 && i + 1 < argc) {
            markdown = argv[++i];
        } else if (strcmp(a, "--data") == 0 && i + 1 < argc) {
            data_dir = argv[++i];
        } else if (strcmp(a, "--timeout") == 0 && i + 1 < argc) {
            timeout_s = atoi(argv[++i]);
            if (timeout_s <= 0)
                timeout_s = 120;
        } else if (strcmp(a, "--fd-coords") == 0 && i + 1 < argc) {
            int n = atoi(argv[++i]);
            fd_max_coords = n > 0 ? (size_t)n : FD_MAX_COORDS;
        } else if (strcmp(a, "--list") == 0) {
            list = 1;
        } else if (strcmp(a, "-v") == 0 || strcmp(a, "--verbose") == 0) {
            verbose = 1;
        } else if (strcmp(a, "--no-fork") == 0) {
            use_fork = 0;
        } else if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            usage(stdout);
            return 0;
        } else if (a[0] == '-' || name_filter) {
            usage(stderr);
            return 2;
        } else {
            name_filter = a;
        }
    }
    if (!data_dir || !data_dir[0])
        data_dir = DEFAULT_DATA_DIR;
    if (!file_exists(data_dir)) {
        printf("SKIP: %s is missing (install Debian's libonnx-testdata, or run in "
               "build-aux/gimp3-env.sh)\n",
               data_dir);
        return 77;
    }
    test_case *tests = NULL;
    int n = 0;
    if (discover(data_dir, &tests, &n) != 0) {
        fprintf(stderr, "test-conformance: cannot list %s: %s\n", data_dir, strerror(errno));
        return 2;
    }
    int n_selected = 0;
    for (int i = 0; i < n; i++) {
        tests[i].selected = matches(tests[i].name, name_filter) &&
                            (!op_filter || strcasecmp(tests[i].op, op_filter) == 0);
        n_selected += tests[i].selected;
    }
    if (list) {
        for (int i = 0; i < n; i++)
            if (tests[i].selected)
                printf("%s\n", tests[i].name);
    } else {
        if (verbose || op_filter || name_filter)
            verbose = 1;
        printf("ONNX node tests from %s: %d, %d selected\n", data_dir, n, n_selected);
        for (int i = 0; i < n; i++) {
            test_case *tc = &tests[i];
            if (!tc->selected)
                continue;
            if (!tc->runnable) {
                if (verbose)
                    printf("n/i      %s [%s]: %s\n", tc->name, tc->op, tc->why_not);
                continue;
            }
            if (use_fork)
                run_in_child(tc, &tc->r, timeout_s);
            else
                run_test(tc, &tc->r);
            if (verbose) {
                printf("%-8s %s [%s, opset %lld]", verdict_word(tc->r.verdict), tc->name, tc->op,
                       tc->model.opset);
                if (tc->r.verdict == V_PASSED && tc->r.folded)
                    printf(" (folded)");
                if (tc->r.bwd_checked || tc->r.bwd_failed)
                    printf(" backward %s: %d compared, %d off, %d skipped",
                           tc->r.bwd_failed ? "WRONG" : "ok", tc->r.bwd_coords, tc->r.bwd_bad,
                           tc->r.bwd_skipped);
                else if (tc->r.bwd_na)
                    printf(" backward n/a");
                if (tc->r.verdict != V_PASSED)
                    printf(": %s", tc->r.message);
                if (tc->r.bwd_failed || tc->r.bwd_na)
                    printf("\n         backward: %s", tc->r.bwd_message);
                printf("\n");
                fflush(stdout);
            }
        }
    }
    int rc = 0;
    if (!list) {
        totals tot;
        int nr = 0;
        op_row *rows = build_rows(tests, n, &nr, &tot);
        if (!verbose) {
            print_list(stdout, tests, n, "Refused", pick_refused, 0);
            print_list(stdout, tests, n, "Backward not checkable", pick_bwd_na, 0);
            print_not_run(stdout, tests, n, 0);
        }
        printf("\n");
        print_table(stdout, rows, nr);
        printf("\n");
        print_not_implemented(stdout, rows, nr, 0);
        printf("\nSummary:\n");
        print_summary(stdout, &tot, "  ");
        int wrong = print_list(stdout, tests, n, "FAILED (forward)", pick_failed, 0);
        wrong += print_list(stdout, tests, n, "FAILED (backward)", pick_bwd_failed, 0);
        if (markdown) {
            if (write_markdown(markdown, tests, n, rows, nr, &tot) != 0) {
                fprintf(stderr, "test-conformance: cannot write %s: %s\n", markdown,
                        strerror(errno));
                rc = 2;
            } else {
                printf("\nwrote %s\n", markdown);
            }
        }
        if (wrong) {
            printf("\nFAIL: %d wrong answers\n", tot.failed + tot.bwd_failed);
            rc = 1;
        }
        if (f32_share(&tot) < PASS_GOAL) {
            printf("FAIL: %.1f%% of the float32 tests of implemented ops pass; the goal is "
                   "%.0f%%\n",
                   100.0 * f32_share(&tot), 100.0 * PASS_GOAL);
            rc = 1;
        }
        if (!rc)
            printf("\nOK\n");
        free(rows);
    }
    for (int i = 0; i < n; i++) {
        free(tests[i].name);
        free(tests[i].dir);
        free(tests[i].op);
        model_info_free(&tests[i].model);
    }
    free(tests);
    return rc;
}
