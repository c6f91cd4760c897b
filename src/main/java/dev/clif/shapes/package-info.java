/**
 * The shapes world: a tiny, fully controlled text-to-image domain in which a purge can be watched on a CPU.
 *
 * <p>{@link dev.clif.shapes.ShapesWorld} draws captioned pictures of one or two coloured shapes
 * ({@link dev.clif.shapes.Scene}, {@link dev.clif.shapes.Image}); {@link dev.clif.shapes.ShapesDataset}
 * writes them to a folder or streams them for training; {@link dev.clif.shapes.Prompts} holds benchmark
 * prompt sets; and {@link dev.clif.shapes.Judge} reads a (generated) picture's pixels and says which colours,
 * and where it is confident which shapes, it shows.
 */
package dev.clif.shapes;
