package dev.clif.model;

/**
 * SDXL's micro-conditioning, the six time ids: original_size (h, w), crops_coords_top_left (top, left) and
 * target_size (h, w), in pixels. StableDiffusionXLPipeline's defaults are the generated image's size and no crop
 * ({@link #of}); the negative branch gets the same ids (diffusers' negative_original_size etc. default to these).
 */
public record SizeConditioning(int originalHeight, int originalWidth, int cropTop, int cropLeft, int targetHeight, int targetWidth) {
    public SizeConditioning {
        if (originalHeight < 1 || originalWidth < 1 || targetHeight < 1 || targetWidth < 1)
            throw new IllegalArgumentException("original and target sizes must be positive, got " + originalWidth + "x" + originalHeight
                    + " and " + targetWidth + "x" + targetHeight);
        if (cropTop < 0 || cropLeft < 0) throw new IllegalArgumentException("crop coordinates must not be negative, got " + cropTop + "," + cropLeft);
    }

    /** The pipeline's defaults for a width x height image. */
    public static SizeConditioning of(int width, int height) {
        return new SizeConditioning(height, width, 0, 0, height, width);
    }

    /** The ids in the UNet's order. */
    public float[] ids() {
        return new float[] {originalHeight, originalWidth, cropTop, cropLeft, targetHeight, targetWidth};
    }
}
