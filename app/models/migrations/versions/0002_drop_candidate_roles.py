"""drop human_task.candidate_roles (written, never read: a lane's candidates are resolved at runtime)

Revision ID: 0002
Revises: 0001
"""
import sqlalchemy as sa
from alembic import op

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('human_task') as batch:
        batch.drop_column('candidate_roles')


def downgrade() -> None:
    with op.batch_alter_table('human_task') as batch:
        batch.add_column(sa.Column('candidate_roles', sa.JSON(), nullable=True))
