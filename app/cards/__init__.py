"""Issuing cards: numbers, links and payloads now; the issuer's screens in a later issue."""
