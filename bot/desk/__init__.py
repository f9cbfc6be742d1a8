"""Shared inbox and tickets as agents work them: replies, claims, transfers, resolves."""
