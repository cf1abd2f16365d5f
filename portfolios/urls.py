"""Portfolio pages (mounted at /portfolios/)."""

from django.urls import path

from portfolios import data_room_views, views, wizard

app_name = "portfolios"
urlpatterns = [
    path("", views.portfolio_browse, name="browse"),
    path("<int:pk>/", views.portfolio_detail, name="detail"),
    path("mine/", wizard.my_listings, name="mine"),
    path("new/", wizard.draft_new, name="wizard_new"),
    path("<int:pk>/edit/", wizard.draft_details, name="wizard_details"),
    path("<int:pk>/edit/tape/", wizard.draft_tape, name="wizard_tape"),
    path("<int:pk>/edit/imports/<int:job_pk>/", wizard.draft_import, name="wizard_import"),
    path("<int:pk>/edit/documents/", wizard.draft_documents, name="wizard_documents"),
    path(
        "<int:pk>/edit/documents/<int:document_pk>/delete/",
        wizard.draft_document_delete,
        name="wizard_document_delete",
    ),
    path("<int:pk>/edit/submit/", wizard.draft_submit, name="wizard_submit"),
    path("<int:pk>/data-room/", data_room_views.data_room_page, name="data_room"),
    path("<int:pk>/data-room/nda/", data_room_views.nda_accept, name="nda_accept"),
    path("<int:pk>/data-room/log/", data_room_views.access_log, name="access_log"),
    path("<int:pk>/data-room/loans.csv", data_room_views.loans_export, name="loans_export"),
    path(
        "<int:pk>/documents/<int:document_pk>/download/",
        data_room_views.document_download,
        name="document_download",
    ),
]
