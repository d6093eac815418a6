"""offline conflicts on visits

Revision ID: 653443917407
Revises: 1236f0f1e7a8
Create Date: 2026-11-27 20:23:21.847450

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '653443917407'
down_revision = '1236f0f1e7a8'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('visits', schema=None) as batch_op:
        batch_op.add_column(sa.Column('conflict', sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column('conflict_resolution', sa.String(length=8), nullable=True))
        batch_op.add_column(sa.Column('conflict_resolved_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('conflict_resolved_by_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('verified', sa.Boolean(), server_default=sa.true(), nullable=False))
        batch_op.create_index(batch_op.f('ix_visits_conflict'), ['conflict'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_visits_conflict_resolved_by_id_users'), 'users', ['conflict_resolved_by_id'], ['id'])
        batch_op.create_check_constraint('annul_reason_allowed', "annul_reason IS NULL OR annul_reason IN ('mistake', 'wrong_card', 'wrong_tickets', 'conflict', 'other')")
        batch_op.create_check_constraint('conflict_resolution_allowed', "conflict_resolution IS NULL OR conflict_resolution IN ('keep', 'annul')")



def downgrade():
    with op.batch_alter_table('visits', schema=None) as batch_op:
        batch_op.drop_constraint('conflict_resolution_allowed', type_='check')
        batch_op.drop_constraint('annul_reason_allowed', type_='check')
        batch_op.drop_constraint(batch_op.f('fk_visits_conflict_resolved_by_id_users'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_visits_conflict'))
        batch_op.drop_column('verified')
        batch_op.drop_column('conflict_resolved_by_id')
        batch_op.drop_column('conflict_resolved_at')
        batch_op.drop_column('conflict_resolution')
        batch_op.drop_column('conflict')

