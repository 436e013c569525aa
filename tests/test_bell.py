"""The bell (issue 9, part 6): the unread count on every staff page, the list newest first with
the SIP number and what is due (never the person's name), marking one or all as read, another
user's notification refused, no page for citizens, and a bounded number of queries."""

from __future__ import annotations

import pytest
from django.urls import reverse
from django.utils import timezone

from samplan.access.models import AuditEvent
from samplan.cases.models import State
from samplan.reminders.models import Kind, Notification
from tests.citizens import sign_in_citizen
from tests.factories import PersonFactory, case_in_state

pytestmark = pytest.mark.django_db

LIST = reverse("reminders:notifications")
MARK = reverse("reminders:mark_read")


def notify(user, case, n: int = 1, kind=Kind.FOLLOW_UP_DUE) -> list[Notification]:
    return [
        Notification.objects.create(
            user=user,
            case=case,
            key=f"reminder:{kind}:{case.pk}:{i}",
            kind=kind,
            reference=case.reference,
            due_on=timezone.localdate(),
        )
        for i in range(n)
    ]


@pytest.fixture
def case(county):
    return case_in_state(
        county, State.MEETING_CALLED, person=PersonFactory(given_name="Gunnel", family_name="Ödman")
    )


def bell_of(response) -> str:
    html = response.content.decode()
    start = html.index('data-testid="bell"')
    return html[start : html.index("</a>", start)]


def test_the_bell_shows_the_unread_count_on_staff_pages(client, county, case):
    notify(county.alice, case, 3)
    notify(county.bob, case, 1)
    client.force_login(county.alice)
    bell = bell_of(client.get(reverse("workspace:start")))
    assert "3" in bell
    client.force_login(county.charlie)
    assert "samplan-bell-count" not in bell_of(client.get(reverse("workspace:start")))


def test_the_list_shows_sip_number_and_what_is_due_never_the_name(client, county, case):
    notify(county.alice, case, 1, kind=Kind.MEETING_SOON)
    client.force_login(county.alice)
    logged = AuditEvent.objects.count()
    response = client.get(LIST)
    html = response.content.decode()
    assert response.status_code == 200
    assert case.reference in html
    assert reverse("workspace:case_detail", args=[case.pk]) + "#meetings" in html
    assert "Gunnel" not in html and "Ödman" not in html
    assert case.person.identity_number not in html
    assert AuditEvent.objects.count() == logged  # no personal data read: no audit row


def test_marking_one_and_all_as_read(client, county, case):
    first, second, third = notify(county.alice, case, 3)
    client.force_login(county.alice)
    response = client.post(MARK, {"notification": second.pk})
    assert response.status_code == 302
    assert Notification.objects.filter(user=county.alice, read_at__isnull=True).count() == 2
    assert "2" in bell_of(client.get(LIST))
    client.post(MARK, {"all": "1"})
    assert not Notification.objects.filter(user=county.alice, read_at__isnull=True).exists()
    assert "samplan-bell-count" not in bell_of(client.get(LIST))


def test_another_users_notification_is_refused_and_stays_unread(client, county, case):
    [bobs] = notify(county.bob, case)
    client.force_login(county.alice)
    assert client.post(MARK, {"notification": bobs.pk}).status_code == 404
    assert client.post(MARK, {"notification": "x"}).status_code == 404
    client.post(MARK, {"all": "1"})  # all of *mine*
    bobs.refresh_from_db()
    assert bobs.read_at is None
    # Nor does bob's notification show in alice's list.
    assert case.reference not in client.get(LIST).content.decode()


def test_marking_read_takes_post_only(client, county):
    client.force_login(county.alice)
    assert client.get(MARK).status_code == 405


def test_no_page_for_citizens(client, case):
    sign_in_citizen(client, case.person.identity_number)
    response = client.get(LIST)
    assert response.status_code == 302
    assert "/konto/logga-in/" in response["Location"]


def test_the_list_pages_newest_first(client, county, case, settings):
    settings.SAMPLAN_NOTIFICATION_PAGE_SIZE = 2
    rows = notify(county.alice, case, 5)
    client.force_login(county.alice)
    first = client.get(LIST)
    shown = [n.pk for n in first.context["notifications"]]
    assert shown == [rows[4].pk, rows[3].pk]
    second = client.get(LIST, {"fore": first.context["next_before"]})
    assert [n.pk for n in second.context["notifications"]] == [rows[2].pk, rows[1].pk]
    last = client.get(LIST, {"fore": second.context["next_before"]})
    assert [n.pk for n in last.context["notifications"]] == [rows[0].pk]
    assert last.context["next_before"] is None


def test_the_list_and_the_bell_take_the_same_queries_for_few_or_many(
    client, county, case, django_assert_max_num_queries
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    notify(county.alice, case, 2)
    client.force_login(county.alice)
    client.get(LIST)
    with CaptureQueriesContext(connection) as few:
        client.get(LIST)
    notify(county.alice, case, 20, kind=Kind.MEETING_SOON)
    with CaptureQueriesContext(connection) as many:
        client.get(LIST)
    assert len(many.captured_queries) == len(few.captured_queries)
    bell = [q for q in many.captured_queries if "reminders_notification" in q["sql"]]
    assert len(bell) == 2  # the page of notifications, and the unread count (shared)
