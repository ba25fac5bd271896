"""Sweep helpers: the Hydra and W&B sweep files live beside this package (see sweeps/README.md)."""
