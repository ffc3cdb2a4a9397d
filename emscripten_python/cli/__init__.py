"""The command line: one module per command (`main` holds the parser and the core commands)."""
