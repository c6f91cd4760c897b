package dev.clif.attack;

import dev.clif.ClifException;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;

/**
 * One model's found prompts, {@code found/NAME.jsonl}: one line per finished prompt, written in one call and flushed,
 * so an interrupted search resumes at the next prompt. A torn last line (a kill mid-write) is cut on resume.
 */
final class FoundPromptLog implements AutoCloseable {
    private static final ObjectMapper JSON = new ObjectMapper();
    private final OutputStream out;

    private FoundPromptLog(OutputStream out) {
        this.out = out;
    }

    static FoundPromptLog open(Path file, boolean resume) {
        try {
            Files.createDirectories(file.getParent());
            if (resume && Files.exists(file)) cutTornLine(file);
            else Files.deleteIfExists(file);
            return new FoundPromptLog(Files.newOutputStream(file, StandardOpenOption.CREATE, StandardOpenOption.APPEND));
        } catch (IOException e) {
            throw new ClifException(file + ": cannot open for writing: " + e.getMessage(), e);
        }
    }

    void append(FoundPrompt p) {
        try {
            out.write((JSON.writeValueAsString(p.toJson(JSON)) + "\n").getBytes(StandardCharsets.UTF_8));
            out.flush();
        } catch (IOException e) {
            throw new ClifException("cannot append a found prompt: " + e.getMessage(), e);
        }
    }

    /** The complete lines of {@code file} (none if it does not exist); a malformed complete line is an error naming it. */
    static List<FoundPrompt> read(Path file) {
        List<FoundPrompt> found = new ArrayList<>();
        if (!Files.exists(file)) return found;
        String text;
        try {
            text = Files.readString(file, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new ClifException(file + ": cannot read: " + e.getMessage(), e);
        }
        String[] lines = text.split("\n", -1);
        for (int i = 0; i < lines.length - 1; i++) { // the last piece is "" or a torn line
            if (lines[i].isBlank()) continue;
            try {
                JsonNode n = JSON.readTree(lines[i]);
                found.add(FoundPrompt.fromJson(n));
            } catch (IOException | RuntimeException e) {
                throw new ClifException(file + ":" + (i + 1) + ": not a found-prompt record: " + e.getMessage(), e);
            }
        }
        return found;
    }

    private static void cutTornLine(Path file) throws IOException {
        byte[] b = Files.readAllBytes(file);
        int end = b.length;
        while (end > 0 && b[end - 1] != '\n') end--;
        if (end != b.length) {
            byte[] kept = java.util.Arrays.copyOf(b, end);
            Files.write(file, kept);
        }
    }

    @Override
    public void close() {
        try {
            out.close();
        } catch (IOException e) {
            throw new ClifException("cannot close the found-prompt log: " + e.getMessage(), e);
        }
    }
}
