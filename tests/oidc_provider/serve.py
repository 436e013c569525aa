"""python -m tests.oidc_provider.serve: set up the test provider's database (migrations and one
RSA signing key, as `creatersakey` makes it), listen on 127.0.0.1 on a port the system picks,
print "listening on <port>" and serve until terminated.

The port is chosen by binding port 0 here rather than guessed by the caller: two pytest workers
starting providers at once can then never race for one port."""

import io
import os
import sys
import threading

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.oidc_provider.settings")

import django

django.setup()

from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.core.servers.basehttp import ThreadedWSGIServer, WSGIRequestHandler  # noqa: E402
from django.core.wsgi import get_wsgi_application  # noqa: E402


def exit_with_parent() -> None:
    """The tests hold this process's stdin open; when they end, even killed, it reaches EOF and
    the provider goes too, instead of serving on as an orphan."""
    sys.stdin.buffer.read()
    os._exit(0)


def main() -> None:
    call_command("migrate", verbosity=0, interactive=False)
    call_command("creatersakey", stdout=io.StringIO())
    server = ThreadedWSGIServer(("127.0.0.1", 0), WSGIRequestHandler)
    port = server.server_address[1]
    # The issuer (the ID token's iss, the discovery document) names this address.
    settings.SITE_URL = f"http://127.0.0.1:{port}"
    server.set_app(get_wsgi_application())
    threading.Thread(target=exit_with_parent, daemon=True).start()
    print(f"listening on {port}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
