"""Screenshots of the per-runtime status pages and the run page's pythoninfo (docs/status.rst).

A small SQLite store (three lanes, 16 runs each; one builder tests node 20, node 24 and
chromium, node 24 breaks, chromium crashes twice), served by waitress, shot with Debian's
chromium through Playwright: `python scripts/status_runtime_screenshots.py docs/_static`.
"""
import sys, threading, tempfile
from pathlib import Path
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests" / "status"))
from status_factory import make_run
from emscripten_python.results.model import TestFile
from emscripten_python.status.ingest import ingest
from emscripten_python.status.store import Store
from emscripten_python.status import create_app
from playwright.sync_api import sync_playwright
from waitress import create_server

NODE20 = {"kind": "node", "name": "node", "version": "20.19.2"}
NODE24 = {"kind": "node", "name": "node", "version": "24.11.1", "flags": ["--experimental-wasm-jspi"]}
CHROMIUM = {"kind": "browser", "name": "chromium", "version": "142.0.7444.59"}
url = f"sqlite:///{tempfile.mkdtemp()}/s.sqlite"
store = Store(url)
last = None
for builder, branch in (("wasm32 emscripten node", "main"), ("wasm32 emscripten node", "3.14"), ("wasm32 emscripten local", "main")):
    for i in range(16):
        run = make_run(branch=branch, builder=builder, hours=i, commit=f"{i:02x}c0ffee{i:02x}",
                       files={"test_os": "passed", "test_math": "passed", "test_zlib": "flaky" if i == 4 else "passed"})
        run.tests["runtime"] = NODE20
        if builder.endswith("node"):
            run.runtimes = [{"runtime": NODE24, "selection": [], "files": [TestFile("test_os", "failed" if i >= 12 and branch == "main" else "passed", tests_run=120, failures=1 if i >= 12 and branch == "main" else 0), TestFile("test_math", "passed", tests_run=300)]},
                            {"runtime": CHROMIUM, "selection": [], "files": [TestFile("smoke", "crashed" if i in (7, 15) and branch == "main" else "passed", tests_run=1, crash="RuntimeError: unreachable")]}]
        run.pythoninfo = {"build": {"status": "succeeded", "log": "logs/pythoninfo-build.log", "info": {"sys.version": "3.14.2 (main, Nov 20 2026) [GCC 12.2.0]", "platform.platform": "Linux-6.1.0-x86_64-with-glibc2.36", "sys.thread_info": "thread_info(name='pthread', lock='mutex+cond', version=None)"}},
                          "host": {"status": "succeeded", "log": "logs/pythoninfo-host.log", "info": {"sys.version": "3.14.2 (main, Nov 20 2026) [Clang 21.0.0git]", "platform.platform": "Emscripten-4.0.12-wasm32-32bit", "sysconfig[HOST_GNU_TYPE]": "wasm32-unknown-emscripten", "sysconfig[MULTIARCH]": "wasm32-emscripten", "sys._emscripten_info": "_emscripten_info(emscripten_version=(4, 0, 12), runtime='Node.js v20.19.2', pthreads=False, shared_memory=False)", "os.cpu_count": "1", "locale.getpreferredencoding": "UTF-8", "sys.maxsize": "2147483647"}}}
        run.decide_outcome()
        ingest(store, run)
        if branch == "main" and builder.endswith("node") and i == 13:
            last = run.run_id
store.close()
server = create_server(create_app(url), host="127.0.0.1", port=0, threads=4)
threading.Thread(target=server.run, daemon=True).start()
base = f"http://127.0.0.1:{server.effective_port}/"
out = Path(sys.argv[1])
with sync_playwright() as pw:
    browser = pw.chromium.launch(executable_path="/usr/bin/chromium", args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"])
    ctx = browser.new_context(viewport={"width": 1280, "height": 900}, bypass_csp=True)
    page = ctx.new_page()
    page.goto(base + "index.html"); page.screenshot(path=str(out / "status-runtimes-overview.png"), full_page=True)
    page.goto(base + "branch/main.html")
    box = page.locator("h2", has_text="wasm32 emscripten node").bounding_box()
    page.screenshot(path=str(out / "status-runtimes-branch.png"), full_page=True,
                    clip={"x": 0, "y": box["y"] - 10, "width": 1280, "height": 760})
    page.goto(base + f"run/{last}.html")
    page.evaluate("document.querySelectorAll('details.pythoninfo').forEach(d => d.open = true)")
    page.screenshot(path=str(out / "status-run-runtimes-pythoninfo.png"), full_page=True)
    browser.close()
server.close()
print("ok")
