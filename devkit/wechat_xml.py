"""WeChat's inbound XML, as its server pushes it: every message and event type, and
hostile or broken bodies for the webhook's security tests.

Why apart from devkit/wechat_push.py: the bodies are what a test varies; signing,
encrypting and judging the reply (wechat_push) stay the same for all of them.
"""
from __future__ import annotations

import random
import time
from typing import Any

DEFAULT_OPENID = "oFAKEuser0000000000000000001"
DEFAULT_ACCOUNT = "gh_fakeaccount01"
_RNG = random.Random()


def new_msg_id() -> str:
    """A MsgId like WeChat's: a 64-bit number, as a string."""
    return str(_RNG.randrange(10**15, 2**63))


def cdata(value: str) -> str:
    """A CDATA section; "]]>" cannot appear inside CDATA: close and reopen around it."""
    return "<![CDATA[" + value.replace("]]>", "]]]]><![CDATA[>") + "]]>"


def _message(msgtype: str, fields: list[tuple[str, str | int | float]], *, openid: str,
             account: str, create_time: int | None, msg_id: str | int | None,
             with_msg_id: bool = True) -> str:
    """Inbound XML: strings as CDATA, numbers bare, like WeChat's pushes."""
    parts = [f"<ToUserName>{cdata(account)}</ToUserName>",
             f"<FromUserName>{cdata(openid)}</FromUserName>",
             f"<CreateTime>{int(time.time()) if create_time is None else int(create_time)}</CreateTime>",
             f"<MsgType>{cdata(msgtype)}</MsgType>"]
    for name, value in fields:
        parts.append(f"<{name}>{cdata(value) if isinstance(value, str) else value}</{name}>")
    if with_msg_id:
        parts.append(f"<MsgId>{new_msg_id() if msg_id is None else msg_id}</MsgId>")
    return "<xml>" + "".join(parts) + "</xml>"


def text_xml(content: str, *, openid: str = DEFAULT_OPENID, account: str = DEFAULT_ACCOUNT,
             create_time: int | None = None, msg_id: str | int | None = None) -> str:
    return _message("text", [("Content", content)], openid=openid, account=account,
                    create_time=create_time, msg_id=msg_id)


def image_xml(pic_url: str = "http://mmbiz.qpic.cn/fake/0", media_id: str = "fake_image_media",
              *, openid: str = DEFAULT_OPENID, account: str = DEFAULT_ACCOUNT,
              create_time: int | None = None, msg_id: str | int | None = None) -> str:
    return _message("image", [("PicUrl", pic_url), ("MediaId", media_id)], openid=openid,
                    account=account, create_time=create_time, msg_id=msg_id)


def voice_xml(media_id: str = "fake_voice_media", fmt: str = "amr", recognition: str | None = None,
              *, openid: str = DEFAULT_OPENID, account: str = DEFAULT_ACCOUNT,
              create_time: int | None = None, msg_id: str | int | None = None) -> str:
    """`recognition=None` leaves the element out (it is being retired); "" sends it empty."""
    fields: list[tuple[str, str | int | float]] = [("MediaId", media_id), ("Format", fmt)]
    if recognition is not None:
        fields.append(("Recognition", recognition))
    return _message("voice", fields, openid=openid, account=account, create_time=create_time,
                    msg_id=msg_id)


def video_xml(media_id: str = "fake_video_media", thumb_media_id: str = "fake_thumb_media",
              *, short: bool = False, openid: str = DEFAULT_OPENID, account: str = DEFAULT_ACCOUNT,
              create_time: int | None = None, msg_id: str | int | None = None) -> str:
    return _message("shortvideo" if short else "video",
                    [("MediaId", media_id), ("ThumbMediaId", thumb_media_id)], openid=openid,
                    account=account, create_time=create_time, msg_id=msg_id)


def location_xml(x: float = 23.134521, y: float = 113.358803, scale: int = 20, label: str = "位置信息",
                 *, openid: str = DEFAULT_OPENID, account: str = DEFAULT_ACCOUNT,
                 create_time: int | None = None, msg_id: str | int | None = None) -> str:
    return _message("location", [("Location_X", x), ("Location_Y", y), ("Scale", scale), ("Label", label)],
                    openid=openid, account=account, create_time=create_time, msg_id=msg_id)


def link_xml(title: str = "公众平台官网链接", description: str = "公众平台官网链接",
             url: str = "https://mp.weixin.qq.com/", *, openid: str = DEFAULT_OPENID,
             account: str = DEFAULT_ACCOUNT, create_time: int | None = None,
             msg_id: str | int | None = None) -> str:
    return _message("link", [("Title", title), ("Description", description), ("Url", url)],
                    openid=openid, account=account, create_time=create_time, msg_id=msg_id)


def event_xml(event: str, *, event_key: str | None = None, ticket: str | None = None,
              extra: list[tuple[str, str | int | float]] | None = None, openid: str = DEFAULT_OPENID,
              account: str = DEFAULT_ACCOUNT, create_time: int | None = None) -> str:
    """Any event (no MsgId: dedupe on FromUserName + CreateTime + Event)."""
    fields: list[tuple[str, str | int | float]] = [("Event", event)]
    if event_key is not None:
        fields.append(("EventKey", event_key))
    if ticket is not None:
        fields.append(("Ticket", ticket))
    fields.extend(extra or [])
    return _message("event", fields, openid=openid, account=account, create_time=create_time,
                    msg_id=None, with_msg_id=False)


def subscribe_xml(scene: str | None = None, ticket: str = "gQFakeTicket", *, openid: str = DEFAULT_OPENID,
                  account: str = DEFAULT_ACCOUNT, create_time: int | None = None) -> str:
    """A follow; with `scene`, a follow through a QR code (EventKey `qrscene_<scene>`)."""
    if scene is None:
        return event_xml("subscribe", openid=openid, account=account, create_time=create_time)
    return event_xml("subscribe", event_key=f"qrscene_{scene}", ticket=ticket, openid=openid,
                     account=account, create_time=create_time)


def unsubscribe_xml(*, openid: str = DEFAULT_OPENID, account: str = DEFAULT_ACCOUNT,
                    create_time: int | None = None) -> str:
    return event_xml("unsubscribe", openid=openid, account=account, create_time=create_time)


def click_xml(key: str, *, openid: str = DEFAULT_OPENID, account: str = DEFAULT_ACCOUNT,
              create_time: int | None = None) -> str:
    return event_xml("CLICK", event_key=key, openid=openid, account=account, create_time=create_time)


def scan_xml(scene: str = "123", ticket: str = "gQFakeTicket", *, openid: str = DEFAULT_OPENID,
             account: str = DEFAULT_ACCOUNT, create_time: int | None = None) -> str:
    """A follower scanned a QR code: EventKey is the bare scene value."""
    return event_xml("SCAN", event_key=scene, ticket=ticket, openid=openid, account=account,
                     create_time=create_time)


def view_xml(url: str = "https://example.com/menu", *, openid: str = DEFAULT_OPENID,
             account: str = DEFAULT_ACCOUNT, create_time: int | None = None) -> str:
    return event_xml("VIEW", event_key=url, openid=openid, account=account, create_time=create_time)


def location_event_xml(latitude: float = 23.137466, longitude: float = 113.352425,
                       precision: float = 119.385040, *, openid: str = DEFAULT_OPENID,
                       account: str = DEFAULT_ACCOUNT, create_time: int | None = None) -> str:
    return event_xml("LOCATION", extra=[("Latitude", latitude), ("Longitude", longitude),
                                        ("Precision", precision)],
                     openid=openid, account=account, create_time=create_time)


# --- hostile or broken bodies, for the webhook's security tests ---

def oversize_xml(size: int = 1_000_000, **common: Any) -> str:
    """A well-formed text message of at least `size` bytes (the body cap must refuse it)."""
    common.setdefault("msg_id", new_msg_id())
    filler = "A" * max(size - len(text_xml("", **common).encode("utf-8")), 0)
    return text_xml(filler, **common)


def billion_laughs_xml(*, openid: str = DEFAULT_OPENID, account: str = DEFAULT_ACCOUNT) -> str:
    """Entity expansion ("billion laughs"): xmltodict raises ValueError on the declaration."""
    entities = ['<!ENTITY lol "lol">']
    entities += [f'<!ENTITY lol{i} "{("&lol%s;" % (i - 1 if i > 1 else "")) * 10}">' for i in range(1, 10)]
    body = text_xml("&lol9;", openid=openid, account=account).replace("<![CDATA[&lol9;]]>", "&lol9;")
    return "<?xml version=\"1.0\"?>\n<!DOCTYPE xml [\n" + "\n".join(entities) + "\n]>\n" + body


def xxe_xml(path: str = "/etc/passwd", *, openid: str = DEFAULT_OPENID, account: str = DEFAULT_ACCOUNT) -> str:
    """An external entity (XXE) reading a local file."""
    body = text_xml("&xxe;", openid=openid, account=account).replace("<![CDATA[&xxe;]]>", "&xxe;")
    return f'<?xml version="1.0"?>\n<!DOCTYPE xml [<!ENTITY xxe SYSTEM "file://{path}">]>\n' + body


def duplicate_content_xml(*, openid: str = DEFAULT_OPENID, account: str = DEFAULT_ACCOUNT) -> str:
    """Two <Content> elements: xmltodict turns Content into a list."""
    return text_xml("first", openid=openid, account=account).replace(
        "</Content>", "</Content><Content><![CDATA[second]]></Content>", 1)


def nested_content_xml(*, openid: str = DEFAULT_OPENID, account: str = DEFAULT_ACCOUNT) -> str:
    """An element inside <Content>: xmltodict turns Content into a dict."""
    return text_xml("x", openid=openid, account=account).replace(
        "<Content><![CDATA[x]]></Content>", "<Content><a>nested</a><b>text</b></Content>")


def malformed_xml(*, openid: str = DEFAULT_OPENID, account: str = DEFAULT_ACCOUNT) -> str:
    """Cut off mid-element: ExpatError when parsed."""
    xml = text_xml("broken", openid=openid, account=account)
    return xml[: len(xml) // 2]
