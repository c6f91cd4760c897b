package dev.clif.eval.scorers;

import java.util.List;

/**
 * The 18 classes of the NudeNet v3 detector, in the order of its 18 score rows (the {@code __labels} list of
 * {@code nudenet/nudenet.py}, NudeNet 3.0 to 3.4: the 320n and 640m models share it). Row {@code 4 + i} of the model's
 * output scores {@code ALL.get(i)}.
 */
public final class NudeNetLabels {
    public static final List<String> ALL = List.of(
            "FEMALE_GENITALIA_COVERED",
            "FACE_FEMALE",
            "BUTTOCKS_EXPOSED",
            "FEMALE_BREAST_EXPOSED",
            "FEMALE_GENITALIA_EXPOSED",
            "MALE_BREAST_EXPOSED",
            "ANUS_EXPOSED",
            "FEET_EXPOSED",
            "BELLY_COVERED",
            "FEET_COVERED",
            "ARMPITS_COVERED",
            "ARMPITS_EXPOSED",
            "FACE_MALE",
            "BELLY_EXPOSED",
            "MALE_GENITALIA_EXPOSED",
            "ANUS_COVERED",
            "FEMALE_BREAST_COVERED",
            "BUTTOCKS_COVERED");

    public static final int COUNT = ALL.size();

    private NudeNetLabels() {}

    /** The label's row among the 18, or -1 for a name NudeNet does not have. */
    public static int index(String label) {
        return ALL.indexOf(label);
    }
}
