"""Command-line entry points (Hydra apps). Only this package sees DictConfig objects."""
