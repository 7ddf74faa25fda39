"""Dependencies with readable aliases: the loaded knowledge and the settings."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy import Engine

from plugin.knowledge.catalog import Catalog
from plugin.settings import Settings


async def get_catalog(request: Request) -> Catalog:  # async: no thread-pool hop per request
    return request.app.state.catalog  # type: ignore[no-any-return]


async def get_app_settings(request: Request) -> Settings:
    return request.app.state.settings  # type: ignore[no-any-return]


def service(request: Request) -> tuple[Catalog, Settings]:
    """The loaded knowledge and the settings, read directly (for the hot path: no dependency resolution)."""
    state = request.app.state
    return state.catalog, state.settings


CatalogDep = Annotated[Catalog, Depends(get_catalog)]
SettingsDep = Annotated[Settings, Depends(get_app_settings)]


async def get_database(request: Request) -> Engine:
    return request.app.state.db  # type: ignore[no-any-return]


DatabaseDep = Annotated[Engine, Depends(get_database)]
