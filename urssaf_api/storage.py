"""State of the embedded sandbox: JSON documents by (kind, key) plus counters.

The interface is deliberately tiny so that the Odoo addon can provide its own
implementation on PostgreSQL. Documents hold JSON values only (dates as ISO
strings, amounts as decimal strings).
"""

import json
import sqlite3
import threading
from abc import ABC, abstractmethod
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager

__all__ = [
    "MemoryStorage",
    "SandboxStorage",
    "SqliteStorage",
    "StorageTransaction",
]

_MISSING = object()
_COUNTER_KIND = "_counter"


def _matches(document: dict, equals: dict) -> bool:
    return all(field in document and document[field] == value for field, value in equals.items())


def _encode(document: dict) -> str:
    if not isinstance(document, dict):
        raise TypeError("a storage document must be a dict")
    return json.dumps(document, allow_nan=False, separators=(",", ":"))


class StorageTransaction(ABC):
    """One serialised unit of work; only valid inside ``transaction()``."""

    @abstractmethod
    def get(self, kind: str, key: str) -> dict | None:
        """The document stored under (kind, key), or None."""

    @abstractmethod
    def put(self, kind: str, key: str, document: dict) -> None:
        """Create or replace a JSON-serialisable document."""

    @abstractmethod
    def delete(self, kind: str, key: str) -> None:
        """Remove a document; no error when absent."""

    @abstractmethod
    def find(self, kind: str, **equals) -> list[dict]:
        """Documents of ``kind`` whose top-level fields equal the given values."""

    @abstractmethod
    def next_number(self, name: str) -> int:
        """1, 2, 3... per name, never reused (unless the transaction rolls back)."""


class SandboxStorage(ABC):
    """Where the sandbox keeps its state."""

    @abstractmethod
    def transaction(self) -> AbstractContextManager[StorageTransaction]:
        """Serialised, all-or-nothing unit of work (commit on normal exit,
        rollback on exception)."""


class _MemoryTransaction(StorageTransaction):
    # Documents are kept as (json_text, parsed) pairs: the text gives callers
    # private copies cheaply, the parsed form lets find() compare fields.

    def __init__(self, documents, counters):
        self._documents = documents
        self._counters = counters
        self._undo_documents = {}
        self._undo_counters = {}
        self._open = True

    def _check_open(self):
        if not self._open:
            raise RuntimeError("storage transaction already closed")

    def get(self, kind, key):
        self._check_open()
        entry = self._documents.get(kind, {}).get(key)
        return None if entry is None else json.loads(entry[0])

    def _remember(self, kind, key):
        if (kind, key) not in self._undo_documents:
            previous = self._documents.get(kind, {}).get(key, _MISSING)
            self._undo_documents[(kind, key)] = previous

    def put(self, kind, key, document):
        self._check_open()
        text = _encode(document)
        self._remember(kind, key)
        self._documents.setdefault(kind, {})[key] = (text, json.loads(text))

    def delete(self, kind, key):
        self._check_open()
        if key in self._documents.get(kind, {}):
            self._remember(kind, key)
            del self._documents[kind][key]

    def find(self, kind, **equals):
        self._check_open()
        return [json.loads(text) for text, parsed in self._documents.get(kind, {}).values() if _matches(parsed, equals)]

    def next_number(self, name):
        self._check_open()
        if name not in self._undo_counters:
            self._undo_counters[name] = self._counters.get(name, _MISSING)
        self._counters[name] = self._counters.get(name, 0) + 1
        return self._counters[name]

    def _rollback(self):
        for (kind, key), previous in self._undo_documents.items():
            if previous is _MISSING:
                self._documents.get(kind, {}).pop(key, None)
            else:
                self._documents.setdefault(kind, {})[key] = previous
        for name, previous in self._undo_counters.items():
            if previous is _MISSING:
                self._counters.pop(name, None)
            else:
                self._counters[name] = previous

    def _close(self):
        self._open = False


class MemoryStorage(SandboxStorage):
    """Process-local storage; one transaction at a time across threads."""

    def __init__(self):
        self._lock = threading.Lock()
        self._owner = None
        self._documents: dict[str, dict[str, tuple[str, dict]]] = {}
        self._counters: dict[str, int] = {}

    @contextmanager
    def transaction(self) -> Iterator[StorageTransaction]:
        if self._owner == threading.get_ident():
            # A plain lock would deadlock here; say why instead.
            raise RuntimeError("nested storage transactions are not supported")
        with self._lock:
            self._owner = threading.get_ident()
            transaction = _MemoryTransaction(self._documents, self._counters)
            try:
                yield transaction
            except BaseException:
                transaction._rollback()
                raise
            finally:
                transaction._close()
                self._owner = None


class _SqliteTransaction(StorageTransaction):
    def __init__(self, connection: sqlite3.Connection):
        self._connection = connection
        self._open = True

    def _execute(self, sql, parameters=()):
        if not self._open:
            raise RuntimeError("storage transaction already closed")
        return self._connection.execute(sql, parameters)

    def get(self, kind, key):
        row = self._execute("SELECT document FROM documents WHERE kind = ? AND key = ?", (kind, key)).fetchone()
        return None if row is None else json.loads(row[0])

    def put(self, kind, key, document):
        self._execute(
            "INSERT OR REPLACE INTO documents (kind, key, document) VALUES (?, ?, ?)",
            (kind, key, _encode(document)),
        )

    def delete(self, kind, key):
        self._execute("DELETE FROM documents WHERE kind = ? AND key = ?", (kind, key))

    def find(self, kind, **equals):
        sql = "SELECT document FROM documents WHERE kind = ?"
        parameters = [kind]
        # Narrow on string fields in SQL; the Python check below stays the
        # reference (json_extract maps booleans and numbers loosely).
        for field, value in equals.items():
            if field == "account" and isinstance(value, str):
                # Written as the index's expression, so that SQLite uses it.
                sql += f" AND {_ACCOUNT_PATH} = ?"
                parameters.append(value)
            elif isinstance(value, str):
                sql += " AND json_extract(document, ?) = ?"
                quoted = field.replace('"', '""')
                parameters += [f'$."{quoted}"', value]
        documents = (json.loads(row[0]) for row in self._execute(sql, parameters))
        return [document for document in documents if _matches(document, equals)]

    def next_number(self, name):
        row = self._execute(
            "SELECT document FROM documents WHERE kind = ? AND key = ?",
            (_COUNTER_KIND, name),
        ).fetchone()
        number = (json.loads(row[0])["value"] if row else 0) + 1
        self.put(_COUNTER_KIND, name, {"value": number})
        return number


_ACCOUNT_PATH = "json_extract(document, '$.\"account\"')"


class SqliteStorage(SandboxStorage):
    """A SQLite file; transactions are serialised across threads and processes
    by ``BEGIN IMMEDIATE``, and the state survives restarts."""

    def __init__(self, path, *, timeout: float = 30.0):
        self.path = str(path)
        self._timeout = timeout
        connection = self._connect()
        try:
            connection.execute(
                "CREATE TABLE IF NOT EXISTS documents ("
                " kind TEXT NOT NULL, key TEXT NOT NULL, document TEXT NOT NULL,"
                " PRIMARY KEY (kind, key))"
            )
            # The sandbox finds an account's declarations and mandates on
            # every call: without it, each call read every document of the
            # kind (30 ms a call at 20,000 declarations, under the lock that
            # serialises the server's transactions).
            connection.execute(f"CREATE INDEX IF NOT EXISTS documents_account ON documents (kind, {_ACCOUNT_PATH})")
        finally:
            connection.close()

    def _connect(self) -> sqlite3.Connection:
        # Autocommit mode: transactions are opened and closed explicitly.
        return sqlite3.connect(self.path, timeout=self._timeout, isolation_level=None)

    @contextmanager
    def transaction(self) -> Iterator[StorageTransaction]:
        connection = self._connect()
        try:
            connection.execute("BEGIN IMMEDIATE")
            transaction = _SqliteTransaction(connection)
            try:
                yield transaction
            except BaseException:
                connection.execute("ROLLBACK")
                raise
            else:
                connection.execute("COMMIT")
            finally:
                transaction._open = False
        finally:
            connection.close()
