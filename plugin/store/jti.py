"""Seen JWT ids (replay protection) in the shared database: every worker and every replica sees the same set."""

from __future__ import annotations

import hashlib
import time

from sqlalchemy import Engine, delete, insert
from sqlalchemy.exc import IntegrityError

from plugin.store.schema import seen_jti


class JtiStore:
    """Seen (iss, jti) pairs; the primary key makes the first insert win, across processes and hosts."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def first_use(self, issuer: str, jti: str, expires: int) -> bool:
        """True if this (issuer, jti) was not seen before (and is now remembered until `expires`); expired rows are purged."""
        key = hashlib.sha256(f"{issuer}\x00{jti}".encode()).hexdigest()
        try:
            with self.engine.begin() as connection:
                connection.execute(delete(seen_jti).where(seen_jti.c.expires < int(time.time())))
                connection.execute(insert(seen_jti).values(id=key, expires=expires))
        except IntegrityError:
            return False
        return True
