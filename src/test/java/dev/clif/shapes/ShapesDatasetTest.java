package dev.clif.shapes;

import static org.junit.jupiter.api.Assertions.*;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Iterator;
import java.util.List;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ShapesDatasetTest {
    @TempDir
    Path tmp;

    @Test
    void writesPngsAndMetadataMatchingTheStream() throws Exception {
        ShapesDataset.write(tmp, 12, 5);
        List<String> lines = Files.readAllLines(tmp.resolve(ShapesDataset.METADATA));
        assertEquals(12, lines.size());
        ObjectMapper json = new ObjectMapper();
        ShapesWorld world = new ShapesWorld();
        Iterator<Scene> scenes = ShapesDataset.scenes(world, 5);
        for (int i = 0; i < 12; i++) {
            JsonNode o = json.readTree(lines.get(i));
            String file = String.format("%05d.png", i + 1);
            assertEquals(file, o.get("file").asText());
            Scene s = scenes.next();
            assertEquals(s.caption(), o.get("caption").asText());
            assertEquals(s.shapes().size(), o.get("shapes").size());
            JsonNode first = o.get("shapes").get(0);
            assertEquals(s.shapes().get(0).kind().word(), first.get("kind").asText());
            assertEquals(s.shapes().get(0).colour().word(), first.get("colour").asText());
            assertEquals(s.shapes().get(0).size(), first.get("size").asInt());
            assertEquals(world.render(s), Image.readPng(tmp.resolve(file)));
        }
        try (var files = Files.list(tmp)) {
            assertEquals(13, files.count(), "12 PNGs and the metadata, no temporary files");
        }
    }

    @Test
    void batchesMatchTheStream() {
        ShapesWorld world = new ShapesWorld(64);
        Iterator<ShapesDataset.Batch> batches = ShapesDataset.batches(world, 9, 3);
        Iterator<Scene> scenes = ShapesDataset.scenes(world, 9);
        for (int b = 0; b < 2; b++) {
            ShapesDataset.Batch batch = batches.next();
            assertEquals(3, batch.count());
            assertEquals(3 * 3 * 64 * 64, batch.images().length);
            for (int i = 0; i < 3; i++) {
                Scene s = scenes.next();
                assertEquals(s, batch.scenes()[i]);
                assertEquals(s.caption(), batch.captions()[i]);
                assertEquals(world.render(s), batch.image(i));
            }
        }
    }
}
