"""The demo model's sample subjects (models/demo/subjects/): held-out subjects alone on white, as a user would
give them, drawn from a seed neither the UNet nor the adapters trained on, plus subjects.json naming each one's
class, colours, pattern and a prompt that does not say its colour (so only the subject image can tell it).

    /usr/bin/python3 tools/train/make_subjects.py
"""

import json

from PIL import Image

import common
import world

SEED = 11  # held out: the UNet's scenes use seed 2, the adapters' pairs 3, the judge 5 and 7
# One of each class, each a colour the prompt never names; index chosen so the set covers the colours too.
WANT = [("dog", "beach"), ("car", "road"), ("cat", "grass"), ("fish", "snow"), ("bird", "room"), ("flower", "grass"),
        ("house", "snow"), ("tree", "beach")]


def pick(name, used_colours):
    """The first held-out subject of class `name` whose main colour is not used yet."""
    for i in range(10_000):
        rng = world.sample_rng(SEED, i)
        s = world.Subject(rng)
        if s.name == name and s.colour not in used_colours and s.pattern != "plain":
            return s, rng
    raise RuntimeError(name)


def main():
    out = common.DEMO / "subjects"
    out.mkdir(parents=True, exist_ok=True)
    used, table = set(), []
    for name, place in WANT:
        s, rng = pick(name, used if len(used) < len(world.COLOUR_NAMES) else set())
        used.add(s.colour)
        file = f"{s.colour}_{s.name}.png"
        Image.fromarray(world.subject_image(s, rng, augment=False)).save(out / file)
        table.append({"file": file, "class": s.name, "colour": s.colour, "second_colour": s.second,
                      "pattern": s.pattern, "subject_prompt": f"a photo of {world.article(s.name)}.",
                      "prompt": f"a photo of {world.article(s.name)} {world.PLACES[place]}"})
        print(f"[subjects] {file}: {s.colour} {s.name} with {s.second} {s.pattern}")
    (out / "subjects.json").write_text(json.dumps(table, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
