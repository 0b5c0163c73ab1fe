"""A setup session's life: start it (validate, lock the server), run the engine, record every event,
end it once (``service``, ``locks``, ``recorder``, ``repository``, ``lifespan``), and its HTTP edge
(``routes``, ``schemas``). Live delivery to browsers is :mod:`setupwizard.live`."""
