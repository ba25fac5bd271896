"""Load Hugging Face models and tokenizers from the hub or a local folder, with errors that say what to do."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from transformers import AutoConfig, AutoTokenizer, PretrainedConfig

from .architectures import ARCHITECTURES
from .base import BackboneError, BackboneSettings
from .quantize import bnb_config, keep_weight_layout, quantize_linears

WEIGHT_FILES = (
    "model.safetensors",
    "pytorch_model.bin",
    "model.safetensors.index.json",
    "pytorch_model.bin.index.json",
)
TOKENIZER_FILES = ("tokenizer.json", "vocab.txt", "spiece.model", "vocab.json", "sentencepiece.bpe.model")


def _looks_local(source: str) -> bool:
    return source.startswith((".", "/", "~")) or Path(source).expanduser().exists()


REQUIRED = {
    "model": ("config.json", WEIGHT_FILES),
    "model config": ("config.json", ()),
    "tokenizer": (None, TOKENIZER_FILES),
}


def check_local_folder(source: str, what: str) -> None:
    folder = Path(source).expanduser()
    if not folder.is_dir():
        raise BackboneError(
            f"{what} folder {folder} does not exist. Point backbone.pretrained (or backbone.tokenizer) "
            "at a folder saved with save_pretrained, or at a hub id such as bert-base-uncased."
        )
    files = {p.name for p in folder.iterdir()}
    needed_file, one_of = REQUIRED[what]
    missing = []
    if needed_file and needed_file not in files:
        missing.append(needed_file)
    if one_of and not files & set(one_of):
        missing.append(f"one of {list(one_of)}")
    if missing:
        raise BackboneError(
            f"{what} folder {folder} is missing {', '.join(missing)}. "
            "Re-save it with save_pretrained (model and tokenizer), or point at a complete copy."
        )


def _hub_error(source: str, what: str, error: Exception) -> BackboneError:
    return BackboneError(
        f"could not load the {what} {source!r} from the Hugging Face hub ({type(error).__name__}: {error}). "
        "If this machine is offline, download it elsewhere (huggingface-cli download, or save_pretrained) and "
        "point at the folder: backbone.pretrained=/path/to/folder (tokenizer: backbone.tokenizer=/path). "
        "Set HF_HUB_OFFLINE=1 to fail fast without network."
    )


def load(loader: Any, source: str, what: str, **kwargs: Any):
    """``loader.from_pretrained(source)`` with local-folder checks and a clear hub error."""
    local = _looks_local(source)
    if local:
        check_local_folder(source, what)
        source = str(Path(source).expanduser())
    try:
        return loader.from_pretrained(source, **kwargs)
    except (OSError, ValueError) as error:
        if local:
            raise BackboneError(f"could not load the {what} from {source}: {error}") from error
        raise _hub_error(source, what, error) from error


def load_tokenizer(settings: BackboneSettings):
    return load(
        AutoTokenizer, settings.tokenizer or settings.pretrained, "tokenizer", cache_dir=settings.cache_dir
    )


def model_config(settings: BackboneSettings, **overrides: Any) -> PretrainedConfig:
    """The architecture: from the YAML's ``config`` when given (random init, no network), else from the source."""
    if settings.init == "random" and settings.config:
        values = dict(settings.config)
        return AutoConfig.for_model(values.pop("model_type"), **values, **overrides)
    return load(AutoConfig, settings.pretrained, "model config", cache_dir=settings.cache_dir, **overrides)


def load_model(auto_cls: Any, settings: BackboneSettings, **config_overrides: Any):
    """Pretrained weights, or the same architecture with random weights when ``init=random``; with
    ``backbone.quantize`` its linear layers in 4 or 8 bits (``quantize.py``)."""
    if settings.init == "random":
        config = model_config(settings, **config_overrides)
        model = auto_cls.from_config(config)
        if settings.quantize == "none":
            return model
        return quantize_linears(model, quantization_for(settings, config.model_type))
    if settings.quantize == "none":
        return load(auto_cls, settings.pretrained, "model", cache_dir=settings.cache_dir, **config_overrides)
    quantization = quantization_for(settings, model_config(settings).model_type)
    model = load(
        auto_cls, settings.pretrained, "model", cache_dir=settings.cache_dir,
        quantization_config=quantization, **config_overrides,
    )  # fmt: skip
    return keep_weight_layout(model)


def quantization_for(settings: BackboneSettings, model_type: str):
    """The ``BitsAndBytesConfig`` of ``backbone.quantize``, keeping the architecture's head in float."""
    row = ARCHITECTURES.get(model_type)
    return bnb_config(settings.quantize, row.heads if row else ())
