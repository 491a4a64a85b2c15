"""The PostgreSQL wire protocol (v3) front of the sandbox's CockroachDB stand-in.

CockroachDB speaks the PostgreSQL wire protocol, so its clients (psycopg, libpq tools, the
collection's modules) reach the stand-in exactly as they would a real node: TLS negotiated with an
SSLRequest, certificate or cleartext-password authentication, the simple and the extended query
protocols. This front knows nothing about SQL: it frames messages, splits query strings into
statements, decodes bound parameters and encodes result rows. A *backend* object authenticates
users, opens sessions and gives statements their meaning:

    backend.authenticate(user, database, client_cert) -> "trust" | "password"
    backend.check_password(user, password)                  raises SqlError when wrong
    backend.open_session(user, database, options) -> session
    backend.parameter_status() -> dict                      optional, extra ParameterStatus values
    session.execute(sql, params) -> Result
    session.describe(sql) -> [(name, oid)] | None           optional, for Describe of a statement
    session.transaction_status                              "I", "T" or "E", read for ReadyForQuery
    session.close()                                         always called when the connection ends

Every client connection is served on a daemon thread of its own, since the backend is synchronous
and takes its own locks. A backend raises SqlError for errors the client should see; any other
exception reaches the client as XX000 "internal error: <class name>", never with its text.
"""

from __future__ import annotations

import datetime
import decimal
import json
import logging
import math
import re
import secrets
import socket
import socketserver
import ssl
import struct
import threading
import time
import uuid

__all__ = [
    "BOOL",
    "BYTEA",
    "DATE",
    "FLOAT4",
    "FLOAT8",
    "INT2",
    "INT4",
    "INT8",
    "JSONB",
    "NUMERIC",
    "OID",
    "TEXT",
    "TIMESTAMP",
    "TIMESTAMPTZ",
    "UNKNOWN",
    "UUID",
    "VARCHAR",
    "PgServer",
    "Result",
    "SqlError",
    "split_statements",
]

log = logging.getLogger(__name__)

# Type OIDs, as PostgreSQL's pg_type has them.
UNKNOWN = 0
BOOL = 16
BYTEA = 17
INT8 = 20
INT2 = 21
INT4 = 23
TEXT = 25
OID = 26
FLOAT4 = 700
FLOAT8 = 701
VARCHAR = 1043
DATE = 1082
TIMESTAMP = 1114
TIMESTAMPTZ = 1184
NUMERIC = 1700
UUID = 2950
JSONB = 3802
_NAME = 19
_JSON = 114
_BPCHAR = 1042

_PROTOCOL_MAJOR = 3
_SSL_REQUEST = 80877103
_GSSENC_REQUEST = 80877104
_CANCEL_REQUEST = 80877102
_MAX_STARTUP_LENGTH = 10_000
_MAX_MESSAGE_LENGTH = 1 << 28
_SEND_HIGH_WATER = 1 << 16
_STOP_JOIN_SECONDS = 10.0

_PG_EPOCH = datetime.datetime(2000, 1, 1)  # timestamp without time zone
_PG_EPOCH_DATE = datetime.date(2000, 1, 1)

_TYPE_NAMES = {
    BOOL: "boolean",
    BYTEA: "bytea",
    INT8: "bigint",
    INT2: "smallint",
    INT4: "integer",
    OID: "oid",
    FLOAT4: "real",
    FLOAT8: "double precision",
    NUMERIC: "numeric",
    _JSON: "json",
    JSONB: "jsonb",
    DATE: "date",
    TIMESTAMP: "timestamp",
    TIMESTAMPTZ: "timestamptz",
    UUID: "uuid",
}
_TYPE_SIZES = {
    BOOL: 1,
    INT2: 2,
    INT4: 4,
    INT8: 8,
    OID: 4,
    FLOAT4: 4,
    FLOAT8: 8,
    DATE: 4,
    TIMESTAMP: 8,
    TIMESTAMPTZ: 8,
    UUID: 16,
}
_INT_RANGES = {
    INT2: (-(1 << 15), (1 << 15) - 1),
    INT4: (-(1 << 31), (1 << 31) - 1),
    INT8: (-(1 << 63), (1 << 63) - 1),
    OID: (-(1 << 31), (1 << 32) - 1),
}

_DEFAULT_PARAMETER_STATUS = {
    "server_version": "13.0.0",
    "server_encoding": "UTF8",
    "client_encoding": "UTF8",
    "DateStyle": "ISO, MDY",
    "IntervalStyle": "postgres",
    "TimeZone": "UTC",
    "integer_datetimes": "on",
    "standard_conforming_strings": "on",
}


class SqlError(Exception):
    """An error the client sees as an ErrorResponse with this SQLSTATE `code` (e.g. "40001")."""

    def __init__(self, code, message, detail=None, hint=None, severity="ERROR"):
        super().__init__(message)
        self.code = code
        self.message = message
        self.detail = detail
        self.hint = hint
        self.severity = severity

    def __repr__(self):
        return f"SqlError({self.code!r}, {self.message!r})"


class Result:
    """One statement's outcome.

    `tag` is the command tag ("SELECT 2", "INSERT 0 1", "CREATE TABLE"); `columns` is None for a
    statement that returns no rows, else a list of (name, type oid); `rows` a list of tuples of
    Python values.
    """

    def __init__(self, tag, columns=None, rows=None):
        self.tag = tag
        self.columns = None if columns is None else [(str(name), int(oid)) for name, oid in columns]
        self.rows = [] if rows is None else list(rows)

    def __repr__(self):
        return f"Result({self.tag!r}, columns={self.columns!r}, rows=<{len(self.rows)}>)"


# --- splitting a query string into statements ------------------------------------------------

_DOLLAR_TAG = re.compile(r"\$(?:[^\W\d]\w*)?\$")


def _is_identifier_char(char: str) -> bool:
    return char.isalnum() or char in "_$"


def _end_of_quoted(sql: str, start: int, quote: str, backslash_escapes: bool) -> int:
    """The index just past the quoted text opened at `start`; doubled quotes stay inside."""
    i = start + 1
    end = len(sql)
    while i < end:
        char = sql[i]
        if backslash_escapes and char == "\\":
            i += 2
        elif char == quote:
            if i + 1 < end and sql[i + 1] == quote:
                i += 2
            else:
                return i + 1
        else:
            i += 1
    return end


def _end_of_block_comment(sql: str, start: int) -> int:
    """The index just past the /* comment */ opened at `start`; they nest, as in PostgreSQL."""
    depth = 0
    i = start
    end = len(sql)
    while i < end:
        if sql.startswith("/*", i):
            depth += 1
            i += 2
        elif sql.startswith("*/", i):
            depth -= 1
            i += 2
            if depth == 0:
                return i
        else:
            i += 1
    return end


def split_statements(sql: str) -> list[str]:
    """Split a query string at the semicolons that end statements.

    Semicolons inside 'strings' (with '' and, in E'strings', backslash escapes), "identifiers",
    $$dollar$$ or $tag$dollar$tag$ quoted strings, -- line comments and /* block comments */ do
    not count. Each statement runs from its first token to its last: the whitespace and comments
    around it are dropped, those inside it kept. Statements without a token are dropped.
    """
    statements = []
    first = last = None  # where the current statement's tokens begin and end
    i = 0
    end = len(sql)
    while i < end:
        char = sql[i]
        start = i
        if char == "'":
            escapes = i > 0 and sql[i - 1] in "eE" and (i < 2 or not _is_identifier_char(sql[i - 2]))
            i = _end_of_quoted(sql, i, "'", escapes)
        elif char == '"':
            i = _end_of_quoted(sql, i, '"', False)
        elif sql.startswith("--", i):
            newline = sql.find("\n", i)
            i = end if newline < 0 else newline + 1
            continue
        elif sql.startswith("/*", i):
            i = _end_of_block_comment(sql, i)
            continue
        elif (
            char == "$"
            and (i == 0 or not _is_identifier_char(sql[i - 1]))
            and (match := _DOLLAR_TAG.match(sql, i)) is not None
        ):
            closing = sql.find(match.group(), match.end())
            i = end if closing < 0 else closing + len(match.group())
        elif char == ";":
            if first is not None:
                statements.append(sql[first:last])
            first = last = None
            i += 1
            continue
        else:
            i += 1
            if char.isspace():
                continue
        if first is None:
            first = start
        last = i
    if first is not None:
        statements.append(sql[first:last])
    return statements


# --- parameters: wire format -> Python ---------------------------------------------------------


def _type_name(oid: int) -> str:
    return _TYPE_NAMES.get(oid, f"oid {oid}")


def _invalid_text(oid: int, text: str) -> SqlError:
    return SqlError("22P02", f'invalid input syntax for type {_type_name(oid)}: "{text}"')


def _decode_utf8(data: bytes) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise SqlError("22021", 'invalid byte sequence for encoding "UTF8"') from None


def _decode_bytea_text(data: bytes) -> bytes:
    if data.startswith(b"\\x"):
        try:
            return bytes.fromhex(data[2:].decode("ascii"))
        except (UnicodeDecodeError, ValueError):
            raise SqlError("22P02", "invalid hexadecimal data in bytea input") from None
    out = bytearray()
    i = 0
    while i < len(data):
        byte = data[i]
        if byte != 0x5C:  # backslash
            out.append(byte)
            i += 1
        elif data[i + 1 : i + 2] == b"\\":
            out.append(0x5C)
            i += 2
        elif re.fullmatch(rb"[0-3][0-7][0-7]", data[i + 1 : i + 4]):
            out.append(int(data[i + 1 : i + 4], 8))
            i += 4
        else:
            raise SqlError("22P02", 'invalid input syntax for type bytea: "\\"')
    return bytes(out)


def _decode_text_param(oid: int, data: bytes):
    text = _decode_utf8(data)
    if oid == BOOL:
        word = text.strip().lower()
        if word in ("1", "on") or (word and ("true".startswith(word) or "yes".startswith(word))):
            return True
        if word in ("0", "of", "off") or (word and ("false".startswith(word) or "no".startswith(word))):
            return False
        raise _invalid_text(oid, text)
    if oid in _INT_RANGES:
        try:
            if "_" in text:
                raise ValueError(text)
            value = int(text.strip())
        except ValueError:
            raise _invalid_text(oid, text) from None
        low, high = _INT_RANGES[oid]
        if not low <= value <= high:
            raise SqlError("22003", f'value "{text}" is out of range for type {_type_name(oid)}')
        return value
    if oid in (FLOAT4, FLOAT8):
        try:
            if "_" in text:
                raise ValueError(text)
            return float(text)
        except ValueError:
            raise _invalid_text(oid, text) from None
    if oid == NUMERIC:
        try:
            if "_" in text:
                raise decimal.InvalidOperation(text)
            return decimal.Decimal(text.strip())
        except decimal.InvalidOperation:
            raise _invalid_text(oid, text) from None
    if oid == BYTEA:
        return _decode_bytea_text(data)
    if oid in (_JSON, JSONB):
        try:
            return json.loads(text)
        except ValueError:
            raise _invalid_text(oid, text) from None
    return text


def _decode_numeric_binary(data: bytes) -> decimal.Decimal:
    """PostgreSQL's binary numeric: ndigits, weight, sign, dscale, then base-10000 digits."""
    ndigits, weight, sign, dscale = struct.unpack_from("!hhHH", data)
    if ndigits < 0 or len(data) != 8 + 2 * ndigits:
        raise ValueError("numeric length")
    specials = {0xC000: "NaN", 0xD000: "Infinity", 0xF000: "-Infinity"}
    if sign in specials:
        return decimal.Decimal(specials[sign])
    if sign not in (0x0000, 0x4000) or dscale > 0x3FFF:
        raise ValueError("numeric sign or scale")
    digits = struct.unpack_from(f"!{ndigits}h", data, 8)
    if any(not 0 <= digit <= 9999 for digit in digits):
        raise ValueError("numeric digit")
    negative = int(sign == 0x4000)
    if not digits:
        return decimal.Decimal((negative, (0,), -dscale))
    text = "".join(f"{digit:04d}" for digit in digits)
    exponent = (weight + 1 - ndigits) * 4
    if exponent < -dscale:  # base-10000 padding beyond the display scale: zeros
        text = text[: len(text) - (-dscale - exponent)] or "0"
    elif exponent > -dscale:
        text += "0" * (exponent + dscale)
    return decimal.Decimal((negative, tuple(int(char) for char in text), -dscale))


def _fixed(fmt: str):
    size = struct.calcsize(fmt)

    def decode(data: bytes):
        if len(data) != size:
            raise ValueError("length")
        return struct.unpack(fmt, data)[0]

    return decode


def _decode_jsonb_binary(data: bytes):
    if data[:1] != b"\x01":
        raise ValueError("unsupported jsonb version")
    return json.loads(data[1:].decode("utf-8"))


def _decode_uuid_binary(data: bytes) -> str:
    return str(uuid.UUID(bytes=data))


def _decode_timestamp_binary(data: bytes, tz=None) -> datetime.datetime:
    micros = _fixed("!q")(data)
    try:
        value = _PG_EPOCH + datetime.timedelta(microseconds=micros)
    except OverflowError:
        raise SqlError("22008", "timestamp out of range") from None
    return value.replace(tzinfo=tz) if tz else value


def _decode_date_binary(data: bytes) -> datetime.date:
    days = _fixed("!i")(data)
    try:
        return _PG_EPOCH_DATE + datetime.timedelta(days=days)
    except OverflowError:
        raise SqlError("22008", "date out of range") from None


_BINARY_DECODERS = {
    BOOL: lambda data: _fixed("!B")(data) != 0,
    INT2: _fixed("!h"),
    INT4: _fixed("!i"),
    INT8: _fixed("!q"),
    OID: _fixed("!I"),
    FLOAT4: _fixed("!f"),
    FLOAT8: _fixed("!d"),
    BYTEA: bytes,
    TEXT: _decode_utf8,
    VARCHAR: _decode_utf8,
    UNKNOWN: _decode_utf8,
    _NAME: _decode_utf8,
    _BPCHAR: _decode_utf8,
    _JSON: lambda data: json.loads(data.decode("utf-8")),
    JSONB: _decode_jsonb_binary,
    UUID: _decode_uuid_binary,
    NUMERIC: _decode_numeric_binary,
    TIMESTAMP: _decode_timestamp_binary,
    TIMESTAMPTZ: lambda data: _decode_timestamp_binary(data, datetime.UTC),
    DATE: _decode_date_binary,
}


def _decode_param(index: int, oid: int, fmt: int, data: bytes | None):
    if data is None:
        return None
    if fmt == 0:
        return _decode_text_param(oid, data)
    decoder = _BINARY_DECODERS.get(oid)
    if decoder is None:
        raise SqlError("0A000", f"binary format for type oid {oid}")
    try:
        return decoder(data)
    except (ValueError, struct.error, UnicodeDecodeError):
        raise SqlError("22P03", f"incorrect binary data format in bind parameter {index + 1}") from None


# --- results: Python -> wire format -----------------------------------------------------------


def _text_value(value, oid: int) -> bytes:
    if isinstance(value, bool) or (oid == BOOL and isinstance(value, int)):
        return b"t" if value else b"f"
    if isinstance(value, int):
        return str(value).encode()
    if isinstance(value, float):
        if math.isnan(value):
            return b"NaN"
        if math.isinf(value):
            return b"Infinity" if value > 0 else b"-Infinity"
        return repr(value).encode()
    if isinstance(value, decimal.Decimal):
        return format(value, "f").encode()
    if isinstance(value, str):
        return value.encode("utf-8")
    if isinstance(value, bytes | bytearray | memoryview):
        return b"\\x" + bytes(value).hex().encode()
    if isinstance(value, datetime.datetime):
        return value.isoformat(sep=" ").encode()
    if isinstance(value, datetime.date | datetime.time):
        return value.isoformat().encode()
    if isinstance(value, dict | list):
        return json.dumps(value).encode("utf-8")
    return str(value).encode("utf-8")


def _packer(fmt: str, convert):
    def encode(value) -> bytes:
        try:
            return struct.pack(fmt, convert(value))
        except (struct.error, OverflowError):
            raise SqlError("22003", "value out of range for its binary representation") from None

    return encode


def _bytea_binary(value) -> bytes:
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value)
    return _text_value(value, BYTEA)


def _jsonb_binary(value) -> bytes:
    text = value.encode("utf-8") if isinstance(value, str) else json.dumps(value).encode("utf-8")
    return b"\x01" + text


_BINARY_ENCODERS = {
    BOOL: lambda value: b"\x01" if value else b"\x00",
    INT2: _packer("!h", int),
    INT4: _packer("!i", int),
    INT8: _packer("!q", int),
    FLOAT4: _packer("!f", float),
    FLOAT8: _packer("!d", float),
    TEXT: lambda value: _text_value(value, TEXT),
    VARCHAR: lambda value: _text_value(value, VARCHAR),
    UNKNOWN: lambda value: _text_value(value, UNKNOWN),
    BYTEA: _bytea_binary,
    JSONB: _jsonb_binary,
}


def _resolve_formats(formats: list[int], count: int, what: str) -> list[int]:
    if not formats:
        return [0] * count
    if len(formats) == 1:
        return formats * count
    if len(formats) == count:
        return formats
    raise SqlError("08P01", f"bind message has {len(formats)} {what} formats but {count} {what}s")


def _cstring(text) -> bytes:
    return str(text).replace("\0", "").encode("utf-8") + b"\0"


# --- the connection ---------------------------------------------------------------------------


class _Disconnected(Exception):
    """The client went away, or stop() shut its socket."""


class _ProtocolViolation(Exception):
    """A message the protocol does not allow: answered with a FATAL 08P01, then the connection ends."""


class _MessageReader:
    """Fields of one message body, in order."""

    def __init__(self, body: bytes):
        self.body = body
        self.pos = 0

    def _take(self, size: int) -> bytes:
        if size < 0 or self.pos + size > len(self.body):
            raise _ProtocolViolation("invalid message format")
        data = self.body[self.pos : self.pos + size]
        self.pos += size
        return data

    def byte(self) -> bytes:
        return self._take(1)

    def int16(self) -> int:
        return struct.unpack("!h", self._take(2))[0]

    def uint16(self) -> int:
        return struct.unpack("!H", self._take(2))[0]

    def int32(self) -> int:
        return struct.unpack("!i", self._take(4))[0]

    def uint32(self) -> int:
        return struct.unpack("!I", self._take(4))[0]

    def value(self) -> bytes | None:
        length = self.int32()
        return None if length == -1 else self._take(length)

    def cstring(self) -> str:
        end = self.body.find(b"\0", self.pos)
        if end < 0:
            raise _ProtocolViolation("invalid string in message")
        data = self.body[self.pos : end]
        self.pos = end + 1
        return _decode_utf8(data)


class _Statement:
    __slots__ = ("oids", "sql")

    def __init__(self, sql: str, oids: list[int]):
        self.sql = sql
        self.oids = oids


class _Portal:
    __slots__ = ("done", "formats", "params", "result", "sent", "sql")

    def __init__(self, sql: str, params: list, formats: list[int]):
        self.sql = sql
        self.params = params
        self.formats = formats
        self.result: Result | None = None  # set by Describe or the first Execute
        self.sent = 0  # rows already sent by Execute
        self.done = False  # CommandComplete sent


class _Connection:
    """One client, from its startup packet to Terminate, EOF or stop()."""

    def __init__(self, front: PgServer, sock: socket.socket):
        self.front = front
        self.backend = front.backend
        self.sock = sock
        self.tls = False
        self.session = None
        self._in = bytearray()
        self._out = bytearray()
        self._statements: dict[str, _Statement] = {}
        self._portals: dict[str, _Portal] = {}
        self._skip_to_sync = False
        self._handlers = {
            b"Q": self._on_query,
            b"P": self._on_parse,
            b"B": self._on_bind,
            b"D": self._on_describe,
            b"E": self._on_execute,
            b"C": self._on_close,
            b"H": self._on_flush,
            b"S": self._on_sync,
        }

    # -- life cycle

    def run(self) -> None:
        if not self.front._register(self):
            return  # stop() has begun; socketserver closes the socket
        try:
            if self._startup():
                self._serve()
        except (_Disconnected, OSError):
            pass
        except _ProtocolViolation as exc:
            self._fatal(SqlError("08P01", str(exc)))
        except Exception:
            log.exception("pgwire: connection failed")
        finally:
            self._finish()

    def _finish(self) -> None:
        if self.session is not None:
            try:
                self.session.close()
            except Exception:
                log.debug("pgwire: session.close() failed", exc_info=True)
        try:
            self._flush()
        except OSError:
            pass
        self.sock.close()
        self.front._unregister(self)

    def abort(self) -> None:
        """Wake the thread serving this connection, wherever it is blocked on the socket."""
        with self.front._lock:  # _start_tls swaps the socket under it
            sock = self.sock
        try:
            # socket.socket's own shutdown on the file descriptor, also under TLS (SSLSocket's
            # would try to unwrap, which is not what another thread may do).
            socket.socket.shutdown(sock, socket.SHUT_RDWR)
        except OSError:
            pass

    # -- bytes in, bytes out

    def _recv_exact(self, size: int) -> bytes:
        while len(self._in) < size:
            if self._out:
                self._flush()  # whatever the client waits for before it sends more
            chunk = self.sock.recv(1 << 16)
            if not chunk:
                raise _Disconnected
            self._in += chunk
        data = bytes(self._in[:size])
        del self._in[:size]
        return data

    def _read_message(self) -> tuple[bytes, bytes]:
        header = self._recv_exact(5)
        length = struct.unpack_from("!i", header, 1)[0]
        if not 4 <= length <= _MAX_MESSAGE_LENGTH:
            raise _ProtocolViolation("invalid message length")
        return header[:1], self._recv_exact(length - 4)

    def _send(self, kind: bytes, payload: bytes = b"") -> None:
        self._out += kind
        self._out += struct.pack("!i", len(payload) + 4)
        self._out += payload
        if len(self._out) >= _SEND_HIGH_WATER:
            self._flush()

    def _flush(self) -> None:
        if self._out:
            data = bytes(self._out)
            self._out.clear()
            self.sock.sendall(data)

    def _send_error(self, err: SqlError, fatal: bool = False) -> None:
        severity = err.severity or "ERROR"
        if fatal and severity == "ERROR":
            severity = "FATAL"
        fields = [(b"S", severity), (b"V", severity), (b"C", err.code), (b"M", err.message)]
        if err.detail:
            fields.append((b"D", err.detail))
        if err.hint:
            fields.append((b"H", err.hint))
        self._send(b"E", b"".join(key + _cstring(value) for key, value in fields) + b"\0")

    def _fatal(self, err: SqlError) -> None:
        try:
            self._send_error(err, fatal=True)
            self._flush()
        except OSError:
            pass

    def _ready(self) -> None:
        try:
            status = self.session.transaction_status
        except Exception:
            status = "I"
        if status not in ("I", "T", "E"):
            status = "I"
        self._send(b"Z", status.encode())

    def _call(self, function, *args):
        """Call the backend; exceptions other than SqlError become XX000 without their text."""
        try:
            return function(*args)
        except SqlError:
            raise
        except Exception as exc:
            log.debug("pgwire: backend %s raised", getattr(function, "__name__", function), exc_info=True)
            raise SqlError("XX000", f"internal error: {type(exc).__name__}") from None

    # -- startup and authentication

    def _startup(self) -> bool:
        while True:
            length = struct.unpack("!i", self._recv_exact(4))[0]
            if not 8 <= length <= _MAX_STARTUP_LENGTH:
                raise _ProtocolViolation("invalid length of startup packet")
            body = self._recv_exact(length - 4)
            code = struct.unpack_from("!i", body)[0]
            if code == _SSL_REQUEST:
                if self.tls or self.front.ssl_context is None:
                    self._out += b"N"
                    continue
                self._out += b"S"
                self._flush()
                if self._in:
                    raise _ProtocolViolation("received unencrypted data after SSL request")
                self._start_tls()
                continue
            if code == _GSSENC_REQUEST:
                self._out += b"N"
                continue
            if code == _CANCEL_REQUEST:
                return False
            break
        major, minor = code >> 16, code & 0xFFFF
        if major != _PROTOCOL_MAJOR:
            raise _ProtocolViolation(f"unsupported frontend protocol {major}.{minor}: server supports 3.0 to 3.0")
        try:
            params = self._startup_parameters(body[4:])
            if minor > 0 or any(key.startswith("_pq_.") for key in params):
                # A 3.x client newer than 3.0, or protocol options: answer what we speak, as
                # PostgreSQL does, and carry on in 3.0.
                unknown = [key for key in params if key.startswith("_pq_.")]
                payload = struct.pack("!ii", 0, len(unknown)) + b"".join(_cstring(key) for key in unknown)
                self._send(b"v", payload)
                params = {key: value for key, value in params.items() if not key.startswith("_pq_.")}
            if self.front.require_ssl and not self.tls:
                raise SqlError("28000", "node is running secure mode, SSL connection required")
            self._authenticate(params)
        except SqlError as err:
            self._fatal(err)
            return False
        return True

    def _start_tls(self) -> None:
        tls = self.front.ssl_context.wrap_socket(self.sock, server_side=True, do_handshake_on_connect=False)
        with self.front._lock:
            self.sock = tls
            stopping = self.front._stopping
        if stopping:
            raise _Disconnected
        tls.do_handshake()
        self.tls = True

    @staticmethod
    def _startup_parameters(data: bytes) -> dict[str, str]:
        reader = _MessageReader(data)
        params = {}
        while True:
            key = reader.cstring()
            if not key:
                break
            params[key] = reader.cstring()
        if reader.pos != len(data):
            raise _ProtocolViolation("invalid startup packet layout")
        return params

    def _authenticate(self, params: dict[str, str]) -> None:
        user = params.get("user")
        if not user:
            raise SqlError("28000", "no username specified in startup packet")
        database = params.get("database") or "defaultdb"
        options = dict(params, database=database)
        client_cert = self.sock.getpeercert() if self.tls else None
        method = self._call(self.backend.authenticate, user, database, client_cert or None)
        if method == "password":
            self._send(b"R", struct.pack("!i", 3))  # AuthenticationCleartextPassword
            kind, body = self._read_message()
            if kind != b"p":
                raise _ProtocolViolation(f"expected password response, got message type {kind!r}")
            password = body.split(b"\0", 1)[0].decode("utf-8", "surrogateescape")
            self._call(self.backend.check_password, user, password)
        elif method != "trust":
            raise SqlError("XX000", "internal error: unknown authentication method")
        self.session = self._call(self.backend.open_session, user, database, options)
        self._send(b"R", struct.pack("!i", 0))  # AuthenticationOk
        status = dict(_DEFAULT_PARAMETER_STATUS, application_name=params.get("application_name", ""))
        extra = getattr(self.backend, "parameter_status", None)
        if extra is not None:
            status.update(self._call(extra) or {})
        for key, value in status.items():
            self._send(b"S", _cstring(key) + _cstring(value))
        self._send(b"K", struct.pack("!II", secrets.randbelow(1 << 31) + 1, secrets.randbits(32)))
        self._ready()

    # -- the command loop

    def _serve(self) -> None:
        while True:
            kind, body = self._read_message()
            if kind == b"X":
                return
            handler = self._handlers.get(kind)
            if handler is None:
                if kind in (b"d", b"c", b"f"):  # COPY data outside COPY: ignored, as PostgreSQL does
                    continue
                raise _ProtocolViolation(f"invalid frontend message type {kind[0]}")
            if self._skip_to_sync and kind != b"S":
                continue
            try:
                handler(_MessageReader(body))
            except (_Disconnected, _ProtocolViolation, OSError):
                raise
            except Exception as exc:
                err = exc if isinstance(exc, SqlError) else SqlError("XX000", f"internal error: {type(exc).__name__}")
                if not isinstance(exc, SqlError):
                    log.exception("pgwire: %r message failed", kind)
                self._send_error(err)
                if kind == b"Q":
                    self._ready()
                else:
                    self._skip_to_sync = True

    def _execute(self, sql: str, params: list) -> Result:
        result = self._call(self.session.execute, sql, params)
        if not isinstance(result, Result):
            raise SqlError("XX000", f"internal error: execute returned {type(result).__name__}")
        return result

    def _row_description(self, columns: list[tuple[str, int]], formats: list[int]) -> None:
        parts = [struct.pack("!H", len(columns))]
        for (name, oid), fmt in zip(columns, formats, strict=True):
            if fmt == 1 and oid not in _BINARY_ENCODERS:
                raise SqlError("0A000", f"binary format for type oid {oid}")
            parts.append(_cstring(name))
            parts.append(struct.pack("!iHIhih", 0, 0, oid, _TYPE_SIZES.get(oid, -1), -1, fmt))
        self._send(b"T", b"".join(parts))

    def _data_rows(self, rows, columns: list[tuple[str, int]], formats: list[int]) -> None:
        encoders = [
            _BINARY_ENCODERS[oid] if fmt == 1 else (lambda value, oid=oid: _text_value(value, oid))
            for (_, oid), fmt in zip(columns, formats, strict=True)
        ]
        count = len(columns)
        header = struct.pack("!H", count)
        null = struct.pack("!i", -1)
        for row in rows:
            if len(row) != count:
                raise SqlError("XX000", f"internal error: a row of {len(row)} values for {count} columns")
            parts = [header]
            for value, encode in zip(row, encoders, strict=True):
                if value is None:
                    parts.append(null)
                    continue
                try:
                    data = encode(value)
                except SqlError:
                    raise
                except Exception as exc:
                    raise SqlError("XX000", f"internal error: {type(exc).__name__}") from None
                parts.append(struct.pack("!i", len(data)))
                parts.append(data)
            self._send(b"D", b"".join(parts))

    def _on_query(self, message: _MessageReader) -> None:
        statements = split_statements(message.cstring())
        if not statements:
            self._send(b"I")  # EmptyQueryResponse
        for sql in statements:
            try:
                result = self._execute(sql, [])
                if result.columns is not None:
                    formats = [0] * len(result.columns)
                    self._row_description(result.columns, formats)
                    self._data_rows(result.rows, result.columns, formats)
                self._send(b"C", _cstring(result.tag))
            except SqlError as err:
                self._send_error(err)
                break
        self._ready()

    def _on_parse(self, message: _MessageReader) -> None:
        name = message.cstring()
        sql = message.cstring()
        oids = [message.uint32() for _ in range(message.uint16())]
        if name and name in self._statements:
            raise SqlError("42P05", f'prepared statement "{name}" already exists')
        statements = split_statements(sql)
        if len(statements) > 1:
            raise SqlError("42601", "cannot insert multiple commands into a prepared statement")
        self._statements[name] = _Statement(statements[0] if statements else "", oids)
        self._send(b"1")  # ParseComplete

    def _statement(self, name: str) -> _Statement:
        statement = self._statements.get(name)
        if statement is None:
            raise SqlError(
                "26000",
                f'prepared statement "{name}" does not exist' if name else "unnamed prepared statement does not exist",
            )
        return statement

    def _portal(self, name: str) -> _Portal:
        portal = self._portals.get(name)
        if portal is None:
            raise SqlError("34000", f'portal "{name}" does not exist')
        return portal

    def _on_bind(self, message: _MessageReader) -> None:
        portal_name = message.cstring()
        statement = self._statement(message.cstring())
        param_formats = [message.int16() for _ in range(message.uint16())]
        values = [message.value() for _ in range(message.uint16())]
        result_formats = [message.int16() for _ in range(message.uint16())]
        for fmt in (*param_formats, *result_formats):
            if fmt not in (0, 1):
                raise SqlError("22023", f"unsupported format code: {fmt}")
        if len(values) < len(statement.oids):
            raise SqlError(
                "08P01",
                f"bind message supplies {len(values)} parameters, but the statement requires {len(statement.oids)}",
            )
        if portal_name and portal_name in self._portals:
            raise SqlError("42P03", f'portal "{portal_name}" already exists')
        formats = _resolve_formats(param_formats, len(values), "parameter")
        params = [
            _decode_param(index, statement.oids[index] if index < len(statement.oids) else UNKNOWN, fmt, value)
            for index, (fmt, value) in enumerate(zip(formats, values, strict=True))
        ]
        self._portals[portal_name] = _Portal(statement.sql, params, result_formats)
        self._send(b"2")  # BindComplete

    def _portal_result(self, portal: _Portal) -> Result:
        if portal.result is None:
            portal.result = self._execute(portal.sql, portal.params)
        return portal.result

    def _on_describe(self, message: _MessageReader) -> None:
        kind = message.byte()
        name = message.cstring()
        if kind == b"S":
            statement = self._statement(name)
            describe = getattr(self.session, "describe", None)
            columns = self._call(describe, statement.sql) if describe is not None and statement.sql else None
            oids = [oid or TEXT for oid in statement.oids]
            self._send(b"t", struct.pack(f"!H{len(oids)}I", len(oids), *oids))  # ParameterDescription
            if columns is None:
                self._send(b"n")  # NoData
            else:
                columns = [(str(column), int(oid)) for column, oid in columns]
                self._row_description(columns, [0] * len(columns))
        elif kind == b"P":
            portal = self._portal(name)
            columns = self._portal_result(portal).columns if portal.sql else None
            if columns is None:
                self._send(b"n")
            else:
                self._row_description(columns, _resolve_formats(portal.formats, len(columns), "result"))
        else:
            raise SqlError("08P01", f"invalid DESCRIBE message subtype {kind[0]}")

    def _on_execute(self, message: _MessageReader) -> None:
        portal = self._portal(message.cstring())
        max_rows = message.int32()
        if not portal.sql:
            self._send(b"I")
            return
        result = self._portal_result(portal)
        if not portal.done and result.columns is not None:
            rows = result.rows
            end = len(rows)
            if max_rows > 0 and end - portal.sent > max_rows:
                end = portal.sent + max_rows
            formats = _resolve_formats(portal.formats, len(result.columns), "result")
            self._data_rows(rows[portal.sent : end], result.columns, formats)
            portal.sent = end
            if end < len(rows):
                self._send(b"s")  # PortalSuspended
                return
        portal.done = True
        self._send(b"C", _cstring(result.tag))

    def _on_close(self, message: _MessageReader) -> None:
        kind = message.byte()
        name = message.cstring()
        if kind == b"S":
            self._statements.pop(name, None)
        elif kind == b"P":
            self._portals.pop(name, None)
        else:
            raise SqlError("08P01", f"invalid CLOSE message subtype {kind[0]}")
        self._send(b"3")  # CloseComplete

    def _on_flush(self, message: _MessageReader) -> None:
        self._flush()

    def _on_sync(self, message: _MessageReader) -> None:
        self._skip_to_sync = False
        self._ready()


# --- the server -------------------------------------------------------------------------------


class _Handler(socketserver.BaseRequestHandler):
    def handle(self):
        _Connection(self.server.front, self.request).run()


class _TCPServer(socketserver.ThreadingTCPServer):
    allow_reuse_address = True
    daemon_threads = True
    request_queue_size = 64

    def __init__(self, front: PgServer, address):
        self.front = front
        super().__init__(address, _Handler)

    def process_request(self, request, client_address):
        """A daemon thread per client, recorded so that stop() can join it."""
        thread = threading.Thread(
            target=self.process_request_thread,
            args=(request, client_address),
            name=f"pgwire-conn-{self.server_address[1]}-{client_address[1]}",
            daemon=True,
        )
        with self.front._lock:
            if self.front._stopping:
                self.shutdown_request(request)
                return
            self.front._threads.add(thread)
        thread.start()

    def process_request_thread(self, request, client_address):
        try:
            super().process_request_thread(request, client_address)
        finally:
            with self.front._lock:
                self.front._threads.discard(threading.current_thread())


class PgServer:
    """A PostgreSQL wire-protocol server for `backend` on (host, port); port 0 picks a free one.

    With `ssl_context` clients may negotiate TLS (the context decides whether they must present
    certificates); with `require_ssl` too, a client that did not is refused as CockroachDB does.
    """

    def __init__(self, backend, host="127.0.0.1", port=0, ssl_context=None, require_ssl=False):
        if require_ssl and ssl_context is None:
            raise ValueError("require_ssl needs an ssl_context")
        self.backend = backend
        self.ssl_context: ssl.SSLContext | None = ssl_context
        self.require_ssl = require_ssl
        self._lock = threading.Lock()
        self._connections: set[_Connection] = set()
        self._threads: set[threading.Thread] = set()
        self._stopping = False
        self._serve_thread: threading.Thread | None = None
        self._server = _TCPServer(self, (host, port))

    @property
    def address(self) -> tuple[str, int]:
        host, port = self._server.server_address[:2]
        return host, port

    def start(self) -> PgServer:
        """Serve on a background daemon thread."""
        with self._lock:
            if self._stopping:
                raise RuntimeError("PgServer was stopped")
            if self._serve_thread is None:
                self._serve_thread = threading.Thread(
                    target=self._server.serve_forever,
                    kwargs={"poll_interval": 0.05},
                    name=f"pgwire-serve-{self.address[1]}",
                    daemon=True,
                )
                self._serve_thread.start()
        return self

    def stop(self) -> None:
        """Stop accepting, end every client connection and wait for their threads. Idempotent."""
        with self._lock:
            if self._stopping:
                return
            self._stopping = True
            serve_thread = self._serve_thread
        if serve_thread is not None:
            self._server.shutdown()
            serve_thread.join()
        self._server.server_close()
        with self._lock:
            connections = list(self._connections)
            threads = list(self._threads)
        for connection in connections:
            connection.abort()
        deadline = time.monotonic() + _STOP_JOIN_SECONDS
        for thread in threads:
            thread.join(max(0.0, deadline - time.monotonic()))
            if thread.is_alive():
                log.warning("pgwire: %s did not end (blocked in the backend?)", thread.name)

    def __enter__(self) -> PgServer:
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()

    def _register(self, connection: _Connection) -> bool:
        with self._lock:
            if self._stopping:
                return False
            self._connections.add(connection)
            return True

    def _unregister(self, connection: _Connection) -> None:
        with self._lock:
            self._connections.discard(connection)
