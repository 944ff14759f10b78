"""Shared plumbing for the demo model's training stages: work folders, resumable checkpoints, progress,
parameter initialisation from the reference's tables, and fp16 diffusers folders.

Checkpoints live outside the repository (EZIVK_TRAIN_DIR, default ~/.cache/ezivk/train/<stage>) and are
written atomically, so a stage killed at any moment resumes from its last checkpoint with the same data
order: every sample is a pure function of (seed, index), and the optimiser state is saved with the weights.
"""

import json
import math
import os
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
sys.path.insert(0, str(ROOT / "tools" / "fixtures"))
import sd_reference as ref  # noqa: E402

# The reference writes its norms out for exactness; training takes torch's fused ones (same formulas).
ref.group_norm = lambda x, w, b, groups, eps: F.group_norm(x, groups, w, b, eps)
ref.layer_norm = lambda x, w, b, eps: F.layer_norm(x, (x.shape[-1],), w, b, eps)
ref.silu = F.silu

DEMO = Path(os.environ.get("EZIVK_DEMO_DIR", ROOT / "models" / "demo"))


def work_dir(stage):
    base = Path(os.environ.get("EZIVK_TRAIN_DIR", Path.home() / ".cache" / "ezivk" / "train"))
    d = base / stage
    d.mkdir(parents=True, exist_ok=True)
    return d


def world_work_dir(stage, world_name):
    """The stage's work folder for a world: <stage> for the full world (where those runs always lived), else
    <stage>-<world>, so runs on different worlds never resume each other's checkpoints."""
    return work_dir(stage if world_name == "full" else f"{stage}-{world_name}")


def threads():
    n = int(os.environ.get("EZIVK_TRAIN_THREADS", os.cpu_count() or 1))
    torch.set_num_threads(n)
    return n


def init_params(rows, seed, emb_std=0.02):
    """Trainable float32 parameters for a reference table: fan-in scaled weights, zero biases, unit norms."""
    g = torch.Generator().manual_seed(seed)
    out = {}
    for name, shape, kind in rows:
        if kind in ("linear", "conv"):
            t = torch.randn(shape, generator=g) / math.sqrt(math.prod(shape[1:]))
        elif kind in ("bias", "norm_b"):
            t = torch.zeros(shape)
        elif kind == "norm_w":
            t = torch.ones(shape)
        elif kind == "emb":
            t = torch.randn(shape, generator=g) * emb_std
        elif kind == "position_ids":
            out[name] = torch.arange(shape[1], dtype=torch.int64).reshape(shape)
            continue
        else:
            raise ValueError(kind)
        out[name] = t.requires_grad_(True)
    return out


def trainable(params):
    return [p for p in params.values() if p.is_floating_point() and p.requires_grad]


def save_checkpoint(path, state):
    tmp = Path(str(path) + ".tmp")
    torch.save(state, tmp)
    os.replace(tmp, path)


def load_checkpoint(path):
    if not Path(path).exists():
        return None
    return torch.load(path, map_location="cpu")


def resume(wd, stage, params, opt, ck=None):
    """Loads <wd>/checkpoint.pt (or `ck`, when the caller has read it already) into params and opt if it exists;
    returns the step to continue from."""
    ck = ck or load_checkpoint(wd / "checkpoint.pt")
    if not ck:
        return 0
    for k, v in ck["params"].items():
        params[k].data.copy_(v)
    opt.load_state_dict(ck["opt"])
    print(f"[{stage}] resumed at step {ck['step']} from {wd / 'checkpoint.pt'}")
    return ck["step"]


def train_step(loss, params, opt, clip=1.0):
    """Backward, gradient-norm clipping, one optimiser step."""
    opt.zero_grad(set_to_none=True)
    loss.backward()
    torch.nn.utils.clip_grad_norm_(trainable(params), clip)
    opt.step()


def maybe_checkpoint(wd, step, args, params, opt, prog):
    """After step `step` (0-based): every args.every steps and at the end, save atomically and report."""
    if (step + 1) % args.every == 0 or step + 1 == args.steps:
        save_checkpoint(wd / "checkpoint.pt", {
            "params": {k: v.detach() for k, v in params.items()}, "opt": opt.state_dict(),
            "step": step + 1, "args": vars(args)})
        prog.report(step + 1)


def cosine_lr(step, total, peak, warmup, floor=0.1):
    if step < warmup:
        return peak * (step + 1) / warmup
    p = min(1.0, (step - warmup) / max(1, total - warmup))
    return peak * (floor + (1 - floor) * 0.5 * (1 + math.cos(math.pi * p)))


class Progress:
    """One line per report: step/total, loss (running mean), it/s, elapsed, ETA; also appended to log.txt."""

    def __init__(self, stage, total, start, log_path):
        self.stage, self.total, self.start = stage, total, start
        self.t0 = time.time()
        self.sum, self.n = 0.0, 0
        self.log = open(log_path, "a", encoding="utf-8")

    def add(self, loss):
        self.sum += loss
        self.n += 1

    def report(self, step, extra=""):
        el = time.time() - self.t0
        done = step - self.start
        rate = done / el if el > 0 else 0.0
        eta = (self.total - step) / rate if rate > 0 else float("inf")
        mean = self.sum / max(1, self.n)
        line = (f"[{self.stage}] step {step}/{self.total} loss {mean:.5f} {rate:.2f} it/s "
                f"elapsed {el / 60:.1f} min eta {eta / 60:.1f} min {extra}")
        print(line, flush=True)
        self.log.write(f"{time.strftime('%Y-%m-%d %H:%M:%S')} {line}\n")
        self.log.flush()
        self.sum, self.n = 0.0, 0


def write_json(path, obj):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(obj, indent=2, sort_keys=True) + "\n", encoding="utf-8")


def write_fp16(path, params, skip=()):
    tensors = {}
    for k, v in params.items():
        if k in skip:
            continue
        v = v.detach()
        tensors[k] = v.to(torch.float16) if v.is_floating_point() else v
    path.parent.mkdir(parents=True, exist_ok=True)
    ref.write_safetensors(path, tensors)


def read_float(path):
    tensors, _ = ref.read_safetensors(path)
    return {k: (v.float() if v.is_floating_point() else v) for k, v in tensors.items()}


def images_to_tensor(batch_u8):
    """list of uint8 [64, 64, 3] -> float [B, 3, 64, 64] in [-1, 1]."""
    import numpy as np
    a = torch.from_numpy(np.stack(batch_u8)).permute(0, 3, 1, 2).float()
    return a / 127.5 - 1.0


def read_json(path):
    return json.loads(Path(path).read_text(encoding="utf-8"))
