"""The privacy notice and the accessibility statement: public pages the secretariat edits (tracker/site_pages.py)."""

from typing import cast

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods

from .forms import apply_errors
from .permissions import SECRETARIAT, has_role, role_required
from .site_pages import (
    MAX_TEXT_LENGTH,
    EditConflict,
    page_history,
    page_shown,
    site_page_save,
    site_page_use_default,
)

URL_NAMES = {"privacy": "privacy-notice", "accessibility": "accessibility-statement"}


class SitePageForm(forms.Form):
    text = forms.CharField(
        label="Text",
        widget=forms.Textarea(attrs={"rows": 30, "spellcheck": "true"}),
        max_length=MAX_TEXT_LENGTH,
        strip=False,
        help_text=(
            "Markdown: a blank line between paragraphs, ## for a heading, - for a list item, "
            "[words](https://…) for a link. HTML is shown as text."
        ),
        error_messages={"required": "Enter the page's text."},
    )
    based_on = forms.IntegerField(widget=forms.HiddenInput, min_value=0, max_value=2**63 - 1)


@require_GET
def site_page(request, page):
    """The page, for everyone (no sign-in); the secretariat gets a link to edit it."""
    shown = page_shown(page)
    return render(
        request,
        "tracker/site_page.html",
        {
            "shown": shown,
            "can_edit": has_role(request.user, SECRETARIAT),
            "edit_url": reverse(f"{URL_NAMES[page]}-edit"),
        },
    )


@require_http_methods(["GET", "POST"])
@role_required(SECRETARIAT)
def site_page_edit(request, page):
    """Edit the page's text, or go back to the shipped one; the page's history of changes below."""
    shown = page_shown(page)
    based_on = shown.version.pk if shown.version else 0
    form = SitePageForm(initial={"text": shown.text, "based_on": based_on})
    status = 200
    if request.method == "POST" and "use_default" in request.POST:
        if site_page_use_default(page=page, by=request.user) is None:
            messages.info(request, f"The {shown.title.lower()} already shows the text Plan Tracker provides.")
        else:
            messages.success(request, f"The {shown.title.lower()} shows the text Plan Tracker provides again.")
        return redirect(URL_NAMES[page])
    if request.method == "POST":
        form = SitePageForm(request.POST)
        status = 400
        if form.is_valid():
            try:
                version = site_page_save(
                    page=page, text=form.cleaned_data["text"], by=request.user, based_on=form.cleaned_data["based_on"]
                )
            except EditConflict as conflict:
                status = 409
                form.add_error(None, _conflict_message(conflict.version))
                form.data = cast(QueryDict, form.data).copy()  # the request's POST
                form.data["based_on"] = str(conflict.version.pk if conflict.version else 0)
            except ValidationError as error:
                apply_errors(form, error)
            else:
                if version is None:
                    messages.info(request, f"Nothing changed: the {shown.title.lower()} is as it was.")
                else:
                    messages.success(request, f"The {shown.title.lower()} is saved.")
                return redirect(URL_NAMES[page])
    return render(
        request,
        "tracker/site_page_edit.html",
        {"shown": shown, "form": form, "history": page_history(page), "page_url": reverse(URL_NAMES[page])},
        status=status,
    )


def _conflict_message(version):
    who = str(version.created_by) if version and version.created_by else "Someone"
    return (
        f"{who} changed this page after you opened it, so your text was not saved. Your text is still below: "
        "open the page in another tab to see theirs, then save again to replace it."
    )
