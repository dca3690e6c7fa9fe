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
        if self.errors and css_class in {"govuk-input", "govuk-select", "govuk-textarea", "govuk-file-upload"}:
            css_class += f" {css_class}--error"
        # The widget's own classes (a width, say) are kept: the attrs given here would replace them.
        attrs["class"] = " ".join(filter(None, [widget.attrs.get("class", ""), attrs.get("class", ""), css_class]))
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
