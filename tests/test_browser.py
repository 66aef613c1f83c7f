"""The explorer in a real browser: JupyterLab + headless Chromium driven by Playwright.

What it checks, as a student would use it: open the lecture notebook
``notebooks/05_alpha_beta.ipynb`` (a copy without outputs, in a temporary
folder), run all its cells (the server runs with ``NST_QUICK=1``, so the
explorer cell is ``explorer(size=64, steps=10)``), press Run, move the beta
slider with the keyboard, press Run again, and wait until the finished result's
beta (in the readout and above the preview) equals the slider's value and the
preview is a new picture; then move the slider back and see the first result
again at once (the cache). A screenshot is kept in ``test-artifacts/``.

Needs Chromium at /usr/bin/chromium (``apt-get install -y chromium``) and the
``playwright`` Python package; the test skips without them. Set
``NST_SKIP_BROWSER=1`` to skip it on purpose.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from nst_helpers import DEFAULT_BETA

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts"
REPO = Path(__file__).resolve().parents[1]
NOTEBOOK = "05_alpha_beta.ipynb"
UNCHANGED = "00_the_task.ipynb"  # opened as committed: opening it must not modify it

if os.environ.get("NST_SKIP_BROWSER") == "1":
    pytest.skip("NST_SKIP_BROWSER=1 is set", allow_module_level=True)
if not Path(CHROMIUM).exists():
    pytest.skip(f"no Chromium at {CHROMIUM}: install it with `apt-get install -y chromium` to run the browser test",
                allow_module_level=True)
sync_api = pytest.importorskip(
    "playwright.sync_api",
    reason="the browser test needs `pip install playwright` (not its browsers: it uses Debian's Chromium)")
pytest.importorskip("jupyterlab", reason="the browser test needs JupyterLab (`pip install -e .[notebooks]`)")
nbformat = pytest.importorskip("nbformat")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _children(pid: int) -> list[int]:
    """PIDs whose parent is ``pid`` (the kernels the server started, in their own sessions)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            ppid = int(stat.rsplit(")", 1)[1].split()[1])
            if ppid == pid:
                found.append(int(entry.name))
    return found


def _request(url: str, token: str, method: str = "GET", timeout: float = 5.0):
    req = urllib.request.Request(url, method=method, headers={"Authorization": f"token {token}"})
    with urllib.request.urlopen(req, timeout=timeout) as r:
        return r.status, r.read()


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """A JupyterLab server (quick mode) on a free port serving a copy of notebook 05; stopped by its PID afterwards."""
    root = tmp_path_factory.mktemp("lab")
    nb = nbformat.read(REPO / "notebooks" / NOTEBOOK, as_version=4)
    for cell in nb.cells:  # a fresh notebook, as a student opens it after `git clone`: no stale widget views
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    nbformat.write(nb, root / NOTEBOOK)
    shutil.copyfile(REPO / "notebooks" / UNCHANGED, root / UNCHANGED)  # byte for byte, outputs and all
    port, token = _free_port(), secrets.token_hex(16)
    env = dict(os.environ)
    for var, sub in (("JUPYTER_RUNTIME_DIR", "runtime"), ("JUPYTERLAB_WORKSPACES_DIR", "workspaces"),
                     ("JUPYTER_CONFIG_DIR", "config"), ("IPYTHONDIR", "ipython")):
        env[var] = str(root.parent / f"{root.name}-{sub}")
    env["NST_QUICK"] = "1"  # the kernel inherits it: the notebook's other optimisations stay small
    log = open(root.parent / f"{root.name}-server.log", "wb")  # noqa: SIM115 (closed in the finaliser)
    cmd = [sys.executable, "-m", "jupyter", "lab", "--no-browser", "--allow-root", "--ip=127.0.0.1",
           f"--port={port}", f"--ServerApp.token={token}", f"--ServerApp.root_dir={root}",
           "--ServerApp.port_retries=0"]
    proc = subprocess.Popen(cmd, cwd=root, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    base = f"http://127.0.0.1:{port}"

    def log_tail() -> str:
        log.flush()
        return (root.parent / f"{root.name}-server.log").read_text(errors="replace")[-3000:]

    try:
        deadline = time.monotonic() + 90
        while True:
            if proc.poll() is not None:
                pytest.fail(f"JupyterLab exited with {proc.returncode}:\n{log_tail()}")
            try:
                if _request(f"{base}/api/status", token, timeout=2)[0] == 200:
                    break
            except (urllib.error.URLError, OSError):
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"JupyterLab did not answer within 90 s:\n{log_tail()}")
            time.sleep(0.5)
        yield dict(base=base, token=token, root=root, log_tail=log_tail)
    finally:
        kernels = _children(proc.pid)
        try:  # the polite way first: the server shuts its kernels down
            _request(f"{base}/api/shutdown", token, method="POST", timeout=5)
            proc.wait(timeout=15)
        except Exception:
            pass
        for sig, wait in ((signal.SIGTERM, 10), (signal.SIGKILL, 5)):
            if proc.poll() is None:
                try:
                    os.killpg(proc.pid, sig)  # the server and anything in its process group
                except ProcessLookupError:
                    pass
                try:
                    proc.wait(timeout=wait)
                except subprocess.TimeoutExpired:
                    pass
        for pid in kernels:  # kernels run in their own sessions; end them by their PIDs
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        log.close()


def _img_bytes(page, selector: str) -> bytes:
    """The bytes behind an <img> (ipywidgets shows PNG bytes through a blob: URL)."""
    data = page.evaluate(
        """async (sel) => {
            const el = document.querySelector(sel);
            if (!el || !el.src) return null;
            const r = await fetch(el.src);
            return Array.from(new Uint8Array(await r.arrayBuffer()));
        }""", selector)
    return bytes(data or [])


def _wait_text(page, selector: str, check, what: str, timeout: float) -> str:
    """Poll the text of ``selector`` until ``check(text)``; fail with the last text after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    text = ""
    while time.monotonic() < deadline:
        loc = page.locator(selector)
        if loc.count():
            text = loc.first.inner_text()
            if check(text):
                return text
        time.sleep(0.25)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}; {selector} shows: {text!r}")


DEFAULT_TEXT = f"{DEFAULT_BETA:g}"  # how the readout writes the default beta


def _beta_in(text: str) -> str | None:
    m = re.search(r"β = ([0-9.e+-]+)", text)
    return m.group(1) if m else None


def _launch(pw, tmp_path, height: int):
    """Debian's Chromium, headless, with a fresh profile under ``tmp_path``."""
    return pw.chromium.launch_persistent_context(
        user_data_dir=str(tmp_path / "chromium-profile"), executable_path=CHROMIUM, headless=True,
        args=CHROMIUM_ARGS, viewport={"width": 1400, "height": height})


def test_explorer_in_jupyterlab(lab, tmp_path):
    ARTIFACTS.mkdir(exist_ok=True)
    console: list[str] = []
    with sync_api.sync_playwright() as pw:
        ctx = _launch(pw, tmp_path, height=1500)
        try:
            page = ctx.pages[0] if ctx.pages else ctx.new_page()
            page.on("console", lambda m: console.append(f"{m.type}: {m.text}") if m.type == "error" else None)
            page.set_default_timeout(30_000)
            page.goto(f"{lab['base']}/lab/tree/{NOTEBOOK}?token={lab['token']}", timeout=90_000)
            page.locator(".jp-Notebook .jp-Cell").first.wait_for(timeout=90_000)
            # wait for the kernel (python3 of this environment); accept a kernel dialog if one shows
            deadline = time.monotonic() + 90
            while "| Idle" not in page.locator(".jp-StatusBar-Widget").all_inner_texts().__str__():
                dialog = page.locator(".jp-Dialog .jp-mod-accept")
                if dialog.count():
                    dialog.first.click()
                assert time.monotonic() < deadline, "the kernel did not become idle within 90 s"
                time.sleep(0.25)
            if page.locator(".jp-Dialog .jp-mod-accept").count():
                page.locator(".jp-Dialog .jp-mod-accept").first.click()

            # Run > Run All Cells (executes once the kernel is up)
            page.locator("#jp-MainMenu .lm-MenuBar-itemLabel", has_text=re.compile(r"^Run$")).click()
            page.locator(".lm-Menu-itemLabel", has_text=re.compile(r"^Run All Cells$")).click()
            readout = _wait_text(page, ".nst-readout", lambda t: "not run yet" in t,
                                 "the explorer to appear (kernel start + the cells above it)", 300)
            assert _beta_in(readout) == DEFAULT_TEXT

            # first run at beta = 30
            page.locator(".nst-run button, button.nst-run").first.click()
            # (the click is handled once the cells below the explorer have run: the kernel runs one thing at a time)
            _wait_text(page, ".nst-readout", lambda t: "done:" in t and _beta_in(t) == DEFAULT_TEXT,
                       "the run at beta = 30 to finish", 300)
            first = _img_bytes(page, "img.nst-preview")
            assert first.startswith(b"\x89PNG")

            # move beta two stops up with the keyboard on the slider handle
            handle = page.locator(".nst-beta .noUi-handle").first
            handle.focus()
            handle.press("ArrowRight")
            handle.press("ArrowRight")
            slider_value = page.locator(".nst-beta .widget-readout").first.inner_text().strip()
            assert slider_value not in ("", DEFAULT_TEXT), slider_value
            _wait_text(page, ".nst-readout", lambda t: _beta_in(t) == slider_value and "not run yet" in t,
                       f"the kernel to see beta = {slider_value}", 30)

            page.locator(".nst-run button, button.nst-run").first.click()
            text = _wait_text(page, ".nst-readout", lambda t: "done:" in t and _beta_in(t) == slider_value,
                              f"the finished result for beta = {slider_value}", 120)
            # the picture shown belongs to the slider's setting (its caption names it) and is a new one
            caption = page.locator(".nst-caption").first.inner_text()
            assert _beta_in(caption) == slider_value, caption
            second = _img_bytes(page, "img.nst-preview")
            assert second.startswith(b"\x89PNG") and second != first
            assert "done: 10 steps" in text
            no_news = page.locator(".Toastify__toast button", has_text=re.compile(r"^No$"))
            if no_news.count():  # JupyterLab's "get notified about news?" toast would cover the picture
                no_news.first.click()
            page.wait_for_timeout(500)
            page.locator(".nst-explorer").first.screenshot(path=str(ARTIFACTS / "explorer_browser.png"))
            page.screenshot(path=str(ARTIFACTS / "explorer_browser_page.png"))

            # back to beta = 30: the cached result returns at once
            handle.focus()
            handle.press("ArrowLeft")
            handle.press("ArrowLeft")
            _wait_text(page, ".nst-readout", lambda t: "done:" in t and _beta_in(t) == DEFAULT_TEXT,
                       "the cached result for beta = 30", 15)
            deadline = time.monotonic() + 15
            while _img_bytes(page, "img.nst-preview") != first and time.monotonic() < deadline:
                time.sleep(0.25)
            assert _img_bytes(page, "img.nst-preview") == first, "returning to beta = 30 should show its result"
        except Exception:
            try:
                page.screenshot(path=str(ARTIFACTS / "explorer_browser_failure.png"))
            except Exception:
                pass
            print("browser console errors:\n" + "\n".join(console[-30:]))
            print("server log:\n" + lab["log_tail"]())
            raise
        finally:
            ctx.close()
    (ARTIFACTS / "explorer_browser.json").write_text(json.dumps({"console_errors": console[-30:]}, indent=1))
    shutil.rmtree(tmp_path / "chromium-profile", ignore_errors=True)


def test_opening_a_committed_lecture_does_not_modify_it(lab, tmp_path):
    """JupyterLab marks a notebook modified (and autosave rewrites it) if its kernelspec is not the installed one."""
    before = (lab["root"] / UNCHANGED).read_bytes()
    with sync_api.sync_playwright() as pw:
        ctx = _launch(pw, tmp_path, height=1000)
        try:
            page = ctx.pages[0] if ctx.pages else ctx.new_page()
            page.goto(f"{lab['base']}/lab/tree/{UNCHANGED}?token={lab['token']}", timeout=90_000)
            page.locator(".jp-Notebook .jp-Cell").first.wait_for(timeout=90_000)
            deadline = time.monotonic() + 90
            while "| Idle" not in str(page.locator(".jp-StatusBar-Widget").all_inner_texts()):
                assert not page.locator(".jp-Dialog").count(), (
                    "JupyterLab asked for a kernel: the notebook's kernelspec is not the installed one")
                assert time.monotonic() < deadline, "the kernel did not become idle within 90 s"
                time.sleep(0.25)
            page.wait_for_timeout(3000)             # kernel info arrives; metadata updates would happen now
            tab = page.locator(".lm-TabBar-tab", has_text=UNCHANGED).first
            assert "jp-mod-dirty" not in (tab.get_attribute("class") or ""), (
                f"opening {UNCHANGED} marked it modified: compare its metadata with the installed kernelspec")
        finally:
            ctx.close()
    assert (lab["root"] / UNCHANGED).read_bytes() == before
