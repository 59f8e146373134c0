"""projects branch (issue #12): project_evidence (stage evidence), project_claim (揭牌认领, one per project)

Revision ID: 0007_projects
Revises: 0002_modeler
"""
import sqlalchemy as sa
from alembic import op

import app.models.base

revision = '0007_projects'
down_revision = '0002_modeler'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('project_claim',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('project_id', sa.Integer(), nullable=False),
    sa.Column('org_unit_id', sa.Integer(), nullable=False),
    sa.Column('claimed_by', sa.String(length=100), nullable=False),
    sa.Column('claim_reason', sa.Text(), nullable=True),
    sa.Column('approach', sa.Text(), nullable=True),
    sa.Column('target_sign_date', sa.Date(), nullable=True),
    sa.Column('commissioner_name', sa.String(length=64), nullable=True),
    sa.Column('contact_mobile', sa.String(length=32), nullable=True),
    sa.Column('instance_id', sa.Integer(), nullable=True),
    sa.Column('created_at', app.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['org_unit_id'], ['org_unit.id'], name=op.f('fk_project_claim_org_unit_id_org_unit')),
    sa.ForeignKeyConstraint(['project_id'], ['project.id'], name=op.f('fk_project_claim_project_id_project')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_project_claim')),
    sa.UniqueConstraint('project_id', name=op.f('uq_project_claim_project_id'))
    )
    with op.batch_alter_table('project_claim', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_project_claim_org_unit_id'), ['org_unit_id'], unique=False)

    op.create_table('project_evidence',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('project_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('number', sa.String(length=64), nullable=True),
    sa.Column('issued_on', sa.Date(), nullable=True),
    sa.Column('attachment', sa.String(length=64), nullable=True),
    sa.Column('stage', sa.String(length=16), nullable=True),
    sa.Column('source', sa.String(length=16), nullable=False),
    sa.Column('instance_id', sa.Integer(), nullable=True),
    sa.Column('created_by', sa.String(length=100), nullable=True),
    sa.Column('created_at', app.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['project_id'], ['project.id'], name=op.f('fk_project_evidence_project_id_project')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_project_evidence'))
    )
    with op.batch_alter_table('project_evidence', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_project_evidence_kind'), ['kind'], unique=False)
        batch_op.create_index(batch_op.f('ix_project_evidence_project_id'), ['project_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('project_evidence', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_project_evidence_project_id'))
        batch_op.drop_index(batch_op.f('ix_project_evidence_kind'))

    op.drop_table('project_evidence')
    with op.batch_alter_table('project_claim', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_project_claim_org_unit_id'))

    op.drop_table('project_claim')
