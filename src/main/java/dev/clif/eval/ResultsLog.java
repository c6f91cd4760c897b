package dev.clif.eval;

import dev.clif.ClifException;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@code results.jsonl}: one JSON line per image, appended as each image is judged. A line goes to the file in one
 * write of its complete bytes, newline included, so a process killed at any point leaves whole lines plus at most
 * one torn last line (a write the kernel had only partly taken); {@link #open} with resume cuts such a tail off
 * before appending, and refuses a damaged line anywhere else.
 */
public final class ResultsLog implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(ResultsLog.class);
    private static final ObjectMapper JSON = new ObjectMapper();

    private final Path file;
    private final FileChannel channel;

    private ResultsLog(Path file, FileChannel channel) {
        this.file = file;
        this.channel = channel;
    }

    /**
     * Opens the log for appending. {@code resume}: keeps the records already there (after cutting a torn tail);
     * otherwise the file must not exist yet.
     */
    public static ResultsLog open(Path file, boolean resume) {
        try {
            if (resume && Files.exists(file)) {
                repairTail(file);
            } else if (Files.exists(file)) {
                throw new ClifException(file + " exists: pass --resume to continue that run, or choose a new --out");
            }
            Files.createDirectories(file.toAbsolutePath().getParent());
            return new ResultsLog(file, FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.WRITE, StandardOpenOption.APPEND));
        } catch (IOException e) {
            throw new ClifException(file + ": cannot open for appending: " + e.getMessage(), e);
        }
    }

    /** Appends one record and hands it to the OS before returning (a kill -9 after this keeps it). */
    public synchronized void append(ResultRecord r) {
        byte[] line;
        try {
            line = (JSON.writeValueAsString(r.toJson(JSON)) + "\n").getBytes(StandardCharsets.UTF_8);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
        try {
            ByteBuffer buf = ByteBuffer.wrap(line);
            while (buf.hasRemaining()) channel.write(buf);
        } catch (IOException e) {
            throw new ClifException(file + ": cannot append a result: " + e.getMessage(), e);
        }
    }

    /** Every record of a results file; a torn last line is skipped (it will be redone), any other bad line is an error. */
    public static List<ResultRecord> read(Path file) {
        List<ResultRecord> out = new ArrayList<>();
        if (!Files.exists(file)) return out;
        byte[] bytes;
        try {
            bytes = Files.readAllBytes(file);
        } catch (IOException e) {
            throw new ClifException(file + ": cannot read: " + e.getMessage(), e);
        }
        String text = new String(bytes, StandardCharsets.UTF_8);
        String[] lines = text.split("\n", -1);
        for (int i = 0; i < lines.length; i++) {
            String l = lines[i];
            boolean last = i == lines.length - 1;
            if (l.isBlank()) continue;
            if (last) break; // no newline after it: a torn write, not a record
            try {
                out.add(ResultRecord.fromJson(JSON.readTree(l), file + ":" + (i + 1)));
            } catch (JsonProcessingException e) {
                throw new ClifException(file + ":" + (i + 1) + ": not a JSON record (" + e.getOriginalMessage() + "): the results file is damaged");
            }
        }
        return out;
    }

    /** Cuts everything after the last newline (a line the killed run had not finished writing). */
    static void repairTail(Path file) throws IOException {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
            long size = ch.size();
            long keep = size;
            ByteBuffer one = ByteBuffer.allocate(1);
            while (keep > 0) {
                one.clear();
                ch.read(one, keep - 1);
                if (one.get(0) == '\n') break;
                keep--;
            }
            if (keep < size) {
                log.warn("{}: dropping a torn last line of {} bytes (its image will be redone)", file, size - keep);
                ch.truncate(keep);
            }
        }
    }

    @Override
    public void close() {
        try {
            channel.force(true);
            channel.close();
        } catch (IOException e) {
            throw new ClifException(file + ": cannot close: " + e.getMessage(), e);
        }
    }
}
