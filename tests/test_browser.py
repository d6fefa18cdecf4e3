"""The whole journey in a real headless browser: Debian's chromium driven by playwright (no browser download).

Starts the app on a free local port with a private workspace, walks Corpus -> Hierarchy -> Align (a short training on
the tiny demo, watched until it finishes) -> Runs -> Map -> Retrieve, and saves a screenshot of each page under
test-output/screenshots/. Skipped, saying why, where chromium or playwright is missing.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.conftest import ROOT

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
SHOTS = ROOT / "test-output" / "screenshots"

try:
    from playwright.sync_api import expect, sync_playwright
except ImportError:  # pragma: no cover - depends on the machine
    sync_playwright = None

pytestmark = pytest.mark.skipif(
    CHROMIUM is None or sync_playwright is None,
    reason="needs Debian's chromium (apt-get install chromium) and the playwright package; .ci/run installs both",
)

CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def app_url(tmp_path):
    port = free_port()
    env = {**os.environ, "HIERALIGN_WORKSPACE": str(tmp_path / "workspace")}
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", str(ROOT / "app.py"), "--server.port", str(port),
         "--server.address", "127.0.0.1", "--server.headless", "true", "--browser.gatherUsageStats", "false"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            if urllib.request.urlopen(f"{url}/_stcore/health", timeout=1).status == 200:
                break
        except OSError:
            time.sleep(0.3)
    else:
        proc.kill()
        pytest.fail("the app did not start within 60 s")
    yield url
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()


def shot(page, name: str) -> Path:
    SHOTS.mkdir(parents=True, exist_ok=True)
    path = SHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def idle(page, timeout: float = 30) -> None:
    """Wait until Streamlit is not re-running the script (its 'Running...' indicator is gone)."""
    deadline = time.time() + timeout
    page.wait_for_timeout(300)
    while page.get_by_role("img", name="Running...").count() and time.time() < deadline:
        page.wait_for_timeout(200)


def go(page, title: str) -> None:
    page.get_by_role("link", name=title).first.click()
    expect(page.get_by_role("heading", name=title).first).to_be_visible(timeout=60_000)


def choose(page, label: str, option: str) -> None:
    idle(page)
    page.get_by_label(label, exact=True).first.click()
    page.get_by_role("option", name=option, exact=True).click()
    idle(page)


def test_journey_in_a_real_browser(app_url):
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.goto(app_url)
        expect(page.get_by_role("heading", name="Corpus").first).to_be_visible(timeout=60_000)
        expect(page.get_by_text("wordnet:mammal.n.01").first).to_be_visible(timeout=60_000)  # the built-in demo
        box = page.get_by_label("Or type a built-in name", exact=True)
        box.fill("synthetic:3x3")
        box.press("Enter")
        expect(page.get_by_role("heading", name="synthetic:3x3")).to_be_visible(timeout=60_000)
        shot(page, "1-corpus")

        go(page, "Hierarchy")
        shot(page, "2-hierarchy")

        go(page, "Align")
        choose(page, "Encoder", "lookup")
        steps = page.get_by_label("Steps", exact=True)
        for _ in range(3):  # the widget is re-created when the encoder changes: fill until the value sticks
            steps.fill("300")
            steps.press("Enter")
            idle(page)
            if steps.input_value() == "300":
                break
        expect(steps).to_have_value("300")
        page.get_by_role("button", name="Start").click()
        expect(page.get_by_text("step 300 of 300").first).to_be_visible(timeout=240_000)
        expect(page.get_by_text("complete").first).to_be_visible(timeout=60_000)
        page.wait_for_timeout(1500)  # let the chart draw
        shot(page, "3-align")

        go(page, "Runs")
        expect(page.get_by_text("Compare").first).to_be_visible(timeout=60_000)
        page.wait_for_timeout(1500)
        shot(page, "4-runs")

        go(page, "Map")
        expect(page.get_by_text("Before: zero-shot").first).to_be_visible(timeout=120_000)
        expect(page.get_by_text("After: ").first).to_be_visible(timeout=120_000)
        idle(page)
        page.wait_for_timeout(1500)
        shot(page, "5-map")

        go(page, "Retrieve")
        choose(page, "or one of the corpus's queries", "query r.0.1")
        expect(page.get_by_text("Before (zero-shot)").first).to_be_visible(timeout=60_000)
        page.wait_for_timeout(1000)
        shot(page, "6-retrieve")
        browser.close()
    assert len(list(SHOTS.glob("*.png"))) >= 6
