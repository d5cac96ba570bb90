"""Hashes: SHA-256 of every bundle file, and the canonical hash of a state dict (docs/bundle-format.md).

The canonical weights hash identifies the weights independently of the file they came in (.pt, .safetensors):
SHA-256 over the entries sorted by key, each `key \\0 dtype \\0 shape \\0 raw little-endian bytes`. Torch tensors
are accepted without importing torch here (torch is imported only when a torch tensor is passed).
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from .._atomic import sha256_file  # one implementation, shared with the writers

__all__ = ["sha256_file", "sha256_bytes", "list_tree", "hash_tree", "weights_sha256", "tensor_record"]


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()




def list_tree(folder: Path, exclude: tuple[str, ...] = ()) -> list[str]:
    """Relative posix paths of every regular file under `folder` (links included as what they point to), sorted."""
    folder = Path(folder)
    out = []
    for root, dirs, files in os.walk(folder):
        dirs.sort()
        for name in sorted(files):
            p = Path(root) / name
            rel = p.relative_to(folder).as_posix()
            if rel not in exclude:
                out.append(rel)
    return out


def hash_tree(folder: Path, exclude: tuple[str, ...] = ()) -> dict[str, dict[str, Any]]:
    """{relative posix path: {sha256, bytes}} for every file under `folder`, sorted, minus `exclude`."""
    folder = Path(folder)
    return {rel: {"sha256": sha256_file(folder / rel), "bytes": (folder / rel).stat().st_size}
            for rel in list_tree(folder, exclude)}


def tensor_record(value: Any) -> tuple[str, tuple[int, ...], bytes]:
    """(dtype name, shape, raw little-endian bytes) of a numpy array or a torch tensor."""
    if hasattr(value, "detach"):  # a torch tensor: bf16 and friends have no numpy dtype, so go through bytes
        import torch

        t = value.detach().cpu().contiguous()
        dtype = str(t.dtype).removeprefix("torch.")
        raw = t.reshape(-1).view(torch.uint8).numpy().tobytes() if t.numel() else b""
        if t.element_size() > 1 and np.little_endian is False:  # pragma: no cover - big-endian hosts
            raw = np.frombuffer(raw, dtype=f">u{t.element_size()}").astype(f"<u{t.element_size()}").tobytes()
        return dtype, tuple(t.shape), raw
    arr = np.asarray(value)  # not ascontiguousarray: it turns a 0-d array into shape (1,)
    le = arr.astype(arr.dtype.newbyteorder("<"), order="C", copy=False)
    return arr.dtype.name, tuple(arr.shape), le.tobytes()


def weights_sha256(state: Mapping[str, Any]) -> str:
    """Canonical SHA-256 of a state dict (keys sorted; key, dtype, shape and little-endian bytes of each)."""
    h = hashlib.sha256()
    for key in sorted(state):
        dtype, shape, raw = tensor_record(state[key])
        h.update(key.encode())
        h.update(b"\0")
        h.update(dtype.encode())
        h.update(b"\0")
        h.update(",".join(map(str, shape)).encode())
        h.update(b"\0")
        h.update(raw)
    return h.hexdigest()
