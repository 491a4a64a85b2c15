"""The PostgreSQL wire-protocol front of the CockroachDB stand-in, driven by the real psycopg 3
client (and, for what psycopg never sends, a hand-written client) over loopback.

The backend here is a small one of the test's own: SQLite in memory per session (``$n`` becomes
``?n``), plus an echo of its parameters (``SELECT $1::bool, $2``) that shows what the front decoded
and how it encodes each type, CockroachDB's ``crdb_internal.force_error`` and a statement that
makes the backend crash.
"""

from __future__ import annotations

import contextlib
import datetime
import decimal
import ipaddress
import re
import select
import socket
import sqlite3
import ssl
import struct
import threading

import psycopg
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from mc_sandbox.crdb import pgwire
from mc_sandbox.crdb.pgwire import PgServer, Result, SqlError, split_statements
from psycopg import pq
from psycopg.types.json import Jsonb
from support import wait_until

CASTS = {
    "bool": pgwire.BOOL,
    "int2": pgwire.INT2,
    "int4": pgwire.INT4,
    "int8": pgwire.INT8,
    "float4": pgwire.FLOAT4,
    "float8": pgwire.FLOAT8,
    "numeric": pgwire.NUMERIC,
    "text": pgwire.TEXT,
    "bytea": pgwire.BYTEA,
    "jsonb": pgwire.JSONB,
    "date": pgwire.DATE,
    "timestamp": pgwire.TIMESTAMP,
    "timestamptz": pgwire.TIMESTAMPTZ,
    "uuid": pgwire.UUID,
}
ECHO = re.compile(r"select\s+(\$\d+(?:::\w+)?(?:\s*,\s*\$\d+(?:::\w+)?)*)", re.IGNORECASE)
FORCE_ERROR = re.compile(r"select\s+crdb_internal\.force_error\('(\w{5})',\s*'([^']*)'\)", re.IGNORECASE)
SECRET = "hunter2-do-not-leak"


def infer_oid(value):
    for kind, oid in (
        (bool, pgwire.BOOL),
        (int, pgwire.INT8),
        (float, pgwire.FLOAT8),
        (decimal.Decimal, pgwire.NUMERIC),
        (bytes, pgwire.BYTEA),
        (datetime.datetime, pgwire.TIMESTAMPTZ if getattr(value, "tzinfo", None) else pgwire.TIMESTAMP),
        (datetime.date, pgwire.DATE),
        (dict | list, pgwire.JSONB),
    ):
        if isinstance(value, kind):
            return oid
    return pgwire.TEXT


def common_name(cert):
    return dict(pair for rdn in cert["subject"] for pair in rdn).get("commonName")


class Session:
    def __init__(self, backend, user, options):
        self.backend = backend
        self.user = user
        self.options = options
        self.transaction_status = "I"
        self.closed = False
        self.db = sqlite3.connect(":memory:", isolation_level=None, check_same_thread=False)

    def execute(self, sql, params):
        self.backend.executed.append((sql, list(params)))
        verb = sql.split(None, 1)[0].upper() if sql.strip() else ""
        if verb in ("BEGIN", "START"):
            if self.transaction_status == "I":
                self.db.execute("BEGIN")
                self.transaction_status = "T"
            return Result("BEGIN")
        if verb in ("COMMIT", "ROLLBACK"):
            tag = "COMMIT" if verb == "COMMIT" and self.transaction_status == "T" else "ROLLBACK"
            if self.transaction_status != "I":
                self.db.execute(tag)
            self.transaction_status = "I"
            return Result(tag)
        if self.transaction_status == "E":
            raise SqlError("25P02", "current transaction is aborted, commands ignored until end of transaction block")
        try:
            return self._run(sql, params)
        except Exception:
            if self.transaction_status == "T":
                self.transaction_status = "E"
            raise

    def _run(self, sql, params):
        if match := FORCE_ERROR.fullmatch(sql):
            raise SqlError(match[1], match[2], detail="forced by the test", hint="it is only a test")
        if sql.upper() == "CRASH":
            raise RuntimeError(f"the backend broke; password={SECRET}")
        if match := ECHO.fullmatch(sql):
            columns, row = [], []
            for item in match[1].split(","):
                number, _, cast = item.strip()[1:].partition("::")
                value = params[int(number) - 1]
                columns.append(("?column?", CASTS[cast.lower()] if cast else infer_oid(value)))
                row.append(value)
            return Result("SELECT 1", columns, [tuple(row)])
        try:
            cursor = self.db.execute(re.sub(r"\$(\d+)", r"?\1", sql), params)
        except sqlite3.Error as exc:
            raise SqlError("42P01" if "no such table" in str(exc) else "42601", str(exc)) from None
        if cursor.description is None:
            words = sql.split()
            verb = words[0].upper()
            if verb == "INSERT":
                return Result(f"INSERT 0 {cursor.rowcount}")
            if verb in ("UPDATE", "DELETE"):
                return Result(f"{verb} {cursor.rowcount}")
            return Result(" ".join(words[:2]).upper() if verb in ("CREATE", "DROP") else verb)
        rows = cursor.fetchall()
        columns = []
        for index, column in enumerate(cursor.description):
            value = next((row[index] for row in rows if row[index] is not None), None)
            columns.append((column[0], infer_oid(value)))
        return Result(f"SELECT {len(rows)}", columns, rows)

    def describe(self, sql):
        if match := ECHO.fullmatch(sql):
            return [
                ("?column?", CASTS[item.partition("::")[2].strip().lower() or "text"]) for item in match[1].split(",")
            ]
        return None

    def close(self):
        self.closed = True
        self.db.close()


class Backend:
    def __init__(self, passwords=None):
        self.passwords = passwords or {}
        self.authenticated = []  # (user, database, client certificate)
        self.executed = []  # (sql, params) in the order the sessions got them
        self.sessions = []

    def authenticate(self, user, database, client_cert):
        self.authenticated.append((user, database, client_cert))
        if client_cert is not None:
            if common_name(client_cert) != user:
                raise SqlError("28000", f'certificate is not valid for user "{user}"')
            return "trust"
        return "password" if user in self.passwords else "trust"

    def check_password(self, user, password):
        if password != self.passwords[user]:
            raise SqlError("28P01", f'password authentication failed for user "{user}"')

    def open_session(self, user, database, options):
        if database == "missing":
            raise SqlError("3D000", f'database "{database}" does not exist')
        session = Session(self, user, options)
        self.sessions.append(session)
        return session

    def parameter_status(self):
        return {"crdb_version": "CockroachDB CCL v23.1.0 (sandbox)", "server_version": "13.0.0"}


def server_threads(port):
    return [
        thread for thread in threading.enumerate() if thread.name.startswith("pgwire-") and f"-{port}" in thread.name
    ]


@pytest.fixture
def backend():
    return Backend(passwords={"app": "s3cret"})


@pytest.fixture
def server(backend):
    server = PgServer(backend).start()
    port = server.address[1]
    yield server
    server.stop()
    assert server_threads(port) == []
    assert all(session.closed for session in backend.sessions)


@pytest.fixture
def connect(server):
    """psycopg connections to `server`, closed when the test ends."""
    connections = []

    def connect(**kwargs):
        host, port = server.address
        params = {"host": host, "port": port, "user": "root", "sslmode": "disable", "connect_timeout": 5}
        connection = psycopg.connect(**(params | kwargs))
        connections.append(connection)
        return connection

    yield connect
    for connection in connections:
        connection.close()


class Trace(list):
    """The names of the messages libpq sent; `statements` the names of the statements it parsed."""

    def __init__(self):
        super().__init__()
        self.statements = []


@contextlib.contextmanager
def traced(connection, tmp_path):
    """What psycopg's libpq sends while the block runs (PQtrace)."""
    path = tmp_path / "trace.txt"
    sent = Trace()
    with path.open("w") as trace_file:
        connection.pgconn.trace(trace_file.fileno())
        connection.pgconn.set_trace_flags(pq.Trace.SUPPRESS_TIMESTAMPS | pq.Trace.REGRESS_MODE)
        try:
            yield sent
        finally:
            connection.pgconn.untrace()
    for line in path.read_text().splitlines():
        fields = line.split("\t")
        if fields[0] == "F":
            sent.append(fields[2])
            if fields[2] == "Parse":
                sent.statements.append(fields[3].split('"')[1])


# --- a client written by hand, for what psycopg never sends -------------------------------------


def message(kind, payload=b""):
    return kind + struct.pack("!i", len(payload) + 4) + payload


def cstr(text):
    return text.encode() + b"\0"


def parse(sql, name="", oids=()):
    return message(b"P", cstr(name) + cstr(sql) + struct.pack(f"!H{len(oids)}I", len(oids), *oids))


def bind(params=(), portal="", statement="", formats=(), result_formats=()):
    payload = cstr(portal) + cstr(statement) + struct.pack(f"!H{len(formats)}h", len(formats), *formats)
    payload += struct.pack("!H", len(params))
    for value in params:
        payload += struct.pack("!i", -1) if value is None else struct.pack("!i", len(value)) + value
    return message(b"B", payload + struct.pack(f"!H{len(result_formats)}h", len(result_formats), *result_formats))


def execute(portal="", max_rows=0):
    return message(b"E", cstr(portal) + struct.pack("!i", max_rows))


def describe(kind, name=""):
    return message(b"D", kind + cstr(name))


SYNC = message(b"S")


class RawClient:
    def __init__(self, address):
        self.sock = socket.create_connection(address, timeout=5)
        self.buffer = b""

    def close(self):
        self.sock.close()

    def send(self, *messages):
        self.sock.sendall(b"".join(messages))

    def _exact(self, size):
        while len(self.buffer) < size:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise EOFError
            self.buffer += chunk
        data, self.buffer = self.buffer[:size], self.buffer[size:]
        return data

    def byte(self):
        return self._exact(1)

    def receive(self):
        kind = self._exact(1)
        length = struct.unpack("!i", self._exact(4))[0]
        return kind, self._exact(length - 4)

    def until_ready(self):
        """Messages up to and including ReadyForQuery."""
        messages = []
        while not messages or messages[-1][0] != b"Z":
            messages.append(self.receive())
        return messages

    def at_eof(self):
        try:
            return self.sock.recv(1) == b""
        except ConnectionResetError:
            return True

    def startup(self, version=196608, **params):
        body = struct.pack("!i", version) + b"".join(cstr(key) + cstr(value) for key, value in params.items()) + b"\0"
        self.sock.sendall(struct.pack("!i", len(body) + 4) + body)

    def login(self, user="root"):
        self.startup(user=user, database="defaultdb")
        return self.until_ready()


def kinds(messages):
    return b"".join(kind for kind, _ in messages)


def error_fields(payload):
    return {field[:1].decode(): field[1:].decode() for field in payload.split(b"\0") if field}


def data_row(payload):
    count = struct.unpack_from("!H", payload)[0]
    values, pos = [], 2
    for _ in range(count):
        length = struct.unpack_from("!i", payload, pos)[0]
        pos += 4
        if length < 0:
            values.append(None)
        else:
            values.append(payload[pos : pos + length])
            pos += length
    return values


@pytest.fixture
def raw(server):
    clients = []

    def open_client():
        client = RawClient(server.address)
        clients.append(client)
        return client

    yield open_client
    for client in clients:
        client.close()


# --- statements ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("sql", "statements"),
    [
        ("", []),
        ("  ;; -- nothing\n ; /* nor ; this */", []),
        ("SELECT 1; SELECT 2;", ["SELECT 1", "SELECT 2"]),
        ("SELECT 'a;b', 'it''s;'; SELECT \"x;\"\"y\"", ["SELECT 'a;b', 'it''s;'", 'SELECT "x;""y"']),
        ("SELECT E'\\';'; SELECT 2", ["SELECT E'\\';'", "SELECT 2"]),
        ("SELECT $$a;b$$; SELECT $f$ $$; $f$ ; SELECT $1", ["SELECT $$a;b$$", "SELECT $f$ $$; $f$", "SELECT $1"]),
        (
            "SELECT 1 -- one; two\n; SELECT /* a /* nested; */ ; */ 2",
            ["SELECT 1", "SELECT /* a /* nested; */ ; */ 2"],
        ),
        ("/* lead */ -- in\n  SELECT 1 /* trail */ ;\n-- last\nSELECT 2 -- end", ["SELECT 1", "SELECT 2"]),
        ("SELECT a$b$c; SELECT 'unterminated;", ["SELECT a$b$c", "SELECT 'unterminated;"]),
    ],
)
def test_split_statements(sql, statements):
    assert split_statements(sql) == statements


# --- the simple and the extended protocol through psycopg ---------------------------------------


def test_simple_protocol_runs_every_statement_of_a_query(connect, backend, tmp_path):
    conn = connect(autocommit=True)
    assert conn.info.parameter_status("server_version") == "13.0.0"
    assert conn.info.parameter_status("crdb_version").startswith("CockroachDB")
    assert conn.info.parameter_status("TimeZone") == "UTC"
    with traced(conn, tmp_path) as sent, conn.cursor() as cur:
        # No parameters, text results, not prepared: psycopg sends one Query message.
        cur.execute(
            "CREATE TABLE t (a INTEGER, b TEXT); -- the table; and its rows\n"
            "INSERT INTO t VALUES (1, 'x;y'), (2, 'it''s'); /* ; */ ;"
            'SELECT a, b AS "b;" FROM t ORDER BY a'
        )
        assert cur.statusmessage == "CREATE TABLE"
        assert cur.nextset()
        assert cur.statusmessage == "INSERT 0 2"
        assert cur.nextset()
        assert [column.name for column in cur.description] == ["a", "b;"]
        assert cur.fetchall() == [(1, "x;y"), (2, "it's")]
        assert not cur.nextset()
    assert sent == ["Query"]
    assert [sql for sql, _ in backend.executed] == [
        "CREATE TABLE t (a INTEGER, b TEXT)",
        "INSERT INTO t VALUES (1, 'x;y'), (2, 'it''s')",
        'SELECT a, b AS "b;" FROM t ORDER BY a',
    ]

    # The raw simple protocol: libpq's PQexec keeps the last result.
    result = conn.pgconn.exec_(b"SELECT 1 AS one; SELECT 'two' AS two")
    assert result.status == pq.ExecStatus.TUPLES_OK
    assert (result.fname(0), result.get_value(0, 0)) == (b"two", b"two")
    assert conn.pgconn.exec_(b" ; -- nothing to run").status == pq.ExecStatus.EMPTY_QUERY

    # An error stops the rest of the query string.
    with pytest.raises(psycopg.errors.SyntaxError):
        conn.execute("INSERT INTO t VALUES (3, 'c'); SELEKT; INSERT INTO t VALUES (4, 'd')")
    assert conn.execute("SELECT count(*) FROM t").fetchone() == (3,)


def test_extended_protocol_with_parameters(connect, backend, tmp_path):
    conn = connect(autocommit=True)
    conn.execute("CREATE TABLE t (a INTEGER, b TEXT)")
    with traced(conn, tmp_path) as sent:
        conn.execute("INSERT INTO t VALUES (%s, %s)", [1, "one"])
        assert conn.execute("SELECT b FROM t WHERE a = %s", [1]).fetchall() == [("one",)]
        # No parameters but prepare=False and binary results: the extended protocol still.
        assert conn.execute("SELECT a FROM t", binary=True).fetchall() == [(1,)]
        # ClientCursor merges the parameters itself: the simple protocol.
        with psycopg.ClientCursor(conn) as cur:
            cur.execute("SELECT b FROM t WHERE a = %s", [1])
            assert cur.fetchall() == [("one",)]
    # PQsendQueryParams: Parse, Bind, Describe (portal), Execute, Sync, per execute.
    assert sent == ["Parse", "Bind", "Describe", "Execute", "Sync"] * 3 + ["Query"]
    assert backend.executed[-4:] == [
        ("INSERT INTO t VALUES ($1, $2)", [1, "one"]),
        ("SELECT b FROM t WHERE a = $1", [1]),
        ("SELECT a FROM t", []),
        ("SELECT b FROM t WHERE a = 1", []),
    ]

    # Many statements in one Parse are refused, as PostgreSQL does.
    with pytest.raises(psycopg.errors.SyntaxError, match="cannot insert multiple commands into a prepared statement"):
        conn.execute("SELECT 1; SELECT 2", prepare=True)
    assert conn.execute("SELECT %s::int8", [7]).fetchone() == (7,)


NOW = datetime.datetime(2024, 5, 6, 7, 8, 9, 123456)
VALUES = [
    ("str", "héllo; 'world'"),
    ("int", 42),
    ("bigint", -(2**62)),
    ("float", 2.5),
    ("bool", True),
    ("false", False),
    ("null", None),
    ("bytes", b"\x00\x01\xffbytes"),
    ("decimal", decimal.Decimal("-12345678901234567890.000123400")),
    ("datetime", NOW),
    ("datetimetz", NOW.replace(tzinfo=datetime.UTC)),
    ("date", NOW.date()),
    ("jsonb", {"a": [1, 2.5, None, "x"], "b": {"c": True}}),
]
# What the backend gets from a text-format parameter: values of the types the front decodes, and
# the text of the others.
TEXT_DECODED = {
    "datetime": "2024-05-06 07:08:09.123456",
    "date": "2024-05-06",
}
CAST = {"datetime": "::timestamp", "datetimetz": "::timestamptz", "date": "::date"}


def adapted(value):
    return Jsonb(value) if isinstance(value, dict) else value


@pytest.mark.parametrize(("name", "value"), VALUES, ids=[name for name, _ in VALUES])
@pytest.mark.parametrize("placeholder", ["%t", "%b"])
def test_parameters_round_trip(connect, backend, name, value, placeholder):
    conn = connect(autocommit=True)
    query = f"SELECT {placeholder}{CAST.get(name, '')}"
    assert conn.execute(query, [adapted(value)]).fetchone() == (value,)
    received = backend.executed[-1][1][0]
    if placeholder == "%t" and name in TEXT_DECODED:
        assert received == TEXT_DECODED[name]
    elif placeholder == "%t" and name == "datetimetz":
        assert datetime.datetime.fromisoformat(received) == value
    else:
        assert received == value
        assert type(received) is type(value)


def test_binary_numeric_parameters(connect, backend):
    conn = connect(autocommit=True)
    numbers = ["0", "0.00", "1", "-1", "10000", "1.5", "0.001", "123456789.987654321", "-0.0000001", "1E+20", "NaN"]
    for text in numbers:
        number = decimal.Decimal(text)
        conn.execute("SELECT %b", [number])
        received = backend.executed[-1][1][0]
        if number.is_nan():
            assert received.is_nan()
        else:  # the same value, with the display scale numeric keeps (no positive exponent)
            assert received == number and received.as_tuple() == number.quantize(received).as_tuple(), text
            assert received.as_tuple().exponent == min(number.as_tuple().exponent, 0), text
    conn.execute("SELECT %b, %b", [decimal.Decimal("Infinity"), decimal.Decimal("-Infinity")])
    assert backend.executed[-1][1] == [decimal.Decimal("Infinity"), decimal.Decimal("-Infinity")]


@pytest.mark.parametrize(
    ("oid", "text", "expected"),
    [
        (pgwire.BOOL, b"yes", b"t"),
        (pgwire.BOOL, b" TRUE ", b"t"),
        (pgwire.BOOL, b"of", b"f"),
        (pgwire.BOOL, b"0", b"f"),
        (pgwire.INT4, b" 12 ", b"12"),
        (pgwire.FLOAT8, b"-Infinity", b"-Infinity"),
        (pgwire.NUMERIC, b"1.50", b"1.50"),
        (pgwire.BYTEA, b"\\x00ff", b"\\x00ff"),
        (pgwire.BYTEA, b"a\\\\b\\001", b"\\x615c6201"),
        (pgwire.UUID, b"9f0e1c8a-8f0e-4c9e-9a43-2b7c2f0a6c11", b"9f0e1c8a-8f0e-4c9e-9a43-2b7c2f0a6c11"),
    ],
)
def test_text_parameters_of_each_type(connect, oid, text, expected):
    result = connect(autocommit=True).pgconn.exec_params(b"SELECT $1", [text], [oid])
    assert result.status == pq.ExecStatus.TUPLES_OK, result.error_message
    assert result.get_value(0, 0) == expected


@pytest.mark.parametrize(
    ("oid", "text", "sqlstate"),
    [(pgwire.BOOL, b"o", b"22P02"), (pgwire.INT2, b"40000", b"22003"), (pgwire.INT8, b"1_0", b"22P02")],
)
def test_text_parameters_refused(connect, oid, text, sqlstate):
    result = connect(autocommit=True).pgconn.exec_params(b"SELECT $1", [text], [oid])
    assert result.error_field(pq.DiagnosticField.SQLSTATE) == sqlstate


def test_binary_results(connect):
    conn = connect(autocommit=True)
    values = [True, 5, -(2**40), 0.25, "text", b"\x00raw", Jsonb({"k": "v"})]
    row = conn.execute("SELECT %s::bool, %s::int4, %s, %s, %s, %s, %s::jsonb", values, binary=True).fetchone()
    assert row == (True, 5, -(2**40), 0.25, "text", b"\x00raw", {"k": "v"})
    assert conn.execute("SELECT %s::int2, %s::float4", [3, 1.5], binary=True).fetchone() == (3, 1.5)
    # Types without a binary encoding here are refused, and the connection carries on.
    with pytest.raises(psycopg.errors.FeatureNotSupported, match="binary format for type oid 1700"):
        conn.execute("SELECT %s", [decimal.Decimal("1.5")], binary=True)
    assert conn.execute("SELECT %s::numeric", [decimal.Decimal("1.5")]).fetchone() == (decimal.Decimal("1.5"),)


def test_text_results_of_special_values(connect):
    conn = connect(autocommit=True)
    row = conn.execute(
        "SELECT %s, %s, %s, %s::float8",
        [float("inf"), float("-inf"), float("nan"), 1e300],
    ).fetchone()
    assert row[0] == float("inf") and row[1] == float("-inf") and row[2] != row[2] and row[3] == 1e300
    assert conn.execute("SELECT %s::jsonb", ['["raw", "json"]']).fetchone() == (["raw", "json"],)


def test_large_results(connect):
    conn = connect(autocommit=True)
    query = (
        "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 50000) "
        "SELECT x, 'row number ' || x FROM c"
    )
    rows = conn.execute(query).fetchall()
    assert len(rows) == 50000 and rows[-1] == (50000, "row number 50000")
    with conn.cursor() as cur:
        cur.execute(query + " WHERE x <= %s", [1000])
        assert cur.fetchmany(300)[-1] == (300, "row number 300")
        assert len(cur.fetchmany(1000)) == 700
    # stream() is libpq's single-row mode: still one Execute without a row limit.
    assert sum(1 for _ in conn.cursor().stream(query)) == 50000


def test_prepared_statements(connect, tmp_path):
    conn = connect(autocommit=True)
    with traced(conn, tmp_path) as sent:
        for number in range(3):
            assert conn.execute("SELECT %s::int8", [number], prepare=True).fetchone() == (number,)
    # Prepared once (Parse of a named statement, Sync), then Bind/Describe/Execute/Sync each time.
    assert sent == ["Parse", "Sync"] + ["Bind", "Describe", "Execute", "Sync"] * 3
    assert sent.statements[0].startswith("_pg3_")

    # By default psycopg prepares a query once it has run it prepare_threshold (5) times.
    assert conn.prepare_threshold == 5
    with traced(conn, tmp_path) as sent:
        for number in range(7):
            assert conn.execute("SELECT %s::text", [str(number)]).fetchone() == (str(number),)
    assert sent == (
        ["Parse", "Bind", "Describe", "Execute", "Sync"] * 5
        + ["Parse", "Sync"]
        + ["Bind", "Describe", "Execute", "Sync"] * 2
    )
    assert sent.statements[:5] == [""] * 5 and sent.statements[5].startswith("_pg3_")


def libpq_result(pgconn):
    """The last result of what was sent with a pgconn.send_* call.

    psycopg's blocking describe_prepared() and close_prepared() hold the GIL while libpq waits,
    so against a server in this very process they would wait for ever: poll instead.
    """
    results = []
    while True:
        pgconn.consume_input()
        while not pgconn.is_busy():
            result = pgconn.get_result()
            if result is None:
                return results[-1]
            results.append(result)
        select.select([pgconn.socket], [], [], 5)


def test_prepared_statements_through_libpq(connect):
    conn = connect(autocommit=True)
    pgconn = conn.pgconn
    assert pgconn.prepare(b"echo", b"SELECT $1::int8, $2", [pgwire.INT8, 0]).status == pq.ExecStatus.COMMAND_OK
    pgconn.send_describe_prepared(b"echo")
    described = libpq_result(pgconn)
    assert [described.param_type(i) for i in range(described.nparams)] == [pgwire.INT8, pgwire.TEXT]
    assert [(described.fname(i), described.ftype(i)) for i in range(described.nfields)] == [
        (b"?column?", pgwire.INT8),
        (b"?column?", pgwire.TEXT),
    ]
    for number in range(3):
        result = pgconn.exec_prepared(b"echo", [str(number).encode(), b"x"])
        assert (result.get_value(0, 0), result.get_value(0, 1)) == (str(number).encode(), b"x")
    result = pgconn.exec_prepared(b"echo", [struct.pack("!q", 9), b"y"], param_formats=[1, 0], result_format=1)
    assert (result.get_value(0, 0), result.get_value(0, 1)) == (struct.pack("!q", 9), b"y")
    # A statement's name is taken until it is closed (libpq 17+ sends a Close message).
    assert pgconn.prepare(b"echo", b"SELECT 1").error_field(pq.DiagnosticField.SQLSTATE) == b"42P05"
    pgconn.send_close_prepared(b"echo")
    assert libpq_result(pgconn).status == pq.ExecStatus.COMMAND_OK
    result = pgconn.exec_prepared(b"echo", [b"1", b"x"])
    assert result.error_field(pq.DiagnosticField.SQLSTATE) == b"26000"
    assert pgconn.prepare(b"echo", b"SELECT 1").status == pq.ExecStatus.COMMAND_OK
    # For statements the backend's describe does not know: no row description.
    pgconn.send_describe_prepared(b"echo")
    described = libpq_result(pgconn)
    assert (described.nparams, described.nfields) == (0, 0)


# --- errors and transactions --------------------------------------------------------------------


def test_sql_error_surfaces_with_its_sqlstate(connect):
    conn = connect(autocommit=True)
    for run in (
        lambda: conn.execute("SELECT crdb_internal.force_error('58C00', 'lost quorum for range 42')"),
        lambda: conn.execute("SELECT crdb_internal.force_error('58C00', 'lost quorum for range 42')", prepare=True),
        lambda: conn.execute("SELECT crdb_internal.force_error('58C00', 'lost quorum for range 42')", binary=True),
    ):
        with pytest.raises(psycopg.Error) as caught:
            run()
        error = caught.value
        assert error.sqlstate == "58C00"
        assert error.diag.message_primary == "lost quorum for range 42"
        assert error.diag.message_detail == "forced by the test"
        assert error.diag.message_hint == "it is only a test"
        assert error.diag.severity == "ERROR"
        assert conn.info.transaction_status == pq.TransactionStatus.IDLE
        assert conn.execute("SELECT %s", ["still usable"]).fetchone() == ("still usable",)


def test_internal_error_hides_the_exception_text(connect, backend):
    conn = connect(autocommit=True)
    for kwargs in ({}, {"prepare": True}):
        with pytest.raises(psycopg.errors.InternalError_) as caught:
            conn.execute("CRASH", **kwargs)
        assert caught.value.sqlstate == "XX000"
        assert caught.value.diag.message_primary == "internal error: RuntimeError"
        assert SECRET not in str(caught.value)
        assert conn.execute("SELECT 1").fetchone() == (1,)


def test_transactions(connect):
    conn = connect()  # not autocommit: psycopg opens a transaction with BEGIN
    conn.execute("CREATE TABLE t (a INTEGER)")
    assert conn.info.transaction_status == pq.TransactionStatus.INTRANS
    conn.execute("INSERT INTO t VALUES (%s)", [1])
    conn.commit()
    assert conn.info.transaction_status == pq.TransactionStatus.IDLE

    conn.execute("INSERT INTO t VALUES (%s)", [2])
    with pytest.raises(psycopg.errors.UndefinedTable):
        conn.execute("SELECT * FROM missing")
    assert conn.info.transaction_status == pq.TransactionStatus.INERROR
    with pytest.raises(psycopg.errors.InFailedSqlTransaction):
        conn.execute("SELECT 1")
    conn.rollback()
    assert conn.info.transaction_status == pq.TransactionStatus.IDLE
    assert conn.execute("SELECT a FROM t").fetchall() == [(1,)]
    conn.rollback()

    with conn.transaction():
        conn.execute("INSERT INTO t VALUES (3)")
    assert conn.execute("SELECT count(*) FROM t").fetchone() == (2,)


# --- authentication and TLS ---------------------------------------------------------------------


def test_password_authentication(connect, backend):
    conn = connect(user="app", password="s3cret", dbname="bank", application_name="teller")
    assert conn.execute("SELECT 1").fetchone() == (1,)
    session = backend.sessions[-1]
    assert (session.user, session.options["database"], session.options["application_name"]) == ("app", "bank", "teller")
    assert conn.info.parameter_status("application_name") == "teller"
    with pytest.raises(psycopg.OperationalError, match='password authentication failed for user "app"'):
        connect(user="app", password="wrong")
    with pytest.raises(psycopg.OperationalError, match='database "missing" does not exist'):
        connect(dbname="missing")
    assert backend.authenticated[-2][:2] == ("app", "app")  # libpq sends the user name as dbname


def _certificate(subject, issuer, public_key, signing_key, *, ca=False, server=False):
    now = datetime.datetime.now(datetime.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
        .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, issuer)]))
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if ca:
        builder = builder.add_extension(
            x509.KeyUsage(True, False, False, False, False, True, True, False, False), critical=True
        )
    else:
        usage = ExtendedKeyUsageOID.SERVER_AUTH if server else ExtendedKeyUsageOID.CLIENT_AUTH
        builder = builder.add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
    if server:
        names = [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
        builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=False)
    return builder.sign(signing_key, hashes.SHA256())


@pytest.fixture
def certs(tmp_path):
    """A CA, a certificate for the node (127.0.0.1) and one for the client `root`."""
    paths = {}

    def write(name, data, mode=0o644):
        path = tmp_path / name
        path.write_bytes(data)
        path.chmod(mode)
        paths[name] = str(path)

    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = _certificate("sandbox CA", "sandbox CA", ca_key.public_key(), ca_key, ca=True)
    write("ca.crt", ca.public_bytes(serialization.Encoding.PEM))
    for name, server in (("node", True), ("client.root", False)):
        key = ec.generate_private_key(ec.SECP256R1())
        cert = _certificate("node" if server else "root", "sandbox CA", key.public_key(), ca_key, server=server)
        write(f"{name}.crt", cert.public_bytes(serialization.Encoding.PEM))
        key_pem = key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        write(f"{name}.key", key_pem, 0o600)  # libpq refuses a key others may read
    return paths


@pytest.fixture
def tls_server(backend, certs):
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH, cafile=certs["ca.crt"])
    context.load_cert_chain(certs["node.crt"], certs["node.key"])
    context.verify_mode = ssl.CERT_OPTIONAL  # a client certificate, when there is one, is verified
    server = PgServer(backend, ssl_context=context, require_ssl=True).start()
    port = server.address[1]
    yield server
    server.stop()
    assert server_threads(port) == []


def test_tls_with_client_certificate(tls_server, backend, certs):
    host, port = tls_server.address
    params = {"host": host, "port": port, "sslrootcert": certs["ca.crt"], "connect_timeout": 5}
    with psycopg.connect(
        **params, user="root", sslmode="verify-full", sslcert=certs["client.root.crt"], sslkey=certs["client.root.key"]
    ) as conn:
        assert conn.pgconn.ssl_in_use
        assert conn.execute("SELECT %s", ["over TLS"]).fetchone() == ("over TLS",)
    user, _, client_cert = backend.authenticated[-1]
    assert (user, common_name(client_cert)) == ("root", "root")

    # TLS without a client certificate: the backend asks for the password.
    with psycopg.connect(**params, user="app", password="s3cret", sslmode="verify-full") as conn:
        assert conn.execute("SELECT 1").fetchone() == (1,)
    assert backend.authenticated[-1][2] is None

    # The certificate of root does not log in as someone else.
    with pytest.raises(psycopg.OperationalError, match='certificate is not valid for user "app"'):
        psycopg.connect(
            **params,
            user="app",
            sslmode="verify-full",
            sslcert=certs["client.root.crt"],
            sslkey=certs["client.root.key"],
        )

    with pytest.raises(psycopg.OperationalError, match="node is running secure mode, SSL connection required"):
        psycopg.connect(host=host, port=port, user="root", sslmode="disable", connect_timeout=5)


def test_server_without_tls_declines_ssl_requests(connect, raw):
    with pytest.raises(psycopg.OperationalError, match="server does not support SSL"):
        connect(sslmode="require")
    assert connect(sslmode="prefer").execute("SELECT 1").fetchone() == (1,)
    client = raw()
    client.send(struct.pack("!ii", 8, 80877103))
    assert client.byte() == b"N"
    client.send(struct.pack("!ii", 8, 80877104))  # GSSENCRequest
    assert client.byte() == b"N"
    assert kinds(client.login())[-2:] == b"KZ"


# --- what only a hand-written client sends ------------------------------------------------------


def test_portal_suspended_and_resumed(raw, backend):
    client = raw()
    client.login()
    query = "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 5) SELECT x FROM c"
    client.send(parse(query), bind(), describe(b"P"), execute(max_rows=2), execute(max_rows=2), SYNC)
    replies = client.until_ready()
    assert kinds(replies) == b"12TDDsDDsZ"
    client.send(execute(max_rows=2), execute(max_rows=2), execute(), SYNC)
    replies = client.until_ready()
    assert kinds(replies) == b"DCCCZ"
    assert data_row(replies[0][1]) == [b"5"]
    assert replies[1][1] == replies[2][1] == b"SELECT 5\0"
    assert [sql for sql, _ in backend.executed].count(query) == 1  # Describe ran it, Execute sent its rows

    # A named portal, in binary, without Describe: Execute runs the statement.
    client.send(
        parse("SELECT $1::int8", name="s", oids=[pgwire.INT8]),
        bind([b"77"], portal="p", statement="s", result_formats=[1]),
    )
    client.send(execute("p", max_rows=1), describe(b"S", "s"), SYNC)
    replies = client.until_ready()
    assert kinds(replies) == b"12DCtTZ"
    assert data_row(replies[2][1]) == [struct.pack("!q", 77)]
    assert replies[4][1] == struct.pack("!HI", 1, pgwire.INT8)
    client.send(message(b"C", b"P" + cstr("p")), message(b"C", b"S" + cstr("s")), execute("p"), SYNC)
    replies = client.until_ready()
    assert kinds(replies) == b"33EZ"
    assert error_fields(replies[2][1])["C"] == "34000"


def test_extended_errors_skip_to_sync(raw, backend):
    client = raw()
    client.login()
    client.send(
        parse("SELECT crdb_internal.force_error('40001', 'restart transaction')"),
        bind(),
        execute(),
        parse("SELECT 'skipped'"),
        bind(),
        execute(),
        SYNC,
        parse("SELECT $1"),
        bind([b"after"]),
        execute(),
        SYNC,
    )
    replies = client.until_ready()
    assert kinds(replies) == b"12EZ"
    fields = error_fields(replies[2][1])
    assert (fields["S"], fields["V"], fields["C"], fields["M"]) == ("ERROR", "ERROR", "40001", "restart transaction")
    replies = client.until_ready()
    assert kinds(replies) == b"12DCZ"
    assert data_row(replies[2][1]) == [b"after"]
    assert "SELECT 'skipped'" not in [sql for sql, _ in backend.executed]

    # Errors in the messages themselves: an unknown statement, a bad binary parameter.
    client.send(bind(statement="nope"), SYNC)
    replies = client.until_ready()
    assert kinds(replies) == b"EZ" and error_fields(replies[0][1])["C"] == "26000"
    client.send(parse("SELECT $1", oids=[pgwire.INT4]), bind([b"\x00\x01"], formats=[1]), SYNC)
    replies = client.until_ready()
    assert kinds(replies) == b"1EZ" and error_fields(replies[1][1])["C"] == "22P03"
    client.send(parse("SELECT $1", oids=[pgwire.INT4]), bind([b"four"]), SYNC)
    replies = client.until_ready()
    assert kinds(replies) == b"1EZ" and error_fields(replies[1][1])["C"] == "22P02"
    # An empty statement, and the parameter types of a statement without OIDs.
    client.send(parse(""), bind(), describe(b"P"), execute(), parse("SELECT $1", oids=[0]), describe(b"S"), SYNC)
    assert kinds(client.until_ready()) == b"12nI1tTZ"


def test_protocol_violations_end_the_connection(raw, server):
    client = raw()
    client.login()
    client.send(message(b"!"))
    kind, payload = client.receive()
    assert kind == b"E" and error_fields(payload)["C"] == "08P01"
    assert client.at_eof()

    client = raw()
    client.startup(version=2 << 16, user="root")
    kind, payload = client.receive()
    assert kind == b"E" and error_fields(payload)["C"] == "08P01" and error_fields(payload)["S"] == "FATAL"
    assert client.at_eof()

    client = raw()
    client.send(struct.pack("!iiii", 16, 80877102, 1234, 5678))  # CancelRequest: nothing to cancel
    assert client.at_eof()

    # A newer 3.x protocol is answered with NegotiateProtocolVersion, then served in 3.0.
    client = raw()
    client.startup(version=(3 << 16) | 2, user="root", **{"_pq_.fancy": "on"})
    replies = client.until_ready()
    assert replies[0] == (b"v", struct.pack("!ii", 0, 1) + b"_pq_.fancy\0")
    assert kinds(replies[1:2]) == b"R"

    # Terminate closes the session.
    client.send(message(b"X"))
    assert client.at_eof()


def test_clients_that_vanish_mid_message(raw, server, backend):
    port = server.address[1]
    before = len(server_threads(port))
    for logged_in, partial in (
        (False, struct.pack("!i", 100)[:2]),  # in the startup packet's length
        (False, struct.pack("!ii", 40, 196608) + b"user\0ro"),  # inside the startup packet
        (True, message(b"Q", cstr("SELECT 1"))[:7]),  # inside a Query message
        (True, parse("SELECT 1") + bind()[:3]),  # a message and a half
    ):
        client = raw()
        if logged_in:
            client.login()
        client.send(partial)
        client.close()
    wait_until(lambda: len(server_threads(port)) == before, what="the connection threads to end")
    assert backend.sessions and all(session.closed for session in backend.sessions)


def test_stop_ends_connections_and_refuses_new_ones(backend, certs):
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH, cafile=certs["ca.crt"])
    context.load_cert_chain(certs["node.crt"], certs["node.key"])
    server = PgServer(backend, ssl_context=context).start()
    host, port = server.address
    conn = psycopg.connect(host=host, port=port, user="root", sslmode="disable", autocommit=True)
    idle = RawClient(server.address)  # logged in, between messages
    idle.login()
    handshaking = RawClient(server.address)  # asked for TLS, then silent in the handshake
    handshaking.send(struct.pack("!ii", 8, 80877103))
    assert handshaking.byte() == b"S"
    try:
        assert conn.execute("SELECT 1").fetchone() == (1,)
        wait_until(lambda: len(server_threads(port)) == 4, what="a thread per client and one serving")
        server.stop()
        assert server_threads(port) == []
        assert all(session.closed for session in backend.sessions) and len(backend.sessions) == 2
        assert idle.at_eof() and handshaking.at_eof()
        with pytest.raises(psycopg.OperationalError):
            conn.execute("SELECT 1")
        with pytest.raises(psycopg.OperationalError):
            psycopg.connect(host=host, port=port, user="root", sslmode="disable", connect_timeout=5)
        server.stop()  # again: nothing to do
    finally:
        conn.close()
        idle.close()
        handshaking.close()
        server.stop()


def test_stop_of_a_server_never_started(backend):
    server = PgServer(backend)
    port = server.address[1]
    server.stop()
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port), timeout=5).close()
