"""Known library noise that says nothing about the run, filtered from ``python -m src.train``'s terminal.

Each filter matches one message exactly; everything else (our warnings, Lightning's advice about the run)
still shows. Tests and library use are not filtered, except the one line a library logs while it is imported
(``IMPORT_TIME``), which ``src/run/__init__.py`` filters before the libraries load.
"""

from __future__ import annotations

import logging
import re
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
    (
        "bitsandbytes.autograd._functions",
        "MatMul8bitLt: inputs will be cast from",
        "LLM.int8 rounds its float32 inputs through float16 by design (backbone.quantize=int8); logged every matmul",
    ),
)


# transformers' load report when the only thing it reports is the new classification head: every fine-tune
# from a pretrained encoder starts with a fresh head (kronlab's parameter table shows it as role "head").
# A report with anything else in it (a missing encoder weight, a size mismatch) still shows.
LOAD_REPORT_LOGGER = "transformers.modeling_utils"
FRESH_HEAD = re.compile(r"^classifier\.\S+\s*\|\s*MISSING\b")
ANSI_STYLE = re.compile(r"\x1b\[[0-9;]*m")  # transformers colours the status on a terminal
REPORT_ROW = re.compile(r"^\S+\s*\|\s*[A-Z]+\b")


class _DropPrefix(logging.Filter):
    def __init__(self, prefix: str) -> None:
        super().__init__()
        self.prefix = prefix

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith(self.prefix)


class _DropFreshHeadReport(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = ANSI_STYLE.sub("", str(record.msg))
        if "LOAD REPORT" not in message:
            return True
        rows = [
            line for line in message.splitlines()[1:] if REPORT_ROW.match(line) and not line.startswith("Key")
        ]
        return not (rows and all(FRESH_HEAD.match(row) for row in rows))


# Logged once, when peft imports bitsandbytes (transformers' LR schedules and hf_peft import peft), mid-run:
# the AVX512-BF16 kernel for bitsandbytes' repacked CPU layout, which kronlab switches off (backbones/quantize.py).
IMPORT_TIME = (
    "bitsandbytes.backends.cpu.ops",
    "Failed to load CPU gemm_4bit_forward from kernels-community",
    "bitsandbytes' optional CPU kernel package, for a weight layout kronlab does not use",
)


def filter_import_noise() -> None:
    """The one filter that must be in place before the libraries are imported (``src.run`` calls it on import)."""
    name, prefix, _ = IMPORT_TIME
    logger = logging.getLogger(name)
    if not any(isinstance(f, _DropPrefix) and f.prefix == prefix for f in logger.filters):
        logger.addFilter(_DropPrefix(prefix))


def filter_known_noise() -> None:
    for message, category, _why in WARNINGS:
        warnings.filterwarnings("ignore", message=message, category=category)
    for name, prefix, _why in LOG_RECORDS:
        logging.getLogger(name).addFilter(_DropPrefix(prefix))
    logging.getLogger(LOAD_REPORT_LOGGER).addFilter(_DropFreshHeadReport())
