"""TODO search"""

urlpatterns: list = []
