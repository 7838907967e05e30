"""Fixtures of the randomization tests: `compose_cfg` (Hydra-composed configs) lives in tests/conftest.py."""
