"""Small things several packages share, and nothing else: each module's docstring ends saying who shares
it and why it cannot live in one of them. What only one package uses lives in that package (the HTTP
edge's middleware, health and serving in ``web/``; password hashing and login tokens in ``auth/``)."""
