"""The training gate: a model held back as worse than the active one is a candidate, with the
gate's reasons, until an admin activates it.

Revision ID: 0006
Revises: 0005
"""
import sqlalchemy as sa
from alembic import op

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('nlu_models', schema=None) as batch_op:
        batch_op.add_column(sa.Column('candidate', sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.add_column(sa.Column('gate_reasons', sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('nlu_models', schema=None) as batch_op:
        batch_op.drop_column('gate_reasons')
        batch_op.drop_column('candidate')
