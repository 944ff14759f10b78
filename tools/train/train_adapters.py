"""Stage 3: EZIGen adapters on the frozen demo UNet, following the paper's recipe.

For each pair (subject alone on white, a scene holding the same subject elsewhere; world.adapter_pair): the subject
is VAE-encoded, noised to t = 1 and run once through the frozen plain UNet with its caption ("a photo of a car."),
keeping every transformer block's norm1 output (the subject bank). The target scene is noised to a random t and
denoised by the same frozen UNet with an adapter in every block attending to [own tokens || subject tokens];
only the adapters (to_q/k/v/out, initialised from that block's attn1), the adapter norms (from norm1) and the
per-block learnable_weights (from 1) train, on the epsilon loss. The result is written in the released
checkpoint's key layout (what `ezivk adapter extract` produces), fp16: models/demo/adapters.safetensors.
"""

import argparse

import torch

import common
import world
from common import ref

import make_ezigen_fixtures as ez  # noqa: E402  (tools/fixtures is on sys.path via common)

DATA_SEED = 3


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


def init_adapters(m, names):
    """Adapters from each block's attn1, adapter norms from norm1, learnable weights 1 (the paper's init)."""
    p = {}
    for b in names:
        for n in ("to_q", "to_k", "to_v"):
            p[f"{b}.adapter.{n}.weight"] = m.unet_w[f"{b}.attn1.{n}.weight"].clone()
        p[f"{b}.adapter.to_out.0.weight"] = m.unet_w[f"{b}.attn1.to_out.0.weight"].clone()
        p[f"{b}.adapter.to_out.0.bias"] = m.unet_w[f"{b}.attn1.to_out.0.bias"].clone()
        p[f"{b}.adapter_norm.weight"] = m.unet_w[f"{b}.norm1.weight"].clone()
        p[f"{b}.adapter_norm.bias"] = m.unet_w[f"{b}.norm1.bias"].clone()
    p["learnable_weights"] = torch.ones(len(names))
    return {k: v.requires_grad_(True) for k, v in p.items()}


def encode(m, images, g):
    mean, logvar = ref.vae_encode(m.vae_w, m.vae_cfg, common.images_to_tensor(images))
    return (mean + torch.exp(0.5 * logvar) * torch.randn(mean.shape, generator=g)) * m.scale


def step_loss(m, hooks, params, first, n, g):
    pairs = [world.adapter_pair(DATA_SEED, first + i) for i in range(n)]
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
    t = torch.randint(0, 1000, (n,), generator=g)
    eps = torch.randn(x0.shape, generator=g)
    a = m.ac[t].reshape(-1, 1, 1, 1)
    hooks.mode, hooks.ck = "adapter", params
    pred = ref.unet_forward(m.unet_w, m.unet_cfg, a.sqrt() * x0 + (1 - a).sqrt() * eps, t.float(), tctx, hooks=hooks)
    hooks.mode = None
    return ((pred - eps) ** 2).mean()


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--steps", type=int, default=3000)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--lr", type=float, default=1e-4)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--every", type=int, default=25)
    ap.add_argument("--export-only", action="store_true")
    ap.add_argument("--world", default="simple", help="world.py's world the pairs are drawn from (the UNet's)")
    args = ap.parse_args()
    n = common.threads()
    world.select(args.world)
    wd = common.world_work_dir("adapters", args.world)
    m = Demo()
    names = ez.block_names(m)
    # The fixture's hooks take a bank of one item ([1, N, C], expanded) or, as here, one per batch item ([B, N, C]).
    hooks = ez.Hooks(names)
    params = init_adapters(m, names)
    opt = torch.optim.AdamW(common.trainable(params), lr=args.lr, weight_decay=0.0)
    start = common.resume(wd, "adapters", params, opt)
    print(f"[adapters] {len(names)} blocks, {sum(p.numel() for p in params.values()):,} parameters, {n} threads, "
          f"batch {args.batch}, {args.steps} steps; checkpoints in {wd}")
    prog = common.Progress("adapters", args.steps, start, wd / "log.txt")
    g = torch.Generator()
    for step in range(start, 0 if args.export_only else args.steps):
        g.manual_seed(args.seed * 100_003 + step)
        for grp in opt.param_groups:
            grp["lr"] = common.cosine_lr(step, args.steps, args.lr, 100)
        loss = step_loss(m, hooks, params, step * args.batch, args.batch, g)
        common.train_step(loss, params, opt)
        prog.add(loss.item())
        common.maybe_checkpoint(wd, step, args, params, opt, prog)
    common.write_fp16(common.DEMO / "adapters.safetensors", params)
    print(f"[adapters] exported {common.DEMO / 'adapters.safetensors'}")


if __name__ == "__main__":
    main()
