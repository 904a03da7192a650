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

With --stages, instead: the forward pass cut into stages (preprocessing from 8-bit faces:
RGB normalisation + per-patch DFT; backbone stem, each EfficientNet-Lite stage, head conv;
style block; frequency embeddings, dual attention, mixers; pooling + fusion + classifier +
projection), each stage timed alone on both sides on the previous stage's output (PyTorch
under torch.no_grad(); its preprocessing in float32 torch with torch.fft.rfft2), then a
training step split into forward (+ loss), backward and optimiser (clipping + Adam). One
table per batch size: stage, mclcr ms, PyTorch ms, ratio.

Usage, from the repository root (packages: tools/reference/requirements.txt plus
tools/bench/requirements.txt; cargo on the PATH):
  python3 tools/bench/bench.py                      # default network, batches 1 and 16
  python3 tools/bench/bench.py --stages             # where the time goes, stage by stage
  python3 tools/bench/bench.py --config tiny --iterations 3 --warmup 1   # a quick check
  python3 tools/bench/bench.py --torch-device cuda  # PyTorch alone on a GPU
Options: --config default|tiny, --threads N (default: all cores), --batches 1,16,
--iterations N, --warmup N, --stages, --json PATH (also write the results as JSON).
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
    """Median wall time of fn() in milliseconds (waiting for the GPU where one is used)."""
    sync = torch.cuda.synchronize if torch.cuda.is_available() else (lambda: None)
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(max(iterations, 1)):
        sync()
        start = time.perf_counter()
        fn()
        sync()
        times.append((time.perf_counter() - start) * 1e3)
    return float(np.median(times))


def supcon(z, labels, temperature):
    """Supervised contrastive loss as src/model/loss.rs computes it."""
    b = z.shape[0]
    sim = z @ z.T / temperature
    logits = sim - sim.max(dim=1, keepdim=True).values.detach()
    not_self = 1.0 - torch.eye(b, dtype=z.dtype, device=z.device)
    lab = labels.to(z.dtype)
    positives = (1.0 - (lab[:, None] - lab[None, :]).abs().clamp(0, 1)) * not_self
    denominator = torch.log((logits.exp() * not_self).sum(dim=1, keepdim=True))
    log_prob = logits - denominator
    count = positives.sum(dim=1, keepdim=True)
    has = count.clamp(0, 1)
    mean_log_prob = (positives * log_prob).sum(dim=1, keepdim=True) / count.clamp(min=1.0)
    return -(mean_log_prob * has).sum() / has.sum().clamp(min=1.0)


def make_faces(config, count):
    """`count` seeded uint8 texture faces, [count, side, side, 3]."""
    side = config["image_size"]
    return np.stack([fixtures.texture_face(side, seed) for seed in range(count)])


def make_inputs(faces, config):
    """The prepared faces (rgb, amplitude, phase stacked) of `faces`."""
    return [np.stack(a) for a in zip(*(ref.prepare_face(f, config) for f in faces))]


def torch_prepare(faces, patch):
    """uint8 [b, s, s, 3] -> (rgb, amplitude, phase) as the reference prepares them, in
    float32 PyTorch (torch.fft.rfft2 keeps the same one-sided half, v along x)."""
    x = faces.to(torch.float32)
    rgb = ((x - ref.PIXEL_MEAN) / ref.PIXEL_SCALE).permute(0, 3, 1, 2).contiguous()
    gray = ((0.299 * x[..., 0] + 0.587 * x[..., 1]) + 0.114 * x[..., 2]) / 255.0
    b, side = gray.shape[0], gray.shape[1]
    g = side // patch
    patches = gray.reshape(b, g, patch, g, patch).transpose(2, 3).reshape(b, g * g, patch, patch)
    spectrum = torch.fft.rfft2(patches)  # [b, n, u, v]
    amplitude = torch.log1p(spectrum.abs()).reshape(b, g * g, -1)
    phase = torch.angle(spectrum).reshape(b, g * g, -1)
    return rgb, amplitude, phase


def write_model_and_inputs(model, inputs, tmp, args):
    """Saves the model as an mclcr manifest and the prepared inputs as little-endian f32 in
    `tmp`; returns (manifest path, inputs path) for the Rust side."""
    manifest = os.path.join(tmp, "model.json")
    ref.save_mclcr(model, manifest, name=f"bench {args.config}")
    inputs_bin = os.path.join(tmp, "inputs.bin")
    with open(inputs_bin, "wb") as f:
        for a in inputs:
            f.write(np.ascontiguousarray(a, dtype="<f4").tobytes())
    return manifest, inputs_bin


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
        x = [torch.from_numpy(a[:b]).to(args.torch_device) for a in inputs]
        model.eval()

        def infer():
            with torch.inference_mode():
                o = model(*x)
                return o["logits"], o["amplitude_attention"], o["phase_attention"]

        out[("inference", b)] = median_ms(infer, args.iterations, args.warmup)
        trained = copy.deepcopy(model).train()
        opt = torch.optim.Adam(trained.parameters(), lr=2e-4, weight_decay=5e-4)
        labels = torch.tensor([i % 2 for i in range(b)], device=args.torch_device)

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


def torch_stages(model, faces, inputs, b, args):
    """[(stage, ms)] of the reference's forward pass, stage by stage, each fed the previous
    stage's output (the same cut as benches/reference.rs --stages), with torch.no_grad()."""
    model.eval()
    net = model.backbone.EfficientnetLite
    cfg = model.config["backbone"]
    freq = model.frequency
    x_faces = torch.from_numpy(faces[:b])
    rgb, amplitude, phase = (torch.from_numpy(a[:b]) for a in inputs)
    patch = model.config["frequency"].get("patch_size", 16)
    out = []

    def stage(name, fn):
        out.append((name, median_ms(fn, args.iterations, args.warmup)))
        return fn()

    with torch.no_grad():
        stage("preprocess", lambda: torch_prepare(x_faces, patch))
        x = stage("backbone stem", lambda: net.stem(rgb))
        first, ends = 0, []
        for i, st in enumerate(cfg["stages"]):
            blocks = net.blocks[first:first + st["repeats"]]
            first += st["repeats"]

            def run(h, blocks=blocks):
                for block in blocks:
                    h = block(h)
                return h

            name = f"backbone stage {i} (k{st['kernel']} s{st['stride']} e{st['expand']}, {st['channels']} ch)"
            x = stage(name, lambda x=x, run=run: run(x))
            ends.append(x)
        last = stage("backbone head (1x1 conv)", lambda: net.head(x))
        taps = [ends[s] for s in cfg.get("tap_stages", [0, 1, 2])]
        style_feature, _ = stage("style block (3 Gram branches)", lambda: model.style(taps))
        a, p = stage("frequency embeddings",
                     lambda: (freq.amplitude_embed(amplitude) + freq.amplitude_position,
                              freq.phase_embed(phase) + freq.phase_position))
        a, p, _, _ = stage("frequency dual attention", lambda: freq.dual_attention(a, p))

        def mix():
            ma, mp = a, p
            for layer in freq.amplitude_mixers:
                ma = layer(ma)
            for layer in freq.phase_mixers:
                mp = layer(mp)
            return ma, mp

        a, p = stage("frequency mixers", mix)

        def fuse():
            fused = torch.cat([last.mean(dim=(2, 3)), style_feature,
                               freq.amplitude_norm(a).mean(dim=1), freq.phase_norm(p).mean(dim=1)], 1)
            logits = model.classifier(model.dropout(fused))
            z = model.projection2(F.relu(model.projection1(fused)))
            return logits, z / torch.sqrt((z * z).sum(dim=1, keepdim=True) + 1e-12)

        stage("pooling, fusion, classifier, projection", fuse)
        out.append(("sum of the stages", sum(ms for _, ms in out)))
        out.append(("whole forward (preprocess included)",
                    median_ms(lambda: model(*torch_prepare(x_faces, patch)), args.iterations, args.warmup)))
    return out


def torch_train_phases(model, inputs, b, args):
    """{phase: median ms} of a training step: forward (with the loss, read back), backward
    (zero_grad + backward), optimizer (clipping + Adam), as Trainer::step_timed splits it."""
    x = [torch.from_numpy(a[:b]) for a in inputs]
    trained = copy.deepcopy(model).train()
    opt = torch.optim.Adam(trained.parameters(), lr=2e-4, weight_decay=5e-4)
    labels = torch.tensor([i % 2 for i in range(b)])
    times = {"forward": [], "backward": [], "optimizer": []}
    for i in range(args.warmup + max(args.iterations, 1)):
        t0 = time.perf_counter()
        o = trained(*x)
        loss = F.cross_entropy(o["logits"], labels) + 0.5 * supcon(o["projection"], labels, 0.07)
        loss.item()
        t1 = time.perf_counter()
        opt.zero_grad()
        loss.backward()
        t2 = time.perf_counter()
        torch.nn.utils.clip_grad_norm_(trained.parameters(), 5.0)
        opt.step()
        t3 = time.perf_counter()
        if i >= args.warmup:
            for k, ms in zip(times, (t1 - t0, t2 - t1, t3 - t2)):
                times[k].append(ms * 1e3)
    return {k: float(np.median(v)) for k, v in times.items()}


def run_stages(model, config, args):
    """--stages: per-stage table (mclcr vs PyTorch) and the training-step phase split."""
    max_batch = max(args.batches)
    faces = make_faces(config, max_batch)
    inputs = make_inputs(faces, config)
    # The PyTorch preprocessing must give the reference's inputs.
    check = torch_prepare(torch.from_numpy(faces[:1]), config["frequency"].get("patch_size", 16))
    amp_diff = float((check[1][0] - torch.from_numpy(inputs[1][0])).abs().max())
    rows = []
    with tempfile.TemporaryDirectory(prefix="mclcr-bench-") as tmp:
        manifest, inputs_bin = write_model_and_inputs(model, inputs, tmp, args)
        faces_bin = os.path.join(tmp, "faces.bin")
        with open(faces_bin, "wb") as f:
            f.write(np.ascontiguousarray(faces, dtype=np.uint8).tobytes())
        print(f"network: {args.config}, threads: {args.threads}, batches: {args.batches}, "
              f"median of {args.iterations} after {args.warmup} warm-up; stages", flush=True)
        print(f"(PyTorch float32 preprocessing differs from the reference's amplitude by at most {amp_diff:.1e})")
        env = dict(os.environ, RAYON_NUM_THREADS=str(args.threads))
        cmd = [build_mclcr_bench(), "--stages", manifest, inputs_bin, faces_bin, str(max_batch),
               ",".join(map(str, args.batches)), str(args.iterations), str(args.warmup)]
        proc = subprocess.run(cmd, env=env, stdout=subprocess.PIPE, check=True, text=True)
    mclcr = {}
    for line in proc.stdout.splitlines():
        r = json.loads(line)
        mclcr[(r["what"], r["name"], r["batch"])] = r["ms"]
    for b in args.batches:
        print(f"\nbatch {b}: forward pass, stage by stage (inference)")
        print(f"{'stage':42} {'mclcr ms':>10} {'PyTorch ms':>11} {'ratio':>7}")
        for name, ms in torch_stages(model, faces, inputs, b, args):
            ours = mclcr.get(("stage", name, b), float("nan"))
            print(f"{name:42} {ours:>10.2f} {ms:>11.2f} {ours / ms:>6.2f}x")
            rows.append({"what": "stage", "name": name, "batch": b, "mclcr_ms": ours,
                         "pytorch_ms": ms, "ratio_to_pytorch": ours / ms})
        print(f"batch {b}: training step, phase by phase")
        print(f"{'phase':42} {'mclcr ms':>10} {'PyTorch ms':>11} {'ratio':>7}")
        for name, ms in torch_train_phases(model, inputs, b, args).items():
            ours = mclcr.get(("train_phase", name, b), float("nan"))
            print(f"{name:42} {ours:>10.2f} {ms:>11.2f} {ours / ms:>6.2f}x")
            rows.append({"what": "train_phase", "name": name, "batch": b, "mclcr_ms": ours,
                         "pytorch_ms": ms, "ratio_to_pytorch": ours / ms})
    return rows


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
    parser.add_argument("--torch-device", default="cpu",
                        help="PyTorch's device (cpu, cuda); with anything but cpu only PyTorch is "
                             "timed: mclcr's GPU figures come from `mclcr bench --device gpu`")
    parser.add_argument("--stages", action="store_true",
                        help="time the forward pass stage by stage and the training step's phases")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    config = CONFIGS[args.config]
    torch.manual_seed(0)
    model = ref.build(config)
    if args.torch_device != "cpu":
        model = model.to(args.torch_device)
        inputs = make_inputs(make_faces(config, max(args.batches)), config)
        print(f"PyTorch {torch.__version__} on {args.torch_device}: network {args.config}, "
              f"median of {args.iterations} after {args.warmup} warm-up", flush=True)
        for (what, b), ms in sorted(bench_torch(model, inputs, args).items()):
            print(f"{'PyTorch':14} {what:10} {b:>5} {ms:>10.2f} {ms / b:>9.2f}")
        return
    if args.stages:
        rows = run_stages(model, config, args)
        if args.json:
            with open(args.json, "w") as f:
                json.dump({"config": args.config, "threads": args.threads, "stages": rows}, f, indent=1)
        return
    max_batch = max(args.batches)
    inputs = make_inputs(make_faces(config, max_batch), config)
    with tempfile.TemporaryDirectory(prefix="mclcr-bench-") as tmp:
        manifest, inputs_bin = write_model_and_inputs(model, inputs, tmp, args)
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
