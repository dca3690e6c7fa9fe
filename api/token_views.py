"""The token pages: make, list and revoke your own tokens; the secretariat sees and revokes anyone's."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from tracker.forms import apply_errors
from tracker.paging import page_of
from tracker.permissions import SECRETARIAT, AuthenticatedHttpRequest, role_required
from tracker.security import client_address
from tracker.two_step import two_step_required

from .forms import TokenForm
from .models import AccessToken
from .services import MAX_LIVE_TOKENS, token_create, token_revoke

PAST_SHOWN = 10


def _needs_second_step(request: AuthenticatedHttpRequest) -> bool:
    return two_step_required(request.user) and not request.user.is_verified()


def _page(
    request: AuthenticatedHttpRequest,
    form: TokenForm,
    *,
    status: int = 200,
    created: AccessToken | None = None,
    secret: str | None = None,
) -> HttpResponse:
    mine = AccessToken.objects.filter(user=request.user)
    # At most MAX_LIVE_TOKENS live ones (token_create refuses more), and the latest few past ones.
    live = list(mine.filter(revoked_at__isnull=True, expires_at__gt=timezone.now()))
    past = list(mine.exclude(pk__in=[token.pk for token in live]).select_related("revoked_by")[:PAST_SHOWN])
    context = {
        "form": form,
        "live_tokens": live,
        "past_tokens": past,
        "created": created,
        "secret": secret,
        "needs_second_step": _needs_second_step(request),
        "max_live": MAX_LIVE_TOKENS,
        "api_base": request.build_absolute_uri(reverse("api:api-root")),
    }
    return render(request, "api/token_list.html", context, status=status)


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def token_list(request: AuthenticatedHttpRequest) -> HttpResponse:
    """Your tokens, and the form to make one: its secret is shown on the answer to the POST, once."""
    form = TokenForm(request.POST or None, user=request.user)
    if request.method == "POST":
        if _needs_second_step(request):
            raise PermissionDenied("Sign in with your second step first.")
        if form.is_valid():
            try:
                token, secret = token_create(
                    user=request.user,
                    name=form.cleaned_data["name"],
                    scope=form.cleaned_data["scope"],
                    days=form.cleaned_data["days"],
                    verified=request.user.is_verified(),
                    client=client_address(request),
                )
            except ValidationError as error:
                apply_errors(form, error)
            else:
                # Not a redirect: the secret must not sit in a session or an address to be shown again.
                return _page(request, TokenForm(user=request.user), status=201, created=token, secret=secret)
        return _page(request, form, status=400)
    return _page(request, form)


@require_POST
@login_required
def token_revoke_view(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    """Revoke one of your tokens (the secretariat: anyone's); it is refused from the next request on."""
    tokens = AccessToken.objects.visible_to(request.user).select_related("user")
    token = get_object_or_404(tokens, pk=pk)
    revoked = token_revoke(token=token, by=request.user, client=client_address(request))
    if revoked is None:
        messages.info(request, f"The token “{token.name}” was already revoked.")
    else:
        owner = "" if token.user == request.user else f" of {token.user}"
        messages.success(request, f"The token “{token.name}”{owner} is revoked: it no longer works.")
    if token.user != request.user:
        return redirect("tokens:everyone")
    return redirect("tokens:list")


@never_cache
@require_http_methods(["GET"])
@role_required(SECRETARIAT)
def token_everyone(request: AuthenticatedHttpRequest) -> HttpResponse:
    """Every live token, whoever holds it, newest first, a page at a time: the secretariat reviews and revokes."""
    tokens = AccessToken.objects.usable().select_related("user__organisation").order_by("-created_at", "-pk")
    page = page_of(request, tokens)
    return render(request, "api/token_everyone.html", {"page": page, "tokens": page.object_list})
