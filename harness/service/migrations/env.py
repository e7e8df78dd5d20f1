"""Alembic's entry: migrate the connection that ``netgrade.service.db.upgrade`` hands over."""
from alembic import context
from netgrade.service.models import Base

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=Base.metadata,
                  render_as_batch=connection.dialect.name == "sqlite")
with context.begin_transaction():
    context.run_migrations()
