"""bisect.json as Markdown: the answer first, then every step.

Commit subjects come from the repository (anyone who can push a commit wrote them): they
go into code spans, never into Markdown as is.
"""

from __future__ import annotations

from ..untrusted import code_span

_ANSWER = {
    "found": "First bad commit: {first_bad}",
    "inconclusive": "Inconclusive: the first bad commit is one of {count} commits (some could not be tested)",
    "running": "Running: {steps} step(s) so far",
    "cancelled": "Cancelled after {steps} step(s)",
    "error": "Stopped by an error after {steps} step(s)",
}


def _commit(described: dict | None) -> str:
    if not described:
        return "-"
    return f"{code_span(described['commit'][:12], table=True)} {code_span(described['subject'], 100, table=True)}"


def render_markdown(data: dict) -> str:
    answer = _ANSWER[data["state"]].format(first_bad=_commit(data["first_bad"]), count=len(data["suspects"]),
                                           steps=len(data["steps"]))
    lines = [
        f"## Bisect: {', '.join(code_span(t) for t in data['tests'])}",
        "",
        f"**{answer}**",
        "",
        f"- Good: {_commit(data['good'])}",
        f"- Bad: {_commit(data['bad'])}",
        f"- Failure bisected: {data['failure'] or 'not known yet'}; {data['commits']} commit(s) after GOOD; "
        f"{data['builds']} build(s), {len(data['steps'])} step(s), {data['duration']:.0f} s",
    ]
    if data["error"]:
        lines.append(f"- Error: {code_span(data['error'], 500)}")
    if data["suspects"]:
        lines += ["", "Suspects, oldest first:", ""] + [f"- {_commit(s)}" for s in data["suspects"]]
    lines += ["", "| Step | Role | Commit | Verdict | Outcome | Runs | Duration |",
              "|---:|---|---|---|---|---:|---:|"]
    for step in data["steps"]:
        lines.append(f"| {step['number']} | {step['role']} | {_commit(step)} | {step['verdict'] or '-'} | "
                     f"{step['outcome'] or '-'} | {len(step['runs'])} | {step['duration']:.0f} s |")
    return "\n".join(lines) + "\n"
