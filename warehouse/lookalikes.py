"""Look-alike items: SKUs that are easy to confuse on the floor (same words, near barcodes).

Shared by the agent's features and the look-alike tool, so both mean the same SKUs.
"""

from __future__ import annotations

import re

import pandas as pd

MIN_SIMILARITY = 0.4
"""Description word overlap (Jaccard) from which two SKUs count as look-alikes."""


def description_tokens(text: object) -> set[str]:
    """Lower-case words of two or more characters in an item description."""
    return {t for t in re.split(r"[^a-z0-9]+", str(text).lower()) if len(t) > 1}


def description_similarity(a: object, b: object) -> float:
    """Jaccard overlap of two descriptions' words (0 when either has none)."""
    ta, tb = description_tokens(a), description_tokens(b)
    return len(ta & tb) / len(ta | tb) if ta and tb else 0.0


def gtin_distance(a: object, b: object) -> int | None:
    """Digits that differ between two barcodes of equal length; None when not comparable."""
    sa, sb = str(a).strip(), str(b).strip()
    if not (sa.isdigit() and sb.isdigit()) or len(sa) != len(sb):
        return None
    return sum(x != y for x, y in zip(sa, sb, strict=True))


def lookalike_index(items: pd.DataFrame, limit: int = 8) -> dict[str, list[str]]:
    """SKU -> up to ``limit`` SKUs whose descriptions share most words (most similar first)."""
    toks = {sku: description_tokens(text)
            for sku, text in zip(items["sku"], items["description"], strict=True)}
    by_word: dict[str, set[str]] = {}
    for sku, ws in toks.items():
        for w in ws:
            by_word.setdefault(w, set()).add(sku)
    out: dict[str, list[str]] = {}
    for sku, ws in toks.items():
        cands = set().union(*(by_word[w] for w in ws)) - {sku} if ws else set()
        scored = [(len(ws & toks[c]) / len(ws | toks[c]), c) for c in cands]
        out[sku] = [c for s, c in sorted(scored, reverse=True)[:limit] if s >= MIN_SIMILARITY]
    return out
