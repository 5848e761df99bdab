"""The rules: small classes that read the shared analyses and say what they found."""
