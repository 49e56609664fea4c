"""WeCom (企业微信) callback crypto: signature, AES-256-CBC envelope and safe XML parsing.

This follows the scheme of WeCom's "加解密方案" for self-built app callbacks:

- ``EncodingAESKey`` is 43 base64 characters; ``key = b64decode(aes_key + "=")`` gives 32 bytes and the
  IV is ``key[:16]``.
- The plaintext is ``16 random bytes + 4-byte big-endian length + message + receiveid`` (the corp id),
  PKCS#7-padded to a 32-byte block (not AES's 16), encrypted with AES-256-CBC and base64-encoded.
- ``msg_signature = sha1(''.join(sorted([token, timestamp, nonce, encrypt])))`` in hex.

Everything here is pure (no I/O, no clock unless ``now`` is given) so it can be tested with the
published vectors. XML is parsed only with defusedxml, with DTDs refused outright: WeCom never sends
one, so any DTD or entity is hostile.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import logging
import os
import re
import struct
from xml.etree.ElementTree import Element, ParseError

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring as _defused_fromstring

logger = logging.getLogger(__name__)

#: WeCom pads to 32 bytes, not to the AES block size.
PAD_BLOCK = 32
#: Largest accepted skew between a request's timestamp and ``now``, in seconds (replay window).
MAX_TIMESTAMP_SKEW = 300
#: Callback bodies are a few KiB at most; refuse anything far larger before parsing it.
MAX_XML_BYTES = 256 * 1024
#: Fields returned by :func:`parse_message` (always present, ``""`` when absent).
MESSAGE_FIELDS = (
    "ToUserName",
    "FromUserName",
    "CreateTime",
    "MsgType",
    "Content",
    "MsgId",
    "AgentID",
    "Event",
    "EventKey",
)

_TIMESTAMP_RE = re.compile(r"[0-9]{1,12}")
# Nonces and timestamps are echoed into the reply XML inside CDATA; keep them to a harmless alphabet.
_NONCE_RE = re.compile(r"[0-9A-Za-z_-]{1,64}")

_REPLY_TEMPLATE = """<xml>
<Encrypt><![CDATA[{encrypt}]]></Encrypt>
<MsgSignature><![CDATA[{signature}]]></MsgSignature>
<TimeStamp>{timestamp}</TimeStamp>
<Nonce><![CDATA[{nonce}]]></Nonce>
</xml>"""


class WeComCryptoError(Exception):
    """Base class of every refusal raised by this module; the message is plain and secret-free."""


class InvalidSignature(WeComCryptoError):
    """The msg_signature does not match token, timestamp, nonce and payload."""


class InvalidCorpId(WeComCryptoError):
    """The decrypted receiveid is not our corp id."""


class ExpiredTimestamp(WeComCryptoError):
    """The request's timestamp is too far from now (possible replay)."""


class MalformedMessage(WeComCryptoError):
    """The XML, base64, padding or length fields are not well formed."""


def _parse_xml(data: bytes | str) -> Element:
    """Parse untrusted XML with defusedxml, refusing DTDs, entities and external references."""
    if isinstance(data, str):
        data = data.encode("utf-8")
    if len(data) > MAX_XML_BYTES:
        raise MalformedMessage("XML body too large")
    try:
        return _defused_fromstring(data, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except DefusedXmlException as exc:
        raise MalformedMessage(f"XML refused: {type(exc).__name__}") from None
    except (ParseError, ValueError, UnicodeError):
        raise MalformedMessage("XML is not well formed") from None


def _cdata(text: str) -> str:
    """Wrap text in CDATA, splitting any ']]>' so the text cannot close the section early."""
    return "<![CDATA[" + text.replace("]]>", "]]]]><![CDATA[>") + "]]>"


class WeComCrypto:
    """Signs, verifies, encrypts and decrypts WeCom callback payloads for one app."""

    def __init__(self, token: str, encoding_aes_key: str, corp_id: str) -> None:
        """Derive the AES key; raise ValueError (without echoing the key) if it is not 43 base64 chars."""
        if not token:
            raise ValueError("WeCom token must not be empty")
        if not corp_id:
            raise ValueError("WeCom corp id must not be empty")
        if len(encoding_aes_key) != 43:
            raise ValueError("WeCom EncodingAESKey must be 43 characters")
        try:
            key = base64.b64decode(encoding_aes_key + "=", validate=True)
        except (binascii.Error, ValueError):
            raise ValueError("WeCom EncodingAESKey is not valid base64") from None
        if len(key) != 32:  # pragma: no cover - 43 valid base64 chars + '=' always decode to 32 bytes
            raise ValueError("WeCom EncodingAESKey must decode to 32 bytes")
        self._token = token
        self._key = key
        self._iv = key[:16]
        self.corp_id = corp_id

    def __repr__(self) -> str:
        """Show the corp id only: token and key are secrets."""
        return f"WeComCrypto(corp_id={self.corp_id!r})"

    # --- signature -------------------------------------------------------------------------------

    def signature(self, timestamp: str, nonce: str, encrypt: str) -> str:
        """Return the SHA-1 hex signature of the sorted [token, timestamp, nonce, encrypt]."""
        parts = sorted([self._token, str(timestamp), str(nonce), encrypt])
        return hashlib.sha1("".join(parts).encode("utf-8")).hexdigest()

    def _check_signature(self, msg_signature: str, timestamp: str, nonce: str, encrypt: str) -> None:
        """Raise InvalidSignature unless msg_signature matches, compared in constant time."""
        expected = self.signature(timestamp, nonce, encrypt)
        if not hmac.compare_digest(expected.encode("ascii"), (msg_signature or "").lower().encode("utf-8")):
            raise InvalidSignature("msg_signature does not match")

    @staticmethod
    def _check_timestamp(timestamp: str, now: int | float | None) -> None:
        """Raise ExpiredTimestamp if timestamp is more than MAX_TIMESTAMP_SKEW s from now."""
        if not _TIMESTAMP_RE.fullmatch(str(timestamp)):
            raise MalformedMessage("timestamp is not a number")
        if now is None:
            return
        if abs(int(now) - int(timestamp)) > MAX_TIMESTAMP_SKEW:
            raise ExpiredTimestamp("timestamp outside the 300 s window")

    # --- envelope --------------------------------------------------------------------------------

    def encrypt(self, text: str, random_bytes: bytes | None = None) -> str:
        """Encrypt text into the base64 envelope (16 random bytes, length, text, corp id)."""
        if random_bytes is None:
            random_bytes = os.urandom(16)
        if len(random_bytes) != 16:
            raise ValueError("random_bytes must be 16 bytes")
        body = text.encode("utf-8")
        plain = random_bytes + struct.pack(">I", len(body)) + body + self.corp_id.encode("utf-8")
        pad = PAD_BLOCK - len(plain) % PAD_BLOCK
        plain += bytes([pad]) * pad
        encryptor = Cipher(algorithms.AES(self._key), modes.CBC(self._iv)).encryptor()
        return base64.b64encode(encryptor.update(plain) + encryptor.finalize()).decode("ascii")

    def decrypt(self, encrypted: str) -> str:
        """Decrypt a base64 envelope, check padding, length and corp id, and return the message."""
        try:
            data = base64.b64decode(encrypted, validate=True)
        except (binascii.Error, ValueError):
            raise MalformedMessage("payload is not valid base64") from None
        if not data or len(data) % 16:
            raise MalformedMessage("payload length is not a multiple of the AES block")
        decryptor = Cipher(algorithms.AES(self._key), modes.CBC(self._iv)).decryptor()
        plain = decryptor.update(data) + decryptor.finalize()
        pad = plain[-1]
        # Strict PKCS#7 (block 32): a wrong key or a tampered payload shows up here first.
        if not 1 <= pad <= PAD_BLOCK or pad > len(plain) or plain[-pad:] != bytes([pad]) * pad:
            raise MalformedMessage("bad padding")
        content = plain[16:-pad]
        if len(content) < 4:
            raise MalformedMessage("payload too short")
        (length,) = struct.unpack(">I", content[:4])
        if length > len(content) - 4:
            raise MalformedMessage("message length exceeds payload")
        message, receive_id = content[4 : 4 + length], content[4 + length :]
        if not hmac.compare_digest(receive_id, self.corp_id.encode("utf-8")):
            raise InvalidCorpId("receiveid does not match the corp id")
        try:
            return message.decode("utf-8")
        except UnicodeDecodeError:
            raise MalformedMessage("message is not UTF-8") from None

    # --- callback operations ---------------------------------------------------------------------

    def verify_url(
        self,
        msg_signature: str,
        timestamp: str,
        nonce: str,
        echostr: str,
        now: int | float | None = None,
    ) -> str:
        """Check the URL-verification GET and return the decrypted echostr to answer with."""
        self._check_signature(msg_signature, timestamp, nonce, echostr)
        self._check_timestamp(timestamp, now)
        return self.decrypt(echostr)

    def decrypt_message(
        self,
        xml_body: bytes | str,
        msg_signature: str,
        timestamp: str,
        nonce: str,
        now: int | float,
    ) -> str:
        """Check and decrypt a callback POST body; return the inner XML string."""
        root = _parse_xml(xml_body)
        node = root.find("Encrypt")
        encrypt = (node.text or "").strip() if node is not None else ""
        if not encrypt:
            raise MalformedMessage("no Encrypt element")
        # Signature first: it authenticates the timestamp, so the replay check below can trust it.
        self._check_signature(msg_signature, timestamp, nonce, encrypt)
        self._check_timestamp(timestamp, now)
        return self.decrypt(encrypt)

    def encrypt_message(
        self,
        reply_xml: str,
        nonce: str,
        timestamp: str | int,
        random_bytes: bytes | None = None,
    ) -> str:
        """Build the encrypted passive-reply XML (Encrypt, MsgSignature, TimeStamp, Nonce)."""
        timestamp = str(timestamp)
        if not _TIMESTAMP_RE.fullmatch(timestamp):
            raise MalformedMessage("timestamp is not a number")
        if not _NONCE_RE.fullmatch(str(nonce)):
            raise MalformedMessage("nonce has unexpected characters")
        encrypt = self.encrypt(reply_xml, random_bytes)
        return _REPLY_TEMPLATE.format(
            encrypt=encrypt,
            signature=self.signature(timestamp, nonce, encrypt),
            timestamp=timestamp,
            nonce=nonce,
        )


def parse_message(inner_xml: str | bytes) -> dict[str, str]:
    """Parse a decrypted callback message into a dict of MESSAGE_FIELDS (missing ones are "")."""
    root = _parse_xml(inner_xml)
    if root.tag != "xml":
        raise MalformedMessage("root element is not <xml>")
    result: dict[str, str] = {}
    for name in MESSAGE_FIELDS:
        node = root.find(name)
        text = (node.text or "") if node is not None else ""
        # Content is the user's text as typed; the other fields are identifiers, trimmed.
        result[name] = text if name == "Content" else text.strip()
    if not result["MsgType"]:
        raise MalformedMessage("no MsgType element")
    return result


def build_text_reply(to_user: str, from_user: str, content: str, create_time: int) -> str:
    """Build the plaintext passive reply XML for a text message (to be passed to encrypt_message)."""
    return (
        "<xml>"
        f"<ToUserName>{_cdata(to_user)}</ToUserName>"
        f"<FromUserName>{_cdata(from_user)}</FromUserName>"
        f"<CreateTime>{int(create_time)}</CreateTime>"
        "<MsgType><![CDATA[text]]></MsgType>"
        f"<Content>{_cdata(content)}</Content>"
        "</xml>"
    )


def build_text_message(
    to_user: str,
    from_user: str,
    content: str,
    create_time: int,
    msg_id: str,
    agent_id: int | str,
) -> str:
    """Build the plaintext XML WeCom sends for a user's text message (used by tests and stand-ins)."""
    return (
        "<xml>"
        f"<ToUserName>{_cdata(to_user)}</ToUserName>"
        f"<FromUserName>{_cdata(from_user)}</FromUserName>"
        f"<CreateTime>{int(create_time)}</CreateTime>"
        "<MsgType><![CDATA[text]]></MsgType>"
        f"<Content>{_cdata(content)}</Content>"
        f"<MsgId>{_cdata(str(msg_id))}</MsgId>"
        f"<AgentID>{_cdata(str(agent_id))}</AgentID>"
        "</xml>"
    )
