"""The Telegram channel: `TelegramChannel` (PTB handlers and replies) and `TelegramSender` (the fan-out)."""

from bot.channels.telegram.channel import TelegramChannel
from bot.channels.telegram.sender import TelegramSender

__all__ = ["TelegramChannel", "TelegramSender"]
