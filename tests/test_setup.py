"""The project's own setup files: environment.yml agrees with pyproject.toml, the README's commands exist."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
import tomllib
import yaml

ROOT = Path(__file__).resolve().parent.parent
CONDA_NAMES = {"torch": "pytorch"}  # PyPI name -> conda-forge name


def _name(requirement: str) -> str:
    return re.split(r"[<>=!~;\[ ]", requirement, maxsplit=1)[0].strip().lower()


def test_environment_yml_matches_pyproject():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted = {_name(r) for r in project["dependencies"]}
    for extra in ("notebooks", "test", "docs"):
        wanted |= {_name(r) for r in project["optional-dependencies"][extra]}
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    assert "conda-forge" in env["channels"]
    conda, pip = set(), set()
    for dep in env["dependencies"]:
        if isinstance(dep, dict):
            pip |= {_name(p) for p in dep["pip"] if not p.startswith("-e")}
            assert "-e ." in dep["pip"], "environment.yml must pip-install the package itself"
        else:
            conda.add(_name(dep))
    have = conda | pip
    missing = {w for w in wanted if CONDA_NAMES.get(w, w) not in have}
    extra = {h for h in have - {"python", "pip"} if h not in {CONDA_NAMES.get(w, w) for w in wanted}}
    assert not missing, f"in pyproject.toml but not environment.yml: {sorted(missing)}"
    assert not extra, f"in environment.yml but not pyproject.toml: {sorted(extra)}"


def test_pyproject_has_lower_bounds_only():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    reqs = project["dependencies"] + [r for v in project["optional-dependencies"].values() for r in v]
    for r in reqs:
        assert "==" not in r and "<" not in r, f"no hard pins or upper bounds: {r}"
        assert ">=" in r, f"give a lower bound: {r}"


def test_readme_quick_start_commands_exist_in_makefile():
    readme = (ROOT / "README.md").read_text()
    assert "make lab" in readme and "make test" in readme
    out = subprocess.run(["make", "-n", "-C", str(ROOT), "lab", "test"], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    ci = (ROOT / ".ci" / "run").read_text()
    assert "make test" in ci, ".ci/run must call the README's test command"


def test_make_lab_opens_working_copies_and_never_overwrites_them(tmp_path):
    """A live run in class must not replace the committed outputs: `make lab` opens copies, made once."""
    import shutil
    import subprocess

    if shutil.which("make") is None:
        pytest.skip("make is not installed")
    work = tmp_path / "mine"
    work.mkdir()
    mine = work / "00_the_task.ipynb"
    mine.write_text("my edited copy")
    cmd = ["make", "-s", "lab", f"WORK={work}", "JUPYTER=echo", "ARGS=--allow-root"]
    out = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().endswith(f"lab --allow-root {work}/")
    assert mine.read_text() == "my edited copy"                     # the user's copy is kept
    lectures = sorted(p.name for p in (ROOT / "notebooks").glob("*.ipynb"))
    homework = sorted(p.name for p in (ROOT / "homework").glob("hw*.ipynb"))
    assert sorted(p.name for p in work.iterdir()) == sorted(lectures + homework)
    assert (work / lectures[1]).read_bytes() == (ROOT / "notebooks" / lectures[1]).read_bytes()


def test_jupyterlab_saves_widget_state_so_a_reopened_run_shows_its_widgets():
    """Reopened after a run, a notebook's widgets must show, not "Error displaying widget: model not found"."""
    import json
    import sys

    assert "overrides.json" in (ROOT / "Makefile").read_text()
    installed = Path(sys.prefix) / "share" / "jupyter" / "lab" / "settings" / "overrides.json"
    if not installed.is_file():
        pytest.skip(f"{installed} is written by `make install`; this environment was installed another way")
    settings = json.loads(installed.read_text())
    assert settings["@jupyter-widgets/jupyterlab-manager:plugin"]["saveState"] is True
