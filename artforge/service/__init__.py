"""The HTTP service (``artforge serve``): the use cases over HTTP, for many callers and many machines."""
