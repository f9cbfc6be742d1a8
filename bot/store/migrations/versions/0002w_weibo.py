"""weibo: whether a thread's last customer message was public (a mention)

Revision ID: 0002w
Revises: 0001
"""
from alembic import op
import sqlalchemy as sa


revision = '0002w'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('threads', schema=None) as batch_op:
        batch_op.add_column(sa.Column('last_inbound_public', sa.Boolean(), nullable=False,
                                      server_default=sa.text('false')))


def downgrade() -> None:
    with op.batch_alter_table('threads', schema=None) as batch_op:
        batch_op.drop_column('last_inbound_public')
