#!/usr/bin/env python3
"""Writes tools/recipe/faces-train.json: the recipe that trains on faces-train.

The test identities are chosen by a hash of the identity's name (as `mclcr train` names
identities: the first folder below a root, or the file stem), so the split does not depend on
which files a machine has or on their order: an identity is held out when the first byte of
sha256("mclcr-test:" + name) is below 26 (about 10 %). London persons keep both photos together
because their identity is their folder.

    python3 tools/recipe/make_faces_train_recipe.py ../shared/data/faces-train

It also writes tools/recipe/faces-train-small-faces.json: the same split, for continuing a run
(`--init-from` its checkpoint) with small-face degradation of half the pairs, the stem and the
first two backbone stages frozen, one epoch at a lower learning rate. The seed is the same, so
the validation identities are those of the run it continues. And
tools/recipe/faces-train-video.json: that continuation with half the pairs made to look like
video frames (sensor noise, edge-preserving smoothing, 4:2:0 chroma, coarse block coding), and
tools/recipe/faces-train-video-whole.json: that one training the whole network, with faces
tilted up to 10°. And tools/recipe/faces-train-source-size.json: the video-like continuation,
two epochs, with every self-blend made at the face's size in its file. And
tools/recipe/faces-train-warp.json: the video-like continuation with both faces of each pair
reshaped alike by a smooth random field, and tools/recipe/faces-train-hard-blends.json: that
one with half the colour and quality mismatch in its self-blends and face regions of other shapes.
And tools/recipe/faces-train-warp-half.json: the reshaped-pairs continuation with only half the
pairs reshaped, the others left with their own layout, and tools/recipe/faces-train-warp-gentle.json:
that one at a fifth of the learning rate, to move less far from the checkpoint it continues.
And tools/recipe/faces-train-long.json: the video-like continuation over six epochs of the whole
network, for a GPU, and tools/recipe/faces-train-long-warp.json: that one with both faces of each
pair reshaped alike, as in faces-train-warp.json. And
tools/recipe/faces-train-long-warp-frame-jpeg.json: that one with half the video-like pairs then
saved as a JPEG file too, and tools/recipe/faces-train-long-warp-frame-jpeg-relight.json: that one
with both faces of each pair relit alike.
"""
import hashlib
import json
import pathlib
import sys

ROOTS = ["london", "canada", "voteview", "meps"]


def identity(root: pathlib.Path, path: pathlib.Path) -> str:
    rel = path.relative_to(root)
    return rel.parts[0] if len(rel.parts) > 1 else path.stem


def variant(base: dict, changes: dict, optim: dict | None = None) -> dict:
    """A copy of `base` (nothing shared with it) with `changes` on top, and `optim` on top of its
    optimiser settings."""
    recipe = json.loads(json.dumps(base))
    recipe.update(changes)
    recipe["optim"].update(optim or {})
    return recipe


def write(out: pathlib.Path, recipe: dict, what: str) -> None:
    """Writes a recipe as the trainer's `--config` reads it, and says so."""
    out.write_text(json.dumps(recipe, indent=2) + "\n")
    print(f"{what} -> {out}")


def main() -> None:
    data = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else "../shared/data/faces-train")
    here = pathlib.Path(__file__).resolve().parent
    recipe = json.loads((here / "default-model.json").read_text())
    names = set()
    for root in ROOTS:
        base = data / root
        for path in base.rglob("*"):
            if path.is_file() and path.suffix.lower() in {".jpg", ".jpeg", ".png"}:
                names.add(identity(base, path))
    held = sorted(n for n in names if hashlib.sha256(f"mclcr-test:{n}".encode()).digest()[0] < 26)
    recipe.update(
        {
            "epochs": 2,
            "batch_size": 8,
            "seed": 2027,
            "freeze_backbone_epochs": 0,
            "faces_per_image": 1,
            "crop_jitter": 0.12,
            "held_out_identities": held,
        }
    )
    recipe["optim"].update({"learning_rate": 1e-4, "warmup_steps": 100, "final_lr_fraction": 0.05})
    write(here / "faces-train.json", recipe,
          f"{len(names)} identities, {len(held)} held out for test")
    recipe = variant(
        recipe,
        {"epochs": 1, "frozen_stages": 2, "small_face_probability": 0.5, "small_face_side": [60, 250]},
        optim={"learning_rate": 5e-5, "warmup_steps": 50, "final_lr_fraction": 0.05},
    )
    write(here / "faces-train-small-faces.json", recipe, "continuation recipe")
    # Video-like pairs: half of them get sensor noise, edge-preserving smoothing, 4:2:0 chroma
    # and coarse block coding in place of the plain JPEG, as real video frames have.
    video = variant(recipe, {"video_probability": 0.5, "video_quality": [25, 70]})
    write(here / "faces-train-video.json", video, "video-like continuation recipe")
    # The same, training the whole network (no frozen stages), with heads tilted up to 10°.
    write(here / "faces-train-video-whole.json",
          variant(video, {"frozen_stages": 0, "crop_rotation": 10.0}),
          "whole-network video-like continuation recipe")
    # The video-like continuation with each self-blend made at the face's size in its file
    # (most faces-train faces are 60-120 px) and only then brought up to the input, two epochs.
    write(here / "faces-train-source-size.json",
          variant(video, {"epochs": 2, "blend_at_source_size": True}),
          "source-size blending continuation recipe")
    # The video-like continuation with both faces of each pair reshaped alike by a smooth
    # random field, so that the face's layout (an expression, a turned head) says nothing
    # about the label.
    warp = variant(video, {"pair_warp": 0.04})
    write(here / "faces-train-warp.json", warp, "reshaped-pairs continuation recipe")
    # That one with only half the pairs reshaped: the others keep their layout, and their
    # blends are not resampled once more.
    half = variant(warp, {"pair_warp_probability": 0.5})
    write(here / "faces-train-warp-half.json", half, "half-reshaped continuation recipe")
    # That one at a fifth of the learning rate: a continuation that moves less far.
    write(here / "faces-train-warp-gentle.json",
          variant(half, {}, optim={"learning_rate": half["optim"]["learning_rate"] / 5}),
          "gentle half-reshaped continuation recipe")
    # The reshaped-pairs recipe with harder self-blends: half the colour and quality mismatch,
    # and face regions of other shapes (stretched or shrunk, cut below the forehead), as
    # face-swap masks are.
    hard = variant(warp, {})
    hard["self_blend"].update({
        "rgb_shift": 10.0, "hue_shift": 0.015, "sv_shift": 0.05, "brightness_contrast": 0.05,
        "rescale_factor": [1.5, 3.0], "region_scale": [0.85, 1.05], "region_top_cut": 0.3,
    })
    write(here / "faces-train-hard-blends.json", hard, "harder self-blends continuation recipe")
    # A long continuation for a GPU: the video-like recipe, the whole network, six epochs of
    # batches of 16 at twice the learning rate (about ten minutes on one large GPU).
    long = variant(video, {"epochs": 6, "batch_size": 16, "frozen_stages": 0},
                   optim={"learning_rate": 1e-4, "warmup_steps": 100})
    write(here / "faces-train-long.json", long, "long whole-network continuation recipe")
    # The long recipe with the pairs reshaped alike (faces-train-warp.json's field), to continue
    # the whole-network model: reshaping was tried before only with two stages frozen.
    long_warp = variant(long, {"pair_warp": 0.04})
    write(here / "faces-train-long-warp.json", long_warp,
          "long whole-network reshaped-pairs recipe")
    # That one with half the video-like pairs then saved as a JPEG file too, as video frames
    # exported as .jpg are (compressed twice): DFD's JPEG frames score at chance.
    frame_jpeg = variant(long_warp, {"frame_jpeg_probability": 0.5})
    write(here / "faces-train-long-warp-frame-jpeg.json", frame_jpeg,
          "long reshaped-pairs recipe with frames saved as JPEG")
    # That one with both faces of each pair relit alike (a brightness gradient, an exposure change
    # and a colour cast): the real video frames it flags are lit from one side or dimly.
    write(here / "faces-train-long-warp-frame-jpeg-relight.json",
          variant(frame_jpeg, {"pair_relight": 0.8}),
          "long reshaped-pairs recipe with frames saved as JPEG and pairs relit")
    # That one (without relighting) with the blend-map loss: a training-only head learns where
    # each self-blend differs from its real face, so that the backbone keeps where a blend is,
    # not a look that covers the whole face (lighting, compression).
    write(here / "faces-train-long-warp-frame-jpeg-blend-map.json",
          variant(frame_jpeg, {"blend_map_loss": 0.5}),
          "long reshaped-pairs recipe with frames saved as JPEG and the blend-map loss")

if __name__ == "__main__":
    main()
