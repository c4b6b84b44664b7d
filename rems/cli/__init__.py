"""The `rems` command line: thin commands that translate arguments into service calls."""
