"""The bundle format (docs/bundle-format.md): layout, manifest, hashes, reference I/O, locked atomic publishing.

Needs numpy only: producers (export) and consumers (verify, serve, the device scripts) both import it.
"""

from .hashing import hash_tree, sha256_file, weights_sha256
from .layout import FORMAT, MANIFEST, case_name, case_paths, parse_case_name
from .manifest import (REQUIRED_KEYS, IntegrityReport, check_integrity, finalize, input_names, output_names,
                       read_manifest, validate_manifest, write_manifest)
from .publishing import OutputLock, Publication, publish, recover
from .reference import ReferenceCase, check_finite, read_case, read_npz, write_case

__all__ = ["FORMAT", "MANIFEST", "REQUIRED_KEYS", "IntegrityReport", "OutputLock", "Publication", "ReferenceCase",
           "case_name", "case_paths", "check_finite", "check_integrity", "finalize", "hash_tree", "input_names",
           "output_names", "parse_case_name", "publish", "read_case", "read_manifest", "read_npz", "recover",
           "sha256_file", "validate_manifest", "weights_sha256", "write_case", "write_manifest"]
