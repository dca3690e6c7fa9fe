"""Issue 18, bounded pages: an indicator's page shows fifty of its linked actions and links to them all."""

import re

from tests.factories import OrganisationFactory, SuccessIndicatorFactory, partnered_actions


def test_an_indicator_page_shows_fifty_linked_actions_and_links_to_all(client, secretariat):
    indicator = SuccessIndicatorFactory()
    indicator.actions.add(*partnered_actions(OrganisationFactory(), 60, prefix="2"))
    client.force_login(secretariat)
    html = client.get(indicator.get_absolute_url()).content.decode()
    linked = html.split('id="linked-actions"')[1].split("</table>")[0]
    assert len(re.findall(r'<a class="govuk-link" href="/actions/\d+/">', linked)) == 50
    assert "The first 50 of 60 linked actions" in linked
    assert f'href="/actions/?indicator={indicator.pk}"' in linked
