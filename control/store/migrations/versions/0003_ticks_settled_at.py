"""settled_at of ticks: the carbon ledger of an hour is booked once the hour is over and measured

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26 09:30:00

Up to 0002 a tick booked its hour's ledger rows when it was finished. Those ticks are settled
already: their ``settled_at`` is set to their ``finished_at`` so the settle step never books
them a second time.
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("ticks") as batch_op:
        batch_op.add_column(sa.Column("settled_at", sa.DateTime(timezone=True), nullable=True))
    op.execute("UPDATE ticks SET settled_at = COALESCE(finished_at, started_at) WHERE status = 'done'")


def downgrade() -> None:
    with op.batch_alter_table("ticks") as batch_op:
        batch_op.drop_column("settled_at")
