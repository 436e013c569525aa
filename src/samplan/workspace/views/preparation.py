"""TODO preparation"""

urlpatterns: list = []


def case_page_context(request, case, context: dict) -> dict:
    """What the case page needs from this step (constant number of queries)."""
    return {}
