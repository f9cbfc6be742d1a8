"""Report the status of this customer's tickets, or that there is none."""
from zoneinfo import ZoneInfo

from actions import texts
from actions.base import ActionContext, ActionResult
from bot.store import tickets


async def run(ctx: ActionContext) -> ActionResult:
    found = await tickets.of_customer(ctx.session, ctx.thread.customer_id)
    if not found:
        return ActionResult([texts.NO_TICKETS])
    zone = ZoneInfo(ctx.settings.timezone)
    lines = [texts.TICKET_LINE.format(number=t.number, status=texts.STATUS_LABEL[t.status],
                                      created=t.created_at.astimezone(zone).strftime("%m-%d %H:%M"))
             for t in found]
    return ActionResult([texts.TICKET_STATUS_HEAD + "\n".join(lines)], ticket=found[0].number)
