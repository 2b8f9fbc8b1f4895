/*
 * test-memory.c -- weights held once: the peak resident memory of loading a
 * model and explaining one image stays within the model file's size plus
 * 64 MB (issue 14's memory goal), for the largest exported models.
 *
 *     test-memory MODEL.onnx [MODEL.onnx ...]
 *
 * Each model runs in a child process of its own, so that one model's peak is
 * not another's. The child reads its peak resident set (VmHWM of
 * /proc/self/status) before loading, then loads the model (cam_model_load: the
 * file is mapped, the weights decoded from it and its pages dropped as they
 * are decoded; packed convolution weights replace the unpacked ones), makes
 * the workspace cam_workspace_new_for_explain gives for the defaults and runs
 * one cam_explain on an all-0.5 input. It fails when the peak grew by more than
 * the file size + 64 MB. Before the weights were held once, loading alone took
 * about three times the file (the file read whole, protobuf-c's copy of every
 * weight, the decoded weights and their packed copies). Not timed: the load
 * time is printed, never asserted.
 */
#include "camengine.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define ALLOWANCE_MB 64.0

/* VmHWM in MB, or -1 where /proc is missing. */
static double peak_mb(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    if (!f)
        return -1;
    char line[256];
    double kb = -1;
    while (fgets(line, sizeof line, f))
        if (strncmp(line, "VmHWM:", 6) == 0)
            kb = atof(line + 6);
    fclose(f);
    return kb < 0 ? -1 : kb / 1024.0;
}

static double seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* In the child: 0 pass, 1 fail, 77 skip. */
static int check(const char *path)
{
    struct stat st;
    if (stat(path, &st) != 0) {
        printf("# %s: missing\n", path);
        return 1;
    }
    const double file_mb = (double)st.st_size / (1024.0 * 1024.0);
    const double before = peak_mb();
    if (before < 0) {
        printf("# no /proc/self/status: cannot measure\n");
        return 77;
    }
    cam_error err;
    cam_model *model = NULL;
    double t0 = seconds();
    if (cam_model_load(path, &model, &err) != CAM_OK) {
        printf("# %s: %s\n", path, err.message);
        return 1;
    }
    const double load_s = seconds() - t0;
    const double after_load = peak_mb();
    cam_explain_options opt = cam_explain_options_default(model);
    cam_workspace *ws = NULL;
    if (cam_workspace_new_for_explain(model, 1, &opt, &ws, &err) != CAM_OK) {
        printf("# %s: %s\n", path, err.message);
        cam_model_free(model);
        return 1;
    }
    size_t n = cam_model_input_size(model);
    float *input = malloc(n * sizeof *input);
    if (!input)
        return 1;
    for (size_t i = 0; i < n; i++)
        input[i] = 0.5f;
    cam_explanation *ex = NULL;
    cam_status s = cam_explain(ws, input, &opt, &ex, &err);
    const double after = peak_mb();
    if (s != CAM_OK)
        printf("# %s: %s\n", path, err.message);
    printf("# %s: file %.1f MB, load %.3f s; peak growth: load %.1f MB, load + explain %.1f MB "
           "(allowed: file + %.0f MB = %.1f MB)\n",
           path, file_mb, load_s, after_load - before, after - before, ALLOWANCE_MB,
           file_mb + ALLOWANCE_MB);
    cam_explanation_free(ex);
    free(input);
    cam_workspace_free(ws);
    cam_model_free(model);
    if (s != CAM_OK)
        return 1;
    return after - before <= file_mb + ALLOWANCE_MB ? 0 : 1;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s MODEL.onnx [MODEL.onnx ...]\n", argv[0]);
        return 2;
    }
#if defined(__SANITIZE_ADDRESS__)
    /* AddressSanitizer's allocator keeps freed memory in quarantine and pads every
     * block: the process's peak says nothing about the engine's. */
    printf("1..0 # SKIP peak memory is not measured under AddressSanitizer\n");
    return 0;
#endif
    printf("1..%d\n", argc - 1);
    int failed = 0, skipped = 0;
    for (int i = 1; i < argc; i++) {
        fflush(stdout);
        pid_t pid = fork();
        if (pid < 0) {
            perror("fork");
            return 1;
        }
        if (pid == 0) {
            int rc = check(argv[i]);
            fflush(stdout);
            _exit(rc);
        }
        int status = 0;
        waitpid(pid, &status, 0);
        int rc = WIFEXITED(status) ? WEXITSTATUS(status) : 1;
        if (rc == 77) {
            printf("ok %d - %s # SKIP cannot measure\n", i, argv[i]);
            skipped++;
        } else {
            printf("%s %d - %s: peak memory within the file size + %.0f MB\n",
                   rc == 0 ? "ok" : "not ok", i, argv[i], ALLOWANCE_MB);
            failed += rc != 0;
        }
    }
    return failed ? 1 : skipped == argc - 1 ? 77 : 0;
}
