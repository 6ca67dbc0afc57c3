"""The `springboard` command line: thin typer commands over the SDK (parse, call, render)."""
