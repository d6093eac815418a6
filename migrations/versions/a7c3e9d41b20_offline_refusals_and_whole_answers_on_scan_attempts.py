"""offline refusals and whole answers on scan attempts

Revision ID: a7c3e9d41b20
Revises: 566a2453d567
Create Date: 2026-12-02 05:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'a7c3e9d41b20'
down_revision = '566a2453d567'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('scan_attempts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('offline', sa.Boolean(), server_default=sa.false(), nullable=False))
        batch_op.add_column(sa.Column('answer', sa.JSON(), nullable=True))
        batch_op.create_index('ix_scan_attempts_refused_offline', ['venue_id', 'at'], unique=False,
                              postgresql_where=sa.text('offline AND visit_id IS NULL'),
                              sqlite_where=sa.text('offline AND visit_id IS NULL'))


def downgrade():
    with op.batch_alter_table('scan_attempts', schema=None) as batch_op:
        batch_op.drop_index('ix_scan_attempts_refused_offline',
                            postgresql_where=sa.text('offline AND visit_id IS NULL'),
                            sqlite_where=sa.text('offline AND visit_id IS NULL'))
        batch_op.drop_column('answer')
        batch_op.drop_column('offline')
