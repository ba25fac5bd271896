"""val/primary may be NaN (STS-B with a constant prediction): the configured checkpoint callback never prefers it."""

from __future__ import annotations

import math

import lightning as L
import pytest
from hydra.utils import instantiate
from lightning.pytorch.demos.boring_classes import BoringModel

from tests.conftest import compose_config

NAN = float("nan")


class ScriptedPrimary(BoringModel):
    """Logs the given val/primary, one value per epoch."""

    def __init__(self, values: list[float]) -> None:
        super().__init__()
        self.values = values

    def on_validation_epoch_end(self) -> None:
        self.log("val/primary", self.values[self.current_epoch])


@pytest.mark.parametrize(
    ("values", "best_epoch"),
    [([NAN, 0.3, NAN, 0.2], 1), ([0.1, NAN], 0), ([NAN, -0.5], 1), ([NAN, NAN], 0)],
)
def test_nan_primary_is_never_picked_over_a_number(tmp_path, values, best_epoch):
    checkpoint = instantiate(compose_config([], tmp_path).callbacks.model_checkpoint)
    trainer = L.Trainer(
        max_epochs=len(values),
        limit_train_batches=1,
        limit_val_batches=1,
        num_sanity_val_steps=0,
        callbacks=[checkpoint],
        logger=False,
        enable_progress_bar=False,
        enable_model_summary=False,
    )
    trainer.fit(ScriptedPrimary(values))
    assert f"epoch{best_epoch:02d}" in checkpoint.best_model_path
    defined = [v for v in values if not math.isnan(v)]
    assert float(checkpoint.best_model_score) == pytest.approx(max(defined) if defined else -math.inf)
