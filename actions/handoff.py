"""Hand the thread to people: it enters the shared inbox and the bot goes quiet."""
from actions import texts
from actions.base import ActionContext, ActionResult
from actions.smalltalk import hours_label
from bot.business_hours import describe_opening, is_open, next_opening
from bot.store import inbox


def queue_thread(ctx: ActionContext) -> None:
    ctx.thread.owner = "queue"
    ctx.thread.agent_id = None
    ctx.thread.handoff_notice_sent = False


def when_people_answer(ctx: ActionContext) -> str | None:
    """None during business hours, else when agents are back (as consumers read it)."""
    if is_open(ctx.now, ctx.settings):
        return None
    return describe_opening(next_opening(ctx.now, ctx.settings), ctx.now, ctx.settings)


async def run(ctx: ActionContext) -> ActionResult:
    reason = ctx.decision.reason or "requested_human"
    item = await inbox.enqueue(ctx.session, thread_id=ctx.thread.id, reason=reason,
                               priority="normal", now=ctx.now)
    queue_thread(ctx)
    opening = when_people_answer(ctx)
    if opening is not None:
        reply = texts.HANDOFF_CLOSED.format(hours=hours_label(ctx), opening=opening)
    else:
        position = await inbox.position(ctx.session, item)
        reply = texts.HANDOFF_OPEN.format(ahead=position - 1, position=position)
    if reason == "bot_failed":
        reply = texts.HANDOFF_BOT_FAILED + reply
    return ActionResult([reply])
