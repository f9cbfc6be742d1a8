"""agent inbox: logins, sessions, API tokens, account membership, change notifications

Revision ID: 0002a
Revises: 0001
Create Date: 2026-12-01 22:15:00

On PostgreSQL, triggers NOTIFY `carebot_events` when the inbox or a thread's messages change,
whichever process or code path made the change (webhooks, the outbox sender, agents), and only
when the transaction commits; every `carebot serve` process LISTENs (bot/desk/events.py).
"""
from alembic import op
import sqlalchemy as sa


revision = '0002a'
down_revision = '0001'
branch_labels = None
depends_on = None

NOTIFY_FUNCTION = """
CREATE OR REPLACE FUNCTION carebot_notify_{topic}() RETURNS trigger AS $$
BEGIN
    PERFORM pg_notify('carebot_events', json_build_object(
        'topic', '{topic}', 'thread_id', NEW.thread_id,
        'account_id', (SELECT account_id FROM threads WHERE id = NEW.thread_id))::text);
    RETURN NEW;
END;
$$ LANGUAGE plpgsql
"""
# topic, table, when: inbox rows on any change, messages when added or their delivery state moves
TRIGGERS = (("inbox", "inbox", "AFTER INSERT OR UPDATE"),
            ("thread", "messages", "AFTER INSERT OR UPDATE OF state"))


def upgrade() -> None:
    with op.batch_alter_table('agents', schema=None) as batch_op:
        batch_op.add_column(sa.Column('failed_logins', sa.Integer(), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('locked_until', sa.DateTime(timezone=True), nullable=True))
    op.create_table('agent_accounts',
    sa.Column('agent_id', sa.Integer(), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['agent_id'], ['agents.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('agent_id', 'account_id')
    )
    op.create_table('agent_sessions',
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('agent_id', sa.Integer(), nullable=False),
    sa.Column('csrf_token', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['agent_id'], ['agents.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('agent_sessions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_agent_sessions_agent_id'), ['agent_id'], unique=False)
    op.create_table('api_tokens',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('agent_id', sa.Integer(), nullable=False),
    sa.Column('label', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['agent_id'], ['agents.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('token_hash')
    )
    with op.batch_alter_table('api_tokens', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_api_tokens_agent_id'), ['agent_id'], unique=False)
    with op.batch_alter_table('inbox', schema=None) as batch_op:
        batch_op.create_index('ix_inbox_thread', ['thread_id'], unique=False)
    if op.get_bind().dialect.name == 'postgresql':
        for topic, table, when in TRIGGERS:
            op.execute(NOTIFY_FUNCTION.format(topic=topic))
            op.execute(f"CREATE TRIGGER {table}_notify {when} ON {table} "
                       f"FOR EACH ROW EXECUTE FUNCTION carebot_notify_{topic}()")


def downgrade() -> None:
    if op.get_bind().dialect.name == 'postgresql':
        for topic, table, _ in TRIGGERS:
            op.execute(f"DROP TRIGGER IF EXISTS {table}_notify ON {table}")
            op.execute(f"DROP FUNCTION IF EXISTS carebot_notify_{topic}()")
    with op.batch_alter_table('inbox', schema=None) as batch_op:
        batch_op.drop_index('ix_inbox_thread')
    with op.batch_alter_table('api_tokens', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_api_tokens_agent_id'))
    op.drop_table('api_tokens')
    with op.batch_alter_table('agent_sessions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_agent_sessions_agent_id'))
    op.drop_table('agent_sessions')
    op.drop_table('agent_accounts')
    with op.batch_alter_table('agents', schema=None) as batch_op:
        batch_op.drop_column('locked_until')
        batch_op.drop_column('failed_logins')
