import threading; t = threading.Thread(target=print); t.start(); t.join()
class A: pass
def f(): return 1
while False: pass
