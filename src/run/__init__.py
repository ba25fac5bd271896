"""One run's lifecycle from a composed config to its record: build (model, data, module, trainer), fit and
test, evaluate a saved run, the run directory and its overrides, the checks before any work, the summary
block, W&B, and the command line that reports errors in one line."""
