"""The studio's speed, measured as a person meets it: the real app in headless chromium, driven by playwright.

    python bench/studio_browser.py            # needs Debian's chromium (apt-get install chromium) and playwright

Starts `streamlit run /path/to/app.py` from ANOTHER working folder (so only the config beside app.py can switch the
file watcher off) with a fresh workspace (a cold embedding cache), then, on the default demo wordnet:mammal.n.01:

1. idle CPU of the server process over 30 s with a browser tab open and nobody clicking;
2. page switches (click in the sidebar -> the page has finished drawing), median of 3 visits per page;
3. the default demo run: Align's defaults, Start pressed, until the held-out result is drawn (encoding on a cold
   cache included);
4. the first Map of that run (UMAP of both, background task), then a second visit (read from disk);
5. Retrieve with the first held-out query (three ranked lists);
6. discovering a hierarchy (kmeans, default form) until the page shows it.

Prints a markdown table with medians and the machine's load average (the 2 cores are often shared).
"""

from __future__ import annotations

import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (Linux /proc), in seconds."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def start_app(workspace: Path, cwd: Path) -> tuple[subprocess.Popen, str]:
    port = free_port()
    env = {**os.environ, "HIERALIGN_WORKSPACE": str(workspace)}
    proc = subprocess.Popen([sys.executable, "-m", "streamlit", "run", str(ROOT / "app.py"), "--server.port", str(port)],
                            cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 90
    while time.time() < deadline:
        try:
            if urllib.request.urlopen(f"{url}/_stcore/health", timeout=1).status == 200:
                return proc, url
        except OSError:
            time.sleep(0.3)
    proc.kill()
    raise SystemExit("the app did not start within 90 s")


def idle(page, timeout: float = 120) -> None:
    """Until Streamlit is not running the script (its 'Running...' indicator gone)."""
    deadline = time.time() + timeout
    page.wait_for_timeout(250)
    while page.get_by_role("img", name="Running...").count() and time.time() < deadline:
        page.wait_for_timeout(100)


def go(page, title: str) -> float:
    from playwright.sync_api import expect

    t = time.perf_counter()
    page.get_by_role("link", name=title).first.click()
    expect(page.get_by_role("heading", name=title).first).to_be_visible(timeout=60_000)
    idle(page)
    return time.perf_counter() - t - 0.25  # idle() waits 0.25 s before it looks


def snap(page, name: str) -> None:
    """A screenshot per step when HIERALIGN_BENCH_SHOTS names a folder (to look at what was timed)."""
    folder = os.environ.get("HIERALIGN_BENCH_SHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(folder) / f"{name}.png"))


def main() -> None:
    if CHROMIUM is None:
        raise SystemExit("needs Debian's chromium: apt-get install chromium")
    from playwright.sync_api import expect, sync_playwright

    print(f"command: python bench/studio_browser.py   (load average at start: {os.getloadavg()[0]:.1f} on "
          f"{os.cpu_count()} cores)\n")
    rows: list[tuple[str, str, str, str]] = []
    with tempfile.TemporaryDirectory() as folder:
        workspace, elsewhere = Path(folder) / "workspace", Path(folder) / "elsewhere"
        elsewhere.mkdir()
        proc, url = start_app(workspace, elsewhere)
        try:
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
                page = browser.new_page(viewport={"width": 1400, "height": 1000})
                t = time.perf_counter()
                page.goto(url)
                expect(page.get_by_role("heading", name="wordnet:mammal.n.01")).to_be_visible(timeout=90_000)
                idle(page)
                rows.append(("first page (Corpus, mammal)", f"{time.perf_counter() - t:.1f} s", "cold server", "-"))

                settled = time.perf_counter()  # start-up work (UMAP compiling in the background) ends first
                while time.perf_counter() - settled < 180:
                    used = cpu_seconds(proc.pid)
                    page.wait_for_timeout(5_000)
                    if cpu_seconds(proc.pid) - used < 0.25:
                        break
                rows.append(("server start-up work (MiniLM loaded, UMAP compiled, in the background)",
                             f"{time.perf_counter() - settled:.0f} s", "then idle; the page is usable meanwhile", "-"))
                before = cpu_seconds(proc.pid)
                page.wait_for_timeout(30_000)
                used = cpu_seconds(proc.pid) - before
                rows.append(("server CPU while idle, a tab open, 30 s", f"{used / 30:.1%} of a core",
                             "started from another folder: the config beside app.py turns the file watcher off",
                             "~0"))

                switches: dict[str, list[float]] = {}
                for _ in range(3):
                    for title in ("Hierarchy", "Align", "Runs", "Corpus"):
                        switches.setdefault(title, []).append(go(page, title))
                for title, times in switches.items():
                    rows.append((f"switch to {title}", f"{statistics.median(times):.2f} s",
                                 f"median of {len(times)}; max {max(times):.2f} s", "< 1 s"))

                go(page, "Align")
                t = time.perf_counter()
                page.get_by_role("button", name="Start").click()
                expect(page.get_by_text("Result on held-out queries")).to_be_visible(timeout=900_000)
                demo = time.perf_counter() - t
                verdicts = [v for v in page.get_by_text(" at every distance").all_inner_texts() if len(v) < 120] + \
                    [v for v in page.get_by_text("Behind ").all_inner_texts() if len(v) < 160]
                snap(page, "align")
                rows.append(("default demo run (memory, mammal), Start -> held-out result", f"{demo:.1f} s",
                             "cold embedding cache: queries, documents and clauses encoded, then trained; "
                             + "; ".join(v.strip("* ") for v in verdicts), "< 60 s"))

                t = time.perf_counter()
                go(page, "Map")
                expect(page.get_by_text("kNN agreement at level").nth(1)).to_be_visible(timeout=300_000)
                idle(page)
                first_map = time.perf_counter() - t
                snap(page, "map")
                rows.append(("first Map of the run (UMAP before and after)", f"{first_map:.1f} s",
                             "background task, UMAP compiled at server start", "< 15 s"))
                go(page, "Runs")
                t = time.perf_counter()
                go(page, "Map")
                expect(page.get_by_text("kNN agreement at level").nth(1)).to_be_visible(timeout=60_000)
                rows.append(("Map again (from disk)", f"{time.perf_counter() - t:.2f} s", "", "< 1 s"))

                t = time.perf_counter()
                go(page, "Retrieve")
                expect(page.get_by_text("Reference (link-and-walk)")).to_be_visible(timeout=120_000)
                idle(page)
                snap(page, "retrieve")
                rows.append(("first Retrieve (held-out query, three lists)", f"{time.perf_counter() - t:.1f} s",
                             "loads the run's model", "-"))

                go(page, "Hierarchy")
                page.get_by_text("Discover a hierarchy instead").click()
                idle(page)
                t = time.perf_counter()
                page.get_by_role("button", name="Discover").click()
                expect(page.get_by_text("this is now the active corpus")).to_be_visible(timeout=600_000)
                snap(page, "discovered")
                rows.append(("discover a hierarchy (kmeans, default form)", f"{time.perf_counter() - t:.1f} s",
                             "background task with progress; the documents' vectors are cached", "-"))
                browser.close()
        finally:
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
    print("| what | time | detail | target |\n|---|---|---|---|")
    for row in rows:
        print("| " + " | ".join(row) + " |")
    print(f"\nload average at the end: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
