"""The browser smoke test: the tree's own web page, served locally, driven in a real Chromium.

Node runs the test suite; only a browser shows whether Python starts where PEP 776 says it
matters (CPython's buildbot runs a "PyRepl in Chrome smoke test" for the same reason). The
stage serves the tree's web example on 127.0.0.1 with the headers SharedArrayBuffer needs
(COOP/COEP, as the tree's own server does), starts a system Chromium through Playwright
(`executable_path`: no browser download), starts the interpreter in the page, types a short
program into the page's own input path, checks its output, and keeps the console log and a
screenshot. A failure records the console's error text, like a node crash.

Which page, by era (docs/runtimes.rst):
- 3.11-3.13 (`configure`): `--with-emscripten-target=browser` built in its own directory
  (builddir/emscripten-browser, beside the node build, same build Python); make copies
  Tools/wasm/python.html + python.worker.js next to python.js/.wasm/.data. The page's input
  path: its Start REPL button and terminal (the worker feeds typed lines to `python -i -`).
- 3.14+ (driver): make-host already builds `web_example_pyrepl_jspi/` (PyREPL over JSPI),
  the page CPython's browser_test drives: wait for the banner, type lines into the terminal.
"""

from __future__ import annotations

import functools
import http.server
import mimetypes
import re
import shutil
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from ..building.recipes.base import BuildContext, BuildStep
from ..building.source import Era
from ..errors import BrowserUnavailable, TestRunError
from ..results.model import TestCase, TestFile

CHROMIUM = "/usr/bin/chromium"
# Root in a container: no sandbox; no GPU; nothing that phones home.
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run", "--disable-sync"]
SMOKE_NAME = "browser-smoke"
START_TIMEOUT = 180.0          # seconds for the page to load python.wasm + the stdlib and get ready
RUN_TIMEOUT = 120.0

# Printed by the program typed into the page; every line must come back.
SMOKE_PROGRAM = """\
import sys, json, math, re, zlib, hashlib, collections, datetime, decimal, textwrap
print("platform:", sys.platform)
data = json.dumps({"pi": round(math.pi, 5), "words": re.findall(r"[a-z]+", "one two three")})
print("zlib-roundtrip:", zlib.decompress(zlib.compress(data.encode())).decode() == data)
print("sha256:", hashlib.sha256(b"emscripten").hexdigest()[:16])
print("squares:", sum(i * i for i in range(1000)), collections.Counter("banana").most_common(1))
print("decimal:", decimal.Decimal(1) / decimal.Decimal(7))
print("smoke-ok", sys.version_info[:2] >= (3, 11))
"""
EXPECTED = [
    "platform: emscripten",
    "zlib-roundtrip: True",
    "sha256: 35058df46638e5fe",
    "squares: 332833500 [('a', 3)]",
    "decimal: 0.1428571428571428571428571429",
    "smoke-ok True",
]


# -- which page ------------------------------------------------------------------------------

@dataclass
class WebPage:
    directory: Path
    kind: str                  # "worker-repl" (3.11-3.13 python.html) or "pyrepl" (3.14+)
    path: str                  # URL path of the page

    @property
    def entry(self) -> Path:
        return self.directory / self.path.lstrip("/")


def browser_build_dir(source_path: Path) -> Path:
    """3.11-3.13: the browser flavour's own build directory, next to the node one."""
    return source_path / "builddir" / "emscripten-browser"


def web_page(source_path: Path, era: Era) -> WebPage:
    if era is Era.CONFIGURE:
        return WebPage(browser_build_dir(source_path), "worker-repl", "/python.html")
    host = source_path / "cross-build" / "wasm32-emscripten" / "build" / "python"
    return WebPage(host / "web_example_pyrepl_jspi", "pyrepl", "/index.html")


def page_in(directory: Path) -> WebPage:
    """A page directory given by hand (--web-dir): its files say which kind it is."""
    if (directory / "python.html").exists() or (directory / "python.worker.js").exists():
        return WebPage(directory, "worker-repl", "/python.html")
    return WebPage(directory, "pyrepl", "/index.html")


def browser_build_steps(ctx: BuildContext) -> list[BuildStep]:
    """The extra build for the browser flavour (3.11-3.13); 3.14+ make-host builds the page."""
    if ctx.source.era is not Era.CONFIGURE:
        return []
    tree = ctx.source.path
    build_dir = browser_build_dir(tree)
    build_python = browser_build_python(tree / "builddir" / "build" / "python", ctx.source.major_minor)
    # Tools/wasm/README.md, "Cross-compile to wasm32-emscripten for browser".
    return [
        BuildStep("configure-browser",
                  [str(ctx.toolchain.tool("emconfigure")), "../../configure", "-C",
                   "--host=wasm32-unknown-emscripten", f"--build={ctx.build_triplet(tree)}",
                   "--with-emscripten-target=browser", f"--with-build-python={build_python}"],
                  build_dir, {"CONFIG_SITE": "../../Tools/wasm/config.site-wasm32-emscripten"},
                  reusable_when=build_dir / "config.status"),
        BuildStep("make-browser", [str(ctx.toolchain.tool("emmake")), "make", f"-j{ctx.jobs}"], build_dir),
    ]


# configure's cache entries that differ between the node and the browser flavour of one
# tree (compared on 3.13.15 with emcc 3.1.69): which stdlib modules each builds, and the
# programs found for node and for regenerating files.
_FLAVOUR_CACHE_ENTRY = re.compile(r"^(py_cv_module_|ac_cv_prog_PYTHON_FOR_REGEN|ac_cv_path_ac_pt_NODE|ac_cv_tool_node_)")


def seed_config_cache(source_path: Path) -> bool:
    """Start the browser flavour's configure from the node flavour's config.cache.

    The same compiler answers the same ~780 checks for both flavours; only the entries above
    differ, so they are left out and configure decides them again. On a cold build this
    saves most of configure-browser (minutes of emcc probes). Nothing happens when the
    browser flavour has a cache already or the node flavour has none.
    """
    node_cache = source_path / "builddir" / "emscripten-node" / "config.cache"
    browser_cache = browser_build_dir(source_path) / "config.cache"
    if browser_cache.exists() or not node_cache.exists():
        return False
    kept = [line for line in node_cache.read_text().splitlines(keepends=True)
            if not _FLAVOUR_CACHE_ENTRY.match(line)]
    browser_cache.parent.mkdir(parents=True, exist_ok=True)
    browser_cache.write_text("".join(kept))
    return True


def _has_zlib(python: Path | str) -> bool:
    try:
        return subprocess.run([str(python), "-c", "import zlib"], capture_output=True, timeout=60).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def browser_build_python(build_python: Path, major_minor: tuple[int, int]) -> Path:
    """The build Python for the browser flavour: it zips the stdlib with deflate
    (Tools/wasm/wasm_assets.py), so it needs zlib. The node build's build Python lacks it where
    zlib's headers were missing when it was built; then a python{X.Y} on PATH of the same
    version with zlib serves (configure checks the version; the bytecode format is one per
    X.Y). Unchanged when it has zlib, when it is not built yet, or when no other one fits
    (make then fails with wasm_assets.py's own message).
    """
    if not build_python.exists() or _has_zlib(build_python):
        return build_python
    other = shutil.which(f"python{major_minor[0]}.{major_minor[1]}")
    if other and _has_zlib(other):
        return Path(other)
    return build_python


# -- the local server ------------------------------------------------------------------------

class _Handler(http.server.SimpleHTTPRequestHandler):
    """Static files with the cross-origin isolation headers the page needs (SharedArrayBuffer)."""

    extensions_map = {**http.server.SimpleHTTPRequestHandler.extensions_map,
                      ".wasm": "application/wasm", ".js": "text/javascript", ".mjs": "text/javascript",
                      ".data": "application/octet-stream"}

    def __init__(self, *args, requests: list, isolated: bool, **kwargs):
        self._requests, self._isolated = requests, isolated
        super().__init__(*args, **kwargs)

    def end_headers(self) -> None:
        if self._isolated:
            self.send_header("Cross-Origin-Opener-Policy", "same-origin")
            self.send_header("Cross-Origin-Embedder-Policy", "require-corp")
            self.send_header("Cross-Origin-Resource-Policy", "same-origin")
        self.send_header("Cache-Control", "no-store")
        super().end_headers()

    def log_message(self, format: str, *args) -> None:    # noqa: A002 - the base class's name
        self._requests.append(format % args)


class PageServer:
    """`with PageServer(dir) as server:` serves dir on 127.0.0.1:<free port>.

    isolated: send COOP/COEP, as Tools/wasm/wasm_webserver.py does for the 3.11-3.13 page
    (its stdin is a SharedArrayBuffer). The 3.14+ PyREPL page is served without them, as
    CPython's browser_test serves it (plain `http-server`, browser_test/playwright.config.ts).
    """

    def __init__(self, directory: Path, isolated: bool = True):
        self.directory = directory
        self.requests: list[str] = []
        handler = functools.partial(_Handler, directory=str(directory), requests=self.requests, isolated=isolated)
        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def __enter__(self) -> "PageServer":
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


# -- the browser -----------------------------------------------------------------------------

# Installed before the page's scripts: keeps what the page's worker says (stdout, stderr,
# finished) and any error a worker raises, without changing how the page works.
_OBSERVER = """
(() => {
  const seen = window.__epSmoke = {stdout: [], stderr: [], finished: null, ready: false, errors: [], stdin: 0};
  const Original = window.Worker;
  if (!Original) return;
  window.Worker = class extends Original {
    constructor(...args) {
      super(...args);
      this.addEventListener('message', (event) => {
        const data = event.data || {};
        if (data.type === 'stdout' && data.stdout) seen.stdout.push(data.stdout);
        else if (data.type === 'stderr' && data.stderr) seen.stderr.push(data.stderr);
        else if (data.type === 'ready') seen.ready = true;
        else if (data.type === 'stdin') seen.stdin += 1;
        else if (data.type === 'finished') seen.finished = data.returnCode;
      });
      this.addEventListener('error', (event) => {
        seen.errors.push('worker error: ' + (event.message || 'the worker script could not be loaded (' + args[0] + ')'));
      });
    }
  };
})();
"""


@dataclass
class SmokeResult:
    passed: bool
    output: str = ""
    problem: str | None = None            # what went wrong, one line
    console: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)   # console errors, page errors, failed requests
    duration: float = 0.0
    browser_version: str | None = None
    screenshot: Path | None = None
    console_log: Path | None = None


def _import_playwright():
    try:
        from playwright.sync_api import Error, TimeoutError, sync_playwright
    except ImportError:
        raise BrowserUnavailable("the browser smoke test needs Playwright's Python package: "
                                 "pip install 'emscripten-python[browser]'") from None
    return sync_playwright, Error, TimeoutError


def _route_offline(assets: Path | None, origin: str):
    """Requests leaving 127.0.0.1 (the page's CDN scripts) are answered from `assets`/HOST/PATH
    when a copy is there (offline workers), else they go to the network as usual."""

    def handle(route):
        url = urlsplit(route.request.url)
        if f"{url.scheme}://{url.netloc}" == origin or assets is None:
            return route.continue_()
        local = (assets / url.netloc / url.path.lstrip("/")).resolve()
        if local.is_file() and assets.resolve() in local.parents:
            kind = mimetypes.guess_type(local.name)[0] or "application/octet-stream"
            return route.fulfill(status=200, body=local.read_bytes(), headers={
                "Content-Type": kind, "Access-Control-Allow-Origin": "*",
                "Cross-Origin-Resource-Policy": "cross-origin"})
        return route.continue_()

    return handle


def run_smoke(page_spec: WebPage, out_dir: Path, *, chromium: str = CHROMIUM, assets: Path | None = None,
              program: str = SMOKE_PROGRAM, expected: list[str] | None = None,
              start_timeout: float = START_TIMEOUT, run_timeout: float = RUN_TIMEOUT) -> SmokeResult:
    """Serve the page, drive it in Chromium, and say whether the program's output came back."""
    expected = EXPECTED if expected is None else expected
    if not Path(chromium).exists():
        raise BrowserUnavailable(f"no Chromium at {chromium}: install it (Debian: apt-get install chromium) "
                                 "or pass --chromium PATH")
    if not page_spec.entry.exists():
        raise TestRunError(f"no web page at {page_spec.entry}: build the browser flavour first "
                           "(`emscripten-python build --browser`)")
    sync_playwright, PlaywrightError, PlaywrightTimeout = _import_playwright()
    out_dir.mkdir(parents=True, exist_ok=True)
    result = SmokeResult(passed=False)
    started = time.monotonic()
    with PageServer(page_spec.directory, isolated=page_spec.kind == "worker-repl") as server, \
            sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        try:
            result.browser_version = browser.version
            context = browser.new_context(viewport={"width": 1000, "height": 800})
            context.route("**/*", _route_offline(assets, server.origin))
            page = context.new_page()
            _listen(page, result)
            page.add_init_script(_OBSERVER)
            try:
                page.goto(server.origin + page_spec.path, wait_until="load", timeout=start_timeout * 1000)
                driver = _drive_worker_repl if page_spec.kind == "worker-repl" else _drive_pyrepl
                result.output, result.problem = driver(page, program, start_timeout, run_timeout)
            except PlaywrightTimeout as exc:
                result.problem = f"timed out: {str(exc).splitlines()[0]}"
            except (PlaywrightError, TestRunError) as exc:
                result.problem = str(exc).splitlines()[0]
            missing = [line for line in expected if line not in result.output.splitlines()]
            if result.problem is None and missing:
                result.problem = f"the program's output lacks {missing[0]!r}"
            result.passed = result.problem is None
            result.screenshot = out_dir / "smoke.png"
            try:
                page.screenshot(path=str(result.screenshot), full_page=True)
            except PlaywrightError:
                result.screenshot = None
        finally:
            browser.close()
    result.duration = round(time.monotonic() - started, 3)
    result.console_log = out_dir / "console.log"
    result.console_log.write_text("\n".join(result.console) + "\n" + "\n".join(
        f"[server] {line}" for line in server.requests) + "\n")
    (out_dir / "output.txt").write_text(result.output)
    return result


def _listen(page, result: SmokeResult) -> None:
    def console(message):
        line = f"[{message.type}] {message.text}"
        result.console.append(line)
        if message.type == "error":
            result.errors.append(message.text)

    def failed(request):
        line = f"request failed: {request.url} ({request.failure})"
        result.console.append(f"[network] {line}")
        result.errors.append(line)

    def response(response):
        # The browser asks for /favicon.ico by itself; the page never does.
        if response.status >= 400 and not response.url.endswith("/favicon.ico"):
            line = f"HTTP {response.status} for {response.url}"
            result.console.append(f"[network] {line}")
            result.errors.append(line)

    page.on("console", lambda message: None if "favicon.ico" in message.text else console(message))
    page.on("pageerror", lambda error: (result.console.append(f"[pageerror] {error}"),
                                        result.errors.append(str(error))))
    page.on("requestfailed", failed)
    page.on("response", response)


def _worker_problems(page) -> list[str]:
    return page.evaluate("() => (window.__epSmoke || {errors: []}).errors")


def _drive_worker_repl(page, program: str, start_timeout: float, run_timeout: float) -> tuple[str, str | None]:
    """3.11-3.13 python.html: once the worker says `ready`, start the page's REPL and type the
    program into its terminal, a line each time the worker asks for stdin, then Ctrl-D.

    Not the page's Run button: its worker writes main.py through `Module.FS`, which newer
    Emscripten (3.1.69 here) no longer exports, so Run dies with "Cannot read properties of
    undefined (reading 'writeFile')" while the interpreter itself is fine. The REPL path is
    what CPython's own browser test drives (typed lines), and it writes no file.
    """
    deadline = time.monotonic() + start_timeout
    while not page.evaluate("() => !!(window.__epSmoke && window.__epSmoke.ready)"):
        problems = _worker_problems(page)
        if problems:
            raise TestRunError(problems[0])
        if time.monotonic() > deadline:
            raise TestRunError(f"the interpreter did not get ready in {start_timeout:.0f} s")
        page.wait_for_timeout(250)
    page.click("#repl")
    terminal = page.locator("#terminal textarea").first     # xterm.js reads keys from its textarea
    deadline = time.monotonic() + run_timeout

    def asked_more_than(count: int) -> None:
        # The terminal drops an Enter typed before the worker asks for input: wait for the ask.
        page.wait_for_function(f"() => window.__epSmoke.stdin > {count} || window.__epSmoke.finished !== null",
                               timeout=max(1.0, deadline - time.monotonic()) * 1000)

    asked_more_than(0)
    for line in program.splitlines():
        asked = page.evaluate("() => window.__epSmoke.stdin")
        terminal.focus()
        page.keyboard.type(line)
        page.keyboard.press("Enter")
        asked_more_than(asked)
    terminal.focus()
    page.keyboard.press("Control+D")            # end of input: the REPL exits
    page.wait_for_function("() => window.__epSmoke.finished !== null",
                           timeout=max(1.0, deadline - time.monotonic()) * 1000)
    seen = page.evaluate("() => window.__epSmoke")
    text = bytes(seen["stdout"]).decode("utf-8", "replace") + bytes(seen["stderr"]).decode("utf-8", "replace")
    if seen["finished"] != 0:
        return text, f"the program exited with status {seen['finished']}: {text.strip()[-500:]}"
    return text, None


def _drive_pyrepl(page, program: str, start_timeout: float, run_timeout: float) -> tuple[str, str | None]:
    """3.14+ web_example_pyrepl_jspi: the REPL banner, then lines typed into the terminal.

    What CPython's browser_test (Platforms/emscripten/browser_test/index.spec.ts) checks too:
    the banner matches /Python.*on emscripten/, and typed lines run.
    """
    terminal = page.locator("#terminal")
    terminal.wait_for(timeout=start_timeout * 1000)
    deadline = time.monotonic() + start_timeout
    while not re.search(r"Python .*on emscripten", terminal.inner_text()):
        if time.monotonic() > deadline:
            raise TestRunError(f"no Python banner in the page's terminal after {start_timeout:.0f} s")
        page.wait_for_timeout(250)
    page.locator("#terminal .xterm-helper-textarea, #terminal textarea").first.focus()
    marker = "smoke-done"
    # One statement per line keeps PyREPL's auto-indent out of the way.
    for line in [*program.splitlines(), f"print({marker!r})"]:
        page.keyboard.type(line)
        page.keyboard.press("Enter")
    page.wait_for_function(f"() => document.querySelector('#terminal').innerText.includes('\\n{marker}')",
                           timeout=run_timeout * 1000)
    return terminal.inner_text(), None


# -- the stage -------------------------------------------------------------------------------

def smoke_section(result: SmokeResult, page_spec: WebPage, out: Path, chromium: str) -> dict:
    """The browser as one more runtime section of results.json (same shape as `tests`)."""
    errors = list(dict.fromkeys(result.errors))
    text = "\n".join([result.problem or "", *errors]).strip()
    if result.passed:
        outcome = "passed"
    elif errors or "did not get ready" in (result.problem or "") or "banner" in (result.problem or ""):
        outcome = "crashed"      # the runtime never ran the program: like a node crash
    else:
        outcome = "failed"
    case = TestCase(name=f"{SMOKE_NAME}.{page_spec.kind}", outcome="passed" if result.passed else
                    ("error" if outcome == "crashed" else "failed"), duration=result.duration,
                    message=result.problem, traceback=None if result.passed else text[:4000])
    test_file = TestFile(name=SMOKE_NAME, outcome=outcome, duration=result.duration, tests_run=1,
                         failures=0 if result.passed else 1, cases=[case],
                         crash=text[:4000] if outcome == "crashed" else None,
                         log_excerpt=None if result.passed else result.output[-2000:] or None)
    relative = {name: str(path.relative_to(out)) for name, path in
                (("console", result.console_log), ("screenshot", result.screenshot)) if path}
    return {"runtime": {"kind": "browser", "name": "chromium", "version": result.browser_version,
                        "path": chromium, "page": page_spec.kind},
            "selection": [SMOKE_NAME], "files": [test_file], "artifacts": relative}


def browser_stage(pipeline, page_spec: WebPage | None = None) -> dict:
    """Run the smoke test and put its section into the run's `runtimes` (replacing an older one)."""
    from ..building.stages import progress, say
    from ..results.model import Stage

    options, run = pipeline.options, pipeline.run
    if page_spec is None:
        if options.web_dir:
            page_spec = page_in(options.web_dir)
        else:
            page_spec = web_page(pipeline.source.path, pipeline.source.era)
    chromium = options.chromium or CHROMIUM
    started = time.monotonic()
    with progress("stage browser-smoke"):
        result = run_smoke(page_spec, pipeline.out / "browser", chromium=chromium, assets=options.web_assets)
    section = smoke_section(result, page_spec, pipeline.out, chromium)
    run.runtimes = [s for s in run.runtimes if (s.get("runtime") or {}).get("kind") != "browser"] + [section]
    run.set_stage(Stage("browser-smoke", "succeeded", round(time.monotonic() - started, 3),
                        log=section["artifacts"].get("console")))
    pipeline.save()
    say(f"browser smoke test in chromium {result.browser_version}: "
        f"{'passed' if result.passed else 'FAILED: ' + (result.problem or '')}")
    return section
