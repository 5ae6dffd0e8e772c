"""The photo domain's shared rules: the object key layout and the error catalogue (code, meaning, what to do)."""
