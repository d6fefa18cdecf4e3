"""The app under Streamlit's AppTest: pages render without exceptions and show what their widgets asked for."""

from __future__ import annotations

import json
import time

import pytest
from streamlit.testing.v1 import AppTest

from core.evaluation.reference import REFERENCE_NAMES
from tests.conftest import ROOT

APP = str(ROOT / "app.py")


@pytest.fixture
def app(workspace):
    at = AppTest.from_file(APP, default_timeout=60)
    at.run()
    assert not at.exception
    return at


def metric(at, label):
    return next(m.value for m in at.metric if m.label == label)


def test_corpus_page_shows_the_demo(app):
    assert app.title[0].value == "Corpus"
    assert app.subheader[0].value == "wordnet:mammal.n.01"
    assert metric(app, "Nodes") == "1,182" and metric(app, "Max depth") == "9"
    assert any("showing" in i.value for i in app.info)  # 1,182 nodes: trimmed with a notice
    assert len(app.dataframe) == 1 and len(app.dataframe[0].value) == 200


def test_picking_another_builtin(app):
    app.selectbox(key="builtin_spec").set_value("synthetic:4x5").run()
    assert not app.exception
    assert metric(app, "Nodes") == "156" and metric(app, "Max depth") == "3"
    assert not app.info  # small enough to draw whole


def test_unknown_builtin_shows_an_error(app):
    app.text_input(key="builtin_typed").input("wordnet:nope.n.01").run()
    assert not app.exception
    assert "no such WordNet noun synset" in app.error[0].value
    assert not app.metric


def test_the_built_in_name_box_never_reads_a_file(app, tmp_path):
    secret = tmp_path / "secret.csv"  # a readable file on the server, with a header an error could echo
    secret.write_text("user,password\nroot,hunter2\n")
    errors = []
    for typed in (str(secret), str(tmp_path / "missing.csv")):
        app.text_input(key="builtin_typed").input(typed).run()
        assert not app.exception and not app.metric
        errors.append(app.error[0].value)
    assert all("not a built-in corpus name" in e and "password" not in e for e in errors)
    assert "no such file" not in " ".join(errors)  # nothing said about which files exist


def test_uploaded_file(app):
    app.radio(key="corpus_source").set_value("Upload a file").run()
    good = b"id,text,path\n1,rockets,sci/space\n2,stars,sci/space\n3,cpus,comp/hw\n"
    app.file_uploader(key="upload").upload("mine.csv", good, "text/csv")
    app.run()
    assert not app.exception and not app.error
    assert app.subheader[0].value == "mine.csv"
    assert metric(app, "Documents") == "3" and metric(app, "Nodes") == "7"


def test_uploaded_bad_file_shows_the_error_not_an_exception(app):
    app.radio(key="corpus_source").set_value("Upload a file").run()
    app.file_uploader(key="upload").upload("bad.csv", b"id,text\na,x\na,y\n", "text/csv")
    app.run()
    assert not app.exception
    assert app.error[0].value.startswith("bad.csv, row 2") and "duplicate id 'a'" in app.error[0].value
    assert not app.metric


@pytest.fixture
def local_server(monkeypatch, tmp_path):
    """The app as `make run` serves it (bound to 127.0.0.1, as .streamlit/config.toml says), with tmp_path/data as
    its only data root."""
    from streamlit import config

    monkeypatch.setenv("HIERALIGN_DATA_ROOT", str(tmp_path / "data"))
    previous = config.get_option("server.address")
    config.set_option("server.address", "127.0.0.1")
    yield tmp_path / "data"
    config.set_option("server.address", previous)


def test_local_path_reads_only_under_the_data_root(local_server, workspace):
    root, outside = local_server, local_server.parent / "secret"
    (root / "docs" / "sci").mkdir(parents=True)
    (root / "docs" / "sci" / "a.txt").write_text("rockets")
    outside.mkdir()
    (outside / "id_rsa").write_text("PRIVATE KEY")
    app = AppTest.from_file(APP, default_timeout=60)
    app.run()
    app.radio(key="corpus_source").set_value("Local path").run()
    app.text_input(key="local_path").input(str(root / "docs")).run()
    assert not app.exception and metric(app, "Documents") == "1"
    app.text_input(key="local_path").input(str(root / "missing.csv")).run()
    assert "no such file or folder" in app.error[0].value
    for probe in (outside, outside / "id_rsa", outside / "nothing-here", root / ".." / "secret"):
        app.text_input(key="local_path").input(str(probe)).run()
        assert app.error[0].value == app.error[0].value.replace("id_rsa", "").replace("PRIVATE", "")
        assert "outside the folders this app may read" in app.error[0].value  # the same words, exists or not
    (root / "linked").mkdir()
    (root / "linked" / "a.txt").write_text("rockets")
    (root / "linked" / "b.txt").symlink_to(outside / "id_rsa")
    app.text_input(key="local_path").input(str(root / "linked")).run()
    assert "a link to a file outside the folder" in app.error[0].value
    assert "PRIVATE" not in " ".join(str(e.value) for e in app.get("markdown")) + str(app.dataframe)


def test_no_local_path_when_the_server_answers_other_machines(workspace):
    from streamlit import config

    previous = config.get_option("server.address")
    config.set_option("server.address", "0.0.0.0")  # e.g. `streamlit run app.py --server.address 0.0.0.0`
    try:
        app = AppTest.from_file(APP, default_timeout=60)
        app.run()
        assert not app.exception
        assert "Local path" not in app.radio(key="corpus_source").options
    finally:
        config.set_option("server.address", previous)


def _progress_text(at) -> str:
    return " ".join(str(p.proto.text) for p in at.get("progress"))


def test_align_trains_in_the_background_with_live_progress_then_runs_lists_it(app):
    import re
    import time

    app.selectbox(key="builtin_spec").set_value("synthetic:3x3").run()
    app.switch_page("pages/align.py").run()
    assert not app.exception and app.title[0].value == "Align"
    assert app.selectbox(key="align_method").value == "memory"  # the default method
    app.selectbox(key="align_method").set_value("hr").run()
    app.selectbox(key="align_encoder").set_value("lookup").run()
    app.number_input(key="align_steps_lookup").set_value(200_000).run()
    app.number_input(key="align_eval_every").set_value(100).run()
    app.button(key="align_start").click().run()
    assert not app.exception

    def done_steps() -> int:
        match = re.search(r"step ([\d,]+) of", _progress_text(app))
        return int(match[1].replace(",", "")) if match else 0

    seen = []
    deadline = time.time() + 60
    while (len(seen) < 2 or seen[-1] <= seen[0] or seen[-1] < 300) and time.time() < deadline:
        time.sleep(0.5)
        app.run()
        seen.append(done_steps())
    assert seen[-1] > seen[0] >= 0 and seen[-1] >= 300  # progress data grows between polls
    assert any(chart.proto.spec for chart in app.get("plotly_chart"))
    app.button(key="align_stop").click().run()
    deadline = time.time() + 30
    while "stopped" not in " ".join(m.value for m in app.markdown) and time.time() < deadline:
        time.sleep(0.3)
        app.run()
    assert "stopped" in " ".join(m.value for m in app.markdown)
    # the run ended: Start is enabled and Stop disabled without another click, and the held-out result is shown
    assert not app.button(key="align_start").disabled and app.button(key="align_stop").disabled
    assert "Result on held-out queries" in [s.value for s in app.subheader]
    assert [m.label for m in app.metric][:3] == ["Overall recall", "Worst distance", "Distance 0 (the node itself)"]

    app.switch_page("pages/runs.py").run()
    assert not app.exception
    table = app.dataframe[0].value
    assert len(table) == 1 and table.iloc[0]["state"] == "stopped" and table.iloc[0]["method"] == "hr"
    assert app.get("plotly_chart")


def test_runs_page_without_runs(app):
    app.switch_page("pages/runs.py").run()
    assert not app.exception
    assert "No runs yet" in app.info[0].value


def test_map_page_draws_before_and_after_for_a_finished_run(app, workspace):
    from core.align.train import AlignConfig
    from core.data.builtins import load_corpus
    from core.runs.alignment import run_alignment
    from core.studio.jobs import new_run_dir

    config = AlignConfig(method="hr", encoder="lookup", dim=8, steps=20, eval_every=10)
    run_alignment(load_corpus("synthetic:3x3"), config, new_run_dir(workspace, config))
    app.switch_page("pages/map.py").run(timeout=120)
    assert not app.exception
    deadline = time.time() + 120
    while len(app.get("plotly_chart")) < 2 and time.time() < deadline:  # UMAP runs in the background
        time.sleep(0.5)
        app.run(timeout=60)
    assert not app.exception
    charts = app.get("plotly_chart")
    assert len(charts) == 2
    assert list((workspace / "runs").glob("*/map-*.npy"))  # cached next to the run
    assert app.select_slider(key="map_level").value == 1  # level 0 is the single root: the first level that says something
    labels = [m.label for m in app.metric]
    assert labels == ["Queries: kNN agreement at level 1", "Documents: kNN agreement at level 1",
                      "kNN agreement at level 1", "kNN agreement at level 1"]
    assert all(m.value.endswith("%") for m in app.metric)
    headline = {m.label.split(":")[0]: m for m in app.metric[:2]}
    per_map = [float(m.value.rstrip("%")) for m in app.metric[2:]]
    side = app.get("button_group")[0].value if app.get("button_group") else None
    shown = (side or "queries").capitalize()
    assert headline[shown].value == f"{per_map[0]:.1f}% → {per_map[1]:.1f}%"  # the maps drawn are the side chosen
    assert headline[shown].delta == f"{per_map[1] - per_map[0]:+.1f} pts"
    app.run(timeout=60)  # a second visit reads the cache
    assert not app.exception and len(app.get("plotly_chart")) == 2
    if app.get("button_group"):  # the other side draws its own pair of maps
        other = "documents" if shown == "Queries" else "queries"
        app.get("button_group")[0].set_value(other).run(timeout=60)
        deadline = time.time() + 120
        while not list((workspace / "runs").glob(f"*/map-{'queries-' if other == 'queries' else ''}*.npy")) \
                and time.time() < deadline:
            time.sleep(0.5)
            app.run(timeout=60)
        assert not app.exception


def test_runs_page_lists_broken_runs_and_shows_percentages(app, workspace):
    from core.align.train import AlignConfig
    from core.data.builtins import load_corpus
    from core.runs.alignment import run_alignment
    from core.studio.jobs import new_run_dir

    config = AlignConfig(method="hr", encoder="lookup", dim=8, steps=20, eval_every=10)
    run_alignment(load_corpus("synthetic:3x3"), config, new_run_dir(workspace, config))
    broken = workspace / "runs" / "00000000-broken"
    broken.mkdir()
    (broken / "status.json").write_text("{not json")
    app.switch_page("pages/runs.py").run()
    assert not app.exception
    table = app.dataframe[0].value
    assert set(table["state"]) == {"complete", "broken"}
    assert "missing" in table.set_index("state").loc["broken", "problem"]  # says why
    held = table.set_index("state").loc["complete", "held-out before"]
    assert 1 < held <= 100  # percentages, not fractions
    assert "cannot be read" in app.warning[0].value


def test_retrieve_page_shows_before_and_after_with_distances(app, workspace):
    from core.align.train import AlignConfig
    from core.data.builtins import load_corpus
    from core.runs.alignment import run_alignment
    from core.studio.jobs import new_run_dir

    config = AlignConfig(method="hr", encoder="lookup", dim=8, steps=200, lr=0.05, eval_every=100)
    run_alignment(load_corpus("synthetic:3x3"), config, new_run_dir(workspace, config))
    app.switch_page("pages/retrieve.py").run(timeout=60)
    assert not app.exception
    app.selectbox(key="retrieve_pick").set_value("query r.0.1").run(timeout=60)
    assert not app.exception
    lists = [m.value for m in app.markdown if m.value.startswith("**1.**")]
    assert len(lists) == 3  # before, after, reference
    before, after, reference = ([line for line in text.split("\n\n")] for text in lists)
    assert len(before) == 10 and len(after) == 10 and len(reference) == 10
    assert all(":green-badge[" not in line or any(f"[{d}]" in line for d in ("itself", "distance 1", "distance 2"))
               for line in after)
    assert reference[0].startswith("**1.** r\\.0\\.1 :green-badge[itself]")  # link-and-walk: the linked node first
    assert ":gray[r\\.0]" in reference[0]  # its path (the one root left out)
    app.text_input(key="retrieve_query").input("something new").run(timeout=60)
    assert not app.exception and "lookup tables" in app.info[0].value


def test_hierarchy_page_browses_searches_and_discovers(app):
    app.switch_page("pages/hierarchy.py").run()
    assert not app.exception and app.title[0].value == "Hierarchy"
    app.text_input(key="h_search").input("whale").run()
    assert not app.exception
    options = app.selectbox(key="h_node").options
    assert any(o.startswith("whale.n.02") for o in options) and len(options) < 50  # of 1,182 nodes
    app.selectbox(key="h_node").set_value("whale.n.02").run()
    page_text = " ".join(m.value for m in app.markdown)
    assert "Path: `mammal.n.01" in page_text and "whale.n.02`" in page_text
    app.text_input(key="h_search").input("no-such-node").run()
    assert "No node matches" in app.warning[0].value
    app.text_input(key="h_search").input("").run()
    app.text_input(key="discover_levels").input("12, 4").run()  # coarse to fine, so this is refused before any work
    assert "more topics than the one above" in app.error[0].value and app.button(key="discover_go").disabled
    app.text_input(key="discover_levels").input("4, 12").run()
    app.button(key="discover_go").click().run(timeout=120)
    assert not app.exception
    deadline = time.time() + 120
    while not app.success and time.time() < deadline:  # discovery runs in the background; the page polls it
        time.sleep(0.5)
        app.run()
    assert "topic nodes" in app.success[0].value
    assert metric(app, "Documents") == "1,182" and metric(app, "Nodes") == "1,198"  # 4 + 12 topics asked for
    assert "hierarchy discovered" in app.caption[0].value  # the caption says so at once (the browser test: the sidebar)
    # the Corpus page keeps the discovered hierarchy until another corpus is picked
    app.switch_page("pages/corpus.py").run()
    assert int(metric(app, "Nodes").replace(",", "")) > 1182 and "discovered" in app.info[0].value
    app.selectbox(key="builtin_spec").set_value("synthetic:4x5").run()
    assert metric(app, "Nodes") == "156"


def test_query_and_text_file_gets_a_discovered_tree_and_trains_hce_from_the_align_page(app, workspace):
    """The document-side corpus shape end to end in the app: a file with query and text columns only (no ids, no
    hierarchy), a tree discovered on the Hierarchy page, then HCE (adapter) trained on it from the Align page to the
    end with a held-out share and a base weight of its own."""
    from core.evaluation.evaluate import heldout_mask

    topics = {"space": "rocket orbit launch nasa shuttle moon", "cars": "engine wheel brake dealer sedan tyre",
              "cooking": "recipe oven flour butter garlic simmer"}
    lines = ["query,text"]
    for t, (name, words) in enumerate(topics.items()):
        vocab = words.split()
        for i in range(20):
            body = " ".join(vocab[(i + j) % len(vocab)] for j in range(8))
            lines.append(f"{name} question {i},{body} post {t}-{i}")
    app.radio(key="corpus_source").set_value("Upload a file").run()
    app.file_uploader(key="upload").upload("asked.csv", "\n".join(lines).encode(), "text/csv")
    app.run()
    assert not app.exception and not app.error, [e.value for e in app.error]
    assert metric(app, "Documents") == "60"
    app.switch_page("pages/hierarchy.py").run()
    app.text_input(key="discover_levels").input("3, 6").run()
    app.number_input(key="discover_words").set_value(0.5).run()  # the words clustered beside the embeddings
    app.button(key="discover_go").click().run(timeout=120)
    deadline = time.time() + 120
    while not app.success and time.time() < deadline:
        time.sleep(0.5)
        app.run()
    assert not app.exception and "topic nodes" in app.success[0].value
    assert "3 then 6 topics, words weighted 0.5" in app.caption[0].value
    app.switch_page("pages/align.py").run()
    app.selectbox(key="align_method").set_value("hce").run()
    app.selectbox(key="align_encoder").set_value("adapter").run()
    app.number_input(key="align_steps_adapter").set_value(20).run()
    app.number_input(key="align_eval_every").set_value(10).run()
    app.number_input(key="align_heldout").set_value(0.1).run()
    assert app.number_input(key="align_base_weight_hce").value == 1.0  # hce's default, whatever another method showed
    app.number_input(key="align_base_weight_hce").set_value(2.0).run()
    app.button(key="align_start").click().run()
    deadline = time.time() + 120
    while "Result on held-out queries" not in [s.value for s in app.subheader] and time.time() < deadline:
        time.sleep(0.5)
        app.run()
    assert not app.exception and not app.error
    assert "Result on held-out queries" in [s.value for s in app.subheader]
    held = int(heldout_mask(60, 0.1, 0).sum())
    assert held < int(heldout_mask(60, 0.2, 0).sum())  # the share asked for, not the default
    assert any(c.value.startswith(f"{held} held-out queries") for c in app.caption), [c.value for c in app.caption]
    # queries of their own: the run is scored next to the lexical references too, and the page says how it did
    verdicts = " ".join(m.value for m in app.markdown)
    for name in ("the link-and-walk reference", "the BM25 reference", "the BM25 + zero-shot hybrid reference",
                 "the link-and-walk via the hybrid reference"):
        assert f"{name} at" in verdicts, verdicts
    app.switch_page("pages/runs.py").run()
    table = app.dataframe[0].value
    assert len(table) == 1 and table.iloc[0]["method"] == "hce" and table.iloc[0]["state"] == "complete"
    metrics = json.loads(next((workspace / "runs").glob("*/metrics.json")).read_text())
    for key in ("reference_bm25", "reference_hybrid", "reference_hybrid_walk"):
        shown = table.iloc[0][f"held-out {REFERENCE_NAMES[key]}"]  # in percent
        assert shown == pytest.approx(metrics[key]["heldout"]["recall_overall"] * 100)
    # Retrieve offers the lexical references for such a corpus: BM25 lists only posts sharing a word with the query
    app.switch_page("pages/retrieve.py").run(timeout=60)
    app.radio(key="retrieve_reference").set_value("reference_bm25").run(timeout=60)
    app.text_input(key="retrieve_query").input("shuttle moon rocket").run(timeout=60)
    assert not app.exception
    assert "**Reference (BM25)**" in [m.value for m in app.markdown]
    lists = [m.value for m in app.markdown if m.value.startswith("**1.**")]
    hits = [line.split()[1] for line in lists[-1].split("\n\n")]  # a post's row number, or a topic's name
    posts = [int(h) for h in hits if h.isdigit()]
    assert len(hits) == 10 and len(posts) >= 5 and all(1 <= i <= 20 for i in posts), hits  # 1-20: the space posts
    app.radio(key="retrieve_reference").set_value("reference_hybrid").run(timeout=60)
    assert not app.exception and "**Reference (BM25 + zero-shot hybrid)**" in [m.value for m in app.markdown]
    configs = [json.loads(p.read_text()) for p in (workspace / "runs").glob("*/config.json")]
    assert [c["align"]["base_weight"] for c in configs] == [2.0]  # the base weight asked for reached the run


def test_pages_are_compiled_without_magic_and_still_show_everything(app):
    """Magic (bare expressions written to the page) is off in .streamlit/config.toml: it runs ast.parse on every page,
    which CPython 3.11 can fail spuriously (gh-106905). The pages write explicitly, so nothing is lost without it."""
    import ast

    from streamlit import config

    assert config.get_option("runner.magicEnabled") is False
    for page in [ROOT / "app.py", *sorted((ROOT / "pages").glob("*.py"))]:
        tree = ast.parse(page.read_text())
        for parent in ast.walk(tree):
            body = getattr(parent, "body", None)
            for i, node in enumerate(body if isinstance(body, list) else []):
                bare = isinstance(node, ast.Expr) and not isinstance(node.value, ast.Call)
                docstring = i == 0 and isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant)
                assert not bare or docstring, f"{page.name}:{node.lineno} relies on magic to show something"
    assert app.title[0].value == "Corpus" and not app.exception  # the main page renders as before


def test_new_phrasings_uploaded_on_the_corpus_page_are_scored_by_the_next_run(app):
    app.selectbox(key="builtin_spec").set_value("synthetic:3x3").run()
    app.file_uploader(key="phrasings_upload").upload("bad.csv", b"id,query\nr.0,fine\nnope,bad\n", "text/csv")
    app.run()
    assert not app.exception
    assert app.error[0].value.startswith("bad.csv, row 2, column 'id': unknown id 'nope'")
    app.file_uploader(key="phrasings_upload").upload("q.csv", b"id,query\nr.0,the first child\nr.2.1,a leaf\n",
                                                     "text/csv")
    app.run()
    assert not app.exception and not app.error
    assert "2 new phrasings of 2 nodes from q.csv" in app.success[0].value
    app.switch_page("pages/align.py").run()
    app.selectbox(key="align_method").set_value("hr").run()
    app.selectbox(key="align_encoder").set_value("adapter").run()
    app.number_input(key="align_steps_adapter").set_value(5).run()
    assert any("2 new phrasings from q.csv" in c.value for c in app.caption)
    app.button(key="align_start").click().run()
    deadline = time.time() + 120
    while "New phrasings" not in [s.value for s in app.subheader] and time.time() < deadline:
        time.sleep(0.5)
        app.run()
    assert not app.exception and "New phrasings" in [s.value for s in app.subheader]
    table = app.dataframe[-1].value
    assert list(table[""])[:2] == [table[""][0], "zero-shot MiniLM"] and table[""][0].startswith("this run")
    assert {"D0", "D1", "D2", "overall", "MRR@10"} <= set(table.columns)


def test_tune_runs_a_study_live_then_trains_the_best_into_a_run(app, workspace):
    app.selectbox(key="builtin_spec").set_value("synthetic:3x3").run()
    app.switch_page("pages/tune.py").run()
    assert not app.exception and app.title[0].value == "Tune"
    app.selectbox(key="tune_method").set_value("hr").run()
    app.selectbox(key="tune_encoder").set_value("lookup").run()
    app.number_input(key="tune_trials").set_value(5).run()
    assert app.text_input(key="tune_study").proto.placeholder == "synthetic:3x3 hr/lookup"  # the name when left empty
    assert "studies.db" in " ".join(c.value for c in app.caption)
    app.button(key="tune_start").click().run()
    assert not app.exception and app.button(key="tune_start").disabled
    deadline = time.time() + 120
    while "complete**" not in " ".join(m.value for m in app.markdown) and time.time() < deadline:
        time.sleep(0.5)
        app.run()
        assert not app.exception
    assert "Study `synthetic:3x3 hr/lookup`: **complete**" in [m.value for m in app.markdown]
    assert metric(app, "Finished trials") == "5"
    table = app.dataframe[0].value
    assert list(table["trial"]) == [0, 1, 2, 3, 4] and table["note"].iloc[0] == "defaults"
    assert set(table["state"]) <= {"complete", "pruned"}
    best = table["validation"].where(table["state"] == "complete").max()
    assert metric(app, "Best validation score") == f"{best:.3f}"
    assert [t.label for t in app.tabs] == ["Optimisation history", "Parameter importances", "Parallel coordinates",
                                          "Slice"]
    assert len(app.get("plotly_chart")) >= 4  # the best-so-far line and Optuna's figures
    app.button(key="tune_train_best").click().run()
    assert not app.exception
    assert any("started with the best settings" in s.value for s in app.success)
    app.switch_page("pages/runs.py").run()
    deadline = time.time() + 60
    while time.time() < deadline:
        table = app.dataframe[0].value
        if table.iloc[0]["state"] == "complete":
            break
        time.sleep(0.5)
        app.run()
    assert len(table) == 1 and table.iloc[0]["state"] == "complete" and table.iloc[0]["method"] == "hr"
    config = json.loads(next((workspace / "runs").iterdir()).joinpath("config.json").read_text())
    chosen = {t.params["lr"] for t in __import__("optuna").load_study(
        study_name="synthetic:3x3 hr/lookup", storage=f"sqlite:///{workspace.resolve() / 'studies.db'}").trials
        if t.value == best}
    assert config["align"]["lr"] in chosen  # the run trained the best trial's settings
