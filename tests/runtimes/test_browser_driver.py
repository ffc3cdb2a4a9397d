"""The browser stage's driver in a real headless Chromium, against stand-in pages.

The stand-in page follows the protocol of CPython 3.13's Tools/wasm/python.html and
python.worker.js (a Start REPL button enabled on the worker's `ready`, the worker asking
for each input line with `stdin`, a terminal that drops an Enter typed before that ask,
Ctrl-D for end of input, `stdout` char codes and `finished` with the exit status), but its
worker is not Python: once it has the program's lines it answers with fixed text. So these tests check the driver (serving with COOP/COEP,
typing into the page, reading the worker's output, console capture, screenshot, offline CDN
copies, failure text); the real interpreter in the real page is tests/e2e/test_runtimes_from_one_build.py.
"""

from __future__ import annotations

import json
import struct
from pathlib import Path

from emscripten_python.testing import browser
from emscripten_python.cli.main import main

PAGE = """<!DOCTYPE html>
<html><head><title>stand-in</title>
<script src="https://cdn.stand-in.test/lib/greeting.js" crossorigin></script>
<script type="module">
const repl = document.getElementById('repl');
const input = document.querySelector('#terminal textarea');
const out = document.getElementById('out');
let waiting = false;
const worker = new Worker('./python.worker.js');
worker.addEventListener('message', (event) => {
  const data = event.data;
  if (data.type === 'ready') repl.removeAttribute('disabled');
  else if (data.type === 'stdin') waiting = true;
  else if (data.type === 'stdout') out.textContent += String.fromCharCode(data.stdout);
  else if (data.type === 'finished') out.textContent += '\\n[exit ' + data.returnCode + ']';
});
repl.addEventListener('click', () => worker.postMessage({type: 'run', args: ['-i', '-'], files: {}}));
input.addEventListener('keydown', (event) => {
  if (event.key.toLowerCase() === 'd' && event.ctrlKey) {
    event.preventDefault();
    worker.postMessage({type: 'line', text: null});
  } else if (event.key === 'Enter') {
    event.preventDefault();
    // Like the real terminal: an Enter before the worker asks for input is dropped.
    if (!waiting) return;
    waiting = false;
    worker.postMessage({type: 'line', text: input.value});
    input.value = '';
  }
});
document.getElementById('isolated').textContent = String(self.crossOriginIsolated) + ' ' + (window.GREETING || 'no-cdn');
</script></head>
<body><button id="repl" disabled>Start REPL</button><div id="terminal"><textarea></textarea></div>
<div id="isolated"></div><pre id="out"></pre></body></html>
"""

WORKER = """
const OUTPUT = %s;
const STATUS = %d;
const lines = [];
onmessage = (event) => {
  const data = event.data;
  if (data.type === 'run') {
    postMessage({type: 'stdin'});
  } else if (data.type === 'line' && data.text !== null) {
    lines.push(data.text);       // the page's own input path: typed lines, one per stdin request
    postMessage({type: 'stdin'});
  } else if (data.type === 'line') {
    const text = lines.length >= 8 && lines.join('\\n').includes('sys.platform') ? OUTPUT : 'not the program\\n';
    for (const ch of new TextEncoder().encode(text)) postMessage({type: 'stdout', stdout: ch});
    postMessage({type: 'finished', returnCode: STATUS});
  }
};
postMessage({type: 'ready'});
"""


def stand_in(tmp_path: Path, output: str, status: int = 0, *, worker: bool = True) -> Path:
    page = tmp_path / "page"
    page.mkdir()
    (page / "python.html").write_text(PAGE)
    if worker:
        (page / "python.worker.js").write_text(WORKER % (json.dumps(output), status))
    assets = tmp_path / "assets" / "cdn.stand-in.test" / "lib"
    assets.mkdir(parents=True)
    (assets / "greeting.js").write_text("window.GREETING = 'from-offline-copy';")
    return page


GOOD = "\n".join(browser.EXPECTED) + "\n"


def _png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", data[16:24])


def test_smoke_passes_and_keeps_console_and_screenshot(tmp_path, chromium):
    page = stand_in(tmp_path, GOOD)
    result = browser.run_smoke(browser.page_in(page), tmp_path / "out", chromium=chromium,
                               assets=tmp_path / "assets", start_timeout=30, run_timeout=30)
    assert result.passed, (result.problem, result.console)
    assert result.output.splitlines() == browser.EXPECTED
    assert result.browser_version and result.browser_version[0].isdigit()
    width, height = _png_size(result.screenshot)
    assert width >= 800 and height >= 600
    log = result.console_log.read_text()
    assert "GET /python.worker.js" in log          # the server's own request log is kept too


def test_served_cross_origin_isolated_with_offline_cdn_copy(tmp_path, chromium):
    from playwright.sync_api import sync_playwright

    page_dir = stand_in(tmp_path, GOOD)
    with browser.PageServer(page_dir) as server, sync_playwright() as playwright:
        chrome = playwright.chromium.launch(executable_path=chromium, args=browser.CHROMIUM_ARGS)
        context = chrome.new_context()
        context.route("**/*", browser._route_offline(tmp_path / "assets", server.origin))
        page = context.new_page()
        page.goto(server.origin + "/python.html")
        page.wait_for_function("() => document.getElementById('isolated').textContent !== ''")
        text = page.inner_text("#isolated")
        chrome.close()
    assert text == "true from-offline-copy"


def test_wrong_output_fails_with_the_missing_line(tmp_path, chromium):
    page = stand_in(tmp_path, GOOD.replace("platform: emscripten", "platform: linux"))
    result = browser.run_smoke(browser.page_in(page), tmp_path / "out", chromium=chromium,
                               assets=tmp_path / "assets", start_timeout=30, run_timeout=30)
    assert not result.passed
    assert result.problem == "the program's output lacks 'platform: emscripten'"


def test_nonzero_exit_status_fails(tmp_path, chromium):
    page = stand_in(tmp_path, "Traceback (most recent call last):\nImportError: no zlib\n", status=1)
    result = browser.run_smoke(browser.page_in(page), tmp_path / "out", chromium=chromium,
                               assets=tmp_path / "assets", start_timeout=30, run_timeout=30)
    assert not result.passed and "exited with status 1" in result.problem
    assert "ImportError: no zlib" in result.problem


def test_missing_worker_is_a_crash_with_the_console_text(tmp_path, chromium):
    """The broken page through the CLI: exit 30, the chromium section says what the console said."""
    page = stand_in(tmp_path, GOOD, worker=False)
    out = tmp_path / "cli-out"
    code = main(["browser", "--web-dir", str(page), "--out", str(out), "--chromium", chromium,
                 "--web-assets", str(tmp_path / "assets")])
    assert code == 30
    results = json.loads((out / "results.json").read_text())
    section = results["runtimes"][-1]
    assert section["runtime"]["kind"] == "browser" and section["runtime"]["name"] == "chromium"
    smoke = section["files"][0]
    assert smoke["outcome"] == "crashed"
    assert "python.worker.js" in smoke["crash"] and "404" in smoke["crash"]
    assert (out / section["artifacts"]["console"]).read_text().count("404") >= 1
    assert (out / section["artifacts"]["screenshot"]).exists()
    assert results["outcome"] == "failure"
    summary = (out / "summary.md").read_text()
    assert "browser-smoke" in summary and "python.worker.js" in summary


# 3.14+: web_example_pyrepl_jspi (index.html) shows PyREPL in a terminal; CPython's browser_test
# (Platforms/emscripten/browser_test/index.spec.ts) waits for /Python.*on emscripten/ in
# #terminal and types lines. The stand-in prints that banner and answers `print("...")` lines
# typed into the terminal's textarea (what xterm.js reads keys from).
PYREPL_PAGE = """<!DOCTYPE html>
<html><head><title>Emscripten PyRepl Example</title></head>
<body><div id="terminal"><pre id="screen"></pre><textarea class="xterm-helper-textarea"></textarea></div>
<script>
const screen = document.getElementById('screen');
const input = document.querySelector('#terminal textarea');
let line = '';
setTimeout(() => { screen.textContent = 'Python 3.14.4 (main) [Clang 20] on emscripten\\nType "help" for more information.\\n>>> '; }, 300);
input.addEventListener('keydown', (event) => {
  if (event.key !== 'Enter') return;
  event.preventDefault();
  const match = line.match(/^print\\((["'])(.*)\\1\\)$/);
  screen.textContent += line + '\\n' + (match ? match[2] + '\\n' : '') + '>>> ';
  line = '';
  input.value = '';
});
input.addEventListener('input', () => { line = input.value; });
</script></body></html>
"""


def test_pyrepl_page_banner_then_typed_lines(tmp_path, chromium):
    page = tmp_path / "web_example_pyrepl_jspi"
    page.mkdir()
    (page / "index.html").write_text(PYREPL_PAGE)
    spec = browser.page_in(page)
    assert spec.kind == "pyrepl"
    result = browser.run_smoke(spec, tmp_path / "out", chromium=chromium, program='print("hello emscripten")\n',
                               expected=["hello emscripten"], start_timeout=30, run_timeout=30)
    assert result.passed, (result.problem, result.output)
    assert ">>> print(\"hello emscripten\")" in result.output


def test_pyrepl_page_without_banner_is_a_crash(tmp_path, chromium):
    page = tmp_path / "web_example_pyrepl_jspi"
    page.mkdir()
    (page / "index.html").write_text(PYREPL_PAGE.replace("on emscripten", "loading failed"))
    result = browser.run_smoke(browser.page_in(page), tmp_path / "out", chromium=chromium,
                               start_timeout=3, run_timeout=5)
    assert not result.passed and "no Python banner" in result.problem
    section = browser.smoke_section(result, browser.page_in(page), tmp_path, chromium)
    assert section["files"][0].outcome == "crashed"
