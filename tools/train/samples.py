"""The model card's sample outputs (models/demo/samples.png) from the pictures quality.py drew: for each class, on
quality.py's first seed (no picking), the two sample subjects, the text-only picture of the pair's prompt and seed,
and the picture after the rounds with each subject. Run after `quality.py` (same EZIVK_TRAIN_DIR).

    /usr/bin/python3 tools/train/samples.py
"""

import json

import numpy as np
from PIL import Image

import common
import quality

SCALE = 2  # nearest-neighbour, so the 64x64 pictures stay readable


def main():
    report = json.loads((common.DEMO / "quality.json").read_text(encoding="utf-8"))["subject_transfer"]
    wd = common.work_dir("quality")
    first_seed = min(p["seed"] for p in report["specificity"]["pairs"])
    rows = []
    for pair in report["specificity"]["pairs"]:
        if pair["seed"] - first_seed >= 100:  # later seeds
            continue
        a, b = pair["subjects"]
        sa, sb = (quality.picture_stem(wd, pair["seed"], s) for s in (a, b))
        pictures = [common.DEMO / "subjects" / a, common.DEMO / "subjects" / b, f"{sa}-text.png", f"{sa}.png",
                    f"{sb}.png"]
        tiles = [np.asarray(Image.open(p).convert("RGB").resize((64, 64), Image.BILINEAR)) for p in pictures]
        gap = np.full((64, 4, 3), 255, np.uint8)
        rows.append(np.concatenate([x for t in tiles for x in (t, gap)][:-1], axis=1))
        print(f"[samples] {a} / {b}, seed {pair['seed']}: \"{pair['prompt']}\"")
    grid = np.concatenate([x for r in rows for x in (r, np.full((4, r.shape[1], 3), 255, np.uint8))][:-1], axis=0)
    out = common.DEMO / "samples.png"
    Image.fromarray(grid).resize((grid.shape[1] * SCALE, grid.shape[0] * SCALE), Image.NEAREST).save(out)
    print(f"[samples] wrote {out}")


if __name__ == "__main__":
    main()
