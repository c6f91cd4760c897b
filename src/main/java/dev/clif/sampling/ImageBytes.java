package dev.clif.sampling;

import dev.clif.tensor.DType;
import dev.clif.tensor.Device;
import dev.clif.tensor.Tensor;

/** Images in [0,1] NCHW float to uint8 HWC as diffusers' numpy_to_pil does: round(x * 255) (half to even). */
public final class ImageBytes {
    private ImageBytes() {}

    public static byte[][] toUint8Hwc(Tensor images01) {
        long[] s = images01.shape();
        if (s.length != 4 || s[1] != 3) throw new IllegalArgumentException("expected [B,3,H,W] images, got " + java.util.Arrays.toString(s));
        int b = (int) s[0];
        int h = (int) s[2];
        int w = (int) s[3];
        float[] v;
        try (Tensor cpu = images01.to(Device.CPU, DType.F32)) {
            v = cpu.toFloatArray();
        }
        byte[][] out = new byte[b][h * w * 3];
        for (int n = 0; n < b; n++)
            for (int c = 0; c < 3; c++)
                for (int y = 0; y < h; y++)
                    for (int x = 0; x < w; x++) {
                        float f = v[((n * 3 + c) * h + y) * w + x] * 255f;
                        out[n][(y * w + x) * 3 + c] = (byte) Math.max(0, Math.min(255, (int) Math.rint(f)));
                    }
        return out;
    }
}
