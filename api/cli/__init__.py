"""The ``tally`` command line (root app in :mod:`api.cli.main`), one module per command group."""
