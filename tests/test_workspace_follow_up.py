"""Uppföljning in the workspace: evaluating every goal and intervention at the follow-up
meeting, comparing two plan versions side by side, and the latest evaluation on the case page."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from samplan.access.models import AuditEvent
from samplan.cases import services
from samplan.cases.models import CaseEvent, Evaluation, Meeting, PlanVersion, State
from samplan.directory.models import Assignment
from samplan.errors import DomainError
from samplan.workspace.views import follow_up as follow_up_views
from tests.factories import case_in_state, complete_draft, future, staff

pytestmark = pytest.mark.django_db

GOALS = [
    "Jag vill kunna gå till affären själv till sommaren.",
    "Jag vill träffa mina barnbarn varje vecka.",
]


def intervention(county, description: str) -> services.InterventionData:
    return services.InterventionData(
        description=description,
        unit=county.hemtjanst,
        contact_name="Lena Berg",
        starts_on=timezone.localdate(),
        ends_note="Ses över vid uppföljningen",
    )


def followed_up_case(county, *, goals=GOALS, interventions=("Hemtjänst morgon", "Dagverksamhet")):
    """A case in follow-up whose valid plan has these goals and interventions, and whose
    follow-up meeting started an hour ago (moved there directly: the services call meetings
    ahead only)."""
    case = case_in_state(county, State.MEETING_CALLED)
    # The plan is established at the SIP meeting, once it has started.
    Meeting.objects.filter(case=case).update(starts_at=timezone.now() - dt.timedelta(hours=2))
    draft = services.save_plan_draft(
        case,
        actor=county.alice,
        expected_version=None,
        data=complete_draft(
            county,
            goals=list(goals),
            interventions=[intervention(county, text) for text in interventions],
        ),
    )
    services.establish_plan(
        case,
        actor=county.alice,
        expected_version=draft.lock_version,
        approved_by=PlanVersion.ApprovedBy.PERSON,
        approved_by_name="Gunnel",
    )
    meeting = services.call_follow_up(
        case,
        actor=county.alice,
        expected_version=case.lock_version,
        call=services.MeetingCall(
            starts_at=future(30), duration_minutes=45, place="Hemma", units=[county.hemtjanst]
        ),
    )
    Meeting.objects.filter(pk=meeting.pk).update(starts_at=timezone.now() - dt.timedelta(hours=1))
    return case


def parts(case):
    plan = case.valid_plan()
    return list(plan.goals.all()), list(plan.interventions.all())


def url(case) -> str:
    return reverse("workspace:follow_up", args=[case.pk])


def compare_url(case, **params) -> str:
    query = "&".join(f"{key}={value}" for key, value in params.items())
    return reverse("workspace:plan_compare", args=[case.pk]) + (f"?{query}" if query else "")


def full_answers(case, version: int = 0, **overrides) -> dict:
    goals, interventions = parts(case)
    data = {"version": version}
    for goal, result in zip(goals, ["reached", "partly"], strict=False):
        data[f"goal_{goal.pk}_result"] = result
        data[f"goal_{goal.pk}_comment"] = f"Kommentar om {goal.text[:10]}"
        data[f"goal_{goal.pk}_person_view"] = "Det går bättre nu, säger hon."
    for item, result in zip(interventions, ["reached", "not_reached"], strict=False):
        data[f"intervention_{item.pk}_result"] = result
        data[f"intervention_{item.pk}_comment"] = f"Om {item.description}"
        data[f"intervention_{item.pk}_person_view"] = ""
    data.update(overrides)
    return data


def english(client) -> None:
    client.post(reverse("set_language"), {"language": "en", "next": "/"})


# --- Recording the follow-up ------------------------------------------------------------------


def test_coordinator_evaluates_every_goal_and_intervention_and_it_is_audited(client, county):
    case = followed_up_case(county)
    goals, interventions = parts(case)
    client.force_login(county.alice)
    page = client.get(url(case))
    assert page.status_code == 200
    assert GOALS[1] in page.content.decode()
    assert AuditEvent.objects.filter(
        user=county.alice, case_id=case.pk, what="follow_up", action=AuditEvent.Action.READ
    ).exists()

    response = client.post(url(case), full_answers(case))

    assert response.status_code == 302
    assert response.url == url(case) + "#next-steps"
    stored = {
        (e.goal_id, e.intervention_id): (e.result, e.comment, e.person_view, e.recorded_by)
        for e in Evaluation.objects.all()
    }
    assert stored == {
        (goals[0].pk, None): (
            "reached",
            "Kommentar om Jag vill k",
            "Det går bättre nu, säger hon.",
            county.alice,
        ),
        (goals[1].pk, None): (
            "partly",
            "Kommentar om Jag vill t",
            "Det går bättre nu, säger hon.",
            county.alice,
        ),
        (None, interventions[0].pk): ("reached", "Om Hemtjänst morgon", "", county.alice),
        (None, interventions[1].pk): ("not_reached", "Om Dagverksamhet", "", county.alice),
    }
    event = CaseEvent.objects.filter(case=case).last()
    assert (event.action, event.actor, event.to_state) == (
        "record_evaluation",
        county.alice,
        State.FOLLOW_UP,
    )
    change = AuditEvent.objects.get(user=county.alice, what="evaluation")
    assert (change.action, change.outcome, change.case_id) == (
        AuditEvent.Action.CHANGE,
        AuditEvent.Outcome.ALLOWED,
        case.pk,
    )


def test_after_saving_the_page_offers_a_new_version_and_the_next_follow_up(client, county):
    case = followed_up_case(county)
    client.force_login(county.alice)
    page = client.get(client.post(url(case), full_answers(case)).url).content.decode()
    plan_editor = reverse("workspace:plan_edit", args=[case.pk])
    assert 'id="next-steps"' in page
    assert f'href="{plan_editor}"' in page
    assert f'href="{plan_editor}#id_follow_up_on"' in page
    assert f'href="{compare_url(case)}"' in page
    # the recorded answers fill the form again
    assert "Kommentar om Jag vill t" in page


def test_each_missing_evaluation_is_named_at_its_field_in_swedish_and_typed_text_stays(
    client, county
):
    case = followed_up_case(county)
    goals, interventions = parts(case)
    client.force_login(county.alice)
    data = full_answers(case)
    for field in (
        f"goal_{goals[1].pk}_result",
        f"intervention_{interventions[0].pk}_result",
        f"intervention_{interventions[1].pk}_result",
    ):
        del data[field]
    data[f"goal_{goals[1].pk}_person_view"] = "Jag saknar dem, säger hon."

    response = client.post(url(case), data)

    assert response.status_code == 400
    errors = response.context["form"].errors
    assert f"goal_{goals[0].pk}_result" not in errors
    assert errors[f"goal_{goals[1].pk}_result"] == [
        "Mål 2 (”Jag vill träffa mina barnbarn varje vecka.”) är inte utvärderat. Välj uppnått, "
        "delvis uppnått eller inte uppnått."
    ]
    assert errors[f"intervention_{interventions[0].pk}_result"] == [
        "Insats 1 (”Hemtjänst morgon”) är inte utvärderad. Välj fungerade, fungerade delvis "
        "eller fungerade inte."
    ]
    assert "Insats 2 (”Dagverksamhet”)" in errors[f"intervention_{interventions[1].pk}_result"][0]
    body = response.content.decode()
    assert f'id="id_goal_{goals[1].pk}_result-error"' in body
    assert "Jag saknar dem, säger hon." in body
    assert "Om Dagverksamhet" in body
    assert not Evaluation.objects.exists()


def test_the_missing_evaluations_read_in_english_when_english_is_chosen(client, county):
    case = followed_up_case(county)
    goals, interventions = parts(case)
    client.force_login(county.alice)
    english(client)
    response = client.post(url(case), {"version": 0})
    errors = response.context["form"].errors
    assert errors[f"goal_{goals[0].pk}_result"] == [
        "Goal 1 (“Jag vill kunna gå till affären själv till sommaren.”) is not evaluated. "
        "Choose reached, partly reached or not reached."
    ]
    assert errors[f"intervention_{interventions[1].pk}_result"] == [
        "Intervention 2 (“Dagverksamhet”) is not evaluated. Choose worked, partly worked or "
        "did not work."
    ]
    assert len(errors) == 4
    assert "Did the intervention work?" in response.content.decode()


def test_saving_again_replaces_the_meetings_earlier_evaluation(client, county):
    case = followed_up_case(county)
    goals, _ = parts(case)
    client.force_login(county.alice)
    client.post(url(case), full_answers(case))
    version = services.evaluation_version(services.follow_up_meeting(case))
    field = f"goal_{goals[0].pk}_result"

    response = client.post(url(case), full_answers(case, version=version, **{field: "not_reached"}))

    assert response.status_code == 302
    assert Evaluation.objects.count() == 4
    assert Evaluation.objects.get(goal=goals[0]).result == "not_reached"
    assert CaseEvent.objects.filter(case=case, action="record_evaluation").count() == 2


def test_a_stale_evaluation_is_refused_and_the_newer_one_shown_with_typed_text(client, county):
    case = followed_up_case(county)
    goals, _ = parts(case)
    stand_in = staff(county.vardcentral, Assignment.Role.COORDINATOR, first_name="Stina")
    other = client_class_login(stand_in)
    other.post(
        url(case), full_answers(case, **{f"goal_{goals[0].pk}_comment": "Stinas anteckning"})
    )
    client.force_login(county.alice)

    response = client.post(
        url(case),
        full_answers(case, version=0, **{f"goal_{goals[0].pk}_comment": "Alices utkast"}),
    )

    assert response.status_code == 409
    body = response.content.decode()
    assert "Någon annan har sparat" in body
    assert "Stinas anteckning" in body
    assert "Alices utkast" in body
    assert "Stina" in body
    newest = services.evaluation_version(services.follow_up_meeting(case))
    assert response.context["form"]["version"].value() == str(newest)
    assert Evaluation.objects.get(goal=goals[0]).comment == "Stinas anteckning"


def client_class_login(user):
    from django.test import Client

    other = Client()
    other.force_login(user)
    return other


def test_recording_before_the_meeting_started_is_refused_in_both_languages(client, county):
    case = followed_up_case(county)
    Meeting.objects.filter(case=case, kind=Meeting.Kind.FOLLOW_UP).update(starts_at=future(2))
    client.force_login(county.alice)
    assert 'data-testid="meeting-not-started"' in client.get(url(case)).content.decode()

    response = client.post(url(case), full_answers(case))
    assert response.status_code == 400
    assert "först när uppföljningsmötet har börjat" in " ".join(
        response.context["form"].non_field_errors()
    )
    english(client)
    response = client.post(url(case), full_answers(case))
    assert "only once the follow-up meeting has started" in " ".join(
        response.context["form"].non_field_errors()
    )
    assert not Evaluation.objects.exists()


def test_an_outsider_gets_404_and_the_refusal_is_logged(client, county):
    case = followed_up_case(county)
    client.force_login(county.charlie)
    assert client.get(url(case)).status_code == 404
    assert client.post(url(case), full_answers(case)).status_code == 404
    assert not Evaluation.objects.exists()
    assert (
        AuditEvent.objects.filter(
            user=county.charlie, case_id=case.pk, outcome=AuditEvent.Outcome.REFUSED
        ).count()
        == 2
    )


def test_a_participant_who_does_not_drive_reads_but_may_not_record(client, county):
    case = followed_up_case(county)
    client.force_login(county.alice)
    client.post(url(case), full_answers(case))
    client.force_login(county.bob)

    page = client.get(url(case))
    assert page.status_code == 200
    body = page.content.decode()
    assert "Kommentar om Jag vill k" in body
    assert '<form method="post" novalidate>' not in body

    response = client.post(url(case), full_answers(case, version=99))
    assert response.status_code == 403
    assert "samordnare" in " ".join(response.context["form"].non_field_errors())
    assert Evaluation.objects.filter(recorded_by=county.bob).count() == 0
    assert AuditEvent.objects.filter(
        user=county.bob, what="evaluation", outcome=AuditEvent.Outcome.REFUSED
    ).exists()


def test_outside_a_follow_up_the_page_says_so_and_a_post_is_refused(client, county):
    case = case_in_state(county, State.PLAN_ESTABLISHED)
    client.force_login(county.alice)
    assert client.get(url(case)).status_code == 200
    response = client.post(url(case), {"version": 0})
    assert response.status_code == 400
    assert "registrera uppföljningen" in response.context["refusal"]
    assert not Evaluation.objects.exists()


def test_the_service_refuses_a_goal_from_another_plan(county):
    case = followed_up_case(county)
    other = followed_up_case(county)
    goals, interventions = parts(case)
    foreign_goal = parts(other)[0][0]
    answers = {goal.pk: services.EvaluationData("reached") for goal in goals}
    answers[foreign_goal.pk] = services.EvaluationData("reached")
    with pytest.raises(DomainError) as refused:
        services.record_evaluation(
            services.follow_up_meeting(case),
            actor=county.alice,
            goals=answers,
            interventions={item.pk: services.EvaluationData("partly") for item in interventions},
        )
    assert refused.value.code == "not_in_plan"
    assert "hör inte till" in refused.value.sv and "not part of" in refused.value.en
    assert not Evaluation.objects.exists()


# --- Comparing versions -----------------------------------------------------------------------


def revise(case, county, **overrides):
    """Write the draft of the next version, as the plan editor would."""
    draft = case.draft_plan()
    return services.save_plan_draft(
        case,
        actor=county.alice,
        expected_version=draft.lock_version,
        data=complete_draft(county, **overrides),
    )


def test_compare_defaults_to_valid_against_draft_and_marks_what_changed(client, county):
    case = followed_up_case(county)
    revise(
        case,
        county,
        needs_today="Kan inte duscha själv; går säkrare med rollator.",
        goals=[
            "Jag vill kunna gå till affären och posten själv till sommaren.",
            "Jag vill börja simma igen.",
        ],
        interventions=[
            intervention(county, "Hemtjänst morgon"),
            intervention(county, "Dagverksamhet"),
            intervention(county, "Sjukgymnastik"),
        ],
    )
    client.force_login(county.alice)

    response = client.get(compare_url(case))

    assert response.status_code == 200
    assert (response.context["a"], response.context["b"]) == (1, 2)
    body = response.content.decode()
    comparison = response.context["comparison"]
    assert comparison["parts"][0].status == "changed"  # needs today
    assert {row.status for row in comparison["parts"][1:]} == {"unchanged"}
    goals = dict(comparison["groups"])
    goal_statuses = [item.status for item in next(iter(goals.values()))]
    assert goal_statuses == ["changed", "removed", "new"]
    intervention_statuses = [item.status for item in list(goals.values())[1]]
    assert intervention_statuses == ["unchanged", "unchanged", "new"]
    assert '<del><span class="govuk-visually-hidden">' in body
    assert "och posten" in body
    assert "rollator." in body
    assert 'data-status="removed"' in body and 'data-status="new"' in body
    assert AuditEvent.objects.filter(
        user=county.alice, case_id=case.pk, what="plan_compare", action=AuditEvent.Action.READ
    ).exists()


def test_compare_shows_the_change_tags_as_words_in_english(client, county):
    case = followed_up_case(county)
    revise(case, county, goals=["Jag vill börja simma igen."])
    client.force_login(county.alice)
    english(client)
    body = client.get(compare_url(case)).content.decode()
    for word in (">Changed<", ">New<", ">Removed<", ">Unchanged<"):
        assert word in body
    assert "<ins>" in body


def test_two_chosen_versions_are_compared_and_a_bad_choice_falls_back(client, county):
    case = followed_up_case(county)
    revise(case, county, needs_today="Nytt behov")
    client.force_login(county.alice)
    response = client.get(compare_url(case, a=2, b=1))
    assert (response.context["old"].number, response.context["new"].number) == (2, 1)
    response = client.get(compare_url(case, a=1, b=7))
    assert response.status_code == 400
    assert response.context["problem"]
    assert (response.context["a"], response.context["b"]) == (1, 2)


def test_a_plan_with_one_version_has_nothing_to_compare(client, county):
    case = case_in_state(county, State.PLAN_ESTABLISHED)
    client.force_login(county.alice)
    response = client.get(compare_url(case))
    assert response.status_code == 200
    assert response.context["comparison"] is None


def test_compare_is_read_by_participants_and_hidden_from_outsiders(client, county):
    case = followed_up_case(county)
    client.force_login(county.bob)
    assert client.get(compare_url(case)).status_code == 200
    client.force_login(county.charlie)
    assert client.get(compare_url(case)).status_code == 404
    assert AuditEvent.objects.filter(
        user=county.charlie, what="plan_compare", outcome=AuditEvent.Outcome.REFUSED
    ).exists()


def compare_queries(client, case) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(compare_url(case))
    assert response.status_code == 200
    assert response.context["comparison"] is not None
    return len(queries)


def test_compare_makes_the_same_number_of_queries_whatever_the_plan_size(client, county):
    small = followed_up_case(county, goals=["Ett mål"], interventions=["En insats"])
    large = followed_up_case(
        county,
        goals=[f"Mål nummer {n}" for n in range(8)],
        interventions=[f"Insats nummer {n}" for n in range(6)],
    )
    revise(large, county, goals=[f"Ändrat mål {n}" for n in range(9)])
    client.force_login(county.alice)
    compare_queries(client, small)  # warm the per-request caches alike
    assert compare_queries(client, small) == compare_queries(client, large)


def test_compare_text_marks_removed_and_added_words():
    row = follow_up_views.compare_text("Jag vill gå till affären", "Jag vill cykla till affären")
    assert row.status == "changed"
    assert ("delete", "gå ") in row.left.segments
    assert ("insert", "cykla ") in row.right.segments
    assert all(op != "insert" for op, _ in row.left.segments)
    assert follow_up_views.compare_text("", "Nytt").status == "new"
    assert follow_up_views.compare_text("Gammalt", "").status == "removed"


# --- On the case page -------------------------------------------------------------------------


def test_case_page_shows_the_latest_evaluation_of_each_goal_and_intervention(client, county):
    case = followed_up_case(county)
    client.force_login(county.alice)
    client.post(url(case), full_answers(case))
    english(client)

    response = client.get(reverse("workspace:case_detail", args=[case.pk]))

    context = response.context
    assert [e.result_label for e in context["goal_evaluations"]] == ["Reached", "Partly reached"]
    assert [e.result_label for e in context["intervention_evaluations"]] == [
        "Worked",
        "Did not work",
    ]
    assert context["goals_reached"] == 1
    html = render_partial(response, "workspace/case/_follow_up.html")
    assert "1 of 2 goals reached." in html
    assert "Det går bättre nu, säger hon." in html
    assert "Did not work" in html
    assert reverse("workspace:follow_up", args=[case.pk]) in html
    assert reverse("workspace:plan_compare", args=[case.pk]) in html


def render_partial(response, template: str) -> str:
    from django.template.loader import render_to_string

    values = response.context[0].flatten()  # the case page's own context
    return render_to_string(template, values, request=response.wsgi_request)


def context_queries(case, user) -> int:
    request = RequestFactory().get("/")
    request.user = user
    with CaptureQueriesContext(connection) as queries:
        follow_up_views.case_page_context(request, case, {})
    return len(queries)


def test_the_case_page_part_makes_the_same_number_of_queries_for_1_and_many_goals(county):
    small = followed_up_case(county, goals=["Ett mål"], interventions=["En insats"])
    large = followed_up_case(
        county,
        goals=[f"Mål nummer {n}" for n in range(8)],
        interventions=[f"Insats nummer {n}" for n in range(6)],
    )
    for case in (small, large):
        goals, interventions = parts(case)
        services.record_evaluation(
            services.follow_up_meeting(case),
            actor=county.alice,
            goals={goal.pk: services.EvaluationData("reached") for goal in goals},
            interventions={item.pk: services.EvaluationData("partly") for item in interventions},
        )
    assert context_queries(small, county.alice) == context_queries(large, county.alice)
