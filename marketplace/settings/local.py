"""Development settings: debug on, e-mails printed to the console."""

from marketplace.settings.base import *  # noqa: F403
from marketplace.settings.base import env

DEBUG = env.bool("DEBUG", default=True)
