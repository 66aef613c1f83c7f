"""The real nbgrader, end to end, on a temporary course directory.

One module-scoped course; on a shared 2-core machine the file took 145 s (250 s while other jobs kept both
cores busy), most of it hw3 and hw2 running in quick mode:

* ``nbgrader generate_assignment`` for hw1, hw2 and hw3, from ``homework/solutions/``: the release
  notebooks must equal the committed student notebooks in ``homework/``, cell by cell;
* ``nbgrader autograde`` of correct submissions of all three (full marks), of a hw1 submission with planted
  mistakes (the expected lower score, the checks' messages in the outputs) and of a hw1 submission whose
  student edited a check cell (nbgrader puts it back: the edit gains nothing);
* ``nbgrader generate_feedback`` for hw1: HTML files that show the messages.

The course uses ``homework/nbgrader_config.py``, the settings the instructor guide tells lecturers to append
to their course's config. nbgrader is in the ``grading`` extra (``make install`` installs it); without it
these tests are skipped with a reason, or fail when the environment variable ``CI`` is set.
"""

from __future__ import annotations

import copy
import html
import importlib.util
import os
import re
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parent.parent
SOLUTIONS = ROOT / "homework" / "solutions"
STUDENT = ROOT / "homework"
COURSE_CONFIG = ROOT / "homework" / "nbgrader_config.py"
ASSIGNMENTS = {"hw1": "hw1_gram_and_losses", "hw2": "hw2_model_and_optimisation", "hw3": "hw3_texture_synthesis"}
MARKERS = ("### BEGIN SOLUTION", "### END SOLUTION")
#: Metadata that nbgrader adds to (or keeps in) a release cell and the student versions do not have.
NBGRADER_ONLY = ("checksum", "cell_type")
VOLATILE_CELL_KEYS = ("execution", "ExecuteTime", "collapsed", "scrolled", "jupyter")

# The planted mistakes, whole solution cells as a student might write them.
GRAM_UNNORMALISED = '''\
def gram_matrix(features):
    b, n, h, w = features.shape
    flat = features.reshape(b, n, h * w)
    return flat @ flat.transpose(1, 2)
'''
CONTENT_LOSS_RETURNS_LOSS = '''\
class ContentLoss(nn.Module):
    def __init__(self, target):
        super().__init__()
        self.target = target.detach()

    def forward(self, input):
        self.loss = nnf.mse_loss(input, self.target)
        return self.loss
'''
STYLE_LOSS_SUMMED = '''\
class StyleLoss(nn.Module):
    def __init__(self, target_features):
        super().__init__()
        self.target = gram_matrix(target_features).detach()

    def forward(self, input):
        self.loss = nnf.mse_loss(gram_matrix(input), self.target, reduction="sum")
        return input
'''
EDITED_CHECK = 'print("check_gram_matrix passed")  # the student replaced the check'

NBGRADER_MISSING = ("nbgrader is not installed in this environment: install the `grading` extra "
                    "(`pip install -e '.[grading]'`; `make install` does) to run the nbgrader round trip")


# --------------------------------------------------------------------------------------------- helpers


def _nbgrader(cell) -> dict:
    return cell.get("metadata", {}).get("nbgrader", {})


def _solved(cell) -> str:
    """A solution cell's source as a student would hand it in: the solution without nbgrader's markers."""
    return "\n".join(line for line in cell.source.split("\n") if line.strip() not in MARKERS)


def _submission(name: str, template: Path, overrides: dict[str, str] | None = None) -> nbformat.NotebookNode:
    """``template`` (a student notebook) with every solution cell filled in, from the reference solution
    or, for the cell ids in ``overrides``, with the given source (mistakes, or an edited check cell)."""
    overrides = overrides or {}
    solution = {c.id: c for c in nbformat.read(SOLUTIONS / f"{name}.ipynb", as_version=4).cells}
    nb = nbformat.read(template, as_version=4)
    unknown = set(overrides) - {c.get("id") for c in nb.cells}
    assert not unknown, f"{name}: no cells with ids {sorted(unknown)} to plant a mistake in"
    for cell in nb.cells:
        if cell.get("id") in overrides:
            cell.source = overrides[cell.id]
        elif _nbgrader(cell).get("solution"):
            cell.source = _solved(solution[cell.id]) if cell.cell_type == "code" else "My answer, in my words."
    return nb


def _comparable(cell) -> dict:
    """What must agree between nbgrader's release and the committed student notebook."""
    meta = copy.deepcopy(dict(cell.get("metadata", {})))
    for key in VOLATILE_CELL_KEYS:
        meta.pop(key, None)
    for key in NBGRADER_ONLY:
        meta.get("nbgrader", {}).pop(key, None)
    out = {"id": cell.get("id"), "cell_type": cell.cell_type, "source": cell.source, "metadata": meta}
    if cell.cell_type == "code":
        out["outputs"], out["execution_count"] = cell.outputs, cell.execution_count
    return out


def _test_cells(name: str) -> dict[str, float]:
    """grade_id -> points of the autograded test cells of a homework."""
    nb = nbformat.read(SOLUTIONS / f"{name}.ipynb", as_version=4)
    return {_nbgrader(c)["grade_id"]: float(_nbgrader(c)["points"]) for c in nb.cells
            if _nbgrader(c).get("grade") and not _nbgrader(c).get("solution")}


def _text(path: Path) -> str:
    """Every output text of an executed notebook (error messages and tracebacks included), ANSI codes removed."""
    nb = nbformat.read(path, as_version=4)
    parts = []
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            parts += [out.get("text", ""), out.get("evalue", ""), "\n".join(out.get("traceback", []))]
    return re.sub(r"\x1b\[[0-9;]*m", "", "\n".join(parts))


class Course:
    """A temporary nbgrader course directory; ``run`` calls the nbgrader command line in it."""

    def __init__(self, root: Path):
        self.root = root
        root.mkdir(parents=True, exist_ok=True)
        self.db_url = f"sqlite:///{root / 'gradebook.db'}"
        self.logs: dict[str, str] = {}
        config_dir = root.parent / "jupyter-config"  # no personal ~/.jupyter config reaches the course
        config_dir.mkdir(exist_ok=True)
        # nbgrader runs `alembic` (its database migrations) by name: the environment's bin/ must be on PATH,
        # as it is in an activated virtual environment (`make test` does not activate .venv)
        path = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])
        self.env = {**os.environ, "PATH": path, "NST_QUICK": "1", "JUPYTER_CONFIG_DIR": str(config_dir)}
        (root / "nbgrader_config.py").write_text(textwrap.dedent(f"""\
            c = get_config()
            c.CourseDirectory.root = {str(root)!r}
            c.CourseDirectory.course_id = "nst-test"
            c.CourseDirectory.db_url = {self.db_url!r}

            """) + COURSE_CONFIG.read_text())

    def run(self, *args: str) -> str:
        command = [sys.executable, "-m", "nbgrader", *args]
        done = subprocess.run(command, cwd=self.root, env=self.env, capture_output=True, text=True, timeout=900)
        log = done.stdout + done.stderr
        self.logs[" ".join(args)] = log
        assert done.returncode == 0, f"`nbgrader {' '.join(args)}` failed ({done.returncode}):\n{log[-4000:]}"
        return log

    def scores(self, assignment: str, student: str) -> dict[str, float | None]:
        """grade_id -> autograded score, from nbgrader's gradebook."""
        from nbgrader.api import Gradebook

        with Gradebook(self.db_url) as gb:
            nb = gb.find_submission_notebook(ASSIGNMENTS[assignment], assignment, student)
            return {grade.name: grade.auto_score for grade in nb.grades}

    def submit(self, student: str, assignment: str, nb: nbformat.NotebookNode) -> None:
        folder = self.root / "submitted" / student / assignment
        folder.mkdir(parents=True, exist_ok=True)
        nbformat.write(nb, folder / f"{ASSIGNMENTS[assignment]}.ipynb")

    def autograded(self, student: str, assignment: str) -> Path:
        return self.root / "autograded" / student / assignment / f"{ASSIGNMENTS[assignment]}.ipynb"


def _require_nbgrader() -> None:
    """Skip without nbgrader, with the reason; in CI (the variable ``CI`` set) fail instead."""
    if importlib.util.find_spec("nbgrader") is None:
        if os.environ.get("CI"):
            pytest.fail(NBGRADER_MISSING, pytrace=False)
        pytest.skip(NBGRADER_MISSING)


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    _require_nbgrader()
    course = Course(tmp_path_factory.mktemp("nbgrader") / "course")
    for assignment, name in ASSIGNMENTS.items():
        (course.root / "source" / assignment).mkdir(parents=True)
        shutil.copy(SOLUTIONS / f"{name}.ipynb", course.root / "source" / assignment)
    course.run("generate_assignment", "*")  # one command for all three: each nbgrader start costs seconds
    for assignment, name in ASSIGNMENTS.items():
        # alice hands in the release nbgrader made, solved; bob and mallory the committed student notebook
        course.submit("alice", assignment, _submission(name, course.root / "release" / assignment / f"{name}.ipynb"))
    hw1 = STUDENT / f"{ASSIGNMENTS['hw1']}.ipynb"
    course.submit("bob", "hw1", _submission(ASSIGNMENTS["hw1"], hw1, {
        "hw1-ex2-solution": CONTENT_LOSS_RETURNS_LOSS, "hw1-ex3-solution": STYLE_LOSS_SUMMED}))
    course.submit("mallory", "hw1", _submission(ASSIGNMENTS["hw1"], hw1, {
        "hw1-ex1-solution": GRAM_UNNORMALISED, "hw1-ex1-tests": EDITED_CHECK}))
    course.run("autograde", "*")
    course.run("generate_feedback", "hw1")
    return course


# --------------------------------------------------------------------------------------------- tests


def test_course_config_names_real_nbgrader_settings():
    """Every `c.Section.name = ...` in homework/nbgrader_config.py is a setting of the installed nbgrader."""
    _require_nbgrader()
    import nbgrader.preprocessors
    from traitlets.config import Config

    config = Config()
    exec(COURSE_CONFIG.read_text(), {"get_config": lambda: config})
    assert config, "homework/nbgrader_config.py sets nothing"
    for section, values in config.items():
        cls = getattr(nbgrader.preprocessors, section, None)
        assert cls is not None, f"{section} is not one of nbgrader's preprocessors"
        for key in values:
            assert key in cls.class_trait_names(config=True), f"{section}.{key} is not a setting of nbgrader"
    assert config.Execute.timeout >= 120, "the reference solutions need more than nbgrader's 30 s per cell"


@pytest.mark.parametrize("assignment", list(ASSIGNMENTS))
def test_release_equals_the_committed_student_notebook(course, assignment):
    name = ASSIGNMENTS[assignment]
    release = nbformat.read(course.root / "release" / assignment / f"{name}.ipynb", as_version=4)
    committed = nbformat.read(STUDENT / f"{name}.ipynb", as_version=4)
    assert [c.get("id") for c in release.cells] == [c.get("id") for c in committed.cells]
    for made, ours in zip(release.cells, committed.cells):
        assert _comparable(made) == _comparable(ours), f"{assignment}: cell {ours.get('id')} differs"
    for cell in release.cells:  # nbgrader's own lock metadata is there
        if _nbgrader(cell).get("locked") or _nbgrader(cell).get("grade"):
            assert _nbgrader(cell).get("checksum"), f"{assignment}: no checksum on {cell.get('id')}"


@pytest.mark.parametrize("assignment", list(ASSIGNMENTS))
def test_correct_submission_gets_full_marks(course, assignment):
    scores = course.scores(assignment, "alice")
    expected = _test_cells(ASSIGNMENTS[assignment])
    assert {k: scores[k] for k in expected} == expected, _text(course.autograded("alice", assignment))[-3000:]


def test_planted_mistakes_lose_their_points_with_the_checks_messages(course):
    scores = course.scores("hw1", "bob")
    assert {k: scores[k] for k in _test_cells(ASSIGNMENTS["hw1"])} == {
        "hw1-ex1-tests": 3.0, "hw1-ex2-tests": 0.0, "hw1-ex3-tests": 0.0}
    text = _text(course.autograded("bob", "hw1"))
    assert "check_gram_matrix passed" in text
    assert "ContentLoss.forward returned the loss instead of its input" in text
    assert "`return input`" in text
    assert "a sum over the N x N entries instead of a mean" in text


def test_an_edited_check_cell_is_put_back(course):
    """mallory replaced the check of her unnormalised Gram matrix by a print: nbgrader runs the real one."""
    scores = course.scores("hw1", "mallory")
    assert {k: scores[k] for k in _test_cells(ASSIGNMENTS["hw1"])} == {
        "hw1-ex1-tests": 0.0, "hw1-ex2-tests": 2.0, "hw1-ex3-tests": 0.0}
    graded = nbformat.read(course.autograded("mallory", "hw1"), as_version=4)
    check = next(c for c in graded.cells if c.get("id") == "hw1-ex1-tests")
    assert "check_gram_matrix(gram_matrix)" in check.source and "BEGIN HIDDEN TESTS" in check.source
    assert EDITED_CHECK not in check.source
    text = _text(course.autograded("mallory", "hw1"))
    assert "missing normalisation" in text and "times too large" in text
    assert "Attribute 'checksum' for cell hw1-ex1-tests has changed" in course.logs["autograde *"]


def test_checksum_warning_on_hidden_test_cells_is_expected(course):
    """alice did not touch a check, yet nbgrader warns about every test cell with hidden tests: the release
    lacks them, the gradebook has them, and nbgrader puts them back before it runs the notebook."""
    log = course.logs["autograde *"]
    for grade_id in _test_cells(ASSIGNMENTS["hw2"]):
        assert f"Attribute 'checksum' for cell {grade_id} has changed" in log
    graded = nbformat.read(course.autograded("alice", "hw2"), as_version=4)
    assert all("BEGIN HIDDEN TESTS" in c.source for c in graded.cells if c.get("id") in _test_cells(ASSIGNMENTS["hw2"]))


def test_feedback_shows_the_messages(course):
    name = ASSIGNMENTS["hw1"]
    pages = {student: course.root / "feedback" / student / "hw1" / f"{name}.html"
             for student in ("alice", "bob", "mallory")}
    for student, page in pages.items():
        assert page.is_file(), f"no feedback for {student}: {sorted((course.root / 'feedback').rglob('*'))}"

    def visible(page: Path) -> str:
        return html.unescape(re.sub(r"<[^>]+>", "", page.read_text(encoding="utf-8")))

    bob, mallory = visible(pages["bob"]), visible(pages["mallory"])
    assert "ContentLoss.forward returned the loss instead of its input" in bob
    assert "a sum over the N x N entries instead of a mean" in bob
    assert "missing normalisation" in mallory
    assert "check_gram_matrix passed" in visible(pages["alice"])
