"""The dbchat scenario's chat on Channels: the same model as the bench project's chat
(bench/project/chat), saved and broadcast by ChatConsumer (channels_peer/consumers.py)."""
