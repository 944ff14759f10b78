"""The automatic judge of text following: a small CNN that reads a 64x64 picture and names its object, the
object's colour, the place and whether it is night.

It is trained on the world's own single-subject scenes passed through the demo VAE (encode, decode), because
that is what a generated picture looks like: every output is a VAE decode, blurred the same way. It is
validated on held-out scenes (seeds the judge and the demo model never trained on), both VAE round-tripped
and original, and `quality.py` refuses to use a judge whose held-out accuracy is below its bar: a judge that
cannot name what is in a real scene cannot say whether a generated one follows its prompt.

Its heads name every class and colour of the full world; when the selected world (world.select) draws only some
of them, predictions are restricted to those, and it is validated on that world's held-out scenes.

    /usr/bin/python3 tools/train/judge.py [--world simple|full] [--retrain]   # trains (or loads), prints accuracy
"""

import argparse
import hashlib

import torch
import torch.nn as nn
import torch.nn.functional as F

import common
import world
from common import ref

DATA_SEED = 5          # the judge's own training scenes (the UNet trained on seed 2, the adapters on seed 3)
HELD_OUT_SEED = 7      # validation scenes, and the prompts quality.py asks for
HEADS = {"object": world.OBJECT_NAMES, "colour": world.COLOUR_NAMES, "place": world.PLACE_NAMES,
         "night": ["day", "night"]}


class Judge(nn.Module):
    def __init__(self):
        super().__init__()
        chans = [3, 32, 64, 128, 128]
        self.convs = nn.ModuleList(nn.Conv2d(a, b, 3, stride=1 if i == 0 else 2, padding=1)
                                   for i, (a, b) in enumerate(zip(chans, chans[1:])))
        self.norms = nn.ModuleList(nn.GroupNorm(8, b) for b in chans[1:])
        self.heads = nn.ModuleDict({k: nn.Linear(2 * chans[-1], len(v)) for k, v in HEADS.items()})

    def forward(self, x):  # x: [B, 3, 64, 64] in [-1, 1]
        for c, n in zip(self.convs, self.norms):
            x = F.silu(n(c(x)))  # 64 -> 64 -> 32 -> 16 -> 8
        f = torch.cat([x.mean((2, 3)), x.amax((2, 3))], 1)  # [B, 256]: average and peak of each feature
        return {k: h(f) for k, h in self.heads.items()}


def labels(scene):
    s = scene.subjects[0]
    return {"object": world.OBJECT_NAMES.index(s.name), "colour": world.COLOUR_NAMES.index(s.colour),
            "place": world.PLACE_NAMES.index(scene.place), "night": int(scene.night)}


def single_scene(seed, index):
    """A one-subject scene whose caption names the colour: what the judged prompts ask for."""
    rng = world.sample_rng(seed, index)
    return world.draw_scene(rng, subjects=[world.Subject(rng)], with_colour=True)


class RoundTrip:
    """The demo VAE's encode (posterior mean) and decode: what a generated picture's pixels go through."""

    def __init__(self):
        d = common.DEMO / "vae"
        self.cfg = common.read_json(d / "config.json")
        self.w = ref.Weights(common.read_float(d / "diffusion_pytorch_model.safetensors"))

    @torch.no_grad()
    def __call__(self, x):
        mean, _ = ref.vae_encode(self.w, self.cfg, x)
        return ref.vae_decode(self.w, self.cfg, mean).clamp(-1, 1)


def dataset(seed, first, n, vae):
    """(originals [n, 3, 64, 64], VAE round trips, labels {head: [n]})."""
    xs, ys = [], {k: [] for k in HEADS}
    for i in range(first, first + n):
        sc = single_scene(seed, i)
        xs.append(sc.image)
        for k, v in labels(sc).items():
            ys[k].append(v)
    x = common.images_to_tensor(xs)
    rt = torch.cat([vae(x[i:i + 256]) for i in range(0, n, 256)])
    return x, rt, {k: torch.tensor(v) for k, v in ys.items()}


def allowed(head):
    """The label indices of `head` that the selected world can show."""
    names = {"object": world.ACTIVE.objects, "colour": world.ACTIVE.colours}.get(head, HEADS[head])
    return torch.tensor([HEADS[head].index(n) for n in names])


@torch.no_grad()
def predict(model, x):
    model.eval()
    out = {k: [] for k in HEADS}
    for i in range(0, len(x), 256):
        for k, v in model(x[i:i + 256]).items():
            keep = allowed(k)
            out[k].append(keep[v[:, keep].argmax(1)])
    return {k: torch.cat(v) for k, v in out.items()}


def accuracy(model, x, y):
    p = predict(model, x)
    acc = {k: (p[k] == y[k]).float().mean().item() for k in HEADS}
    acc["all"] = torch.stack([p[k] == y[k] for k in HEADS]).all(0).float().mean().item()
    return acc


def train(n_train, epochs, seed):
    torch.manual_seed(seed)
    vae = RoundTrip()
    print(f"[judge] drawing and round-tripping {n_train} training scenes", flush=True)
    x, rt, y = dataset(DATA_SEED, 0, n_train, vae)
    # Half originals, half round trips: sharp and blurred pictures of the same world.
    x, y = torch.cat([x, rt]), {k: torch.cat([v, v]) for k, v in y.items()}
    model = Judge()
    opt = torch.optim.AdamW(model.parameters(), lr=2e-3, weight_decay=1e-4)
    g = torch.Generator().manual_seed(seed)
    steps = epochs * len(x) // 64
    for step in range(steps):
        model.train()
        idx = torch.randint(0, len(x), (64,), generator=g)
        xb = x[idx]
        if step % 2:  # small shifts: a generated object is anywhere
            xb = torch.roll(xb, shifts=(int(torch.randint(-4, 5, (1,), generator=g)),
                                        int(torch.randint(-4, 5, (1,), generator=g))), dims=(2, 3))
        out = model(xb)
        loss = sum(F.cross_entropy(out[k], y[k][idx]) for k in HEADS)
        for grp in opt.param_groups:
            grp["lr"] = common.cosine_lr(step, steps, 2e-3, 100, 0.02)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        if (step + 1) % 200 == 0 or step + 1 == steps:
            print(f"[judge] step {step + 1}/{steps} loss {loss.item():.4f}", flush=True)
    return model, vae


def validate(model, vae, n=1000):
    x, rt, y = dataset(HELD_OUT_SEED, 10_000_000, n, vae)
    return {"original": accuracy(model, x, y), "vae_round_trip": accuracy(model, rt, y)}


def load_or_train(retrain=False, n_train=8000, epochs=6, seed=0):
    """The judge and its held-out accuracy on the selected world's scenes (validated once per world)."""
    path = common.work_dir("judge") / "judge.pt"
    model = Judge()
    ck = None if retrain else common.load_checkpoint(path)
    if ck and ck.get("vae") == vae_fingerprint():
        model.load_state_dict(ck["state"])
        vae = None
    else:
        model, vae = train(n_train, epochs, seed)
        ck = {"state": model.state_dict(), "vae": vae_fingerprint(), "trained_on": world.ACTIVE.name}
    # A judge saved before worlds had names was trained on (and validated on) the full world.
    vals = ck.setdefault("validations", {"full": ck.pop("validation")} if "validation" in ck else {})
    ck.setdefault("trained_on", "full")
    if world.ACTIVE.name not in vals:
        vals[world.ACTIVE.name] = validate(model, vae or RoundTrip())
        common.save_checkpoint(path, ck)
    return model, dict(vals[world.ACTIVE.name], trained_on=ck["trained_on"], world=world.ACTIVE.name)


def vae_fingerprint():
    """The judge was trained on this VAE's round trips; a different VAE means a new judge."""
    p = common.DEMO / "vae" / "diffusion_pytorch_model.safetensors"
    return hashlib.sha256(p.read_bytes()).hexdigest()


def judge_images(model, images_u8):
    """uint8 [64, 64, 3] pictures -> {head: [names]}."""
    p = predict(model, common.images_to_tensor(images_u8))
    return {k: [HEADS[k][i] for i in v.tolist()] for k, v in p.items()}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--retrain", action="store_true")
    ap.add_argument("--world", default="simple", help="the world to train on (when training) and to validate on; "
                    "the saved judge was trained on the full world (judge.py --world full --retrain)")
    args = ap.parse_args()
    world.select(args.world)
    common.threads()
    _, val = load_or_train(args.retrain)
    print(f"[judge] trained on the {val['trained_on']} world, validated on the {val['world']} world")
    for kind in ("original", "vae_round_trip"):
        acc = val[kind]
        print(f"[judge] held-out accuracy ({kind}): " + ", ".join(f"{k} {v:.3f}" for k, v in acc.items()))


if __name__ == "__main__":
    main()
