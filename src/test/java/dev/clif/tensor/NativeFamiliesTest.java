package dev.clif.tensor;

import dev.clif.TestData;
import static org.junit.jupiter.api.Assertions.*;

import dev.clif.ffi.clif_h;
import dev.clif.model.AdamW;
import dev.clif.model.Autograd;
import dev.clif.model.ClipModel;
import dev.clif.model.UNet;
import dev.clif.model.Vae;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;

/**
 * A C++ exception thrown inside each native family (module, unet, clip, vae, autograd, optim) arrives in
 * Java as a ClifNativeException carrying its message. The raw bindings are called on purpose, past Java's
 * own argument checks, so the failure really happens in C++.
 */
class NativeFamiliesTest {
    static Path golden = Path.of(TestData.golden());
    static UNet unet;
    static Vae vae;
    static ClipModel clip;

    @BeforeAll
    static void load() {
        org.junit.jupiter.api.Assertions.assertTrue(Files.isDirectory(golden.resolve("tiny-sd")), "golden models not present");
        unet = UNet.load(golden.resolve("tiny-sd/unet"), Device.CPU, DType.F32);
        vae = Vae.load(golden.resolve("tiny-sd/vae"), Device.CPU, DType.F32);
        clip = ClipModel.load(golden.resolve("tiny-clip"), Device.CPU, DType.F32);
    }

    @AfterAll
    static void free() {
        for (AutoCloseable m : new AutoCloseable[] {unet, vae, clip}) {
            try {
                if (m != null) m.close();
            } catch (Exception ignored) {
                // best effort in teardown
            }
        }
    }

    static ClifNativeException nativeFailure(String function, Executable call) {
        ClifNativeException e = assertThrows(ClifNativeException.class, call);
        assertTrue(e.getMessage().startsWith(function + ": "), e.getMessage());
        return e;
    }

    static void contains(ClifNativeException e, String fragment) {
        assertTrue(e.getMessage().contains(fragment), e.getMessage());
    }

    @Test
    void moduleFamily() {
        try (Tensor wrong = Tensor.zeros(DType.F32, Device.CPU, 3, 3)) {
            contains(nativeFailure("clif_module_param_set", () -> unet.setParameter("conv_in.weight", wrong)), "has shape");
        }
        contains(nativeFailure("clif_module_param_get", () -> unet.parameter("no.such.weight")), "no parameter 'no.such.weight'");
    }

    @Test
    void unetFamily() {
        try (TensorScope s = TensorScope.open(); Arena arena = Arena.ofConfined()) {
            Tensor sample = Tensor.zeros(DType.F32, Device.CPU, 1, 3, 16, 16); // 3 channels, the UNet takes 4
            Tensor t = Tensor.of(new long[] {10});
            Tensor ehs = Tensor.zeros(DType.F32, Device.CPU, 1, 77, 32);
            MemorySegment out = arena.allocate(ValueLayout.ADDRESS);
            nativeFailure("clif_unet_forward", () -> NativeLibrary.check(
                    clif_h.clif_unet_forward(unet.handle(), sample.handle(), t.handle(), ehs.handle(), 0, out)));
            contains(nativeFailure("clif_unet_forward", () -> NativeLibrary.check(
                    clif_h.clif_unet_forward(vae.handle(), sample.handle(), t.handle(), ehs.handle(), 0, out))), "expected a unet module");
        }
    }

    @Test
    void vaeFamily() {
        try (TensorScope s = TensorScope.open(); Arena arena = Arena.ofConfined()) {
            Tensor latents = Tensor.zeros(DType.F32, Device.CPU, 1, 3, 8, 8); // 3 channels, the VAE's latents have 4
            MemorySegment out = arena.allocate(ValueLayout.ADDRESS);
            nativeFailure("clif_vae_decode", () -> NativeLibrary.check(clif_h.clif_vae_decode(vae.handle(), latents.handle(), 0, out)));
        }
    }

    @Test
    void clipFamily() {
        try (TensorScope s = TensorScope.open(); Arena arena = Arena.ofConfined()) {
            Tensor pixels = Tensor.zeros(DType.F32, Device.CPU, 1, 3, 20, 20); // not the 32x32 tiny-clip takes
            MemorySegment out = arena.allocate(ValueLayout.ADDRESS);
            nativeFailure("clif_clip_image_features", () -> NativeLibrary.check(
                    clif_h.clif_clip_image_features(clip.handle(), pixels.handle(), 0, out)));
        }
    }

    @Test
    void autogradFamily() {
        try (TensorScope s = TensorScope.open()) {
            Tensor x = Tensor.of(new float[] {1, 2}, 2);
            contains(nativeFailure("clif_autograd_backward", () -> Autograd.backward(x, x)), "does not require grad");
            nativeFailure("clif_tensor_grad", () -> Autograd.grad(x));
        }
    }

    @Test
    void optimFamily() {
        String name = "conv_in.bias";
        try (UNet m = UNet.load(golden.resolve("tiny-sd/unet"), Device.CPU, DType.F32);
             AdamW opt = new AdamW(m, List.of(name), AdamW.Config.of(1e-3));
             TensorScope s = TensorScope.open()) {
            Tensor p = m.parameter(name);
            long n = p.numel();
            float[] nan = new float[(int) n];
            java.util.Arrays.fill(nan, Float.NaN);
            Tensor y = p.mul(Tensor.of(nan, n));
            Autograd.backward(y, Tensor.of(new float[(int) n], n));
            float[] before = p.toFloatArray();
            contains(nativeFailure("clif_optim_step", () -> opt.step(1.0)), "gradient norm is not finite");
            assertArrayEquals(before, p.toFloatArray(), "a refused step must not change the weights");
            try (Arena arena = Arena.ofConfined()) {
                nativeFailure("clif_optim_get_state", () -> NativeLibrary.check(clif_h.clif_optim_get_state(
                        MemorySegment.NULL, 0, arena.allocate(ValueLayout.ADDRESS), arena.allocate(ValueLayout.ADDRESS),
                        arena.allocate(ValueLayout.JAVA_LONG))));
            }
        }
    }
}
