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
"""

from __future__ import annotations

import math
import os
import shutil
import tempfile
from pathlib import Path

import torch
import torch.nn as nn

from core.encoders import AdapterEncoder, FinetuneEncoder, Head


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


def adapter_model(base_model, encoder: AdapterEncoder):
    """A SentenceTransformer: base modules, Normalize, the head as Dense layers, Normalize."""
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.base.modules import Normalize, Router

    base = [m for m in base_model.children()]
    while base and isinstance(base[-1], Normalize):
        base.pop()

    def route(head: Head) -> list:
        return [*base, Normalize(), *head_as_dense(head, encoder.base_weight), *([Normalize()] if encoder.normalize else [])]

    if encoder.shared:
        return SentenceTransformer(modules=route(encoder.query_head), device="cpu")
    router = Router.for_query_document(query_modules=route(encoder.query_head),
                                       document_modules=route(encoder.doc_head), default_route="document")
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
    return None
