"""Stage 2: the demo text encoder (CLIPTextModel on the real CLIP BPE vocabulary) and text-conditioned UNet,
trained together from scratch on the frozen stage-1 VAE's latents of procedurally drawn scenes.

Epsilon prediction on SD's scaled-linear DDPM schedule (betas 0.00085..0.012, 1000 steps), uniform
timesteps, 10 % of captions dropped to "" so classifier-free guidance works. The scenes are drawn and
encoded once into a latent cache in the work folder (posterior mean and std, so every step draws a fresh
posterior sample); captions are tokenized with the same BPE reference the engine's tokenizer is tested
against.

`--world full` trains on the full world (eight classes; work folder unet/), `--world simple` (the default) on the
simple one (work folder unet-simple/); the committed model is the full world's run continued on the simple world
(`--init` with the full run's checkpoint), because from scratch on 2 cores the full world's objects stayed at chance.
EZIVK_TRAIN_SCENES sets how many scenes the latent cache holds (default 40,000).
"""

import argparse
import os

import torch

import common
import world
from common import ref

import clip_bpe_reference as bpe  # noqa: E402  (tools/fixtures is on sys.path via common)
import make_tiny_models as tiny  # noqa: E402

TEXT_CONFIG = tiny.clip_config("ezivk/demo/text_encoder", 64, 3, 4, 256, "gelu", 49408, 64, "float16",
                               "4.25.0.dev0")
# Sized to train in one session's background time on 2 cores (about 1 step/s at batch 32): a first try at
# [64, 128, 128] (9.2M parameters) ran at 0.25 step/s, over six hours for the steps it needs.
UNET_CONFIG = tiny.sd2_unet_config([32, 64, 64], [1, 2, 2], 1, 8, 64, world.SIZE // 4,
                                   [tiny.CROSS_DOWN, tiny.CROSS_DOWN, "DownBlock2D"],
                                   ["UpBlock2D", tiny.CROSS_UP, tiny.CROSS_UP])
SCHEDULER_CONFIG = tiny.scheduler_config(tiny.SD2_DIFFUSERS, True)
PAD = "!"
DATA_SEED = 2
CACHE_SCENES = int(os.environ.get("EZIVK_TRAIN_SCENES", 40_000))
HELD_OUT = 20_000_000


def tokenizer_folder():
    return common.DEMO / "tokenizer"


def write_tokenizer():
    src = common.ROOT / "tests" / "fixtures" / "clip-bpe"
    tiny.write_tokenizer(tokenizer_folder(), PAD, {"__type": "AddedToken", "content": "<|endoftext|>",
                         "lstrip": False, "normalized": True, "rstrip": False, "single_word": False},
                         "ezivk/demo", src / "vocab.json", src / "merges.txt")


def vocabulary():
    f = tokenizer_folder()
    return bpe.Vocabulary(str(f / "vocab.json"), str(f / "merges.txt"))


def token_ids(vocab, captions):
    return torch.tensor([bpe.encode(vocab, c, PAD)["ids"] for c in captions], dtype=torch.int64)


def load_vae():
    cfg = common.read_json(common.DEMO / "vae" / "config.json")
    W = ref.Weights(common.read_float(common.DEMO / "vae" / "diffusion_pytorch_model.safetensors"))
    return W, cfg


@torch.no_grad()
def latent_cache(wd, vocab):
    """Scenes 0..CACHE_SCENES-1: scaled posterior mean/std [N, 4, 16, 16] (fp16) and token ids."""
    path = wd / "latents.pt"
    if path.exists():
        return torch.load(path)
    W, cfg = load_vae()
    scale = cfg["scaling_factor"]
    means, stds, captions = [], [], []
    for first in range(0, CACHE_SCENES, 64):
        scenes = [world.draw_scene(world.sample_rng(DATA_SEED, first + i)) for i in range(64)]
        m, lv = ref.vae_encode(W, cfg, common.images_to_tensor([s.image for s in scenes]))
        means.append((m * scale).half())
        stds.append((torch.exp(0.5 * lv) * scale).half())
        captions += [s.caption for s in scenes]
        if first % 4096 == 0:
            print(f"[unet] encoding scenes {first}/{CACHE_SCENES}", flush=True)
    cache = {"mean": torch.cat(means), "std": torch.cat(stds), "ids": token_ids(vocab, captions),
             "captions": captions, "scaling_factor": scale}
    common.save_checkpoint(path, cache)
    return cache


def alphas_cumprod():
    betas = torch.linspace(0.00085 ** 0.5, 0.012 ** 0.5, 1000, dtype=torch.float64) ** 2
    return torch.cumprod(1 - betas, 0).float()


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--world", default="simple", help="world.py's world to draw the scenes from: full or simple")
    ap.add_argument("--init", help="start from the weights of this checkpoint (a stage-2 run of another world); "
                    "the optimiser starts fresh")
    ap.add_argument("--steps", type=int, default=12000)
    ap.add_argument("--batch", type=int, default=48)
    ap.add_argument("--lr", type=float, default=4e-4)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--drop", type=float, default=0.1, help="share of captions replaced by the empty prompt")
    ap.add_argument("--every", type=int, default=50)
    ap.add_argument("--export-only", action="store_true")
    args = ap.parse_args()
    n = common.threads()
    world.select(args.world)
    wd = common.world_work_dir("unet", args.world)
    if not (tokenizer_folder() / "vocab.json").exists():
        write_tokenizer()
    vocab = vocabulary()
    empty = token_ids(vocab, [""])[0]
    cache = latent_cache(wd, vocab)
    params = common.init_params(ref.unet_param_table(UNET_CONFIG), args.seed + 1)
    params.update(common.init_params(ref.clip_param_table(TEXT_CONFIG), args.seed + 2))
    # The output conv starts at zero: the first predictions are 0 and the loss starts at 1.
    params["conv_out.weight"].data.zero_()
    opt = torch.optim.AdamW(common.trainable(params), lr=args.lr, weight_decay=0.0)
    start = common.resume(wd, "unet", params, opt)
    if start == 0 and args.init:
        for k, v in common.load_checkpoint(args.init)["params"].items():
            params[k].data.copy_(v)
        print(f"[unet] starting from the weights of {args.init}")
    print(f"[unet] {args.world} world, {sum(p.numel() for p in common.trainable(params)):,} parameters, {n} threads, "
          f"batch {args.batch}, {args.steps} steps, {len(cache['ids'])} cached scenes; checkpoints in {wd}")
    W = ref.Weights(params)
    ac = alphas_cumprod()
    prog = common.Progress("unet", args.steps, start, wd / "log.txt")
    g = torch.Generator()
    N = len(cache["ids"])
    for step in range(start, 0 if args.export_only else args.steps):
        g.manual_seed(args.seed * 100_003 + step)
        for grp in opt.param_groups:
            grp["lr"] = common.cosine_lr(step, args.steps, args.lr, 300)
        idx = torch.randint(0, N, (args.batch,), generator=g)
        x0 = cache["mean"][idx].float() + cache["std"][idx].float() * torch.randn(
            (args.batch, 4, 16, 16), generator=g)
        ids = cache["ids"][idx].clone()
        ids[torch.rand(args.batch, generator=g) < args.drop] = empty
        t = torch.randint(0, 1000, (args.batch,), generator=g)
        eps = torch.randn(x0.shape, generator=g)
        a = ac[t].reshape(-1, 1, 1, 1)
        xt = a.sqrt() * x0 + (1 - a).sqrt() * eps
        ctx = ref.clip_text_forward(W, TEXT_CONFIG, ids)
        pred = ref.unet_forward(W, UNET_CONFIG, xt, t.float(), ctx)
        loss = ((pred - eps) ** 2).mean()
        common.train_step(loss, params, opt)
        prog.add(loss.item())
        common.maybe_checkpoint(wd, step, args, params, opt, prog)
    export(params)


def export(params):
    d = common.DEMO
    unet = {k: v for k, v in params.items() if not k.startswith("text_model.")}
    text = {k: v for k, v in params.items() if k.startswith("text_model.")}
    common.write_json(d / "unet" / "config.json", UNET_CONFIG)
    common.write_fp16(d / "unet" / "diffusion_pytorch_model.safetensors", unet)
    common.write_json(d / "text_encoder" / "config.json", TEXT_CONFIG)
    common.write_fp16(d / "text_encoder" / "model.safetensors", text)
    common.write_json(d / "scheduler" / "scheduler_config.json", SCHEDULER_CONFIG)
    common.write_json(d / "model_index.json", tiny.model_index(tiny.SD2_DIFFUSERS))
    print(f"[unet] exported {d}")


if __name__ == "__main__":
    main()
