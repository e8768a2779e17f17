"""`ketenhub ledger migrate --config FILE`: the store of a node's configuration migrated by hand, as
every node does at start; on SQLite and on the PostgreSQL server `make test` starts
(KETENHUB_TEST_POSTGRES_URL). A store migrated by a newer version is refused, by the command and by
`serve`, naming the migrations it does not know."""
import json
import os
import sqlite3
import subprocess
import uuid

import pytest

from nodes import BINARY, ROOT

POSTGRES = os.environ.get("KETENHUB_TEST_POSTGRES_URL")


def config(tmp_path, store):
    path = tmp_path / "node.yaml"
    path.write_text(f"""\
node: migrate-test
roles: [ledger]
kafka: {{bootstrapServers: 127.0.0.1:1}}
store: "{store}"
http: {{listen: 127.0.0.1:0}}
""")
    return path


def migrate(path):
    return subprocess.run([BINARY, "ledger", "migrate", "--config", str(path)], capture_output=True, text=True, timeout=60, cwd=ROOT)


def psql(url, sql):
    base, _, query = url.partition("?")
    schema = dict(item.split("=", 1) for item in query.split("&") if item).get("schema")
    statement = (f'SET search_path TO "{schema}"; ' if schema else "") + sql
    subprocess.run(["psql", base, "-v", "ON_ERROR_STOP=1", "-qc", statement], check=True, capture_output=True, text=True, timeout=30)


def stores(tmp_path):
    yield "sqlite", f"sqlite:{tmp_path / 'ledger.sqlite'}"
    if POSTGRES:
        yield "postgres", f"{POSTGRES}&schema=py_{uuid.uuid4().hex[:12]}"


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_migrate_applies_each_migration_once_and_refuses_a_newer_schema(tmp_path, backend):
    if backend == "postgres" and not POSTGRES:
        if "postgres" in os.environ.get("KETENHUB_TEST_BACKENDS", "sqlite,postgres"):
            pytest.fail("no PostgreSQL for the tests: run them with `make test` (scripts/with-postgres.sh)")
        pytest.skip("KETENHUB_TEST_BACKENDS leaves PostgreSQL out")
    store = dict(stores(tmp_path))[backend]
    path = config(tmp_path, store)

    first = migrate(path)
    assert first.returncode == 0, first.stderr
    answer = json.loads(first.stdout)
    assert answer["backend"] == backend
    assert answer["applied"] == answer["schema"] and "v8-retention" in answer["schema"], answer

    again = migrate(path)
    assert again.returncode == 0 and json.loads(again.stdout)["applied"] == [], again.stdout + again.stderr

    # A newer version of the hub migrated it further: this one does not touch it.
    if backend == "sqlite":
        with sqlite3.connect(tmp_path / "ledger.sqlite") as database:
            database.execute("INSERT INTO grdb_migrations (identifier) VALUES ('v99-from-the-future')")
    else:
        psql(store, "INSERT INTO ketenhub_migrations (id, applied_at) VALUES ('v99-from-the-future', now()::text)")
    refused = migrate(path)
    assert refused.returncode == 2, refused.stdout + refused.stderr
    assert "newer than this version of ketenhub" in refused.stderr and "v99-from-the-future" in refused.stderr, refused.stderr
    served = subprocess.run([BINARY, "serve", "--config", str(path)], capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert served.returncode != 0 and "v99-from-the-future" in served.stderr, served.stderr


def test_a_password_in_the_store_url_is_refused_without_repeating_it(tmp_path):
    path = config(tmp_path, "postgres://hub:geheim-wachtwoord@db.example/hub")
    result = migrate(path)
    assert result.returncode == 2
    assert "storePassword" in result.stderr and "geheim" not in result.stderr + result.stdout
