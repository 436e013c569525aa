"""About SIP: what a SIP is, for adults and for children and young people, in plain words (from
the leaflets in the seeds and SIP.md). Public: no sign-in, no personal data, nothing to log."""

from __future__ import annotations

from django.shortcuts import render
from django.urls import path


def about(request):
    return render(request, "mypages/about/adults.html")


def about_children(request):
    return render(request, "mypages/about/children.html")


urlpatterns = [
    path("om-sip/", about, name="about"),
    path("om-sip/barn-och-unga/", about_children, name="about_children"),
]
