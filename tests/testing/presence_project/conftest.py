pytest_plugins = ["clientsignal.testing.plugin"]
