"""operations: request id on audit events

Revision ID: 0002_ops
Revises: 0004_people
"""
import sqlalchemy as sa
from alembic import op

revision = "0002_ops"
down_revision = "0004_people"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("audit_event", schema=None) as batch_op:
        batch_op.add_column(sa.Column("request_id", sa.String(length=64), nullable=True))
        batch_op.create_index(batch_op.f("ix_audit_event_request_id"), ["request_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("audit_event", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_audit_event_request_id"))
        batch_op.drop_column("request_id")
