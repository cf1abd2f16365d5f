"""Portfolio endpoints under /api/v1/."""

from django.urls import path

from portfolios.api import views

urlpatterns = [
    path("portfolios/", views.PortfolioListView.as_view(), name="api-portfolio-list"),
    path("portfolios/<int:pk>/", views.PortfolioDetailView.as_view(), name="api-portfolio-detail"),
    path("portfolios/<int:pk>/submit/", views.PortfolioSubmitView.as_view(), name="api-portfolio-submit"),
    path("portfolios/<int:pk>/loan-tape/", views.LoanTapeUploadView.as_view(), name="api-portfolio-loan-tape"),
    path("portfolios/<int:pk>/documents/", views.DocumentUploadView.as_view(), name="api-portfolio-documents"),
    path(
        "portfolios/<int:pk>/documents/<int:document_pk>/",
        views.DocumentDownloadView.as_view(),
        name="api-portfolio-document",
    ),
    path("portfolios/<int:pk>/nda/", views.NdaView.as_view(), name="api-portfolio-nda"),
    path("portfolios/<int:pk>/loans/", views.LoanListView.as_view(), name="api-portfolio-loans"),
    path("portfolios/<int:pk>/loans.csv", views.LoanExportView.as_view(), name="api-portfolio-loans-csv"),
    path("imports/<int:pk>/", views.ImportJobView.as_view(), name="api-import-detail"),
    path("imports/<int:pk>/errors.csv", views.ImportErrorReportView.as_view(), name="api-import-errors"),
]
