"""The Temporal backend: one workflow per wearer session, events as updates, skills as activities.

`workflow` holds the session (the unchanged `Runner` on workflow time), `remote` is what the
workflow calls out through (activities, workflow timers), `activities` runs skills and model
calls in the worker, `shelf` holds the compiled flows a worker serves, `worker` is the process entry.
"""
