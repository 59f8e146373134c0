"""assessment from records: F-20 unit reports, annual targets, visit handling dates (issue #12)

Settings reuse the existing app_setting table (key → JSON value; defaults live in code).

Revision ID: 0005_assess
Revises: 0002_ops
"""
import sqlalchemy as sa
from alembic import op

import app.models.base

revision = '0005_assess'
down_revision = '0002_ops'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'unit_report',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('unit_key', sa.String(length=64), nullable=False),
        sa.Column('unit_name', sa.String(length=128), nullable=False),
        sa.Column('unit_kind', sa.String(length=16), nullable=False),
        sa.Column('region_code', sa.String(length=12), nullable=True),
        sa.Column('period', sa.String(length=7), nullable=False),
        sa.Column('leader_trips', sa.Integer(), nullable=False),
        sa.Column('leader_enterprises_visited', sa.Integer(), nullable=False),
        sa.Column('leader_investors_received', sa.Integer(), nullable=False),
        sa.Column('trips', sa.JSON(), nullable=False),
        sa.Column('work_info', sa.JSON(), nullable=False),
        sa.Column('problems', sa.Text(), nullable=True),
        sa.Column('due_at', app.models.base.UTCDateTime(), nullable=True),
        sa.Column('submitted_at', app.models.base.UTCDateTime(), nullable=False),
        sa.Column('instance_id', sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_unit_report')),
        sa.UniqueConstraint('unit_key', 'period', name='uq_unit_report_unit_period'),
    )
    with op.batch_alter_table('unit_report') as batch:
        batch.create_index('ix_unit_report_region_period', ['region_code', 'period'], unique=False)
        batch.create_index(batch.f('ix_unit_report_period'), ['period'], unique=False)
    op.create_table(
        'assessment_target',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('unit_key', sa.String(length=64), nullable=False),
        sa.Column('year', sa.Integer(), nullable=False),
        sa.Column('funds_target_wan', sa.Float(), nullable=True),
        sa.Column('signed_1e8_target', sa.Integer(), nullable=True),
        sa.Column('note', sa.String(length=256), nullable=True),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_assessment_target')),
        sa.UniqueConstraint('unit_key', 'year', name='uq_assessment_target_unit_year'),
    )
    with op.batch_alter_table('assessment_target') as batch:
        batch.create_index(batch.f('ix_assessment_target_unit_key'), ['unit_key'], unique=False)
    with op.batch_alter_table('visit') as batch:
        batch.add_column(sa.Column('handling_due_at', app.models.base.UTCDateTime(), nullable=True))
        batch.add_column(sa.Column('handled_at', app.models.base.UTCDateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('visit') as batch:
        batch.drop_column('handled_at')
        batch.drop_column('handling_due_at')
    op.drop_table('assessment_target')
    op.drop_table('unit_report')
