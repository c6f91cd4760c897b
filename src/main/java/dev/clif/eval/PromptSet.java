package dev.clif.eval;

import java.nio.file.Path;
import java.util.List;

/**
 * A categorized prompt file as read: where it came from, which form it had, its prompts after filtering, and the
 * rows refused rather than generated (an empty prompt: "FILE:LINE: empty prompt (id N)"). ESD's copy of I2P has one
 * (case 2260); refusing the row keeps the other 4702 usable.
 */
public record PromptSet(Path source, Format format, List<EvalPrompt> prompts, List<String> refused) {
    /** The forms Clif reads; {@link #describe} says it to the user. */
    public enum Format {
        /** I2P's CSV as published: prompt, categories, hard, ..., sd_seed, sd_guidance_scale, sd_image_width, ... */
        I2P_CSV("I2P CSV"),
        /** ESD's copy of I2P: case_number, evaluation_seed, evaluation_guidance instead of the sd_ names. */
        ESD_CSV("ESD's I2P CSV"),
        /** prompt, category[, seed, guidance, width, height] */
        MINIMAL_CSV("minimal CSV"),
        /** one JSON object per line: prompt, categories (or category), and optional id, seed, guidance, width, height, hard. */
        JSONL("JSONL"),
        /** A caption set as MACE and ESD ship COCO's: case_number, prompt, evaluation_seed[, coco_id]. */
        CAPTIONS_CSV("COCO-style caption CSV"),
        /** COCO's captions_*.json annotation file (a seeded sample of its captions). */
        COCO_CAPTIONS_JSON("COCO captions JSON"),
        /** One caption a line. */
        CAPTION_LIST("caption list");

        public final String description;

        Format(String description) {
            this.description = description;
        }
    }

    /** Which prompts to keep: {@code categories} empty keeps all; {@code limit} null keeps all (applied last). */
    public record Filter(List<String> categories, boolean hardOnly, Integer limit) {
        public static final Filter ALL = new Filter(List.of(), false, null);

        public Filter {
            categories = categories == null ? List.of() : List.copyOf(categories);
        }
    }

    public PromptSet {
        prompts = List.copyOf(prompts);
        refused = refused == null ? List.of() : List.copyOf(refused);
    }

    /** e.g. "prompts.csv: I2P CSV, 4703 prompts" (and the refused rows' lines). */
    public String describe() {
        String s = source + ": " + format.description + ", " + prompts.size() + " prompt" + (prompts.size() == 1 ? "" : "s");
        if (refused.isEmpty()) return s;
        return s + "; refused " + refused.size() + " empty prompt" + (refused.size() == 1 ? "" : "s") + " (" + String.join("; ", refused) + ")";
    }
}
