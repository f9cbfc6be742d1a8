"""Out of scope: say politely what the bot can help with. Never a ticket."""
from actions import texts
from actions.base import ActionContext, ActionResult
from actions.scope import can_help_with


async def run(ctx: ActionContext) -> ActionResult:
    scope = await can_help_with(ctx.session, ctx.thread.account_id, texts.DECLINE_SCOPE)
    return ActionResult([texts.DECLINE.format(scope=scope)])
