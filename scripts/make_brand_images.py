"""Draw the integration's brand images (icon and logo, normal and @2x).

Run with any Python that has Pillow (Home Assistant's venv does):
    python scripts/make_brand_images.py
The PNGs are committed; this script documents how they were made.
"""

from __future__ import annotations

from pathlib import Path

from PIL import Image, ImageDraw

BRAND = Path(__file__).resolve().parent.parent / "custom_components/iota_energy/brand"
TEAL = (19, 150, 140, 255)
AMBER = (255, 193, 7, 255)
WHITE = (255, 255, 255, 255)


def draw_icon(size: int) -> Image.Image:
    """A teal disc with an amber lightning bolt and three IOTA-like dots."""
    image = Image.new("RGBA", (size, size), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    pad = size // 32
    draw.ellipse((pad, pad, size - pad, size - pad), fill=TEAL)
    s = size / 256
    bolt = [
        (140, 30),
        (72, 140),
        (120, 140),
        (100, 226),
        (184, 106),
        (134, 106),
        (158, 30),
    ]
    draw.polygon([(x * s, y * s) for x, y in bolt], fill=AMBER)
    for cx, cy in ((58, 70), (46, 100), (70, 96)):
        r = 10 * s
        draw.ellipse((cx * s - r, cy * s - r, cx * s + r, cy * s + r), fill=WHITE)
    return image


def draw_logo(height: int) -> Image.Image:
    """The icon followed by three bars that rise like an energy meter."""
    width = height * 21 // 10
    image = Image.new("RGBA", (width, height), (0, 0, 0, 0))
    image.paste(draw_icon(height), (0, 0))
    draw = ImageDraw.Draw(image)
    bar = height // 5
    for index, level in enumerate((0.35, 0.6, 0.85)):
        left = height + bar + index * (bar * 3 // 2)
        top = int(height * (1 - level))
        draw.rounded_rectangle(
            (left, top, left + bar, height - height // 16), radius=bar // 4, fill=TEAL
        )
    return image


def main() -> None:
    """Write icon.png, icon@2x.png, logo.png and logo@2x.png."""
    BRAND.mkdir(parents=True, exist_ok=True)
    draw_icon(256).save(BRAND / "icon.png", optimize=True)
    draw_icon(512).save(BRAND / "icon@2x.png", optimize=True)
    draw_logo(128).save(BRAND / "logo.png", optimize=True)
    draw_logo(256).save(BRAND / "logo@2x.png", optimize=True)


if __name__ == "__main__":
    main()
