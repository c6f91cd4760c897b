package dev.clif.eval.report;

import static org.junit.jupiter.api.Assertions.*;

import dev.clif.ClifException;
import dev.clif.eval.EvalConfig;
import dev.clif.eval.Evaluation;
import dev.clif.eval.Preservation;
import dev.clif.io.Png;
import dev.clif.purge.LossCurve;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.awt.image.BufferedImage;
import java.io.File;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import javax.imageio.ImageIO;

import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * report.html of a shapes-world evaluation, built from its folder and opened in headless Chromium (Debian's
 * {@code chromium}, or {@code CLIF_CHROMIUM}): no console message, every image and chart loads, and the screenshot is
 * kept as an artifact in {@code target/report-browser/}.
 */
class ReportBrowserTest {
    static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
    static final Path ARTIFACTS = Path.of("target", "report-browser");
    @TempDir
    static Path tmp;
    static Path out;

    /** One small evaluation: red and green prompts and shapes captions, two models; the second given a purge report. */
    @BeforeAll
    static void evaluate() throws Exception {
        Path prompts = Files.writeString(tmp.resolve("prompts.csv"), """
                prompt,category,seed
                a red circle,red,11
                a red square,red,12
                a green circle,other,14
                a green triangle,other,16
                """);
        Path captions = Files.writeString(tmp.resolve("captions.txt"), """
                a blue square and a green triangle
                a yellow triangle
                a blue circle
                a yellow square and a green circle
                """);
        out = tmp.resolve("eval");
        new Evaluation(EvalConfig.builder().prompts(prompts).model("unpurged=shapes").model("purged=shapes").scorer("shapes-colour=red")
                .alsoScore("shapes-exact").clip(Path.of("shapes-clip"))
                .preservation(new EvalConfig.PreservationConfig(captions, null, 0, null, Preservation.SHAPES_TRUTH, null))
                .imagesPerPrompt(2).steps(10).guidance(5.0).batch(4).out(out).bootstrap(200, 0).build()).run(null);
        // A purge report beside the second model's delta, as `clif purge` leaves it.
        Path purge = Files.createDirectories(tmp.resolve("purge-clif"));
        List<Double> losses = new ArrayList<>();
        for (int i = 0; i < 50; i++) losses.add(1 - 0.5 * (1 - Math.exp(-i / 10.0)));
        Png.write(LossCurve.render(losses, "clif purge: red=>blue"), purge.resolve("loss-curve.png"));
        ObjectNode report = JSON.createObjectNode();
        report.put("clif_version", "test");
        report.put("wall_seconds", 12.5);
        report.putObject("config").put("method", "CLIF").put("steps", 50).put("lr", 3e-3).put("concepts", "red=>blue");
        report.putArray("steps");
        JSON.writeValue(purge.resolve("purge-report.json").toFile(), report);
        ObjectNode manifest = (ObjectNode) JSON.readTree(out.resolve("manifest.json").toFile());
        ((ObjectNode) manifest.get("settings").get("models").get("purged")).put("delta", purge.resolve("delta.safetensors").toString());
        JSON.writeValue(out.resolve("manifest.json").toFile(), manifest);
    }

    @Test
    void theReportHasTheChartsTablesGridsCurveAndManifestAndIsRebuiltTheSame() throws Exception {
        Path html = ReportWriter.write(out, true, 200, 0);
        String page = Files.readString(html);
        for (String part : List.of("id=\"chart-categories\"", "id=\"preservation\"", "id=\"chart-clip-score\"", "class=\"grid\"",
                "loss curve of purged", "config.method", "id=\"manifest\"", "shapes-truth", "CLIP image embeddings, shapes-clip"))
            assertTrue(page.contains(part), part);
        for (String png : List.of("categories.png", "clip-score.png", "grid-1.png", "purged-loss-curve.png"))
            assertNotNull(ImageIO.read(out.resolve("report").resolve(png).toFile()), png);
        byte[] gridBlurred = Files.readAllBytes(out.resolve("report/grid-1.png"));
        ReportWriter.write(out, true, 200, 0);
        assertEquals(page, Files.readString(html), "rebuilt from the folder alone: the same page");
        ReportWriter.write(out, false, 200, 0);
        assertFalse(java.util.Arrays.equals(gridBlurred, Files.readAllBytes(out.resolve("report/grid-1.png"))),
                "--no-blur shows the images the red judge flagged");
        ClifException e = assertThrows(ClifException.class, () -> ReportWriter.write(tmp, true, 200, 0));
        assertTrue(e.getMessage().contains("has no results.jsonl"), e.getMessage());
    }

    @Test
    void chromiumLoadsTheReportWithoutConsoleErrorsAndEveryImageResolves() throws Exception {
        Path browser = chromium();
        Assumptions.assumeTrue(browser != null, "no headless Chromium found (install Debian's chromium: apt-get install -y chromium, "
                + "or set CLIF_CHROMIUM): the browser test is skipped");
        Path html = ReportWriter.write(out, true, 200, 0).toAbsolutePath();
        int images = count(Files.readString(html), "<img ");
        assertTrue(images >= 5, images + " images");
        Files.createDirectories(ARTIFACTS);
        Path profile = Files.createDirectories(tmp.resolve("chromium-profile"));
        Run dom = run(browser, profile, "--dump-dom", html.toUri().toString());
        Matcher m = Pattern.compile("data-images=\"(\\d+)\" data-broken=\"([^\"]*)\"").matcher(dom.stdout);
        assertTrue(m.find(), "the page's load check did not run; DOM starts: " + dom.stdout.substring(0, Math.min(300, dom.stdout.length())));
        assertEquals(images, Integer.parseInt(m.group(1)), "images the browser saw");
        assertEquals("", m.group(2), "broken images");
        List<String> console = dom.stderr.lines().filter(l -> l.contains(":CONSOLE")).toList();
        assertEquals(List.of(), console, "console messages");

        Path shot = ARTIFACTS.resolve("report.png").toAbsolutePath();
        Files.deleteIfExists(shot);
        Run s = run(browser, profile, "--screenshot=" + shot, "--window-size=1280,3600", html.toUri().toString());
        assertTrue(Files.isRegularFile(shot), "no screenshot; chromium said: " + s.stderr);
        BufferedImage img = ImageIO.read(shot.toFile());
        assertEquals(1280, img.getWidth());
        Set<Integer> colours = new HashSet<>();
        for (int y = 0; y < img.getHeight() && colours.size() <= 50; y += 7)
            for (int x = 0; x < img.getWidth(); x += 7) colours.add(img.getRGB(x, y));
        assertTrue(colours.size() > 50, "the screenshot is nearly blank: " + colours.size() + " colours");
        Files.copy(html, ARTIFACTS.resolve("report.html"), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
    }

    record Run(String stdout, String stderr) {}

    private static Run run(Path browser, Path profile, String... args) throws Exception {
        List<String> cmd = new ArrayList<>(List.of(browser.toString(), "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                "--no-first-run", "--user-data-dir=" + profile, "--enable-logging=stderr", "--log-level=0", "--virtual-time-budget=10000"));
        cmd.addAll(List.of(args));
        Path o = Files.createTempFile(tmp, "chromium", ".out"), e = Files.createTempFile(tmp, "chromium", ".err");
        Process p = new ProcessBuilder(cmd).redirectOutput(o.toFile()).redirectError(e.toFile()).start();
        if (!p.waitFor(120, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            fail("chromium did not finish in 120 s: " + Files.readString(e));
        }
        return new Run(Files.readString(o, StandardCharsets.UTF_8), Files.readString(e, StandardCharsets.UTF_8));
    }

    static Path chromium() {
        String env = System.getenv("CLIF_CHROMIUM");
        if (env != null && !env.isBlank() && Files.isExecutable(Path.of(env))) return Path.of(env);
        for (String dir : System.getenv().getOrDefault("PATH", "/usr/bin").split(File.pathSeparator))
            for (String name : List.of("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")) {
                Path p = Path.of(dir, name);
                if (Files.isExecutable(p)) return p;
            }
        return null;
    }

    private static int count(String s, String what) {
        int n = 0;
        for (int i = s.indexOf(what); i >= 0; i = s.indexOf(what, i + 1)) n++;
        return n;
    }
}
