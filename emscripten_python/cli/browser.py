"""`emscripten-python browser`: the browser smoke test alone, against a built web page.

`run --browser` / `test --browser` do the same after the node runtimes. This subcommand is
for a page built elsewhere (another worker, a chroot, an unpacked bundle): it adds the
chromium section to the results.json in --out (or starts one) and rewrites junit.xml and
summary.md, so the browser result sits beside the node results.
"""

from __future__ import annotations

import argparse
from pathlib import Path


def register(sub) -> None:
    parser = sub.add_parser("browser", help="run the browser smoke test in Chromium against a built web page")
    parser.add_argument("--out", type=Path, default=Path("emscripten-python-out"),
                        help="output directory; its results.json gets the chromium section")
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--source", help="the built CPython tree (its web page is found by era)")
    where.add_argument("--web-dir", type=Path, help="the web page's directory (python.html or index.html)")
    parser.add_argument("--chromium", help="the Chromium to drive (default: /usr/bin/chromium)")
    parser.add_argument("--web-assets", type=Path, help="offline copies of the page's CDN files (HOST/PATH)")
    parser.set_defaults(func=main)


def main(args: argparse.Namespace) -> int:
    from ..pipeline import Options, Pipeline
    from ..testing.browser import browser_stage
    from .main import _finish

    options = Options(source=args.source or "", out=args.out, browser=True, chromium=args.chromium,
                      web_dir=args.web_dir.resolve() if args.web_dir else None, web_assets=args.web_assets)
    pipeline = Pipeline(options, new_run=False)
    browser_stage(pipeline)
    pipeline.report_stage()
    return _finish(pipeline)
