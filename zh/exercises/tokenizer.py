"""Reference answers to the exercises of the tokenizer pages (see ``zh.exercises``)."""
