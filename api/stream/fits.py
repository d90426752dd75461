"""A site's fitted scorer as the ``scorer_fit`` table stores it: a pickle under an HMAC.

The fitted :class:`~scoring.Scorer` is a graph of baselines, detectors, a calibration and an
event window, so it is stored pickled; unpickling runs code, so a blob is unpickled only
once its HMAC-SHA256 under the audit key (``TALLY_AUDIT_KEY``, held outside the database,
see :func:`actions.audit.audit_key`) checks out. The MAC covers the format tag, the site
and the pickle, so a row written or edited by someone who can write the table but lacks
the key, or a fit moved to another site, is refused before anything is unpickled.

Stored form: ``tally-fit-v1`` LF, the hex MAC, LF, the pickle.
"""

from __future__ import annotations

import copy
import hashlib
import hmac
import pickle

from scoring import Scorer

_FORMAT = b"tally-fit-v1"


class FitRefused(Exception):
    """A ``scorer_fit`` row whose blob is unsigned, tampered with or signed with another key."""


def _mac(key: bytes, site: str, payload: bytes) -> bytes:
    message = b"\0".join([_FORMAT, site.encode("utf-8"), payload])
    return hmac.new(key, message, hashlib.sha256).hexdigest().encode("ascii")


def dump_fit(scorer: Scorer | None, *, key: bytes, site: str) -> bytes:
    """The signed blob of ``site``'s fit (None: no events to fit), without the batch cache."""
    shared: Scorer | None = None
    if scorer is not None:
        shared = copy.copy(scorer)
        vars(shared).pop("_fitted_flags_", None)  # weak references to the fitted history
    payload = pickle.dumps(shared)
    return b"\n".join([_FORMAT, _mac(key, site, payload), payload])


def load_fit(blob: bytes, *, key: bytes, site: str, fit_id: int) -> Scorer | None:
    """The fit a signed blob holds; raises :class:`FitRefused` before unpickling a bad one."""
    tag, _, rest = blob.partition(b"\n")
    mac, _, payload = rest.partition(b"\n")
    if tag != _FORMAT:
        raise FitRefused(
            f"scorer_fit row {fit_id} (site {site!r}): not a {_FORMAT.decode()} blob (unsigned "
            "or from an older version); delete the row so a worker refits the site")
    if not hmac.compare_digest(mac, _mac(key, site, payload)):
        raise FitRefused(
            f"scorer_fit row {fit_id} (site {site!r}): its HMAC does not match (edited, written "
            "without TALLY_AUDIT_KEY or under another key, or another site's fit); not loaded")
    scorer: Scorer | None = pickle.loads(payload)  # noqa: S301 - its keyed MAC was checked
    return scorer
