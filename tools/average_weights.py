#!/usr/bin/env python3
"""Averages the weights of models of one lineage (one configuration, the same tensors): a
weighted mean of every tensor, batch-norm statistics included, written as an F32 checkpoint that
`mclcr pack` turns into a model for distribution.

Two fine-tuned models of one network, one continuing the other, can often be mixed in weight
space and keep the strengths of both (Wortsman et al. 2022, "Robust fine-tuning of zero-shot
models" and "Model soups"): for example a model strong on GAN faces and its continuation strong on
face swaps.

    python3 tools/average_weights.py --model A.json --model B.json --mix 0.5 --mix 0.5 \\
        --out mixed.json
    mclcr pack --model mixed.json --f16 --out model.json --name my-model

Without --mix every model counts the same. The manifest written is the first model's, with the
new weights' file name and SHA-256; its bands are the first model's too (choose them again).
"""
import argparse
import array
import json
import pathlib
import struct
import sys

from tensorfile import read_safetensors_raw, sha256_file, write_f32_safetensors

# Element formats of the safetensors dtypes this tool reads (struct codes, little-endian).
DTYPES = {"F32": ("f", 4), "F16": ("e", 2)}


def load_safetensors(path):
    """Reads a safetensors file of F32 and F16 tensors: name -> (shape, tuple of floats)."""
    out = {}
    for name, (dtype, shape, raw) in read_safetensors_raw(path).items():
        if dtype not in DTYPES:
            raise ValueError(f"{path}: {name} is {dtype}, not F32 or F16")
        code, size = DTYPES[dtype]
        out[name] = (shape, struct.unpack(f"<{len(raw) // size}{code}", raw))
    return out


def write_safetensors(path, tensors, metadata):
    """Writes name -> (shape, floats) as little-endian F32 (see `tensorfile`)."""
    raw = {}
    for name, (shape, values) in tensors.items():
        floats = array.array("f", values)
        if sys.byteorder != "little":
            floats.byteswap()
        raw[name] = (shape, floats.tobytes())
    write_f32_safetensors(path, raw, metadata)


def average(tensor_sets, mix):
    """The weighted mean `sum(mix[i] * tensor_sets[i][name])` of every tensor; every set must
    hold the same names with the same shapes."""
    names = set(tensor_sets[0])
    for i, tensors in enumerate(tensor_sets[1:], start=1):
        if set(tensors) != names:
            missing = sorted(names ^ set(tensors))[:5]
            raise ValueError(f"model {i + 1} holds other tensors than model 1 (e.g. {missing})")
    out = {}
    for name in sorted(names):
        shapes = {tensors[name][0] for tensors in tensor_sets}
        if len(shapes) != 1:
            raise ValueError(f"{name}: shapes differ between the models: {sorted(shapes)}")
        columns = zip(*(tensors[name][1] for tensors in tensor_sets))
        out[name] = (shapes.pop(), [sum(w * v for w, v in zip(mix, vs)) for vs in columns])
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", action="append", required=True, help="a model manifest (.json)")
    parser.add_argument("--mix", action="append", type=float,
                        help="the weight of each --model, in order (they must sum to 1)")
    parser.add_argument("--out", required=True, help="the manifest to write (.json)")
    args = parser.parse_args()

    models = [pathlib.Path(m) for m in args.model]
    mix = args.mix or [1.0 / len(models)] * len(models)
    if len(mix) != len(models):
        parser.error(f"{len(models)} models but {len(mix)} --mix weights")
    if abs(sum(mix) - 1.0) > 1e-6 or any(w < 0 for w in mix):
        parser.error(f"--mix weights must be ≥ 0 and sum to 1 (they sum to {sum(mix)})")
    out = pathlib.Path(args.out)
    if out.suffix != ".json":
        parser.error("--out must name a .json manifest")

    manifests = [json.loads(m.read_text()) for m in models]
    for m, manifest in zip(models[1:], manifests[1:]):
        if manifest["config"] != manifests[0]["config"]:
            print(f"{m}: another network configuration than {models[0]}", file=sys.stderr)
            return 2
    tensor_sets = []
    for m, manifest in zip(models, manifests):
        weights = m.parent / manifest["weights"]
        if sha256_file(weights) != manifest["weights_sha256"]:
            print(f"{weights}: SHA-256 differs from its manifest's", file=sys.stderr)
            return 2
        tensor_sets.append(load_safetensors(weights))
    try:
        mixed = average(tensor_sets, mix)
    except ValueError as e:
        print(e, file=sys.stderr)
        return 2

    weights_out = out.with_suffix(".safetensors")
    write_safetensors(weights_out, mixed, {"producer": "tools/average_weights.py"})
    manifest = dict(manifests[0])
    manifest["weights"] = weights_out.name
    manifest["weights_sha256"] = sha256_file(weights_out)
    parts = " + ".join(f"{w:g} × {m.stem}" for w, m in zip(mix, models))
    manifest["name"] = out.stem
    provenance = dict(manifest.get("provenance", {}))
    provenance["training"] = f"weight average {parts}"
    manifest["provenance"] = provenance
    tmp = out.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(manifest, indent=2) + "\n")
    tmp.replace(out)
    print(f"{out}: {parts}, {len(mixed)} tensors")
    return 0


if __name__ == "__main__":
    sys.exit(main())
