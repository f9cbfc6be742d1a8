"""Greetings, thanks, goodbyes and "are you a robot?": short replies."""
from actions import texts
from actions.base import ActionContext, ActionResult
from actions.scope import can_help_with
from bot.store import sla


async def run(ctx: ActionContext) -> ActionResult:
    if ctx.decision.intent == "bot_challenge":  # the account's own hours, as its agents keep them
        cal = await sla.calendar_for(ctx.session, ctx.settings, ctx.thread.account_id)
        return ActionResult([texts.BOT_CHALLENGE.format(hours=cal.hours_label())])
    if ctx.decision.intent == "greet":
        scope = await can_help_with(ctx.session, ctx.thread.account_id, texts.SCOPE)
        return ActionResult([texts.GREET.format(scope=scope)])
    reply = {
        "thanks": texts.THANKS,
        "goodbye": texts.GOODBYE,
    }[ctx.decision.intent]
    return ActionResult([reply])
