"""A complaint becomes a numbered ticket and the thread enters the shared inbox."""
from actions import texts
from actions.base import ActionContext, ActionResult
from actions.handoff import when_people_answer
from bot.store import inbox, ownership, sla, tickets


async def run(ctx: ActionContext) -> ActionResult:
    priority = ctx.decision.priority
    ticket = await tickets.create(ctx.session, thread_id=ctx.thread.id,
                                  customer_id=ctx.thread.customer_id, priority=priority,
                                  summary=ctx.message.text, now=ctx.now,
                                  timezone=ctx.settings.timezone)
    targets = await sla.start(ctx.session, ctx.settings, ticket, ctx.thread.account_id)
    await inbox.enqueue(ctx.session, thread_id=ctx.thread.id, reason="complaint",
                        priority=priority, now=ctx.now, ticket_id=ticket.id)
    ownership.to_queue(ctx.thread)
    cal = await sla.calendar_for(ctx.session, ctx.settings, ctx.thread.account_id)
    opening = when_people_answer(cal, ctx.now)
    when = (texts.WHEN_CLOSED.format(opening=opening) if opening is not None
            else texts.WHEN_OPEN.format(minutes=targets.first_response_minutes))
    reply = texts.TICKET_OPENED.format(number=ticket.number, when=when,
                                       priority=texts.PRIORITY_LABEL[priority])
    return ActionResult([reply], ticket=ticket.number)
