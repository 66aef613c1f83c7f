"""The package's shape: no function over 80 lines of code, no module over 600 lines (tools/check_layout.py)."""

from __future__ import annotations

from pathlib import Path

from conftest import load_tool

ROOT = Path(__file__).resolve().parents[1]


def _tool():
    return load_tool("check_layout")


def test_no_long_function_and_no_long_module():
    assert _tool().report(max_function=80, max_module=600) == []


def test_the_counter_counts_code_not_docstrings_or_comments(tmp_path):
    import ast

    source = 'def f():\n    """Doc\n    string."""\n    # a comment\n\n    x = 1\n    return x\n'
    node = ast.parse(source).body[0]
    assert _tool().code_lines(source.splitlines(), node) == 3  # def, x = 1, return


def test_the_painting_generator_is_a_build_tool_not_part_of_the_package():
    assert not (ROOT / "nst_helpers" / "artwork.py").exists() and (ROOT / "tools" / "artwork.py").exists()
