"""The base layer every app may use: errors, the exception handler, database helpers, pagination,
the process cache, environment parsing and request-wide middleware. It imports no Kalkula app."""
