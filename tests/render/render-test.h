/* render-test.h -- a few checking macros for the render tests. */
#ifndef RENDER_TEST_H
#define RENDER_TEST_H

#include <math.h>
#include <stdio.h>

static int n_failures;
static int n_checks;

#define CHECK(cond, ...)                                                   \
    do {                                                                   \
        n_checks++;                                                        \
        if (!(cond)) {                                                     \
            n_failures++;                                                  \
            printf("FAIL %s:%d: ", __FILE__, __LINE__);                    \
            printf(__VA_ARGS__);                                           \
            printf("\n");                                                  \
        }                                                                  \
    } while (0)

#define CHECK_NEAR(a, b, tol, what)                                                          \
    CHECK(fabs((double)(a) - (double)(b)) <= (tol), "%s: %.9g, expected %.9g (tol %g)", what, \
          (double)(a), (double)(b), (double)(tol))

#define CHECK_STATUS(expr, expected)                                                        \
    do {                                                                                    \
        cam_status st_ = (expr);                                                            \
        CHECK(st_ == (expected), "%s returned %s, expected %s (%s)", #expr,                 \
              cam_status_name(st_), cam_status_name(expected), err.message);                \
    } while (0)

/* cam_renderer_new as an expression: the renderer, or NULL on failure (err says
 * why). Checks the construction contract: CAM_OK exactly when *out is set,
 * err->status equal to the status returned. */
static inline cam_renderer *new_renderer(const float *map, int mw, int mh, int ow, int oh,
                                         const cam_render_options *o, cam_error *err)
{
    _Alignas(64) static unsigned char not_a_renderer[64];
    cam_renderer *r = (cam_renderer *)not_a_renderer; /* not NULL: must be overwritten */
    cam_status st = cam_renderer_new(map, mw, mh, ow, oh, o, &r, err);
    CHECK((st == CAM_OK) == (r != NULL) && (st == CAM_OK || !err || err->status == st),
          "cam_renderer_new: status %s with renderer %p", cam_status_name(st), (void *)r);
    return st == CAM_OK ? r : NULL;
}

static int test_summary(const char *name)
{
    printf("%s: %d checks, %d failed\n", name, n_checks, n_failures);
    return n_failures ? 1 : 0;
}

#endif
