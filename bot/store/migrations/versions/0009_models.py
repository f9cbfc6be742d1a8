"""Models page: training jobs with their progress, the lock that makes trainings take turns
across processes, and the deployment's own labelled test set.

Revision ID: 0009
Revises: 0008
"""
import sqlalchemy as sa
from alembic import op

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'training_jobs',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('actor', sa.String(length=64), nullable=False),
        sa.Column('state', sa.String(length=16), nullable=False),
        sa.Column('log', sa.Text(), nullable=False),
        sa.Column('model_id', sa.Integer(), nullable=True),
        sa.Column('reasons', sa.JSON(), nullable=True),
        sa.Column('error', sa.Text(), nullable=True),
        sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(['model_id'], ['nlu_models.id'], ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_table(
        'training_lock',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('job_id', sa.Integer(), nullable=True),
        sa.Column('holder', sa.String(length=128), nullable=True),
        sa.Column('heartbeat_at', sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint('id'),
    )
    op.execute("INSERT INTO training_lock (id) VALUES (1)")
    op.create_table(
        'nlu_test_examples',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('intent', sa.String(length=128), nullable=False),
        sa.Column('text', sa.String(length=255), nullable=False),
        sa.Column('created_by', sa.String(length=64), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('text'),
    )


def downgrade() -> None:
    op.drop_table('nlu_test_examples')
    op.drop_table('training_lock')
    op.drop_table('training_jobs')
