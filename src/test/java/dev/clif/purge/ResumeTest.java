package dev.clif.purge;

import static org.junit.jupiter.api.Assertions.*;

import dev.clif.ClifException;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

import org.junit.jupiter.api.Assertions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** An interrupted-and-resumed purge equals an uninterrupted one, bit for bit (CPU). */
class ResumeTest {
    @Test
    void resumedRunEqualsUninterruptedRunBitForBit(@TempDir Path tmp) throws IOException {
        Assertions.assertTrue(Files.isDirectory(PurgerTest.SD) && Files.isDirectory(PurgerTest.CLIP));
        // two concepts and batch 2 so the round-robin and the per-step draws are exercised across the interruption
        PurgeConfig.Builder base = PurgerTest.tiny(null).concept("cat=>dog").batch(2).checkpointEvery(3);
        PurgeResult straight = new Purger(base.outputDir(tmp.resolve("straight")).steps(6).build(), PurgerTest.SD, PurgerTest.CLIP).run(null);

        Path resumed = tmp.resolve("resumed");
        new Purger(base.outputDir(resumed).steps(3).build(), PurgerTest.SD, PurgerTest.CLIP).run(null); // "interrupted" after 3
        int[] firstStep = {-1};
        PurgeResult second = new Purger(base.outputDir(resumed).steps(6).resume(true).build(), PurgerTest.SD, PurgerTest.CLIP)
                .run(new PurgeListener() {
                    @Override
                    public void onStart(int first, int total, java.util.List<String> trainable) {
                        firstStep[0] = first;
                    }

                    @Override
                    public void onStep(StepEvent event) {}
                });
        assertEquals(3, firstStep[0], "the second run continues from the checkpoint at step 3");
        assertEquals(6, second.history().size());
        for (int i = 0; i < 6; i++) {
            assertEquals(straight.history().get(i).loss(), second.history().get(i).loss(), "loss of step " + (i + 1));
            assertEquals(straight.history().get(i).gradNorm(), second.history().get(i).gradNorm(), "grad norm of step " + (i + 1));
        }
        assertArrayEquals(Files.readAllBytes(straight.modelDir().resolve(PurgerTest.UNET_FILE)),
                Files.readAllBytes(second.modelDir().resolve(PurgerTest.UNET_FILE)), "purged UNet bytes");
        assertArrayEquals(Files.readAllBytes(straight.delta()), Files.readAllBytes(second.delta()), "delta bytes");

        // resuming with another configuration is refused
        ClifException e = assertThrows(ClifException.class, () -> new Purger(base.outputDir(resumed).steps(8).lr(2e-3).resume(true).build(),
                PurgerTest.SD, PurgerTest.CLIP).run(null));
        assertTrue(e.getMessage().contains("lr"), e.getMessage());
    }

    @Test
    void resumeWithoutCheckpointIsRefused(@TempDir Path tmp) {
        Assertions.assertTrue(Files.isDirectory(PurgerTest.SD) && Files.isDirectory(PurgerTest.CLIP));
        ClifException e = assertThrows(ClifException.class,
                () -> new Purger(PurgerTest.tiny(tmp.resolve("none")).steps(2).resume(true).build(), PurgerTest.SD, PurgerTest.CLIP));
        assertTrue(e.getMessage().contains("no checkpoint"), e.getMessage());
    }
}
