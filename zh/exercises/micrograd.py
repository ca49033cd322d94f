"""Reference answers to the exercises of the micrograd pages (see ``zh.exercises``)."""
