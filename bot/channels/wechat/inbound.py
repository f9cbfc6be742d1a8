"""WeChat official accounts, inbound: signatures, AES, hardened XML parsing, passive replies.

Follows docs/protocols.md. Signatures are compared in constant time (wechatpy's check
is not); AES goes through wechatpy's crypto. Every push becomes a platform-free
InboundMessage; the core never sees XML.
"""
from __future__ import annotations

import struct
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any
from xml.parsers.expat import ExpatError

import xmltodict
from wechatpy.crypto import WeChatCrypto
from wechatpy.exceptions import InvalidAppIdException, InvalidSignatureException

from bot.channels import signed_push
from bot.channels.signed_push import WebhookError, check_signature, fits_columns, platform_id, sha1_signature, split_text
from bot.channels.signed_push import require as _require
from bot.conversation.messages import InboundMessage
from bot.untrusted import same_secret

PLATFORM = "wechat"
MAX_REPLY_BYTES = 2048
MEDIA_LABELS = {"image": "[图片]", "video": "[视频]", "shortvideo": "[小视频]", "voice": "[语音]"}


@dataclass(frozen=True)
class Credentials:
    app_id: str
    secret: str
    token: str
    aes_key: str | None = None


@dataclass(frozen=True)
class Push:
    """One verified, decoded push and what is needed to answer it."""

    message: InboundMessage
    account_id: str  # ToUserName (gh_...)
    openid: str
    encrypted: bool
    nonce: str
    timestamp: str


def verify_url(credentials: Credentials, query: dict[str, str], replay_window: int = 0) -> str:
    """The GET check of the server URL: answer `echostr` when the signature matches."""
    return signed_push.verify_url(credentials.token, query, replay_window)


def parse_xml(body: bytes | str) -> dict[str, str]:
    """A flat WeChat XML body as text fields; entities are never expanded."""
    try:
        text = body.decode("utf-8") if isinstance(body, bytes) else body
        tree = xmltodict.parse(text, disable_entities=True)
    except (UnicodeDecodeError, ExpatError, ValueError) as exc:
        raise WebhookError(400, f"malformed XML: {type(exc).__name__}") from None
    root = tree.get("xml") if isinstance(tree, dict) else None
    if not isinstance(root, dict):
        raise WebhookError(400, "the root element must be <xml>")
    for key, value in root.items():
        if value is not None and not isinstance(value, str):
            raise WebhookError(400, f"field {key} must be text")
    return {key: value or "" for key, value in root.items()}


def crypto(credentials: Credentials) -> WeChatCrypto:
    """The account's AES (compatible and safe modes), through wechatpy."""
    if not credentials.aes_key:
        raise WebhookError(403, "encrypted push but no EncodingAESKey configured for this account")
    return WeChatCrypto(credentials.token, credentials.aes_key, credentials.app_id)


def _decrypt(credentials: Credentials, query: dict[str, str], body: bytes) -> dict[str, str]:
    outer = parse_xml(body)
    msg_signature, timestamp, nonce = _require(query, "msg_signature", "timestamp", "nonce")
    encrypt = outer.get("Encrypt", "")
    if not encrypt:
        raise WebhookError(400, "encrypted push without <Encrypt>")
    if not same_secret(msg_signature.lower(), sha1_signature(credentials.token, timestamp, nonce, encrypt)):
        raise WebhookError(403, "bad msg_signature")
    try:
        plaintext = crypto(credentials).decrypt_message({"Encrypt": encrypt}, msg_signature, timestamp, nonce)
    except InvalidAppIdException:
        raise WebhookError(403, "ciphertext is for another appid") from None
    except InvalidSignatureException:
        raise WebhookError(403, "bad msg_signature") from None
    except (ValueError, TypeError, IndexError, struct.error) as exc:  # what a forged ciphertext makes wechatpy raise
        raise WebhookError(400, f"undecryptable ciphertext: {type(exc).__name__}") from None
    return parse_xml(plaintext)


def to_inbound(slug: str, app_id: str, fields: dict[str, str], received_at: datetime) -> InboundMessage:
    """Map every WeChat message type onto the platform-free message."""
    msg_type = fields.get("MsgType", "").lower()
    sender = fields.get("FromUserName", "")
    if not msg_type or not sender:
        raise WebhookError(400, "MsgType and FromUserName are required")
    common: dict[str, Any] = {"platform": PLATFORM, "account": slug, "sender": sender, "raw": fields,
                              "received_at": received_at}
    if msg_type == "event":
        event = fields.get("Event", "").lower()
        created = platform_id(fields.get("CreateTime", ""), "CreateTime")
        key = f"wechat:{app_id}:{sender}:{created}:{event}"
        return InboundMessage(msg_type="event", event=event, event_key=fields.get("EventKey") or None,
                              dedupe_key=key, **common)
    key = f"wechat:{app_id}:{platform_id(fields.get('MsgId', ''), 'MsgId')}"
    if msg_type == "text":
        return InboundMessage(text=fields.get("Content", ""), dedupe_key=key, **common)
    if msg_type == "voice" and fields.get("Recognition", "").strip():
        return InboundMessage(text=fields["Recognition"], dedupe_key=key, **common)
    if msg_type == "location":
        text = f"[位置] {fields.get('Label', '')} ({fields.get('Location_X', '')}, {fields.get('Location_Y', '')})"
    elif msg_type == "link":
        text = f"[链接] {fields.get('Title', '')} {fields.get('Url', '')}"
    else:
        text = MEDIA_LABELS.get(msg_type, f"[{msg_type}]")
    return InboundMessage(msg_type=msg_type, text=text.strip(), dedupe_key=key, **common)


def parse_push(credentials: Credentials, slug: str, query: dict[str, str], body: bytes,
               replay_window: int = 600) -> Push:
    """Verify and decode one POST in plaintext, compatible or safe mode."""
    check_signature(credentials.token, query, replay_window)
    encrypted = query.get("encrypt_type", "raw").lower() == "aes"
    fields = _decrypt(credentials, query, body) if encrypted else parse_xml(body)
    message = fits_columns(to_inbound(slug, credentials.app_id, fields, datetime.now(timezone.utc)))
    return Push(message=message, account_id=fields.get("ToUserName", ""), openid=message.sender,
                encrypted=encrypted, nonce=query["nonce"], timestamp=query["timestamp"])


def split_content(text: str, limit: int = MAX_REPLY_BYTES) -> list[str]:
    """Cut a reply into parts of at most `limit` UTF-8 bytes, never inside a character."""
    return split_text(text, limit, width=lambda char: len(char.encode()))


def cdata(text: str) -> str:
    return "<![CDATA[" + text.replace("]]>", "]]]]><![CDATA[>") + "]]>"


def render_reply(push: Push, credentials: Credentials, content: str) -> str:
    """The passive text reply, encrypted when the push was."""
    xml = ("<xml>"
           f"<ToUserName>{cdata(push.openid)}</ToUserName>"
           f"<FromUserName>{cdata(push.account_id)}</FromUserName>"
           f"<CreateTime>{int(time.time())}</CreateTime>"
           "<MsgType><![CDATA[text]]></MsgType>"
           f"<Content>{cdata(content)}</Content>"
           "</xml>")
    if push.encrypted:
        return crypto(credentials).encrypt_message(xml, push.nonce, push.timestamp)
    return xml
