"""modeler: change note on process versions

Revision ID: 0002_modeler
Revises: 0003_access
"""
import sqlalchemy as sa
from alembic import op

revision = '0002_modeler'
down_revision = '0003_access'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('process_version', schema=None) as batch_op:
        batch_op.add_column(sa.Column('change_note', sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('process_version', schema=None) as batch_op:
        batch_op.drop_column('change_note')
