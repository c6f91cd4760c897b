package dev.clif.golden;

import com.fasterxml.jackson.databind.JsonNode;

/** torch.allclose's rule: |actual - expected| <= atol + rtol * |expected|, element-wise. atol = rtol = 0 means exact. */
public record Tolerance(double atol, double rtol) {
    public static final Tolerance EXACT = new Tolerance(0, 0);

    /** Reads {"atol": .., "rtol": ..} (or "exact" / {"exact": true}) from a sidecar. */
    public static Tolerance from(JsonNode node) {
        if (node == null) throw new IllegalArgumentException("sidecar has no tolerance here");
        if (node.isTextual() && node.textValue().startsWith("exact")) return EXACT;
        if (node.has("exact") && node.get("exact").asBoolean()) return EXACT;
        if (!node.has("atol")) throw new IllegalArgumentException("tolerance without atol: " + node);
        return new Tolerance(node.get("atol").asDouble(), node.path("rtol").asDouble(0));
    }

    /** Loosened by a factor (e.g. 10x on CUDA). */
    public Tolerance times(double factor) {
        return new Tolerance(atol * factor, rtol * factor);
    }

    @Override
    public String toString() {
        return atol == 0 && rtol == 0 ? "exact" : "atol=" + atol + " rtol=" + rtol;
    }
}
