"""named units and people: task candidate orgs/users, the project's team as records, absences (issue #11)

Revision ID: 0004_people
Revises: 0002
"""
import sqlalchemy as sa
from alembic import op

import app.models.base

revision = '0004_people'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('human_task') as batch:
        batch.add_column(sa.Column('candidate_orgs', sa.String(length=1000), nullable=True))
        batch.add_column(sa.Column('candidate_users', sa.String(length=1000), nullable=True))
    with op.batch_alter_table('project') as batch:
        batch.add_column(sa.Column('responsible_org_key', sa.String(length=100), nullable=True))
        batch.add_column(sa.Column('commissioner_username', sa.String(length=100), nullable=True))
        batch.add_column(sa.Column('factor_org_keys', sa.JSON(), nullable=True))
        batch.add_column(sa.Column('supervisor_username', sa.String(length=100), nullable=True))
        batch.add_column(sa.Column('industry', sa.String(length=64), nullable=True))
        batch.add_column(sa.Column('source', sa.String(length=16), nullable=True))
        batch.add_column(sa.Column('created_by', sa.String(length=100), nullable=True))
        batch.create_index('ix_project_responsible_org_key', ['responsible_org_key'])
    op.create_table(
        'user_absence',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('username', sa.String(length=100), nullable=False),
        sa.Column('deputy', sa.String(length=100), nullable=False),
        sa.Column('starts_on', sa.Date(), nullable=False),
        sa.Column('ends_on', sa.Date(), nullable=False),
        sa.Column('created_at', app.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_user_absence_username', 'user_absence', ['username'])


def downgrade() -> None:
    op.drop_index('ix_user_absence_username', table_name='user_absence')
    op.drop_table('user_absence')
    with op.batch_alter_table('project') as batch:
        batch.drop_index('ix_project_responsible_org_key')
        for col in ('created_by', 'source', 'industry', 'supervisor_username', 'factor_org_keys',
                    'commissioner_username', 'responsible_org_key'):
            batch.drop_column(col)
    with op.batch_alter_table('human_task') as batch:
        batch.drop_column('candidate_users')
        batch.drop_column('candidate_orgs')
