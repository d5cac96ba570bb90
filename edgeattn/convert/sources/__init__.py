"""One file per source family; importing them fills the converter registry."""

from . import ccnet, isa, linear, nonlocal_, paka, vista  # noqa: F401

__all__: list[str] = []
