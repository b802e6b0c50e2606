"""What every app shares: the error vocabulary, the id rule, rate limits, the API router, parsers and schema."""
