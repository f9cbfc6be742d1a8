"""Out of scope: say politely what the bot can help with. Never a ticket."""
from actions import texts
from actions.base import ActionContext, ActionResult


async def run(ctx: ActionContext) -> ActionResult:
    return ActionResult([texts.DECLINE])
