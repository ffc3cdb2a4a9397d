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


def mutate(draw, doc, values, st):
    """`doc` with one to three places replaced by, or added as, a value drawn from the
    strategy `values`, or removed (`draw`: a Hypothesis composite's draw; `st`: its strategies)."""
    for _ in range(draw(st.integers(1, 3))):
        path = draw(st.sampled_from(list(json_paths(doc))[1:]))
        parent = doc
        for key in path[:-1]:
            parent = parent[key]
        action = draw(st.sampled_from(["replace", "replace", "delete", "add"]))
        if action == "delete":
            del parent[path[-1]]
        elif action == "add" and isinstance(parent, dict):
            parent[draw(st.text(max_size=12))] = draw(values)
        else:
            parent[path[-1]] = draw(values)
        if not _reachable(doc, path[:-1]):
            break
    return doc


def _reachable(doc, path) -> bool:
    node = doc
    for key in path:
        try:
            node = node[key]
        except (KeyError, IndexError, TypeError):
            return False
    return True
