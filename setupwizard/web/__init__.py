"""The HTTP edge that belongs to no domain: the pages and their static files, ``/api/health``, the
middleware around every request (security headers, size limits) and how uvicorn serves the app."""
