"""Where the project's data lives, overridable by settings (DDX_MAPPINGS_DIR, DDX_SCHEMAS_DIR)."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SCHEMAS_DIR = ROOT / "schemas"
MAPPINGS_DIR = ROOT / "mappings"
FINDINGS_SCHEMA = "findings-report.schema.json"
PACK_SCHEMA = "knowledge-pack.schema.json"


def pack_folders(mappings_dir: Path = MAPPINGS_DIR) -> list[Path]:
    """Every knowledge pack folder (one with a pack.yaml) under mappings_dir, in name order."""
    return sorted(p.parent for p in mappings_dir.glob("*/pack.yaml"))
