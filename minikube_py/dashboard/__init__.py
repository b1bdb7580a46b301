"""`minikube-py dashboard`: a read-only web page of the cluster, live from watches, served on
loopback by a small process of its own that holds the admin credentials."""
