#!/usr/bin/env python3
"""Independent numpy forward pass of face-api's 68-point landmark network (TF semantics).

It reads the quantised weights straight from the npm package's manifest + .bin (TF
layouts, no transposes), so it checks both the converter's layout changes and mclcr's
Burn network. It writes a parity fixture for `tests/it/landmarks.rs`:

  tests/fixtures/landmark68_input.png       the 112x112 RGB input (a crop of the
                                             public-domain astronaut.png portrait)
  tests/fixtures/landmark68_reference.json  the network's 136 raw outputs (x0, y0, x1, ...
                                             in [0, 1] of the input) for that input

Usage (from the repository root; needs numpy and Pillow, and npm unless --package):
  python3 tools/face_landmark_68_reference.py [--package DIR]
"""
import argparse
import json
import os
import sys
import tempfile

import numpy as np
from PIL import Image

from convert_face_landmark_68 import BIN, MANIFEST, fetch_package, read_quantized

MEAN_RGB = np.array([122.782, 117.001, 104.298])
SOURCE = "assets/samples/astronaut.png"
CROP = (154, 45, 141)  # x, y, side: the face crop mclcr's detector gives for this photo


def same_pad(x, k, s):
    """TF 'same' zero padding of an HWC tensor (extra row/column at the end)."""
    h, w, _ = x.shape
    oh, ow = -(-h // s), -(-w // s)
    ph, pw = max((oh - 1) * s + k - h, 0), max((ow - 1) * s + k - w, 0)
    return np.pad(x, ((ph // 2, ph - ph // 2), (pw // 2, pw - pw // 2), (0, 0))), oh, ow


def windows(x, k, s):
    xp, oh, ow = same_pad(x, k, s)
    return [(dy, dx, xp[dy:dy + s * (oh - 1) + 1:s, dx:dx + s * (ow - 1) + 1:s, :])
            for dy in range(k) for dx in range(k)]


def conv(x, filters, bias, s):
    """Dense conv; filters in TF layout [k, k, I, O]."""
    return sum(win @ filters[dy, dx] for dy, dx, win in windows(x, filters.shape[0], s)) + bias


def separable(x, W, p, s):
    """tf.separableConv2d + bias: depthwise [k, k, C, 1], then pointwise [1, 1, C, D]."""
    dw = W[p + "/depthwise_filter"]
    depth = sum(win * dw[dy, dx, :, 0] for dy, dx, win in windows(x, dw.shape[0], s))
    return depth @ W[p + "/pointwise_filter"][0, 0] + W[p + "/bias"]


def relu(x):
    return np.maximum(x, 0.0)


def dense_block(x, W, b, first):
    out1 = relu(conv(x, W[b + "/conv0/filters"], W[b + "/conv0/bias"], 2) if first
                else separable(x, W, b + "/conv0", 2))
    out2 = separable(out1, W, b + "/conv1", 1)
    out3 = separable(relu(out1 + out2), W, b + "/conv2", 1)
    out4 = separable(relu(out1 + out2 + out3), W, b + "/conv3", 1)
    return relu(out1 + out2 + out3 + out4)


def forward(W, rgb):
    """rgb: (112, 112, 3) uint8 -> 136 outputs."""
    x = (rgb.astype(np.float64) - MEAN_RGB) / 255.0
    for i in range(4):
        x = dense_block(x, W, f"dense{i}", i == 0)
    pooled = x.mean(axis=(0, 1))  # avgPool 7x7 stride 2 'valid' on a 7x7 map
    return pooled @ W["fc/weights"] + W["fc/bias"]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--package", help="an unpacked @vladmandic/face-api package folder")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        pkg = args.package or fetch_package(tmp)
        W = dict(read_quantized(os.path.join(pkg, MANIFEST), os.path.join(pkg, BIN)))
    x, y, side = CROP
    img = Image.open(SOURCE).convert("RGB").crop((x, y, x + side, y + side))
    img = img.resize((112, 112), Image.BILINEAR)
    img.save("tests/fixtures/landmark68_input.png")
    out = forward(W, np.asarray(img))
    with open("tests/fixtures/landmark68_reference.json", "w") as f:
        json.dump({"source": SOURCE, "crop": list(CROP), "input": "landmark68_input.png",
                   "output": [round(float(v), 7) for v in out]}, f, indent=1)
        f.write("\n")
    pts = out.reshape(68, 2) * 112
    print("left eye outer corner (36):", pts[36], " right eye outer corner (45):", pts[45],
          " nose tip (30):", pts[30], " chin (8):", pts[8])


if __name__ == "__main__":
    sys.exit(main())
