"""Where the project's data lives, overridable by settings (DDX_MAPPINGS_DIR, DDX_SCHEMAS_DIR)."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SCHEMAS_DIR = ROOT / "schemas"
MAPPINGS_DIR = ROOT / "mappings"
FINDINGS_SCHEMA = "findings-report.schema.json"
PACK_SCHEMA = "knowledge-pack.schema.json"
