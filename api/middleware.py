"""Requests under /api/ that no view could take are refused in the API's JSON shape, not with an HTML page."""

from collections.abc import Callable

from django.http import HttpRequest, HttpResponseBase
from django.http.multipartparser import MultiPartParserError

from tracker.middleware import request_problem

from .errors import error_response

API_PREFIX = "/api/"


class ApiRequestMiddleware:
    """The same guard as tracker.middleware.HostileInputMiddleware (NUL characters, huge query values), in JSON."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        if request.path_info.startswith(API_PREFIX):
            try:
                problem = request_problem(request)
            except (MultiPartParserError, UnicodeDecodeError):
                problem = "The request could not be read. Nothing was changed."
            if problem:
                return error_response(400, "bad_request", problem)
        return self.get_response(request)
