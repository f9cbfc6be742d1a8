"""The bot's actions, one module each, looked up by the name the policy decides."""
from actions import answer_faq, clarify, decline, handoff, open_ticket, smalltalk, thank_praise, ticket_status
from actions.base import Action

REGISTRY: dict[str, Action] = {
    "answer_faq": answer_faq.run,
    "open_ticket": open_ticket.run,
    "handoff": handoff.run,
    "ticket_status": ticket_status.run,
    "clarify": clarify.run,
    "smalltalk": smalltalk.run,
    "decline": decline.run,
    "thank_praise": thank_praise.run,
}
