"""Build the course website: ``python docs/build.py`` (what ``make docs`` runs).

1. Assemble the site's source in ``docs/_generated/`` (git-ignored) from the repository:

   * ``docs/index.md``                -> the landing page;
   * ``README.md``                    -> ``readme.md`` (setup, the package, the weights);
   * ``notebooks/NN_*.ipynb``         -> one page each, in lecture order, with their committed
     outputs (nothing is executed); the untouched files go to ``_originals/`` for download;
   * ``homework/README.md`` and ``homework/*.ipynb`` -> the homework section, when present;
   * ``images/``                      -> copied as is (the README's relative links keep working)
     and shown on a generated gallery page;
   * the API page, generated from ``API_MODULES`` in ``docs/conf.py`` (autodoc + napoleon).

   Files are only rewritten when their content changed, so Sphinx rebuilds only what changed.

2. Run Sphinx (HTML builder, configuration ``docs/conf.py``) into ``docs/_build/html``.

Widgets: their JavaScript is not vendored. A widget output is shown through the static data the
notebook saved next to it (an image or HTML); a widget that saved nothing else gets a one-line note
instead of its Python repr. A tqdm progress bar keeps its text form.

Options: ``--out DIR`` (HTML output), ``--src DIR`` (assembled source), ``--strict`` (warnings are
errors: ``-W --keep-going``), ``--clean`` (full rebuild), ``-q``; anything after ``--`` goes to
sphinx-build.
"""

from __future__ import annotations

import argparse
import ast
import copy
import json
import os
import posixpath
import re
import runpy
import sys
import textwrap
from pathlib import Path
from urllib.parse import quote, unquote

DOCS = Path(__file__).resolve().parent
ROOT = DOCS.parent

NOTEBOOK_RE = re.compile(r"^\d\d_\w+\.ipynb$")
IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".gif", ".svg", ".webp"}
MARKER = ".assembled-by-docs-build"
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
WIDGET_STATE = "application/vnd.jupyter.widget-state+json"
WIDGET_REPR_RE = re.compile(r"^\s*[A-Za-z_][\w.]*\(")  # e.g. "interactive(children=(FloatSlider(..."
WIDGET_NOTE = "*An interactive widget: run the notebook in Jupyter to use it.*"

GALLERY_TITLES = {
    "results": ("Results", "Made by the package itself."),
    "content": ("Content photos (C)", "The bundled photos, `bundled_image(name)`."),
    "style": ("Style images (S)", "The bundled procedural paintings, `bundled_image(name, \"style\")`."),
}


def lecture_notebooks(root: Path = ROOT) -> list[Path]:
    """The numbered lecture notebooks ``notebooks/NN_*.ipynb``, in lecture order."""
    return sorted(p for p in (root / "notebooks").glob("*.ipynb") if NOTEBOOK_RE.match(p.name))


def homework_notebooks(root: Path = ROOT) -> list[Path]:
    """The student notebooks at the top of ``homework/`` (sub-folders, e.g. solutions, stay out)."""
    return sorted((root / "homework").glob("*.ipynb"))


def site_config() -> dict:
    """The tables of ``docs/conf.py`` (LECTURE_HOMEWORK, API_MODULES, ...)."""
    return runpy.run_path(str(DOCS / "conf.py"))


# --------------------------------------------------------------------------- writing the source


class SourceTree:
    """Writes files below ``src``, touching only changed ones; ``prune`` removes the rest."""

    def __init__(self, src: Path):
        self.src = src
        self.written: set[Path] = set()

    def write(self, rel: str, data: bytes | str) -> Path:
        path = self.src / rel
        if isinstance(data, str):
            data = data.encode("utf-8")
        self.written.add(path)
        if not (path.is_file() and path.read_bytes() == data):
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
        return path

    def copy(self, source: Path, rel: str) -> Path:
        return self.write(rel, source.read_bytes())

    def prune(self) -> None:
        for path in sorted(self.src.rglob("*"), reverse=True):
            if path.is_file() and path not in self.written:
                path.unlink()
            elif path.is_dir() and not any(path.iterdir()):
                path.rmdir()


def static_widget_outputs(nb: dict) -> dict:
    """A copy of ``nb`` whose widget outputs are replaced by their static fallbacks."""
    nb = copy.deepcopy(nb)
    nb.get("metadata", {}).pop("widgets", None)
    for cell in nb.get("cells", []):
        for out in cell.get("outputs", []):
            data = out.get("data")
            if not data or WIDGET_VIEW not in data:
                continue
            data.pop(WIDGET_VIEW)
            data.pop(WIDGET_STATE, None)
            if any(mime != "text/plain" for mime in data):
                data.pop("text/plain", None)  # the image / HTML the notebook saved says more
            else:
                text = data.get("text/plain", "")
                text = "".join(text) if isinstance(text, list) else text
                if not text.strip() or WIDGET_REPR_RE.match(text):
                    out["data"] = {"text/markdown": WIDGET_NOTE}
    return nb


NBVAL_MARKER_RE = re.compile(r"^# NBVAL_[A-Z_]+[ \t]*\n?", re.M)


def strip_test_markers(source: str | list[str]) -> str:
    """Drop the ``# NBVAL_CHECK_OUTPUT``-style lines: they steer the notebook tests, readers need not see them."""
    text = "".join(source) if isinstance(source, list) else source
    return NBVAL_MARKER_RE.sub("", text)


def copy_notebook(tree: SourceTree, source: Path, rel: str, originals: str, published: dict[str, str]) -> None:
    """The untouched notebook for download, and the page's copy: static widgets, links relinked."""
    tree.copy(source, f"{originals}/{rel}")
    nb = static_widget_outputs(json.loads(source.read_text(encoding="utf-8")))
    nb["cells"] = [c for c in nb.get("cells", []) if not is_launch_cell(c)]
    for cell in nb.get("cells", []):
        if cell.get("cell_type") == "code":
            cell["source"] = strip_test_markers(cell["source"])
        if cell.get("cell_type") == "markdown":
            text = "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
            cell["source"] = relink(text, rel, rel, published)
    tree.write(rel, json.dumps(nb, ensure_ascii=False, indent=1))


def is_launch_cell(cell: dict) -> bool:
    """A cell stamped by ``tools/stamp_launch_links.py`` (Colab/Binder badges or the Colab setup cell).

    Pages leave them out: the badge pictures would load from colab.research.google.com and mybinder.org,
    and the setup cell only matters on Colab. The page's banner offers the same links as plain text
    (``docs/conf.py``), and the downloadable original keeps both cells.
    """
    return bool(cell.get("metadata", {}).get("nst", {}).get("launch"))


BADGE_RE = re.compile(r"\[!\[(?P<alt>[^\]]*)\]\([^)\s]+\)\]\((?P<target>[^)\s]+)\)")


def badges_as_links(text: str) -> str:
    """``[![Open In Colab](badge.svg)](url)`` -> ``[Open In Colab](url)``: the link stays, the remote picture goes."""
    return BADGE_RE.sub(lambda m: f"[{m.group('alt')}]({m.group('target')})", text)


LINK_RE = re.compile(r"(?<!!)\[(?P<text>[^\]\n]*)\]\((?P<target>[^)\s]+)(?P<title>\s+\"[^\"]*\")?\)")
FENCE_RE = re.compile(r"(^```.*?^```[^\n]*$)", re.S | re.M)


def relink(text: str, repo_path: str, site_path: str, published: dict[str, str]) -> str:
    """Fix the relative links of a Markdown text moved from ``repo_path`` to ``site_path``.

    A link to a file the site publishes points at its page or copy (``homework/README.md`` ->
    ``homework/index.md``); a link to anything else (a script, a folder, a solution notebook) keeps
    its text and names the file in the repository, instead of breaking. Images and code blocks
    are left alone.
    """

    def fix(m: re.Match) -> str:
        target = m.group("target")
        if re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*:", target) or target.startswith(("#", "/")):
            return m.group(0)  # a URL, an anchor on the same page, or a path from the site's root
        path, hash_, fragment = target.partition("#")
        repo_target = posixpath.normpath(posixpath.join(posixpath.dirname(repo_path), unquote(path)))
        if repo_target in published:
            new = posixpath.relpath(published[repo_target], posixpath.dirname(site_path) or ".")
            return f"[{m.group('text')}]({quote(new)}{hash_}{fragment}{m.group('title') or ''})"
        where = repo_target.rstrip("/") + ("/" if path.endswith("/") else "")
        if where.strip("`") in m.group("text"):
            return m.group("text")
        return f"{m.group('text')} (`{where}` in the repository)"

    parts = FENCE_RE.split(text)
    return "".join(LINK_RE.sub(fix, part) if i % 2 == 0 else part for i, part in enumerate(parts))


def link_lectures(readme: str, root: Path) -> str:
    """Make the README's lecture table link to the lecture pages: ``| `00_the_task` |`` -> a link."""
    for nb in lecture_notebooks(root):
        readme = readme.replace(f"| `{nb.stem}` |", f"| [`{nb.stem}`](notebooks/{nb.name}) |")
    return readme


def myst_toctree(entries: list[str], caption: str | None = None, hidden: bool = False) -> str:
    options = [":maxdepth: 1"]
    if caption:
        options.append(f":caption: {caption}")
    if hidden:
        options.append(":hidden:")
    return "\n```{toctree}\n" + "\n".join(options) + "\n\n" + "\n".join(entries) + "\n```\n"


def gallery_page(tree: SourceTree, root: Path) -> str | None:
    """Write ``gallery.md`` showing every image under ``images/``; None when there are none."""
    images = root / "images"
    if not images.is_dir():
        return None
    folders = sorted((p for p in images.iterdir() if p.is_dir()),
                     key=lambda p: (list(GALLERY_TITLES).index(p.name) if p.name in GALLERY_TITLES else 1.5, p.name))
    sections = []
    for folder in folders:
        files = sorted(p for p in folder.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES)
        if not files:
            continue
        title, intro = GALLERY_TITLES.get(folder.name, (folder.name.replace("_", " ").capitalize(), ""))
        figures = []
        for f in files:
            rel = f.relative_to(root).as_posix()
            caption = f.relative_to(folder).with_suffix("").as_posix().replace("_", " ")
            figures.append(f"```{{figure}} {rel}\n:alt: {caption}\n\n{caption}\n```")
        layout = "nst-gallery nst-gallery-wide" if folder.name == "results" else "nst-gallery"
        sections.append(f"## {title}\n\n{intro}\n\n::::{{container}} {layout}\n" + "\n\n".join(figures)
                        + "\n::::\n")
    if not sections:
        return None
    page = ["# Gallery\n", "Every picture that comes with the course.\n"]
    page += sections
    if (images / "CREDITS.md").is_file():
        page.append("```{include} images/CREDITS.md\n:heading-offset: 1\n```\n")
    tree.write("gallery.md", "\n".join(page))
    return "gallery"


def api_modules(root: Path, conf: dict) -> list[str]:
    """The modules on the API page, in order: ``API_MODULES`` and the optional ones whose file exists."""
    modules = list(conf["API_MODULES"])
    return modules + [m for m in conf["API_OPTIONAL_MODULES"] if (root / "nst_helpers" / f"{m}.py").is_file()]


ROLE_RE = re.compile(r":[a-z]+(?::[a-z]+)?:`~?([^`<]*?)(?:\s*<[^>]*>)?`")


def module_summary(root: Path, name: str) -> str:
    """The first sentence of a module's docstring (read without importing it), as plain reST."""
    tree = ast.parse((root / "nst_helpers" / f"{name}.py").read_text(encoding="utf-8"))
    paragraph = " ".join((ast.get_docstring(tree) or "").split("\n\n")[0].split())
    sentence = re.split(r"(?<=\.)\s+(?=[A-Z])", paragraph, maxsplit=1)[0]
    return ROLE_RE.sub(lambda m: f"``{m.group(1).strip()}``", sentence)


def api_page(tree: SourceTree, root: Path, conf: dict) -> str:
    """Write ``api.rst``: a list of the modules, then one section per module (both from :func:`api_modules`)."""
    modules = api_modules(root, conf)
    lines = [
        "API reference", "=============", "",
        "Generated from the docstrings of the package the notebooks import. Everything the package exports",
        "can also be imported from ``nst_helpers`` itself, e.g. ``from nst_helpers import run_style_transfer``.",
        f"The {len(modules)} modules, one idea each:", "",
    ]
    lines += [f"* :ref:`api-{name}`: {module_summary(root, name)}" for name in modules] + [""]
    for name in modules:
        title = f"``nst_helpers.{name}``"
        lines += [f".. _api-{name}:", "", title, "-" * len(title), "", f".. automodule:: nst_helpers.{name}", ""]
        if name == "cli":
            help_text = cli_help()
            if help_text:
                tree.write("cli_help.txt", help_text)
                lines += ["The command line (``python -m nst_helpers --help``):", "",
                          ".. literalinclude:: cli_help.txt", "   :language: text", ""]
    tree.write("api.rst", "\n".join(lines))
    return "api"


def cli_help() -> str | None:
    try:
        from nst_helpers.cli import build_parser
    except Exception:  # the API page's autodoc reports the import error itself
        return None
    old = os.environ.get("COLUMNS")
    os.environ["COLUMNS"] = "80"
    try:
        parser = build_parser()
        parser.prog = "python -m nst_helpers"
        return parser.format_help()
    finally:
        if old is None:
            os.environ.pop("COLUMNS", None)
        else:
            os.environ["COLUMNS"] = old


def homework_section(tree: SourceTree, root: Path, originals: str, published: dict[str, str]) -> str | None:
    """Write ``homework/index.md`` (the instructor guide, or a list) and a page per notebook.

    Only the student notebooks at the top of ``homework/`` are published: ``homework/solutions/``
    stays out of the site (links to it name the file instead).
    """
    notebooks = homework_notebooks(root)
    guide = root / "homework" / "README.md"
    if not notebooks and not guide.is_file():
        return None
    for nb in notebooks:
        copy_notebook(tree, nb, f"homework/{nb.name}", originals, published)
    for other in homework_files(root):
        tree.copy(other, f"homework/{other.name}")
    entries = [nb.stem for nb in notebooks]
    if guide.is_file():
        text = relink(guide.read_text(encoding="utf-8"), "homework/README.md", "homework/index.md", published)
        text += ("\n" + myst_toctree(entries, hidden=True)) if entries else ""
    else:
        text = "# Homework\n\nOne notebook per exercise; each page offers its notebook for download.\n"
        text += myst_toctree(entries)
    tree.write("homework/index.md", text)
    return "homework/index"


def homework_files(root: Path) -> list[Path]:
    """Pictures and data files at the top of ``homework/`` that its pages may show or link to."""
    return sorted(p for p in (root / "homework").glob("*")
                  if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES | {".txt", ".csv", ".json", ".py"})


def published_files(root: Path) -> dict[str, str]:
    """Repository path -> path in the site's source, for every file the site publishes."""
    pub = {"README.md": "readme.md"}
    for nb in lecture_notebooks(root):
        pub[f"notebooks/{nb.name}"] = f"notebooks/{nb.name}"
    if (root / "homework" / "README.md").is_file() or homework_notebooks(root):
        pub["homework/README.md"] = "homework/index.md"
    for f in homework_notebooks(root) + homework_files(root):
        pub[f"homework/{f.name}"] = f"homework/{f.name}"
    for f in images(root):
        rel = f.relative_to(root).as_posix()
        pub[rel] = "gallery.md" if rel == "images/CREDITS.md" else rel
    return pub


def images(root: Path) -> list[Path]:
    """The pictures under ``images/`` and its CREDITS.md."""
    folder = root / "images"
    return sorted(f for f in folder.rglob("*") if f.is_file() and (f.suffix.lower() in IMAGE_SUFFIXES
                                                                  or f.name == "CREDITS.md"))


def assemble(src: Path, root: Path = ROOT) -> SourceTree:
    """Write the site's source into ``src``; returns the tree (for tests)."""
    conf = site_config()
    originals = conf["ORIGINALS"]
    published = published_files(root)
    tree = SourceTree(src)
    tree.write(MARKER, "Assembled by docs/build.py: every file here is rewritten or deleted by the next build.\n")
    readme = badges_as_links(link_lectures((root / "README.md").read_text(encoding="utf-8"), root))
    tree.write("readme.md", relink(readme, "README.md", "readme.md", published))
    for f in images(root):
        tree.copy(f, f.relative_to(root).as_posix())
    for nb in lecture_notebooks(root):
        copy_notebook(tree, nb, f"notebooks/{nb.name}", originals, published)

    more = []
    for page in (homework_section(tree, root, originals, published), gallery_page(tree, root)):
        if page:
            more.append(page)
    more.append("Setup, the package and its weights <readme>")
    more.append(api_page(tree, root, conf))
    index = (DOCS / "index.md").read_text(encoding="utf-8")
    marker = "% nst:more-pages"
    if marker not in index:
        raise SystemExit(f"docs/index.md lost its line {marker!r}")
    tree.write("index.md", index.replace(marker, myst_toctree(more, caption="Homework and reference")))
    tree.prune()
    return tree


# --------------------------------------------------------------------------- main


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=textwrap.dedent(__doc__.split("\n\n")[0]))
    parser.add_argument("--out", type=Path, default=DOCS / "_build" / "html", help="HTML output folder")
    parser.add_argument("--src", type=Path, default=DOCS / "_generated", help="where the source is assembled")
    parser.add_argument("--strict", action="store_true", help="warnings are errors (-W --keep-going)")
    parser.add_argument("--clean", action="store_true", help="rebuild every page (-E)")
    parser.add_argument("-q", "--quiet", action="store_true")
    parser.add_argument("sphinx_args", nargs="*", help="after --: more sphinx-build arguments")
    args = parser.parse_args(argv)

    src, out = args.src.resolve(), args.out.resolve()
    if src in (DOCS, ROOT) or (src.is_dir() and any(src.iterdir()) and not (src / MARKER).is_file()):
        raise SystemExit(f"refusing to assemble the source in {src}: it is not empty and was not made by build.py")
    assemble(src)

    from sphinx.cmd.build import build_main

    sphinx_args = ["-b", "html", "-c", str(DOCS), "-d", str(out.parent / "doctrees")]
    if args.strict:
        sphinx_args += ["-W", "--keep-going"]
    if args.clean:
        sphinx_args.append("-E")
    if args.quiet:
        sphinx_args.append("-q")
    rc = build_main([*sphinx_args, *args.sphinx_args, str(src), str(out)])
    if rc == 0 and not args.quiet:
        print(f"\nThe site is in {out}; open {out / 'index.html'}")
    return rc


if __name__ == "__main__":
    sys.exit(main())
