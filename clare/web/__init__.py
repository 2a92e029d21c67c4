"""The web status page: a Starlette app served by the web node (``clare serve``)."""
