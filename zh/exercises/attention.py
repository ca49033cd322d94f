"""Reference answers to the exercises of the attention pages (see ``zh.exercises``)."""
