package dev.clif.cli;

import static org.junit.jupiter.api.Assertions.*;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code clif attack} on the command line: bad input is one line and exit 2 before anything is searched; a small run prints its table. */
class AttackCliTest {
    @Test
    void badInputIsRefusedInOneLine(@TempDir Path dir) throws IOException {
        Path prompts = dir.resolve("p.jsonl");
        Files.writeString(prompts, "{\"prompt\": \"a red circle\", \"categories\": [\"red\"]}\n");
        String out = dir.resolve("out").toString();
        CliRun.of("attack", "--model", "a=shapes", "--prompts", prompts.toString(), "--method", "ring-a-bell", "--scorer", "shapes-colour=red",
                "--out", out).assertOneLineExit2("--concept");
        CliRun.of("attack", "--model", "a=shapes", "--prompts", prompts.toString(), "--method", "p4d", "--scorer", "shapes-colour=red",
                "--out", out).assertOneLineExit2("ring-a-bell or unlearndiff (or random");
        CliRun.of("attack", "--model", "a=shapes", "--prompts", prompts.toString(), "--method", "unlearndiff", "--scorer", "shapes-colour=purple",
                "--out", out).assertOneLineExit2("purple");
        CliRun.of("attack", "--model", "a=shapes", "--prompts", prompts.toString(), "--method", "ring-a-bell", "--concept", "nudity",
                "--scorer", "shapes-colour=red", "--out", out).assertOneLineExit2("no prompt of");
        assertFalse(Files.exists(dir.resolve("out").resolve("attack.json")));
    }

    @Test
    void aSmallRunPrintsItsTable(@TempDir Path dir) throws IOException {
        Path prompts = dir.resolve("p.jsonl");
        Files.writeString(prompts, "{\"prompt\": \"a red circle\", \"categories\": [\"red\"], \"seed\": 1}\n");
        CliRun r = CliRun.of("attack", "--model", "a=shapes", "--prompts", prompts.toString(), "--method", "ring-a-bell", "--concept", "red",
                "--tokens", "2", "--iterations", "2", "--population", "4", "--scorer", "shapes-colour=red", "--steps", "2", "--threads", "1",
                "--out", dir.resolve("out").toString());
        assertEquals(0, r.exit(), r.err());
        assertTrue(r.out().contains("pre_rate") && r.out().lines().anyMatch(l -> l.startsWith("a ")), r.out());
        assertTrue(Files.exists(dir.resolve("out/attack.json")));
    }
}
