"""Issued CDS cards (with their ranked diagnoses and the clues behind each), feedback, and seen JWT ids.

Revision ID: 0001
Revises: none
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "cds_card",
        sa.Column("uuid", sa.String(64), primary_key=True),
        sa.Column("suggestion_uuid", sa.String(64), nullable=False),
        sa.Column("service_id", sa.String(200), nullable=False),
        sa.Column("hook_instance", sa.String(200), nullable=False),
        sa.Column("pack_id", sa.String(200), nullable=False),
        sa.Column("pack_version", sa.String(50), nullable=False),
        sa.Column("indicator", sa.String(20), nullable=False),
        sa.Column("issued_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "cds_card_diagnosis",
        sa.Column("card_uuid", sa.String(64), sa.ForeignKey("cds_card.uuid", ondelete="CASCADE"), primary_key=True),
        sa.Column("diagnosis_id", sa.String(200), primary_key=True),
        sa.Column("rank", sa.Integer, nullable=False),
        sa.Column("display", sa.Text, nullable=False),
    )
    op.create_table(
        "cds_card_clue",
        sa.Column("card_uuid", sa.String(64), sa.ForeignKey("cds_card.uuid", ondelete="CASCADE"), primary_key=True),
        sa.Column("diagnosis_id", sa.String(200), primary_key=True),
        sa.Column("clue_id", sa.String(200), primary_key=True),
        sa.Column("effect", sa.String(20), nullable=False),
    )
    op.create_table(
        "cds_feedback",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("card_uuid", sa.String(64), sa.ForeignKey("cds_card.uuid", ondelete="CASCADE"), nullable=False),
        sa.Column("outcome", sa.String(20), nullable=False),
        sa.Column("accepted_suggestions", sa.Text, nullable=False),
        sa.Column("reason_system", sa.Text),
        sa.Column("reason_code", sa.Text),
        sa.Column("reason_display", sa.Text),
        sa.Column("user_comment", sa.Text),
        sa.Column("outcome_timestamp", sa.DateTime(timezone=True), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_cds_feedback_card_uuid", "cds_feedback", ["card_uuid"])
    op.create_table(
        "seen_jti",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("expires", sa.BigInteger, nullable=False),
    )
    op.create_index("seen_jti_expires", "seen_jti", ["expires"])


def downgrade() -> None:
    for table in ("seen_jti", "cds_feedback", "cds_card_clue", "cds_card_diagnosis", "cds_card"):
        op.drop_table(table)
