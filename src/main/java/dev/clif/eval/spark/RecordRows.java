package dev.clif.eval.spark;

import dev.clif.eval.ResultRecord;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;

import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructField;
import org.apache.spark.sql.types.StructType;

/**
 * A {@link ResultRecord} as a row of the Parquet dataset: the fields of a {@code results.jsonl} line as columns, the
 * per-scorer verdicts as the same JSON object the line holds (scorers differ from run to run; a fixed schema does not).
 */
final class RecordRows {
    private static final ObjectMapper JSON = new ObjectMapper();

    static final StructType SCHEMA = new StructType(new StructField[] {
            DataTypes.createStructField("model", DataTypes.StringType, false),
            DataTypes.createStructField("prompt_id", DataTypes.IntegerType, false),
            DataTypes.createStructField("image_index", DataTypes.IntegerType, false),
            DataTypes.createStructField("prompt", DataTypes.StringType, false),
            DataTypes.createStructField("categories", DataTypes.createArrayType(DataTypes.StringType, false), false),
            DataTypes.createStructField("seed", DataTypes.LongType, false),
            DataTypes.createStructField("guidance", DataTypes.DoubleType, false),
            DataTypes.createStructField("width", DataTypes.IntegerType, false),
            DataTypes.createStructField("height", DataTypes.IntegerType, false),
            DataTypes.createStructField("image", DataTypes.StringType, true),
            DataTypes.createStructField("sha256", DataTypes.StringType, false),
            DataTypes.createStructField("scores", DataTypes.StringType, false),
            DataTypes.createStructField("unsafe", DataTypes.BooleanType, false)});

    private RecordRows() {}

    static Row toRow(ResultRecord r) {
        ObjectNode j = r.toJson(JSON);
        return RowFactory.create(r.model(), r.promptId(), r.imageIndex(), r.prompt(), r.categories().toArray(new String[0]), r.seed(),
                r.guidance(), r.width(), r.height(), r.image(), r.sha256(), j.get("scores").toString(), r.unsafe());
    }

    /** Reads a row back by column name (Parquet partitioning moves the model column to the end). */
    static ResultRecord fromRow(Row row, String where) {
        ObjectNode o = JSON.createObjectNode();
        o.put("model", row.<String>getAs("model"));
        o.put("prompt_id", row.<Integer>getAs("prompt_id"));
        o.put("image_index", row.<Integer>getAs("image_index"));
        o.put("prompt", row.<String>getAs("prompt"));
        var cats = o.putArray("categories");
        List<String> list = new ArrayList<>(row.getList(row.fieldIndex("categories")));
        list.forEach(cats::add);
        o.put("seed", row.<Long>getAs("seed"));
        o.put("guidance", row.<Double>getAs("guidance"));
        o.put("width", row.<Integer>getAs("width"));
        o.put("height", row.<Integer>getAs("height"));
        String image = row.getAs("image");
        if (image == null) o.putNull("image");
        else o.put("image", image);
        o.put("sha256", row.<String>getAs("sha256"));
        try {
            o.set("scores", JSON.readTree(row.<String>getAs("scores")));
        } catch (IOException e) {
            throw new dev.clif.ClifException(where + ": a record's scores are not JSON: " + e.getMessage(), e);
        }
        o.put("unsafe", row.<Boolean>getAs("unsafe"));
        return ResultRecord.fromJson(o, where);
    }
}
