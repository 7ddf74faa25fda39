"""rad-ddx: structured radiology findings -> a coded, explained differential diagnosis as FHIR R4.

Public API: load_knowledge(), evaluate(), validate_document(), __version__.
"""

from __future__ import annotations

__version__ = "0.1.0"

from plugin.service import evaluate, load_knowledge, validate_document  # noqa: E402 - __version__ first: fhir.r4 reads it

__all__ = ["__version__", "evaluate", "load_knowledge", "validate_document"]
