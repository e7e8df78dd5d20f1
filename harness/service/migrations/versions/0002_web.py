"""the web pages: browser sessions, drafts (an upload shown before it is graded), a grading's finished checks

Revision ID: 0002
Revises: 0001
"""
import sqlalchemy as sa
from alembic import op

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('web_sessions',
    sa.Column('id_hash', sa.String(length=64), nullable=False),
    sa.Column('token_id', sa.Integer(), nullable=False),
    sa.Column('csrf', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.Float(), nullable=False),
    sa.Column('expires_at', sa.Float(), nullable=False),
    sa.ForeignKeyConstraint(['token_id'], ['tokens.id'], ),
    sa.PrimaryKeyConstraint('id_hash')
    )
    op.create_index(op.f('ix_web_sessions_token_id'), 'web_sessions', ['token_id'], unique=False)
    op.create_table('drafts',
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.Column('student_pk', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.Float(), nullable=False),
    sa.Column('filename', sa.String(length=255), nullable=False),
    sa.Column('data', sa.LargeBinary(), nullable=False),
    sa.ForeignKeyConstraint(['student_pk'], ['students.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_drafts_student_pk'), 'drafts', ['student_pk'], unique=False)
    with op.batch_alter_table('submissions') as batch:
        batch.add_column(sa.Column('finished_checks', sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('submissions') as batch:
        batch.drop_column('finished_checks')
    op.drop_index(op.f('ix_drafts_student_pk'), table_name='drafts')
    op.drop_table('drafts')
    op.drop_index(op.f('ix_web_sessions_token_id'), table_name='web_sessions')
    op.drop_table('web_sessions')
