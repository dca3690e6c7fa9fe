"""GOV.UK Frontend markup for Django forms: our own renderer and field templates (templates/forms/)."""

from django import forms
from django.forms.boundfield import BoundField
from django.forms.renderers import TemplatesSetting

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


class GovukBoundField(BoundField):
    def build_widget_attrs(self, attrs, widget=None):
        attrs = super().build_widget_attrs(attrs, widget)
        widget = widget or self.field.widget
        css_class = widget_class(widget)
        if self.errors and css_class in {"govuk-input", "govuk-select", "govuk-textarea", "govuk-file-upload"}:
            css_class += f" {css_class}--error"
        attrs["class"] = " ".join(filter(None, [attrs.get("class", ""), css_class]))
        if self.errors:
            described = [attrs.get("aria-describedby", ""), f"{self.auto_id}-error"]
            attrs["aria-describedby"] = " ".join(filter(None, described))
        return attrs


class GovukFormRenderer(TemplatesSetting):
    """Every form renders with GOV.UK Frontend's markup and classes, including the filter forms."""

    form_template_name = "forms/govuk_form.html"
    field_template_name = "forms/govuk_field.html"
    bound_field_class = GovukBoundField


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
