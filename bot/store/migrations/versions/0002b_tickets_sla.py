"""tickets: SLA policies, business holidays, canned replies, CSAT, auto-assignment

Revision ID: 0002b
Revises: 0001
Create Date: 2026-12-01 22:10:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0002b'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('sla_policies',
    sa.Column('priority', sa.String(length=8), nullable=False),
    sa.Column('first_response_minutes', sa.Integer(), nullable=False),
    sa.Column('resolution_minutes', sa.Integer(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('priority')
    )
    op.create_table('account_holidays',
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('day', sa.String(length=10), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('account_id', 'day')
    )
    op.create_table('canned_replies',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('shortcut', sa.String(length=32), nullable=False),
    sa.Column('title', sa.String(length=128), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('created_by', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('shortcut')
    )
    op.create_table('csat_ratings',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('thread_id', sa.Integer(), nullable=False),
    sa.Column('ticket_id', sa.Integer(), nullable=True),
    sa.Column('agent_id', sa.Integer(), nullable=True),
    sa.Column('rating', sa.Integer(), nullable=True),
    sa.Column('message_id', sa.Integer(), nullable=True),
    sa.Column('requested_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('rated_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['agent_id'], ['agents.id'], ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['message_id'], ['messages.id'], ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['thread_id'], ['threads.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['ticket_id'], ['tickets.id'], ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('csat_ratings', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_csat_ratings_thread_id'), ['thread_id'], unique=False)

    with op.batch_alter_table('accounts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('autoassign_capacity', sa.Integer(), nullable=True))
    with op.batch_alter_table('agents', schema=None) as batch_op:
        batch_op.add_column(sa.Column('last_assigned_at', sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table('threads', schema=None) as batch_op:
        batch_op.add_column(sa.Column('csat_request_id', sa.Integer(), nullable=True))
    with op.batch_alter_table('tickets', schema=None) as batch_op:
        batch_op.add_column(sa.Column('first_response_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('first_response_breached_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('resolution_breached_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('sla_paused_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('sla_paused_seconds', sa.Integer(), nullable=False, server_default='0'))
        # what the breach checker scans: open tickets by due time
        batch_op.create_index('ix_tickets_first_response_due', ['first_response_due'], unique=False)
        batch_op.create_index('ix_tickets_resolution_due', ['resolution_due'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('tickets', schema=None) as batch_op:
        batch_op.drop_index('ix_tickets_resolution_due')
        batch_op.drop_index('ix_tickets_first_response_due')
        batch_op.drop_column('sla_paused_seconds')
        batch_op.drop_column('sla_paused_at')
        batch_op.drop_column('resolution_breached_at')
        batch_op.drop_column('first_response_breached_at')
        batch_op.drop_column('first_response_at')
    with op.batch_alter_table('threads', schema=None) as batch_op:
        batch_op.drop_column('csat_request_id')
    with op.batch_alter_table('agents', schema=None) as batch_op:
        batch_op.drop_column('last_assigned_at')
    with op.batch_alter_table('accounts', schema=None) as batch_op:
        batch_op.drop_column('autoassign_capacity')
    with op.batch_alter_table('csat_ratings', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_csat_ratings_thread_id'))
    op.drop_table('csat_ratings')
    op.drop_table('canned_replies')
    op.drop_table('account_holidays')
    op.drop_table('sla_policies')
