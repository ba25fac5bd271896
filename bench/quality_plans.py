"""What the quality benchmark runs: plans (backbones, tasks, budget, seeds) and the method rows at matched
trainable budgets. ``bench.quality`` runs a plan; ``bench.search`` searches each row's learning rate
under the same plan's budget on the search split.

Cost of the default ``cpu`` plan on this 2-core CPU, two one-thread runs side by side (docs/BENCHMARKS.md
section 4): on SST-2 a run takes 1.6-1.8 min (adapters) or 2.5 min (full fine-tuning) and an 8-trial search
7-11 min; STS-B's pairs fill the 64 tokens, so its trials take about 2.7 min. Every row on both tasks would
be, from those times, about 3 h 40 min of searches and 2 h 10 min of runs, so STS-B, the sentence-pair task, runs only the rows
a claim names (7 searches, 35 runs). SST-2 is the task where full fine-tuning and adapters at their own
learning rate reached 81% in 125 steps (issue 11); STS-B is the sentence-pair task this backbone (a
sentence-similarity encoder) learns in a few hundred steps, where RTE and MRPC sat at the majority class
after 16 steps (docs/BENCHMARKS.md).
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Row:
    """One method row of the table: an adapter with its size settings at hidden size d."""

    adapter: str
    claim: bool = False  # a claim names it: it gets the plan's claim seeds
    lr_from: str | None = None  # parity rows train at their kronlab twin's searched learning rate
    sizes: tuple[str, ...] = ()  # overrides with {d}, {8d}, {16d}, {f}, {d_f}: see size_overrides
    label: str = ""  # how docs/BENCHMARKS.md names the row (bench.quality_docs)


# About 8d adapter parameters per adapted linear (LoRA r=4 on query+value: 2 x 8d per layer), 16d per layer
# for the one-module-per-layer methods: 3,072 / 6,144 at MiniLM's d = 384, twice that at d = 768.
ROWS: dict[str, Row] = {
    "full": Row("full", label="full fine-tuning", claim=True),
    "bitfit": Row("bitfit", label="BitFit", claim=True),
    "lora": Row("lora", label="LoRA r=4 (q, v)", claim=True, sizes=("adapter.rank=4",)),
    "krona": Row("krona", label="KronA", claim=True, sizes=("adapter.budget={8d}",)),
    "krona_b": Row("krona_b", label="KronA^B", sizes=("adapter.budget={16d}",)),
    "krona_res": Row("krona_res", label="KronA^B_res", claim=True, sizes=("adapter.budget={16d}",)),
    "adakron": Row("adakron", label="AdaKron", claim=True, sizes=("adapter.r=8", "adapter.a=2")),
    "pa": Row("pa", label="parallel adapter", sizes=("adapter.bottleneck=8",)),
    "pfeiffer": Row("pfeiffer", label="Pfeiffer", claim=True, sizes=("adapter.bottleneck=8",)),
    # The Kronecker family at KronA's budget (the shapes chosen for each variant's own count, issue 15):
    # two Kronecker terms, and LoKr (B a rank-8 product, PEFT's scale and init) with budget-chosen shapes.
    "krona_terms2": Row("krona", label="KronA, 2 terms", sizes=("adapter.terms=2", "adapter.budget={8d}")),
    "lokr": Row("lokr", label="LoKr (inner rank 8)", sizes=("adapter.a_shape=auto", "adapter.b_shape=auto", "adapter.budget={8d}")),
    # PEFT parity: LoRA r=4 against PEFT's LoRA; KronA with the only shapes PEFT's LoKr makes for a square
    # layer (w1 f x f full, w2 d/f x d/f full), A = 0 and B Kaiming like LoKr's w1/w2, scale 1 = alpha/r.
    "peft_lora": Row(
        "peft",
        label="PEFT LoRA (parity)",
        lr_from="lora",
        sizes=("adapter.peft_type=LORA", "adapter.peft_config={{r: 4, lora_alpha: 4}}"),
    ),
    "krona_lokr": Row(
        "krona", label="KronA, LoKr's shapes (parity)", lr_from="krona", sizes=("adapter.a_shape=[{f},{f}]", "adapter.b_shape=[{d_f},{d_f}]", "adapter.init=b_kaiming")
    ),
    "peft_lokr": Row(
        "peft",
        label="PEFT LoKr (parity)",
        lr_from="krona",
        sizes=(
            "adapter.peft_type=LOKR",
            "adapter.peft_config={{r: {d_f}, alpha: {d_f}, decompose_factor: {f}}}",
        ),
    ),
}  # fmt: skip

HIDDEN = {
    "minilm": 384,
    "tiny_bert": 48,
    "bert_base": 768,
    "roberta_base": 768,
    "t5_base": 768,
    "t5_small": 512,
}


def lokr_factor(d: int) -> int:
    """PEFT LoKr's decompose_factor f for a d x d layer (w1 f x f, w2 d/f x d/f) nearest 8d parameters."""
    divisors = [f for f in range(1, d + 1) if d % f == 0 and f * f >= d]
    return min(divisors, key=lambda f: abs(f * f + (d // f) ** 2 - 8 * d))


def size_overrides(row: Row, backbone: str) -> list[str]:
    d = HIDDEN[backbone]
    f = lokr_factor(d)
    return [s.format(d=d, **{"8d": 8 * d, "16d": 16 * d}, f=f, d_f=d // f) for s in row.sizes]


@dataclass(frozen=True)
class Plan:
    backbones: tuple[str, ...]
    tasks: tuple[str, ...]
    rows: tuple[str, ...]
    claim_seeds: tuple[int, ...]
    other_seeds: tuple[int, ...]
    epochs: int
    max_train_samples: int | None  # None: every training row
    max_length: int | None  # None: the task's own
    search_trials: int = 10
    search_validation_rows: int = 1000
    extra: tuple[str, ...] = field(default=())  # any further overrides for every run
    claim_rows_only: tuple[str, ...] = ()  # tasks that run only the rows a claim names

    def seeds(self, row: str) -> tuple[int, ...]:
        return self.claim_seeds if ROWS[row].claim else self.other_seeds

    def rows_for(self, task: str) -> tuple[str, ...]:
        return tuple(r for r in self.rows if ROWS[r].claim) if task in self.claim_rows_only else self.rows


ALL_ROWS = tuple(ROWS)
PLANS: dict[str, Plan] = {
    "cpu": Plan(("minilm",), ("sst2", "stsb"), ALL_ROWS, (1, 2, 3, 4, 5), (1, 2, 3), epochs=1,
                max_train_samples=4000, max_length=64, search_trials=8, claim_rows_only=("stsb",)),
    # Paper length (GPU): every training row, each task's max_length, 3 epochs, the best dev epoch.
    "full": Plan(("bert_base", "t5_base"), ("sst2", "mrpc", "stsb", "cola", "rte"), ALL_ROWS, (1, 2, 3, 4, 5),
                 (1, 2, 3), epochs=3, max_train_samples=None, max_length=None, search_trials=20),
    # The pipeline end to end on tiny random models and a few real rows (tests, a quick look).
    "smoke": Plan(("tiny_bert",), ("sst2",), ("full", "bitfit", "lora", "krona", "krona_lokr", "peft_lokr"), (1, 2, 3), (1, 2, 3),
                  epochs=1, max_train_samples=64, max_length=32, search_trials=2, search_validation_rows=32,
                  extra=("data.max_eval_samples=64", "data.batch_size=16")),
}  # fmt: skip

# Learning rate for a row that has no searched value yet (from issue 11's SST-2 runs on MiniLM).
FALLBACK_LR = {"full": 5e-5}
FALLBACK_LR_ADAPTERS = 5e-3
