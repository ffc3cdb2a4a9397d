"""Markdown renderings of a run and of a comparison."""
