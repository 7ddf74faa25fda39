"""rad-ddx: structured radiology findings -> a coded, explained differential diagnosis as FHIR R4.

The package reads in order: read/ (a document -> the normalised Report) -> decide/ (Report -> Result, over every
knowledge pack of knowledge/) -> write/ (Result -> an output form). engine.py wires them for the CLI and the API.

Public API: load_knowledge(), evaluate(), validate_document(), __version__.
"""

from __future__ import annotations

from plugin.engine import evaluate, load_knowledge, validate_document
from plugin.version import __version__

__all__ = ["__version__", "evaluate", "load_knowledge", "validate_document"]
