"""core.postgresql: the kept connection's health check asks the server nothing while the
connection is sound, and still notices one the server has ended. On the tests' private cluster,
so it runs in every mode."""

import time

import psycopg
import pytest
from django.db.utils import ConnectionHandler

from core.env import database_from_url


@pytest.fixture
def wrapper(private_postgres, django_db_blocker):
    """A connection of our backend to the private cluster (not the test database)."""
    handler = ConnectionHandler(
        {"default": database_from_url("DATABASE_URL", private_postgres.env["DATABASE_URL"])}
    )
    connection = handler["default"]
    with django_db_blocker.unblock():
        connection.ensure_connection()
        yield connection
        connection.close()


def last_query_of(private_postgres, pid: int) -> str:
    query = "SELECT query FROM pg_stat_activity WHERE pid = %s"
    with psycopg.connect(private_postgres.cluster.url("kalkula"), autocommit=True) as admin:
        (last,) = admin.execute(query, [pid]).fetchone()
    return last


def test_a_sound_idle_connection_is_usable_without_a_query(wrapper, private_postgres):
    with wrapper.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        (pid,) = cursor.fetchone()

    assert wrapper.is_usable()
    # The stock check would have made "SELECT 1" the backend's last statement.
    assert last_query_of(private_postgres, pid) == "SELECT pg_backend_pid()"


def test_a_connection_the_server_ended_is_not_usable(wrapper, private_postgres):
    with wrapper.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        (pid,) = cursor.fetchone()
    with psycopg.connect(private_postgres.cluster.url("kalkula"), autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", [pid])
        ended = "SELECT NOT EXISTS (SELECT 1 FROM pg_stat_activity WHERE pid = %s)"
        deadline = time.monotonic() + 10
        while not admin.execute(ended, [pid]).fetchone()[0] and time.monotonic() < deadline:
            time.sleep(0.01)

    assert not wrapper.is_usable()
