"""Sign-in with a second step, password reset and change, the account page, two-step devices."""

import time

import segno
from axes.handlers.proxy import AxesProxyHandler
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login as auth_login
from django.contrib.auth import update_session_auth_hash
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.contrib.auth.signals import user_login_failed
from django.core.exceptions import ValidationError
from django.http import HttpResponseRedirect
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import Resolver404, resolve, reverse, reverse_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_GET, require_POST
from django_otp import login as otp_login
from django_otp import user_has_device
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from .accounts import (
    TooManyRequests,
    key_as_text,
    new_two_step_key,
    organisation_set_two_step,
    otpauth_url,
    password_reset_request,
    password_set,
    recovery_codes_renew,
    two_step_enrol,
    two_step_remove,
    two_step_reset,
    two_step_verify,
)
from .forms import (
    CurrentPasswordChangeForm,
    CurrentPasswordForm,
    NewPasswordForm,
    TwoStepCodeForm,
    TwoStepSetupForm,
    apply_errors,
)
from .models import Organisation, User
from .permissions import SECRETARIAT, role_required
from .security import client_address
from .two_step import two_step_required

# Between a right password and a right code, the session holds who is signing in (not yet signed in).
PENDING_SESSION_KEY = "two_step_pending"
# The key being set up, kept in the session until the person confirms it with a code.
SETUP_SESSION_KEY = "two_step_setup_key"
# Where the notification-preferences page lives once it exists (the account page links to it then).
NOTIFICATIONS_PATH = "/accounts/notifications/"


class SignInView(auth_views.LoginView):
    """Username and password; someone with an authenticator app then gives a code before they are signed in.

    Until the code is right nobody is signed in, so django-axes' failure count (which a successful sign-in
    clears) keeps counting wrong codes along with wrong passwords.
    """

    redirect_authenticated_user = True

    def form_valid(self, form):
        user = form.get_user()
        if not user_has_device(user):
            return super().form_valid(form)
        self.request.session[PENDING_SESSION_KEY] = {
            "user": user.pk,
            "backend": user.backend,
            "next": self.get_success_url(),
            "at": int(time.time()),
        }
        return redirect("two-step-verify")


class SignOutView(auth_views.LogoutView):
    """Sign out (POST only, as Django's), and say so on the page that follows."""

    def post(self, request, *args, **kwargs):
        response = super().post(request, *args, **kwargs)
        # The session is gone by now: the default message storage keeps this in a cookie for the next page.
        messages.success(request, "You have signed out.")
        return response


def _verifying(request):
    """(user, pending) for the person who owes a code, or (None, None)."""
    pending = request.session.get(PENDING_SESSION_KEY)
    if pending and time.time() - pending["at"] < settings.TWO_STEP_PENDING_SECONDS:
        user = User.objects.filter(pk=pending["user"], is_active=True).first()
        if user is not None:
            return user, pending
    request.session.pop(PENDING_SESSION_KEY, None)
    user = request.user
    if user.is_authenticated and not user.is_verified() and user_has_device(user):
        return user, None
    return None, None


def _locked_out(request):
    request.session.pop(PENDING_SESSION_KEY, None)
    return render(request, settings.AXES_LOCKOUT_TEMPLATE, status=429)


@never_cache
@sensitive_post_parameters("token")
def two_step_sign_in(request):
    """The second step: a code from the authenticator app, or a recovery code (each works once)."""
    user, pending = _verifying(request)
    if user is None:
        return redirect("home" if request.user.is_authenticated else "login")
    credentials = {"username": user.get_username()}
    if AxesProxyHandler.is_locked(request, credentials):
        return _locked_out(request)
    form = TwoStepCodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        client = client_address(request)
        device = two_step_verify(user=user, token=form.cleaned_data["token"], client=client)
        if device is not None:
            next_url = pending["next"] if pending else reverse("home")
            if pending:
                request.session.pop(PENDING_SESSION_KEY)
                auth_login(request, user, backend=pending["backend"])
            otp_login(request, device)
            if isinstance(device, StaticDevice):
                left = StaticToken.objects.filter(device=device).count()
                messages.warning(
                    request,
                    f"You signed in with a recovery code; {left} left. Each works once: make new ones on "
                    "your account page if you are running low.",
                )
            return HttpResponseRedirect(next_url)
        # django-axes counts this like a wrong password: five in all lock the account from this address.
        user_login_failed.send(sender=__name__, credentials=credentials, request=request)
        if getattr(request, "axes_locked_out", False):
            return _locked_out(request)
        form.add_error(
            "token", "That code is not right, or was already used. Check the app and enter the code it shows now."
        )
    status = 400 if request.method == "POST" else 200
    return render(request, "registration/two_step_sign_in.html", {"form": form, "person": user}, status=status)


# --- password reset (Django's views, our form handling) ------------------------------------------


class PasswordResetView(auth_views.PasswordResetView):
    """Always the same answer, sent after the same work, whether or not an account has the address."""

    template_name = "registration/password_reset_form.html"
    success_url = reverse_lazy("password-reset-sent")

    def form_valid(self, form):
        try:
            password_reset_request(email=form.cleaned_data["email"], client=client_address(self.request))
        except TooManyRequests:
            return render(self.request, "registration/password_reset_limited.html", status=429)
        return HttpResponseRedirect(self.get_success_url())

    def form_invalid(self, form):
        return self.render_to_response(self.get_context_data(form=form), status=400)


class PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    """The link from the email: a new password with the same rules as everywhere; then every session ends."""

    form_class = NewPasswordForm
    template_name = "registration/password_reset_confirm.html"
    success_url = reverse_lazy("password-reset-complete")

    def form_valid(self, form):
        password_set(
            user=form.user,
            password=form.cleaned_data["new_password1"],
            event="password-reset",
            client=client_address(self.request),
        )
        del self.request.session[auth_views.INTERNAL_RESET_SESSION_TOKEN]
        return HttpResponseRedirect(self.get_success_url())

    def form_invalid(self, form):
        return self.render_to_response(self.get_context_data(form=form), status=400)


class PasswordChangeView(auth_views.PasswordChangeView):
    """Change your own password: your current one first. Your other sessions end; this one goes on."""

    form_class = CurrentPasswordChangeForm
    template_name = "registration/password_change_form.html"
    success_url = reverse_lazy("account")

    def form_valid(self, form):
        user = password_set(
            user=form.user,
            password=form.cleaned_data["new_password1"],
            event="password-changed",
            client=client_address(self.request),
        )
        update_session_auth_hash(self.request, user)
        messages.success(self.request, "Your password is changed. You are signed out everywhere else.")
        return HttpResponseRedirect(self.get_success_url())

    def form_invalid(self, form):
        return self.render_to_response(self.get_context_data(form=form), status=400)


# --- the account page and two-step devices ------------------------------------------------------


def _notifications_url():
    try:
        resolve(NOTIFICATIONS_PATH)
    except Resolver404:
        return None
    return NOTIFICATIONS_PATH


@never_cache
@require_GET
@login_required
def account(request):
    """Your details (the secretariat keeps them), your password, two-step sign-in and email choices."""
    user = request.user
    app = TOTPDevice.objects.filter(user=user, confirmed=True).first()
    context = {
        "person": user,
        "app": app,
        "recovery_codes_left": StaticToken.objects.filter(device__user=user).count() if app else 0,
        "two_step_required": two_step_required(user),
        "notifications_url": _notifications_url(),
    }
    return render(request, "tracker/account.html", context)


def _unverified_with_device(request):
    return not request.user.is_verified() and user_has_device(request.user)


def _qr_data_uri(url):
    # Drawn on the server as an SVG data: URI (img-src allows data:): no request, no script, the CSP stays strict.
    qr = segno.make(url, error="m")
    return qr.svg_data_uri(scale=5, dark="#0b0c0c", light="#ffffff"), qr.symbol_size(scale=5)[0]


@never_cache
@sensitive_post_parameters("token")
@login_required
def two_step_setup(request):
    """Set up an authenticator app: scan the QR code (or type the key), then confirm with a code."""
    if _unverified_with_device(request):
        return redirect("two-step-verify")
    key = request.session.get(SETUP_SESSION_KEY) or new_two_step_key()
    request.session[SETUP_SESSION_KEY] = key
    form = TwoStepSetupForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            device, codes = two_step_enrol(
                user=request.user, key=key, token=form.cleaned_data["token"], client=client_address(request)
            )
        except ValidationError as error:
            apply_errors(form, error)
        else:
            request.session.pop(SETUP_SESSION_KEY)
            otp_login(request, device)
            return render(request, "tracker/recovery_codes.html", {"codes": codes, "just_enrolled": True})
    context = {
        "form": form,
        "qr": _qr_data_uri(otpauth_url(user=request.user, key=key)),
        "key_text": key_as_text(key),
        "replacing": TOTPDevice.objects.filter(user=request.user, confirmed=True).exists(),
        "required": two_step_required(request.user),
    }
    return render(request, "tracker/two_step_setup.html", context, status=400 if request.method == "POST" else 200)


@never_cache
@require_POST
@login_required
def recovery_codes_new(request):
    """New recovery codes, shown once; the old ones stop working."""
    if _unverified_with_device(request):
        return redirect("two-step-verify")
    try:
        codes = recovery_codes_renew(user=request.user, client=client_address(request))
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
        return redirect("account")
    return render(request, "tracker/recovery_codes.html", {"codes": codes, "just_enrolled": False})


@never_cache
@sensitive_post_parameters("password")
@login_required
def two_step_turn_off(request):
    """Turn off your own second step (only where it is optional), with your current password."""
    if _unverified_with_device(request):
        return redirect("two-step-verify")
    if not user_has_device(request.user):
        messages.error(request, "Two-step sign-in is not set up on your account.")
        return redirect("account")
    form = CurrentPasswordForm(request.POST or None)
    required = two_step_required(request.user)
    if request.method == "POST" and form.is_valid():
        try:
            two_step_remove(user=request.user, password=form.cleaned_data["password"], client=client_address(request))
        except ValidationError as error:
            apply_errors(form, error)
        else:
            messages.success(request, "Two-step sign-in is turned off. You can set it up again at any time.")
            return redirect("account")
    status = 400 if request.method == "POST" else 200
    return render(request, "tracker/two_step_turn_off.html", {"form": form, "required": required}, status=status)


# --- the secretariat ------------------------------------------------------------------------------


@require_POST
@role_required(SECRETARIAT)
def user_two_step_reset(request, user_id):
    """Clear someone's authenticator app and recovery codes (a lost phone): logged, and they are told by email."""
    person = get_object_or_404(User, pk=user_id)
    try:
        two_step_reset(user=person, by=request.user, client=client_address(request))
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, f"Two-step sign-in for {person} is reset: they set it up again when they sign in.")
    if person.organisation is not None:
        return redirect(person.organisation)
    return redirect("admin:tracker_user_change", person.pk)


@require_POST
@role_required(SECRETARIAT)
def organisation_two_step(request, slug):
    """Require, or stop requiring, two-step sign-in for an organisation's people."""
    organisation = get_object_or_404(Organisation, slug=slug)
    required = request.POST.get("required") == "1"
    organisation_set_two_step(
        organisation=organisation, required=required, by=request.user, client=client_address(request)
    )
    if required:
        messages.success(request, f"People at {organisation.display_name} must now use two-step sign-in.")
    else:
        messages.success(request, f"Two-step sign-in is optional for people at {organisation.display_name}.")
    return redirect(organisation)
