"""The yardstick measured beside Samplan's pages in the same run: a bare Django view that does
one indexed lookup (a person by identity number, in a table as large as the county) and returns
a few bytes. The machine is shared and noisy; a page's time over this one's holds from run to run
where absolute times drift."""

from django.http import HttpResponse
from django.urls import include, path

from samplan.people.models import Person


def yardstick(request, number: str):
    found = Person.objects.filter(identity_number=number).values_list("pk", flat=True).first()
    return HttpResponse(str(found), content_type="text/plain")


urlpatterns = [
    path("bench/yardstick/<str:number>/", yardstick),
    path("", include("samplan.urls")),
]
