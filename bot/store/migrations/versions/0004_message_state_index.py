"""Index messages by delivery state: the outbox sender's poll for stale pending replies
otherwise reads the whole messages table every few seconds.

Revision ID: 0004
Revises: 0003
"""
from alembic import op

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index('ix_messages_state_created', 'messages', ['state', 'created_at'])


def downgrade() -> None:
    op.drop_index('ix_messages_state_created', table_name='messages')
