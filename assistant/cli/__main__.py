"""`python -m assistant.cli`: the same as the `shoplens` command."""

from assistant.cli import app

app(prog_name="shoplens")
