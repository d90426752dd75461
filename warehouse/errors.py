"""Errors shared across the package, kept free of imports so any module may raise them."""

from __future__ import annotations


class UserError(Exception):
    """Bad input from the user: printed as one line, exit code 2, no traceback."""
