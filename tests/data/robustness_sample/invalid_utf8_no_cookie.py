greeting = "ÿþ not utf-8"
