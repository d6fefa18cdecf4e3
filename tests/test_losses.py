"""Every loss on hand-built tensors: the behaviour the papers define, checked without a model."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from core.losses import flat_info_nce, hce_loss, heal_loss, heal_weights, hr_logits, hr_softmax_loss, supcon_loss


def unit(*rows):
    return F.normalize(torch.tensor(rows, dtype=torch.float32), dim=-1)


def test_flat_is_lower_when_positives_are_closer():
    q = unit([1, 0], [0, 1])
    near = unit([1, 0.1], [0.1, 1])
    far = unit([1, 1], [1, 1.2])
    assert flat_info_nce(q, near) < flat_info_nce(q, far)


def test_flat_hand_worked_and_duplicate_masking():
    q = unit([1, 0], [0, 1])
    d = unit([1, 0], [0, 1])
    # logits = 20 * [[1, 0], [0, 1]]: loss = log(1 + e^-20)
    assert flat_info_nce(q, d).item() == pytest.approx(math.log1p(math.exp(-20)), abs=1e-6)
    # the same document twice: without ids each query is penalised by the copy; with ids the copy is masked
    d_same = unit([1, 1], [1, 1])
    assert flat_info_nce(q, d_same).item() == pytest.approx(math.log(2), abs=1e-5)
    assert flat_info_nce(q, d_same, doc_ids=torch.tensor([7, 7])).item() == pytest.approx(0.0, abs=1e-6)


def test_hr_matches_a_naive_loop():
    torch.manual_seed(0)
    q, docs = torch.randn(5, 3), torch.randn(9, 3)
    targets = torch.tensor([0, 3, 8, 3, 1])
    for mode, temperature in (("divide", 0.7), ("scale", 20.0)):
        total = 0.0
        for i in range(5):
            if mode == "divide":
                logits = [float(q[i] @ docs[j]) / temperature for j in range(9)]
            else:
                logits = [temperature * float(F.cosine_similarity(q[i], docs[j], dim=0)) for j in range(9)]
            total += -(logits[targets[i]] - math.log(sum(math.exp(v) for v in logits)))
        assert hr_softmax_loss(q, docs, targets, temperature, mode).item() == pytest.approx(total / 5, rel=1e-5)


def test_hr_weights_and_modes():
    q, docs = torch.randn(4, 3), torch.randn(6, 3)
    targets = torch.tensor([0, 1, 2, 3])
    w = torch.tensor([1.0, 0.0, 0.0, 0.0])
    one = F.cross_entropy(hr_logits(q[:1], docs, 2.0), targets[:1])
    assert hr_softmax_loss(q, docs, targets, 2.0, weights=w).item() == pytest.approx(one.item(), rel=1e-6)
    with pytest.raises(ValueError, match="temperature mode"):
        hr_logits(q, docs, 1.0, "multiply")


def test_hr_is_lower_when_the_target_is_closer():
    docs = unit([1, 0], [0, 1], [-1, 0])
    close, far = unit([1, 0.05]), unit([0.2, 1])
    t = torch.tensor([0])
    assert hr_softmax_loss(close, docs, t, 20, "scale") < hr_softmax_loss(far, docs, t, 20, "scale")


@pytest.mark.parametrize("levels, expected", [(1, [1.0]), (3, [4 / 7, 2 / 7, 1 / 7]), (5, [16 / 31, 8 / 31, 4 / 31, 2 / 31, 1 / 31])])
def test_heal_weights(levels, expected):
    w = heal_weights(levels)
    assert w.tolist() == pytest.approx(expected)
    assert w.sum().item() == pytest.approx(1.0)


def test_heal_with_one_level_is_supcon():
    torch.manual_seed(1)
    z = torch.randn(8, 4)
    labels = torch.tensor([0, 0, 1, 1, 2, 2, 2, 3])
    assert heal_loss(z, labels[:, None]).item() == pytest.approx(supcon_loss(z, labels).item(), rel=1e-6)


def test_supcon_hand_worked():
    # three items, tau 1, unit vectors: a and b share a label, c does not.
    z = unit([1, 0], [1, 0], [0, 1])
    labels = torch.tensor([5, 5, 6])
    # anchor a: -log(e^1 / (e^1 + e^0)); same for b; c has no positive and is skipped
    expected = -math.log(math.e / (math.e + 1))
    assert supcon_loss(z, labels, tau=1.0).item() == pytest.approx(expected, rel=1e-6)
    assert supcon_loss(z, torch.tensor([1, 2, 3])).item() == 0.0  # no positives anywhere


def test_heal_is_lower_when_same_branch_items_are_closer():
    labels = torch.tensor([[0, 0], [0, 1], [1, 2], [1, 3]])
    aligned = unit([1, 0.1], [1, 0.2], [-1, 0.1], [-1, 0.2])  # branch 0 left, branch 1 right
    mixed = unit([1, 0.1], [-1, 0.2], [1, 0.2], [-1, 0.1])
    assert heal_loss(aligned, labels, tau=0.5) < heal_loss(mixed, labels, tau=0.5)


def test_heal_ragged_options():
    z = torch.randn(4, 3)
    labels = torch.tensor([[0, 2], [0, -1], [1, 3], [1, -1]])
    repeated = torch.tensor([[0, 2], [0, 0], [1, 3], [1, 1]])
    assert heal_loss(z, labels, ragged="repeat").item() == pytest.approx(heal_loss(z, repeated).item())
    # "drop": level 1 has no positive pair at all, so only level 0 counts (weight 2/3)
    assert heal_loss(z, labels, ragged="drop").item() == pytest.approx(2 / 3 * supcon_loss(z, labels[:, 0]).item(), rel=1e-6)


def test_hce_one_level_tree_is_full_softmax_info_nce():
    torch.manual_seed(2)
    q, docs = torch.randn(5, 4), torch.randn(7, 4)
    targets = torch.tensor([0, 6, 2, 2, 4])
    candidates = torch.arange(7).expand(5, 1, 7)  # root -> all documents
    tau = 0.1
    expected = hr_softmax_loss(q, docs, targets, 1 / tau, "scale")
    assert hce_loss(q, docs, candidates, targets[:, None], tau=tau).item() == pytest.approx(expected.item(), rel=1e-5)


def test_hce_sums_levels_and_ignores_padding():
    # two levels; level 0 picks between nodes 0 and 1, level 1 between 2, 3 (and padding)
    nodes = unit([1, 0], [-1, 0], [0, 1], [0, -1])
    q = unit([1, 1])
    candidates = torch.tensor([[[0, 1, -1], [2, 3, -1]]])
    positive = torch.tensor([[0, 0]])
    tau = 1.0
    s = 1 / math.sqrt(2)
    level = -math.log(math.exp(s) / (math.exp(s) + math.exp(-s)))
    assert hce_loss(q, nodes, candidates, positive, tau=tau).item() == pytest.approx(2 * level, rel=1e-5)
    # a level with a single candidate contributes log(1) = 0
    single = torch.tensor([[[0, -1, -1], [2, 3, -1]]])
    assert hce_loss(q, nodes, single, positive, tau=tau).item() == pytest.approx(level, rel=1e-5)
