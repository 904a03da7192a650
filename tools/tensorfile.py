"""Small helpers shared by the conversion, reference and weight scripts in tools/ (numpy is
needed only by the functions that take or give arrays).

- write_safetensors:     deterministic safetensors writer (sorted keys, fixed metadata, F32)
- write_f32_safetensors: the same from raw little-endian F32 bytes, without numpy
- load_safetensors:      reader for F32 safetensors files, as float64 arrays
- read_safetensors_raw:  reader of any safetensors file as (dtype, shape, bytes), without numpy
- sha256_file:           lowercase hex SHA-256 of a file
"""
import hashlib
import json
import os
import struct


def write_safetensors(path, tensors, metadata):
    """Writes `tensors` (name -> array) as little-endian F32, atomically, byte-reproducibly."""
    import numpy as np

    raw = {}
    for name, tensor in tensors.items():
        arr = np.ascontiguousarray(tensor, dtype="<f4")
        raw[name] = (arr.shape, arr.tobytes())
    write_f32_safetensors(path, raw, metadata)


def write_f32_safetensors(path, tensors, metadata):
    """Writes `tensors` (name -> (shape, little-endian F32 bytes)), atomically, byte-reproducibly:
    sorted names, the header padded to 8 bytes."""
    header = {"__metadata__": dict(sorted(metadata.items()))}
    offset = 0
    blobs = []
    for name in sorted(tensors):
        shape, raw = tensors[name]
        header[name] = {"dtype": "F32", "shape": list(shape), "data_offsets": [offset, offset + len(raw)]}
        blobs.append(raw)
        offset += len(raw)
    hjson = json.dumps(header, separators=(",", ":"), sort_keys=True).encode("utf-8")
    hjson += b" " * (-len(hjson) % 8)
    tmp = str(path) + ".tmp"
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(hjson)))
        f.write(hjson)
        for raw in blobs:
            f.write(raw)
    os.replace(tmp, path)


def read_safetensors_raw(path):
    """Reads a safetensors file without numpy: name -> (dtype, shape, bytes)."""
    with open(path, "rb") as f:
        (n,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(n))
        data = f.read()
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        b, e = info["data_offsets"]
        out[name] = (info["dtype"], tuple(info["shape"]), data[b:e])
    return out


def load_safetensors(path):
    """Reads an all-F32 safetensors file into name -> float64 array."""
    import numpy as np

    out = {}
    for name, (dtype, shape, raw) in read_safetensors_raw(path).items():
        assert dtype == "F32", name
        out[name] = np.frombuffer(raw, dtype="<f4").reshape(shape).astype(np.float64)
    return out


def sha256_file(path):
    """Lowercase hex SHA-256 of the file at `path`."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()
