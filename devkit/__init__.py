"""Development-only code shared by tests/ and bench/: never installed with carebot, never imported by it."""
