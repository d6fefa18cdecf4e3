"""The bundled MiniLM, offline: same vectors as sentence-transformers, cached on disk, progress reported."""

from __future__ import annotations

import numpy as np
import pytest

import core.embedding.model as emb
from core.errors import InputError

TEXTS = ["a dog barks", "cats purr softly on the warm windowsill in the afternoon", "x", "whales are mammals"]


@pytest.fixture(scope="module")
def model():
    return emb.load_model(None, "cpu")


def test_encode_matches_sentence_transformers(model):
    seen = []
    ours = emb.encode(TEXTS, model, batch_size=2, chunk_batches=1, progress=lambda d, t: seen.append((d, t)))
    theirs = model.encode(TEXTS, normalize_embeddings=True)
    assert ours.shape == (4, 384) and ours.dtype == np.float32
    assert np.allclose(ours, theirs, atol=1e-5)
    assert seen[0] == (0, 4) and seen[-1] == (4, 4) and len(seen) == 3


def test_cache_encodes_once(tmp_path, model, monkeypatch):
    cache = emb.EmbeddingCache(tmp_path)
    first = cache.encode(TEXTS, None, device="cpu")
    assert len(list(tmp_path.glob("*.npy"))) == 1

    def fail(*a, **k):
        raise AssertionError("a cache hit must not load or run the model")

    monkeypatch.setattr(emb, "load_model", fail)
    again = cache.encode(TEXTS, None, device="cpu")
    assert np.array_equal(first, again)
    assert cache.get(TEXTS[::-1]) is None  # other texts, other key
    assert cache.key(TEXTS, None) != cache.key(TEXTS, None, normalize=False)
    assert not list(tmp_path.glob("*.tmp"))


def test_a_new_list_encodes_only_the_texts_no_earlier_list_holds(tmp_path, model, monkeypatch):
    cache = emb.EmbeddingCache(tmp_path)
    first = cache.encode(TEXTS[:2], None, device="cpu")
    (tmp_path / f"{cache.key(TEXTS[:2], None)}.digests").unlink()  # a list cached before digests existed
    assert np.array_equal(cache.encode(TEXTS[:2], None, device="cpu"), first)  # a hit writes its digests back
    seen = []
    real = emb.encode

    def counting(texts, *a, **k):
        seen.append(list(texts))
        return real(texts, *a, **k)

    monkeypatch.setattr(emb, "encode", counting)
    wider = TEXTS + [TEXTS[3], "a node name"]  # a discovered tree: the same documents, a repeat, one new name
    out = cache.encode(wider, None, device="cpu")
    assert seen == [[TEXTS[2], TEXTS[3], "a node name"]]  # each new text once; the first two read back
    assert np.array_equal(out[:2], first)
    assert np.allclose(out, model.encode(wider, normalize_embeddings=True), atol=1e-5)
    seen.clear()
    cache.encode(TEXTS[:2], None, device="cpu", normalize=False)  # other normalisation: nothing reused
    assert seen == [TEXTS[:2]]


def test_default_names_resolve_to_the_bundled_model():
    path = emb.resolve_model(None)
    assert path.endswith("model") and emb.resolve_model("all-MiniLM-L6-v2") == path
    assert emb.resolve_model("/some/folder") == "/some/folder"
    assert emb.model_fingerprint(None) == emb.model_fingerprint("default")


def test_local_folder_loads(tmp_path, model):
    model.save(str(tmp_path / "copy"))
    again = emb.load_model(str(tmp_path / "copy"), "cpu")
    assert np.allclose(again.encode(TEXTS[:2]), model.encode(TEXTS[:2]), atol=1e-5)


def test_bad_model_and_device_are_input_errors(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match="cannot load"):
        emb.load_model(str(tmp_path / "empty"), "cpu")
    assert emb.pick_device("auto") in ("cpu", "cuda", "mps")
    with pytest.raises(InputError, match="unknown device"):
        emb.pick_device("tpu")
