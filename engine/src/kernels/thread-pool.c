/*
 * thread-pool.c -- the engine's intra-op thread pool (see cam-kernels.h,
 * "Intra-op threads").
 *
 * One process-wide pool of pthreads. A kernel hands it a loop of independent
 * work items (cam_parallel_for); the calling thread and up to threads - 1
 * workers take items one at a time from a shared counter until none is left,
 * and the call returns when every item is done. Which thread computes an item
 * changes from run to run, what is computed does not: an item must write its own
 * outputs with its own operations, so results are bit-identical whatever the
 * thread count (the kernels are written that way; the tests check it).
 *
 * Idle workers spin a while for the next loop (POOL_SPIN_NS: a network's ops
 * come close together), then park on a condition variable; the caller waits for
 * the items the same way. Waking a parked thread costs tens of microseconds to
 * milliseconds on a virtual machine, which made two threads slower than one on
 * MobileNet's hundreds of small ops. The caller never waits for a worker that
 * has not started: items are claimed with the loop's generation (pool_claim),
 * so a late worker finds nothing to do, and the caller waits only for the items
 * others claimed. The engine's matrix products run on this pool too (gemm.c:
 * cam_parallel_blas, OpenBLAS on one thread per piece), so OpenBLAS's own
 * threads, which spin a while after a threaded GEMM, stay asleep.
 *
 * Thread count: cam_parallel_threads(), the value set by cam_parallel_set_threads
 * (cam_set_blas_threads sets it with OpenBLAS's count), else OpenBLAS's own
 * thread count. With 1 no worker exists and kernels run inline.
 *
 * One loop at a time: a second caller thread that finds the pool busy (callers
 * with their own workspaces, or a nested call from inside an item) runs its loop
 * inline, on its own thread, instead of waiting.
 */
#include "kernels/cam-kernels.h"

#include <cblas.h>
#include <pthread.h>
#include <stdlib.h>
#include <time.h>

#define POOL_MAX_THREADS 64

static pthread_mutex_t pool_submit = PTHREAD_MUTEX_INITIALIZER; /* held while a loop runs */
static pthread_mutex_t pool_lock = PTHREAD_MUTEX_INITIALIZER;   /* guards what follows */
static pthread_cond_t pool_wake = PTHREAD_COND_INITIALIZER;
static pthread_cond_t pool_finished = PTHREAD_COND_INITIALIZER;
static pthread_t pool_workers[POOL_MAX_THREADS - 1];
static unsigned long pool_born[POOL_MAX_THREADS - 1]; /* generation when started */
static int pool_n_workers;   /* started workers */
static int pool_stop;        /* set at unload: workers leave */
static unsigned long pool_generation; /* bumped per loop */
static int pool_helpers;     /* workers taking part in the current loop */
static cam_parallel_fn pool_fn;
static void *pool_arg;
static int pool_items;
/* The current loop's items: its generation (low 32 bits) in the high half, the
 * next unclaimed item in the low half. A thread claims an item by one
 * compare-and-swap, so a worker that comes late (parked while the loop ran, or
 * still holding an earlier generation) claims nothing and touches nothing: the
 * caller waits for the items that were claimed, never for a worker to show up. */
static unsigned long long pool_claim;
static int pool_done;        /* items of the current loop finished (atomic) */
static int pool_threads_set; /* cam_parallel_set_threads (atomic); 0: follow OpenBLAS */

/* How long a waiting thread spins before it parks: 2 ms. Waking a parked thread
 * costs from tens of microseconds to milliseconds on a virtual machine (measured
 * here: often over 1 ms), far more than most of a network's ops take; a worker
 * that spins through the gaps between ops (a layer on one thread, the map after
 * the forward pass) starts the next loop within a microsecond. */
#define POOL_SPIN_NS 2000000LL

static inline void cpu_pause(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
}

static long long clock_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (long long)t.tv_sec * 1000000000LL + t.tv_nsec;
}

/* One step of a spin that started at `start` (i counts the steps from 1): a pause,
 * then 0 once POOL_SPIN_NS have passed (the clock is read every 16 steps); the
 * caller then checks again under pool_lock and parks. */
static int spin_on(int i, long long start)
{
    cpu_pause();
    return i % 16 != 0 || clock_ns() - start <= POOL_SPIN_NS;
}

/* Spin while *value == old (values written under pool_lock with atomic stores). */
static void spin_while_equal_ulong(const unsigned long *value, unsigned long old)
{
    const long long start = clock_ns();
    for (int i = 1; __atomic_load_n(value, __ATOMIC_ACQUIRE) == old && spin_on(i, start); i++) {
    }
}

/* Spin while *value < below. */
static void spin_while_below(const int *value, int below)
{
    const long long start = clock_ns();
    for (int i = 1; __atomic_load_n(value, __ATOMIC_ACQUIRE) < below && spin_on(i, start); i++) {
    }
}

/* Claim and run items of loop `generation` until none is left; the thread that
 * finishes the loop's last item wakes a parked caller (a signal that comes after
 * the caller has moved on is a spurious wake-up of its next wait, which checks
 * pool_done again). */
static void run_items(unsigned long generation, cam_parallel_fn fn, void *arg, int items)
{
    const unsigned long long tag = (unsigned long long)(generation & 0xffffffffUL) << 32;
    unsigned long long v = __atomic_load_n(&pool_claim, __ATOMIC_ACQUIRE);
    for (;;) {
        if ((v & ~0xffffffffULL) != tag || (int)(v & 0xffffffffULL) >= items)
            return;
        if (!__atomic_compare_exchange_n(&pool_claim, &v, v + 1, 1, __ATOMIC_ACQUIRE,
                                         __ATOMIC_ACQUIRE))
            continue; /* v now holds the current value */
        fn(arg, (int)(v & 0xffffffffULL));
        if (__atomic_add_fetch(&pool_done, 1, __ATOMIC_RELEASE) == items) {
            pthread_mutex_lock(&pool_lock);
            pthread_cond_signal(&pool_finished);
            pthread_mutex_unlock(&pool_lock);
            return;
        }
        v = __atomic_load_n(&pool_claim, __ATOMIC_ACQUIRE);
    }
}

static void *worker_main(void *arg)
{
    const int index = (int)(size_t)arg;
    pthread_mutex_lock(&pool_lock);
    /* The loop that started this worker may already have been announced. */
    unsigned long seen = pool_born[index];
    for (;;) {
        if (!pool_stop && __atomic_load_n(&pool_generation, __ATOMIC_RELAXED) == seen) {
            pthread_mutex_unlock(&pool_lock); /* the next loop may come at once */
            spin_while_equal_ulong(&pool_generation, seen);
            pthread_mutex_lock(&pool_lock);
        }
        while (!pool_stop && __atomic_load_n(&pool_generation, __ATOMIC_RELAXED) == seen)
            pthread_cond_wait(&pool_wake, &pool_lock);
        if (pool_stop)
            break;
        seen = __atomic_load_n(&pool_generation, __ATOMIC_RELAXED);
        if (index >= pool_helpers)
            continue; /* not needed for this loop: wait again */
        cam_parallel_fn fn = pool_fn;
        void *fn_arg = pool_arg;
        const int items = pool_items;
        pthread_mutex_unlock(&pool_lock);
        run_items(seen, fn, fn_arg, items);
        pthread_mutex_lock(&pool_lock);
    }
    pthread_mutex_unlock(&pool_lock);
    return NULL;
}

/* At unload (dlclose, process exit): no worker may stay parked in unmapped code. */
__attribute__((destructor)) static void pool_shutdown(void)
{
    pthread_mutex_lock(&pool_lock);
    pool_stop = 1;
    pthread_cond_broadcast(&pool_wake);
    const int n = pool_n_workers;
    pthread_mutex_unlock(&pool_lock);
    for (int i = 0; i < n; i++)
        pthread_join(pool_workers[i], NULL);
    pool_n_workers = 0;
}

void cam_parallel_set_threads(int n)
{
    if (n > POOL_MAX_THREADS)
        n = POOL_MAX_THREADS;
    __atomic_store_n(&pool_threads_set, n > 0 ? n : 0, __ATOMIC_RELAXED);
}

/* CAM_POOL_THREADS=n in the environment (read once; for measurements): the pool
 * uses n threads whatever was set, 0 when unset. */
static int env_threads(void)
{
    static int cached = -1;
    int v = __atomic_load_n(&cached, __ATOMIC_RELAXED);
    if (v < 0) {
        const char *e = getenv("CAM_POOL_THREADS");
        v = e && *e ? atoi(e) : 0;
        if (v < 0)
            v = 0;
        __atomic_store_n(&cached, v, __ATOMIC_RELAXED);
    }
    return v;
}

int cam_parallel_threads(void)
{
    int n = env_threads();
    if (n <= 0)
        n = __atomic_load_n(&pool_threads_set, __ATOMIC_RELAXED);
    if (n <= 0)
        n = openblas_get_num_threads();
    if (n < 1)
        n = 1;
    return n > POOL_MAX_THREADS ? POOL_MAX_THREADS : n;
}

/* cam_parallel_for on `threads` threads at most; blas_single: OpenBLAS on one
 * thread while the pool is ours, even when the items run on the calling thread
 * alone (only the pool's holder changes it, so two callers cannot interleave
 * saving and restoring its count). */
static void pool_run(int threads, int items, cam_parallel_fn fn, void *arg, int blas_single)
{
    if (items <= 0)
        return;
    if (threads > items)
        threads = items;
    if (threads > POOL_MAX_THREADS)
        threads = POOL_MAX_THREADS;
    if ((threads <= 1 && !blas_single) || pthread_mutex_trylock(&pool_submit) != 0) {
        for (int i = 0; i < items; i++)
            fn(arg, i);
        return;
    }
    const int blas = blas_single ? openblas_get_num_threads() : 1;
    if (blas != 1)
        openblas_set_num_threads(1);
    if (threads <= 1) {
        for (int i = 0; i < items; i++)
            fn(arg, i);
    } else {
        pthread_mutex_lock(&pool_lock);
        while (pool_n_workers < threads - 1 && !pool_stop) {
            pool_born[pool_n_workers] = pool_generation;
            if (pthread_create(&pool_workers[pool_n_workers], NULL, worker_main,
                               (void *)(size_t)pool_n_workers) != 0)
                break; /* fewer workers: the caller does more items itself */
            pool_n_workers++;
        }
        pool_helpers = threads - 1 < pool_n_workers ? threads - 1 : pool_n_workers;
        pool_fn = fn;
        pool_arg = arg;
        pool_items = items;
        const unsigned long generation = pool_generation + 1;
        __atomic_store_n(&pool_done, 0, __ATOMIC_RELAXED);
        __atomic_store_n(&pool_claim, (unsigned long long)(generation & 0xffffffffUL) << 32,
                         __ATOMIC_RELEASE);
        __atomic_store_n(&pool_generation, generation, __ATOMIC_RELEASE);
        if (pool_helpers > 0)
            pthread_cond_broadcast(&pool_wake);
        pthread_mutex_unlock(&pool_lock);

        run_items(generation, fn, arg, items);

        spin_while_below(&pool_done, items); /* workers finishing their last items */
        pthread_mutex_lock(&pool_lock);
        while (__atomic_load_n(&pool_done, __ATOMIC_ACQUIRE) < items)
            pthread_cond_wait(&pool_finished, &pool_lock);
        pthread_mutex_unlock(&pool_lock);
    }
    if (blas != 1)
        openblas_set_num_threads(blas);
    pthread_mutex_unlock(&pool_submit);
}

void cam_parallel_for(int items, cam_parallel_fn fn, void *arg)
{
    pool_run(cam_parallel_threads(), items, fn, arg, 0);
}

/* cam_parallel_blas's items in one contiguous run per thread */
typedef struct contiguous_job {
    cam_parallel_fn fn;
    void *arg;
    int items, runs;
} contiguous_job;

static void contiguous_run(void *arg, int run)
{
    const contiguous_job *j = arg;
    const int lo = (int)((long)j->items * run / j->runs);
    const int hi = (int)((long)j->items * (run + 1) / j->runs);
    for (int i = lo; i < hi; i++)
        j->fn(j->arg, i);
}

void cam_parallel_blas(int items, cam_parallel_fn fn, void *arg)
{
    /* The items call OpenBLAS, on one thread each (gemm.c). Each thread takes one
     * contiguous run of them: pieces of a product's columns handed out one by one
     * alternate between the threads along every row of C, and their cache lines
     * at the seams then move between the cores (2 threads on 8 column pieces of
     * 144 x 3136 x 24: 0.9x one thread interleaved, 1.3x in two halves). */
    const int threads = cam_parallel_threads();
    contiguous_job j = {fn, arg, items, items < threads ? items : threads};
    pool_run(threads, j.runs, contiguous_run, &j, 1);
}

void cam_parallel_lanes(int lanes, cam_parallel_fn fn, void *arg)
{
    /* The lanes are the parallelism: OpenBLAS works on the calling thread meanwhile
     * (its own threads would compete with the other lanes for the same cores), and
     * the kernels' nested cam_parallel_for calls run inline (the pool is busy). */
    pool_run(lanes, lanes, fn, arg, 1);
}
