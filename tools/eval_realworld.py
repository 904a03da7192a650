#!/usr/bin/env python3
"""Evaluates a model on every set of realworld-dev (frames of published deepfakes and their real
counterparts) and prints one table: per set and per method, the number of real and manipulated
faces, frame-level AUC (the most confident face of each file), video-level AUC (frames of one
video grouped, mean score), the share of fakes called "likely manipulated" (caught) and of reals
(flagged) at the model's own thresholds, and the files without a detectable face (left out);
then the AUC by face size, and by how the file was stored (JPEG or PNG) where a set mixes both.

    python3 tools/eval_realworld.py                         # the shipped model
    python3 tools/eval_realworld.py --model runs/x/best.json --out eval/realworld-x

It runs `mclcr eval` once per set (`--mclcr BIN` to use a built binary instead of
`cargo run --release`), keeps each set's metrics.json and scores.csv under --out, and writes the
table as realworld.md and realworld.json there, with the lowest "likely manipulated" threshold
that flags at most 5 % of realworld-dev's real files and what it catches there (for choosing a
shipped threshold with `mclcr pack --manipulated-threshold`), and how well that choice holds on
real videos it was not made on (split-half check). Each set's AUC comes with a 90 % interval
from resampling its videos: these sets are small, and the interval says how much a figure could
move on another draw; the face-swap sets are also pooled into one AUC, every file against every
other, as one threshold sees them. `--against OLD_OUT` compares with a model scored before into
OLD_OUT, on the same resamples. It also runs `mclcr analyze` over every folder and gives the share
of fake and real files per image verdict: what an analyst sees, where the small-face rule and
every face of a file count (the issue's done-when is stated this way). realworld-dev is for
measuring and choosing only: never train on it.
"""
import argparse
import csv
import json
import pathlib
import random
import subprocess
import sys

# (set, real folder, fake folder, manifest); StyleGAN faces are whole-face synthesis without
# counterparts, measured against the real celebrity photos of deepface.
SETS = [
    ("aaronespasa_dfd", "aaronespasa_dfd/real", "aaronespasa_dfd/fake", "aaronespasa_dfd"),
    ("icpr2020dfdc_dfdc", "icpr2020dfdc_dfdc/real", "icpr2020dfdc_dfdc/fake", "icpr2020dfdc_dfdc"),
    ("aaronchong888_dfdc", "aaronchong888_dfdc/real", "aaronchong888_dfdc/fake", "aaronchong888_dfdc"),
    ("ghost_faceswap", "ghost_faceswap/real", "ghost_faceswap/fake", "ghost_faceswap"),
    ("celebdf_official_figures", "celebdf_official_figures/real", "celebdf_official_figures/fake", "celebdf_official_figures"),
    ("simswap_examples", "simswap_examples/real", "simswap_examples/fake", "simswap_examples"),
    ("mesonet_examples", "mesonet_examples/real", "mesonet_examples/fake", "mesonet_examples"),
    ("stylegan_seeprettyface", "deepface_real_photos/real", "stylegan_seeprettyface/fake", "stylegan_seeprettyface"),
]

# The sets of face swaps (one person's face put on another's head), pooled for one figure: all
# but the whole-face StyleGAN images.
FACE_SWAP_SETS = [name for name, *_ in SETS if name != "stylegan_seeprettyface"]

SIZE_BOUNDS = [64, 96, 128, 192, 256, None]


VERDICTS = ["likely_manipulated", "inconclusive", "no_evidence_found"]


def analyze_verdicts(command, root, folder, model, device):
    """What `mclcr analyze` (its default options, the model's own thresholds and smallest face)
    says of every image in `folder`: the count of each image verdict, and of the files it could
    not read or found no face in (an "inconclusive" verdict with its reason)."""
    call = command + ["analyze", str(folder), "--json", "--no-progress", "--device", device]
    if model:
        call += ["--model", model]
    done = subprocess.run(call, cwd=root, capture_output=True, text=True)
    # 0: every file analysed; 1: some could not be (they are counted as errors).
    if done.returncode not in (0, 1):
        raise RuntimeError(f"mclcr analyze {folder} failed:\n{done.stderr}")
    counts = {verdict: 0 for verdict in VERDICTS + ["error"]}
    for line in done.stdout.splitlines():
        record = json.loads(line) if line.strip() else {}
        if record.get("type") != "image":
            continue
        verdict = record.get("verdict") if not record.get("error") else "error"
        counts[verdict if verdict in counts else "inconclusive"] += 1
    return counts


def analyze_row(name, real, fake):
    """One set's row of image verdicts: shares of its fake and real files per verdict."""
    def shares(counts):
        n = sum(counts.values())
        return {verdict: counts[verdict] / n if n else None for verdict in counts} | {"files": n}
    return {"set": name, "fake": shares(fake), "real": shares(real)}


def auc(scores, labels):
    """Area under the ROC curve (ties count half); None without both classes."""
    pos = [s for s, l in zip(scores, labels) if l]
    neg = [s for s, l in zip(scores, labels) if not l]
    if not pos or not neg:
        return None
    return rank_auc(pos, neg)


def by_face_size(score_files):
    """AUC by the face's size in its file, the faces of all sets pooled (sets differ in more
    than size: read it as a trend, not a per-set figure)."""
    faces = []
    for path in score_files:
        with open(path, newline="") as f:
            faces.extend(csv.DictReader(f))
    rows, low = [], 0
    for high in SIZE_BOUNDS:
        part = [r for r in faces if int(r["face_side"]) >= low and (high is None or int(r["face_side"]) < high)]
        if part:
            labels = [r["label"] == "fake" for r in part]
            scores = [float(r["score"]) for r in part]
            name = f"≥ {low} px" if high is None else f"{low}–{high - 1} px"
            rows.append({"size": name, "real": labels.count(False), "manipulated": labels.count(True),
                         "auc": auc(scores, labels)})
        low = high
    return rows


def file_format(path):
    """How a file was stored, from its name: "JPEG" for .jpg and .jpeg, else the extension in
    capitals ("PNG")."""
    extension = pathlib.Path(path).suffix.lower().lstrip(".")
    return "JPEG" if extension in ("jpg", "jpeg") else extension.upper() or "none"


def by_file_format(named_score_files):
    """Frame-level AUC (highest face score per file) by how each file was stored, for the sets
    whose real and fake files both come in more than one format (a video frame saved as JPEG has
    been compressed twice: once in the video, once in the file)."""
    rows = []
    for name, score_file in named_score_files:
        parts = {}
        for (path, _), (fake, score, _) in scores_by_file(score_file).items():
            parts.setdefault(file_format(path), []).append((fake, score))
        both = {k: v for k, v in parts.items() if any(f for f, _ in v) and not all(f for f, _ in v)}
        if len(both) < 2:
            continue
        for kind in sorted(both):
            labels = [fake for fake, _ in both[kind]]
            rows.append({"set": name, "format": kind, "real": labels.count(False),
                         "manipulated": labels.count(True),
                         "auc": auc([score for _, score in both[kind]], labels)})
    return rows


def scores_by_file(score_file):
    """{(path, is fake): (is fake, highest face score, video)} of one set's scores.csv (a
    self-blended test split scores the same path once as real and once as fake); a file
    without a video is its own."""
    files = {}
    with open(score_file, newline="") as f:
        for r in csv.DictReader(f):
            fake, score = r["label"] == "fake", float(r["score"])
            key = (r["path"], fake)
            best = files.get(key, (fake, score, r.get("video") or r["path"]))
            files[key] = (fake, max(best[1], score), best[2])
    return files


def pooled_files(out, names):
    """`scores_by_file` over several sets' scores.csv under `out` at once, each key and video
    named with its set, so that one AUC ranks every file against every other, as one threshold
    sees them."""
    files = {}
    for name in names:
        score_file = out / name / "scores.csv"
        if not score_file.is_file():
            continue
        for (path, fake), (is_fake, score, video) in scores_by_file(score_file).items():
            files[(f"{name}/{path}", fake)] = (is_fake, score, f"{name}/{video}")
    return files


def pooled_auc(files):
    """Frame-level AUC of `pooled_files` with its 90 % interval over 1000 resamples of the
    videos, or None without two videos of each class."""
    draws = bootstrap_aucs([files])
    if not draws:
        return None
    pos = [score for fake, score, _ in files.values() if fake]
    neg = [score for fake, score, _ in files.values() if not fake]
    return {"sets": FACE_SWAP_SETS, "real": len(neg), "fake": len(pos),
            "auc": rank_auc(pos, neg), "auc_interval": interval90([d[0] for d in draws])}


def per_file(score_file):
    """(label is fake, highest face score, video) per file of one set's scores.csv."""
    return list(scores_by_file(score_file).values())


def rank_auc(pos, neg):
    """AUC of manipulated scores `pos` against real scores `neg` from ranks (ties count half);
    both must be non-empty."""
    scored = sorted([(s, True) for s in pos] + [(s, False) for s in neg])
    rank_sum, i = 0.0, 0
    while i < len(scored):
        j = i
        while j < len(scored) and scored[j][0] == scored[i][0]:
            j += 1
        # Ranks i+1 ..= j share their mean.
        rank_sum += (i + j + 1) / 2 * sum(fake for _, fake in scored[i:j])
        i = j
    return (rank_sum - len(pos) * (len(pos) + 1) / 2) / (len(pos) * len(neg))


def bootstrap_aucs(models, resamples=1000, seed=2027):
    """Frame-level AUCs of one or more models over the same files, resampled: each resample
    draws a set's real videos and its fake videos with replacement (frames of one video are
    near-copies, so the video is the unit; a file without a video is its own) and takes every
    file of the drawn videos. `models` are `scores_by_file` dicts; the files all of them scored
    are used, and every model sees the same draws. A list of per-model AUC lists per resample,
    or None without two videos of each class."""
    files = sorted(set.intersection(*(set(m) for m in models)))
    videos = {}
    for path in files:
        fake, _, video = models[0][path]
        videos.setdefault((fake, video), []).append(path)
    reals = [paths for (fake, _), paths in sorted(videos.items()) if not fake]
    fakes = [paths for (fake, _), paths in sorted(videos.items()) if fake]
    if len(reals) < 2 or len(fakes) < 2:
        return None
    rng = random.Random(seed)
    draws = []
    for _ in range(resamples):
        real = [p for _ in reals for p in rng.choice(reals)]
        fake = [p for _ in fakes for p in rng.choice(fakes)]
        draws.append([rank_auc([m[p][1] for p in fake], [m[p][1] for p in real]) for m in models])
    return draws


def interval90(values):
    """[5th, 95th] percentile of resampled `values` (nearest rank below)."""
    ranked = sorted(values)
    return [ranked[int(0.05 * (len(ranked) - 1))], ranked[int(0.95 * (len(ranked) - 1))]]


def interval_of(metrics):
    """[low, high] of the AUC's interval that `mclcr eval` gives over resamples of the set's
    videos, or None where it gives none (fewer than two videos of a class)."""
    interval = metrics.get("auc_interval")
    return [interval["low"], interval["high"]] if interval else None


def compare(old_out, new_out):
    """Per set, the new model's frame-level AUC minus the old one's (both from --out folders
    of this script) and the share of paired video resamples in which the new one is higher
    (ties count half): near 0.5 means the sets cannot tell the two apart."""
    rows = []
    for name, *_ in SETS:
        old_file, new_file = old_out / name / "scores.csv", new_out / name / "scores.csv"
        if not (old_file.is_file() and new_file.is_file()):
            continue
        row = paired(scores_by_file(old_file), scores_by_file(new_file))
        if row:
            rows.append({"set": name, **row})
    row = paired(pooled_files(old_out, FACE_SWAP_SETS), pooled_files(new_out, FACE_SWAP_SETS))
    if row:
        rows.append({"set": "face swaps pooled", **row})
    return rows


def paired(old, new):
    """Two models' frame-level AUCs on the files both scored (`scores_by_file` dicts), the 90 %
    interval of their difference and the share of video resamples in which the new one is
    higher (ties count half); None where the files cannot be resampled."""
    draws = bootstrap_aucs([old, new])
    if not draws:
        return None
    common = set(old) & set(new)
    point = [
        rank_auc([m[p][1] for p in common if m[p][0]], [m[p][1] for p in common if not m[p][0]])
        for m in (old, new)
    ]
    return {
        "old_auc": point[0],
        "new_auc": point[1],
        "difference_interval": interval90([b - a for a, b in draws]),
        "new_higher": sum((b > a) + 0.5 * (b == a) for a, b in draws) / len(draws),
    }


def lowest_threshold(real_scores, max_flagged):
    """The lowest threshold that flags at most `max_flagged` of `real_scores` (sorted): a real
    is flagged when its score is >= the threshold, which sits just above the (allowed + 1)-th
    highest real score."""
    allowed = int(max_flagged * len(real_scores))
    return min(1.0, real_scores[len(real_scores) - allowed - 1] + 1e-6)


def threshold_choice(score_files, max_flagged=0.05):
    """The lowest "likely manipulated" threshold that flags at most `max_flagged` of all
    realworld-dev real files (highest face score per file), and what it catches, per set and
    pooled. For choosing thresholds (allowed on realworld-dev), never for training."""
    sets = {name: per_file(path) for name, path in score_files}
    reals = sorted(score for files in sets.values() for fake, score, _ in files if not fake)
    if not reals:
        return None
    threshold = lowest_threshold(reals, max_flagged)
    rows = []
    for name, files in sets.items():
        real = [s for fake, s, _ in files if not fake]
        fake = [s for fake, s, _ in files if fake]
        rows.append({
            "set": name,
            "caught": sum(s >= threshold for s in fake) / len(fake) if fake else None,
            "flagged": sum(s >= threshold for s in real) / len(real) if real else None,
        })
    fakes = [s for files in sets.values() for fake, s, _ in files if fake]
    return {
        "max_flagged": max_flagged,
        "threshold": threshold,
        "real_files": len(reals),
        "caught": sum(s >= threshold for s in fakes) / len(fakes) if fakes else None,
        "rows": rows,
    }


def threshold_holdout(score_files, max_flagged=0.05, splits=200, seed=2027):
    """Whether the threshold choice holds on real files it was not chosen on: each set's real
    videos split at random into two halves, the threshold chosen on one half by the rule of
    `threshold_choice`, the share of the other half's real files it flags measured; the median
    and 90th percentile of that share over `splits` splits, and of the fake files caught."""
    sets = [per_file(path) for _, path in score_files]
    fakes = [s for files in sets for fake, s, _ in files if fake]
    # Per set, the real files' scores grouped by video (frames of one video are near-copies).
    groups = []
    for files in sets:
        videos = {}
        for fake, score, video in files:
            if not fake:
                videos.setdefault(video, []).append(score)
        groups.append(list(videos.values()))
    rng = random.Random(seed)
    flagged, caught = [], []
    for _ in range(splits):
        choose, check = [], []
        for videos in groups:
            order = videos[:]
            rng.shuffle(order)
            # An odd video out goes to either half at random.
            half = len(order) // 2 + (len(order) % 2 == 1 and rng.random() < 0.5)
            for i, scores in enumerate(order):
                (choose if i < half else check).extend(scores)
        if not choose or not check:
            continue
        threshold = lowest_threshold(sorted(choose), max_flagged)
        flagged.append(sum(s >= threshold for s in check) / len(check))
        caught.append(sum(s >= threshold for s in fakes) / len(fakes) if fakes else 0.0)
    if not flagged:
        return None
    flagged.sort()
    caught.sort()
    return {
        "splits": len(flagged),
        "median_flagged": flagged[len(flagged) // 2],
        "p90_flagged": flagged[int(0.9 * (len(flagged) - 1))],
        "median_caught": caught[len(caught) // 2],
    }


def fmt(value, percent=False):
    if value is None:
        return "–"
    return f"{100 * value:.1f} %" if percent else f"{value:.3f}"


def main() -> int:
    root = pathlib.Path(__file__).resolve().parent.parent
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", help="model manifest (default: the shipped model)")
    parser.add_argument("--data", default=str(root.parent / "shared/data/realworld-dev"))
    parser.add_argument("--out", default="eval/realworld")
    parser.add_argument("--mclcr", help="mclcr binary (default: cargo run --release)")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--against", help="an earlier --out folder of this script: compare "
                        "the two models set by set on the same video resamples")
    args = parser.parse_args()
    data = pathlib.Path(args.data)
    if not data.is_dir():
        print(f"no realworld-dev data at {data}", file=sys.stderr)
        return 2
    out = pathlib.Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    command = [args.mclcr] if args.mclcr else ["cargo", "run", "--release", "--quiet", "--"]
    rows = []
    analyzed = []
    model = None
    for name, real, fake, manifest_dir in SETS:
        set_out = out / name
        call = command + [
            "eval", "--real", str(data / real), "--fake", str(data / fake),
            "--manifest", str(data / manifest_dir / "manifest.csv"),
            "--out", str(set_out), "--no-jpeg-check", "--device", args.device,
        ]
        if args.model:
            call += ["--model", args.model]
        done = subprocess.run(call, cwd=root, capture_output=True, text=True)
        if done.returncode != 0:
            print(f"{name}: mclcr eval failed:\n{done.stderr}", file=sys.stderr)
            return 1
        metrics = json.loads((set_out / "metrics.json").read_text())
        model = metrics["model"]
        videos = metrics.get("videos") or {}
        caught = metrics["manipulated_band_shares"][0]
        flagged = metrics["real_band_shares"][0]
        rows.append({
            "set": name, "method": "all", "real": metrics["real_faces"],
            "manipulated": metrics["manipulated_faces"], "auc": metrics["auc"],
            "auc_interval": interval_of(metrics),
            "video_auc": videos.get("auc"), "caught": caught, "flagged": flagged,
            "no_face": metrics["no_face"]["real"] + metrics["no_face"]["manipulated"],
        })
        analyzed.append(analyze_row(
            name,
            analyze_verdicts(command, root, data / real, args.model, args.device),
            analyze_verdicts(command, root, data / fake, args.model, args.device),
        ))
        for method in metrics.get("methods", []):
            rows.append({
                "set": name, "method": method["name"], "real": method["real"],
                "manipulated": method["manipulated"], "auc": method["auc"],
                "video_auc": method["video_auc"], "caught": method["caught"],
                "flagged": method["flagged"], "no_face": method["no_face"],
            })
    lines = [
        f"realworld-dev, model {model}: frame-level AUC (most confident face per file), "
        "video AUC (frames grouped, mean score), shares at the model's thresholds; the AUC's "
        "90 % interval over 1000 resamples of each set's videos (`mclcr eval`)",
        "",
        "| set | method | real | fake | AUC | AUC 90 % interval | video AUC | fakes caught "
        "| reals flagged | no face |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        interval = r.get("auc_interval")
        interval = f"{interval[0]:.2f}–{interval[1]:.2f}" if interval else "–"
        lines.append(
            f"| {r['set'] if r['method'] == 'all' else ''} | {r['method']} | {r['real']} | "
            f"{r['manipulated']} | {fmt(r['auc'])} | {interval} | {fmt(r['video_auc'])} | "
            f"{fmt(r['caught'], True)} | {fmt(r['flagged'], True)} | {r['no_face']} |"
        )
    sizes = by_face_size([out / name / "scores.csv" for name, *_ in SETS])
    lines += [
        "",
        "By the face's size in its file (longer side of the detector's box), all sets pooled:",
        "",
        "| face size | real | fake | AUC |",
        "|---|---|---|---|",
    ]
    lines += [f"| {r['size']} | {r['real']} | {r['manipulated']} | {fmt(r['auc'])} |" for r in sizes]
    formats = by_file_format([(name, out / name / "scores.csv") for name, *_ in SETS])
    if formats:
        lines += [
            "",
            "By how the file was stored, in the sets whose real and fake files both come in more "
            "than one format (frame-level AUC):",
            "",
            "| set | format | real | fake | AUC |",
            "|---|---|---|---|---|",
        ]
        lines += [
            f"| {r['set']} | {r['format']} | {r['real']} | {r['manipulated']} | {fmt(r['auc'])} |"
            for r in formats
        ]
    lines += [
        "",
        "What `mclcr analyze` says of each file (its image verdict, with the model's thresholds and "
        "its smallest judged face: a face below it makes the file \"inconclusive\"):",
        "",
        "| set | fake files | likely manipulated | inconclusive | no evidence found | real files "
        "| likely manipulated | inconclusive | no evidence found |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for a in analyzed:
        cells = []
        for side in ("fake", "real"):
            cells.append(str(a[side]["files"]))
            cells += [fmt(a[side][verdict], True) for verdict in VERDICTS]
        lines.append(f"| {a['set']} | " + " | ".join(cells) + " |")
    pooled = pooled_auc(pooled_files(out, FACE_SWAP_SETS))
    if pooled:
        lines += [
            "",
            f"Face swaps pooled (every set but StyleGAN, {pooled['real']} real and {pooled['fake']} "
            "fake files ranked together, as one threshold sees them): frame-level AUC "
            f"{fmt(pooled['auc'])}, 90 % interval {pooled['auc_interval'][0]:.2f}–"
            f"{pooled['auc_interval'][1]:.2f} over 1000 resamples of the videos.",
        ]
    choice = threshold_choice([(name, out / name / "scores.csv") for name, *_ in SETS])
    if choice:
        lines += [
            "",
            f"Choosing the \"likely manipulated\" threshold on realworld-dev: the lowest that flags at "
            f"most {100 * choice['max_flagged']:.0f} % of its {choice['real_files']} real files "
            f"(highest face score per file) is {choice['threshold']:.4f}; there it catches "
            f"{fmt(choice['caught'], True)} of all fake files:",
            "",
            "| set | fakes caught | reals flagged |",
            "|---|---|---|",
        ]
        lines += [
            f"| {r['set']} | {fmt(r['caught'], True)} | {fmt(r['flagged'], True)} |"
            for r in choice["rows"]
        ]
    holdout = threshold_holdout([(name, out / name / "scores.csv") for name, *_ in SETS])
    if holdout:
        lines += [
            "",
            f"Does that choice hold on reals it was not made on? Over {holdout['splits']} random "
            "splits of each set's real videos into halves, a threshold chosen the same way on one "
            f"half flags {fmt(holdout['median_flagged'], True)} of the other half's real files "
            f"(median; 90th percentile {fmt(holdout['p90_flagged'], True)}) and catches "
            f"{fmt(holdout['median_caught'], True)} of all fake files (median).",
        ]
    against = compare(pathlib.Path(args.against), out) if args.against else None
    if against:
        lines += [
            "",
            f"Against the model scored in {args.against} (same files, same resamples of videos): "
            "how often this model's AUC is the higher one",
            "",
            "| set | AUC before | AUC now | difference, 90 % interval | now higher in |",
            "|---|---|---|---|---|",
        ]
        lines += [
            f"| {r['set']} | {fmt(r['old_auc'])} | {fmt(r['new_auc'])} | "
            f"{r['difference_interval'][0]:+.3f} to {r['difference_interval'][1]:+.3f} | "
            f"{fmt(r['new_higher'], True)} of resamples |"
            for r in against
        ]
    table = "\n".join(lines) + "\n"
    (out / "realworld.md").write_text(table)
    (out / "realworld.json").write_text(
        json.dumps({"model": model, "rows": rows, "by_face_size": sizes,
                    "by_file_format": formats,
                    "face_swaps_pooled": pooled, "analyze": analyzed,
                    "threshold_choice": choice, "threshold_holdout": holdout,
                    "against": against}, indent=2) + "\n"
    )
    print(table, end="")
    return 0


if __name__ == "__main__":
    sys.exit(main())
