"""The platforms' reply windows: whether the bot or an agent may still message a customer.

A pure rule over the thread and the customer, kept with the actions (the layer below both the
conversation and the desk) because the agents' replies (bot.desk.replies) and the rating request
(actions.csat) both ask it.
"""
from __future__ import annotations

from datetime import datetime, timedelta

from bot.settings import Settings
from bot.store.models import Customer, Thread
from bot.store.privacy import is_erased


def window_problem(thread: Thread, customer: Customer, settings: Settings, now: datetime) -> str | None:
    """Why the platform would refuse a message to the customer now, or None.

    The window is the platform's (settings per platform); after a public message (a
    mention) it may allow fewer replies than after a private one.
    """
    if is_erased(customer):
        return "该客户的信息已按个人信息保护要求删除，无法再发送消息"
    if customer.unsubscribed:
        return "客户已取消关注，无法再发送消息"
    window = settings.reply_window(customer.platform)
    if thread.last_inbound_at is None or now - thread.last_inbound_at > timedelta(hours=window.hours):
        return f"已超过客户最后一条消息 {window.hours} 小时，平台不允许再主动回复，请等待客户再次来信"
    if thread.last_inbound_public:
        if window.after_public is not None and thread.window_used >= window.after_public:
            return (f"客户是公开@我们的（不是私信），平台只允许回复 {window.after_public} 条，已用完；"
                    "请等待客户发来私信")
    elif window.messages is not None and thread.window_used >= window.messages:
        return f"客户上次来信后已回复 {window.messages} 条，已达平台上限，请等待客户再次来信"
    return None
