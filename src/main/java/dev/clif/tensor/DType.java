package dev.clif.tensor;

import java.util.Locale;

/** Element types. {@link #code} mirrors {@code clif_dtype} in clif.h; {@link #safetensorsName} the file format's. */
public enum DType {
    F32(0, 4, "F32", true),
    F16(1, 2, "F16", true),
    BF16(2, 2, "BF16", true),
    F64(3, 8, "F64", true),
    I64(4, 8, "I64", false),
    I32(5, 4, "I32", false),
    I16(6, 2, "I16", false),
    I8(7, 1, "I8", false),
    U8(8, 1, "U8", false),
    BOOL(9, 1, "BOOL", false);

    public final int code;
    public final int byteSize;
    public final String safetensorsName;
    public final boolean floating;

    DType(int code, int byteSize, String safetensorsName, boolean floating) {
        this.code = code;
        this.byteSize = byteSize;
        this.safetensorsName = safetensorsName;
        this.floating = floating;
    }

    public static DType fromCode(int code) {
        for (DType d : values()) if (d.code == code) return d;
        throw new IllegalArgumentException("unknown dtype code " + code);
    }

    /** The dtype a safetensors header names, or null when Clif does not know it. */
    public static DType fromSafetensors(String name) {
        for (DType d : values()) if (d.safetensorsName.equals(name)) return d;
        return null;
    }

    /** Parses user input such as "fp16", "float32", "bf16". */
    public static DType parse(String text) {
        return switch (text.toLowerCase(Locale.ROOT)) {
            case "f32", "fp32", "float32", "float" -> F32;
            case "f16", "fp16", "float16", "half" -> F16;
            case "bf16", "bfloat16" -> BF16;
            case "f64", "fp64", "float64", "double" -> F64;
            case "i64", "int64", "long" -> I64;
            case "i32", "int32", "int" -> I32;
            case "i16", "int16" -> I16;
            case "i8", "int8" -> I8;
            case "u8", "uint8" -> U8;
            case "bool" -> BOOL;
            default -> throw new IllegalArgumentException("unknown dtype '" + text + "' (use fp32, fp16, bf16, ...)");
        };
    }
}
