"""Lecture runs that are too slow for a class: computed once by a tool, committed, loaded in the notebook.

A lecture cell that needs many style-transfer runs (a grid over beta, a reconstruction at every layer)
would keep a class waiting for minutes. Such a cell defines *one* run as a function of a key and hands it
to :func:`precomputed`::

    def reconstruct(layer):
        return run_style_transfer(C, S, beta=0, init="random", content_layers=[layer], steps=STEPS)

    recon = precomputed("04_reconstructions", CONTENT_LAYERS, reconstruct, live=LIVE,
                        settings={"size": SIZE, "steps": STEPS})

* ``live=True`` (``NST_LIVE=1``, or quick mode) runs ``reconstruct(key)`` for every key, here and now;
* ``live=False`` (the lecture's default) loads the results that ``tools/make_lecture_results.py`` computed
  with exactly this code (it executes the notebooks live) and that are committed under
  ``images/lectures/NAME.npz``.

Either way the cell gets ``{key: result}``, and the cells after it do not know the difference. A result is
a tuple (or a single value) of images (``1 x 3 x H x W`` tensors in [0, 1], stored as 8-bit PNG),
:class:`~nst_helpers.history.History` objects (their losses, settings and snapshots) and plain JSON values
(numbers, strings, lists). A loaded image is therefore rounded to 1/255 of the computed one.

The stored ``settings`` are compared with the notebook's: results made at another size or budget are
refused with a message that says how to remake them.
"""

from __future__ import annotations

import io
import json
import os
import time
from collections.abc import Callable, Hashable, Sequence
from pathlib import Path

import numpy as np
import torch

from .errors import ParameterError
from .history import History
from .images import IMAGES_DIR, load_image, to_pil

__all__ = ["RESULTS_DIR", "live_mode", "precomputed", "load_results", "save_results"]

#: Where the committed lecture results live (one ``NAME.npz`` per :func:`precomputed` call).
RESULTS_DIR = IMAGES_DIR / "lectures"
#: Environment variable of the tool: when set, :func:`precomputed` also writes what it computed there.
OUT_ENV = "NST_RESULTS_OUT"
_HISTORY_LISTS = ("total", "content", "style")


def live_mode() -> bool:
    """True if the notebook should compute its heavy runs itself: ``NST_LIVE=1`` or quick mode (``NST_QUICK=1``)."""
    return os.environ.get("NST_LIVE") == "1" or os.environ.get("NST_QUICK") == "1"


def precomputed(name: str, keys: Sequence[Hashable], run: Callable[[Hashable], object], *, live: bool,
                settings: dict | None = None, folder: str | os.PathLike | None = None) -> dict:
    """``{key: run(key)}``, computed now (``live``) or loaded from the committed ``folder/NAME.npz``.

    ``settings`` (JSON values, e.g. ``{"size": 192, "steps": 150}``) describe what the runs depend on
    besides the keys; loaded results must have been made with the same settings and keys.
    """
    keys = list(keys)
    settings = dict(settings or {})
    if live:
        start = time.perf_counter()
        results = {key: run(key) for key in keys}
        out = os.environ.get(OUT_ENV)
        if out:
            save_results(Path(out) / f"{name}.npz", results, settings, seconds=time.perf_counter() - start)
        return results
    path = Path(folder or RESULTS_DIR) / f"{name}.npz"
    results, seconds = load_results(path, keys, settings, with_seconds=True)
    cost = f" (they took {seconds:.0f} s to compute)" if seconds is not None else ""
    print(f"Loaded {len(results)} precomputed runs from {path.parent.name}/{path.name}{cost}; "
          f"NST_LIVE=1 computes them here instead.")
    return results


# ----------------------------------------------------------------------------------------------- storage

def _png(image: torch.Tensor) -> np.ndarray:
    buffer = io.BytesIO()
    to_pil(image.detach().float().cpu()).save(buffer, format="PNG", optimize=True)
    return np.frombuffer(buffer.getvalue(), dtype=np.uint8)


def _unpng(data: np.ndarray) -> torch.Tensor:
    return load_image(data.tobytes())


def _is_image(value: object) -> bool:
    return isinstance(value, torch.Tensor) and value.dim() == 4 and value.shape[:2] == (1, 3)


def _json_safe(value: object) -> object:
    """Settings of a run as JSON: tensors (a custom init, masks) become a short description."""
    if isinstance(value, dict):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(v) for v in value]
    if isinstance(value, torch.Tensor):
        return f"tensor of shape {tuple(value.shape)}"
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return str(value)


def _pack(value: object, arrays: dict[str, np.ndarray], prefix: str) -> dict:
    """A JSON description of one value; its images go into ``arrays`` under names starting with ``prefix``."""
    if _is_image(value):
        arrays[prefix] = _png(value)
        return {"type": "image", "array": prefix}
    if isinstance(value, History):
        snapshots = []
        for n, (step, image) in enumerate(value.snapshots):
            arrays[f"{prefix}_s{n}"] = _png(image)
            snapshots.append([step, f"{prefix}_s{n}"])
        return {"type": "history", **{k: list(getattr(value, k)) for k in _HISTORY_LISTS},
                "layers": value.layers, "snapshots": snapshots, "best_step": value.best_step,
                "best_loss": value.best_loss, "stopped": value.stopped, "seconds": value.seconds,
                "settings": _json_safe(value.settings)}
    if isinstance(value, tuple):
        return {"type": "tuple", "items": [_pack(v, arrays, f"{prefix}_{i}") for i, v in enumerate(value)]}
    try:
        json.dumps(value)
    except TypeError:
        raise ParameterError(f"precomputed: cannot store a {type(value).__name__}; a result may hold images "
                             f"(1 x 3 x H x W tensors), History objects and JSON values (numbers, lists).") from None
    return {"type": "json", "value": value}


def _unpack(desc: dict, arrays) -> object:
    kind = desc["type"]
    if kind == "image":
        return _unpng(arrays[desc["array"]])
    if kind == "history":
        return History(total=desc["total"], content=desc["content"], style=desc["style"], layers=desc["layers"],
                       snapshots=[(step, _unpng(arrays[a])) for step, a in desc["snapshots"]],
                       best_step=desc["best_step"], best_loss=desc["best_loss"], stopped=desc["stopped"],
                       seconds=desc["seconds"], settings=desc["settings"])
    if kind == "tuple":
        return tuple(_unpack(d, arrays) for d in desc["items"])
    return desc["value"]


def _key_json(key: Hashable) -> object:
    return list(key) if isinstance(key, tuple) else key


def save_results(path: str | os.PathLike, results: dict, settings: dict, *, seconds: float | None = None) -> Path:
    """Write ``{key: result}`` and the settings to one compressed ``.npz`` file (see the module docstring)."""
    arrays: dict[str, np.ndarray] = {}
    entries = [{"key": _key_json(key), "value": _pack(value, arrays, f"r{i}")}
               for i, (key, value) in enumerate(results.items())]
    meta = {"settings": _json_safe(settings), "entries": entries, "seconds": seconds}
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    arrays["meta"] = np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8)
    np.savez_compressed(path, **arrays)
    return path


def load_results(path: str | os.PathLike, keys: Sequence[Hashable], settings: dict, *,
                 with_seconds: bool = False) -> dict | tuple[dict, float | None]:
    """Read what :func:`save_results` wrote, checking that it was made for these keys and settings.

    With ``with_seconds``, return ``(results, seconds)``: also how long the runs took to compute (or None).
    """
    path = Path(path)
    remake = ("Run the notebook with NST_LIVE=1 to compute these runs here, or remake the committed results "
              "with `python tools/make_lecture_results.py --force`.")
    if not path.is_file():
        raise ParameterError(f"The precomputed results {path} are missing. {remake}")
    with np.load(path) as arrays:
        meta = json.loads(arrays["meta"].tobytes())
        if meta["settings"] != _json_safe(settings):
            raise ParameterError(f"{path.name} was made with the settings {meta['settings']}, but the notebook "
                                 f"asks for {_json_safe(settings)}. {remake}")
        stored = [e["key"] for e in meta["entries"]]
        wanted = [_key_json(k) for k in keys]
        if stored != wanted:
            raise ParameterError(f"{path.name} holds the runs {stored}, but the notebook asks for {wanted}. {remake}")
        results = {key: _unpack(e["value"], arrays) for key, e in zip(keys, meta["entries"])}
    return (results, meta.get("seconds")) if with_seconds else results
