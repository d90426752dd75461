"""Prompt templates (``prompts/*.md.j2``), loaded by name through one cached Jinja environment.

``StrictUndefined`` turns a missing variable into an error instead of an empty string. Shared
pieces live in ``prompts/_partials/`` and are included by name. Untrusted text (operator
notes, descriptions) only ever appears inside fenced data sections.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined

_HERE = Path(__file__).parent


@lru_cache(maxsize=1)
def _environment() -> Environment:
    return Environment(
        loader=FileSystemLoader(_HERE),
        undefined=StrictUndefined,
        autoescape=False,  # noqa: S701 - plain-text prompts, never HTML
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def render(name: str, **context: Any) -> str:
    """Render ``prompts/<name>.md.j2`` with ``context``.

    Args:
        name: template name without the ``.md.j2`` suffix, e.g. ``classify`` or
            ``offline_explain/SHRINKAGE``.
        **context: the template's variables; a missing one raises.

    Returns:
        The rendered text.
    """
    return _environment().get_template(f"{name}.md.j2").render(**context)


def preload(*names: str) -> None:
    """Compile templates now (first use would otherwise pay for parsing, mid-request)."""
    for name in names:
        _environment().get_template(f"{name}.md.j2")
