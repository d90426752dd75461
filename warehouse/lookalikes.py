"""Look-alike items: SKUs that are easy to confuse on the floor (same words, near barcodes).

Shared by the agent's features and the look-alike tool, so both mean the same SKUs.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
from scipy import sparse

MIN_SIMILARITY = 0.4
"""Description word overlap (Jaccard) from which two SKUs count as look-alikes."""
_BLOCK_CELLS = 4_000_000
"""SKU pairs whose overlaps are counted in one sparse product (bounds the memory)."""


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
    """SKU -> up to ``limit`` SKUs whose descriptions share most words (most similar first).

    Ties go to the greater SKU. Word overlaps are counted for a block of SKUs at a time with
    one sparse product (SKU x word incidence), so a catalogue costs seconds, not minutes.
    """
    toks = {sku: description_tokens(text)
            for sku, text in zip(items["sku"], items["description"], strict=True)}
    skus = list(toks)
    vocab: dict[str, int] = {}
    cols = [[vocab.setdefault(w, len(vocab)) for w in ws] for ws in toks.values()]
    sizes = np.array([len(c) for c in cols], dtype=np.int64)
    words = np.fromiter((w for c in cols for w in c), dtype=np.int64, count=int(sizes.sum()))
    incidence = sparse.csr_matrix((np.ones(len(words), dtype=np.int64), words,
                                   np.concatenate([[0], np.cumsum(sizes)])),
                                  shape=(len(skus), len(vocab)))
    names = np.array(skus, dtype=object)
    out: dict[str, list[str]] = {}
    block = max(1, _BLOCK_CELLS // max(len(skus), 1))
    for start in range(0, len(skus), block):
        shared = (incidence[start:start + block] @ incidence.T).tocsr()
        for k in range(shared.shape[0]):
            i = start + k
            row = slice(shared.indptr[k], shared.indptr[k + 1])
            cand, inter = shared.indices[row], shared.data[row]
            sim = inter / (sizes[i] + sizes[cand] - inter)
            keep = (sim >= MIN_SIMILARITY) & (cand != i)
            ranked = sorted(zip(sim[keep].tolist(), names[cand[keep]].tolist(), strict=True),
                            reverse=True)
            out[skus[i]] = [c for _, c in ranked[:limit]]
    return out
