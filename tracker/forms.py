"""GOV.UK Frontend markup for Django forms: our own renderer and field templates (templates/forms/)."""

import datetime
from typing import TYPE_CHECKING, Any, cast

from django import forms
from django.contrib.auth.forms import PasswordChangeForm, SetPasswordForm
from django.core import signing
from django.core.validators import MaxLengthValidator
from django.forms.boundfield import BoundField
from django.forms.renderers import TemplatesSetting
from django.http import QueryDict

from .passwords import password_rules_html

if TYPE_CHECKING:
    # What the mixins below are mixed into, for mypy: a form, and a form that sets a user's password.
    _MergedForm = forms.Form
    _PasswordForm = SetPasswordForm
else:
    _MergedForm = _PasswordForm = object

WIDGET_CLASSES = {
    forms.Textarea: "govuk-textarea",
    forms.Select: "govuk-select",
    forms.CheckboxSelectMultiple: "govuk-checkboxes__input",
    forms.RadioSelect: "govuk-radios__input",
    forms.CheckboxInput: "govuk-checkboxes__input",
    forms.FileInput: "govuk-file-upload",
    forms.SelectMultiple: "govuk-select",
    forms.widgets.Input: "govuk-input",
}


def widget_class(widget):
    for widget_type, css_class in WIDGET_CLASSES.items():
        if isinstance(widget, widget_type):
            return css_class
    return ""


# The only value a browser keeps in an <input type="date">: any other (the locale's dd/mm/yyyy) is
# dropped, and saving the untouched form would then erase the date.
ISO_DATE = "%Y-%m-%d"


class GovukBoundField(BoundField):
    def as_widget(self, widget=None, attrs=None, only_initial=False):
        widget = widget or self.field.widget
        if isinstance(widget, forms.DateInput) and widget.input_type == "date":
            widget.format = ISO_DATE
        return super().as_widget(widget, attrs, only_initial)

    def build_widget_attrs(self, attrs, widget=None):
        attrs = super().build_widget_attrs(attrs, widget)
        widget = widget or self.field.widget
        css_class = widget_class(widget)
        # A hidden input shows no error of its own (the error summary says it) and may carry no aria-*.
        shows_error = bool(self.errors) and not widget.is_hidden
        if shows_error and css_class in {"govuk-input", "govuk-select", "govuk-textarea", "govuk-file-upload"}:
            css_class += f" {css_class}--error"
        # The widget's own classes (a width, say) are kept: the attrs given here would replace them.
        attrs["class"] = " ".join(filter(None, [widget.attrs.get("class", ""), attrs.get("class", ""), css_class]))
        if isinstance(self.field, LongTextField):
            # GOV.UK's character count finds its box by this class and reads "{id}-info" for the limit.
            attrs["class"] += " govuk-js-character-count"
            attrs["aria-describedby"] = " ".join(
                filter(None, [attrs.get("aria-describedby", ""), f"{self.auto_id}-info"])
            )
        if shows_error:
            # Django names the error "<id>_error", which our field template calls "<id>-error": only ours exists.
            described = [ref for ref in attrs.get("aria-describedby", "").split() if ref != f"{self.auto_id}_error"]
            attrs["aria-describedby"] = " ".join([*described, f"{self.auto_id}-error"])
        return attrs


class GovukFormRenderer(TemplatesSetting):
    """Every form renders with GOV.UK Frontend's markup and classes, including the filter forms."""

    form_template_name = "forms/govuk_form.html"
    field_template_name = "forms/govuk_field.html"
    bound_field_class = GovukBoundField


class LongTextField(forms.CharField):
    """Free text in a box (a note, a reason, a description) with a length limit that the server, not the browser, keeps.

    A `maxlength` attribute makes the browser cut typed or pasted text at the limit without a word, so
    the box carries none: GOV.UK's character count says how many characters are left as the person
    types (with JavaScript), and a note too long is refused with a message saying by how much, and
    nothing saved. Line breaks count once, as the count shows them (a browser sends each as two).
    """

    def __init__(self, *, max_length, what, rows=3, **kwargs):
        kwargs.setdefault("widget", forms.Textarea(attrs={"rows": rows}))
        super().__init__(max_length=max_length, **kwargs)
        self.what = what
        # The limit is checked in validate(), with a message in words: not Django's "Ensure this value ...".
        self.validators = [v for v in self.validators if not isinstance(v, MaxLengthValidator)]

    def to_python(self, value: Any) -> str:
        text = super().to_python(value)
        assert text is not None  # CharField's empty value is "" unless empty_value says otherwise
        return text.replace("\r\n", "\n")

    def validate(self, value: str) -> None:
        super().validate(value)
        if self.max_length is not None and len(value) > self.max_length:
            raise forms.ValidationError(
                f"{self.what[:1].upper()}{self.what[1:]} must be {self.max_length:,} characters or fewer: "
                f"this one has {len(value):,}. Shorten it and send it again.",
                code="max_length",
            )

    def widget_attrs(self, widget):
        attrs = super().widget_attrs(widget)
        attrs.pop("maxlength", None)
        return attrs


class SpreadsheetFileField(forms.FileField):
    """An uploaded CSV or .xlsx for an import, at most MAX_BYTES (tracker.spreadsheets.read_table reads it)."""

    MAX_BYTES = 10 * 1024 * 1024

    def __init__(self, *, label, help_text):
        super().__init__(
            label=label,
            help_text=help_text,
            widget=forms.ClearableFileInput(attrs={"accept": ".csv,.xlsx"}),
            error_messages={"required": "Select a CSV or Excel file.", "empty": "The selected file is empty."},
        )

    def clean(self, data, initial=None):
        upload = super().clean(data, initial)
        if upload.size > self.MAX_BYTES:
            raise forms.ValidationError("The file must be smaller than 10 MB.")
        if not upload.name.lower().endswith((".csv", ".xlsx")):
            raise forms.ValidationError("The file must be a CSV (.csv) or Excel (.xlsx) file.")
        return upload


class InviteForm(forms.Form):
    first_name = forms.CharField(max_length=150, label="First name")
    last_name = forms.CharField(max_length=150, label="Last name")
    email = forms.EmailField(label="Email address", help_text="The invitation goes to this address.")


def apply_errors(form, error):
    """Show a service's ValidationError on the form: on its field when the form has it, else at the top."""
    items = error.error_dict.items() if hasattr(error, "error_dict") else [(None, error.error_list)]
    for field, errors in items:
        for message in (m for e in errors for m in e.messages):
            form.add_error(field if field in form.fields else None, message)


def _plain(value):
    """A form value as JSON can hold it and a form's data can take it back: pks, ISO dates, sorted lists."""
    if value is None or value == "":
        return None
    if isinstance(value, (list, tuple, set)) or hasattr(value, "model"):
        return sorted(_plain(item) for item in value)
    if hasattr(value, "pk"):
        return str(value.pk)
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)


class MergeOnConflictMixin(_MergedForm):
    """A form that comes back merged when a colleague saved the same thing first (a three-way merge).

    The form carries what it was opened with (`opened`, signed). When a save is refused as stale,
    `merged(current=...)` returns the form again with: the colleague's value for each field this
    person left alone, this person's value for each field they changed, and, for a field both
    changed differently, a required choice between the two values (`keep_<field>`), so saving
    again loses nobody's work. `merge_fields` names the fields merged; `version` becomes current.
    """

    merge_fields: tuple[str, ...] = ()
    OPENED_SALT = "plan-tracker.merge-opened"
    YOURS, THEIRS = "yours", "theirs"

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["opened"] = forms.CharField(widget=forms.HiddenInput, required=False)
        if not self.is_bound:
            self.initial["opened"] = self.sign_opened(
                {f: _plain(self.get_initial_for_field(self.fields[f], f)) for f in self.merge_fields}
            )
        opened = self._read_opened()
        self.opened_values = opened.get("values")
        for name in opened.get("conflicts", []):
            if name in self.merge_fields:
                self._add_choice(name, opened)

    @classmethod
    def sign_opened(cls, values, conflicts=(), labels=None):
        payload = {"values": values, "conflicts": list(conflicts), "labels": labels or {}}
        return signing.dumps(payload, salt=cls.OPENED_SALT, compress=True)

    def _read_opened(self):
        raw = self.data.get(self.add_prefix("opened")) if self.is_bound else self.initial.get("opened")
        try:
            return signing.loads(raw or "", salt=self.OPENED_SALT)
        except signing.BadSignature:
            return {}

    def _add_choice(self, name, opened):
        field = self.fields[name]
        yours, theirs = opened.get("labels", {}).get(name) or ("Yours", "Your colleague's")
        self.fields[f"keep_{name}"] = forms.ChoiceField(
            label=f"{field.label}: which value do you want to keep?",
            choices=[(self.YOURS, yours), (self.THEIRS, theirs)],
            widget=forms.RadioSelect,
            error_messages={"required": f"Choose which {str(field.label).lower()} to keep: yours or your colleague's."},
        )
        order = list(self.fields)
        order.remove(f"keep_{name}")
        order.insert(order.index(name) + 1, f"keep_{name}")
        self.order_fields(order)

    def display(self, name, value):
        """A plain value (see _plain) as a person reads it."""
        field: Any = self.fields[name]  # read by what it has: a queryset, choices
        if value is None or value == []:
            return "None" if isinstance(value, list) else "Not set"
        if hasattr(field, "queryset"):
            wanted = value if isinstance(value, list) else [value]
            objects = field.queryset.filter(pk__in=wanted)
            return ", ".join(sorted(field.label_from_instance(o) for o in objects)) or "Not set"
        if getattr(field, "choices", None):
            return dict((str(k), v) for k, v in field.choices).get(str(value), str(value))
        if isinstance(field, forms.DateField):
            return datetime.date.fromisoformat(value).strftime("%-d %B %Y")
        return str(value)

    def clean(self):
        data = super().clean()
        assert data is not None  # Form.clean returns cleaned_data
        for name in self.merge_fields:
            if data.get(f"keep_{name}") == self.THEIRS and self.opened_values is not None:
                # What the form was opened with after the conflict is the colleague's value.
                theirs = self.opened_values.get(name)
                data[name] = self.fields[name].clean("" if theirs is None else theirs)
        return data

    def merged(self, *, current, version, theirs_by="", **kwargs):
        """This form again after a refused save, merged with `current` (the values saved meanwhile)."""
        mine = {name: _plain(self.cleaned_data.get(name)) for name in self.merge_fields}
        theirs = {name: _plain(current.get(name)) for name in self.merge_fields}
        # A form posted without what it was opened with (a page from before) keeps all of this person's values.
        opened = self.opened_values if self.opened_values is not None else mine
        if self.opened_values is None:
            theirs = {**theirs, **mine}
        data = cast(QueryDict, self.data).copy()  # a bound form: the request's POST
        conflicts: list[str] = []
        labels: dict[str, tuple[str, str]] = {}
        who = f"{theirs_by}'s" if theirs_by else "Your colleague's"
        for name in self.merge_fields:
            you_changed = mine[name] != opened.get(name)
            they_changed = theirs[name] != opened.get(name)
            if they_changed and not you_changed:
                value = theirs[name]
            else:
                value = mine[name]
                if they_changed and you_changed and mine[name] != theirs[name]:
                    conflicts.append(name)
                    labels[name] = (
                        f"Yours: {self.display(name, mine[name])}",
                        f"{who}: {self.display(name, theirs[name])}",
                    )
            key = self.add_prefix(name)
            if isinstance(self.fields[name], (forms.MultipleChoiceField, forms.ModelMultipleChoiceField)):
                data.setlist(key, [str(v) for v in value or []])
            else:
                data[key] = "" if value is None else str(value)
            data.pop(self.add_prefix(f"keep_{name}"), None)
        data[self.add_prefix("version")] = str(version)
        data[self.add_prefix("opened")] = self.sign_opened(theirs, conflicts, labels)
        form = type(self)(data, **kwargs)
        return form


BIGINT_RANGE = range(-(2**63), 2**63)


class IdsChoiceField(forms.ModelMultipleChoiceField):
    """A multi-select of rows by id that refuses ids no database column can hold, before querying.

    Django passes the submitted ids straight into `pk__in`; on SQLite one above 2**63 raised
    OverflowError (a 500). Here it is the field's ordinary "not one of the available choices".
    """

    def _check_values(self, value: Any) -> Any:
        for pk in value:
            try:
                ok = int(str(pk).strip()) in BIGINT_RANGE
            except ValueError:
                ok = False
            if not ok:
                raise forms.ValidationError(
                    self.error_messages["invalid_pk_value"], code="invalid_pk_value", params={"pk": pk}
                )
        return super()._check_values(value)  # type: ignore[misc]  # Django's own check, private: not in the stubs


class NewPasswordMixin(_PasswordForm):
    """A new password, typed twice: the rules listed once above the box, a refusal said once, on that box.

    Django's SetPasswordForm checks the rules against the second box, so a refusal showed under "confirm"
    and the error summary linked there. Here it is on the new password itself; the second box only says
    whether the two match.
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        first, second = self.fields["new_password1"], self.fields["new_password2"]
        first.help_text = password_rules_html()
        first.error_messages["required"] = "Enter a new password."
        second.help_text = ""
        second.error_messages["required"] = "Enter the new password again."

    def clean(self):
        self.validate_passwords("new_password1", "new_password2")
        if "new_password1" not in self.errors:
            self.validate_password_for_user(self.user, "new_password1")
        return forms.Form.clean(self)


class NewPasswordForm(NewPasswordMixin, SetPasswordForm):
    """Choosing a password: accepting an invitation, or from a reset link."""

    error_messages = {"password_mismatch": "The two passwords are not the same. Type the new password again."}


class CurrentPasswordChangeForm(NewPasswordMixin, PasswordChangeForm):
    """Changing your own password: your current one first."""

    error_messages = {
        **PasswordChangeForm.error_messages,
        "password_mismatch": "The two passwords are not the same. Type the new password again.",
        "password_incorrect": "That is not your current password.",
    }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["old_password"].label = "Your current password"
        self.fields["old_password"].error_messages["required"] = "Enter your current password."


class TwoStepCodeForm(forms.Form):
    token = forms.CharField(
        max_length=32,
        label="Code",
        help_text="The 6-digit code your authenticator app shows now, or one of your recovery codes.",
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "spellcheck": "false", "autofocus": True}),
    )


class TwoStepSetupForm(forms.Form):
    token = forms.CharField(
        max_length=12,
        label="Code from the app",
        help_text="The 6-digit code the app shows for Plan Tracker.",
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "spellcheck": "false"}),
    )


class CurrentPasswordForm(forms.Form):
    password = forms.CharField(
        label="Your current password",
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )
