"""Sites: one deployment serves several warehouses, each row stored under its site's name.

A dataset folder is one site (``tally ingest DIR --site NAME``); a single-site deployment
never names one and lives in :data:`DEFAULT_SITE`.
"""

from __future__ import annotations

import re

from sqlalchemy import Column, String

from warehouse.errors import UserError

DEFAULT_SITE = "default"
"""The site of everything stored without a site named (single-site deployments)."""
SITE_LENGTH = 64
_SITE = re.compile(rf"^[A-Za-z0-9][A-Za-z0-9._-]{{0,{SITE_LENGTH - 1}}}$")


def check_site(name: str) -> str:
    """``name`` when it is a valid site name (1-64 letters, digits, '.', '_' or '-').

    Raises:
        UserError: the name is empty or has other characters.
    """
    if not isinstance(name, str) or not _SITE.match(name):
        raise UserError(f"bad site name {name!r}: 1-{SITE_LENGTH} letters, digits, '.', '_' "
                        "or '-', starting with a letter or digit")
    return name


def site_column(*, primary_key: bool = False, index: bool = False) -> Column[str]:
    """The ``site`` column every stored row carries (``default`` when none is named)."""
    return Column("site", String(SITE_LENGTH), primary_key=primary_key, index=index,
                  nullable=False, default=DEFAULT_SITE, server_default=DEFAULT_SITE)
