"""The demo model's measured quality, from pictures the engine itself draws (`ezivk generate`):

1. Text following: held-out prompts naming an object, its colour and a place (with "at night" for some); each
   output is read by the judge (judge.py) and compared with what the prompt asked for. Reported per attribute
   and for all four at once, next to the judge's own accuracy on real held-out scenes (its ceiling) and chance.
2. Subject transfer: the sample subjects (models/demo/subjects/, held out, two per class) with prompts that name the
   class but not the colour, both subjects of a class with the same prompt and seed, by `ezivk likeness` (the share
   of the subject's hues the picture shows), for the first pass and every round: the gain over the text-only
   picture of the same prompt and seed (`--baseline`) and the specificity between the pair (subject_transfer says
   how). Reported as means with their spread and the share of cases above zero. The transfer runs use the demo's
   settings (DDPM, 25 steps, guidance 5, split 0.7, the empty negative prompt; models/demo/README.md says why).

Writes models/demo/quality.json and prints a summary; the pictures stay in the work folder.

    /usr/bin/python3 tools/train/quality.py [--prompts 48] [--ezivk build/ezivk] [--subjects-only] [--seeds 3]
"""

import argparse
import json
import statistics
import subprocess
from pathlib import Path

import numpy as np
from PIL import Image

import common
import judge
import world

STEPS = 25
GUIDANCE = 5.0
ROUNDS = 3
SPLIT = 0.7  # the default --split: the share of the steps that run with the subject, and the rounds' re-noising


def run(cmd):
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        raise SystemExit(f"failed ({r.returncode}): {' '.join(cmd)}\n{r.stderr}")
    return r.stdout


def generate_args(ezivk, prompt, seed, out, guidance=GUIDANCE, steps=STEPS, scheduler="ddim"):
    return [ezivk, "generate", "--model", str(common.DEMO), "--prompt", prompt, "--seed", str(seed),
            "--steps", str(steps), "--guidance", str(guidance), "--scheduler", scheduler, "--out", str(out)]


def held_out_prompts(n):
    """(prompt, labels) of held-out one-subject scenes whose captions name the colour."""
    out = []
    for i in range(n):
        sc = judge.single_scene(judge.HELD_OUT_SEED, 20_000_000 + i)
        out.append((sc.caption, judge.labels(sc), sc.image))
    return out


def text_following(ezivk, model, n, wd):
    cases = held_out_prompts(n)
    images = []
    for i, (prompt, _, _) in enumerate(cases):
        path = wd / f"text_{i:03d}.png"
        if not path.exists():
            run(generate_args(ezivk, prompt, 1000 + i, path))
        images.append(np.asarray(Image.open(path).convert("RGB")))
        print(f"[quality] text following {i + 1}/{n}: {prompt}", flush=True)
    got = judge.judge_images(model, images)
    real = judge.judge_images(model, [c[2] for c in cases])
    rates, ceiling = {}, {}
    for head, names in judge.HEADS.items():
        want = [names[c[1][head]] for c in cases]
        rates[head] = sum(g == w for g, w in zip(got[head], want)) / n
        ceiling[head] = sum(g == w for g, w in zip(real[head], want)) / n
    rates["all"] = sum(all(got[h][i] == judge.HEADS[h][cases[i][1][h]] for h in judge.HEADS) for i in range(n)) / n
    ceiling["all"] = sum(all(real[h][i] == judge.HEADS[h][cases[i][1][h]] for h in judge.HEADS) for i in range(n)) / n
    chance = {h: 1 / len(judge.allowed(h)) for h in judge.HEADS}
    chance["night"] = max(sum(c[1]["night"] for c in cases), sum(1 - c[1]["night"] for c in cases)) / n
    chance["all"] = None
    examples = [{"prompt": cases[i][0], "judged": {h: got[h][i] for h in judge.HEADS}} for i in range(min(8, n))]
    return {"prompts": n, "rates": rates, "judge_on_real_scenes": ceiling, "chance": chance, "examples": examples}


def subject_transfer(ezivk, wd, settings):
    """Every class's two sample subjects, each run with the same prompt and seed (for seed k: 2000 + 100 k + the
    pair's index, the prompt of the pair's first subject when k is even, else of its second). Two measures:
    - gain: a subject-driven picture's likeness to its subject minus the text-only picture's (same prompt and seed);
    - specificity: for the pair (A, B), [L(picture of A, A) - L(picture of B, A)] + [L(picture of B, B) -
      L(picture of A, B)]: the two pictures differ only by the subject given, so the background cancels and what is
      left is how much each picture took from its own subject rather than from the other one."""
    subjects = json.loads((common.DEMO / "subjects" / "subjects.json").read_text(encoding="utf-8"))
    by_class = {}
    for s in subjects:
        by_class.setdefault(s["class"], []).append(s)
    pairs = [v for v in by_class.values() if len(v) == 2]
    cases, contrasts = [], []
    for k in range(settings["seeds"]):
        for j, (a, b) in enumerate(pairs):
            seed, prompt = 2000 + 100 * k + j, (a if k % 2 == 0 else b)["prompt"]
            pa, pb = (draw_case(ezivk, wd, settings, s, prompt, seed) for s in (a, b))
            n = len(pa)  # text-only, first pass, rounds
            la = likeness(ezivk, a, pa + pb)  # A's likeness of A's pictures, then of B's
            lb = likeness(ezivk, b, pa + pb)
            for s, v in ((a, la[:n]), (b, lb[n:])):
                cases.append({"subject": s["file"], "prompt": prompt, "seed": seed, "text_only": v[0],
                              "first_pass": v[1], "rounds": v[2:], "gain": v[-1] - v[0]})
                print(f"[quality] subject {s['file']} seed {seed}: text-only {v[0]:.3f}, first pass {v[1]:.3f}, rounds "
                      + ", ".join(f"{x:.3f}" for x in v[2:]), flush=True)
            margins = [(la[i] - la[n + i]) + (lb[n + i] - lb[i]) for i in range(1, n)]
            contrasts.append({"class": a["class"], "subjects": [a["file"], b["file"]], "prompt": prompt, "seed": seed,
                              "margin_first_pass": margins[0], "margin_rounds": margins[1:], "margin": margins[-1]})
            print(f"[quality] {a['file']} / {b['file']} seed {seed}: specificity first pass {margins[0]:+.3f}, "
                  "rounds " + ", ".join(f"{m:+.3f}" for m in margins[1:]), flush=True)
    gains = [c["gain"] for c in cases]
    first = [c["first_pass"] - c["text_only"] for c in cases]
    margins = [c["margin"] for c in contrasts]
    per_stage = {"text_only": statistics.mean(c["text_only"] for c in cases),
                 "first_pass": statistics.mean(c["first_pass"] for c in cases)}
    margin_by_stage = {"first_pass": statistics.mean(c["margin_first_pass"] for c in contrasts)}
    for r in range(ROUNDS):
        per_stage[f"round{r + 1}"] = statistics.mean(c["rounds"][r] for c in cases)
        margin_by_stage[f"round{r + 1}"] = statistics.mean(c["margin_rounds"][r] for c in contrasts)
    return {"cases": cases, "mean_gain": statistics.mean(gains), "gain_std": statistics.stdev(gains),
            "gain_standard_error": statistics.stdev(gains) / len(gains) ** 0.5,
            "share_gained": sum(g > 0 for g in gains) / len(gains),
            "first_pass_gain": {"mean": statistics.mean(first), "std": statistics.stdev(first),
                                "share_gained": sum(g > 0 for g in first) / len(first)},
            "mean_likeness_by_stage": per_stage,
            "specificity": {"pairs": contrasts, "mean": statistics.mean(margins), "std": statistics.stdev(margins),
                            "share_positive": sum(m > 0 for m in margins) / len(margins),
                            "mean_by_stage": margin_by_stage},
            "settings": dict(settings, rounds=ROUNDS)}


def likeness(ezivk, subject, pictures):
    got = json.loads(run([ezivk, "likeness", "--json", "--subject", str(common.DEMO / "subjects" / subject["file"])]
                         + [str(p) for p in pictures]))
    return [p["likeness"] for p in got["pictures"]]


def picture_stem(wd, seed, subject_file):
    """Where a subject-transfer case's pictures go: <stem>.png (after the rounds), <stem>-text.png, -first.png,
    -round<r>.png (`ezivk generate --save-rounds --baseline` names them from the --out path)."""
    return wd / f"{seed}_{Path(subject_file).stem}"


def draw_case(ezivk, wd, settings, s, prompt, seed):
    """Draws one subject-transfer case; returns its pictures: text-only, first pass, then each round."""
    stem = picture_stem(wd, seed, s["file"])
    # Always drawn again: they depend on the adapters and the settings, which change between measurements.
    run(generate_args(ezivk, prompt, seed, f"{stem}.png", settings["guidance"], settings["steps"],
                      settings["scheduler"]) + [
        "--adapter", str(common.DEMO / "adapters.safetensors"), "--subject", str(common.DEMO / "subjects" / s["file"]),
        "--subject-prompt", s["subject_prompt"], "--rounds", str(ROUNDS), "--split", str(settings["split"]),
        "--negative", settings["negative_prompt"], "--save-rounds", "--baseline"])
    return [f"{stem}-text.png", f"{stem}-first.png"] + [f"{stem}-round{r}.png" for r in range(1, ROUNDS + 1)]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--prompts", type=int, default=48)
    ap.add_argument("--ezivk", default=str(common.ROOT / "build" / "ezivk"))
    ap.add_argument("--fresh", action="store_true", help="draw every picture again")
    ap.add_argument("--subjects-only", action="store_true",
                    help="measure the subject transfer only (after retraining only the adapters); the rest of quality.json stays")
    ap.add_argument("--split", type=float, default=SPLIT, help="EZIGen's split for the subject-transfer runs")
    ap.add_argument("--guidance", type=float, default=GUIDANCE, help="guidance of the subject-transfer runs")
    ap.add_argument("--steps", type=int, default=STEPS, help="steps of the subject-transfer runs")
    ap.add_argument("--scheduler", default="ddpm", help="scheduler of the subject-transfer runs")
    ap.add_argument("--seeds", type=int, default=3, help="seeds per pair of subjects (2000 + 100 k + pair)")
    args = ap.parse_args()
    # The negative prompt is empty: the model was trained with "" as its unconditional caption; EZIGen's default negative
    # prompt is words it never saw, which only blur the first pass (and the text-only picture it is compared with).
    transfer = {"split": args.split, "guidance": args.guidance, "steps": args.steps, "scheduler": args.scheduler,
                "seeds": args.seeds, "negative_prompt": ""}
    common.threads()
    wd = common.work_dir("quality")
    if args.fresh:
        for p in wd.glob("*.png"):
            p.unlink()
    if args.subjects_only:
        # Text following does not involve the adapters: after retraining only them, the rest of the report stands.
        path = common.DEMO / "quality.json"
        report = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
        report["subject_transfer"] = subject_transfer(args.ezivk, wd, transfer)
        common.write_json(path, report)
        print_transfer(report["subject_transfer"])
        return
    model, val = judge.load_or_train()
    if val["vae_round_trip"]["all"] < 0.8:
        raise SystemExit(f"the judge reads only {val['vae_round_trip']['all']:.0%} of held-out round-tripped scenes "
                         "right; it cannot judge generated ones")
    report = {"world": world.ACTIVE.name, "judge_validation": val,
              "text_following": text_following(args.ezivk, model, args.prompts, wd),
              "subject_transfer": subject_transfer(args.ezivk, wd, transfer),
              "settings": {"steps": STEPS, "guidance": GUIDANCE, "scheduler": "ddim"}}
    common.write_json(common.DEMO / "quality.json", report)
    t = report["text_following"]
    print("[quality] text following: " + ", ".join(f"{k} {v:.2f}" for k, v in t["rates"].items()))
    print_transfer(report["subject_transfer"])


def print_transfer(s):
    f = s["first_pass_gain"]
    print(f"[quality] subject gain over {len(s['cases'])} cases: mean {s['mean_gain']:.3f} ± {s['gain_std']:.3f} "
          f"(standard error {s['gain_standard_error']:.3f}), {s['share_gained']:.0%} gained; first pass alone "
          f"{f['mean']:.3f} ± {f['std']:.3f}, {f['share_gained']:.0%} gained; by stage "
          + ", ".join(f"{k} {v:.3f}" for k, v in s["mean_likeness_by_stage"].items()))
    c = s["specificity"]
    print(f"[quality] specificity over {len(c['pairs'])} pairs: mean {c['mean']:+.3f} ± {c['std']:.3f}, "
          f"{c['share_positive']:.0%} positive; by stage "
          + ", ".join(f"{k} {v:+.3f}" for k, v in c["mean_by_stage"].items()))


if __name__ == "__main__":
    main()
