"""One module per randomization family; :class:`simgen.randomize.pipeline.Randomizer` calls them at its hooks."""
