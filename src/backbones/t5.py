"""T5 text-to-text: targets are label words; a class is predicted by scoring each label word,
an STS-B score by decoding a number (anything that is not one counts as wrong)."""

from __future__ import annotations

import torch
from transformers import AutoModelForSeq2SeqLM
from transformers.models.t5.modeling_t5 import T5LayerNorm

from src.adapters import Placement, Site
from src.data import GlueTask

from .base import Backbone, BackboneSettings
from .loading import load_model, load_tokenizer

WRONG_SCORE = -1.0  # outside STS-B's 0..5: an unparseable prediction is scored as a wrong number
STSB_MAX_NEW_TOKENS = 5


class T5TextToText(Backbone):
    family = "t5"
    text_to_text = True
    model_types = ("t5",)

    def __init__(self, model, tokenizer, task: GlueTask) -> None:
        super().__init__(model, tokenizer, task)
        words = [] if task.is_regression else list(task.verbalizers)
        self._verbalizer_ids = [torch.tensor(tokenizer(w).input_ids) for w in words]

    @classmethod
    def build(cls, settings: BackboneSettings, task: GlueTask) -> T5TextToText:
        return cls(load_model(AutoModelForSeq2SeqLM, settings), load_tokenizer(settings), task)

    def placement(self) -> Placement:
        config = self.model.config
        stacks = [("encoder", config.num_layers), ("decoder", config.num_decoder_layers)]
        blocks = [f"{stack}.block.{i}" for stack, n in stacks for i in range(n)]
        ffn = [f"{b}.layer.{2 if b.startswith('decoder') else 1}.DenseReluDense" for b in blocks]
        attention = [f"{b}.layer.0.SelfAttention" for b in blocks]
        return Placement(
            family=self.family,
            hidden_size=config.d_model,
            default_targets=("q", "v"),
            ffn=tuple(Site(m, m, config.d_model) for m in ffn),
            attention=tuple(Site(m, m, config.d_model) for m in attention),
            head_prefixes=() if config.tie_word_embeddings else ("lm_head",),
            norm_types=(T5LayerNorm,),
            extra={"self_attention": tuple(attention), "num_heads": config.num_heads},
        )

    def loss(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        return self.model(
            input_ids=batch["input_ids"], attention_mask=batch["attention_mask"], labels=batch["labels"]
        ).loss

    def predict(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        if self.task.is_regression:
            return self._decode_scores(batch)
        return self._score_label_words(batch)

    def _score_label_words(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        mask = batch["attention_mask"]
        encoded = self.model.get_encoder()(input_ids=batch["input_ids"], attention_mask=mask)
        scores = []
        for ids in self._verbalizer_ids:
            labels = ids.to(mask.device).expand(mask.shape[0], -1)
            logits = self.model(
                encoder_outputs=encoded,
                attention_mask=mask,
                decoder_input_ids=self.model.prepare_decoder_input_ids_from_labels(labels=labels),
            ).logits
            log_probs = logits.log_softmax(-1).gather(-1, labels.unsqueeze(-1)).squeeze(-1)
            scores.append(log_probs.sum(-1))
        return torch.stack(scores, dim=-1).argmax(-1)

    def _decode_scores(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        generated = self.model.generate(
            input_ids=batch["input_ids"],
            attention_mask=batch["attention_mask"],
            max_new_tokens=STSB_MAX_NEW_TOKENS,
            do_sample=False,
        )
        texts = self.tokenizer.batch_decode(generated, skip_special_tokens=True)
        return torch.tensor([parse_score(t) for t in texts], device=generated.device)

    def targets(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        return batch["label"]

    def dummy_inputs(self, batch_size: int, seq_len: int, device: torch.device) -> dict[str, torch.Tensor]:
        vocab = self.model.config.vocab_size
        ids = torch.randint(0, vocab, (batch_size, seq_len), device=device)
        decoder_ids = torch.randint(0, vocab, (batch_size, seq_len), device=device)
        return {"input_ids": ids, "attention_mask": torch.ones_like(ids), "decoder_input_ids": decoder_ids}


def parse_score(text: str) -> float:
    try:
        value = float(text.strip())
    except ValueError:
        return WRONG_SCORE
    return value if value == value else WRONG_SCORE
