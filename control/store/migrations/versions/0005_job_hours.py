"""job_hours: what each job really did in each hour (work, energy, GPUs, state, source)

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-03 14:40:00
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

_str = sqlmodel.sql.sqltypes.AutoString


def upgrade() -> None:
    op.create_table(
        "job_hours",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("job_id", _str(), nullable=False),
        sa.Column("site", _str(), nullable=False),
        sa.Column("gpus", sa.Integer(), nullable=False),
        sa.Column("work_gpu_h", sa.Float(), nullable=False),
        sa.Column("it_energy_mwh", sa.Float(), nullable=False),
        sa.Column("facility_energy_mwh", sa.Float(), nullable=False),
        sa.Column("transfer_left_h", sa.Float(), nullable=False),
        sa.Column("migrated", sa.Boolean(), nullable=False),
        sa.Column("state", _str(), nullable=False),
        sa.Column("source", _str(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("time", "job_id", name="uq_job_hours_time_job"),
    )
    op.create_index("ix_job_hours_job_id", "job_hours", ["job_id"])


def downgrade() -> None:
    op.drop_index("ix_job_hours_job_id", table_name="job_hours")
    op.drop_table("job_hours")
