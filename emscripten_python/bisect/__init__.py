"""`emscripten-python bisect`: the first commit at which chosen test files start failing.

search.py decides which commit to test (no git, no build); git.py moves the checkout;
runner.py runs each step through the pipeline and writes bisect.json and bisect.md;
cli.py adds the subcommand. See docs/bisect.rst.
"""
