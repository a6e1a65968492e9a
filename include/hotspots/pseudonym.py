"""Keyed pseudonyms for device ids: officer GPS is personal data, raw ids never enter the warehouse."""

from __future__ import annotations

import hashlib
import hmac

from hotspots.settings import Settings, resolve_settings

PSEUDONYM_HEX_CHARS = 16


class MissingPseudonymKey(RuntimeError):
    """GPS cannot be ingested without the secret key."""


def pseudonym_key(settings: Settings | None = None) -> bytes:
    settings = resolve_settings(settings)
    if settings.pseudonym_key is None or not settings.pseudonym_key.get_secret_value():
        raise MissingPseudonymKey(
            "HOTSPOTS_PSEUDONYM_KEY is not set. GPS device ids are personal data and are stored only as keyed "
            "pseudonyms: set a long random secret (e.g. `python -c 'import secrets; print(secrets.token_hex(32))'`) "
            "in the environment or a secrets backend, and keep it: a new key gives every device a new pseudonym."
        )
    return settings.pseudonym_key.get_secret_value().encode()


def device_key(device_id: str, key: bytes) -> str:
    """HMAC-SHA256 of the device id under the key, first 16 hex characters (64 bits)."""
    return hmac.new(key, device_id.encode(), hashlib.sha256).hexdigest()[:PSEUDONYM_HEX_CHARS]
