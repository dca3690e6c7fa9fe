"""/accounts/tokens/: the access token pages (namespace "tokens")."""

from django.urls import path

from . import token_views

app_name = "tokens"

urlpatterns = [
    path("", token_views.token_list, name="list"),
    path("everyone/", token_views.token_everyone, name="everyone"),
    path("<int:pk>/revoke/", token_views.token_revoke_view, name="revoke"),
]
