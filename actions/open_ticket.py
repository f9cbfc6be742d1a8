"""A complaint becomes a numbered ticket and the thread enters the shared inbox."""
from datetime import timedelta

from actions import texts
from actions.base import ActionContext, ActionResult
from actions.handoff import queue_thread, when_people_answer
from bot.business_hours import next_opening
from bot.store import inbox, tickets


async def run(ctx: ActionContext) -> ActionResult:
    priority = ctx.decision.priority
    due = next_opening(ctx.now, ctx.settings) + timedelta(minutes=ctx.settings.first_response_minutes)
    ticket = await tickets.create(ctx.session, thread_id=ctx.thread.id,
                                  customer_id=ctx.thread.customer_id, priority=priority,
                                  summary=ctx.message.text, now=ctx.now,
                                  timezone=ctx.settings.timezone, first_response_due=due)
    await inbox.enqueue(ctx.session, thread_id=ctx.thread.id, reason="complaint",
                        priority=priority, now=ctx.now, ticket_id=ticket.id)
    queue_thread(ctx)
    opening = when_people_answer(ctx)
    when = (texts.WHEN_CLOSED.format(opening=opening) if opening is not None
            else texts.WHEN_OPEN.format(minutes=ctx.settings.first_response_minutes))
    reply = texts.TICKET_OPENED.format(number=ticket.number, when=when,
                                       priority=texts.PRIORITY_LABEL[priority])
    return ActionResult([reply], ticket=ticket.number)
