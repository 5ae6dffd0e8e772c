"""Race photos drawn with Pillow: runners wearing printed bibs, with what each photo truly shows.

Each photo is a 12 MP camera-like JPEG (4000 x 3000 by default): a textured background with a
finish banner and a clock (text that is not a bib), and one to three runners. Each runner's bib
is a white or yellow card with the race's name in small type and the number in large type,
drawn in one of the fonts we ship (IPAex Gothic, Pillow's Aileron), regular or bold, at a
distance (bib width 220-620 px), then turned up to ±15°, tilted in perspective, and sometimes
partly covered by an arm. The whole photo may be out of focus (Gaussian blur).

Everything comes from a seed, so the benchmark and the tests draw the same photos every run.
``bench/bibs.py`` and ``tests/races`` use it; it is not part of the product.
"""

from __future__ import annotations

import io
import random
from dataclasses import dataclass, field
from importlib import resources

from PIL import Image, ImageDraw, ImageFilter, ImageFont

SIZE = (4000, 3000)
SHIRTS = [(200, 30, 40), (30, 80, 170), (20, 20, 20), (240, 120, 20), (60, 150, 70), (120, 40, 140)]
SKIN = [(240, 200, 170), (200, 150, 110), (140, 95, 60)]
CARDS = [(250, 250, 250), (250, 250, 250), (255, 230, 60)]


@dataclass(frozen=True)
class Conditions:
    """How hard one photo is to read: each value the most a bib in it may get."""

    rotation: float = 15.0  # degrees, either way
    perspective: float = 0.12  # share of the bib's width one side may shrink
    blur: float = 2.5  # Gaussian radius in pixels of the 12 MP photo
    occlusion: float = 0.3  # share of the bib's width an arm may cover
    occluded_share: float = 0.3  # share of bibs that get an arm


@dataclass
class BibPhoto:
    """One drawn photo: its JPEG bytes and the bibs it shows (``covered``: an arm across the card;
    ``hidden``: the arm covers some of a digit's ink, so a reader may not be sure of the number;
    ``digit_hidden``: for each covered bib, the largest share of one digit's ink under the arm,
    0 to 1, from the card's pixels)."""

    jpeg: bytes
    bibs: list[str]
    covered: list[str] = field(default_factory=list)
    hidden: list[str] = field(default_factory=list)
    blur: float = 0.0
    digit_hidden: dict[str, float] = field(default_factory=dict)


def entry_list(seed: int = 7, count: int = 800) -> list[str]:
    """A race's bibs: ``count`` distinct numbers of 1 to 4 digits (1-1999, mostly 3-4 digits)."""
    rng = random.Random(seed)
    return sorted({str(n) for n in rng.sample(range(1, 2000), count)}, key=int)


def fonts() -> list[tuple[str, int]]:
    """The typefaces bibs are printed in, with a stroke width (0 regular, >0 bold)."""
    ipa = str(resources.files("bakusoku.races") / "fonts" / "ipaexg.ttf")
    return [(ipa, 0), (ipa, 1), ("aileron", 0), ("aileron", 1)]


def _font(name: str, size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    if name == "aileron":
        return ImageFont.load_default(size=size)
    return ImageFont.truetype(name, size)


def draw_photo(
    rng: random.Random,
    bibs: list[str],
    conditions: Conditions = Conditions(),
    size: tuple[int, int] = SIZE,
    quality: int = 90,
) -> BibPhoto:
    """A photo of ``len(bibs)`` runners (one to three) wearing those bibs."""
    width, height = size
    photo = _background(rng, size)
    draw = ImageDraw.Draw(photo)
    _banner(rng, photo, draw)
    slots = width // max(len(bibs), 1)
    covered, hidden = [], []
    digit_hidden = {}
    for index, bib in enumerate(bibs):
        bib_width = rng.randint(220, 620) * width // 4000
        centre_x = slots * index + slots // 2 + rng.randint(-slots // 8, slots // 8)
        torso_top = height // 2 - bib_width // 3 + rng.randint(-height // 10, height // 10)
        _runner(rng, draw, centre_x, torso_top, bib_width)
        card, digits = _bib_card(rng, bib, bib_width)
        card, digits = _distort(rng, card, digits, conditions)
        x = centre_x - card.width // 2
        y = torso_top + bib_width // 4
        photo.paste(card, (x, y), card)
        if rng.random() < conditions.occluded_share:
            arm = _arm(rng, draw, x, y, card.size, conditions.occlusion)
            covered.append(bib)
            digit_hidden[bib] = _ink_hidden(digits, len(bib), arm, (x, y))
            if digit_hidden[bib] > 0.0:
                hidden.append(bib)
    blur = rng.uniform(0.0, conditions.blur)
    if blur >= 0.3:
        photo = photo.filter(ImageFilter.GaussianBlur(blur))
    out = io.BytesIO()
    photo.save(out, "JPEG", quality=quality)
    return BibPhoto(out.getvalue(), list(bibs), covered, hidden, blur, digit_hidden)


def photo_set(
    count: int, seed: int = 1, conditions: Conditions = Conditions(), size: tuple[int, int] = SIZE
) -> list[BibPhoto]:
    """``count`` photos of runners whose bibs come from ``entry_list()``."""
    rng = random.Random(seed)
    entrants = entry_list()
    return [
        draw_photo(rng, rng.sample(entrants, rng.randint(1, 3)), conditions, size)
        for _ in range(count)
    ]


def _background(rng: random.Random, size: tuple[int, int]) -> Image.Image:
    """Smooth colour fields with mid-scale texture, as a road, crowd and trees might give."""
    width, height = size
    fields = Image.merge(
        "RGB", [Image.effect_noise((width // 80, height // 80), 70) for _ in range(3)]
    ).resize(size, Image.Resampling.BICUBIC)
    texture = Image.effect_noise((width // 4, height // 4), 40).resize(size).convert("RGB")
    tint = Image.new(
        "RGB", size, (rng.randint(60, 140), rng.randint(80, 150), rng.randint(60, 120))
    )
    return Image.blend(Image.blend(fields, tint, 0.5), texture, 0.2)


def _banner(rng: random.Random, photo: Image.Image, draw: ImageDraw.ImageDraw) -> None:
    """Text that is not a bib: the finish banner with the year, and the race clock."""
    width, _ = photo.size
    name, _ = rng.choice(fonts())
    draw.rectangle((0, 80, width, 380), fill=(20, 40, 120))
    draw.text((200, 130), "SHONAN MARATHON 2026  FINISH", font=_font(name, 170), fill="white")
    clock = f"{rng.randint(2, 5)}:{rng.randint(0, 59):02d}:{rng.randint(0, 59):02d}"
    draw.rectangle((width - 900, 420, width - 150, 640), fill=(10, 10, 10))
    draw.text((width - 860, 440), clock, font=_font(name, 160), fill=(255, 80, 40))


def _runner(
    rng: random.Random, draw: ImageDraw.ImageDraw, centre_x: int, top: int, bib_width: int
) -> None:
    """A torso in a running shirt, a head and legs, sized to the bib."""
    shirt = rng.choice(SHIRTS)
    skin = rng.choice(SKIN)
    half = int(bib_width * 0.8)
    body = int(bib_width * 1.6)
    head = int(bib_width * 0.35)
    draw.ellipse((centre_x - head, top - 2 * head - 20, centre_x + head, top - 20), fill=skin)
    draw.rounded_rectangle(
        (centre_x - half, top, centre_x + half, top + body), radius=bib_width // 6, fill=shirt
    )
    leg = bib_width // 4
    for side in (-1, 1):
        x = centre_x + side * half // 2
        draw.rectangle((x - leg, top + body, x + leg, top + body + body), fill=skin)


def _bib_card(rng: random.Random, bib: str, width: int) -> tuple[Image.Image, Image.Image]:
    """The printed bib: the race's name small on top, the number large below; and where each
    digit's ink is (a mask: the ``i``-th character's pixels are ``i + 1``; it draws nothing from
    ``rng``)."""
    height = int(width * 0.7)
    card = Image.new("RGBA", (width, height), (*rng.choice(CARDS), 255))
    draw = ImageDraw.Draw(card)
    name, stroke = rng.choice(fonts())
    small = _font(name, max(height // 9, 8))
    draw.text((width // 2, height // 10), "SHONAN 2026", font=small, fill=(30, 30, 30), anchor="mt")
    size = int(height * 0.55)
    number = _font(name, size)
    while draw.textlength(bib, font=number) > width * 0.88 and size > 10:
        size = int(size * 0.9)
        number = _font(name, size)
    ink = rng.choice([(10, 10, 10), (10, 10, 10), (180, 20, 30), (20, 40, 140)])
    draw.text(
        (width // 2, int(height * 0.6)),
        bib,
        font=number,
        fill=ink,
        anchor="mm",
        stroke_width=stroke * max(size // 30, 1),
        stroke_fill=ink,
    )
    for x in (width // 12, width - width // 12):  # safety pins
        for y in (height // 12, height - height // 12):
            draw.ellipse((x - 4, y - 4, x + 4, y + 4), fill=(160, 160, 160))
    digits = Image.new("L", card.size, 0)
    ink = ImageDraw.Draw(digits)
    left = width / 2 - draw.textlength(bib, font=number) / 2
    for index, character in enumerate(bib):
        ink.text(
            (left + draw.textlength(bib[:index], font=number), int(height * 0.6)),
            character,
            font=number,
            fill=index + 1,
            anchor="lm",
            stroke_width=stroke * max(size // 30, 1),
            stroke_fill=index + 1,
        )
    return card, digits


def _distort(
    rng: random.Random, card: Image.Image, digits: Image.Image, conditions: Conditions
) -> tuple[Image.Image, Image.Image]:
    """Tilt the card in perspective (one side farther), then turn it; its digits' mask moves
    with it."""
    width, height = card.size
    shrink = rng.uniform(0, conditions.perspective) * height / 2
    if rng.random() < 0.5:  # right side farther away
        quad = (0, 0, 0, height, width, height - shrink, width, shrink)
    else:
        quad = (0, shrink, 0, height - shrink, width, height, width, 0)
    card = card.transform(card.size, Image.Transform.QUAD, quad, Image.Resampling.BICUBIC)
    digits = digits.transform(digits.size, Image.Transform.QUAD, quad, Image.Resampling.NEAREST)
    angle = rng.uniform(-conditions.rotation, conditions.rotation)
    return (
        card.rotate(angle, Image.Resampling.BICUBIC, expand=True),
        digits.rotate(angle, Image.Resampling.NEAREST, expand=True),
    )


def _arm(
    rng: random.Random,
    draw: ImageDraw.ImageDraw,
    x: int,
    y: int,
    card: tuple[int, int],
    most: float,
) -> tuple[int, int, int, int]:
    """An arm across one side of the bib, covering up to ``most`` of its width; its box in the
    photo."""
    width, height = card
    share = rng.uniform(0.03, most)
    cover = int(width * share)
    skin = rng.choice(SKIN)
    if rng.random() < 0.5:
        box = (x - width // 10, y + height // 5, x + cover, y + height + height // 5)
    else:
        box = (
            x + width - cover,
            y + height // 5,
            x + width + width // 10,
            y + height + height // 5,
        )
    draw.rounded_rectangle(box, radius=width // 12, fill=skin)
    return box


def _ink_hidden(
    digits: Image.Image, count: int, arm: tuple[int, int, int, int], at: tuple[int, int]
) -> float:
    """The largest share of one digit's ink the arm covers (``digits`` pasted at ``at``)."""
    width, _ = digits.size
    under = Image.new("1", digits.size, 0)
    left, top, right, bottom = arm
    ImageDraw.Draw(under).rounded_rectangle(
        (left - at[0], top - at[1], right - at[0], bottom - at[1]), radius=width // 12, fill=1
    )
    worst = 0.0
    for index in range(1, count + 1):
        ink = digits.point(lambda value, index=index: 255 if value == index else 0, "1")
        total = ink.histogram()[-1]
        hidden = Image.composite(ink, Image.new("1", digits.size, 0), under).histogram()[-1]
        worst = max(worst, hidden / max(total, 1))
    return worst
