package dev.clif.cli;

import static org.junit.jupiter.api.Assertions.*;

import java.io.PrintWriter;
import java.io.StringWriter;

import picocli.CommandLine;

/** One in-process run of the {@code clif} command line, for tests: exit code and what went to stdout and stderr. */
public record CliRun(int exit, String out, String err) {
    public static CliRun of(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        CommandLine cl = Main.commandLine();
        cl.setOut(new PrintWriter(out, true));
        cl.setErr(new PrintWriter(err, true));
        int exit = cl.execute(args);
        return new CliRun(exit, out.toString(), err.toString());
    }

    /** Bad input: exit code 2 and one line on stderr, "clif: …", containing {@code expected}. */
    public void assertOneLineExit2(String expected) {
        assertEquals(2, exit, err);
        assertEquals(1, err.lines().count(), "one line: " + err);
        assertTrue(err.startsWith("clif: ") && err.contains(expected), err);
    }
}
