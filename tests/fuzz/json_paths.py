"""Helpers shared by the fuzz modules that mutate a JSON document in one place."""

from __future__ import annotations


def json_paths(value, prefix=()):
    """Every place in a JSON value (a key path), the root (``()``) included."""
    yield prefix
    if isinstance(value, dict):
        for key, child in value.items():
            yield from json_paths(child, (*prefix, key))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            yield from json_paths(child, (*prefix, index))
