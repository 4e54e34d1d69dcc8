"""The `adlens` command line: one module per command group."""
