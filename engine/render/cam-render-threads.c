/* cam-render-threads.c -- splitting render work over POSIX threads. Each
 * thread computes whole output rows with the same arithmetic, so results do
 * not depend on the number of threads. */
#include "cam-render-private.h"

#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>

#define CAM_RENDER_MAX_THREADS 64

int cam_render_threads(int requested, size_t work, size_t min_work_per_thread)
{
    long n = requested;
    if (n <= 0) {
        n = sysconf(_SC_NPROCESSORS_ONLN);
        if (n < 1)
            n = 1;
    }
    if (n > CAM_RENDER_MAX_THREADS)
        n = CAM_RENDER_MAX_THREADS;
    if (min_work_per_thread < 1)
        min_work_per_thread = 1;
    size_t by_work = work / min_work_per_thread;
    if (by_work < 1)
        by_work = 1;
    if ((size_t)n > by_work)
        n = (long)by_work;
    return (int)n;
}

typedef struct thread_job {
    void (*fn)(void *ctx, int i);
    void *ctx;
    int i;
} thread_job;

static void *thread_main(void *arg)
{
    thread_job *job = arg;
    job->fn(job->ctx, job->i);
    return NULL;
}

void cam_render_parallel(int n, void (*fn)(void *ctx, int i), void *ctx)
{
    if (n <= 1) {
        if (n == 1)
            fn(ctx, 0);
        return;
    }
    if (n > CAM_RENDER_MAX_THREADS)
        n = CAM_RENDER_MAX_THREADS;
    pthread_t threads[CAM_RENDER_MAX_THREADS];
    thread_job jobs[CAM_RENDER_MAX_THREADS];
    int started[CAM_RENDER_MAX_THREADS] = {0};
    for (int i = 1; i < n; i++) {
        jobs[i] = (thread_job){fn, ctx, i};
        started[i] = pthread_create(&threads[i], NULL, thread_main, &jobs[i]) == 0;
    }
    fn(ctx, 0);
    for (int i = 1; i < n; i++) {
        if (started[i])
            pthread_join(threads[i], NULL);
        else
            fn(ctx, i);
    }
}
