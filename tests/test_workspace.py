"""Which local paths a browser may make the server read: only under the data roots, refused in words that say nothing
about the path (whether it exists, what it holds)."""

from __future__ import annotations

import os

import pytest

from core.data.workspace import allowed_local_path, data_roots, serves_only_this_machine
from core.errors import InputError


@pytest.fixture
def roots(tmp_path, monkeypatch):
    """Two data roots under tmp_path, and beside them a folder that must stay unreadable."""
    first, second, outside = tmp_path / "data", tmp_path / "more", tmp_path / "secret"
    for folder in (first, second, outside):
        folder.mkdir()
    (outside / "id_rsa.csv").write_text("PRIVATE,KEY\n")
    monkeypatch.setenv("HIERALIGN_DATA_ROOT", f"{first}{os.pathsep}{second}")
    return first, second, outside


def test_data_roots_come_from_the_environment_or_default_to_data_and_the_workspace(roots, tmp_path, monkeypatch):
    first, second, _ = roots
    assert data_roots() == [first.resolve(), second.resolve()]
    monkeypatch.delenv("HIERALIGN_DATA_ROOT")
    monkeypatch.setenv("HIERALIGN_WORKSPACE", str(tmp_path / "ws"))
    monkeypatch.chdir(tmp_path)
    assert data_roots() == [(tmp_path / "data").resolve(), (tmp_path / "ws").resolve()]


def test_paths_under_any_root_are_allowed(roots):
    first, second, _ = roots
    (first / "a.csv").write_text("id,text\na,x\n")
    assert allowed_local_path(f"  {first / 'a.csv'}  ") == (first / "a.csv").resolve()
    assert allowed_local_path(str(second / "not-yet.csv")) == (second / "not-yet.csv").resolve()  # missing: load says so
    assert allowed_local_path(str(first)) == first.resolve()


def test_everything_else_gets_one_neutral_error(roots, tmp_path):
    first, _, outside = roots
    (first / "link.csv").symlink_to(outside / "id_rsa.csv")  # a symlink inside a root that leads out of it
    (first / "loop1").symlink_to(first / "loop2")
    (first / "loop2").symlink_to(first / "loop1")
    probes = [outside / "id_rsa.csv", outside / "missing.csv", outside, first / ".." / "secret" / "id_rsa.csv",
              first / "link.csv", first / "loop1", "/etc/passwd", "~/.ssh/id_rsa", "~nobody-such-user/x.csv",
              f"{first}/a\x00b.csv", "", "   ", "relative/elsewhere.csv"]
    messages = set()
    for probe in probes:
        with pytest.raises(InputError) as refused:
            allowed_local_path(str(probe))
        messages.add(str(refused.value))
    assert len(messages) == 1  # the same words whether the path exists, is a link, a loop or nonsense
    (message,) = messages
    assert "outside the folders this app may read" in message
    assert "secret" not in message and "id_rsa" not in message and "PRIVATE" not in message


@pytest.mark.parametrize("address, local", [
    ("127.0.0.1", True), ("localhost", True), ("::1", True), (" 127.0.0.1 ", True),
    (None, False), ("", False),  # Streamlit's default: every interface
    ("0.0.0.0", False), ("::", False), ("192.168.1.5", False), ("127.0.0.1.example.com", False),
])
def test_local_paths_are_offered_only_on_a_server_bound_to_this_machine(address, local):
    assert serves_only_this_machine(address) is local
