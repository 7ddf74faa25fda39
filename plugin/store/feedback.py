"""Issued cards and the feedback that answers them; the knowledge author's summary (per diagnosis and per clue)."""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, func, insert, select
from sqlalchemy.exc import IntegrityError

from plugin.model import PackResult
from plugin.store.schema import cds_card, cds_card_clue, cds_card_diagnosis, cds_feedback


@dataclass(frozen=True, slots=True)
class IssuedCard:
    uuid: str
    suggestion_uuid: str
    service_id: str
    hook_instance: str
    indicator: str
    issued_at: datetime
    pack: PackResult  # its version, ranked diagnoses and the clues behind each


@dataclass(frozen=True, slots=True)
class Feedback:
    card: str
    outcome: str  # accepted | overridden
    accepted_suggestions: tuple[str, ...]
    reason: tuple[str | None, str | None, str | None] | None  # (system, code, display)
    comment: str | None
    timestamp: datetime


class UnknownCard(Exception):
    """A feedback entry names a card this service never issued (its position in the list is `index`)."""

    def __init__(self, index: int) -> None:
        super().__init__(index)
        self.index = index


def record_card(engine: Engine, card: IssuedCard) -> None:
    """Remember an issued card once (the same hookInstance evaluated again issues the same uuid: kept as first issued)."""
    pack = card.pack
    with engine.connect() as connection:
        if connection.execute(select(cds_card.c.uuid).where(cds_card.c.uuid == card.uuid)).first():
            return
    try:
        with engine.begin() as connection:
            connection.execute(insert(cds_card).values(
                uuid=card.uuid, suggestion_uuid=card.suggestion_uuid, service_id=card.service_id, hook_instance=card.hook_instance,
                pack_id=pack.pack_id, pack_version=pack.pack_version, indicator=card.indicator, issued_at=card.issued_at))
            if pack.candidates:
                connection.execute(insert(cds_card_diagnosis), [
                    {"card_uuid": card.uuid, "diagnosis_id": c.diagnosis_id, "rank": c.rank, "display": c.display} for c in pack.candidates])
            clues = {(c.diagnosis_id, o.clue_id): o.effect.value for c in pack.candidates for o in c.supporting + c.opposing}
            if clues:
                connection.execute(insert(cds_card_clue), [
                    {"card_uuid": card.uuid, "diagnosis_id": d, "clue_id": k, "effect": e} for (d, k), e in clues.items()])
    except IntegrityError:  # issued concurrently by another worker: the first one stays
        return


def record_feedback(engine: Engine, service_id: str, entries: list[Feedback], received_at: datetime) -> None:
    """Store every entry in one transaction, committed when this returns; UnknownCard stores none."""
    with engine.begin() as connection:
        cards = {c for c in {e.card for e in entries}
                 if connection.execute(select(cds_card.c.uuid).where(cds_card.c.uuid == c, cds_card.c.service_id == service_id)).first()}
        for index, entry in enumerate(entries):
            if entry.card not in cards:
                raise UnknownCard(index)
        connection.execute(insert(cds_feedback), [{
            "card_uuid": e.card, "outcome": e.outcome, "accepted_suggestions": json.dumps(list(e.accepted_suggestions)),
            "reason_system": e.reason[0] if e.reason else None, "reason_code": e.reason[1] if e.reason else None,
            "reason_display": e.reason[2] if e.reason else None, "user_comment": e.comment,
            "outcome_timestamp": e.timestamp, "received_at": received_at} for e in entries])


def _counts(engine: Engine, service_id: str | None, key: Any, joined: Any, label: Any | None) -> list[dict[str, Any]]:
    where = [cds_card.c.service_id == service_id] if service_id else []
    base = (cds_feedback.join(cds_card, cds_card.c.uuid == cds_feedback.c.card_uuid)
            .join(joined, joined.c.card_uuid == cds_feedback.c.card_uuid))
    out: dict[str, dict[str, Any]] = {}
    reasons: dict[str, dict[str, int]] = defaultdict(dict)
    with engine.connect() as connection:
        columns = [key, cds_feedback.c.outcome, func.count(func.distinct(cds_feedback.c.id))] + ([func.max(label)] if label is not None else [])
        for row in connection.execute(select(*columns).select_from(base).where(*where).group_by(key, cds_feedback.c.outcome)):
            item = out.setdefault(row[0], {"id": row[0], "accepted": 0, "overridden": 0} | ({"display": row[3]} if label is not None else {}))
            if row[1] in ("accepted", "overridden"):
                item[row[1]] += row[2]
        reason = func.coalesce(cds_feedback.c.reason_display, cds_feedback.c.reason_code, "(no reason given)")
        query = (select(key, reason, func.count(func.distinct(cds_feedback.c.id))).select_from(base)
                 .where(cds_feedback.c.outcome == "overridden", *where).group_by(key, reason))
        for row in connection.execute(query):
            reasons[row[0]][row[1]] = row[2]
    for item_id, item in out.items():
        item["overrideReasons"] = [{"reason": r, "count": n} for r, n in sorted(reasons[item_id].items(), key=lambda x: (-x[1], x[0]))]
    return sorted(out.values(), key=lambda i: (-(i["accepted"] + i["overridden"]), i["id"]))


def summary(engine: Engine, service_id: str | None = None) -> dict[str, Any]:
    """Accepted and overridden counts per diagnosis and per clue (over the cards they were on), with the override reasons."""
    where = [cds_card.c.service_id == service_id] if service_id else []
    with engine.connect() as connection:
        totals: dict[str, int] = dict(connection.execute(
            select(cds_feedback.c.outcome, func.count()).select_from(cds_feedback.join(cds_card, cds_card.c.uuid == cds_feedback.c.card_uuid))
            .where(*where).group_by(cds_feedback.c.outcome)).all())
        cards = connection.execute(select(func.count()).select_from(cds_card).where(*where)).scalar_one()
    return {
        "service": service_id, "cards": cards,
        "feedback": {"accepted": totals.get("accepted", 0), "overridden": totals.get("overridden", 0)},
        "diagnoses": _counts(engine, service_id, cds_card_diagnosis.c.diagnosis_id, cds_card_diagnosis, cds_card_diagnosis.c.display),
        "clues": _counts(engine, service_id, cds_card_clue.c.clue_id, cds_card_clue, None),
    }
