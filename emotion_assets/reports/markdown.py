"""Embed a PNG in Markdown as a data URI (Dagster renders Markdown metadata; it has no image type)."""

from __future__ import annotations

import base64
import io

from PIL import Image

MAX_BASE64_CHARS = 200_000
_SHRINK_WIDTHS = (800, 640, 480, 360, 240)


def markdown_image(png_bytes: bytes, alt: str, *, max_chars: int = MAX_BASE64_CHARS) -> str:
    """`![alt](data:image/png;base64,...)`; the PNG is shrunk only when its base64 is too long."""
    data = png_bytes
    if _b64_len(data) > max_chars:
        data = shrink_png(png_bytes, max_chars)
    safe_alt = " ".join(alt.replace("[", "(").replace("]", ")").split())
    return f"![{safe_alt}](data:image/png;base64,{base64.b64encode(data).decode('ascii')})"


def shrink_png(png_bytes: bytes, max_chars: int = MAX_BASE64_CHARS) -> bytes:
    """Downscale and reduce to a 256-colour palette until the base64 fits (smallest try if not)."""
    with Image.open(io.BytesIO(png_bytes)) as original:
        image = original.convert("RGB")
    best = png_bytes
    for width in _SHRINK_WIDTHS:
        if width < image.width:
            height = round(image.height * width / image.width)
            candidate = image.resize((width, height), Image.Resampling.LANCZOS)
        else:
            candidate = image
        buf = io.BytesIO()
        # Fast octree: ~10x faster than the default median cut on a 1000 px chart (0.05 vs
        # 0.5 s, paid per embedded picture and run) and smaller files; zlib's default level.
        candidate.quantize(colors=256, method=Image.Quantize.FASTOCTREE).save(buf, format="PNG")
        best = buf.getvalue()
        if _b64_len(best) <= max_chars:
            break
    return best


def _b64_len(data: bytes) -> int:
    return 4 * ((len(data) + 2) // 3)
