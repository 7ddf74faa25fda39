"""Configuration from DDX_* environment variables, validated at start-up."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from plugin import paths


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="DDX_", extra="forbid", frozen=True)

    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field("INFO", description="Log level of the JSON log lines.")
    max_body_bytes: int = Field(1_048_576, ge=1024, le=64 * 1_048_576, description="Largest request body accepted (413 above).")
    max_differential: int = Field(5, ge=1, le=20, description="Most diagnoses returned per knowledge pack.")
    mappings_dir: Path = Field(paths.MAPPINGS_DIR, description="Folder holding the knowledge packs (one per sub-folder).")
    schemas_dir: Path = Field(paths.SCHEMAS_DIR, description="Folder holding the JSON Schemas.")
    public_url: str = Field("http://127.0.0.1:8000", description="The service's public base URL (CDS Hooks JWT audience).")
    cors_origins: list[str] = Field(default_factory=list, description="Browser origins allowed by CORS (JSON list).")


@lru_cache
def get_settings() -> Settings:
    return Settings()
