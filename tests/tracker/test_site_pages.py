"""The privacy notice and the accessibility statement: public, in every footer, kept by the secretariat."""

import re

import pytest
from django.test import Client
from django.urls import reverse

from tracker.models import SitePageVersion
from tracker.site_pages import FALLBACK_OPERATOR, default_text, render_markdown

PAGES = [("privacy-notice", "privacy"), ("accessibility-statement", "accessibility")]


def edit(client, name, text, based_on=0):
    return client.post(reverse(f"{name}-edit"), {"text": text, "based_on": based_on})


@pytest.mark.parametrize(("name", "page"), PAGES)
def test_anyone_reads_the_shipped_text_which_names_the_operator(db, settings, name, page):
    settings.SERVICE_OPERATOR_NAME = "Office of the Independent Anti-Slavery Commissioner"
    settings.SERVICE_CONTACT_EMAIL = "privacy@commissioner.example.org"
    response = Client().get(reverse(name))
    html = response.content.decode()
    assert response.status_code == 200
    assert "Office of the Independent Anti-Slavery Commissioner" in html
    assert 'href="mailto:privacy@commissioner.example.org"' in html
    assert "This is the text Plan Tracker provides" in html
    assert "Edit the" not in html  # only the secretariat may


def test_without_an_operator_name_the_text_is_still_true(db, settings):
    settings.SERVICE_OPERATOR_NAME = ""
    settings.SERVICE_CONTACT_EMAIL = ""
    for page in ("privacy", "accessibility"):
        text = default_text(page)
        assert FALLBACK_OPERATOR in text
        assert not re.search(r"\[(name|date|organisation|insert)", text, flags=re.IGNORECASE)
        assert "mailto:" not in text


def test_the_privacy_notice_follows_the_installation_s_settings(db, settings):
    settings.AXES_FAILURE_LIMIT = 7
    settings.SENTRY_DSN = ""
    text = default_text("privacy")
    assert "After 7 failed sign-ins" in text and "2 hours without activity" in text
    assert "Sentry" not in text
    settings.SENTRY_DSN = "https://key@sentry.example.org/1"
    assert "Sentry" in default_text("privacy")


def test_the_accessibility_statement_says_what_is_tested_and_what_is_not():
    text = default_text("accessibility")
    for fact in (
        "axe-core",
        "W3C Nu HTML Checker",
        "390 pixels",
        "keyboard alone",
        "partially compliant",
        "not covered by the tests",
        "have not been checked",
        "Equality Advisory and Support Service",
    ):
        assert fact in text, fact
    assert "fully compliant" not in text


@pytest.mark.parametrize(("name", "page"), PAGES)
def test_every_footer_links_both_pages(db, name, page, secretariat, plan5):
    from priorities.services import plan_publish

    plan_publish(plan=plan5, by=secretariat)
    href = f'href="{reverse(name)}"'
    signed_in = Client()
    signed_in.force_login(secretariat)
    for client, path in [
        (Client(), reverse("login")),
        (Client(), reverse("public:plan")),
        (Client(), reverse("privacy-notice")),
        (signed_in, reverse("priorities:action-list")),
        (signed_in, reverse("account")),
    ]:
        assert href in client.get(path).content.decode(), path


def test_the_secretariat_edits_a_page_and_its_history_says_who_and_when(db, secretariat, commissioner):
    client = Client()
    client.force_login(secretariat)
    form = client.get(reverse("privacy-notice-edit"))
    assert form.status_code == 200
    assert "Nobody has changed it yet" in form.content.decode()
    text = "## Who we are\r\n\r\nThe secretariat of the plan.\r\n\r\n- one\r\n- two\r\n"
    response = edit(client, "privacy-notice", text)
    assert response.status_code == 302 and response["Location"] == reverse("privacy-notice")
    version = SitePageVersion.objects.get()
    assert version.text == "## Who we are\n\nThe secretariat of the plan.\n\n- one\n- two"
    assert version.created_by == secretariat and version.page == "privacy"
    page = Client().get(reverse("privacy-notice")).content.decode()
    assert '<h2 class="govuk-heading-m">Who we are</h2>' in page
    assert '<ul class="govuk-list govuk-list--bullet">' in page
    assert "This is the text Plan Tracker provides" not in page and "Last changed on" in page
    history = client.get(reverse("privacy-notice-edit")).content.decode()
    assert str(secretariat) in history and "Saved a new text" in history
    # The other page is untouched.
    assert "This is the text Plan Tracker provides" in Client().get(reverse("accessibility-statement")).content.decode()


def test_saving_the_text_untouched_writes_nothing(db, secretariat):
    client = Client()
    client.force_login(secretariat)
    html = client.get(reverse("accessibility-statement-edit")).content.decode()
    shown = re.search(r'<textarea[^>]*name="text"[^>]*>\n?(.*?)</textarea>', html, flags=re.S).group(1)
    from html import unescape

    response = edit(client, "accessibility-statement", unescape(shown).replace("\n", "\r\n"))
    assert response.status_code == 302
    assert not SitePageVersion.objects.exists()


def test_an_empty_text_is_refused_and_nothing_is_saved(db, secretariat):
    client = Client()
    client.force_login(secretariat)
    response = edit(client, "privacy-notice", "   \r\n ")
    assert response.status_code == 400
    assert "Enter the text of the privacy notice." in response.content.decode()
    assert not SitePageVersion.objects.exists()


def test_a_text_saved_meanwhile_by_someone_else_is_not_overwritten(db, secretariat):
    from tests.factories import SecretariatFactory

    colleague = SecretariatFactory(first_name="Sam", last_name="Colleague")
    mine, theirs = Client(), Client()
    mine.force_login(secretariat)
    theirs.force_login(colleague)
    assert edit(theirs, "privacy-notice", "Their text").status_code == 302
    response = edit(mine, "privacy-notice", "My text", based_on=0)
    assert response.status_code == 409
    assert "Sam Colleague changed this page after you opened it" in response.content.decode()
    assert "My text" in response.content.decode()
    assert list(SitePageVersion.objects.values_list("text", flat=True)) == ["Their text"]
    newest = SitePageVersion.objects.get().pk
    assert edit(mine, "privacy-notice", "My text", based_on=newest).status_code == 302


def test_going_back_to_the_shipped_text(db, secretariat):
    client = Client()
    client.force_login(secretariat)
    edit(client, "accessibility-statement", "Our own statement.")
    response = client.post(reverse("accessibility-statement-edit"), {"use_default": "1"})
    assert response.status_code == 302
    assert SitePageVersion.objects.first().use_default
    assert "This is the text Plan Tracker provides" in Client().get(reverse("accessibility-statement")).content.decode()
    client.post(reverse("accessibility-statement-edit"), {"use_default": "1"})
    assert SitePageVersion.objects.count() == 2  # already the shipped text: nothing more written


@pytest.mark.parametrize("role", ["partner_a", "commissioner"])
def test_only_the_secretariat_edits(db, role, request):
    client = Client()
    client.force_login(request.getfixturevalue(role))
    assert client.get(reverse("privacy-notice-edit")).status_code == 403
    assert edit(client, "privacy-notice", "Taken over").status_code == 403
    assert not SitePageVersion.objects.exists()


@pytest.mark.parametrize(
    ("markdown", "expected", "absent"),
    [
        ("<script>alert(1)</script>", "&lt;script&gt;alert(1)&lt;/script&gt;", "<script>"),
        ("<b onclick=x>bold</b> text", "&lt;b onclick=x&gt;bold&lt;/b&gt; text", "<b "),
        ("[click](javascript:alert(1))", "[click](javascript:alert(1))", 'href="javascript'),
        ("[data](data:text/html;base64,PHNjcmlwdD4=)", "[data](data:text/html;base64,PHNjcmlwdD4=)", 'href="data'),
        ("![tracker](https://evil.example/p.png)", '<a href="https://evil.example/p.png"', "<img"),
        ("# Title", '<h2 class="govuk-heading-m">Title</h2>', "<h1"),
        ("[ICO](https://ico.org.uk/)", '<a href="https://ico.org.uk/" class="govuk-link">ICO</a>', "<script"),
        ('[x](https://a.example/" onmouseover="y)', "&quot; onmouseover=&quot;y", '" onmouseover="y"'),
    ],
)
def test_markdown_is_rendered_safely(markdown, expected, absent):
    html = render_markdown(markdown)
    assert expected in html
    assert absent not in html


def test_the_page_runs_a_fixed_number_of_queries(db, secretariat, django_assert_max_num_queries):
    client = Client()
    client.force_login(secretariat)
    for n in range(60):
        SitePageVersion.objects.create(page="privacy", text=f"Version {n}", created_by=secretariat)
    with django_assert_max_num_queries(12):
        assert client.get(reverse("privacy-notice-edit")).status_code == 200
    with django_assert_max_num_queries(6):
        assert Client().get(reverse("privacy-notice")).status_code == 200
