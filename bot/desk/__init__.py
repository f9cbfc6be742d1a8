"""Shared inbox and tickets as agents work them: replies, claims, transfers, resolves.

One convention for transactions: a desk service takes the caller's session (a unit of work,
`db.uow()`, when it writes; `db.sessions()` when it only reads) and never commits. The web
handler or CLI command that serves one request opens it, so a service's changes and whatever
the caller adds commit together or not at all. The exceptions own their transactions for a
reason their module docstring gives: auth.py (a failed login must stay counted whatever
happens next), autoassign.run_account (one short transaction per assignment), sla_watch.py,
retention.py and events.EventBus (background tasks, with no caller to open one).
"""
