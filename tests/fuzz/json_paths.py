"""Helpers shared by the fuzz modules that mutate a JSON document in one place."""

from __future__ import annotations

# What a database may take differently from Python: NUL (PostgreSQL's text cannot hold it),
# other C0 and C1 controls, DEL, line and paragraph separators, lone surrogates (not UTF-8:
# JSON writes them as \ud800 escapes), a noncharacter.
EDGE_CHARACTERS = "\x00\x01\x08\x0b\x1b\x7f\x85\x9f\u2028\u2029\ud800\udfff\ufffe"
# Numbers at and beyond the edges of 32- and 64-bit integer columns, of a double's exact
# integers, of the validation's 1e15, and floats at the ends of a double.
EDGE_NUMBERS = (2**31, 2**31 - 1, -(2**31) - 1, 2**32, 2**40, 2**53 + 1, 2**63 - 1, 2**63, 2**64, 10**15,
                10**15 + 1, 1e15, 1.0000000000000002e15, 1e300, 5e-324, -0.0)


def json_paths(value, prefix=()):
    """Every place in a JSON value (a key path), the root (``()``) included."""
    yield prefix
    if isinstance(value, dict):
        for key, child in value.items():
            yield from json_paths(child, (*prefix, key))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            yield from json_paths(child, (*prefix, index))


def _edgeable(value) -> bool:
    return isinstance(value, (str, int, float)) and not isinstance(value, bool)


def _edged(draw, value, st):
    """`value` pushed to an edge: a string with an EDGE_CHARACTER put in it, a number
    replaced by an EDGE_NUMBER."""
    if isinstance(value, str):
        at = draw(st.integers(0, len(value)))
        return value[:at] + draw(st.sampled_from(EDGE_CHARACTERS)) + value[at:]
    return draw(st.sampled_from(EDGE_NUMBERS))


ACTIONS = ("replace", "replace", "delete", "add", "edge", "edge")


def mutate(draw, doc, values, st, actions=ACTIONS, most=3):
    """`doc` with one to `most` places replaced by, or added as, a value drawn from the
    strategy `values`, removed, or pushed to an edge (a string given a NUL, a control
    character or a lone surrogate where it stands; a number made one beyond a column's
    range) (`draw`: a Hypothesis composite's draw; `st`: its strategies; `actions`: those
    to draw from, ACTIONS by default; ("edge",) for edges only)."""
    for _ in range(draw(st.integers(1, most))):
        action = draw(st.sampled_from(actions))
        places = [p for p in list(json_paths(doc))[1:] if action != "edge" or _edgeable(_at(doc, p))]
        if not places:
            break
        path = draw(st.sampled_from(places))
        parent = _at(doc, path[:-1])
        if action == "delete":
            del parent[path[-1]]
        elif action == "add" and isinstance(parent, dict):
            parent[draw(st.text(max_size=12))] = draw(values)
        elif action == "edge":
            parent[path[-1]] = _edged(draw, parent[path[-1]], st)
        else:
            parent[path[-1]] = draw(values)
        if not _reachable(doc, path[:-1]):
            break
    return doc


def _at(doc, path):
    for key in path:
        doc = doc[key]
    return doc


def _reachable(doc, path) -> bool:
    node = doc
    for key in path:
        try:
            node = node[key]
        except (KeyError, IndexError, TypeError):
            return False
    return True
