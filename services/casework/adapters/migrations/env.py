"""Alembic environment for the case database; the URL comes from the caller's Config."""

from __future__ import annotations

from alembic import context

from services.casework.adapters.db import make_engine
from services.casework.adapters.orm import Base

config = context.config
target_metadata = Base.metadata


def run_migrations_online() -> None:
    url = config.get_main_option("sqlalchemy.url")
    assert url
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            sqlite = connection.dialect.name == "sqlite"
            if sqlite:
                # SQLite alters a table by copying it and dropping the old one (batch mode); with foreign keys
                # enforced, dropping a table other rows refer to fails ("FOREIGN KEY constraint failed": a
                # database with a signed-in user's session could not go past 0010). Off for the migration (the
                # PRAGMA only takes effect outside a transaction: on the driver's own connection), then checked.
                connection.connection.driver_connection.execute("PRAGMA foreign_keys=OFF")  # type: ignore[union-attr]
            context.configure(connection=connection, target_metadata=target_metadata, render_as_batch=sqlite)
            with context.begin_transaction():
                context.run_migrations()
            if sqlite:
                broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
                connection.rollback()
                if broken:
                    raise RuntimeError(f"the migration left {len(broken)} rows whose foreign keys point nowhere "
                                       f"(tables {sorted({row[0] for row in broken})})")
    finally:
        engine.dispose()


run_migrations_online()
