#!/usr/bin/env python3
"""Writes the parity fixtures of tests/fixtures/parity/ with the PyTorch reference (mclcr_ref).

One command, from the repository root (torch, numpy and pillow as in requirements.txt):

  python3 tools/reference/make_parity_fixtures.py

Three cases; tests/it/parity.rs runs mclcr on the CPU on the same weights and inputs and
compares every output with the expected one (see tests/fixtures/parity/README.md):

- tiny/                   MclcrConfig::tiny() (64x64 faces, EfficientNet-Lite, cross-attention),
                          seeded random weights with non-trivial batch-norm statistics, written
                          by mclcr_ref.save_mclcr (model.json + model.safetensors, ~240 KB): this
                          also proves that a model saved by the reference loads in mclcr;
- tiny_xception_gating/   the same with the tiny Xception backbone and cross-gating PA-PDA;
- full/                   MclcrConfig::default_config() (256x256, EfficientNet-Lite0, d = 256)
                          on one real face. Its 7 M weights (28 MB) are not committed: they are
                          generated from weights_recipe.json by a counter-based hash that the
                          Rust test implements too (`recipe_value` below), bit for bit; the
                          recipe records each tensor's SHA-256 so the test can prove it.

Per case, io.safetensors holds the inputs the frequency stream takes (`input.amplitude`,
`input.phase`, float32, as the reference's preprocessing computes them from the PNG faces)
and the expected outputs (`expected.*`), computed in float64 from exactly those float32
inputs and stored as float32. The RGB input is not stored: (x - 127) / 128 of the PNG is exact
in float32 on both sides. The network is compared on these stored spectra rather than on
mclcr's own, because the phase of a (nearly) real negative DFT bin is +-pi depending on the
sign of a rounding error; mclcr's preprocessing is checked separately against the same
spectra, as complex numbers.

Faces: a crop of assets/samples/grace_hopper.jpg (public domain, see assets/samples/SOURCES.md)
at 64x64 and 256x256, and a 64x64 seeded texture.
"""
import hashlib
import json
import os
import shutil
import sys

import numpy as np
import torch
from PIL import Image

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, ".."))
import mclcr_ref as ref  # noqa: E402
from tensorfile import write_safetensors  # noqa: E402

ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
OUT = os.path.join(ROOT, "tests", "fixtures", "parity")
SAMPLE = os.path.join(ROOT, "assets", "samples", "grace_hopper.jpg")

# The configurations exactly as mclcr serialises them (MclcrConfig::tiny(), default_config()).
TINY = {
    "backbone": {
        "kind": "efficientnet_lite",
        "stem_channels": 8,
        "stages": [
            {"repeats": 1, "kernel": 3, "stride": 1, "expand": 1, "channels": 8},
            {"repeats": 1, "kernel": 3, "stride": 2, "expand": 2, "channels": 12},
            {"repeats": 1, "kernel": 3, "stride": 2, "expand": 2, "channels": 16},
            {"repeats": 1, "kernel": 3, "stride": 2, "expand": 2, "channels": 24},
        ],
        "head_channels": 64,
        "tap_stages": [0, 1, 2],
        "bn_epsilon": 0.001,
        "classes": None,
    },
    "frequency": {
        "image_size": 64,
        "patch_size": 16,
        "d_model": 32,
        "heads": 2,
        "dual_attention": "cross_attention",
        "mixer_layers": 1,
        "token_mlp_ratio": 0.5,
        "channel_mlp_ratio": 4.0,
    },
    "image_size": 64,
    "gram_channels": 8,
    "style_dim": 8,
    "dropout": 0.5,
    "projection_hidden": 32,
    "projection_dim": 16,
}
TINY_XCEPTION_GATING = json.loads(json.dumps(TINY))
TINY_XCEPTION_GATING["backbone"] = {
    "kind": "xception",
    "entry_channels": [16, 24, 32],
    "middle_blocks": 1,
    "exit_channels": [48, 64, 96],
}
TINY_XCEPTION_GATING["frequency"]["dual_attention"] = "cross_gating"
DEFAULT = {
    "backbone": {
        "kind": "efficientnet_lite",
        "stem_channels": 32,
        "stages": [
            {"repeats": r, "kernel": k, "stride": s, "expand": e, "channels": c}
            for r, k, s, e, c in [(1, 3, 1, 1, 16), (2, 3, 2, 6, 24), (2, 5, 2, 6, 40),
                                  (3, 3, 2, 6, 80), (3, 5, 1, 6, 112), (4, 5, 2, 6, 192),
                                  (1, 3, 1, 6, 320)]
        ],
        "head_channels": 1280,
        "tap_stages": [0, 1, 2],
        "bn_epsilon": 0.001,
        "classes": None,
    },
    "frequency": {
        "image_size": 256,
        "patch_size": 16,
        "d_model": 256,
        "heads": 4,
        "dual_attention": "cross_attention",
        "mixer_layers": 2,
        "token_mlp_ratio": 0.5,
        "channel_mlp_ratio": 4.0,
    },
    "image_size": 256,
    "gram_channels": 32,
    "style_dim": 32,
    "dropout": 0.5,
    "projection_hidden": 256,
    "projection_dim": 128,
}

OUTPUTS = ["logits", "features", "projection", "amplitude_attention", "phase_attention",
           "gram0", "gram1", "gram2"]

# --------------------------------------------------------------------------------------------
# Weights of the full-size case: a counter-based generator, implemented in tests/it/parity.rs
# --------------------------------------------------------------------------------------------

M64 = (1 << 64) - 1


def fnv1a64(text):
    """64-bit FNV-1a of a UTF-8 string."""
    h = 0xCBF29CE484222325
    for byte in text.encode("utf-8"):
        h = ((h ^ byte) * 0x100000001B3) & M64
    return h


def recipe_value(key, count, offset, scale):
    """float32[count]: offset + scale * (2 u - 1), u = top 24 bits of splitmix64's mix of
    fnv1a64(key) + (i + 1) * 0x9E3779B97F4A7C15 (wrapping), times 2^-24. All steps are exact
    or single IEEE float32 operations, so Rust computes the same bits."""
    with np.errstate(over="ignore"):
        i = np.arange(1, count + 1, dtype=np.uint64)
        z = np.uint64(fnv1a64(key)) + i * np.uint64(0x9E3779B97F4A7C15)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        z = z ^ (z >> np.uint64(31))
    u = (z >> np.uint64(40)).astype(np.float32) * np.float32(2.0 ** -24)
    return np.float32(offset) + np.float32(scale) * (np.float32(2.0) * u - np.float32(1.0))


def f32(x):
    """The float32 nearest to x, as a Python float (exact in JSON and in Rust's f32)."""
    return float(np.float32(x))


def recipe_entry(key, shape):
    """(offset, scale) of one tensor: He-like convolutions and linears, batch-norm statistics
    away from the identity, small biases, positions and LayerNorm shifts."""
    leaf = key.rsplit(".", 1)[-1]
    fan_in = int(np.prod(shape[1:])) if len(shape) == 4 else shape[0]
    if leaf == "weight" and len(shape) == 4:
        return 0.0, f32(np.sqrt(3.0 / fan_in))
    if leaf == "weight":  # Linear, [in, out]
        return 0.0, f32(np.sqrt(3.0 / fan_in))
    if leaf == "gamma":
        return 1.0, 0.25
    if leaf == "running_var":
        return 1.0, 0.5
    if leaf in ("beta", "running_mean"):
        return 0.0, 0.1
    if leaf == "bias":
        return 0.0, 0.05
    if leaf == "scale":
        return 1.0, 0.5
    if leaf.endswith("position"):
        return 0.0, 0.05
    raise ValueError(f"no recipe for {key}")


def recipe_tensors(model):
    """The generated weights of `model` and the recipe that describes them."""
    tensors, entries = {}, []
    for key, value in sorted(ref.mclcr_tensors(model).items()):
        offset, scale = recipe_entry(key, value.shape)
        data = recipe_value(key, value.size, offset, scale).reshape(value.shape)
        tensors[key] = data
        entries.append({"key": key, "shape": list(value.shape), "offset": f32(offset),
                        "scale": f32(scale),
                        "sha256": hashlib.sha256(data.astype("<f4").tobytes()).hexdigest()})
    return tensors, entries


# --------------------------------------------------------------------------------------------
# Seeded random weights of the tiny cases
# --------------------------------------------------------------------------------------------


def randomise(model, seed):
    """Default PyTorch initialisation from `seed`, then every tensor that starts constant
    (batch-norm statistics and affine, LayerNorm, style scales) set to something non-trivial."""
    torch.manual_seed(seed)
    fresh = ref.build(model.config)
    model.load_state_dict(fresh.state_dict())
    g = torch.Generator().manual_seed(seed + 1)
    uniform = lambda t, lo, hi: t.copy_(lo + (hi - lo) * torch.rand(t.shape, generator=g))  # noqa: E731
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, torch.nn.BatchNorm2d):
                uniform(module.weight, 0.5, 1.5)
                uniform(module.bias, -0.2, 0.2)
                uniform(module.running_mean, -0.2, 0.2)
                uniform(module.running_var, 0.5, 2.0)
            elif isinstance(module, torch.nn.LayerNorm):
                uniform(module.weight, 0.7, 1.3)
                uniform(module.bias, -0.1, 0.1)
        for block in model.style.taps:
            uniform(block.scale, 0.5, 1.5)
    return model


# --------------------------------------------------------------------------------------------
# Faces and outputs
# --------------------------------------------------------------------------------------------


def sample_face(side):
    """A square crop around the face of the sample photo, resized (Lanczos) to side x side."""
    img = Image.open(SAMPLE).convert("RGB")
    w, h = img.size
    s = min(w, h) * 3 // 4
    left, top = (w - s) // 2, max((h - s) // 4, 0)
    return np.asarray(img.crop((left, top, left + s, top + s)).resize((side, side), Image.LANCZOS))


def texture_face(side, seed):
    """A seeded smooth-plus-noise texture (no flat areas)."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:side, 0:side]
    base = 127 + 60 * np.sin(x / 5.0 + seed) * np.cos(y / 7.0)
    img = np.stack([base + rng.normal(0, 25, (side, side)) + 10 * c for c in range(3)], -1)
    return np.clip(np.round(img), 0, 255).astype(np.uint8)


def run(model, faces):
    """(inputs, expected outputs) of a batch of uint8 faces, float64 forward."""
    prepared = [ref.prepare_face(f, model.config) for f in faces]
    rgb, amplitude, phase = (np.stack(a) for a in zip(*prepared))
    with torch.no_grad():
        out = model.double()(*(torch.from_numpy(a).double() for a in (rgb, amplitude, phase)))
    model.float()
    io = {"input.amplitude": amplitude, "input.phase": phase}
    for name in OUTPUTS:
        io["expected." + name] = out[name].numpy().astype(np.float32)
    return io


def save_png(path, image):
    """Saves a uint8 HWC image as PNG."""
    Image.fromarray(image).save(path, optimize=True)


def write_case(name, model, faces, face_files, weights):
    """Writes one case's folder: model.json (+ weights or recipe), io.safetensors, case.json."""
    folder = os.path.join(OUT, name)
    os.makedirs(folder, exist_ok=True)
    if weights == "file":
        ref.save_mclcr(model, os.path.join(folder, "model.json"), name=f"parity {name}",
                       provenance={"backbone": "seeded random (tools/reference)",
                                   "training": "none", "licence": "MIT OR Apache-2.0"})
    else:
        tensors, entries = recipe_tensors(model)
        ref.set_mclcr_tensors(model, tensors)
        with open(os.path.join(folder, "weights_recipe.json"), "w") as f:
            json.dump({"generator": "tools/reference/make_parity_fixtures.py recipe_value",
                       "config": model.config, "tensors": entries}, f, indent=1)
            f.write("\n")
    io = run(model, faces)
    write_safetensors(os.path.join(folder, "io.safetensors"), io,
                      {"producer": f"mclcr reference (PyTorch {torch.__version__.split('+')[0]})"})
    with open(os.path.join(folder, "case.json"), "w") as f:
        json.dump({"faces": face_files, "outputs": OUTPUTS}, f, indent=1)
        f.write("\n")
    summary = ", ".join(f"{k.split('.', 1)[1]} max|x| {np.abs(v).max():.4g}"
                        for k, v in io.items() if k.startswith("expected.") and "gram" not in k)
    print(f"{name}: {summary}")
    print(f"  logits {io['expected.logits'].tolist()}")


def main():
    """Regenerates every fixture."""
    os.makedirs(OUT, exist_ok=True)
    for case in ("tiny", "tiny_xception_gating", "full"):  # README.md is kept
        shutil.rmtree(os.path.join(OUT, case), ignore_errors=True)
    faces64 = [sample_face(64), texture_face(64, 3)]
    face256 = sample_face(256)
    names64 = ["face64_sample.png", "face64_texture.png"]
    for image, fname in zip(faces64 + [face256], names64 + ["face256_sample.png"]):
        save_png(os.path.join(OUT, fname), image)
    # Read the PNGs back so that the inputs are exactly what the Rust test decodes.
    load = lambda fname: np.asarray(Image.open(os.path.join(OUT, fname)).convert("RGB"))  # noqa: E731
    faces64 = [load(f) for f in names64]
    face256 = load("face256_sample.png")

    write_case("tiny", randomise(ref.build(TINY), 11), faces64, names64, "file")
    write_case("tiny_xception_gating", randomise(ref.build(TINY_XCEPTION_GATING), 12), faces64,
               names64, "file")
    write_case("full", ref.build(DEFAULT), [face256], ["face256_sample.png"], "recipe")


if __name__ == "__main__":
    main()
