#!/usr/bin/python3
"""Digests of what OpenCV computes for the steps NudeNet 3.4 takes from it, for the Java tests to match.

Run with Debian's OpenCV (apt-get install python3-opencv; 4.6.0 on Debian 12):
    /usr/bin/python3 src/test/python/cv2_golden.py > src/test/resources/dev/clif/eval/nudenet/cv2-golden.txt
NudeNetResizeTest, NudeNetNmsTest and NudeNetDecoderTest read that file. Not part of the build: the tests keep
its output, so they run without Python or OpenCV.

Pictures are made from integer formulas both sides compute alike (pattern, lcg_bytes); candidate tables from an
LCG whose values are exact in float32. The postprocessing below follows NudeNet 3.4's _postprocess in float32
arithmetic, as NumPy 2 evaluates it (on NumPy 1 the np.float32 wrappers keep it float32 too).
"""
import hashlib
import sys

import cv2
import numpy as np


def pattern(w, h, c):
    y, x = np.mgrid[0:h, 0:w]
    planes = [(((x * 73 + y * 151 + k * 37) ^ ((x * y) >> 3)) & 0xFF) for k in range(c)]
    return np.stack(planes, axis=-1).astype(np.uint8)


class Lcg:
    def __init__(self, seed):
        self.state = seed

    def next(self):
        self.state = (self.state * 1103515245 + 12345) % (1 << 31)
        return self.state >> 8


def lcg_bytes(w, h, c, seed):
    g = Lcg(seed)
    return np.array([g.next() & 0xFF for _ in range(w * h * c)], dtype=np.uint8).reshape(h, w, c)


def digest(a):
    return hashlib.sha256(np.ascontiguousarray(a).tobytes()).hexdigest()


def nudenet_blob(rgb, size):
    # What NudeNet 3.4 does with cv2.imread's BGR picture of these RGB pixels.
    bgr = np.ascontiguousarray(rgb[:, :, ::-1])
    mat_c3 = cv2.cvtColor(bgr, cv2.COLOR_RGBA2BGR)
    side = max(mat_c3.shape[:2])
    padded = cv2.copyMakeBorder(mat_c3, 0, side - mat_c3.shape[0], 0, side - mat_c3.shape[1], cv2.BORDER_CONSTANT)
    return cv2.dnn.blobFromImage(padded, 1 / 255.0, (size, size), (0, 0, 0), swapRB=True, crop=False)


def candidates(n, seed):
    """A (22, n) float32 output: boxes around six centres (so NMS has work), scores mostly low, one raised."""
    g = Lcg(seed)
    centres = [(40, 40), (48, 44), (200, 120), (300, 300), (10, 310), (160, 160)]
    out = np.zeros((22, n), dtype=np.float32)
    for i in range(n):
        cx, cy = centres[g.next() % len(centres)]
        out[0, i] = np.float32(cx + (g.next() % 257 - 128) / 8.0)
        out[1, i] = np.float32(cy + (g.next() % 257 - 128) / 8.0)
        out[2, i] = np.float32(4 + (g.next() % 640) / 8.0)
        out[3, i] = np.float32(4 + (g.next() % 640) / 8.0)
        for c in range(18):
            out[4 + c, i] = np.float32((g.next() % 1000) / 1000.0 * 0.3)
        out[4 + g.next() % 18, i] = np.float32((g.next() % 1000) / 1000.0)
    return out


def postprocess(out, img_w, img_h, size):
    f = np.float32
    side, inp, width, height = f(max(img_w, img_h)), f(size), f(img_w), f(img_h)
    boxes, scores, classes = [], [], []
    for i in range(out.shape[1]):
        cls = out[4:, i]
        best = np.amax(cls)
        if best >= 0.2:
            k = int(np.argmax(cls))
            x, y, w, h = out[0, i], out[1, i], out[2, i], out[3, i]
            x = x - w / f(2)
            y = y - h / f(2)
            x = x * side / inp
            y = y * side / inp
            w = w * side / inp
            h = h * side / inp
            x = max(f(0), min(x, width))
            y = max(f(0), min(y, height))
            w = min(w, width - x)
            h = min(h, height - y)
            assert all(type(v) is np.float32 for v in (x, y, w, h))
            boxes.append([float(x), float(y), float(w), float(h)])
            scores.append(float(best))
            classes.append(k)
    kept = cv2.dnn.NMSBoxes(boxes, scores, 0.25, 0.45)
    rows = []
    for i in np.array(kept).reshape(-1):
        x, y, w, h = boxes[i]
        rows.append("%d %08x %d %d %d %d" % (classes[i], np.float32(scores[i]).view(np.uint32), int(x), int(y), int(w), int(h)))
    return rows


def nms_cases():
    """Named box sets (x, y, w, h) with scores: edge cases, then LCG ones."""
    cases = {
        "ties": ([[10, 10, 20, 20], [10, 10, 20, 20], [12, 12, 20, 20], [100, 100, 5, 5]], [0.5, 0.5, 0.5, 0.5]),
        "empty": ([[5, 5, 0, 0], [5, 5, 0, 0], [5, 5, 0, 10], [0, 0, 10, 10]], [0.9, 0.8, 0.7, 0.6]),
        "negative": ([[-10, -10, 20, 20], [-5, -5, 20, 20], [-30, 0, 20, 20], [-12, -10, 1, 1]], [0.9, 0.8, 0.7, 0.6]),
        "threshold": ([[0, 0, 10, 10], [0, 0, 10, 10], [50, 50, 10, 10]], [0.25, 0.2500001, 0.26]),
        # IoU 9/20 = 0.45 (kept: overlap <= 0.45), and 9.03/20 just above it.
        "boundary": ([[0, 0, 4, 5], [0, 0, 3, 3], [100, 100, 4, 5], [100, 100, 3.01, 3]], [0.9, 0.8, 0.7, 0.6]),
    }
    for seed in (3, 4):
        g = Lcg(seed)
        boxes, scores = [], []
        for _ in range(120):
            boxes.append([(g.next() % 400 - 50) / 4.0, (g.next() % 400 - 50) / 4.0, (g.next() % 200) / 4.0, (g.next() % 200) / 4.0])
            scores.append(float(np.float32((g.next() % 1000) / 1000.0)))
        cases["lcg%d" % seed] = (boxes, scores)
    return cases


def main():
    print("# OpenCV", cv2.__version__, "NumPy", np.__version__)
    print("# resize: sw sh channels dw dh source sha256")
    for sw, sh, c, dw, dh, src in [
        (7, 5, 3, 4, 3, "pattern"), (5, 7, 3, 11, 9, "pattern"), (512, 512, 3, 320, 320, "pattern"),
        (640, 640, 3, 320, 320, "pattern"), (1024, 1024, 3, 320, 320, "pattern"), (333, 333, 3, 320, 320, "pattern"),
        (100, 100, 3, 320, 320, "pattern"), (160, 160, 3, 320, 320, "pattern"), (768, 768, 3, 640, 640, "lcg"),
        (1, 2, 3, 5, 5, "pattern"), (13, 11, 1, 9, 7, "lcg"), (37, 23, 3, 29, 19, "lcg"), (512, 512, 3, 320, 320, "lcg"),
    ]:
        img = pattern(sw, sh, c) if src == "pattern" else lcg_bytes(sw, sh, c, 7)
        out = cv2.resize(img if c > 1 else img[:, :, 0], (dw, dh))
        print("resize", sw, sh, c, dw, dh, src, digest(out))
    print("# blob: width height size source sha256 of the float32 (1, 3, size, size) little-endian")
    for w, h, size, src in [
        (512, 512, 320, "pattern"), (512, 384, 320, "pattern"), (384, 512, 320, "pattern"), (77, 50, 32, "pattern"),
        (320, 200, 320, "pattern"), (1000, 700, 640, "lcg"), (64, 32, 32, "lcg"),
    ]:
        img = pattern(w, h, 3) if src == "pattern" else lcg_bytes(w, h, 3, 11)
        blob = nudenet_blob(img, size)
        assert blob.dtype == np.float32 and blob.shape == (1, 3, size, size)
        print("blob", w, h, size, src, digest(blob.astype("<f4")))
    print("# nms: case, then the kept indices of NMSBoxes(boxes, scores, 0.25, 0.45)")
    for name, (boxes, scores) in nms_cases().items():
        kept = np.array(cv2.dnn.NMSBoxes([[float(v) for v in b] for b in boxes], scores, 0.25, 0.45)).reshape(-1)
        print("nms", name, ",".join(str(int(i)) for i in kept) or "-")
    print("# postprocess: candidates seed width height size, then: class score-bits x y w h")
    for n, seed, w, h, size in [(300, 5, 320, 320, 320), (300, 9, 512, 384, 320), (200, 13, 300, 700, 320)]:
        print("postprocess", n, seed, w, h, size)
        for row in postprocess(candidates(n, seed), w, h, size):
            print(row)
    return 0


if __name__ == "__main__":
    sys.exit(main())
