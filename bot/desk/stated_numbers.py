"""Phone and order numbers a customer stated in their own messages, for the profile and its search.

Deliberately conservative: a wrong number on a profile misleads an agent more than a missing
one. Phones: Chinese mobile numbers (11 digits, 1[3-9]...) standing alone, optionally written
+86 / 86. Orders: a token of 6-32 letters, digits or hyphens with at least 6 digits right
after 订单/订单号/单号/order (no: not after 工单, which is our own ticket number), or a bare run
of 16-24 digits (the length of Taobao, JD and Pinduoduo order ids). Read after NFKC, so
full-width digits count. Derived when read, never stored: an erased or purged message takes
its numbers with it.
"""
from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field

PHONE = re.compile(r"(?<![\dA-Za-z])(?:\+?86[- ]?)?(1[3-9]\d{9})(?![\dA-Za-z])")
CUED_ORDER = re.compile(r"(?<!工)(?:订单号?|单号|order\s*(?:no\.?|number|id|#)?)\s*[:：是为#]?\s*"
                        r"([A-Za-z0-9][A-Za-z0-9-]{5,31})(?![A-Za-z0-9-])", re.IGNORECASE)
BARE_ORDER = re.compile(r"(?<![\dA-Za-z-])(\d{16,24})(?![\dA-Za-z-])")
MIN_ORDER_DIGITS = 6


@dataclass
class StatedNumbers:
    phones: list[str] = field(default_factory=list)
    orders: list[str] = field(default_factory=list)

    def as_json(self) -> dict[str, list[str]]:
        return {"phones": self.phones, "orders": self.orders}


def extract(texts: Iterable[str]) -> StatedNumbers:
    """The distinct numbers in `texts`, in the order met."""
    phones: dict[str, None] = {}
    orders: dict[str, None] = {}
    for raw in texts:
        text = unicodedata.normalize("NFKC", raw)
        for match in PHONE.finditer(text):
            phones[match.group(1)] = None
        for match in CUED_ORDER.finditer(text):
            token = match.group(1).upper()
            if sum(char.isdigit() for char in token) >= MIN_ORDER_DIGITS and token not in phones:
                orders[token] = None
        for match in BARE_ORDER.finditer(text):
            orders[match.group(1)] = None
    return StatedNumbers(list(phones), [order for order in orders if order not in phones])


def looks_like_number(query: str) -> bool:
    """A search that is one phone or order number (searched in the customers' messages too)."""
    query = unicodedata.normalize("NFKC", query.strip())
    return bool(re.fullmatch(r"[A-Za-z0-9-]{6,32}", query)) and sum(c.isdigit() for c in query) >= MIN_ORDER_DIGITS
