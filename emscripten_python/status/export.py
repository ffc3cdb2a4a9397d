"""`status export DIR`: the pages reachable from the overview within the export's window
(window.py), saved as files for a static host."""

from __future__ import annotations

from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import quote, unquote, urljoin, urlsplit

from ..durable import atomic_write
from .errors import StatusError
from .web import create_app
from .window import EXPORT_ENV, export_window

_SITE = "http://export.invalid/"


class _Links(HTMLParser):
    def __init__(self):
        super().__init__()
        self.found: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.found += [value for name, value in attrs if name in ("href", "src") and value]


def _internal(page: str, href: str) -> str | None:
    """The site path `href` on `page` points to, or None for another site or an anchor."""
    target = urlsplit(urljoin(_SITE + quote(page), href))
    if f"{target.scheme}://{target.netloc}/" != _SITE or not target.path.strip("/"):
        return None
    return unquote(target.path.lstrip("/"))


def export(db_url: str | None, out_dir: Path, tier3_builders: list[str] | None = None) -> int:
    """Write the site under `out_dir`; returns the number of files written."""
    app = create_app(db_url, tier3_builders)
    client = app.test_client()
    with app.extensions["emscripten_python_status"].reader() as session:
        window = export_window(session)
    queue, seen = ["index.html"], {"index.html"}
    while queue:
        page = queue.pop()
        # EXPORT_ENV: the pages link only what the window holds (and not the lane pager).
        response = client.get("/" + quote(page), environ_base={EXPORT_ENV: window})
        if response.status_code != 200:
            raise StatusError(f"export: /{page} answered {response.status_code} (a broken link in the pages)")
        target = out_dir / page
        target.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(target, response.data)
        if page.endswith(".html"):
            parser = _Links()
            parser.feed(response.get_data(as_text=True))
            for href in parser.found:
                path = _internal(page, href)
                if path and path not in seen:
                    seen.add(path)
                    queue.append(path)
    # GitHub Pages would run Jekyll over the files otherwise, and it hides some paths.
    (out_dir / ".nojekyll").touch()
    return len(seen)
