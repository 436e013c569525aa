from .views import urlpatterns

app_name = "stats"

__all__ = ["urlpatterns"]
