/*
 * cam-method-perturbation.h -- the perturbation family (methods/perturbation.c):
 * maps made of forward passes only, on copies of the input or of the layer
 * changed on purpose. No gradient is computed.
 *
 * Notation: the image x (C x H x W), the class c, the layer A (K x h x w; for
 * transformer tokens the patch grid, class token left out), s(.) the class
 * score of a forward pass: the logit z_c (ctx->score = CAM_SCORE_LOGIT) or the
 * softmax probability p_c (CAM_SCORE_PROBABILITY; the graph's softmax, or a
 * softmax of the logits). Weighted sums over k run in double, k in order.
 *
 *  SCORE-CAM (Wang et al. 2020, "Score-CAM: Score-Weighted Visual Explanations
 *  for Convolutional Neural Networks")
 *      U_k = bilinear upsampling of A_k to H x W (PyTorch's interpolate,
 *            align_corners = False: the renderer's weights, render/cam-resample.c)
 *      M_k = (U_k - min U_k) / (max U_k - min U_k)      (each channel on its own)
 *      w_k = s(x * M_k)                                  (M_k on every input channel)
 *      map = ReLU(sum_k w_k A_k)
 *    This is the paper's form without a baseline (the paper's C(A_k) =
 *    f(x * M_k) - f(x_b) with x_b = 0 only subtracts the same number from every
 *    w_k) and its official code's, where s is the softmax probability. Unlike
 *    pytorch-grad-cam and torch-cam, the scores are NOT passed through a
 *    softmax over the channels (both use logits, so their softmax makes
 *    probabilities-like weights; here p_c already is one). A channel whose U_k
 *    is constant has no mask (0/0): it gets w_k = 0 and costs no forward pass
 *    (the official code skips it too). K forward passes at most.
 *
 *  SS-CAM (Wang et al. 2020, "SS-CAM: Smoothed Score-CAM for Sharper Visual
 *  Feature Localization"), the noise on the masks as torch-cam does it
 *      w_k = (1/N) sum_{i<N} s(x * (M_k + d_{k,i})),   d_{k,i} ~ N(0, sigma^2)
 *    one value per pixel, the same on every input channel; torch-cam's defaults
 *    N = 35, sigma = 2. The noise is not random but a fixed stream:
 *    d = sigma * cam_perturbation_gaussian(seed, ((k N + i) H + y) W + x) with
 *    seed CAM_SS_CAM_SEED, so a map never changes from run to run. Constant
 *    channels: w_k = 0 as above. N K forward passes at most.
 *
 *  IS-CAM (Naidu et al. 2020, "IS-CAM: Integrated Score-CAM for axiomatic-based
 *  explanations"), the integration as torch-cam implements it
 *      w_k = (1/N) sum_{i=1..N} s(c_i x * M_k),   c_i = sum_{j<=i} j/N = i(i+1)/(2N)
 *    with torch-cam's N = 10 (so c_N = 5.5). N K forward passes at most.
 *
 *  ABLATION-CAM (Desai & Ramaswamy 2020, "Ablation-CAM: Visual Explanations
 *  for Deep Convolutional Network via Gradient-free Localization")
 *      y = s(x), y_k = s(x with A_k set to 0 at every position)
 *      w_k = (y - y_k) / y,  map = ReLU(sum_k w_k A_k)
 *    (the paper's ablation by zeros; pytorch-grad-cam switches to a very
 *    negative value when the layer has negative values, not done here). When y
 *    is exactly 0 the drop is not divided: w_k = y - y_k (the only case where
 *    the relative drop is undefined; the map keeps its direction). K forward
 *    passes of the part of the network after the layer.
 *
 *  RECIPRO-CAM (Byun & Lee 2022, "Recipro-CAM: Fast gradient-free visual
 *  explanations for convolutional neural networks")
 *      map(p) = s(the network after the layer, on A masked around position p)
 *    The mask follows OpenVINO XAI's defaults: for a C x h x w layer
 *    (ReciproCAM) the one-hot mask -- A at position p, zeros elsewhere; for
 *    transformer tokens (ViTReciproCAM: use_gaussian = True, cls_token = True)
 *    the 3 x 3 Gaussian kernel [1 2 1; 2 4 2; 1 2 1] / 16 centred on patch p
 *    (cut at the grid's border, not renormalised) and the class token kept.
 *    OpenVINO XAI's transformer variant also masks the output of the block's
 *    first LayerNorm; here only the explained tensor is replaced. The map is
 *    the raw score (no normalisation, as for every method). h w forward passes
 *    of the part of the network after the layer.
 *
 * Cost and batches: the forward passes run max_batch at a time (the
 * workspace's batch size) through cam_executor_forward_replacing(); for
 * Ablation-CAM and Recipro-CAM only the nodes after the layer run (when the
 * workspace kept what they read, which a workspace planned for the layer
 * does). Each pass computes one instance with the same operations whatever the
 * batch, and the sums run in a fixed order: maps are bit-identical for every
 * max_batch.
 *
 * Memory: the workspace's method scratch (cam_workspace_method_scratch), sized
 * by the first call and reused: a copy of the layer, the scores, the weights;
 * the Score-CAM family also allocates the two axes' resampling weights per call.
 *
 * Afterwards image 0 of the workspace no longer holds the forward pass of x
 * (the perturbed passes overwrote it): the workspace reports no forward pass
 * (cam_backward and cam_get_tensor refuse until the next cam_forward); the
 * probabilities of x are untouched.
 */
#ifndef CAM_METHOD_PERTURBATION_H
#define CAM_METHOD_PERTURBATION_H

#include "methods/cam-method.h"

#include <stdint.h>

/* torch-cam's defaults */
#define CAM_SS_CAM_SAMPLES 35
#define CAM_SS_CAM_STD 2.0f
#define CAM_IS_CAM_STEPS 10
/* The SS-CAM noise stream ("SS-CAM" in ASCII). */
#define CAM_SS_CAM_SEED UINT64_C(0x53532d43414d)

cam_status cam_method_score_cam(const cam_method_ctx *ctx, float *map, cam_error *err);
cam_status cam_method_ss_cam(const cam_method_ctx *ctx, float *map, cam_error *err);
cam_status cam_method_is_cam(const cam_method_ctx *ctx, float *map, cam_error *err);
cam_status cam_method_ablation_cam(const cam_method_ctx *ctx, float *map, cam_error *err);
cam_status cam_method_recipro_cam(const cam_method_ctx *ctx, float *map, cam_error *err);

/* SS-CAM and IS-CAM with other parameters (tests): samples >= 1, std >= 0,
 * steps >= 1. */
cam_status cam_method_ss_cam_with(const cam_method_ctx *ctx, int samples, float std,
                                  uint64_t seed, float *map, cam_error *err);
cam_status cam_method_is_cam_with(const cam_method_ctx *ctx, int steps, float *map,
                                  cam_error *err);

/* The standard normal number `counter` of the stream `seed`: splitmix64 of
 * seed + 2 counter and of seed + 2 counter + 1 (wrapping), their top 53 bits as
 * u1 = (a + 1) / 2^53 in (0, 1] and u2 = b / 2^53 in [0, 1), then Box-Muller:
 * sqrt(-2 ln u1) cos(2 pi u2), in double. Written out so that a test in any
 * language draws the same numbers. */
double cam_perturbation_gaussian(uint64_t seed, uint64_t counter);

#endif /* CAM_METHOD_PERTURBATION_H */
