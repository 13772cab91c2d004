"""Operations: health and readiness, Prometheus metrics, request ids and the access log.

``middleware.RequestMiddleware`` (first in MIDDLEWARE) gives every request an id, logs one
access line and counts it; ``middleware.EndpointsMiddleware`` answers ``/healthz``,
``/readyz`` and ``/metrics`` before sessions, CSRF, language and host checks run.
"""
