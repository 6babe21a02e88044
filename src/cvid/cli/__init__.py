"""The ``cvid`` command line. Each command group lives in its own module."""

# The command line is reached through the ``cvid`` script (cvid.cli.main:main), not imported.
__all__: list[str] = []
