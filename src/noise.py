"""Known library noise that says nothing about the run, filtered from ``python -m src.train``'s terminal.

Each filter matches one message exactly; everything else (our warnings, Lightning's advice about the run)
still shows. Tests and library use are not filtered.
"""

from __future__ import annotations

import logging
import warnings

# (message regex, category, why it is noise)
WARNINGS = (
    (
        r"'set_vital' is deprecated",
        UserWarning,
        "torchdata's StatefulDataLoader calls a torch function torch deprecated; nothing a user can change",
    ),
    (
        r"`isinstance\(treespec, LeafSpec\)` is deprecated",
        Warning,
        "Lightning's own use of a torch.utils._pytree API torch deprecated; fixed by a Lightning release",
    ),
)

# (logger name, message prefix, why it is noise)
LOG_RECORDS = (
    (
        "lightning.pytorch.utilities.rank_zero",
        "💡 Tip: For seamless cloud logging",
        "an advertisement for the litlogger package, printed by every Trainer",
    ),
)


class _DropPrefix(logging.Filter):
    def __init__(self, prefix: str) -> None:
        super().__init__()
        self.prefix = prefix

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith(self.prefix)


def filter_known_noise() -> None:
    for message, category, _why in WARNINGS:
        warnings.filterwarnings("ignore", message=message, category=category)
    for name, prefix, _why in LOG_RECORDS:
        logging.getLogger(name).addFilter(_DropPrefix(prefix))
