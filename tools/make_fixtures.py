#!/usr/bin/env python3
"""Makes the two image fixtures that Rust code cannot encode itself (needs Pillow):

- tests/fixtures/cmyk.jpg: a CMYK JPEG (Adobe APP14), 96x112, from assets/samples/grace_hopper.jpg;
- tests/fixtures/exif_rotated.jpg: a 60x40 red JPEG with a blue stripe on its left edge and EXIF
  orientation 6 (display rotated 90 degrees clockwise: 40x60 with the stripe on top).

Run from the repository root: python3 tools/make_fixtures.py
"""
from PIL import Image

im = Image.open("assets/samples/grace_hopper.jpg").convert("RGB").resize((96, 112))
im.convert("CMYK").save("tests/fixtures/cmyk.jpg", quality=90)

rotated = Image.new("RGB", (60, 40), (200, 30, 30))
for x in range(10):
    for y in range(40):
        rotated.putpixel((x, y), (0, 0, 255))
exif = Image.Exif()
exif[0x0112] = 6
rotated.save("tests/fixtures/exif_rotated.jpg", quality=95, exif=exif.tobytes())
