#!/usr/bin/env python3
"""Writes the malformed safetensors corpus used by SafetensorsMalformedTest and the CLI tests.

Each file breaks exactly one rule of the format (or, for the NaN/Inf files, holds a value a model
loader must refuse). Run from this folder: python3 make_corpus.py. The files are committed; this script
documents how they were made. The expected message fragment per file is in expected.tsv.
"""
import json
import struct


def header_file(header, data=b"", pad=True):
    h = header if isinstance(header, bytes) else json.dumps(header, separators=(",", ":")).encode()
    if pad:
        h += b" " * ((8 - len(h) % 8) % 8)
    return struct.pack("<Q", len(h)) + h + data


def f32(*values):
    return struct.pack("<%df" % len(values), *values)


ok = {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}
files = {
    "empty.safetensors": b"",
    "truncated-length.safetensors": b"\x10\x00\x00\x00\x00",
    "header-beyond-file.safetensors": struct.pack("<Q", 1000) + b'{"a":1}',
    "header-length-2pow63.safetensors": struct.pack("<Q", 2**63) + b"{}      ",
    "invalid-json.safetensors": header_file(b'{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]', f32(1, 2)),
    "header-not-object.safetensors": header_file([1, 2, 3]),
    "unknown-dtype.safetensors": header_file({"w": {"dtype": "F128", "shape": [2], "data_offsets": [0, 8]}}, f32(1, 2)),
    "shape-span-mismatch.safetensors": header_file({"w": {"dtype": "F32", "shape": [3], "data_offsets": [0, 8]}}, f32(1, 2)),
    "overlapping-spans.safetensors": header_file({"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]},
                                                  "b": {"dtype": "F32", "shape": [2], "data_offsets": [4, 12]}}, f32(1, 2, 3)),
    "span-past-eof.safetensors": header_file({"w": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]}}, f32(1, 2)),
    "negative-shape.safetensors": header_file({"w": {"dtype": "F32", "shape": [-2], "data_offsets": [0, 8]}}, f32(1, 2)),
    "non-integer-shape.safetensors": header_file({"w": {"dtype": "F32", "shape": [2.5], "data_offsets": [0, 8]}}, f32(1, 2)),
    "duplicate-names.safetensors": header_file(b'{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},'
                                               b'"w":{"dtype":"F32","shape":[2],"data_offsets":[8,16]}}', f32(1, 2, 3, 4)),
    "hole-in-data.safetensors": header_file({"a": ok, "b": {"dtype": "F32", "shape": [1], "data_offsets": [12, 16]}},
                                            f32(1, 2, 3, 4)),
    "bad-metadata.safetensors": header_file({"__metadata__": {"format": 7}, "w": ok}, f32(1, 2)),
    "nan-weights.safetensors": header_file({"w": {"dtype": "F32", "shape": [3], "data_offsets": [0, 12]}},
                                           f32(1.0, float("nan"), 3.0)),
    "inf-weights.safetensors": header_file({"w": {"dtype": "F16", "shape": [2], "data_offsets": [0, 4]}},
                                           struct.pack("<2H", 0x3C00, 0x7C00)),
}
for name, content in files.items():
    with open(name, "wb") as f:
        f.write(content)
