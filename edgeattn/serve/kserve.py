"""A small KServe v2 client over tritonclient (HTTP or gRPC): one per thread, lazily imported.

Speaks to Triton and to OpenVINO Model Server alike (both implement the KServe v2 inference protocol).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import InvalidOptionError, MissingDependencyError
from .tensors import KSERVE_DTYPES

__all__ = ["KServeClient", "ServerError", "PROTOCOLS", "split_url"]

PROTOCOLS = ("http", "grpc")


class ServerError(Exception):
    """The server answered with an error, or did not answer (connection refused, timeout)."""


# RFC 1123 labels, plus "_" (container and compose service names use it and resolvers accept it)
_LABEL = r"[A-Za-z0-9_]([A-Za-z0-9_-]{0,62}[A-Za-z0-9_])?"
_HOST = re.compile(rf"^{_LABEL}(\.{_LABEL})*$")
_URL_HINT = "pass host:port, e.g. 127.0.0.1:8000 (HTTP), 127.0.0.1:8001 (gRPC) or [::1]:8000"


def split_url(url: str, protocol: str) -> str:
    """tritonclient wants host:port; accept http://host:port and grpc://host:port (IPv6 in brackets) as well.

    Anything else (another scheme, a path, a query, credentials, a malformed bracket, a port outside 1..65535,
    a host that is not a hostname or IP address) is one InvalidOptionError line, before any connection."""
    from ipaddress import IPv6Address, ip_address
    from urllib.parse import urlsplit

    if protocol not in PROTOCOLS:
        raise InvalidOptionError(f"--protocol {protocol!r}: pick one of {', '.join(PROTOCOLS)}")
    text = str(url).strip()
    shown = text[:200]
    if not text or len(text) > 1024 or any(c.isspace() or not c.isprintable() for c in text):
        raise InvalidOptionError(f"URL {shown!r} is not host:port; {_URL_HINT}")
    if text.lower().startswith("https://"):
        raise InvalidOptionError(f"{shown}: TLS is not supported by serve check; {_URL_HINT}")
    if "://" not in text:
        text = "http://" + text
    try:
        parts = urlsplit(text)
        host, port = parts.hostname, parts.port
    except ValueError as exc:  # "Invalid IPv6 URL", "Port out of range 0-65535", a non-numeric port
        raise InvalidOptionError(f"URL {shown!r} is malformed ({exc}); {_URL_HINT}") from None
    if parts.scheme.lower() not in ("http", "grpc"):
        raise InvalidOptionError(f"URL {shown!r}: scheme {parts.scheme!r} is not http:// or grpc://; {_URL_HINT}")
    if parts.username is not None or parts.password is not None or parts.query or parts.fragment \
            or parts.path not in ("", "/"):
        raise InvalidOptionError(f"URL {shown!r} has a path, query or credentials, which serve check does not use; "
                                 f"{_URL_HINT}")
    if not host or port is None or not 0 < port < 65536:
        raise InvalidOptionError(f"URL {shown!r} is not host:port (a port 1..65535 is needed); {_URL_HINT}")
    try:
        address = ip_address(host)
    except ValueError:
        address = None
        if not _HOST.match(host) or len(host) > 253:
            raise InvalidOptionError(f"URL {shown!r}: {host!r} is not a hostname or IP address; {_URL_HINT}") from None
    return f"[{address}]:{port}" if isinstance(address, IPv6Address) else f"{host}:{port}"


@dataclass
class KServeClient:
    url: str
    protocol: str = "http"
    timeout_s: float = 60.0

    def __post_init__(self) -> None:
        try:
            if self.protocol == "http":
                import tritonclient.http as tc
            else:
                import tritonclient.grpc as tc
            from tritonclient.utils import InferenceServerException
        except ImportError:
            raise MissingDependencyError("serve check needs tritonclient: pip install 'edgeattn[serve]' "
                                         "(in a checkout: pip install -e '.[serve]')") from None
        self._tc = tc
        self._exc = InferenceServerException
        self._connect()

    def _connect(self) -> None:
        if self.protocol == "http":
            self._client = self._tc.InferenceServerClient(self.url, connection_timeout=self.timeout_s,
                                                          network_timeout=self.timeout_s)
        else:
            self._client = self._tc.InferenceServerClient(self.url)

    def _call(self, name: str, *args: Any, **kwargs: Any) -> Any:
        """Call tritonclient's method `name`; any failure becomes one ServerError line."""
        if self.protocol == "grpc":  # gRPC takes its deadline per call (HTTP's is set on the client)
            kwargs.setdefault("client_timeout", self.timeout_s)
        try:
            return getattr(self._client, name)(*args, **kwargs)
        except self._exc as exc:
            message = str(exc.message() if hasattr(exc, "message") else exc).strip()
        except Exception as exc:  # noqa: BLE001 - refused, reset, timed out, or a response the client cannot parse
            message = f"{type(exc).__name__}: {exc}"
        # A server may answer an error before it has read the whole request (e.g. a batch over max_batch_size);
        # the pooled HTTP connection is then out of step, so the next call starts on a fresh one.
        self._client.close()
        self._connect()
        raise ServerError(message)

    def live(self) -> bool:
        return bool(self._call("is_server_live"))

    def ready(self, model: str, version: str = "") -> bool:
        return bool(self._call("is_model_ready", model, version))

    def metadata(self, model: str, version: str = "") -> dict:
        if self.protocol == "http":
            return self._call("get_model_metadata", model, version)
        return self._call("get_model_metadata", model, version, as_json=True)

    def config(self, model: str, version: str = "") -> dict | None:
        """Triton's model config (with our edgeattn.* parameters); None where the server has no such endpoint."""
        try:
            if self.protocol == "http":
                cfg = self._call("get_model_config", model, version)
            else:
                cfg = self._call("get_model_config", model, version, as_json=True)
        except ServerError:
            return None
        return cfg.get("config", cfg)

    def infer(self, model: str, feeds: dict[str, np.ndarray], outputs: list[str],
              version: str = "") -> dict[str, np.ndarray]:
        """One request; the KServe datatype of each input is its numpy dtype's."""
        tc = self._tc
        inputs = []
        for name, arr in feeds.items():
            dt = KSERVE_DTYPES.get(arr.dtype.name)
            if dt is None:
                raise InvalidOptionError(f"input {name!r} has dtype {arr.dtype}, which KServe cannot carry")
            inp = tc.InferInput(name, list(arr.shape), dt)
            inp.set_data_from_numpy(arr)
            inputs.append(inp)
        requested = [tc.InferRequestedOutput(n) for n in outputs]
        result = self._call("infer", model, inputs, model_version=version, outputs=requested)
        return {n: result.as_numpy(n) for n in outputs}

    def statistics(self, model: str) -> dict:
        """Triton's inference statistics of `model` (per executed batch size); HTTP's JSON form."""
        if self.protocol == "http":
            return self._call("get_inference_statistics", model)
        return self._call("get_inference_statistics", model, as_json=True)

    def close(self) -> None:
        self._client.close()
