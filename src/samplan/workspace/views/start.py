"""TODO start"""

urlpatterns: list = []
