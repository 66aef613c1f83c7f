"""Report functions over 80 lines of code and modules over 600 lines in nst_helpers (issue 14's limits).

Lines of code: non-blank lines that are not comments, without the docstring.
Run: python tools/check_layout.py [--max-function 80] [--max-module 600]
"""

from __future__ import annotations

import argparse
import ast
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def code_lines(source_lines: list[str], node: ast.AST) -> int:
    """Non-blank, non-comment lines of ``node`` without its docstring."""
    skip: set[int] = set()
    body = getattr(node, "body", [])
    if body and isinstance(body[0], ast.Expr) and isinstance(getattr(body[0], "value", None), ast.Constant) \
            and isinstance(body[0].value.value, str):
        skip.update(range(body[0].lineno, body[0].end_lineno + 1))
    count = 0
    for n in range(node.lineno, node.end_lineno + 1):
        text = source_lines[n - 1].strip()
        if n in skip or not text or text.startswith("#"):
            continue
        count += 1
    return count


def report(max_function: int, max_module: int) -> list[str]:
    problems = []
    for path in sorted((ROOT / "nst_helpers").rglob("*.py")):
        source = path.read_text()
        lines = source.splitlines()
        rel = path.relative_to(ROOT)
        if len(lines) > max_module:
            problems.append(f"{rel}: {len(lines)} lines (limit {max_module})")
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                n = code_lines(lines, node)
                if n > max_function:
                    problems.append(f"{rel}:{node.lineno} {node.name}: {n} lines of code (limit {max_function})")
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max-function", type=int, default=80)
    parser.add_argument("--max-module", type=int, default=600)
    args = parser.parse_args(argv)
    problems = report(args.max_function, args.max_module)
    print("\n".join(problems) if problems else "layout ok")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
