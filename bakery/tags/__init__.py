"""Image references and tags: validation (T4), templates (T1, T2) and release rules (T3)."""
