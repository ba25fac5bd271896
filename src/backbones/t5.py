"""T5 text-to-text: targets are label words (STS-B: the score rounded to 0.2, e.g. "3.4").

``predict: generate`` (the KronA / Compacter / T5 protocol, SPEC §4) decodes greedily and string-matches:
an output that is no label word is ``task.non_label``, a class no label has, so every metric counts it
wrong; an STS-B output that is not a plain decimal number is ``WRONG_SCORE``. ``predict: score`` ranks
the label words (STS-B: the 26 scores 0.0, 0.2, ..., 5.0) by likelihood and never predicts a non-label.
"""

from __future__ import annotations

import re

import torch
from transformers import AutoModelForSeq2SeqLM

from src.adapters import Placement
from src.data import GlueTask
from src.data.text_to_text import format_target

from .architectures import architecture, placement_for
from .base import Backbone, BackboneSettings
from .loading import load_model, load_tokenizer

# The Compacter / T5 evaluation code's default for a score that does not parse: outside STS-B's 0..5.
WRONG_SCORE = -1.0
PLAIN_DECIMAL = re.compile(r"-?[0-9]+(\.[0-9]+)?")
STSB_GRID = [i / 5 for i in range(26)]  # the STS-B targets: 0.0, 0.2, ..., 5.0
EXTRA_NEW_TOKENS = 1  # room past the longest target, so that a longer output shows as one


class T5TextToText(Backbone):
    family = "t5"
    text_to_text = True

    def __init__(self, model, tokenizer, task: GlueTask, predict: str = "generate") -> None:
        super().__init__(model, tokenizer)
        self.prediction = predict
        self._regression = task.is_regression
        self._non_label = WRONG_SCORE if task.is_regression else task.non_label
        self._candidates = STSB_GRID if task.is_regression else list(range(task.num_labels))
        words = [format_target(task, c) for c in self._candidates]
        self._candidate_ids = [torch.tensor(tokenizer(w).input_ids) for w in words]
        self._label_of_word = {w: i for i, w in enumerate(task.verbalizers)}
        self._max_new_tokens = max(len(ids) for ids in self._candidate_ids) + EXTRA_NEW_TOKENS

    @classmethod
    def build(cls, settings: BackboneSettings, task: GlueTask) -> T5TextToText:
        model, tokenizer = load_model(AutoModelForSeq2SeqLM, settings), load_tokenizer(settings)
        architecture(model.config.model_type, cls.family, settings.name)
        return cls(model, tokenizer, task, predict=settings.predict or "generate")

    def placement(self) -> Placement:
        return placement_for(self.model, self.family)

    def loss(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        return self.model(
            input_ids=batch["input_ids"], attention_mask=batch["attention_mask"], labels=batch["labels"]
        ).loss

    def predict(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        if self.prediction == "score":
            return self._most_likely_candidates(batch)
        texts = self._generate(batch)
        device = batch["input_ids"].device
        if self._regression:
            return torch.tensor([parse_score(t) for t in texts], device=device)
        return torch.tensor([self._label_of_word.get(t, self._non_label) for t in texts], device=device)

    @property
    def non_label(self) -> float:
        return self._non_label

    def _most_likely_candidates(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        """Per row, the class (STS-B: score) whose target has the highest sum of token log-probabilities."""
        mask = batch["attention_mask"]
        encoded = self.model.get_encoder()(input_ids=batch["input_ids"], attention_mask=mask)
        scores = []
        for ids in self._candidate_ids:
            labels = ids.to(mask.device).expand(mask.shape[0], -1)
            logits = self.model(
                encoder_outputs=encoded,
                attention_mask=mask,
                decoder_input_ids=self.model.prepare_decoder_input_ids_from_labels(labels=labels),
            ).logits
            log_probs = logits.log_softmax(-1).gather(-1, labels.unsqueeze(-1)).squeeze(-1)
            scores.append(log_probs.sum(-1))
        best = torch.stack(scores, dim=-1).argmax(-1)
        return torch.tensor(self._candidates, device=best.device)[best]

    def _generate(self, batch: dict[str, torch.Tensor]) -> list[str]:
        generated = self.model.generate(
            input_ids=batch["input_ids"],
            attention_mask=batch["attention_mask"],
            max_new_tokens=self._max_new_tokens,
            do_sample=False,
            num_beams=1,
        )
        return self.tokenizer.batch_decode(generated, skip_special_tokens=True)

    def targets(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        return batch["label"]

    def dummy_inputs(self, batch_size: int, seq_len: int, device: torch.device) -> dict[str, torch.Tensor]:
        vocab = self.model.config.vocab_size
        ids = torch.randint(0, vocab, (batch_size, seq_len), device=device)
        decoder_ids = torch.randint(0, vocab, (batch_size, seq_len), device=device)
        return {"input_ids": ids, "attention_mask": torch.ones_like(ids), "decoder_input_ids": decoder_ids}


def parse_score(text: str) -> float:
    """A plain decimal number ("3.4", "0", "5.0") as a float; anything else ("inf", "1e9", "1_0", " 3") is wrong."""
    return float(text) if PLAIN_DECIMAL.fullmatch(text) else WRONG_SCORE
