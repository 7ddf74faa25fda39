"""Feedback kept durably, on SQLite and on PostgreSQL: every entry against its card, the issued card with its ranked
diagnoses and clues, and the knowledge author's summary over HTTP and from `ddx feedback summary` (no server)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, select, text

from plugin import load_knowledge  # noqa: E402
from plugin.api.app import create_app
from plugin.settings import Settings
from plugin.store import schema
from tests.cds.conformance import schema_errors
from tests.cds.databases import KINDS, database_url
from tests.cds.test_conformance import SERVICE, cds_request
from tests.conftest import ROOT

PACK_VERSION = load_knowledge().packs[0].version


@pytest.fixture(params=KINDS)
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    yield from database_url(request.param, tmp_path)


@pytest.fixture
def client(db_url: str) -> Iterator[TestClient]:
    with TestClient(create_app(Settings(database_url=db_url)), raise_server_exceptions=False) as c:
        yield c


def issue(client: TestClient, sample: str = "061-fop-neck-back-bridges-great-toes", hook: str = "h-1") -> dict[str, Any]:
    response = client.post(SERVICE, json=cds_request(sample, hook))
    assert response.status_code == 200, response.text
    return response.json()["cards"][0]  # type: ignore[no-any-return]


def accepted(card: dict[str, Any]) -> dict[str, Any]:
    return {"card": card["uuid"], "outcome": "accepted", "acceptedSuggestions": [{"id": card["suggestions"][0]["uuid"]}],
            "outcomeTimestamp": "2026-12-01T10:05:31Z"}


def overridden(card: dict[str, Any], reason: int | None = 0, comment: str | None = "Known FOP, already genotyped.") -> dict[str, Any]:
    entry: dict[str, Any] = {"card": card["uuid"], "outcome": "overridden", "outcomeTimestamp": "2026-12-01T10:06:00.52Z"}
    if reason is not None or comment is not None:
        entry["overrideReason"] = ({"reason": card["overrideReasons"][reason]} if reason is not None else {}) | (
            {"userComment": comment} if comment is not None else {})
    return entry


def test_every_entry_is_stored_against_its_card(client: TestClient, db_url: str) -> None:
    card, other = issue(client), issue(client, "045-hftc-hip-fluid-levels", "h-2")
    body = {"feedback": [accepted(card), overridden(other), overridden(other, None, None)]}
    assert schema_errors("feedback", body) == []
    response = client.post(f"{SERVICE}/feedback", json=body)
    assert response.status_code == 200, response.text
    engine = create_engine(db_url)
    try:
        with engine.connect() as connection:
            rows = connection.execute(select(schema.cds_feedback).order_by(schema.cds_feedback.c.id)).mappings().all()
            cards = connection.execute(select(schema.cds_card)).mappings().all()
            diagnoses = connection.execute(select(schema.cds_card_diagnosis).where(
                schema.cds_card_diagnosis.c.card_uuid == card["uuid"])).mappings().all()
            clues = connection.execute(select(schema.cds_card_clue).where(schema.cds_card_clue.c.card_uuid == card["uuid"])).all()
    finally:
        engine.dispose()
    assert [(r["card_uuid"], r["outcome"]) for r in rows] == [(card["uuid"], "accepted"), (other["uuid"], "overridden"),
                                                             (other["uuid"], "overridden")]
    assert json.loads(rows[0]["accepted_suggestions"]) == [card["suggestions"][0]["uuid"]]
    assert (rows[1]["reason_code"], rows[1]["reason_display"], rows[1]["user_comment"]) == (
        other["overrideReasons"][0]["code"], other["overrideReasons"][0]["display"], "Known FOP, already genotyped.")
    assert rows[2]["reason_code"] is None and rows[2]["user_comment"] is None
    assert rows[0]["outcome_timestamp"].isoformat().startswith("2026-12-01T10:05:31")
    assert {c["uuid"]: (c["hook_instance"], c["pack_version"]) for c in cards} == {card["uuid"]: ("h-1", PACK_VERSION),
                                                                                  other["uuid"]: ("h-2", PACK_VERSION)}
    ranked = sorted((d["rank"], d["display"]) for d in diagnoses)
    assert [d for _, d in ranked] == [line.split("**")[1].replace("\\", "") for line in card["detail"].splitlines() if line[:1].isdigit()]
    assert clues, "the clues behind each diagnosis are kept"


def test_the_summary_counts_per_diagnosis_and_clue_with_reasons(client: TestClient, db_url: str) -> None:
    card, second = issue(client), issue(client, hook="h-9")
    body = {"feedback": [accepted(card), overridden(second, 1)]}
    assert client.post(f"{SERVICE}/feedback", json=body).status_code == 200
    summary = client.get(f"{SERVICE}/feedback/summary").json()
    assert summary["cards"] == 2 and summary["feedback"] == {"accepted": 1, "overridden": 1}
    top = next(d for d in summary["diagnoses"] if d["accepted"] or d["overridden"])
    assert (top["accepted"], top["overridden"]) == (1, 1)
    assert top["overrideReasons"] == [{"reason": second["overrideReasons"][1]["display"], "count": 1}]
    assert summary["clues"] and all(c["accepted"] + c["overridden"] >= 1 for c in summary["clues"])

    env = {**os.environ, "DDX_DATABASE_URL": db_url}
    out = subprocess.run([sys.executable, "-m", "plugin", "feedback", "summary"], cwd=ROOT, env=env, capture_output=True,
                         text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "accepted 1  overridden 1" in out.stdout
    assert f"override reason: {second['overrideReasons'][1]['display']} x1" in out.stdout
    assert "per diagnosis:" in out.stdout and "per clue:" in out.stdout
    as_json = subprocess.run([sys.executable, "-m", "plugin", "feedback", "summary", "--format", "json"], cwd=ROOT, env=env,
                             capture_output=True, text=True, timeout=120)
    assert json.loads(as_json.stdout)["diagnoses"] == summary["diagnoses"]


def test_feedback_for_an_unknown_card_stores_nothing(client: TestClient) -> None:
    card = issue(client)
    body = {"feedback": [accepted(card), accepted(card) | {"card": "not-a-card-of-ours"}]}
    response = client.post(f"{SERVICE}/feedback", json=body)
    assert response.status_code == 422
    assert response.json()["issue"][0]["expression"] == ["feedback[1].card"]
    assert client.get(f"{SERVICE}/feedback/summary").json()["feedback"] == {"accepted": 0, "overridden": 0}


@pytest.mark.parametrize(("entry", "path"), [
    ({"outcome": "accepted", "outcomeTimestamp": "2026-12-01T10:05:31Z", "acceptedSuggestions": [{"id": "s"}]}, "feedback[0].card"),
    ({"card": "c", "outcome": "liked", "outcomeTimestamp": "2026-12-01T10:05:31Z"}, "feedback[0].outcome"),
    ({"card": "c", "outcome": "overridden", "outcomeTimestamp": "yesterday"}, "feedback[0].outcomeTimestamp"),
    ({"card": "c", "outcome": "overridden", "outcomeTimestamp": "2026-12-01T10:05:31"}, "feedback[0].outcomeTimestamp"),
    ({"card": "c", "outcome": "accepted", "outcomeTimestamp": "2026-12-01T10:05:31Z"}, "feedback[0].acceptedSuggestions"),
    ({"card": "c", "outcome": "overridden", "outcomeTimestamp": "2026-12-01T10:05:31Z", "overrideReason": {"reason": {"code": "x"}}},
     "feedback[0].overrideReason.reason"),
])
def test_malformed_feedback_is_refused_with_its_path(client: TestClient, entry: dict[str, Any], path: str) -> None:
    response = client.post(f"{SERVICE}/feedback", json={"feedback": [entry]})
    assert response.status_code == 400
    assert path in [e for i in response.json()["issue"] for e in i.get("expression", [])]


def test_the_schema_is_migrated_and_sqlite_is_durable(client: TestClient, db_url: str) -> None:
    engine = create_engine(db_url)
    try:
        with engine.connect() as connection:
            assert connection.execute(text("SELECT version_num FROM alembic_version")).scalar_one() == "0001"
            if engine.dialect.name == "sqlite":
                assert connection.execute(text("PRAGMA journal_mode")).scalar_one() == "wal"
            else:
                assert connection.execute(text("SHOW fsync")).scalar_one() == "on"
                assert connection.execute(text("SHOW synchronous_commit")).scalar_one() == "on"
    finally:
        engine.dispose()
    app = client.app
    with app.state.db.connect() as connection:  # type: ignore[attr-defined]
        if app.state.db.dialect.name == "sqlite":  # type: ignore[attr-defined]
            assert connection.execute(text("PRAGMA synchronous")).scalar_one() == 2  # FULL
