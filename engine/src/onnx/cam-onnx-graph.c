/*
 * cam-onnx-graph.c -- from ONNX bytes to an untyped cam_graph (see cam-onnx.h).
 *
 * Steps, each refusing bad input with a message naming the node, tensor or
 * attribute (the caller prefixes the file name):
 *   1. the wire-format check (cam-onnx-wire.c), then protobuf-c unpacking of the
 *      model's skeleton (the file without its weights' bytes, which step 3
 *      decodes from the file itself);
 *   2. IR version and default-domain opset;
 *   3. initializers and Constant nodes become CONSTANT tensors (cam-onnx-tensor.c;
 *      float weights must be finite);
 *   4. graph inputs that are not initializers become INPUT tensors with their
 *      declared shape (symbolic or unknown dimensions are set to 1);
 *   5. every other node is copied with its attributes as they are (TENSOR
 *      attributes become CONSTANT tensors); ops of other domains keep the domain
 *      in op_type ("com.microsoft:FusedConv") so that typing refuses them by name.
 * What an op's attributes mean is checked later, by the op (ops/).
 */
#include "onnx/cam-onnx-private.h"

#include "cam-error.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MIN_OPSET 7
#define MAX_OPSET 22 /* ONNX 1.17 */
#define MIN_IR_VERSION 3
#define MAX_IR_VERSION 11
#define MAX_ATTRIBUTES 64

#define STR CAM_ONNX_STR

static int default_domain(const char *domain)
{
    return !domain || !*domain || strcmp(domain, "ai.onnx") == 0;
}


static cam_status no_memory(cam_error *err)
{
    return cam_set_error(err, CAM_ERROR_NO_MEMORY, "out of memory while reading the model");
}

/* Makes tensor index t a constant holding the decoded TensorProto. */
static cam_status set_constant_raw(cam_graph *g, int t, const Onnx__TensorProto *proto,
                                   const cam_onnx_raw *raw, int check_finite, cam_error *err)
{
    cam_tensor *tensor = &g->tensors[t];
    cam_dtype dtype;
    int rank;
    int64_t dims[CAM_MAX_RANK];
    void *data;
    size_t numel;
    cam_status s =
        cam_onnx_decode_tensor_raw(proto, raw, tensor->name, &dtype, &rank, dims, &data, &numel, err);
    if (s != CAM_OK)
        return s;
    if (check_finite && dtype == CAM_DTYPE_FLOAT)
        for (size_t i = 0; i < numel; i++)
            if (!isfinite(((float *)data)[i])) {
                int nan = isnan(((float *)data)[i]);
                free(data);
                return cam_set_error(err, CAM_ERROR_INVALID_MODEL, "tensor '%s' has %s at element %zu",
                                     tensor->name, nan ? "a NaN" : "an infinite value", i);
            }
    cam_tensor_set_shape(tensor, dtype, rank, dims);
    cam_tensor_set_constant(tensor, data);
    return CAM_OK;
}

static cam_status set_constant(cam_graph *g, int t, const Onnx__TensorProto *proto, int check_finite,
                               cam_error *err)
{
    return set_constant_raw(g, t, proto, NULL, check_finite, err);
}

/* Where the weights' bytes are, when the model was unpacked from its skeleton,
 * and what to do with them once decoded. */
typedef struct raw_source {
    cam_onnx_raw *raws; /* per initializer; NULL: all inside the unpacked model */
    size_t n_raws;
    cam_onnx_release_fn release;
    void *release_data;
} raw_source;

/* A Constant node's value as a constant tensor. */
static cam_status constant_node(cam_graph *g, const Onnx__NodeProto *node, const char *name,
                                cam_error *err)
{
    if (node->n_output != 1 || !node->output[0] || !*node->output[0] || node->n_input != 0 ||
        node->n_attribute != 1 || !node->attribute[0])
        return cam_set_error(err, CAM_ERROR_INVALID_MODEL,
                             "node '%s' (Constant): needs no inputs, one output and exactly one "
                             "value attribute", name);
    const char *out_name = node->output[0];
    if (cam_graph_find_tensor(g, out_name) >= 0)
        return cam_set_error(err, CAM_ERROR_INVALID_MODEL,
                             "node '%s' (Constant): output '%s' is already produced elsewhere",
                             name, out_name);
    int t = cam_graph_add_tensor(g, out_name, CAM_TENSOR_CONSTANT);
    if (t < 0)
        return no_memory(err);
    const Onnx__AttributeProto *a = node->attribute[0];
    const char *an = STR(a->name);
    if (strcmp(an, "value") == 0) {
        if (a->type != ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__TENSOR || !a->t)
            return cam_set_error(err, CAM_ERROR_INVALID_MODEL,
                                 "node '%s' (Constant): attribute 'value' must be a TENSOR", name);
        return set_constant(g, t, a->t, 1, err);
    }
    int64_t dims[1];
    void *data = NULL;
    size_t n = 0;
    cam_dtype dtype;
    if (strcmp(an, "value_float") == 0 && a->type == ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT) {
        dtype = CAM_DTYPE_FLOAT;
        data = malloc(sizeof(float));
        if (data)
            *(float *)data = a->f;
    } else if (strcmp(an, "value_int") == 0 && a->type == ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT) {
        dtype = CAM_DTYPE_INT64;
        data = malloc(sizeof(int64_t));
        if (data)
            *(int64_t *)data = a->i;
    } else if (strcmp(an, "value_floats") == 0 &&
               a->type == ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOATS) {
        dtype = CAM_DTYPE_FLOAT;
        n = a->n_floats;
        data = malloc((n + 1) * sizeof(float));
        if (data && n)
            memcpy(data, a->floats, n * sizeof(float));
    } else if (strcmp(an, "value_ints") == 0 &&
               a->type == ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS) {
        dtype = CAM_DTYPE_INT64;
        n = a->n_ints;
        data = malloc((n + 1) * sizeof(int64_t));
        if (data && n)
            memcpy(data, a->ints, n * sizeof(int64_t));
    } else {
        return cam_set_error(err, CAM_ERROR_UNSUPPORTED,
                             "node '%s' (Constant): attribute '%s' (of that type) is not supported",
                             name, an);
    }
    if (!data)
        return no_memory(err);
    int is_list = an[strlen(an) - 1] == 's';
    dims[0] = (int64_t)n;
    cam_tensor_set_shape(&g->tensors[t], dtype, is_list ? 1 : 0, dims);
    cam_tensor_set_constant(&g->tensors[t], data);
    return CAM_OK;
}

/* Copies the attributes of an ONNX node into the graph node. */
static cam_status copy_attributes(cam_graph *g, int ni, const Onnx__NodeProto *node, cam_error *err)
{
    cam_node *n = &g->nodes[ni];
    if (node->n_attribute > MAX_ATTRIBUTES)
        return cam_set_error(err, CAM_ERROR_INVALID_MODEL, "node '%s' (%s): %zu attributes",
                             n->name, n->op_type, node->n_attribute);
    n->attrs = calloc(node->n_attribute + 1, sizeof *n->attrs);
    if (!n->attrs)
        return no_memory(err);
    for (size_t i = 0; i < node->n_attribute; i++) {
        const Onnx__AttributeProto *a = node->attribute[i];
        const char *an = a ? STR(a->name) : "";
        if (!a || !*an)
            return cam_set_error(err, CAM_ERROR_INVALID_MODEL,
                                 "node '%s' (%s): attribute %zu has no name", n->name, n->op_type, i);
        if (a->ref_attr_name && *a->ref_attr_name)
            return cam_set_error(err, CAM_ERROR_INVALID_MODEL,
                                 "node '%s' (%s): attribute '%s' refers to a function attribute",
                                 n->name, n->op_type, an);
        if (cam_node_attr(n, an))
            return cam_set_error(err, CAM_ERROR_INVALID_MODEL,
                                 "node '%s' (%s): attribute '%s' is given twice", n->name,
                                 n->op_type, an);
        cam_attr *c = &n->attrs[n->n_attrs];
        c->name = cam_strdup(an);
        c->tensor = -1;
        if (!c->name)
            return no_memory(err);
        n->n_attrs++;
        switch (a->has_type ? a->type : 0) {
        case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT:
            c->type = CAM_ATTR_FLOAT;
            c->f = a->f;
            break;
        case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT:
            c->type = CAM_ATTR_INT;
            c->i = a->i;
            break;
        case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRING:
            c->type = CAM_ATTR_STRING;
            if (a->s.len > 4096 || (a->s.len && memchr(a->s.data, 0, a->s.len)))
                return cam_set_error(err, CAM_ERROR_INVALID_MODEL,
                                     "node '%s' (%s): attribute '%s' has an invalid string",
                                     n->name, n->op_type, an);
            c->s = malloc(a->s.len + 1);
            if (!c->s)
                return no_memory(err);
            if (a->s.len)
                memcpy(c->s, a->s.data, a->s.len);
            c->s[a->s.len] = '\0';
            break;
        case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS:
            c->type = CAM_ATTR_INTS;
            c->n = a->n_ints;
            c->ints = malloc((c->n + 1) * sizeof *c->ints);
            if (!c->ints)
                return no_memory(err);
            if (c->n)
                memcpy(c->ints, a->ints, c->n * sizeof *c->ints);
            break;
        case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOATS:
            c->type = CAM_ATTR_FLOATS;
            c->n = a->n_floats;
            c->floats = malloc((c->n + 1) * sizeof *c->floats);
            if (!c->floats)
                return no_memory(err);
            if (c->n)
                memcpy(c->floats, a->floats, c->n * sizeof *c->floats);
            break;
        case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRINGS:
            c->type = CAM_ATTR_STRINGS;
            c->strings = calloc(a->n_strings + 1, sizeof *c->strings);
            if (!c->strings)
                return no_memory(err);
            for (size_t k = 0; k < a->n_strings; k++) {
                c->strings[k] = malloc(a->strings[k].len + 1);
                if (!c->strings[k])
                    return no_memory(err);
                c->n = k + 1;
                if (a->strings[k].len)
                    memcpy(c->strings[k], a->strings[k].data, a->strings[k].len);
                c->strings[k][a->strings[k].len] = '\0';
            }
            break;
        case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__TENSOR: {
            c->type = CAM_ATTR_TENSOR;
            if (!a->t)
                return cam_set_error(err, CAM_ERROR_INVALID_MODEL,
                                     "node '%s' (%s): attribute '%s' has no tensor", n->name,
                                     n->op_type, an);
            char tname[300];
            snprintf(tname, sizeof tname, "%s/%s", n->name, an);
            for (int k = 2; cam_graph_find_tensor(g, tname) >= 0; k++)
                snprintf(tname, sizeof tname, "%s/%s#%d", n->name, an, k);
            int t = cam_graph_add_tensor(g, tname, CAM_TENSOR_CONSTANT);
            if (t < 0)
                return no_memory(err);
            n = &g->nodes[ni];
            c = &n->attrs[n->n_attrs - 1];
            c->tensor = t;
            cam_status s = set_constant(g, t, a->t, 0, err);
            if (s != CAM_OK)
                return s;
            break;
        }
        default:
            c->type = CAM_ATTR_OTHER;
            break;
        }
    }
    return CAM_OK;
}

/* Graph input: dtype and declared shape (unknown dims -> 1). */
static cam_status map_input(cam_graph *g, const Onnx__ValueInfoProto *info, cam_error *err)
{
    const char *name = info->name;
    int t = cam_graph_add_tensor(g, name, CAM_TENSOR_INPUT);
    if (t < 0)
        return no_memory(err);
    cam_tensor *tensor = &g->tensors[t];
    if (!info->type || info->type->value_case != ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE ||
        !info->type->tensor_type)
        return cam_set_error(err, CAM_ERROR_UNSUPPORTED, "graph input '%s' is not a tensor", name);
    const Onnx__TypeProto__Tensor *tt = info->type->tensor_type;
    int32_t type = tt->has_elem_type ? tt->elem_type : 0;
    cam_dtype dtype;
    switch (type) {
    case ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT: dtype = CAM_DTYPE_FLOAT; break;
    case ONNX__TENSOR_PROTO__DATA_TYPE__INT64:
    case ONNX__TENSOR_PROTO__DATA_TYPE__INT32: dtype = CAM_DTYPE_INT64; break;
    case ONNX__TENSOR_PROTO__DATA_TYPE__BOOL: dtype = CAM_DTYPE_BOOL; break;
    default:
        return cam_set_error(err, CAM_ERROR_UNSUPPORTED,
                             "graph input '%s' has element type %s; FLOAT is needed", name,
                             cam_onnx_data_type_name(type));
    }
    tensor->dtype = dtype;
    if (!tt->shape)
        return CAM_OK; /* untyped: the caller must set it (typing refuses it otherwise) */
    if (tt->shape->n_dim > CAM_MAX_RANK)
        return cam_set_error(err, CAM_ERROR_UNSUPPORTED, "graph input '%s' has rank %zu", name,
                             tt->shape->n_dim);
    int64_t dims[CAM_MAX_RANK];
    size_t numel = 1;
    for (size_t i = 0; i < tt->shape->n_dim; i++) {
        const Onnx__TensorShapeProto__Dimension *d = tt->shape->dim[i];
        int fixed = d && d->value_case == ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE;
        dims[i] = fixed ? d->dim_value : 1;
        if (dims[i] < 0 || dims[i] > CAM_GRAPH_MAX_DIM)
            return cam_set_error(err, CAM_ERROR_INVALID_MODEL,
                                 "graph input '%s' dimension %zu is %lld", name, i,
                                 (long long)dims[i]);
        numel *= (size_t)dims[i];
        if (numel > CAM_GRAPH_MAX_NUMEL)
            return cam_set_error(err, CAM_ERROR_UNSUPPORTED, "graph input '%s' is too large", name);
    }
    cam_tensor_set_shape(tensor, dtype, (int)tt->shape->n_dim, dims);
    return CAM_OK;
}

static cam_status check_header(const Onnx__ModelProto *m, long long *opset, cam_error *err)
{
    if (!m->graph)
        return cam_set_error(err, CAM_ERROR_PARSE, "no graph in the file; it is not an ONNX model");
    if (!m->has_ir_version)
        return cam_set_error(err, CAM_ERROR_PARSE, "no ir_version; it is not an ONNX model");
    if (m->ir_version < MIN_IR_VERSION || m->ir_version > MAX_IR_VERSION)
        return cam_set_error(err, CAM_ERROR_UNSUPPORTED,
                             "ONNX IR version %lld is not supported (%d to %d)",
                             (long long)m->ir_version, MIN_IR_VERSION, MAX_IR_VERSION);
    *opset = -1;
    for (size_t i = 0; i < m->n_opset_import; i++) {
        const Onnx__OperatorSetIdProto *o = m->opset_import[i];
        if (o && default_domain(o->domain) && o->has_version)
            *opset = o->version > *opset ? o->version : *opset;
    }
    if (*opset < 0)
        return cam_set_error(err, CAM_ERROR_INVALID_MODEL, "the model imports no default-domain opset");
    if (*opset < MIN_OPSET || *opset > MAX_OPSET)
        return cam_set_error(err, CAM_ERROR_UNSUPPORTED, "opset %lld is not supported (%d to %d)",
                             *opset, MIN_OPSET, MAX_OPSET);
    return CAM_OK;
}

static cam_status read_graph(const Onnx__ModelProto *m, const raw_source *src, cam_graph *g,
                             cam_error *err)
{
    const Onnx__GraphProto *gp = m->graph;
    cam_status s = check_header(m, &g->opset, err);
    if (s != CAM_OK)
        return s;
    if (gp->n_sparse_initializer > 0)
        return cam_set_error(err, CAM_ERROR_UNSUPPORTED, "sparse initializers are not supported");
    for (size_t i = 0; i < gp->n_initializer; i++) {
        const Onnx__TensorProto *t = gp->initializer[i];
        if (!t || !t->name || !*t->name)
            return cam_set_error(err, CAM_ERROR_INVALID_MODEL, "initializer %zu has no name", i);
        if (cam_graph_find_tensor(g, t->name) >= 0)
            return cam_set_error(err, CAM_ERROR_INVALID_MODEL, "initializer '%s' is given twice",
                                 t->name);
        int ti = cam_graph_add_tensor(g, t->name, CAM_TENSOR_CONSTANT);
        if (ti < 0)
            return no_memory(err);
        const cam_onnx_raw *raw = src->raws && i < src->n_raws ? &src->raws[i] : NULL;
        s = set_constant_raw(g, ti, t, raw, 1, err);
        if (s != CAM_OK)
            return s;
        if (raw && raw->data && src->release)
            src->release(src->release_data, raw->data, raw->size);
    }
    g->inputs = malloc((gp->n_input + 1) * sizeof *g->inputs);
    g->outputs = malloc((gp->n_output + 1) * sizeof *g->outputs);
    if (!g->inputs || !g->outputs)
        return no_memory(err);
    for (size_t i = 0; i < gp->n_input; i++) {
        const Onnx__ValueInfoProto *in = gp->input[i];
        if (!in || !in->name || !*in->name)
            return cam_set_error(err, CAM_ERROR_INVALID_MODEL, "graph input %zu has no name", i);
        int t = cam_graph_find_tensor(g, in->name);
        if (t >= 0) {
            if (g->tensors[t].kind == CAM_TENSOR_CONSTANT)
                continue; /* an initializer listed as input (keep_initializers_as_inputs) */
            return cam_set_error(err, CAM_ERROR_INVALID_MODEL, "graph input '%s' is listed twice",
                                 in->name);
        }
        s = map_input(g, in, err);
        if (s != CAM_OK)
            return s;
        g->inputs[g->n_inputs++] = g->n_tensors - 1;
    }

    /* Node outputs first (files need not be sorted), then inputs by name. */
    char namebuf[64];
    for (size_t i = 0; i < gp->n_node; i++) {
        const Onnx__NodeProto *node = gp->node[i];
        if (!node || !node->op_type || !*node->op_type)
            return cam_set_error(err, CAM_ERROR_INVALID_MODEL, "node %zu has no op_type", i);
        const char *name = node->name && *node->name ? node->name : NULL;
        if (!name) {
            snprintf(namebuf, sizeof namebuf, "%.40s#%zu", node->op_type, i);
            name = namebuf;
        }
        if (default_domain(node->domain) && strcmp(node->op_type, "Constant") == 0) {
            s = constant_node(g, node, name, err);
            if (s != CAM_OK)
                return s;
            continue;
        }
        if (node->n_output > 64 || node->n_input > 4096)
            return cam_set_error(err, CAM_ERROR_INVALID_MODEL, "node '%s' (%s): too many inputs or outputs",
                                 name, node->op_type);
        int outs[64];
        for (size_t k = 0; k < node->n_output; k++) {
            const char *o = node->output[k];
            outs[k] = -1;
            if (!o || !*o)
                continue; /* an unused optional output */
            if (cam_graph_find_tensor(g, o) >= 0)
                return cam_set_error(err, CAM_ERROR_INVALID_MODEL,
                                     "node '%s' (%s): output '%s' is already produced elsewhere "
                                     "(an input, initializer or another node)",
                                     name, node->op_type, o);
            outs[k] = cam_graph_add_tensor(g, o, CAM_TENSOR_VALUE);
            if (outs[k] < 0)
                return no_memory(err);
        }
        char op_type[256];
        if (default_domain(node->domain))
            snprintf(op_type, sizeof op_type, "%s", node->op_type);
        else
            snprintf(op_type, sizeof op_type, "%s:%s", node->domain, node->op_type);
        int ni = cam_graph_add_node(g, name, op_type, NULL, 0, outs, (int)node->n_output);
        if (ni < 0)
            return no_memory(err);
        s = copy_attributes(g, ni, node, err);
        if (s != CAM_OK)
            return s;
    }
    int ni = 0;
    for (size_t i = 0; i < gp->n_node; i++) {
        const Onnx__NodeProto *node = gp->node[i];
        if (default_domain(node->domain) && strcmp(node->op_type, "Constant") == 0)
            continue;
        cam_node *n = &g->nodes[ni++];
        free(n->inputs);
        n->inputs = malloc((node->n_input + 1) * sizeof *n->inputs);
        if (!n->inputs)
            return no_memory(err);
        n->n_inputs = (int)node->n_input;
        for (size_t k = 0; k < node->n_input; k++) {
            const char *in = node->input[k];
            n->inputs[k] = -1;
            if (!in || !*in)
                continue;
            n->inputs[k] = cam_graph_find_tensor(g, in);
            if (n->inputs[k] < 0)
                return cam_set_error(err, CAM_ERROR_INVALID_MODEL,
                                     "node '%s' (%s): input '%s' is not a graph input, an "
                                     "initializer or the output of any node (missing initializer?)",
                                     n->name, n->op_type, in);
        }
    }
    if (gp->n_output < 1)
        return cam_set_error(err, CAM_ERROR_INVALID_MODEL, "the graph has no output");
    for (size_t i = 0; i < gp->n_output; i++) {
        const char *o = gp->output[i] ? gp->output[i]->name : NULL;
        int t = o ? cam_graph_find_tensor(g, o) : -1;
        if (t < 0)
            return cam_set_error(err, CAM_ERROR_INVALID_MODEL,
                                 "graph output '%s' is not computed by any node", STR(o));
        g->outputs[g->n_outputs++] = t;
    }
    if (cam_graph_link(g) != 0)
        return no_memory(err);
    return CAM_OK;
}

static cam_status read_metadata(const Onnx__ModelProto *m, cam_metadata_entry **out, int *n_out,
                                cam_error *err)
{
    size_t n = m->n_metadata_props;
    cam_metadata_entry *md = calloc(n + 1, sizeof *md);
    if (!md)
        return no_memory(err);
    int count = 0;
    for (size_t i = 0; i < n; i++) {
        const Onnx__StringStringEntryProto *e = m->metadata_props[i];
        if (!e || !e->key)
            continue;
        md[count].key = cam_strdup(e->key);
        md[count].value = cam_strdup(STR(e->value));
        count++;
        if (!md[count - 1].key || !md[count - 1].value) {
            cam_metadata_free(md, count);
            return no_memory(err);
        }
    }
    *out = md;
    *n_out = count;
    return CAM_OK;
}

void cam_metadata_free(cam_metadata_entry *entries, int n)
{
    if (!entries)
        return;
    for (int i = 0; i < n; i++) {
        free(entries[i].key);
        free(entries[i].value);
    }
    free(entries);
}

cam_status cam_onnx_read(const void *data, size_t size, const char *origin, cam_graph **graph_out,
                         cam_metadata_entry **metadata_out, int *n_metadata_out, cam_error *err)
{
    return cam_onnx_read_release(data, size, origin, NULL, NULL, graph_out, metadata_out,
                                 n_metadata_out, err);
}

cam_status cam_onnx_read_release(const void *data, size_t size, const char *origin,
                                 cam_onnx_release_fn release, void *release_data,
                                 cam_graph **graph_out, cam_metadata_entry **metadata_out,
                                 int *n_metadata_out, cam_error *err)
{
    cam_error local;
    if (!err)
        err = &local;
    *graph_out = NULL;
    if (metadata_out)
        *metadata_out = NULL;
    if (n_metadata_out)
        *n_metadata_out = 0;
    cam_status s;
    Onnx__ModelProto *m = NULL;
    cam_graph *g = NULL;
    void *skeleton = NULL;
    size_t skeleton_size = 0;
    raw_source src = {NULL, 0, release, release_data};
    if (!data || size == 0) {
        s = cam_set_error(err, CAM_ERROR_PARSE, "the file is empty");
    } else if (size > (size_t)INT32_MAX) {
        s = cam_set_error(err, CAM_ERROR_PARSE, "the file is larger than 2 GiB, the protobuf limit");
    } else {
        const char *why = cam_onnx_wire_check(data, size, &onnx__model_proto__descriptor);
        if (why) {
            s = cam_set_error(err, CAM_ERROR_PARSE, "not a valid ONNX file: %s", why);
        } else if (!cam_onnx_skeleton(data, size, &skeleton, &skeleton_size, &src.raws,
                                      &src.n_raws)) {
            s = no_memory(err);
        } else if (!(m = skeleton ? onnx__model_proto__unpack(NULL, skeleton_size, skeleton)
                                  : onnx__model_proto__unpack(NULL, size, data))) {
            s = cam_set_error(err, CAM_ERROR_PARSE,
                              "not a valid ONNX file (protobuf decoding failed; truncated or "
                              "corrupt?)");
        } else if (!(g = cam_graph_new())) {
            s = no_memory(err);
        } else {
            s = read_graph(m, &src, g, err);
            if (s == CAM_OK && metadata_out)
                s = read_metadata(m, metadata_out, n_metadata_out, err);
        }
    }
    if (m)
        onnx__model_proto__free_unpacked(m, NULL);
    free(skeleton);
    free(src.raws);
    if (s != CAM_OK) {
        cam_graph_free(g);
        cam_error_prefix(err, "%s", origin ? origin : "(memory)");
        return s;
    }
    *graph_out = g;
    return CAM_OK;
}
