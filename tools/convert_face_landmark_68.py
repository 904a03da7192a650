#!/usr/bin/env python3
"""Convert face-api's 68-point landmark network weights to safetensors (numpy only).

Source: npm `@vladmandic/face-api@1.7.15` (MIT), files
  package/model/face_landmark_68_model-weights_manifest.json
  package/model/face_landmark_68_model.bin
The .bin holds every tensor of the manifest, in manifest order, as uint8; each tensor's
float value is q * scale + min with its own (scale, min) from the manifest.

The tensors are written in the layout and under the names of mclcr's Burn module
(src/model/landmark68.rs), so the Rust side loads them without an adapter:

  TF / face-api name                      shape (TF layout)   -> key                          shape (Burn)
  dense0/conv0/filters                    [3, 3, 3, 32]          dense0.conv0.plain.weight     [32, 3, 3, 3]
  dense0/conv0/bias                       [32]                   dense0.conv0.plain.bias       [32]
  denseN/convM/depthwise_filter           [3, 3, C, 1]           denseN.convM.depthwise.weight [C, 1, 3, 3]
  denseN/convM/pointwise_filter           [1, 1, C, D]           denseN.convM.pointwise.weight [D, C, 1, 1]
  denseN/convM/bias                       [D]                    denseN.convM.pointwise.bias   [D]
  fc/weights                              [256, 136]             fc.weight                     [256, 136]
  fc/bias                                 [136]                  fc.bias                       [136]

(dense1..3's conv0 are separable, so their keys take the `.separable` step:
denseN.conv0.separable.depthwise.weight, ...; see key_for below.)

The output is deterministic (sorted keys, fixed metadata, no timestamps).

Usage (from the repository root):
  python3 tools/convert_face_landmark_68.py --out assets/weights/face_landmark_68.safetensors
  # or with an already unpacked npm package folder:
  python3 tools/convert_face_landmark_68.py --package DIR --out OUT
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

PACKAGE = "@vladmandic/face-api"
VERSION = "1.7.15"
MANIFEST = "model/face_landmark_68_model-weights_manifest.json"
BIN = "model/face_landmark_68_model.bin"
MANIFEST_SHA256 = "ca4886639f86e99b39fed0c155f81b63317225773bd9616716e887b0153389c9"
BIN_SHA256 = "4611ef65c87d836d03d684b30eec4d195d8b219fa1dd58fc58945831c6b9299b"


def read_quantized(manifest_path, bin_path):
    """Returns an ordered list of (name, float32 array in TF layout) from the manifest + bin."""
    with open(manifest_path) as f:
        manifest = json.load(f)
    with open(bin_path, "rb") as f:
        data = f.read()
    out = []
    pos = 0
    for group in manifest:
        for w in group["weights"]:
            n = int(np.prod(w["shape"]))
            q = w["quantization"]
            if q["dtype"] != "uint8":
                raise SystemExit(f"{w['name']}: unsupported quantisation {q['dtype']}")
            raw = np.frombuffer(data, dtype=np.uint8, count=n, offset=pos)
            pos += n
            out.append((w["name"], (raw.astype(np.float64) * q["scale"] + q["min"]).reshape(w["shape"])))
    if pos != len(data):
        raise SystemExit(f"{bin_path}: {len(data) - pos} bytes left over after the manifest's tensors")
    return out


def key_for(name):
    """face-api tensor name -> (Burn key, function TF layout -> Burn layout)."""
    parts = name.split("/")
    if parts[0] == "fc":
        return "fc." + {"weights": "weight", "bias": "bias"}[parts[1]], lambda a: a
    block, conv, kind = parts
    if block == "dense0" and conv == "conv0":
        return {
            "filters": (f"{block}.{conv}.plain.weight", lambda a: a.transpose(3, 2, 0, 1)),
            "bias": (f"{block}.{conv}.plain.bias", lambda a: a),
        }[kind]
    prefix = f"{block}.{conv}.separable" if conv == "conv0" else f"{block}.{conv}"
    return {
        "depthwise_filter": (f"{prefix}.depthwise.weight", lambda a: a.transpose(2, 3, 0, 1)),
        "pointwise_filter": (f"{prefix}.pointwise.weight", lambda a: a.transpose(3, 2, 0, 1)),
        "bias": (f"{prefix}.pointwise.bias", lambda a: a),
    }[kind]


def fetch_package(tmpdir):
    """npm pack the pinned package into tmpdir and unpack the two files; returns the folder."""
    subprocess.run(["npm", "pack", f"{PACKAGE}@{VERSION}", "--silent", "--pack-destination", tmpdir],
                   check=True, stdout=subprocess.DEVNULL)
    tgz = glob.glob(os.path.join(tmpdir, "*.tgz"))
    if len(tgz) != 1:
        raise SystemExit(f"expected one tarball, found {tgz}")
    with tarfile.open(tgz[0]) as t:
        for member in (MANIFEST, BIN):
            t.extract(t.getmember("package/" + member), tmpdir, filter="data")
    return os.path.join(tmpdir, "package")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", required=True)
    ap.add_argument("--package", help="an unpacked @vladmandic/face-api package folder")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        pkg = args.package or fetch_package(tmp)
        manifest_path, bin_path = os.path.join(pkg, MANIFEST), os.path.join(pkg, BIN)
        for path, expected in ((manifest_path, MANIFEST_SHA256), (bin_path, BIN_SHA256)):
            actual = sha256_file(path)
            if actual != expected:
                raise SystemExit(f"{path}: sha256 {actual}, expected {expected}")
        tensors = {}
        for name, arr in read_quantized(manifest_path, bin_path):
            key, to_burn = key_for(name)
            tensors[key] = to_burn(arr)
    metadata = {
        "format": "burn",
        "license": "MIT",
        "model": "face-api face_landmark_68 (68 iBUG points from a 112x112 RGB crop)",
        "source_package": f"npm {PACKAGE}",
        "source_version": VERSION,
        "source_file": f"package/{BIN}",
        "source_sha256": BIN_SHA256,
        "source_manifest_sha256": MANIFEST_SHA256,
    }
    write_safetensors(args.out, tensors, metadata)
    total = sum(int(np.prod(a.shape)) for a in tensors.values())
    print(f"wrote {args.out}: {len(tensors)} tensors, {total} parameters, sha256 {sha256_file(args.out)}")


if __name__ == "__main__":
    sys.exit(main())
