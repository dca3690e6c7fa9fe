"""The password rules (AUTH_PASSWORD_VALIDATORS): each one rule, stated once and refused once, in plain words.

Used wherever a password is chosen: accepting an invitation, a reset, a change on the account page.
Django's own checks that overlap ours (similar to a personal detail, a common password) are folded
into ours, so a form lists each rule once and one weak password is not refused twice for one reason.
"""

import re
from typing import Any

from django.contrib.auth import password_validation
from django.contrib.auth.password_validation import CommonPasswordValidator, UserAttributeSimilarityValidator
from django.core.exceptions import ValidationError
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

# Runs a person might type without thinking: the alphabet, digits, and the keyboard's rows.
SEQUENCES = ("abcdefghijklmnopqrstuvwxyz", "01234567890", "qwertyuiop", "asdfghjkl", "zxcvbnm")
# Letters and digits that stand in for one another in "clever" variants of a common password.
LOOKALIKES = str.maketrans({"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "@": "a", "$": "s", "!": "i"})


def _normalised(password: str) -> str:
    return re.sub(r"\s+", "", password.lower())


class MinimumLengthValidator(password_validation.MinimumLengthValidator):
    """At least `min_length` characters (12 here)."""

    def get_error_message(self) -> str:
        return f"This password is too short: use at least {self.min_length} characters."

    def get_help_text(self) -> str:
        return f"It must be at least {self.min_length} characters long."


class NumericPasswordValidator(password_validation.NumericPasswordValidator):
    """Not digits alone."""

    def get_error_message(self) -> str:
        return "This password is only digits: add letters, or use a few unrelated words."

    def get_help_text(self) -> str:
        return "It cannot be only digits."


class RepeatedCharactersValidator:
    """Refuses one character, or a group of up to four, repeated: aaaaaaaaaaaa, abababababab."""

    def validate(self, password: str, user: Any = None) -> None:
        if re.fullmatch(r"(.{1,4})\1+", _normalised(password)):
            raise ValidationError(
                "This password is the same character, or the same few characters, repeated. "
                "Choose something less predictable, such as three or four unrelated words.",
                code="password_repeated",
            )

    def get_help_text(self) -> str:
        return "It cannot be one character, or a few, repeated."


class SequenceValidator:
    """Refuses a password that is mostly a simple run: abcdefgh, 98765432, qwertyuiop."""

    min_run = 5

    def _longest_run(self, text: str) -> int:
        longest = 0
        for sequence in SEQUENCES:
            for ordered in (sequence, sequence[::-1]):
                run = 0
                for index, char in enumerate(text):
                    if index and ordered.find(text[index - 1] + char) >= 0:
                        run += 1
                    else:
                        run = 1 if char in ordered else 0
                    longest = max(longest, run)
        return longest

    def validate(self, password: str, user: Any = None) -> None:
        text = _normalised(password)
        run = self._longest_run(text)
        if run >= self.min_run and run * 2 > len(text):
            raise ValidationError(
                "This password is mostly a simple sequence (like abcdef, 123456 or qwerty), "
                "which is among the first things an attacker tries.",
                code="password_sequence",
            )

    def get_help_text(self) -> str:
        return "It cannot be mostly a simple sequence such as abcdef, 987654 or qwerty."


class PersonalDetailsValidator(UserAttributeSimilarityValidator):
    """Refuses a password that contains, or closely resembles, the person's username, name or email address.

    Django's similarity check (a password too like a detail) and the containment check are one rule.
    """

    min_part = 3
    DETAILS = {
        "username": "your username",
        "first_name": "your first name",
        "last_name": "your last name",
        "email": "your email address",
    }

    def _parts(self, user: Any) -> list[tuple[str, str]]:
        email = (getattr(user, "email", "") or "").lower()
        candidates = {
            "your username": getattr(user, "username", ""),
            "your first name": getattr(user, "first_name", ""),
            "your last name": getattr(user, "last_name", ""),
            "your email address": email.split("@")[0],
        }
        return [(what, _normalised(value)) for what, value in candidates.items() if len(value or "") >= self.min_part]

    def validate(self, password: str, user: Any = None) -> None:
        if user is None:
            return
        text = _normalised(password)
        for what, value in self._parts(user):
            if value and value in text:
                raise ValidationError(
                    f"This password contains {what}, which others can guess. Choose one that does not.",
                    code="password_personal",
                )
        for attribute, words in self.DETAILS.items():
            try:
                # Django's check, one detail at a time, so that the refusal can say which.
                UserAttributeSimilarityValidator((attribute,), self.max_similarity).validate(password, user)
            except ValidationError:
                raise ValidationError(
                    f"This password is too like {words}, which others can guess. Choose one that is not.",
                    code="password_too_similar",
                ) from None

    def get_help_text(self) -> str:
        return "It cannot contain, or be like, your name, username or email address."


class CommonPasswordVariantsValidator(CommonPasswordValidator):
    """Django's list of 20,000 common passwords, as they are and without the digits and symbols people add to them.

    "Password2024!" and "P@ssw0rd" are the same guess as "password" to an attacker's list.
    """

    def validate(self, password: str, user: Any = None) -> None:
        if password.lower().strip() in self.passwords or _normalised(password) in self.passwords:
            raise ValidationError(
                "This password is one of the most common passwords, which attackers try first.",
                code="password_too_common",
            )
        text = _normalised(password)
        stripped = re.sub(r"[\d\W_]+$", "", re.sub(r"^[\d\W_]+", "", text))
        candidates = {stripped, text.translate(LOOKALIKES), stripped.translate(LOOKALIKES)}
        if any(len(candidate) >= 4 and candidate in self.passwords for candidate in candidates):
            raise ValidationError(
                "This password is a common one with a few letters, digits or symbols changed or added. "
                "Attackers try those variants first.",
                code="password_too_common",
            )

    def get_help_text(self) -> str:
        return "It cannot be a common password, even with digits or symbols added."


def password_rules_html() -> SafeString:
    """The rules of AUTH_PASSWORD_VALIDATORS as one list, each once: the help text of every new-password field."""
    rules = password_validation.password_validators_help_texts()
    return format_html(
        "<ul>{}</ul>",
        format_html_join("", "<li>{}</li>", ((rule,) for rule in rules)),
    )
