"""Join the agent inbox, tickets/SLA and Weibo branches, which were written side by side.

Revision ID: 0003
Revises: 0002a, 0002b, 0002w
"""
revision = '0003'
down_revision = ('0002a', '0002b', '0002w')
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Nothing to change: the branches touch different columns and tables."""


def downgrade() -> None:
    """Nothing to undo."""
