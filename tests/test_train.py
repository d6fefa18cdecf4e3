"""The training loop on tiny data: it learns, reports, stops, records and exports what it trained."""

from __future__ import annotations

import copy
import json
import threading

import numpy as np
import pytest
import torch

from core.builtins import load_corpus
from core.corpus_embeddings import embed_corpus
from core.embeddings import load_model
from core.errors import InputError
from core.runs import read_status, run_alignment
from core.train import AlignConfig, align, split_queries, steps_for_epochs
from core.workspace import embedding_cache

TREE = load_corpus("synthetic:3x3")  # 13 nodes
LOOKUP = dict(encoder="lookup", dim=8, lr=0.05, batch_size=64, eval_every=10)


@pytest.fixture(scope="module")
def minilm_base(tmp_path_factory):
    cache = embedding_cache(tmp_path_factory.mktemp("ws"))
    return embed_corpus(TREE, None, cache)


def test_training_lowers_the_loss_and_reports_increasing_steps():
    events = []
    result = align(TREE, AlignConfig(method="hr", steps=200, **LOOKUP), callback=events.append)
    steps = [e for e in events if e["type"] == "step"]
    assert [e["step"] for e in steps] == list(range(1, 201))
    assert np.mean([e["loss"] for e in steps[-20:]]) < 0.5 * np.mean([e["loss"] for e in steps[:20]])
    evals = [e for e in events if e["type"] == "eval"]
    assert [e["step"] for e in evals] == list(range(0, 201, 10))
    assert evals[-1]["metrics"]["recall_overall"] > evals[0]["metrics"]["recall_overall"]
    assert events[0]["type"] == "start" and events[-1]["type"] == "done"
    assert result.queries.shape == (13, 8) and result.docs.shape == (13, 8)


@pytest.mark.parametrize("method", ["flat", "hr", "heal", "hce"])
def test_every_method_trains_in_lookup_mode(method):
    result = align(TREE, AlignConfig(method=method, steps=30, hce_branching=3, **LOOKUP))
    assert np.isfinite(result.queries).all() and len(result.history) == 4


def test_same_seed_same_result():
    a = align(TREE, AlignConfig(method="hr", steps=50, seed=3, **LOOKUP))
    b = align(TREE, AlignConfig(method="hr", steps=50, seed=3, **LOOKUP))
    c = align(TREE, AlignConfig(method="hr", steps=50, seed=4, **LOOKUP))
    assert np.array_equal(a.queries, b.queries) and np.array_equal(a.docs, b.docs)
    assert not np.array_equal(a.queries, c.queries)


def test_pretrain_finetune_phases_use_far_pairs_lower_lr_and_new_temperature():
    events = []
    config = AlignConfig(method="hr", steps=20, recipe="pretrain-finetune", finetune_steps=10, far_threshold=2,
                         temperature=20, finetune_temperature=500, **LOOKUP)
    align(TREE, config, callback=events.append)
    phases = [e for e in events if e["type"] == "phase"]
    assert [p["phase"] for p in phases] == ["pretrain", "finetune"]
    assert phases[1]["lr"] == pytest.approx(0.05 * 1e-3) and phases[1]["temperature"] == 500
    far_pairs = sum(1 for v in range(13) for _, d in zip(*TREE.hierarchy.ancestors.of(v)) if d >= 2)
    assert phases[1]["pairs"] == far_pairs == 9
    assert events[-1]["step"] == 30


def test_stop_flag_ends_the_run_with_a_readable_folder(tmp_path):
    stop = threading.Event()

    def stop_at_five(event):
        if event["type"] == "step" and event["step"] == 5:
            stop.set()

    result = run_alignment(TREE, AlignConfig(method="hr", steps=1000, **LOOKUP), tmp_path / "run", callback=stop_at_five, stop=stop)
    assert result.stopped
    run = tmp_path / "run"
    assert read_status(run)["state"] == "stopped"
    metrics = json.loads((run / "metrics.json").read_text())
    assert set(metrics["before"]) >= {"recall_by_distance", "recall_overall", "recall_min", "pairs_by_distance", "heldout"}
    assert metrics["after"]["heldout"]["pairs_by_distance"]
    assert np.load(run / "docs.npy").shape == (13, 8)
    assert json.loads((run / "config.json").read_text())["align"]["steps"] == 1000
    assert [json.loads(line)["step"] for line in (run / "metrics.jsonl").read_text().splitlines()] == [0, 5]


def test_a_run_that_dies_is_marked_and_readable(tmp_path):
    seen = {}

    def die(event):
        if event["type"] == "step" and event["step"] == 3:
            seen["status"] = read_status(tmp_path / "run")["state"]
            seen["config"] = json.loads((tmp_path / "run" / "config.json").read_text())
            raise RuntimeError("power cut")

    with pytest.raises(RuntimeError):
        run_alignment(TREE, AlignConfig(method="hr", steps=100, **LOOKUP), tmp_path / "run", callback=die)
    assert seen["status"] == "incomplete" and seen["config"]["corpus"] == "synthetic:3x3"
    status = read_status(tmp_path / "run")
    assert status["state"] == "failed" and "power cut" in status["error"]
    assert not list((tmp_path / "run").glob("*.tmp"))


@pytest.mark.parametrize("head, shared, base_weight", [("mlp", True, 0.0), ("linear", False, 1.0)])
def test_adapter_export_reloads_and_reproduces_the_run(tmp_path, minilm_base, head, shared, base_weight):
    from sentence_transformers import SentenceTransformer

    config = AlignConfig(method="hr", encoder="adapter", head=head, shared_head=shared, base_weight=base_weight,
                         steps=40, lr=1e-2, batch_size=16, eval_every=20)
    result = run_alignment(TREE, config, tmp_path / "run", minilm_base)
    model = SentenceTransformer(str(tmp_path / "run" / "model"), device="cpu")
    queries, docs = TREE.query_texts(), list(TREE.texts)
    q = model.encode_query(queries) if not shared else model.encode(queries)
    d = model.encode_document(docs) if not shared else model.encode(docs)
    assert np.allclose(q, result.queries, atol=1e-5) and np.allclose(d, result.docs, atol=1e-5)
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    # before = the zero-shot model: the base vectors give the same ranking
    assert metrics["before"]["recall_by_distance"]["0"] > 0.5


@pytest.mark.parametrize("head, shared, base_weight", [("mlp", False, 0.5), ("linear", True, 0.0)])
def test_export_of_a_perturbed_head_is_exact(tmp_path, minilm_base, head, shared, base_weight):
    """Random (far from identity) head weights: the Dense layers must still compute the head exactly."""
    import torch

    from core.encoders import AdapterEncoder, encode_all
    from core.export import export_encoder

    encoder = AdapterEncoder(*minilm_base, head=head, hidden=32, shared=shared, base_weight=base_weight)
    torch.manual_seed(0)
    with torch.no_grad():
        for p in encoder.parameters():
            p.add_(0.3 * torch.randn_like(p))
    queries, docs = encode_all(encoder, TREE.n)
    assert not np.allclose(docs[:, :384], minilm_base[1], atol=1e-2)
    export_encoder(encoder, tmp_path / "model", load_model(None, "cpu"))
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(str(tmp_path / "model"), device="cpu")
    encode_q = model.encode if shared else model.encode_query
    encode_d = model.encode if shared else model.encode_document
    assert np.allclose(encode_q(TREE.query_texts()), queries, atol=1e-5)
    assert np.allclose(encode_d(list(TREE.texts)), docs, atol=1e-5)


def test_finetune_mode_trains_the_transformer(tmp_path, minilm_base):
    from core.train import Trainer

    config = AlignConfig(method="flat", encoder="finetune", steps=2, batch_size=8, eval_every=1)
    weights = lambda model: model[0].auto_model.embeddings.word_embeddings.weight.detach().numpy().copy()  # noqa: E731
    original = weights(load_model(None, "cpu"))
    trainer = Trainer(TREE, config, minilm_base)
    changed = []
    trainer.callback = lambda e: changed.append(not np.allclose(weights(trainer.encoder.model), original)) if e["type"] == "step" else None
    trainer.run()
    assert changed == [True, True]
    assert np.allclose(weights(load_model(None, "cpu")), original)  # the cached base model is untouched
    run_alignment(TREE, config, tmp_path / "run", minilm_base)
    assert (tmp_path / "run" / "model" / "model.safetensors").exists()


def test_query_split_keeps_heldout_untouched():
    split = split_queries(100, AlignConfig(encoder="adapter"))
    assert len(split.heldout) == 20 and len(split.validation) == 10 and len(split.train) == 70
    assert not set(split.train) & set(split.heldout) and not set(split.validation) & set(split.heldout)
    lookup = split_queries(100, AlignConfig(encoder="lookup"))
    assert len(lookup.train) == 100


def test_bad_options_are_input_errors():
    with pytest.raises(InputError, match="method"):
        align(TREE, AlignConfig(method="magic", **LOOKUP))
    with pytest.raises(InputError, match="far"):
        align(TREE, AlignConfig(method="hr", recipe="pretrain-finetune", far_threshold=9, steps=2, **LOOKUP))
    assert steps_for_epochs(TREE, AlignConfig(method="hr", encoder="lookup", batch_size=10), 1) == 4  # 34 pairs


def test_hce_co_training_never_keeps_a_tree_that_lowered_validation():
    from core.train import Trainer

    config = AlignConfig(method="hce", hce_branching=3, hce_rebuild_every=10, steps=40, **LOOKUP)
    trainer = Trainer(load_corpus("synthetic:3x4"), config)
    # validation at the boundaries (steps 10, 20, 30): the tree built at 10 lowers it by 20 (0.8 -> 0.6), so it is
    # dropped (re-scored 0.8 after the restore); the tree built at 20 raises it by 30 (0.9), so it is kept
    scripted = iter([0.8, 0.6, 0.8, 0.9])
    trainer._co_train_score = lambda: next(scripted)
    initial_tree = copy.deepcopy(trainer.tree)
    seen, events = {}, []
    trainer.callback = events.append
    real_co_train = trainer._co_train

    def co_train(step):
        if step == 10:
            seen["params at 10"] = copy.deepcopy(trainer._state())
        changed = real_co_train(step)
        if step == 20:
            seen["went on from"] = copy.deepcopy(trainer._tree_trial[1])
        return changed

    trainer._co_train = co_train
    trainer.run()
    trials = [(t["kept"], t["before"], t["after"], t.get("restored")) for t in events if "kept" in t]
    assert trials == [(False, 0.8, 0.6, 0.8), (True, 0.8, 0.9, None)]
    restored = seen["went on from"]
    assert all(np.array_equal(a, b) for a, b in zip(restored["tree"].parent, initial_tree.parent))
    for name, value in seen["params at 10"]["encoder"].items():
        assert torch.equal(restored["params"]["encoder"][name], value)
