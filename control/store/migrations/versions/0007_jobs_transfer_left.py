"""transfer_left_h of jobs: checkpoint-transfer time a job still waits at its site

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03 14:40:00

A job that moves waits for its checkpoint before it works (the booking rule of
``control.accounting.booking``, the same in the simulation); a transfer longer than an hour
carries over to the job's next hour, so the store keeps what is left. Jobs stored before start
with nothing left to wait.
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("jobs") as batch_op:
        batch_op.add_column(sa.Column("transfer_left_h", sa.Float(), nullable=False, server_default="0"))


def downgrade() -> None:
    with op.batch_alter_table("jobs") as batch_op:
        batch_op.drop_column("transfer_left_h")
