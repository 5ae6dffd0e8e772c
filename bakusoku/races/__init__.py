"""Race day: races, their entry lists and timing results, and what runners find by bib."""
