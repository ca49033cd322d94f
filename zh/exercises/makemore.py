"""Reference answers to the exercises of the makemore pages (see ``zh.exercises``)."""
