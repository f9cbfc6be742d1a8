"""Answer an FAQ from the database: editing an answer needs no retraining."""
from actions import texts
from actions.base import ActionContext, ActionResult
from bot.store import faq


async def run(ctx: ActionContext) -> ActionResult:
    assert ctx.decision.faq is not None
    answer = await faq.answer(ctx.session, ctx.decision.faq)
    return ActionResult([answer or texts.FAQ_MISSING])
