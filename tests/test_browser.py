"""The journeys a person takes, in a real headless browser: Debian's chromium driven by playwright (no browser download).

1. The default demo (wordnet:mammal.n.01): Corpus -> Hierarchy (search) -> Align (the default run, Start pressed, on a
   cold embedding cache) -> Runs -> Map -> Retrieve. It checks what a person would: the chart has a before and an
   after line, the page says the run beats zero-shot and the link-and-walk reference at every distance, Map names
   its clusters, Retrieve finds the query's own node.
2. An upload: a small CSV -> Align -> Map -> Retrieve (the run reopens its corpus from its own snapshot).

Each starts the app on a free local port with a private workspace and saves a screenshot of each page under
test-output/screenshots/; with HIERALIGN_UPDATE_SCREENSHOTS=1 the demo's also replace docs/screenshots/ (the README's).
Skipped, saying why, where chromium or playwright is missing.
"""

from __future__ import annotations

import os
import re
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
README_SHOTS = ROOT / "docs" / "screenshots"

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
VIEWPORT = {"width": 1400, "height": 1300}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def app_url(tmp_path):
    port = free_port()
    env = {**os.environ, "HIERALIGN_WORKSPACE": str(tmp_path / "workspace")}
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", str(ROOT / "app.py"), "--server.port", str(port)],
        cwd=tmp_path, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # config beside app.py applies
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


@pytest.fixture
def page(app_url):
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport=VIEWPORT)
        page.goto(app_url)
        expect(page.get_by_role("heading", name="Corpus").first).to_be_visible(timeout=60_000)
        yield page
        browser.close()


def shot(page, name: str, readme: bool = False) -> Path:
    SHOTS.mkdir(parents=True, exist_ok=True)
    path = SHOTS / f"{name}.png"
    page.wait_for_timeout(800)  # let plotly finish drawing
    page.screenshot(path=str(path))
    if readme and os.environ.get("HIERALIGN_UPDATE_SCREENSHOTS") == "1":
        README_SHOTS.mkdir(parents=True, exist_ok=True)
        shutil.copy(path, README_SHOTS / path.name)
    return path


def idle(page, timeout: float = 60) -> None:
    """Wait until Streamlit is not re-running the script (its 'Running...' indicator is gone)."""
    deadline = time.time() + timeout
    page.wait_for_timeout(300)
    while page.get_by_role("img", name="Running...").count() and time.time() < deadline:
        page.wait_for_timeout(200)


def go(page, title: str) -> None:
    page.get_by_role("link", name=title).first.click()
    expect(page.get_by_role("heading", name=title).first).to_be_visible(timeout=60_000)
    idle(page)


def train_with_defaults(page) -> None:
    """Press Start on the Align page and wait for the held-out result (encoding on a cold cache included)."""
    go(page, "Align")
    expect(page.get_by_text("Default. A dual encoder").first).to_be_visible()  # the memory method, preselected
    page.get_by_role("button", name="Start").click()
    expect(page.get_by_text("Result on held-out queries")).to_be_visible(timeout=600_000)
    idle(page)
    main = page.locator("[data-testid=stMain]")  # not the header's own Stop, shown while any rerun is in progress
    expect(main.get_by_role("button", name="Start")).to_be_enabled()  # the run ended: no click needed
    expect(main.get_by_role("button", name="Stop")).to_be_disabled()


def legend(page) -> str:
    return " ".join(page.locator(".legendtext").all_text_contents())


def open_map(page) -> dict[str, float]:
    """Open the Map and return each side's headline change in kNN agreement (points), read from the page."""
    go(page, "Map")
    expect(page.get_by_text("kNN agreement at level").nth(3)).to_be_visible(timeout=300_000)
    idle(page)
    names = page.locator("g.annotation-text-g")  # the labels written on the clusters
    expect(names.nth(3)).to_be_attached(timeout=30_000)  # at least two per map
    values = [v.strip() for v in page.locator("[data-testid=stMetricValue]").all_inner_texts()]
    assert all(re.fullmatch(r"\d+\.\d% → \d+\.\d%", v) for v in values[:2]), values  # the two sides' headlines
    assert all(re.fullmatch(r"\d+\.\d%", v) for v in values[2:4]), values  # the maps drawn
    labels = page.locator("[data-testid=stMetricLabel]").all_inner_texts()[:2]
    deltas = page.locator("[data-testid=stMetricDelta]").all_inner_texts()[:2]
    return {label.split(":")[0].strip(): float(re.search(r"([+-]?\d+\.\d) pts", delta)[1])
            for label, delta in zip(labels, deltas, strict=True)}


def test_demo_journey(page):
    expect(page.get_by_role("heading", name="wordnet:mammal.n.01")).to_be_visible(timeout=60_000)
    shot(page, "1-corpus", readme=True)

    go(page, "Hierarchy")
    search = page.get_by_label("Search nodes by name or id", exact=True)
    search.fill("whale")
    search.press("Enter")
    idle(page)
    expect(page.get_by_text("Path: ").first).to_contain_text("whale.n.02")  # the best match is chosen (and drawn red)
    shot(page, "2-hierarchy", readme=True)

    train_with_defaults(page)
    page.get_by_text("Result on held-out queries").scroll_into_view_if_needed()
    text = page.locator("[data-testid=stMain]").inner_text()
    assert "Beats zero-shot MiniLM (before) at every distance" in text, text[-2000:]
    assert "Beats the link-and-walk reference at every distance" in text, text[-2000:]
    cards = page.locator("[data-testid=stMetricValue]").all_inner_texts()
    overall_before, overall_after = (float(x) for x in re.findall(r"([\d.]+)%", cards[0]))
    assert overall_after > overall_before  # held-out overall recall, read from the page
    assert "before: zero-shot" in legend(page) and "after: best checkpoint" in legend(page)
    shot(page, "3-align", readme=True)

    go(page, "Runs")
    expect(page.get_by_text("Held-out recall by distance")).to_be_attached(timeout=30_000)
    shot(page, "4-runs", readme=True)

    change = open_map(page)
    assert change["Queries"] >= 10.0, change  # the memory method's hierarchy lives in its queries: the Map shows it
    expect(page.get_by_text("After:").first).to_contain_text("queries")  # and opens on the side that changed
    shot(page, "5-map", readme=True)

    go(page, "Retrieve")
    expect(page.get_by_text("Reference (link-and-walk)")).to_be_visible(timeout=120_000)
    idle(page)
    node = page.get_by_text("Query node").first.inner_text()
    expect(page.get_by_text("This query was held out").first).to_be_visible()  # preselected: never trained on
    expect(page.get_by_text("itself", exact=True).nth(1)).to_be_visible()  # after (and the reference) find the node
    assert "relevant document" in node
    shot(page, "6-retrieve", readme=True)


def test_document_demo_journey(page):
    """The second built-in, where the alignment lives in the documents: ICD-10-CM codes -> Hierarchy -> Align with
    HEAL (adapter) -> a Map whose documents regroup (the delta read from the page) -> Retrieve."""
    box = page.get_by_label("Or type a built-in name", exact=True)
    box.fill("icd10cm:demo")
    box.press("Enter")
    expect(page.get_by_role("heading", name="icd10cm:demo")).to_be_visible(timeout=60_000)
    idle(page)
    go(page, "Hierarchy")
    expect(page.get_by_text("Path: ").first).to_be_visible(timeout=60_000)
    go(page, "Align")
    page.locator("[data-testid=stSelectbox]").filter(has_text="Method").first.click()
    page.get_by_role("option", name="heal", exact=True).click()
    idle(page)
    expect(page.get_by_text("Supervised contrastive loss at every level").first).to_be_visible()
    page.get_by_role("button", name="Start").click()
    expect(page.get_by_text("Result on held-out queries")).to_be_visible(timeout=600_000)
    idle(page)
    shot(page, "document-demo-align")
    change = open_map(page)
    assert change["Documents"] >= 8.0, change  # HEAL moves the documents themselves
    expect(page.get_by_text("After:").first).to_contain_text("documents")
    shot(page, "document-demo-map")
    go(page, "Retrieve")
    expect(page.get_by_text("Query node").first).to_be_visible(timeout=120_000)


TOPICS = {
    "science/space": ["rockets launch satellites into orbit", "astronauts live on the space station",
                      "a telescope photographs distant galaxies", "the moon landing used a lunar module",
                      "mars rovers drill into red rock"],
    "science/biology": ["cells divide by mitosis", "genes are written in dna", "enzymes speed up reactions in cells",
                        "bacteria become resistant to antibiotics", "photosynthesis turns light into sugar"],
    "sport/football": ["the striker scored a late goal", "the goalkeeper saved a penalty kick",
                       "the league table after the derby", "a red card for a dangerous tackle",
                       "the coach changed the formation at half time"],
    "sport/tennis": ["a forehand winner down the line", "she served an ace to win the set",
                     "the final went to a tie break", "clay courts slow the ball down",
                     "he lost the match after a double fault"],
    "food/baking": ["knead the dough until it is smooth", "the sourdough starter needs feeding",
                    "bake the cake until golden", "butter and sugar creamed for biscuits", "proof the bread overnight"],
    "food/cooking": ["fry the onions until soft", "simmer the tomato sauce for an hour", "season the soup with salt",
                     "roast the vegetables in a hot oven", "stir fry the noodles with garlic"],
}


def upload_csv(folder: Path) -> Path:
    rows = ["id,text,query,path"]
    for path, texts in TOPICS.items():
        for i, text in enumerate(texts):
            rows.append(f"{path.replace('/', '-')}-{i},{text},{' '.join(text.split()[1:4])},{path}")
    csv = folder / "topics.csv"
    csv.write_text("\n".join(rows) + "\n")
    return csv


def test_upload_journey(page, tmp_path):
    page.get_by_text("Upload a file").click()
    idle(page)
    page.locator("input[type=file]").set_input_files(str(upload_csv(tmp_path)))
    expect(page.get_by_role("heading", name="topics.csv")).to_be_visible(timeout=60_000)
    idle(page)

    train_with_defaults(page)
    assert "before: zero-shot" in legend(page) and "after: best checkpoint" in legend(page)
    shot(page, "upload-align")

    open_map(page)  # reopens the upload from the run's own snapshot, not by its file name
    assert "no such file" not in page.locator("[data-testid=stMain]").inner_text()
    shot(page, "upload-map")

    go(page, "Retrieve")
    expect(page.get_by_text("Query node").first).to_be_visible(timeout=120_000)
    expect(page.get_by_text("itself", exact=True).first).to_be_visible()
    shot(page, "upload-retrieve")
