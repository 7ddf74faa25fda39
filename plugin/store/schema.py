"""The tables (SQLAlchemy Core). Changing them means a new migration in plugin/store/migrations/versions/."""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, DateTime, ForeignKey, Index, Integer, MetaData, String, Table, Text

metadata = MetaData()

cds_card = Table(
    "cds_card", metadata,
    Column("uuid", String(64), primary_key=True),
    Column("suggestion_uuid", String(64), nullable=False),
    Column("service_id", String(200), nullable=False),
    Column("hook_instance", String(200), nullable=False),
    Column("pack_id", String(200), nullable=False),
    Column("pack_version", String(50), nullable=False),
    Column("indicator", String(20), nullable=False),
    Column("issued_at", DateTime(timezone=True), nullable=False),
)

cds_card_diagnosis = Table(
    "cds_card_diagnosis", metadata,
    Column("card_uuid", String(64), ForeignKey("cds_card.uuid", ondelete="CASCADE"), primary_key=True),
    Column("diagnosis_id", String(200), primary_key=True),
    Column("rank", Integer, nullable=False),
    Column("display", Text, nullable=False),
)

cds_card_clue = Table(
    "cds_card_clue", metadata,
    Column("card_uuid", String(64), ForeignKey("cds_card.uuid", ondelete="CASCADE"), primary_key=True),
    Column("diagnosis_id", String(200), primary_key=True),
    Column("clue_id", String(200), primary_key=True),
    Column("effect", String(20), nullable=False),
)

cds_feedback = Table(
    "cds_feedback", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("card_uuid", String(64), ForeignKey("cds_card.uuid", ondelete="CASCADE"), nullable=False, index=True),
    Column("outcome", String(20), nullable=False),
    Column("accepted_suggestions", Text, nullable=False),  # JSON list of suggestion uuids
    Column("reason_system", Text),
    Column("reason_code", Text),
    Column("reason_display", Text),
    Column("user_comment", Text),
    Column("outcome_timestamp", DateTime(timezone=True), nullable=False),
    Column("received_at", DateTime(timezone=True), nullable=False),
)

seen_jti = Table(
    "seen_jti", metadata,
    Column("id", String(64), primary_key=True),  # sha256 of issuer NUL jti
    Column("expires", BigInteger, nullable=False),
    Index("seen_jti_expires", "expires"),
)
