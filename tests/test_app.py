"""The app under Streamlit's AppTest: pages render without exceptions and show what their widgets asked for."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

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


def test_local_path(app, tmp_path):
    (tmp_path / "docs" / "sci").mkdir(parents=True)
    (tmp_path / "docs" / "sci" / "a.txt").write_text("rockets")
    app.radio(key="corpus_source").set_value("Local path").run()
    app.text_input(key="local_path").input(str(tmp_path / "docs")).run()
    assert not app.exception and metric(app, "Documents") == "1"
    app.text_input(key="local_path").input(str(tmp_path / "missing.csv")).run()
    assert "no such file or folder" in app.error[0].value
