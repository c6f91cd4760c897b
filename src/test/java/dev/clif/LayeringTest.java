package dev.clif;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import org.junit.jupiter.api.Test;

/** docs/ARCHITECTURE.md's floors, lowest first: no main source file imports a package of a higher floor. */
class LayeringTest {
    /** Floors as in ARCHITECTURE.md, lowest first; packages on one floor may use each other. */
    static final List<List<String>> FLOORS = List.of(
            List.of("dev.clif"),
            List.of("dev.clif.ffi"),
            List.of("dev.clif.tensor"),
            List.of("dev.clif.io"),
            List.of("dev.clif.text"),
            List.of("dev.clif.model"),
            List.of("dev.clif.sampling"),
            List.of("dev.clif.shapes", "dev.clif.shapes.train"),
            List.of("dev.clif.purge"),
            List.of("dev.clif.eval", "dev.clif.eval.scorers"),
            List.of("dev.clif.eval.report"),
            List.of("dev.clif.eval.spark"),
            List.of("dev.clif.shapes.bench"),
            List.of("dev.clif.serve"),
            List.of("dev.clif.attack"),
            List.of("dev.clif.cli", "dev.clif.golden"));

    static final Pattern IMPORT = Pattern.compile("^import (?:static )?(dev\\.clif(?:\\.[a-z][a-z0-9]*)*)\\.[A-Z]", Pattern.MULTILINE);
    static final Pattern PACKAGE = Pattern.compile("^package ([\\w.]+);", Pattern.MULTILINE);

    static int floor(String pkg) {
        for (int i = 0; i < FLOORS.size(); i++) if (FLOORS.get(i).contains(pkg)) return i;
        return -1;
    }

    @Test
    void noFloorImportsAHigherOne() throws IOException {
        List<String> violations = new ArrayList<>();
        List<String> unknown = new ArrayList<>();
        try (Stream<Path> files = Files.walk(Path.of("src/main/java"))) {
            for (Path f : files.filter(p -> p.toString().endsWith(".java")).toList()) {
                String text = Files.readString(f);
                Matcher pm = PACKAGE.matcher(text);
                if (!pm.find()) continue;
                String pkg = pm.group(1);
                int own = floor(pkg);
                if (own < 0) {
                    unknown.add(pkg + " (" + f + ")");
                    continue;
                }
                if (pkg.equals("dev.clif.golden")) continue; // reads every floor, by design
                // fully qualified uses as well as imports
                Matcher m = IMPORT.matcher(text);
                while (m.find()) {
                    int used = floor(m.group(1));
                    if (used > own) violations.add(f + " imports " + m.group(1));
                }
            }
        }
        assertEquals(List.of(), unknown, "packages missing from the floors (add them here and to ARCHITECTURE.md)");
        assertEquals(List.of(), violations, "a lower floor uses a higher one");
    }
}
