"""regrtest under Node: running it crash-proof and reading what it printed."""
