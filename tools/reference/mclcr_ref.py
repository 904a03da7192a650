#!/usr/bin/env python3
"""PyTorch reference of the MC-LCR network, reading and writing mclcr's model files.

The network is built from the `config` object of an mclcr model manifest (the JSON that
`mclcr::model::store::save_model` writes) and follows src/model/ operation for operation, in
eval mode (dropout off, batch norm from its running statistics). Weights are exchanged as
mclcr safetensors files with mclcr's own key names, so a model trained here can be loaded by
mclcr (`save_mclcr`) and an mclcr model can be run here (`load_mclcr`).

Choices that must match mclcr exactly (src/model/*.rs, src/preprocess.rs, src/spectrum.rs):
- EfficientNet-Lite convolutions use TensorFlow "same" padding: out = ceil(H/s),
  pad_total = max((out-1)*s + k - H, 0), pad_before = pad_total // 2 (the extra pixel goes
  after); batch-norm eps from the config (1e-3), ReLU6, no squeeze-excite, no conv bias.
- Style block and Xception: 3x3 convolutions with 1 pixel of zero padding, batch-norm eps
  1e-5, ReLU; Xception's max pool is 3x3, stride 2, padding 1 (padding never wins the max).
- Gram matrix: G = F F^T / (c*h*w) with F the map flattened to [c, h*w].
- Linear weights are stored [in, out] in mclcr (Burn) and [out, in] in PyTorch: transposed
  on load and save. BatchNorm/LayerNorm weight and bias are `gamma` and `beta` in mclcr.
- LayerNorm eps 1e-5 (biased variance); GELU is the exact erf form; softmax over the keys.
- Multi-head attention as Burn's: per-head scores q k^T / sqrt(d/heads), softmax, weights v,
  heads concatenated, output projection. The attention map a modality *receives* is the mean
  of the weights over heads, then over queries.
- Mixer hidden sizes: max(1, round(n * ratio)) with round half away from zero (Rust).
- Projection: z / sqrt(sum(z^2) + 1e-12).
- Spectra: luma = (0.299 R + 0.587 G + 0.114 B) / 255 computed in float32 in that order; per
  16x16 patch (row-major grid) the 2-D DFT, one-sided half v = 0..p/2 kept, layout [u][v];
  amplitude ln(1 + |X|), phase atan2(Im X, Re X). Computed here in float64 with numpy.
  Where X is (nearly) real and negative, the phase is +-pi depending on the sign of a rounding
  error, so two correct implementations may disagree by 2 pi there; compare spectra as
  complex numbers, not phase by phase.
- RGB input: (x - 127) / 128 per channel, channel-major.

Usage as a library (from the repository root, with the packages of requirements.txt):
  import sys; sys.path.insert(0, "tools/reference")
  from mclcr_ref import load_mclcr, save_mclcr, prepare_face
  model, manifest = load_mclcr("path/to/model.json")
  rgb, amplitude, phase = prepare_face(numpy_uint8_hwc_image, model.config)
  out = model(torch.from_numpy(rgb[None]), torch.from_numpy(amplitude[None]),
              torch.from_numpy(phase[None]))

Usage as a script: run a saved model on images and print the logits and P(manipulated):
  python3 tools/reference/mclcr_ref.py path/to/model.json face1.png [face2.png ...]
(images must already be square faces of the model's image_size).
"""
import json
import math
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from tensorfile import load_safetensors, sha256_file, write_safetensors  # noqa: E402

MANIFEST_FORMAT = 1
PIXEL_MEAN, PIXEL_SCALE = 127.0, 128.0


def round_half_away(x):
    """Rust's f64::round for non-negative values."""
    return int(math.floor(x + 0.5))


# --------------------------------------------------------------------------------------------
# Building blocks
# --------------------------------------------------------------------------------------------


def tf_same_pad(x, kernel, stride):
    """TensorFlow "same" zero padding (Burn's PaddingConfig2d::Same) of an NCHW tensor."""
    h, w = (int(n) for n in x.shape[-2:])  # plain ints: constants when traced for ONNX
    pads = []
    for size in (w, h):  # F.pad takes the last axis first
        out = -(-size // stride)
        total = max((out - 1) * stride + kernel - size, 0)
        pads += [total // 2, total - total // 2]
    return F.pad(x, pads)


class ConvBn(nn.Module):
    """Convolution (no bias) -> batch norm -> activation ("none", "relu", "relu6")."""

    def __init__(self, c_in, c_out, kernel, stride=1, groups=1, padding="explicit1",
                 eps=1e-5, activation="relu"):
        super().__init__()
        self.kernel, self.stride, self.padding, self.activation = kernel, stride, padding, activation
        pad = 1 if padding == "explicit1" else 0
        self.conv = nn.Conv2d(c_in, c_out, kernel, stride, pad, groups=groups, bias=False)
        self.bn = nn.BatchNorm2d(c_out, eps=eps)

    def forward(self, x):
        if self.padding == "same":
            x = tf_same_pad(x, self.kernel, self.stride)
        x = self.bn(self.conv(x))
        if self.activation == "relu":
            return F.relu(x)
        if self.activation == "relu6":
            return F.relu6(x)
        return x


class MbConv(nn.Module):
    """EfficientNet-Lite inverted residual block without squeeze-excite."""

    def __init__(self, c_in, c_out, kernel, stride, expand, eps):
        super().__init__()
        hidden = c_in * expand
        conv = lambda i, o, k, s, g, act: ConvBn(i, o, k, s, g, "same", eps, act)  # noqa: E731
        self.expand = conv(c_in, hidden, 1, 1, 1, "relu6") if expand != 1 else None
        self.depthwise = conv(hidden, hidden, kernel, stride, hidden, "relu6")
        self.project = conv(hidden, c_out, 1, 1, 1, "none")
        self.residual = stride == 1 and c_in == c_out

    def forward(self, x):
        h = self.expand(x) if self.expand is not None else x
        h = self.project(self.depthwise(h))
        return h + x if self.residual else h


class EfficientNetLite(nn.Module):
    """src/model/efficientnet.rs: stem, flat block list, 1x1 head; three stage-end taps."""

    def __init__(self, cfg):
        super().__init__()
        eps = cfg.get("bn_epsilon", 1e-3)
        self.stem = ConvBn(3, cfg["stem_channels"], 3, 2, 1, "same", eps, "relu6")
        blocks, stage_ends, c = [], [], cfg["stem_channels"]
        for st in cfg["stages"]:
            for r in range(st["repeats"]):
                stride = st["stride"] if r == 0 else 1
                blocks.append(MbConv(c, st["channels"], st["kernel"], stride, st["expand"], eps))
                c = st["channels"]
            stage_ends.append(len(blocks) - 1)
        self.blocks = nn.ModuleList(blocks)
        self.head = ConvBn(c, cfg["head_channels"], 1, 1, 1, "same", eps, "relu6")
        self.classifier = nn.Linear(cfg["head_channels"], cfg["classes"]) if cfg.get("classes") else None
        self.tap_blocks = [stage_ends[s] for s in cfg.get("tap_stages", [0, 1, 2])]

    def forward(self, x):
        x = self.stem(x)
        taps = []
        for i, block in enumerate(self.blocks):
            x = block(x)
            if i in self.tap_blocks:
                taps.append(x)
        return taps, self.head(x)


class SeparableConvBn(nn.Module):
    """Depthwise 3x3 (padding 1, no bias) + pointwise 1x1 ConvBn without activation."""

    def __init__(self, c_in, c_out):
        super().__init__()
        self.depthwise = nn.Conv2d(c_in, c_in, 3, 1, 1, groups=c_in, bias=False)
        self.pointwise = ConvBn(c_in, c_out, 1, padding="explicit0", activation="none")

    def forward(self, x):
        return self.pointwise(self.depthwise(x))


class XceptionBlock(nn.Module):
    """Residual block of (ReLU ->) separable convs, optional max pool and 1x1 skip projection."""

    def __init__(self, channels, relu_first, downsample):
        super().__init__()
        self.convs = nn.ModuleList(SeparableConvBn(a, b) for a, b in zip(channels, channels[1:]))
        c_in, c_out = channels[0], channels[-1]
        project = downsample or c_in != c_out
        stride = 2 if downsample else 1
        self.skip = nn.Conv2d(c_in, c_out, 1, stride, bias=False) if project else None
        self.skip_bn = nn.BatchNorm2d(c_out, eps=1e-5) if project else None
        self.downsample, self.relu_first = downsample, relu_first

    def forward(self, x):
        h = x
        for i, conv in enumerate(self.convs):
            if i > 0 or self.relu_first:
                h = F.relu(h)
            h = conv(h)
        if self.downsample:
            h = F.max_pool2d(h, 3, 2, 1)
        skip = self.skip_bn(self.skip(x)) if self.skip is not None else x
        return h + skip


class Xception(nn.Module):
    """src/model/xception.rs."""

    def __init__(self, cfg):
        super().__init__()
        c1, c2, c3 = cfg.get("entry_channels", [128, 256, 728])
        e1, e2, e3 = cfg.get("exit_channels", [1024, 1536, 2048])
        self.conv1 = ConvBn(3, 32, 3, 2)
        self.conv2 = ConvBn(32, 64, 3, 1)
        self.entry = nn.ModuleList([XceptionBlock([64, c1, c1], False, True),
                                    XceptionBlock([c1, c2, c2], True, True),
                                    XceptionBlock([c2, c3, c3], True, True)])
        self.middle = nn.ModuleList(XceptionBlock([c3] * 4, True, False)
                                    for _ in range(cfg.get("middle_blocks", 8)))
        self.exit = XceptionBlock([c3, c3, e1], True, True)
        self.exit_conv1 = SeparableConvBn(e1, e2)
        self.exit_conv2 = SeparableConvBn(e2, e3)

    def forward(self, x):
        x = self.conv2(self.conv1(x))
        t1 = self.entry[0](x)
        t2 = self.entry[1](t1)
        t3 = self.entry[2](t2)
        x = t3
        for block in self.middle:
            x = block(x)
        x = F.relu(self.exit_conv1(self.exit(x)))
        return [t1, t2, t3], F.relu(self.exit_conv2(x))


class Backbone(nn.Module):
    """Burn enum module: the variant name is part of the key (`backbone.EfficientnetLite.…`)."""

    def __init__(self, cfg):
        super().__init__()
        self.kind = cfg["kind"]
        if self.kind == "efficientnet_lite":
            self.EfficientnetLite = EfficientNetLite(cfg)
        elif self.kind == "xception":
            self.Xception = Xception(cfg)
        else:
            raise ValueError(f"unknown backbone kind {self.kind!r}")

    def forward(self, x):
        return (self.EfficientnetLite if self.kind == "efficientnet_lite" else self.Xception)(x)

    def tap_channels(self, cfg):
        if self.kind == "efficientnet_lite":
            return [cfg["stages"][s]["channels"] for s in cfg.get("tap_stages", [0, 1, 2])]
        return list(cfg.get("entry_channels", [128, 256, 728]))

    @staticmethod
    def out_channels(cfg):
        if cfg["kind"] == "efficientnet_lite":
            return cfg["head_channels"]
        return cfg.get("exit_channels", [1024, 1536, 2048])[2]


def gram_matrix(x):
    """[b, c, h, w] -> [b, c, c], F F^T / (c h w)."""
    b, c, h, w = x.shape
    flat = x.reshape(b, c, h * w)
    return flat @ flat.transpose(1, 2) / (c * h * w)


class StyleTap(nn.Module):
    """One tap of the Shallow Style Representation Block (src/model/style.rs)."""

    def __init__(self, c_in, gram_channels, hidden, dim):
        super().__init__()
        self.reduce = ConvBn(c_in, gram_channels, 3, 1)
        self.embed1 = ConvBn(1, hidden, 3, 2)
        self.embed2 = ConvBn(hidden, dim, 3, 2)
        self.scale = nn.Parameter(torch.ones(1))

    def forward(self, tap):
        gram = gram_matrix(self.reduce(tap))
        b, g, _ = gram.shape
        x = self.embed2(self.embed1(gram.reshape(b, 1, g, g)))
        return x.mean(dim=(2, 3)) * self.scale, gram


class StyleBlock(nn.Module):
    """Three style taps."""

    def __init__(self, tap_channels, gram_channels, dim, hidden=16):
        super().__init__()
        self.taps = nn.ModuleList(StyleTap(c, gram_channels, hidden, dim) for c in tap_channels)

    def forward(self, taps):
        outs = [block(t) for block, t in zip(self.taps, taps)]
        return torch.cat([f for f, _ in outs], 1), [g for _, g in outs]


class MultiHeadAttention(nn.Module):
    """Burn's MultiHeadAttention (no masks, no dropout in eval); returns context and weights."""

    def __init__(self, d, heads):
        super().__init__()
        self.heads = heads
        self.query, self.key, self.value, self.output = (nn.Linear(d, d) for _ in range(4))

    def forward(self, q, k, v):
        b, n_q, d = q.shape
        split = lambda x, lin: lin(x).reshape(b, x.shape[1], self.heads, d // self.heads).transpose(1, 2)  # noqa: E731
        q, k, v = split(q, self.query), split(k, self.key), split(v, self.value)
        scores = q @ k.transpose(-1, -2) / math.sqrt(d // self.heads)
        weights = torch.softmax(scores, dim=-1)  # [b, heads, queries, keys]
        context = (weights @ v).transpose(1, 2).reshape(b, n_q, d)
        return self.output(context), weights


def received_attention(weights):
    """[b, heads, queries, keys] -> [b, keys]: mean over heads, then over queries."""
    return weights.mean(dim=1).mean(dim=1)


class CrossAttention(nn.Module):
    """PA-PDA, bidirectional cross-attention reading (src/model/dual_attention.rs)."""

    def __init__(self, d, heads):
        super().__init__()
        self.amplitude_norm = nn.LayerNorm(d, eps=1e-5)
        self.phase_norm = nn.LayerNorm(d, eps=1e-5)
        self.amplitude_queries = MultiHeadAttention(d, heads)
        self.phase_queries = MultiHeadAttention(d, heads)

    def forward(self, amplitude, phase):
        a, p = self.amplitude_norm(amplitude), self.phase_norm(phase)
        ctx_a, w_a = self.amplitude_queries(a, p, p)
        ctx_p, w_p = self.phase_queries(p, a, a)
        return amplitude + ctx_a, phase + ctx_p, received_attention(w_p), received_attention(w_a)


class Gate(nn.Module):
    """LayerNorm -> Linear -> GELU -> Linear -> sigmoid, one value per patch."""

    def __init__(self, d):
        super().__init__()
        hidden = max(d // 4, 1)
        self.norm = nn.LayerNorm(d, eps=1e-5)
        self.fc1 = nn.Linear(d, hidden)
        self.fc2 = nn.Linear(hidden, 1)

    def forward(self, x):
        return torch.sigmoid(self.fc2(F.gelu(self.fc1(self.norm(x)))))


class CrossGating(nn.Module):
    """PA-PDA, patch-wise cross-gating reading."""

    def __init__(self, d):
        super().__init__()
        self.amplitude_gate = Gate(d)
        self.phase_gate = Gate(d)

    def forward(self, amplitude, phase):
        alpha_a, alpha_p = self.amplitude_gate(amplitude), self.phase_gate(phase)
        norm = lambda g: g[..., 0] / g[..., 0].sum(dim=1, keepdim=True)  # noqa: E731
        return (amplitude + amplitude * alpha_p, phase + phase * alpha_a, norm(alpha_a), norm(alpha_p))


class DualAttention(nn.Module):
    """Burn enum module: `frequency.dual_attention.CrossAttention.…` / `.CrossGating.…`."""

    def __init__(self, kind, d, heads):
        super().__init__()
        self.kind = kind
        if kind == "cross_attention":
            self.CrossAttention = CrossAttention(d, heads)
        elif kind == "cross_gating":
            self.CrossGating = CrossGating(d)
        else:
            raise ValueError(f"unknown dual_attention {kind!r}")

    def forward(self, amplitude, phase):
        block = self.CrossAttention if self.kind == "cross_attention" else self.CrossGating
        return block(amplitude, phase)


class MixerLayer(nn.Module):
    """MLP-Mixer layer: token mixing then channel mixing, both pre-norm and residual."""

    def __init__(self, tokens, d, token_ratio, channel_ratio):
        super().__init__()
        th = max(round_half_away(tokens * token_ratio), 1)
        ch = max(round_half_away(d * channel_ratio), 1)
        self.token_norm = nn.LayerNorm(d, eps=1e-5)
        self.token_fc1 = nn.Linear(tokens, th)
        self.token_fc2 = nn.Linear(th, tokens)
        self.channel_norm = nn.LayerNorm(d, eps=1e-5)
        self.channel_fc1 = nn.Linear(d, ch)
        self.channel_fc2 = nn.Linear(ch, d)

    def forward(self, x):
        y = self.token_norm(x).transpose(1, 2)
        y = self.token_fc2(F.gelu(self.token_fc1(y))).transpose(1, 2)
        x = x + y
        return x + self.channel_fc2(F.gelu(self.channel_fc1(self.channel_norm(x))))


class FrequencyStream(nn.Module):
    """src/model/frequency.rs."""

    def __init__(self, cfg):
        super().__init__()
        p, d = cfg.get("patch_size", 16), cfg.get("d_model", 256)
        n = (cfg.get("image_size", 256) // p) ** 2
        bins = p * (p // 2 + 1)
        self.amplitude_embed = nn.Linear(bins, d)
        self.phase_embed = nn.Linear(bins, d)
        self.amplitude_position = nn.Parameter(torch.randn(n, d) * 0.02)
        self.phase_position = nn.Parameter(torch.randn(n, d) * 0.02)
        self.dual_attention = DualAttention(cfg.get("dual_attention", "cross_attention"), d,
                                            cfg.get("heads", 4))
        mixer = lambda: MixerLayer(n, d, cfg.get("token_mlp_ratio", 0.5), cfg.get("channel_mlp_ratio", 4.0))  # noqa: E731
        self.amplitude_mixers = nn.ModuleList(mixer() for _ in range(cfg.get("mixer_layers", 2)))
        self.phase_mixers = nn.ModuleList(mixer() for _ in range(cfg.get("mixer_layers", 2)))
        self.amplitude_norm = nn.LayerNorm(d, eps=1e-5)
        self.phase_norm = nn.LayerNorm(d, eps=1e-5)

    def forward(self, amplitude, phase):
        a = self.amplitude_embed(amplitude) + self.amplitude_position
        p = self.phase_embed(phase) + self.phase_position
        a, p, amplitude_map, phase_map = self.dual_attention(a, p)
        for layer in self.amplitude_mixers:
            a = layer(a)
        for layer in self.phase_mixers:
            p = layer(p)
        return (self.amplitude_norm(a).mean(dim=1), self.phase_norm(p).mean(dim=1),
                amplitude_map, phase_map)


class Mclcr(nn.Module):
    """The whole network (src/model/mclcr.rs). `forward` returns a dict of every output."""

    def __init__(self, config):
        super().__init__()
        self.config = config
        bcfg, fcfg = config["backbone"], config["frequency"]
        self.backbone = Backbone(bcfg)
        self.style = StyleBlock(self.backbone.tap_channels(bcfg), config.get("gram_channels", 32),
                                config.get("style_dim", 32))
        self.frequency = FrequencyStream(fcfg)
        feature_dim = (Backbone.out_channels(bcfg) + 3 * config.get("style_dim", 32)
                       + 2 * fcfg.get("d_model", 256))
        self.dropout = nn.Dropout(config.get("dropout", 0.5))
        self.classifier = nn.Linear(feature_dim, 2)
        self.projection1 = nn.Linear(feature_dim, config.get("projection_hidden", 256))
        self.projection2 = nn.Linear(config.get("projection_hidden", 256), config.get("projection_dim", 128))
        self.grid = fcfg.get("image_size", 256) // fcfg.get("patch_size", 16)

    def forward(self, rgb, amplitude, phase):
        taps, last = self.backbone(rgb)
        global_feature = last.mean(dim=(2, 3))
        style_feature, grams = self.style(taps)
        f_a, f_p, a_map, p_map = self.frequency(amplitude, phase)
        fused = torch.cat([global_feature, style_feature, f_a, f_p], 1)
        logits = self.classifier(self.dropout(fused))
        z = self.projection2(F.relu(self.projection1(fused)))
        projection = z / torch.sqrt((z * z).sum(dim=1, keepdim=True) + 1e-12)
        b = fused.shape[0]
        return {
            "logits": logits,
            "features": fused,
            "projection": projection,
            "amplitude_attention": a_map.reshape(b, self.grid, self.grid),
            "phase_attention": p_map.reshape(b, self.grid, self.grid),
            "gram0": grams[0],
            "gram1": grams[1],
            "gram2": grams[2],
        }


def build(config):
    """A freshly initialised reference network for an mclcr configuration (dict), in eval mode."""
    return Mclcr(config).eval()


# --------------------------------------------------------------------------------------------
# mclcr safetensors <-> PyTorch state
# --------------------------------------------------------------------------------------------


def mclcr_tensors(model):
    """The model's tensors under mclcr's key names and layouts (name -> float32 numpy)."""
    out = {}
    for prefix, module in model.named_modules():
        dot = prefix + "." if prefix else ""
        if isinstance(module, nn.Linear):
            out[dot + "weight"] = module.weight.detach().T
            if module.bias is not None:
                out[dot + "bias"] = module.bias.detach()
        elif isinstance(module, nn.BatchNorm2d):
            out[dot + "gamma"] = module.weight.detach()
            out[dot + "beta"] = module.bias.detach()
            out[dot + "running_mean"] = module.running_mean.detach()
            out[dot + "running_var"] = module.running_var.detach()
        elif isinstance(module, nn.LayerNorm):
            out[dot + "gamma"] = module.weight.detach()
            out[dot + "beta"] = module.bias.detach()
        elif isinstance(module, nn.Conv2d):
            out[dot + "weight"] = module.weight.detach()
            if module.bias is not None:
                out[dot + "bias"] = module.bias.detach()
        for name, param in module.named_parameters(recurse=False):
            if isinstance(module, (nn.Linear, nn.BatchNorm2d, nn.LayerNorm, nn.Conv2d)):
                continue
            out[dot + name] = param.detach()  # free parameters: positions, style scales
    return {k: np.ascontiguousarray(v.cpu().to(torch.float32).numpy()) for k, v in out.items()}


def set_mclcr_tensors(model, tensors):
    """Copies mclcr-named tensors into the model; every key must match, shapes included."""
    expected = mclcr_tensors(model)
    missing = sorted(set(expected) - set(tensors))
    unused = sorted(set(tensors) - set(expected))
    if missing or unused:
        raise ValueError(f"key mismatch: missing {missing[:5]}, unused {unused[:5]}")
    for name, value in tensors.items():
        if tuple(np.shape(value)) != expected[name].shape:
            raise ValueError(f"{name}: shape {np.shape(value)} != {expected[name].shape}")
    with torch.no_grad():
        for prefix, module in model.named_modules():
            dot = prefix + "." if prefix else ""
            get = lambda key: torch.as_tensor(np.asarray(tensors[dot + key]))  # noqa: E731
            if isinstance(module, nn.Linear):
                module.weight.copy_(get("weight").T)
                if module.bias is not None:
                    module.bias.copy_(get("bias"))
            elif isinstance(module, nn.BatchNorm2d):
                module.weight.copy_(get("gamma"))
                module.bias.copy_(get("beta"))
                module.running_mean.copy_(get("running_mean"))
                module.running_var.copy_(get("running_var"))
            elif isinstance(module, nn.LayerNorm):
                module.weight.copy_(get("gamma"))
                module.bias.copy_(get("beta"))
            elif isinstance(module, nn.Conv2d):
                module.weight.copy_(get("weight"))
            else:
                for name, param in module.named_parameters(recurse=False):
                    param.copy_(get(name))


def save_mclcr(model, manifest_path, name="reference", trained=False, provenance=None):
    """Writes `model` as an mclcr model: <manifest_path> (JSON) + the .safetensors beside it.

    The manifest has mclcr's format 1 fields; the weights' SHA-256 is filled in. Returns the
    manifest (dict)."""
    manifest_path = os.fspath(manifest_path)
    weights_path = os.path.splitext(manifest_path)[0] + ".safetensors"
    write_safetensors(weights_path, mclcr_tensors(model), {"producer": "mclcr reference (PyTorch)"})
    manifest = {
        "format": MANIFEST_FORMAT,
        "name": name,
        "config": model.config,
        "weights": os.path.basename(weights_path),
        "weights_sha256": sha256_file(weights_path),
        "trained": bool(trained),
        "bands": {"manipulated": 0.7, "clear": 0.3},
        "provenance": provenance or {"backbone": "", "training": "", "licence": ""},
        "created_by": f"mclcr reference (PyTorch {torch.__version__.split('+')[0]})",
    }
    tmp = manifest_path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(manifest, f, indent=2)
        f.write("\n")
    os.replace(tmp, manifest_path)
    return manifest


def load_mclcr(manifest_path):
    """Reads an mclcr model (manifest + weights, SHA-256 checked) into a reference network."""
    with open(manifest_path) as f:
        manifest = json.load(f)
    if manifest.get("format") != MANIFEST_FORMAT:
        raise ValueError(f"{manifest_path}: manifest format {manifest.get('format')} is not {MANIFEST_FORMAT}")
    weights = os.path.join(os.path.dirname(os.path.abspath(manifest_path)), manifest["weights"])
    if sha256_file(weights) != manifest["weights_sha256"]:
        raise ValueError(f"{weights}: SHA-256 differs from the manifest's")
    model = build(manifest["config"])
    set_mclcr_tensors(model, {k: v.astype(np.float32) for k, v in load_safetensors(weights).items()})
    return model, manifest


# --------------------------------------------------------------------------------------------
# Preprocessing (src/preprocess.rs, src/spectrum.rs)
# --------------------------------------------------------------------------------------------


def luma(image):
    """[h, w, 3] uint8 -> [h, w] float32, (0.299 R + 0.587 G + 0.114 B) / 255 in float32."""
    c = image.astype(np.float32)
    return ((np.float32(0.299) * c[..., 0] + np.float32(0.587) * c[..., 1])
            + np.float32(0.114) * c[..., 2]) / np.float32(255.0)


def patch_spectra_complex(gray, patch):
    """[side, side] -> complex128 [patches, p, p/2+1]: one-sided 2-D DFT per patch (float64)."""
    side = gray.shape[0]
    grid = side // patch
    patches = gray.astype(np.float64).reshape(grid, patch, grid, patch).transpose(0, 2, 1, 3)
    spectrum = np.fft.fft2(patches.reshape(grid * grid, patch, patch))  # X[u, v], u rows
    return spectrum[:, :, : patch // 2 + 1]


def patch_spectra(gray, patch):
    """[side, side] -> (log-amplitude, phase), each float32 [patches, p*(p/2+1)]."""
    x = patch_spectra_complex(gray, patch)
    n = x.shape[0]
    amplitude = np.log1p(np.abs(x)).reshape(n, -1)
    phase = np.arctan2(x.imag, x.real).reshape(n, -1)
    return amplitude.astype(np.float32), phase.astype(np.float32)


def normalised_rgb(image):
    """[h, w, 3] uint8 -> [3, h, w] float32, (x - 127) / 128."""
    return ((image.astype(np.float32) - np.float32(PIXEL_MEAN)) / np.float32(PIXEL_SCALE)).transpose(2, 0, 1).copy()


def prepare_face(image, config):
    """A square uint8 face of the model's image_size -> (rgb, amplitude, phase) float32 arrays."""
    side = config["image_size"]
    if image.shape[:2] != (side, side):
        raise ValueError(f"face is {image.shape[1]}x{image.shape[0]}, the model takes {side}x{side}")
    amplitude, phase = patch_spectra(luma(image), config["frequency"].get("patch_size", 16))
    return normalised_rgb(image), amplitude, phase


def main(argv):
    """Command line: run a saved model on square faces."""
    if len(argv) < 3:
        print(__doc__)
        return 2
    from PIL import Image

    model, manifest = load_mclcr(argv[1])
    model = model.double()
    for path in argv[2:]:
        image = np.asarray(Image.open(path).convert("RGB"))
        rgb, amplitude, phase = (torch.from_numpy(a[None]).double() for a in prepare_face(image, manifest["config"]))
        with torch.no_grad():
            logits = model(rgb, amplitude, phase)["logits"][0]
        p = torch.softmax(logits, 0)[1].item()
        print(f"{path}: logits {logits.tolist()}, P(manipulated) {p:.6f}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))

