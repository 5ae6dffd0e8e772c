"""``python -m bakusoku.cli``: the same as the ``bakusoku`` command."""

from bakusoku.cli.main import main

main()
