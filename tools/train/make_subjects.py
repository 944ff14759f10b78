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
# Two of each class of the (simple) world, each in a colour the prompt never names, the set covering every colour.
WANT = [("car", "road"), ("fish", "beach"), ("tree", "grass"), ("house", "snow"),
        ("car", "snow"), ("fish", "room"), ("tree", "beach"), ("house", "grass")]


def pick(name, used_colours, taken):
    """The first held-out patterned subject of class `name`, not taken yet, whose main colour is not used yet."""
    for i in range(10_000):
        rng = world.sample_rng(SEED, i)
        s = world.Subject(rng)
        if s.name == name and s.colour not in used_colours and s.pattern != "plain" and i not in taken:
            taken.add(i)
            return s, rng
    raise RuntimeError(name)


def main():
    out = common.DEMO / "subjects"
    out.mkdir(parents=True, exist_ok=True)
    used, taken, table = set(), set(), []
    for name, place in WANT:
        if len(used) == len(world.ACTIVE.colours):
            used = set()
        s, rng = pick(name, used | {t["colour"] for t in table if t["class"] == name}, taken)
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
