"""The UI's Jinja environment: templates shipped in the package, autoescaped, with filters."""

from __future__ import annotations

from pathlib import Path

from fastapi.templating import Jinja2Templates

HERE = Path(__file__).parent
STATIC_DIR = HERE / "static"


def human_age(seconds: float) -> str:
    """A compact age, e.g. ``45s``, ``12m``, ``3h 05m``, ``2d 4h``."""
    s = int(max(0, seconds))
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m"
    if s < 86400:
        return f"{s // 3600}h {s % 3600 // 60:02d}m"
    return f"{s // 86400}d {s % 86400 // 3600}h"


def label(value: object) -> str:
    """An enum or snake/upper-case value as words: ``ROOT_CAUSE`` -> ``root cause``."""
    text = getattr(value, "value", value)
    return str(text).replace("_", " ").lower()


def money(value: float | None, signed: bool = False) -> str:
    """``$1,234.50`` (``+$8.80`` when signed), an em dash when unknown."""
    if value is None:
        return "—"
    sign = "-" if value < 0 else "+" if signed and value > 0 else ""
    return f"{sign}${abs(value):,.2f}"


templates = Jinja2Templates(directory=HERE / "templates")
templates.env.filters["money"] = money
templates.env.filters["age"] = human_age
templates.env.filters["label"] = label
