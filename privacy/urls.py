from django.urls import path

from . import views

app_name = "privacy"

urlpatterns = [
    path("people/<int:user_id>/personal-data.zip", views.person_export, name="person-export"),
    path("people/<int:user_id>/anonymise/", views.person_anonymise_view, name="person-anonymise"),
    path("people/<int:user_id>/anonymised/", views.anonymised, name="anonymised"),
    path("people/<int:user_id>/anonymised/<int:mention_id>/", views.mention_edit, name="mention-edit"),
    path("people/<int:user_id>/hold/", views.retention_hold, name="retention-hold"),
    path("retention/", views.retention, name="retention"),
]
