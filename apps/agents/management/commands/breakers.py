"""Show (and reset) the model providers' circuit breakers, shared by every worker through Redis.

manage.py breakers            # one line per configured provider: state, recent failures
manage.py breakers --reset openai
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from apps.agents.breaker import CircuitBreaker
from apps.agents.providers import ROLES, breaker_key, configured_chain


class Command(BaseCommand):
    help = "Show the model providers' circuit breakers (state in Redis); --reset PROVIDER closes one."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--reset", metavar="PROVIDER", help="close this provider's breaker (e.g. openai)")

    def handle(self, *args: Any, **options: Any) -> None:
        providers = sorted(
            {
                breaker_key(name.partition(":")[0])
                for role in ROLES
                for name in configured_chain(role)
                if name != "local"
            }
        )
        if options["reset"]:
            CircuitBreaker.for_provider(options["reset"]).reset()
            self.stdout.write(f"{options['reset']}: closed")
            return
        if not providers:
            self.stdout.write("only the local model is configured: no breakers")
            return
        for provider in providers:
            breaker = CircuitBreaker.for_provider(provider)
            self.stdout.write(f"{provider}: {breaker.state()} ({breaker.recent_failures()} failures in the window)")
