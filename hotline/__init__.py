"""The contact side of the hotline: how people reach the line and who answers them.

The core modules (contacts, queue, risk, conversations, counsellors) are plain Python and
never import the web framework; `hotline.web` and `hotline.channels` turn the outside world
into calls on them, and `hotline.store` keeps everything on disk so a restart loses nothing.
"""

__version__ = "0.1.0"
