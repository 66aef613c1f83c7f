#!/usr/bin/env python3
"""Execute lecture notebooks in place, so that the committed files carry fresh outputs.

Usage (from the repository root)::

    python tools/run_notebooks.py notebooks/*.ipynb            # full quality (the committed outputs)
    python tools/run_notebooks.py --quick notebooks/*.ipynb     # measure quick mode, keep the outputs

Each notebook runs in a fresh ``python3`` kernel whose working directory is
the notebook's own folder, with a limit of 1800 s per cell. The notebooks run
in *full* mode unless ``NST_QUICK`` is already set in the environment (the
kernel inherits it; ``--quick`` sets ``NST_QUICK=1`` for you).

After a notebook has run, the script

* keeps each cell's timing (nbclient's ``metadata.execution``: when it started and ended), so
  anyone can see what each cell costs, and removes other per-run metadata;
* refuses a notebook with an error output: the file on disk is left as it
  was and the failing cell is reported;
* writes the notebook and checks that it is smaller than the size limit
  (3 MB by default): rendered sites and reviews choke on bigger files;
* prints the wall time of the notebook and its slowest cell;
* gives every notebook the same metadata, so that opening it in JupyterLab changes nothing: the
  kernelspec the Makefile installs (``KERNELSPEC``) and a slide theme that needs no web fonts
  (``RISE``);
* replaces each widget's output by a short note (a saved widget needs its live kernel: reopened
  later, JupyterLab would show "model not found", GitHub the raw ``interactive(...)`` text);
* writes the measured run time into the line that starts with ``**Run time:**`` in the notebook's
  first markdown cell, and into ``metadata["nst"]``. ``--quick`` runs measure quick mode on a copy
  and only add that time to the original.

The exit status is 0 if every notebook passed, 1 otherwise (all notebooks are
still attempted).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from datetime import datetime
from pathlib import Path

import nbformat
from nbclient import NotebookClient

#: Largest allowed notebook file, in bytes.
MAX_BYTES = 3 * 1024 * 1024
#: Seconds one cell may run before the run is abandoned.
CELL_TIMEOUT = 1800
#: The kernel every lecture names: what `make install` registers (ipykernel's own name and display name).
KERNELSPEC = {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}
#: jupyterlab-rise's settings: the "white" reveal.js theme ships its fonts (the default "simple" fetches web fonts).
RISE = {"theme": "white"}
#: What a widget's output becomes in the committed notebook.
WIDGET_NOTE = "[an interactive widget: run the notebook in JupyterLab to use it; the picture beside it shows a run]"
WIDGET_MIME = "application/vnd.jupyter.widget-view+json"
RUN_TIME_PREFIX = "**Run time:**"
#: Cell metadata keys that change at every run and carry no content (``execution``, the timing, is kept).
VOLATILE_CELL_KEYS = ("ExecuteTime",)


def cell_seconds(cell: nbformat.NotebookNode) -> float | None:
    """Seconds a code cell ran, from nbclient's ``metadata.execution`` timestamps (None if not recorded)."""
    timing = cell.get("metadata", {}).get("execution", {})
    try:
        start = datetime.fromisoformat(timing["iopub.execute_input"].replace("Z", "+00:00"))
        end = datetime.fromisoformat(timing["shell.execute_reply"].replace("Z", "+00:00"))
    except (KeyError, ValueError):
        return None
    return (end - start).total_seconds()


def slowest_cell(nb: nbformat.NotebookNode) -> tuple[int, float] | None:
    """(index, seconds) of the code cell that ran longest, or None without timings."""
    timed = [(i, cell_seconds(c)) for i, c in enumerate(nb.cells) if c.cell_type == "code"]
    timed = [(i, t) for i, t in timed if t is not None]
    return max(timed, key=lambda it: it[1]) if timed else None


def strip_volatile(nb: nbformat.NotebookNode) -> None:
    """Remove per-run metadata other than the cells' timing, in place."""
    for cell in nb.cells:
        for key in VOLATILE_CELL_KEYS:
            cell.metadata.pop(key, None)
    nb.metadata.pop("papermill", None)


def normalise_metadata(nb: nbformat.NotebookNode) -> None:
    """Same kernelspec and slide settings in every notebook; no stored widget state."""
    nb.metadata["kernelspec"] = dict(KERNELSPEC)
    nb.metadata["rise"] = dict(RISE)
    nb.metadata.pop("widgets", None)


def replace_widget_outputs(nb: nbformat.NotebookNode) -> int:
    """Replace every widget view in the outputs by :data:`WIDGET_NOTE`; return how many were replaced."""
    count = 0
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            if WIDGET_MIME in out.get("data", {}):
                out["data"] = {"text/plain": WIDGET_NOTE}
                count += 1
    return count


def _duration(seconds: float) -> str:
    seconds = round(seconds)
    return f"{seconds // 60} min {seconds % 60:02d} s" if seconds >= 60 else f"{seconds} s"


def run_time_line(timing: dict) -> str:
    """The header line that states the measured run time (``timing`` is ``metadata["nst"]["run_time"]``)."""
    parts = [RUN_TIME_PREFIX]
    if "full_s" in timing:
        parts.append(f"{_duration(timing['full_s'])} on a 2-core CPU at the lecture's settings "
                     f"(slowest cell: {_duration(timing['slowest_cell_s'])});")
    quick = f"{_duration(timing['quick_s'])}" if "quick_s" in timing else "not measured"
    parts.append(f"with `NST_QUICK=1` (small images, few steps): {quick}.")
    parts.append("Measured by `tools/run_notebooks.py`; each code cell keeps its own timing in its metadata.")
    return " ".join(parts)


def stamp_run_time(nb: nbformat.NotebookNode, **timing: float) -> bool:
    """Record ``timing`` in ``metadata["nst"]["run_time"]`` and rewrite the header's run-time line.

    Returns False if the first markdown cell has no line starting with ``**Run time:**``.
    """
    record = nb.metadata.setdefault("nst", {}).setdefault("run_time", {})
    record.update({k: round(v, 1) for k, v in timing.items()})
    header = next((c for c in nb.cells if c.cell_type == "markdown"), None)
    if header is None:
        return False
    lines = header.source.split("\n")
    for i, line in enumerate(lines):
        if line.startswith(RUN_TIME_PREFIX):
            end = i + 1          # the statement may wrap over the following lines, up to a blank line
            while end < len(lines) and lines[end].strip() and not lines[end].startswith(("**", "#", "*", "-")):
                end += 1
            lines[i:end] = [run_time_line(record)]
            header.source = "\n".join(lines)
            return True
    return False


def error_outputs(nb: nbformat.NotebookNode) -> list[str]:
    """One line per error output: the cell number, the first source line and the exception."""
    found: list[str] = []
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        for out in cell.get("outputs", []):
            if out.get("output_type") == "error":
                first = cell.source.strip().splitlines()[0] if cell.source.strip() else ""
                found.append(f"cell {index} ({first[:60]!r}): {out.get('ename')}: {out.get('evalue')}")
    return found


def run_notebook(path: Path, *, timeout: int = CELL_TIMEOUT, max_bytes: int = MAX_BYTES,
                 quick_copy: bool = False) -> tuple[bool, float]:
    """Execute one notebook in place; return (passed, wall seconds).

    The notebook is written back only if no cell produced an error output. With ``quick_copy`` the
    notebook runs (in quick mode) on a copy, and only its measured time is written into the original.
    """
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(
        nb,
        timeout=timeout,
        kernel_name="python3",
        allow_errors=True,  # collect every error output, then report them below
        record_timing=True,
        resources={"metadata": {"path": str(path.parent.resolve())}},
    )
    start = time.perf_counter()
    try:
        client.execute()
    except Exception as exc:  # a dead kernel, a cell timeout, ...
        seconds = time.perf_counter() - start
        print(f"FAILED  {path}: the run stopped after {seconds:.0f} s ({type(exc).__name__}: {exc})")
        return False, seconds
    seconds = time.perf_counter() - start

    errors = error_outputs(nb)
    if errors:
        print(f"FAILED  {path}: {len(errors)} error output(s); the file was left unchanged:")
        for line in errors:
            print(f"        {line}")
        return False, seconds

    if quick_copy:
        original = nbformat.read(path, as_version=4)
        stamped = stamp_run_time(original, quick_s=seconds)
        nbformat.write(original, path)
        print(f"ok      {path}: quick mode {seconds:.1f} s" + ("" if stamped else " (no **Run time:** line to update)"))
        return True, seconds
    strip_volatile(nb)
    normalise_metadata(nb)
    replace_widget_outputs(nb)
    slowest = slowest_cell(nb)
    stamped = stamp_run_time(nb, full_s=seconds, slowest_cell_s=slowest[1] if slowest else 0.0)
    if not stamped:
        print(f"note    {path}: its first markdown cell has no line starting with {RUN_TIME_PREFIX}")
    nbformat.validate(nb)
    nbformat.write(nb, path)
    size = path.stat().st_size
    if size >= max_bytes:
        print(
            f"FAILED  {path}: the executed notebook (written anyway) is {size / 2**20:.2f} MB, over the limit of "
            f"{max_bytes / 2**20:.3g} MB. Use fewer or smaller figures (figsize, dpi), or print less."
        )
        return False, seconds
    worst = f", slowest cell {slowest[0]} ({slowest[1]:.1f} s)" if slowest else ""
    print(f"ok      {path}: {seconds:.1f} s, {size / 2**20:.2f} MB{worst}")
    return True, seconds


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point; returns the exit status."""
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("notebooks", nargs="+", type=Path, help="the .ipynb files to execute in place")
    parser.add_argument("--quick", action="store_true",
                        help="measure quick mode (NST_QUICK=1) on a copy; only the time is written into the notebook")
    parser.add_argument("--timeout", type=int, default=CELL_TIMEOUT, help="seconds per cell (default: %(default)s)")
    parser.add_argument(
        "--max-mb",
        type=float,
        default=MAX_BYTES / 2**20,
        help="largest allowed notebook size in MB (default: %(default)s)",
    )
    args = parser.parse_args(argv)

    missing = [p for p in args.notebooks if not p.is_file() or p.suffix != ".ipynb"]
    if missing:
        parser.error("not a notebook file: " + ", ".join(str(p) for p in missing))
    if args.quick:
        os.environ["NST_QUICK"] = "1"
    mode = "quick (NST_QUICK=1)" if os.environ.get("NST_QUICK") == "1" else "full"
    print(f"Executing {len(args.notebooks)} notebook(s) in {mode} mode")

    failed: list[Path] = []
    total = 0.0
    for path in args.notebooks:
        passed, seconds = run_notebook(path, timeout=args.timeout, max_bytes=int(args.max_mb * 2**20),
                                       quick_copy=args.quick)
        total += seconds
        if not passed:
            failed.append(path)
    print(f"Total wall time: {total:.1f} s")
    if failed:
        print(f"{len(failed)} notebook(s) failed: " + ", ".join(str(p) for p in failed))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
