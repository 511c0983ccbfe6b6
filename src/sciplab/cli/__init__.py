"""The ``sciplab`` command line (Typer): thin commands that parse, call the library and write."""
