"""Read back what an offline W&B run wrote: the records of its ``run-<id>.wandb`` file.

wandb 0.31 writes offline runs only as this log (no files/config.yaml or wandb-summary.json) and no longer
ships a Python reader, so this walks the log's framing (32 KiB blocks of CRC + length + type + payload,
after a 7-byte header) and decodes each record with wandb's own protobuf classes.
"""

from __future__ import annotations

import json
import struct
import time
from pathlib import Path
from typing import Any

from wandb.proto import wandb_internal_pb2

BLOCK = 32 * 1024
HEADER = 7
FULL, FIRST, MIDDLE, LAST = 1, 2, 3, 4


def records(path: Path) -> list[wandb_internal_pb2.Record]:
    data = path.read_bytes()
    if not data.startswith(b":W&B"):
        raise ValueError(f"{path} is not a W&B run log")
    out, pending, pos = [], b"", HEADER
    while pos + HEADER <= len(data):
        left_in_block = BLOCK - pos % BLOCK
        if left_in_block < HEADER:
            pos += left_in_block
            continue
        _crc, length, kind = struct.unpack("<IHB", data[pos : pos + HEADER])
        if pos + HEADER + length > len(data):  # the writer is still writing this record
            break
        if length == 0 and kind == 0:  # zero padding up to the next block
            pos += left_in_block
            continue
        pending += data[pos + HEADER : pos + HEADER + length]
        pos += HEADER + length
        if kind in (FULL, LAST):
            record = wandb_internal_pb2.Record()
            record.ParseFromString(pending)
            out.append(record)
            pending = b""
    return out


def offline_run(run_dir: Path, wait_s: float = 60.0) -> dict[str, Any]:
    """The offline run under ``<run_dir>/wandb/``: its config, summary, group, tags, artifacts, exit code.

    The log is written by wandb-core, a separate process that may still be writing the last records when
    ``wandb.finish()`` returns in this one (seen under load: the exit record missing); a finished run's log
    ends with its exit record, so this reads until that record is there or ``wait_s`` has passed.
    """
    logs = sorted(run_dir.glob("wandb/offline-run-*/run-*.wandb"))
    if len(logs) != 1:
        raise AssertionError(f"expected one offline W&B run under {run_dir}/wandb, found {logs}")
    deadline = time.monotonic() + wait_s
    while True:
        run = _read(logs[0])
        if run["exit_code"] is not None or time.monotonic() > deadline:
            return run
        time.sleep(0.2)


def _read(log: Path) -> dict[str, Any]:
    run: dict[str, Any] = {
        "config": {},
        "summary": {},
        "artifacts": [],
        "exit_code": None,
        "history_keys": set(),
        "history": {},  # key -> its values, one per history row that holds it
    }
    for record in records(log):
        kind = record.WhichOneof("record_type")
        if kind == "run":
            run.update(group=record.run.run_group, tags=list(record.run.tags), name=record.run.display_name)
            run["config"].update({u.key: json.loads(u.value_json) for u in record.run.config.update})
        elif kind == "config":
            run["config"].update({u.key: json.loads(u.value_json) for u in record.config.update})
        elif kind == "summary":
            for update in record.summary.update:
                key = update.key or "/".join(update.nested_key)
                run["summary"][key] = json.loads(update.value_json)
        elif kind == "history":
            for item in record.history.item:
                key = item.key or "/".join(item.nested_key)
                run["history_keys"].add(key)
                run["history"].setdefault(key, []).append(json.loads(item.value_json))
        elif kind == "artifact":
            run["artifacts"].append((record.artifact.type, record.artifact.name))
        elif kind == "exit":
            run["exit_code"] = record.exit.exit_code
    return run
