"""`python -m springboard ...`: the `springboard` command, for when its script is not on PATH."""

from springboard.cli.main import main

main()
