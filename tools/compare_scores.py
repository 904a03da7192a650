#!/usr/bin/env python3
"""Compares two models on the same labelled faces: two `scores.csv` files written by
`mclcr eval --out` (for example the test split, `mclcr eval … --held-out-of RECIPE`, scored by
each model). It prints both frame-level AUCs, the 90 % interval of their difference and how
often the second is higher over 1000 paired resamples of the videos (a file without a video is
its own), the same resampling as `tools/eval_realworld.py --against`:

    python3 tools/compare_scores.py eval/test-old/scores.csv eval/test-new/scores.csv

A test split of a few hundred faces moves by about ±0.01 AUC from one draw to another, so a
difference is worth acting on only when its interval leaves 0.
"""
import pathlib
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from eval_realworld import paired, scores_by_file  # noqa: E402


def main() -> int:
    if len(sys.argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    old_file, new_file = (pathlib.Path(a) for a in sys.argv[1:])
    for path in (old_file, new_file):
        if not path.is_file():
            print(f"no scores at {path}", file=sys.stderr)
            return 2
    row = paired(scores_by_file(old_file), scores_by_file(new_file))
    if row is None:
        print("too few videos of each class to resample", file=sys.stderr)
        return 1
    low, high = row["difference_interval"]
    print(
        f"AUC {row['old_auc']:.3f} -> {row['new_auc']:.3f}: difference {row['new_auc'] - row['old_auc']:+.3f} "
        f"(90 % interval {low:+.3f} to {high:+.3f}); the second is higher in "
        f"{100 * row['new_higher']:.1f} % of resamples"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
