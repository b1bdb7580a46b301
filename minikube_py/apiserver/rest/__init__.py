"""The verbs over storage (kube's generic registry Store): create, read, update, patch,
delete, scale and watch, each asking the kind's strategy and writing through ObjectStore."""
