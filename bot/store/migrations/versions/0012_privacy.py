"""Index the audit log by record (entity, entity_id): the retention purge redacts the text in
the entries about each batch of purged messages and tickets, export and erase find the entries
about a customer's records, and a record's history reads them; without it each of those reads
the whole log.

Revision ID: 0012
Revises: 0011
"""
from alembic import op

revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index('ix_audit_log_entity', 'audit_log', ['entity', 'entity_id'])


def downgrade() -> None:
    op.drop_index('ix_audit_log_entity', table_name='audit_log')
