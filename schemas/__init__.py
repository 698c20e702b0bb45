"""JSON Schemas (flows, profiles, scenarios, flow tests, bridge messages), the catalogue and the templates.

Data only: a package so that it ships as package data and is found through `importlib.resources`.
"""
