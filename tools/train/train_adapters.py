"""Stage 3: EZIGen adapters on the frozen demo UNet, following the paper's recipe.

For each pair (subject alone on white, a scene holding the same subject elsewhere; world.adapter_pair): the subject
is VAE-encoded, noised to t = 1 and run once through the frozen plain UNet with its caption ("a photo of a car."),
keeping every transformer block's norm1 output (the subject bank). The target scene is noised to a random t and
denoised by the same frozen UNet with an adapter in every block attending to [own tokens || subject tokens];
only the adapters (to_q/k/v/out, initialised from that block's attn1), the adapter norms (from norm1) and the
per-block learnable_weights (from 1) train, on the epsilon loss. The result is written in the released
checkpoint's key layout (what `ezivk adapter extract` produces), fp16: models/demo/adapters.safetensors.

Two initialisations (--init):
- `paper`: the paper's, as above. The adapter then adds a second attn1-like term and, through the reference
  implementation's residual ("+ a"), its normalised input once more. On this one-layer-per-block UNet that raises the
  denoising loss above the plain UNet's, and 1,200 steps did not undo it.
- `neutral` (default): the same correspondences from the first step, with no change to the picture. Training holds
  clean parameters (adapter LayerNorm, to_q/k/v, a subject weight, to_out) where to_q/k/v and the LayerNorm start as
  attn1's and norm1's (so own and subject tokens are matched as attn1 matches them) and to_out starts at zero (so the
  adapter's output starts at zero and grows only as it helps). They map exactly onto the released layout with a
  scale EPS: adapter_norm = EPS * LayerNorm, learnable_weights = EPS * weight, to_q/k/v = W / EPS, to_out as is.
  Queries, keys and values are then unchanged and the residual "+ a" is EPS times the normalised input; training
  runs through that exact mapping (the engine's formula, "+ a" included), so what is exported is what was trained.
"""

import argparse

import torch

import common
import world
from common import ref

import make_ezigen_fixtures as ez  # noqa: E402  (tools/fixtures is on sys.path via common)

DATA_SEED = 3
EPS = 0.01


class Demo:
    """The frozen demo folder in the shape the fixture script's helpers expect."""

    def __init__(self):
        d = common.DEMO
        self.unet_cfg = common.read_json(d / "unet" / "config.json")
        self.vae_cfg = common.read_json(d / "vae" / "config.json")
        self.text_cfg = common.read_json(d / "text_encoder" / "config.json")
        self.unet_w = ref.Weights(common.read_float(d / "unet" / "diffusion_pytorch_model.safetensors"))
        self.vae_w = ref.Weights(common.read_float(d / "vae" / "diffusion_pytorch_model.safetensors"))
        self.text_w = ref.Weights(common.read_float(d / "text_encoder" / "model.safetensors"))
        self.scale = self.vae_cfg["scaling_factor"]
        import train_unet
        self.vocab = train_unet.vocabulary()
        self.token_ids = train_unet.token_ids
        self.ac = train_unet.alphas_cumprod()


def init_adapters(m, names, init="neutral"):
    """Adapters from each block's attn1, adapter norms from norm1, learnable weights 1; with `neutral` to_out 0."""
    p = {}
    for b in names:
        for n in ("to_q", "to_k", "to_v"):
            p[f"{b}.adapter.{n}.weight"] = m.unet_w[f"{b}.attn1.{n}.weight"].clone()
        p[f"{b}.adapter.to_out.0.weight"] = m.unet_w[f"{b}.attn1.to_out.0.weight"].clone()
        p[f"{b}.adapter.to_out.0.bias"] = m.unet_w[f"{b}.attn1.to_out.0.bias"].clone()
        p[f"{b}.adapter_norm.weight"] = m.unet_w[f"{b}.norm1.weight"].clone()
        p[f"{b}.adapter_norm.bias"] = m.unet_w[f"{b}.norm1.bias"].clone()
    p["learnable_weights"] = torch.ones(len(names))
    if init == "neutral":
        for b in names:
            p[f"{b}.adapter.to_out.0.weight"].zero_()
            p[f"{b}.adapter.to_out.0.bias"].zero_()
    return {k: v.requires_grad_(True) for k, v in p.items()}


def released(params, init):
    """The released checkpoint's parameters (what the engine and the hooks compute with) from the trained ones."""
    if init == "paper":
        return params
    out = {}
    for k, v in params.items():
        if ".adapter_norm." in k or k == "learnable_weights":
            out[k] = v * EPS
        elif k.endswith(("to_q.weight", "to_k.weight", "to_v.weight")):
            out[k] = v / EPS
        else:
            out[k] = v
    return out


def encode(m, images, g):
    mean, logvar = ref.vae_encode(m.vae_w, m.vae_cfg, common.images_to_tensor(images))
    return (mean + torch.exp(0.5 * logvar) * torch.randn(mean.shape, generator=g)) * m.scale


def prepare(m, hooks, pairs, g):
    """Sets hooks.bank to the pairs' subjects (one per item) and returns the targets' latents and text context."""
    n = len(pairs)
    with torch.no_grad():
        subj = encode(m, [p[0] for p in pairs], g)
        # t = 1: almost clean, as in the paper (its ablation: higher subject noise loses identity).
        a1 = m.ac[1]
        noisy = a1.sqrt() * subj + (1 - a1).sqrt() * torch.randn(subj.shape, generator=g)
        sctx = ref.clip_text_forward(m.text_w, m.text_cfg, m.token_ids(m.vocab, [p[1] for p in pairs]))
        hooks.capture, hooks.mode = {}, None
        ref.unet_forward(m.unet_w, m.unet_cfg, noisy, torch.full((n,), 1.0), sctx, hooks=hooks)
        hooks.bank, hooks.capture = hooks.capture, None
        x0 = encode(m, [p[2].image for p in pairs], g)
        tctx = ref.clip_text_forward(m.text_w, m.text_cfg, m.token_ids(m.vocab, [p[2].caption for p in pairs]))
    return x0, tctx


def eps_error(m, hooks, x0, tctx, t, eps, mode):
    """Per-item mean squared epsilon error of the UNet at timesteps t, plain (mode None) or with the adapters."""
    a = m.ac[t].reshape(-1, 1, 1, 1)
    hooks.mode = mode
    pred = ref.unet_forward(m.unet_w, m.unet_cfg, a.sqrt() * x0 + (1 - a).sqrt() * eps, t.float(), tctx, hooks=hooks)
    hooks.mode = None
    return ((pred - eps) ** 2).mean(dim=(1, 2, 3))


def step_loss(m, hooks, first, n, g, t_max=1000):
    x0, tctx = prepare(m, hooks, [world.adapter_pair(DATA_SEED, first + i) for i in range(n)], g)
    t = torch.randint(0, t_max, (n,), generator=g)
    eps = torch.randn(x0.shape, generator=g)
    return eps_error(m, hooks, x0, tctx, t, eps, "adapter").mean()


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--steps", type=int, default=3000)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--lr", type=float, default=1e-4)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--every", type=int, default=25)
    ap.add_argument("--export-only", action="store_true")
    ap.add_argument("--world", default="simple", help="world.py's world the pairs are drawn from (the UNet's)")
    ap.add_argument("--init", choices=("neutral", "paper"), default="neutral",
                    help="initialisation (the module docstring says how they differ)")
    ap.add_argument("--t-max", type=int, default=1000,
                    help="target timesteps are drawn from [0, t-max): the steps where the adapter runs are t < split * 1000")
    args = ap.parse_args()
    n = common.threads()
    world.select(args.world)
    # One work folder per initialisation: a checkpoint holds parameters in its own initialisation's terms.
    wd = common.world_work_dir("adapters" if args.init == "neutral" else "adapters-paper", args.world)
    m = Demo()
    names = ez.block_names(m)
    # The fixture's hooks take a bank of one item ([1, N, C], expanded) or, as here, one per batch item ([B, N, C]).
    hooks = ez.Hooks(names)
    params = init_adapters(m, names, args.init)
    opt = torch.optim.AdamW(common.trainable(params), lr=args.lr, weight_decay=0.0)
    ck = common.load_checkpoint(wd / "checkpoint.pt")
    if ck and ck["args"].get("init", "paper") != args.init:  # checkpoints from before --init were the paper's
        raise SystemExit(f"{wd / 'checkpoint.pt'} holds a --init {ck['args'].get('init', 'paper')} run, not --init "
                         f"{args.init}; move it away or pass that --init")
    start = common.resume(wd, "adapters", params, opt, ck)
    print(f"[adapters] {len(names)} blocks, {sum(p.numel() for p in params.values()):,} parameters, {n} threads, "
          f"batch {args.batch}, {args.steps} steps; checkpoints in {wd}")
    prog = common.Progress("adapters", args.steps, start, wd / "log.txt")
    g = torch.Generator()
    for step in range(start, 0 if args.export_only else args.steps):
        g.manual_seed(args.seed * 100_003 + step)
        for grp in opt.param_groups:
            grp["lr"] = common.cosine_lr(step, args.steps, args.lr, 100)
        hooks.ck = released(params, args.init)
        loss = step_loss(m, hooks, step * args.batch, args.batch, g, args.t_max)
        common.train_step(loss, params, opt)
        prog.add(loss.item())
        common.maybe_checkpoint(wd, step, args, params, opt, prog)
    common.write_fp16(common.DEMO / "adapters.safetensors", released(params, args.init))
    print(f"[adapters] exported {common.DEMO / 'adapters.safetensors'}")


if __name__ == "__main__":
    main()
