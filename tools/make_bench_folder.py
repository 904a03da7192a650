#!/usr/bin/env python3
"""Makes a folder of N test images for throughput / memory benchmarks of `mclcr analyze`.

Each image is one of the public-domain samples in assets/samples/, rescaled (0.5-1.0),
optionally mirrored, and re-encoded as JPEG (quality 70-95) or PNG, so that decoding, face
detection and inference all do real work. Deterministic for a given seed. Needs Pillow.

Usage: python3 tools/make_bench_folder.py OUT_DIR [--count 500] [--seed 0]
Then:  /usr/bin/time -v target/release/mclcr analyze OUT_DIR --json --no-progress > /dev/null
"""
import argparse
import glob
import os
import random

from PIL import Image, ImageOps


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("out")
    parser.add_argument("--count", type=int, default=500)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    here = os.path.dirname(os.path.abspath(__file__))
    sources = sorted(glob.glob(os.path.join(here, "..", "assets", "samples", "*.[jp][pn]g")))
    images = [Image.open(p).convert("RGB") for p in sources]
    os.makedirs(args.out, exist_ok=True)
    for i in range(args.count):
        image = images[i % len(images)]
        scale = rng.uniform(0.5, 1.0)
        image = image.resize((max(64, int(image.width * scale)), max(64, int(image.height * scale))))
        if rng.random() < 0.5:
            image = ImageOps.mirror(image)
        if rng.random() < 0.8:
            image.save(os.path.join(args.out, f"img{i:05d}.jpg"), quality=rng.randint(70, 95))
        else:
            image.save(os.path.join(args.out, f"img{i:05d}.png"))


if __name__ == "__main__":
    main()
