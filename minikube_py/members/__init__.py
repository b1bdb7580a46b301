"""Control-plane members: several `serve` processes whose stores form one Raft group."""
