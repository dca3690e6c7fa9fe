"""The plan as published: fixtures/priority5.json checked against a copy of the source text."""

import re
from pathlib import Path

import pytest
from django.core.management import call_command

from indicators.models import Measure, SuccessIndicator
from priorities.models import Action, ActionPartner, Objective, Plan, Priority
from tracker.models import Organisation

SOURCE = (Path(__file__).parent / "data" / "priority5_source.txt").read_text(encoding="utf-8")


def source_actions():
    """Action code -> sentence, read from the source; 5.13 and 5.14 share a line there."""
    actions = {}
    for line in SOURCE.splitlines():
        match = re.match(r"^(5\.\d\d)\s(.*)$", line)
        if not match:
            continue
        pieces = re.split(r"\s(5\.\d\d)\s", match.group(2))
        actions[match.group(1)] = pieces[0]
        for code, sentence in zip(pieces[1::2], pieces[2::2], strict=True):
            actions[code] = sentence
    return actions


def source_objectives():
    return dict(re.findall(r"^(5\.\d) (.+)$", SOURCE, flags=re.M))


def source_indicators():
    return [line.strip().lstrip("•").strip() for line in SOURCE.splitlines() if line.strip().startswith("•")]


def table_counts():
    return {
        model.__name__: model.objects.count()
        for model in (Plan, Priority, Objective, Action, ActionPartner, Organisation, SuccessIndicator, Measure)
    }


@pytest.fixture
def loaded(db):
    call_command("loaddata", "priority5", verbosity=0)


def test_source_has_what_the_plan_promises():
    assert len(source_actions()) == 15
    assert len(source_objectives()) == 4
    assert len(source_indicators()) == 6


def test_loading_twice_gives_the_same_rows(db):
    call_command("loaddata", "priority5", verbosity=0)
    first = table_counts()
    rows = list(Action.objects.order_by("pk").values())
    call_command("loaddata", "priority5", verbosity=0)
    assert table_counts() == first
    assert list(Action.objects.order_by("pk").values()) == rows
    assert first["Action"] == 15
    assert first["Objective"] == 4
    assert first["SuccessIndicator"] == 6


def test_priority_and_objectives_word_for_word(loaded):
    priority = Priority.objects.get()
    aim = re.search(r"^Priority 5: (.+)$", SOURCE, flags=re.M).group(1)
    assert priority.number == 5
    assert priority.aim == aim
    assert dict(Objective.objects.values_list("code", "title")) == source_objectives()


def test_every_action_description_is_the_source_sentence(loaded):
    expected = source_actions()
    actual = dict(Action.objects.values_list("code", "description"))
    assert actual.keys() == expected.keys()
    for code, sentence in expected.items():
        assert actual[code] == sentence, f"{code} differs from the published text"
        assert Action.objects.get(code=code).objective.code == code[:3]


def test_actions_have_short_titles_and_no_invented_schedule(loaded):
    for action in Action.objects.all():
        assert action.title and len(action.title) < len(action.description)
        assert action.owner is None and action.start_date is None and action.target_date is None
        assert action.update_frequency is None and action.status == "not_started"


def test_natural_code_order(loaded):
    codes = list(Action.objects.values_list("code", flat=True))
    assert codes == sorted(codes, key=lambda c: [int(p) for p in c.split(".")])


# Each organisation the sentences name, with the words that name it in each action it partners.
EXPECTED_PARTNERS = {
    "5.13": {
        "Home Office",
        "Foreign and Commonwealth Office",
        "Department for International Development",
        "National Crime Agency",
        "Crown Prosecution Service",
    },
    "5.14": {"Pontifical Academy of Social Sciences"},
    "5.21": {
        "EU Anti-Trafficking Coordinator",
        "OSCE Special Representative and Coordinator for Combating Trafficking in Human Beings",
        "Europol",
        "Eurojust",
    },
    "5.22": {"Eurojust", "Europol", "Police forces across the UK"},
    "5.23": {"Europol", "Police forces across the UK"},
    "5.24": {"Europol", "Police forces across the UK"},
    "5.32": {"United Nations"},
    "5.33": {"Santa Marta Group"},
    "5.42": {"Department for International Development"},
}


def test_partner_links(loaded):
    actual = {}
    for code, name in ActionPartner.objects.values_list("action__code", "organisation__name"):
        actual.setdefault(code, set()).add(name)
    assert actual == EXPECTED_PARTNERS
    sentences = source_actions()
    for code, names in actual.items():
        for name in names:
            words = "police forces" if name == "Police forces across the UK" else name
            assert words.lower() in sentences[code].lower(), f"{name} is not named in {code}"


def test_success_indicators_word_for_word_and_linked(loaded):
    statements = list(SuccessIndicator.objects.order_by("position").values_list("statement", flat=True))
    assert statements == source_indicators()
    for indicator in SuccessIndicator.objects.all():
        assert indicator.actions.exists(), indicator.code
        assert indicator.measures.exists(), indicator.code
        for measure in indicator.measures.all():
            assert measure.name and measure.unit and measure.direction
            assert measure.baseline_value is None and measure.target_value is None
    jit = SuccessIndicator.objects.get(statement__contains="Joint Investigation Teams")
    assert list(jit.actions.values_list("code", flat=True)) == ["5.22"]
    europol = SuccessIndicator.objects.get(statement__contains="Europol")
    assert set(europol.actions.values_list("code", flat=True)) == {"5.23", "5.24"}
