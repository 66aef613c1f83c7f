"""Colab and Binder: every notebook's badges and setup cell agree with pyproject's repository address.

The address lives in ``[project.urls] Repository``; ``tools/stamp_launch_links.py`` writes it into the
notebooks and the README. These tests read pyproject.toml themselves, check what is committed, show that
a changed address is caught (on a copy), and run the setup cell: a no-op here, the install on "Colab".
"""

from __future__ import annotations

import os
import re
import shutil
import sys
import types
from pathlib import Path

import nbformat
import pytest
import tomllib
import torch
from conftest import load_tool

ROOT = Path(__file__).resolve().parent.parent
TOOL = load_tool("stamp_launch_links")
URL = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["urls"]["Repository"]
OWNER, REPO = re.fullmatch(r"https://github\.com/([^/]+)/([^/]+?)/?", URL).groups()
LECTURES = sorted((ROOT / "notebooks").glob("*.ipynb"))
SOLUTIONS = sorted((ROOT / "homework" / "solutions").glob("*.ipynb"))
STUDENT = sorted((ROOT / "homework").glob("*.ipynb"))
ALL = LECTURES + SOLUTIONS + STUDENT


def _opens(path: Path) -> str:
    """The notebook a page's badges should open: the student version for homework."""
    return f"notebooks/{path.name}" if path.parent.name == "notebooks" else f"homework/{path.name}"


def _launch_cells(nb) -> dict[str, list]:
    found: dict[str, list] = {}
    for cell in nb.cells:
        role = cell.metadata.get("nst", {}).get("launch")
        if role:
            found.setdefault(role, []).append(cell)
    return found


def test_the_repository_address_is_a_github_repository():
    assert TOOL.repository_url() == URL.rstrip("/")
    assert (OWNER, REPO) == TOOL.github_repo(URL)
    with pytest.raises(TOOL.LaunchError, match="github.com/OWNER/REPO"):
        TOOL.github_repo("https://gitlab.com/a/b")


def test_the_address_is_read_without_tomllib_too(monkeypatch):
    """Python 3.10 has no tomllib: the tool (and the docs' conf.py that uses it) must still find the address."""
    text = (ROOT / "pyproject.toml").read_text()
    expected = tomllib.loads(text)["project"]["urls"]
    monkeypatch.setitem(sys.modules, "tomllib", None)
    assert TOOL._project_urls(text) == expected


def test_committed_files_are_stamped():
    assert TOOL.stamp(ROOT, check=True) == [], "run `python tools/stamp_launch_links.py` and `make homework`"
    assert TOOL.main(["--check"]) == 0


@pytest.mark.parametrize("path", ALL, ids=[f"{p.parent.name}/{p.stem}" for p in ALL])
def test_badges_and_setup_cell_agree_with_pyproject(path):
    nb = nbformat.read(path, as_version=4)
    cells = _launch_cells(nb)
    assert [len(cells.get(role, [])) for role in ("badges", "setup")] == [1, 1], f"{path.name}: {cells.keys()}"
    badges, setup = cells["badges"][0], cells["setup"][0]
    assert nb.cells[0].source.startswith("# ") and nb.cells[1] is badges, "the badges belong right under the title"
    assert next(c for c in nb.cells if c.cell_type == "code") is setup, "the setup cell must be the first code cell"
    ids = [c.id for c in nb.cells]
    assert len(ids) == len(set(ids)) and (badges.id, setup.id) == (TOOL.BADGES_ID, TOOL.SETUP_ID)

    target = _opens(path)
    links = re.findall(r"\]\((https://[^)\s]+)\)", badges.source)
    colab = f"https://colab.research.google.com/github/{OWNER}/{REPO}/blob/main/{target}"
    binder = f"https://mybinder.org/v2/gh/{OWNER}/{REPO}/main?labpath={target.replace('/', '%2F')}"
    assert colab in links and binder in links, f"{path.name}: badge links {links}"

    code = setup.source
    assert f'"{URL.rstrip("/")}"' in code, f"{path.name}: the setup cell clones another repository"
    assert 'if "google.colab" in sys.modules:' in code and "%pip install --quiet -e" in code
    folder = target.rsplit("/", 1)[0]
    assert f'os.chdir(f"{{CLONE}}/{folder}")' in code, "the setup cell must enter the notebook's folder"
    assert "use_gpu_when_available()" in code
    others = set(re.findall(r"https://github\.com/[\w.-]+/[\w.-]+", badges.source + code)) - {URL.rstrip("/")}
    assert not others, f"{path.name}: other repositories named: {others}"


def test_readme_badges_agree_with_pyproject():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    block = readme[readme.index(TOOL.README_START):readme.index(TOOL.README_END)]
    assert f"https://colab.research.google.com/github/{OWNER}/{REPO}/blob/main/notebooks/00_the_task.ipynb" in block
    assert f"https://mybinder.org/v2/gh/{OWNER}/{REPO}/main?" in block
    assert "make lab ARGS=--allow-root" in readme, "the README must say how to run `make lab` as root"


def _copy_project(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    for folder in ("notebooks", "homework/solutions"):
        shutil.copytree(ROOT / folder, root / folder)
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, root / name)
    return root


def test_a_changed_address_is_caught_and_restamped(tmp_path, capsys):
    root = _copy_project(tmp_path)
    pyproject = root / "pyproject.toml"
    pyproject.write_text(pyproject.read_text().replace(f'Repository = "{URL}"',
                                                       'Repository = "https://github.com/a-fork/nst-course"'))
    assert TOOL.main(["--check", "--root", str(root)]) == 1
    stale = capsys.readouterr().out
    assert "notebooks/00_the_task.ipynb" in stale and "README.md" in stale
    assert TOOL.main(["--root", str(root)]) == 0
    before = {p: p.read_bytes() for p in root.rglob("*") if p.is_file()}
    assert TOOL.main(["--check", "--root", str(root)]) == 0
    assert TOOL.main(["--root", str(root)]) == 0 and before == {p: p.read_bytes() for p in before}, "not idempotent"
    nb = nbformat.read(root / "notebooks" / "03_model_assembly.ipynb", as_version=4)
    text = nb.cells[1].source + nb.cells[2].source
    assert "github/a-fork/nst-course/blob/main/notebooks/03_model_assembly.ipynb" in text
    assert '"https://github.com/a-fork/nst-course", "/content/nst-course"' in text and OWNER + "/" not in text
    # the lecture's own cells are untouched
    old = nbformat.read(ROOT / "notebooks" / "03_model_assembly.ipynb", as_version=4)
    assert [c for c in nb.cells[3:]] == [c for c in old.cells[3:]]

    pyproject.write_text(pyproject.read_text().replace("https://github.com/a-fork/nst-course", "https://example.org/x"))
    assert TOOL.main(["--check", "--root", str(root)]) == 2


def test_stamping_keeps_a_run_of_the_same_setup_cell_and_drops_a_stale_one():
    nb = nbformat.read(LECTURES[0], as_version=4)
    nb.cells[2].outputs = [nbformat.v4.new_output("stream", text="Not on Colab: nothing to set up.\n")]
    nb.cells[2].execution_count = 1
    again = TOOL.stamp_notebook(nb, URL, "notebooks/" + LECTURES[0].name)
    assert again.cells[2].outputs == nb.cells[2].outputs and again.cells[2].execution_count == 1
    moved = TOOL.stamp_notebook(nb, "https://github.com/a-fork/nst-course", "notebooks/" + LECTURES[0].name)
    assert moved.cells[2].outputs == [] and moved.cells[2].execution_count is None


def _setup_code() -> str:
    from IPython.core.inputtransformer2 import TransformerManager

    nb = nbformat.read(LECTURES[0], as_version=4)
    return TransformerManager().transform_cell(_launch_cells(nb)["setup"][0].source)


def test_the_setup_cell_does_nothing_outside_colab(tmp_path):
    """Run in a fresh kernel: one line of output, the working folder and the device unchanged."""
    from nbclient import NotebookClient

    nb = nbformat.v4.new_notebook()
    setup = _launch_cells(nbformat.read(LECTURES[0], as_version=4))["setup"][0]
    nb.cells = [setup, nbformat.v4.new_code_cell("import os; print(os.getcwd()); print(os.environ.get('NST_DEVICE'))")]
    NotebookClient(nb, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}).execute()
    assert [o.get("text") for o in nb.cells[0].outputs] == ["Not on Colab: nothing to set up.\n"]
    assert nb.cells[1].outputs[0]["text"] == f"{tmp_path}\nNone\n"


def test_the_setup_cell_on_colab_clones_installs_and_picks_the_gpu(monkeypatch):
    """The Colab branch, with Colab's module, git, pip and the file system replaced by recorders."""
    import subprocess

    calls: list = []
    colab = types.ModuleType("google.colab")
    colab.output = types.SimpleNamespace(enable_custom_widget_manager=lambda: calls.append("widgets"))
    monkeypatch.setitem(sys.modules, "google.colab", colab)
    monkeypatch.setattr(subprocess, "run", lambda cmd, check: calls.append(("run", cmd)))
    monkeypatch.setattr(os.path, "isdir", lambda p: False)
    monkeypatch.setattr(os, "chdir", lambda p: calls.append(("chdir", p)))
    monkeypatch.setattr(sys, "path", list(sys.path))
    monkeypatch.setenv("NST_DEVICE", "")  # empty is unset; the variable is restored after the test
    ipython = types.SimpleNamespace(run_line_magic=lambda name, line: calls.append((name, line)))
    namespace = {"get_ipython": lambda: ipython}
    exec(_setup_code(), namespace)  # noqa: S102 (the cell's own code)
    clone = f"/content/{REPO}"
    assert calls[0] == ("run", ["git", "clone", "--quiet", "--depth", "1", "--branch", "main", URL, clone])
    assert ("pip", "install --quiet -e {CLONE}") in calls and namespace["CLONE"] == clone  # IPython expands {CLONE}
    assert ("chdir", f"{clone}/notebooks") in calls and "widgets" in calls
    assert sys.path[0] == clone
    assert os.environ["NST_DEVICE"] == "auto"  # the package's runs now pick CUDA when there is one
    from nst_helpers.runtime import default_device

    assert default_device() == "auto"


def test_runs_stay_on_the_cpu_unless_asked(monkeypatch):
    """No NST_DEVICE: the CPU, as before; NST_DEVICE=auto: the GPU if any, and the image still comes back on
    the CPU, where the notebooks' other tensors are (an explicit device keeps its image there)."""
    from conftest import smooth_image, stripes_image

    from nst_helpers import run_style_transfer
    from nst_helpers.config import TransferConfig
    from nst_helpers.errors import ParameterError
    from nst_helpers.runtime import Runtime, default_device

    C, S = smooth_image(40, 48, seed=2), stripes_image(40, 48)
    fast = dict(steps=4, progress=False, scales=None, style_layer_weights="equal")
    monkeypatch.setenv("NST_DEVICE", "")
    assert default_device() == "cpu" and TransferConfig().device is None
    assert Runtime.for_settings(None, "float32").device.type == "cpu"
    G_default, h = run_style_transfer(C, S, **fast)
    G_cpu, _ = run_style_transfer(C, S, device="cpu", **fast)
    assert torch.equal(G_default, G_cpu) and h.settings["device"] == "cpu", "the CPU computation must not change"
    monkeypatch.setenv("NST_DEVICE", "auto")
    expected = "cuda" if torch.cuda.is_available() else ("mps" if torch.backends.mps.is_available() else "cpu")
    G_auto, h_auto = run_style_transfer(C, S, **fast)
    assert h_auto.settings["device"].startswith(expected) and G_auto.device.type == "cpu"
    assert TransferConfig(device="cpu").device == "cpu"
    monkeypatch.setenv("NST_DEVICE", "tpu")
    with pytest.raises(ParameterError, match="Unknown device"):
        TransferConfig()


# --------------------------------------------------------------------------- Binder


def _requirements(path: Path) -> tuple[list[str], dict]:
    """(options, {name: Requirement}) of a pip requirements file; every line must parse."""
    from packaging.requirements import Requirement

    options, reqs = [], {}
    for line in path.read_text().splitlines():
        line = line.split(" #")[0].strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("-"):
            options.append(line)
        else:
            req = Requirement(line)
            reqs[req.name.lower()] = req
    return options, reqs


def test_binder_builds_cpu_only_pytorch_and_installs_the_package():
    binder = ROOT / "binder"
    options, reqs = _requirements(binder / "requirements.txt")
    cpu = "https://download.pytorch.org/whl/cpu"
    assert f"--extra-index-url {cpu}" in options, "Binder must take PyTorch from the CPU-only index"
    assert not any(o.startswith(("--index-url", "-i ")) for o in options), "PyPI must stay the main index"
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    from packaging.requirements import Requirement

    declared = {Requirement(r).name.lower(): Requirement(r) for r in project["dependencies"]
                + [r for extra in project["optional-dependencies"].values() for r in extra]}
    for name in ("torch", "torchvision"):
        assert name in reqs and str(reqs[name].specifier) == str(declared[name].specifier), (
            f"binder/requirements.txt: {name} needs pyproject's lower bound {declared[name].specifier}")
    for name, req in reqs.items():
        assert name in declared, f"binder/requirements.txt installs {name}, which pyproject.toml does not name"
        assert "==" not in str(req.specifier) and "<" not in str(req.specifier), f"no pins or upper bounds: {req}"

    post = (binder / "postBuild").read_text()
    assert post.startswith("#!/bin/bash") and "set -e" in post
    install = next(line for line in post.splitlines() if "pip install" in line and not line.startswith("#"))
    assert '-e ".[notebooks' in install and cpu in install, "postBuild must install the package (CPU index named)"
    assert '"saveState": true' in post and "overrides.json" in post, "widgets should keep their state on Binder"
    runtime = (binder / "runtime.txt").read_text().strip()
    minimum = tuple(int(x) for x in project["requires-python"].removeprefix(">=").split("."))
    assert re.fullmatch(r"python-3\.\d+", runtime) and (3, int(runtime.split(".")[1])) >= minimum


def test_environment_yml_does_not_claim_to_be_binders():
    head = (ROOT / "environment.yml").read_text().split("\n", 3)[:3]
    assert "binder/" in " ".join(head), "environment.yml should say that Binder builds from binder/"
