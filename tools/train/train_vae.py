"""Stage 1: the demo VAE (AutoencoderKL, 64x64 RGB <-> 4x16x16 latents, 4x downsampling).

Loss: L1 + L2 on pixels of a posterior sample's decode, plus a small KL term that keeps the latent
distribution near a unit Gaussian so the UNet stage gets well-scaled latents. At the end the scaling factor
is measured (1 / std of posterior means over held-out images), the way SD's 0.18215 was chosen.
"""

import argparse

import torch

import common
import world
from common import ref

CONFIG = {
    "_class_name": "AutoencoderKL",
    "_diffusers_version": "0.10.0.dev0",
    "act_fn": "silu",
    "block_out_channels": [32, 64, 64],
    "down_block_types": ["DownEncoderBlock2D"] * 3,
    "in_channels": 3,
    "latent_channels": 4,
    "layers_per_block": 1,
    "norm_num_groups": 16,
    "out_channels": 3,
    "sample_size": world.SIZE,
    "up_block_types": ["UpDecoderBlock2D"] * 3,
}
DATA_SEED = 1
HELD_OUT = 10_000_000  # sample indices from here on are never trained on


def vae_table():
    return ref.vae_param_table(CONFIG)


def batch(seed, first, n):
    return common.images_to_tensor([world.vae_image(seed, first + i) for i in range(n)])


def step_loss(W, x, gen, kl_weight):
    mean, logvar = ref.vae_encode(W, CONFIG, x)
    std = torch.exp(0.5 * logvar)
    z = mean + std * torch.randn(mean.shape, generator=gen)
    y = ref.vae_decode(W, CONFIG, z)
    rec = (y - x).abs().mean() + ((y - x) ** 2).mean()
    kl = 0.5 * (mean ** 2 + logvar.exp() - 1 - logvar).mean()
    return rec + kl_weight * kl, rec


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--steps", type=int, default=6000)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--lr", type=float, default=6e-4)
    ap.add_argument("--kl", type=float, default=1e-4)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--every", type=int, default=50, help="report and checkpoint every N steps")
    ap.add_argument("--export-only", action="store_true")
    args = ap.parse_args()
    n = common.threads()
    world.select("full")  # the VAE learned the full world; the simple one is a part of it
    wd = common.work_dir("vae")
    params = common.init_params(vae_table(), args.seed)
    opt = torch.optim.AdamW(common.trainable(params), lr=args.lr, weight_decay=0.0)
    start = common.resume(wd, "vae", params, opt)
    print(f"[vae] {sum(p.numel() for p in common.trainable(params)):,} parameters, {n} threads, "
          f"batch {args.batch}, {args.steps} steps; checkpoints in {wd}")
    W = ref.Weights(params)
    prog = common.Progress("vae", args.steps, start, wd / "log.txt")
    gen = torch.Generator().manual_seed(args.seed + 7)
    for step in range(start, 0 if args.export_only else args.steps):
        gen.manual_seed(args.seed * 100_003 + step)
        for g in opt.param_groups:
            g["lr"] = common.cosine_lr(step, args.steps, args.lr, 200)
        x = batch(DATA_SEED, step * args.batch, args.batch)
        loss, rec = step_loss(W, x, gen, args.kl)
        common.train_step(loss, params, opt)
        prog.add(rec.item())
        common.maybe_checkpoint(wd, step, args, params, opt, prog)
    export(params, wd)


@torch.no_grad()
def export(params, wd):
    W = ref.Weights(params)
    x = batch(DATA_SEED, HELD_OUT, 256)
    means, errs = [], []
    for i in range(0, len(x), 32):
        m, _ = ref.vae_encode(W, CONFIG, x[i:i + 32])
        means.append(m)
        y = ref.vae_decode(W, CONFIG, m).clamp(-1, 1)
        errs.append(((y - x[i:i + 32]) ** 2).mean(dim=(1, 2, 3)))
    means = torch.cat(means)
    mse = torch.cat(errs).mean().item()
    psnr = 10 * torch.log10(torch.tensor(4.0 / mse)).item()
    scale = float(1.0 / means.std())
    cfg = dict(CONFIG, scaling_factor=round(scale, 5))
    out = common.DEMO / "vae"
    common.write_json(out / "config.json", cfg)
    common.write_fp16(out / "diffusion_pytorch_model.safetensors", params)
    report = {"held_out_images": len(x), "psnr_db": round(psnr, 2), "latent_std": float(means.std()),
              "scaling_factor": cfg["scaling_factor"]}
    common.write_json(wd / "export.json", report)
    print(f"[vae] exported {out}: held-out PSNR {psnr:.2f} dB, scaling_factor {cfg['scaling_factor']}")


if __name__ == "__main__":
    main()
