"""Procedural "paintings" used as style images for neural style transfer.

Every picture here is computed from scratch with NumPy and Pillow, so the
style images of this project carry no third-party copyright. Each generator is
deterministic for a given seed and is tuned to be rich in texture and colour,
which makes the effect of a style transfer easy to see.

The module depends only on NumPy, Pillow and the standard library, so it can
also be run as a script::

    python3 tools/artwork.py images/style --seed 0 --force

Styles
------
swirls
    Short curved brush strokes following a swirling flow field with vortices,
    in deep blues, cyan, yellow and white (in the spirit of Van Gogh).
mosaic
    Stained glass: Voronoi tiles of saturated glass between thick dark lead.
geometric
    A bold abstract composition of circles, triangles, grids and thick lines
    on a textured ground (in the spirit of Kandinsky).
waves
    Stylised woodblock-print waves: layered curling bands of prussian blue
    with off-white foam, claw-like spray and fine hatching (after Hokusai).
pointillism
    A riverside landscape built from thousands of small dots of pure colour
    (in the spirit of Seurat).
"""

from __future__ import annotations

import argparse
import io
import math
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

Size = tuple[int, int]
Painter = Callable[[Size, np.random.Generator], Image.Image]

DEFAULT_SIZE: Size = (512, 384)
JPEG_QUALITY = 90
MAX_BYTES = 300_000
_MIN_SIDE = 32
_SUPERSAMPLE = 2


# ---------------------------------------------------------------------------
# Small numerical helpers
# ---------------------------------------------------------------------------


def _fbm(
    rng: np.random.Generator,
    width: int,
    height: int,
    cells: float = 4.0,
    octaves: int = 4,
    persistence: float = 0.5,
    stretch: tuple[float, float] = (1.0, 1.0),
) -> np.ndarray:
    """Fractal value noise scaled to [0, 1], shape ``(height, width)``.

    ``cells`` is the number of lattice cells across the width for the first
    octave; ``stretch`` multiplies the lattice density along x and y, so
    ``(0.2, 1.0)`` gives noise streaked horizontally.
    """
    total = np.zeros((height, width), dtype=np.float32)
    amplitude = 1.0
    for octave in range(octaves):
        freq = cells * 2**octave
        gx = max(2, math.ceil(freq * stretch[0]))
        gy = max(2, math.ceil(freq * stretch[1] * height / width))
        grid = rng.random((gy, gx), dtype=np.float32)
        layer = Image.fromarray(grid).resize((width, height), Image.Resampling.BICUBIC)
        total += amplitude * np.asarray(layer, dtype=np.float32)
        amplitude *= persistence
    low, high = float(total.min()), float(total.max())
    return (total - low) / max(high - low, 1e-6)


def _box(arr: np.ndarray, radius: int, axis: int) -> np.ndarray:
    """Running mean of width ``2 * radius + 1`` along ``axis`` (edge padded)."""
    pad = [(0, 0)] * arr.ndim
    pad[axis] = (radius + 1, radius)
    csum = np.cumsum(np.pad(arr, pad, mode="edge"), axis=axis, dtype=np.float64)
    n = arr.shape[axis]
    upper = np.take(csum, np.arange(2 * radius + 1, 2 * radius + 1 + n), axis=axis)
    lower = np.take(csum, np.arange(n), axis=axis)
    return ((upper - lower) / (2 * radius + 1)).astype(np.float32)


def _blur(arr: np.ndarray, radius: float) -> np.ndarray:
    """Approximate Gaussian blur of a 2-D or 3-D float array (box passes)."""
    r = max(1, round(radius))
    out = np.asarray(arr, dtype=np.float32)
    for axis in (0, 1):
        for _ in range(3):
            out = _box(out, r, axis)
    return out


def _remap(rgb: np.ndarray, dx: np.ndarray, dy: np.ndarray) -> np.ndarray:
    """Bilinear lookup ``rgb[y + dy, x + dx]`` for an (H, W, 3) float image."""
    h, w = rgb.shape[:2]
    gy, gx = np.mgrid[0:h, 0:w].astype(np.float32)
    sx = np.clip(gx + dx, 0, w - 1.001)
    sy = np.clip(gy + dy, 0, h - 1.001)
    x0, y0 = sx.astype(np.intp), sy.astype(np.intp)
    fx, fy = (sx - x0)[..., None], (sy - y0)[..., None]
    top = rgb[y0, x0] * (1 - fx) + rgb[y0, x0 + 1] * fx
    bottom = rgb[y0 + 1, x0] * (1 - fx) + rgb[y0 + 1, x0 + 1] * fx
    return top * (1 - fy) + bottom * fy


def _smoothstep(edge0: float, edge1: float, x: np.ndarray) -> np.ndarray:
    """Hermite step from 0 (``x <= edge0``) to 1 (``x >= edge1``)."""
    t = np.clip((x - edge0) / (edge1 - edge0), 0.0, 1.0)
    return t * t * (3.0 - 2.0 * t)


def _hex(*codes: str) -> np.ndarray:
    """Colours given as ``"#rrggbb"`` strings, as floats in [0, 1], shape (n, 3)."""
    return np.array(
        [[int(c[i : i + 2], 16) / 255.0 for i in (1, 3, 5)] for c in codes],
        dtype=np.float32,
    )


def _ramp(palette: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Piecewise-linear colour ramp: map ``t`` in [0, 1] onto ``palette``."""
    pos = np.clip(t, 0.0, 1.0) * (len(palette) - 1)
    lo = np.minimum(pos.astype(np.int32), len(palette) - 2)
    frac = (pos - lo)[..., None]
    return palette[lo] * (1.0 - frac) + palette[lo + 1] * frac


def _mix(a: np.ndarray, b: np.ndarray, t: np.ndarray | float) -> np.ndarray:
    """Linear interpolation ``a + (b - a) * t``; ``t`` holds one weight per pixel."""
    if isinstance(t, np.ndarray) and t.ndim >= 1 and t.shape[-1] != 1:
        t = t[..., None]
    return a + (b - a) * t


def _to_image(rgb: np.ndarray) -> Image.Image:
    """Float RGB array in [0, 1] to an 8-bit PIL image."""
    data = np.clip(rgb * 255.0 + 0.5, 0, 255).astype(np.uint8)
    return Image.fromarray(data)


def _from_image(image: Image.Image) -> np.ndarray:
    """8-bit PIL image to a float RGB array in [0, 1]."""
    return np.asarray(image.convert("RGB"), dtype=np.float32) / 255.0


def _colour(rgb: np.ndarray, alpha: int | None = None) -> tuple[int, ...]:
    """Float colour to an integer tuple for ``ImageDraw`` (optionally RGBA)."""
    values = [int(v) for v in np.clip(np.asarray(rgb) * 255.0 + 0.5, 0, 255)]
    if alpha is not None:
        values.append(int(alpha))
    return tuple(values)


def _canvas_grain(rng: np.random.Generator, width: int, height: int) -> np.ndarray:
    """Multiplicative canvas/paper texture around 1.0, shape (height, width)."""
    fibres = _fbm(rng, width, height, cells=width / 6, octaves=2, stretch=(0.3, 1.0))
    blotches = _fbm(rng, width, height, cells=3, octaves=4)
    return 0.93 + 0.08 * fibres + 0.06 * blotches


def _downsample(image: Image.Image, size: Size) -> Image.Image:
    """Reduce a supersampled drawing to the requested size."""
    return image.resize(size, Image.Resampling.LANCZOS)


# ---------------------------------------------------------------------------
# swirls
# ---------------------------------------------------------------------------


def _swirls(size: Size, rng: np.random.Generator) -> Image.Image:
    """Impasto brush strokes following a swirling sky (after Van Gogh)."""
    w, h = size
    unit = float(min(w, h))
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)

    # Rolling horizon of dark hills along the bottom.
    hill_noise = _fbm(rng, w, 1, cells=3, octaves=3)[0]
    phase = rng.uniform(0, 2 * np.pi)
    hill = h * (0.80 + 0.05 * np.sin(2 * np.pi * np.arange(w) / w * 1.3 + phase) + 0.05 * (hill_noise - 0.5))
    land = yy > hill[None, :]

    # Flow field: a wavy current plus a few large vortices and small stars.
    wobble = _fbm(rng, w, h, cells=2, octaves=3)
    vx = np.ones((h, w), dtype=np.float32)
    vy = 0.55 * np.sin(2 * np.pi * xx / (0.6 * w) + 5.0 * wobble + yy / (0.2 * h))

    vortices = []
    for _ in range(int(rng.integers(2, 4))):
        cx = rng.uniform(0.2, 0.8) * w
        cy = rng.uniform(0.2, 0.55) * h
        vortices.append((cx, cy, rng.uniform(0.16, 0.26) * unit, 3.0, False))
    moon = (rng.uniform(0.72, 0.9) * w, rng.uniform(0.12, 0.22) * h)
    vortices.append((moon[0], moon[1], 0.12 * unit, 3.0, True))
    for _ in range(int(rng.integers(6, 10))):
        cx = rng.uniform(0.04, 0.96) * w
        cy = rng.uniform(0.05, 0.62) * h
        vortices.append((cx, cy, rng.uniform(0.045, 0.075) * unit, 3.0, True))

    # Sky colour: navy to pale cyan in rolling bands, rings around vortices.
    sky_palette = _hex("#0b1a4a", "#16307a", "#2452a8", "#3f7fc4", "#7fbcd6", "#cfe6e6")
    tone = 0.30 + 0.35 * _fbm(rng, w, h, cells=3, octaves=4) + 0.18 * yy / h
    bands = np.sin(2 * np.pi * (yy + 0.04 * h * np.sin(xx / (0.09 * w))) / (0.11 * h))
    tone += 0.2 * bands
    star_weight = np.zeros((h, w), dtype=np.float32)
    star_core = np.zeros((h, w), dtype=np.float32)
    for cx, cy, radius, strength, is_star in vortices:
        dx, dy = xx - cx, yy - cy
        dist = np.sqrt(dx * dx + dy * dy) + 1e-3
        fall = np.exp(-((dist / radius) ** 2))
        sign = 1.0 if is_star else float(rng.choice([-1.0, 1.0]))
        spin = sign * strength * fall
        vx += spin * (-dy / dist) - 0.25 * strength * fall * dx / dist
        vy += spin * (dx / dist) - 0.25 * strength * fall * dy / dist
        if is_star:
            star_weight = np.maximum(star_weight, fall)
            star_core = np.maximum(star_core, _smoothstep(0.45, 0.25, dist / radius))
        else:
            tone += 0.4 * fall * np.cos(3.0 * np.pi * dist / radius)
    colour = _ramp(sky_palette, tone)

    yellow = _hex("#f2c230")[0]
    pale = _hex("#fbe9a0")[0]
    white = _hex("#fbfaf0")[0]
    ring = 0.5 + 0.5 * np.cos(np.pi * 2.2 * (1.0 - star_weight))
    colour = _mix(colour, _mix(pale, white, ring), np.clip(star_weight * 1.3, 0, 1) ** 2)
    colour = _mix(colour, yellow, star_core)

    # Land colours and a horizontal flow that follows the hill line.
    land_palette = _hex("#050b16", "#0c2030", "#173a48", "#2a5868")
    land_tone = 0.25 + 0.6 * _fbm(rng, w, h, cells=6, octaves=3)
    land_tone += 0.15 * np.sin(2 * np.pi * (yy - hill[None, :]) / (0.05 * h))
    colour = np.where(land[..., None], _ramp(land_palette, land_tone), colour)
    slope = np.gradient(hill)[None, :]
    vx = np.where(land, 1.0, vx)
    vy = np.where(land, slope + 0.25 * (wobble - 0.5), vy)
    angle = np.arctan2(vy, vx)

    # Underpainting: blurred colour field on a woven canvas.
    under = _blur(colour, 3) * _canvas_grain(rng, w, h)[..., None]
    scale = _SUPERSAMPLE
    canvas = _to_image(under).resize((w * scale, h * scale), Image.Resampling.BICUBIC)
    draw = ImageDraw.Draw(canvas)

    area = w * h
    passes = [  # (number of strokes, length range, width range, jitter)
        (area // 60, (14.0, 24.0), (4.5, 6.0), 0.05),
        (area // 40, (9.0, 16.0), (3.0, 4.2), 0.07),
        (area // 150, (6.0, 10.0), (2.0, 3.0), 0.12),
    ]
    steps = 7
    for count, (len_lo, len_hi), (wid_lo, wid_hi), jitter in passes:
        seeds = rng.random((count, 2)) * np.array([w, h])
        length = rng.uniform(len_lo, len_hi, count) * unit / 384.0
        width = rng.uniform(wid_lo, wid_hi, count) * unit / 384.0
        step = (length / steps)[:, None]
        # Start half a stroke upstream so each stroke is centred on its seed.
        pos = seeds.copy()
        for _ in range(steps // 2):
            ix = np.clip(pos[:, 0].astype(int), 0, w - 1)
            iy = np.clip(pos[:, 1].astype(int), 0, h - 1)
            a = angle[iy, ix]
            pos -= step * np.stack([np.cos(a), np.sin(a)], axis=1)
        path = [pos.copy()]
        for _ in range(steps):
            ix = np.clip(pos[:, 0].astype(int), 0, w - 1)
            iy = np.clip(pos[:, 1].astype(int), 0, h - 1)
            a = angle[iy, ix]
            pos = pos + step * np.stack([np.cos(a), np.sin(a)], axis=1)
            path.append(pos.copy())
        paths = np.stack(path, axis=1) * scale
        sx = np.clip(seeds[:, 0].astype(int), 0, w - 1)
        sy = np.clip(seeds[:, 1].astype(int), 0, h - 1)
        base = colour[sy, sx]
        base = base + rng.normal(0, 0.4 * jitter, (count, 3))
        base = np.clip(base + rng.normal(0, jitter, (count, 1)), 0, 1)
        dark = base * 0.68
        light = base + (1.0 - base) * 0.4
        for k in range(count):
            px = int(round(width[k] * scale))
            pts = paths[k]
            off = 0.3 * px
            draw.line([tuple(p) for p in pts + off], fill=_colour(dark[k]), width=px, joint="curve")
            draw.line([tuple(p) for p in pts], fill=_colour(base[k]), width=px, joint="curve")
            draw.line(
                [tuple(p) for p in pts - off],
                fill=_colour(light[k]),
                width=max(1, px // 3),
                joint="curve",
            )
    return _downsample(canvas, size)


# ---------------------------------------------------------------------------
# mosaic
# ---------------------------------------------------------------------------


def _nearest_two(xx: np.ndarray, yy: np.ndarray, seeds: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Index of the nearest seed and the distances to the nearest two seeds."""
    px = np.stack([xx.ravel(), yy.ravel()], axis=1).astype(np.float32)
    labels = np.empty(len(px), dtype=np.int32)
    d1 = np.empty(len(px), dtype=np.float32)
    d2 = np.empty(len(px), dtype=np.float32)
    seeds = seeds.astype(np.float32)
    sq_seeds = (seeds**2).sum(axis=1)
    chunk = 16384
    for start in range(0, len(px), chunk):
        p = px[start : start + chunk]
        dist = (p**2).sum(axis=1)[:, None] - 2.0 * p @ seeds.T + sq_seeds[None, :]
        two = np.argpartition(dist, 1, axis=1)[:, :2]
        pair = np.take_along_axis(dist, two, axis=1)
        swap = pair[:, 0] > pair[:, 1]
        first = np.where(swap, two[:, 1], two[:, 0])
        labels[start : start + chunk] = first
        d1[start : start + chunk] = np.sqrt(np.maximum(pair.min(axis=1), 0))
        d2[start : start + chunk] = np.sqrt(np.maximum(pair.max(axis=1), 0))
    shape = xx.shape
    return labels.reshape(shape), d1.reshape(shape), d2.reshape(shape)


def _mosaic(size: Size, rng: np.random.Generator) -> Image.Image:
    """Stained glass: Voronoi tiles of saturated glass between thick lead."""
    w, h = size
    unit = float(min(w, h))
    cx, cy = w * rng.uniform(0.4, 0.6), h * rng.uniform(0.42, 0.58)

    # Seeds: a rose window of concentric rings in the middle, random elsewhere.
    seeds = []
    ring_of = []
    radii = [0.0, 0.09, 0.18, 0.29, 0.41]
    counts = [1, 7, 14, 22, 30]
    for ring, (radius, count) in enumerate(zip(radii, counts, strict=True)):
        offset = rng.uniform(0, 2 * np.pi)
        for j in range(count):
            theta = offset + 2 * np.pi * j / count
            r = radius * unit * rng.uniform(0.97, 1.03)
            seeds.append((cx + r * np.cos(theta), cy + r * np.sin(theta)))
            ring_of.append(ring)
    outer = 0.47 * unit
    n_rand = int(w * h / (0.10 * unit) ** 2 * 0.8)
    while n_rand > 0:
        x, y = rng.uniform(-0.02 * w, 1.02 * w), rng.uniform(-0.02 * h, 1.02 * h)
        if math.hypot(x - cx, y - cy) > outer + 0.03 * unit:
            seeds.append((x, y))
            ring_of.append(-1)
            n_rand -= 1
    seeds_arr = np.array(seeds, dtype=np.float32)
    rings = np.array(ring_of)

    # Two rounds of Lloyd relaxation even out the random tiles.
    small = 3
    sy, sx = np.mgrid[0:h:small, 0:w:small].astype(np.float32)
    for _ in range(2):
        lab, _, _ = _nearest_two(sx, sy, seeds_arr)
        n = len(seeds_arr)
        cnt = np.bincount(lab.ravel(), minlength=n).astype(np.float32)
        mx = np.bincount(lab.ravel(), weights=sx.ravel(), minlength=n)
        my = np.bincount(lab.ravel(), weights=sy.ravel(), minlength=n)
        free = (rings < 0) & (cnt > 0)
        seeds_arr[free, 0] = mx[free] / cnt[free]
        seeds_arr[free, 1] = my[free] / cnt[free]

    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    labels, d1, d2 = _nearest_two(xx, yy, seeds_arr)
    edge = 0.5 * (d2 - d1)  # approximate distance to the tile border

    glass = _hex(
        "#b3122e",
        "#1d3fae",
        "#0f8a4c",
        "#f0a21a",
        "#f7d23c",
        "#6a2a9c",
        "#12a0a8",
        "#e0601a",
        "#2a7fd4",
        "#c8246e",
    )
    n = len(seeds_arr)
    tile_colour = glass[rng.integers(0, len(glass), n)]
    ring_colour = glass[rng.permutation(len(glass))[:5]]
    in_rose = rings >= 0
    tile_colour[in_rose] = ring_colour[rings[in_rose]]
    # Alternate two colours around each ring for a radial pattern.
    alt = glass[rng.permutation(len(glass))[:5]]
    idx = np.arange(n)
    odd = in_rose & (idx % 2 == 1) & (rings >= 2)
    tile_colour[odd] = alt[rings[odd]]
    tile_colour *= rng.uniform(0.8, 1.1, (n, 1)).astype(np.float32)

    # The window's round frame is a lead line too: tiles that cross it are
    # cut in two, and the outer piece gets a colour of its own.
    rose_r = np.hypot(xx - cx, yy - cy)
    frame = outer + 0.01 * unit
    outside = rose_r > frame
    other = glass[rng.integers(0, len(glass), n)] * rng.uniform(0.8, 1.1, (n, 1))
    base = np.where(outside[..., None], other[labels], tile_colour[labels])
    edge = np.minimum(edge, np.abs(rose_r - frame))

    # Glass texture: mottling, streaks at a per-tile angle, brighter centres.
    mottle = _fbm(rng, w, h, cells=10, octaves=4)
    speckle = _fbm(rng, w, h, cells=60, octaves=2)
    tile_angle = rng.uniform(0, np.pi, n)[labels]
    along = xx * np.cos(tile_angle) + yy * np.sin(tile_angle)
    ripple = np.sin(along / (0.012 * unit) + 5.0 * mottle)
    density = rng.uniform(-0.25, 0.25, n)[labels] * np.sin(along / (0.08 * unit))
    depth = np.clip(edge / (0.05 * unit), 0, 1)
    shade = 0.5 + 0.45 * np.sqrt(depth) + 0.35 * (mottle - 0.5) + 0.2 * (speckle - 0.5) + 0.08 * ripple + density
    light = np.exp(-(((xx - 0.3 * w) ** 2 + (yy - 0.2 * h) ** 2) / (0.8 * unit) ** 2))
    shade = shade * (0.8 + 0.4 * light)
    rgb = base * shade[..., None]
    # Bright glints where light passes through thin glass, and a few bubbles.
    glint = _smoothstep(0.8, 0.97, _fbm(rng, w, h, cells=14, octaves=2))
    rgb = _mix(rgb, np.ones(3, dtype=np.float32), 0.4 * glint * depth)
    bubbles = _smoothstep(0.9, 0.97, speckle) * depth
    rgb = rgb * (1.0 - 0.35 * bubbles)[..., None]

    # Lead came: dark, with a soft highlight along its rounded middle.
    half = 0.009 * unit + 0.6
    t = np.clip(edge / half, 0, 1)
    lead = (0.05 + 0.16 * (1.0 - t) ** 2)[..., None] * _hex("#d8d0c0")[0]
    lead = lead + 0.05 * (mottle[..., None] - 0.5)
    cover = _smoothstep(half + 0.7, half - 0.7, edge)
    rgb = _mix(rgb, lead, cover)
    return _to_image(rgb)


# ---------------------------------------------------------------------------
# geometric
# ---------------------------------------------------------------------------


def _geometric(size: Size, rng: np.random.Generator) -> Image.Image:
    """A bold abstract composition of circles, triangles and lines."""
    w, h = size
    scale = _SUPERSAMPLE
    W, H = w * scale, h * scale  # noqa: N806 - canvas size in supersampled pixels
    unit = float(min(W, H))
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)

    # Ground: warm cream with a cool corner and soft colour clouds ...
    corner = _smoothstep(0.45, 1.1, np.hypot(1.0 - xx / w, yy / h * 0.8))
    ground = _mix(_hex("#c6d6df")[0], _hex("#f1e5c6")[0], corner)
    clouds = _fbm(rng, w, h, cells=2.5, octaves=3)
    ground = _mix(ground, _hex("#f3cf72")[0], 0.5 * _smoothstep(0.55, 0.9, clouds))
    clouds2 = _fbm(rng, w, h, cells=2.5, octaves=3)
    ground = _mix(ground, _hex("#e2a6b4")[0], 0.4 * _smoothstep(0.6, 0.9, clouds2))
    canvas = _to_image(ground).resize((W, H), Image.Resampling.BICUBIC)
    draw = ImageDraw.Draw(canvas, "RGBA")
    # ... laid on with short translucent brush strokes in drifting directions.
    flow = _fbm(rng, w, h, cells=3, octaves=2) * 2.0 * np.pi
    n_strokes = w * h // 80
    sx = rng.uniform(0, w, n_strokes)
    sy = rng.uniform(0, h, n_strokes)
    ix, iy = sx.astype(int), sy.astype(int)
    ang = flow[iy, ix] + rng.normal(0, 0.25, n_strokes)
    half = rng.uniform(12, 30, n_strokes) * unit / 384
    tint = np.clip(ground[iy, ix] * rng.uniform(0.9, 1.05, (n_strokes, 1)), 0, 1)
    for k in range(n_strokes):
        dx, dy = np.cos(ang[k]) * half[k], np.sin(ang[k]) * half[k]
        cx, cy = sx[k] * scale, sy[k] * scale
        draw.line(
            [(cx - dx, cy - dy), (cx + dx, cy + dy)],
            fill=_colour(tint[k], alpha=50),
            width=int(rng.integers(12, 30)),
        )

    colours = [
        _hex(c)[0]
        for c in (
            "#d62a2a",
            "#f5c518",
            "#1f4bb4",
            "#6b2f8f",
            "#ef8fb0",
            "#1f8a5a",
            "#f2801f",
            "#5fb0e0",
            "#111118",
        )
    ]
    black = _hex("#0e0e14")[0]

    def pick() -> np.ndarray:
        return colours[int(rng.integers(0, len(colours)))]

    def point(margin: float = 0.05) -> tuple[float, float]:
        return (
            float(rng.uniform(margin, 1 - margin) * W),
            float(rng.uniform(margin, 1 - margin) * H),
        )

    def circle(
        c: tuple[float, float],
        r: float,
        fill: tuple[int, ...] | None,
        outline: tuple[int, ...] | None = None,
        width: int = 0,
    ) -> None:
        box = (c[0] - r, c[1] - r, c[0] + r, c[1] + r)
        draw.ellipse(box, fill=fill, outline=outline, width=width)

    # The dominant circle: a blurred halo, a black rim and a coloured core.
    big_c = (float(rng.uniform(0.15, 0.3) * W), float(rng.uniform(0.22, 0.4) * H))
    big_r = 0.2 * unit
    halo = Image.new("L", (W, H), 0)
    ImageDraw.Draw(halo).ellipse(
        (big_c[0] - big_r * 1.35, big_c[1] - big_r * 1.35, big_c[0] + big_r * 1.35, big_c[1] + big_r * 1.35),
        fill=200,
    )
    halo = halo.filter(ImageFilter.GaussianBlur(0.12 * big_r))
    halo_colour = Image.new("RGB", (W, H), _colour(_hex("#e86aa0")[0]))
    canvas.paste(halo_colour, (0, 0), halo)
    circle(big_c, big_r, _colour(black))
    circle(big_c, big_r * 0.86, _colour(_hex("#5a2a88")[0]))
    circle((big_c[0] + 0.1 * big_r, big_c[1] - 0.1 * big_r), big_r * 0.45, _colour(_hex("#2b1a5a")[0]))

    # Translucent overlapping planes.
    for _ in range(3):
        cx, cy = point(0.1)
        pts = [(cx + rng.normal(0, 0.25) * unit, cy + rng.normal(0, 0.25) * unit) for _ in range(3)]
        draw.polygon(pts, fill=_colour(pick(), alpha=int(rng.integers(120, 190))))

    # Circles of several kinds.
    for _ in range(int(rng.integers(10, 15))):
        c = point()
        r = float(rng.uniform(0.025, 0.11) * unit)
        kind = rng.integers(0, 4)
        if kind == 0:  # opaque disc with a black rim
            circle(c, r, _colour(pick()), _colour(black), max(2, int(r * 0.12)))
        elif kind == 1:  # translucent disc
            circle(c, r * 1.2, _colour(pick(), alpha=150))
        elif kind == 2:  # concentric rings
            for k, frac in enumerate((1.0, 0.72, 0.45, 0.2)):
                colour = black if k % 2 == 0 and rng.random() < 0.5 else pick()
                circle(c, r * frac, _colour(colour))
        else:  # thick ring only
            circle(c, r, None, _colour(pick()), max(3, int(r * 0.25)))

    # Triangles: solid, outlined and long needles.
    for _ in range(int(rng.integers(5, 8))):
        cx, cy = point()
        spread = rng.uniform(0.06, 0.22) * unit
        pts = [(cx + rng.normal(0, 1) * spread, cy + rng.normal(0, 1) * spread) for _ in range(3)]
        if rng.random() < 0.6:
            draw.polygon(pts, fill=_colour(pick(), alpha=225))
        else:
            draw.polygon(pts, outline=_colour(black), width=max(3, int(0.012 * unit)))

    # Checkerboards, rotated.
    for _ in range(2):
        cx, cy = point(0.15)
        cell = rng.uniform(0.03, 0.05) * unit
        theta = rng.uniform(0, np.pi / 2)
        u = np.array([np.cos(theta), np.sin(theta)]) * cell
        v = np.array([-np.sin(theta), np.cos(theta)]) * cell
        nx, ny = int(rng.integers(3, 6)), int(rng.integers(3, 6))
        c1, c2 = pick(), pick()
        for i in range(nx):
            for j in range(ny):
                o = np.array([cx, cy]) + (i - nx / 2) * u + (j - ny / 2) * v
                quad = [tuple(o), tuple(o + u), tuple(o + u + v), tuple(o + v)]
                fill = (c1 if (i + j) % 2 else c2) if rng.random() < 0.85 else black
                draw.polygon(quad, fill=_colour(fill))

    # Arcs and half discs.
    for _ in range(int(rng.integers(3, 6))):
        c = point()
        r = float(rng.uniform(0.05, 0.2) * unit)
        start = float(rng.uniform(0, 360))
        box = (c[0] - r, c[1] - r, c[0] + r, c[1] + r)
        if rng.random() < 0.5:
            draw.arc(
                box, start, start + float(rng.uniform(60, 200)), fill=_colour(black), width=max(3, int(0.012 * unit))
            )
        else:
            draw.pieslice(box, start, start + 180, fill=_colour(pick(), alpha=230))

    # Thick straight lines: free, in parallel pairs and fanning from a point.
    for _ in range(int(rng.integers(8, 12))):
        a, b = point(0.0), point(0.0)
        colour = black if rng.random() < 0.7 else pick()
        width = int(rng.uniform(0.004, 0.02) * unit) + 1
        draw.line([a, b], fill=_colour(colour), width=width)
        if rng.random() < 0.35:
            n = np.array([b[1] - a[1], a[0] - b[0]])
            n = n / (np.hypot(*n) + 1e-6) * width * 2.5
            draw.line([tuple(a + n), tuple(b + n)], fill=_colour(colour), width=width)
    fan = point(0.2)
    for _ in range(int(rng.integers(4, 7))):
        theta = rng.uniform(0, 2 * np.pi)
        length = rng.uniform(0.2, 0.45) * unit
        end = (fan[0] + np.cos(theta) * length, fan[1] + np.sin(theta) * length)
        draw.line([fan, end], fill=_colour(black), width=max(2, int(0.006 * unit)))

    # A zigzag and scattered small dots.
    start = np.array(point(0.2))
    zig = [tuple(start)]
    step = rng.uniform(0.04, 0.07) * unit
    for k in range(int(rng.integers(5, 9))):
        start = start + np.array([step, step * (1 if k % 2 else -1) * 1.4])
        zig.append(tuple(start))
    draw.line(zig, fill=_colour(pick()), width=max(3, int(0.012 * unit)), joint="curve")
    for _ in range(int(rng.integers(25, 40))):
        c = point(0.02)
        circle(c, float(rng.uniform(0.005, 0.015) * unit), _colour(pick()))

    # Hand-drawn wobble: displace the picture by a smooth random field.
    big = np.asarray(canvas)
    amp = 0.004 * unit
    wob_x = (_fbm(rng, W // 4, H // 4, cells=12, octaves=2) - 0.5) * 2 * amp
    wob_y = (_fbm(rng, W // 4, H // 4, cells=12, octaves=2) - 0.5) * 2 * amp
    wob_x = np.asarray(Image.fromarray(wob_x.astype(np.float32)).resize((W, H)))
    wob_y = np.asarray(Image.fromarray(wob_y.astype(np.float32)).resize((W, H)))
    canvas = _to_image(_remap(big.astype(np.float32) / 255.0, wob_x, wob_y))

    # Paint texture over everything, then reduce to the final size.
    out = _from_image(_downsample(canvas, size))
    streaks = _fbm(rng, w, h, cells=40, octaves=2, stretch=(0.3, 1.0))
    out = out * (0.93 + 0.1 * streaks)[..., None] * _canvas_grain(rng, w, h)[..., None]
    return _to_image(out)


# ---------------------------------------------------------------------------
# waves
# ---------------------------------------------------------------------------


def _offset(pts: np.ndarray, dist: float, down: float = 0.0) -> np.ndarray:
    """Shift a polyline by ``dist`` sideways (to the right of its direction).

    ``down`` bends the shift towards straight down (+y), which keeps parallel
    copies of steep stretches from crossing the rest of the pattern.
    """
    d = np.gradient(pts, axis=0)
    d /= np.linalg.norm(d, axis=1, keepdims=True) + 1e-9
    normal = np.stack([-d[:, 1], d[:, 0]], axis=1)
    normal[:, 1] += down
    normal /= np.linalg.norm(normal, axis=1, keepdims=True) + 1e-9
    return pts + dist * normal


def _tapered(
    draw: ImageDraw.ImageDraw,
    pts: np.ndarray,
    w0: float,
    w1: float,
    fill: tuple[int, ...],
) -> None:
    """Draw a polyline whose width changes linearly from ``w0`` to ``w1``."""
    widths = np.linspace(w0, w1, len(pts))
    for q in range(len(pts) - 1):
        wq = max(1.0, float(widths[q]))
        draw.line([tuple(pts[q]), tuple(pts[q + 1])], fill=fill, width=round(wq))
        r = wq / 2.0
        x, y = pts[q + 1]
        draw.ellipse((x - r, y - r, x + r, y + r), fill=fill)


_WAVE_INK = _hex("#0b2147", "#16356e", "#2a5c9a", "#6d9cc6", "#b9d0e0", "#f4eedc")


def _wave_row(
    canvas: Image.Image,
    rng: np.random.Generator,
    base: float,
    amp: float,
    gap: float,
    unit: float,
) -> None:
    """Paint one row of curling waves whose troughs lie at height ``base``.

    The row is one continuous body (so its hatching has no seams); each crest
    then gets a lip thrown forward, fringed with claws of foam, and spray.
    """
    ink, deep, mid, light, pale, foam = (_colour(c) for c in _WAVE_INK)
    ramp = _WAVE_INK[[3, 2, 1, 1, 0]]
    big_w, big_h = canvas.size

    # Crest positions and heights along the row.
    crests = [float(rng.uniform(-gap, 0.0))]
    while crests[-1] < big_w + gap:
        crests.append(crests[-1] + gap * float(rng.uniform(0.85, 1.15)))
    heights = amp * rng.uniform(0.8, 1.2, len(crests))
    face_frac = 0.32  # part of each interval taken by the steep front face

    # The top contour y(x): steep face after each crest, long back slope.
    x = np.arange(crests[0], crests[-1], 1.5)
    k = np.clip(np.searchsorted(crests, x, side="right") - 1, 0, len(crests) - 2)
    start = np.asarray(crests)[k]
    span = np.asarray(crests)[k + 1] - start
    phi = (x - start) / span
    fall = np.clip(phi / face_frac, 0, 1)
    rise = np.clip((phi - face_frac) / (1 - face_frac), 0, 1)
    y_face = base - heights[k] * (1.0 - np.sin(0.5 * np.pi * fall) ** 0.6)
    y_back = base - heights[k + 1] * rise**1.7
    ripple = 0.02 * amp * np.sin(x / (0.02 * unit) + rng.uniform(0, 6))
    y = np.where(phi < face_frac, y_face, y_back) + ripple
    contour = np.stack([x, y], 1)

    # Body: bands darkening with depth and fine pale hatching, clipped.
    poly = np.concatenate([[[x[0], big_h + 4]], contour, [[x[-1], big_h + 4]]])
    lo = np.floor(poly.min(axis=0)).astype(int) - 2
    hi = np.ceil(poly.max(axis=0)).astype(int) + 2
    box_size = (int(hi[0] - lo[0]), int(hi[1] - lo[1]))
    mask = Image.new("L", box_size, 0)
    ImageDraw.Draw(mask).polygon([tuple(p) for p in poly - lo], fill=255)
    layer = Image.new("RGB", box_size, deep)
    ldraw = ImageDraw.Draw(layer)
    spacing = max(3.0, 0.011 * unit)
    n_lines = int((0.8 * amp + 0.08 * unit) / spacing)
    local = contour - lo
    for i in range(n_lines, -1, -1):
        band = _offset(local, (i + 0.5) * spacing, down=1.5)
        colour = _colour(_ramp(ramp, i / max(n_lines, 1)))
        ldraw.line([tuple(p) for p in band], fill=colour, width=round(spacing) + 2, joint="curve")
    for i in range(int(0.75 * n_lines)):
        f = i / max(n_lines, 1)
        line = _offset(local, (i + 1.0) * spacing, down=1.5)
        ldraw.line([tuple(p) for p in line], fill=pale if f < 0.3 else light, width=max(1, round(0.22 * spacing)))
    canvas.paste(layer, tuple(int(v) for v in lo), mask)

    draw = ImageDraw.Draw(canvas)
    edge_w = max(2.0, 0.004 * unit)
    draw.line([tuple(p) for p in contour], fill=ink, width=round(edge_w))
    for xc, hc in zip(crests, heights, strict=True):
        radius = 0.42 * hc
        top = base - hc
        centre = np.array([xc, top + radius])
        end = rng.uniform(0.15, 0.4) * np.pi
        theta = np.linspace(-np.pi / 2, end, 40)
        t = (theta - theta[0]) / (end - theta[0])
        r_out = radius * (1.0 - 0.2 * t)
        unit_vec = np.stack([np.cos(theta), np.sin(theta)], 1)
        outer = centre + r_out[:, None] * unit_vec
        thick = 0.6 * radius * (1.0 - t) ** 0.7
        inner = centre + (r_out - thick)[:, None] * unit_vec
        # The lip: a crescent with concentric hatching.
        lip = np.concatenate([outer, inner[::-1]])
        draw.polygon([tuple(p) for p in lip], fill=mid)
        for frac in (0.3, 0.55, 0.8):
            arc = centre + (r_out - frac * thick)[:, None] * unit_vec
            draw.line([tuple(p) for p in arc[:-6]], fill=pale, width=max(1, round(0.2 * spacing)))
        _tapered(draw, inner[2:], edge_w, 1.0, ink)
        # Foam along the upper back slope and over the lip.
        sel = (x > xc - 0.45 * gap) & (x < xc)
        crest_line = np.concatenate([contour[sel], outer[1:]])
        foam_w = 0.16 * radius + 0.006 * unit
        if len(crest_line) > 2:
            _tapered(draw, crest_line, 1.0 + edge_w, foam_w + 2 * edge_w, ink)
            _tapered(draw, crest_line, 1.0, foam_w, foam)
        # Claws of foam hanging from the lip's leading edge.
        n_claws = int(rng.integers(4, 8))
        for a in np.linspace(-0.2 * np.pi, end, n_claws) + rng.normal(0, 0.04, n_claws):
            frac_a = (a + np.pi / 2) / (end + np.pi / 2)
            root = centre + radius * (1.0 - 0.2 * frac_a) * np.array([np.cos(a), np.sin(a)])
            size = radius * rng.uniform(0.4, 0.7) * (0.6 + 0.6 * frac_a)
            curl = np.linspace(0.0, rng.uniform(1.2, 2.4), 12) ** 1.5
            direction = a + 0.5 + curl
            steps = np.stack([np.cos(direction), np.sin(direction)], 1) * size / 11
            claw = np.concatenate([[root], root + np.cumsum(steps, axis=0)])
            _tapered(draw, claw, foam_w * 0.7 + edge_w, 1.0 + 0.5 * edge_w, ink)
            _tapered(draw, claw, foam_w * 0.7, 1.0, foam)
        # Spray.
        for _ in range(int(8 + 50 * hc / big_h)):
            ang = rng.uniform(-0.9 * np.pi, 0.3 * np.pi)
            dist = radius * rng.uniform(1.15, 2.2)
            sx, sy = centre + dist * np.array([np.cos(ang), np.sin(ang)])
            r = rng.uniform(0.3, 1.0) * (foam_w * 0.35 + 1.0)
            draw.ellipse((sx - r, sy - r, sx + r, sy + r), fill=foam)


def _waves(size: Size, rng: np.random.Generator) -> Image.Image:
    """Rows of curling waves with claws of foam and hatching (after Hokusai)."""
    w, h = size
    scale = _SUPERSAMPLE
    W, H = w * scale, h * scale  # noqa: N806 - canvas size in supersampled pixels
    unit = float(min(W, H))
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)

    # Sky: paper darkening towards the top with a soft cloud band.
    paper = _hex("#efe4c8")[0]
    sky = _mix(np.broadcast_to(paper, (h, w, 3)), _hex("#a8977a")[0], 0.7 * np.clip(1.0 - yy / (0.4 * h), 0, 1) ** 1.3)
    cloud = _fbm(rng, w, h, cells=3, octaves=4, stretch=(0.5, 2.0))
    sky = _mix(sky, _hex("#e3d3b0")[0], 0.6 * _smoothstep(0.55, 0.8, cloud))
    # A distant snow-capped mountain on the horizon.
    horizon = 0.36 * h
    mx = rng.uniform(0.55, 0.8) * w
    rel = np.abs(xx - mx) / (0.16 * w)
    top = horizon - 0.13 * h * np.clip(1.0 - rel, 0, 1) ** 1.3
    mountain = (yy > top) & (rel < 1.0)
    snow = yy < horizon - 0.13 * h * 0.55 + 0.01 * h * np.sin(xx / (0.008 * w))
    sky = np.where(mountain[..., None], _WAVE_INK[1], sky)
    sky = np.where((mountain & snow)[..., None], _WAVE_INK[5], sky)
    sky = np.where((yy > horizon)[..., None], _WAVE_INK[2], sky)
    canvas = _to_image(sky).resize((W, H), Image.Resampling.BICUBIC)

    n_rows = 7
    for i in range(n_rows):
        f = i / (n_rows - 1)
        base = (0.37 + 0.71 * f**1.15) * H
        amp = (0.04 + 0.22 * f**1.5) * H
        _wave_row(canvas, rng, base, amp, 2.6 * amp + 0.06 * W, unit)

    out = _from_image(_downsample(canvas, size))
    grain = _fbm(rng, w, h, cells=w / 8, octaves=2, stretch=(0.15, 1.0))
    out = out * (0.93 + 0.1 * grain)[..., None] * _canvas_grain(rng, w, h)[..., None]
    return _to_image(out)


# ---------------------------------------------------------------------------
# pointillism
# ---------------------------------------------------------------------------


def _pointillism(size: Size, rng: np.random.Generator) -> Image.Image:
    """A riverside landscape made of dots of pure colour (after Seurat)."""
    w, h = size
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    unit = float(min(w, h))

    horizon = 0.42 * h
    bank = (0.68 + 0.06 * np.sin(xx / w * 3.0 + rng.uniform(0, 6))) * h
    sun = np.array([rng.uniform(0.55, 0.8) * w, 0.22 * h])

    sky = _mix(_hex("#5f95d8")[0], _hex("#f6d9a8")[0], np.clip(yy / horizon, 0, 1) ** 1.4)
    glow = np.exp(-((xx - sun[0]) ** 2 + (yy - sun[1]) ** 2) / (0.22 * unit) ** 2)
    sky = _mix(sky, _hex("#fff2b0")[0], glow)
    water_t = np.clip((yy - horizon) / (bank - horizon), 0, 1)
    water = _mix(_hex("#8fb7d8")[0], _hex("#2b5ea8")[0], water_t)
    streak = np.exp(-(((xx - sun[0]) / (0.09 * w)) ** 2))
    ripples = 0.5 + 0.5 * np.sin(yy / 2.0 + 3.0 * _fbm(rng, w, h, cells=6, octaves=2))
    water = _mix(water, _hex("#f7d68a")[0], 0.8 * streak * ripples)
    grass_t = _fbm(rng, w, h, cells=5, octaves=3)
    grass = _ramp(_hex("#1d5a34", "#3f8a3c", "#8fbf4a", "#d8d56a"), grass_t)

    rgb = np.where((yy < horizon)[..., None], sky, water)
    rgb = np.where((yy > bank)[..., None], grass, rgb)
    # Distant tree line along the far shore.
    far = horizon - (0.03 + 0.04 * _fbm(rng, w, 1, cells=10, octaves=2)[0]) * h
    rgb = np.where(((yy > far[None, :]) & (yy < horizon))[..., None], _hex("#2f5a5a")[0], rgb)
    # A big tree on the left: a trunk and a cluster of canopy blobs.
    tx = rng.uniform(0.12, 0.25) * w
    trunk = (np.abs(xx - tx) < 0.018 * w) & (yy > 0.3 * h) & (yy < bank + 0.05 * h)
    rgb = np.where(trunk[..., None], _hex("#4a3222")[0], rgb)
    canopy = np.zeros((h, w), dtype=np.float32)
    for _ in range(7):
        bx = tx + rng.normal(0, 0.08) * w
        by = rng.uniform(0.12, 0.38) * h
        br = rng.uniform(0.08, 0.14) * unit
        canopy = np.maximum(canopy, 1.0 - np.hypot(xx - bx, yy - by) / br)
    leaf = _ramp(
        _hex("#10322a", "#1f5a3a", "#4f8f3a"),
        0.3 + 0.7 * (yy < 0.25 * h) * 0.5 + 0.4 * _fbm(rng, w, h, cells=8, octaves=2),
    )
    rgb = np.where((canopy > 0)[..., None], leaf, rgb)

    scale = _SUPERSAMPLE
    under = _mix(_blur(rgb, 4), _hex("#f3ead2")[0], 0.45)
    canvas = _to_image(under).resize((w * scale, h * scale), Image.Resampling.BICUBIC)
    draw = ImageDraw.Draw(canvas)
    pigments = _hex("#e8742a", "#f2c12e", "#d9466e", "#7b4fb8", "#2f6fd0", "#29a05a", "#ffffff")
    for count, (r_lo, r_hi) in ((w * h // 14, (2.0, 3.0)), (w * h // 20, (1.4, 2.1))):
        pos = rng.random((count, 2)) * np.array([w, h])
        ix = np.clip(pos[:, 0].astype(int), 0, w - 1)
        iy = np.clip(pos[:, 1].astype(int), 0, h - 1)
        cols = rgb[iy, ix] + rng.normal(0, 0.06, (count, 3))
        accent = rng.random(count)
        pig = pigments[rng.integers(0, len(pigments), count)]
        mix_t = np.where(accent < 0.22, 0.55, 0.0)[:, None]
        cols = np.clip(cols + (pig - cols) * mix_t, 0, 1)
        radius = rng.uniform(r_lo, r_hi, count) * unit / 384.0 * scale
        px = pos * scale
        for k in range(count):
            x, y, r = px[k, 0], px[k, 1], radius[k]
            draw.ellipse((x - r, y - r, x + r, y + r), fill=_colour(cols[k]))
    return _downsample(canvas, size)


# ---------------------------------------------------------------------------
# Public API
# ---------------------------------------------------------------------------

STYLES: dict[str, Painter] = {
    "swirls": _swirls,
    "mosaic": _mosaic,
    "geometric": _geometric,
    "waves": _waves,
    "pointillism": _pointillism,
}
"""Generators by name. Each takes ``(size, rng)`` and returns an RGB image."""


def generate(name: str, size: Size = DEFAULT_SIZE, seed: int = 0) -> Image.Image:
    """Paint one procedural style image.

    Parameters
    ----------
    name : str
        One of the keys of :data:`STYLES`.
    size : tuple of int, optional
        ``(width, height)`` of the result in pixels; each side at least 32.
    seed : int, optional
        Seed for :func:`numpy.random.default_rng`; the same seed and size
        always give the same picture.

    Returns
    -------
    PIL.Image.Image
        An RGB image of the requested size.

    Raises
    ------
    ValueError
        If ``name`` is not a known style or ``size`` is too small.
    """
    if name not in STYLES:
        valid = ", ".join(sorted(STYLES))
        raise ValueError(f"unknown style {name!r}; valid names are: {valid}")
    width, height = (int(v) for v in size)
    if width < _MIN_SIDE or height < _MIN_SIDE:
        raise ValueError(f"size must be at least {_MIN_SIDE}x{_MIN_SIDE}, got {size}")
    rng = np.random.default_rng(seed)
    image = STYLES[name]((width, height), rng)
    if image.size != (width, height) or image.mode != "RGB":
        image = image.convert("RGB").resize((width, height), Image.Resampling.LANCZOS)
    return image


def _jpeg_bytes(image: Image.Image, max_bytes: int = MAX_BYTES) -> bytes:
    """Encode as JPEG at quality 90, lowering it only if the file is too big."""
    data = b""
    for quality in range(JPEG_QUALITY, 49, -5):
        buffer = io.BytesIO()
        image.save(buffer, format="JPEG", quality=quality, optimize=True)
        data = buffer.getvalue()
        if len(data) <= max_bytes:
            break
    return data


def write_all(
    outdir: str | Path,
    size: Size = DEFAULT_SIZE,
    seed: int = 0,
    overwrite: bool = False,
) -> list[Path]:
    """Generate every style and save it as ``<outdir>/<name>.jpg``.

    Parameters
    ----------
    outdir : str or pathlib.Path
        Destination folder; created if missing.
    size : tuple of int, optional
        ``(width, height)`` of each image.
    seed : int, optional
        Seed passed to :func:`generate` for every style.
    overwrite : bool, optional
        Replace existing files. Without it nothing is written if any target
        file already exists.

    Returns
    -------
    list of pathlib.Path
        The files written, in the order of :data:`STYLES`.

    Raises
    ------
    FileExistsError
        If a target file exists and ``overwrite`` is false.
    """
    out = Path(outdir)
    targets = [out / f"{name}.jpg" for name in STYLES]
    existing = [str(p) for p in targets if p.exists()]
    if existing and not overwrite:
        raise FileExistsError(
            "refusing to overwrite existing file(s): "
            + ", ".join(existing)
            + " (pass overwrite=True, or --force on the command line)"
        )
    out.mkdir(parents=True, exist_ok=True)
    for name, path in zip(STYLES, targets, strict=True):
        path.write_bytes(_jpeg_bytes(generate(name, size=size, seed=seed)))
    return targets


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point: write all style images to a folder.

    Parameters
    ----------
    argv : sequence of str, optional
        Arguments without the program name; ``sys.argv[1:]`` when omitted.

    Returns
    -------
    int
        Process exit status: 0 on success, 1 if files would be overwritten,
        2 for an invalid size.
    """
    parser = argparse.ArgumentParser(
        description="Generate procedural style images (" + ", ".join(STYLES) + ") as JPEG files."
    )
    parser.add_argument("outdir", type=Path, help="folder to write <name>.jpg into")
    parser.add_argument(
        "--size",
        nargs=2,
        type=int,
        metavar=("W", "H"),
        default=list(DEFAULT_SIZE),
        help="image width and height in pixels (default: %(default)s)",
    )
    parser.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    parser.add_argument("--force", action="store_true", help="overwrite existing files")
    args = parser.parse_args(argv)
    try:
        paths = write_all(args.outdir, size=tuple(args.size), seed=args.seed, overwrite=args.force)
    except FileExistsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    for path in paths:
        print(f"{path} ({path.stat().st_size // 1024} KB)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
