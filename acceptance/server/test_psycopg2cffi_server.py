"""psycopg2cffi against the PostgreSQL server the suite started (PG* variables).

The sdist of psycopg2cffi ships only tests that need no server; these run
its cffi module against a real one: connections, parameters and types,
server errors, COPY, notices (a callback from libpq), LISTEN/NOTIFY,
asynchronous connections and threads.
"""

import threading

import psycopg2cffi
import psycopg2cffi.extensions
import pytest


@pytest.fixture
def conn():
    c = psycopg2cffi.connect("")
    yield c
    c.close()


def test_select_types(conn):
    cur = conn.cursor()
    cur.execute("select %s::int, %s::text, %s::float8, null", (42, "é", 1.5))
    assert cur.fetchone() == (42, "é", 1.5, None)
    cur.execute("select %s::bytea", (psycopg2cffi.Binary(b"\0x"),))
    assert bytes(cur.fetchone()[0]) == b"\0x"
    cur.execute("select 1 + 1")
    assert cur.fetchone() == (2,)


def test_table_roundtrip(conn):
    cur = conn.cursor()
    cur.execute("create temp table t (id serial primary key, name text, n numeric)")
    cur.executemany("insert into t (name, n) values (%s, %s)", [(f"n{i}", i) for i in range(100)])
    cur.execute("select count(*), sum(n) from t")
    count, total = cur.fetchone()
    assert count == 100 and int(total) == 4950


def test_server_error(conn):
    cur = conn.cursor()
    with pytest.raises(psycopg2cffi.ProgrammingError) as e:
        cur.execute("select * from no_such_table")
    assert e.value.pgcode == "42P01"
    conn.rollback()


def test_copy(conn):
    import io

    cur = conn.cursor()
    cur.execute("create temp table c (a int, b text)")
    cur.copy_from(io.StringIO("1\tx\n2\ty\n"), "c")
    out = io.StringIO()
    cur.copy_to(out, "c")
    assert out.getvalue() == "1\tx\n2\ty\n"


def test_notices(conn):
    cur = conn.cursor()
    cur.execute("do $$ begin raise notice 'hello from the server'; end $$")
    assert any("hello from the server" in n for n in conn.notices)


def test_listen_notify(conn):
    conn.autocommit = True
    cur = conn.cursor()
    cur.execute("listen chan")
    cur.execute("notify chan, 'payload'")
    conn.poll()
    assert [(n.channel, n.payload) for n in conn.notifies] == [("chan", "payload")]


def test_threads():
    errors = []

    def work(i):
        try:
            c = psycopg2cffi.connect("")
            cur = c.cursor()
            for j in range(50):
                cur.execute("select %s * %s", (i, j))
                assert cur.fetchone() == (i * j,)
            c.close()
        except Exception as e:  # noqa: BLE001
            errors.append(e)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []


def test_async_connection():
    import select

    c = psycopg2cffi.connect("", async_=True)
    while True:
        state = c.poll()
        if state == psycopg2cffi.extensions.POLL_OK:
            break
        if state == psycopg2cffi.extensions.POLL_READ:
            select.select([c.fileno()], [], [], 5)
        else:
            select.select([], [c.fileno()], [], 5)
    cur = c.cursor()
    cur.execute("select 7")
    while c.poll() != psycopg2cffi.extensions.POLL_OK:
        select.select([c.fileno()], [], [], 5)
    assert cur.fetchone() == (7,)
    c.close()
