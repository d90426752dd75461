"""``python -m api.cli ...``: the ``tally`` command without the installed entry point."""

from api.cli.main import main

main()
