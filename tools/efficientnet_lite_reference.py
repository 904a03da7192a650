#!/usr/bin/env python3
"""NumPy reference forward pass of EfficientNet-Lite0 (ImageNet, 1000 classes).

Proves that assets/weights/efficientnet_lite0.safetensors is a faithful conversion and
produces the expected values the Rust tests compare against:

  1. centre-crop each photo to a square (side = min(h, w), offset = (dim - side) // 2),
  2. resize to 224x224 by exact area averaging (box filter; integer arithmetic,
     round half up) and save it as tests/images/<name>_224.png,
  3. normalise the saved PNG's pixels as (x - 127) / 128 per channel (RGB, x in 0..255),
  4. run the network in float64 and write tests/fixtures/imagenet_reference.json
     (top-5, all 1000 logits, and shape/mean/std of the stage-1..3 outputs for coffee).

Network: TensorFlow "same" padding (out = ceil(H/s), pad_total = max((out-1)*s + k - H, 0),
pad_before = pad_total // 2), BatchNorm eps 1e-3, ReLU6, no squeeze-excite, no bias in convs.

Usage (from the repository root; needs numpy and pillow, pillow only for PNG I/O):
  python3 tools/efficientnet_lite_reference.py
"""
import argparse
import hashlib
import json
import re
import struct

import numpy as np

from tensorfile import load_safetensors
from PIL import Image

MEAN, STD, EPS, SIZE = 127.0, 128.0, 1e-3, 224
# (repeats, kernel, stride, expand, out_channels) per stage, lukemelas/TF block order
STAGES = [(1, 3, 1, 1, 16), (2, 3, 2, 6, 24), (2, 5, 2, 6, 40), (3, 3, 2, 6, 80),
          (3, 5, 1, 6, 112), (4, 5, 2, 6, 192), (1, 3, 1, 6, 320)]
TAPPED_STAGES = (0, 1, 2)  # outputs at 112x112x16, 56x56x24, 28x28x40 for a 224 input
IMAGES = ["coffee", "chelsea"]


def crop_resize(img, size=SIZE):
    """Centre square crop, then exact area-average resize to size x size (uint8 in/out)."""
    h, w, _ = img.shape
    s = min(h, w)
    y0, x0 = (h - s) // 2, (w - s) // 2
    sq = img[y0:y0 + s, x0:x0 + s].astype(np.int64)
    # Output pixel i covers source [i*s/size, (i+1)*s/size). In units of 1/size pixel the
    # overlaps are integers: weight[i, j] = |[i*s, (i+1)*s) ∩ [j*size, (j+1)*size)|, rows sum to s.
    i = np.arange(size)[:, None]
    j = np.arange(s)[None, :]
    wt = np.clip(np.minimum((i + 1) * s, (j + 1) * size) - np.maximum(i * s, j * size), 0, None)
    rows = np.stack([wt @ sq[:, :, c] for c in range(3)], axis=2)  # (size, s, 3)
    num = np.stack([rows[:, :, c] @ wt.T for c in range(3)], axis=2)  # exact integer sums
    den = s * s
    return ((2 * num + den) // (2 * den)).astype(np.uint8)  # round half up


def same_pad(x, k, s):
    """TF 'same' zero padding of an HWC tensor; returns padded tensor and output size."""
    h, w, _ = x.shape
    oh, ow = -(-h // s), -(-w // s)
    ph, pw = max((oh - 1) * s + k - h, 0), max((ow - 1) * s + k - w, 0)
    x = np.pad(x, ((ph // 2, ph - ph // 2), (pw // 2, pw - pw // 2), (0, 0)))
    return x, oh, ow


def conv(x, wgt, s=1):
    """Dense conv, HWC input, torch weight (O, I, k, k), via im2col + matmul."""
    o, i, k, _ = wgt.shape
    if k == 1 and s == 1:
        return x @ wgt.reshape(o, i).T
    xp, oh, ow = same_pad(x, k, s)
    cols = [xp[dy:dy + s * (oh - 1) + 1:s, dx:dx + s * (ow - 1) + 1:s, :]
            for dy in range(k) for dx in range(k)]
    cols = np.concatenate(cols, axis=2)  # (oh, ow, k*k*I), order (dy, dx, c)
    return cols @ wgt.transpose(2, 3, 1, 0).reshape(k * k * i, o)


def dwconv(x, wgt, s):
    """Depthwise conv, torch weight (C, 1, k, k)."""
    k = wgt.shape[2]
    xp, oh, ow = same_pad(x, k, s)
    out = np.zeros((oh, ow, x.shape[2]))
    for dy in range(k):
        for dx in range(k):
            out += xp[dy:dy + s * (oh - 1) + 1:s, dx:dx + s * (ow - 1) + 1:s, :] * wgt[:, 0, dy, dx]
    return out


def bn(x, W, p):
    return (x - W[p + ".running_mean"]) / np.sqrt(W[p + ".running_var"] + EPS) * W[p + ".weight"] + W[p + ".bias"]


def relu6(x):
    return np.clip(x, 0.0, 6.0)


def forward(W, x):
    """x: (224, 224, 3) float64 normalised RGB. Returns (logits, [stage outputs HWC])."""
    x = relu6(bn(conv(x, W["_conv_stem.weight"], 2), W, "_bn0"))
    taps, idx, cin = [], 0, 32
    for repeats, k, stride, expand, cout in STAGES:
        for r in range(repeats):
            p = f"_blocks.{idx}."
            s = stride if r == 0 else 1
            y = x
            if expand != 1:
                y = relu6(bn(conv(y, W[p + "_expand_conv.weight"]), W, p + "_bn0"))
            y = relu6(bn(dwconv(y, W[p + "_depthwise_conv.weight"], s), W, p + "_bn1"))
            y = bn(conv(y, W[p + "_project_conv.weight"]), W, p + "_bn2")
            x = y + x if (s == 1 and cin == cout) else y
            cin, idx = cout, idx + 1
        taps.append(x)
    assert f"_blocks.{idx}._bn2.weight" not in W and idx == 16
    x = relu6(bn(conv(x, W["_conv_head.weight"]), W, "_bn1"))
    pooled = x.mean(axis=(0, 1))
    return pooled @ W["_fc.weight"].T + W["_fc.bias"], taps


def softmax(z):
    e = np.exp(z - z.max())
    return e / e.sum()


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--weights", default="assets/weights/efficientnet_lite0.safetensors")
    ap.add_argument("--images", default="tests/images")
    ap.add_argument("--out", default="tests/fixtures/imagenet_reference.json")
    args = ap.parse_args()

    W = load_safetensors(args.weights)
    with open(args.weights, "rb") as f:
        wsha = hashlib.sha256(f.read()).hexdigest()
    result = {
        "model": "efficientnet-lite0 (ImageNet-1k)",
        "weights": args.weights,
        "weights_sha256": wsha,
        "preprocessing": (
            "RGB; centre square crop (side=min(h,w), offset=(dim-side)//2); exact area-average "
            "resize to 224x224 (integer overlap weights, round half up) saved as *_224.png; "
            "network input = (x - 127) / 128 per channel on the PNG's uint8 pixels, NCHW"),
        "network": "TF same padding, BN eps 1e-3, ReLU6, no SE; computed in float64",
        "stages_note": ("coffee only: output of the last block of stages 1-3 (after the residual "
                        "add); mean and population std (ddof 0) over all elements"),
        "images": [],
    }
    for name in IMAGES:
        src = np.asarray(Image.open(f"{args.images}/{name}.png").convert("RGB"))
        out_png = f"{args.images}/{name}_224.png"
        Image.fromarray(crop_resize(src)).save(out_png, optimize=False, compress_level=9)
        pix = np.asarray(Image.open(out_png).convert("RGB"))  # run on the saved pixels
        logits, taps = forward(W, (pix.astype(np.float64) - MEAN) / STD)
        prob = softmax(logits)
        top = np.argsort(-logits, kind="stable")[:5]
        entry = {
            "file": out_png,
            "source": f"{args.images}/{name}.png",
            "pixels_sha256": hashlib.sha256(pix.tobytes()).hexdigest(),
            "top5": [[int(c), round(float(prob[c]), 6)] for c in top],
            "logits": [round(float(v), 6) for v in logits],
        }
        if name == "coffee":
            entry["stages"] = [
                {"stage": i + 1, "shape_nchw": [1, t.shape[2], t.shape[0], t.shape[1]],
                 "mean": round(float(t.mean()), 6), "std": round(float(t.std()), 6)}
                for i, t in enumerate(taps) if i in TAPPED_STAGES]
        result["images"].append(entry)
        print(name, "top5", entry["top5"])
    text = json.dumps(result, indent=1)
    # keep numeric arrays (logits, top-5 pairs, shapes) on one line each
    text = re.sub(r"\[[-0-9.e,\s]*\]", lambda m: re.sub(r"\s+", " ", m.group(0)).replace("[ ", "[").replace(" ]", "]"), text)
    with open(args.out, "w") as f:
        f.write(text + "\n")
    print("wrote", args.out)


if __name__ == "__main__":
    main()
