"""How much the demo adapters use the subject: the frozen UNet's denoising error on held-out adapter pairs (world.py's
subject/target pairs, never seen in training) at a few timesteps, four ways with the same noise:

- plain: the UNet without adapters (what the adapters must beat),
- subject: with the adapters and the pair's own subject,
- other: with the adapters and another pair's subject (the bank rolled by one across the batch),
- named: the plain UNet given a caption that also names the subject's colour (roughly the most the subject's colour,
  which the target's own caption leaves out, could lower the error by).

Adapters that carry the subject over give subject < plain and subject < other; adapters that only disturb the UNet
give subject > plain. Reads models/demo/adapters.safetensors, or a training checkpoint (--checkpoint; its parameters
are read in the terms of the --init it was trained with, which the checkpoint records).

    /usr/bin/python3 tools/train/adapter_loss.py [--pairs 32] [--t 100,300,500,700] [--checkpoint PATH]
"""

import argparse

import torch

import common
import train_adapters as ta
import world
from common import ref

import make_ezigen_fixtures as ez  # noqa: E402  (tools/fixtures is on sys.path via common)

HELD_OUT_FIRST = 90_000_000


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--pairs", type=int, default=32)
    ap.add_argument("--t", default="100,300,500,700")
    ap.add_argument("--adapters", default=str(common.DEMO / "adapters.safetensors"))
    ap.add_argument("--checkpoint", help="a train_adapters.py checkpoint.pt instead of --adapters")
    ap.add_argument("--world", default="simple")
    args = ap.parse_args()
    common.threads()
    world.select(args.world)
    m = ta.Demo()
    hooks = ez.Hooks(ez.block_names(m))
    if args.checkpoint:
        ck = common.load_checkpoint(common.Path(args.checkpoint))
        if not ck:
            raise SystemExit(f"{args.checkpoint}: no checkpoint there")
        # Checkpoints from before --init existed were the paper's.
        hooks.ck = ta.released(ck["params"], ck["args"].get("init", "paper"))
        source = f"{args.checkpoint} (step {ck['step']})"
    else:
        hooks.ck = common.read_float(common.Path(args.adapters))
        source = args.adapters
    g = torch.Generator().manual_seed(7)
    pairs = [world.adapter_pair(ta.DATA_SEED, HELD_OUT_FIRST + i) for i in range(args.pairs)]
    x0, tctx = ta.prepare(m, hooks, pairs, g)
    named_captions = [world.caption_of(p[2], with_colour=True) for p in pairs]
    with torch.no_grad():
        named = ref.clip_text_forward(m.text_w, m.text_cfg, m.token_ids(m.vocab, named_captions))
    own = hooks.bank
    other = {k: v.roll(1, dims=0) for k, v in own.items()}
    print(f"[adapter-loss] {source}: {args.pairs} held-out pairs, mean squared epsilon error")
    print(f"{'t':>5} {'plain':>9} {'subject':>9} {'other':>9} {'named':>9} {'subject/plain':>14} {'named/plain':>12}")
    with torch.no_grad():
        for t_value in (int(x) for x in args.t.split(",")):
            t = torch.full((args.pairs,), t_value)
            eps = torch.randn(x0.shape, generator=g)
            plain = ta.eps_error(m, hooks, x0, tctx, t, eps, None).mean().item()
            hooks.bank = own
            subject = ta.eps_error(m, hooks, x0, tctx, t, eps, "adapter").mean().item()
            hooks.bank = other
            wrong = ta.eps_error(m, hooks, x0, tctx, t, eps, "adapter").mean().item()
            ceiling = ta.eps_error(m, hooks, x0, named, t, eps, None).mean().item()
            print(f"{t_value:>5} {plain:>9.5f} {subject:>9.5f} {wrong:>9.5f} {ceiling:>9.5f} {subject / plain:>14.3f} "
                  f"{ceiling / plain:>12.3f}", flush=True)


if __name__ == "__main__":
    main()
