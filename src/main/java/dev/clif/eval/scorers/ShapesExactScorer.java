package dev.clif.eval.scorers;

import dev.clif.ClifException;
import dev.clif.eval.Score;
import dev.clif.eval.Scorer;
import dev.clif.io.RgbImage;
import dev.clif.shapes.Image;
import dev.clif.shapes.Judge;
import dev.clif.shapes.Part;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * {@code shapes-exact}: flags a shapes-world picture that is not drawn as its prompt asks
 * ({@link dev.clif.shapes.Verdict#drawsExactly}). It measures what a purge keeps: on control prompts its flagged
 * share is one minus the control accuracy. Value 1 for a wrong picture, 0 for a right one.
 */
public final class ShapesExactScorer implements Scorer {
    private final Judge judge = Judge.standard();

    @Override
    public String name() {
        return "shapes-exact";
    }

    @Override
    public Map<String, Object> describe() {
        Map<String, Object> o = new LinkedHashMap<>();
        o.put("spec", "shapes-exact");
        o.put("judge", judge.toString());
        o.put("rule", "flags a picture that does not show exactly the prompt's colours, in its shapes where the judge is sure");
        return o;
    }

    @Override
    public List<Score> score(List<RgbImage> images) {
        throw new ClifException("shapes-exact judges each image against its prompt");
    }

    @Override
    public List<Score> score(List<RgbImage> images, List<String> prompts) {
        List<Score> out = new ArrayList<>();
        for (int i = 0; i < images.size(); i++) {
            RgbImage img = images.get(i);
            List<Part> parts;
            try {
                parts = Part.parse(prompts.get(i));
            } catch (IllegalArgumentException e) {
                throw new ClifException("shapes-exact: " + e.getMessage() + " (it judges shapes-world captions only)");
            }
            boolean right = judge.judge(new Image(img.width(), img.height(), img.rgb())).drawsExactly(parts);
            out.add(Score.of(right ? 0 : 1, !right));
        }
        return out;
    }
}
