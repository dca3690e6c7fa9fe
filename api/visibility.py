"""Who sees which organisation through the API: there is no page listing them for partners, so the rule is here."""

from django.contrib.auth.models import AnonymousUser
from django.db.models import Exists, OuterRef, Q, QuerySet

from priorities.models import Action, ActionPartner
from tracker.models import Organisation, User


def organisations_visible_to(user: User | AnonymousUser) -> QuerySet[Organisation]:
    """Staff see every organisation; a partner its own and those partnering the actions it may see."""
    if not user.is_authenticated or not user.is_active:
        return Organisation.objects.none()
    if user.role in (user.Role.SECRETARIAT, user.Role.COMMISSIONER):
        return Organisation.objects.all()
    if user.role == user.Role.PARTNER and user.organisation_id:
        partnering = ActionPartner.objects.filter(
            organisation=OuterRef("pk"), action__in=Action.objects.visible_to(user).values("pk")
        )
        return Organisation.objects.filter(Exists(partnering) | Q(pk=user.organisation_id))
    return Organisation.objects.none()
