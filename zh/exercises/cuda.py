"""Reference answers to the exercises of the cuda pages (see ``zh.exercises``)."""
