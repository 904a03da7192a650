#!/usr/bin/env python3
"""Makes a folder of N test images for throughput / memory benchmarks of `mclcr analyze`.

Each image is one of the public-domain samples in assets/samples/, rescaled (0.5-1.0),
optionally mirrored, and re-encoded as JPEG (quality 70-95) or PNG, so that decoding, face
detection and inference all do real work. Deterministic for a given seed. Needs Pillow.

With --mix load, a folder for load tests instead: mostly small images (64-160 px, cut from
the samples: some with a detectable face, most without), one in 500 large (up to 6000x4000,
24 MP) and one in 100 broken (truncated, empty, or not an image).

Usage: python3 tools/make_bench_folder.py OUT_DIR [--count 500] [--seed 0] [--mix load]
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
    parser.add_argument("--mix", choices=["bench", "load"], default="bench")
    args = parser.parse_args()
    rng = random.Random(args.seed)
    here = os.path.dirname(os.path.abspath(__file__))
    sources = sorted(glob.glob(os.path.join(here, "..", "assets", "samples", "*.[jp][pn]g")))
    images = [Image.open(p).convert("RGB") for p in sources]
    os.makedirs(args.out, exist_ok=True)
    if args.mix == "load":
        load_mix(args, rng, images)
        return
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


def load_mix(args, rng, images):
    for i in range(args.count):
        image = images[i % len(images)]
        path = os.path.join(args.out, f"img{i:05d}")
        if i % 100 == 99:
            # Broken: a truncated JPEG, an empty file, or text with an image's name.
            kind = (i // 100) % 3
            if kind == 0:
                small = image.resize((120, 120))
                small.save(path + ".jpg", quality=80)
                with open(path + ".jpg", "r+b") as f:
                    f.truncate(os.path.getsize(path + ".jpg") // 2)
            elif kind == 1:
                open(path + ".png", "wb").close()
            else:
                with open(path + ".jpg", "w") as f:
                    f.write("not an image\n")
        elif i % 500 == 250:
            width = rng.choice([4000, 5000, 6000])
            large = image.resize((width, width * 2 // 3))
            large.save(path + ".jpg", quality=85)
        else:
            side = rng.randint(64, 160)
            if rng.random() < 0.3:
                # The whole sample, small: a face of about 40-100 px.
                small = image.resize((side, side * image.height // image.width))
            else:
                # A corner of the sample: no face.
                crop = image.crop((0, 0, image.width // 4, image.height // 4))
                small = crop.resize((side, side))
            if rng.random() < 0.8:
                small.save(path + ".jpg", quality=rng.randint(70, 95))
            else:
                small.save(path + ".png")


if __name__ == "__main__":
    main()
