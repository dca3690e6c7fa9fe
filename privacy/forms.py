from django import forms


class HoldForm(forms.Form):
    # No maxlength attribute: the service says when the reason is too long, instead of the browser cutting it.
    reason = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}),
        label="Why hold their account?",
        help_text="A request, a case or an investigation that needs their record kept as it is. "
        "Retention will not anonymise them until the hold is released.",
        error_messages={"required": "Say why their account is held."},
    )


class MentionForm(forms.Form):
    text = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 8}),
        required=False,
        strip=False,
        label="The text as it should read",
        help_text="Write it without their name, email address or username.",
    )
