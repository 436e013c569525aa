"""The plan editor, proposing the draft for the person's approval, and establishing it: who may
do what, every part of the plan saved, errors at their input in Swedish and English, a stale
save, adding and removing rows with htmx and without JavaScript, and a constant number of
queries whatever the number of goals and interventions."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from samplan.access.models import AuditEvent
from samplan.cases import services
from samplan.cases.models import CaseEvent, Invitation, Meeting, PlanVersion, SipCase, State
from samplan.cases.services.initiative import add_related_party
from samplan.directory.models import Assignment
from tests.factories import PersonFactory, case_in_state, complete_draft, minor, staff

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}
END_BEFORE_START_SV = "Insats 1: slutdatum ligger före startdatum."
END_BEFORE_START_EN = "Intervention 1: the end date is before the start date."


def edit_url(case: SipCase) -> str:
    return reverse("workspace:plan_edit", args=[case.pk])


def establish_url(case: SipCase) -> str:
    return reverse("workspace:plan_establish", args=[case.pk])


def rows(part: str, items: list[dict]) -> dict:
    data = {f"{part}-TOTAL_FORMS": str(len(items)), f"{part}-INITIAL_FORMS": str(len(items))}
    for index, item in enumerate(items):
        data.update({f"{part}-{index}-{name}": value for name, value in item.items()})
    return data


def intervention(county, description="Hemtjänst morgon och kväll", **overrides) -> dict:
    values = {
        "description": description,
        "responsible": f"unit:{county.hemtjanst.pk}",
        "contact_name": "Lena Berg",
        "starts_on": timezone.localdate().isoformat(),
        "ends_on": "",
        "ends_note": "Ses över vid uppföljningen",
    }
    values.update(overrides)
    return values


def posted(county, version="", *, goals=None, interventions=None, attendees=None, **fields):
    """What the editor posts for a complete plan, with the given parts changed."""
    data = {
        "version": str(version),
        "save": "1",
        "needs_today": "Kan inte duscha själv; ostadig gång.",
        "main_responsible_unit": str(county.vardcentral.pk),
        "coordination": "Vårdcentralen samordnar; avstämning varje vecka.",
        "follow_up_on": (timezone.localdate() + dt.timedelta(weeks=6)).isoformat(),
        "cooperation_ends": "När hon klarar sig med hemtjänst enbart.",
        "expected_of_person": "Gå med rollatorn dagligen.",
        "expected_of_relatives": "Dottern handlar varje vecka.",
    }
    data.update(fields)
    data.update(rows("goals", goals or [{"text": "Jag vill kunna gå till affären själv."}]))
    data.update(rows("interventions", interventions or [intervention(county)]))
    data.update(
        rows("attendees", attendees or [{"name": "Gunnel Exempel", "represents": "personen"}])
    )
    return data


def english(client) -> None:
    client.post(reverse("set_language"), {"language": "en", "next": "/"})


def meeting_started(county, **kwargs) -> SipCase:
    """A case whose SIP meeting started an hour ago (moved there directly: the services call
    meetings ahead only), so that its plan can be established."""
    case = case_in_state(county, State.MEETING_CALLED, **kwargs)
    Meeting.objects.filter(case=case).update(starts_at=timezone.now() - dt.timedelta(hours=1))
    return case


def saved_draft(case, county, actor=None, **overrides) -> PlanVersion:
    draft = case.draft_plan()
    return services.save_plan_draft(
        case,
        actor=actor or county.alice,
        expected_version=draft.lock_version if draft else None,
        data=complete_draft(county, **overrides),
    )


def field_error(response, form_id: str) -> str:
    """The error shown right at the input with this id (its GOV.UK error message)."""
    match = re.search(
        rf'<p id="{form_id}-error" class="govuk-error-message">.*?</span>\s*([^<]+)</p>',
        response.content.decode(),
        re.S,
    )
    assert match, f"no error shown at {form_id}"
    return match.group(1).strip()


def audit_rows(case, user, **filters):
    return AuditEvent.objects.filter(case_id=case.pk, user=user, what="plan", **filters)


# --- Writing the draft ------------------------------------------------------------------------


def test_coordinator_writes_the_first_draft_with_every_part_and_it_is_audited(client, county):
    case = case_in_state(county, State.MEETING_CALLED)
    client.force_login(county.alice)
    page = client.get(edit_url(case))
    assert page.status_code == 200
    body = page.content.decode()
    for name in ("needs_today", "goals-0-text", "interventions-0-responsible", "attendees-0-name"):
        assert f'name="{name}"' in body, name
    assert audit_rows(case, county.alice, action=AuditEvent.Action.READ).count() == 1

    data = posted(
        county,
        goals=[{"text": "Jag vill kunna gå till affären själv."}, {"text": "Sova bättre."}],
        interventions=[
            intervention(county),
            intervention(
                county,
                "Rehabilitering",
                responsible=f"organisation:{county.region.pk}",
                ends_on=(timezone.localdate() + dt.timedelta(days=90)).isoformat(),
                ends_note="",
            ),
        ],
    )
    response = client.post(edit_url(case), data)
    assert response.status_code == 302
    assert response.url == edit_url(case)
    draft = case.draft_plan()
    assert draft.needs_today == "Kan inte duscha själv; ostadig gång."
    assert draft.main_responsible_unit == county.vardcentral
    assert list(draft.goals.values_list("text", flat=True)) == [
        "Jag vill kunna gå till affären själv.",
        "Sova bättre.",
    ]
    assert [(i.description, i.responsible_name) for i in draft.interventions.all()] == [
        ("Hemtjänst morgon och kväll", "Hemtjänst Norr"),
        ("Rehabilitering", "Region Test"),
    ]
    assert list(draft.attendees.values_list("name", "represents")) == [
        ("Gunnel Exempel", "personen")
    ]
    assert audit_rows(case, county.alice, action=AuditEvent.Action.CHANGE).count() == 1
    event = CaseEvent.objects.filter(case=case).last()
    assert (event.action, event.actor) == ("save_plan_draft", county.alice)

    again = client.get(edit_url(case))
    assert again.context["editor"].plan["version"].value() == str(draft.lock_version)
    assert "Sova bättre." in again.content.decode()


def test_the_next_version_starts_from_the_valid_plan(client, county):
    case = case_in_state(county, State.PLAN_ESTABLISHED)
    valid = case.valid_plan()
    client.force_login(county.alice)
    editor = client.get(edit_url(case)).context["editor"]
    assert editor.plan["version"].value() == ""  # a new draft when saved
    assert editor.plan["needs_today"].value() == valid.needs_today
    assert editor.plan["follow_up_on"].value() == ""  # each version sets its own follow-up
    assert editor.goals.forms[0]["text"].value() == valid.goals.first().text
    assert editor.interventions.forms[0]["responsible"].value() == f"unit:{county.hemtjanst.pk}"
    assert case.draft_plan() is None  # opening the editor writes nothing


def test_who_took_part_starts_with_those_who_accepted_the_call(client, county):
    case = case_in_state(county, State.MEETING_CALLED)
    invitations = Invitation.objects.filter(meeting__case=case)
    services.record_answer(
        invitations.get(unit=county.hemtjanst),
        actor=county.bob,
        answer=Invitation.Answer.ACCEPTED,
    )
    services.record_answer(
        invitations.get(is_person=True), actor=county.alice, answer=Invitation.Answer.ACCEPTED
    )
    client.force_login(county.alice)
    page = client.get(edit_url(case))
    assert 'data-testid="attendees-suggested"' in page.content.decode()
    editor = page.context["editor"]
    names = [form["name"].value() for form in editor.attendees.forms]
    assert sorted(names) == sorted(["Hemtjänst Norr", case.person.full_name])
    assert "Vårdcentral Centrum" not in names  # it has not answered


def test_a_participating_unit_edits_the_draft_but_may_not_establish_it(client, county):
    case = case_in_state(county, State.MEETING_CALLED)
    draft = saved_draft(case, county)
    client.force_login(county.bob)
    assert client.get(edit_url(case)).status_code == 200
    response = client.post(
        edit_url(case), posted(county, draft.lock_version, needs_today="Bobs behov")
    )
    assert response.status_code == 302
    draft.refresh_from_db()
    assert draft.needs_today == "Bobs behov"
    assert CaseEvent.objects.filter(case=case).last().actor == county.bob

    page = client.get(establish_url(case))
    assert page.status_code == 403
    assert 'name="approved_by_name"' not in page.content.decode()
    refused = client.post(
        establish_url(case),
        {"version": draft.lock_version, "approved_by": "person", "approved_by_name": "Gunnel"},
    )
    assert refused.status_code == 403
    assert "samordnare" in refused.content.decode()
    proposal = client.post(establish_url(case), {"version": draft.lock_version, "propose": "1"})
    assert proposal.status_code == 403
    draft.refresh_from_db()
    assert (draft.status, draft.proposed_at) == (PlanVersion.Status.DRAFT, None)
    assert audit_rows(case, county.bob, outcome=AuditEvent.Outcome.REFUSED).count() == 2


def test_an_outsider_gets_404_everywhere_and_the_refusal_is_logged(client, county):
    case = case_in_state(county, State.MEETING_CALLED)
    draft = saved_draft(case, county)
    client.force_login(county.charlie)
    assert client.get(edit_url(case)).status_code == 404
    assert client.post(edit_url(case), posted(county, draft.lock_version)).status_code == 404
    assert (
        client.post(edit_url(case), {**posted(county), "add_goal": "1"}, **HTMX).status_code == 404
    )
    assert client.get(establish_url(case)).status_code == 404
    establish = {"version": draft.lock_version, "approved_by": "person", "approved_by_name": "G"}
    assert client.post(establish_url(case), establish).status_code == 404
    assert (
        AuditEvent.objects.filter(
            case_id=case.pk, user=county.charlie, outcome=AuditEvent.Outcome.REFUSED
        ).count()
        == 5
    )
    assert PlanVersion.objects.get(pk=draft.pk).lock_version == draft.lock_version


def test_the_editor_says_why_when_the_meeting_is_not_yet_called(client, county):
    case = case_in_state(county, State.PREPARATION)
    client.force_login(county.alice)
    page = client.get(edit_url(case))
    assert page.status_code == 200
    body = page.content.decode()
    assert "ändra planutkastet" in body
    assert 'name="needs_today"' not in body
    row = client.post(edit_url(case), {**posted(county), "add_goal": "1"}, **HTMX)
    assert "HX-Refresh" not in row.headers
    assert 'data-testid="plan-refused"' in row.content.decode()
    assert "ändra planutkastet" in row.content.decode()


# --- Errors at their input --------------------------------------------------------------------


def test_an_end_before_the_start_is_shown_at_the_end_date_in_swedish_and_english(client, county):
    case = case_in_state(county, State.MEETING_CALLED)
    today = timezone.localdate()
    bad = intervention(
        county,
        "Boendestöd",
        starts_on=today.isoformat(),
        ends_on=(today - dt.timedelta(days=2)).isoformat(),
    )
    blank = dict.fromkeys(bad, "")
    # A blank row first: the service counts the rows it was given, the editor shows row 2.
    data = posted(county, interventions=[blank, bad], needs_today="Mitt skrivna behov")
    client.force_login(county.alice)
    response = client.post(edit_url(case), data)
    assert response.status_code == 400
    assert field_error(response, "id_interventions-1-ends_on") == END_BEFORE_START_SV
    body = response.content.decode()
    assert f'<a href="#id_interventions-1-ends_on">{END_BEFORE_START_SV}</a>' in body
    assert "Mitt skrivna behov" in body
    assert "Boendestöd" in body
    assert case.draft_plan() is None

    english(client)
    response = client.post(edit_url(case), data)
    assert response.status_code == 400
    assert field_error(response, "id_interventions-1-ends_on") == END_BEFORE_START_EN


def test_a_name_missing_for_someone_who_took_part_is_shown_at_the_name(client, county):
    case = case_in_state(county, State.MEETING_CALLED)
    client.force_login(county.alice)
    english(client)
    data = posted(county, attendees=[{"name": "", "represents": "Hemtjänst Norr"}])
    response = client.post(edit_url(case), data)
    assert response.status_code == 400
    assert (
        field_error(response, "id_attendees-0-name") == "Enter the name of the one who took part."
    )
    assert "Attendee 1: Enter the name" in response.content.decode()
    assert case.draft_plan() is None


def test_checking_names_every_missing_part_at_its_input(client, county):
    case = case_in_state(county, State.MEETING_CALLED)
    data = posted(
        county,
        needs_today="",
        interventions=[intervention(county, starts_on="")],
    )
    data.pop("save")
    data["check"] = "1"
    client.force_login(county.alice)
    response = client.post(edit_url(case), data)
    assert response.status_code == 302
    assert response.url == f"{edit_url(case)}?check=1"
    assert case.draft_plan() is not None  # saved, even though parts are missing

    page = client.get(response.url)
    assert page.status_code == 200
    assert field_error(page, "id_needs_today") == "Ange personens behov i dag."
    assert field_error(page, "id_interventions-0-starts_on") == (
        "Insats 1 (Hemtjänst morgon och kväll) saknar startdatum."
    )
    body = page.content.decode()
    assert 'href="#id_needs_today"' in body
    assert 'href="#id_interventions-0-starts_on"' in body

    establish = client.get(establish_url(case))
    body = establish.content.decode()
    assert f'href="{edit_url(case)}?check=1#id_interventions-0-starts_on"' in body
    assert f'href="{edit_url(case)}?check=1#id_needs_today"' in body
    assert 'name="approved_by_name"' not in body  # nothing to approve until it is complete


def test_a_complete_draft_passes_the_check(client, county):
    case = case_in_state(county, State.MEETING_CALLED)
    saved_draft(case, county)
    client.force_login(county.alice)
    page = client.get(f"{edit_url(case)}?check=1")
    assert not page.context["editor"].errors
    assert 'data-testid="plan-complete"' in page.content.decode()
    assert establish_url(case) in page.content.decode()


# --- A stale save -----------------------------------------------------------------------------


def test_a_stale_save_is_refused_with_the_newer_content_and_the_typed_text_kept(client, county):
    case = case_in_state(county, State.MEETING_CALLED)
    seen = saved_draft(case, county)
    newer = saved_draft(case, county, actor=county.bob, needs_today="Bob sparade detta först")
    client.force_login(county.alice)
    data = posted(county, seen.lock_version, needs_today="Alice skrev detta")
    response = client.post(edit_url(case), data)
    assert response.status_code == 409
    body = response.content.decode()
    assert "Någon annan har sparat" in body
    newer_section = re.search(r'data-testid="newer-plan">.*?</section>', body, re.S).group(0)
    assert "Bob sparade detta först" in newer_section
    editor = response.context["editor"]
    assert editor.plan["needs_today"].value() == "Alice skrev detta"
    assert editor.plan["version"].value() == str(newer.lock_version)
    assert PlanVersion.objects.get(pk=newer.pk).needs_today == "Bob sparade detta först"

    data["version"] = editor.plan["version"].value()  # saving again, after seeing it
    assert client.post(edit_url(case), data).status_code == 302
    assert PlanVersion.objects.get(pk=newer.pk).needs_today == "Alice skrev detta"


def test_a_form_on_a_draft_established_meanwhile_starts_the_next_version(client, county):
    case = meeting_started(county)
    seen = saved_draft(case, county)
    services.establish_plan(
        case,
        actor=county.alice,
        expected_version=seen.lock_version,
        approved_by=PlanVersion.ApprovedBy.PERSON,
        approved_by_name="Gunnel",
    )
    client.force_login(county.bob)
    response = client.post(edit_url(case), posted(county, seen.lock_version, needs_today="Nytt"))
    assert response.status_code == 409
    assert response.context["editor"].plan["version"].value() == ""
    assert PlanVersion.objects.get(pk=seen.pk).status == PlanVersion.Status.VALID


# --- Adding and removing rows -----------------------------------------------------------------


def test_adding_a_goal_with_htmx_returns_just_the_goals_with_one_more_row(client, county):
    case = case_in_state(county, State.MEETING_CALLED)
    client.force_login(county.alice)
    audits = AuditEvent.objects.filter(action=AuditEvent.Action.CHANGE).count()
    data = {**posted(county, goals=[{"text": "Mitt första mål"}]), "add_goal": "1"}
    data.pop("save")
    response = client.post(edit_url(case), data, **HTMX)
    assert response.status_code == 200
    body = response.content.decode()
    assert "<html" not in body
    assert body.startswith('<div class="govuk-!-margin-bottom-6" id="plan-goals">')
    assert 'name="goals-TOTAL_FORMS" value="2"' in body
    assert "Mitt första mål" in body
    assert 'name="goals-1-text"' in body
    assert re.search(r"<fieldset[^>]*autofocus>\s*<legend[^>]*>(Mål|Goal) 2<", body)
    assert case.draft_plan() is None
    assert AuditEvent.objects.filter(action=AuditEvent.Action.CHANGE).count() == audits


def test_removing_an_intervention_with_htmx_keeps_the_others_as_typed(client, county):
    case = case_in_state(county, State.MEETING_CALLED)
    client.force_login(county.alice)
    items = [intervention(county, name) for name in ("Första", "Andra", "Tredje")]
    data = {**posted(county, interventions=items), "remove_intervention": "1"}
    data.pop("save")
    response = client.post(edit_url(case), data, **HTMX)
    assert response.status_code == 200
    body = response.content.decode()
    assert body.startswith('<div class="govuk-!-margin-bottom-6" id="plan-interventions">')
    assert 'name="interventions-TOTAL_FORMS" value="2"' in body
    editor = response.context["editor"]
    assert [f["description"].value() for f in editor.interventions.forms] == ["Första", "Tredje"]
    assert "Andra" not in body
    assert case.draft_plan() is None


def test_without_javascript_adding_and_removing_rows_reloads_the_page_with_everything_typed(
    client, county
):
    case = case_in_state(county, State.MEETING_CALLED)
    client.force_login(county.alice)
    data = posted(
        county,
        needs_today="Skrivet men inte sparat",
        attendees=[{"name": "Gunnel", "represents": "personen"}],
        goals=[{"text": "Mål ett"}, {"text": "Mål två"}],
    )
    data.pop("save")
    added = client.post(edit_url(case), {**data, "add_attendee": "1"})
    assert added.status_code == 200
    assert "<html" in added.content.decode()
    editor = added.context["editor"]
    assert [f["name"].value() for f in editor.attendees.forms] == ["Gunnel", ""]
    assert editor.plan["needs_today"].value() == "Skrivet men inte sparat"
    assert not editor.errors  # nothing was sent to be saved, so nothing is refused

    removed = client.post(edit_url(case), {**data, "remove_goal": "0"})
    assert removed.status_code == 200
    editor = removed.context["editor"]
    assert [f["text"].value() for f in editor.goals.forms] == ["Mål två"]
    assert "Skrivet men inte sparat" in removed.content.decode()
    assert case.draft_plan() is None


def typed_with_a_new_row(county) -> dict:
    data = {
        **posted(county, needs_today="LÅNG TEXT SOM SKRIVITS", goals=[{"text": "Mitt mål"}]),
        "add_goal": "1",
    }
    data.pop("save")
    return data


def closed_after_the_editor_opened(client, county) -> SipCase:
    case = case_in_state(county, State.MEETING_CALLED)
    client.force_login(county.alice)
    assert client.get(edit_url(case)).status_code == 200
    services.close_case(
        case,
        actor=county.alice,
        expected_version=case.lock_version,
        reason=SipCase.ClosingReason.OTHER,
        note="Flyttat",
    )
    return case


def test_a_row_added_after_the_sip_closed_keeps_everything_typed_and_says_why(client, county):
    case = closed_after_the_editor_opened(client, county)
    response = client.post(edit_url(case), typed_with_a_new_row(county))
    assert response.status_code == 400
    editor = response.context["editor"]
    assert editor.plan["needs_today"].value() == "LÅNG TEXT SOM SKRIVITS"
    assert [form["text"].value() for form in editor.goals.forms] == ["Mitt mål"]  # no new row
    assert 'class="govuk-error-summary"' in response.content.decode()
    (reason,) = editor.non_field_errors()
    assert "SIP:en är avslutad" in reason and "ändra planutkastet" in reason
    english(client)
    response = client.post(edit_url(case), typed_with_a_new_row(county))
    assert response.status_code == 400
    assert "The SIP is closed" in response.context["editor"].non_field_errors()[0]
    assert "LÅNG TEXT SOM SKRIVITS" in response.content.decode()
    assert case.draft_plan() is None


def test_with_htmx_a_refused_row_change_swaps_in_the_part_with_the_reason(client, county):
    case = closed_after_the_editor_opened(client, county)
    response = client.post(
        edit_url(case), {**typed_with_a_new_row(county), "remove_goal": "0"}, **HTMX
    )
    # htmx swaps only 2xx answers, so the reason comes as the part it swaps in, not a reload.
    assert response.status_code == 200
    assert "HX-Refresh" not in response.headers
    body = response.content.decode()
    assert body.startswith('<div class="govuk-!-margin-bottom-6" id="plan-goals">')
    assert 'data-testid="plan-refused"' in body
    assert "SIP:en är avslutad" in body
    assert "Mitt mål" in body  # the goal was not removed
    assert 'name="goals-TOTAL_FORMS" value="1"' in body


def test_a_row_change_by_someone_who_does_not_take_part_is_refused_with_403(client, county):
    """A unit administrator of the coordinating unit reads the SIP but writes nothing in it."""
    case = case_in_state(county, State.MEETING_CALLED)
    client.force_login(staff(county.vardcentral, Assignment.Role.UNIT_ADMINISTRATOR))
    assert 'name="needs_today"' not in client.get(edit_url(case)).content.decode()
    english(client)
    response = client.post(edit_url(case), typed_with_a_new_row(county))
    assert response.status_code == 403
    editor = response.context["editor"]
    assert editor.non_field_errors() == [
        "Your unit does not take part in this SIP, so you cannot write its plan."
    ]
    assert editor.plan["needs_today"].value() == "LÅNG TEXT SOM SKRIVITS"
    assert case.draft_plan() is None


# --- Who and what the plan can name -----------------------------------------------------------


def responsible_values(response) -> set[str]:
    return {value for value, _label in response.context["editor"].choices.responsible_choices()}


def test_organisations_are_offered_only_while_the_consent_covers_them(client, county):
    case = case_in_state(county, State.MEETING_CALLED)
    client.force_login(county.alice)
    offered = responsible_values(client.get(edit_url(case)))
    assert {f"organisation:{county.region.pk}", f"organisation:{county.kommun.pk}"} <= offered
    case.consents.update(valid_until=timezone.localdate() - dt.timedelta(days=1))
    offered = responsible_values(client.get(edit_url(case)))
    assert not any(value.startswith("organisation:") for value in offered)
    assert f"unit:{county.hemtjanst.pk}" in offered  # the units taking part stay
    response = client.post(
        edit_url(case),
        posted(
            county,
            interventions=[intervention(county, responsible=f"organisation:{county.kommun.pk}")],
        ),
    )
    assert response.status_code == 400
    assert case.draft_plan() is None


def test_only_the_related_parties_known_in_this_sip_can_be_responsible(client, county):
    case = case_in_state(county, State.MEETING_CALLED)
    other = services.initiate_case(
        actor=county.charlie,
        person=case.person,
        initiating_unit=county.elsewhere,
        coordinator=county.charlie,
    )
    elsewhere = add_related_party(
        other, actor=county.charlie, kind="relative", name="Från annan SIP"
    )
    here = add_related_party(case, actor=county.alice, kind="relative", name="Dottern Eva")
    client.force_login(county.alice)
    page = client.get(edit_url(case))
    offered = responsible_values(page)
    assert f"party:{here.pk}" in offered
    assert f"party:{elsewhere.pk}" not in offered
    assert "Från annan SIP" not in page.content.decode()
    response = client.post(
        edit_url(case),
        posted(county, interventions=[intervention(county, responsible=f"party:{elsewhere.pk}")]),
    )
    assert response.status_code == 400
    assert case.draft_plan() is None


# --- Proposing and establishing ---------------------------------------------------------------
# --- Proposing and establishing ---------------------------------------------------------------


def test_coordinator_proposes_the_draft_then_records_the_approval(client, county):
    case = meeting_started(county)
    draft = saved_draft(case, county)
    changes = audit_rows(case, county.alice, action=AuditEvent.Action.CHANGE).count()
    client.force_login(county.alice)
    page = client.get(establish_url(case))
    assert page.status_code == 200
    assert draft.needs_today in page.content.decode()  # the summary the person approves

    proposed = client.post(establish_url(case), {"version": draft.lock_version, "propose": "1"})
    assert proposed.status_code == 302
    draft.refresh_from_db()
    assert draft.proposed_at is not None
    assert CaseEvent.objects.filter(case=case).last().action == "propose_plan"
    case_page = client.get(reverse("workspace:case_detail", args=[case.pk])).content.decode()
    state = re.search(r'data-testid="plan-draft-state">(.*?)</p>', case_page, re.S).group(1)
    assert draft.proposed_at.astimezone().strftime("%Y-%m-%d") in state

    response = client.post(
        establish_url(case),
        {"version": draft.lock_version, "approved_by": "person", "approved_by_name": "Gunnel"},
    )
    assert response.status_code == 302
    assert response.url == reverse("workspace:case_detail", args=[case.pk])
    case.refresh_from_db()
    assert case.state == State.PLAN_ESTABLISHED
    plan = case.valid_plan()
    assert (plan.pk, plan.approved_by, plan.approved_by_name) == (draft.pk, "person", "Gunnel")
    assert audit_rows(case, county.alice, action=AuditEvent.Action.CHANGE).count() == changes + 2


def test_saving_the_draft_withdraws_the_proposal(client, county):
    case = case_in_state(county, State.MEETING_CALLED)
    draft = services.propose_plan(
        case, actor=county.alice, expected_version=saved_draft(case, county).lock_version
    )
    client.force_login(county.bob)
    page = client.get(edit_url(case))
    assert 'class="govuk-warning-text"' in page.content.decode()
    response = client.post(edit_url(case), posted(county, draft.lock_version))
    assert response.status_code == 302
    assert PlanVersion.objects.get(pk=draft.pk).proposed_at is None


def test_an_incomplete_draft_cannot_be_proposed(client, county):
    case = case_in_state(county, State.MEETING_CALLED)
    draft = saved_draft(case, county, coordination="")
    client.force_login(county.alice)
    response = client.post(establish_url(case), {"version": draft.lock_version, "propose": "1"})
    assert response.status_code == 400
    assert "Ange hur insatserna samordnas." in response.content.decode()
    assert PlanVersion.objects.get(pk=draft.pk).proposed_at is None


def test_before_the_sip_meeting_the_page_says_when_and_an_approval_is_refused(client, county):
    case = case_in_state(county, State.MEETING_CALLED)
    draft = saved_draft(case, county)
    client.force_login(county.alice)
    page = client.get(establish_url(case))
    assert page.status_code == 200
    body = page.content.decode()
    assert "SIP-mötet har börjat" in body
    assert 'name="approved_by_name"' not in body
    assert 'name="propose"' in body  # the draft can be put before the person ahead of it
    data = {"version": draft.lock_version, "approved_by": "person", "approved_by_name": "Gunnel E"}
    response = client.post(establish_url(case), data)
    assert response.status_code == 400
    body = response.content.decode()
    assert "SIP-mötet har börjat" in body
    assert 'value="Gunnel E"' in body
    english(client)
    response = client.post(establish_url(case), data)
    assert "the SIP meeting has started" in response.content.decode()
    case.refresh_from_db()
    assert case.state == State.MEETING_CALLED
    assert PlanVersion.objects.get(pk=draft.pk).status == PlanVersion.Status.DRAFT

    Meeting.objects.filter(case=case).update(starts_at=timezone.now() - dt.timedelta(minutes=1))
    assert client.post(establish_url(case), data).status_code == 302
    assert case.valid_plan().pk == draft.pk


def test_in_follow_up_the_page_asks_for_the_evaluation_first(client, county):
    case = case_in_state(county, State.FOLLOW_UP)
    draft = saved_draft(case, county, needs_today="Efter uppföljningen")
    meeting = services.follow_up_meeting(case)
    Meeting.objects.filter(pk=meeting.pk).update(starts_at=timezone.now() - dt.timedelta(hours=1))
    client.force_login(county.alice)
    page = client.get(establish_url(case))
    assert "Registrera först uppföljningen" in page.content.decode()
    data = {"version": draft.lock_version, "approved_by": "person", "approved_by_name": "Gunnel"}
    assert client.post(establish_url(case), data).status_code == 400
    case.refresh_from_db()
    assert case.state == State.FOLLOW_UP


def test_a_minors_plan_needs_a_guardians_approval_said_at_the_field(client, county):
    case = meeting_started(county, person=minor())
    draft = saved_draft(case, county)
    client.force_login(county.alice)
    page = client.get(establish_url(case))
    assert "under 18" in page.content.decode() or "18 år" in page.content.decode()
    data = {"version": draft.lock_version, "approved_by": "person", "approved_by_name": "Kim"}
    response = client.post(establish_url(case), data)
    assert response.status_code == 400
    assert "vårdnadshavare ska svara" in field_error(response, "id_approved_by")
    assert 'value="Kim"' in response.content.decode()
    english(client)
    response = client.post(establish_url(case), data)
    assert "a guardian must answer" in field_error(response, "id_approved_by")
    assert PlanVersion.objects.get(pk=draft.pk).status == PlanVersion.Status.DRAFT

    response = client.post(establish_url(case), {**data, "approved_by": "guardian"})
    assert response.status_code == 302
    assert case.valid_plan().approved_by == PlanVersion.ApprovedBy.GUARDIAN


def test_an_approval_without_who_and_name_is_refused_at_each_field(client, county):
    case = meeting_started(county)
    draft = saved_draft(case, county)
    client.force_login(county.alice)
    response = client.post(
        establish_url(case), {"version": draft.lock_version, "approved_by_name": "  "}
    )
    assert response.status_code == 400
    assert field_error(response, "id_approved_by").startswith("Ange vem som godkände planen")
    assert field_error(response, "id_approved_by_name") == "Ange vem som godkände planen."


def test_a_stale_approval_shows_the_newer_draft_and_keeps_what_was_typed(client, county):
    case = meeting_started(county)
    seen = saved_draft(case, county)
    newer = saved_draft(case, county, actor=county.bob, needs_today="Ändrat av Bob")
    client.force_login(county.alice)
    response = client.post(
        establish_url(case),
        {"version": seen.lock_version, "approved_by": "person", "approved_by_name": "Gunnel E"},
    )
    assert response.status_code == 409
    body = response.content.decode()
    assert "Ändrat av Bob" in body
    assert 'value="Gunnel E"' in body
    assert response.context["approval"]["version"].value() == str(newer.lock_version)
    assert case.valid_plan() is None


# --- The case page ----------------------------------------------------------------------------


def test_case_page_offers_editing_to_participants_and_establishing_to_the_coordinator(
    client, county
):
    case = case_in_state(county, State.MEETING_CALLED)
    saved_draft(case, county)
    client.force_login(county.alice)
    page = client.get(reverse("workspace:case_detail", args=[case.pk])).content.decode()
    assert f'href="{edit_url(case)}"' in page
    assert f'href="{establish_url(case)}"' in page
    client.force_login(county.bob)
    page = client.get(reverse("workspace:case_detail", args=[case.pk])).content.decode()
    assert f'href="{edit_url(case)}"' in page
    assert f'href="{establish_url(case)}"' not in page


def test_case_page_offers_no_plan_link_to_staff_whose_units_consent_was_revoked(client, county):
    """Erik works at hemtjänst, whose kommun the consent no longer covers, and administers the
    vårdcentral, so he still reads the SIP: he may not write its plan, so no link says he may."""
    case = case_in_state(county, State.MEETING_CALLED)
    saved_draft(case, county)
    services.revoke_consent(
        case, actor=county.alice, expected_version=case.lock_version, organisations=[county.kommun]
    )
    erik = staff(county.hemtjanst, Assignment.Role.PARTICIPANT, username="erik")
    Assignment.objects.create(
        user=erik, unit=county.vardcentral, role=Assignment.Role.UNIT_ADMINISTRATOR
    )
    client.force_login(erik)
    response = client.get(reverse("workspace:case_detail", args=[case.pk]))
    assert response.status_code == 200
    assert (response.context["may_edit_plan"], response.context["may_establish_plan"]) == (
        False,
        False,
    )
    page = response.content.decode()
    assert f'href="{edit_url(case)}"' not in page
    assert f'href="{establish_url(case)}"' not in page
    assert "Utkast till version 1" in page or "Draft of version 1" in page  # still read
    assert 'name="needs_today"' not in client.get(edit_url(case)).content.decode()


def test_case_page_tags_interventions_of_an_organisation_whose_consent_was_revoked(client, county):
    case = case_in_state(county, State.PLAN_ESTABLISHED)
    services.revoke_consent(
        case, actor=county.alice, expected_version=case.lock_version, organisations=[county.kommun]
    )
    client.force_login(county.alice)
    page = client.get(reverse("workspace:case_detail", args=[case.pk])).content.decode()
    row = re.search(r"<tr[^>]*>\s*<td[^>]*>Hemtjänst morgon och kväll.*?</tr>", page, re.S)
    assert "Avslutad: samtycket återkallat" in row.group(0)


# --- Query budget -----------------------------------------------------------------------------


def case_with_draft(county, size: int) -> SipCase:
    case = case_in_state(county, State.MEETING_CALLED, person=PersonFactory())
    items = [
        services.InterventionData(
            description=f"Insats {n}",
            unit=county.hemtjanst,
            contact_name=f"Kontakt {n}",
            starts_on=timezone.localdate(),
            ends_note="Vid uppföljningen",
        )
        for n in range(size)
    ]
    services.save_plan_draft(
        case,
        actor=county.alice,
        expected_version=None,
        data=complete_draft(
            county,
            interventions=items,
            goals=[f"Mål {n}" for n in range(size)],
            attendees=[(f"Deltagare {n}", "Hemtjänst Norr") for n in range(size)],
        ),
    )
    return case


def queries_for(client, url: str) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200
    return len(queries)


def test_the_editor_makes_as_many_queries_for_fifteen_rows_as_for_one(client, county):
    small, large = case_with_draft(county, 1), case_with_draft(county, 15)
    client.force_login(county.alice)
    queries_for(client, edit_url(small))  # warm the session and caches alike
    assert len(client.get(edit_url(large)).context["editor"].interventions.forms) == 15
    assert queries_for(client, edit_url(large)) == queries_for(client, edit_url(small))
    checked = f"{edit_url(large)}?check=1"
    assert queries_for(client, checked) == queries_for(client, f"{edit_url(small)}?check=1")
    assert queries_for(client, establish_url(large)) == queries_for(client, establish_url(small))


def test_a_part_with_no_rows_is_named_at_an_empty_row_to_fill_in(client, county):
    case = case_in_state(county, State.MEETING_CALLED)
    services.save_plan_draft(
        case,
        actor=county.alice,
        expected_version=None,
        data=complete_draft(county, goals=[], attendees=[]),
    )
    client.force_login(county.alice)
    page = client.get(f"{edit_url(case)}?check=1")
    assert field_error(page, "id_goals-0-text") == "Ange minst ett av personens egna mål."
    assert field_error(page, "id_attendees-0-name") == "Ange vilka som deltog."
    assert page.context["editor"].non_field_errors() == []
