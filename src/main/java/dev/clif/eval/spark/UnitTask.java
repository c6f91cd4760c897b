package dev.clif.eval.spark;

import dev.clif.ClifException;
import dev.clif.eval.BatchRunner;
import dev.clif.eval.EvalConfig;
import dev.clif.eval.ModelSpec;
import dev.clif.eval.PromptSet;
import dev.clif.eval.Evaluation;
import dev.clif.eval.ResultRecord;
import dev.clif.eval.ScorerSet;
import dev.clif.eval.WorkPlan;
import dev.clif.tensor.Device;

import java.io.IOException;
import java.io.Serializable;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Set;

import org.apache.spark.TaskContext;
import org.apache.spark.api.java.function.FlatMapFunction;
import org.apache.spark.resource.ResourceInformation;
import org.apache.spark.sql.Row;

/**
 * What one Spark task does with its share of the plan: rebuild the config and the plan from the job (the same plan the
 * driver made), load its model once, run its batches with the single-machine {@link BatchRunner}, and hand back a row
 * per image not recorded before. The task's device is the GPU Spark assigned it ({@code spark.task.resource.gpu.amount=1}),
 * else the config's.
 *
 * <p>Fault injection for tests: with the system property {@value #FAIL_ONCE} naming a file that does not exist yet, the
 * first task to finish a batch creates the file and fails, so Spark retries it.
 */
final class UnitTask implements FlatMapFunction<Iterator<List<Integer>>, Row>, Serializable {
    private static final long serialVersionUID = 1L;
    static final String FAIL_ONCE = "clif.eval.spark.failOnce";

    private final String job;
    private final Set<ResultRecord.Key> recorded;

    UnitTask(String job, Set<ResultRecord.Key> recorded) {
        this.job = job;
        this.recorded = recorded;
    }

    @Override
    public Iterator<Row> call(Iterator<List<Integer>> chunks) {
        List<Integer> units = new ArrayList<>();
        chunks.forEachRemaining(units::addAll);
        List<Row> rows = new ArrayList<>();
        if (units.isEmpty()) return rows.iterator();
        EvalConfig config = EvalJob.fromJson(job);
        PromptSet set = Evaluation.promptSet(config, new dev.clif.eval.EvalListener() {});
        List<WorkPlan.Unit> plan = WorkPlan.of(config, set);
        ModelSpec model = plan.get(units.get(0)).model();
        try (ScorerSet scorers = ScorerSet.open(config);
             BatchRunner runner = new BatchRunner(config, model, scorers, device(config))) {
            for (int index : units) {
                WorkPlan.Unit u = plan.get(index);
                if (!u.model().name().equals(model.name())) throw new IllegalStateException("a task's batches span two models");
                for (ResultRecord r : runner.run(u, recorded::contains)) rows.add(RecordRows.toRow(r));
                failOnceForTests();
            }
        }
        return rows.iterator();
    }

    private static Device device(EvalConfig config) {
        TaskContext ctx = TaskContext.get();
        if (ctx != null) {
            ResourceInformation gpu = ctx.resources().get("gpu").getOrElse(() -> null);
            if (gpu != null && gpu.addresses().length > 0) return Device.cuda(Integer.parseInt(gpu.addresses()[0].trim()));
        }
        return config.device();
    }

    private static void failOnceForTests() {
        String marker = System.getProperty(FAIL_ONCE);
        if (marker == null) return;
        try {
            Files.createFile(Path.of(marker));
        } catch (java.nio.file.FileAlreadyExistsException e) {
            return;
        } catch (IOException e) {
            throw new ClifException(marker + ": cannot create the fault-injection marker: " + e.getMessage(), e);
        }
        throw new IllegalStateException("injected failure (" + FAIL_ONCE + "): Spark retries this task");
    }
}
