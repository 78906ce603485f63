"""Preflight: check on the package indexes that every pinned package has a wheel.

``index`` fetches project pages (PEP 691 / PEP 503, concurrent, bounded, cached), ``wheels``
decides whether one package has an installable wheel, ``decide`` turns that into per-image
decisions, ``run`` ties them together for `bakery preflight`, ``lock`` keeps them. Import the
module you need: reading the lock (plan, render, bake) must not pay for the index client.
"""
