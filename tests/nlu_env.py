"""Tests of worker-side code that must run where scikit-learn, Rasa and pypinyin are installed."""
import subprocess

from bot.nlu.pool import worker_command
from bot.settings import Settings


def run_in_nlu_env(code: str) -> str:
    """Run `code` with the NLU worker's interpreter and environment; its output (asserts it ran)."""
    command, env = worker_command(Settings.from_env())
    done = subprocess.run([command[0], "-c", code], env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout.strip()
