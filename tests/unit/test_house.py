"""The size limits of the source tree: no module over 400 lines, no function over 80."""

from __future__ import annotations

import ast
from pathlib import Path

SOURCE = Path(__file__).resolve().parents[2] / "src" / "aiclone"
MAX_MODULE_LINES = 400
MAX_FUNCTION_LINES = 80


def _modules() -> list[Path]:
    modules = sorted(p for p in SOURCE.rglob("*.py") if "node_modules" not in p.parts)
    assert len(modules) > 100, "the source tree was not found"
    return modules


def test_no_module_is_over_400_lines() -> None:
    long = {
        str(p.relative_to(SOURCE)): n
        for p in _modules()
        if (n := len(p.read_text().splitlines())) > MAX_MODULE_LINES
    }
    assert long == {}


def test_no_function_is_over_80_lines() -> None:
    long = {}
    for path in _modules():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                lines = (node.end_lineno or node.lineno) - node.lineno + 1
                if lines > MAX_FUNCTION_LINES:
                    long[f"{path.relative_to(SOURCE)}:{node.name}"] = lines
    assert long == {}
