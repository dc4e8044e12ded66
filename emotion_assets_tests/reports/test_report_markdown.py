"""markdown_image: a data URI that decodes to the PNG, shrunk only when too big."""

from __future__ import annotations

import base64
import io
import re

import numpy as np
from PIL import Image

from emotion_assets.reports.markdown import MAX_BASE64_CHARS, markdown_image

_URI = re.compile(r"^!\[(?P<alt>[^\]]*)\]\(data:image/png;base64,(?P<data>[A-Za-z0-9+/=]+)\)$")


def _png(pixels: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(pixels).save(buf, format="PNG")
    return buf.getvalue()


def test_small_png_round_trips_exactly():
    png = _png(np.tile(np.arange(256, dtype=np.uint8), (40, 1)))
    match = _URI.match(markdown_image(png, "angry [rising]\nin the middle"))
    assert match is not None
    assert base64.b64decode(match["data"]) == png
    assert "[" not in match["alt"] and "\n" not in match["alt"]


def test_large_png_is_shrunk_below_the_budget_and_still_decodes():
    noise = np.random.default_rng(0).integers(0, 256, (900, 2400, 3), dtype=np.uint8)
    png = _png(noise)
    assert len(base64.b64encode(png)) > MAX_BASE64_CHARS
    match = _URI.match(markdown_image(png, "noise"))
    assert match is not None
    assert len(match["data"]) <= MAX_BASE64_CHARS
    with Image.open(io.BytesIO(base64.b64decode(match["data"]))) as image:
        assert image.format == "PNG"
        assert image.width < 2400
        # Aspect ratio kept within a pixel.
        assert abs(image.height - image.width * 900 / 2400) <= 1
