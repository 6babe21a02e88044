"""The witness tests' fixtures (defined in witness_kit.py, beside the helpers they use)."""

from witness_kit import clock, log, make_witness  # noqa: F401
