from django.http import HttpRequest, HttpResponse


def rate_limited(request: HttpRequest, exception: Exception) -> HttpResponse:
    return HttpResponse(status=429)
