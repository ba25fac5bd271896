"""Memory and step time of one training step on a 4-bit, 8-bit and full-precision backbone (``backbone.quantize=
nf4|int8|none``) for LoRA and KronA on MiniLM and qwen2_0_5b with random weights (``backbone.init=random``: neither
figure depends on the values), the step GlueModule takes (loss, backward, AdamW over the trainable parameters).

Each configuration runs in its own process, so one's memory is not another's: the stored bytes of the model's
tensors (weights, buffers, bitsandbytes' quantization state), the process's resident memory before the step and
its peak during the steps (CPU: sampled every millisecond from /proc; GPU: torch's peak allocation), and the
median step time over ``--rounds`` steps after one warm-up step.

``KRONLAB_BENCH_THREADS=1 python -m bench.quantized_step``
"""

from __future__ import annotations

import argparse
import ctypes
import gc
import json
import os
import statistics
import subprocess
import sys
import threading
from pathlib import Path

import torch

from .common import (
    BENCH_TASK,
    build_random_model,
    configure_threads,
    device,
    interleaved_samples,
    write_table,
)
from .train_step import optimiser_step, training_batch

PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096
MB = 2**20


def resident_bytes() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * PAGE


class PeakResident:
    """The largest resident size seen while the block runs, read every millisecond by a thread (torch's kernels
    release the GIL, so the sampler runs during them)."""

    def __enter__(self) -> PeakResident:
        self.peak = resident_bytes()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def _sample(self) -> None:
        while not self._stop.wait(0.001):
            self.peak = max(self.peak, resident_bytes())

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, resident_bytes())


def release_freed_memory() -> None:
    """Hand the heap's freed pages back to the system (glibc), so the float weights a random-init backbone was
    built with before quantization do not count as resident."""
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass


def stored_bytes(model: torch.nn.Module) -> int:
    """Bytes of every tensor the model stores (each storage once): packed 4-/8-bit weights and their scales."""
    seen, total = set(), 0
    for tensor in model.state_dict().values():
        if tensor.untyped_storage().data_ptr() not in seen:
            seen.add(tensor.untyped_storage().data_ptr())
            total += tensor.untyped_storage().nbytes()
    return total


def measure_one(backbone: str, quantize: str, method: str, batch: int, seq_len: int, rounds: int) -> dict:
    configure_threads()
    where = device()
    load = os.getloadavg()[0]
    model = build_random_model(backbone, method, BENCH_TASK, f"backbone.quantize={quantize}").to(where)
    step = optimiser_step(model, training_batch(model, batch, seq_len, where))
    gc.collect()
    release_freed_memory()
    row = {"backbone": backbone, "quantize": quantize, "method": method, "load_1m": round(load, 2)}
    row["weights_mb"] = stored_bytes(model.model) / MB
    row["trainable"] = sum(p.numel() for p in model.parameters() if p.requires_grad)
    if where.type == "cuda":
        torch.cuda.reset_peak_memory_stats(where)
        row["resident_mb"] = torch.cuda.memory_allocated(where) / MB
        seconds = interleaved_samples({"step": step}, where, rounds=rounds)["step"]
        row["peak_mb"] = torch.cuda.max_memory_allocated(where) / MB
    else:
        row["resident_mb"] = resident_bytes() / MB
        with PeakResident() as peak:
            seconds = interleaved_samples({"step": step}, where, rounds=rounds)["step"]
        row["peak_mb"] = peak.peak / MB
    row["step_extra_mb"] = row["peak_mb"] - row["resident_mb"]
    row["step_ms"] = 1e3 * statistics.median(seconds)
    row["step_ms_min"], row["step_ms_max"] = 1e3 * min(seconds), 1e3 * max(seconds)
    return row


# Every allocation of 64 kB or more straight from mmap and back at free: the resident size then follows the live
# tensors, not glibc's cache of freed heap (which, by default, keeps each dequantized weight a step frees).
TRACK_LIVE_MEMORY = {"MALLOC_MMAP_THRESHOLD_": "65536"}
MEMORY_FIELDS = ("resident_mb", "peak_mb", "step_extra_mb")


def run_in_child(
    backbone: str, quantize: str, method: str, args: argparse.Namespace, rounds: int, env: dict | None = None
) -> dict:
    """One configuration in a fresh interpreter; its row comes back as the last line of its output."""
    command = [sys.executable, "-m", "bench.quantized_step", "--one", backbone, quantize, method]
    command += ["--batch", str(args.batch), "--seq-len", str(args.seq_len), "--rounds", str(rounds)]
    done = subprocess.run(
        command,
        capture_output=True,
        text=True,
        cwd=Path(__file__).parent.parent,
        env={**os.environ, **(env or {})},
    )
    if done.returncode != 0:
        raise RuntimeError(f"{backbone}/{quantize}/{method} failed: {done.stderr.strip().splitlines()[-1:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def measured(backbone: str, quantize: str, method: str, args: argparse.Namespace) -> dict:
    """Time from a process with the default allocator, memory from one that returns every large block at free
    (which makes each step slower: its time is not used)."""
    row = run_in_child(backbone, quantize, method, args, args.rounds)
    memory = run_in_child(backbone, quantize, method, args, 1, TRACK_LIVE_MEMORY)
    return {**row, **{key: memory[key] for key in MEMORY_FIELDS}}


def with_ratios(rows: list[dict]) -> list[dict]:
    """Each row's memory and time as % of the full-precision row of the same backbone and method."""
    full = {(r["backbone"], r["method"]): r for r in rows if r["quantize"] == "none"}
    for row in rows:
        base = full.get((row["backbone"], row["method"]))
        if base:
            row["weights_pct"] = 100 * row["weights_mb"] / base["weights_mb"]
            row["peak_pct"] = 100 * row["peak_mb"] / base["peak_mb"]
            row["step_pct"] = 100 * row["step_ms"] / base["step_ms"]
    return rows


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backbones", nargs="+", default=["minilm", "qwen2_0_5b"])
    parser.add_argument("--quantize", nargs="+", default=["none", "nf4", "int8"])
    parser.add_argument("--methods", nargs="+", default=["lora", "krona"])
    parser.add_argument("--batch", type=int, default=1)
    parser.add_argument("--seq-len", type=int, default=128)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--one", nargs=3, metavar=("BACKBONE", "QUANTIZE", "METHOD"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.one:
        print(json.dumps(measure_one(*args.one, args.batch, args.seq_len, args.rounds)))
        return
    rows = []
    for backbone in args.backbones:
        for method in args.methods:
            for quantize in args.quantize:
                row = measured(backbone, quantize, method, args)
                print(
                    f"  {backbone}/{method}/{quantize}: {row['step_ms']:.0f} ms, peak {row['peak_mb']:.0f} MB",
                    flush=True,
                )
                rows.append(row)
    columns = [
        "backbone", "method", "quantize", "trainable", "weights_mb", "weights_pct", "resident_mb", "peak_mb",
        "peak_pct", "step_extra_mb", "step_ms", "step_ms_min", "step_ms_max", "step_pct", "load_1m",
    ]  # fmt: skip
    notes = [
        f"one optimiser step (AdamW over trainable parameters; forward, backward, update) on a batch of {args.batch} x "
        f"{args.seq_len} tokens, random weights (backbone.init=random), task {BENCH_TASK}; median of {args.rounds} "
        "steps after one warm-up step, each configuration in its own process",
        "weights_mb: bytes of every tensor the model stores (4-bit: packed weights + absmax/quant_map; 8-bit: int8 "
        "weights + row scales); the head, norms and embeddings stay float32 (qwen2_0_5b: its 136M-parameter "
        "embedding, 545 MB, is most of what remains)",
        "resident_mb / peak_mb: the process's resident memory before the steps and its peak during one warm-up and one "
        "timed step, sampled every 1 ms, in a second process run with MALLOC_MMAP_THRESHOLD_=65536 (every block of "
        "64 kB or more returned at free, so the resident size follows the live tensors; python, torch and "
        "bitsandbytes themselves included); step_extra_mb = peak - resident; step times come from the first process",
        "*_pct: % of the full-precision (quantize=none) row of the same backbone and method",
        "load_1m: the machine's 1-minute load average when the configuration started (another engineer's benchmarks "
        "share the 2 cores)",
    ]
    write_table(
        "quantized_step",
        "Training step on a 4-/8-bit backbone: memory and time",
        with_ratios(rows),
        columns,
        notes,
    )


if __name__ == "__main__":
    main()
