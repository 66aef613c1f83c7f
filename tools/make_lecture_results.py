#!/usr/bin/env python3
"""Compute the lectures' heavy runs once and store them under ``images/lectures/``.

A lecture cell that would keep a class waiting (a reconstruction at every layer, a grid over beta,
a texture at every depth) calls :func:`nst_helpers.precomputed.precomputed`. In class it loads the
committed results; this tool makes them, by executing the notebook itself with ``NST_LIVE=1``, so the
stored results come from exactly the code the students read.

Usage (from the repository root)::

    python tools/make_lecture_results.py notebooks/04_optimisation.ipynb      # one lecture
    python tools/make_lecture_results.py notebooks/*.ipynb --force            # remake all

The notebook file itself is not changed (it runs on a copy). Results are written to a temporary
folder first and moved to ``images/lectures/`` only when the whole notebook ran without an error.
Existing results of a notebook (files ``NN_*.npz`` with the notebook's number) are refused before
anything runs, unless ``--force`` is given.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path
from unittest import mock

import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "images" / "lectures"
CELL_TIMEOUT = 3600


def prefix(notebook: Path) -> str:
    """The number of a lecture (``04`` for ``04_optimisation.ipynb``): its results are named ``04_*.npz``."""
    return notebook.name.split("_", 1)[0]


def existing(notebook: Path, folder: Path | None = None) -> list[Path]:
    """Stored results that belong to this notebook."""
    return sorted((folder or RESULTS).glob(f"{prefix(notebook)}_*.npz"))


def make(notebook: Path, folder: Path | None = None) -> list[Path]:
    """Execute ``notebook`` live and move the results it stored into ``folder``; return their paths."""
    folder = folder or RESULTS
    nb = nbformat.read(notebook, as_version=4)
    with tempfile.TemporaryDirectory(prefix="nst_results_") as tmp:
        with mock.patch.dict(os.environ, NST_LIVE="1", NST_RESULTS_OUT=tmp):  # the kernel inherits them;
            os.environ.pop("NST_QUICK", None)                                  # all restored afterwards
            client = NotebookClient(nb, timeout=CELL_TIMEOUT, kernel_name="python3", allow_errors=False,
                                    resources={"metadata": {"path": str(notebook.parent.resolve())}})
            client.execute()
        made = sorted(Path(tmp).glob("*.npz"))
        wrong = [p.name for p in made if not p.name.startswith(prefix(notebook) + "_")]
        if wrong:
            raise SystemExit(f"{notebook}: results must be named {prefix(notebook)}_*.npz, found {wrong}")
        folder.mkdir(parents=True, exist_ok=True)
        for old in existing(notebook, folder):
            old.unlink()
        moved = []
        for path in made:
            target = folder / path.name
            shutil.move(str(path), target)
            moved.append(target)
        return moved


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("notebooks", nargs="+", type=Path)
    parser.add_argument("--force", action="store_true", help="replace a notebook's stored results")
    args = parser.parse_args(argv)
    missing = [str(p) for p in args.notebooks if not p.is_file() or p.suffix != ".ipynb"]
    if missing:
        parser.error("not a notebook file: " + ", ".join(missing))
    if not args.force:
        clash = [str(p) for nb in args.notebooks for p in existing(nb)]
        if clash:
            parser.error("results exist already (pass --force to remake them): " + ", ".join(clash))
    for notebook in args.notebooks:
        start = time.perf_counter()
        moved = make(notebook)
        names = ", ".join(p.name for p in moved) or "none (the notebook has no precomputed cells)"
        print(f"{notebook}: {time.perf_counter() - start:.0f} s, stored {names}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
