"""The README stays true: every setting and every CLI command is documented there."""

from __future__ import annotations

from pathlib import Path

from typer.main import get_command

from api.cli.main import app
from warehouse.settings import Settings

README = (Path(__file__).resolve().parents[1] / "README.md").read_text()


def test_every_setting_is_in_the_configuration_table() -> None:
    missing = [f"TALLY_{n.upper()}" for n in Settings.model_fields
               if f"`TALLY_{n.upper()}`" not in README]
    assert not missing, f"README lacks {missing}"


def test_every_command_is_in_the_commands_table() -> None:
    commands = get_command(app).commands  # type: ignore[attr-defined]
    missing = [name for name in commands if f"`tally {name}" not in README]
    assert not missing, f"README lacks {missing}"
