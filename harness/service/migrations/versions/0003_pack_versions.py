"""course settings: every pack a course has had (pack_versions), the version that graded each result, regrades

Revision ID: 0003
Revises: 0002
"""
import sqlalchemy as sa
from alembic import op

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('pack_versions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('course_id', sa.Integer(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('pack_text', sa.Text(), nullable=True),
    sa.Column('programs', sa.Text(), nullable=False),
    sa.Column('created_at', sa.Float(), nullable=False),
    sa.Column('note', sa.String(length=200), nullable=False),
    sa.ForeignKeyConstraint(['course_id'], ['courses.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('course_id', 'version', name='uq_pack_version')
    )
    op.create_table('regrades',
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.Column('course_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.Float(), nullable=False),
    sa.Column('submissions', sa.Text(), nullable=False),
    sa.Column('pack_version', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['course_id'], ['courses.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_regrades_course_id'), 'regrades', ['course_id'], unique=False)
    with op.batch_alter_table('courses') as batch:
        batch.add_column(sa.Column('pack_version', sa.Integer(), server_default='1', nullable=False))
    with op.batch_alter_table('submissions') as batch:
        batch.add_column(sa.Column('pack_version', sa.Integer(), nullable=True))
    with op.batch_alter_table('gradings') as batch:
        batch.add_column(sa.Column('pack_version', sa.Integer(), nullable=True))
    # every existing course's pack is its version 1; the results graded before are of no known version
    op.execute("INSERT INTO pack_versions (course_id, version, pack_text, programs, created_at, note) "
               "SELECT id, 1, pack_text, programs, created_at, 'the pack before versions were kept' FROM courses")


def downgrade() -> None:
    with op.batch_alter_table('gradings') as batch:
        batch.drop_column('pack_version')
    with op.batch_alter_table('submissions') as batch:
        batch.drop_column('pack_version')
    with op.batch_alter_table('courses') as batch:
        batch.drop_column('pack_version')
    op.drop_index(op.f('ix_regrades_course_id'), table_name='regrades')
    op.drop_table('regrades')
    op.drop_table('pack_versions')
