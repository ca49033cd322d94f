"""The language models of the series, one file per model and one page per file."""
