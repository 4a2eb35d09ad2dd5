"""Pure-Python part of the addon: the Urssaf "API Tierce Déclaration
auto-entrepreneur" client and the embedded sandbox that implements the same
contract.

Nothing in this package imports Odoo, so that it can be used (and its
sandbox served over HTTP with ``python -m urssaf_api.server``) on its own.
"""
