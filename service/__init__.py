"""blightmap's web service: thin FastAPI glue around :mod:`geo` and the stores."""
