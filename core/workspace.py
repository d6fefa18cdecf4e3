"""Where hieralign keeps what it computes: `./workspace` unless HIERALIGN_WORKSPACE or an option says otherwise."""

from __future__ import annotations

import os
from pathlib import Path

from core.embeddings import EmbeddingCache

ENV_VAR = "HIERALIGN_WORKSPACE"


def workspace_dir(override: str | os.PathLike | None = None) -> Path:
    return Path(override or os.environ.get(ENV_VAR) or "workspace")


def embedding_cache(workspace: str | os.PathLike | None = None) -> EmbeddingCache:
    return EmbeddingCache(workspace_dir(workspace) / "cache" / "embeddings")
