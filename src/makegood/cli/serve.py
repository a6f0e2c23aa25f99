"""``makegood serve`` and ``makegood export-history`` (registered by :mod:`makegood.cli.main`).

FastAPI and uvicorn are imported inside the commands so ``makegood --help`` stays quick.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from makegood.cli.common import fail
from makegood.errors import MakegoodError


def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.")] = 8000,
    workers: Annotated[int, typer.Option(help="Worker processes (each loads the model).")] = 1,
    database_url: Annotated[
        str, typer.Option(help="Ledger database: sqlite:///PATH or postgresql+psycopg://...")
    ] = "sqlite:///data/makegood.db",
    database_schema: Annotated[
        str | None, typer.Option(help="PostgreSQL schema for the ledger tables.")
    ] = None,
    models_dir: Annotated[
        Path, typer.Option(help="Folder of model bundles (or one bundle).")
    ] = Path("models"),
    model_version: Annotated[
        str | None, typer.Option(help="Bundle version to serve (default: the latest).")
    ] = None,
    api_keys_file: Annotated[
        Path | None,
        typer.Option(
            help="API keys: JSON {key: role} or key:role lines (also env MAKEGOOD_API_KEYS)."
        ),
    ] = None,
    exploration: Annotated[
        float | None,
        typer.Option(help="Near-tie window in currency for exploration (0: deterministic)."),
    ] = None,
    shadow_price: Annotated[
        float | None, typer.Option(help="Base shadow price of the budget (paced up or down).")
    ] = None,
    log_level: Annotated[str, typer.Option(help="debug, info, warning, error.")] = "info",
) -> None:
    """Serve the agents' next-best-resolution API (FastAPI on uvicorn).

    Example: MAKEGOOD_API_KEYS=secret:agent makegood serve --workers 2 --port 8000
    """
    try:
        import uvicorn

        from makegood.serving.security import ApiKeys
        from makegood.serving.settings import Settings
        from makegood.store.ledger import Ledger

        settings = Settings.from_env(
            database_url=database_url,
            database_schema=database_schema,
            models_dir=models_dir,
            model_version=model_version,
            api_keys_file=api_keys_file,
            exploration=exploration,
            shadow_price=shadow_price,
            log_level=log_level,
        )
        if not len(ApiKeys.load(settings.api_keys, settings.api_keys_file)):
            raise MakegoodError(
                "no API keys configured: set MAKEGOOD_API_KEYS=key:role,... or --api-keys-file"
            )
        # Migrate once, before several workers start (each checks it is at the head).
        with Ledger(settings.database_url, schema=settings.database_schema) as ledger:
            ledger.create_all()
        os.environ.update(settings.to_env())
        os.environ.setdefault("OMP_NUM_THREADS", str(max(settings.num_threads, 1)))
    except MakegoodError as e:
        fail(e)
    config = uvicorn.Config(
        "makegood.serving.app:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level=log_level.lower(),
        access_log=False,  # the app logs route templates, never paths with identifiers
        # a worker answers the supervisor's health pings only once it has imported
        # makegood (pandas, several seconds on a busy machine): uvicorn's 5 s default
        # killed and restarted starting workers in a loop
        timeout_worker_healthcheck=60,
    )
    if workers == 1:
        uvicorn.Server(config).run()
        return
    from uvicorn.supervisors import Multiprocess

    Multiprocess(config, sockets=[_tcp_listener(config.bind_socket())]).run()


def _tcp_listener(sock):
    """The bound listener, re-wrapped so it reports ``proto == IPPROTO_TCP``.

    uvicorn binds the shared socket of ``--workers N`` with proto 0; accepted sockets
    inherit it and asyncio then leaves Nagle's algorithm on, so every keep-alive
    response waits ~40 ms for the client's delayed ACK (Kludex/uvicorn#3149).
    ``socket(fileno=...)`` reads the real protocol back from the kernel.
    """
    import socket

    tcp = socket.socket(fileno=sock.detach())
    tcp.set_inheritable(True)
    return tcp


def export_history(
    output: Annotated[
        Path, typer.Option(help="CSV or Parquet file of the history (contract form).")
    ],
    database_url: Annotated[
        str, typer.Option(help="Ledger database URL.")
    ] = "sqlite:///data/makegood.db",
    database_schema: Annotated[
        str | None, typer.Option(help="PostgreSQL schema of the ledger.")
    ] = None,
) -> None:
    """Write served decisions that have an outcome as complaint history (with
    logging_propensity), ready for `makegood train`.

    Example: makegood export-history --database-url sqlite:///data/makegood.db
    --output data/raw/served.csv
    """
    try:
        from makegood.serving.export import export_history as run

        n, skipped = run(database_url, output, schema=database_schema)
    except MakegoodError as e:
        fail(e)
    typer.echo(
        f"history        {output} ({n} decisions; {skipped} without outcome or final action)"
    )


db_app = typer.Typer(
    help="The service's database (ledger, contacts, cases): migrations.", no_args_is_help=True
)

_DB_URL_HELP = "Service database: sqlite:///PATH or postgresql+psycopg://..."


@db_app.command("upgrade")
def db_upgrade(
    database_url: Annotated[str, typer.Option(help=_DB_URL_HELP)] = "sqlite:///data/makegood.db",
    database_schema: Annotated[
        str | None, typer.Option(help="PostgreSQL schema of the tables (created if missing).")
    ] = None,
) -> None:
    """Bring the database to the newest migration (safe to repeat; `serve` runs it too).

    A database made before migrations existed is adopted: its tables and rows stay.

    Example: makegood db upgrade --database-url sqlite:///data/makegood.db
    """
    try:
        from makegood.store import migrations
        from makegood.store.ledger import make_engine

        engine = make_engine(database_url)
        try:
            before = migrations.current_revision(engine, schema=database_schema)
            migrations.upgrade(engine, schema=database_schema)
            after = migrations.current_revision(engine, schema=database_schema)
        finally:
            engine.dispose()
    except MakegoodError as e:
        fail(e)
    typer.echo(f"database       revision {before or 'none'} -> {after}")


@db_app.command("current")
def db_current(
    database_url: Annotated[str, typer.Option(help=_DB_URL_HELP)] = "sqlite:///data/makegood.db",
    database_schema: Annotated[str | None, typer.Option(help="PostgreSQL schema.")] = None,
) -> None:
    """Print the database's migration revision ('none' before the first upgrade)."""
    try:
        from makegood.store import migrations
        from makegood.store.ledger import make_engine

        engine = make_engine(database_url)
        try:
            rev = migrations.current_revision(engine, schema=database_schema)
        finally:
            engine.dispose()
    except MakegoodError as e:
        fail(e)
    typer.echo(f"database       revision {rev or 'none'} (newest {migrations.HEAD})")
