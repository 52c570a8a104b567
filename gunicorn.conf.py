"""gunicorn settings, read by gunicorn from the working directory (the Docker image runs it in /app).

The access log never carries the query string or the referrer: both can hold patient data (issue #18 part 3).
"""

# Like gunicorn's default format, with the path only (%(U)s, not the request line %(r)s) and no %(f)s referrer.
access_log_format = '%(h)s %(l)s %(u)s %(t)s "%(m)s %(U)s %(H)s" %(s)s %(b)s %(L)s'
