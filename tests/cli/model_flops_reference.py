"""Counts the FLOPs the independent PyTorch reference (tools/fixtures/sd_reference.py) really executes, as a
fixture for tests/cli/model_flops_test.cpp.

Every torch.matmul and F.conv2d the reference forwards call is intercepted and charged 2 * MACs from the
actual operand and result shapes; matmuls made inside sd_reference.attention are attention (QK^T and PV),
the other matmuls linear layers, the conv2d calls convolutions. Weights are zeros (the values do not change
the count); full-size SD2.1-base configs run at small latents so the script finishes in seconds.

Run: /usr/bin/python3 tests/cli/model_flops_reference.py  (rewrites tests/cli/model_flops_reference.json)
"""

import json
import sys
from pathlib import Path

import torch
import torch.nn.functional as F

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tools" / "fixtures"))
import make_tiny_models as tiny  # noqa: E402  (full-size configs)
import sd_reference as ref  # noqa: E402

COUNT = {"conv": 0, "linear": 0, "attention": 0}
_in_attention = [False]
_matmul, _conv2d, _attention = torch.matmul, F.conv2d, ref.attention


def counted_matmul(a, b):
    out = _matmul(a, b)
    COUNT["attention" if _in_attention[0] else "linear"] += 2 * out.numel() * a.shape[-1]
    return out


def counted_conv2d(x, w, bias=None, stride=1, padding=0, dilation=1, groups=1):
    out = _conv2d(x, w, bias, stride=stride, padding=padding, dilation=dilation, groups=groups)
    COUNT["conv"] += 2 * out.numel() * w.shape[1] * w.shape[2] * w.shape[3]
    return out


def counted_attention(*args, **kwargs):
    _in_attention[0] = True
    try:
        return _attention(*args, **kwargs)
    finally:
        _in_attention[0] = False


torch.matmul = counted_matmul
F.conv2d = counted_conv2d
ref.attention = counted_attention


def zero_weights(rows):
    # One zero per tensor, expanded: no memory for a full-size model.
    return ref.Weights({name: torch.zeros(1).expand(*shape) if kind != "position_ids"
                        else torch.arange(shape[-1]).expand(*shape)
                        for name, shape, kind in rows})


def measure(fn):
    for k in COUNT:
        COUNT[k] = 0
    with torch.no_grad():
        fn()
    return dict(COUNT)


def load_config(model, component):
    return json.loads((ROOT / "tests" / "fixtures" / "models" / model / component / "config.json").read_text())


def cases_for(name, cfgs, unet_shapes, vae_latents, vae_images, text_batches, vae_naming="new"):
    out = []
    u = cfgs["unet"]
    uw = zero_weights(ref.unet_param_table(u))
    for b, h, w in unet_shapes:
        sample = torch.zeros(b, u["in_channels"], h, w)
        t = torch.full((b,), 500.0)
        ctx = torch.zeros(b, 77, u["cross_attention_dim"])
        c = measure(lambda: ref.unet_forward(uw, u, sample, t, ctx))
        out.append({"model": name, "component": "unet", "shape": [b, h, w], "context_tokens": 77, **c})
    v = cfgs["vae"]
    vw = zero_weights(ref.vae_param_table(v, vae_naming))
    for b, h, w in vae_latents:
        z = torch.zeros(b, v["latent_channels"], h, w)
        c = measure(lambda: ref.vae_decode(vw, v, z))
        out.append({"model": name, "component": "vae_decode", "shape": [b, h, w], **c})
    for b, h, w in vae_images:
        img = torch.zeros(b, v["in_channels"], h, w)
        c = measure(lambda: ref.vae_encode(vw, v, img))
        out.append({"model": name, "component": "vae_encode", "shape": [b, h, w], **c})
    tc = cfgs["text_encoder"]
    tw = zero_weights(ref.clip_param_table(tc))
    for b in text_batches:
        ids = torch.zeros(b, 77, dtype=torch.int64)
        c = measure(lambda: ref.clip_text_forward(tw, tc, ids))
        out.append({"model": name, "component": "text", "shape": [b, 77], **c})
    return out


def main():
    cases = []
    for model, naming in (("sd2-tiny", "new"), ("sd1-tiny", "old")):
        cfgs = {c: load_config(model, c) for c in ("unet", "vae", "text_encoder")}
        cases += cases_for(model, cfgs, [(2, 8, 8), (1, 16, 12)], [(1, 8, 6), (2, 4, 4)], [(1, 32, 24)], [1, 2],
                           naming)
    full = tiny.full_sd21_base_configs()
    cases += cases_for("sd21-base", full, [(1, 16, 16), (2, 8, 16)], [(1, 8, 8)], [(1, 64, 48)], [2])
    path = Path(__file__).with_suffix(".json")
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps({"source": "tests/cli/model_flops_reference.py", "cases": cases}, indent=1) + "\n")
    tmp.replace(path)
    for c in cases:
        total = c["conv"] + c["linear"] + c["attention"]
        print(f"{c['model']:10s} {c['component']:11s} {str(c['shape']):14s} {total / 1e9:12.6f} GFLOP")


if __name__ == "__main__":
    main()
