"""Studies: comparisons as configuration, run through Hydra's launchers with the search in an Optuna storage."""
