"""Customer profiles: people (one consumer behind several customer rows), their tags and note,
customers.person_id, the WeChat unionid looked up per customer, and which accounts are bound to
an open platform.

Revision ID: 0010
Revises: 0009
"""
import sqlalchemy as sa
from alembic import op

revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'people',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('tags', sa.JSON(), nullable=False),
        sa.Column('note', sa.Text(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id'),
    )
    with op.batch_alter_table('customers') as batch:
        batch.add_column(sa.Column('person_id', sa.Integer(), nullable=True))
        batch.add_column(sa.Column('unionid', sa.String(length=64), nullable=True))
        batch.add_column(sa.Column('unionid_state', sa.String(length=8), nullable=True))
        batch.add_column(sa.Column('unionid_attempts', sa.Integer(), server_default='0', nullable=False))
        batch.add_column(sa.Column('unionid_retry_at', sa.DateTime(timezone=True), nullable=True))
        batch.create_foreign_key('fk_customers_person_id', 'people', ['person_id'], ['id'], ondelete='SET NULL')
        batch.create_index('ix_customers_person_id', ['person_id'])
        batch.create_index('ix_customers_unionid', ['unionid'])
    with op.batch_alter_table('accounts') as batch:
        batch.add_column(sa.Column('open_platform', sa.Boolean(), server_default=sa.false(), nullable=False))


def downgrade() -> None:
    with op.batch_alter_table('accounts') as batch:
        batch.drop_column('open_platform')
    with op.batch_alter_table('customers') as batch:
        batch.drop_index('ix_customers_unionid')
        batch.drop_index('ix_customers_person_id')
        batch.drop_constraint('fk_customers_person_id', type_='foreignkey')
        for column in ('unionid_retry_at', 'unionid_attempts', 'unionid_state', 'unionid', 'person_id'):
            batch.drop_column(column)
    op.drop_table('people')
