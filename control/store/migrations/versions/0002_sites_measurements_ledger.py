"""sites, measurements, carbon ledger; outcome and attempts of intents

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24 10:55:00
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

_str = sqlmodel.sql.sqltypes.AutoString


def upgrade() -> None:
    op.create_table(
        "sites",
        sa.Column("name", _str(), nullable=False),
        sa.Column("region", _str(), nullable=False),
        sa.Column("gpu_model", _str(), nullable=False),
        sa.Column("gpu_count", sa.Integer(), nullable=False),
        sa.Column("pue", sa.Float(), nullable=False),
        sa.Column("partition", _str(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name"),
    )
    op.create_table(
        "measurements",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("site", _str(), nullable=False),
        sa.Column("green_mw", sa.Float(), nullable=False),
        sa.Column("ci_g_per_kwh", sa.Float(), nullable=False),
        sa.Column("source", _str(), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("time", "site", name="uq_measurements_time_site"),
    )
    with op.batch_alter_table("measurements") as batch_op:
        batch_op.create_index(batch_op.f("ix_measurements_site"), ["site"], unique=False)
    op.create_table(
        "carbon_ledger",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("job_id", _str(), nullable=False),
        sa.Column("site", _str(), nullable=False),
        sa.Column("gpus", sa.Integer(), nullable=False),
        sa.Column("it_energy_mwh", sa.Float(), nullable=False),
        sa.Column("facility_energy_mwh", sa.Float(), nullable=False),
        sa.Column("green_used_mwh", sa.Float(), nullable=False),
        sa.Column("grid_energy_mwh", sa.Float(), nullable=False),
        sa.Column("ci_g_per_kwh", sa.Float(), nullable=False),
        sa.Column("emissions_t", sa.Float(), nullable=False),
        sa.Column("basis", _str(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("time", "job_id", name="uq_carbon_ledger_time_job"),
    )
    with op.batch_alter_table("carbon_ledger") as batch_op:
        batch_op.create_index(batch_op.f("ix_carbon_ledger_job_id"), ["job_id"], unique=False)
    with op.batch_alter_table("intents") as batch_op:
        batch_op.add_column(sa.Column("outcome", _str(), nullable=False, server_default=""))
        batch_op.add_column(sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"))


def downgrade() -> None:
    with op.batch_alter_table("intents") as batch_op:
        batch_op.drop_column("attempts")
        batch_op.drop_column("outcome")
    with op.batch_alter_table("carbon_ledger") as batch_op:
        batch_op.drop_index(batch_op.f("ix_carbon_ledger_job_id"))
    op.drop_table("carbon_ledger")
    with op.batch_alter_table("measurements") as batch_op:
        batch_op.drop_index(batch_op.f("ix_measurements_site"))
    op.drop_table("measurements")
    op.drop_table("sites")
