"""The dbchat scenario's chat: each browser message saved as a row in PostgreSQL, then
broadcast to the room (connections.py); the model is the same shape as the Channels peer's
(bench/peers/channels_peer/chat)."""
