"""The Rebased wallet's key: a BIP-39 mnemonic, a validated path, an address.

The mnemonic is read once into an Ed25519 key and not kept. It never
appears in a repr, a log line or an exception: the SDK's own errors are
replaced by :class:`MnemonicError` with a reason key and nothing else (no
word, no position), raised without its cause.

The path is checked here because the SDK's ``from_mnemonic_with_path``
accepts any path and silently hardens it (docs/rebased.md): only
``m/44'/4218'/0'/0'/i'`` is IOTA's Ed25519 path (purpose 44, SLIP-44 coin
type 4218, every level hardened), the rule of IOTA's own keytool.
"""

from __future__ import annotations

import re
from typing import Any
import unicodedata

from .rail import ReceiverError
from .rebased_sdk import import_iota_sdk

COIN_TYPE = 4218
PURPOSE_ED25519 = 44
DEFAULT_PATH = f"m/{PURPOSE_ED25519}'/{COIN_TYPE}'/0'/0'/0'"
WORD_COUNTS = (12, 15, 18, 21, 24)
_HARDENED_LIMIT = 2**31
_PATH = re.compile(r"m(?:/(?:0|[1-9]\d{0,9})')+")
_RECEIVER = re.compile(r"0x[0-9a-fA-F]{64}")
_ZERO_ADDRESS = "0x" + "0" * 64


class MnemonicError(ValueError):
    """The mnemonic is unusable; ``reason`` is a translation key, nothing else."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class PathError(ValueError):
    """The derivation path is not IOTA's Ed25519 path."""


def validate_path(path: str) -> str:
    """``path`` if it is m/44'/4218'/a'/c'/i' (five hardened levels)."""
    match = _PATH.fullmatch(path)
    levels = [int(level.rstrip("'")) for level in path[2:].split("/")] if match else []
    if (
        len(levels) != 5
        or levels[0] != PURPOSE_ED25519
        or levels[1] != COIN_TYPE
        or any(level >= _HARDENED_LIMIT for level in levels)
    ):
        raise PathError(f"not IOTA's Ed25519 path m/44'/4218'/a'/c'/i': {path!r}")
    return path


def account_path(index: int) -> str:
    """The path of address ``index`` in account 0 (what IOTA wallets use)."""
    return validate_path(f"m/{PURPOSE_ED25519}'/{COIN_TYPE}'/0'/0'/{index}'")


def normalize_mnemonic(text: str) -> str:
    """NFKD, lower case, single spaces: what BIP-39 seeds from."""
    return " ".join(unicodedata.normalize("NFKD", text).lower().split())


def generate_mnemonic(words: int = 24) -> str:
    """A new English BIP-39 mnemonic of 12 or 24 words."""
    sdk = import_iota_sdk()
    length = {12: sdk.MnemonicLength.WORDS12, 24: sdk.MnemonicLength.WORDS24}
    if words not in length:
        raise ValueError("a new mnemonic has 12 or 24 words")
    phrase: str = sdk.generate_mnemonic(length[words])
    return phrase


def check_receiver(receiver: str) -> str:
    """``0x`` + 64 hex digits, lower case; ReceiverError otherwise."""
    text = receiver.strip()
    if not _RECEIVER.fullmatch(text):
        raise ReceiverError("receiver_format")
    text = text.lower()
    if text == _ZERO_ADDRESS:
        raise ReceiverError("receiver_zero")
    return text


class RebasedKey:
    """One Ed25519 key of the wallet and its address."""

    __slots__ = ("_key", "address", "path")

    def __init__(self, key: Any, path: str) -> None:
        self._key = key
        self.path = path
        self.address: str = key.public_key().derive_address().to_hex()

    @classmethod
    def from_mnemonic(cls, mnemonic: str, path: str = DEFAULT_PATH) -> RebasedKey:
        """The key at ``path``; MnemonicError or PathError if unusable."""
        validate_path(path)
        sdk = import_iota_sdk()
        phrase = normalize_mnemonic(mnemonic)
        if len(phrase.split()) not in WORD_COUNTS:
            raise MnemonicError("mnemonic_word_count")
        try:
            key = sdk.Ed25519PrivateKey.from_mnemonic_with_path(phrase, path, "")
        except Exception as err:  # the SDK raises one generic type
            raise MnemonicError(_mnemonic_reason(str(err))) from None
        return cls(key, path)

    def sign_transaction(self, transaction: Any) -> Any:
        """The SDK's ``UserSignature`` over ``transaction`` (offline)."""
        return self._key.sign_transaction(transaction)

    def __repr__(self) -> str:
        return f"RebasedKey(address={self.address!r}, path={self.path!r})"

    __str__ = __repr__

    def __reduce__(self) -> Any:
        raise TypeError("a wallet key is not pickled")


def _mnemonic_reason(sdk_text: str) -> str:
    """A reason key for the SDK's complaint (its text is never passed on)."""
    text = sdk_text.lower()
    if "checksum" in text:
        return "mnemonic_checksum"
    if "unknown word" in text:
        return "mnemonic_unknown_word"
    if "word count" in text:
        return "mnemonic_word_count"
    return "mnemonic_invalid"
