import factory
from django.utils.text import slugify

from indicators.models import Measure, Measurement, SuccessIndicator
from priorities.counts import objective_status_recount
from priorities.models import Action, ActionPartner, Objective, Plan, Priority, Status
from tracker.models import Organisation, User


class OrganisationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Organisation

    name = factory.Sequence(lambda n: f"Organisation {n}")
    short_name = factory.LazyAttribute(lambda o: o.name[:20])
    slug = factory.LazyAttribute(lambda o: slugify(o.name))
    kind = Organisation.Kind.GOVERNMENT


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.org")
    role = User.Role.SECRETARIAT
    password = factory.PostGenerationMethodCall("set_password", "correct horse battery")

    @factory.post_generation
    def save_password(obj, create, extracted, **kwargs):
        if create:
            obj.save(update_fields=["password"])


class SecretariatFactory(UserFactory):
    role = User.Role.SECRETARIAT


class CommissionerFactory(UserFactory):
    role = User.Role.COMMISSIONER


class PartnerFactory(UserFactory):
    role = User.Role.PARTNER
    organisation = factory.SubFactory(OrganisationFactory)


class PlanFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Plan

    title = factory.Sequence(lambda n: f"Plan {n}")
    slug = factory.LazyAttribute(lambda p: slugify(p.title))


class PriorityFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Priority

    plan = factory.SubFactory(PlanFactory)
    number = factory.Sequence(lambda n: n + 1)
    title = factory.Sequence(lambda n: f"Priority {n}")


class ObjectiveFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Objective

    priority = factory.SubFactory(PriorityFactory)
    code = factory.Sequence(lambda n: f"9.{n + 1}")
    title = factory.Sequence(lambda n: f"Objective {n}")


class ActionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Action

    objective = factory.SubFactory(ObjectiveFactory)
    code = factory.Sequence(lambda n: f"9.{n + 100}")
    title = factory.Sequence(lambda n: f"Action {n}")
    description = factory.Faker("sentence", nb_words=12)

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        # A factory bypasses action_create: keep the status counts per objective as the service does.
        action = super()._create(model_class, *args, **kwargs)
        objective_status_recount(objective_ids=[action.objective_id])
        return action


class ActionPartnerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ActionPartner

    action = factory.SubFactory(ActionFactory)
    organisation = factory.SubFactory(OrganisationFactory)
    role = ActionPartner.Role.SUPPORTING


class SuccessIndicatorFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = SuccessIndicator

    plan = factory.SubFactory(PlanFactory)
    code = factory.Sequence(lambda n: f"T{n}")
    statement = factory.Faker("sentence", nb_words=10)


class MeasureFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Measure

    indicator = factory.SubFactory(SuccessIndicatorFactory)
    name = factory.Sequence(lambda n: f"Measure {n}")
    unit = Measure.Unit.COUNT


class MeasurementFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Measurement

    measure = factory.SubFactory(MeasureFactory)
    period_start = factory.Sequence(lambda n: __import__("datetime").date(2000 + n, 1, 1))
    period_end = factory.LazyAttribute(lambda m: m.period_start.replace(month=12, day=31))
    value = 1


def report_link_for(*, action, user, reminder=None, **fields):
    """A report link as a reminder makes it (messaging.report_links), for tests."""
    import datetime
    import secrets

    from django.utils import timezone

    from messaging.models import ReportLink

    now = fields.pop("created_at", None) or timezone.now()
    return ReportLink.objects.create(
        action=action,
        recipient_email=user.email,
        recipient_user=user,
        organisation=user.organisation,
        reminder=reminder,
        nonce=secrets.token_urlsafe(24),
        created_at=now,
        expires_at=fields.pop("expires_at", None) or now + datetime.timedelta(days=ReportLink.VALID_FOR_DAYS),
        **fields,
    )


def partnered_actions(organisation, count, *, objective=None, status=Status.ON_TRACK, due=None, prefix="7"):
    """`count` actions partnered by `organisation`, made in bulk (codes prefix.1, prefix.2 ...)."""
    # One plan, as the partner's home and the register show one plan at a time.
    plan = Plan.objects.order_by("pk").first() or PlanFactory()
    objective = objective or ObjectiveFactory(priority=PriorityFactory(plan=plan, number=Priority.objects.count() + 1))
    actions = Action.objects.bulk_create(
        Action(
            objective=objective,
            code=f"{prefix}.{n}",
            title=f"Action {prefix}.{n}",
            description="",
            sort_key=f"{prefix}.{n:06}",
            status=status,
            next_update_due=due,
        )
        for n in range(1, count + 1)
    )
    ActionPartner.objects.bulk_create(ActionPartner(action=a, organisation=organisation) for a in actions)
    return actions
