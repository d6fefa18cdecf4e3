"""Export an aligned text encoder as a standard sentence-transformers folder that plain `SentenceTransformer(path)`
loads with built-in modules only (no remote code) and that reproduces the run's vectors.

Adapter heads become Dense layers:
- linear head y = x + Wx + b: one Dense with weight I + W;
- mlp head y = x + W2 relu(W1 x + b1) + b2: the residual needs x to pass a ReLU unchanged, which it does as
  relu(x) - relu(-x). So Dense 1 (ReLU) outputs [x, -x, W1 x + b1] and Dense 2 (identity) outputs
  x + W2 relu(W1 x + b1) + b2 exactly;
- base_weight w > 0 appends sqrt(w) * x to the output before the final Normalize, as training did.
With separate query and document heads the model is a Router with a "query" and a "document" route sharing the base
modules: use `model.encode_query(...)` and `model.encode_document(...)` (plain `encode` takes the document route).

The memory encoder (core/align/encoders/memory.py) is Dense layers too: the query route is the head, then a Dense layer whose weights
are the keys divided by the link temperature with a softmax activation (attention over the keys), then a Dense layer
whose weights are the keys' values (the read-out); the document route is the same pair over the node documents and
their codes. sentence-transformers saves the softmax by class name and rebuilds it without arguments, so it picks the
last dimension implicitly (torch warns once that implicit dimensions are deprecated; the result is the same).
"""

from __future__ import annotations

import math
import os
import shutil
import tempfile
from pathlib import Path

import torch
import torch.nn as nn

from core.align.encoders import AdapterEncoder, FinetuneEncoder, Head
from core.align.encoders.memory import MemoryEncoder


def head_as_dense(head: Head, base_weight: float = 0.0) -> list:
    """Dense modules computing head(x) (and sqrt(base_weight) * x after it) exactly."""
    from sentence_transformers.base.modules import Dense

    if head.kind == "linear":
        d = head.linear.weight.shape[0]
        eye = torch.eye(d)
        weight, bias = eye + head.linear.weight.detach().cpu(), head.linear.bias.detach().cpu()
        if base_weight > 0:
            weight = torch.cat([weight, math.sqrt(base_weight) * eye])
            bias = torch.cat([bias, torch.zeros(d)])
        return [Dense(d, weight.shape[0], activation_function=nn.Identity(), init_weight=weight, init_bias=bias)]
    w1, b1 = head.up.weight.detach().cpu(), head.up.bias.detach().cpu()  # (h, d), (h,)
    w2, b2 = head.down.weight.detach().cpu(), head.down.bias.detach().cpu()  # (d, h), (d,)
    h, d = w1.shape
    eye = torch.eye(d)
    first = Dense(d, 2 * d + h, activation_function=nn.ReLU(), init_weight=torch.cat([eye, -eye, w1]),
                  init_bias=torch.cat([torch.zeros(2 * d), b1]))
    weight2, bias2 = torch.cat([eye, -eye, w2], dim=1), b2
    if base_weight > 0:
        s = math.sqrt(base_weight)
        weight2 = torch.cat([weight2, torch.cat([s * eye, -s * eye, torch.zeros(d, h)], dim=1)])
        bias2 = torch.cat([bias2, torch.zeros(d)])
    second = Dense(2 * d + h, weight2.shape[0], activation_function=nn.Identity(), init_weight=weight2, init_bias=bias2)
    return [first, second]


def _base_modules(base_model) -> list:
    """The base model's modules without its trailing Normalize (every route adds its own)."""
    from sentence_transformers.base.modules import Normalize

    base = list(base_model.children())
    while base and isinstance(base[-1], Normalize):
        base.pop()
    return base


def adapter_model(base_model, encoder: AdapterEncoder):
    """A SentenceTransformer: base modules, Normalize, the head as Dense layers, Normalize."""
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.base.modules import Normalize, Router

    base = _base_modules(base_model)

    def route(head: Head) -> list:
        return [*base, Normalize(), *head_as_dense(head, encoder.base_weight), *([Normalize()] if encoder.normalize else [])]

    if encoder.shared:
        return SentenceTransformer(modules=route(encoder.query_head), device="cpu")
    router = Router.for_query_document(query_modules=route(encoder.query_head),
                                       document_modules=route(encoder.doc_head), default_route="document")
    return SentenceTransformer(modules=[router], device="cpu")


def _dense(weight: torch.Tensor, activation: nn.Module, bias: torch.Tensor | None = None,
           residual: torch.Tensor | None = None):
    """A Dense layer computing activation(weight @ x + bias) (+ residual @ x); weights are (out, in)."""
    from sentence_transformers.base.modules import Dense

    weight = weight.detach().cpu().float()
    out_features, in_features = weight.shape
    layer = Dense(in_features, out_features, bias=bias is not None, activation_function=activation, init_weight=weight,
                  init_bias=None if bias is None else bias.detach().cpu().float(), use_residual=residual is not None)
    if residual is not None:
        layer.residual.weight = nn.Parameter(residual.detach().cpu().float())
    return layer


def _attend_and_read(logit_weight: torch.Tensor, values: torch.Tensor, base_weight: float, carry: int) -> list:
    """Dense layers for softmax(logit_weight @ z) @ values, where z's last `carry` entries are the base vector x; with
    base_weight > 0 the output also carries sqrt(base_weight) * x. The carried x rides through the softmax layer as a
    residual (its rows get logit -1e4, so they take no softmax mass: exp(-1e4) is 0 in float32)."""
    keys, dim = values.shape
    if base_weight <= 0:
        return [_dense(logit_weight, nn.Softmax(dim=-1)), _dense(values.T, nn.Identity())]
    width, d = logit_weight.shape[1], carry
    weight = torch.cat([logit_weight, torch.zeros(d, width)])
    bias = torch.cat([torch.zeros(keys), torch.full((d,), -1e4)])
    residual = torch.zeros(keys + d, width)
    residual[keys:, width - d:] = math.sqrt(base_weight) * torch.eye(d)
    read = torch.zeros(dim + d, keys + d)
    read[:dim, :keys] = values.T
    read[dim:, keys:] = torch.eye(d)
    return [_dense(weight, nn.Softmax(dim=-1), bias, residual), _dense(read, nn.Identity())]


def memory_model(base_model, encoder: MemoryEncoder):
    """A SentenceTransformer Router: the query route attends over the keys, the document route over the documents."""
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.base.modules import Normalize, Router

    base = _base_modules(base_model)
    d, w = encoder.base_d.shape[1], encoder.base_weight
    keys_weight = encoder.keys / encoder.link_temperature
    if w > 0:  # the head also outputs x itself (head_as_dense's carried copy), so x reaches the attention layer
        keys_weight = torch.cat([keys_weight, torch.zeros(len(encoder.keys), d)], dim=1)
    head = head_as_dense(encoder.query_head, 1.0 if w > 0 else 0.0)
    key_values = encoder.values.detach()[encoder.owner]  # (K, dim)
    query_route = [*base, Normalize(), *head, *_attend_and_read(keys_weight, key_values, w, d)]
    document_route = [*base, Normalize(), *_attend_and_read(encoder.base_d / encoder.doc_temperature,
                                                             encoder.codes.detach(), w, d)]
    router = Router.for_query_document(query_modules=query_route, document_modules=document_route,
                                       default_route="document")
    return SentenceTransformer(modules=[router], device="cpu")


def save_model_atomic(model, folder: Path) -> Path:
    """Save into a temporary sibling folder, then move it into place."""
    folder = Path(folder)
    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=folder.parent, prefix=f".{folder.name}."))
    try:
        model.save(str(tmp), safe_serialization=True)
        if folder.exists():
            shutil.rmtree(folder)
        os.replace(tmp, folder)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp)
    return folder


def export_encoder(encoder, folder: Path, base_model=None) -> Path | None:
    """Write the encoder as a sentence-transformers folder; None for lookup tables (no text model to export)."""
    if isinstance(encoder, FinetuneEncoder):
        return save_model_atomic(encoder.model, folder)
    if isinstance(encoder, AdapterEncoder):
        return save_model_atomic(adapter_model(base_model, encoder), folder)
    if isinstance(encoder, MemoryEncoder):
        return save_model_atomic(memory_model(base_model, encoder), folder)
    return None
