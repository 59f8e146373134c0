"""perf-sweep: inbox indexes on human_task (due order, named candidates, 已办)

Revision ID: 0007_perf_sweep
Revises: 0002_modeler
"""
import sqlalchemy as sa
from alembic import op

revision = '0007_perf_sweep'
down_revision = '0007_projects'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index('ix_human_task_open_due', 'human_task', ['state', 'due_at', 'created_at', 'id'])
    op.create_index('ix_human_task_named_users', 'human_task', ['state'],
                    sqlite_where=sa.text('candidate_users IS NOT NULL'),
                    postgresql_where=sa.text('candidate_users IS NOT NULL'))
    op.create_index('ix_human_task_named_orgs', 'human_task', ['state', 'lane'],
                    sqlite_where=sa.text('candidate_orgs IS NOT NULL'),
                    postgresql_where=sa.text('candidate_orgs IS NOT NULL'))
    op.create_index('ix_human_task_done', 'human_task', ['completed_by', 'state', 'completed_at'])


def downgrade() -> None:
    op.drop_index('ix_human_task_done', table_name='human_task')
    op.drop_index('ix_human_task_named_orgs', table_name='human_task')
    op.drop_index('ix_human_task_named_users', table_name='human_task')
    op.drop_index('ix_human_task_open_due', table_name='human_task')
