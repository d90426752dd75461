"""Vectorised row checks: each row keeps the first problem found, in the order checked."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from warehouse.loader.report import REJECT_COLUMNS

_NUMBER_NOISE = r"[\s\u00a0\u202f_']"
"""Digit-group separators seen in exports: spaces (also no-break and thin), _ and '."""
_OFFSET = r"\d:\d\d(?::\d\d(?:[.,]\d+)?)?\s*(?:[zZ]|[+-]\d\d(?::?\d\d)?)$"
"""A time of day followed by Z or a UTC offset."""


class RowChecks:
    """The problems of one chunk's rows, one per row (the first that applies)."""

    def __init__(self, frame: pd.DataFrame, file: str, lines: np.ndarray) -> None:
        self.frame = frame
        self.file = file
        self.lines = lines
        self.bad = np.zeros(len(frame), dtype=bool)
        self._field = np.empty(len(frame), dtype=object)
        self._code = np.empty(len(frame), dtype=object)
        self._reason = np.empty(len(frame), dtype=object)

    def fail(self, mask: pd.Series | np.ndarray, field: str, code: str,
             reason: str | pd.Series) -> None:
        """Mark rows in ``mask`` bad, unless an earlier check already did."""
        new = np.asarray(mask, dtype=bool) & ~self.bad
        if not new.any():
            return
        self.bad |= new
        self._field[new] = field
        self._code[new] = code
        self._reason[new] = np.asarray(reason, dtype=object)[new] if isinstance(
            reason, pd.Series) else reason

    def fail_quoting(self, mask: pd.Series | np.ndarray, field: str, code: str,
                     prefix: str) -> None:
        """:meth:`fail` with reason ``prefix`` + the row's ``field`` value, quoted.

        The reasons are only built when some row fails (most chunks have none).
        """
        if np.asarray(mask, dtype=bool).any():
            self.fail(mask, field, code, prefix + _quoted(self.frame[field]))

    def require(self, columns: list[str]) -> None:
        """Each of ``columns`` must have a value."""
        for column in columns:
            self.fail(self.frame[column].isna(), column, "missing", "required field is empty")

    def bounded(self, limits: dict[str, int], controls: str, columns: list[str]) -> None:
        """Each of ``limits`` at most so many characters; ``columns`` free of ``controls``.

        ``controls`` is a regular-expression character class of the characters refused.
        """
        for column, limit in limits.items():
            text = self.frame[column]
            self.fail(text.str.len() > limit, column, "too_long", f"at most {limit} characters")
            if column in columns:
                self.fail(text.str.contains(controls, regex=True, na=False), column,
                          "control_character", "must not contain control characters")

    def rejects(self) -> pd.DataFrame:
        """The bad rows as a rejects frame (:data:`REJECT_COLUMNS`)."""
        return pd.DataFrame({
            "file": self.file,
            "line": self.lines[self.bad],
            "field": self._field[self.bad],
            "code": self._code[self.bad],
            "reason": self._reason[self.bad],
        }, columns=REJECT_COLUMNS)

    def number(self, column: str, *, integer: bool = False) -> pd.Series:
        """``column`` as float64 (NaN where empty); unparsable values fail the row."""
        text = self.frame[column]
        values = pd.to_numeric(text, errors="coerce").astype("float64")
        retry = values.isna() & text.notna()
        if retry.any():
            cleaned = text[retry].str.replace(_NUMBER_NOISE, "", regex=True)
            values[retry] = pd.to_numeric(cleaned, errors="coerce").astype("float64")
        bad = text.notna() & ~np.isfinite(values.to_numpy())
        self.fail_quoting(bad, column, "bad_number", "not a number: ")
        if integer:
            fractional = values.notna() & (values != np.round(values)) & ~self.bad
            self.fail_quoting(fractional, column, "bad_number", "not a whole number: ")
        return values.where(~bad)

    def enum(self, column: str, allowed: list[str], code: str,
             aliases: dict[str, str] | None = None) -> pd.Series:
        """``column`` upper-cased (and aliased) as one of ``allowed``; others fail the row."""
        text = self.frame[column]
        values = text.copy()
        odd = values.notna() & ~values.isin(allowed)
        if odd.any():  # only spellings off the contract pay for the normalising
            fixed = text[odd].str.upper().str.replace(r"[\s\-]+", "_", regex=True)
            values[odd] = fixed.replace(aliases) if aliases else fixed
        bad = values.notna() & ~values.isin(allowed)
        self.fail_quoting(bad, column, code, f"not one of {', '.join(allowed)}: ")
        return values

    def times(self, column: str) -> tuple[pd.Series, pd.Series]:
        """``column`` as tz-aware UTC times and a mask of those written without an offset.

        A time without an offset is taken as UTC (the caller counts it as a warning);
        an unparsable one fails the row.
        """
        text = self.frame[column]
        values = pd.to_datetime(text, format="ISO8601", utc=True, errors="coerce")
        bad = text.notna() & values.isna()
        self.fail_quoting(bad, column, "bad_time", "not an ISO-8601 time: ")
        offset = pc.match_substring_regex(pa.array(text.astype("string")), _OFFSET)
        naive = text.notna() & ~bad & ~offset.fill_null(False).to_numpy(zero_copy_only=False)
        return values.astype("datetime64[us, UTC]"), naive


def _quoted(text: pd.Series) -> pd.Series:
    return "'" + text.fillna("").str.slice(0, 60) + "'"
