#!/usr/bin/env python3
"""Times mclcr, PyTorch and ONNX Runtime on the CPU on the same network, weights and inputs.

In one run, for each batch size (default 1 and 16):
- inference: the forward pass up to the logits and the two attention maps;
- one training step: forward, cross-entropy + 0.5 * SupCon (temperature 0.07), backward, global
  gradient-norm clipping to 5, Adam (lr 2e-4, L2 weight decay 5e-4), as src/training.rs does.

Contestants, all with the same number of threads:
- mclcr: the CPU device (Burn flex) of a release build, through benches/reference.rs
  (built here with cargo; RAYON_NUM_THREADS = threads);
- PyTorch: tools/reference/mclcr_ref.py, torch.set_num_threads(threads);
- ONNX Runtime: the reference exported to ONNX with torch.onnx's dynamo exporter (one
  static-shape model per batch size; the older TorchScript exporter, dynamo=False, gives a
  wrong graph for this network in torch 2.9.1), intra-op threads = threads. Inference only: a training step needs onnxruntime-training,
  which is not part of the ordinary package.

The weights are PyTorch's seeded initialisation, saved as an mclcr model (mclcr_ref.save_mclcr)
that mclcr loads; the inputs are prepared once by the reference (seeded textures) and handed to
all three. Each figure is the median of --iterations timed runs after --warmup untimed ones,
printed with its ratio to PyTorch's (below 1: faster than PyTorch).

Usage, from the repository root (packages: tools/reference/requirements.txt plus
tools/bench/requirements.txt; cargo on the PATH):
  python3 tools/bench/bench.py                      # default network, batches 1 and 16
  python3 tools/bench/bench.py --config tiny --iterations 3 --warmup 1   # a quick check
Options: --config default|tiny, --threads N (default: all cores), --batches 1,16,
--iterations N, --warmup N, --json PATH (also write the results as JSON).
"""
import argparse
import copy
import json
import os
import subprocess
import sys
import tempfile
import time

import numpy as np
import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "tools", "reference"))
import make_parity_fixtures as fixtures  # noqa: E402
import mclcr_ref as ref  # noqa: E402

CONFIGS = {"default": fixtures.DEFAULT, "tiny": fixtures.TINY}


def median_ms(fn, iterations, warmup):
    """Median wall time of fn() in milliseconds."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(max(iterations, 1)):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1e3)
    return float(np.median(times))


def supcon(z, labels, temperature):
    """Supervised contrastive loss as src/model/loss.rs computes it."""
    b = z.shape[0]
    sim = z @ z.T / temperature
    logits = sim - sim.max(dim=1, keepdim=True).values.detach()
    not_self = 1.0 - torch.eye(b, dtype=z.dtype)
    lab = labels.to(z.dtype)
    positives = (1.0 - (lab[:, None] - lab[None, :]).abs().clamp(0, 1)) * not_self
    denominator = torch.log((logits.exp() * not_self).sum(dim=1, keepdim=True))
    log_prob = logits - denominator
    count = positives.sum(dim=1, keepdim=True)
    has = count.clamp(0, 1)
    mean_log_prob = (positives * log_prob).sum(dim=1, keepdim=True) / count.clamp(min=1.0)
    return -(mean_log_prob * has).sum() / has.sum().clamp(min=1.0)


def make_inputs(config, count):
    """`count` prepared faces (rgb, amplitude, phase stacked), from seeded textures."""
    side = config["image_size"]
    faces = [fixtures.texture_face(side, seed) for seed in range(count)]
    return [np.stack(a) for a in zip(*(ref.prepare_face(f, config) for f in faces))]


def build_mclcr_bench():
    """Builds benches/reference.rs (release) and returns the executable's path."""
    cmd = ["cargo", "build", "--release", "--bench", "reference", "--message-format=json"]
    proc = subprocess.run(cmd, cwd=ROOT, stdout=subprocess.PIPE, check=True, text=True)
    for line in proc.stdout.splitlines():
        msg = json.loads(line)
        if msg.get("reason") == "compiler-artifact" and msg["target"]["name"] == "reference":
            return msg["executable"]
    raise RuntimeError("cargo did not report the reference bench executable")


def bench_mclcr(exe, manifest, inputs_bin, max_batch, args):
    """{(what, batch): ms} from the Rust side."""
    env = dict(os.environ, RAYON_NUM_THREADS=str(args.threads))
    cmd = [exe, manifest, inputs_bin, str(max_batch), ",".join(map(str, args.batches)),
           str(args.iterations), str(args.warmup)]
    proc = subprocess.run(cmd, env=env, stdout=subprocess.PIPE, check=True, text=True)
    out = {}
    for line in proc.stdout.splitlines():
        r = json.loads(line)
        out[(r["what"], r["batch"])] = r["ms"]
    return out


def bench_torch(model, inputs, args):
    """{(what, batch): ms} for PyTorch."""
    out = {}
    for b in args.batches:
        x = [torch.from_numpy(a[:b]) for a in inputs]
        model.eval()

        def infer():
            with torch.inference_mode():
                o = model(*x)
                return o["logits"], o["amplitude_attention"], o["phase_attention"]

        out[("inference", b)] = median_ms(infer, args.iterations, args.warmup)
        trained = copy.deepcopy(model).train()
        opt = torch.optim.Adam(trained.parameters(), lr=2e-4, weight_decay=5e-4)
        labels = torch.tensor([i % 2 for i in range(b)])

        def step():
            o = trained(*x)
            loss = F.cross_entropy(o["logits"], labels) + 0.5 * supcon(o["projection"], labels, 0.07)
            opt.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(trained.parameters(), 5.0)
            opt.step()
            return loss.item()

        out[("train_step", b)] = median_ms(step, args.iterations, args.warmup)
    return out


class _Outputs(torch.nn.Module):
    """The reference with a tuple of the timed outputs, for ONNX export."""

    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, rgb, amplitude, phase):
        o = self.model(rgb, amplitude, phase)
        return o["logits"], o["amplitude_attention"], o["phase_attention"]


def bench_onnx(model, inputs, tmp, args):
    """{(what, batch): ms} for ONNX Runtime, and the largest logit difference to PyTorch."""
    import onnxruntime as ort

    out, worst = {}, 0.0
    wrapped = _Outputs(model.eval())
    for b in args.batches:
        x = [torch.from_numpy(a[:b]) for a in inputs]
        path = os.path.join(tmp, f"mclcr_b{b}.onnx")
        torch.onnx.export(wrapped, tuple(x), path, input_names=["rgb", "amplitude", "phase"],
                          output_names=["logits", "amplitude_attention", "phase_attention"],
                          dynamo=True, verbose=False)
        options = ort.SessionOptions()
        options.intra_op_num_threads = args.threads
        options.inter_op_num_threads = 1
        session = ort.InferenceSession(path, options, providers=["CPUExecutionProvider"])
        feed = {"rgb": inputs[0][:b], "amplitude": inputs[1][:b], "phase": inputs[2][:b]}
        out[("inference", b)] = median_ms(lambda: session.run(None, feed), args.iterations, args.warmup)
        with torch.inference_mode():
            expected = wrapped(*x)[0].numpy()
        worst = max(worst, float(np.abs(session.run(None, feed)[0] - expected).max()))
    return out, worst


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--config", choices=sorted(CONFIGS), default="default")
    parser.add_argument("--threads", type=int, default=os.cpu_count())
    parser.add_argument("--batches", type=lambda s: [int(b) for b in s.split(",")], default=[1, 16])
    parser.add_argument("--iterations", type=int, default=5)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--json", help="also write the results to this file")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    config = CONFIGS[args.config]
    torch.manual_seed(0)
    model = ref.build(config)
    max_batch = max(args.batches)
    inputs = make_inputs(config, max_batch)
    with tempfile.TemporaryDirectory(prefix="mclcr-bench-") as tmp:
        manifest = os.path.join(tmp, "model.json")
        ref.save_mclcr(model, manifest, name=f"bench {args.config}")
        inputs_bin = os.path.join(tmp, "inputs.bin")
        with open(inputs_bin, "wb") as f:
            for a in inputs:
                f.write(np.ascontiguousarray(a, dtype="<f4").tobytes())
        print(f"network: {args.config}, threads: {args.threads}, batches: {args.batches}, "
              f"median of {args.iterations} after {args.warmup} warm-up", flush=True)
        results = {"PyTorch": bench_torch(model, inputs, args)}
        results["ONNX Runtime"], onnx_diff = bench_onnx(model, inputs, tmp, args)
        results["mclcr"] = bench_mclcr(build_mclcr_bench(), manifest, inputs_bin, max_batch, args)
    print(f"(ONNX Runtime logits differ from PyTorch's by at most {onnx_diff:.2e})")
    print(f"{'':14} {'':10} {'batch':>5} {'ms':>10} {'ms/face':>9} {'vs PyTorch':>10}")
    rows = []
    for what in ("inference", "train_step"):
        for b in args.batches:
            base = results["PyTorch"][(what, b)]
            for name in ("mclcr", "PyTorch", "ONNX Runtime"):
                ms = results[name].get((what, b))
                if ms is None:
                    print(f"{name:14} {what:10} {b:>5} {'n/a':>10}")
                    continue
                print(f"{name:14} {what:10} {b:>5} {ms:>10.2f} {ms / b:>9.2f} {ms / base:>9.2f}x")
                rows.append({"runtime": name, "what": what, "batch": b, "ms": ms,
                             "ratio_to_pytorch": ms / base})
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"config": args.config, "threads": args.threads, "results": rows}, f, indent=1)


if __name__ == "__main__":
    main()
