"""Store identity, refused intents and job deadline status

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03 14:30:00

``store_identity`` holds one row written when the store is created explicitly (``codispatch
init``); every transaction checks it, so a deleted or replaced store is refused instead of being
recreated empty. ``intents.error`` keeps the workload manager's message of a refused intent
(status ``failed``); ``jobs.deadline_status`` (on_time | at_risk | late) and ``jobs.note`` (why
the job is failed, expired, at risk or late) are set by the tick.
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "store_identity",
        sa.Column("name", sa.String(), primary_key=True),
        sa.Column("store_id", sa.String(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(), nullable=False),
    )
    with op.batch_alter_table("intents") as batch_op:
        batch_op.add_column(sa.Column("error", sa.String(), nullable=False, server_default=""))
    with op.batch_alter_table("jobs") as batch_op:
        batch_op.add_column(sa.Column("deadline_status", sa.String(), nullable=False, server_default="on_time"))
        batch_op.add_column(sa.Column("note", sa.String(), nullable=False, server_default=""))


def downgrade() -> None:
    with op.batch_alter_table("jobs") as batch_op:
        batch_op.drop_column("note")
        batch_op.drop_column("deadline_status")
    with op.batch_alter_table("intents") as batch_op:
        batch_op.drop_column("error")
    op.drop_table("store_identity")
