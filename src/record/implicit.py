"""Settings added after runs were recorded, with the value every earlier run computed with: a study's identity
leaves them out at that value (so a new setting does not make every finished run look new), and a report does not
name them there."""

from __future__ import annotations

IMPLICIT_BEFORE = {("backbone", "quantize"): "none", ("task", "regression_target"): "raw"}
IMPLICIT_KEYS = {f"{group}.{key}": value for (group, key), value in IMPLICIT_BEFORE.items()}
