/*
 * registry.c -- the table of explanation methods: one row per cam_method, in
 * enum order (display name, one-line summary with the cost, flags, compute
 * function), and the public functions read from it (the names are in
 * ../cam-method-names.c).
 *
 * The display names and summaries are English. Front ends translate them in
 * their own gettext domain: N_() marks them for xgettext (po/POTFILES.in lists
 * this file) and expands to the string itself; the engine has no gettext.
 */
#include "methods/cam-method.h"

#include "cam-error.h"

#define N_(text) text

#define GRAD CAM_METHOD_NEEDS_GRADIENT
#define SCORE CAM_METHOD_USES_SCORE

static const cam_method_def methods[CAM_METHOD_COUNT] = {
    {CAM_METHOD_CAM, N_("CAM"),
     N_("CAM (Zhou et al. 2016): the dense layer's class weights times the last conv features; "
        "needs conv -> global average pool -> dense; 1 forward pass"),
     CAM_METHOD_NEEDS_CAM_HEAD, cam_method_cam},
    {CAM_METHOD_GRAD_CAM, N_("Grad-CAM"),
     N_("Grad-CAM (Selvaraju et al. 2017): features weighted by their mean gradient, ReLU; "
        "1 forward + 1 backward pass"),
     GRAD | SCORE, cam_method_grad_cam},
    {CAM_METHOD_GRAD_CAM_TUTORIAL, N_("Grad-CAM (tutorial)"),
     N_("Grad-CAM as in the Keras tutorial: gradient of the probability, 1 + weighted sum, ReLU "
        "after upsampling; 1 forward + 1 backward pass"),
     GRAD, cam_method_grad_cam_tutorial},
    {CAM_METHOD_HIRES_CAM, N_("HiResCAM"),
     N_("HiResCAM (Draelos & Carin 2020): element-wise gradient times features, summed; "
        "1 forward + 1 backward pass"),
     GRAD | SCORE, cam_method_hires_cam},
    {CAM_METHOD_GRAD_CAM_PLUS_PLUS, N_("Grad-CAM++"),
     N_("Grad-CAM++ (Chattopadhyay et al. 2018): positive gradients weighted per pixel; "
        "1 forward + 1 backward pass"),
     GRAD | SCORE, cam_method_grad_cam_plus_plus},
    {CAM_METHOD_XGRAD_CAM, N_("XGrad-CAM"),
     N_("XGrad-CAM (Fu et al. 2020): gradients weighted by the normalised features; "
        "1 forward + 1 backward pass"),
     GRAD | SCORE, cam_method_xgrad_cam},
    {CAM_METHOD_GRAD_CAM_ELEMENTWISE, N_("Grad-CAM element-wise"),
     N_("Grad-CAM element-wise (pytorch-grad-cam): positive parts of gradient times features; "
        "1 forward + 1 backward pass"),
     GRAD | SCORE, cam_method_grad_cam_elementwise},
    {CAM_METHOD_LAYER_CAM, N_("LayerCAM"),
     N_("LayerCAM (Jiang et al. 2021): features weighted by their positive gradients, per pixel; "
        "1 forward + 1 backward pass"),
     GRAD | SCORE, cam_method_layer_cam},
    {CAM_METHOD_EIGEN_CAM, N_("Eigen-CAM"),
     N_("Eigen-CAM (Muhammad & Yeasin 2020): first principal component of the features, the "
        "same for every class; 1 forward pass"),
     0, cam_method_eigen_cam},
    {CAM_METHOD_EIGEN_GRAD_CAM, N_("EigenGrad-CAM"),
     N_("EigenGrad-CAM (pytorch-grad-cam): first principal component of gradient times features; "
        "1 forward + 1 backward pass"),
     GRAD | SCORE, cam_method_eigen_grad_cam},
    {CAM_METHOD_KPCA_CAM, N_("KPCA-CAM"),
     N_("KPCA-CAM (Karmani et al. 2024): first kernel principal component of the features "
        "(sigmoid kernel), the same for every class; 1 forward pass"),
     0, cam_method_kpca_cam},
    {CAM_METHOD_FINER_CAM, N_("Finer-CAM"),
     N_("Finer-CAM (Zhang et al. 2025): Grad-CAM of the class score minus its 3 most similar "
        "classes; 1 forward + 1 backward pass"),
     GRAD | CAM_METHOD_COMPARES_CLASSES, cam_method_finer_cam},
    {CAM_METHOD_SMOOTH_GRAD_CAM_PLUS_PLUS, N_("Smooth Grad-CAM++"),
     N_("Smooth Grad-CAM++ (Omeiza et al. 2019): Grad-CAM++ with gradients averaged over 4 noisy "
        "inputs; 5 forward + 4 backward passes"),
     GRAD | SCORE | CAM_METHOD_RUNS_FORWARD, cam_method_smooth_grad_cam_plus_plus},
    {CAM_METHOD_RANDOM, N_("Random baseline"),
     N_("Random: a seeded uniform random map, the baseline of the faithfulness metrics; "
        "1 forward pass"),
     0, cam_method_random},
    {CAM_METHOD_SCORE_CAM, N_("Score-CAM"),
     N_("Score-CAM (Wang et al. 2020): channels weighted by the score of the input masked by each "
        "upsampled, normalised channel; 1 forward pass per channel"),
     SCORE | CAM_METHOD_PERTURBS | CAM_METHOD_RUNS_FORWARD, cam_method_score_cam},
    {CAM_METHOD_SS_CAM, N_("SS-CAM"),
     N_("SS-CAM (Wang et al. 2020): Score-CAM with noise added to the masks, averaged over 35 "
        "samples; 35 forward passes per channel"),
     SCORE | CAM_METHOD_PERTURBS | CAM_METHOD_RUNS_FORWARD, cam_method_ss_cam},
    {CAM_METHOD_IS_CAM, N_("IS-CAM"),
     N_("IS-CAM (Naidu et al. 2020): Score-CAM with the masks integrated over 10 steps; "
        "10 forward passes per channel"),
     SCORE | CAM_METHOD_PERTURBS | CAM_METHOD_RUNS_FORWARD, cam_method_is_cam},
    {CAM_METHOD_ABLATION_CAM, N_("Ablation-CAM"),
     N_("Ablation-CAM (Desai & Ramaswamy 2020): channels weighted by the relative score drop when "
        "each is zeroed; 1 forward pass of the layers after it per channel"),
     SCORE | CAM_METHOD_PERTURBS | CAM_METHOD_RUNS_FORWARD, cam_method_ablation_cam},
    {CAM_METHOD_RECIPRO_CAM, N_("Recipro-CAM"),
     N_("Recipro-CAM (Byun & Lee 2022): the score of the features kept at each position alone; "
        "1 forward pass of the layers after it per position"),
     SCORE | CAM_METHOD_PERTURBS | CAM_METHOD_RUNS_FORWARD, cam_method_recipro_cam},
    {CAM_METHOD_FULL_GRAD, N_("FullGrad"),
     N_("FullGrad (Srinivas & Fleuret 2019): |input gradient x input| plus |gradient x bias| of "
        "every conv and batch-norm layer, at the image's resolution; ignores the layer; "
        "1 forward + 1 backward pass to the input"),
     GRAD | SCORE | CAM_METHOD_WHOLE_NETWORK, cam_method_full_grad},
};

const cam_method_def *cam_method_def_of(cam_method m)
{
    return (unsigned)m < CAM_METHOD_COUNT ? &methods[m] : NULL;
}

const char *cam_method_summary(cam_method method)
{
    const cam_method_def *d = cam_method_def_of(method);
    return d ? d->summary : NULL;
}

const char *cam_method_display_name(cam_method method)
{
    const cam_method_def *d = cam_method_def_of(method);
    return d ? d->display_name : NULL;
}

int cam_method_supports_model(cam_method method, const cam_model *model)
{
    const cam_method_def *d = cam_method_def_of(method);
    if (!d || !model)
        return 0;
    if ((d->flags & CAM_METHOD_NEEDS_CAM_HEAD) && !cam_model_supports_cam(model))
        return 0;
    if ((d->flags & CAM_METHOD_COMPARES_CLASSES) && cam_model_n_classes(model) < 2)
        return 0;
    return 1;
}

