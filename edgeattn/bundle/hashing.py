"""Hashes: SHA-256 of every bundle file, and the canonical hash of a state dict (docs/bundle-format.md).

The canonical weights hash identifies the weights independently of the file they came in (.pt, .safetensors):
SHA-256 over the entries sorted by key, each `key \\0 dtype \\0 shape \\0 raw little-endian bytes`. Torch tensors
are accepted without importing torch here (torch is imported only when a torch tensor is passed).
"""

from __future__ import annotations

import hashlib
import os
import stat
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from .._atomic import sha256_file  # one implementation, shared with the writers
from ..errors import IntegrityError

__all__ = ["sha256_file", "sha256_bytes", "scan_tree", "refuse_odd", "list_tree",
           "hash_tree", "weights_sha256", "tensor_record"]


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()




def _kind(mode: int) -> str:
    return ("a FIFO" if stat.S_ISFIFO(mode) else "a socket" if stat.S_ISSOCK(mode)
            else "a device file" if stat.S_ISCHR(mode) or stat.S_ISBLK(mode) else "not a regular file")


def scan_tree(folder: Path) -> tuple[list[str], list[tuple[str, str]]]:
    """(regular files, other entries) under `folder` as sorted relative posix paths. Nothing is followed: a symbolic
    link (to a file or a folder, inside the bundle or not) and a FIFO, socket or device are reported with what they
    are, never opened (reading a FIFO blocks; a link can point anywhere)."""
    files: list[str] = []
    odd: list[tuple[str, str]] = []
    stack = [("", str(folder))]
    while stack:
        prefix, path = stack.pop()
        with os.scandir(path) as it:
            entries = sorted(it, key=lambda e: e.name)
        for e in entries:
            rel = prefix + e.name
            if e.is_symlink():
                odd.append((rel, "a symbolic link"))
            elif e.is_dir(follow_symlinks=False):
                stack.append((rel + "/", e.path))
            elif e.is_file(follow_symlinks=False):
                files.append(rel)
            else:
                odd.append((rel, _kind(e.stat(follow_symlinks=False).st_mode)))
    return sorted(files), sorted(odd)


def refuse_odd(odd: list[tuple[str, str]], folder: Path) -> None:
    """One IntegrityError naming the first entry of `folder` that is not a regular file or folder."""
    if odd:
        rel, kind = odd[0]
        more = f" (and {len(odd) - 1} more)" if len(odd) > 1 else ""
        raise IntegrityError(f"{Path(folder) / rel} is {kind}{more}: a bundle holds only regular files and folders; "
                             "replace it with the file itself (cp -L) or re-export the bundle")


def list_tree(folder: Path, exclude: tuple[str, ...] = ()) -> list[str]:
    """Relative posix paths of every regular file under `folder`, sorted; IntegrityError for a symbolic link or a
    special file anywhere in it (see scan_tree)."""
    files, odd = scan_tree(Path(folder))
    refuse_odd(odd, folder)
    return [rel for rel in files if rel not in exclude]


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
