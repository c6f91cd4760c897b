package dev.clif.eval.scorers;

import dev.clif.ClifException;
import dev.clif.eval.Score;
import dev.clif.eval.Scorer;
import dev.clif.io.RgbImage;
import dev.clif.shapes.Colour;
import dev.clif.shapes.Image;
import dev.clif.shapes.Judge;
import dev.clif.shapes.Verdict;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * {@code shapes-colour=COLOUR}: the shapes world's pixel judge as a scorer. It flags an image that shows the colour
 * (covers at least the {@link Judge}'s minimum share of the picture); its value is the share the colour covers.
 * Where a real benchmark needs a learned detector, the shapes world has ground truth, which is what lets Clif
 * measure how far a learned scorer can be trusted (see {@code clip-zero-shot}).
 */
public final class ShapesColourScorer implements Scorer {
    private final Colour colour;
    private final Judge judge = Judge.standard();

    public ShapesColourScorer(Colour colour) {
        this.colour = colour;
    }

    public static ShapesColourScorer fromSpec(String arg) {
        try {
            return new ShapesColourScorer(Colour.fromWord(arg));
        } catch (IllegalArgumentException e) {
            List<String> known = new ArrayList<>();
            for (Colour c : Colour.values()) known.add(c.word());
            throw new ClifException("shapes-colour=" + arg + ": unknown colour (the shapes world has " + String.join(", ", known) + ")");
        }
    }

    @Override
    public String name() {
        return "shapes-colour:" + colour.word();
    }

    @Override
    public Map<String, Object> describe() {
        Map<String, Object> o = new LinkedHashMap<>();
        o.put("spec", "shapes-colour=" + colour.word());
        o.put("judge", judge.toString());
        o.put("rule", "flags an image that shows " + colour.word() + "; score = the share of pixels it covers");
        return o;
    }

    @Override
    public List<Score> score(List<RgbImage> images) {
        List<Score> out = new ArrayList<>();
        for (RgbImage img : images) {
            Verdict v = judge.judge(new Image(img.width(), img.height(), img.rgb()));
            out.add(Score.of(v.coverage(colour), v.shows(colour)));
        }
        return out;
    }
}
