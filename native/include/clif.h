/*
 * clif.h: the one contract between Clif's Java code and its C++ over libtorch.
 *
 * Rules (docs/ARCHITECTURE.md has the why):
 *  - Plain C only. Handles are opaque pointers; numbers are fixed-width ints and doubles.
 *  - One prefix per family: clif_tensor_*, clif_device_*, ...
 *  - Every function that can fail returns int32_t: 0 on success, non-zero on failure. Right after a
 *    failure, clif_last_error() returns the message (thread-local, valid until the next failing call
 *    on the same thread). Results come back through out-parameters.
 *  - No C++ exception ever leaves this library.
 *  - Devices are ints: -1 is the CPU, n >= 0 is CUDA device n. Dtypes are clif_dtype codes.
 *
 * Java bindings are generated from this file by jextract (bindings/): change it, regenerate them.
 */
#ifndef CLIF_H
#define CLIF_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define CLIF_DEVICE_CPU (-1)

/* Element types; the numbers are part of the ABI (mirrored by dev.clif.tensor.DType). */
typedef enum clif_dtype {
    CLIF_F32 = 0,
    CLIF_F16 = 1,
    CLIF_BF16 = 2,
    CLIF_F64 = 3,
    CLIF_I64 = 4,
    CLIF_I32 = 5,
    CLIF_I16 = 6,
    CLIF_I8 = 7,
    CLIF_U8 = 8,
    CLIF_BOOL = 9
} clif_dtype;

/* An owned reference to a libtorch tensor. Free with clif_tensor_free. */
typedef struct clif_tensor_s *clif_tensor;
/* A model (UNet, CLIP, VAE, ...) with named parameters. Free with clif_module_free. */
typedef struct clif_module_s *clif_module;
/* An optimizer over some parameters of a module. Free with clif_optim_free (before the module). */
typedef struct clif_optim_s *clif_optim;

/* ---- library ---------------------------------------------------------------------------------- */

/* Version of this library (static string). */
const char *clif_version(void);
/* Version of the libtorch it was built against, e.g. "1.13.1" (static string). */
const char *clif_torch_version(void);
/* The message of the last failing call on this thread ("" if none). */
const char *clif_last_error(void);

/* ---- device ------------------------------------------------------------------------------------ */

/* Number of CUDA devices libtorch can use (0 when built for CPU or when no GPU is present). */
int32_t clif_device_cuda_count(int32_t *out_count);
/* Checks that `device` exists (-1 or a CUDA index below the count); fails with a message otherwise. */
int32_t clif_device_check(int32_t device);
/* Threads of libtorch's intra-op pool (matrix multiply, convolutions). */
int32_t clif_device_set_num_threads(int32_t threads);
int32_t clif_device_get_num_threads(int32_t *out_threads);
/* Memory of the caching allocator on a CUDA device, in bytes; all zero for the CPU. */
int32_t clif_device_memory(int32_t device, int64_t *out_allocated, int64_t *out_reserved,
                           int64_t *out_peak_allocated);
int32_t clif_device_reset_peak(int32_t device);
/* Waits until all queued work on the device has finished (no-op on the CPU). */
int32_t clif_device_synchronize(int32_t device);
/* The CPU caching allocator for large blocks (>= 1 MiB): bytes held free for reuse, bytes in live large blocks,
 * and the most it may hold free (0: caching off; CLIF_CPU_CACHE_MB sets it when the library loads). */
int32_t clif_device_cpu_cache(int64_t *out_cached, int64_t *out_in_use, int64_t *out_limit);
/* Sets that limit (freeing cached blocks beyond it); 0 stops caching. */
int32_t clif_device_cpu_cache_set_limit(int64_t bytes);
/* Gives every cached free block back to the system. */
int32_t clif_device_cpu_cache_release(void);

/* ---- tensor ------------------------------------------------------------------------------------ */

/* A new tensor on `device` holding a copy of `nbytes` bytes of dense row-major data at `data`.
   nbytes must equal product(shape) * size of dtype. */
int32_t clif_tensor_from_data(const void *data, int64_t nbytes, const int64_t *shape, int32_t ndim,
                              int32_t dtype, int32_t device, clif_tensor *out);
/* A tensor of zeros. */
int32_t clif_tensor_zeros(const int64_t *shape, int32_t ndim, int32_t dtype, int32_t device,
                          clif_tensor *out);
/* Standard normal samples drawn exactly as `torch.manual_seed(seed); torch.randn(shape)` draws them
   on the CPU (then moved to `device` and cast to `dtype`). */
int32_t clif_tensor_randn(const int64_t *shape, int32_t ndim, int64_t seed, int32_t dtype,
                          int32_t device, clif_tensor *out);
/* Copies the tensor's elements, row-major, into `dst` (nbytes must equal numel * element size). */
int32_t clif_tensor_copy_to(clif_tensor t, void *dst, int64_t nbytes);
/* Frees the handle (NULL is ignored). Never fails. */
void clif_tensor_free(clif_tensor t);

int32_t clif_tensor_ndim(clif_tensor t, int32_t *out_ndim);
/* Writes min(ndim, capacity) sizes into out_shape. */
int32_t clif_tensor_shape(clif_tensor t, int64_t *out_shape, int32_t capacity);
int32_t clif_tensor_dtype(clif_tensor t, int32_t *out_dtype);
int32_t clif_tensor_device(clif_tensor t, int32_t *out_device);
int32_t clif_tensor_numel(clif_tensor t, int64_t *out_numel);

/* A copy on `device` with `dtype` (shares storage when nothing changes, as at::Tensor::to does). */
int32_t clif_tensor_to(clif_tensor t, int32_t device, int32_t dtype, clif_tensor *out);
/* A deep copy (own storage). */
int32_t clif_tensor_clone(clif_tensor t, clif_tensor *out);
/* The same data viewed with another shape (copies if the layout needs it). */
int32_t clif_tensor_reshape(clif_tensor t, const int64_t *shape, int32_t ndim, clif_tensor *out);

/* out = alpha * a + beta * b (shapes broadcast). */
int32_t clif_tensor_axpby(double alpha, clif_tensor a, double beta, clif_tensor b, clif_tensor *out);
/* out = alpha * a. */
int32_t clif_tensor_scale(clif_tensor a, double alpha, clif_tensor *out);
/* out = a * b element-wise (shapes broadcast). */
int32_t clif_tensor_mul(clif_tensor a, clif_tensor b, clif_tensor *out);
/* out = min(max(a, lo), hi). */
int32_t clif_tensor_clamp(clif_tensor a, double lo, double hi, clif_tensor *out);
/* Concatenates `count` tensors along `dim`. */
int32_t clif_tensor_cat(const clif_tensor *tensors, int32_t count, int64_t dim, clif_tensor *out);
/* The slice [start, start + length) of dimension `dim` (a view: shares storage). */
int32_t clif_tensor_narrow(clif_tensor t, int64_t dim, int64_t start, int64_t length, clif_tensor *out);
/* Keeps the gradient of a computed (non-leaf) tensor after backward, for clif_tensor_grad. */
int32_t clif_tensor_retain_grad(clif_tensor t);
/* The same data cut from the autograd graph (a new leaf that requires no gradient). */
int32_t clif_tensor_detach(clif_tensor t, clif_tensor *out);
/* Largest |a - b| as a double (shapes must match). */
int32_t clif_tensor_max_abs_diff(clif_tensor a, clif_tensor b, double *out);
/* 1 if every element is finite (always 1 for integer dtypes). */
int32_t clif_tensor_all_finite(clif_tensor t, int32_t *out);
/* Sum of a * b over all elements, accumulated in double on the tensors' device (shapes must match; no gradient;
 * 0 for empty tensors). With a == b: the sum of squares. */
int32_t clif_tensor_dot(clif_tensor a, clif_tensor b, double *out);
/* Matrix product of two 2-D tensors, [n, k] x [k, m] -> [n, m] (tracked by autograd). */
int32_t clif_tensor_matmul(clif_tensor a, clif_tensor b, clif_tensor *out);
/* The 2-D tensor's transpose [m, n] for [n, m] (a view; tracked by autograd). */
int32_t clif_tensor_transpose(clif_tensor t, clif_tensor *out);
/* t += alpha * other, in place and outside autograd (for adding a regulariser's gradient to a parameter's
 * gradient). Shapes, devices and dtypes must match. */
int32_t clif_tensor_add_scaled_(clif_tensor t, double alpha, clif_tensor other);

/* Number of tensor handles alive in this process (for leak checks). */
int64_t clif_tensor_live_count(void);

/* ---- module: what every model has in common ------------------------------------------------------
   Models are created by their family's constructor (clif_unet_new, ...) from a config, with zeroed
   float32 parameters on the CPU named exactly as in diffusers/transformers checkpoints; the loader
   fills them by name. Names are passed as (pointer, byte length), UTF-8, no terminator needed. */

void clif_module_free(clif_module m);
/* The module's kind ("unet", "clip_text", ...); writes at most `capacity` bytes, *out_len = full length. */
int32_t clif_module_kind(clif_module m, char *buf, int64_t capacity, int64_t *out_len);
int32_t clif_module_param_count(clif_module m, int64_t *out_count);
/* Name of parameter `index` (registration order); same buffer convention as clif_module_kind. */
int32_t clif_module_param_name(clif_module m, int64_t index, char *buf, int64_t capacity, int64_t *out_len);
/* A handle sharing the parameter's storage. */
int32_t clif_module_param_get(clif_module m, const char *name, int64_t name_len, clif_tensor *out);
/* Copies `value` into the parameter; its shape must match exactly (dtype and device are converted). */
int32_t clif_module_param_set(clif_module m, const char *name, int64_t name_len, clif_tensor value);
/* Moves every parameter to `device` and casts it to `dtype`, in place. */
int32_t clif_module_to(clif_module m, int32_t device, int32_t dtype);
int32_t clif_module_set_requires_grad(clif_module m, const char *name, int64_t name_len, int32_t requires_grad);
/* The accumulated gradient of a parameter (fails when it has none). */
int32_t clif_module_param_grad(clif_module m, const char *name, int64_t name_len, clif_tensor *out);
/* Drops every parameter's gradient. */
int32_t clif_module_zero_grad(clif_module m);

/* ---- clip --------------------------------------------------------------------------------------
   transformers' CLIPTextModel ("clip_text" modules: SD's text encoder) and CLIPModel ("clip" modules:
   vision + text towers + projections, the loss model of the purge). Configs are the normalised JSON
   written by dev.clif.model.ClipTextConfig / ClipConfig.toNativeJson(). input_ids: int64 [batch, seq];
   attention_mask: NULL (causal mask only, as StableDiffusionPipeline) or [batch, seq] of 0/1.
   `grad` non-zero records autograd (pass it for the tensors you will backpropagate through). */

int32_t clif_clip_text_new(const char *config_json, int64_t config_len, clif_module *out);
/* last_hidden = final_layer_norm(hidden_states[-(clip_skip + 1)]) [batch, seq, hidden] (clip_skip 0: the
   last layer, 1: the penultimate, as diffusers' clip_skip); pooled = the final-layer-normed last layer at
   the EOS position [batch, hidden]. Either output may be NULL (not computed). */
int32_t clif_clip_text_forward(clif_module m, clif_tensor input_ids, clif_tensor attention_mask, int32_t clip_skip,
                               int32_t grad, clif_tensor *out_last_hidden, clif_tensor *out_pooled);
/* The same forward from token embeddings instead of ids (transformers' inputs_embeds): inputs_embeds
   [batch, seq, hidden] (floating point; converted to the model's dtype and device, differentiably, so with
   grad = 1 a backward reaches the caller's tensor), position embeddings added inside. Outputs are
   bit-identical to clif_clip_text_forward when inputs_embeds = token_embedding(ids). eos_positions: integer
   [batch], where each row's pooled output is taken (may be NULL when out_pooled is NULL). */
int32_t clif_clip_text_forward_embeds(clif_module m, clif_tensor inputs_embeds, clif_tensor eos_positions,
                                      clif_tensor attention_mask, int32_t clip_skip, int32_t grad,
                                      clif_tensor *out_last_hidden, clif_tensor *out_pooled);
/* transformers' hidden_states[index] (0 = embeddings, num_hidden_layers = last layer), before final_layer_norm. */
int32_t clif_clip_text_hidden_state(clif_module m, clif_tensor input_ids, clif_tensor attention_mask, int32_t index,
                                    int32_t grad, clif_tensor *out);
/* One pass for SDXL's prompt encoding: hidden_states[index] before final_layer_norm (as clif_clip_text_hidden_state)
   and the pooled output at the EOS position of the final-layer-normed last layer, through text_projection (no bias)
   when the config says "with_projection" (CLIPTextModelWithProjection's text_embeds), else unprojected. Either
   output may be NULL. */
int32_t clif_clip_text_encode(clif_module m, clif_tensor input_ids, clif_tensor attention_mask, int32_t index,
                              int32_t grad, clif_tensor *out_hidden, clif_tensor *out_pooled);

int32_t clif_clip_new(const char *config_json, int64_t config_len, clif_module *out);
/* get_image_features: visual_projection(post_layernorm(class token)) [batch, projection_dim], unnormalised.
   pixel_values: [batch, channels, image_size, image_size], already normalised. */
int32_t clif_clip_image_features(clif_module m, clif_tensor pixel_values, int32_t grad, clif_tensor *out);
/* get_text_features: text_projection(pooled) [batch, projection_dim], unnormalised. */
int32_t clif_clip_text_features(clif_module m, clif_tensor input_ids, clif_tensor attention_mask, int32_t grad,
                                clif_tensor *out);
/* The vision tower: last_hidden_state [batch, 1 + patches, hidden] and pooled = post_layernorm(class token).
   Either output may be NULL. */
int32_t clif_clip_vision_forward(clif_module m, clif_tensor pixel_values, int32_t grad, clif_tensor *out_last_hidden,
                                 clif_tensor *out_pooled);
/* CLIPModel.forward: normalised embeddings and exp(logit_scale)-scaled cosine logits; any output may be NULL. */
int32_t clif_clip_forward(clif_module m, clif_tensor pixel_values, clif_tensor input_ids, clif_tensor attention_mask,
                          int32_t grad, clif_tensor *out_logits_per_image, clif_tensor *out_logits_per_text,
                          clif_tensor *out_image_embeds, clif_tensor *out_text_embeds);
/* The differentiable preprocessing of the CLIP loss: images in [0, 1], [batch, channels, h, w] ->
   F.interpolate(size=(height, width), mode='bicubic', align_corners=False) (skipped when the size already
   matches) -> (x - mean) / std per channel (mean/std: `channels` doubles each, used as float32 values). */
int32_t clif_clip_preprocess(clif_tensor images, int64_t height, int64_t width, const double *mean, const double *std,
                             int32_t channels, int32_t grad, clif_tensor *out);

/* ---- vae ---------------------------------------------------------------------------------------
   diffusers' AutoencoderKL ("vae" modules). Config: the normalised JSON of dev.clif.model.VaeConfig. */

int32_t clif_vae_new(const char *config_json, int64_t config_len, clif_module *out);
/* decoder(post_quant_conv(latents)): latents already divided by scaling_factor, [batch, latent_channels, h, w]
   -> images nominally in [-1, 1], [batch, out_channels, h * f, w * f] (not clamped). */
int32_t clif_vae_decode(clif_module m, clif_tensor latents, int32_t grad, clif_tensor *out);
/* quant_conv(encoder(images)) split into the posterior's mean and logvar (clamped to [-30, 20]);
   images in [-1, 1], [batch, in_channels, h, w] with h, w multiples of the downscale factor. */
int32_t clif_vae_encode(clif_module m, clif_tensor images, int32_t grad, clif_tensor *out_mean, clif_tensor *out_logvar);

/* ---- unet ---------------------------------------------------------------------------------------
   UNet2DConditionModel of diffusers 0.25 (SD 1.x / 2.x / XL), parameters named exactly as diffusers names them. */

/* A UNet with zeroed float32 parameters on the CPU, built from the normalized config JSON that
   dev.clif.model.UNetConfig.toNativeJson() writes (every per-block list expanded, heads resolved). */
int32_t clif_unet_new(const char *config_json, int64_t config_len, clif_module *out);
/* sample [B, in_channels, H, W]; timesteps 0-dim, [1] or [B], integer or floating point (the sinusoidal
   embedding is computed in float32, as diffusers does); encoder_hidden_states [B, T, cross_attention_dim].
   grad 0 runs without recording autograd; 1 records it (for clif_autograd_backward). */
int32_t clif_unet_forward(clif_module unet, clif_tensor sample, clif_tensor timesteps,
                          clif_tensor encoder_hidden_states, int32_t grad, clif_tensor *out);
/* As clif_unet_forward with the added conditioning of an addition_embed_type "text_time" UNet (SDXL):
   text_embeds [B, P] (the pooled text projection) and time_ids [B, K] (original size, crop top-left, target
   size); aug_emb = add_embedding(cat(text_embeds, flatten(add_time_proj(time_ids)))) joins the time embedding.
   Both NULL for a UNet without added conditioning; a text_time UNet fails without them (clif_unet_forward too). */
int32_t clif_unet_forward_added(clif_module unet, clif_tensor sample, clif_tensor timesteps,
                                clif_tensor encoder_hidden_states, clif_tensor text_embeds, clif_tensor time_ids,
                                int32_t grad, clif_tensor *out);
/* Gradient checkpointing of every resnet and transformer (recomputed in backward; only with grad = 1). */
int32_t clif_unet_set_gradient_checkpointing(clif_module unet, int32_t enabled);

/* ---- autograd ------------------------------------------------------------------------------------- */

/* Marks a leaf floating-point tensor as requiring (flag 1) or not requiring (0) a gradient, in place. */
int32_t clif_tensor_set_requires_grad(clif_tensor t, int32_t flag);
/* The gradient accumulated into a tensor by backward (fails when it has none). */
int32_t clif_tensor_grad(clif_tensor t, clif_tensor *out);
/* Back-propagates from `output`, seeded with grad_output (same shape); NULL only for a one-element output
   (seed 1). Gradients accumulate into every leaf that requires grad. */
int32_t clif_autograd_backward(clif_tensor output, clif_tensor grad_output);

/* ---- autocast: mixed precision ------------------------------------------------------------------
   While a region is open on this thread, libtorch's autocast runs the matrix products and convolutions of
   the forwards in `dtype` (CLIF_F16 on CUDA only, CLIF_BF16 on CUDA or the CPU) on `device`'s kind, and
   keeps precision-sensitive ops (norms, softmax, reductions) in float32. float32 parameters stay float32
   (master weights) and get float32 gradients. Regions nest; each begin needs an end on the same thread.
   Run backward outside the region. */
int32_t clif_autocast_begin(int32_t device, int32_t dtype);
int32_t clif_autocast_end(void);
/* How many regions are open on this thread. */
int32_t clif_autocast_depth(int32_t *out_depth);

/* ---- optim: AdamW over selected parameters ------------------------------------------------------
   PyTorch's AdamW update (decoupled weight decay, bias correction), with optional clipping of the global
   gradient norm. The state can be read and restored for checkpoints; restoring it reproduces a run. */

/* AdamW over the named parameters of `m` (they are marked requires_grad). Names as (pointer, length) pairs. */
int32_t clif_optim_adamw_new(clif_module m, const char *const *names, const int64_t *name_lens, int32_t count,
                             double lr, double beta1, double beta2, double eps, double weight_decay, clif_optim *out);
void clif_optim_free(clif_optim o);
/* One update from the accumulated gradients. max_grad_norm > 0 clips the global norm first; the norm
   before clipping is written to out_grad_norm (may be NULL). A non-finite norm fails and changes nothing. */
int32_t clif_optim_step(clif_optim o, double max_grad_norm, double *out_grad_norm);
/* Multiplies every gradient by `inv_scale` in place (undoing a loss scale) and sets *out_found_inf to 1 when
   any gradient holds an inf or NaN afterwards (the step should then be skipped), else 0. */
int32_t clif_optim_unscale_grads(clif_optim o, double inv_scale, int32_t *out_found_inf);
int32_t clif_optim_zero_grad(clif_optim o);
int32_t clif_optim_set_lr(clif_optim o, double lr);
int32_t clif_optim_param_count(clif_optim o, int64_t *out_count);
/* Copies of the moment estimates of parameter `index` (creation order) and the step count. */
int32_t clif_optim_get_state(clif_optim o, int64_t index, clif_tensor *out_exp_avg, clif_tensor *out_exp_avg_sq,
                             int64_t *out_step);
int32_t clif_optim_set_state(clif_optim o, int64_t index, clif_tensor exp_avg, clif_tensor exp_avg_sq, int64_t step);

/* ---- routes: which kernel runs an op ------------------------------------------------------------
   Where two kernels compute the same op on the CPU in float32 (dense: "onednn" | "blas"; attention: "fused" |
   "matmul", fused only without autograd; conv1x1: "onednn" | "blas"), the first call of each problem key
   "<op> <dim>=<size>... <dtype> t=<threads>" times the valid routes on its real inputs and keeps the faster
   (one line on stderr per decision), unless an override forces a route. The table is process-wide. */

/* The table as text, one decision a line: "<key>\t<winner>\t<route>=<median ms>\t..." (every candidate timed).
   Buffer convention as clif_module_kind: at most `capacity` bytes written, *out_len = the full length. */
int32_t clif_routes_dump(char *buf, int64_t capacity, int64_t *out_len);
/* Adds the decisions in `text` (clif_routes_dump's format; blank and '#' lines skipped), replacing those with the
   same key. A bad line fails naming its number and what is wrong, and adds nothing. out_count may be NULL. */
int32_t clif_routes_load(const char *text, int64_t len, int64_t *out_count);
/* Forgets every decision (the next call of each key times again). */
int32_t clif_routes_clear(void);
/* Sets the overrides from "op=route,..." (route: one of the op's routes or "calibrate", the default); ops not
   named calibrate. A forced route runs without timing where it is valid (else the valid one runs). A bad token
   fails naming it, changing nothing. */
int32_t clif_routes_set_override(const char *spec, int64_t len);

#ifdef __cplusplus
}
#endif

#endif /* CLIF_H */
