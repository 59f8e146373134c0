"""sessions and sign-in throttling: user_account.session_version, sign_in_throttle

Revision ID: 0003_access
Revises: 0006_processes
"""
import sqlalchemy as sa
from alembic import op

import app.models.base

revision = '0003_access'
down_revision = '0006_processes'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('user_account') as batch:
        batch.add_column(sa.Column('session_version', sa.Integer(), server_default='0', nullable=False))
    op.create_table(
        'sign_in_throttle',
        sa.Column('key', sa.String(length=200), nullable=False),
        sa.Column('failures', sa.Integer(), nullable=False),
        sa.Column('last_at', app.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column('locked_until', app.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint('key', name=op.f('pk_sign_in_throttle')),
    )


def downgrade() -> None:
    op.drop_table('sign_in_throttle')
    with op.batch_alter_table('user_account') as batch:
        batch.drop_column('session_version')
