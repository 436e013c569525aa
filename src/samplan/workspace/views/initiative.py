"""TODO initiative"""

urlpatterns: list = []
