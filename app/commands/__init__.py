"""Subcommands of the ``holdtype`` CLI, one module per group (see :mod:`app.cli`)."""
