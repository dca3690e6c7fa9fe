"""Password rules beyond Django's own, each refusing in plain words (AUTH_PASSWORD_VALIDATORS).

Used wherever a password is chosen: accepting an invitation, a reset, a change on the account page.
"""

import re

from django.contrib.auth.password_validation import CommonPasswordValidator
from django.core.exceptions import ValidationError

# Runs a person might type without thinking: the alphabet, digits, and the keyboard's rows.
SEQUENCES = ("abcdefghijklmnopqrstuvwxyz", "01234567890", "qwertyuiop", "asdfghjkl", "zxcvbnm")
# Letters and digits that stand in for one another in "clever" variants of a common password.
LOOKALIKES = str.maketrans({"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "@": "a", "$": "s", "!": "i"})


def _normalised(password):
    return re.sub(r"\s+", "", password.lower())


class RepeatedCharactersValidator:
    """Refuses one character, or a group of up to four, repeated: aaaaaaaaaaaa, abababababab."""

    def validate(self, password, user=None):
        if re.fullmatch(r"(.{1,4})\1+", _normalised(password)):
            raise ValidationError(
                "This password is the same character, or the same few characters, repeated. "
                "Choose something less predictable, such as three or four unrelated words.",
                code="password_repeated",
            )

    def get_help_text(self):
        return "It cannot be one character, or a few, repeated."


class SequenceValidator:
    """Refuses a password that is mostly a simple run: abcdefgh, 98765432, qwertyuiop."""

    min_run = 5

    def _longest_run(self, text):
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

    def validate(self, password, user=None):
        text = _normalised(password)
        run = self._longest_run(text)
        if run >= self.min_run and run * 2 > len(text):
            raise ValidationError(
                "This password is mostly a simple sequence (like abcdef, 123456 or qwerty), "
                "which is among the first things an attacker tries.",
                code="password_sequence",
            )

    def get_help_text(self):
        return "It cannot be mostly a simple sequence such as abcdef, 987654 or qwerty."


class PersonalDetailsValidator:
    """Refuses a password that contains the person's username, name, or email address (or its first part)."""

    min_part = 3

    def _parts(self, user):
        email = (getattr(user, "email", "") or "").lower()
        candidates = {
            "your username": getattr(user, "username", ""),
            "your first name": getattr(user, "first_name", ""),
            "your last name": getattr(user, "last_name", ""),
            "your email address": email.split("@")[0],
        }
        return [(what, _normalised(value)) for what, value in candidates.items() if len(value or "") >= self.min_part]

    def validate(self, password, user=None):
        if user is None:
            return
        text = _normalised(password)
        for what, value in self._parts(user):
            if value and value in text:
                raise ValidationError(
                    f"This password contains {what}, which others can guess. Choose one that does not.",
                    code="password_personal",
                )

    def get_help_text(self):
        return "It cannot contain your name, username or email address."


class CommonPasswordVariantsValidator(CommonPasswordValidator):
    """Django's list of 20,000 common passwords, also checked without the digits and symbols people add to them.

    "Password2024!" and "P@ssw0rd" are the same guess as "password" to an attacker's list.
    """

    def validate(self, password, user=None):
        text = _normalised(password)
        stripped = re.sub(r"[\d\W_]+$", "", re.sub(r"^[\d\W_]+", "", text))
        candidates = {stripped, text.translate(LOOKALIKES), stripped.translate(LOOKALIKES)}
        if any(len(candidate) >= 4 and candidate in self.passwords for candidate in candidates):
            raise ValidationError(
                "This password is a common one with a few letters, digits or symbols changed or added. "
                "Attackers try those variants first.",
                code="password_too_common",
            )

    def get_help_text(self):
        return "It cannot be a common password, even with digits or symbols added."
