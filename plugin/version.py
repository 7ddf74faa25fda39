"""The plugin's version: its own module, so that writers can name it without importing the package's public API."""

__version__ = "0.1.0"
