"""Lensflow Studio: a local web page to edit flows with the validator's findings and the diagram beside them.

`studio.flows` keeps the served files (ids, versions, atomic saves, changes on disk), `studio.api` answers
the HTTP and WebSocket API over them, and `studio.server` runs it with uvicorn. The page is `studio/static/`.
"""
