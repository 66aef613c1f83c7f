#!/usr/bin/env python3
"""Student versions of the homework notebooks, and grading, without nbgrader.

The solution notebooks in ``homework/solutions/`` are the source. They use
nbgrader's markers and cell metadata, so nbgrader can use them as they are;
this script does the same two jobs for lecturers who do not run nbgrader.

Generate (what ``make homework`` runs; the behaviour of ``nbgrader generate_assignment``)::

    python tools/make_homework.py                  # homework/solutions/*.ipynb -> homework/*.ipynb
    python tools/make_homework.py --out DIR        # write the student versions somewhere else
    python tools/make_homework.py --check          # exit 1 if homework/*.ipynb differ from a fresh generation

For every cell of a solution notebook:

* the lines from ``### BEGIN SOLUTION`` to ``### END SOLUTION`` become
  ``# YOUR CODE HERE`` / ``raise NotImplementedError()``, indented like the
  ``BEGIN`` line (in Markdown: ``YOUR ANSWER HERE``); a solution cell without
  markers is replaced as a whole;
* the lines from ``### BEGIN HIDDEN TESTS`` to ``### END HIDDEN TESTS`` are removed;
* outputs and execution counts are cleared, per-run metadata is dropped;
* test cells (nbgrader ``grade``) and ``locked`` cells become undeletable and
  read-only, solution cells undeletable (nbgrader's LockCells);
* the cell keeps its id, so a submission can be matched with its solution cell by cell.

As with nbgrader, markers outside a solution cell (or hidden tests outside a
test cell) are an error. The output is written with ``nbformat.write``, so the
same solutions always give the same bytes.

Grade (the behaviour of ``nbgrader autograde``)::

    python tools/make_homework.py grade submissions/*/hw1_gram_and_losses.ipynb [--csv grades.csv]
                                         [--feedback DIR] [--timeout 600] [--quick]

For each submission: every test cell and locked cell is put back from the
solution notebook (with its hidden tests, so edited checks do not count), the
notebook runs top to bottom in a fresh kernel, and each test cell that runs
without an error earns its points. Written answers are listed for manual grading.
"""

from __future__ import annotations

import argparse
import copy
import csv
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent
SOLUTIONS = ROOT / "homework" / "solutions"
STUDENT = ROOT / "homework"

BEGIN_SOLUTION = "### BEGIN SOLUTION"
END_SOLUTION = "### END SOLUTION"
BEGIN_HIDDEN = "### BEGIN HIDDEN TESTS"
END_HIDDEN = "### END HIDDEN TESTS"
CODE_STUB = ("# YOUR CODE HERE", "raise NotImplementedError()")
TEXT_STUB = "YOUR ANSWER HERE"
#: Cell metadata that belongs to one run, not to the notebook.
VOLATILE_CELL_KEYS = ("execution", "ExecuteTime", "collapsed", "scrolled", "jupyter")


class MarkerError(ValueError):
    """Solution or hidden-test markers that are unbalanced or in the wrong kind of cell."""


def _nbgrader(cell) -> dict:
    return cell.get("metadata", {}).get("nbgrader", {})


def _replace_regions(lines: list[str], begin: str, end: str, stub: tuple[str, ...] | None,
                     where: str) -> tuple[list[str], int]:
    """Replace each begin..end region (inclusive) by ``stub`` lines (indented like ``begin``), or drop it."""
    out: list[str] = []
    inside = False
    found = 0
    for number, line in enumerate(lines, start=1):
        text = line.strip()
        if text == begin:
            if inside:
                raise MarkerError(f"{where}, line {number}: '{begin}' inside another region.")
            inside = True
            found += 1
            if stub is not None:
                indent = line[: len(line) - len(line.lstrip())]
                out.extend(indent + s for s in stub)
        elif text == end:
            if not inside:
                raise MarkerError(f"{where}, line {number}: '{end}' without '{begin}'.")
            inside = False
        elif not inside:
            out.append(line)
    if inside:
        raise MarkerError(f"{where}: '{begin}' is never closed by '{end}'.")
    return out, found


def _strip_trailing_blank(lines: list[str]) -> list[str]:
    while lines and not lines[-1].strip():
        lines.pop()
    return lines


def student_cell(cell, where: str):
    """The student version of one cell (a new cell; the argument is not changed)."""
    cell = copy.deepcopy(cell)
    meta = _nbgrader(cell)
    is_solution, is_grade = bool(meta.get("solution")), bool(meta.get("grade"))
    lines = cell.source.split("\n")
    stub = CODE_STUB if cell.cell_type == "code" else (TEXT_STUB,)
    lines, n_solution = _replace_regions(lines, BEGIN_SOLUTION, END_SOLUTION, stub, where)
    if n_solution and not is_solution:
        raise MarkerError(f"{where}: solution markers in a cell that is not a solution cell "
                          "(set metadata.nbgrader.solution = true).")
    if is_solution and not n_solution:
        lines = list(stub)
    lines, n_hidden = _replace_regions(lines, BEGIN_HIDDEN, END_HIDDEN, None, where)
    if n_hidden and not (is_grade and not is_solution):
        raise MarkerError(f"{where}: hidden tests in a cell that is not a test cell "
                          "(set metadata.nbgrader.grade = true, solution = false).")
    cell.source = "\n".join(_strip_trailing_blank(lines))

    for key in VOLATILE_CELL_KEYS:
        cell.metadata.pop(key, None)
    if cell.cell_type == "code":
        cell.outputs = []
        cell.execution_count = None
    if is_solution:
        cell.metadata["deletable"] = False
    elif is_grade or meta.get("locked"):
        cell.metadata["deletable"] = False
        cell.metadata["editable"] = False
    return cell


def student_notebook(nb: nbformat.NotebookNode, name: str = "notebook") -> nbformat.NotebookNode:
    """The student version of a solution notebook (nbgrader's generate_assignment, minus its database)."""
    out = nbformat.v4.new_notebook()
    out.nbformat, out.nbformat_minor = 4, max(nb.get("nbformat_minor", 5), 5)
    out.metadata = {"kernelspec": copy.deepcopy(nb.metadata.get("kernelspec", {})),
                    "language_info": {"name": nb.metadata.get("language_info", {}).get("name", "python")}}
    ids = set()
    for index, cell in enumerate(nb.cells):
        if "id" not in cell:
            raise MarkerError(f"{name}, cell {index}: no cell id; save the solution with nbformat >= 5.1.")
        if cell.id in ids:
            raise MarkerError(f"{name}, cell {index}: duplicate cell id {cell.id!r}.")
        ids.add(cell.id)
        out.cells.append(student_cell(cell, f"{name}, cell {index} (id {cell.id})"))
    nbformat.validate(out)
    return out


def student_bytes(solution: Path) -> bytes:
    """The exact bytes of the student version of ``solution`` (what is committed in homework/)."""
    nb = nbformat.read(solution, as_version=4)
    text = nbformat.writes(student_notebook(nb, solution.name))
    return (text if text.endswith("\n") else text + "\n").encode("utf-8")


def generate(solutions: Path = SOLUTIONS, out: Path = STUDENT, check: bool = False) -> int:
    """Write (or, with ``check``, compare) the student version of every solution notebook; 0 = all fine."""
    paths = sorted(solutions.glob("*.ipynb"))
    if not paths:
        print(f"no solution notebooks in {solutions}")
        return 1
    stale = []
    for path in paths:
        data = student_bytes(path)
        target = out / path.name
        if check:
            if not target.is_file() or target.read_bytes() != data:
                stale.append(target)
            continue
        out.mkdir(parents=True, exist_ok=True)
        if not target.is_file() or target.read_bytes() != data:
            target.write_bytes(data)
            print(f"wrote   {target}")
        else:
            print(f"same    {target}")
    if check:
        if stale:
            print("stale student notebooks (run `make homework`): " + ", ".join(str(p) for p in stale))
            return 1
        print(f"{len(paths)} student notebook(s) up to date")
    return 0


# --------------------------------------------------------------------------------------------- grading


@dataclass
class Score:
    """The result of one test (or manually graded) cell of one submission."""

    grade_id: str
    points: float
    max_points: float
    status: str  # "passed", "failed: ...", "missing", "manual"


def _solution_for(submission: nbformat.NotebookNode, path: Path, solutions: Path) -> Path:
    same = solutions / path.name
    if same.is_file():
        return same
    ids = {c.get("id") for c in submission.cells}
    best = max(sorted(solutions.glob("*.ipynb")),
               key=lambda p: len(ids & {c.get("id") for c in nbformat.read(p, as_version=4).cells}), default=None)
    if best is None:
        raise FileNotFoundError(f"no solution notebooks in {solutions}")
    return best


def _first_error(cell) -> str | None:
    for out in cell.get("outputs", []):
        if out.get("output_type") == "error":
            first = str(out.get("evalue", "")).strip().splitlines()
            return f"{out.get('ename')}: {first[0] if first else ''}"
    return None


def grade(path: Path, solutions: Path = SOLUTIONS, timeout: int = 600,
          feedback: Path | None = None) -> list[Score]:
    """Autograde one submitted notebook against its solution notebook; return one Score per graded cell."""
    from nbclient import NotebookClient

    submission = nbformat.read(path, as_version=4)
    solution = nbformat.read(_solution_for(submission, path, solutions), as_version=4)
    by_id = {c.get("id"): c for c in submission.cells}
    missing = []
    for cell in solution.cells:
        meta = _nbgrader(cell)
        restore = (meta.get("grade") and not meta.get("solution")) or meta.get("locked")
        if not restore:
            continue
        mine = by_id.get(cell.id)
        if mine is None:
            missing.append(cell.id)
            continue
        mine.cell_type = cell.cell_type
        mine.source = cell.source  # the lecturer's copy, hidden tests included
        mine.metadata["nbgrader"] = copy.deepcopy(meta)
    client = NotebookClient(submission, timeout=timeout, kernel_name="python3", allow_errors=True,
                            resources={"metadata": {"path": str(path.parent.resolve())}})
    client.execute()
    if feedback is not None:
        feedback.mkdir(parents=True, exist_ok=True)
        nbformat.write(submission, feedback / path.name)

    scores = []
    by_id = {c.get("id"): c for c in submission.cells}
    for cell in solution.cells:
        meta = _nbgrader(cell)
        if not meta.get("grade"):
            continue
        gid, maximum = meta.get("grade_id", cell.id), float(meta.get("points", 0))
        if meta.get("solution"):
            scores.append(Score(gid, 0.0, maximum, "manual"))
        elif cell.id in missing:
            scores.append(Score(gid, 0.0, maximum, "missing (the cell was deleted)"))
        else:
            error = _first_error(by_id[cell.id])
            scores.append(Score(gid, 0.0, maximum, f"failed: {error}") if error
                          else Score(gid, maximum, maximum, "passed"))
    return scores


def grade_main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="make_homework.py grade",
                                     description="Autograde submitted homework notebooks (without nbgrader).")
    parser.add_argument("submissions", nargs="+", type=Path, help="submitted .ipynb files")
    parser.add_argument("--solutions", type=Path, default=SOLUTIONS, help="folder of the solution notebooks")
    parser.add_argument("--csv", type=Path, help="append one row per graded cell to this CSV file")
    parser.add_argument("--feedback", type=Path, help="write the executed notebooks (with messages) here")
    parser.add_argument("--timeout", type=int, default=600, help="seconds per cell (default: %(default)s)")
    parser.add_argument("--quick", action="store_true",
                        help="set NST_QUICK=1: small images and few steps (the checks pass in quick mode too)")
    args = parser.parse_args(argv)
    if args.quick:
        os.environ["NST_QUICK"] = "1"  # the kernels inherit it
    rows = []
    for path in args.submissions:
        start = time.perf_counter()
        feedback = args.feedback / path.parent.name if args.feedback and len(args.submissions) > 1 else args.feedback
        scores = grade(path, args.solutions, args.timeout, feedback)
        auto = [s for s in scores if s.status != "manual"]
        got = sum(s.points for s in auto)
        print(f"{path}: {got:g} / {sum(s.max_points for s in auto):g} autograded points "
              f"({time.perf_counter() - start:.0f} s)")
        for s in scores:
            print(f"    {s.grade_id:<28} {s.points:>4g} / {s.max_points:<4g} {s.status}")
            rows.append([str(path), s.grade_id, s.points, s.max_points, s.status])
    if args.csv:
        new = not args.csv.is_file()
        with args.csv.open("a", newline="") as f:
            writer = csv.writer(f)
            if new:
                writer.writerow(["submission", "grade_id", "points", "max_points", "status"])
            writer.writerows(rows)
    return 0


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] == "grade":
        return grade_main(argv[1:])
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    parser.add_argument("--solutions", type=Path, default=SOLUTIONS, help="folder of the solution notebooks")
    parser.add_argument("--out", type=Path, default=STUDENT, help="folder for the student notebooks")
    parser.add_argument("--check", action="store_true", help="only compare; exit 1 if anything would change")
    args = parser.parse_args(argv)
    try:
        return generate(args.solutions, args.out, args.check)
    except MarkerError as exc:
        print(f"error: {exc}")
        return 2


if __name__ == "__main__":
    sys.exit(main())
