"""A small, separate Django project that runs django-oidc-provider: the OpenID Connect provider
the sign-in tests talk to over real HTTP on 127.0.0.1 (tests/oidc.py starts it)."""
