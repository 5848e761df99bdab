import threading


def start(work):
    worker = threading.Thread(target=work)
    worker.start()
