"""The makemore language models, one file per model and one page per file."""
