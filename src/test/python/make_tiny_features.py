#!/usr/bin/python3
"""A tiny stand-in for an Inception feature extractor exported to ONNX, for the Java tests of OnnxFeatures.

Run with Debian's python3-onnx (1.12):
    /usr/bin/python3 src/test/python/make_tiny_features.py src/test/resources/dev/clif/eval/features

tiny-features.onnx takes images [batch, 3, 4, 4] and returns features [batch, 4]: the mean of each of the three
planes, and plane 0 at the top-left pixel, so a test can work out by hand what it returns.
"""
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

out = sys.argv[1]
# mean over H, W: ReduceMean(axes=[2, 3], keepdims=0) -> [N, 3]
mean = helper.make_node("ReduceMean", ["images"], ["means"], axes=[2, 3], keepdims=0)
# plane 0 at (0, 0): Slice to [N, 1, 1, 1], then Reshape to [N, 1]
starts = numpy_helper.from_array(np.array([0, 0, 0], dtype=np.int64), "starts")
ends = numpy_helper.from_array(np.array([1, 1, 1], dtype=np.int64), "ends")
axes = numpy_helper.from_array(np.array([1, 2, 3], dtype=np.int64), "axes")
shape = numpy_helper.from_array(np.array([-1, 1], dtype=np.int64), "shape")
corner = helper.make_node("Slice", ["images", "starts", "ends", "axes"], ["corner4"])
flat = helper.make_node("Reshape", ["corner4", "shape"], ["corner"])
cat = helper.make_node("Concat", ["means", "corner"], ["features"], axis=1)
graph = helper.make_graph(
    [mean, corner, flat, cat], "tiny-features",
    [helper.make_tensor_value_info("images", TensorProto.FLOAT, ["batch", 3, 4, 4])],
    [helper.make_tensor_value_info("features", TensorProto.FLOAT, ["batch", 4])],
    [starts, ends, axes, shape])
model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
model.ir_version = 8
onnx.checker.check_model(model)
onnx.save(model, os.path.join(out, "tiny-features.onnx"))
