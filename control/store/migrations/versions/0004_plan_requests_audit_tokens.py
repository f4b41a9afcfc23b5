"""whole plan per tick (plan_hours, plan_sites), tick details, explanations, operator requests,
audit log and API tokens

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-03 14:30:00
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

_str = sqlmodel.sql.sqltypes.AutoString


def _utc(name: str, nullable: bool = False) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "plan_hours",
        sa.Column("id", sa.Integer(), nullable=False), _utc("tick_time"), _utc("hour"),
        sa.Column("job_id", _str(), nullable=False), sa.Column("site", _str(), nullable=False),
        sa.Column("gpus", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_plan_hours_job_id", "plan_hours", ["job_id"])
    op.create_index("ix_plan_hours_tick_time", "plan_hours", ["tick_time"])
    op.create_table(
        "plan_sites",
        sa.Column("id", sa.Integer(), nullable=False), _utc("tick_time"), _utc("hour"),
        sa.Column("site", _str(), nullable=False),
        *[sa.Column(c, sa.Float(), nullable=False) for c in ("gpus", "load_mw", "green_forecast_mw", "green_used_mw",
                                                             "grid_mw", "export_mw", "import_limit_mw",
                                                             "ci_g_per_kwh")],
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_plan_sites_tick_time", "plan_sites", ["tick_time"])
    op.create_table(
        "tick_details",
        _utc("tick_time"),
        *[sa.Column(c, sa.Float(), nullable=False) for c in ("build_s", "solve_s", "plan_s")],
        sa.Column("objective", sa.Float(), nullable=True), sa.Column("forecast_method", _str(), nullable=False),
        sa.PrimaryKeyConstraint("tick_time"),
    )
    op.create_table(
        "explanations",
        sa.Column("id", sa.Integer(), nullable=False), _utc("tick_time"),
        sa.Column("job_id", _str(), nullable=False), sa.Column("decision", _str(), nullable=False),
        sa.Column("site", _str(), nullable=False), sa.Column("summary", _str(), nullable=False),
        sa.Column("factors", _str(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_explanations_job_id", "explanations", ["job_id"])
    op.create_index("ix_explanations_tick_time", "explanations", ["tick_time"])
    op.create_table(
        "requests",
        sa.Column("id", sa.Integer(), nullable=False), sa.Column("kind", _str(), nullable=False),
        sa.Column("job_id", _str(), nullable=False), sa.Column("site", _str(), nullable=False),
        sa.Column("payload", _str(), nullable=False), sa.Column("status", _str(), nullable=False),
        sa.Column("requested_by", _str(), nullable=False), _utc("created_at"), _utc("applied_at", True),
        _utc("applied_tick", True), sa.Column("outcome", _str(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_requests_status", "requests", ["status"])
    op.create_table(
        "audit_log",
        sa.Column("id", sa.Integer(), nullable=False), _utc("at"),
        sa.Column("actor", _str(), nullable=False), sa.Column("role", _str(), nullable=False),
        sa.Column("action", _str(), nullable=False), sa.Column("target", _str(), nullable=False),
        sa.Column("detail", _str(), nullable=False), sa.Column("result", _str(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "api_tokens",
        sa.Column("name", _str(), nullable=False), sa.Column("role", _str(), nullable=False),
        sa.Column("token_sha256", _str(), nullable=False), _utc("created_at"), _utc("revoked_at", True),
        sa.PrimaryKeyConstraint("name"), sa.UniqueConstraint("token_sha256"),
    )
    op.create_index("ix_jobs_state", "jobs", ["state"])
    op.create_index("ix_ticks_status", "ticks", ["status"])


def downgrade() -> None:
    op.drop_index("ix_ticks_status", "ticks")
    op.drop_index("ix_jobs_state", "jobs")
    for table in ("api_tokens", "audit_log", "requests", "explanations", "tick_details", "plan_sites", "plan_hours"):
        op.drop_table(table)
