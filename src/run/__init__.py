"""One run's lifecycle from a composed config to its record: build (model, data, module, trainer), fit and
test, evaluate a saved run, the run directory and its overrides, the checks before any work, the summary
block, W&B, and the command line that reports errors in one line."""

from .noise import filter_import_noise

# Every entry point (src.train, src.eval, src.study) imports this package before transformers and peft, and peft
# imports bitsandbytes, which logs its one line then.
filter_import_noise()
