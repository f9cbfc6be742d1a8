"""Praise: thank the customer warmly. No ticket, no person paged; the message keeps its intent
`praise` (stored with the message), so reports can count it."""
from actions import texts
from actions.base import ActionContext, ActionResult


async def run(ctx: ActionContext) -> ActionResult:
    return ActionResult([texts.PRAISE_THANKS])
