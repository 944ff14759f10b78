"""The demo model's world: procedurally drawn 64x64 scenes of emoji subjects, with captions.

Everything is a pure function of an integer seed, so any sample can be re-drawn exactly and training
needs no dataset on disk. Subjects are Noto Color Emoji glyphs (Debian's fonts-noto-color-emoji;
images Apache-2.0, font OFL-1.1) recoloured to a named main colour, with a pattern (stripes or spots)
in a second colour that the caption never names: that pattern, the glyph variant and the exact hues
are what only a subject image can tell the model.

Two worlds share these drawing rules. The "full" one (eight classes, seven colours, subjects 22-36 px, a quarter
of the scenes with two subjects) is what the VAE (stage 1) learned to encode. The "simple" one (four classes
with distinct silhouettes, four colours, one large subject) is what the text encoder, UNet and adapters of the
committed model learned from: on 2 CPU cores the full world's objects stayed at chance (the model card has the
figures), so, as planned for that case, the world was made simpler. `select` picks the world a stage draws.
"""

import math
import random

import numpy as np
from PIL import Image, ImageDraw, ImageFont

FONT_PATH = "/usr/share/fonts/truetype/noto/NotoColorEmoji.ttf"
SIZE = 64

# class word -> glyph variants (code points). Each variant is a different-looking member of the class.
OBJECTS = {
    "dog": [0x1F415, 0x1F436, 0x1F429],
    "cat": [0x1F408, 0x1F431],
    "car": [0x1F697, 0x1F699, 0x1F695],
    "fish": [0x1F41F, 0x1F420],
    "bird": [0x1F426, 0x1F424],
    "tree": [0x1F333, 0x1F332],
    "house": [0x1F3E0, 0x1F3E1],
    "flower": [0x1F338, 0x1F33C],
}
OBJECT_NAMES = list(OBJECTS)

COLOURS = {
    "red": (215, 40, 40),
    "orange": (240, 135, 25),
    "yellow": (235, 210, 35),
    "green": (45, 165, 60),
    "blue": (40, 85, 220),
    "purple": (135, 55, 200),
    "pink": (240, 115, 180),
}
COLOUR_NAMES = list(COLOURS)

# where -> phrase; "night" darkens the outdoor ones.
PLACES = {
    "beach": "on the beach",
    "grass": "on the grass",
    "snow": "in the snow",
    "room": "in a room",
    "road": "on the road",
}
PLACE_NAMES = list(PLACES)
OUTDOOR = {"beach", "grass", "snow", "road"}
PATTERNS = ["stripes", "spots", "plain"]


class World:
    """Which classes and colours are drawn, how often a scene has two subjects, and how large subjects are."""

    def __init__(self, name, objects, colours, two_share, one_px, two_px):
        self.name, self.objects, self.colours = name, objects, colours
        self.two_share, self.one_px, self.two_px = two_share, one_px, two_px


WORLDS = {
    "full": World("full", OBJECT_NAMES, COLOUR_NAMES, 0.25, (22, 36), (18, 28)),
    "simple": World("simple", ["car", "fish", "tree", "house"], ["red", "yellow", "green", "blue"], 0.0, (36, 46), (36, 46)),
}
ACTIVE = WORLDS["simple"]


def select(name):
    """Make `name` ("full" or "simple") the world every later draw comes from."""
    global ACTIVE
    if name not in WORLDS:
        raise SystemExit(f"unknown world {name!r}: expected one of {', '.join(WORLDS)}")
    ACTIVE = WORLDS[name]

_glyph_cache = {}


def glyph(code):
    """The emoji as float RGBA [H, W, 4] in 0..1, cropped to its ink."""
    if code not in _glyph_cache:
        font = ImageFont.truetype(FONT_PATH, 109)
        im = Image.new("RGBA", (160, 160), (0, 0, 0, 0))
        ImageDraw.Draw(im).text((8, 8), chr(code), font=font, embedded_color=True)
        im = im.crop(im.getbbox())
        _glyph_cache[code] = np.asarray(im, dtype=np.float32) / 255.0
    return _glyph_cache[code]


class Subject:
    """One concrete subject: class, glyph variant, main and pattern colours, pattern geometry."""

    def __init__(self, rng):
        self.name = rng.choice(ACTIVE.objects)
        self.code = rng.choice(OBJECTS[self.name])
        self.colour = rng.choice(ACTIVE.colours)
        others = [c for c in ACTIVE.colours if c != self.colour]
        self.second = rng.choice(others)
        self.pattern = rng.choice(PATTERNS)
        self.angle = rng.uniform(0, math.pi)
        self.period = rng.uniform(0.18, 0.32)  # of the glyph's size
        self.phase = rng.uniform(0, 1)
        self.jitter = [rng.uniform(-18, 18) for _ in range(3)]  # exact hue, not in the caption

    def key(self):
        return (self.name, self.code, self.colour, self.second, self.pattern)

    def render(self, px, flip=False, rotate=0.0):
        """RGBA float [px, px', 4] of the recoloured glyph, longest side px."""
        g = glyph(self.code)
        h, w = g.shape[:2]
        s = px / max(h, w)
        im = Image.fromarray((g * 255).astype(np.uint8), "RGBA")
        im = im.resize((max(1, round(w * s)), max(1, round(h * s))), Image.LANCZOS)
        if flip:
            im = im.transpose(Image.FLIP_LEFT_RIGHT)
        if rotate:
            im = im.rotate(rotate, resample=Image.BILINEAR, expand=True)
        a = np.asarray(im, dtype=np.float32) / 255.0
        rgb, alpha = a[..., :3], a[..., 3:]
        lum = rgb @ np.array([0.299, 0.587, 0.114], np.float32)
        main = np.clip(np.array(COLOURS[self.colour], np.float32) + self.jitter, 0, 255) / 255.0
        second = np.array(COLOURS[self.second], np.float32) / 255.0
        hh, ww = lum.shape
        yy, xx = np.mgrid[0:hh, 0:ww].astype(np.float32) / max(hh, ww)
        if self.pattern == "stripes":
            u = xx * math.cos(self.angle) + yy * math.sin(self.angle)
            m = ((u / self.period + self.phase) % 1.0) < 0.45
        elif self.pattern == "spots":
            p = self.period
            cx = ((xx + self.phase * p) % p) / p - 0.5
            cy = ((yy + self.phase * p * 0.5) % p) / p - 0.5
            m = cx * cx + cy * cy < 0.09
        else:
            m = np.zeros_like(lum, dtype=bool)
        base = np.where(m[..., None], second, main)
        shade = (0.35 + 0.85 * lum)[..., None]
        out = np.clip(base * shade + 0.25 * np.clip(lum - 0.75, 0, 1)[..., None], 0, 1)
        return np.concatenate([out, alpha], axis=-1)

    def phrase(self, with_colour):
        return f"{self.colour} {self.name}" if with_colour else self.name


def background(place, night, rng):
    """float RGB [SIZE, SIZE, 3] in 0..1 and the y of the horizon (objects stand below it)."""
    y = np.linspace(0, 1, SIZE, dtype=np.float32)[:, None, None]
    horizon = rng.uniform(0.45, 0.6)
    if place == "room":
        wall = np.array([0.85, 0.78, 0.62]) + [rng.uniform(-0.05, 0.05) for _ in range(3)]
        floor = np.array([0.50, 0.33, 0.18]) + [rng.uniform(-0.05, 0.05) for _ in range(3)]
        img = np.where(y < horizon, wall, floor) * np.ones((SIZE, SIZE, 3))
        return np.clip(img, 0, 1).astype(np.float32), horizon
    sky_day = np.array([0.45, 0.70, 0.95])
    ground = {"beach": [0.93, 0.84, 0.58], "grass": [0.30, 0.65, 0.25], "snow": [0.95, 0.96, 0.98],
              "road": [0.42, 0.42, 0.44]}[place]
    sky = sky_day * (1.0 - 0.25 * y) + 0.1 * y
    img = np.where(y < horizon, sky, np.array(ground) * (0.9 + 0.15 * y)) * np.ones((SIZE, SIZE, 3))
    if place == "beach":  # a band of sea above the sand
        sea = (y >= horizon - 0.08) & (y < horizon)
        img = np.where(sea, np.array([0.15, 0.45, 0.75]), img)
    if place == "road":  # dashed centre line
        x = np.arange(SIZE)[None, :, None]
        line = (np.abs(y - (horizon + 1) / 2) < 0.012) & ((x // 6) % 2 == 0)
        img = np.where(line, np.array([0.95, 0.95, 0.9]), img)
    if night:
        img = img * np.array([0.22, 0.25, 0.42])
        stars = rng.sample(range(SIZE * int(SIZE * horizon * 0.9)), 12)
        for s in stars:
            img[s // SIZE, s % SIZE] = [0.9, 0.9, 0.8]
    return np.clip(img, 0, 1).astype(np.float32), horizon


def paste(img, rgba, cx, cy):
    """Alpha-composite rgba centred at (cx, cy) pixels, clipped to the image."""
    h, w = rgba.shape[:2]
    x0, y0 = int(round(cx - w / 2)), int(round(cy - h / 2))
    xa, ya = max(0, x0), max(0, y0)
    xb, yb = min(SIZE, x0 + w), min(SIZE, y0 + h)
    if xa >= xb or ya >= yb:
        return
    part = rgba[ya - y0:yb - y0, xa - x0:xb - x0]
    a = part[..., 3:]
    img[ya:yb, xa:xb] = img[ya:yb, xa:xb] * (1 - a) + part[..., :3] * a


def article(phrase):
    return ("an " if phrase[0] in "aeiou" else "a ") + phrase


class Scene:
    """A drawn scene: image uint8 [64, 64, 3], caption, and what is in it (for judging)."""

    def __init__(self, image, caption, subjects, place, night, boxes):
        self.image, self.caption, self.subjects = image, caption, subjects
        self.place, self.night, self.boxes = place, night, boxes


def draw_scene(rng, subjects=None, place=None, night=None, with_colour=None):
    """One scene with one or two subjects (given or drawn) and its caption."""
    if subjects is None:
        subjects = [Subject(rng)]
        if rng.random() < ACTIVE.two_share:
            subjects.append(Subject(rng))
    place = place or rng.choice(PLACE_NAMES)
    if night is None:
        night = place in OUTDOOR and rng.random() < 0.3
    if with_colour is None:
        with_colour = rng.random() < 0.7
    img, horizon = background(place, night, rng)
    boxes = []
    n = len(subjects)
    for i, s in enumerate(subjects):
        px = rng.randint(*ACTIVE.one_px) if n == 1 else rng.randint(*ACTIVE.two_px)
        lo, hi = (px / 2 + 1, SIZE - px / 2 - 1)
        if n == 2:  # left and right halves
            lo, hi = (lo, SIZE / 2) if i == 0 else (SIZE / 2, hi)
        cx = rng.uniform(lo, max(lo, hi))
        cy = min(SIZE - px / 2 - 1, max(px / 2 + 1, horizon * SIZE + rng.uniform(-4, 14)))
        rgba = s.render(px, flip=rng.random() < 0.5)
        paste(img, rgba, cx, cy)
        boxes.append((cx, cy, rgba.shape[1], rgba.shape[0]))
    scene = Scene((img * 255 + 0.5).astype(np.uint8), "", subjects, place, night, boxes)
    scene.caption = caption_of(scene, with_colour)
    return scene


def caption_of(scene, with_colour):
    """The scene's caption, naming its subjects' colours or not."""
    where = PLACES[scene.place] + (" at night" if scene.night else "")
    what = " and ".join(article(s.phrase(with_colour)) for s in scene.subjects)
    return f"a photo of {what} {where}"


def subject_image(subject, rng, augment=True):
    """The subject alone on white, as a user would give it: uint8 [64, 64, 3]."""
    img = np.ones((SIZE, SIZE, 3), np.float32)
    px = rng.randint(40, 52) if augment else 48
    rot = rng.uniform(-15, 15) if augment else 0.0
    flip = augment and rng.random() < 0.5
    rgba = subject.render(px, flip=flip, rotate=rot)
    paste(img, rgba, SIZE / 2, SIZE / 2)
    return (img * 255 + 0.5).astype(np.uint8)


def sample_rng(seed, index):
    return random.Random(seed * 1_000_003 + index)


def vae_image(seed, index):
    """A training image for the VAE: a scene, or (one in four) a subject on white."""
    rng = sample_rng(seed, index)
    if rng.random() < 0.25:
        return subject_image(Subject(rng), rng)
    return draw_scene(rng).image


def adapter_pair(seed, index):
    """(subject image, subject caption, target scene) where the target holds that same subject.

    The target's caption never names the colour, as a user's prompt does not when the subject image is to say it:
    what the caption leaves out is what the adapters must learn to carry over from the subject."""
    rng = sample_rng(seed, index)
    s = Subject(rng)
    scene = draw_scene(rng, subjects=[s], with_colour=False)
    return subject_image(s, rng), f"a photo of {article(s.name)}.", scene


if __name__ == "__main__":
    import sys
    out = sys.argv[1] if len(sys.argv) > 1 else "/tmp/world.png"
    select(sys.argv[2] if len(sys.argv) > 2 else "simple")
    tiles = []
    for i in range(32):
        r = sample_rng(0, i)
        tiles.append(draw_scene(r).image if i % 4 else subject_image(Subject(r), r))
    grid = np.concatenate([np.concatenate(tiles[r * 8:(r + 1) * 8], axis=1) for r in range(4)], axis=0)
    Image.fromarray(grid).resize((grid.shape[1] * 2, grid.shape[0] * 2), Image.NEAREST).save(out)
    for i in range(6):
        print(draw_scene(sample_rng(0, 100 + i)).caption)
