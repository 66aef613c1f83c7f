#!/usr/bin/env python3
"""Stamp the "Open in Colab" / "Launch Binder" badges and the Colab setup cell into every notebook.

The repository's address lives in one place, ``[project.urls] Repository`` of ``pyproject.toml``.
This script writes it into

* every lecture (``notebooks/*.ipynb``) and every homework solution (``homework/solutions/*.ipynb``):
  a small markdown cell right after the title with the two badges (:data:`BADGES_ID`), and a first code
  cell (:data:`SETUP_ID`) that only on Google Colab clones the repository, changes into the notebook's
  folder, installs the package and lets the package's runs use the GPU (``device="auto"``, through
  :func:`nst_helpers.runtime.use_gpu_when_available`); anywhere else it prints one line and does nothing;
* the README, between the lines ``<!-- launch-badges:start -->`` and ``<!-- launch-badges:end -->``.

The student notebooks in ``homework/`` are generated from the solutions (``make homework``) and carry
the same cells; their badges and setup cell point at the student version (``homework/NAME.ipynb``), the
one a class opens.

Usage (from the repository root)::

    python tools/stamp_launch_links.py            # stamp; files that are already right stay untouched
    python tools/stamp_launch_links.py --check    # exit 1 if a file would change (tests/test_launch.py)
    make homework                                 # afterwards: the student versions take the new cells

Running it twice changes nothing. The setup cell's outputs and timing (after ``make notebooks``) are
kept while its code stays the same; a changed cell is written without outputs. A fork changes the URL
in pyproject.toml and runs this script (and ``make homework``) once.
"""

from __future__ import annotations

import argparse
import copy
import re
import sys
from pathlib import Path
from urllib.parse import quote

import nbformat

ROOT = Path(__file__).resolve().parent.parent
#: The branch the badges open.
BRANCH = "main"
#: Cell ids (and, in homework, nbgrader grade ids) of the two stamped cells.
BADGES_ID = "launch-badges"
SETUP_ID = "launch-setup"
#: Cell metadata that marks a stamped cell: ``{"nst": {"launch": "badges" | "setup"}}``.
MARK = "launch"
README_START = "<!-- launch-badges:start -->"
README_END = "<!-- launch-badges:end -->"
COLAB_BADGE = "https://colab.research.google.com/assets/colab-badge.svg"
BINDER_BADGE = "https://mybinder.org/badge_logo.svg"
GITHUB_RE = re.compile(r"^https://github\.com/(?P<owner>[\w.-]+)/(?P<repo>[\w.-]+?)(?:\.git)?/?$")


class LaunchError(ValueError):
    """pyproject.toml has no usable repository address, or a notebook cannot be stamped."""


# --------------------------------------------------------------------------- the address and the links


def _project_urls(text: str) -> dict:
    """``[project.urls]`` of a pyproject.toml (tomllib; on Python 3.10, which lacks it, the simple
    ``Name = "url"`` lines of that table)."""
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        table = re.search(r"^\[project\.urls\]\s*$(.*?)(?=^\[|\Z)", text, re.M | re.S)
        pairs = re.findall(r'^\s*"?([\w.-]+)"?\s*=\s*"([^"]*)"', table.group(1), re.M) if table else []
        return dict(pairs)
    return tomllib.loads(text).get("project", {}).get("urls", {})


def repository_url(pyproject: Path = ROOT / "pyproject.toml") -> str:
    """``[project.urls] Repository`` of ``pyproject``: ``https://github.com/OWNER/REPO`` (checked)."""
    url = _project_urls(pyproject.read_text(encoding="utf-8")).get("Repository")
    if not url:
        raise LaunchError(f"{pyproject}: no [project.urls] Repository = \"https://github.com/OWNER/REPO\".")
    github_repo(url)
    return url.rstrip("/").removesuffix(".git")


def github_repo(url: str) -> tuple[str, str]:
    """``(owner, repo)`` of a GitHub address (Colab and Binder open notebooks from GitHub by these)."""
    m = GITHUB_RE.match(url.strip())
    if not m:
        raise LaunchError(f"the repository address {url!r} is not https://github.com/OWNER/REPO: "
                          "Colab's and Binder's links need a GitHub repository.")
    return m.group("owner"), m.group("repo")


def launch_links(url: str, path: str, branch: str = BRANCH) -> dict[str, str]:
    """``{"colab": ..., "binder": ...}``: links that open the notebook at ``path`` (from the repository root)."""
    owner, repo = github_repo(url)
    return {
        "colab": f"https://colab.research.google.com/github/{owner}/{repo}/blob/{branch}/{quote(path)}",
        "binder": f"https://mybinder.org/v2/gh/{owner}/{repo}/{branch}?labpath={quote(path, safe='')}",
    }


def folder_links(url: str, folder: str = "notebooks", first: str = "notebooks/00_the_task.ipynb",
                 branch: str = BRANCH) -> dict[str, str]:
    """Links for the README: Colab opens the first lecture, Binder opens JupyterLab on ``folder``."""
    owner, repo = github_repo(url)
    lab = quote(f"lab/tree/{folder}", safe="")
    return {"colab": launch_links(url, first, branch)["colab"],
            "binder": f"https://mybinder.org/v2/gh/{owner}/{repo}/{branch}?urlpath={lab}"}


def badges_markdown(links: dict[str, str]) -> str:
    return (f"[![Open In Colab]({COLAB_BADGE})]({links['colab']})\n"
            f"[![Launch Binder]({BINDER_BADGE})]({links['binder']})")


def badges_cell_source(url: str, path: str) -> str:
    return (badges_markdown(launch_links(url, path)) + "\n\n"
            "*Run it online:* Colab (a free GPU; the first code cell installs the package there) or Binder "
            "(CPU only, starts in a few minutes).")


def setup_cell_source(url: str, folder: str) -> str:
    """The Colab setup cell: clone, change into ``folder`` (relative paths keep working), install, GPU."""
    _, repo = github_repo(url)
    return f'''# Only on Google Colab: fetch the course, install its package, use the GPU if there is one.
# Anywhere else this cell does nothing. (Stamped by tools/stamp_launch_links.py from pyproject.toml.)
import sys

if "google.colab" in sys.modules:
    import os
    import subprocess

    REPO, CLONE = "{url}", "/content/{repo}"
    if not os.path.isdir(CLONE):
        subprocess.run(["git", "clone", "--quiet", "--depth", "1", "--branch", "{BRANCH}", REPO, CLONE], check=True)
    %pip install --quiet -e {{CLONE}}
    sys.path.insert(0, CLONE)  # this kernel imports the package without a restart
    os.chdir(f"{{CLONE}}/{folder}")  # the notebook's folder: its relative paths work
    from google.colab import output

    output.enable_custom_widget_manager()  # the package's ipywidgets (explorer, viewer)
    from nst_helpers.runtime import use_gpu_when_available

    print(f"Colab: course in {{os.getcwd()}}; style transfers run on {{use_gpu_when_available()}}")
else:
    print("Not on Colab: nothing to set up.")'''


# --------------------------------------------------------------------------- notebooks


def targets(root: Path = ROOT) -> list[tuple[Path, str]]:
    """``(notebook, path its links open)`` for every notebook the script stamps."""
    found = [(p, f"notebooks/{p.name}") for p in sorted((root / "notebooks").glob("*.ipynb"))]
    # a solution's badges open the student version, the one a class works in (same cells, see make_homework)
    found += [(p, f"homework/{p.name}") for p in sorted((root / "homework" / "solutions").glob("*.ipynb"))]
    return found


def _mark(cell) -> str | None:
    return cell.get("metadata", {}).get("nst", {}).get(MARK)


def _new_cell(kind: str, cell_id: str, source: str, role: str, homework: bool, old=None):
    cell = nbformat.v4.new_markdown_cell(source) if kind == "markdown" else nbformat.v4.new_code_cell(source)
    cell.id = cell_id
    cell.metadata = {"nst": {MARK: role}, "slideshow": {"slide_type": "skip"}}
    if homework:  # locked like the other fixed cells: nbgrader and make_homework restore it when grading
        cell.metadata["nbgrader"] = {"grade": False, "grade_id": cell_id, "locked": True, "schema_version": 3,
                                     "solution": False, "task": False}
    if old is not None and old.cell_type == cell.cell_type and old.source == source:
        # the same code as before: keep what a run recorded (outputs, count, timing)
        if kind == "code":
            cell.outputs, cell.execution_count = old.outputs, old.execution_count
        for key, value in old.metadata.items():
            cell.metadata.setdefault(key, value)
    return cell


def stamp_notebook(nb: nbformat.NotebookNode, url: str, path: str) -> nbformat.NotebookNode:
    """A copy of ``nb`` with its badges cell after the title and its setup cell before any other code cell."""
    nb = copy.deepcopy(nb)
    old = {_mark(c): c for c in nb.cells if _mark(c)}
    cells = [c for c in nb.cells if not _mark(c)]
    if not cells or cells[0].cell_type != "markdown" or not cells[0].source.lstrip().startswith("# "):
        raise LaunchError(f"{path}: the first cell must be the markdown title ('# ...').")
    taken = {c.get("id") for c in cells}
    if {BADGES_ID, SETUP_ID} & taken:
        raise LaunchError(f"{path}: a cell that is not stamped uses the id {BADGES_ID!r} or {SETUP_ID!r}.")
    homework = path.startswith("homework/")
    folder = path.rsplit("/", 1)[0]
    badges = _new_cell("markdown", BADGES_ID, badges_cell_source(url, path), "badges", homework, old.get("badges"))
    setup = _new_cell("code", SETUP_ID, setup_cell_source(url, folder), "setup", homework, old.get("setup"))
    nb.cells = [cells[0], badges, setup, *cells[1:]]
    return nb


def notebook_bytes(nb: nbformat.NotebookNode) -> bytes:
    text = nbformat.writes(nb)
    return (text if text.endswith("\n") else text + "\n").encode("utf-8")


# --------------------------------------------------------------------------- README


def readme_block(url: str) -> str:
    return "\n".join([README_START, badges_markdown(folder_links(url)), README_END])


def stamp_readme(text: str, url: str) -> str:
    """``text`` with the lines between the README markers replaced by the current badges."""
    start, end = text.find(README_START), text.find(README_END)
    if start < 0 or end < start:
        raise LaunchError(f"README.md lacks the lines {README_START} ... {README_END} around its badges.")
    return text[:start] + readme_block(url) + text[end + len(README_END):]


# --------------------------------------------------------------------------- main


def stamp(root: Path = ROOT, check: bool = False, url: str | None = None) -> list[Path]:
    """Stamp every notebook and the README below ``root``; return the files that were (or, with ``check``,
    would be) changed."""
    url = url or repository_url(root / "pyproject.toml")
    changed = []
    for path, link_path in targets(root):
        data = notebook_bytes(stamp_notebook(nbformat.read(path, as_version=4), url, link_path))
        if path.read_bytes() != data:
            changed.append(path)
            if not check:
                path.write_bytes(data)
    readme = root / "README.md"
    if readme.is_file():
        text = readme.read_text(encoding="utf-8")
        new = stamp_readme(text, url)
        if new != text:
            changed.append(readme)
            if not check:
                readme.write_text(new, encoding="utf-8")
    return changed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    parser.add_argument("--check", action="store_true", help="change nothing; exit 1 if a file is out of date")
    parser.add_argument("--root", type=Path, default=ROOT, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    try:
        changed = stamp(args.root, check=args.check)
    except LaunchError as exc:
        print(f"error: {exc}")
        return 2
    rel = [str(p.relative_to(args.root)) for p in changed]
    if args.check:
        if rel:
            print("launch links out of date (run `python tools/stamp_launch_links.py`, then `make homework`): "
                  + ", ".join(rel))
            return 1
        print("launch links up to date")
        return 0
    print("\n".join(f"stamped {r}" for r in rel) if rel else "nothing to change")
    if any(r.startswith("homework/solutions/") for r in rel):
        print("now run `make homework` so that the student notebooks get the same cells")
    return 0


if __name__ == "__main__":
    sys.exit(main())
