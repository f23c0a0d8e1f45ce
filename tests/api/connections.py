from clientsignal import SignalConnection


class ApiConnection(SignalConnection):
    pass
