"""Testing a build: regrtest under Node, run crash-proof and read from what it printed, on one
or several runtimes, on this machine or another one (from a bundle)."""
