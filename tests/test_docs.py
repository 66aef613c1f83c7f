"""The course website (``make docs``): it builds offline with no warnings, every lecture has a page
linked to its notebook and homework, every image and script is local, and a real browser shows the
title, the lectures, a result picture and rendered formulas without touching the network.

The site is built once per run into a temporary folder (about 20-30 s on 2 cores); the browser
checks use the system's Chromium through Playwright and keep their screenshots in
``test-artifacts/docs/``.
"""

from __future__ import annotations

import ast
import html
import json
import os
import re
import runpy
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest

for _needed in ("sphinx", "myst_nb", "furo"):  # the `docs` extra: pip install -e ".[docs]"
    pytest.importorskip(_needed, reason=f"{_needed} is not installed (pip install -e '.[docs]')")

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
ARTIFACTS = ROOT / "test-artifacts" / "docs"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
DEAD_PROXY = "http://127.0.0.1:9"  # the discard port: nothing listens, every fetch fails at once
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}
TITLE = "Neural style transfer"

BUILD = runpy.run_path(str(DOCS / "build.py"))
CONF = runpy.run_path(str(DOCS / "conf.py"))
ALLOWED_REMOTE: dict[str, str] = CONF["OPTIONAL_REMOTE_RESOURCES"]
LECTURES: list[Path] = BUILD["lecture_notebooks"]()


def allowed_remote(url: str) -> bool:
    return any(url.startswith(prefix) for prefix in ALLOWED_REMOTE)


# --------------------------------------------------------------------------- the build


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    """Build the site with warnings as errors and every proxy pointing at a dead port."""
    tmp = tmp_path_factory.mktemp("docs")
    env = dict(os.environ)
    for key in ("http_proxy", "https_proxy", "all_proxy", "ftp_proxy"):
        env[key] = env[key.upper()] = DEAD_PROXY
    env["no_proxy"] = env["NO_PROXY"] = ""
    cmd = [sys.executable, str(DOCS / "build.py"), "--strict", "-q", "--out", str(tmp / "html"),
           "--src", str(tmp / "src"),
           # a wrong LECTURE_HOMEWORK entry fails test_homework_mapping, not every test here
           "--", "-D", "suppress_warnings=nst.homework"]
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    if proc.returncode:
        pytest.fail(f"the site does not build (warnings count as errors): {' '.join(cmd)}\n"
                    f"{proc.stdout[-4000:]}\n{proc.stderr[-8000:]}", pytrace=False)
    return tmp / "html"


def pages(site: Path) -> list[Path]:
    return sorted(site.rglob("*.html"))


class Resources(HTMLParser):
    """Collects what a page loads (not what it merely links to) and its plain links."""

    def __init__(self):
        super().__init__()
        self.loads: list[tuple[str, str]] = []  # (what, url)
        self.links: list[tuple[str, dict]] = []  # (href, attributes) of <a>

    def handle_starttag(self, tag, attrs):
        a = {k: v or "" for k, v in attrs}
        if tag == "a" and "href" in a:
            self.links.append((a["href"], a))
        if tag == "link":
            rel = a.get("rel", "").lower().split()
            if set(rel) & {"stylesheet", "icon", "preload", "prefetch", "modulepreload", "manifest",
                           "apple-touch-icon", "mask-icon"}:
                self.loads.append((f"link rel={' '.join(rel)}", a.get("href", "")))
        for attr in ("src", "poster", "data"):
            if attr in a and tag in {"img", "script", "source", "video", "audio", "iframe", "embed", "object",
                                     "input", "track"}:
                self.loads.append((f"{tag} {attr}", a[attr]))
        for attr in ("srcset",):
            if attr in a:
                for part in a[attr].split(","):
                    if part.strip():
                        self.loads.append((f"{tag} srcset", part.split()[0]))
        for url in re.findall(r"url\(\s*['\"]?([^'\")]+)", a.get("style", "")):
            self.loads.append((f"{tag} style", url))


def parse(page: Path) -> Resources:
    parser = Resources()
    parser.feed(page.read_text(encoding="utf-8"))
    return parser


def local_target(page: Path, url: str) -> Path:
    return (page.parent / unquote(urlsplit(url).path)).resolve()


def test_every_lecture_notebook_has_a_page(site):
    assert LECTURES, "no numbered notebooks (notebooks/NN_*.ipynb) found"
    for nb in LECTURES:
        page = site / "notebooks" / f"{nb.stem}.html"
        assert page.is_file(), f"{nb.name} has no page in the site"
        first = json.loads(nb.read_text(encoding="utf-8"))["cells"][0]
        title = "".join(first["source"]).splitlines()[0].lstrip("# ").split("$")[0].strip()
        h1 = re.search(r"<h1>(.*?)</h1>", page.read_text(encoding="utf-8"), re.S)
        assert h1, f"{page.name} has no title"
        shown = html.unescape(re.sub(r"<[^>]+>", "", h1.group(1)))
        for fancy, plain in (("\u2019", "'"), ("\u2018", "'"), ("\u201c", '"'), ("\u201d", '"')):
            shown = shown.replace(fancy, plain)
        assert shown.startswith(title), f"{page.name} is titled {shown!r}, the notebook {title!r}"


def test_navigation_follows_lecture_order(site):
    index = parse(site / "index.html")
    order = []
    for href, _ in index.links:
        m = re.fullmatch(r"notebooks/(\d\d_\w+)\.html", href)
        if m and m.group(1) not in order:
            order.append(m.group(1))
    assert order == [nb.stem for nb in LECTURES], "the front page does not list the lectures in order"
    for this, following in zip(LECTURES, LECTURES[1:]):
        html = (site / "notebooks" / f"{this.stem}.html").read_text(encoding="utf-8")
        nxt = re.search(r'<a class="next-page" href="([^"]+)"', html)
        assert nxt and nxt.group(1) == f"{following.stem}.html", f"'next' on {this.stem} is not {following.stem}"


def test_lecture_pages_offer_their_source_notebook(site):
    for nb in LECTURES:
        page = site / "notebooks" / f"{nb.stem}.html"
        downloads = [href for href, a in parse(page).links if href.endswith(f"/{nb.name}") and "download" in a]
        assert downloads, f"{page.name} has no download link to {nb.name}"
        target = local_target(page, downloads[0])
        assert target.is_file(), f"{page.name} offers {downloads[0]}, which is not in the site"
        assert target.read_bytes() == nb.read_bytes(), f"{page.name} offers a modified copy of {nb.name}"


def test_homework_mapping(site):
    """Every LECTURE_HOMEWORK entry names a real lecture and real homework, and the page links to it."""
    mapping: dict[str, list[str]] = CONF["LECTURE_HOMEWORK"]
    stems = {nb.stem for nb in LECTURES}
    problems = []
    for lecture, homework in mapping.items():
        if lecture not in stems:
            problems.append(f"lecture {lecture!r} is not a notebook in notebooks/")
            continue
        links = {href for href, _ in parse(site / "notebooks" / f"{lecture}.html").links}
        for name in homework:
            if not (ROOT / "homework" / name).is_file():
                problems.append(f"{lecture} -> homework/{name}: no such file")
            elif f"../homework/{Path(name).stem}.html" not in links:
                problems.append(f"{lecture} -> homework/{name}: the lecture page does not link to it")
    mapped = {name for names in mapping.values() for name in names}
    for nb in BUILD["homework_notebooks"]():
        assert (site / "homework" / f"{nb.stem}.html").is_file(), f"homework/{nb.name} has no page"
        if nb.name not in mapped:
            problems.append(f"homework/{nb.name} belongs to no lecture")
    assert not problems, "fix LECTURE_HOMEWORK in docs/conf.py:\n  " + "\n  ".join(problems)
    assert not (site / "homework" / "solutions").exists(), "the site publishes the homework solutions"
    if (ROOT / "homework" / "README.md").is_file():
        assert (site / "homework" / "index.html").is_file(), "the homework guide has no page"


def test_pages_load_only_local_files(site):
    """No page loads a script, stylesheet, font or image from the network; every local one exists."""
    problems = []
    for page in pages(site):
        for what, url in parse(page).loads:
            if not url or url.startswith(("data:", "#")):
                continue
            if url.startswith(("http:", "https:", "//")):
                if not allowed_remote(url):
                    problems.append(f"{page.relative_to(site)}: {what} {url} (from the network)")
            elif not local_target(page, url).is_file():
                problems.append(f"{page.relative_to(site)}: {what} {url} (missing)")
    for css in sorted(site.rglob("*.css")):
        text = css.read_text(encoding="utf-8", errors="replace")
        urls = re.findall(r"url\(\s*\"([^\"]*)\"|url\(\s*'([^']*)'|url\(\s*([^)'\"\s]+)", text)
        urls += [(u, "", "") for u in re.findall(r"@import\s+[\"']([^\"']+)", text)]
        for url in ("".join(groups) for groups in urls):
            if url.startswith(("data:", "#")) or not url:
                continue
            if url.startswith(("http:", "https:", "//")):
                if not allowed_remote(url):
                    problems.append(f"{css.relative_to(site)}: url({url}) (from the network)")
            elif not local_target(css, url).is_file():
                problems.append(f"{css.relative_to(site)}: url({url}) (missing)")
    assert not problems, "pages would fail offline:\n  " + "\n  ".join(problems)


def test_every_image_is_in_the_site(site):
    n = 0
    for page in pages(site):
        for what, url in parse(page).loads:
            if what.startswith("img") and not url.startswith("data:"):
                n += 1
                assert local_target(page, url).is_file(), f"{page.relative_to(site)} shows {url}, which is missing"
    assert n >= 1
    index_images = [url for what, url in parse(site / "index.html").loads if what.startswith("img")]
    assert any("readme_result" in url for url in index_images), "the front page shows no result picture"
    readme_images = [url for what, url in parse(site / "readme.html").loads if what.startswith("img")]
    assert any("readme_result" in url for url in readme_images), "the README page lost its result picture"


def test_math_uses_the_vendored_mathjax(site):
    html = (site / "index.html").read_text(encoding="utf-8")
    assert 'class="math' in html, "the loss formula on the front page is not math"
    scripts = [urlsplit(url).path for what, url in parse(site / "index.html").loads if what == "script src"]
    assert "_static/mathjax/tex-svg-full.js" in scripts
    for page in pages(site):
        text = page.read_text(encoding="utf-8")
        for cdn in ("cdn.jsdelivr.net", "unpkg.com", "cdnjs.cloudflare.com", "fonts.googleapis.com", "require.js"):
            assert cdn not in text, f"{page.relative_to(site)} mentions {cdn}"


def test_widget_outputs_become_static():
    nb = {"metadata": {"widgets": {"application/vnd.jupyter.widget-state+json": {"state": {}}}}, "cells": [
        {"cell_type": "code", "outputs": [
            {"output_type": "display_data", "data": {
                "application/vnd.jupyter.widget-view+json": {"model_id": "a"},
                "text/plain": "interactive(children=(FloatSlider(value=30.0),))", "image/png": "iVBOR"}},
            {"output_type": "display_data", "data": {
                "application/vnd.jupyter.widget-view+json": {"model_id": "b"},
                "text/plain": "VBox(children=(IntSlider(value=0),))"}},
            {"output_type": "display_data", "data": {
                "application/vnd.jupyter.widget-view+json": {"model_id": "c"},
                "text/plain": "100%|##########| 300/300 [01:02<00:00,  4.80it/s]"}},
        ]}]}
    out = BUILD["static_widget_outputs"](nb)
    data = [o["data"] for o in out["cells"][0]["outputs"]]
    assert "widgets" not in out["metadata"]
    assert data[0] == {"image/png": "iVBOR"}  # the saved picture, not the Python repr
    assert list(data[1]) == ["text/markdown"]  # a note instead of "VBox(children=..."
    assert data[2] == {"text/plain": "100%|##########| 300/300 [01:02<00:00,  4.80it/s]"}  # tqdm keeps its bar
    assert "widgets" in nb["metadata"], "the notebook itself must not change"


def test_pages_hide_notebook_test_markers():
    strip = BUILD["strip_test_markers"]
    assert strip(["# NBVAL_CHECK_OUTPUT\n", "x = 1\n", "print(x)  # NBVAL_SKIP stays in a comment"]) == \
        "x = 1\nprint(x)  # NBVAL_SKIP stays in a comment"
    assert strip("# NBVAL_IGNORE_OUTPUT") == ""


def test_links_to_unpublished_files_keep_their_text():
    published = {"README.md": "readme.md", "homework/README.md": "homework/index.md",
                 "homework/hw1.ipynb": "homework/hw1.ipynb", "images/CREDITS.md": "gallery.md"}
    text = ("See [the setup](../README.md#quick-start), [hw 1](hw1.ipynb), [credits](../images/CREDITS.md), "
            "[the solution](solutions/hw1.ipynb), [`tools/make_homework.py`](../tools/make_homework.py), "
            "[web](https://example.org/a), ![a picture](pic.png).\n```\n[code](x.py)\n```\n")
    out = BUILD["relink"](text, "homework/README.md", "homework/index.md", published)
    assert "[the setup](../readme.md#quick-start)" in out
    assert "[hw 1](hw1.ipynb)" in out and "[credits](../gallery.md)" in out
    assert "the solution (`homework/solutions/hw1.ipynb` in the repository)" in out
    assert ", `tools/make_homework.py`, " in out
    assert "[web](https://example.org/a)" in out and "![a picture](pic.png)" in out
    assert "[code](x.py)" in out  # code blocks are left alone


def _documented_names(module: Path) -> list[str]:
    """Public functions and classes defined in ``module`` (its ``__all__`` when it has one)."""
    tree = ast.parse(module.read_text(encoding="utf-8"))
    defined = {node.name: node for node in tree.body if isinstance(node, (ast.FunctionDef, ast.ClassDef))}
    exported = None
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == "__all__" for t in node.targets):
            exported = ast.literal_eval(node.value)
    names = exported if exported is not None else [n for n in defined if not n.startswith("_")]
    return [n for n in names if n in defined]


def test_api_page_documents_the_public_functions(site):
    html = (site / "api.html").read_text(encoding="utf-8")
    for name in ("transfer.run_style_transfer", "losses.gram_matrix", "images.load_image", "model.build_model",
                 "losses.ContentLoss", "losses.StyleLoss"):
        assert f'id="nst_helpers.{name}"' in html, f"the API page does not document nst_helpers.{name}"
    modules = CONF["API_MODULES"] + [m for m in CONF["API_OPTIONAL_MODULES"]
                                     if (ROOT / "nst_helpers" / f"{m}.py").is_file()]
    missing = []
    for module in modules:
        assert f'id="module-nst_helpers.{module}"' in html, f"the API page lacks the module {module}"
        missing += [f"{module}.{n}" for n in _documented_names(ROOT / "nst_helpers" / f"{module}.py")
                    if f'id="nst_helpers.{module}.{n}"' not in html]
    assert not missing, f"public names without an entry on the API page (a docstring missing?): {missing}"
    unlisted = sorted(p.stem for p in (ROOT / "nst_helpers").glob("*.py")
                      if not p.stem.startswith("_") and p.stem not in modules)
    assert not unlisted, f"modules missing from API_MODULES in docs/conf.py: {unlisted}"


def test_api_introduction_lists_the_documented_modules(site):
    """The list at the top of the API page and its sections come from the same API_MODULES, in order."""
    html = (site / "api.html").read_text(encoding="utf-8")
    modules = BUILD["api_modules"](ROOT, CONF)
    listed = re.findall(r'<li><p><a class="reference internal" href="#api-([\w]+)">', html)
    sections = re.findall(r'id="module-nst_helpers\.(\w+)"', html)
    assert listed == modules == sections, f"introduction {listed} vs sections {sections} vs API_MODULES {modules}"
    assert f"The {len(modules)} modules" in html


def test_api_page_list_follows_api_modules(tmp_path):
    conf = {"API_MODULES": ["vgg", "images"], "API_OPTIONAL_MODULES": ["explorer", "no_such_module"]}
    tree = BUILD["SourceTree"](tmp_path)
    BUILD["api_page"](tree, ROOT, conf)
    rst = (tmp_path / "api.rst").read_text()
    assert re.findall(r"^\* :ref:`api-(\w+)`", rst, re.M) == ["vgg", "images", "explorer"]
    assert re.findall(r"^\.\. automodule:: nst_helpers\.(\w+)", rst, re.M) == ["vgg", "images", "explorer"]
    assert "The 3 modules" in rst and "VGG19, the frozen feature extractor" in rst


def test_notebook_pages_offer_colab_and_binder(site):
    """Plain links from pyproject's repository address; no badge picture and no Colab setup cell on the page."""
    import tomllib

    url = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["urls"]["Repository"].rstrip("/")
    owner_repo = url.removeprefix("https://github.com/")
    pages_and_paths = [(site / "notebooks" / f"{nb.stem}.html", f"notebooks/{nb.name}") for nb in LECTURES]
    pages_and_paths += [(site / "homework" / f"{nb.stem}.html", f"homework/{nb.name}")
                        for nb in BUILD["homework_notebooks"]()]
    for page, path in pages_and_paths:
        links = {a.get("class", "").split()[1]: href for href, a in parse(page).links
                 if "nst-launch" in a.get("class", "")}
        expected = CONF["launch_links"](path)
        assert links == {"nst-launch-colab": expected["colab"], "nst-launch-binder": expected["binder"]}, page.name
        assert f"github/{owner_repo}/blob/main/{path}" in expected["colab"]
        assert f"/v2/gh/{owner_repo}/main?labpath=" in expected["binder"]
        text = page.read_text(encoding="utf-8")
        assert "google.colab" not in text and "badge" not in text.lower(), f"{page.name} shows a launch cell"
    readme = (site / "readme.html").read_text(encoding="utf-8")
    assert f"https://colab.research.google.com/github/{owner_repo}/" in readme and "colab-badge.svg" not in readme


def test_vendored_files_are_documented():
    notes = (DOCS / "_static" / "VENDORED.md").read_text(encoding="utf-8")
    for f in sorted((DOCS / "_static").rglob("*")):
        rel = f.relative_to(DOCS / "_static").as_posix()
        if f.is_file() and rel != "VENDORED.md":
            assert f"`{rel}`" in notes, f"docs/_static/{rel} is not described in docs/_static/VENDORED.md"
    size = sum(f.stat().st_size for f in (DOCS / "_static").rglob("*") if f.is_file())
    assert size < 5_000_000, f"docs/_static holds {size / 1e6:.1f} MB"


# --------------------------------------------------------------------------- in a real browser


@pytest.fixture(scope="module")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.skip(f"no {CHROMIUM}: install it with `apt-get install -y chromium` to run the browser checks")
    sync_api = pytest.importorskip("playwright.sync_api", reason="pip install playwright (no `playwright install`)")
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            yield browser
        finally:
            browser.close()


class Visit:
    """A page opened offline: requests that leave file:// are blocked and recorded."""

    def __init__(self, browser, url: str, viewport: dict):
        phone = viewport == PHONE
        self.context = browser.new_context(viewport=viewport, device_scale_factor=2 if phone else 1,
                                           is_mobile=phone, has_touch=phone)
        self.remote: list[str] = []
        self.failed: list[str] = []
        self.errors: list[str] = []
        self.context.route("**/*", self._route)
        self.page = self.context.new_page()
        self.page.on("request", lambda r: self._seen(r.url))
        self.page.on("requestfailed", lambda r: self.failed.append(f"{r.url} ({r.failure})"))
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.goto(url, wait_until="load")

    def _seen(self, url: str) -> None:
        if not url.startswith(("file:", "data:", "blob:", "about:")) and not allowed_remote(url):
            self.remote.append(url)

    def _route(self, route) -> None:
        url = route.request.url
        if url.startswith(("file:", "data:", "blob:", "about:")):
            route.continue_()
        else:
            self._seen(url)
            route.abort()

    def check_offline(self) -> None:
        assert not self.remote, f"the page tried to reach the network: {sorted(set(self.remote))}"
        assert not self.failed, f"the page failed to load: {self.failed}"
        assert not self.errors, f"JavaScript errors: {self.errors}"

    def images_loaded(self) -> list[str]:
        """The src of every image that did not load (naturalWidth 0)."""
        self.page.evaluate("Promise.all([...document.images].map(i => i.decode().catch(() => null)))")
        return self.page.evaluate("[...document.images].filter(i => !i.naturalWidth).map(i => i.src)")

    def overflow(self) -> int:
        """Pixels by which the page is wider than the screen (0 for a page that fits a phone)."""
        return self.page.evaluate("document.documentElement.scrollWidth - window.innerWidth")

    def shot(self, name: str, full_page: bool = False) -> None:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        self.page.screenshot(path=str(ARTIFACTS / name), full_page=full_page)

    def close(self) -> None:
        self.context.close()


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_front_page_in_a_browser(site, browser, viewport):
    kind = "phone" if viewport == PHONE else "desktop"
    visit = Visit(browser, (site / "index.html").as_uri(), viewport)
    try:
        page = visit.page
        assert TITLE in page.title()
        assert TITLE in page.locator("article h1").first.inner_text()
        lectures = page.locator("article .toctree-wrapper a[href^='notebooks/']")
        assert lectures.count() == len(LECTURES), "the front page does not list every lecture"
        assert all(lectures.nth(i).is_visible() for i in range(lectures.count()))
        result = page.locator("article img[src*='readme_result']").first
        result.scroll_into_view_if_needed()
        assert result.is_visible()
        assert page.evaluate("i => i.complete && i.naturalWidth", result.element_handle()) > 0, "result image broken"
        assert not visit.images_loaded(), f"broken images: {visit.images_loaded()}"
        page.wait_for_selector("article mjx-container", timeout=20_000)
        page.evaluate("window.scrollTo(0, 0)")
        visit.shot(f"index_{kind}.png")
        visit.shot(f"index_{kind}_full.png", full_page=True)
        assert visit.overflow() <= 1, f"the front page is {visit.overflow()} px wider than a {kind} screen"
        visit.check_offline()
    finally:
        visit.close()


def _lecture_with_math(site: Path) -> Path:
    for nb in LECTURES:
        page = site / "notebooks" / f"{nb.stem}.html"
        if 'class="math' in page.read_text(encoding="utf-8"):
            return page
    pytest.fail("no lecture page contains a formula")


def test_lecture_page_renders_math_offline(site, browser):
    page_path = _lecture_with_math(site)
    visit = Visit(browser, page_path.as_uri(), PHONE)
    try:
        page = visit.page
        page.wait_for_selector("article mjx-container", timeout=20_000)
        page.wait_for_function("!document.querySelector('article .math:not(:has(mjx-container))')",
                               timeout=20_000)
        assert page.locator("article mjx-container svg").count() > 0, "MathJax produced no SVG"
        errors = page.locator("article [data-mjx-error], article mjx-merror").count()
        assert errors == 0, f"MathJax could not typeset {errors} formula(s) on {page_path.name}"
        banner = page.locator("article .nst-banner")
        assert banner.count() == 1 and banner.is_visible(), "the notebook / homework box is missing"
        assert not visit.images_loaded(), f"broken images: {visit.images_loaded()}"
        display = page.locator("article mjx-container[display='true']")
        (display if display.count() else page.locator("article mjx-container")).first.scroll_into_view_if_needed()
        visit.shot(f"{page_path.stem}_phone_formula.png")
        page.evaluate("window.scrollTo(0, 0)")
        visit.shot(f"{page_path.stem}_phone.png")
        assert visit.overflow() <= 1, f"{page_path.name} is {visit.overflow()} px wider than a phone screen"
        visit.check_offline()
    finally:
        visit.close()
