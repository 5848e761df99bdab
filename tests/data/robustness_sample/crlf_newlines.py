import socket


def ping(host):
    connection = socket.create_connection((host, 7))
    connection.sendall(b"ping")
    return connection.recv(4)
