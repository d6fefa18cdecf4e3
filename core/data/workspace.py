"""Where hieralign keeps what it computes: `./workspace` unless HIERALIGN_WORKSPACE or an option says otherwise."""

from __future__ import annotations

import os
from pathlib import Path

ENV_VAR = "HIERALIGN_WORKSPACE"


def workspace_dir(override: str | os.PathLike | None = None) -> Path:
    return Path(override or os.environ.get(ENV_VAR) or "workspace")


DATA_ROOT_VAR = "HIERALIGN_DATA_ROOT"
LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1")


def data_roots() -> list[Path]:
    """Folders whose files the app may read by path: $HIERALIGN_DATA_ROOT (several joined by os.pathsep), else the
    working directory's `data/` and the workspace. Resolved, so symlinks cannot lead out of them."""
    configured = os.environ.get(DATA_ROOT_VAR)
    roots = [Path(p) for p in configured.split(os.pathsep) if p] if configured else [Path("data"), workspace_dir()]
    return [root.expanduser().resolve() for root in roots]


def allowed_local_path(text: str) -> Path:
    """The resolved path if it lies under a data root, else one neutral InputError that reveals nothing about the
    path (not whether it exists, nor any of its content): a browser must not read arbitrary files on the server."""
    from core.errors import InputError

    roots = data_roots()
    refused = InputError("local path", "outside the folders this app may read",
                         f"put the corpus under {' or '.join(str(r) for r in roots)}, or set {DATA_ROOT_VAR}")
    if not text.strip():
        raise refused
    try:
        resolved = Path(text.strip()).expanduser().resolve()
    except (OSError, RuntimeError, ValueError):  # a symlink loop, a NUL byte, an unknown ~user: the same words, so
        raise refused from None  # that the error never tells which paths exist or what they hold
    if not any(resolved == root or root in resolved.parents for root in roots):
        raise refused
    return resolved


def serves_only_this_machine(address: str | None) -> bool:
    """Whether a server bound to `address` is reachable from this machine only (Streamlit's default binds all)."""
    return (address or "").strip() in LOCAL_HOSTS
