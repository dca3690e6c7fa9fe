"""The API tests' world (and the access matrix's): two partners, an action each, a measure each, tokens."""

import datetime
from dataclasses import dataclass, field

from django.test import Client

from api.services import token_create
from indicators.services import measurement_submission_create
from messaging.models import Reminder
from priorities.models import ActionPartner, Status
from priorities.services import submission_create
from tests.factories import (
    ActionFactory,
    ActionPartnerFactory,
    CommissionerFactory,
    MeasureFactory,
    MeasurementFactory,
    ObjectiveFactory,
    OrganisationFactory,
    PartnerFactory,
    SecretariatFactory,
    SuccessIndicatorFactory,
)


@dataclass
class World:
    users: dict
    orgs: dict
    action_a: object
    action_b: object
    measure_a: object
    measure_b: object
    measurement: object
    submission_a: object
    submission_b: object
    value_submission_a: object
    reminder_a: object
    secrets: dict = field(default_factory=dict)

    def token(self, role, scope="read"):
        """The secret of `role`'s token with `scope` (made on first use)."""
        key = (role, scope)
        if key not in self.secrets:
            _, self.secrets[key] = token_create(
                user=self.users[role], name=f"{role} {scope}", scope=scope, days=90, verified=True, client="test"
            )
        return self.secrets[key]

    def client(self, role=None, scope="read", secret=None):
        """A test client sending `role`'s token (or `secret`) in the Authorization header."""
        if secret is None and role is not None:
            secret = self.token(role, scope)
        headers = {"Authorization": f"Bearer {secret}"} if secret else {}
        return Client(headers=headers)


def build_world():
    """The world every API test starts from (also the access matrix's, tests/test_access_matrix.py)."""
    org_a = OrganisationFactory(name="Organisation A", slug="org-a")
    org_b = OrganisationFactory(name="Organisation B", slug="org-b")
    secretariat = SecretariatFactory(username="sec", first_name="Sam", last_name="Secretary")
    users = {
        "partner_a": PartnerFactory(username="partner-a", organisation=org_a),
        "partner_b": PartnerFactory(username="partner-b", organisation=org_b),
        "secretariat": secretariat,
        "commissioner": CommissionerFactory(username="comm"),
    }
    objective = ObjectiveFactory(code="5.1", priority__number=5, priority__plan__title="Priority 5 plan")
    action_a = ActionFactory(objective=objective, code="5.1", title="Train the police", owner=secretariat)
    action_b = ActionFactory(objective=objective, code="5.2", title="Fund the shelters", update_frequency=3)
    ActionPartnerFactory(action=action_a, organisation=org_a, role=ActionPartner.Role.LEAD)
    ActionPartnerFactory(action=action_b, organisation=org_b, role=ActionPartner.Role.LEAD)
    indicator = SuccessIndicatorFactory(plan=objective.priority.plan, code="SI1")
    indicator.actions.add(action_a, action_b)
    measure_a = MeasureFactory(indicator=indicator, name="Victims referred", reporting_organisation=org_a)
    measure_b = MeasureFactory(indicator=indicator, name="Shelter places", reporting_organisation=org_b)
    measurement = MeasurementFactory(measure=measure_a, period_start=datetime.date(2024, 1, 1), value=12)
    submission_a = submission_create(action=action_a, by=users["partner_a"], status=Status.ON_TRACK, note="Going well")
    submission_b = submission_create(action=action_b, by=users["partner_b"], status=Status.AT_RISK, note="Late money")
    value_submission_a = measurement_submission_create(
        measure=measure_a,
        by=users["partner_a"],
        period_start=datetime.date(2025, 1, 1),
        period_end=datetime.date(2025, 12, 31),
        value=20,
    )
    reminder_a = Reminder.objects.create(
        recipient_email=users["partner_a"].email,
        recipient_user=users["partner_a"],
        organisation=org_a,
        action=action_a,
        kind=Reminder.Kind.DUE_SOON,
        cycle=datetime.date(2026, 1, 1),
    )
    return World(
        users=users,
        orgs={"a": org_a, "b": org_b},
        action_a=action_a,
        action_b=action_b,
        measure_a=measure_a,
        measure_b=measure_b,
        measurement=measurement,
        submission_a=submission_a,
        submission_b=submission_b,
        value_submission_a=value_submission_a,
        reminder_a=reminder_a,
    )
