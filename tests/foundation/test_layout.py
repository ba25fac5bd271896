"""The src/ root a newcomer reads: the three entry points and the leaf modules every room shares; the rest
lives in its room (src/run, src/training, src/record, src/reporting, ...)."""

from __future__ import annotations

import ast

from src.config import ROOT

ENTRY_POINTS = {"train.py", "eval.py", "report.py"}  # python -m src.train / src.eval / src.report
LEAVES = {"__init__.py", "atomic.py", "config.py", "errors.py", "fields.py"}


def test_the_src_root_holds_only_the_entry_points_and_the_shared_leaves():
    assert {p.name for p in (ROOT / "src").glob("*.py")} == ENTRY_POINTS | LEAVES


def test_the_entry_points_are_thin_command_lines():
    for name in ENTRY_POINTS:
        tree = ast.parse((ROOT / "src" / name).read_text())
        functions = [node.name for node in tree.body if isinstance(node, ast.FunctionDef)]
        assert set(functions) <= {"main", "in_sweep", "split_arguments"}, (name, functions)
