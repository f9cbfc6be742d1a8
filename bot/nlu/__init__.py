"""NLU: the worker process (the only code that imports rasa), its client, training and
the model registry. Modules imported by the worker must not import service-only packages."""
