"""Sphinx configuration of the course website.

Do not run ``sphinx-build docs ...`` directly: ``python docs/build.py`` (``make docs``) first
assembles the site's source in ``docs/_generated/`` (the README, the numbered notebooks, the
homework, the gallery and the API page) and then runs Sphinx with this file as configuration
(``sphinx-build -c docs docs/_generated docs/_build/html``).

Everything the built pages load is local: the furo theme uses system fonts, MathJax is vendored in
``_static/mathjax`` and widgets are shown through the static outputs saved in the notebooks
(see ``_static/VENDORED.md``). Nothing is fetched from the network while building or reading.

The two tables a lecturer edits are ``LECTURE_HOMEWORK`` and ``API_MODULES`` below.
"""

from __future__ import annotations

import json
import re
import runpy
import sys
from pathlib import Path

from docutils import nodes
from sphinx import addnodes
from sphinx.util import logging

DOCS = Path(__file__).resolve().parent
ROOT = DOCS.parent
sys.path.insert(0, str(ROOT))

# --------------------------------------------------------------------------- what the site holds

#: Lecture notebook (stem in ``notebooks/``) -> its homework notebooks (names in ``homework/``).
#: Every name must exist: a missing one is a build warning (an error under ``-W``) and fails
#: ``tests/test_docs.py``. Lectures without homework are simply left out.
LECTURE_HOMEWORK: dict[str, list[str]] = {
    "01_feature_maps_and_gram": ["hw1_gram_and_losses.ipynb"],
    "02_loss_modules": ["hw1_gram_and_losses.ipynb"],
    "03_model_assembly": ["hw2_model_and_optimisation.ipynb"],
    "04_optimisation": ["hw2_model_and_optimisation.ipynb", "hw3_texture_synthesis.ipynb"],
}

#: Modules of ``nst_helpers`` on the API page, in this order.
API_MODULES: list[str] = [
    "images", "files", "vgg", "losses", "model", "config", "transfer", "history", "runtime", "guided", "color",
    "pyramid", "quality", "plotting", "precomputed", "paintings", "errors", "cli",
]
#: Modules added to the API page only when their file exists at build time.
API_OPTIONAL_MODULES: list[str] = ["explorer", "viewer", "widgets", "homework"]

#: Resources a built page may load from the network. Empty: the site works offline. An entry is
#: ``"url prefix": "why it is acceptable that it fails offline"``; tests/test_docs.py honours it.
OPTIONAL_REMOTE_RESOURCES: dict[str, str] = {}

#: Where ``build.py`` puts the untouched notebooks that the pages offer for download.
ORIGINALS = "_originals"

#: Colab and Binder links of each notebook page: made from ``[project.urls] Repository`` of pyproject.toml by
#: the same code that stamps the notebooks' badges (``tools/stamp_launch_links.py``), so they always agree.
#: They are plain links: nothing is loaded from those sites (the badge pictures stay out of the pages).
_LAUNCH = runpy.run_path(str(ROOT / "tools" / "stamp_launch_links.py"))
REPOSITORY_URL: str = _LAUNCH["repository_url"](ROOT / "pyproject.toml")


def launch_links(path: str) -> dict[str, str]:
    """``{"colab": url, "binder": url}`` of the notebook at ``path`` (from the repository root)."""
    return _LAUNCH["launch_links"](REPOSITORY_URL, path)

# --------------------------------------------------------------------------- project

project = "Neural style transfer, step by step"
author = "the nst-helpers authors"
copyright = "the nst-helpers authors, MIT licence"  # noqa: A001 (Sphinx's name)
try:  # without importing the package (and torch) just for its version
    from importlib.metadata import version as _version

    release = _version("nst-helpers")
except Exception:  # not installed: the site still builds
    release = ""
version = release

extensions = [
    "myst_nb",
    "sphinx.ext.autodoc",
    "sphinx.ext.napoleon",
    "sphinx.ext.mathjax",
    "sphinx.ext.githubpages",  # writes .nojekyll so GitHub Pages serves _static/ and _images/
]

exclude_patterns = [ORIGINALS, "images/**.md", "**.ipynb_checkpoints", "_build", "Thumbs.db", ".DS_Store"]
root_doc = "index"
language = "en"
nitpicky = False
suppress_warnings: list[str] = []

# --------------------------------------------------------------------------- MyST and notebooks

nb_execution_mode = "off"  # pages show the outputs committed with the notebooks
nb_ipywidgets_js: dict = {}  # no widget JavaScript (it would come from a CDN); see build.py
nb_merge_streams = True
myst_enable_extensions = ["dollarmath", "amsmath", "colon_fence", "deflist", "smartquotes"]
myst_heading_anchors = 3
myst_dmath_double_inline = True

# --------------------------------------------------------------------------- math: vendored MathJax 3

mathjax_path = "mathjax/tex-svg-full.js"  # relative to _static; all TeX extensions, no font files
mathjax3_config = {
    "options": {"enableMenu": False},  # the menu could load speech components from a CDN
    "svg": {"fontCache": "global"},
}

# --------------------------------------------------------------------------- API pages (autodoc)

autodoc_default_options = {"members": True, "show-inheritance": True}
autodoc_member_order = "bysource"
autodoc_typehints = "description"  # short signatures: readable on a phone
autodoc_typehints_description_target = "documented_params"
autodoc_preserve_defaults = True
napoleon_google_docstring = False
napoleon_numpy_docstring = True
napoleon_use_rtype = False

# --------------------------------------------------------------------------- HTML

html_theme = "furo"
html_title = project
html_short_title = "NST course"
html_static_path = ["_static"]
html_css_files = ["nst.css"]
html_copy_source = False  # pages offer the original notebook instead (see the banner below)
html_show_sourcelink = False
html_last_updated_fmt = None
html_theme_options = {
    "top_of_page_buttons": [],
    "navigation_with_keys": True,
}
highlight_language = "none"  # a fence without a language (the README's file tree) stays plain text
pygments_style = "friendly"
pygments_dark_style = "monokai"

# --------------------------------------------------------------------------- source and homework banner

logger = logging.getLogger("nst_docs")


def _download(label: str, target: str) -> addnodes.download_reference:
    """A link that copies ``target`` (absolute in the source dir) into the site and downloads it."""
    ref = addnodes.download_reference("", "", reftarget=target, refexplicit=True, refdomain="", reftype="download")
    ref += nodes.literal(label, label, classes=["xref", "download"])
    return ref


def _doc_link(docname: str, text: str) -> addnodes.pending_xref:
    """A link to another page (a warning if it does not exist)."""
    ref = addnodes.pending_xref("", refdomain="std", reftype="doc", reftarget="/" + docname,
                                refexplicit=True, refwarn=True)
    ref += nodes.inline(text, text, classes=["xref", "std", "std-doc"])
    return ref


def _notebook_title(path: Path) -> str | None:
    """The first heading of a notebook (its title), or None."""
    try:
        cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    except (OSError, ValueError, KeyError):
        return None
    for cell in cells:
        if cell.get("cell_type") == "markdown":
            source = cell.get("source", "")
            for line in ("".join(source) if isinstance(source, list) else source).splitlines():
                if line.startswith("# "):
                    return line[2:].strip()
    return None


def _row(label: str | None, *parts: nodes.Node) -> nodes.paragraph:
    para = nodes.paragraph()
    if label:
        para += nodes.strong(label, label)
        para += nodes.Text(" ")
    for part in parts:
        para += part
    return para


def _launch_row(path: str) -> nodes.paragraph:
    """"Run it online: Open in Colab · Launch Binder" for the notebook at ``path`` in the repository."""
    links = launch_links(path)
    parts: list[nodes.Node] = []
    for key, label in (("colab", "Open in Colab"), ("binder", "Launch Binder")):
        parts += [nodes.Text(" ")] if parts else []
        ref = nodes.reference(label, label, refuri=links[key], classes=["nst-launch", f"nst-launch-{key}"])
        parts.append(ref)
    parts.append(nodes.Text(" (Colab: a free GPU, run the first cell; Binder: CPU only, a few minutes to start)"))
    return _row("Run it online:", *parts)


def _banner(app, docname: str) -> nodes.Element | None:
    """The box under a lecture or homework title: its notebook, and the pages it belongs with."""
    srcdir = Path(app.srcdir)
    folder, _, stem = docname.partition("/")
    rows = []
    if folder == "notebooks":
        rows.append(_row("Notebook:", _download(f"{stem}.ipynb", f"/{ORIGINALS}/notebooks/{stem}.ipynb"),
                         nodes.Text(" (download it to run the cells in Jupyter)")))
        rows.append(_launch_row(f"notebooks/{stem}.ipynb"))
        for name in LECTURE_HOMEWORK.get(stem, []):
            page = srcdir / "homework" / name
            if not page.is_file():
                logger.warning("LECTURE_HOMEWORK in docs/conf.py maps lecture %r to homework/%s, "
                               "which does not exist", stem, name, location=docname,
                               type="nst", subtype="homework")
                continue
            title = _notebook_title(page) or Path(name).stem
            label = None if title.lower().startswith("homework") else "Homework:"
            rows.append(_row(label, _doc_link("homework/" + Path(name).stem, title), nodes.Text(" · "),
                             _download(name, f"/{ORIGINALS}/homework/{name}")))
    elif folder == "homework" and (srcdir / ORIGINALS / "homework" / f"{stem}.ipynb").is_file():
        rows.append(_row("Notebook:", _download(f"{stem}.ipynb", f"/{ORIGINALS}/homework/{stem}.ipynb"),
                         nodes.Text(" (download it to work on it in Jupyter)")))
        rows.append(_launch_row(f"homework/{stem}.ipynb"))
        links: list[nodes.Node] = []
        for lec, names in LECTURE_HOMEWORK.items():
            page = srcdir / "notebooks" / f"{lec}.ipynb"
            if f"{stem}.ipynb" in names and page.is_file():
                links += [nodes.Text(", ")] if links else []
                links.append(_doc_link("notebooks/" + lec, _notebook_title(page) or lec))
        if links:
            rows.append(_row("Lectures:" if len(links) > 1 else "Lecture:", *links))
    if not rows:
        return None
    box = nodes.container(classes=["nst-banner"])
    box.extend(rows)
    return box


def add_banner(app, doctree: nodes.document) -> None:
    """Put the banner right under the page's title (runs before Sphinx collects downloads)."""
    docname = app.env.current_document.docname if hasattr(app.env, "current_document") else app.env.docname
    banner = _banner(app, docname)
    if banner is None:
        return
    section = next(iter(doctree.findall(nodes.section)), None)
    if section is None:
        doctree.insert(0, banner)
        return
    title = next((i for i, child in enumerate(section.children) if isinstance(child, nodes.title)), -1)
    section.insert(title + 1, banner)


def hide_checkout_path(app, doctree: nodes.document) -> None:
    """Pages show ``<repo>/images`` instead of the build machine's path (e.g. a Path constant's value)."""
    here = str(ROOT)
    for text in list(doctree.findall(nodes.Text)):
        if here in text and text.parent is not None:
            text.parent.replace(text, nodes.Text(text.replace(here, "<repo>")))


GREEK = {name: chr(code) for name, code in zip(
    "alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu nu xi omicron pi rho varsigma sigma tau "
    "upsilon phi chi psi omega".split(), range(0x3B1, 0x3CA))}
GREEK.update({"Gamma": "Γ", "Delta": "Δ", "Theta": "Θ", "Lambda": "Λ", "Sigma": "Σ", "Phi": "Φ", "Omega": "Ω"})


def _plain_tex(tex: str) -> str:
    """``\\alpha_{l}`` -> ``α_l``: enough TeX for a browser tab."""
    tex = re.sub(r"\\([A-Za-z]+)", lambda m: GREEK.get(m.group(1), m.group(1)), tex)
    return tex.replace("{", "").replace("}", "").replace("\\", "").strip()


def plain_title(app, pagename, templatename, context, doctree) -> None:
    """A browser tab cannot typeset ``\\(\\alpha\\)``: show ``α`` in the <title> of a page."""
    if context.get("title"):
        context["title"] = re.sub(r"\\\((.*?)\\\)", lambda m: _plain_tex(m.group(1)), context["title"])


def setup(app):
    # priority < 500: before the collector that registers download files and images
    app.connect("doctree-read", add_banner, priority=100)
    app.connect("doctree-read", hide_checkout_path, priority=100)
    app.connect("html-page-context", plain_title)
    # MathJax on every page: the sidebar and the previous/next links show titles with math (lecture 05)
    app.set_html_assets_policy("always")
    return {"parallel_read_safe": True}
