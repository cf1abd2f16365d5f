"""Portfolio pages (mounted at /portfolios/)."""

from django.urls import path

from portfolios import data_room_views, views

app_name = "portfolios"
urlpatterns = [
    path("", views.portfolio_browse, name="browse"),
    path("<int:pk>/", views.portfolio_detail, name="detail"),
    path("<int:pk>/data-room/", data_room_views.data_room_page, name="data_room"),
    path("<int:pk>/data-room/nda/", data_room_views.nda_accept, name="nda_accept"),
    path(
        "<int:pk>/documents/<int:document_pk>/download/",
        data_room_views.document_download,
        name="document_download",
    ),
]
