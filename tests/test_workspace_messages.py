"""Case messages (meddelanden) in the staff workspace: only the units taking part read and write
them, every read and write is audited, acknowledgement of receipt shows who has not yet
acknowledged, the thread is read-only once the SIP is closed, and the case page makes the same
number of queries whatever the number of messages."""

from __future__ import annotations

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from samplan.access.models import AuditEvent
from samplan.cases import services
from samplan.cases.models import (
    CaseEvent,
    CaseMessage,
    MessageAcknowledgement,
    MessageRead,
    SipCase,
    State,
    unread_message_count,
)
from samplan.cases.services.messages import MESSAGE_MAX_LENGTH
from samplan.directory.models import Assignment
from tests.factories import UnitFactory, case_in_state, staff

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}


def case_url(case) -> str:
    return reverse("workspace:case_detail", args=[case.pk])


def thread_url(case) -> str:
    return reverse("workspace:case_messages", args=[case.pk])


def acknowledge_url(message) -> str:
    return reverse("workspace:acknowledge_message", args=[message.case_id, message.pk])


def post_message(client, case, body="Jag ringer dottern i morgon.", ask=False, **extra):
    data = {"message-body": body}
    if ask:
        data["message-asks_acknowledgement"] = "on"
    return client.post(thread_url(case), data, **extra)


def thread_html(response) -> str:
    match = re.search(r'<section id="meddelanden".*?</section>', response.content.decode(), re.S)
    assert match, "the page has no message thread"
    return match.group(0)


def list_after(html: str, testid: str) -> list[str]:
    """The items of the list marked with data-testid, as text."""
    match = re.search(rf'data-testid="{testid}">(.*?)</ul>', html, re.S)
    if not match:
        return []
    return [
        re.sub(r"<[^>]+>", "", item).strip() for item in re.findall(r"<li>(.*?)</li>", match[1])
    ]


def unread_for(user, case) -> int:
    return SipCase.objects.annotate(unread=unread_message_count(user)).get(pk=case.pk).unread


@pytest.fixture
def case(county):
    """bob's hemtjänst takes part from the meeting call on, and the consent covers the kommun."""
    return case_in_state(county, State.PLAN_ESTABLISHED)


# --- Writing ----------------------------------------------------------------------------------


def test_participant_posts_without_javascript_and_every_unit_taking_part_reads_it(
    client, county, case
):
    events = CaseEvent.objects.filter(case=case).count()
    client.force_login(county.bob)
    response = post_message(client, case, body="Hemtjänsten börjar på måndag.\nRing vid frågor.")
    assert response.status_code == 302
    assert response.url == case_url(case) + "#meddelanden"
    message = CaseMessage.objects.get(case=case)
    assert (message.sender, message.sender_unit, message.asks_acknowledgement) == (
        county.bob,
        county.hemtjanst,
        False,
    )
    assert message.body == "Hemtjänsten börjar på måndag.\nRing vid frågor."
    # Working notes, not the record: audited, but no timeline entry.
    assert CaseEvent.objects.filter(case=case).count() == events
    written = AuditEvent.objects.get(user=county.bob, action=AuditEvent.Action.CHANGE)
    assert (written.what, written.case_id, written.unit_id) == (
        "case_message",
        case.pk,
        county.hemtjanst.pk,
    )

    client.force_login(county.alice)
    thread = thread_html(client.get(case_url(case)))
    assert "Hemtjänsten börjar på måndag.<br>Ring vid frågor." in thread
    assert "Hemtjänst Norr" in thread
    assert county.bob.get_full_name() in thread


def test_the_thread_says_its_messages_are_working_notes_not_the_record(client, county, case):
    client.force_login(county.alice)
    client.post(reverse("set_language"), {"language": "en", "next": "/"})
    assert "Working notes between the units" in thread_html(client.get(case_url(case)))


def test_the_thread_lists_the_newest_message_last(client, county, case):
    services.post_message(case, actor=county.alice, body="Första")
    services.post_message(case, actor=county.bob, body="Andra")
    client.force_login(county.alice)
    thread = thread_html(client.get(case_url(case)))
    assert thread.index("Första") < thread.index("Andra")


def test_an_outsider_neither_reads_nor_writes_and_both_tries_are_logged(client, county, case):
    services.post_message(case, actor=county.alice, body="Bara för deltagarna")
    client.force_login(county.charlie)
    assert client.get(case_url(case)).status_code == 404
    assert client.get(thread_url(case)).status_code == 404
    assert post_message(client, case, body="Från en utomstående").status_code == 404
    message = CaseMessage.objects.get(case=case)
    assert client.post(acknowledge_url(message)).status_code == 404
    assert CaseMessage.objects.filter(case=case).count() == 1
    assert not MessageRead.objects.filter(user=county.charlie).exists()
    refused = AuditEvent.objects.filter(
        user=county.charlie, case_id=case.pk, outcome=AuditEvent.Outcome.REFUSED
    )
    assert refused.count() == 4
    assert not AuditEvent.objects.filter(
        user=county.charlie, outcome=AuditEvent.Outcome.ALLOWED
    ).exists()


def test_a_unit_whose_consent_was_revoked_no_longer_sees_the_case_or_its_messages(
    client, county, case
):
    message = services.post_message(
        case, actor=county.alice, body="Viktigt", asks_acknowledgement=True
    )
    client.force_login(county.bob)
    assert client.get(case_url(case)).status_code == 200

    services.revoke_consent(
        case, actor=county.alice, expected_version=case.lock_version, organisations=[county.kommun]
    )
    offer = client.get(case_url(case))  # the emergency access offer, without the SIP
    assert offer.status_code == 403
    assert case.person.family_name not in offer.content.decode()
    assert client.get(thread_url(case)).status_code == 404
    assert post_message(client, case).status_code == 404
    assert client.post(acknowledge_url(message)).status_code == 404
    assert CaseMessage.objects.filter(case=case).count() == 1
    assert not MessageAcknowledgement.objects.exists()

    # The coordinator sees that the kommun unit has not acknowledged, and why it cannot.
    client.force_login(county.alice)
    awaiting = list_after(thread_html(client.get(case_url(case))), "not-acknowledged")
    assert len(awaiting) == 1
    assert awaiting[0].startswith("Hemtjänst Norr –")


def test_the_thread_has_a_page_of_its_own_for_those_taking_part(client, county, case):
    services.post_message(case, actor=county.alice, body="Tid för avstämning?")
    client.force_login(county.bob)
    response = client.get(thread_url(case))
    assert response.status_code == 200
    assert "Tid för avstämning?" in thread_html(response)
    assert f'href="{case_url(case)}"' in response.content.decode()


# --- Bad input --------------------------------------------------------------------------------


def test_an_empty_message_is_refused_next_to_the_field_in_swedish(client, county, case):
    client.force_login(county.bob)
    response = post_message(client, case, body="   ", ask=True)
    assert response.status_code == 400
    assert response.context["message_form"].errors["body"] == ["Ange ett meddelande."]
    field_error = re.search(
        r'id="id_message-body-error"[^>]*>(.*?)</p>', response.content.decode(), re.S
    )
    assert field_error and "Ange ett meddelande." in field_error[1]
    # What was chosen stays chosen.
    assert re.search(r'id="id_message-asks_acknowledgement"[^>]*checked', thread_html(response))
    assert not CaseMessage.objects.exists()


def test_the_same_error_reads_in_english_when_english_is_chosen(client, county, case):
    client.force_login(county.bob)
    client.post(reverse("set_language"), {"language": "en", "next": "/"})
    response = post_message(client, case, body="")
    assert response.status_code == 400
    assert response.context["message_form"].errors["body"] == ["Enter a message."]
    assert "Enter a message." in thread_html(response)


def test_a_too_long_message_is_refused_and_the_typed_text_is_kept(client, county, case):
    services.post_message(case, actor=county.alice, body="Redan skrivet")
    client.force_login(county.bob)
    typed = "Lång text om läget hemma. " * (MESSAGE_MAX_LENGTH // 20)
    response = post_message(client, case, body=typed)
    assert response.status_code == 400
    (error,) = response.context["message_form"].errors["body"]
    assert str(MESSAGE_MAX_LENGTH) in error and "högst" in error
    assert typed.strip() in response.content.decode()
    # Nothing saved is lost: the earlier message is still shown.
    assert "Redan skrivet" in thread_html(response)
    assert CaseMessage.objects.filter(case=case).count() == 1


# --- htmx -------------------------------------------------------------------------------------


def test_with_htmx_the_thread_is_swapped_in_place_with_an_empty_form(client, county, case):
    client.force_login(county.bob)
    response = post_message(client, case, body="Skickat med htmx", **HTMX)
    assert response.status_code == 200
    page = response.content.decode()
    assert "<html" not in page
    assert page.lstrip().startswith('<section id="meddelanden"')
    assert "Skickat med htmx" in page
    assert 'role="status"' in page
    assert response.context["message_form"]["body"].value() in (None, "")
    assert CaseMessage.objects.filter(case=case, body="Skickat med htmx").exists()


def test_with_htmx_an_error_comes_back_in_the_swapped_section(client, county, case):
    client.force_login(county.bob)
    response = post_message(client, case, body="", **HTMX)
    # htmx swaps only 2xx answers, so the error travels inside a 200.
    assert response.status_code == 200
    assert "<html" not in response.content.decode()
    assert "Ange ett meddelande." in response.content.decode()
    assert not CaseMessage.objects.exists()


# --- Acknowledgement of receipt ---------------------------------------------------------------


def test_acknowledgement_flow_shows_alice_who_has_not_acknowledged(client, county, case):
    boende = UnitFactory(organisation=county.kommun, name="Boendestöd Väst")
    services.add_participant(case, actor=county.alice, unit=boende)
    client.force_login(county.alice)
    assert post_message(client, case, body="Ny tid: torsdag 10.00", ask=True).status_code == 302
    message = CaseMessage.objects.get(case=case)
    assert message.asks_acknowledgement

    thread = thread_html(client.get(case_url(case)))
    assert list_after(thread, "not-acknowledged") == ["Boendestöd Väst", "Hemtjänst Norr"]
    assert acknowledge_url(message) not in thread  # no button for her own message

    client.force_login(county.bob)
    thread = thread_html(client.get(case_url(case)))
    assert f'action="{acknowledge_url(message)}"' in thread
    events = CaseEvent.objects.filter(case=case).count()
    response = client.post(acknowledge_url(message))
    assert response.status_code == 302
    assert response.url == case_url(case) + "#meddelanden"
    acknowledgement = MessageAcknowledgement.objects.get(message=message)
    assert (acknowledgement.unit, acknowledgement.user) == (county.hemtjanst, county.bob)
    assert CaseEvent.objects.filter(case=case).count() == events
    assert AuditEvent.objects.filter(
        user=county.bob, action=AuditEvent.Action.CHANGE, what="case_message", case_id=case.pk
    ).exists()
    assert acknowledge_url(message) not in thread_html(client.get(case_url(case)))

    client.force_login(county.alice)
    thread = thread_html(client.get(case_url(case)))
    acknowledged = list_after(thread, "acknowledged")
    assert len(acknowledged) == 1
    assert acknowledged[0].startswith(f"Hemtjänst Norr – {county.bob.get_full_name()}")
    assert list_after(thread, "not-acknowledged") == ["Boendestöd Väst"]


def test_a_unit_acknowledges_once_and_never_its_own_message(client, county, case):
    message = services.post_message(
        case, actor=county.alice, body="Bekräfta gärna", asks_acknowledgement=True
    )
    services.acknowledge_message(message, actor=county.bob)
    client.force_login(county.bob)
    again = client.post(acknowledge_url(message))
    assert again.status_code == 400
    assert "har redan kvitterat" in thread_html(again)

    client.force_login(county.alice)
    own = client.post(acknowledge_url(message))
    assert own.status_code == 400
    assert "din egen enhet" in thread_html(own)
    assert MessageAcknowledgement.objects.filter(message=message).count() == 1


def test_a_message_that_asks_nothing_cannot_be_acknowledged(client, county, case):
    message = services.post_message(case, actor=county.alice, body="Bara för kännedom")
    client.force_login(county.bob)
    assert acknowledge_url(message) not in thread_html(client.get(case_url(case)))
    response = client.post(acknowledge_url(message))
    assert response.status_code == 400
    assert "inte bett om kvittens" in thread_html(response)
    assert not MessageAcknowledgement.objects.exists()


def test_a_message_of_another_case_is_not_found_through_this_one(client, county, case):
    other = case_in_state(county, State.PLAN_ESTABLISHED)
    message = services.post_message(
        other, actor=county.alice, body="Annan SIP", asks_acknowledgement=True
    )
    client.force_login(county.bob)
    url = reverse("workspace:acknowledge_message", args=[case.pk, message.pk])
    assert client.post(url).status_code == 404
    assert not MessageAcknowledgement.objects.exists()


def test_acknowledging_with_htmx_swaps_the_thread(client, county, case):
    message = services.post_message(
        case, actor=county.alice, body="Bekräfta gärna", asks_acknowledgement=True
    )
    client.force_login(county.bob)
    response = client.post(acknowledge_url(message), **HTMX)
    assert response.status_code == 200
    assert response.content.decode().lstrip().startswith('<section id="meddelanden"')
    assert MessageAcknowledgement.objects.filter(message=message, unit=county.hemtjanst).exists()


# --- After closing ----------------------------------------------------------------------------


def test_a_closed_sip_keeps_its_thread_readable_and_refuses_new_messages(client, county, case):
    message = services.post_message(
        case, actor=county.alice, body="Skrivet före avslut", asks_acknowledgement=True
    )
    services.close_case(
        case,
        actor=county.alice,
        expected_version=case.lock_version,
        reason=SipCase.ClosingReason.GOALS_REACHED,
    )
    client.force_login(county.bob)
    thread = thread_html(client.get(case_url(case)))
    assert "Skrivet före avslut" in thread
    assert 'data-testid="message-form"' not in thread
    assert 'data-testid="messages-closed"' in thread
    assert acknowledge_url(message) not in thread

    response = post_message(client, case, body="Efter avslut")
    assert response.status_code == 400
    errors = " ".join(response.context["message_form"].non_field_errors())
    assert "avslutad" in errors and "finns kvar" in errors
    assert "avslutad" in response.content.decode()
    assert client.post(acknowledge_url(message)).status_code == 400
    assert list(CaseMessage.objects.filter(case=case).values_list("body", flat=True)) == [
        "Skrivet före avslut"
    ]
    assert not MessageAcknowledgement.objects.exists()


def test_the_closed_refusal_reads_in_english_too(client, county):
    case = case_in_state(county, State.CLOSED)
    client.force_login(county.alice)
    client.post(reverse("set_language"), {"language": "en", "next": "/"})
    response = post_message(client, case, body="After closing")
    assert response.status_code == 400
    assert "The SIP is closed" in " ".join(response.context["message_form"].non_field_errors())


# --- Reading: audit, unread counts, queries ---------------------------------------------------


def test_opening_the_case_page_logs_one_read_of_the_messages(client, county, case):
    services.post_message(case, actor=county.bob, body="Ett")
    services.post_message(case, actor=county.bob, body="Två")
    client.force_login(county.alice)
    client.get(case_url(case))
    reads = AuditEvent.objects.filter(
        user=county.alice, action=AuditEvent.Action.READ, what="case_messages"
    )
    row = reads.get()
    assert (row.case_id, row.person_id, row.unit_id, row.outcome) == (
        case.pk,
        case.person_id,
        county.vardcentral.pk,
        AuditEvent.Outcome.ALLOWED,
    )


def test_an_empty_thread_reads_no_messages_and_logs_no_message_read(client, county, case):
    client.force_login(county.alice)
    assert client.get(case_url(case)).status_code == 200
    assert not AuditEvent.objects.filter(what="case_messages").exists()


def test_unread_count_counts_others_messages_and_drops_to_zero_once_read(client, county, case):
    services.post_message(case, actor=county.bob, body="Ett")
    services.post_message(case, actor=county.bob, body="Två")
    services.post_message(case, actor=county.alice, body="Svar")
    assert unread_for(county.alice, case) == 2
    assert unread_for(county.bob, case) == 1

    client.force_login(county.alice)
    client.get(case_url(case))
    assert unread_for(county.alice, case) == 0
    assert unread_for(county.bob, case) == 1
    assert MessageRead.objects.filter(user=county.alice).count() == 2

    client.get(case_url(case))  # reading again writes no second row
    assert MessageRead.objects.filter(user=county.alice).count() == 2


def test_an_unread_message_is_marked_new_until_opened(client, county, case):
    services.post_message(case, actor=county.bob, body="Nytt från hemtjänsten")
    client.force_login(county.alice)
    assert "govuk-tag" in thread_html(client.get(case_url(case)))
    assert "govuk-tag" not in thread_html(client.get(case_url(case)))


def _thread_of(county, case, count: int) -> None:
    for n in range(count):
        message = services.post_message(
            case, actor=county.bob, body=f"Meddelande {n}", asks_acknowledgement=True
        )
        services.acknowledge_message(message, actor=county.alice)


def test_the_case_page_makes_the_same_number_of_queries_for_1_and_20_messages(client, county):
    one = case_in_state(county, State.PLAN_ESTABLISHED)
    many = case_in_state(county, State.PLAN_ESTABLISHED)
    _thread_of(county, one, 1)
    _thread_of(county, many, 20)
    reader = staff(county.vardcentral, username="vera")  # nothing read yet: both pages insert

    client.force_login(reader)
    counts = []
    for case in (one, many):
        with CaptureQueriesContext(connection) as queries:
            response = client.get(case_url(case))
        assert response.status_code == 200
        counts.append(len(queries))
    assert counts[0] == counts[1]
    assert len(response.context["case_messages"]) == 20
    assert MessageRead.objects.filter(user=reader).count() == 21


def test_a_unit_administrator_reads_the_thread_but_gets_no_controls_and_may_not_write(
    client, county
):
    case = case_in_state(county, State.PLAN_ESTABLISHED)
    services.post_message(case, actor=county.alice, body="Ring mig", asks_acknowledgement=True)
    manager = staff(county.hemtjanst, Assignment.Role.UNIT_ADMINISTRATOR, username="chef")
    client.force_login(manager)
    html = thread_html(client.get(case_url(case)))
    assert "Ring mig" in html
    assert 'name="message-body"' not in html
    assert "/kvittera/" not in html
    response = post_message(client, case, body="Från chefen")
    assert response.status_code == 403
    assert not CaseMessage.objects.filter(body="Från chefen").exists()
    # An open SIP: the page says why there is no form, and not that the SIP is closed.
    assert 'data-testid="messages-closed"' not in html
    assert 'data-testid="messages-read-only"' in html
    client.post(reverse("set_language"), {"language": "en", "next": "/"})
    html = thread_html(client.get(case_url(case)))
    assert "The SIP is closed" not in html
    assert "Your role lets you read the messages" in html


def test_a_participant_who_also_administers_another_unit_writes_and_acknowledges(client, county):
    """Dora works at hemtjänst and administers the vårdcentral: the unit that grants her read
    may be the administered one, but she writes and acknowledges for hemtjänst, as the
    services let her."""
    case = case_in_state(county, State.PLAN_ESTABLISHED)
    message = services.post_message(
        case, actor=county.alice, body="Kvittera gärna", asks_acknowledgement=True
    )
    dora = staff(county.hemtjanst, Assignment.Role.PARTICIPANT, username="dora")
    Assignment.objects.create(
        user=dora, unit=county.vardcentral, role=Assignment.Role.UNIT_ADMINISTRATOR
    )
    client.force_login(dora)
    for page in (case_url(case), thread_url(case)):
        html = thread_html(client.get(page))
        assert 'data-testid="message-form"' in html
        assert acknowledge_url(message) in html
        assert 'data-testid="messages-closed"' not in html
        assert 'data-testid="messages-read-only"' not in html
    assert post_message(client, case, body="Från Dora").status_code == 302
    assert CaseMessage.objects.get(body="Från Dora").sender_unit == county.hemtjanst
    assert client.post(acknowledge_url(message)).status_code == 302
    assert MessageAcknowledgement.objects.get(message=message).unit == county.hemtjanst
    html = thread_html(client.get(case_url(case)))
    assert acknowledge_url(message) not in html  # hemtjänst has acknowledged it now
