/**
 * {@code clif eval} on Apache Spark ({@link dev.clif.eval.spark.SparkEvaluation}). Spark is a {@code provided},
 * optional dependency: the CLI's jar and {@code lib/} do not carry it; {@code spark-submit} (or Spark's jars on the
 * classpath) does.
 */
package dev.clif.eval.spark;
