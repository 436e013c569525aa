"""`manage.py api_client add|token|revoke|list`: the systems that call the API.

    manage.py api_client add --name "Journal X" --unit 12 [--days 365] [--oidc-client-id ID]
        [--no-token]          creates the client and prints its token once
    manage.py api_client token --name "Journal X"    a new token; the old one stops working
    manage.py api_client revoke --name "Journal X"   refused from now on, whatever it holds
    manage.py api_client list                        names, units, states; never a token

Each is an audit row naming the OS user who ran it (creating and revoking also end or start the
system account's assignment, which the directory logs as a grant).
"""

import getpass

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from samplan.access.models import AuditEvent
from samplan.access.services import audit
from samplan.api import services
from samplan.api.models import ApiClient
from samplan.directory.models import Unit
from samplan.documents.contingency import SystemActor
from samplan.errors import DomainError


class Command(BaseCommand):
    help = "Add, give a new token to, revoke or list the systems that call the API."

    def add_arguments(self, parser):
        commands = parser.add_subparsers(dest="command", required=True)
        add = commands.add_parser("add", help="A new client acting for one unit.")
        add.add_argument("--name", required=True)
        add.add_argument("--unit", type=int, required=True, help="The unit's id.")
        add.add_argument("--days", type=int, default=services.DEFAULT_DAYS, help="0: no end.")
        add.add_argument("--oidc-client-id", default="", help="Its client_id at the provider.")
        add.add_argument("--no-token", action="store_true", help="Only the provider's tokens.")
        for name in ("token", "revoke"):
            sub = commands.add_parser(name)
            sub.add_argument("--name", required=True)
        commands.add_parser("list")

    def handle(self, *args, command, **options):
        actor = SystemActor(f"manage.py api_client ({getpass.getuser()})")
        try:
            getattr(self, f"_{command}")(actor, **options)
        except DomainError as error:
            raise CommandError(error.en) from error

    def _client(self, name: str) -> ApiClient:
        client = ApiClient.objects.filter(name=name).first()
        if client is None:
            raise CommandError(f"No API client called {name!r}.")
        return client

    def _add(self, actor, *, name, unit, days, oidc_client_id, no_token, **options):
        found = Unit.objects.filter(pk=unit).first()
        if found is None:
            raise CommandError(f"No unit with id {unit}.")
        client, token = services.create_client(
            name=name,
            unit=found,
            created_by=actor.name,
            days=days or None,
            oidc_client_id=oidc_client_id,
            with_token=not no_token,
        )
        audit(actor, AuditEvent.Action.GRANT, "api_client", unit_id=found.pk, detail=name)
        self.stdout.write(f"API client {client.name} acts for {found.name} ({found.pk}).")
        if token:
            self.stdout.write("Its token, shown only now (keep it in the system's secrets):")
            self.stdout.write(token)

    def _token(self, actor, *, name, **options):
        client = self._client(name)
        if client.revoked_at:
            raise CommandError(f"{name} is revoked.")
        token = services.new_client_token(client)
        audit(
            actor, AuditEvent.Action.GRANT, "api_client_token", unit_id=client.unit_id, detail=name
        )
        self.stdout.write(token)

    def _revoke(self, actor, *, name, **options):
        client = self._client(name)
        services.revoke_client(client)
        audit(
            actor,
            AuditEvent.Action.GRANT,
            "api_client_revoked",
            unit_id=client.unit_id,
            detail=name,
        )
        self.stdout.write(f"{name} is revoked.")

    def _list(self, actor, **options):
        now = timezone.now()
        for client in ApiClient.objects.select_related("unit"):
            if client.revoked_at:
                state = f"revoked {client.revoked_at:%Y-%m-%d}"
            elif client.expires_at and client.expires_at <= now:
                state = f"expired {client.expires_at:%Y-%m-%d}"
            else:
                ends = f"{client.expires_at:%Y-%m-%d}" if client.expires_at else "no end"
                state = f"active until {ends}"
            how = ", ".join(
                part
                for part in (
                    f"token {client.token_hint}…" if client.token_hash else "",
                    f"oidc {client.oidc_client_id}" if client.oidc_client_id else "",
                )
                if part
            )
            self.stdout.write(f"{client.name}\t{client.unit.name}\t{state}\t{how}")
