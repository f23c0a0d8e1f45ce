# The clientsignal fixtures (signal_communicator, signal_live_server), for pytest.
pytest_plugins = ["clientsignal.testing.plugin"]
