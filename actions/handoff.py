"""Hand the thread to people: it enters the shared inbox and the bot goes quiet."""
from datetime import datetime

from actions import texts
from actions.base import ActionContext, ActionResult
from bot.business_time import Calendar
from bot.store import inbox, ownership, sla


def when_people_answer(cal: Calendar, now: datetime) -> str | None:
    """None during business hours, else when agents are back (as consumers read it).

    `cal` is the thread's account calendar (`sla.calendar_for`): its own hours and holidays,
    the ones its agents keep and its SLA clocks count, not the deployment's defaults.
    """
    if cal.is_open(now):
        return None
    return cal.describe_opening(cal.next_opening(now), now)


async def run(ctx: ActionContext) -> ActionResult:
    reason = ctx.decision.reason or "requested_human"
    item = await inbox.enqueue(ctx.session, thread_id=ctx.thread.id, reason=reason,
                               priority="normal", now=ctx.now)
    ownership.to_queue(ctx.thread)
    cal = await sla.calendar_for(ctx.session, ctx.settings, ctx.thread.account_id)
    opening = when_people_answer(cal, ctx.now)
    if opening is not None:
        reply = texts.HANDOFF_CLOSED.format(hours=cal.hours_label(), opening=opening)
    else:
        position = await inbox.position(ctx.session, item)
        reply = texts.HANDOFF_OPEN.format(ahead=position - 1, position=position)
    if reason == "bot_failed":
        reply = texts.HANDOFF_BOT_FAILED + reply
    return ActionResult([reply])
