"""SQLite persistence: transactions, the ledger, milestones and credits.

One connection guarded by the caller's lock (the node's writer lock); WAL
so a faucet command from another process can write while the node runs.
A database that is not ours or is damaged raises ``StoreError``: a dev node
that silently reset would lose the balances a demo depends on.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
import sqlite3
from typing import Final

from .errors import StoreError
from .transaction import Transaction

SCHEMA_VERSION: Final = "1"
# Transactions kept decoded in memory (about 6 KiB each; the rest are read
# back from the database when asked for).
CACHE_SIZE: Final = 20_000

_SCHEMA: Final = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE transactions (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    hash TEXT NOT NULL UNIQUE,
    trytes TEXT NOT NULL,
    address TEXT NOT NULL,
    bundle TEXT NOT NULL,
    tag TEXT NOT NULL,
    trunk TEXT NOT NULL,
    branch TEXT NOT NULL,
    value INTEGER NOT NULL,
    current_index INTEGER NOT NULL,
    arrival_ms INTEGER NOT NULL,
    confirmed_by INTEGER
);
CREATE INDEX transactions_address ON transactions(address);
CREATE INDEX transactions_bundle ON transactions(bundle);
CREATE INDEX transactions_tag ON transactions(tag);
CREATE INDEX transactions_trunk ON transactions(trunk);
CREATE INDEX transactions_branch ON transactions(branch);
CREATE TABLE bundle_verdicts (
    tail TEXT PRIMARY KEY,
    bundle TEXT NOT NULL,
    error TEXT
);
CREATE TABLE spends (
    address TEXT NOT NULL,
    tail TEXT NOT NULL,
    PRIMARY KEY (address, tail)
);
CREATE TABLE balances (address TEXT PRIMARY KEY, balance INTEGER NOT NULL);
CREATE TABLE milestones (
    idx INTEGER PRIMARY KEY,
    hash TEXT NOT NULL UNIQUE,
    timestamp_ms INTEGER NOT NULL
);
CREATE TABLE credits (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    address TEXT NOT NULL,
    amount INTEGER NOT NULL,
    reason TEXT NOT NULL,
    at_ms INTEGER NOT NULL
);
"""


@dataclass(frozen=True, slots=True)
class Milestone:
    index: int
    hash: str
    timestamp_ms: int


class Store:
    """The node's durable state. Not thread-safe: callers hold a lock."""

    def __init__(self, path: Path | str, *, cache_size: int = CACHE_SIZE) -> None:
        if cache_size < 0:
            raise ValueError(f"cache_size is >= 0, not {cache_size}")
        self._path = str(path)
        self._cache: OrderedDict[str, Transaction] = OrderedDict()
        self._cache_size = cache_size
        try:
            self._db = sqlite3.connect(
                self._path, check_same_thread=False, isolation_level=None, timeout=10
            )
        except sqlite3.Error as err:
            raise StoreError(f"cannot open database {self._path}: {err}") from err
        try:
            self._open()
        except sqlite3.DatabaseError as err:
            self._db.close()
            raise StoreError(
                f"database {self._path} is corrupt or not a devtangle database: {err}"
            ) from err
        except StoreError:
            self._db.close()
            raise

    def _open(self) -> None:
        db = self._db
        check = db.execute("PRAGMA quick_check").fetchone()
        if check is None or check[0] != "ok":
            raise StoreError(f"database {self._path} failed its integrity check")
        tables = {
            row[0]
            for row in db.execute("SELECT name FROM sqlite_master WHERE type='table'")
        }
        if not tables:
            db.execute("PRAGMA journal_mode=WAL")
            with self.transaction():
                for statement in _SCHEMA.split(";"):
                    if statement.strip():
                        db.execute(statement)
                db.execute(
                    "INSERT INTO meta VALUES ('schema_version', ?)", (SCHEMA_VERSION,)
                )
            return
        if "meta" not in tables:
            raise StoreError(f"database {self._path} is not a devtangle database")
        version = self.meta("schema_version")
        if version != SCHEMA_VERSION:
            raise StoreError(
                f"database {self._path} has schema {version!r}, "
                f"this devtangle reads {SCHEMA_VERSION!r}"
            )
        db.execute("PRAGMA journal_mode=WAL")

    def close(self) -> None:
        self._db.close()

    def transaction(self) -> _Transaction:
        """A context manager: BEGIN IMMEDIATE ... COMMIT (ROLLBACK on error)."""
        return _Transaction(self._db)

    # -- meta ---------------------------------------------------------------

    def meta(self, key: str) -> str | None:
        row = self._db.execute(
            "SELECT value FROM meta WHERE key = ?", (key,)
        ).fetchone()
        return None if row is None else str(row[0])

    def set_meta(self, key: str, value: str) -> None:
        self._db.execute(
            "INSERT INTO meta VALUES (?, ?) "
            "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            (key, value),
        )

    # -- transactions -------------------------------------------------------

    def add_transaction(self, tx: Transaction, arrival_ms: int) -> bool:
        """Store ``tx``; False if it was already there."""
        cursor = self._db.execute(
            "INSERT OR IGNORE INTO transactions (hash, trytes, address, bundle, tag,"
            " trunk, branch, value, current_index, arrival_ms)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                tx.hash,
                tx.trytes,
                tx.address,
                tx.bundle,
                tx.tag,
                tx.trunk,
                tx.branch,
                tx.value,
                tx.current_index,
                arrival_ms,
            ),
        )
        if cursor.rowcount:
            self._remember(tx)
            return True
        return False

    def _remember(self, tx: Transaction) -> None:
        self._cache[tx.hash] = tx
        self._cache.move_to_end(tx.hash)
        if len(self._cache) > self._cache_size:
            self._cache.popitem(last=False)

    @property
    def cached(self) -> int:
        """Transactions held decoded in memory now."""
        return len(self._cache)

    def forget(self, hashes: Iterable[str]) -> None:
        """Drop cached transactions whose insert was rolled back."""
        for hash_ in hashes:
            self._cache.pop(hash_, None)

    def get(self, hash_: str) -> Transaction | None:
        if (tx := self._cache.get(hash_)) is not None:
            return tx
        row = self._db.execute(
            "SELECT trytes FROM transactions WHERE hash = ?", (hash_,)
        ).fetchone()
        if row is None:
            return None
        tx = Transaction.parse(str(row[0]), hash_)
        self._remember(tx)
        return tx

    def contains(self, hash_: str) -> bool:
        return hash_ in self._cache or (
            self._db.execute(
                "SELECT 1 FROM transactions WHERE hash = ?", (hash_,)
            ).fetchone()
            is not None
        )

    def trytes(self, hashes: Sequence[str]) -> list[str | None]:
        found: list[str | None] = []
        for hash_ in hashes:
            tx = self.get(hash_)
            found.append(None if tx is None else tx.trytes)
        return found

    def arrival_order(self, hashes: Iterable[str]) -> list[str]:
        """``hashes`` (stored ones) sorted by when they arrived."""
        wanted = list(hashes)
        seq: dict[str, int] = {}
        for chunk_start in range(0, len(wanted), 500):
            chunk = wanted[chunk_start : chunk_start + 500]
            marks = ",".join("?" * len(chunk))
            for hash_, number in self._db.execute(
                f"SELECT hash, seq FROM transactions WHERE hash IN ({marks})",
                chunk,
            ):
                seq[str(hash_)] = int(number)
        return sorted(seq, key=seq.__getitem__)

    def find(self, column: str, values: Sequence[str]) -> set[str]:
        """Hashes of transactions whose ``column`` is one of ``values``."""
        if column not in {"address", "bundle", "tag", "trunk", "branch"}:
            raise ValueError(column)
        found: set[str] = set()
        for value in values:
            found.update(
                str(row[0])
                for row in self._db.execute(
                    f"SELECT hash FROM transactions WHERE {column} = ?",
                    (value,),
                )
            )
        return found

    def approvers(self, hash_: str) -> set[str]:
        return self.find("trunk", [hash_]) | self.find("branch", [hash_])

    def tails_of_bundle(self, bundle: str) -> list[str]:
        return [
            str(row[0])
            for row in self._db.execute(
                "SELECT hash FROM transactions WHERE bundle = ? AND current_index = 0"
                " ORDER BY seq",
                (bundle,),
            )
        ]

    def tips(self) -> list[str]:
        """Transactions nothing approves yet, oldest first."""
        return [
            str(row[0])
            for row in self._db.execute(
                "SELECT hash FROM transactions t WHERE NOT EXISTS"
                " (SELECT 1 FROM transactions a WHERE a.trunk = t.hash)"
                " AND NOT EXISTS"
                " (SELECT 1 FROM transactions a WHERE a.branch = t.hash)"
                " ORDER BY seq"
            )
        ]

    def unconfirmed_tails(self, limit: int, *, newest_first: bool = False) -> list[str]:
        """Tails no milestone has confirmed yet, in arrival order."""
        order = "DESC" if newest_first else "ASC"
        return [
            str(row[0])
            for row in self._db.execute(
                "SELECT hash FROM transactions WHERE confirmed_by IS NULL"
                f" AND current_index = 0 ORDER BY seq {order} LIMIT ?",
                (limit,),
            )
        ]

    def confirmed_by(self, hash_: str) -> int | None:
        row = self._db.execute(
            "SELECT confirmed_by FROM transactions WHERE hash = ?", (hash_,)
        ).fetchone()
        return None if row is None or row[0] is None else int(row[0])

    def count_transactions(self) -> int:
        row = self._db.execute("SELECT COUNT(*) FROM transactions").fetchone()
        return int(row[0])

    # -- bundles ------------------------------------------------------------

    def bundle_verdict(self, tail: str) -> tuple[bool, str | None] | None:
        """(known, error) for a tail's bundle; None if never judged."""
        row = self._db.execute(
            "SELECT error FROM bundle_verdicts WHERE tail = ?", (tail,)
        ).fetchone()
        return None if row is None else (True, None if row[0] is None else str(row[0]))

    def record_verdict(
        self, tail: str, bundle: str, error: str | None, inputs: Iterable[str]
    ) -> None:
        self._db.execute(
            "INSERT OR REPLACE INTO bundle_verdicts VALUES (?, ?, ?)",
            (tail, bundle, error),
        )
        if error is None:
            self._db.executemany(
                "INSERT OR IGNORE INTO spends VALUES (?, ?)",
                [(address, tail) for address in inputs],
            )

    def was_spent_from(self, address: str) -> bool:
        return (
            self._db.execute(
                "SELECT 1 FROM spends WHERE address = ? LIMIT 1", (address,)
            ).fetchone()
            is not None
        )

    # -- ledger -------------------------------------------------------------

    def balance(self, address: str) -> int:
        row = self._db.execute(
            "SELECT balance FROM balances WHERE address = ?", (address,)
        ).fetchone()
        return 0 if row is None else int(row[0])

    def total_supply(self) -> int:
        row = self._db.execute(
            "SELECT COALESCE(SUM(balance), 0) FROM balances"
        ).fetchone()
        return int(row[0])

    def credit(self, address: str, amount: int, reason: str, at_ms: int) -> None:
        """Add ``amount`` to ``address`` outside any bundle (genesis, faucet)."""
        self._add_balance(address, amount)
        self._db.execute(
            "INSERT INTO credits (address, amount, reason, at_ms) VALUES (?, ?, ?, ?)",
            (address, amount, reason, at_ms),
        )

    def _add_balance(self, address: str, delta: int) -> None:
        self._db.execute(
            "INSERT INTO balances VALUES (?, ?) "
            "ON CONFLICT(address) DO UPDATE SET balance = balance + excluded.balance",
            (address, delta),
        )

    def confirm(
        self, milestone: Milestone, hashes: Iterable[str], deltas: Mapping[str, int]
    ) -> None:
        """Record a milestone, the transactions it confirms and their effect."""
        self._db.execute(
            "INSERT INTO milestones VALUES (?, ?, ?)",
            (milestone.index, milestone.hash, milestone.timestamp_ms),
        )
        self._db.executemany(
            "UPDATE transactions SET confirmed_by = ? WHERE hash = ?"
            " AND confirmed_by IS NULL",
            [(milestone.index, hash_) for hash_ in hashes],
        )
        for address, delta in deltas.items():
            if delta:
                self._add_balance(address, delta)

    # -- milestones ---------------------------------------------------------

    def latest_milestone(self) -> Milestone | None:
        row = self._db.execute(
            "SELECT idx, hash, timestamp_ms FROM milestones ORDER BY idx DESC LIMIT 1"
        ).fetchone()
        return None if row is None else Milestone(int(row[0]), str(row[1]), int(row[2]))

    def milestone_index_of(self, hash_: str) -> int | None:
        row = self._db.execute(
            "SELECT idx FROM milestones WHERE hash = ?", (hash_,)
        ).fetchone()
        return None if row is None else int(row[0])


class _Transaction:
    def __init__(self, db: sqlite3.Connection) -> None:
        self._db = db

    def __enter__(self) -> None:
        self._db.execute("BEGIN IMMEDIATE")

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        if exc_type is None:
            self._db.execute("COMMIT")
        else:
            self._db.execute("ROLLBACK")
