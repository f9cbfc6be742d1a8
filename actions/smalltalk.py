"""Greetings, thanks, goodbyes and "are you a robot?": short replies."""
from actions import texts
from actions.base import ActionContext, ActionResult


def hours_label(ctx: ActionContext) -> str:
    start, end = ctx.settings.business_hours
    return f"{start:%H:%M}-{end:%H:%M}"


async def run(ctx: ActionContext) -> ActionResult:
    reply = {
        "greet": texts.GREET,
        "thanks": texts.THANKS,
        "goodbye": texts.GOODBYE,
        "bot_challenge": texts.BOT_CHALLENGE.format(hours=hours_label(ctx)),
    }[ctx.decision.intent]
    return ActionResult([reply])
