#!/usr/bin/python3
"""Tiny stand-ins for NudeNet's 320n.onnx, for the Java tests of NudeNetScorer.

Run with Debian's python3-onnx (1.12):
    /usr/bin/python3 src/test/python/make_tiny_nudenet.py src/test/resources/dev/clif/eval/nudenet

tiny-nudenet.onnx takes images [1, 3, 32, 32] and returns output0 [1, 22, 8], NudeNet's layout (4 box rows, 18
score rows, one column per candidate). Every output value is a constant plus a weighted sum of nine features of the
input, so a test can work out by hand what the model returns:

    f0 f1 f2  mean of planes 0, 1, 2 (B, G, R when the caller feeds NudeNet's BGR order)
    f3 f4 f5  planes 0, 1, 2 at the top-left pixel
    f6 f7 f8  planes 0, 1, 2 at the bottom-right pixel

The eight candidates (centre x, centre y, width, height in input pixels; class; score):
    0  (8, 8, 8, 8)     FEMALE_BREAST_EXPOSED   0.3 + 0.5 f0
    1  (9, 9, 8, 8)     FEMALE_BREAST_EXPOSED   0.5             (IoU 49/79 with 0: NMS keeps the higher)
    2  (24, 24, 6, 6)   BELLY_EXPOSED           0.2 + 0.6 f2
    3  (20, 8, 6, 6)    FACE_FEMALE and FACE_MALE both 0.9 (argmax takes the first: FACE_FEMALE)
    4  (4, 28, 4, 4)    FEET_EXPOSED            0.15            (below 0.2: never a candidate)
    5  (28, 4, 4, 4)    ARMPITS_EXPOSED         0.22            (a candidate, but NMS wants > 0.25)
    6  (16, 16, 4, 4)   MALE_GENITALIA_EXPOSED  0.05 + 0.8 f3   (black top-left, e.g. padding on top: dropped)
    7  (28, 28, 4, 4)   BUTTOCKS_EXPOSED        0.05 + 0.9 f6   (black bottom-right, e.g. padding at the bottom: dropped)

tiny-nudenet-dynamic.onnx is the same graph with images [batch, 3, height, width] and output0 [batch, 22, 8].
tiny-nudenet-84.onnx returns [1, 84, 8] (a COCO-sized YOLOv8 head), tiny-nudenet-rank3.onnx takes [1, 3, 32]:
both must be refused.
"""
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

N = 8
LABELS = [
    "FEMALE_GENITALIA_COVERED", "FACE_FEMALE", "BUTTOCKS_EXPOSED", "FEMALE_BREAST_EXPOSED",
    "FEMALE_GENITALIA_EXPOSED", "MALE_BREAST_EXPOSED", "ANUS_EXPOSED", "FEET_EXPOSED", "BELLY_COVERED",
    "FEET_COVERED", "ARMPITS_COVERED", "ARMPITS_EXPOSED", "FACE_MALE", "BELLY_EXPOSED", "MALE_GENITALIA_EXPOSED",
    "ANUS_COVERED", "FEMALE_BREAST_COVERED", "BUTTOCKS_COVERED",
]
# (box, [(label, constant, {feature: weight})])
CANDIDATES = [
    ((8, 8, 8, 8), [("FEMALE_BREAST_EXPOSED", 0.3, {0: 0.5})]),
    ((9, 9, 8, 8), [("FEMALE_BREAST_EXPOSED", 0.5, {})]),
    ((24, 24, 6, 6), [("BELLY_EXPOSED", 0.2, {2: 0.6})]),
    ((20, 8, 6, 6), [("FACE_FEMALE", 0.9, {}), ("FACE_MALE", 0.9, {})]),
    ((4, 28, 4, 4), [("FEET_EXPOSED", 0.15, {})]),
    ((28, 4, 4, 4), [("ARMPITS_EXPOSED", 0.22, {})]),
    ((16, 16, 4, 4), [("MALE_GENITALIA_EXPOSED", 0.05, {3: 0.8})]),
    ((28, 28, 4, 4), [("BUTTOCKS_EXPOSED", 0.05, {6: 0.9})]),
]
OPSET = 13
IR_VERSION = 7
INT_MAX = 2**31 - 1


def tables(rows):
    const = np.zeros((rows, N), dtype=np.float32)
    weights = np.zeros((9, rows, N), dtype=np.float32)
    for i, (box, scores) in enumerate(CANDIDATES):
        const[0:4, i] = box
        for label, c, w in scores:
            const[4 + LABELS.index(label), i] = c
            for f, v in w.items():
                weights[f, 4 + LABELS.index(label), i] = v
    return const.reshape(1, rows * N), weights.reshape(9, rows * N)


def graph(name, input_shape, output_shape):
    rows = 22
    const, weights = tables(rows)
    i64 = lambda n, v: numpy_helper.from_array(np.array(v, dtype=np.int64), n)
    inits = [
        numpy_helper.from_array(const, "C"), numpy_helper.from_array(weights, "W"),
        i64("zero2", [0, 0]), i64("one2", [1, 1]), i64("last2", [-1, -1]), i64("end2", [INT_MAX, INT_MAX]),
        i64("hw", [2, 3]), i64("pix_shape", [-1, 3]), i64("out_shape", [-1, rows, N]),
    ]
    nodes = [
        helper.make_node("ReduceMean", ["images"], ["means"], axes=[2, 3], keepdims=0),
        helper.make_node("Slice", ["images", "zero2", "one2", "hw"], ["tl4"]),
        helper.make_node("Reshape", ["tl4", "pix_shape"], ["tl"]),
        helper.make_node("Slice", ["images", "last2", "end2", "hw"], ["br4"]),
        helper.make_node("Reshape", ["br4", "pix_shape"], ["br"]),
        helper.make_node("Concat", ["means", "tl", "br"], ["features"], axis=1),
        helper.make_node("MatMul", ["features", "W"], ["mixed"]),
        helper.make_node("Add", ["mixed", "C"], ["flat"]),
        helper.make_node("Reshape", ["flat", "out_shape"], ["output0"]),
    ]
    g = helper.make_graph(nodes, name,
                          [helper.make_tensor_value_info("images", TensorProto.FLOAT, input_shape)],
                          [helper.make_tensor_value_info("output0", TensorProto.FLOAT, output_shape)], inits)
    return g


def rows84_graph():
    # images [1, 3, 32, 32] -> the image mean broadcast to [1, 84, 8]: right input, wrong head.
    shape = numpy_helper.from_array(np.array([1, 84, N], dtype=np.int64), "out_shape")
    nodes = [
        helper.make_node("ReduceMean", ["images"], ["mean"], axes=[1, 2, 3], keepdims=1),
        helper.make_node("Reshape", ["mean", "one3"], ["mean3"]),
        helper.make_node("Expand", ["mean3", "out_shape"], ["output0"]),
    ]
    one3 = numpy_helper.from_array(np.array([1, 1, 1], dtype=np.int64), "one3")
    return helper.make_graph(nodes, "tiny-nudenet-84",
                             [helper.make_tensor_value_info("images", TensorProto.FLOAT, [1, 3, 32, 32])],
                             [helper.make_tensor_value_info("output0", TensorProto.FLOAT, [1, 84, N])], [shape, one3])


def rank3_graph():
    # images [1, 3, 32] -> means [1, 3] -> a (1, 22, 8) output, so only the input rank is wrong.
    const, weights = tables(22)
    inits = [numpy_helper.from_array(const, "C"), numpy_helper.from_array(weights[:3], "W"),
             numpy_helper.from_array(np.array([-1, 22, N], dtype=np.int64), "out_shape")]
    nodes = [
        helper.make_node("ReduceMean", ["images"], ["means"], axes=[2], keepdims=0),
        helper.make_node("MatMul", ["means", "W"], ["mixed"]),
        helper.make_node("Add", ["mixed", "C"], ["flat"]),
        helper.make_node("Reshape", ["flat", "out_shape"], ["output0"]),
    ]
    return helper.make_graph(nodes, "tiny-nudenet-rank3",
                             [helper.make_tensor_value_info("images", TensorProto.FLOAT, [1, 3, 32])],
                             [helper.make_tensor_value_info("output0", TensorProto.FLOAT, [1, 22, N])], inits)


def save(g, path):
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", OPSET)], producer_name="clif make_tiny_nudenet.py")
    m.ir_version = IR_VERSION
    onnx.checker.check_model(m)
    # Deterministic bytes: no doc strings or timestamps are written, so reruns give the same file.
    onnx.save(m, path)
    print(path, os.path.getsize(path), "bytes")


def main(out):
    os.makedirs(out, exist_ok=True)
    save(graph("tiny-nudenet", [1, 3, 32, 32], [1, 22, N]), os.path.join(out, "tiny-nudenet.onnx"))
    save(graph("tiny-nudenet-dynamic", ["batch", 3, "height", "width"], ["batch", 22, N]),
         os.path.join(out, "tiny-nudenet-dynamic.onnx"))
    save(rows84_graph(), os.path.join(out, "tiny-nudenet-84.onnx"))
    save(rank3_graph(), os.path.join(out, "tiny-nudenet-rank3.onnx"))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "src/test/resources/dev/clif/eval/nudenet"))
