"""The package version, in a module of its own so that lower floors (tensorrt's device commands, export's
manifest) read it without importing the package root from below."""

__version__ = "0.1.0"
