package dev.clif.io;

import dev.clif.ClifException;
import dev.clif.tensor.DType;

import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A Stable Diffusion checkpoint in the original CompVis / AUTOMATIC1111 / ComfyUI single-file layout
 * ({@code model.diffusion_model.*}, {@code first_stage_model.*}, {@code cond_stage_model.transformer.*} for SD 1.x,
 * SD 2.x's OpenCLIP {@code cond_stage_model.model.*} with fused {@code in_proj} weights), read as the three diffusers
 * components Clif's loaders know ({@code unet}, {@code vae}, {@code text_encoder}) under diffusers' names.
 *
 * <p>Nothing is copied: each diffusers tensor is a view of bytes in the memory-mapped file. A rename keeps the bytes;
 * the VAE's 1×1-conv attention weights ({@code [C, C, 1, 1]}, biases {@code [C, 1, 1]}) become {@code [C, C]} and
 * {@code [C]} with the same bytes; the q, k and v of a fused {@code in_proj_weight [3D, D]} are its three contiguous row
 * blocks. The mapping is the exact inverse of diffusers v0.25.1's
 * {@code scripts/convert_diffusers_to_original_stable_diffusion.py}, which {@link #toSingleFile} reproduces (names,
 * shapes, values), and every name read is checked to map back to itself.
 *
 * <p>The family comes from the keys: a {@code cond_stage_model.transformer.*} text encoder is SD 1.x (CLIP ViT-L/14),
 * {@code cond_stage_model.model.*} SD 2.x (OpenCLIP ViT-H/14), {@code conditioner.embedders.0.transformer.*} (CLIP
 * ViT-L/14) with {@code conditioner.embedders.1.model.*} (OpenCLIP ViT-bigG/14, fused {@code in_proj}, its
 * {@code text_projection}) SDXL, whose UNet has three levels and {@code label_emb} (diffusers' {@code add_embedding}):
 * the inverse of diffusers v0.25.1's {@code scripts/convert_diffusers_to_original_sdxl.py}, which writes
 * {@code text_projection.weight} as diffusers holds it; Stability's own files hold {@code text_projection} transposed
 * ({@code x @ P}), read as a transposed copy (the one tensor not a view). Other layouts (the SDXL refiner's lone
 * OpenCLIP) are refused by name. Pickled {@code .ckpt}/{@code .bin}/{@code .pt} files are refused, never unpickled.
 */
public final class SingleFileCheckpoint implements AutoCloseable {
    public static final String UNET_PREFIX = "model.diffusion_model.";
    public static final String VAE_PREFIX = "first_stage_model.";
    public static final String CLIP_PREFIX = "cond_stage_model.transformer.";
    public static final String OPENCLIP_PREFIX = "cond_stage_model.model.";
    public static final String XL_CLIP_PREFIX = "conditioner.embedders.0.transformer.";
    public static final String XL_OPENCLIP_PREFIX = "conditioner.embedders.1.model.";
    /** The components of an SD 1.x/2.x file. */
    public static final List<String> COMPONENTS = List.of("unet", "vae", "text_encoder");
    /** The components of an SDXL file (and every component a view may name). */
    public static final List<String> XL_COMPONENTS = List.of("unet", "vae", "text_encoder", "text_encoder_2");

    /** The model family a single file's keys show. */
    public enum Family {
        SD1("SD 1.x"), SD2("SD 2.x"), XL("SDXL");

        public final String label;

        Family(String label) {
            this.label = label;
        }
    }

    private final SafetensorsFile file;
    private final Family family;
    private final Map<String, List<SafetensorsWriter.Entry>> components;
    private final List<String> skipped;

    private SingleFileCheckpoint(SafetensorsFile file, Family family, Map<String, List<SafetensorsWriter.Entry>> components,
                                 List<String> skipped) {
        this.file = file;
        this.family = family;
        this.components = components;
        this.skipped = skipped;
    }

    /** Whether {@code p} names a single-file checkpoint (by its name: a .safetensors, .ckpt, .bin, .pt or .pth file). */
    public static boolean looksLikeSingleFile(Path p) {
        String n = p.getFileName() == null ? "" : p.getFileName().toString().toLowerCase(Locale.ROOT);
        return !Files.isDirectory(p) && (n.endsWith(".safetensors") || isPickleName(n));
    }

    private static boolean isPickleName(String n) {
        return n.endsWith(".ckpt") || n.endsWith(".bin") || n.endsWith(".pt") || n.endsWith(".pth") || n.endsWith(".pkl");
    }

    /** The refusal of a pickled checkpoint, with the one-line conversion. */
    public static ClifException pickleRefusal(Path p) {
        return new ClifException(p + ": a pickled checkpoint; Clif never unpickles files (they can run code). Convert it once: "
                + "python -c \"import torch, safetensors.torch as s; d = torch.load('" + p.getFileName()
                + "', map_location='cpu', weights_only=True); s.save_file(d.get('state_dict', d), '"
                + p.getFileName().toString().replaceFirst("\\.[^.]+$", "") + ".safetensors')\"");
    }

    /** Opens and maps the file, infers the family and maps every tensor to its diffusers component and name. */
    public static SingleFileCheckpoint open(Path path) {
        String n = path.getFileName() == null ? "" : path.getFileName().toString().toLowerCase(Locale.ROOT);
        if (isPickleName(n)) throw pickleRefusal(path);
        SafetensorsFile f = SafetensorsFile.open(path);
        try {
            return read(f);
        } catch (RuntimeException e) {
            f.close();
            throw e;
        }
    }

    private static SingleFileCheckpoint read(SafetensorsFile f) {
        boolean clip = false, openClip = false, unet = false, vae = false, xlClip = false, xlOpenClip = false;
        for (String name : f.names()) {
            if (name.startsWith(CLIP_PREFIX)) clip = true;
            else if (name.startsWith(OPENCLIP_PREFIX)) openClip = true;
            else if (name.startsWith(UNET_PREFIX)) unet = true;
            else if (name.startsWith(VAE_PREFIX)) vae = true;
            else if (name.startsWith(XL_CLIP_PREFIX)) xlClip = true;
            else if (name.startsWith(XL_OPENCLIP_PREFIX)) xlOpenClip = true;
            else if (name.startsWith("conditioner.embedders."))
                throw new ClifException(f.path() + ": tensor '" + name + "': an SDXL layout Clif does not read (the refiner's lone "
                        + "OpenCLIP?); Clif reads SDXL base files (conditioner.embedders.0.transformer.* and conditioner.embedders.1.model.*)");
        }
        if (xlClip || xlOpenClip) {
            if (!(xlClip && xlOpenClip))
                throw new ClifException(f.path() + ": an SDXL file needs both text encoders, " + XL_CLIP_PREFIX + "* and " + XL_OPENCLIP_PREFIX
                        + "*; it has only " + (xlClip ? XL_CLIP_PREFIX : XL_OPENCLIP_PREFIX) + "*");
            if (clip || openClip)
                throw new ClifException(f.path() + ": holds both SDXL (conditioner.embedders.*) and SD 1.x/2.x (cond_stage_model.*) text encoders");
            clip = true;
        }
        if (!unet || !vae || !(clip || openClip))
            throw new ClifException(f.path() + ": not a Stable Diffusion single-file checkpoint: it lacks "
                    + (!unet ? UNET_PREFIX + "* (the UNet)" : !vae ? VAE_PREFIX + "* (the VAE)" : "cond_stage_model.* (the text encoder)")
                    + " (found " + f.names().size() + " tensors" + (f.names().isEmpty() ? "" : ", e.g. '" + f.names().get(0) + "'") + ")");
        if (clip && openClip)
            throw new ClifException(f.path() + ": holds both " + CLIP_PREFIX + "* and " + OPENCLIP_PREFIX + "* text encoders");
        Family family = xlClip ? Family.XL : clip ? Family.SD1 : Family.SD2;
        Map<String, List<SafetensorsWriter.Entry>> comps = new LinkedHashMap<>();
        for (String c : family == Family.XL ? XL_COMPONENTS : COMPONENTS) comps.put(c, new ArrayList<>());
        List<String> skipped = new ArrayList<>();
        for (String name : f.names()) {
            TensorInfo info = f.info(name);
            if (name.startsWith(UNET_PREFIX)) {
                String orig = name.substring(UNET_PREFIX.length());
                String hf = unetToDiffusers(orig, family);
                if (!unetToOriginal(hf, family).equals(orig))
                    throw new ClifException(f.path() + ": tensor '" + name + "' has no diffusers UNet name (read as '" + hf + "')");
                comps.get("unet").add(new SafetensorsWriter.Entry(hf, info.dtype(), info.shape(), f.bytes(name)));
            } else if (name.startsWith(VAE_PREFIX)) {
                String orig = name.substring(VAE_PREFIX.length());
                String hf = vaeToDiffusers(orig);
                if (!vaeToOriginal(hf).equals(orig))
                    throw new ClifException(f.path() + ": tensor '" + name + "' has no diffusers VAE name (read as '" + hf + "')");
                long[] shape = info.shape();
                if (hf.startsWith("encoder.mid_block.attentions.0.to_") || hf.startsWith("decoder.mid_block.attentions.0.to_")) {
                    int keep = hf.endsWith(".weight") ? 2 : 1; // 1x1 convs as linears: [C, C, 1, 1] -> [C, C], [C, 1, 1] -> [C]
                    for (int i = keep; i < shape.length; i++)
                        if (shape[i] != 1)
                            throw new ClifException(f.path() + ": tensor '" + name + "' has shape " + Arrays.toString(shape)
                                    + ", not a 1x1 attention projection");
                    if (shape.length < keep)
                        throw new ClifException(f.path() + ": tensor '" + name + "' has shape " + Arrays.toString(shape));
                    shape = Arrays.copyOf(shape, keep);
                }
                comps.get("vae").add(new SafetensorsWriter.Entry(hf, info.dtype(), shape, f.bytes(name)));
            } else if (name.startsWith(CLIP_PREFIX) || name.startsWith(XL_CLIP_PREFIX)) {
                String hf = name.substring(name.startsWith(CLIP_PREFIX) ? CLIP_PREFIX.length() : XL_CLIP_PREFIX.length());
                if (!hf.startsWith("text_model.")) hf = "text_model." + hf; // transformers < 4.x saved without text_model.
                comps.get("text_encoder").add(new SafetensorsWriter.Entry(hf, info.dtype(), info.shape(), f.bytes(name)));
            } else if (name.startsWith(XL_OPENCLIP_PREFIX) && name.substring(XL_OPENCLIP_PREFIX.length()).startsWith("text_projection")) {
                String orig = name.substring(XL_OPENCLIP_PREFIX.length());
                long[] s = info.shape();
                if (s.length != 2 || !(orig.equals("text_projection") || orig.equals("text_projection.weight")))
                    throw new ClifException(f.path() + ": tensor '" + name + "' with shape " + Arrays.toString(s) + " is not the text projection");
                MemorySegment bytes = f.bytes(name);
                long[] shape = s;
                if (orig.equals("text_projection")) { // Stability's x @ P: diffusers' Linear weight is P^T
                    bytes = transposed(bytes, s, info.dtype().byteSize);
                    shape = new long[] {s[1], s[0]};
                }
                comps.get("text_encoder_2").add(new SafetensorsWriter.Entry("text_projection.weight", info.dtype(), shape, bytes));
            } else if (name.startsWith(OPENCLIP_PREFIX) || name.startsWith(XL_OPENCLIP_PREFIX)) {
                boolean xl = name.startsWith(XL_OPENCLIP_PREFIX);
                String component = xl ? "text_encoder_2" : "text_encoder";
                String orig = name.substring(xl ? XL_OPENCLIP_PREFIX.length() : OPENCLIP_PREFIX.length());
                Matcher m = IN_PROJ.matcher(orig);
                if (m.matches()) {
                    long[] s = info.shape();
                    boolean weight = m.group(2).equals("weight");
                    if (s.length != (weight ? 2 : 1) || s[0] % 3 != 0 || (weight && s[1] * 3 != s[0]))
                        throw new ClifException(f.path() + ": tensor '" + name + "' has shape " + Arrays.toString(s)
                                + ", not a fused q/k/v projection [3D" + (weight ? ", D]" : "]"));
                    long d = s[0] / 3;
                    long rowBytes = (weight ? s[1] : 1) * d * info.dtype().byteSize;
                    String pre = openClipToDiffusers("transformer.resblocks." + m.group(1) + ".attn") + ".";
                    String[] qkv = {"q_proj", "k_proj", "v_proj"};
                    for (int i = 0; i < 3; i++) {
                        long[] shape = weight ? new long[] {d, s[1]} : new long[] {d};
                        comps.get(component).add(new SafetensorsWriter.Entry(pre + qkv[i] + "." + m.group(2), info.dtype(), shape,
                                f.bytes(name).asSlice(i * rowBytes, rowBytes)));
                    }
                    continue;
                }
                String hf = openClipToDiffusers(orig);
                if (hf == null) {
                    skipped.add(name); // text_projection (SD 2.x), logit_scale, attn_mask: not part of diffusers' text encoder
                    continue;
                }
                comps.get(component).add(new SafetensorsWriter.Entry(hf, info.dtype(), info.shape(), f.bytes(name)));
            } else {
                skipped.add(name); // e.g. model_ema.*, alphas_cumprod: not weights of the three components
            }
        }
        for (var e : comps.entrySet()) e.setValue(List.copyOf(e.getValue()));
        return new SingleFileCheckpoint(f, family, comps, List.copyOf(skipped));
    }

    public Path path() {
        return file.path();
    }

    SafetensorsFile file() {
        return file;
    }

    public Family family() {
        return family;
    }

    /** The tensors of a component ("unet", "vae", "text_encoder", SDXL's "text_encoder_2") under diffusers' names, as views of the file. */
    public List<SafetensorsWriter.Entry> component(String name) {
        List<SafetensorsWriter.Entry> c = components.get(name);
        if (c == null) throw new IllegalArgumentException("no component '" + name + "' (use " + components() + ")");
        return c;
    }

    /** The diffusers components this file holds ({@link #COMPONENTS}, or {@link #XL_COMPONENTS} for SDXL). */
    public List<String> components() {
        return List.copyOf(components.keySet());
    }

    /** A row-major [r, c] tensor's bytes as [c, r] (a heap copy). */
    private static MemorySegment transposed(MemorySegment src, long[] shape, long elem) {
        long r = shape[0], c = shape[1];
        MemorySegment out = MemorySegment.ofArray(new byte[Math.toIntExact(r * c * elem)]);
        for (long i = 0; i < r; i++)
            for (long j = 0; j < c; j++) MemorySegment.copy(src, (i * c + j) * elem, out, (j * r + i) * elem, elem);
        return out;
    }

    /** The width and layer count of SDXL's second text encoder (0, 0 for SD 1.x/2.x). */
    public long[] text2Shape() {
        if (family != Family.XL) return new long[] {0, 0};
        long width = 0;
        int max = -1;
        Pattern p = Pattern.compile("text_model\\.encoder\\.layers\\.(\\d+)\\..*");
        for (SafetensorsWriter.Entry e : component("text_encoder_2")) {
            if (e.name().equals("text_model.embeddings.token_embedding.weight")) width = e.shape()[1];
            Matcher m = p.matcher(e.name());
            if (m.matches()) max = Math.max(max, Integer.parseInt(m.group(1)));
        }
        return new long[] {width, max + 1};
    }

    /** Tensors in the file that belong to none of the three components (EMA weights, OpenCLIP's projection, …). */
    public List<String> skipped() {
        return skipped;
    }

    /** The width of the text encoder's hidden states, read from its token embedding. */
    public long textHiddenSize() {
        for (SafetensorsWriter.Entry e : component("text_encoder"))
            if (e.name().equals("text_model.embeddings.token_embedding.weight")) return e.shape()[1];
        throw new ClifException(path() + ": the text encoder has no token embedding");
    }

    /** The number of text encoder layers the file holds. */
    public int textLayers() {
        int max = -1;
        Pattern p = Pattern.compile("text_model\\.encoder\\.layers\\.(\\d+)\\..*");
        for (SafetensorsWriter.Entry e : component("text_encoder")) {
            Matcher m = p.matcher(e.name());
            if (m.matches()) max = Math.max(max, Integer.parseInt(m.group(1)));
        }
        return max + 1;
    }

    /** The width of the UNet's cross-attention context (768 for SD 1.x, 1024 for SD 2.x). */
    public long crossAttentionDim() {
        for (SafetensorsWriter.Entry e : component("unet"))
            if (e.name().endsWith("attn2.to_k.weight")) return e.shape()[1];
        throw new ClifException(path() + ": the UNet has no cross-attention");
    }

    /** The UNet's first block width (320 for the standard architectures). */
    public long unetBaseChannels() {
        for (SafetensorsWriter.Entry e : component("unet")) if (e.name().equals("conv_in.weight")) return e.shape()[0];
        throw new ClifException(path() + ": the UNet has no conv_in.weight");
    }

    /** Whether the UNet projects in and out of its transformers with linears (SD 2.x) or 1x1 convs (SD 1.x). */
    public boolean unetLinearProjection() {
        for (SafetensorsWriter.Entry e : component("unet"))
            if (e.name().endsWith("attentions.0.proj_in.weight")) return e.shape().length == 2;
        return false;
    }

    /** Writes each component's weights as diffusers names them ({@code unet/diffusion_pytorch_model.safetensors} …). */
    public void writeWeights(Path folder) {
        for (String c : components())
            SafetensorsWriter.write(folder.resolve(c).resolve(weightFileName(c)), component(c), Map.of("format", "pt"));
    }

    public static String weightFileName(String component) {
        return component.startsWith("text_encoder") ? "model.safetensors" : "diffusion_pytorch_model.safetensors";
    }

    @Override
    public void close() {
        file.close();
    }

    // ---- diffusers -> original (scripts/convert_diffusers_to_original_stable_diffusion.py, v0.25.1) ----------

    /** The single-file tensors for diffusers' components: exactly what diffusers' conversion script writes. */
    public static List<SafetensorsWriter.Entry> toSingleFile(List<SafetensorsWriter.Entry> unet, List<SafetensorsWriter.Entry> vae,
                                                            List<SafetensorsWriter.Entry> textEncoder) {
        return toSingleFile(unet, vae, textEncoder, null);
    }

    /**
     * As above; with {@code textEncoder2} (SDXL's CLIPTextModelWithProjection) what diffusers' convert_diffusers_to_original_sdxl.py
     * writes: the three-level UNet map with label_emb, the CLIP-L under conditioner.embedders.0.transformer., the
     * OpenCLIP under conditioner.embedders.1.model. (fused in_proj, text_projection.weight as diffusers holds it).
     */
    public static List<SafetensorsWriter.Entry> toSingleFile(List<SafetensorsWriter.Entry> unet, List<SafetensorsWriter.Entry> vae,
                                                            List<SafetensorsWriter.Entry> textEncoder, List<SafetensorsWriter.Entry> textEncoder2) {
        Family family = textEncoder2 != null ? Family.XL : Family.SD1;
        List<SafetensorsWriter.Entry> out = new ArrayList<>();
        for (SafetensorsWriter.Entry e : unet)
            out.add(new SafetensorsWriter.Entry(UNET_PREFIX + unetToOriginal(e.name(), family), e.dtype(), e.shape(), e.data()));
        out.addAll(vaeToSingleFile(vae));
        if (family == Family.XL) {
            for (SafetensorsWriter.Entry e : textEncoder)
                out.add(new SafetensorsWriter.Entry(XL_CLIP_PREFIX + e.name(), e.dtype(), e.shape(), e.data()));
            out.addAll(openClipFromDiffusers(textEncoder2, XL_OPENCLIP_PREFIX, "", OPENCLIP_MAP_XL, OPENCLIP_PATTERN_XL));
            return out;
        }
        boolean v20 = textEncoder.stream().anyMatch(e -> e.name().equals("text_model.encoder.layers.22.layer_norm2.bias"));
        if (!v20) {
            for (SafetensorsWriter.Entry e : textEncoder)
                out.add(new SafetensorsWriter.Entry(CLIP_PREFIX + e.name(), e.dtype(), e.shape(), e.data()));
        } else {
            out.addAll(openClipFromDiffusers(textEncoder));
        }
        return out;
    }

    /** convert_vae_state_dict with reshape_weight_for_sd, the first_stage_model. prefix added. */
    private static List<SafetensorsWriter.Entry> vaeToSingleFile(List<SafetensorsWriter.Entry> vae) {
        List<SafetensorsWriter.Entry> out = new ArrayList<>();
        for (SafetensorsWriter.Entry e : vae) {
            String name = vaeToOriginal(e.name());
            long[] shape = e.shape();
            if (VAE_ATTN_ORIGINAL.matcher(name).matches()) { // reshape_weight_for_sd: w.reshape(*w.shape, 1, 1)
                shape = Arrays.copyOf(shape, shape.length + 2);
                shape[shape.length - 1] = shape[shape.length - 2] = 1;
            }
            out.add(new SafetensorsWriter.Entry(VAE_PREFIX + name, e.dtype(), shape, e.data()));
        }
        return out;
    }

    static final List<String[]> UNET_MAP = List.of(
            new String[] {"time_embed.0.weight", "time_embedding.linear_1.weight"},
            new String[] {"time_embed.0.bias", "time_embedding.linear_1.bias"},
            new String[] {"time_embed.2.weight", "time_embedding.linear_2.weight"},
            new String[] {"time_embed.2.bias", "time_embedding.linear_2.bias"},
            new String[] {"input_blocks.0.0.weight", "conv_in.weight"},
            new String[] {"input_blocks.0.0.bias", "conv_in.bias"},
            new String[] {"out.0.weight", "conv_norm_out.weight"},
            new String[] {"out.0.bias", "conv_norm_out.bias"},
            new String[] {"out.2.weight", "conv_out.weight"},
            new String[] {"out.2.bias", "conv_out.bias"});
    /** SDXL's UNet adds the added-conditioning MLP (convert_diffusers_to_original_sdxl.py's unet_conversion_map). */
    static final List<String[]> UNET_MAP_XL = xlUnetMap();
    static final List<String[]> UNET_RESNET_MAP = List.of(
            new String[] {"in_layers.0", "norm1"},
            new String[] {"in_layers.2", "conv1"},
            new String[] {"out_layers.0", "norm2"},
            new String[] {"out_layers.3", "conv2"},
            new String[] {"emb_layers.1", "time_emb_proj"},
            new String[] {"skip_connection", "conv_shortcut"});
    static final List<String[]> UNET_LAYER_MAP = unetLayerMap();
    static final List<String[]> UNET_LAYER_MAP_XL = xlUnetLayerMap();
    static final List<String[]> VAE_MAP = vaeMap();
    static final List<String[]> VAE_ATTN_MAP = List.of(
            new String[] {"norm.", "group_norm."},
            new String[] {"q.", "query."},
            new String[] {"k.", "key."},
            new String[] {"v.", "value."},
            new String[] {"proj_out.", "proj_attn."});
    static final List<String[]> VAE_EXTRA_MAP = List.of(
            new String[] {"to_q", "q"},
            new String[] {"to_k", "k"},
            new String[] {"to_v", "v"},
            new String[] {"to_out.0", "proj_out"});
    private static final Pattern VAE_ATTN_ORIGINAL = Pattern.compile(".*mid\\.attn_1\\.(q|k|v|proj_out)\\.(weight|bias)");
    private static final Pattern IN_PROJ = Pattern.compile("transformer\\.resblocks\\.(\\d+)\\.attn\\.in_proj_(weight|bias)");

    private static List<String[]> unetLayerMap() {
        List<String[]> m = new ArrayList<>();
        for (int i = 0; i < 4; i++) {
            for (int j = 0; j < 2; j++) {
                m.add(new String[] {"input_blocks." + (3 * i + j + 1) + ".0.", "down_blocks." + i + ".resnets." + j + "."});
                if (i < 3) m.add(new String[] {"input_blocks." + (3 * i + j + 1) + ".1.", "down_blocks." + i + ".attentions." + j + "."});
            }
            for (int j = 0; j < 3; j++) {
                m.add(new String[] {"output_blocks." + (3 * i + j) + ".0.", "up_blocks." + i + ".resnets." + j + "."});
                if (i > 0) m.add(new String[] {"output_blocks." + (3 * i + j) + ".1.", "up_blocks." + i + ".attentions." + j + "."});
            }
            if (i < 3) {
                m.add(new String[] {"input_blocks." + (3 * (i + 1)) + ".0.op.", "down_blocks." + i + ".downsamplers.0.conv."});
                m.add(new String[] {"output_blocks." + (3 * i + 2) + "." + (i == 0 ? 1 : 2) + ".", "up_blocks." + i + ".upsamplers.0."});
            }
        }
        m.add(new String[] {"middle_block.1.", "mid_block.attentions.0."});
        for (int j = 0; j < 2; j++) m.add(new String[] {"middle_block." + (2 * j) + ".", "mid_block.resnets." + j + "."});
        return List.copyOf(m);
    }

    private static List<String[]> xlUnetMap() {
        List<String[]> m = new ArrayList<>(UNET_MAP);
        m.add(new String[] {"label_emb.0.0.weight", "add_embedding.linear_1.weight"});
        m.add(new String[] {"label_emb.0.0.bias", "add_embedding.linear_1.bias"});
        m.add(new String[] {"label_emb.0.2.weight", "add_embedding.linear_2.weight"});
        m.add(new String[] {"label_emb.0.2.bias", "add_embedding.linear_2.bias"});
        return List.copyOf(m);
    }

    /**
     * The SDXL script's three-level layer map: no attention in down_blocks.0 nor up_blocks.2. The script also looks
     * for a fourth up resnet ({@code up_blocks.i.resnets.3.}), which no SDXL UNet has and whose original name
     * {@code output_blocks.(3i+3).0.} is the next block's first resnet: left out, so the inverse stays one to one.
     * Its last entry moves up_blocks.0's upsampler from output_blocks.2.1.conv. to output_blocks.2.2.conv. (that up
     * block has attentions); here that upsampler maps there directly, which gives the same names (Upsample2D holds
     * only conv.*) and keeps the inverse a prefix map.
     */
    private static List<String[]> xlUnetLayerMap() {
        List<String[]> m = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            for (int j = 0; j < 2; j++) {
                m.add(new String[] {"input_blocks." + (3 * i + j + 1) + ".0.", "down_blocks." + i + ".resnets." + j + "."});
                if (i > 0) m.add(new String[] {"input_blocks." + (3 * i + j + 1) + ".1.", "down_blocks." + i + ".attentions." + j + "."});
            }
            for (int j = 0; j < 3; j++) {
                m.add(new String[] {"output_blocks." + (3 * i + j) + ".0.", "up_blocks." + i + ".resnets." + j + "."});
                if (i < 2) m.add(new String[] {"output_blocks." + (3 * i + j) + ".1.", "up_blocks." + i + ".attentions." + j + "."});
            }
            m.add(new String[] {"input_blocks." + (3 * (i + 1)) + ".0.op.", "down_blocks." + i + ".downsamplers.0.conv."});
            m.add(new String[] {"output_blocks." + (3 * i + 2) + ".2.", "up_blocks." + i + ".upsamplers.0."});
        }
        m.add(new String[] {"middle_block.1.", "mid_block.attentions.0."});
        for (int j = 0; j < 2; j++) m.add(new String[] {"middle_block." + (2 * j) + ".", "mid_block.resnets." + j + "."});
        return List.copyOf(m);
    }

    private static List<String[]> vaeMap() {
        List<String[]> m = new ArrayList<>();
        m.add(new String[] {"nin_shortcut", "conv_shortcut"});
        m.add(new String[] {"norm_out", "conv_norm_out"});
        m.add(new String[] {"mid.attn_1.", "mid_block.attentions.0."});
        for (int i = 0; i < 4; i++) {
            for (int j = 0; j < 2; j++)
                m.add(new String[] {"encoder.down." + i + ".block." + j + ".", "encoder.down_blocks." + i + ".resnets." + j + "."});
            if (i < 3) {
                m.add(new String[] {"down." + i + ".downsample.", "down_blocks." + i + ".downsamplers.0."});
                m.add(new String[] {"up." + (3 - i) + ".upsample.", "up_blocks." + i + ".upsamplers.0."});
            }
            for (int j = 0; j < 3; j++)
                m.add(new String[] {"decoder.up." + (3 - i) + ".block." + j + ".", "decoder.up_blocks." + i + ".resnets." + j + "."});
        }
        for (int i = 0; i < 2; i++) m.add(new String[] {"mid.block_" + (i + 1) + ".", "mid_block.resnets." + i + "."});
        return List.copyOf(m);
    }

    /** convert_unet_state_dict for one name (without the model.diffusion_model. prefix). */
    public static String unetToOriginal(String hf) {
        return unetToOriginal(hf, Family.SD1);
    }

    /** As {@link #unetToOriginal(String)} with the family's map (SDXL: convert_diffusers_to_original_sdxl.py's). */
    public static String unetToOriginal(String hf, Family family) {
        boolean xl = family == Family.XL;
        String v = hf;
        for (String[] p : xl ? UNET_MAP_XL : UNET_MAP) if (p[1].equals(hf)) v = p[0];
        if (v.contains("resnets")) for (String[] p : UNET_RESNET_MAP) v = v.replace(p[1], p[0]);
        for (String[] p : xl ? UNET_LAYER_MAP_XL : UNET_LAYER_MAP) v = v.replace(p[1], p[0]);
        return v;
    }

    /** convert_vae_state_dict for one name (without the first_stage_model. prefix). */
    public static String vaeToOriginal(String hf) {
        String v = hf;
        for (String[] p : VAE_MAP) v = v.replace(p[1], p[0]);
        if (hf.contains("attentions")) for (String[] p : VAE_ATTN_MAP) v = v.replace(p[1], p[0]);
        for (String[] p : VAE_EXTRA_MAP)
            if (v.contains("mid.attn_1." + p[0] + ".weight") || v.contains("mid.attn_1." + p[0] + ".bias")) {
                v = v.replace(p[0], p[1]);
                break;
            }
        return v;
    }

    // ---- original -> diffusers: the inverse, checked name by name against the forward mapping ------------------

    /** The diffusers UNet name of an original one (without the prefix). */
    public static String unetToDiffusers(String orig) {
        return unetToDiffusers(orig, Family.SD1);
    }

    /** As {@link #unetToDiffusers(String)} with the family's map. */
    public static String unetToDiffusers(String orig, Family family) {
        boolean xl = family == Family.XL;
        for (String[] p : xl ? UNET_MAP_XL : UNET_MAP) if (p[0].equals(orig)) return p[1];
        String best = null, hf = null;
        for (String[] p : xl ? UNET_LAYER_MAP_XL : UNET_LAYER_MAP)
            if (orig.startsWith(p[0]) && (best == null || p[0].length() > best.length())) {
                best = p[0];
                hf = p[1];
            }
        if (best == null) return orig;
        String rest = orig.substring(best.length());
        if (hf.contains("resnets")) for (String[] p : UNET_RESNET_MAP) rest = rest.replace(p[0], p[1]);
        return hf + rest;
    }

    private static final Pattern VAE_DOWN = Pattern.compile("encoder\\.down\\.(\\d)\\.block\\.(\\d)\\.(.*)");
    private static final Pattern VAE_DOWNSAMPLE = Pattern.compile("encoder\\.down\\.(\\d)\\.downsample\\.(.*)");
    private static final Pattern VAE_UP = Pattern.compile("decoder\\.up\\.(\\d)\\.block\\.(\\d)\\.(.*)");
    private static final Pattern VAE_UPSAMPLE = Pattern.compile("decoder\\.up\\.(\\d)\\.upsample\\.(.*)");
    private static final Pattern VAE_MID = Pattern.compile("(encoder|decoder)\\.mid\\.block_([12])\\.(.*)");
    private static final Pattern VAE_ATTN = Pattern.compile("(encoder|decoder)\\.mid\\.attn_1\\.(norm|q|k|v|proj_out)\\.(weight|bias)");

    /** The diffusers VAE name of an original one (without the prefix). */
    public static String vaeToDiffusers(String orig) {
        Matcher m;
        String v;
        if ((m = VAE_DOWN.matcher(orig)).matches()) v = "encoder.down_blocks." + m.group(1) + ".resnets." + m.group(2) + "." + m.group(3);
        else if ((m = VAE_DOWNSAMPLE.matcher(orig)).matches()) v = "encoder.down_blocks." + m.group(1) + ".downsamplers.0." + m.group(2);
        else if ((m = VAE_UP.matcher(orig)).matches())
            v = "decoder.up_blocks." + (3 - Integer.parseInt(m.group(1))) + ".resnets." + m.group(2) + "." + m.group(3);
        else if ((m = VAE_UPSAMPLE.matcher(orig)).matches())
            v = "decoder.up_blocks." + (3 - Integer.parseInt(m.group(1))) + ".upsamplers.0." + m.group(2);
        else if ((m = VAE_MID.matcher(orig)).matches())
            v = m.group(1) + ".mid_block.resnets." + (Integer.parseInt(m.group(2)) - 1) + "." + m.group(3);
        else if ((m = VAE_ATTN.matcher(orig)).matches()) {
            String part = switch (m.group(2)) {
                case "norm" -> "group_norm";
                case "proj_out" -> "to_out.0";
                default -> "to_" + m.group(2);
            };
            return m.group(1) + ".mid_block.attentions.0." + part + "." + m.group(3);
        } else v = orig;
        return v.replace("nin_shortcut", "conv_shortcut").replace("norm_out", "conv_norm_out");
    }

    // ---- SD 2.x's OpenCLIP text encoder -------------------------------------------------------------------

    private static final List<String[]> OPENCLIP_MAP = List.of( // textenc_conversion_lst: (original, diffusers)
            new String[] {"resblocks.", "text_model.encoder.layers."},
            new String[] {"ln_1", "layer_norm1"},
            new String[] {"ln_2", "layer_norm2"},
            new String[] {".c_fc.", ".fc1."},
            new String[] {".c_proj.", ".fc2."},
            new String[] {".attn", ".self_attn"},
            new String[] {"ln_final.", "transformer.text_model.final_layer_norm."},
            new String[] {"token_embedding.weight", "transformer.text_model.embeddings.token_embedding.weight"},
            new String[] {"positional_embedding", "transformer.text_model.embeddings.position_embedding.weight"});
    private static final Pattern OPENCLIP_PATTERN = alternatives(OPENCLIP_MAP);
    /** convert_diffusers_to_original_sdxl.py's textenc_conversion_lst: applied to the diffusers names themselves. */
    private static final List<String[]> OPENCLIP_MAP_XL = List.of(
            new String[] {"transformer.resblocks.", "text_model.encoder.layers."},
            new String[] {"ln_1", "layer_norm1"},
            new String[] {"ln_2", "layer_norm2"},
            new String[] {".c_fc.", ".fc1."},
            new String[] {".c_proj.", ".fc2."},
            new String[] {".attn", ".self_attn"},
            new String[] {"ln_final.", "text_model.final_layer_norm."},
            new String[] {"token_embedding.weight", "text_model.embeddings.token_embedding.weight"},
            new String[] {"positional_embedding", "text_model.embeddings.position_embedding.weight"});
    private static final Pattern OPENCLIP_PATTERN_XL = alternatives(OPENCLIP_MAP_XL);

    private static Pattern alternatives(List<String[]> map) {
        StringBuilder sb = new StringBuilder();
        for (String[] p : map) sb.append(sb.isEmpty() ? "" : "|").append(Pattern.quote(p[1]));
        return Pattern.compile(sb.toString());
    }

    /** textenc_pattern.sub over "transformer." + a diffusers name (re.sub: leftmost match, alternatives in order). */
    static String openClipFromDiffusersName(String key) {
        return openClipFromDiffusersName(key, OPENCLIP_MAP, OPENCLIP_PATTERN);
    }

    static String openClipFromDiffusersName(String key, List<String[]> map, Pattern pattern) {
        Matcher m = pattern.matcher(key);
        StringBuilder out = new StringBuilder();
        while (m.find()) {
            String hit = m.group();
            String rep = null;
            for (String[] p : map) if (p[1].equals(hit)) { rep = p[0]; break; }
            m.appendReplacement(out, Matcher.quoteReplacement(rep));
        }
        m.appendTail(out);
        return out.toString();
    }

    /** convert_text_enc_state_dict_v20 with the cond_stage_model.model. prefix. */
    private static List<SafetensorsWriter.Entry> openClipFromDiffusers(List<SafetensorsWriter.Entry> text) {
        return openClipFromDiffusers(text, OPENCLIP_PREFIX, "transformer.", OPENCLIP_MAP, OPENCLIP_PATTERN);
    }

    /**
     * The OpenCLIP names of a diffusers text encoder: q, k, v fused into in_proj (in that order), the rest renamed by
     * {@code map} over {@code keyPrefix} + the name, all under {@code prefix}.
     */
    private static List<SafetensorsWriter.Entry> openClipFromDiffusers(List<SafetensorsWriter.Entry> text, String prefix, String keyPrefix,
                                                                      List<String[]> map, Pattern pattern) {
        List<SafetensorsWriter.Entry> out = new ArrayList<>();
        Map<String, SafetensorsWriter.Entry[]> weights = new LinkedHashMap<>(), biases = new LinkedHashMap<>();
        Pattern qkv = Pattern.compile("(.*)\\.self_attn\\.([qkv])_proj\\.(weight|bias)");
        for (SafetensorsWriter.Entry e : text) {
            String k = keyPrefix + e.name();
            Matcher m = qkv.matcher(k);
            if (m.matches()) {
                String pre = m.group(1) + ".self_attn";
                Map<String, SafetensorsWriter.Entry[]> into = m.group(3).equals("weight") ? weights : biases;
                into.computeIfAbsent(pre, x -> new SafetensorsWriter.Entry[3])["qkv".indexOf(m.group(2))] = e;
                continue;
            }
            out.add(new SafetensorsWriter.Entry(prefix + openClipFromDiffusersName(k, map, pattern), e.dtype(), e.shape(), e.data()));
        }
        for (var kind : List.of(Map.entry("weight", weights), Map.entry("bias", biases)))
            for (var e : kind.getValue().entrySet()) {
                SafetensorsWriter.Entry[] parts = e.getValue();
                for (SafetensorsWriter.Entry p : parts)
                    if (p == null) throw new ClifException("text encoder: one of the q, k, v " + kind.getKey() + "s of " + e.getKey() + " is missing");
                long rows = 0;
                for (SafetensorsWriter.Entry p : parts) rows += p.shape()[0];
                long[] shape = parts[0].shape().clone();
                shape[0] = rows;
                MemorySegment cat = MemorySegment.ofArray(new byte[(int) (parts[0].data().byteSize() * 3)]);
                long off = 0;
                for (SafetensorsWriter.Entry p : parts) {
                    MemorySegment.copy(p.data(), 0, cat, off, p.data().byteSize());
                    off += p.data().byteSize();
                }
                String name = prefix + openClipFromDiffusersName(e.getKey(), map, pattern) + ".in_proj_" + kind.getKey();
                out.add(new SafetensorsWriter.Entry(name, parts[0].dtype(), shape, cat));
            }
        return out;
    }

    /** The diffusers text-encoder name of an OpenCLIP one (without cond_stage_model.model.), or null for extras. */
    static String openClipToDiffusers(String orig) {
        String v;
        if (orig.equals("token_embedding.weight")) v = "text_model.embeddings.token_embedding.weight";
        else if (orig.equals("positional_embedding")) v = "text_model.embeddings.position_embedding.weight";
        else if (orig.startsWith("ln_final.")) v = "text_model.final_layer_norm." + orig.substring("ln_final.".length());
        else if (orig.startsWith("transformer.resblocks.")) {
            v = "text_model.encoder.layers." + orig.substring("transformer.resblocks.".length());
            v = v.replace(".ln_1", ".layer_norm1").replace(".ln_2", ".layer_norm2").replace(".c_fc.", ".fc1.")
                    .replace(".c_proj.", ".fc2.").replace(".attn", ".self_attn");
        } else if (orig.startsWith("transformer.text_model.")) v = orig.substring("transformer.".length()); // e.g. position_ids
        else if (orig.startsWith("text_model.")) v = orig; // the SDXL script writes position_ids unprefixed
        else return null;
        return v;
    }

    /** The dtype of the UNet's weights (what a converted folder holds). */
    public DType unetDType() {
        for (SafetensorsWriter.Entry e : component("unet")) if (e.dtype().floating) return e.dtype();
        return DType.F32;
    }
}
