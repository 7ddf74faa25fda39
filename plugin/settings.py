"""Configuration from DDX_* environment variables, validated at start-up."""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from plugin import paths

DEFAULT_DATABASE_URL = f"sqlite:///{paths.ROOT / 'var' / 'rad-ddx.sqlite3'}"


class Settings(BaseSettings):
    # hide_input_in_errors: a start-up error must not print DDX_API_KEYS (or any other secret) back.
    model_config = SettingsConfigDict(env_prefix="DDX_", extra="forbid", frozen=True, hide_input_in_errors=True)

    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field("INFO", description="Log level of the JSON log lines.")
    max_body_bytes: int = Field(1_048_576, ge=1024, le=64 * 1_048_576, description="Largest request body accepted (413 above).")
    max_differential: int = Field(5, ge=1, le=20, description="Most diagnoses returned per knowledge pack.")
    mappings_dir: Path = Field(paths.MAPPINGS_DIR, description="Folder holding the knowledge packs (one per sub-folder).")
    schemas_dir: Path = Field(paths.SCHEMAS_DIR, description="Folder holding the JSON Schemas.")
    public_url: str = Field("http://127.0.0.1:8000", description="The service's public base URL (JWT audience; FHIR message source.endpoint).")
    cors_origins: list[str] = Field(default_factory=list, description="Browser origins allowed by CORS (JSON list).")
    database_url: str = Field(DEFAULT_DATABASE_URL, min_length=1,
                              description="SQLAlchemy URL of the database (issued CDS cards, feedback, seen JWT ids): a SQLite file "
                                          "by default, postgresql+psycopg://... at scale (shared by every worker and replica).")
    header_timeout_seconds: int = Field(10, ge=1, le=600, description="Longest wait for a request's headers (408, then closed).")
    body_timeout_seconds: int = Field(30, ge=1, le=600, description="Longest wait for a request's body once its headers are in.")
    idle_timeout_seconds: int = Field(5, ge=1, le=600, description="Keep-alive: an idle connection is closed after this long.")

    # --- authentication (enforced by plugin/api/auth.py; off unless auth_mode says otherwise) ---
    auth_mode: Literal["none", "jwt", "api-key"] = Field("none", description="none, jwt (CDS Hooks client JWTs) or api-key.")
    api_keys: list[SecretStr] = Field(default_factory=list, description="api-key mode: accepted static keys (JSON list; never logged).")
    jwt_issuers: list[str] = Field(default_factory=list, description="jwt mode: allowed `iss` values (JSON list).")
    jwt_public_keys: dict[str, Any] = Field(default_factory=dict,
                                            description='jwt mode: public keys, a JWK Set {"keys": [...]} or an object of JWKs by kid.')
    jwt_jku_allowlist: list[str] = Field(default_factory=list, description="jwt mode: exact https URLs a token's jku may name.")
    jwt_max_age_seconds: int = Field(300, ge=10, le=3600, description="jwt mode: longest accepted token lifetime (exp - iat).")

    @field_validator("log_level", mode="before")
    @classmethod
    def _level_any_case(cls, value: Any) -> Any:
        """`debug` is as clear as `DEBUG`: a lower-case level must not stop the service."""
        return value.upper() if isinstance(value, str) else value

    @model_validator(mode="after")
    def _auth_is_usable(self) -> Settings:
        """Authentication that cannot work is refused at start-up, not at the first request."""
        if self.auth_mode == "api-key":
            if not self.api_keys:
                raise ValueError("DDX_AUTH_MODE=api-key needs DDX_API_KEYS (a JSON list of keys)")
            if any(len(k.get_secret_value()) < 16 for k in self.api_keys):
                raise ValueError("DDX_API_KEYS: every key must be at least 16 characters long")
        if self.auth_mode == "jwt":
            if not self.jwt_issuers:
                raise ValueError("DDX_AUTH_MODE=jwt needs DDX_JWT_ISSUERS (a JSON list of the allowed iss values)")
            if not (self.jwt_public_keys or self.jwt_jku_allowlist):
                raise ValueError("DDX_AUTH_MODE=jwt needs DDX_JWT_PUBLIC_KEYS (a JWK Set) or DDX_JWT_JKU_ALLOWLIST")
        if "DDX_JTI_STORE_PATH" in os.environ:
            raise ValueError("DDX_JTI_STORE_PATH is no longer read: seen jti values are kept in the database DDX_DATABASE_URL names")
        if self.database_url.split(":", 1)[0].split("+", 1)[0] not in ("sqlite", "postgresql"):
            raise ValueError("DDX_DATABASE_URL: only sqlite:///FILE or postgresql+psycopg://... URLs are supported")
        if bad := [u for u in self.jwt_jku_allowlist if not u.startswith("https://")]:
            raise ValueError(f"DDX_JWT_JKU_ALLOWLIST: only https URLs are allowed, not {bad}")
        return self
    # --- end authentication ---


@lru_cache
def get_settings() -> Settings:
    return Settings()
